//! Scripted flights: a start time and a list of legs (fly to a point at a speed, or hold),
//! evaluated at any time without stepping, so truth and sensors agree exactly.

/// One leg of a flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leg {
    /// Fly in a straight line to `enu` (metres) at `speed_mps` (3D).
    To { enu: [f64; 3], speed_mps: f64 },
    /// Stay where the previous leg ended for `duration_s`.
    Hold { duration_s: f64 },
}

/// Where a flight starts, when, and the legs it flies; before `start_s` and after the last
/// leg the aircraft is not in the air (not in the scene).
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    pub start_s: f64,
    pub from_enu: [f64; 3],
    legs: Vec<Segment>,
}

/// A leg resolved to times.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    t0_s: f64,
    t1_s: f64,
    a: [f64; 3],
    b: [f64; 3],
}

/// Position and velocity at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub enu_m: [f64; 3],
    pub vel_enu_mps: [f64; 3],
}

impl Flight {
    pub fn new(start_s: f64, from_enu: [f64; 3], legs: &[Leg]) -> Self {
        let mut t = start_s;
        let mut at = from_enu;
        let mut segments = Vec::with_capacity(legs.len());
        for leg in legs {
            let (b, dt_s) = match *leg {
                Leg::To { enu, speed_mps } => (enu, distance_m(at, enu) / speed_mps.max(0.1)),
                Leg::Hold { duration_s } => (at, duration_s.max(0.0)),
            };
            segments.push(Segment {
                t0_s: t,
                t1_s: t + dt_s,
                a: at,
                b,
            });
            t += dt_s;
            at = b;
        }
        Self {
            start_s,
            from_enu,
            legs: segments,
        }
    }

    /// A closed circuit of `laps` around `centre` (radius, height, speed), starting at its
    /// eastern point, counter-clockwise when `speed_mps` > 0.
    pub fn orbit(
        start_s: f64,
        centre_en: [f64; 2],
        radius_m: f64,
        height_m: f64,
        speed_mps: f64,
        laps: usize,
    ) -> Self {
        const SIDES: usize = 24;
        let sign = speed_mps.signum();
        let point = |k: usize| {
            let a = sign * std::f64::consts::TAU * k as f64 / SIDES as f64;
            [
                centre_en[0] + radius_m * a.cos(),
                centre_en[1] + radius_m * a.sin(),
                height_m,
            ]
        };
        let legs: Vec<Leg> = (1..=SIDES * laps)
            .map(|k| Leg::To {
                enu: point(k % SIDES),
                speed_mps: speed_mps.abs(),
            })
            .collect();
        Self::new(start_s, point(0), &legs)
    }

    pub fn end_s(&self) -> f64 {
        self.legs.last().map_or(self.start_s, |s| s.t1_s)
    }

    /// The state at `t_s`, or `None` outside the flight.
    pub fn at(&self, t_s: f64) -> Option<State> {
        if t_s < self.start_s || t_s > self.end_s() {
            return None;
        }
        let seg = self
            .legs
            .iter()
            .find(|s| t_s <= s.t1_s)
            .or(self.legs.last())?;
        let dt_s = seg.t1_s - seg.t0_s;
        if dt_s <= 0.0 {
            return Some(State {
                enu_m: seg.b,
                vel_enu_mps: [0.0; 3],
            });
        }
        let f = ((t_s - seg.t0_s) / dt_s).clamp(0.0, 1.0);
        let mut enu_m = [0.0; 3];
        let mut vel_enu_mps = [0.0; 3];
        for i in 0..3 {
            enu_m[i] = seg.a[i] + f * (seg.b[i] - seg.a[i]);
            vel_enu_mps[i] = (seg.b[i] - seg.a[i]) / dt_s;
        }
        Some(State { enu_m, vel_enu_mps })
    }
}

pub fn distance_m(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn legs_take_distance_over_speed_and_holds_stand_still() {
        let f = Flight::new(
            10.0,
            [0.0, 0.0, 100.0],
            &[
                Leg::To {
                    enu: [100.0, 0.0, 100.0],
                    speed_mps: 10.0,
                },
                Leg::Hold { duration_s: 5.0 },
                Leg::To {
                    enu: [100.0, 50.0, 100.0],
                    speed_mps: 5.0,
                },
            ],
        );
        assert_eq!(f.at(9.9), None);
        let s = f.at(15.0).unwrap();
        assert!((s.enu_m[0] - 50.0).abs() < 1e-9);
        assert!((s.vel_enu_mps[0] - 10.0).abs() < 1e-9);
        let hold = f.at(22.0).unwrap();
        assert_eq!(hold.enu_m, [100.0, 0.0, 100.0]);
        assert_eq!(hold.vel_enu_mps, [0.0; 3]);
        assert!((f.end_s() - 35.0).abs() < 1e-9);
        assert!((f.at(35.0).unwrap().enu_m[1] - 50.0).abs() < 1e-9);
        assert_eq!(f.at(35.1), None);
    }

    #[test]
    fn an_orbit_stays_on_its_circle() {
        let f = Flight::orbit(0.0, [500.0, -200.0], 100.0, 80.0, 10.0, 2);
        let mut t = 0.0;
        while t < f.end_s() {
            let s = f.at(t).unwrap();
            let r = (s.enu_m[0] - 500.0).hypot(s.enu_m[1] + 200.0);
            // A 24-gon's sides come within cos(7.5°) of the radius.
            assert!((99.1..=100.0 + 1e-9).contains(&r), "r {r} at {t}");
            let v = s.vel_enu_mps[0].hypot(s.vel_enu_mps[1]);
            assert!((v - 10.0).abs() < 1e-6);
            t += 0.7;
        }
        assert!(
            (f.end_s() - 2.0 * 24.0 * 2.0 * 100.0 * (7.5f64).to_radians().sin() / 10.0).abs()
                < 1e-6
        );
    }
}
