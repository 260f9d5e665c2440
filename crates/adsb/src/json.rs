//! `aircraft.json` as readsb / dump1090-fa write it, and the older names that
//! dump1090-mutability (what Debian ships) uses: `altitude` for `alt_baro`, `speed` for `gs`,
//! `vert_rate` for `baro_rate`. See readsb `README-json.md`.
//!
//! Each aircraft entry is read on its own: a bad entry is reported with its index and
//! field, and the others are kept.

use serde_json::{Map, Value};

/// Why a file or an entry was refused; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("aircraft.json: not JSON: {0}")]
    Syntax(String),
    #[error("aircraft.json: top level must be an object")]
    NotAnObject,
    #[error("aircraft.json: missing field {0:?}")]
    Missing(&'static str),
    #[error("aircraft.json: field {field:?}: {reason}")]
    BadField {
        field: &'static str,
        reason: &'static str,
    },
}

/// A refused aircraft entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonEntryError {
    /// Index in the `aircraft` array.
    pub index: usize,
    /// Its `hex`, when that much could be read.
    pub hex: Option<String>,
    pub error: JsonError,
}

/// Barometric altitude: feet, or on the ground.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AltBaro {
    Feet(f64),
    Ground,
}

/// One aircraft entry. Units as in the file: feet, knots, ft/min, degrees, seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonAircraft {
    /// 24-bit address from `hex` (a leading `~` marks a non-ICAO address).
    pub icao_address: u32,
    pub non_icao: bool,
    /// `type`: message source (`adsb_icao`, `adsb_icao_nt`, `mlat`, `tisb_other`, ...).
    pub source_type: Option<String>,
    /// `flight`, trailing spaces removed.
    pub flight: Option<String>,
    /// `alt_baro` (readsb) or `altitude` (dump1090-mutability).
    pub alt_baro: Option<AltBaro>,
    pub alt_geom_ft: Option<f64>,
    /// `gs` (readsb) or `speed` (dump1090-mutability).
    pub gs_kt: Option<f64>,
    pub track_deg: Option<f64>,
    /// `baro_rate` (readsb) or `vert_rate` (dump1090-mutability).
    pub baro_rate_fpm: Option<f64>,
    pub geom_rate_fpm: Option<f64>,
    pub squawk: Option<String>,
    pub emergency: Option<String>,
    /// Emitter category, e.g. `A3`.
    pub category: Option<String>,
    pub lat_deg: Option<f64>,
    pub lon_deg: Option<f64>,
    pub nic: Option<u8>,
    /// `rc`: containment radius, metres.
    pub rc_m: Option<f64>,
    /// Seconds since the position was last updated.
    pub seen_pos_s: Option<f64>,
    /// ADS-B version.
    pub version: Option<u8>,
    pub nac_p: Option<u8>,
    pub nac_v: Option<u8>,
    pub sil: Option<u8>,
    /// `gva`: geometric vertical accuracy code.
    pub gva: Option<u8>,
    /// `nucp` (dump1090-mutability, version 0 transponders).
    pub nuc_p: Option<u8>,
    pub messages: Option<u64>,
    /// Seconds since any message.
    pub seen_s: Option<f64>,
    pub rssi_dbfs: Option<f64>,
}

/// A whole `aircraft.json`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AircraftJson {
    /// `now`: when the file was written, Unix seconds.
    pub now_unix_s: f64,
    pub messages: Option<u64>,
    pub aircraft: Vec<JsonAircraft>,
    pub rejected: Vec<JsonEntryError>,
}

/// Parses an `aircraft.json` document.
pub fn parse_aircraft_json(bytes: &[u8]) -> Result<AircraftJson, JsonError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| JsonError::Syntax(e.to_string()))?;
    let top = value.as_object().ok_or(JsonError::NotAnObject)?;
    let now_unix_s = opt_f64(top, "now")?.ok_or(JsonError::Missing("now"))?;
    let messages = opt_u64(top, "messages")?;
    let list = top
        .get("aircraft")
        .ok_or(JsonError::Missing("aircraft"))?
        .as_array()
        .ok_or(JsonError::BadField {
            field: "aircraft",
            reason: "must be an array",
        })?;
    let mut out = AircraftJson {
        now_unix_s,
        messages,
        aircraft: Vec::with_capacity(list.len()),
        rejected: Vec::new(),
    };
    for (index, entry) in list.iter().enumerate() {
        match parse_entry(entry) {
            Ok(a) => out.aircraft.push(a),
            Err(error) => out.rejected.push(JsonEntryError {
                index,
                hex: entry
                    .get("hex")
                    .and_then(Value::as_str)
                    .map(|s| s.chars().take(16).collect()),
                error,
            }),
        }
    }
    Ok(out)
}

/// Parses one entry of the `aircraft` array.
pub fn parse_entry(entry: &Value) -> Result<JsonAircraft, JsonError> {
    let m = entry.as_object().ok_or(JsonError::BadField {
        field: "aircraft[]",
        reason: "must be an object",
    })?;
    let hex = opt_str(m, "hex")?.ok_or(JsonError::Missing("hex"))?;
    let (non_icao, digits) = match hex.strip_prefix('~') {
        Some(d) => (true, d),
        None => (false, hex),
    };
    let bad_hex = JsonError::BadField {
        field: "hex",
        reason: "must be 1..6 hex digits, optionally after '~'",
    };
    if digits.is_empty() || digits.len() > 6 {
        return Err(bad_hex);
    }
    let icao_address = u32::from_str_radix(digits, 16).map_err(|_| bad_hex)?;
    let alt_baro = match (m.get("alt_baro"), m.get("altitude")) {
        (Some(v), _) => Some(alt(v, "alt_baro")?),
        (None, Some(v)) => Some(alt(v, "altitude")?),
        (None, None) => None,
    };
    let lat_deg = ranged(m, "lat", -90.0, 90.0)?;
    let lon_deg = ranged(m, "lon", -180.0, 180.0)?;
    if lat_deg.is_some() != lon_deg.is_some() {
        return Err(JsonError::BadField {
            field: "lon",
            reason: "lat and lon must come together",
        });
    }
    Ok(JsonAircraft {
        icao_address,
        non_icao,
        source_type: opt_str(m, "type")?.map(str::to_owned),
        flight: opt_str(m, "flight")?
            .map(str::trim_end)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        alt_baro,
        alt_geom_ft: opt_f64(m, "alt_geom")?,
        gs_kt: either_f64(m, "gs", "speed")?,
        track_deg: ranged(m, "track", -360.0, 360.0)?.map(|t| t.rem_euclid(360.0)),
        baro_rate_fpm: either_f64(m, "baro_rate", "vert_rate")?,
        geom_rate_fpm: opt_f64(m, "geom_rate")?,
        squawk: opt_str(m, "squawk")?.map(str::to_owned),
        emergency: opt_str(m, "emergency")?.map(str::to_owned),
        category: opt_str(m, "category")?.map(str::to_owned),
        lat_deg,
        lon_deg,
        nic: opt_u8(m, "nic")?,
        rc_m: opt_f64(m, "rc")?,
        seen_pos_s: opt_f64(m, "seen_pos")?,
        version: opt_u8(m, "version")?,
        nac_p: opt_u8(m, "nac_p")?,
        nac_v: opt_u8(m, "nac_v")?,
        sil: opt_u8(m, "sil")?,
        gva: opt_u8(m, "gva")?,
        nuc_p: opt_u8(m, "nucp")?,
        messages: opt_u64(m, "messages")?,
        seen_s: opt_f64(m, "seen")?,
        rssi_dbfs: opt_f64(m, "rssi")?,
    })
}

fn alt(v: &Value, field: &'static str) -> Result<AltBaro, JsonError> {
    match v {
        Value::String(s) if s == "ground" => Ok(AltBaro::Ground),
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(AltBaro::Feet)
            .ok_or(JsonError::BadField {
                field,
                reason: "not a finite number",
            }),
        _ => Err(JsonError::BadField {
            field,
            reason: "must be a number of feet or \"ground\"",
        }),
    }
}

fn opt_str<'a>(
    m: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, JsonError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JsonError::BadField {
            field,
            reason: "must be a string",
        }),
    }
}

fn opt_f64(m: &Map<String, Value>, field: &'static str) -> Result<Option<f64>, JsonError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or(JsonError::BadField {
                    field,
                    reason: "not a finite number",
                })
        }
        Some(_) => Err(JsonError::BadField {
            field,
            reason: "must be a number",
        }),
    }
}

fn either_f64(
    m: &Map<String, Value>,
    new: &'static str,
    old: &'static str,
) -> Result<Option<f64>, JsonError> {
    match opt_f64(m, new)? {
        Some(v) => Ok(Some(v)),
        None => opt_f64(m, old),
    }
}

fn ranged(
    m: &Map<String, Value>,
    field: &'static str,
    lo: f64,
    hi: f64,
) -> Result<Option<f64>, JsonError> {
    match opt_f64(m, field)? {
        Some(v) if !(lo..=hi).contains(&v) => Err(JsonError::BadField {
            field,
            reason: "out of range",
        }),
        v => Ok(v),
    }
}

fn opt_u64(m: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, JsonError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(JsonError::BadField {
            field,
            reason: "must be a non-negative integer",
        }),
        Some(_) => Err(JsonError::BadField {
            field,
            reason: "must be a number",
        }),
    }
}

fn opt_u8(m: &Map<String, Value>, field: &'static str) -> Result<Option<u8>, JsonError> {
    opt_u64(m, field)?
        .map(|v| {
            u8::try_from(v).map_err(|_| JsonError::BadField {
                field,
                reason: "must be 0..255",
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn both_naming_schemes() {
        let readsb = br#"{"now":1700000000.5,"messages":10,"aircraft":[
            {"hex":"4ca7b5","flight":"RYR1AB  ","alt_baro":37000,"alt_geom":37525,"gs":451.2,
             "track":93.1,"baro_rate":-64,"lat":52.1,"lon":-1.5,"nic":8,"rc":186,"nac_p":9,
             "version":2,"seen_pos":0.4,"category":"A3"},
            {"hex":"~2a0001","alt_baro":"ground"}]}"#;
        let j = parse_aircraft_json(readsb).unwrap();
        assert_eq!(j.aircraft.len(), 2);
        let a = &j.aircraft[0];
        assert_eq!(a.icao_address, 0x4ca7b5);
        assert_eq!(a.flight.as_deref(), Some("RYR1AB"));
        assert_eq!(a.alt_baro, Some(AltBaro::Feet(37000.0)));
        assert_eq!(a.gs_kt, Some(451.2));
        assert_eq!(a.baro_rate_fpm, Some(-64.0));
        assert_eq!(a.nac_p, Some(9));
        assert!(j.aircraft[1].non_icao);
        assert_eq!(j.aircraft[1].alt_baro, Some(AltBaro::Ground));

        let mutability = br#"{"now":1.0,"aircraft":[{"hex":"486257","altitude":33600,
            "speed":456,"vert_rate":448,"nucp":7}]}"#;
        let j = parse_aircraft_json(mutability).unwrap();
        let a = &j.aircraft[0];
        assert_eq!(a.alt_baro, Some(AltBaro::Feet(33600.0)));
        assert_eq!(a.gs_kt, Some(456.0));
        assert_eq!(a.baro_rate_fpm, Some(448.0));
        assert_eq!(a.nuc_p, Some(7));
    }

    #[test]
    fn a_bad_entry_does_not_lose_the_others() {
        let doc = br#"{"now":1,"aircraft":[{"hex":"abc123","lat":"x","lon":1},
            {"hex":"abc124","lat":1,"lon":2},{"nohex":1},{"hex":"abc125","altitude":"air"}]}"#;
        let j = parse_aircraft_json(doc).unwrap();
        assert_eq!(j.aircraft.len(), 1);
        assert_eq!(j.rejected.len(), 3);
        assert_eq!(
            j.rejected[0].error,
            JsonError::BadField {
                field: "lat",
                reason: "must be a number"
            }
        );
        assert_eq!(j.rejected[1].error, JsonError::Missing("hex"));
        assert_eq!(j.rejected[2].hex.as_deref(), Some("abc125"));
        assert!(matches!(
            parse_aircraft_json(b"[]"),
            Err(JsonError::NotAnObject)
        ));
        assert!(matches!(
            parse_aircraft_json(b"{\"now\":1"),
            Err(JsonError::Syntax(_))
        ));
        assert_eq!(
            parse_aircraft_json(b"{\"now\":1}"),
            Err(JsonError::Missing("aircraft"))
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_aircraft_json(&bytes);
        }
    }
}
