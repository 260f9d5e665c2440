//! JSON value → model types, with serde for the shapes and explicit checks for the ranges.
//!
//! This mapping is strict on its own: it refuses everything the schema refuses (the tests
//! hold the two to that on a set of good and bad messages), so a message that slipped past
//! a schema edit still cannot reach fusion malformed.

use std::str::FromStr;

use dronewatch_model::{
    Classification, HealthState, IdentityHints, Lla, Measurement, Observation, ObservationId,
    RfEmission, SensorHealth, SensorId, SensorKind, TimeNs,
};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Number, Value};

use crate::error::{Rejection, Stage, pointer_push};
use crate::topic::{MessageKind, is_valid_id};

/// 2000-01-01T00:00:00Z in ns: integer times below it are seconds or ms by mistake.
pub const MIN_T_UNIX_NS: i64 = 946_684_800 * 1_000_000_000;
/// Last ns before 2200-01-01T00:00:00Z: the schema's upper bound for integer times.
pub const MAX_T_UNIX_NS: i64 = 7_258_118_400 * 1_000_000_000 - 1;
/// The same bound in seconds, for the flat Remote ID `t` / `observed_at`.
const MIN_T_UNIX_S: f64 = 946_684_800.0;
/// Largest time in seconds that still fits i64 nanoseconds (the schema's maximum).
const MAX_T_UNIX_S: f64 = 9_223_372_036.0;
/// F3411's "unknown" altitude, refused: a position needs a height.
const RID_ALT_UNKNOWN_M: f64 = -1000.0;
const H_MIN_M: f64 = -1000.0;
const H_MAX_M: f64 = 100_000.0;

/// What a message becomes.
#[derive(Debug, Clone, PartialEq)]
// Observations are nearly every message: boxing them would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum SensorMessage {
    Observation(Observation),
    Health(SensorHealth),
}

/// What the receiving side knows about a message apart from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Reception time: the time of flat Remote ID messages that carry none.
    pub at: TimeNs,
    /// Observation id when the message carries no `seq`.
    pub id: ObservationId,
}

/// Tunables of the mapping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Larger payloads are refused before parsing. Default 64 KiB.
    pub max_payload_bytes: usize,
    /// One-sigma horizontal error of a flat Remote ID position without `gps_accuracy`.
    /// Default 10 m (a dronewatch choice; F3411's common "< 10 m" category).
    pub remoteid_sigma_horizontal_m: f64,
    /// One-sigma vertical error of a flat Remote ID position. Default 15 m.
    pub remoteid_sigma_vertical_m: f64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_payload_bytes: 64 * 1024,
            remoteid_sigma_horizontal_m: 10.0,
            remoteid_sigma_vertical_m: 15.0,
        }
    }
}

fn reject(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
    Rejection::one(Stage::Mapping, field, reason)
}

/// serde with the failing field named as a JSON Pointer under `base`.
fn de<T: DeserializeOwned>(value: &Value, base: &str) -> Result<T, Rejection> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let mut field = base.to_owned();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Map { key } => field = pointer_push(&field, key),
                serde_path_to_error::Segment::Seq { index } => {
                    field = pointer_push(&field, &index.to_string())
                }
                _ => {}
            }
        }
        let msg = e.inner().to_string();
        if let Some(name) = quoted(&msg, "missing field `") {
            return reject(pointer_push(&field, name), "is a required property");
        }
        if let Some(name) = quoted(&msg, "unknown field `") {
            if !field.ends_with(&format!("/{name}")) {
                field = pointer_push(&field, name);
            }
            return reject(field, "is not a field of this message");
        }
        reject(field, msg)
    })
}

/// [`de`] for a struct: serde would also fill a struct from a JSON array, which the schema
/// (rightly) refuses, so the object shape is checked first.
fn de_obj<T: DeserializeOwned>(value: &Value, base: &str) -> Result<T, Rejection> {
    if !value.is_object() {
        return Err(reject(base, format!("{} is not an object", kind_of(value))));
    }
    de(value, base)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The text between `prefix` and the next backtick.
fn quoted<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// The first `null` anywhere in the value: detection and status messages allow none.
fn first_null(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::Null => Some(path.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| first_null(v, &pointer_push(path, &i.to_string()))),
        Value::Object(map) => map
            .iter()
            .find_map(|(k, v)| first_null(v, &pointer_push(path, k))),
        _ => None,
    }
}

/// An integer JSON number (JSON Schema counts 5.0 as an integer too).
fn integer(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    // 2^127 bounds the cast; JSON floats beyond it are refused as out of range anyway.
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38).then_some(f as i128)
}

/// RFC 3339 §5.6 `date-time` shape: `full-date "T" full-time`, with `T`/`Z` in either case,
/// fraction optional, offset required. jiff parses a wider ISO 8601 / RFC 9557 grammar, so
/// the shape is checked first to accept exactly what the schema's `format` accepts.
fn is_rfc3339_shape(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r)
            .is_some_and(|d| !d.is_empty() && d.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19))
    {
        return false;
    }
    let mut i = 19;
    if at(i, b".") {
        let start = i + 1;
        i = start;
        while at(i, b"0123456789") {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            digits(i + 1..i + 3) && at(i + 3, b":") && digits(i + 4..i + 6) && i + 6 == b.len()
        }
        _ => false,
    }
}

fn time(value: &Value, field: &str) -> Result<TimeNs, Rejection> {
    match value {
        Value::String(s) => {
            if !is_rfc3339_shape(s) {
                return Err(reject(
                    field,
                    format!(
                        "{s:?} is not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM))"
                    ),
                ));
            }
            // The year as written (the schema's pattern), not the instant after the offset.
            if !(s.starts_with("20") || s.starts_with("21")) {
                return Err(reject(
                    field,
                    format!("{s:?}: the year must be 2000 to 2199"),
                ));
            }
            let ts = jiff::Timestamp::from_str(s)
                .map_err(|e| reject(field, format!("{s:?} is not an RFC 3339 date-time: {e}")))?;
            i64::try_from(ts.as_nanosecond())
                .map(TimeNs)
                .map_err(|_| reject(field, format!("{s:?} does not fit signed 64-bit ns")))
        }
        Value::Number(n) => {
            let ns = integer(n).ok_or_else(|| {
                reject(
                    field,
                    format!("{n} is not an integer number of nanoseconds"),
                )
            })?;
            if ns < i128::from(MIN_T_UNIX_NS) {
                return Err(reject(
                    field,
                    format!("{n} is before 2000-01-01 in ns: seconds or ms by mistake?"),
                ));
            }
            if ns > i128::from(MAX_T_UNIX_NS) {
                return Err(reject(field, format!("{n} is after 2199 in ns")));
            }
            i64::try_from(ns)
                .map(TimeNs)
                .map_err(|_| reject(field, format!("{n} does not fit signed 64-bit ns")))
        }
        _ => Err(reject(
            field,
            "must be an RFC 3339 date-time string or integer Unix nanoseconds",
        )),
    }
}

fn version(value: Option<&Value>) -> Result<(), Rejection> {
    match value {
        None => Ok(()),
        Some(v) if v.as_f64() == Some(1.0) => Ok(()),
        Some(v) => Err(reject("/v", format!("{v} is not a supported version (1)"))),
    }
}

fn in_range(v: f64, lo: f64, hi: f64, field: &str) -> Result<f64, Rejection> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        Err(reject(field, format!("{v} is outside [{lo}, {hi}]")))
    }
}

fn positive(v: f64, field: &str) -> Result<f64, Rejection> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(reject(field, format!("{v} must be greater than 0")))
    }
}

fn azimuth(v: f64, field: &str) -> Result<f64, Rejection> {
    if v.is_finite() && (0.0..360.0).contains(&v) {
        Ok(v)
    } else {
        Err(reject(field, format!("{v} is outside [0, 360)")))
    }
}

fn sensor_id(id: &str, field: &str, topic_sensor_id: Option<&str>) -> Result<SensorId, Rejection> {
    if !is_valid_id(id) {
        return Err(reject(
            field,
            format!("{id:?} must match ^[A-Za-z0-9][A-Za-z0-9._:-]{{0,127}}$"),
        ));
    }
    if let Some(topic_id) = topic_sensor_id.filter(|t| *t != id) {
        return Err(reject(
            field,
            format!("{id:?} differs from the topic's sensor id {topic_id:?}"),
        ));
    }
    Ok(SensorId::new(id))
}

fn printable(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLla {
    lat_deg: f64,
    lon_deg: f64,
    h_m: f64,
}

fn lla(value: &Value, base: &str) -> Result<Lla, Rejection> {
    let w: WireLla = de_obj(value, base)?;
    Ok(Lla::new(
        in_range(w.lat_deg, -90.0, 90.0, &pointer_push(base, "lat_deg"))?,
        in_range(w.lon_deg, -180.0, 180.0, &pointer_push(base, "lon_deg"))?,
        in_range(w.h_m, H_MIN_M, H_MAX_M, &pointer_push(base, "h_m"))?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireClassification {
    class: String,
    confidence: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireIdentity {
    remote_id_serial: Option<String>,
    operator_position: Option<Value>,
    icao_address: Option<String>,
    classification: Option<Value>,
    sensor_object_id: Option<String>,
    rf_emission: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRfEmission {
    centre_frequency_hz: f64,
    bandwidth_hz: Option<f64>,
    amplitude: Option<f64>,
}

fn is_class_label(s: &str) -> bool {
    s.len() <= 64
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

impl WireIdentity {
    fn check(self) -> Result<IdentityHints, Rejection> {
        let base = "/identity";
        // Identifiers: 1 to 64 printable ASCII characters.
        let id = |s: &Option<String>, field: &str| match s {
            Some(s) if !printable(s, 1, 64) => {
                Err(reject(field, "must be 1 to 64 printable ASCII characters"))
            }
            _ => Ok(()),
        };
        id(&self.remote_id_serial, "/identity/remote_id_serial")?;
        id(&self.sensor_object_id, "/identity/sensor_object_id")?;
        let operator_position = self
            .operator_position
            .map(|l| lla(&l, &pointer_push(base, "operator_position")))
            .transpose()?;
        let icao_address = self
            .icao_address
            .map(|s| {
                let ok = s.len() == 6 && s.bytes().all(|b| b.is_ascii_hexdigit());
                ok.then(|| u32::from_str_radix(&s, 16).ok())
                    .flatten()
                    .ok_or_else(|| {
                        reject(
                            "/identity/icao_address",
                            format!("{s:?} is not 6 hex digits"),
                        )
                    })
            })
            .transpose()?;
        let classification = self
            .classification
            .map(|c| {
                let c: WireClassification = de_obj(&c, "/identity/classification")?;
                if !is_class_label(&c.class) {
                    return Err(reject(
                        "/identity/classification/class",
                        format!("{:?} is not a dotted lower-case label", c.class),
                    ));
                }
                let confidence = in_range(
                    c.confidence,
                    0.0,
                    1.0,
                    "/identity/classification/confidence",
                )?;
                Ok(Classification {
                    class: c.class,
                    confidence,
                })
            })
            .transpose()?;
        let rf_emission = self
            .rf_emission
            .map(|rf| {
                let base = "/identity/rf_emission";
                let rf: WireRfEmission = de_obj(&rf, base)?;
                let centre_frequency_hz = in_range(
                    rf.centre_frequency_hz,
                    1.0,
                    1e12,
                    "/identity/rf_emission/centre_frequency_hz",
                )?;
                let bandwidth_hz = rf
                    .bandwidth_hz
                    .map(|b| positive(b, "/identity/rf_emission/bandwidth_hz"))
                    .transpose()?;
                let amplitude = rf
                    .amplitude
                    .map(|a| in_range(a, -1e6, 1e6, "/identity/rf_emission/amplitude"))
                    .transpose()?;
                Ok(RfEmission {
                    centre_frequency_hz,
                    bandwidth_hz,
                    amplitude,
                })
            })
            .transpose()?;
        Ok(IdentityHints {
            remote_id_serial: self.remote_id_serial,
            operator_position,
            icao_address,
            classification,
            sensor_object_id: self.sensor_object_id,
            rf_emission,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePosition {
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    position: Value,
    sigma_horizontal_m: f64,
    sigma_vertical_m: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRangeAzEl {
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    range_m: f64,
    az_deg: f64,
    el_deg: f64,
    sigma_range_m: f64,
    sigma_az_deg: f64,
    sigma_el_deg: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBearing {
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    az_deg: f64,
    sigma_az_deg: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireAzEl {
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    az_deg: f64,
    el_deg: f64,
    sigma_az_deg: f64,
    sigma_el_deg: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBearingDistance {
    #[serde(rename = "kind")]
    _kind: IgnoredAny,
    az_deg: f64,
    dist_m: f64,
    sigma_az_deg: f64,
    sigma_dist_rel: f64,
}

/// The measurement object: `kind` picks the variant (read first, so errors inside the
/// variant keep their path, which serde's internally tagged enums would lose).
fn measurement(value: &Value) -> Result<Measurement, Rejection> {
    const B: &str = "/measurement";
    let f = |name: &str| pointer_push(B, name);
    let obj = value
        .as_object()
        .ok_or_else(|| reject(B, "must be an object"))?;
    let kind = obj
        .get("kind")
        .ok_or_else(|| reject("/measurement/kind", "is a required property"))?;
    let m = match kind.as_str() {
        Some("position") => {
            let w: WirePosition = de(value, B)?;
            Measurement::Position {
                position: lla(&w.position, "/measurement/position")?,
                sigma_horizontal_m: positive(w.sigma_horizontal_m, &f("sigma_horizontal_m"))?,
                sigma_vertical_m: positive(w.sigma_vertical_m, &f("sigma_vertical_m"))?,
            }
        }
        Some("range_az_el") => {
            let w: WireRangeAzEl = de(value, B)?;
            Measurement::RangeAzEl {
                range_m: positive(w.range_m, &f("range_m"))?,
                az_deg: azimuth(w.az_deg, &f("az_deg"))?,
                el_deg: in_range(w.el_deg, -90.0, 90.0, &f("el_deg"))?,
                sigma_range_m: positive(w.sigma_range_m, &f("sigma_range_m"))?,
                sigma_az_deg: positive(w.sigma_az_deg, &f("sigma_az_deg"))?,
                sigma_el_deg: positive(w.sigma_el_deg, &f("sigma_el_deg"))?,
            }
        }
        Some("bearing") => {
            let w: WireBearing = de(value, B)?;
            Measurement::Bearing {
                az_deg: azimuth(w.az_deg, &f("az_deg"))?,
                sigma_az_deg: positive(w.sigma_az_deg, &f("sigma_az_deg"))?,
            }
        }
        Some("az_el") => {
            let w: WireAzEl = de(value, B)?;
            Measurement::AzEl {
                az_deg: azimuth(w.az_deg, &f("az_deg"))?,
                el_deg: in_range(w.el_deg, -90.0, 90.0, &f("el_deg"))?,
                sigma_az_deg: positive(w.sigma_az_deg, &f("sigma_az_deg"))?,
                sigma_el_deg: positive(w.sigma_el_deg, &f("sigma_el_deg"))?,
            }
        }
        Some("bearing_distance") => {
            let w: WireBearingDistance = de(value, B)?;
            Measurement::BearingDistance {
                az_deg: azimuth(w.az_deg, &f("az_deg"))?,
                dist_m: positive(w.dist_m, &f("dist_m"))?,
                sigma_az_deg: positive(w.sigma_az_deg, &f("sigma_az_deg"))?,
                sigma_dist_rel: positive(w.sigma_dist_rel, &f("sigma_dist_rel"))?,
            }
        }
        _ => {
            return Err(reject(
                "/measurement/kind",
                format!(
                    "{kind} is not one of position, range_az_el, bearing, az_el, bearing_distance"
                ),
            ));
        }
    };
    // The model's own invariants; the checks above are stricter, so this cannot fail.
    m.validate()
        .map_err(|name| reject(pointer_push(B, name), "invalid"))?;
    Ok(m)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDetection {
    v: Option<Value>,
    t: Value,
    sensor_id: String,
    sensor_kind: SensorKind,
    seq: Option<Value>,
    sensor_position: Option<Value>,
    measurement: Value,
    identity: Option<Value>,
}

fn detection(
    value: &Value,
    topic_sensor_id: Option<&str>,
    received: Received,
) -> Result<Observation, Rejection> {
    if let Some(path) = first_null(value, "") {
        return Err(reject(path, "null is not allowed here"));
    }
    let w: WireDetection = de_obj(value, "")?;
    version(w.v.as_ref())?;
    let t = time(&w.t, "/t")?;
    let sensor_id = sensor_id(&w.sensor_id, "/sensor_id", topic_sensor_id)?;
    let id = match &w.seq {
        None => received.id,
        Some(v) => v
            .as_number()
            .and_then(integer)
            .and_then(|i| u64::try_from(i).ok())
            .map(ObservationId)
            .ok_or_else(|| reject("/seq", format!("{v} is not an integer in 0..2^64")))?,
    };
    let sensor_position = w
        .sensor_position
        .map(|l| lla(&l, "/sensor_position"))
        .transpose()?;
    let measurement = measurement(&w.measurement)?;
    if measurement.needs_sensor_position() && sensor_position.is_none() {
        return Err(reject(
            "/sensor_position",
            "is a required property (the measurement is relative to the sensor)",
        ));
    }
    let identity = w
        .identity
        .map(|v| de_obj::<WireIdentity>(&v, "/identity").and_then(WireIdentity::check))
        .transpose()?;
    Ok(Observation {
        id,
        t,
        sensor_id,
        sensor_kind: w.sensor_kind,
        sensor_position,
        measurement,
        velocity: None,
        identity: identity.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireStatus {
    v: Option<Value>,
    t: Value,
    sensor_id: String,
    state: HealthState,
    position: Option<Value>,
    detail: Option<Vec<String>>,
}

fn status(value: &Value, topic_sensor_id: Option<&str>) -> Result<SensorHealth, Rejection> {
    if let Some(path) = first_null(value, "") {
        return Err(reject(path, "null is not allowed here"));
    }
    let w: WireStatus = de_obj(value, "")?;
    version(w.v.as_ref())?;
    let detail = w.detail.unwrap_or_default();
    if detail.len() > 32 {
        return Err(reject("/detail", "has more than 32 entries"));
    }
    if let Some(i) = detail.iter().position(|d| d.chars().count() > 512) {
        return Err(reject(
            format!("/detail/{i}"),
            "is longer than 512 characters",
        ));
    }
    Ok(SensorHealth {
        sensor_id: sensor_id(&w.sensor_id, "/sensor_id", topic_sensor_id)?,
        t: time(&w.t, "/t")?,
        state: w.state,
        position: w.position.map(|l| lla(&l, "/position")).transpose()?,
        detail,
    })
}

#[derive(Deserialize)]
struct WireFlat {
    lat: f64,
    lon: f64,
    alt: f64,
    t: Option<f64>,
    observed_at: Option<f64>,
    id: Option<String>,
    pilot_lat: Option<f64>,
    pilot_lon: Option<f64>,
    pilot_alt: Option<f64>,
    height: Option<f64>,
    gps_accuracy: Option<f64>,
}

fn flat_time(secs: Option<f64>, field: &str) -> Result<Option<TimeNs>, Rejection> {
    secs.map(|s| {
        let s = in_range(s, MIN_T_UNIX_S, MAX_T_UNIX_S, field)?;
        Ok(TimeNs((s * 1e9).round() as i64))
    })
    .transpose()
}

/// Flat receiver JSON (dronecot / DragonSync style). Unknown fields are ignored.
fn remoteid_flat(
    value: &Value,
    topic_sensor_id: Option<&str>,
    received: Received,
    options: &Options,
) -> Result<Observation, Rejection> {
    if let Some(tt) = value.get("track_type")
        && tt != "drone"
    {
        return Err(reject("/track_type", format!("{tt} is not \"drone\"")));
    }
    let w: WireFlat = de_obj(value, "")?;
    let lat = in_range(w.lat, -90.0, 90.0, "/lat")?;
    let lon = in_range(w.lon, -180.0, 180.0, "/lon")?;
    if lat == 0.0 && lon == 0.0 {
        return Err(reject(
            "/lon",
            "lat and lon both 0: the receiver has no fix",
        ));
    }
    if w.alt <= RID_ALT_UNKNOWN_M {
        return Err(reject(
            "/alt",
            format!(
                "{} is F3411's unknown altitude or below; a position needs a height",
                w.alt
            ),
        ));
    }
    let alt = in_range(w.alt, H_MIN_M, H_MAX_M, "/alt")?;
    let t = match flat_time(w.t, "/t")? {
        Some(t) => t,
        None => flat_time(w.observed_at, "/observed_at")?.unwrap_or(received.at),
    };
    if let Some(s) = &w.id
        && !printable(s, 0, 64)
    {
        return Err(reject("/id", "must be up to 64 printable ASCII characters"));
    }
    let pilot_lat = w
        .pilot_lat
        .map(|v| in_range(v, -90.0, 90.0, "/pilot_lat"))
        .transpose()?;
    let pilot_lon = w
        .pilot_lon
        .map(|v| in_range(v, -180.0, 180.0, "/pilot_lon"))
        .transpose()?;
    let pilot_alt = w
        .pilot_alt
        .map(|v| in_range(v, H_MIN_M, H_MAX_M, "/pilot_alt"))
        .transpose()?;
    let height = w
        .height
        .map(|v| in_range(v, H_MIN_M, H_MAX_M, "/height"))
        .transpose()?;
    let gps_accuracy = w
        .gps_accuracy
        .map(|v| in_range(v, 0.0, f64::MAX, "/gps_accuracy"))
        .transpose()?;
    let sensor_id = topic_sensor_id.ok_or_else(|| {
        reject(
            "topic",
            "flat Remote ID messages take their sensor id from the topic",
        )
    })?;
    let sensor_id = sensor_id_from_topic(sensor_id)?;

    // The operator's height is rarely sent: fall back to the ground under the drone.
    let operator_position = match (pilot_lat, pilot_lon) {
        (Some(la), Some(lo)) if la != 0.0 || lo != 0.0 => {
            let h_m = pilot_alt.unwrap_or(alt - height.unwrap_or(0.0));
            Some(Lla::new(la, lo, h_m)).filter(Lla::is_valid)
        }
        _ => None,
    };
    // F3411 accuracy categories are 95 % bounds; one sigma is about half.
    let sigma_horizontal_m = gps_accuracy
        .filter(|a| *a > 0.0)
        .map_or(options.remoteid_sigma_horizontal_m, |a| a / 2.0);
    let measurement = Measurement::Position {
        position: Lla::new(lat, lon, alt),
        sigma_horizontal_m,
        sigma_vertical_m: options.remoteid_sigma_vertical_m,
    };
    measurement
        .validate()
        .map_err(|name| reject(name, "invalid"))?;
    Ok(Observation {
        id: received.id,
        t,
        sensor_id,
        sensor_kind: SensorKind::RemoteId,
        sensor_position: None,
        measurement,
        velocity: None,
        identity: IdentityHints {
            remote_id_serial: w.id.filter(|s| !s.trim().is_empty()),
            operator_position,
            ..IdentityHints::default()
        },
    })
}

fn sensor_id_from_topic(id: &str) -> Result<SensorId, Rejection> {
    if is_valid_id(id) {
        Ok(SensorId::new(id))
    } else {
        Err(reject(
            "topic",
            format!("sensor id {id:?} is not a valid id"),
        ))
    }
}

/// Maps a JSON message of the given kind to a model value **without** the schema. The
/// topic's sensor id, when given, must equal the message's (detections, status) or supplies
/// it (flat Remote ID, which has none).
pub fn map_value(
    kind: MessageKind,
    value: &Value,
    topic_sensor_id: Option<&str>,
    received: Received,
    options: &Options,
) -> Result<SensorMessage, Rejection> {
    match kind {
        MessageKind::Detection => {
            detection(value, topic_sensor_id, received).map(SensorMessage::Observation)
        }
        MessageKind::Status => status(value, topic_sensor_id).map(SensorMessage::Health),
        MessageKind::RemoteIdFlat => {
            remoteid_flat(value, topic_sensor_id, received, options).map(SensorMessage::Observation)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_shape_accepts_the_grammar_and_nothing_wider() {
        for ok in [
            "2026-11-25T10:15:30Z",
            "2026-11-25t10:15:30z",
            "2026-11-25T10:15:30.123456789Z",
            "2026-11-25T10:15:30+02:00",
            "2026-11-25T10:15:30.5-07:30",
        ] {
            assert!(is_rfc3339_shape(ok), "{ok}");
        }
        for bad in [
            "2026-11-25 10:15:30Z",
            "2026-11-25T10:15:30",
            "2026-11-25T10:15Z",
            "2026-11-25T10:15:30.Z",
            "2026-11-25T10:15:30+0200",
            "2026-11-25T10:15:30+02",
            "2026-11-25T10:15:30Z[UTC]",
            "20261125T101530Z",
            "",
        ] {
            assert!(!is_rfc3339_shape(bad), "{bad}");
        }
    }

    #[test]
    fn integers_include_integral_floats_only() {
        let n = |s: &str| serde_json::from_str::<Number>(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(integer(&n("5")), Some(5));
        assert_eq!(integer(&n("5.0")), Some(5));
        assert_eq!(integer(&n("-3")), Some(-3));
        assert_eq!(
            integer(&n("18446744073709551615")),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(integer(&n("5.5")), None);
        assert_eq!(integer(&n("1e300")), None);
    }

    #[test]
    fn string_and_integer_times_agree_and_offsets_are_applied() {
        let utc = time(&Value::from("2026-11-25T10:15:30.25Z"), "/t");
        let plus2 = time(&Value::from("2026-11-25T12:15:30.25+02:00"), "/t");
        assert_eq!(utc, plus2);
        // 1795601730250000000: Python's datetime(2026,11,25,10,15,30,250000,UTC).timestamp().
        assert_eq!(utc, Ok(TimeNs(1_795_601_730_250_000_000)));
        assert_eq!(time(&Value::from(1_795_601_730_250_000_000_i64), "/t"), utc);
    }

    #[test]
    fn serde_errors_name_the_nested_field() {
        let v = serde_json::json!({"lat_deg": 1.0, "lon_deg": "x", "h_m": 0.0});
        let err = de::<WireLla>(&v, "/sensor_position").err();
        assert_eq!(
            err.as_ref().map(Rejection::field),
            Some("/sensor_position/lon_deg")
        );
        let v = serde_json::json!({"lat_deg": 1.0, "h_m": 0.0});
        let err = de::<WireLla>(&v, "/p").err();
        assert_eq!(err.as_ref().map(Rejection::field), Some("/p/lon_deg"));
        let v = serde_json::json!({"lat_deg": 1.0, "lon_deg": 2.0, "h_m": 0.0, "alt": 1});
        let err = de::<WireLla>(&v, "/p").err();
        assert_eq!(err.as_ref().map(Rejection::field), Some("/p/alt"));
    }
}
