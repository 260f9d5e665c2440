//! AVR raw lines (dump1090 port 30002): `*<hex>;`, or `@<12 hex digit MLAT counter><hex>;`.

use crate::frame::RawFrame;

/// Why an AVR line is not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvrError {
    #[error("avr: empty line")]
    Empty,
    #[error("avr: line starts with {found:?}, expected '*' or '@'")]
    BadStart { found: char },
    #[error("avr: missing the closing ';'")]
    MissingTerminator,
    #[error("avr: {found:?} at column {column} is not a hex digit")]
    BadHex { column: usize, found: char },
    #[error("avr: '@' line needs a 12-digit MLAT counter, found {digits} hex digits in all")]
    ShortTimestamp { digits: usize },
    #[error("avr: {digits} hex digits of frame, expected 4, 14 or 28 (2, 7 or 14 bytes)")]
    BadLength { digits: usize },
}

/// Parses one AVR line (surrounding whitespace and a trailing `\r` are ignored).
pub fn parse_avr_line(line: &str) -> Result<RawFrame, AvrError> {
    let line = line.trim();
    let mut chars = line.chars();
    let start = chars.next().ok_or(AvrError::Empty)?;
    let with_ts = match start {
        '*' => false,
        '@' => true,
        found => return Err(AvrError::BadStart { found }),
    };
    // Everything after the start character up to ';' (anything after ';' is ignored, as
    // dump1090 does).
    let rest = line.get(1..).unwrap_or("");
    let body = rest
        .split_once(';')
        .map(|(b, _)| b)
        .ok_or(AvrError::MissingTerminator)?;
    if let Some((i, found)) = body.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(AvrError::BadHex {
            column: i + 1,
            found,
        });
    }
    // Only ASCII hex digits remain, so byte slicing is on char boundaries.
    let (ts_hex, frame_hex) = if with_ts {
        if body.len() < 12 {
            return Err(AvrError::ShortTimestamp { digits: body.len() });
        }
        body.split_at(12)
    } else {
        ("", body)
    };
    let mut buf = [0u8; 14];
    let n = match frame_hex.len() {
        4 | 14 | 28 => frame_hex.len() / 2,
        digits => return Err(AvrError::BadLength { digits }),
    };
    let out = buf.get_mut(..n).ok_or(AvrError::BadLength {
        digits: frame_hex.len(),
    })?;
    hex::decode_to_slice(frame_hex, out).map_err(|_| AvrError::BadLength {
        digits: frame_hex.len(),
    })?;
    let mut frame = RawFrame::new(out).ok_or(AvrError::BadLength {
        digits: frame_hex.len(),
    })?;
    if with_ts {
        let ticks = u64::from_str_radix(ts_hex, 16).map_err(|_| AvrError::ShortTimestamp {
            digits: ts_hex.len(),
        })?;
        frame.mlat_ticks = Some(ticks);
    }
    Ok(frame)
}

/// Formats `frame` as an AVR line without the newline: `@` with its MLAT counter when it
/// has one, `*` otherwise.
pub fn format_avr_line(frame: &RawFrame) -> String {
    let hex = hex::encode_upper(frame.payload());
    match frame.mlat_ticks {
        Some(t) => format!("@{:012X}{hex};", t & crate::frame::MLAT_TICKS_MAX),
        None => format!("*{hex};"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::frame::FrameKind;
    use proptest::prelude::*;

    #[test]
    fn plain_and_timestamped_lines() {
        let f = parse_avr_line("*8D4840D6202CC371C32CE0576098;\r\n").unwrap();
        assert_eq!(f.kind(), FrameKind::ModeSLong);
        assert_eq!(f.payload()[0], 0x8d);
        assert_eq!(f.mlat_ticks, None);
        let f = parse_avr_line("@0123456789AB5D4840D6202CC3;").unwrap();
        assert_eq!(f.kind(), FrameKind::ModeSShort);
        assert_eq!(f.mlat_ticks, Some(0x0123_4567_89ab));
        assert_eq!(parse_avr_line("*7700;").unwrap().kind(), FrameKind::ModeAc);
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(parse_avr_line("  "), Err(AvrError::Empty));
        assert_eq!(
            parse_avr_line("#00;"),
            Err(AvrError::BadStart { found: '#' })
        );
        assert_eq!(parse_avr_line("*0011"), Err(AvrError::MissingTerminator));
        assert_eq!(
            parse_avr_line("*00x1;"),
            Err(AvrError::BadHex {
                column: 3,
                found: 'x'
            })
        );
        assert_eq!(
            parse_avr_line("*001;"),
            Err(AvrError::BadLength { digits: 3 })
        );
        assert_eq!(
            parse_avr_line("@0011;"),
            Err(AvrError::ShortTimestamp { digits: 4 })
        );
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(
            n in prop_oneof![Just(2usize), Just(7), Just(14)],
            bytes in proptest::collection::vec(any::<u8>(), 14),
            ticks in proptest::option::of(0..=crate::frame::MLAT_TICKS_MAX),
        ) {
            let mut f = RawFrame::new(&bytes[..n]).unwrap();
            f.mlat_ticks = ticks;
            prop_assert_eq!(parse_avr_line(&format_avr_line(&f)), Ok(f));
        }

        #[test]
        fn never_panics(line in "\\PC{0,64}") {
            let _ = parse_avr_line(&line);
        }
    }
}
