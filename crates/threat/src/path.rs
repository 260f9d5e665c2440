//! Predicted paths in a local ENU frame: straight at constant velocity, or along a
//! coordinated turn at constant rate (an orbiting drone keeps circling; a straight-line
//! prediction would send it across every agent on its tangent).

/// Where something is now, how fast it moves, and how fast it turns (about the vertical,
/// counter-clockwise positive, as ENU's x-to-y rotation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Path {
    pub enu_m: [f64; 3],
    pub vel_enu_mps: [f64; 3],
    pub turn_rate_rad_s: f64,
}

impl Path {
    /// A path that does not turn.
    pub fn straight(enu_m: [f64; 3], vel_enu_mps: [f64; 3]) -> Self {
        Self {
            enu_m,
            vel_enu_mps,
            turn_rate_rad_s: 0.0,
        }
    }

    /// Position after `dt_s` seconds.
    pub fn at(&self, dt_s: f64) -> [f64; 3] {
        let [e, n, u] = self.enu_m;
        let [ve, vn, vu] = self.vel_enu_mps;
        let w = self.turn_rate_rad_s;
        // The horizontal velocity rotates by w·t; its integral is (1/w)·[[s, −(1−c)], [1−c, s]]·v.
        let (de, dn) = if (w * dt_s).abs() < 1e-9 {
            (ve * dt_s, vn * dt_s)
        } else {
            let (s, c) = (w * dt_s).sin_cos();
            ((ve * s - vn * (1.0 - c)) / w, (vn * s + ve * (1.0 - c)) / w)
        };
        [e + de, n + dn, u + vu * dt_s]
    }

    /// Positions at 0, step, 2·step, … up to `horizon_s`, into `out` (cleared first).
    pub fn sample(&self, step_s: f64, horizon_s: f64, out: &mut Vec<[f64; 3]>) {
        out.clear();
        let steps = (horizon_s / step_s).floor().max(0.0) as usize;
        out.extend((0..=steps).map(|k| self.at(k as f64 * step_s)));
    }
}

/// How two sampled paths meet: their closest approach, and when they first come within a
/// radius (which may grow with time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Closest {
    /// Time from now to the closest approach [s].
    pub dt_s: f64,
    /// 3D distance then [m].
    pub distance_m: f64,
    /// Time from now to the first sample within the radius [s], if any.
    pub entry_dt_s: Option<f64>,
}

/// The closest approach between two paths sampled on the same time grid (`step_s` apart),
/// and their first sample within `radius_at(dt_s)`. `None` when either is empty.
pub fn closest_approach(
    a: &[[f64; 3]],
    b: &[[f64; 3]],
    step_s: f64,
    radius_at: impl Fn(f64) -> f64,
) -> Option<Closest> {
    let mut best: Option<Closest> = None;
    let mut entry_dt_s = None;
    for (k, (p, q)) in a.iter().zip(b).enumerate() {
        let dt_s = k as f64 * step_s;
        let distance_m = dist(p, q);
        if entry_dt_s.is_none() && distance_m <= radius_at(dt_s) {
            entry_dt_s = Some(dt_s);
        }
        if best.is_none_or(|c| distance_m < c.distance_m) {
            best = Some(Closest {
                dt_s,
                distance_m,
                entry_dt_s: None,
            });
        }
    }
    best.map(|c| Closest { entry_dt_s, ..c })
}

pub(crate) fn dist(p: &[f64; 3], q: &[f64; 3]) -> f64 {
    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_turn_comes_back_to_the_start() {
        let w = 2.0 * std::f64::consts::PI / 60.0;
        let p = Path {
            enu_m: [10.0, 20.0, 50.0],
            vel_enu_mps: [15.0, 0.0, 0.0],
            turn_rate_rad_s: w,
        };
        let back = p.at(60.0);
        assert!(dist(&back, &p.enu_m) < 1e-6, "{back:?}");
        // Counter-clockwise: heading east, it first swings north; the far side of the circle
        // is 2·v/w to the north.
        let half = p.at(30.0);
        assert!((half[1] - (20.0 + 2.0 * 15.0 / w)).abs() < 1e-6, "{half:?}");
    }

    #[test]
    fn closest_approach_of_crossing_paths() {
        let step = 1.0;
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Path::straight([-100.0, 0.0, 0.0], [10.0, 0.0, 0.0]).sample(step, 30.0, &mut a);
        Path::straight([0.0, -50.0, 0.0], [0.0, 5.0, 0.0]).sample(step, 30.0, &mut b);
        let c = closest_approach(&a, &b, step, |_| 150.0).unwrap();
        assert_eq!(c.dt_s, 10.0);
        assert!(c.distance_m < 1e-9);
    }

    proptest! {
        #[test]
        fn tiny_turn_rates_agree_with_straight_flight(
            ve in -40.0..40.0f64, vn in -40.0..40.0f64, t in 0.0..90.0f64,
        ) {
            let straight = Path::straight([0.0; 3], [ve, vn, 1.0]).at(t);
            let turning = Path { turn_rate_rad_s: 1e-9, ..Path::straight([0.0; 3], [ve, vn, 1.0]) }.at(t);
            prop_assert!(dist(&straight, &turning) < 1e-2);
        }

        #[test]
        fn turning_keeps_the_speed(w in -0.5..0.5f64, ve in -30.0..30.0f64, vn in -30.0..30.0f64) {
            let p = Path { enu_m: [0.0; 3], vel_enu_mps: [ve, vn, 0.0], turn_rate_rad_s: w };
            let h = 1e-4;
            let (a, b) = (p.at(5.0), p.at(5.0 + h));
            let speed = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt() / h;
            prop_assert!((speed - ve.hypot(vn)).abs() < 1e-3 * (1.0 + ve.hypot(vn)));
        }
    }
}
