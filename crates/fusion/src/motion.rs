//! Nearly-constant-velocity motion with white-noise acceleration, horizontal and vertical
//! noise set apart: drones mostly fly level, so the vertical channel is much quieter.

use crate::linalg::{Mat6, Vec6};

/// Continuous white-noise acceleration model; `q_*` are power spectral densities [m²/s³].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConstantVelocity {
    pub q_horizontal: f64,
    pub q_vertical: f64,
}

impl ConstantVelocity {
    pub const fn new(q_horizontal: f64, q_vertical: f64) -> Self {
        Self { q_horizontal, q_vertical }
    }

    /// Predicts state and covariance `dt_s` ahead (`dt_s` may be 0; negative is treated as 0).
    pub fn predict(&self, x: &Vec6, p: &Mat6, dt_s: f64) -> (Vec6, Mat6) {
        let dt = dt_s.max(0.0);
        let mut xp = *x;
        for i in 0..3 {
            xp[i] += dt * x[i + 3];
        }
        // F P F^T for F = [I dt·I; 0 I], written out: it runs for every track on every scan.
        let mut pp = *p;
        for i in 0..3 {
            for j in 0..6 {
                pp[(i, j)] += dt * p[(i + 3, j)];
            }
        }
        let tmp = pp;
        for i in 0..6 {
            for j in 0..3 {
                pp[(i, j)] += dt * tmp[(i, j + 3)];
            }
        }
        let (dt2, dt3) = (dt * dt, dt * dt * dt);
        for (axis, q) in [(0, self.q_horizontal), (1, self.q_horizontal), (2, self.q_vertical)] {
            pp[(axis, axis)] += q * dt3 / 3.0;
            pp[(axis, axis + 3)] += q * dt2 / 2.0;
            pp[(axis + 3, axis)] += q * dt2 / 2.0;
            pp[(axis + 3, axis + 3)] += q * dt;
        }
        (xp, pp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_predict(m: &ConstantVelocity, x: &Vec6, p: &Mat6, dt: f64) -> (Vec6, Mat6) {
        let mut f = Mat6::identity();
        let mut q = Mat6::zeros();
        for i in 0..3 {
            f[(i, i + 3)] = dt;
            let qa = if i == 2 { m.q_vertical } else { m.q_horizontal };
            q[(i, i)] = qa * dt.powi(3) / 3.0;
            q[(i, i + 3)] = qa * dt.powi(2) / 2.0;
            q[(i + 3, i)] = qa * dt.powi(2) / 2.0;
            q[(i + 3, i + 3)] = qa * dt;
        }
        (f * x, f * p * f.transpose() + q)
    }

    #[test]
    fn unrolled_prediction_equals_the_matrix_form() {
        let m = ConstantVelocity::new(3.0, 0.1);
        let x = Vec6::new(100.0, -50.0, 80.0, 10.0, -3.0, 0.5);
        let a = Mat6::from_fn(|i, j| ((i * 7 + j * 3) % 5) as f64 + if i == j { 10.0 } else { 0.0 });
        let p = a * a.transpose();
        for dt in [0.0, 0.1, 1.0, 2.5] {
            let (x1, p1) = m.predict(&x, &p, dt);
            let (x2, p2) = dense_predict(&m, &x, &p, dt);
            assert!((x1 - x2).norm() < 1e-9);
            assert!((p1 - p2).norm() < 1e-9 * p2.norm().max(1.0), "dt {dt}");
        }
    }

    #[test]
    fn position_moves_with_velocity() {
        let m = ConstantVelocity::new(0.0, 0.0);
        let x = Vec6::new(0.0, 0.0, 50.0, 10.0, 5.0, -1.0);
        let (xp, _) = m.predict(&x, &Mat6::identity(), 2.0);
        assert_eq!([xp[0], xp[1], xp[2]], [20.0, 10.0, 48.0]);
    }
}
