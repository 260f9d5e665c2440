//! SBS-1 / BaseStation CSV (dump1090 port 30003): `MSG,<tt>,...` lines of 22 fields.
//!
//! Field order (BaseStation "MSG" record): 0 `MSG`, 1 transmission type 1..8, 2 session id,
//! 3 aircraft id, 4 ICAO hex, 5 flight id, 6/7 date/time generated, 8/9 date/time logged,
//! 10 callsign, 11 altitude (ft), 12 ground speed (kt), 13 track (deg), 14 lat, 15 lon,
//! 16 vertical rate (ft/min), 17 squawk, 18 alert, 19 emergency, 20 SPI, 21 on ground.
//! Flags are `-1` (true) / `0` (false); empty fields are absent. The dates and times are
//! the receiver's local clock, whose zone the line does not say.

/// Why an SBS line was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SbsError {
    #[error("sbs: empty line")]
    Empty,
    #[error("sbs: {found} comma-separated fields, a MSG line needs 22")]
    FieldCount { found: usize },
    #[error("sbs: field {index} ({name}) = {value:?}: {reason}")]
    BadField {
        index: usize,
        name: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// A BaseStation timestamp as written (receiver local time, zone unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SbsDateTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanos: u32,
}

impl SbsDateTime {
    /// Nanoseconds since the Unix epoch, reading the fields as UTC. Only right when the
    /// receiver's clock runs on UTC; sources use their own receive time instead. Saturates
    /// beyond the year 2262.
    pub fn unix_ns_if_utc(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        // Years past 2262 do not fit in i64 nanoseconds: saturate.
        secs.saturating_mul(1_000_000_000)
            .saturating_add(i64::from(self.nanos))
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// One `MSG` line. Which fields are filled depends on the transmission type: 1 callsign,
/// 2 surface position, 3 airborne position, 4 velocity, 5 altitude, 6 squawk, 7 air-to-air,
/// 8 all-call.
#[derive(Debug, Clone, PartialEq)]
pub struct SbsMessage {
    pub transmission_type: u8,
    pub session_id: Option<u32>,
    pub aircraft_id: Option<u32>,
    /// 24-bit address.
    pub icao_address: u32,
    /// The address was written with a leading `~`: not an ICAO address (TIS-B, anonymous).
    pub non_icao: bool,
    pub flight_id: Option<u32>,
    pub generated: Option<SbsDateTime>,
    pub logged: Option<SbsDateTime>,
    pub callsign: Option<String>,
    pub altitude_ft: Option<i32>,
    pub ground_speed_kt: Option<f64>,
    pub track_deg: Option<f64>,
    pub lat_deg: Option<f64>,
    pub lon_deg: Option<f64>,
    pub vertical_rate_fpm: Option<i32>,
    /// The four octal digits as written, e.g. `"7700"`.
    pub squawk: Option<String>,
    pub alert: Option<bool>,
    pub emergency: Option<bool>,
    pub spi: Option<bool>,
    pub on_ground: Option<bool>,
}

const NAMES: [&str; 22] = [
    "message type",
    "transmission type",
    "session id",
    "aircraft id",
    "icao hex",
    "flight id",
    "date generated",
    "time generated",
    "date logged",
    "time logged",
    "callsign",
    "altitude",
    "ground speed",
    "track",
    "latitude",
    "longitude",
    "vertical rate",
    "squawk",
    "alert",
    "emergency",
    "spi",
    "on ground",
];

/// Parses one line. `Ok(None)` for the other BaseStation records (`SEL`, `ID`, `AIR`,
/// `STA`, `CLK`), which carry nothing to track. Extra fields after the 22nd are ignored
/// (some feeders append their own).
pub fn parse_sbs_line(line: &str) -> Result<Option<SbsMessage>, SbsError> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Err(SbsError::Empty);
    }
    let mut f = [""; 22];
    let mut n = 0;
    for (i, part) in line.split(',').enumerate() {
        if let Some(slot) = f.get_mut(i) {
            *slot = part;
        }
        n = i + 1;
    }
    let kind = f[0].trim();
    if kind != "MSG" {
        if matches!(kind, "SEL" | "ID" | "AIR" | "STA" | "CLK") {
            return Ok(None);
        }
        return Err(bad(0, kind, "expected MSG, SEL, ID, AIR, STA or CLK"));
    }
    if n < 22 {
        return Err(SbsError::FieldCount { found: n });
    }
    let transmission_type: u8 = num(&f, 1)?.ok_or_else(|| bad(1, f[1], "missing"))?;
    if !(1..=8).contains(&transmission_type) {
        return Err(bad(1, f[1], "must be 1..8"));
    }
    let (non_icao, hex) = match f[4].trim().strip_prefix('~') {
        Some(h) => (true, h),
        None => (false, f[4].trim()),
    };
    if hex.is_empty() || hex.len() > 6 {
        return Err(bad(4, f[4], "must be 1..6 hex digits"));
    }
    let icao_address =
        u32::from_str_radix(hex, 16).map_err(|_| bad(4, f[4], "not a hex number"))?;
    let callsign = Some(f[10].trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let lat_deg = ranged(&f, 14, -90.0, 90.0)?;
    let lon_deg = ranged(&f, 15, -180.0, 180.0)?;
    if lat_deg.is_some() != lon_deg.is_some() {
        return Err(bad(15, f[15], "latitude and longitude must come together"));
    }
    let squawk = Some(f[17].trim()).filter(|s| !s.is_empty());
    if squawk.is_some_and(|s| s.len() != 4 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b))) {
        return Err(bad(17, f[17], "must be 4 octal digits"));
    }
    Ok(Some(SbsMessage {
        transmission_type,
        session_id: num(&f, 2)?,
        aircraft_id: num(&f, 3)?,
        icao_address,
        non_icao,
        flight_id: num(&f, 5)?,
        generated: date_time(&f, 6)?,
        logged: date_time(&f, 8)?,
        callsign,
        altitude_ft: int_or_float(&f, 11)?,
        ground_speed_kt: ranged(&f, 12, 0.0, 5000.0)?,
        track_deg: ranged(&f, 13, -360.0, 360.0)?.map(|t| t.rem_euclid(360.0)),
        lat_deg,
        lon_deg,
        vertical_rate_fpm: int_or_float(&f, 16)?,
        squawk: squawk.map(str::to_owned),
        alert: flag(&f, 18)?,
        emergency: flag(&f, 19)?,
        spi: flag(&f, 20)?,
        on_ground: flag(&f, 21)?,
    }))
}

fn bad(index: usize, value: &str, reason: &'static str) -> SbsError {
    SbsError::BadField {
        index,
        name: NAMES.get(index).copied().unwrap_or("?"),
        value: value.chars().take(40).collect(),
        reason,
    }
}

fn field<'a>(f: &[&'a str; 22], i: usize) -> Option<&'a str> {
    f.get(i).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn num<T: std::str::FromStr>(f: &[&str; 22], i: usize) -> Result<Option<T>, SbsError> {
    field(f, i)
        .map(|s| s.parse().map_err(|_| bad(i, s, "not an unsigned integer")))
        .transpose()
}

/// Integers that some feeders write with a fractional part.
fn int_or_float(f: &[&str; 22], i: usize) -> Result<Option<i32>, SbsError> {
    let Some(s) = field(f, i) else {
        return Ok(None);
    };
    if let Ok(v) = s.parse::<i32>() {
        return Ok(Some(v));
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() < 1e7 => Ok(Some(v.round() as i32)),
        _ => Err(bad(i, s, "not a number in range")),
    }
}

fn ranged(f: &[&str; 22], i: usize, lo: f64, hi: f64) -> Result<Option<f64>, SbsError> {
    let Some(s) = field(f, i) else {
        return Ok(None);
    };
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(Some(v)),
        Ok(_) => Err(bad(i, s, "out of range")),
        Err(_) => Err(bad(i, s, "not a number")),
    }
}

fn flag(f: &[&str; 22], i: usize) -> Result<Option<bool>, SbsError> {
    match field(f, i) {
        None => Ok(None),
        Some("0") => Ok(Some(false)),
        Some("-1" | "1") => Ok(Some(true)),
        Some(s) => Err(bad(i, s, "flag must be -1, 1 or 0")),
    }
}

/// `yyyy/mm/dd` at field `i`, `hh:mm:ss[.fff]` at `i + 1`; both or neither.
fn date_time(f: &[&str; 22], i: usize) -> Result<Option<SbsDateTime>, SbsError> {
    let (Some(d), Some(t)) = (field(f, i), field(f, i + 1)) else {
        return Ok(None);
    };
    let mut dp = d.split('/');
    let (Some(y), Some(mo), Some(da), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(bad(i, d, "date must be yyyy/mm/dd"));
    };
    let year: i32 = y.parse().map_err(|_| bad(i, d, "bad year"))?;
    let month: u8 = mo.parse().map_err(|_| bad(i, d, "bad month"))?;
    let day: u8 = da.parse().map_err(|_| bad(i, d, "bad day"))?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(0..=9999).contains(&year) {
        return Err(bad(i, d, "date out of range"));
    }
    let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
    let mut tp = hms.split(':');
    let (Some(h), Some(mi), Some(s), None) = (tp.next(), tp.next(), tp.next(), tp.next()) else {
        return Err(bad(i + 1, t, "time must be hh:mm:ss[.fff]"));
    };
    let hour: u8 = h.parse().map_err(|_| bad(i + 1, t, "bad hour"))?;
    let minute: u8 = mi.parse().map_err(|_| bad(i + 1, t, "bad minute"))?;
    let second: u8 = s.parse().map_err(|_| bad(i + 1, t, "bad second"))?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad(i + 1, t, "time out of range"));
    }
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(i + 1, t, "bad fraction of a second"));
    }
    let mut nanos: u32 = 0;
    for k in 0..9 {
        let digit = frac.as_bytes().get(k).map_or(0, |b| u32::from(b - b'0'));
        nanos = nanos * 10 + digit;
    }
    Ok(Some(SbsDateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn airborne_position_line() {
        let m = parse_sbs_line(
            "MSG,3,1,1,398101,1,2026/11/25,12:58:06.339,2026/11/25,12:58:06.339,,525,,,\
             43.62112,1.36984,,,,,,0\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.transmission_type, 3);
        assert_eq!(m.icao_address, 0x398101);
        assert_eq!(m.altitude_ft, Some(525));
        assert_eq!(m.lat_deg, Some(43.62112));
        assert_eq!(m.lon_deg, Some(1.36984));
        assert_eq!(m.on_ground, Some(false));
        assert_eq!(m.alert, None);
        let g = m.generated.unwrap();
        assert_eq!(
            (g.hour, g.minute, g.second, g.nanos),
            (12, 58, 6, 339_000_000)
        );
        // 2026-11-25T12:58:06.339Z
        assert_eq!(g.unix_ns_if_utc(), 1_795_611_486_339_000_000);
    }

    #[test]
    fn other_records_and_errors() {
        assert_eq!(
            parse_sbs_line(
                "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM"
            ),
            Ok(None)
        );
        assert_eq!(parse_sbs_line(""), Err(SbsError::Empty));
        assert_eq!(
            parse_sbs_line("MSG,3,1"),
            Err(SbsError::FieldCount { found: 3 })
        );
        let e = parse_sbs_line("MSG,3,1,1,398101,1,,,,,,525,,,95.0,1.0,,,,,,0").unwrap_err();
        assert!(
            matches!(
                e,
                SbsError::BadField {
                    index: 14,
                    name: "latitude",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_sbs_line("MSG,9,1,1,398101,1,,,,,,525,,,,,,,,,,0").unwrap_err();
        assert!(matches!(e, SbsError::BadField { index: 1, .. }), "{e}");
        let e = parse_sbs_line("MSG,6,1,1,398101,1,,,,,,,,,,,,7800,,,,0").unwrap_err();
        assert!(matches!(e, SbsError::BadField { index: 17, .. }), "{e}");
        let m = parse_sbs_line("MSG,8,1,1,~1234AB,1,,,,,,,,,,,,,,,,")
            .unwrap()
            .unwrap();
        assert!(m.non_icao);
        assert_eq!(m.icao_address, 0x1234ab);
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,200}") {
            let _ = parse_sbs_line(&line);
        }

        #[test]
        fn never_panics_on_msg_shaped_lines(
            fields in proptest::collection::vec("[-~0-9a-fA-F.:/ ]{0,12}", 20..24)
        ) {
            let line = format!("MSG,{}", fields.join(","));
            let _ = parse_sbs_line(&line);
        }
    }
}
