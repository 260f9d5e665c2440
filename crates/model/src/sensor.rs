use serde::{Deserialize, Serialize};

use crate::Lla;

/// A sensor's stable identifier (as the sensor or its adapter names itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SensorId(pub String);

/// Sensors whose id starts with this are an exercise's simulated sensors: what they see
/// is training traffic, kept apart from the real picture end to end (fusion never mixes
/// it with real observations; tracks, alerts and warnings made of it say so).
pub const EXERCISE_PREFIX: &str = "EXERCISE-";

impl SensorId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// One of an exercise's simulated sensors ([`EXERCISE_PREFIX`]).
    pub fn is_exercise(&self) -> bool {
        self.0.starts_with(EXERCISE_PREFIX)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SensorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of sensor produced an observation; decides how fusion may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Range, azimuth, elevation plots; may contain clutter.
    Radar,
    /// RF direction finder: bearing only; may contain false bearings.
    RfDf,
    /// Acoustic array: azimuth and elevation; short range; may contain false alarms.
    Acoustic,
    /// Remote ID receiver: the drone's own broadcast position and serial.
    RemoteId,
    /// A person's sighting report: bearing and rough distance.
    Agent,
    /// ADS-B receiver: a manned aircraft's own broadcast position and ICAO address
    /// (cooperative; never a drone threat).
    Adsb,
    /// Electro-optical / infrared camera.
    Eo,
    /// Anything else.
    Other,
}

impl SensorKind {
    /// The wire name, as serde writes it (`radar`, `rf_df`, `remote_id`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SensorKind::Radar => "radar",
            SensorKind::RfDf => "rf_df",
            SensorKind::Acoustic => "acoustic",
            SensorKind::RemoteId => "remote_id",
            SensorKind::Agent => "agent",
            SensorKind::Adsb => "adsb",
            SensorKind::Eo => "eo",
            SensorKind::Other => "other",
        }
    }
}

/// Where a sensor can see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Coverage {
    pub min_range_m: f64,
    pub max_range_m: f64,
    /// Elevation limits, where the sensor has them.
    pub el_deg: Option<[f64; 2]>,
}

/// False alarms per scan, uniform over a region of measurement space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Clutter {
    /// Poisson mean of false alarms per scan.
    pub rate_per_scan: f64,
    /// Region of the false alarms (radar); `None` means the whole coverage.
    pub range_m: Option<[f64; 2]>,
    pub az_deg: Option<[f64; 2]>,
    pub el_deg: Option<[f64; 2]>,
}

/// A sensor's metadata: what fusion needs to weigh its observations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    pub id: SensorId,
    pub kind: SensorKind,
    /// Fixed position; `None` for mobile sensors (their position comes with each observation).
    pub position: Option<Lla>,
    pub period_s: Option<f64>,
    /// Probability of detecting a target in coverage per scan.
    pub pd: Option<f64>,
    pub coverage: Option<Coverage>,
    pub clutter: Option<Clutter>,
}

impl Clutter {
    /// Spatial density of radar clutter per unit of measurement volume (per m·rad²), when the
    /// region is fully described; `None` otherwise.
    pub fn radar_density_per_m_rad2(&self) -> Option<f64> {
        let [r0, r1] = self.range_m?;
        let [a0, a1] = self.az_deg?;
        let [e0, e1] = self.el_deg?;
        let volume = (r1 - r0) * (a1 - a0).to_radians() * (e1 - e0).to_radians();
        (volume > 0.0).then(|| self.rate_per_scan / volume)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radar_clutter_density_is_rate_over_volume() {
        let c = Clutter {
            rate_per_scan: 20.0,
            range_m: Some([100.0, 8000.0]),
            az_deg: Some([0.0, 360.0]),
            el_deg: Some([-2.0, 15.0]),
        };
        let expected = 20.0 / (7900.0 * std::f64::consts::TAU * 17f64.to_radians());
        let got = c.radar_density_per_m_rad2().unwrap_or_default();
        assert!((got - expected).abs() < 1e-15);
    }

    #[test]
    fn clutter_without_region_has_no_density() {
        let c = Clutter {
            rate_per_scan: 0.5,
            ..Default::default()
        };
        assert_eq!(c.radar_density_per_m_rad2(), None);
    }
}
