//! Motion models: nearly constant velocity, and coordinated turns at a fixed rate, each with
//! white-noise acceleration whose horizontal and vertical strengths are set apart (drones
//! mostly fly level, so the vertical channel is much quieter). A turn at a known rate is
//! linear in the state, so every model shares the same 6-dimensional state and the IMM can
//! mix them directly.

use crate::linalg::{Mat6, Vec6};

/// Continuous white-noise acceleration model; `q_*` are power spectral densities [m²/s³].
/// With a non-zero `turn_rate_deg_s` the horizontal velocity turns at that rate
/// (counter-clockwise seen from above for positive rates).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConstantVelocity {
    pub q_horizontal: f64,
    pub q_vertical: f64,
    #[serde(default)]
    pub turn_rate_deg_s: f64,
    /// A hovering target: velocity is zero, position wanders with `q_*` as a random walk.
    #[serde(default)]
    pub stationary: bool,
}

impl ConstantVelocity {
    pub const fn new(q_horizontal: f64, q_vertical: f64) -> Self {
        Self {
            q_horizontal,
            q_vertical,
            turn_rate_deg_s: 0.0,
            stationary: false,
        }
    }

    pub const fn stationary(q_horizontal: f64, q_vertical: f64) -> Self {
        Self {
            q_horizontal,
            q_vertical,
            turn_rate_deg_s: 0.0,
            stationary: true,
        }
    }

    pub const fn turning(turn_rate_deg_s: f64, q_horizontal: f64, q_vertical: f64) -> Self {
        Self {
            q_horizontal,
            q_vertical,
            turn_rate_deg_s,
            stationary: false,
        }
    }

    /// Predicts state and covariance `dt_s` ahead (`dt_s` may be 0; negative is treated as 0).
    pub fn predict(&self, x: &Vec6, p: &Mat6, dt_s: f64) -> (Vec6, Mat6) {
        let dt = dt_s.max(0.0);
        if self.stationary {
            return self.predict_stationary(x, p, dt);
        }
        if self.turn_rate_deg_s != 0.0 {
            return self.predict_turn(x, p, dt);
        }
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
        self.add_noise(&mut pp, dt);
        (xp, pp)
    }

    fn add_noise(&self, pp: &mut Mat6, dt: f64) {
        let (dt2, dt3) = (dt * dt, dt * dt * dt);
        for (axis, q) in [
            (0, self.q_horizontal),
            (1, self.q_horizontal),
            (2, self.q_vertical),
        ] {
            pp[(axis, axis)] += q * dt3 / 3.0;
            pp[(axis, axis + 3)] += q * dt2 / 2.0;
            pp[(axis + 3, axis)] += q * dt2 / 2.0;
            pp[(axis + 3, axis + 3)] += q * dt;
        }
    }

    /// The transition matrix of a turn at rate ω over `dt`: the horizontal velocity rotates
    /// by ωdt and the position follows the arc.
    fn turn_matrix(&self, dt: f64) -> Mat6 {
        let w = self.turn_rate_deg_s.to_radians();
        let (s, c) = (w * dt).sin_cos();
        let mut f = Mat6::identity();
        f[(0, 3)] = s / w;
        f[(0, 4)] = -(1.0 - c) / w;
        f[(1, 3)] = (1.0 - c) / w;
        f[(1, 4)] = s / w;
        f[(2, 5)] = dt;
        f[(3, 3)] = c;
        f[(3, 4)] = -s;
        f[(4, 3)] = s;
        f[(4, 4)] = c;
        f
    }

    fn predict_stationary(&self, x: &Vec6, p: &Mat6, dt: f64) -> (Vec6, Mat6) {
        /// Residual velocity of a hovering drone [m/s], one standard deviation.
        const HOVER_SIGMA_MPS: f64 = 0.3;
        let mut xp = *x;
        let mut pp = Mat6::zeros();
        for i in 0..3 {
            xp[i + 3] = 0.0;
            for j in 0..3 {
                pp[(i, j)] = p[(i, j)];
            }
            pp[(i + 3, i + 3)] = HOVER_SIGMA_MPS * HOVER_SIGMA_MPS;
        }
        for (axis, q) in [
            (0, self.q_horizontal),
            (1, self.q_horizontal),
            (2, self.q_vertical),
        ] {
            pp[(axis, axis)] += q * dt;
        }
        (xp, pp)
    }

    fn predict_turn(&self, x: &Vec6, p: &Mat6, dt: f64) -> (Vec6, Mat6) {
        let f = self.turn_matrix(dt);
        let mut pp = f * p * f.transpose();
        self.add_noise(&mut pp, dt);
        (f * x, pp)
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
        let a =
            Mat6::from_fn(|i, j| ((i * 7 + j * 3) % 5) as f64 + if i == j { 10.0 } else { 0.0 });
        let p = a * a.transpose();
        for dt in [0.0, 0.1, 1.0, 2.5] {
            let (x1, p1) = m.predict(&x, &p, dt);
            let (x2, p2) = dense_predict(&m, &x, &p, dt);
            assert!((x1 - x2).norm() < 1e-9);
            assert!((p1 - p2).norm() < 1e-9 * p2.norm().max(1.0), "dt {dt}");
        }
    }

    #[test]
    fn a_full_turn_comes_back_to_the_start() {
        let m = ConstantVelocity::turning(10.0, 0.0, 0.0);
        let x = Vec6::new(0.0, 0.0, 50.0, 10.0, 0.0, 0.0);
        let mut s = (x, Mat6::identity());
        for _ in 0..36 {
            s = m.predict(&s.0, &s.1, 1.0);
        }
        assert!((s.0 - x).norm() < 1e-9, "{:?}", s.0);
        // A quarter turn counter-clockwise from east heads north, centre 57.3 m north.
        let (q, _) = m.predict(&x, &Mat6::identity(), 9.0);
        let r = 10.0 / 10f64.to_radians();
        assert!((q[0] - r).abs() < 1e-9 && (q[1] - r).abs() < 1e-9, "{q:?}");
        assert!(q[3].abs() < 1e-9 && (q[4] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_stationary_model_holds_position_and_drops_velocity() {
        let m = ConstantVelocity::stationary(0.01, 0.01);
        let x = Vec6::new(5.0, 6.0, 50.0, 10.0, 5.0, -1.0);
        let (xp, pp) = m.predict(&x, &(Mat6::identity() * 4.0), 2.0);
        assert_eq!(
            [xp[0], xp[1], xp[2], xp[3], xp[4], xp[5]],
            [5.0, 6.0, 50.0, 0.0, 0.0, 0.0]
        );
        assert!((pp[(0, 0)] - 4.02).abs() < 1e-12 && pp[(0, 3)] == 0.0);
    }

    #[test]
    fn position_moves_with_velocity() {
        let m = ConstantVelocity::new(0.0, 0.0);
        let x = Vec6::new(0.0, 0.0, 50.0, 10.0, 5.0, -1.0);
        let (xp, _) = m.predict(&x, &Mat6::identity(), 2.0);
        assert_eq!([xp[0], xp[1], xp[2]], [20.0, 10.0, 48.0]);
    }
}
