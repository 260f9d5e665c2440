//! Measurement models in the fusion frame: predicted measurement, Jacobian, noise, and an
//! innovation that wraps angles.
//!
//! Every kind is handled as a 3-vector; kinds with fewer components leave the spare rows
//! of `H` zero and their innovation zero, which makes them drop out of the update exactly.

use std::f64::consts::PI;

use dronewatch_model::{Measurement, Observation, SensorKind};

use crate::linalg::{Mat3, Mat36, Vec3, Vec6};

/// The measured quantity, in radians and metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeasKind {
    /// `[range, azimuth, elevation]` from the sensor.
    RangeAzEl,
    /// `[azimuth]` from the sensor.
    Bearing,
    /// `[azimuth, elevation]` from the sensor.
    AzEl,
    /// `[azimuth, horizontal distance]` from the observer; distance noise is relative.
    BearingDistance,
    /// `[e, n, u]` absolute.
    Position,
    /// `[ve, vn, vu]`: a sensor's velocity estimate, applied after its position.
    Velocity,
}

impl MeasKind {
    pub fn dim(self) -> usize {
        match self {
            MeasKind::Bearing => 1,
            MeasKind::AzEl | MeasKind::BearingDistance => 2,
            MeasKind::RangeAzEl | MeasKind::Position | MeasKind::Velocity => 3,
        }
    }

    /// Which components are angles (wrapped to (-π, π] in innovations).
    fn is_angle(self, i: usize) -> bool {
        match self {
            MeasKind::RangeAzEl => i == 1 || i == 2,
            MeasKind::Bearing => i == 0,
            MeasKind::AzEl => i <= 1,
            MeasKind::BearingDistance => i == 0,
            MeasKind::Position | MeasKind::Velocity => false,
        }
    }
}

/// The noise given to a velocity component the sensor did not measure: large enough that
/// the update leaves it as it was.
const UNKNOWN_VELOCITY_SIGMA_MPS: f64 = 1.0e4;

/// One observation converted to the fusion frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Meas {
    pub kind: MeasKind,
    pub sensor_kind: SensorKind,
    /// Sensor position in ENU (unused for `Position`).
    pub sensor_enu: Vec3,
    pub z: Vec3,
    /// Noise standard deviations per component; for `BearingDistance` the second is the
    /// relative distance error.
    pub sigma: Vec3,
    /// The sensor's velocity estimate of the object and its noise, for a second update
    /// after this one ([`Meas::velocity_update`]).
    pub velocity: Option<(Vec3, Vec3)>,
}

/// Why an observation could not be turned into a measurement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasError {
    #[error("invalid field `{0}`")]
    InvalidField(&'static str),
    #[error("a relative measurement needs the sensor position")]
    NoSensorPosition,
}

impl Meas {
    /// Converts an observation; positions go through the exact WGS84 -> ENU conversion.
    pub fn from_observation(
        obs: &Observation,
        frame: &dronewatch_geo::EnuFrame,
    ) -> Result<Self, MeasError> {
        obs.measurement
            .validate()
            .map_err(MeasError::InvalidField)?;
        let sensor_enu = match obs.sensor_position {
            Some(p) if !p.is_valid() => return Err(MeasError::InvalidField("sensor_position")),
            Some(p) => Vec3::from(frame.to_enu(&p)),
            None if obs.measurement.needs_sensor_position() => {
                return Err(MeasError::NoSensorPosition);
            }
            None => Vec3::zeros(),
        };
        let (kind, z, sigma) = match obs.measurement {
            Measurement::RangeAzEl {
                range_m,
                az_deg,
                el_deg,
                sigma_range_m,
                sigma_az_deg,
                sigma_el_deg,
            } => (
                MeasKind::RangeAzEl,
                Vec3::new(range_m, az_deg.to_radians(), el_deg.to_radians()),
                Vec3::new(
                    sigma_range_m,
                    sigma_az_deg.to_radians(),
                    sigma_el_deg.to_radians(),
                ),
            ),
            Measurement::Bearing {
                az_deg,
                sigma_az_deg,
            } => (
                MeasKind::Bearing,
                Vec3::new(az_deg.to_radians(), 0.0, 0.0),
                Vec3::new(sigma_az_deg.to_radians(), 1.0, 1.0),
            ),
            Measurement::AzEl {
                az_deg,
                el_deg,
                sigma_az_deg,
                sigma_el_deg,
            } => (
                MeasKind::AzEl,
                Vec3::new(az_deg.to_radians(), el_deg.to_radians(), 0.0),
                Vec3::new(sigma_az_deg.to_radians(), sigma_el_deg.to_radians(), 1.0),
            ),
            Measurement::BearingDistance {
                az_deg,
                dist_m,
                sigma_az_deg,
                sigma_dist_rel,
            } => (
                MeasKind::BearingDistance,
                Vec3::new(az_deg.to_radians(), dist_m, 0.0),
                Vec3::new(sigma_az_deg.to_radians(), sigma_dist_rel, 1.0),
            ),
            Measurement::Position {
                position,
                sigma_horizontal_m,
                sigma_vertical_m,
            } => (
                MeasKind::Position,
                Vec3::from(frame.to_enu(&position)),
                Vec3::new(sigma_horizontal_m, sigma_horizontal_m, sigma_vertical_m),
            ),
        };
        let velocity = match &obs.velocity {
            None => None,
            Some(v) => {
                v.validate().map_err(MeasError::InvalidField)?;
                // Without a vertical component the vertical stays the filter's own.
                let (vu, sigma_vu) = v.up_mps.map_or((0.0, UNKNOWN_VELOCITY_SIGMA_MPS), |u| {
                    (u, v.sigma_vertical_mps)
                });
                Some((
                    Vec3::new(v.east_mps, v.north_mps, vu),
                    Vec3::new(v.sigma_horizontal_mps, v.sigma_horizontal_mps, sigma_vu),
                ))
            }
        };
        Ok(Self {
            kind,
            sensor_kind: obs.sensor_kind,
            sensor_enu,
            z,
            sigma,
            velocity,
        })
    }

    /// The second update an observation with a velocity gives: the velocity states
    /// measured directly.
    pub fn velocity_update(&self) -> Option<Meas> {
        let (z, sigma) = self.velocity?;
        Some(Meas {
            kind: MeasKind::Velocity,
            sensor_kind: self.sensor_kind,
            sensor_enu: Vec3::zeros(),
            z,
            sigma,
            velocity: None,
        })
    }

    /// Predicted measurement and its Jacobian at state `x`.
    pub fn predict(&self, x: &Vec6) -> (Vec3, Mat36) {
        let d = Vec3::new(x[0], x[1], x[2]) - self.sensor_enu;
        let (de, dn, du) = (d[0], d[1], d[2]);
        // Keep away from the singularity straight above the sensor.
        let rho2 = (de * de + dn * dn).max(1e-6);
        let rho = rho2.sqrt();
        let r2 = rho2 + du * du;
        let r = r2.sqrt();
        let az = de.atan2(dn);
        let mut h = Mat36::zeros();
        let az_row = [dn / rho2, -de / rho2, 0.0];
        match self.kind {
            MeasKind::Position => {
                h[(0, 0)] = 1.0;
                h[(1, 1)] = 1.0;
                h[(2, 2)] = 1.0;
                (d + self.sensor_enu, h)
            }
            MeasKind::Velocity => {
                h[(0, 3)] = 1.0;
                h[(1, 4)] = 1.0;
                h[(2, 5)] = 1.0;
                (Vec3::new(x[3], x[4], x[5]), h)
            }
            MeasKind::Bearing => {
                set_row(&mut h, 0, az_row);
                (Vec3::new(az, 0.0, 0.0), h)
            }
            MeasKind::BearingDistance => {
                set_row(&mut h, 0, az_row);
                set_row(&mut h, 1, [de / rho, dn / rho, 0.0]);
                (Vec3::new(az, rho, 0.0), h)
            }
            MeasKind::AzEl | MeasKind::RangeAzEl => {
                let el = du.atan2(rho);
                let el_row = [-du * de / (r2 * rho), -du * dn / (r2 * rho), rho / r2];
                if self.kind == MeasKind::AzEl {
                    set_row(&mut h, 0, az_row);
                    set_row(&mut h, 1, el_row);
                    (Vec3::new(az, el, 0.0), h)
                } else {
                    set_row(&mut h, 0, [de / r, dn / r, du / r]);
                    set_row(&mut h, 1, az_row);
                    set_row(&mut h, 2, el_row);
                    (Vec3::new(r, az, el), h)
                }
            }
        }
    }

    /// Measurement noise covariance; `zhat` is the predicted measurement (the relative
    /// distance error of a sighting scales with the predicted distance, not the reported
    /// one, which would bias the update towards short distances).
    pub fn noise(&self, zhat: &Vec3) -> Mat3 {
        let mut s = self.sigma;
        if self.kind == MeasKind::BearingDistance {
            s[1] *= zhat[1].max(self.z[1]).max(10.0);
        }
        Mat3::from_diagonal(&s.component_mul(&s))
    }

    /// `z - zhat` with angles wrapped and unused components zero.
    pub fn innovation(&self, zhat: &Vec3) -> Vec3 {
        let mut y = Vec3::zeros();
        for i in 0..self.kind.dim() {
            let d = self.z[i] - zhat[i];
            y[i] = if self.kind.is_angle(i) { wrap_pi(d) } else { d };
        }
        y
    }
}

fn set_row(h: &mut Mat36, row: usize, v: [f64; 3]) {
    for (j, value) in v.into_iter().enumerate() {
        h[(row, j)] = value;
    }
}

/// Wraps an angle to (-π, π].
pub fn wrap_pi(a: f64) -> f64 {
    let mut w = a % (2.0 * PI);
    if w > PI {
        w -= 2.0 * PI;
    } else if w <= -PI {
        w += 2.0 * PI;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meas(kind: MeasKind) -> Meas {
        Meas {
            kind,
            sensor_kind: SensorKind::Radar,
            sensor_enu: Vec3::new(10.0, -20.0, 5.0),
            z: Vec3::zeros(),
            sigma: Vec3::new(1.0, 1.0, 1.0),
            velocity: None,
        }
    }

    #[test]
    fn jacobians_match_finite_differences() {
        let x = Vec6::new(-1200.0, 2300.0, 120.0, 3.0, -4.0, 0.0);
        for kind in [
            MeasKind::RangeAzEl,
            MeasKind::Bearing,
            MeasKind::AzEl,
            MeasKind::BearingDistance,
            MeasKind::Position,
        ] {
            let m = meas(kind);
            let (_, h) = m.predict(&x);
            for j in 0..3 {
                let eps = 1e-3;
                let mut xp = x;
                let mut xm = x;
                xp[j] += eps;
                xm[j] -= eps;
                let (zp, _) = m.predict(&xp);
                let (zm, _) = m.predict(&xm);
                for i in 0..kind.dim() {
                    let numeric = (zp[i] - zm[i]) / (2.0 * eps);
                    assert!(
                        (numeric - h[(i, j)]).abs() < 1e-7,
                        "{kind:?} H[{i},{j}] {} vs {numeric}",
                        h[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn a_sensor_position_off_the_globe_is_refused_by_name() {
        use dronewatch_model::{IdentityHints, Lla, Measurement, Observation, ObservationId};
        let frame = dronewatch_geo::EnuFrame::new(Lla::new(51.2, -1.8, 100.0));
        let mut obs = Observation {
            id: ObservationId(1),
            t: dronewatch_model::TimeNs(0),
            sensor_id: dronewatch_model::SensorId::new("rfdf-1"),
            sensor_kind: SensorKind::RfDf,
            sensor_position: Some(Lla::new(95.0, -1.8, 100.0)),
            measurement: Measurement::Bearing {
                az_deg: 10.0,
                sigma_az_deg: 2.0,
            },
            velocity: None,
            identity: IdentityHints::default(),
        };
        let err = Meas::from_observation(&obs, &frame);
        assert_eq!(err, Err(MeasError::InvalidField("sensor_position")));
        obs.sensor_position = None;
        assert_eq!(
            Meas::from_observation(&obs, &frame),
            Err(MeasError::NoSensorPosition)
        );
    }

    #[test]
    fn azimuth_is_a_compass_bearing() {
        let m = meas(MeasKind::Bearing);
        let east = Vec6::new(1010.0, -20.0, 5.0, 0.0, 0.0, 0.0);
        let (z, _) = m.predict(&east);
        assert!((z[0] - PI / 2.0).abs() < 1e-12);
    }

    #[test]
    fn innovation_wraps_across_north() {
        let mut m = meas(MeasKind::Bearing);
        m.z[0] = 359f64.to_radians();
        let y = m.innovation(&Vec3::new(1f64.to_radians(), 0.0, 0.0));
        assert!((y[0] + 2f64.to_radians()).abs() < 1e-12);
    }

    #[test]
    fn wrap_pi_stays_in_range() {
        for k in -20..20 {
            let a = k as f64 * 0.9;
            let w = wrap_pi(a);
            assert!(w > -PI && w <= PI);
            let turns = (a - w) / (2.0 * PI);
            assert!((turns - turns.round()).abs() < 1e-9);
        }
    }
}
