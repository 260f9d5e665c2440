//! An HQ node: follows sector nodes over the bus and shows one picture.
//!
//! It subscribes (durably, so it resumes where it stopped) to the sectors' tracks, alerts,
//! warnings, sightings, sensor health and agent positions; writes each message to its own
//! event log with the message id as idempotency key, so a redelivered message is stored
//! once; acknowledges the message only after that write; and keeps the latest of each
//! sector's tracks, alerts, sensors and agents for its API and live stream. It runs no
//! fusion: each sector's node is the authority for its own picture.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dronewatch_bus::{Bus, BusConfig, Delivery};
use dronewatch_store::{NewEvent, Store};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::ServerConfig;
use crate::live::{Audience, LiveEvent, LiveHub, Snapshot, TrackDelta, TrackItem};
use crate::metrics::{Metrics, label};
use crate::node::NodeError;
use crate::pipeline::journal::{Journal, JournalOutputs};
use crate::pipeline::recorder::Recorder;
use crate::relay::Envelope;
use crate::view::{AgentView, AlertView, SensorView, TrackView, WarningView};

/// The kinds an HQ follows (observations stay at the sectors: they are many, and the
/// sectors' tracks are what HQ shows).
pub const FOLLOWED: [&str; 6] = [
    "tracks",
    "alerts",
    "warnings",
    "sightings",
    "sensor_health",
    "agent_fixes",
];

/// A track not heard of for this long leaves the HQ picture.
const TRACK_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(20);

#[allow(clippy::too_many_arguments)]
pub async fn start(
    cfg: &ServerConfig,
    store: &Store,
    metrics: &Metrics,
    hub: &LiveHub,
    submit_rx: mpsc::Receiver<crate::pipeline::Submission>,
    recorder_rx: mpsc::Receiver<Vec<NewEvent>>,
    committed: Arc<Notify>,
    shutdown: &CancellationToken,
    pipeline: &mut JoinSet<()>,
    tasks: &mut JoinSet<()>,
) -> Result<(), NodeError> {
    if cfg.bus.url.is_empty() {
        return Err(NodeError::Invalid(
            "node.role = \"hq\" needs a bus (bus.url = \"nats://...\")".into(),
        ));
    }
    // The HQ's own records (audit of its users) go through a journal like a sector's.
    let (no_sensors_tx, no_sensors_rx) = mpsc::channel(1);
    drop(no_sensors_tx);
    pipeline.spawn(
        Journal {
            store: store.clone(),
            sensors_rx: no_sensors_rx,
            submissions_rx: submit_rx,
            out: JournalOutputs {
                fusion: None,
                agents: None,
                hub: hub.clone(),
                busy: Default::default(),
            },
            metrics: metrics.clone(),
            max_batch: cfg.pipeline.journal_batch,
            committed: committed.clone(),
        }
        .run(shutdown.clone()),
    );
    pipeline.spawn(
        Recorder {
            store: store.clone(),
            rx: recorder_rx,
            metrics: metrics.clone(),
            max_batch: cfg.pipeline.journal_batch,
            committed,
        }
        .run(),
    );
    let bus = Bus::connect(&BusConfig {
        url: Some(cfg.bus.url.clone()),
        max_age_s: cfg.bus.max_age_s,
        duplicate_window_s: cfg.bus.duplicate_window_s,
    })
    .await?;
    let kinds: Vec<String> = FOLLOWED.iter().map(|k| k.to_string()).collect();
    let durable = format!("hq-{}", cfg.node.name);
    let sub = bus
        .subscribe(&cfg.node.follow_sectors, &kinds, &durable)
        .await?;
    info!(sectors = ?cfg.node.follow_sectors, %durable, "HQ following the sectors");
    let intake = Intake {
        store: store.clone(),
        hub: hub.clone(),
        metrics: metrics.clone(),
        tracks: BTreeMap::new(),
    };
    tasks.spawn(intake.run(sub, shutdown.clone()));
    Ok(())
}

struct Intake {
    store: Store,
    hub: LiveHub,
    metrics: Metrics,
    /// uid → (item, when last heard).
    tracks: BTreeMap<String, (Arc<TrackItem>, Instant)>,
}

impl Intake {
    async fn run(mut self, mut sub: dronewatch_bus::Subscription, stop: CancellationToken) {
        let mut snapshot_tick = tokio::time::interval(Duration::from_secs(1));
        let mut batch: Vec<(Envelope, Delivery)> = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let wait = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = snapshot_tick.tick() => self.snapshot(),
                () = wait => {
                    self.write(std::mem::take(&mut batch)).await;
                    deadline = None;
                }
                d = sub.next() => match d {
                    Some(Ok(d)) => match serde_json::from_slice::<Envelope>(&d.payload) {
                        Ok(env) => {
                            batch.push((env, d));
                            deadline.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_WAIT);
                            if batch.len() >= BATCH {
                                self.write(std::mem::take(&mut batch)).await;
                                deadline = None;
                            }
                        }
                        Err(e) => {
                            warn!(subject = %d.subject, id = %d.id, error = %e, "HQ: not a dronewatch envelope; acknowledged and dropped");
                            let _ = d.ack().await;
                        }
                    },
                    Some(Err(e)) => warn!(error = %e, "HQ: bus"),
                    None => break,
                },
            }
        }
        if !batch.is_empty() {
            self.write(batch).await;
        }
        info!("HQ intake stopped");
    }

    /// Stores a batch (idempotently), applies what was new, then acknowledges it all.
    async fn write(&mut self, batch: Vec<(Envelope, Delivery)>) {
        if batch.is_empty() {
            return;
        }
        let events: Vec<NewEvent> = batch
            .iter()
            .map(|(env, d)| NewEvent {
                kind: env.kind,
                t: dronewatch_model::TimeNs(env.t_unix_ns),
                source: Some(env.sector.clone()),
                serial: env.serial.clone(),
                track_id: env.track_id,
                position: env.position.map(Into::into),
                idempotency_key: Some(d.id.clone()),
                body: env.body.get().to_string(),
            })
            .collect();
        let appended = match self.store.append(events).await {
            Ok(a) => a,
            Err(e) => {
                // Unacknowledged: the bus redelivers them.
                self.metrics.journal_errors.inc();
                warn!(error = %e, n = batch.len(), "HQ: store write failed; messages will be redelivered");
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
        };
        let mut delta = TrackDelta {
            published_unix_ns: crate::clock::now().0,
            ..TrackDelta::default()
        };
        for ((env, d), a) in batch.into_iter().zip(appended) {
            let counter = if a.duplicate {
                &self.metrics.duplicates
            } else {
                &self.metrics.journaled
            };
            counter
                .get_or_create(&label("kind", env.kind.as_str()))
                .inc();
            if !a.duplicate {
                self.apply(&env, &mut delta);
            }
            if let Err(e) = d.ack().await {
                warn!(error = %e, "HQ: ack failed (the message may come again; it is stored once)");
            }
        }
        if !delta.tracks.is_empty() {
            let _ = self.hub.deltas.send(Arc::new(delta));
        }
    }

    fn apply(&mut self, env: &Envelope, delta: &mut TrackDelta) {
        let body = env.body.get();
        let sector = env.sector.as_str();
        match env.kind {
            dronewatch_store::EventKind::Track => {
                if let Ok(view) = serde_json::from_str::<TrackView>(body) {
                    delta.processed_to_unix_ns = delta.processed_to_unix_ns.max(view.t_unix_ns);
                    let item = Arc::new(TrackItem::new(view));
                    self.tracks
                        .insert(item.uid.clone(), (item.clone(), Instant::now()));
                    delta.tracks.push(item);
                }
            }
            dronewatch_store::EventKind::Alert => {
                if let Ok(view) = serde_json::from_str::<AlertView>(body) {
                    self.hub
                        .alert(fnv64(&format!("{sector}/{}", view.id)), view);
                }
            }
            dronewatch_store::EventKind::Warning => {
                if let Ok(view) = serde_json::from_str::<WarningView>(body) {
                    self.hub
                        .warning(format!("{sector}/{}", view.agent_id), view);
                }
            }
            dronewatch_store::EventKind::SensorHealth => {
                if let Ok(h) = serde_json::from_str::<dronewatch_model::SensorHealth>(body) {
                    self.hub.sensor(SensorView {
                        id: format!("{sector}/{}", h.sensor_id),
                        kind: None,
                        state: crate::pipeline::journal::health_str(h.state).into(),
                        position: h.position.map(Into::into),
                        max_range_m: None,
                        detail: h.detail,
                        last_health_unix_ns: Some(h.t.0),
                        last_observation_unix_ns: None,
                        observations: 0,
                        refused: 0,
                    });
                }
            }
            dronewatch_store::EventKind::AgentFix => {
                if let Ok(f) = serde_json::from_str::<dronewatch_model::AgentFix>(body) {
                    self.hub.agent(AgentView {
                        agent_id: format!("{sector}/{}", f.agent_id),
                        t_unix_ns: f.t.0,
                        position: f.position.into(),
                    });
                }
            }
            dronewatch_store::EventKind::Sighting => {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                    let pos = env.position.map(|p| (p.lat_deg, p.lon_deg));
                    self.hub
                        .publish_event(LiveEvent::new("sighting", pos, Audience::Everyone, &v));
                }
            }
            _ => {}
        }
    }

    /// The whole HQ picture, once a second; tracks no sector mentioned lately leave it.
    fn snapshot(&mut self) {
        let now = Instant::now();
        let mut removed = Vec::new();
        self.tracks.retain(|uid, (_, at)| {
            let keep = now.duration_since(*at) < TRACK_TIMEOUT;
            if !keep {
                removed.push(uid.clone());
            }
            keep
        });
        if !removed.is_empty() {
            let _ = self.hub.deltas.send(Arc::new(TrackDelta {
                published_unix_ns: crate::clock::now().0,
                removed,
                ..TrackDelta::default()
            }));
        }
        let tracks: Vec<Arc<TrackItem>> = self.tracks.values().map(|(t, _)| t.clone()).collect();
        let t = tracks.iter().map(|t| t.view.t_unix_ns).max().unwrap_or(0);
        self.metrics.tracks.set(tracks.len() as i64);
        let snap = Arc::new(Snapshot {
            t_unix_ns: t,
            processed_to_unix_ns: t,
            published_unix_ns: crate::clock::now().0,
            tracks,
            ..Snapshot::default()
        });
        let _ = self.hub.snapshots.send(snap.clone());
        self.hub.picture.send_replace(snap);
    }
}

/// FNV-1a: a stable 64-bit key for a sector's alert id.
fn fnv64(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
