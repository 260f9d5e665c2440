//! `google.protobuf.Timestamp` ⇄ model [`TimeNs`].

use dronewatch_model::TimeNs;
use prost_types::Timestamp;

/// Nanoseconds since the Unix epoch; `None` when out of `i64` range or malformed.
pub fn to_time_ns(ts: &Timestamp) -> Option<TimeNs> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    ts.seconds
        .checked_mul(TimeNs::NS_PER_S)?
        .checked_add(i64::from(ts.nanos))
        .map(TimeNs)
}

pub fn from_time_ns(t: TimeNs) -> Timestamp {
    Timestamp {
        seconds: t.0.div_euclid(TimeNs::NS_PER_S),
        nanos: t.0.rem_euclid(TimeNs::NS_PER_S) as i32,
    }
}

/// The wall clock now.
pub fn now() -> TimeNs {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    TimeNs(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_including_before_1970() {
        for t in [0, 1, -1, 1_688_733_857_027_638_700, -1_500_000_000] {
            let ts = from_time_ns(TimeNs(t));
            assert!((0..1_000_000_000).contains(&ts.nanos));
            assert_eq!(to_time_ns(&ts), Some(TimeNs(t)));
        }
        let far = Timestamp {
            seconds: i64::MAX / 2,
            nanos: 0,
        };
        assert_eq!(to_time_ns(&far), None);
        let bad = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert_eq!(to_time_ns(&bad), None);
    }
}
