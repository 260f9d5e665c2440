//! Starting tracks: from one radar plot, a Remote ID position, a person's sighting, or two
//! bearings from different sensors crossing each other (triangulation).

use crate::config::TrackerConfig;
use crate::imm::{ImmState, MODELS};
use crate::linalg::{Mat3, Mat6, Vec3, Vec6};
use crate::measurement::{Meas, MeasKind};

/// Mode probabilities of a new track: most likely manoeuvring until shown otherwise.
const INITIAL_MU: [f64; MODELS] = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1];

/// A Gaussian position with an unknown velocity, as a new IMM state.
pub fn state_at(pos: Vec3, pos_cov: Mat3, cfg: &TrackerConfig) -> ImmState {
    let x = Vec6::new(pos[0], pos[1], pos[2], 0.0, 0.0, 0.0);
    let mut p = Mat6::zeros();
    p.fixed_view_mut::<3, 3>(0, 0).copy_from(&pos_cov);
    let (vh, vv) = (cfg.init_sigma_vel_h_mps, cfg.init_sigma_vel_v_mps);
    p[(3, 3)] = vh * vh;
    p[(4, 4)] = vh * vh;
    p[(5, 5)] = vv * vv;
    ImmState::new(x, p, INITIAL_MU)
}

/// Position and covariance of a measurement that fixes a point by itself (a radar plot, a
/// Remote ID position, a sighting with an assumed height); `None` for bearings.
pub fn point_of(meas: &Meas, cfg: &TrackerConfig) -> Option<(Vec3, Mat3)> {
    let s = meas.sensor_enu;
    match meas.kind {
        MeasKind::Position => {
            let var = meas.sigma.component_mul(&meas.sigma);
            Some((meas.z, Mat3::from_diagonal(&var)))
        }
        MeasKind::RangeAzEl => {
            let (r, az, el) = (meas.z[0], meas.z[1], meas.z[2]);
            let (sa, ca, se, ce) = (az.sin(), az.cos(), el.sin(), el.cos());
            let pos = s + Vec3::new(r * ce * sa, r * ce * ca, r * se);
            // Jacobian of (r, az, el) -> (e, n, u), to carry the polar noise over.
            let j = Mat3::new(
                ce * sa,
                r * ce * ca,
                -r * se * sa,
                ce * ca,
                -r * ce * sa,
                -r * se * ca,
                se,
                0.0,
                r * ce,
            );
            let var = meas.sigma.component_mul(&meas.sigma);
            Some((pos, j * Mat3::from_diagonal(&var) * j.transpose()))
        }
        MeasKind::BearingDistance => {
            let (az, d) = (meas.z[0], meas.z[1]);
            let (sa, ca) = (az.sin(), az.cos());
            let pos = Vec3::new(s[0] + d * sa, s[1] + d * ca, cfg.init_height_m);
            let (sd, saz) = (meas.sigma[1] * d, meas.sigma[0] * d);
            let j = nalgebra::Matrix2::new(sa, ca, ca, -sa);
            let c2 = j * nalgebra::Matrix2::new(sd * sd, 0.0, 0.0, saz * saz) * j.transpose();
            let mut cov = Mat3::zeros();
            cov.fixed_view_mut::<2, 2>(0, 0).copy_from(&c2);
            cov[(2, 2)] = cfg.init_sigma_height_m.powi(2);
            Some((pos, cov))
        }
        MeasKind::Bearing | MeasKind::AzEl | MeasKind::Velocity => None,
    }
}

/// An unassociated bearing waiting for a partner from another sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct PooledBearing {
    pub t_s: f64,
    pub sensor: usize,
    pub meas: Meas,
}

/// Where two bearings cross, with a covariance from the crossing geometry, the bearing
/// noise and how far the target may have moved between the two bearing times.
pub fn triangulate(
    a: &PooledBearing,
    b: &PooledBearing,
    max_speed_mps: f64,
    cfg: &TrackerConfig,
) -> Option<(Vec3, Mat3)> {
    let (pa, pb) = (a.meas.sensor_enu, b.meas.sensor_enu);
    let (az_a, az_b) = (a.meas.z[0], b.meas.z[0]);
    let ua = nalgebra::Vector2::new(az_a.sin(), az_a.cos());
    let ub = nalgebra::Vector2::new(az_b.sin(), az_b.cos());
    let cross = ua[0] * ub[1] - ua[1] * ub[0];
    if cross.abs() < cfg.min_crossing_angle_deg.to_radians().sin() {
        return None;
    }
    // pa + s·ua = pb + t·ub, solved by Cramer's rule.
    let d = nalgebra::Vector2::new(pb[0] - pa[0], pb[1] - pa[1]);
    let s = (d[0] * ub[1] - d[1] * ub[0]) / cross;
    let t = (d[0] * ua[1] - d[1] * ua[0]) / cross;
    if s < 30.0 || t < 30.0 {
        return None; // the rays cross behind a sensor
    }
    let e = pa[0] + s * ua[0];
    let n = pa[1] + s * ua[1];
    // Height from whichever bearing has an elevation, else the prior.
    let mut heights = Vec::new();
    for (m, range) in [(&a.meas, s), (&b.meas, t)] {
        if m.kind == MeasKind::AzEl {
            let sigma = range * m.sigma[1] / m.z[1].cos().powi(2);
            heights.push((m.sensor_enu[2] + range * m.z[1].tan(), sigma));
        }
    }
    let (u, sigma_u) = if heights.is_empty() {
        (cfg.init_height_m, cfg.init_sigma_height_m)
    } else {
        let w: f64 = heights.iter().map(|(_, s)| 1.0 / (s * s)).sum();
        let u = heights.iter().map(|(h, s)| h / (s * s)).sum::<f64>() / w;
        (u, (1.0 / w).sqrt())
    };
    if u < 0.0 {
        return None;
    }
    // Horizontal information from both bearings: gradient of azimuth is (n, -e)/ρ².
    let mut info = nalgebra::Matrix2::zeros();
    for (m, p) in [(&a.meas, pa), (&b.meas, pb)] {
        let (de, dn) = (e - p[0], n - p[1]);
        let rho2 = de * de + dn * dn;
        let g = nalgebra::Vector2::new(dn / rho2, -de / rho2);
        info += g * g.transpose() / (m.sigma[0] * m.sigma[0]);
    }
    let cov_h = info.try_inverse()?;
    let moved = max_speed_mps * (a.t_s - b.t_s).abs();
    let mut cov = Mat3::zeros();
    cov.fixed_view_mut::<2, 2>(0, 0).copy_from(&cov_h);
    cov[(0, 0)] += moved * moved;
    cov[(1, 1)] += moved * moved;
    cov[(2, 2)] = sigma_u * sigma_u;
    Some((Vec3::new(e, n, u), cov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dronewatch_model::SensorKind;

    fn bearing(sensor: usize, at: Vec3, toward: Vec3, t_s: f64) -> PooledBearing {
        let d = toward - at;
        PooledBearing {
            t_s,
            sensor,
            meas: Meas {
                kind: MeasKind::Bearing,
                sensor_kind: SensorKind::RfDf,
                sensor_enu: at,
                z: Vec3::new(d[0].atan2(d[1]), 0.0, 0.0),
                sigma: Vec3::new(2f64.to_radians(), 1.0, 1.0),
                velocity: None,
            },
        }
    }

    #[test]
    fn two_bearings_cross_at_the_target() {
        let cfg = TrackerConfig::default();
        let target = Vec3::new(800.0, 1200.0, 60.0);
        let a = bearing(0, Vec3::new(0.0, 0.0, 5.0), target, 10.0);
        let b = bearing(1, Vec3::new(2000.0, 0.0, 5.0), target, 10.0);
        let (p, cov) = triangulate(&a, &b, 25.0, &cfg).unwrap_or_else(|| panic!("no crossing"));
        assert!((p[0] - 800.0).abs() < 1e-6 && (p[1] - 1200.0).abs() < 1e-6);
        // About 2 degrees at 1.4 km: tens of metres, not hundreds.
        assert!(
            cov[(0, 0)].sqrt() < 100.0 && cov[(1, 1)].sqrt() < 100.0,
            "{cov}"
        );
        assert_eq!(p[2], cfg.init_height_m);
    }

    #[test]
    fn parallel_or_diverging_bearings_do_not_cross() {
        let cfg = TrackerConfig::default();
        let a = bearing(
            0,
            Vec3::new(0.0, 0.0, 5.0),
            Vec3::new(0.0, 1000.0, 0.0),
            0.0,
        );
        let b = bearing(
            1,
            Vec3::new(500.0, 0.0, 5.0),
            Vec3::new(500.0, 1000.0, 0.0),
            0.0,
        );
        assert!(triangulate(&a, &b, 25.0, &cfg).is_none());
        let c = bearing(
            1,
            Vec3::new(500.0, 0.0, 5.0),
            Vec3::new(1500.0, -1000.0, 0.0),
            0.0,
        );
        assert!(triangulate(&a, &c, 25.0, &cfg).is_none());
    }

    #[test]
    fn acoustic_elevation_gives_the_height() {
        let cfg = TrackerConfig::default();
        let target = Vec3::new(300.0, 400.0, 90.0);
        let mut a = bearing(0, Vec3::new(0.0, 0.0, 2.0), target, 0.0);
        let rho = (300f64.powi(2) + 400f64.powi(2)).sqrt();
        a.meas.kind = MeasKind::AzEl;
        a.meas.z[1] = (88.0f64).atan2(rho);
        a.meas.sigma[1] = 5f64.to_radians();
        let b = bearing(1, Vec3::new(600.0, 0.0, 2.0), target, 0.0);
        let (p, _) = triangulate(&a, &b, 25.0, &cfg).unwrap_or_else(|| panic!("no crossing"));
        assert!((p[2] - 90.0).abs() < 1e-6, "{}", p[2]);
    }

    #[test]
    fn a_radar_plot_becomes_its_cartesian_point() {
        let cfg = TrackerConfig::default();
        let m = Meas {
            kind: MeasKind::RangeAzEl,
            sensor_kind: SensorKind::Radar,
            sensor_enu: Vec3::new(0.0, 0.0, 10.0),
            z: Vec3::new(1000.0, 90f64.to_radians(), 0.0),
            sigma: Vec3::new(5.0, 0.5f64.to_radians(), 1f64.to_radians()),
            velocity: None,
        };
        let (p, cov) = point_of(&m, &cfg).unwrap_or_else(|| panic!("no point"));
        assert!((p - Vec3::new(1000.0, 0.0, 10.0)).norm() < 1e-9);
        assert!((cov[(0, 0)] - 25.0).abs() < 1e-6); // range error lies along east
        assert!((cov[(1, 1)].sqrt() - 1000.0 * 0.5f64.to_radians()).abs() < 1e-6);
    }
}
