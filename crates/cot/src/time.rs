//! CoT times: ISO-8601 UTC (`2020-12-16T19:59:34.910Z`), kept as milliseconds since the
//! Unix epoch.

use jiff::Timestamp;

use crate::CotError;

pub(crate) fn parse(field: &'static str, s: &str) -> Result<i64, CotError> {
    let t: Timestamp = s
        .trim()
        .parse()
        .map_err(|e| CotError::field(field, format!("not an ISO-8601 time: {e}")))?;
    Ok(t.as_millisecond())
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
        let e = parse("event@time", "yesterday").unwrap_err().to_string();
        assert!(e.starts_with("event@time: not an ISO-8601 time"), "{e}");
    }
}
