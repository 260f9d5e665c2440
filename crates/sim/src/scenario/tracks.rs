//! `tracks.jsonl`: the tracker's output, one compact JSON line per reported track.
//!
//! Formatting is deterministic and allocation-free per line: each number is rounded to a
//! fixed number of decimals (`t`, positions, velocities and covariances to 3, i.e. mm;
//! latitude and longitude to 9, height to 3) and written as an integer part, a point and
//! the fractional digits without trailing zeros (at least one digit), e.g. `1678.5`, `1.0`,
//! `-0.25`. Minus zero is written `0.0`.

use std::fmt;
use std::io::{self, BufWriter, Write};

use dronewatch_model::Lla;

/// One line of `tracks.jsonl`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackRecord {
    /// Report time, seconds since the scenario epoch.
    pub t_s: f64,
    pub track_id: u64,
    /// Position in the scenario's ENU frame (m).
    pub enu: [f64; 3],
    /// Velocity in ENU (m/s).
    pub vel_enu: [f64; 3],
    /// Position covariance, row-major 3×3 (m²).
    pub cov_enu: [f64; 9],
    /// The same position in WGS84.
    pub lla: Lla,
}

/// Writes [`TrackRecord`]s as `tracks.jsonl` lines:
/// `{"t":1.0,"track_id":1,"enu":[..],"vel_enu":[..],"cov_enu":[..9],"lla":[lat,lon,h]}`.
///
/// Output is buffered; call [`finish`](Self::finish) (or [`into_inner`](Self::into_inner))
/// to flush and get the writer back. A record with a non-finite number is rejected with an
/// [`io::ErrorKind::InvalidInput`] error naming the field, and nothing of it is written.
pub struct TrackWriter<W: Write> {
    out: BufWriter<W>,
    line: Vec<u8>,
    lines: u64,
}

impl<W: Write> fmt::Debug for TrackWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackWriter")
            .field("lines_written", &self.lines)
            .finish_non_exhaustive()
    }
}

const POW10: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const POW10_U64: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Writes finite `x` rounded to `decimals` (1..=9) places, without trailing zeros.
fn push_fixed(buf: &mut Vec<u8>, x: f64, decimals: usize) {
    let scaled = (x * POW10[decimals]).round();
    // Exact integer arithmetic while the scaled value fits a double's 53-bit mantissa.
    if scaled.abs() < 9.0e15 {
        let n = scaled as i64;
        if n < 0 {
            buf.push(b'-');
        }
        let u = n.unsigned_abs();
        push_u64(buf, u / POW10_U64[decimals]);
        buf.push(b'.');
        let mut frac = u % POW10_U64[decimals];
        let mut digits = [b'0'; 9];
        for d in digits[..decimals].iter_mut().rev() {
            *d = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        let mut len = decimals;
        while len > 1 && digits[len - 1] == b'0' {
            len -= 1;
        }
        buf.extend_from_slice(&digits[..len]);
    } else {
        // Beyond 2^53 / 10^decimals the value has no fractional digits at this precision;
        // `Display` writes all integer digits (never an exponent), which is valid JSON.
        let _ = write!(buf, "{x}");
    }
}

fn push_array(buf: &mut Vec<u8>, values: &[f64], decimals: usize) {
    buf.push(b'[');
    for (i, &v) in values.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_fixed(buf, v, decimals);
    }
    buf.push(b']');
}

fn check_finite(rec: &TrackRecord) -> io::Result<()> {
    let fields: [(&str, &[f64]); 5] = [
        ("t", &[rec.t_s]),
        ("enu", &rec.enu),
        ("vel_enu", &rec.vel_enu),
        ("cov_enu", &rec.cov_enu),
        ("lla", &[rec.lla.lat_deg, rec.lla.lon_deg, rec.lla.h_m]),
    ];
    for (name, values) in fields {
        if values.iter().any(|v| !v.is_finite()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "track {}: field `{name}` is not finite: {values:?}",
                    rec.track_id
                ),
            ));
        }
    }
    Ok(())
}

impl<W: Write> TrackWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, out),
            line: Vec::with_capacity(512),
            lines: 0,
        }
    }

    /// Formats `rec` into the reusable line buffer (cleared first), without the newline.
    fn format(&mut self, rec: &TrackRecord) {
        let b = &mut self.line;
        b.clear();
        b.extend_from_slice(b"{\"t\":");
        push_fixed(b, rec.t_s, 3);
        b.extend_from_slice(b",\"track_id\":");
        push_u64(b, rec.track_id);
        b.extend_from_slice(b",\"enu\":");
        push_array(b, &rec.enu, 3);
        b.extend_from_slice(b",\"vel_enu\":");
        push_array(b, &rec.vel_enu, 3);
        b.extend_from_slice(b",\"cov_enu\":");
        push_array(b, &rec.cov_enu, 3);
        b.extend_from_slice(b",\"lla\":[");
        push_fixed(b, rec.lla.lat_deg, 9);
        b.push(b',');
        push_fixed(b, rec.lla.lon_deg, 9);
        b.push(b',');
        push_fixed(b, rec.lla.h_m, 3);
        b.extend_from_slice(b"]}\n");
    }

    /// Writes one line. Errors (nothing written) if any number is not finite.
    pub fn write(&mut self, rec: &TrackRecord) -> io::Result<()> {
        check_finite(rec)?;
        self.format(rec);
        self.out.write_all(&self.line)?;
        self.lines += 1;
        Ok(())
    }

    pub fn lines_written(&self) -> u64 {
        self.lines
    }

    /// Flushes the buffer and the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes everything and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        let mut w = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        w.flush()?;
        Ok(w)
    }

    /// Same as [`into_inner`](Self::into_inner).
    pub fn finish(self) -> io::Result<W> {
        self.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use serde_json::Value;

    fn fixed(x: f64, decimals: usize) -> String {
        let mut b = Vec::new();
        push_fixed(&mut b, x, decimals);
        String::from_utf8(b).unwrap_or_default()
    }

    fn record() -> TrackRecord {
        TrackRecord {
            t_s: 1.0,
            track_id: 1,
            enu: [-1678.5, -395.52, 130.45],
            vel_enu: [-11.569, 12.319, -0.442],
            cov_enu: [23.11, -7.34, 30.09, -7.34, 95.64, 19.2, 30.09, 19.2, 407.39],
            lla: Lla::new(51.185241234, -1.823861, 230.45),
        }
    }

    fn write_all(recs: &[TrackRecord]) -> String {
        let mut w = TrackWriter::new(Vec::new());
        for r in recs {
            w.write(r).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(w.lines_written(), recs.len() as u64);
        let bytes = w.finish().unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fixed(0.0, 3), "0.0");
        assert_eq!(fixed(-0.0, 3), "0.0");
        assert_eq!(fixed(-0.0004, 3), "0.0");
        assert_eq!(fixed(1.0, 3), "1.0");
        assert_eq!(fixed(0.1 + 0.2, 3), "0.3");
        assert_eq!(fixed(-1678.5, 3), "-1678.5");
        assert_eq!(fixed(12.3456, 3), "12.346");
        assert_eq!(fixed(-12.3454, 3), "-12.345");
        assert_eq!(fixed(0.0015, 3), "0.002");
        assert_eq!(fixed(0.05, 3), "0.05");
        assert_eq!(fixed(1e-7, 3), "0.0");
        assert_eq!(fixed(51.2000000004, 9), "51.2");
        assert_eq!(fixed(-1.7669268034, 9), "-1.766926803");
        assert_eq!(fixed(179.999999999, 9), "179.999999999");
        assert_eq!(fixed(123456789012.0, 3), "123456789012.0");
        assert_eq!(fixed(1e20, 3), "100000000000000000000");
        assert_eq!(fixed(-2.5e16, 3), "-25000000000000000");
    }

    #[test]
    fn line_matches_the_format_example() {
        let text = write_all(&[record()]);
        assert_eq!(
            text,
            "{\"t\":1.0,\"track_id\":1,\"enu\":[-1678.5,-395.52,130.45],\
             \"vel_enu\":[-11.569,12.319,-0.442],\
             \"cov_enu\":[23.11,-7.34,30.09,-7.34,95.64,19.2,30.09,19.2,407.39],\
             \"lla\":[51.185241234,-1.823861,230.45]}\n"
        );
    }

    #[test]
    fn round_trip_through_serde_json() {
        let mut recs = Vec::new();
        for k in 0..50u64 {
            let x = k as f64 * 37.123_456_7 - 900.0;
            recs.push(TrackRecord {
                t_s: k as f64 * 0.1,
                track_id: k * 1_000_003,
                enu: [x, -x * 0.5, x.abs() * 0.01],
                vel_enu: [x * 1e-3, 25.0 - x * 1e-2, -0.123_456],
                cov_enu: [x * x, 1e-5, -3.0, 1e-5, 4.0, 0.5, -3.0, 0.5, 1e6],
                lla: Lla::new(51.2 + x * 1e-7, -1.8 - x * 1e-7, 100.0 + x * 1e-3),
            });
        }
        let text = write_all(&recs);
        assert_eq!(text.lines().count(), recs.len());
        for (line, r) in text.lines().zip(&recs) {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let num = |key: &str| v[key].as_f64().unwrap_or(f64::NAN);
            let arr = |key: &str| -> Vec<f64> {
                v[key]
                    .as_array()
                    .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
                    .unwrap_or_default()
            };
            let close = |got: f64, want: f64, tol: f64| (got - want).abs() <= tol;
            assert!(close(num("t"), r.t_s, 5e-4), "{line}");
            assert_eq!(v["track_id"].as_u64(), Some(r.track_id));
            for (key, want) in [
                ("enu", &r.enu[..]),
                ("vel_enu", &r.vel_enu),
                ("cov_enu", &r.cov_enu),
            ] {
                let got = arr(key);
                assert_eq!(got.len(), want.len(), "{key}");
                for (g, w) in got.iter().zip(want) {
                    assert!(close(*g, *w, 5.0001e-4), "{key}: {g} vs {w}");
                }
            }
            let lla = arr("lla");
            assert_eq!(lla.len(), 3);
            assert!(close(lla[0], r.lla.lat_deg, 5.0001e-10));
            assert!(close(lla[1], r.lla.lon_deg, 5.0001e-10));
            assert!(close(lla[2], r.lla.h_m, 5.0001e-4));
        }
    }

    #[test]
    fn non_finite_numbers_are_rejected_and_nothing_is_written() {
        let mut w = TrackWriter::new(Vec::new());
        let mut bad = record();
        bad.cov_enu[4] = f64::NAN;
        let e = w.write(&bad).err().map(|e| (e.kind(), e.to_string()));
        let (kind, msg) = e.unwrap_or_else(|| panic!("NaN accepted"));
        assert_eq!(kind, io::ErrorKind::InvalidInput);
        assert!(msg.contains("`cov_enu`"), "{msg}");
        bad = record();
        bad.lla.h_m = f64::INFINITY;
        assert!(w.write(&bad).is_err());
        bad = record();
        bad.t_s = f64::NEG_INFINITY;
        assert!(w.write(&bad).is_err());
        w.write(&record()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.lines_written(), 1);
        let out = w.into_inner().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    proptest! {
        #[test]
        fn any_finite_record_gives_valid_json(
            t_s in -1e7f64..1e7,
            track_id in any::<u64>(),
            enu in prop::array::uniform3(prop::num::f64::NORMAL | prop::num::f64::ZERO),
            vel in prop::array::uniform3(-1e3f64..1e3),
            cov in prop::array::uniform9(prop::num::f64::ANY),
            lat in -90f64..=90.0,
            lon in -180f64..=180.0,
            h in -1e4f64..1e5,
        ) {
            let rec = TrackRecord {
                t_s, track_id, enu, vel_enu: vel, cov_enu: cov, lla: Lla::new(lat, lon, h),
            };
            let mut w = TrackWriter::new(Vec::new());
            let res = w.write(&rec);
            let finite = cov.iter().all(|c| c.is_finite());
            prop_assert_eq!(res.is_ok(), finite);
            let bytes = w.finish().unwrap_or_default();
            if finite {
                let v: Result<Value, _> = serde_json::from_slice(&bytes);
                prop_assert!(v.is_ok(), "{}", String::from_utf8_lossy(&bytes));
                if let Ok(v) = v {
                    prop_assert_eq!(v["track_id"].as_u64(), Some(track_id));
                    let e0 = v["enu"][0].as_f64().unwrap_or(f64::NAN);
                    prop_assert!((e0 - enu[0]).abs() <= 5.0001e-4 + enu[0].abs() * 1e-15);
                }
            } else {
                prop_assert!(bytes.is_empty());
            }
        }
    }
}
