use serde::{Deserialize, Serialize};

/// A point in time as nanoseconds since the Unix epoch (UTC).
///
/// Integers keep ordering and equality exact, which the deterministic tracker relies on;
/// convert to seconds only for arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeNs(pub i64);

impl TimeNs {
    pub const NS_PER_S: i64 = 1_000_000_000;

    /// From seconds, rounded to the nearest nanosecond.
    pub fn from_secs_f64(t_s: f64) -> Self {
        Self((t_s * Self::NS_PER_S as f64).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NS_PER_S as f64
    }

    /// `self - earlier` in seconds.
    pub fn secs_since(self, earlier: TimeNs) -> f64 {
        (self.0 - earlier.0) as f64 / Self::NS_PER_S as f64
    }

    pub fn plus_secs(self, dt_s: f64) -> Self {
        Self(self.0 + (dt_s * Self::NS_PER_S as f64).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_on_the_tick_grid() {
        for k in 0..10_000 {
            let t_s = k as f64 * 0.1;
            let t = TimeNs::from_secs_f64(t_s);
            assert_eq!(t.0, k * 100_000_000);
            assert!((t.as_secs_f64() - t_s).abs() < 1e-9);
        }
    }

    #[test]
    fn differences_are_exact() {
        let a = TimeNs::from_secs_f64(12.3);
        let b = a.plus_secs(0.7);
        assert_eq!(b, TimeNs::from_secs_f64(13.0));
        assert!((b.secs_since(a) - 0.7).abs() < 1e-12);
    }
}
