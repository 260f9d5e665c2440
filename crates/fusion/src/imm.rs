//! Interacting Multiple Model estimator over constant-velocity models with different process
//! noise: a quiet model for steady flight and hover, a manoeuvre model for turns and stops, and
//! a climb/dive model with large vertical noise. Mode probabilities switch as the target
//! does, so a track is smooth when the drone flies straight and still follows it in a turn.

use crate::ekf;
use crate::linalg::{Mat6, Vec6, symmetrize};
use crate::measurement::Meas;
use crate::motion::ConstantVelocity;

/// Number of motion models.
pub const MODELS: usize = 6;

/// IMM parameters: the models and how often the target switches between them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImmParams {
    pub models: [ConstantVelocity; MODELS],
    /// Probability of switching from mode i to mode j within one second (rows sum below 1;
    /// the diagonal is implied).
    pub switch_per_s: [[f64; MODELS]; MODELS],
}

impl Default for ImmParams {
    fn default() -> Self {
        // Quiet: straight, level flight. Manoeuvre: starts, stops, turns at any rate, level.
        // Dive: everything loose. Two turns: steady left and right turns. Hover: stopped.
        const TURN_DEG_S: f64 = 7.0;
        Self {
            models: [
                ConstantVelocity::new(0.002, 1e-5),
                ConstantVelocity::new(15.0, 1e-5),
                ConstantVelocity::new(15.0, 5.0),
                ConstantVelocity::turning(TURN_DEG_S, 1.0, 1e-5),
                ConstantVelocity::turning(-TURN_DEG_S, 1.0, 1e-5),
                ConstantVelocity::stationary(0.01, 1e-4),
            ],
            switch_per_s: [
                [0.0, 3e-4, 5e-5, 2e-4, 2e-4, 2e-4],
                [3e-3, 0.0, 5e-4, 2e-3, 2e-3, 2e-3],
                [3e-3, 1e-3, 0.0, 1e-4, 1e-4, 1e-4],
                [3e-3, 2e-3, 5e-5, 0.0, 1e-4, 1e-4],
                [3e-3, 2e-3, 5e-5, 1e-4, 0.0, 1e-4],
                [1e-4, 1e-4, 1e-4, 1e-5, 1e-5, 0.0],
            ],
        }
    }
}

impl ImmParams {
    /// Transition matrix for an interval of `dt_s`: leaving probabilities scale with time
    /// (capped so a row never exceeds one).
    fn transition(&self, dt_s: f64) -> [[f64; MODELS]; MODELS] {
        let mut t = [[0.0; MODELS]; MODELS];
        for i in 0..MODELS {
            let leave: f64 = self.switch_per_s[i].iter().sum::<f64>() * dt_s;
            let scale = if leave > 0.5 { 0.5 / leave } else { 1.0 };
            let mut stay = 1.0;
            for j in 0..MODELS {
                if i != j {
                    t[i][j] = self.switch_per_s[i][j] * dt_s * scale;
                    stay -= t[i][j];
                }
            }
            t[i][i] = stay;
        }
        t
    }
}

/// The estimator's state: one Gaussian per model plus mode probabilities, all at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct ImmState {
    pub x: [Vec6; MODELS],
    pub p: [Mat6; MODELS],
    pub mu: [f64; MODELS],
}

impl ImmState {
    /// Every model starts from the same Gaussian.
    pub fn new(x: Vec6, p: Mat6, mu: [f64; MODELS]) -> Self {
        Self {
            x: [x; MODELS],
            p: [p; MODELS],
            mu,
        }
    }

    /// Moment-matched single Gaussian of the mixture.
    pub fn combined(&self) -> (Vec6, Mat6) {
        let mut x = Vec6::zeros();
        for j in 0..MODELS {
            x += self.x[j] * self.mu[j];
        }
        let mut p = Mat6::zeros();
        for j in 0..MODELS {
            let d = self.x[j] - x;
            p += (self.p[j] + d * d.transpose()) * self.mu[j];
        }
        (x, p)
    }

    /// Mixes and predicts every model `dt_s` ahead.
    pub fn predict(&self, params: &ImmParams, dt_s: f64) -> ImmState {
        let t = params.transition(dt_s);
        let mut c = [0.0; MODELS];
        for j in 0..MODELS {
            c[j] = (0..MODELS)
                .map(|i| t[i][j] * self.mu[i])
                .sum::<f64>()
                .max(1e-300);
        }
        let mut out = self.clone();
        for j in 0..MODELS {
            // Mixing: the prior of model j is the mixture of all models weighted by the
            // probability that the target was in mode i given it is now in mode j.
            let w: [f64; MODELS] = std::array::from_fn(|i| t[i][j] * self.mu[i] / c[j]);
            let mut x0 = Vec6::zeros();
            for i in 0..MODELS {
                x0 += self.x[i] * w[i];
            }
            let mut p0 = Mat6::zeros();
            for i in 0..MODELS {
                let d = self.x[i] - x0;
                p0 += (self.p[i] + d * d.transpose()) * w[i];
            }
            let (xp, pp) = params.models[j].predict(&x0, &p0, dt_s);
            out.x[j] = xp;
            out.p[j] = pp;
        }
        out.mu = c;
        out
    }

    /// Scores `meas` against this (predicted) state: the smallest squared Mahalanobis
    /// distance over the models, for gating, and the negative log-likelihood of the
    /// mixture `-ln Σ μ_j N(y_j; 0, S_j)`, for association costs.
    pub fn score(&self, meas: &Meas) -> Option<(f64, f64)> {
        let mut d2_min = f64::INFINITY;
        let mut nll = [f64::INFINITY; MODELS];
        for j in 0..MODELS {
            if let Some(inn) = ekf::innovation(&self.x[j], &self.p[j], meas) {
                d2_min = d2_min.min(inn.d2);
                nll[j] = inn.neg_log_likelihood() - self.mu[j].ln();
            }
        }
        let best = nll.iter().copied().fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            return None;
        }
        let sum: f64 = nll.iter().map(|n| (best - n).exp()).sum();
        Some((d2_min, best - sum.ln()))
    }

    /// Updates every model with `meas` and re-weights the modes by their likelihoods.
    /// Returns `None` if no model could be updated (the state is then unchanged).
    pub fn update(&mut self, meas: &Meas) -> Option<()> {
        let before = self.clone();
        let mut nll = [f64::INFINITY; MODELS];
        for j in 0..MODELS {
            if let Some(inn) = ekf::update(&mut self.x[j], &mut self.p[j], meas) {
                nll[j] = inn.neg_log_likelihood();
            }
        }
        let best = nll.iter().copied().fold(f64::INFINITY, f64::min);
        if !best.is_finite() {
            *self = before;
            return None;
        }
        let mut total = 0.0;
        for j in 0..MODELS {
            // Likelihoods relative to the best model, so the exponent never underflows to 0.
            self.mu[j] *= (best - nll[j]).exp();
            total += self.mu[j];
        }
        for j in 0..MODELS {
            self.mu[j] = (self.mu[j] / total).max(1e-6);
            symmetrize(&mut self.p[j]);
        }
        let norm: f64 = self.mu.iter().sum();
        for mu in &mut self.mu {
            *mu /= norm;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Vec3;
    use crate::measurement::MeasKind;
    use dronewatch_model::SensorKind;

    fn fix(e: f64, n: f64, u: f64) -> Meas {
        Meas {
            kind: MeasKind::Position,
            sensor_kind: SensorKind::RemoteId,
            sensor_enu: Vec3::zeros(),
            z: Vec3::new(e, n, u),
            sigma: Vec3::new(3.0, 3.0, 3.0),
            velocity: None,
        }
    }

    fn start() -> ImmState {
        let mut p = Mat6::identity() * 25.0;
        for i in 3..6 {
            p[(i, i)] = 100.0;
        }
        ImmState::new(Vec6::zeros(), p, [0.3, 0.3, 0.1, 0.1, 0.1, 0.1])
    }

    #[test]
    fn transition_rows_sum_to_one() {
        let params = ImmParams::default();
        for dt in [0.0, 0.1, 1.0, 5.0, 100.0] {
            for row in params.transition(dt) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                assert!(row.iter().all(|&v| v >= 0.0));
            }
        }
    }

    #[test]
    fn straight_flight_settles_in_the_quiet_model() {
        let params = ImmParams::default();
        let mut s = start();
        for k in 1..=60 {
            s = s.predict(&params, 1.0);
            s.update(&fix(10.0 * k as f64, 0.0, 50.0));
        }
        assert!(s.mu[0] > 0.8, "{:?}", s.mu);
        let (x, _) = s.combined();
        assert!((x[3] - 10.0).abs() < 0.5, "ve {}", x[3]);
    }

    #[test]
    fn a_sudden_stop_moves_to_the_hover_model() {
        let params = ImmParams::default();
        let mut s = start();
        for k in 1..=40 {
            s = s.predict(&params, 1.0);
            s.update(&fix(10.0 * k as f64, 0.0, 50.0));
        }
        for _ in 0..3 {
            s = s.predict(&params, 1.0);
            s.update(&fix(400.0, 0.0, 50.0));
        }
        assert!(s.mu[5] > 0.5, "{:?}", s.mu);
        let (x, _) = s.combined();
        assert!(x[3].abs() < 5.0, "ve {}", x[3]);
    }
}
