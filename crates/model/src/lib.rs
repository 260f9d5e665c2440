//! The contract between every dronewatch stage.
//!
//! Adapters turn wire formats into [`Observation`]s; fusion turns observations into
//! [`Track`]s. This crate holds only data and the small invariants that come with it: no I/O,
//! no async, no maths beyond unit conversions. Units are in field names (`_m`, `_deg`,
//! `_mps`, `_unix_ns`); angles are degrees at this edge (fusion uses radians inside).

mod agent;
mod health;
mod observation;
mod sensor;
mod time;
mod track;

pub use agent::{AgentFix, AgentId};
pub use health::{HealthState, SensorHealth};
pub use observation::{
    Classification, IdentityHints, Measurement, MeasurementKind, Observation, ObservationId,
    RfEmission, VelocityMeasurement,
};
pub use sensor::{Clutter, Coverage, EXERCISE_PREFIX, Sensor, SensorId, SensorKind};
pub use time::TimeNs;
pub use track::{Track, TrackId, TrackIdentity, TrackStatus};

use serde::{Deserialize, Serialize};

/// A WGS84 geodetic position: latitude and longitude in degrees, height above the ellipsoid
/// in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lla {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub h_m: f64,
}

impl Lla {
    pub const fn new(lat_deg: f64, lon_deg: f64, h_m: f64) -> Self {
        Self {
            lat_deg,
            lon_deg,
            h_m,
        }
    }

    /// True when every field is finite and latitude is within [-90, 90].
    pub fn is_valid(&self) -> bool {
        self.lat_deg.is_finite()
            && self.lon_deg.is_finite()
            && self.h_m.is_finite()
            && (-90.0..=90.0).contains(&self.lat_deg)
    }
}
