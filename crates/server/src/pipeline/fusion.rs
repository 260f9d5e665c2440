//! The fusion stage: one task owns the tracker, feeds it journaled observations, moves its
//! time forward and publishes the picture.
//!
//! Time. Observations carry their sensors' time. The tracker processes everything older
//! than the newest observation time minus the reorder lag (later arrivals are refused by the
//! tracker and counted per sensor). The lag adapts: a margin over how far behind the newest
//! observation others have arrived in the last ten seconds, at most `fusion.reorder_lag_s`,
//! so sensors that report in order are not kept waiting for stragglers that do not come.
//! When the sky goes quiet (nothing new for `QUIET`), the
//! stage's clock runs on from the newest observation with the wall clock, so pending
//! observations are processed and stale tracks age out; it never runs on while inputs are
//! flowing or the journal holds some (a slow commit is not a quiet sky), because a stage
//! that is behind would then outrun its own queue and refuse it. The picture is
//! predicted to the sensor-time "now": the newest observation time plus the wall time since
//! it arrived. Observations stamped more than `MAX_FUTURE_S` ahead of this node's wall clock
//! are refused: one sensor with a wild clock must not drag the picture's time forward for
//! all the others.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dronewatch_fusion::{IngestError, Tracker};
use dronewatch_model::{TimeNs, Track, TrackStatus};
use dronewatch_store::{EventKind, NewEvent};
use dronewatch_threat::AllowList;
use tokio::sync::{mpsc, watch};
use tracing::info;

use super::journal::FusionBatch;
use super::threat::ThreatView;
use crate::live::{LiveHub, Snapshot, TrackDelta, TrackItem, lock};
use crate::metrics::Metrics;
use crate::view::{Affiliation, TrackView};

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
    /// Kept current when an admin edits it.
    pub allow: tokio::sync::watch::Receiver<Arc<AllowList>>,
    /// The running exercise: outside one, `EXERCISE-` sensors are refused; when one
    /// ends, its tracks are dropped.
    pub exercise: watch::Receiver<crate::api::exercise::ExerciseState>,
    pub reorder_lag_s: f64,
    pub publish_interval: Duration,
    pub track_record_interval_s: f64,
    /// The journal holds inputs not yet passed on.
    pub journal_busy: Arc<AtomicBool>,
}

/// Without a new observation for this long, the sky is quiet and time runs on by the wall
/// clock (longer than a journal commit, so nothing is still on its way).
const QUIET: Duration = Duration::from_millis(250);

/// The newest observation time and when (wall time, at this node's door) it arrived, and
/// how late observations have been arriving.
#[derive(Debug, Clone, Copy, Default)]
struct SensorClock {
    newest: Option<(TimeNs, Instant)>,
    lateness: Lateness,
}

impl SensorClock {
    fn observe(&mut self, t: TimeNs, arrived: Instant) {
        if self.newest.is_none_or(|(n, _)| t > n) {
            self.newest = Some((t, arrived));
        }
    }

    /// Notes how far behind the newest observation one arrives (before it is ingested).
    fn note_arrival(&mut self, t: TimeNs, wall: Instant) {
        if let Some((newest, _)) = self.newest {
            self.lateness.note(wall, newest.secs_since(t).max(0.0));
        }
    }

    /// How long to wait for stragglers: a margin over the worst lateness of the last
    /// `Lateness::WINDOW` seconds, at most `max_lag_s`. Sensors that report in order cost
    /// (almost) no wait; one that lags raises the wait for all, up to the configured limit.
    fn lag_s(&self, wall: Instant, max_lag_s: f64) -> f64 {
        (MIN_LAG_S + LAG_MARGIN * self.lateness.max_s(wall)).min(max_lag_s)
    }

    /// Sensor time now: the newest observation time plus the wall time since it arrived.
    fn now(&self, now: Instant) -> Option<TimeNs> {
        self.newest
            .map(|(t, at)| t.plus_secs(now.saturating_duration_since(at).as_secs_f64()))
    }

    /// Up to where the tracker may process: the newest time minus the lag, or, in a quiet
    /// sky (and nothing held upstream), the clock run on past the quiet period.
    fn watermark(&self, now: Instant, lag_s: f64, upstream_busy: bool) -> Option<TimeNs> {
        let (t, at) = self.newest?;
        let quiet_s = if upstream_busy {
            f64::NEG_INFINITY
        } else {
            now.saturating_duration_since(at).as_secs_f64() - QUIET.as_secs_f64()
        };
        Some(t.plus_secs((-lag_s).max(quiet_s)))
    }
}

/// The least wait for stragglers [s]: the observations of one scan may reach fusion in two
/// journal batches.
const MIN_LAG_S: f64 = 0.002;
/// The wait is this many times the worst lateness seen.
const LAG_MARGIN: f64 = 1.5;

/// The worst lateness per second of wall time, over the last `WINDOW` seconds.
#[derive(Debug, Clone, Copy, Default)]
struct Lateness {
    /// (wall second since `base`, worst lateness in it [s]).
    slots: [(u64, f64); Lateness::WINDOW],
    base: Option<Instant>,
}

impl Lateness {
    const WINDOW: usize = 10;

    fn note(&mut self, wall: Instant, late_s: f64) {
        let base = *self.base.get_or_insert(wall);
        let sec = wall.saturating_duration_since(base).as_secs();
        let slot = &mut self.slots[sec as usize % Self::WINDOW];
        if slot.0 != sec {
            *slot = (sec, 0.0);
        }
        slot.1 = slot.1.max(late_s);
    }

    fn max_s(&self, wall: Instant) -> f64 {
        let Some(base) = self.base else { return 0.0 };
        let sec = wall.saturating_duration_since(base).as_secs();
        self.slots
            .iter()
            .filter(|(s, _)| sec.saturating_sub(*s) < Self::WINDOW as u64)
            .map(|(_, l)| *l)
            .fold(0.0, f64::max)
    }
}

/// What was last published of a track, to tell what changed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Published {
    updates: u64,
    coasting: bool,
    affiliation: Affiliation,
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
            if self.exercise.has_changed().unwrap_or(false)
                && self.exercise.borrow_and_update().running.is_none()
            {
                let n = self.tracker.drop_exercise_tracks();
                info!(tracks = n, "exercise ended: its tracks dropped");
            }
            self.count_refusals(refusals);
            let now = Instant::now();
            let (Some(clock_now), Some(target)) = (
                clock.now(now),
                clock.watermark(
                    now,
                    clock.lag_s(now, self.reorder_lag_s),
                    self.journal_busy.load(Ordering::Acquire),
                ),
            ) else {
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
        let exercise_running = self.exercise.borrow().running.is_some();
        for (obs, arrived) in batch.observations {
            let (t, sensor) = (obs.t, obs.sensor_id.0.clone());
            if obs.sensor_id.is_exercise() && !exercise_running {
                self.refuse(&sensor, "no_exercise", refusals);
                continue;
            }
            if t.secs_since(wall) > MAX_FUTURE_S {
                self.refuse(&sensor, "future", refusals);
                continue;
            }
            clock.note_arrival(t, arrived);
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
        let allow = self.allow.borrow().clone();
        let published_unix_ns = crate::clock::now().0;
        let mut delta = TrackDelta {
            processed_to_unix_ns: processed_to.0,
            published_unix_ns,
            ..TrackDelta::default()
        };
        let mut all = Vec::with_capacity(if snapshot_due { tracks.len() } else { 0 });
        let mut records = Vec::new();
        let mut seen = BTreeMap::new();
        let exempt = allow.exempt_in(&tracks);
        for (tr, exempt) in tracks.iter().zip(exempt) {
            let id = tr.id.0;
            let assessment = threat.assessments.get(&id);
            let alert = threat.alerts.get(&id).map(|a| a.as_ref());
            let friendly = exempt && tr.identity.icao_address.is_none();
            let now = Published {
                updates: tr.updates,
                coasting: tr.status == TrackStatus::Coasting,
                affiliation: Affiliation::of(tr, assessment, alert, friendly),
                level: assessment.map(|a| a.score),
            };
            seen.insert(id, now);
            let changed = published.get(&id) != Some(&now);
            let record_due = recorded_at
                .get(&id)
                .is_none_or(|at| tr.t.secs_since(*at) >= self.track_record_interval_s);
            // Most publishes find most tracks unchanged: build only what is sent.
            if !(changed || snapshot_due || record_due) {
                continue;
            }
            let view = TrackView::new(&self.sector, tr, assessment, alert, friendly);
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
                ..Snapshot::default()
            });
            let _ = self.hub.snapshots.send(snap.clone());
            self.hub.picture.send_replace(snap);
        }
        if !records.is_empty() && self.recorder.send(records).await.is_err() {
            tracing::warn!("recorder gone; tracks not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MAX_LAG_S: f64 = 0.05;

    fn at(base: TimeNs, s: f64) -> TimeNs {
        base.plus_secs(s)
    }

    #[test]
    fn in_order_sensors_wait_only_the_least_lag() {
        let (t0, w0) = (TimeNs(1_700_000_000_000_000_000), Instant::now());
        let mut clock = SensorClock::default();
        for k in 0..100 {
            let (t, w) = (at(t0, k as f64 * 0.01), w0 + Duration::from_millis(k * 10));
            clock.note_arrival(t, w);
            clock.observe(t, w);
        }
        let w = w0 + Duration::from_secs(1);
        assert!((clock.lag_s(w, MAX_LAG_S) - MIN_LAG_S).abs() < 1e-9);
    }

    #[test]
    fn a_late_arrival_raises_the_lag_up_to_the_limit_then_it_falls_back() {
        let (t0, w0) = (TimeNs(1_700_000_000_000_000_000), Instant::now());
        let mut clock = SensorClock::default();
        clock.note_arrival(at(t0, 1.0), w0);
        clock.observe(at(t0, 1.0), w0);
        // 20 ms behind the newest: wait 1.5 x 20 ms + 2 ms.
        clock.note_arrival(at(t0, 0.98), w0);
        assert!((clock.lag_s(w0, MAX_LAG_S) - 0.032).abs() < 1e-9);
        // 100 ms behind: the limit.
        clock.note_arrival(at(t0, 0.9), w0);
        assert_eq!(clock.lag_s(w0, MAX_LAG_S), MAX_LAG_S);
        // Ten quiet seconds later the window has forgotten it.
        let later = w0 + Duration::from_secs(Lateness::WINDOW as u64 + 1);
        assert!((clock.lag_s(later, MAX_LAG_S) - MIN_LAG_S).abs() < 1e-9);
    }

    #[test]
    fn the_clock_runs_on_only_in_a_quiet_sky_with_nothing_held_upstream() {
        let (t0, w0) = (TimeNs(1_700_000_000_000_000_000), Instant::now());
        let mut clock = SensorClock::default();
        clock.observe(t0, w0);
        let later = w0 + Duration::from_secs(1);
        let busy = clock.watermark(later, 0.01, true).unwrap();
        assert_eq!(busy, at(t0, -0.01));
        let quiet = clock.watermark(later, 0.01, false).unwrap();
        assert!((quiet.secs_since(t0) - (1.0 - QUIET.as_secs_f64())).abs() < 1e-6);
    }
}
