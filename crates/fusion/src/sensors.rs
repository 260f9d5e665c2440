//! What fusion needs to know about each sensor: detection probability and false-alarm
//! density, from sensor metadata with per-kind defaults.

use std::collections::BTreeMap;
use std::f64::consts::{PI, TAU};

use dronewatch_model::{Sensor, SensorId, SensorKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensorParams {
    pub pd: f64,
    /// False alarms per unit of measurement space (m·rad² for radar, rad for bearings,
    /// rad² for az/el, m·rad for sightings, m³ for positions).
    pub clutter_density: f64,
}

impl SensorParams {
    fn default_for(kind: SensorKind, default_pd: f64) -> Self {
        let clutter_density = match kind {
            SensorKind::Radar => 1e-3,
            SensorKind::RfDf => 0.5 / TAU,
            SensorKind::Acoustic | SensorKind::Eo | SensorKind::Other => 0.1 / (TAU * PI / 3.0),
            SensorKind::Agent => 1e-6,
            SensorKind::RemoteId | SensorKind::Adsb => 1e-12,
        };
        Self {
            pd: default_pd,
            clutter_density,
        }
    }

    fn from_sensor(s: &Sensor, default_pd: f64) -> Self {
        let mut p = Self::default_for(s.kind, default_pd);
        if let Some(pd) = s.pd.filter(|pd| *pd > 0.0 && *pd < 1.0) {
            p.pd = pd;
        }
        if let Some(c) = &s.clutter {
            let density = match s.kind {
                SensorKind::Radar => c.radar_density_per_m_rad2(),
                SensorKind::RfDf => Some(c.rate_per_scan / TAU),
                // Acoustic false alarms: uniform in azimuth and in elevation 0-60 degrees.
                SensorKind::Acoustic => Some(c.rate_per_scan / (TAU * PI / 3.0)),
                _ => None,
            };
            if let Some(d) = density.filter(|d| *d > 0.0 && d.is_finite()) {
                p.clutter_density = d;
            }
        }
        p
    }
}

/// Sensor parameters by id, falling back to the first sensor of the same kind (mobile
/// reporters such as agents share one entry) and then to per-kind defaults.
#[derive(Debug, Clone, Default)]
pub struct SensorTable {
    by_id: BTreeMap<SensorId, SensorParams>,
    by_kind: BTreeMap<SensorKind, SensorParams>,
    default_pd: f64,
}

impl SensorTable {
    pub fn new(sensors: &[Sensor], default_pd: f64) -> Self {
        let mut t = Self {
            default_pd,
            ..Self::default()
        };
        for s in sensors {
            let p = SensorParams::from_sensor(s, default_pd);
            t.by_id.insert(s.id.clone(), p);
            t.by_kind.entry(s.kind).or_insert(p);
        }
        t
    }

    pub fn get(&self, id: &SensorId, kind: SensorKind) -> SensorParams {
        self.by_id
            .get(id)
            .or_else(|| self.by_kind.get(&kind))
            .copied()
            .unwrap_or_else(|| SensorParams::default_for(kind, self.default_pd))
    }
}
