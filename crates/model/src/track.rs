use serde::{Deserialize, Serialize};

use crate::{Lla, SensorId, TimeNs};

/// A track's identity, stable for the track's whole life and never reused by a tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrackId(pub u64);

impl std::fmt::Display for TrackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// Seen, not yet believed: not shown to users.
    Tentative,
    Confirmed,
    /// Not updated recently; still shown, predicted.
    Coasting,
    Deleted,
}

/// Who the tracked object is, as far as fusion knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrackIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id_serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_position: Option<Lla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icao_address: Option<u32>,
    /// The class the sensors' classifications agree on most (see fusion's class votes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The share of the classification evidence behind `class`, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_confidence: Option<f64>,
    /// The latest radio emission an RF sensor associated with the track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rf_emission: Option<crate::RfEmission>,
}

impl Track {
    /// Made of an exercise's simulated observations (fusion keeps those apart, so a
    /// track's sensors are all exercise sensors or none is).
    pub fn is_exercise(&self) -> bool {
        self.sensors.first().is_some_and(SensorId::is_exercise)
    }
}

/// A fused track at one time, in WGS84 and in the fusion frame's local ENU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: TrackId,
    pub t: TimeNs,
    pub status: TrackStatus,
    pub position: Lla,
    /// Position in the fusion frame's ENU, metres.
    pub enu_m: [f64; 3],
    /// Velocity in ENU, metres per second.
    pub vel_enu_mps: [f64; 3],
    /// Position covariance in ENU, row-major 3x3, square metres.
    pub cov_enu_m2: [f64; 9],
    /// Sensors whose observations updated this track, sorted.
    pub sensors: Vec<SensorId>,
    pub identity: TrackIdentity,
    /// Time of the first observation of the track, when it was still tentative: how long
    /// the sensors have seen the drone, not how long it has been shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_update: Option<TimeNs>,
    /// Time of the last observation that updated the track.
    pub last_update: TimeNs,
    /// Number of observations that updated the track.
    pub updates: u64,
}
