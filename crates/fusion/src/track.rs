//! A track inside the tracker: its IMM estimate, lifecycle counters and identity.

use dronewatch_model::{Lla, SensorId, SensorKind, TrackId};

use crate::identity::Evidence;
use crate::imm::ImmState;
use crate::linalg::{Mat6, Vec6};
use crate::motion::ConstantVelocity;

/// How a track was started; decides what it needs to be confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Radar,
    RemoteId,
    /// Triangulated bearings or a person's sighting: not localised by itself.
    Passive,
}

#[derive(Debug, Clone)]
pub struct TrackState {
    /// Assigned at confirmation, so tentative tracks that die never use up an id.
    pub id: Option<TrackId>,
    pub origin: Origin,
    pub imm: ImmState,
    /// Time of `imm`, seconds since the tracker epoch.
    pub t_s: f64,
    /// Combined estimate at `t_s`, cached for gating.
    pub x: Vec6,
    pub p: Mat6,
    /// First observation [s since the tracker epoch]: the start of the tentative track.
    pub first_update_s: f64,
    pub last_update_s: f64,
    /// Last update by a sensor that fixes a position (radar, Remote ID): bearings alone
    /// cannot hold a track in place, so staleness is judged on this.
    pub last_position_s: f64,
    /// Running mean of the time between position fixes [s]: how often this track can
    /// expect one, given the sensors that see it.
    pub fix_interval_s: f64,
    /// Updates by sensors that measure range or position (radar, Remote ID).
    pub position_hits: u32,
    pub updates: u64,
    /// The target's own broadcast identity (Remote ID serial or ICAO address), once known.
    pub serial: Option<BroadcastId>,
    /// Where the pilot is, as the drone's Remote ID last said (a claim, not a measurement).
    pub operator_position: Option<Lla>,
    /// Sensors that updated the track, sorted and unique.
    pub sensors: Vec<SensorId>,
    /// What sensors said about who the target is.
    pub evidence: Evidence,
    pub deleted: bool,
    /// Started by an exercise's sensor: only that exercise's observations update it.
    pub exercise: bool,
}

impl TrackState {
    pub fn new(origin: Origin, imm: ImmState, t_s: f64, sensor: &SensorId) -> Self {
        let (x, p) = imm.combined();
        Self {
            id: None,
            origin,
            imm,
            t_s,
            x,
            p,
            first_update_s: t_s,
            last_update_s: t_s,
            last_position_s: if origin == Origin::Passive {
                f64::NEG_INFINITY
            } else {
                t_s
            },
            fix_interval_s: 1.0,
            position_hits: u32::from(origin != Origin::Passive),
            updates: 1,
            serial: None,
            operator_position: None,
            sensors: vec![sensor.clone()],
            evidence: Evidence::default(),
            deleted: false,
            exercise: sensor.is_exercise(),
        }
    }

    /// When the track was last held in place: by a position sensor, or for a track that
    /// never had one, by anything.
    pub fn last_fix_s(&self) -> f64 {
        if self.position_hits > 0 {
            self.last_position_s
        } else {
            self.last_update_s
        }
    }

    pub fn is_confirmed(&self) -> bool {
        self.id.is_some()
    }

    pub fn note_sensor(&mut self, sensor: &SensorId, kind: SensorKind, t_s: f64) {
        if let Err(at) = self.sensors.binary_search(sensor) {
            self.sensors.insert(at, sensor.clone());
        }
        if matches!(
            kind,
            SensorKind::Radar | SensorKind::RemoteId | SensorKind::Adsb
        ) {
            if self.last_position_s.is_finite() {
                let interval = (t_s - self.last_position_s).min(5.0);
                self.fix_interval_s += 0.2 * (interval - self.fix_interval_s);
            }
            self.position_hits += 1;
            self.last_position_s = t_s;
        }
        self.updates += 1;
        self.last_update_s = t_s;
    }

    /// The combined estimate moved on to `t_s` by one motion model: cheap, for coarse
    /// gating and staleness checks where the full IMM prediction is not worth making.
    pub fn coarse_prediction(&self, model: &ConstantVelocity, t_s: f64) -> (Vec6, Mat6) {
        model.predict(&self.x, &self.p, t_s - self.t_s)
    }

    /// Horizontal position standard deviation (square root of the larger eigenvalue bound).
    pub fn sigma_h_m(&self) -> f64 {
        (self.p[(0, 0)] + self.p[(1, 1)]).sqrt()
    }
}

/// What a cooperative target broadcasts as its identity: a strong association key (a report
/// carrying one goes to the track that carries it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BroadcastId {
    /// A drone's Remote ID serial.
    RemoteId(String),
    /// A manned aircraft's ICAO 24-bit address (ADS-B).
    Icao(u32),
}
