//! The fusion stage: one task owns the tracker, feeds it journaled observations, moves its
//! time forward and publishes the picture.
//!
//! Time. Observations carry their sensors' time. The tracker processes everything older
//! than the newest observation time minus the reorder lag (later arrivals are refused by the
//! tracker and counted per sensor). When the sky goes quiet (nothing new for `QUIET`), the
//! stage's clock runs on from the newest observation with the wall clock, so pending
//! observations are processed and stale tracks age out; it never runs on while inputs are
//! flowing, because a stage that is behind would then outrun its own queue. The picture is
//! predicted to the sensor-time "now": the newest observation time plus the wall time since
//! it arrived. Observations stamped more than `MAX_FUTURE_S` ahead of this node's wall clock
//! are refused: one sensor with a wild clock must not drag the picture's time forward for
//! all the others.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dronewatch_fusion::{IngestError, Tracker};
use dronewatch_model::{TimeNs, Track};
use dronewatch_store::{EventKind, NewEvent};
use dronewatch_threat::AllowList;
use tokio::sync::{mpsc, watch};
use tracing::info;

use super::journal::FusionBatch;
use super::threat::ThreatView;
use crate::live::{LiveHub, Snapshot, TrackDelta, TrackItem, lock};
use crate::metrics::Metrics;
use crate::view::TrackView;

/// Observations stamped further ahead of the wall clock are refused [s].
pub const MAX_FUTURE_S: f64 = 5.0;

/// The whole picture is published (and shown to 1 Hz clients) this often.
const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct FusionStage {
    pub tracker: Tracker,
    pub rx: mpsc::Receiver<FusionBatch>,
    pub hub: LiveHub,
    pub threat_view: watch::Receiver<Arc<ThreatView>>,
    /// The raw tracks for the threat stage.
    pub tracks_tx: watch::Sender<Arc<Vec<Track>>>,
    pub recorder: mpsc::Sender<Vec<NewEvent>>,
    pub metrics: Metrics,
    pub sector: String,
    pub allow: AllowList,
    pub reorder_lag_s: f64,
    pub publish_interval: Duration,
    pub track_record_interval_s: f64,
}

/// Without a new observation for this long, the sky is quiet and time runs on by the wall
/// clock (longer than a journal commit, so nothing is still on its way).
const QUIET: Duration = Duration::from_millis(250);

/// The newest observation time and when (wall time, at this node's door) it arrived.
#[derive(Debug, Clone, Copy, Default)]
struct SensorClock {
    newest: Option<(TimeNs, Instant)>,
}

impl SensorClock {
    fn observe(&mut self, t: TimeNs, arrived: Instant) {
        if self.newest.is_none_or(|(n, _)| t > n) {
            self.newest = Some((t, arrived));
        }
    }

    /// Sensor time now: the newest observation time plus the wall time since it arrived.
    fn now(&self, now: Instant) -> Option<TimeNs> {
        self.newest
            .map(|(t, at)| t.plus_secs(now.saturating_duration_since(at).as_secs_f64()))
    }

    /// Up to where the tracker may process: the newest time minus the lag, or, in a quiet
    /// sky, the clock run on past the quiet period.
    fn watermark(&self, now: Instant, lag_s: f64) -> Option<TimeNs> {
        let (t, at) = self.newest?;
        let quiet_s = now.saturating_duration_since(at).as_secs_f64() - QUIET.as_secs_f64();
        Some(t.plus_secs((-lag_s).max(quiet_s)))
    }
}

/// What was last published of a track, to tell what changed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Published {
    updates: u64,
    coasting: bool,
    affiliation: crate::view::Affiliation,
    level: Option<f64>,
}

#[derive(Debug, Default)]
struct Refusals {
    by_sensor: BTreeMap<String, u64>,
}

impl FusionStage {
    pub async fn run(mut self) {
        let mut clock = SensorClock::default();
        // Arrival times of observations not yet in a published picture, by sensor time.
        let mut waiting: BinaryHeap<Reverse<(TimeNs, Instant)>> = BinaryHeap::new();
        let mut published: BTreeMap<u64, Published> = BTreeMap::new();
        let mut recorded_at: BTreeMap<u64, TimeNs> = BTreeMap::new();
        let mut last_publish = Instant::now();
        let mut last_snapshot = Instant::now() - SNAPSHOT_INTERVAL;
        let mut tick = tokio::time::interval(self.publish_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watermark: Option<TimeNs> = None;
        loop {
            let mut refusals = Refusals::default();
            tokio::select! {
                batch = self.rx.recv() => match batch {
                    Some(b) => self.ingest(b, &mut clock, &mut waiting, &mut refusals),
                    None => break,
                },
                _ = tick.tick() => {}
            }
            while let Ok(b) = self.rx.try_recv() {
                self.ingest(b, &mut clock, &mut waiting, &mut refusals);
            }
            self.count_refusals(refusals);
            let now = Instant::now();
            let (Some(clock_now), Some(target)) =
                (clock.now(now), clock.watermark(now, self.reorder_lag_s))
            else {
                continue;
            };
            if watermark.is_none_or(|w| target > w) {
                self.tracker.advance_to(target);
                watermark = Some(target);
            }
            if now.duration_since(last_publish) < self.publish_interval {
                continue;
            }
            last_publish = now;
            let snapshot_due = now.duration_since(last_snapshot) >= SNAPSHOT_INTERVAL;
            if snapshot_due {
                last_snapshot = now;
            }
            self.publish(
                clock_now,
                target,
                snapshot_due,
                &mut published,
                &mut recorded_at,
            )
            .await;
            let published_at = Instant::now();
            while let Some(Reverse((t, arrived))) = waiting.peek().copied() {
                if t > target {
                    break;
                }
                waiting.pop();
                self.metrics
                    .observation_to_publish_seconds
                    .observe(published_at.duration_since(arrived).as_secs_f64());
            }
        }
        info!("fusion stopped");
    }

    fn ingest(
        &mut self,
        batch: FusionBatch,
        clock: &mut SensorClock,
        waiting: &mut BinaryHeap<Reverse<(TimeNs, Instant)>>,
        refusals: &mut Refusals,
    ) {
        let wall = crate::clock::now();
        for (obs, arrived) in batch.observations {
            let (t, sensor) = (obs.t, obs.sensor_id.0.clone());
            if t.secs_since(wall) > MAX_FUTURE_S {
                self.refuse(&sensor, "future", refusals);
                continue;
            }
            match self.tracker.ingest(obs) {
                Ok(()) => {
                    clock.observe(t, arrived);
                    waiting.push(Reverse((t, arrived)));
                }
                Err(IngestError::TooLate { .. }) => self.refuse(&sensor, "too_late", refusals),
                Err(IngestError::Invalid { .. }) => self.refuse(&sensor, "invalid", refusals),
            }
        }
    }

    fn refuse(&self, sensor: &str, reason: &'static str, refusals: &mut Refusals) {
        self.metrics
            .observations_refused
            .get_or_create(&vec![
                ("sensor", sensor.to_string()),
                ("reason", reason.into()),
            ])
            .inc();
        *refusals.by_sensor.entry(sensor.to_string()).or_default() += 1;
    }

    fn count_refusals(&self, refusals: Refusals) {
        if refusals.by_sensor.is_empty() {
            return;
        }
        let mut sensors = lock(&self.hub.boards.sensors);
        for (id, n) in refusals.by_sensor {
            if let Some(s) = sensors.get_mut(&id) {
                s.refused += n;
            }
        }
    }

    async fn publish(
        &mut self,
        t: TimeNs,
        processed_to: TimeNs,
        snapshot_due: bool,
        published: &mut BTreeMap<u64, Published>,
        recorded_at: &mut BTreeMap<u64, TimeNs>,
    ) {
        let tracks = self.tracker.tracks_at(t);
        let threat = self.threat_view.borrow().clone();
        let published_unix_ns = crate::clock::now().0;
        let mut delta = TrackDelta {
            processed_to_unix_ns: processed_to.0,
            published_unix_ns,
            ..TrackDelta::default()
        };
        let mut all = Vec::with_capacity(if snapshot_due { tracks.len() } else { 0 });
        let mut records = Vec::new();
        let mut seen = BTreeMap::new();
        for tr in &tracks {
            let id = tr.id.0;
            let assessment = threat.assessments.get(&id);
            let alert = threat.alerts.get(&id).map(|a| a.as_ref());
            let friendly = self.allow.exempts(&tr.identity) && tr.identity.icao_address.is_none();
            let view = TrackView::new(&self.sector, tr, assessment, alert, friendly);
            let now = Published {
                updates: tr.updates,
                coasting: view.status == "coasting",
                affiliation: view.affiliation,
                level: view.threat.as_ref().map(|t| t.score),
            };
            seen.insert(id, now);
            let changed = published.get(&id) != Some(&now);
            let record_due = recorded_at
                .get(&id)
                .is_none_or(|at| tr.t.secs_since(*at) >= self.track_record_interval_s);
            if !(changed || snapshot_due || record_due) {
                continue;
            }
            let item = Arc::new(TrackItem::new(view));
            if record_due {
                recorded_at.insert(id, tr.t);
                records.push(NewEvent {
                    kind: EventKind::Track,
                    t: tr.t,
                    source: Some(self.sector.clone()),
                    serial: item
                        .view
                        .remote_id_serial
                        .clone()
                        .or(item.view.icao_address.clone()),
                    track_id: Some(id),
                    position: Some(tr.position),
                    idempotency_key: None,
                    body: item.json.to_string(),
                });
            }
            if changed {
                delta.tracks.push(item.clone());
            }
            if snapshot_due {
                all.push(item);
            }
        }
        for id in published.keys().filter(|id| !seen.contains_key(id)) {
            recorded_at.remove(id);
            delta.removed.push(format!("{}/{id}", self.sector));
        }
        *published = seen;
        self.metrics.tracks.set(tracks.len() as i64);
        self.tracks_tx.send_replace(Arc::new(tracks));
        if !delta.tracks.is_empty() || !delta.removed.is_empty() {
            let _ = self.hub.deltas.send(Arc::new(delta));
        }
        if snapshot_due {
            let snap = Arc::new(Snapshot {
                t_unix_ns: t.0,
                processed_to_unix_ns: processed_to.0,
                published_unix_ns,
                tracks: all,
            });
            let _ = self.hub.snapshots.send(snap.clone());
            self.hub.picture.send_replace(snap);
        }
        if !records.is_empty() && self.recorder.send(records).await.is_err() {
            tracing::warn!("recorder gone; tracks not recorded");
        }
    }
}
