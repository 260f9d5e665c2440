//! Extended Kalman filter update with the Joseph form (stays positive definite after the
//! thousands of updates a long-lived track gets).

use std::f64::consts::PI;

use crate::linalg::{Mat3, Mat6, Vec3, Vec6, symmetrize};
use crate::measurement::Meas;

/// Innovation statistics of a measurement against a predicted state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Innovation {
    pub y: Vec3,
    /// Lower Cholesky factor of the innovation covariance (spare components are identity).
    pub s_chol: Mat3,
    /// Squared Mahalanobis distance of the innovation.
    pub d2: f64,
    /// `ln det(2π S)` over the measurement's own components.
    pub ln_det_2pi_s: f64,
}

impl Innovation {
    /// Negative log-likelihood of the innovation under `N(0, S)`.
    pub fn neg_log_likelihood(&self) -> f64 {
        0.5 * (self.d2 + self.ln_det_2pi_s)
    }
}

/// Innovation of `meas` against the state `(x, p)`; `None` if `S` is not positive definite.
pub fn innovation(x: &Vec6, p: &Mat6, meas: &Meas) -> Option<Innovation> {
    let (zhat, h) = meas.predict(x);
    let dim = meas.kind.dim();
    let mut s = h * p * h.transpose() + meas.noise(&zhat);
    for i in dim..3 {
        for j in 0..3 {
            s[(i, j)] = if i == j { 1.0 } else { 0.0 };
            s[(j, i)] = if i == j { 1.0 } else { 0.0 };
        }
    }
    let chol = s.cholesky()?;
    let l = chol.l();
    let y = meas.innovation(&zhat);
    // d² = |L⁻¹y|², by forward substitution: no inverse needed just to gate.
    let w = l.solve_lower_triangular(&y)?;
    let d2 = w.norm_squared();
    let det = l.diagonal().product().powi(2);
    let ln_det_2pi_s = det.ln() + dim as f64 * (2.0 * PI).ln();
    Some(Innovation {
        y,
        s_chol: l,
        d2,
        ln_det_2pi_s,
    })
}

/// Updates `(x, p)` with `meas`; returns the innovation it used, or `None` when the update
/// is numerically impossible (the state is then left unchanged).
pub fn update(x: &mut Vec6, p: &mut Mat6, meas: &Meas) -> Option<Innovation> {
    let (zhat, h) = meas.predict(x);
    let r = meas.noise(&zhat);
    let inn = innovation(x, p, meas)?;
    let pht = *p * h.transpose();
    // K = P Hᵀ S⁻¹, as Kᵀ = S⁻¹ H P through the Cholesky factor.
    let kt = nalgebra::Cholesky::pack_dirty(inn.s_chol).solve(&pht.transpose());
    let k = kt.transpose();
    let dx = k * inn.y;
    let ikh = Mat6::identity() - k * h;
    let mut pn = ikh * *p * ikh.transpose() + k * r * k.transpose();
    symmetrize(&mut pn);
    if !dx.iter().all(|v| v.is_finite()) || !pn.iter().all(|v| v.is_finite()) {
        return None;
    }
    *x += dx;
    *p = pn;
    Some(inn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::MeasKind;
    use dronewatch_model::SensorKind;

    fn position_meas(z: Vec3, sigma_m: f64) -> Meas {
        Meas {
            kind: MeasKind::Position,
            sensor_kind: SensorKind::RemoteId,
            sensor_enu: Vec3::zeros(),
            z,
            sigma: Vec3::repeat(sigma_m),
            velocity: None,
        }
    }

    #[test]
    fn linear_update_is_the_textbook_kalman_update() {
        let mut x = Vec6::new(0.0, 0.0, 100.0, 1.0, 0.0, 0.0);
        let mut p = Mat6::identity() * 100.0;
        let m = position_meas(Vec3::new(10.0, 0.0, 100.0), 10.0);
        let inn = update(&mut x, &mut p, &m).unwrap_or_else(|| panic!("update failed"));
        // Equal prior and measurement variance: the estimate lands half-way.
        assert!((x[0] - 5.0).abs() < 1e-9);
        assert!((p[(0, 0)] - 50.0).abs() < 1e-9);
        assert!((inn.d2 - 100.0 / 200.0).abs() < 1e-9);
    }

    #[test]
    fn bearing_update_moves_only_across_the_bearing() {
        let mut x = Vec6::new(0.0, 1000.0, 50.0, 0.0, 0.0, 0.0);
        let mut p = Mat6::identity() * 400.0;
        let m = Meas {
            kind: MeasKind::Bearing,
            sensor_kind: SensorKind::RfDf,
            sensor_enu: Vec3::zeros(),
            z: Vec3::new(1f64.to_radians(), 0.0, 0.0),
            sigma: Vec3::new(1f64.to_radians(), 1.0, 1.0),
            velocity: None,
        };
        update(&mut x, &mut p, &m).unwrap_or_else(|| panic!("update failed"));
        assert!(x[0] > 1.0, "moved east: {}", x[0]);
        assert!((x[1] - 1000.0).abs() < 1e-6, "range unchanged");
        assert!(p[(1, 1)] > 399.0 && p[(0, 0)] < 400.0);
    }

    #[test]
    fn spare_components_do_not_change_the_likelihood() {
        let x = Vec6::new(0.0, 1000.0, 50.0, 0.0, 0.0, 0.0);
        let p = Mat6::identity() * 400.0;
        let mut m = Meas {
            kind: MeasKind::Bearing,
            sensor_kind: SensorKind::RfDf,
            sensor_enu: Vec3::zeros(),
            z: Vec3::new(0.01, 0.0, 0.0),
            sigma: Vec3::new(0.02, 1.0, 1.0),
            velocity: None,
        };
        let a = innovation(&x, &p, &m).unwrap_or_else(|| panic!("no innovation"));
        m.sigma = Vec3::new(0.02, 5.0, 7.0);
        m.z[1] = 3.0;
        let b = innovation(&x, &p, &m).unwrap_or_else(|| panic!("no innovation"));
        assert!((a.d2 - b.d2).abs() < 1e-12 && (a.ln_det_2pi_s - b.ln_det_2pi_s).abs() < 1e-12);
    }
}
