//! Wall-clock time as the model counts it.

use dronewatch_model::TimeNs;

/// Now, in nanoseconds since the Unix epoch (UTC).
pub fn now() -> TimeNs {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    TimeNs(i64::try_from(ns).unwrap_or(i64::MAX))
}
