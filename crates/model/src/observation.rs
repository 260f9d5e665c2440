use serde::{Deserialize, Serialize};

use crate::{Lla, SensorId, SensorKind, TimeNs};

/// Identifies an observation within its source (file line, message id, sequence number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObservationId(pub u64);

/// One measurement of one object by one sensor at one time: the single currency between
/// sources and fusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub id: ObservationId,
    pub t: TimeNs,
    pub sensor_id: SensorId,
    pub sensor_kind: SensorKind,
    /// Where the sensor was when it measured; required by every relative measurement.
    pub sensor_position: Option<Lla>,
    pub measurement: Measurement,
    /// The sensor's own estimate of the object's velocity, when it tracks it (a SAPIENT
    /// detection's `enu_velocity`): fusion uses it as a second update after the position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub velocity: Option<VelocityMeasurement>,
    #[serde(default, skip_serializing_if = "IdentityHints::is_empty")]
    pub identity: IdentityHints,
}

/// A velocity in east-north-up axes with its one-sigma noise [m/s].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VelocityMeasurement {
    pub east_mps: f64,
    pub north_mps: f64,
    /// `None`: the sensor gives the horizontal velocity only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_mps: Option<f64>,
    pub sigma_horizontal_mps: f64,
    pub sigma_vertical_mps: f64,
}

impl VelocityMeasurement {
    /// Checks the values; the name of the first bad field.
    pub fn validate(&self) -> Result<(), &'static str> {
        let finite = |v: f64, name| if v.is_finite() { Ok(()) } else { Err(name) };
        finite(self.east_mps, "velocity.east_mps")?;
        finite(self.north_mps, "velocity.north_mps")?;
        if let Some(up) = self.up_mps {
            finite(up, "velocity.up_mps")?;
        }
        if !(self.sigma_horizontal_mps.is_finite() && self.sigma_horizontal_mps > 0.0) {
            return Err("velocity.sigma_horizontal_mps");
        }
        if !(self.sigma_vertical_mps.is_finite() && self.sigma_vertical_mps > 0.0) {
            return Err("velocity.sigma_vertical_mps");
        }
        Ok(())
    }
}

/// What was measured, each with its own noise (one standard deviation, same units).
///
/// Azimuths are compass bearings: degrees clockwise from true north, in [0, 360).
/// Elevations are degrees above the local horizontal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Measurement {
    /// An absolute 3D position (Remote ID, GNSS, a fused position from another system).
    Position {
        position: Lla,
        sigma_horizontal_m: f64,
        sigma_vertical_m: f64,
    },
    /// A radar plot relative to the sensor.
    RangeAzEl {
        range_m: f64,
        az_deg: f64,
        el_deg: f64,
        sigma_range_m: f64,
        sigma_az_deg: f64,
        sigma_el_deg: f64,
    },
    /// Bearing only (RF direction finder).
    Bearing { az_deg: f64, sigma_az_deg: f64 },
    /// Azimuth and elevation without range (acoustic array, camera).
    AzEl {
        az_deg: f64,
        el_deg: f64,
        sigma_az_deg: f64,
        sigma_el_deg: f64,
    },
    /// A person's report: compass bearing and a rough horizontal distance whose error is a
    /// fraction of the distance itself.
    BearingDistance {
        az_deg: f64,
        dist_m: f64,
        sigma_az_deg: f64,
        sigma_dist_rel: f64,
    },
}

/// The shape of a measurement, without its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeasurementKind {
    Position,
    RangeAzEl,
    Bearing,
    AzEl,
    BearingDistance,
}

impl Measurement {
    pub fn kind(&self) -> MeasurementKind {
        match self {
            Measurement::Position { .. } => MeasurementKind::Position,
            Measurement::RangeAzEl { .. } => MeasurementKind::RangeAzEl,
            Measurement::Bearing { .. } => MeasurementKind::Bearing,
            Measurement::AzEl { .. } => MeasurementKind::AzEl,
            Measurement::BearingDistance { .. } => MeasurementKind::BearingDistance,
        }
    }

    /// True when the measurement is relative to the sensor and so needs its position.
    pub fn needs_sensor_position(&self) -> bool {
        !matches!(self, Measurement::Position { .. })
    }

    /// Checks that every value is finite and every sigma positive; names the first bad field.
    pub fn validate(&self) -> Result<(), &'static str> {
        fn finite(v: f64, name: &'static str) -> Result<(), &'static str> {
            if v.is_finite() { Ok(()) } else { Err(name) }
        }
        fn sigma(v: f64, name: &'static str) -> Result<(), &'static str> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(name)
            }
        }
        match *self {
            Measurement::Position {
                position,
                sigma_horizontal_m,
                sigma_vertical_m,
            } => {
                if !position.is_valid() {
                    return Err("position");
                }
                sigma(sigma_horizontal_m, "sigma_horizontal_m")?;
                sigma(sigma_vertical_m, "sigma_vertical_m")
            }
            Measurement::RangeAzEl {
                range_m,
                az_deg,
                el_deg,
                sigma_range_m,
                sigma_az_deg,
                sigma_el_deg,
            } => {
                finite(range_m, "range_m")?;
                if range_m <= 0.0 {
                    return Err("range_m");
                }
                finite(az_deg, "az_deg")?;
                finite(el_deg, "el_deg")?;
                if !(-90.0..=90.0).contains(&el_deg) {
                    return Err("el_deg");
                }
                sigma(sigma_range_m, "sigma_range_m")?;
                sigma(sigma_az_deg, "sigma_az_deg")?;
                sigma(sigma_el_deg, "sigma_el_deg")
            }
            Measurement::Bearing {
                az_deg,
                sigma_az_deg,
            } => {
                finite(az_deg, "az_deg")?;
                sigma(sigma_az_deg, "sigma_az_deg")
            }
            Measurement::AzEl {
                az_deg,
                el_deg,
                sigma_az_deg,
                sigma_el_deg,
            } => {
                finite(az_deg, "az_deg")?;
                finite(el_deg, "el_deg")?;
                if !(-90.0..=90.0).contains(&el_deg) {
                    return Err("el_deg");
                }
                sigma(sigma_az_deg, "sigma_az_deg")?;
                sigma(sigma_el_deg, "sigma_el_deg")
            }
            Measurement::BearingDistance {
                az_deg,
                dist_m,
                sigma_az_deg,
                sigma_dist_rel,
            } => {
                finite(az_deg, "az_deg")?;
                finite(dist_m, "dist_m")?;
                if dist_m <= 0.0 {
                    return Err("dist_m");
                }
                sigma(sigma_az_deg, "sigma_az_deg")?;
                sigma(sigma_dist_rel, "sigma_dist_rel")
            }
        }
    }
}

/// A classification with its confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Free-form class label, e.g. `uav`, `uav.multirotor`, `bird`, `aircraft.manned`.
    pub class: String,
    pub confidence: f64,
}

/// What an observation says about who the object is, apart from where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IdentityHints {
    /// ASTM F3411 / ASD-STAN Remote ID serial number (or session id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id_serial: Option<String>,
    /// The operator's (pilot's) position, as broadcast by Remote ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_position: Option<Lla>,
    /// 24-bit ICAO aircraft address (manned aircraft, ADS-B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icao_address: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// The reporting sensor's own id for the object (a SAPIENT `object_id`): reports with
    /// the same id from the same sensor are one object as far as that sensor can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor_object_id: Option<String>,
    /// The radio emission a passive RF sensor measured (a drone's control or video link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rf_emission: Option<RfEmission>,
}

impl IdentityHints {
    pub fn is_empty(&self) -> bool {
        self.remote_id_serial.is_none()
            && self.operator_position.is_none()
            && self.icao_address.is_none()
            && self.classification.is_none()
            && self.sensor_object_id.is_none()
            && self.rf_emission.is_none()
    }
}

/// A radio emission, in hertz. The amplitude stays in the sensor's own units (SAPIENT
/// leaves them to the node's registration), so it is for display, not for comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RfEmission {
    pub centre_frequency_hz: f64,
    /// Occupied bandwidth (stop minus start frequency), when the sensor gives both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_hz: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplitude: Option<f64>,
}

impl RfEmission {
    /// The band a drone link on this frequency is usually in, e.g. `2.4 GHz`; `None` outside
    /// the bands drones use.
    pub fn drone_band(&self) -> Option<&'static str> {
        const BANDS_MHZ: [(f64, f64, &str); 5] = [
            (430.0, 440.0, "433 MHz"),
            (860.0, 930.0, "868/915 MHz"),
            (1_200.0, 1_300.0, "1.2 GHz"),
            (2_400.0, 2_500.0, "2.4 GHz"),
            (5_150.0, 5_900.0, "5.8 GHz"),
        ];
        let mhz = self.centre_frequency_hz / 1e6;
        BANDS_MHZ
            .iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&mhz))
            .map(|(_, _, name)| *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_field() {
        let m = Measurement::RangeAzEl {
            range_m: 100.0,
            az_deg: 10.0,
            el_deg: 3.0,
            sigma_range_m: 5.0,
            sigma_az_deg: 0.0,
            sigma_el_deg: 1.0,
        };
        assert_eq!(m.validate(), Err("sigma_az_deg"));
        let m = Measurement::Bearing {
            az_deg: f64::NAN,
            sigma_az_deg: 2.0,
        };
        assert_eq!(m.validate(), Err("az_deg"));
        let m = Measurement::BearingDistance {
            az_deg: 10.0,
            dist_m: 300.0,
            sigma_az_deg: 10.0,
            sigma_dist_rel: 0.3,
        };
        assert_eq!(m.validate(), Ok(()));
    }

    #[test]
    fn observation_json_round_trip() {
        let obs = Observation {
            id: ObservationId(7),
            t: TimeNs(1_700_000_000_000_000_000),
            sensor_id: SensorId::new("rid-1"),
            sensor_kind: SensorKind::RemoteId,
            sensor_position: None,
            measurement: Measurement::Position {
                position: Lla::new(51.2, -1.8, 230.0),
                sigma_horizontal_m: 6.4,
                sigma_vertical_m: 6.4,
            },
            velocity: None,
            identity: IdentityHints {
                remote_id_serial: Some("1596F2JTC4MF7EF".into()),
                ..Default::default()
            },
        };
        let json = serde_json::to_string(&obs).unwrap_or_default();
        assert!(json.contains("\"kind\":\"position\""), "{json}");
        let back: Observation = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, obs);
    }
}
