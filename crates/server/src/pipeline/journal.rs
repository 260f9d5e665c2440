//! The journal: every input goes to the event log before anything else sees it.
//!
//! Inputs arrive on two bounded queues: sensor events that nobody waits for (SAPIENT,
//! ADS-B), and submissions that carry an acknowledgement (HTTP, MQTT). The journal takes
//! what is waiting, up to a batch, writes it in one store transaction (group commit: one
//! commit serves hundreds of events), then acknowledges each and passes it on.
//!
//! If the store fails, waiting senders are told (HTTP 503, MQTT redelivers) and the
//! observations still go to fusion: the live picture matters more than its record, and the
//! failure is counted and logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dronewatch_model::{AgentFix, HealthState, Measurement, Observation, SensorHealth};
use dronewatch_store::{Appended, EventKind, NewEvent, Store};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{IngestError, Input, Submission};
use crate::live::{Audience, LiveEvent, LiveHub, lock};
use crate::metrics::{Metrics, label};
use crate::sources::{SourceEvent, SourceRecord};
use crate::view::{AgentView, SensorView};

/// Observations for fusion, each with when it reached this node.
#[derive(Debug, Default)]
pub struct FusionBatch {
    pub observations: Vec<(Observation, Instant)>,
}

/// Where journaled inputs go next.
#[derive(Debug, Clone)]
pub struct JournalOutputs {
    /// `None` on a node without fusion (HQ).
    pub fusion: Option<mpsc::Sender<FusionBatch>>,
    pub agents: Option<mpsc::Sender<AgentFix>>,
    pub hub: LiveHub,
    /// Set while the journal holds inputs that fusion has not been given yet: fusion's
    /// clock must not run on past them (see `fusion`).
    pub busy: Arc<AtomicBool>,
}

/// The journal's inputs and settings.
#[derive(Debug)]
pub struct Journal {
    pub store: Store,
    pub sensors_rx: mpsc::Receiver<SourceEvent>,
    pub submissions_rx: mpsc::Receiver<Submission>,
    pub out: JournalOutputs,
    pub metrics: Metrics,
    pub max_batch: usize,
    /// Woken after each commit (the bus relay reads the log).
    pub committed: std::sync::Arc<tokio::sync::Notify>,
}

struct Pending {
    input: Input,
    ack: Option<super::Ack>,
    received: Instant,
}

impl Journal {
    /// Runs until both input queues are closed, or `shutdown` and the queues are drained.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut batch: Vec<Pending> = Vec::with_capacity(self.max_batch);
        let mut sensors_open = true;
        let mut submissions_open = true;
        while sensors_open || submissions_open {
            // Wait for the first input, then take whatever else is already waiting.
            tokio::select! {
                biased;
                ev = self.sensors_rx.recv(), if sensors_open => match ev {
                    Some(ev) => batch.push(Pending { input: Input::Source(ev), ack: None, received: Instant::now() }),
                    None => sensors_open = false,
                },
                sub = self.submissions_rx.recv(), if submissions_open => match sub {
                    Some(s) => batch.push(Pending { input: s.input, ack: s.ack, received: Instant::now() }),
                    None => submissions_open = false,
                },
                _ = shutdown.cancelled(), if !shutdown.is_cancelled() => {
                    // Stop accepting; what the sources already handed over is still written.
                    self.sensors_rx.close();
                    self.submissions_rx.close();
                    continue;
                }
            }
            while batch.len() < self.max_batch {
                let now = Instant::now();
                if let Ok(ev) = self.sensors_rx.try_recv() {
                    batch.push(Pending {
                        input: Input::Source(ev),
                        ack: None,
                        received: now,
                    });
                } else if let Ok(s) = self.submissions_rx.try_recv() {
                    batch.push(Pending {
                        input: s.input,
                        ack: s.ack,
                        received: now,
                    });
                } else {
                    break;
                }
            }
            if !batch.is_empty() {
                self.out.busy.store(true, Ordering::Release);
                self.metrics
                    .ingest_queue
                    .set((self.sensors_rx.len() + self.submissions_rx.len()) as i64);
                self.commit(std::mem::take(&mut batch)).await;
                batch.reserve(self.max_batch);
                if self.sensors_rx.is_empty() && self.submissions_rx.is_empty() {
                    self.out.busy.store(false, Ordering::Release);
                }
            }
        }
        info!("journal stopped: inputs closed and written");
    }

    async fn commit(&mut self, batch: Vec<Pending>) {
        let events: Vec<NewEvent> = batch.iter().map(|p| to_event(&p.input)).collect();
        let n = events.len();
        let started = Instant::now();
        let result = append_with_retry(&self.store, events).await;
        self.metrics
            .journal_commit_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.journal_batch_events.observe(n as f64);
        self.committed.notify_waiters();
        let appended: Vec<Result<Appended, IngestError>> = match result {
            Ok(a) if a.len() == n => a.into_iter().map(Ok).collect(),
            Ok(a) => {
                let msg = format!("store returned {} results for {n} events", a.len());
                error!("{msg}");
                vec![Err(IngestError::Store(msg)); n]
            }
            Err(e) => {
                self.metrics.journal_errors.inc();
                error!(error = %e, events = n, "event log write failed; the live picture goes on without it");
                vec![Err(IngestError::Store(e.to_string())); n]
            }
        };
        self.forward(batch, appended).await;
    }

    /// Acknowledges each input and passes it on, in order.
    async fn forward(&mut self, batch: Vec<Pending>, appended: Vec<Result<Appended, IngestError>>) {
        let mut fusion = FusionBatch::default();
        // Per sensor: observations, the newest one's time, its kind.
        let mut per_sensor: BTreeMap<String, (u64, i64, &'static str)> = BTreeMap::new();
        // Counted here and added to the metrics once per batch, not once per event.
        let mut counts: BTreeMap<(&'static str, bool), u64> = BTreeMap::new();
        for (p, result) in batch.into_iter().zip(appended) {
            let kind = kind_of(&p.input);
            let duplicate = matches!(&result, Ok(a) if a.duplicate);
            if result.is_ok() {
                *counts.entry((kind.as_str(), duplicate)).or_default() += 1;
            }
            if let Some(ack) = p.ack {
                // The sender may have given up waiting; that is its business.
                let _ = ack.send(result);
            }
            if duplicate {
                // Already passed on when it was first stored.
                continue;
            }
            match p.input {
                Input::Source(SourceEvent::Observation(obs)) => {
                    let e = match per_sensor.get_mut(&obs.sensor_id.0) {
                        Some(e) => e,
                        None => {
                            per_sensor
                                .entry(obs.sensor_id.0.clone())
                                .or_insert((0, i64::MIN, ""))
                        }
                    };
                    e.0 += 1;
                    e.1 = e.1.max(obs.t.0);
                    e.2 = obs.sensor_kind.as_str();
                    fusion.observations.push((obs, p.received));
                }
                Input::Source(SourceEvent::Health(h)) => self.health(h),
                Input::Source(SourceEvent::Record(_)) | Input::Record(_) => {}
                Input::Sighting(report, obs) => {
                    let pos = (
                        report.reporter_position.lat_deg,
                        report.reporter_position.lon_deg,
                    );
                    self.out.hub.publish_event(LiveEvent::new(
                        "sighting",
                        Some(pos),
                        Audience::Everyone,
                        &report,
                    ));
                    if let Some(obs) = obs {
                        fusion.observations.push((obs, p.received));
                    }
                }
                Input::AgentFix(fix) => {
                    let view = AgentView {
                        agent_id: fix.agent_id.0.clone(),
                        t_unix_ns: fix.t.0,
                        position: fix.position.into(),
                    };
                    let pos = (fix.position.lat_deg, fix.position.lon_deg);
                    self.out.hub.publish_event(LiveEvent::new(
                        "agent",
                        Some(pos),
                        Audience::Everyone,
                        &view,
                    ));
                    lock(&self.out.hub.boards.agents).insert(view.agent_id.clone(), view);
                    if let Some(agents) = &self.out.agents
                        && agents.send(fix).await.is_err()
                    {
                        warn!("threat stage gone; agent position not assessed");
                    }
                }
            }
        }
        for ((kind, duplicate), n) in counts {
            let counter = if duplicate {
                &self.metrics.duplicates
            } else {
                &self.metrics.journaled
            };
            counter.get_or_create(&label("kind", kind)).inc_by(n);
        }
        if !per_sensor.is_empty() {
            let mut sensors = lock(&self.out.hub.boards.sensors);
            for (id, (n, last, kind)) in per_sensor {
                let s = sensors
                    .entry(id.clone())
                    .or_insert_with(|| unknown_sensor(id));
                if s.kind.as_deref() != Some(kind) {
                    s.kind = Some(kind.to_owned());
                }
                s.observations += n;
                s.last_observation_unix_ns =
                    Some(s.last_observation_unix_ns.unwrap_or(i64::MIN).max(last));
            }
        }
        if let Some(tx) = &self.out.fusion
            && !fusion.observations.is_empty()
            && tx.send(fusion).await.is_err()
        {
            warn!("fusion stage gone; observations journaled but not tracked");
        }
    }

    fn health(&self, h: SensorHealth) {
        let view = {
            let mut sensors = lock(&self.out.hub.boards.sensors);
            let s = sensors
                .entry(h.sensor_id.0.clone())
                .or_insert_with(|| unknown_sensor(h.sensor_id.0.clone()));
            s.state = health_str(h.state).into();
            s.position = h.position.map(Into::into).or(s.position);
            s.detail = h.detail.clone();
            s.last_health_unix_ns = Some(h.t.0);
            s.clone()
        };
        self.out.hub.sensor(view);
    }
}

fn unknown_sensor(id: String) -> SensorView {
    SensorView {
        id,
        kind: None,
        state: "unknown".into(),
        position: None,
        max_range_m: None,
        detail: Vec::new(),
        last_health_unix_ns: None,
        last_observation_unix_ns: None,
        observations: 0,
        refused: 0,
    }
}

/// A sensor of the node's sensor list, before it has said anything.
pub fn listed_sensor(s: &dronewatch_model::Sensor) -> SensorView {
    SensorView {
        kind: Some(s.kind.as_str().to_owned()),
        position: s.position.map(Into::into),
        max_range_m: s.coverage.as_ref().map(|c| c.max_range_m),
        ..unknown_sensor(s.id.0.clone())
    }
}

pub fn health_str(s: HealthState) -> &'static str {
    match s {
        HealthState::Ok => "ok",
        HealthState::Warning => "warning",
        HealthState::Error => "error",
        HealthState::Offline => "offline",
    }
}

/// A store hiccup (a busy database, a dropped connection) gets two more tries before the
/// batch is given up.
async fn append_with_retry(
    store: &Store,
    events: Vec<NewEvent>,
) -> Result<Vec<Appended>, dronewatch_store::StoreError> {
    let mut delay = Duration::from_millis(20);
    let mut attempt = 0;
    loop {
        match store.append(events.clone()).await {
            Ok(a) => return Ok(a),
            Err(e) if attempt < 2 => {
                warn!(error = %e, attempt, "event log write failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 5;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

fn kind_of(input: &Input) -> EventKind {
    match input {
        Input::Source(SourceEvent::Observation(_)) => EventKind::Observation,
        Input::Source(SourceEvent::Health(_)) => EventKind::SensorHealth,
        Input::Source(SourceEvent::Record(_)) => EventKind::SensorRecord,
        Input::Sighting(..) => EventKind::Sighting,
        Input::AgentFix(_) => EventKind::AgentFix,
        Input::Record(e) => e.kind,
    }
}

/// The log entry for an input: its JSON, and the query columns copied out of it.
pub fn to_event(input: &Input) -> NewEvent {
    match input {
        Input::Source(SourceEvent::Observation(o)) => observation_event(o),
        Input::Source(SourceEvent::Health(h)) => NewEvent {
            kind: EventKind::SensorHealth,
            t: h.t,
            source: Some(h.sensor_id.0.clone()),
            serial: None,
            track_id: None,
            position: h.position,
            idempotency_key: None,
            body: serde_json::to_string(h).unwrap_or_default(),
        },
        Input::Source(SourceEvent::Record(r)) => record_event(r),
        Input::Sighting(report, obs) => NewEvent {
            kind: EventKind::Sighting,
            t: obs.as_ref().map_or_else(crate::clock::now, |o| o.t),
            source: report.reporter.clone(),
            serial: None,
            track_id: None,
            position: Some(report.reporter_position.into()),
            idempotency_key: Some(sighting_key(report)),
            body: serde_json::to_string(report).unwrap_or_default(),
        },
        Input::AgentFix(f) => NewEvent {
            kind: EventKind::AgentFix,
            t: f.t,
            source: Some(f.agent_id.0.clone()),
            serial: None,
            track_id: None,
            position: Some(f.position),
            idempotency_key: None,
            body: serde_json::to_string(f).unwrap_or_default(),
        },
        Input::Record(e) => e.clone(),
    }
}

/// A sighting's idempotency key: the reporter and the client's own id, so two phones that
/// happen to pick the same id never swallow each other's reports.
pub fn sighting_key(report: &crate::view::SightingReport) -> String {
    format!(
        "{}/{}",
        report.reporter.as_deref().unwrap_or(""),
        report.client_id
    )
}

fn observation_event(o: &Observation) -> NewEvent {
    let position = match &o.measurement {
        Measurement::Position { position, .. } => Some(*position),
        _ => o.sensor_position,
    };
    let serial = o
        .identity
        .remote_id_serial
        .clone()
        .or_else(|| o.identity.icao_address.map(|a| format!("{a:06X}")));
    NewEvent {
        kind: EventKind::Observation,
        t: o.t,
        source: Some(o.sensor_id.0.clone()),
        serial,
        track_id: None,
        position,
        idempotency_key: None,
        body: serde_json::to_string(o).unwrap_or_default(),
    }
}

fn record_event(r: &SourceRecord) -> NewEvent {
    NewEvent {
        kind: EventKind::SensorRecord,
        t: r.t,
        source: Some(r.sensor_id.0.clone()),
        serial: None,
        track_id: None,
        position: None,
        idempotency_key: None,
        body: serde_json::to_string(r).unwrap_or_default(),
    }
}
