//! The tracker: a reorder buffer in front of a scan-by-scan gate → associate → update →
//! initiate → maintain loop. Deterministic: observations are processed in
//! `(time, sensor, arrival)` order, tracks live in a `Vec` in creation order, and no hash
//! map is ever iterated.

use std::collections::{BTreeMap, HashMap};

use dronewatch_geo::EnuFrame;
use dronewatch_model::{
    Lla, Observation, SensorId, TimeNs, Track, TrackId, TrackIdentity, TrackStatus,
};

use crate::assoc::{self, Candidate};
use crate::config::TrackerConfig;
use crate::ekf;
use crate::identity::Hints;
use crate::imm::ImmState;
use crate::initiate::{self, PooledBearing};
use crate::linalg::{Mat6, Vec3, Vec6};
use crate::measurement::{Meas, MeasError, MeasKind, wrap_pi};
use crate::sensors::{SensorParams, SensorTable};
use crate::track::{BroadcastId, Origin, TrackState};

/// The cheap pre-gate lets through up to this many times the gate's squared distance: the
/// full IMM may explain a measurement better than the combined estimate does.
const PRE_GATE_FACTOR: f64 = 4.0;

/// A bearing updates a track only if the track's angular uncertainty seen from the sensor
/// is at least this fraction of the bearing's own noise.
const BEARING_INFO_RATIO: f64 = 0.5;

/// Why an observation was not accepted. The tracker's state is unchanged by a rejection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    #[error("observation {id}: {source}")]
    Invalid { id: u64, source: MeasError },
    #[error(
        "observation {id} at {t_s:.3} s arrived after time {watermark_s:.3} s was processed; \
         raise the reorder lag to accept it"
    )]
    TooLate { id: u64, t_s: f64, watermark_s: f64 },
}

/// Counters of what the tracker did, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerStats {
    pub observations: u64,
    pub rejected_invalid: u64,
    pub rejected_late: u64,
    pub reordered: u64,
    pub associated: u64,
    pub tracks_started: u64,
    pub tracks_confirmed: u64,
    pub tracks_deleted: u64,
    pub tracks_merged: u64,
    pub triangulations: u64,
}

#[derive(Debug, Clone)]
struct Pending {
    meas: Meas,
    serial: Option<BroadcastId>,
    operator_position: Option<Lla>,
    hints: Hints,
}

/// The fusion tracker. Feed it observations with [`Tracker::ingest`], move time forward
/// with [`Tracker::advance_to`], read tracks with [`Tracker::tracks_at`].
#[derive(Debug)]
pub struct Tracker {
    cfg: TrackerConfig,
    frame: EnuFrame,
    epoch: TimeNs,
    sensors: SensorTable,
    /// Sensor ids seen, interned to indices for the bearing pool, and back.
    sensor_index: BTreeMap<SensorId, usize>,
    sensor_ids: Vec<SensorId>,
    tracks: Vec<TrackState>,
    serials: BTreeMap<BroadcastId, usize>,
    next_track_id: u64,
    pending: BTreeMap<(TimeNs, SensorId, u64), Pending>,
    arrivals: u64,
    latest_arrival: Option<TimeNs>,
    watermark: Option<TimeNs>,
    bearing_pool: Vec<PooledBearing>,
    stats: TrackerStats,
}

impl Tracker {
    /// A tracker working in the ENU frame at `origin`, with time counted from `epoch`.
    pub fn new(
        cfg: TrackerConfig,
        origin: Lla,
        epoch: TimeNs,
        sensors: &[dronewatch_model::Sensor],
    ) -> Self {
        Self {
            sensors: SensorTable::new(sensors, cfg.default_pd),
            cfg,
            frame: EnuFrame::new(origin),
            epoch,
            sensor_index: BTreeMap::new(),
            sensor_ids: Vec::new(),
            tracks: Vec::new(),
            serials: BTreeMap::new(),
            next_track_id: 1,
            pending: BTreeMap::new(),
            arrivals: 0,
            latest_arrival: None,
            watermark: None,
            bearing_pool: Vec::new(),
            stats: TrackerStats::default(),
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    pub fn frame(&self) -> &EnuFrame {
        &self.frame
    }

    pub fn stats(&self) -> &TrackerStats {
        &self.stats
    }

    /// Accepts an observation into the reorder buffer. It is used at the next
    /// [`advance_to`](Self::advance_to) that reaches its time.
    pub fn ingest(&mut self, obs: Observation) -> Result<(), IngestError> {
        self.stats.observations += 1;
        if let Some(w) = self.watermark.filter(|w| obs.t <= *w) {
            self.stats.rejected_late += 1;
            return Err(IngestError::TooLate {
                id: obs.id.0,
                t_s: obs.t.secs_since(self.epoch),
                watermark_s: w.secs_since(self.epoch),
            });
        }
        let meas = Meas::from_observation(&obs, &self.frame).map_err(|source| {
            self.stats.rejected_invalid += 1;
            IngestError::Invalid {
                id: obs.id.0,
                source,
            }
        })?;
        if self.latest_arrival.is_some_and(|l| obs.t < l) {
            self.stats.reordered += 1;
        }
        self.latest_arrival = Some(self.latest_arrival.map_or(obs.t, |l| l.max(obs.t)));
        self.arrivals += 1;
        let hints = Hints::of(&obs.identity);
        let serial = match (obs.identity.remote_id_serial, obs.identity.icao_address) {
            (Some(s), _) => Some(BroadcastId::RemoteId(s)),
            (None, Some(icao)) => Some(BroadcastId::Icao(icao)),
            (None, None) => None,
        };
        self.pending.insert(
            (obs.t, obs.sensor_id, self.arrivals),
            Pending {
                meas,
                serial,
                operator_position: obs.identity.operator_position,
                hints,
            },
        );
        Ok(())
    }

    /// For a live feed: processes everything older than the newest arrival minus the
    /// reorder lag, so observations out of order by less than the lag are still used.
    pub fn advance_with_lag(&mut self) {
        if let Some(latest) = self.latest_arrival {
            self.advance_to(latest.plus_secs(-self.cfg.reorder_lag_s));
        }
    }

    /// Processes every buffered observation with time ≤ `t`, in time order, scan by scan.
    pub fn advance_to(&mut self, t: TimeNs) {
        while let Some(entry) = self.pending.first_entry() {
            let (time, sensor) = (entry.key().0, entry.key().1.clone());
            if time > t {
                break;
            }
            let mut scan = Vec::new();
            while let Some(e) = self.pending.first_entry() {
                if e.key().0 != time || e.key().1 != sensor {
                    break;
                }
                scan.push(e.remove());
            }
            self.process_scan(time, &sensor, scan);
        }
        if self.watermark.is_none_or(|w| t > w) {
            self.watermark = Some(t);
            self.maintain(t.secs_since(self.epoch));
        }
    }

    fn process_scan(&mut self, time: TimeNs, sensor: &SensorId, scan: Vec<Pending>) {
        let t_s = time.secs_since(self.epoch);
        let Some(kind) = scan.first().map(|p| p.meas.sensor_kind) else {
            return;
        };
        let params = self.sensors.get(sensor, kind);
        let sensor_ix = match self.sensor_index.get(sensor) {
            Some(&ix) => ix,
            None => {
                self.sensor_ids.push(sensor.clone());
                self.sensor_index
                    .insert(sensor.clone(), self.sensor_ids.len() - 1);
                self.sensor_ids.len() - 1
            }
        };
        let mut radar_like = Vec::new();
        let mut bearings = Vec::new();
        for p in scan {
            match p.meas.kind {
                MeasKind::Position => self.process_position(t_s, sensor, params, p),
                MeasKind::RangeAzEl => radar_like.push(p),
                MeasKind::Bearing | MeasKind::AzEl => bearings.push(p),
                MeasKind::BearingDistance => self.process_sighting(t_s, sensor, params, p),
                // Only ever the second half of an observation, never one of its own.
                MeasKind::Velocity => {}
            }
        }
        if !radar_like.is_empty() {
            self.process_radar(t_s, sensor, params, radar_like);
        }
        if !bearings.is_empty() {
            self.process_bearings(t_s, sensor, sensor_ix, params, bearings);
        }
    }

    /// Coarse gating state of a track: its combined estimate moved on by the manoeuvre
    /// model. Cheap; only used to skip measurements that are far away.
    fn gating_state(&self, track: &TrackState, t_s: f64) -> (Vec6, Mat6) {
        track.coarse_prediction(&self.cfg.imm.models[1], t_s)
    }

    /// Fine gate and cost of `meas` for track `ti`, on the track's full IMM prediction
    /// (kept in `preds` for the update that may follow). The gate passes when any motion
    /// model explains the measurement; the cost is `-ln(Pd · L / λ)` with `L` the mixture
    /// likelihood. `coarse` is the track's [`gating_state`](Self::gating_state) at `t_s`.
    fn candidate(
        &self,
        preds: &mut Predictions,
        ti: usize,
        coarse: &(Vec6, Mat6),
        t_s: f64,
        meas: &Meas,
        params: SensorParams,
    ) -> Option<(f64, f64)> {
        let track = &self.tracks[ti];
        let gate = self.cfg.gate_chi2[meas.kind.dim() - 1];
        // Cheap pre-gate on the combined estimate, flying on or stopped, with a wide margin;
        // the full IMM prediction is made only for measurements that pass it.
        let (x, p) = coarse;
        let moving = ekf::innovation(x, p, meas).is_some_and(|i| i.d2 <= PRE_GATE_FACTOR * gate);
        if !moving {
            let mut still = track.x;
            still.fixed_rows_mut::<3>(3).fill(0.0);
            let stopped =
                ekf::innovation(&still, p, meas).is_some_and(|i| i.d2 <= PRE_GATE_FACTOR * gate);
            if !stopped {
                return None;
            }
        }
        let pred = preds.get_or_predict(ti, || track.imm.predict(&self.cfg.imm, t_s - track.t_s));
        let (d2, nll) = pred.score(meas)?;
        (d2 <= gate).then(|| (nll + params.clutter_density.ln() - params.pd.ln(), d2))
    }

    fn miss_cost(params: SensorParams) -> f64 {
        -(1.0 - params.pd).max(1e-6).ln()
    }

    fn update_track(
        &mut self,
        ti: usize,
        t_s: f64,
        meas: &Meas,
        hints: &Hints,
        sensor: &SensorId,
        pred: Option<ImmState>,
    ) {
        let cfg = &self.cfg;
        let track = &mut self.tracks[ti];
        let mut imm = pred.unwrap_or_else(|| track.imm.predict(&cfg.imm, t_s - track.t_s));
        if imm.update(meas).is_none() {
            return;
        }
        // The sensor's own velocity estimate, when it gives one: a second, linear update.
        if let Some(v) = meas.velocity_update() {
            let _ = imm.update(&v);
        }
        track.imm = imm;
        track.t_s = t_s;
        (track.x, track.p) = track.imm.combined();
        track.note_sensor(sensor, meas.sensor_kind, t_s);
        track.evidence.note(sensor, hints);
        self.stats.associated += 1;
        self.try_confirm(ti);
    }

    fn try_confirm(&mut self, ti: usize) {
        let cfg = &self.cfg;
        let track = &self.tracks[ti];
        if track.is_confirmed() {
            return;
        }
        let ready = match track.origin {
            Origin::Radar => track.position_hits >= cfg.confirm_hits,
            Origin::RemoteId => track.position_hits >= cfg.confirm_hits_remote_id,
            Origin::Passive => {
                track.position_hits >= cfg.confirm_hits
                    || (track.updates >= u64::from(cfg.confirm_hits_passive)
                        && track.sensors.len() >= 2
                        && track.sigma_h_m() < 100.0)
            }
        };
        if ready {
            self.tracks[ti].id = Some(TrackId(self.next_track_id));
            self.next_track_id += 1;
            self.stats.tracks_confirmed += 1;
        }
    }

    fn start_track(
        &mut self,
        origin: Origin,
        (pos, cov): (Vec3, crate::linalg::Mat3),
        t_s: f64,
        sensor: &SensorId,
        velocity: Option<Meas>,
        hints: &Hints,
    ) -> usize {
        let mut imm = initiate::state_at(pos, cov, &self.cfg);
        // A sensor that tracks the object gives the new track its velocity at once.
        if let Some(v) = velocity {
            let _ = imm.update(&v);
        }
        let mut track = TrackState::new(origin, imm, t_s, sensor);
        track.evidence.note(sensor, hints);
        self.tracks.push(track);
        self.stats.tracks_started += 1;
        self.tracks.len() - 1
    }

    fn process_radar(
        &mut self,
        t_s: f64,
        sensor: &SensorId,
        params: SensorParams,
        plots: Vec<Pending>,
    ) {
        // Plots in Cartesian, binned on a horizontal grid for a cheap first gate.
        const CELL_M: f64 = 250.0;
        let points: Vec<Vec3> = plots
            .iter()
            .map(|p| {
                let m = &p.meas;
                initiate::point_of(m, &self.cfg).map_or(m.sensor_enu, |(p, _)| p)
            })
            .collect();
        let cell = |e: f64, n: f64| ((e / CELL_M).floor() as i64, (n / CELL_M).floor() as i64);
        let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        for (j, p) in points.iter().enumerate() {
            grid.entry(cell(p[0], p[1])).or_default().push(j);
        }
        let sensor_enu = plots[0].meas.sensor_enu;
        let (sigma_r, sigma_az) = (plots[0].meas.sigma[0], plots[0].meas.sigma[1]);
        let mut cands = Vec::new();
        let mut preds = Predictions::default();
        let mut best_d2 = vec![f64::INFINITY; plots.len()];
        let mut near = Vec::new();
        let exercise = sensor.is_exercise();
        for ti in 0..self.tracks.len() {
            let track = &self.tracks[ti];
            if track.deleted || track.exercise != exercise {
                continue;
            }
            let coarse = self.gating_state(track, t_s);
            let (x, p) = &coarse;
            let rho = ((x[0] - sensor_enu[0]).powi(2) + (x[1] - sensor_enu[1]).powi(2)).sqrt();
            let spread =
                (p[(0, 0)] + p[(1, 1)] + sigma_r * sigma_r + (rho * sigma_az).powi(2)).sqrt();
            // Around where the track would be if it flew on, and where it was if it stopped.
            let radius = 4.0 * spread + 20.0;
            let (lo_e, hi_e) = (x[0].min(track.x[0]) - radius, x[0].max(track.x[0]) + radius);
            let (lo_n, hi_n) = (x[1].min(track.x[1]) - radius, x[1].max(track.x[1]) + radius);
            let (c0, c1) = (cell(lo_e, lo_n), cell(hi_e, hi_n));
            near.clear();
            for ce in c0.0..=c1.0 {
                for cn in c0.1..=c1.1 {
                    let Some(js) = grid.get(&(ce, cn)) else {
                        continue;
                    };
                    for &j in js {
                        let q = points[j];
                        let to_moved = (q[0] - x[0]).hypot(q[1] - x[1]);
                        let to_still = (q[0] - track.x[0]).hypot(q[1] - track.x[1]);
                        if to_moved.min(to_still) <= radius {
                            near.push(j);
                        }
                    }
                }
            }
            near.sort_unstable();
            for &j in &near {
                let scored = self.candidate(&mut preds, ti, &coarse, t_s, &plots[j].meas, params);
                if let Some((cost, d2)) = scored {
                    let bonus = self.tracks[ti]
                        .evidence
                        .object_id_cost(sensor, &plots[j].hints);
                    cands.push(Candidate {
                        track: ti,
                        meas: j,
                        cost: cost + bonus,
                    });
                    if self.tracks[ti].is_confirmed() {
                        best_d2[j] = best_d2[j].min(d2);
                    }
                }
            }
        }
        let miss = Self::miss_cost(params);
        let pairs = assoc::assign(&cands, |_| miss);
        let mut used = vec![false; plots.len()];
        for &(ti, j) in &pairs {
            used[j] = true;
            let pred = preds.take(ti);
            self.update_track(ti, t_s, &plots[j].meas, &plots[j].hints, sensor, pred);
        }
        for (j, p) in plots.iter().enumerate() {
            // A plot close to a confirmed track that lost the assignment is most likely a
            // second return of that target, not a new one.
            if used[j] || best_d2[j] < 9.0 {
                continue;
            }
            if let Some((pos, cov)) = initiate::point_of(&p.meas, &self.cfg) {
                let velocity = p.meas.velocity_update();
                self.start_track(Origin::Radar, (pos, cov), t_s, sensor, velocity, &p.hints);
            }
        }
    }

    fn process_position(&mut self, t_s: f64, sensor: &SensorId, params: SensorParams, p: Pending) {
        let meas = p.meas;
        // The serial is a strong key: the report goes to the track that carries it.
        let exercise = sensor.is_exercise();
        if let Some(&ti) = p.serial.as_ref().and_then(|s| self.serials.get(s))
            && !self.tracks[ti].deleted
            && self.tracks[ti].exercise == exercise
        {
            if let Some(op) = p.operator_position {
                self.tracks[ti].operator_position = Some(op);
            }
            let track = &self.tracks[ti];
            let pred = track.imm.predict(&self.cfg.imm, t_s - track.t_s);
            let consistent = pred.score(&meas).is_some_and(|(d2, _)| d2 < 100.0);
            if consistent {
                self.update_track(ti, t_s, &meas, &p.hints, sensor, Some(pred));
            } else {
                // The broadcast says the track went astray: restart its state there.
                if let Some((pos, cov)) = initiate::point_of(&meas, &self.cfg) {
                    let track = &mut self.tracks[ti];
                    track.imm = initiate::state_at(pos, cov, &self.cfg);
                    track.t_s = t_s;
                    (track.x, track.p) = track.imm.combined();
                    track.note_sensor(sensor, meas.sensor_kind, t_s);
                    track.evidence.note(sensor, &p.hints);
                }
            }
            return;
        }
        // Unknown serial (or none): the best gated track that has no serial yet.
        let mut best: Option<(f64, usize)> = None;
        let mut preds = Predictions::default();
        for ti in 0..self.tracks.len() {
            let track = &self.tracks[ti];
            if track.deleted
                || track.exercise != exercise
                || (p.serial.is_some() && track.serial.is_some())
            {
                continue;
            }
            let coarse = self.gating_state(track, t_s);
            let (x, pc) = &coarse;
            let d = (x[0] - meas.z[0]).powi(2) + (x[1] - meas.z[1]).powi(2);
            if d > (5.0 * (pc[(0, 0)] + pc[(1, 1)] + meas.sigma[0].powi(2)).sqrt() + 50.0).powi(2) {
                continue;
            }
            let confirmed = track.is_confirmed();
            let bonus = track.evidence.object_id_cost(sensor, &p.hints);
            if let Some((cost, _)) = self.candidate(&mut preds, ti, &coarse, t_s, &meas, params) {
                // Prefer confirmed tracks: a tentative one may be clutter that drifted near.
                let cost = if confirmed { cost } else { cost + 5.0 } + bonus;
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, ti));
                }
            }
        }
        let ti = match best {
            Some((_, ti)) => {
                let pred = preds.take(ti);
                self.update_track(ti, t_s, &meas, &p.hints, sensor, pred);
                ti
            }
            None => {
                let Some((pos, cov)) = initiate::point_of(&meas, &self.cfg) else {
                    return;
                };
                self.start_track(
                    Origin::RemoteId,
                    (pos, cov),
                    t_s,
                    sensor,
                    meas.velocity_update(),
                    &p.hints,
                )
            }
        };
        if let Some(op) = p.operator_position {
            self.tracks[ti].operator_position = Some(op);
        }
        if let Some(serial) = p.serial {
            self.tracks[ti].serial = Some(serial.clone());
            // An exercise's serial never takes a real drone's key (nor the other way).
            let taken = self.serials.get(&serial).is_some_and(|&other| {
                other != ti
                    && !self.tracks[other].deleted
                    && self.tracks[other].exercise != exercise
            });
            if !taken {
                self.serials.insert(serial, ti);
            }
            self.try_confirm(ti);
        }
    }

    fn process_bearings(
        &mut self,
        t_s: f64,
        sensor: &SensorId,
        sensor_ix: usize,
        params: SensorParams,
        scan: Vec<Pending>,
    ) {
        let (bearings, hints): (Vec<Meas>, Vec<Hints>) =
            scan.into_iter().map(|p| (p.meas, p.hints)).unzip();
        let s = bearings[0].sensor_enu;
        let sigma_az = bearings[0].sigma[0];
        let exercise = sensor.is_exercise();
        // First the tracks held by radar to a few metres: a bearing gains them nothing, and
        // in a crowded scene would only risk a wrong association, so a bearing in their gate
        // is just marked as explained (it is no new target to triangulate). The rest (tracks
        // about as uncertain across the line of sight as the bearing) are updated by GNN.
        let gate = self.cfg.gate_chi2[0];
        let mut best_d2 = vec![f64::INFINITY; bearings.len()];
        let mut explained_by: Vec<Option<usize>> = vec![None; bearings.len()];
        let mut informative = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            // Bearings only refine tracks that exist for sure, or were started by bearings.
            if track.deleted
                || track.exercise != exercise
                || !(track.is_confirmed() || track.origin == Origin::Passive)
            {
                continue;
            }
            let coarse = self.gating_state(track, t_s);
            let (x, p) = &coarse;
            let (de, dn) = (x[0] - s[0], x[1] - s[1]);
            let rho = (de * de + dn * dn).sqrt().max(1.0);
            let az = de.atan2(dn);
            let sigma_track_rad = (p[(0, 0)] + p[(1, 1)]).sqrt() / rho;
            let window = 5.0 * sigma_az + 4.0 * sigma_track_rad + 0.02;
            if sigma_track_rad > BEARING_INFO_RATIO * sigma_az {
                informative.push((ti, az, window, coarse));
                continue;
            }
            for (j, m) in bearings.iter().enumerate() {
                if wrap_pi(m.z[0] - az).abs() > window {
                    continue;
                }
                if let Some(inn) = ekf::innovation(x, p, m).filter(|i| i.d2 <= gate)
                    && inn.d2 < best_d2[j]
                {
                    best_d2[j] = inn.d2;
                    explained_by[j] = Some(ti);
                }
            }
        }
        // A bearing a precise track explains still says who the target is (the link an RF
        // direction finder hears): the track keeps that, though its state is not updated.
        for (j, ti) in explained_by.iter().enumerate() {
            if let Some(ti) = *ti {
                self.tracks[ti].evidence.note(sensor, &hints[j]);
            }
        }
        let mut cands = Vec::new();
        let mut preds = Predictions::default();
        for (ti, az, window, coarse) in informative {
            for (j, m) in bearings.iter().enumerate() {
                if best_d2[j] <= gate || wrap_pi(m.z[0] - az).abs() > window {
                    continue;
                }
                if let Some((cost, _)) = self.candidate(&mut preds, ti, &coarse, t_s, m, params) {
                    let bonus = self.tracks[ti].evidence.object_id_cost(sensor, &hints[j]);
                    cands.push(Candidate {
                        track: ti,
                        meas: j,
                        cost: cost + bonus,
                    });
                }
            }
        }
        let miss = Self::miss_cost(params);
        let pairs = assoc::assign(&cands, |_| miss);
        let mut used = vec![false; bearings.len()];
        for &(ti, j) in &pairs {
            used[j] = true;
            let pred = preds.take(ti);
            self.update_track(ti, t_s, &bearings[j], &hints[j], sensor, pred);
        }
        self.bearing_pool
            .retain(|b| t_s - b.t_s <= self.cfg.bearing_pool_s);
        for (j, (meas, hints)) in bearings.into_iter().zip(hints).enumerate() {
            if used[j] || best_d2[j] <= gate {
                continue;
            }
            let new = PooledBearing {
                t_s,
                sensor: sensor_ix,
                meas,
            };
            let partner = self.bearing_pool.iter().enumerate().find_map(|(k, old)| {
                let baseline = (old.meas.sensor_enu - new.meas.sensor_enu).norm();
                let other_exercise = self.sensor_ids[old.sensor].is_exercise();
                if old.sensor == sensor_ix || baseline < 50.0 || other_exercise != exercise {
                    return None;
                }
                initiate::triangulate(&new, old, 25.0, &self.cfg).map(|fix| (k, fix))
            });
            match partner {
                Some((k, (pos, cov))) => {
                    let old = self.bearing_pool.remove(k);
                    self.stats.triangulations += 1;
                    let ti =
                        self.start_track(Origin::Passive, (pos, cov), t_s, sensor, None, &hints);
                    // The partner bearing counts too: the track was seen by two sensors.
                    let other = self.sensor_ids[old.sensor].clone();
                    let track = &mut self.tracks[ti];
                    if let Err(at) = track.sensors.binary_search(&other) {
                        track.sensors.insert(at, other);
                    }
                    track.updates += 1;
                }
                None => self.bearing_pool.push(new),
            }
        }
    }

    fn process_sighting(&mut self, t_s: f64, sensor: &SensorId, params: SensorParams, p: Pending) {
        let meas = p.meas;
        let mut cands = Vec::new();
        let mut preds = Predictions::default();
        let exercise = sensor.is_exercise();
        for ti in 0..self.tracks.len() {
            let track = &self.tracks[ti];
            if track.deleted || !track.is_confirmed() || track.exercise != exercise {
                continue;
            }
            let coarse = self.gating_state(track, t_s);
            if let Some((cost, _)) = self.candidate(&mut preds, ti, &coarse, t_s, &meas, params) {
                cands.push(Candidate {
                    track: ti,
                    meas: 0,
                    cost,
                });
            }
        }
        let miss = Self::miss_cost(params);
        match assoc::assign(&cands, |_| miss).first() {
            Some(&(ti, _)) => {
                let pred = preds.take(ti);
                self.update_track(ti, t_s, &meas, &p.hints, sensor, pred)
            }
            None => {
                // Nobody else sees it yet: a tentative track that other sensors can confirm.
                if let Some((pos, cov)) = initiate::point_of(&meas, &self.cfg) {
                    self.start_track(Origin::Passive, (pos, cov), t_s, sensor, None, &p.hints);
                }
            }
        }
    }

    /// Ends an exercise: its tracks are deleted at once (the next maintenance compacts
    /// them away). Returns how many there were.
    pub fn drop_exercise_tracks(&mut self) -> usize {
        let mut n = 0;
        for t in self.tracks.iter_mut().filter(|t| t.exercise && !t.deleted) {
            t.deleted = true;
            n += 1;
        }
        n
    }

    /// Deletes stale tracks, merges duplicates, and compacts the track list.
    fn maintain(&mut self, now_s: f64) {
        let cfg = &self.cfg;
        for track in &mut self.tracks {
            let age = now_s - track.last_fix_s();
            let limit = if track.is_confirmed() {
                cfg.delete_after_s
            } else {
                cfg.tentative_timeout_s
            };
            let (_, p) = track.coarse_prediction(&cfg.imm.models[1], now_s);
            if age > limit || (p[(0, 0)] + p[(1, 1)]).sqrt() > cfg.delete_sigma_m {
                track.deleted = true;
            }
        }
        self.merge_duplicates(now_s);
        let before = self.tracks.len();
        let deleted_confirmed = self.tracks.iter().filter(|t| t.deleted && t.is_confirmed());
        self.stats.tracks_deleted += deleted_confirmed.count() as u64;
        self.tracks.retain(|t| !t.deleted);
        if self.tracks.len() != before {
            self.serials.clear();
            for (ti, t) in self.tracks.iter().enumerate() {
                if let Some(s) = &t.serial {
                    self.serials.insert(s.clone(), ti);
                }
            }
        }
    }

    /// Two tracks on one target (a re-initiation beside a coasting track, or two sensors'
    /// tracks never associated) are merged: the older confirmed track stays.
    fn merge_duplicates(&mut self, now_s: f64) {
        let merge_m = self.cfg.merge_distance_m;
        let mut live: Vec<(f64, usize, Vec3, Vec3)> = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.deleted)
            .map(|(i, t)| {
                let dt = now_s - t.t_s;
                let pos = Vec3::new(
                    t.x[0] + dt * t.x[3],
                    t.x[1] + dt * t.x[4],
                    t.x[2] + dt * t.x[5],
                );
                (pos[0], i, pos, Vec3::new(t.x[3], t.x[4], t.x[5]))
            })
            .collect();
        live.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for a in 0..live.len() {
            for b in (a + 1)..live.len() {
                if live[b].0 - live[a].0 > merge_m {
                    break;
                }
                let (ia, ib) = (live[a].1, live[b].1);
                if self.tracks[ia].deleted || self.tracks[ib].deleted {
                    continue;
                }
                if (live[a].2 - live[b].2).norm() > merge_m || (live[a].3 - live[b].3).norm() > 5.0
                {
                    continue;
                }
                let (ta, tb) = (&self.tracks[ia], &self.tracks[ib]);
                if ta.exercise != tb.exercise {
                    continue; // an exercise's drone is never merged into a real one
                }
                if ta.serial.is_some() && tb.serial.is_some() && ta.serial != tb.serial {
                    continue; // two broadcasters flying together are two drones
                }
                let keep_a = match (ta.id, tb.id) {
                    (Some(a), Some(b)) => a < b,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => ta.updates >= tb.updates,
                };
                let (keep, drop) = if keep_a { (ia, ib) } else { (ib, ia) };
                if self.tracks[drop].is_confirmed() {
                    self.stats.tracks_merged += 1;
                }
                self.tracks[drop].deleted = true;
                if self.tracks[keep].serial.is_none() {
                    self.tracks[keep].serial = self.tracks[drop].serial.take();
                }
                if self.tracks[keep].operator_position.is_none() {
                    self.tracks[keep].operator_position = self.tracks[drop].operator_position;
                }
                let dropped = std::mem::take(&mut self.tracks[drop].evidence);
                self.tracks[keep].evidence.absorb(dropped);
                let first_s = self.tracks[drop].first_update_s;
                let kept = &mut self.tracks[keep];
                kept.first_update_s = kept.first_update_s.min(first_s);
            }
        }
    }

    /// Confirmed tracks at time `t`, each predicted to `t`, in track id order. Tracks not
    /// updated for longer than the reporting age are held back (still kept internally).
    pub fn tracks_at(&self, t: TimeNs) -> Vec<Track> {
        let t_s = t.secs_since(self.epoch);
        let mut out: Vec<Track> = self
            .tracks
            .iter()
            .filter(|tr| {
                let max_age_s = self
                    .cfg
                    .report_max_age_s
                    .max(self.cfg.report_missed_fixes * tr.fix_interval_s);
                !tr.deleted && t_s - tr.last_fix_s() <= max_age_s
            })
            .filter_map(|tr| {
                let id = tr.id?;
                let imm = tr.imm.predict(&self.cfg.imm, t_s - tr.t_s);
                let (x, p) = imm.combined();
                // Held back until settled, if radar or Remote ID will settle it; a track
                // from bearings alone is the best there is and is shown as it is.
                let sigma_m = (p[(0, 0)] + p[(1, 1)] + p[(2, 2)]).sqrt();
                if tr.position_hits > 0 && sigma_m > self.cfg.report_max_sigma_m {
                    return None;
                }
                let enu = [x[0], x[1], x[2]];
                let mut cov = [0.0; 9];
                for i in 0..3 {
                    for j in 0..3 {
                        cov[i * 3 + j] = p[(i, j)];
                    }
                }
                let coasting = t_s - tr.last_fix_s() > 1.5;
                Some(Track {
                    id,
                    t,
                    status: if coasting {
                        TrackStatus::Coasting
                    } else {
                        TrackStatus::Confirmed
                    },
                    position: self.frame.to_lla(&enu),
                    enu_m: enu,
                    vel_enu_mps: [x[3], x[4], x[5]],
                    cov_enu_m2: cov,
                    sensors: tr.sensors.clone(),
                    identity: identity_of(tr),
                    first_update: Some(self.epoch.plus_secs(tr.first_update_s)),
                    last_update: self.epoch.plus_secs(tr.last_update_s),
                    updates: tr.updates,
                })
            })
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// Number of live tracks, tentative included.
    pub fn live_tracks(&self) -> usize {
        self.tracks.iter().filter(|t| !t.deleted).count()
    }

    /// Observations waiting in the reorder buffer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// IMM predictions of the tracks gated in one scan, made once and reused by the update.
#[derive(Debug, Default)]
struct Predictions {
    by_track: Vec<(usize, ImmState)>,
}

impl Predictions {
    fn get_or_predict(&mut self, ti: usize, predict: impl FnOnce() -> ImmState) -> &ImmState {
        // Tracks are visited in index order, so the newest entry is the one asked for.
        let found = self.by_track.iter().rposition(|(t, _)| *t == ti);
        let at = match found {
            Some(at) => at,
            None => {
                self.by_track.push((ti, predict()));
                self.by_track.len() - 1
            }
        };
        &self.by_track[at].1
    }

    fn take(&mut self, ti: usize) -> Option<ImmState> {
        let at = self.by_track.iter().position(|(t, _)| *t == ti)?;
        Some(self.by_track.swap_remove(at).1)
    }
}

/// What fusion knows of who a track's target is.
fn identity_of(tr: &TrackState) -> TrackIdentity {
    let (class, class_confidence) = tr
        .evidence
        .classes
        .best()
        .map_or((None, None), |(c, share)| (Some(c.to_owned()), Some(share)));
    let mut identity = TrackIdentity {
        class,
        class_confidence,
        rf_emission: tr.evidence.rf_emission,
        ..TrackIdentity::default()
    };
    match &tr.serial {
        Some(BroadcastId::RemoteId(s)) => {
            identity.remote_id_serial = Some(s.clone());
            identity.operator_position = tr.operator_position;
        }
        Some(BroadcastId::Icao(icao)) => identity.icao_address = Some(*icao),
        None => {}
    }
    identity
}

#[cfg(test)]
mod tests {
    use super::*;
    use dronewatch_model::{IdentityHints, Measurement, ObservationId, SensorKind};

    const ORIGIN: Lla = Lla::new(51.2, -1.8, 100.0);

    fn bearing(id: u64, t: TimeNs, sensor: &str, at: [f64; 3], toward: [f64; 2]) -> Observation {
        let az = (toward[0] - at[0]).atan2(toward[1] - at[1]).to_degrees();
        Observation {
            id: ObservationId(id),
            t,
            sensor_id: SensorId::new(sensor),
            sensor_kind: SensorKind::RfDf,
            sensor_position: Some(EnuFrame::new(ORIGIN).to_lla(&at)),
            measurement: Measurement::Bearing {
                az_deg: az.rem_euclid(360.0),
                sigma_az_deg: 2.0,
            },
            velocity: None,
            identity: IdentityHints::default(),
        }
    }

    #[test]
    fn a_remote_id_track_shows_where_its_pilot_last_said_to_be() {
        let frame = EnuFrame::new(ORIGIN);
        let mut tracker = Tracker::new(TrackerConfig::default(), ORIGIN, TimeNs(0), &[]);
        for k in 0..6u32 {
            let t = TimeNs(i64::from(k) * TimeNs::NS_PER_S);
            let pilot = frame.to_lla(&[-400.0, -300.0 + f64::from(k), 0.0]);
            tracker
                .ingest(Observation {
                    id: ObservationId(u64::from(k)),
                    t,
                    sensor_id: SensorId::new("rid-1"),
                    sensor_kind: SensorKind::RemoteId,
                    sensor_position: None,
                    measurement: Measurement::Position {
                        position: frame.to_lla(&[10.0 * f64::from(k), 200.0, 60.0]),
                        sigma_horizontal_m: 5.0,
                        sigma_vertical_m: 5.0,
                    },
                    velocity: None,
                    identity: IdentityHints {
                        remote_id_serial: Some("1581F5FJD22A".into()),
                        // Not every message carries the pilot: the last one known stays.
                        operator_position: (k != 5).then_some(pilot),
                        ..IdentityHints::default()
                    },
                })
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let t = TimeNs(5 * TimeNs::NS_PER_S);
        tracker.advance_to(t);
        let tracks = tracker.tracks_at(t);
        let [track] = tracks.as_slice() else {
            panic!("{tracks:?}")
        };
        let Some(pilot) = track.identity.operator_position else {
            panic!("no pilot position: {track:?}")
        };
        let enu = frame.to_enu(&pilot);
        assert!(
            (enu[0] + 400.0).abs() < 0.01 && (enu[1] + 296.0).abs() < 0.01,
            "{enu:?}"
        );
    }

    #[test]
    fn a_triangulated_track_names_both_bearing_sensors() {
        let t0 = TimeNs(0);
        let mut tracker = Tracker::new(TrackerConfig::default(), ORIGIN, t0, &[]);
        // rfdf-1 is seen first, pointing away from everything: it must not be credited.
        let target = [300.0, 900.0];
        let obs = [
            bearing(0, t0, "rfdf-1", [0.0, -2000.0, 5.0], [0.0, -9000.0]),
            bearing(1, t0.plus_secs(0.2), "rfdf-2", [-1000.0, 0.0, 5.0], target),
            bearing(2, t0.plus_secs(0.4), "rfdf-3", [1500.0, 0.0, 5.0], target),
        ];
        for o in obs {
            tracker.ingest(o).unwrap_or_else(|e| panic!("{e}"));
        }
        tracker.advance_to(t0.plus_secs(1.0));
        assert_eq!(tracker.stats().triangulations, 1);
        let names: Vec<&str> = tracker.tracks[0]
            .sensors
            .iter()
            .map(SensorId::as_str)
            .collect();
        assert_eq!(names, ["rfdf-2", "rfdf-3"]);
    }

    fn plot(id: u64, t: TimeNs, sensor: &str, target: [f64; 3]) -> Observation {
        let (az_deg, el_deg, range_m) = dronewatch_geo::enu_to_az_el_range(&target);
        Observation {
            id: ObservationId(id),
            t,
            sensor_id: SensorId::new(sensor),
            sensor_kind: SensorKind::Radar,
            sensor_position: Some(ORIGIN),
            measurement: Measurement::RangeAzEl {
                range_m,
                az_deg,
                el_deg,
                sigma_range_m: 5.0,
                sigma_az_deg: 0.5,
                sigma_el_deg: 1.0,
            },
            velocity: None,
            identity: IdentityHints::default(),
        }
    }

    #[test]
    fn a_sensor_velocity_starts_a_track_moving_and_is_used_on_every_update() {
        let t0 = TimeNs(0);
        let mut with = Tracker::new(TrackerConfig::default(), ORIGIN, t0, &[]);
        let mut without = Tracker::new(TrackerConfig::default(), ORIGIN, t0, &[]);
        let moving = |id: u64, t: TimeNs, e: f64| {
            let mut o = plot(id, t, "radar-1", [e, 1000.0, 100.0]);
            o.velocity = Some(dronewatch_model::VelocityMeasurement {
                east_mps: 12.0,
                north_mps: 0.0,
                up_mps: None,
                sigma_horizontal_mps: 1.0,
                sigma_vertical_mps: 1.0,
            });
            o
        };
        with.ingest(moving(0, t0, 0.0))
            .unwrap_or_else(|e| panic!("{e}"));
        without
            .ingest(plot(0, t0, "radar-1", [0.0, 1000.0, 100.0]))
            .unwrap_or_else(|e| panic!("{e}"));
        with.advance_to(t0.plus_secs(0.5));
        without.advance_to(t0.plus_secs(0.5));
        // From its first plot, the track knows where the drone is going.
        assert!(
            (with.tracks[0].x[3] - 12.0).abs() < 1.5,
            "{:?}",
            with.tracks[0].x
        );
        assert!(
            with.tracks[0].x[5].abs() < 1e-6,
            "no vertical given, none made up"
        );
        assert!(without.tracks[0].x[3].abs() < 1e-9);
        // Updates keep it: after a second plot it is still there, the variance small.
        with.ingest(moving(1, t0.plus_secs(1.0), 12.0))
            .unwrap_or_else(|e| panic!("{e}"));
        with.advance_to(t0.plus_secs(1.5));
        assert!(
            (with.tracks[0].x[3] - 12.0).abs() < 1.0,
            "{:?}",
            with.tracks[0].x
        );
        assert!(
            with.tracks[0].p[(3, 3)] < 2.0,
            "{}",
            with.tracks[0].p[(3, 3)]
        );
        // A bad velocity is refused by name, like any bad field.
        let mut bad = moving(2, t0.plus_secs(2.0), 24.0);
        if let Some(v) = bad.velocity.as_mut() {
            v.sigma_horizontal_mps = 0.0;
        }
        let Err(e) = with.ingest(bad) else {
            panic!("a zero sigma was taken")
        };
        assert!(
            e.to_string().contains("velocity.sigma_horizontal_mps"),
            "{e}"
        );
    }

    #[test]
    fn an_exercise_drone_is_never_fused_with_a_real_one_and_ends_in_one_call() {
        let t0 = TimeNs(0);
        let mut tracker = Tracker::new(TrackerConfig::default(), ORIGIN, t0, &[]);
        // A real drone and an exercise's simulated one flying the same path, 2 m apart.
        for k in 0..10u64 {
            let t = t0.plus_secs(k as f64);
            let e = 10.0 * k as f64;
            tracker
                .ingest(plot(2 * k, t, "radar-1", [e, 1000.0, 100.0]))
                .unwrap_or_else(|e| panic!("{e}"));
            tracker
                .ingest(plot(
                    2 * k + 1,
                    t.plus_secs(0.05),
                    "EXERCISE-radar-1",
                    [e + 2.0, 1000.0, 100.0],
                ))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tracker.advance_to(t0.plus_secs(10.0));
        let tracks = tracker.tracks_at(t0.plus_secs(10.0));
        assert_eq!(tracks.len(), 2, "{tracks:?}");
        assert_eq!(tracks.iter().filter(|t| t.is_exercise()).count(), 1);
        for t in &tracks {
            assert_eq!(t.sensors.len(), 1, "{:?}", t.sensors);
        }
        assert_eq!(tracker.drop_exercise_tracks(), 1);
        let tracks = tracker.tracks_at(t0.plus_secs(10.0));
        assert_eq!(tracks.len(), 1);
        assert!(!tracks[0].is_exercise());
    }
}
