//! CoT times: ISO-8601 UTC (`2020-12-16T19:59:34.910Z`), kept as milliseconds since the
//! Unix epoch.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use crate::CotError;

/// Also reads a time without an offset (`xs:dateTime` allows it; some senders omit the `Z`)
/// as UTC, the only zone CoT uses. Below a millisecond is truncated.
pub(crate) fn parse(field: &'static str, s: &str) -> Result<i64, CotError> {
    let s = s.trim();
    let t = match s.parse::<Timestamp>() {
        Ok(t) => t,
        Err(e) => s
            .parse::<DateTime>()
            .ok()
            .and_then(|dt| TimeZone::UTC.to_timestamp(dt).ok())
            .ok_or_else(|| CotError::field(field, format!("not an ISO-8601 time: {e}")))?,
    };
    Ok(t.as_millisecond())
}

/// Whether `ms` can be written as an ISO-8601 time (years -9999..=9999).
pub(crate) fn writable(ms: i64) -> bool {
    Timestamp::from_millisecond(ms).is_ok()
}

/// Milliseconds always written (`.000`), as ATAK writes them.
pub(crate) fn format(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        // Outside jiff's range (years -9999..=9999): the epoch, rather than a broken event.
        Err(_) => "1970-01-01T00:00:00.000Z".into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn atak_times_read_and_write_to_the_millisecond() {
        let ms = parse("t", "2020-12-16T19:59:34.910Z").unwrap();
        assert_eq!(ms, 1_608_148_774_910);
        assert_eq!(format(ms), "2020-12-16T19:59:34.910Z");
        assert_eq!(format(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse("t", "2020-12-16T19:59:34Z").unwrap(),
            1_608_148_774_000
        );
        assert_eq!(
            parse("t", "2020-12-16T19:59:34.910").unwrap(),
            1_608_148_774_910
        );
        assert_eq!(
            parse("t", "2020-12-16T20:59:34.9109+01:00").unwrap(),
            1_608_148_774_910
        );
        assert!(writable(253_402_000_000_000) && !writable(253_402_300_800_000));
        let e = parse("event@time", "yesterday").unwrap_err().to_string();
        assert!(e.starts_with("event@time: not an ISO-8601 time"), "{e}");
    }
}
