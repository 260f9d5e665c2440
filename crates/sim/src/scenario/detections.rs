//! `detections.jsonl`: one detection per line, turned into model [`Observation`]s.
//!
//! Each line is deserialized with a hand-written serde visitor into a borrowed struct whose
//! type-specific fields are all optional (unknown keys are skipped), so that a wrong JSON
//! type is reported with the name of its field ("expected a number for `t`") and the common
//! case allocates only the sensor id (and the Remote ID serial).

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{FormatError, LineError};

/// Parses one `detections.jsonl` line into an [`Observation`].
///
/// `t` becomes `epoch.plus_secs(t)`, `det_id` the [`ObservationId`], `sensor_lla` the
/// sensor position. The measurement follows `sensor_type`: `radar` → [`Measurement::RangeAzEl`],
/// `rf_df` → [`Measurement::Bearing`], `acoustic` → [`Measurement::AzEl`], `remote_id` →
/// [`Measurement::Position`] (from `lat_deg`, `lon_deg`, `alt_m`, `sigma_h_m`, `sigma_v_m`,
/// with `serial` as [`IdentityHints::remote_id_serial`]), `agent` →
/// [`Measurement::BearingDistance`]. Relative measurements require `sensor_lla`; the result
/// passes [`Measurement::validate`]. Unknown keys are ignored; a `null` value counts as
/// absent. Errors name the field at fault.
pub fn parse_detection_line(line: &str, epoch: TimeNs) -> Result<Observation, LineError> {
    let raw: RawDetection<'_> = serde_json::from_str(line)?;
    raw.into_observation(epoch)
}

/// Streams `detections.jsonl`, yielding `(line_no, result)` for every non-blank line, with
/// 1-based physical line numbers.
///
/// A bad line yields its error (a [`FormatError::Line`] naming the line and field) and the
/// stream goes on with the next line. An I/O error is yielded once, as
/// [`FormatError::Read`], and ends the stream.
#[derive(Debug)]
pub struct DetectionReader<R> {
    reader: R,
    epoch: TimeNs,
    buf: Vec<u8>,
    line_no: u64,
    done: bool,
}

impl<R: BufRead> DetectionReader<R> {
    pub fn new(reader: R, epoch: TimeNs) -> Self {
        Self {
            reader,
            epoch,
            buf: Vec::with_capacity(512),
            line_no: 0,
            done: false,
        }
    }

    /// The number of the last line read (0 before the first).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl DetectionReader<BufReader<File>> {
    /// Opens a `detections.jsonl` file for streaming.
    pub fn open(path: &Path, epoch: TimeNs) -> Result<Self, FormatError> {
        let file = File::open(path).map_err(|source| FormatError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::new(BufReader::with_capacity(1 << 18, file), epoch))
    }
}

impl<R: BufRead> Iterator for DetectionReader<R> {
    type Item = (u64, Result<Observation, FormatError>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.buf.clear();
            let read = self.reader.read_until(b'\n', &mut self.buf);
            let line_no = self.line_no + 1;
            match read {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no = line_no;
                    if self.buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let result = std::str::from_utf8(&self.buf)
                        .map_err(LineError::from)
                        .and_then(|line| parse_detection_line(line, self.epoch))
                        .map_err(|source| FormatError::Line { line_no, source });
                    return Some((line_no, result));
                }
                Err(source) => {
                    self.done = true;
                    self.line_no = line_no;
                    return Some((line_no, Err(FormatError::Read { line_no, source })));
                }
            }
        }
        None
    }
}

/// Times beyond this many seconds from the epoch are rejected (TimeNs spans ±292 years).
const MAX_ABS_T_S: f64 = 9.0e9;

fn time_of(epoch: TimeNs, t: f64) -> Result<TimeNs, LineError> {
    let out_of_range = LineError::BadField {
        field: "t",
        reason: "is out of range",
    };
    if !t.is_finite() || t.abs() > MAX_ABS_T_S {
        return Err(out_of_range);
    }
    // The same rounding as `TimeNs::plus_secs`, without its overflow.
    let ns = (t * TimeNs::NS_PER_S as f64).round() as i64;
    epoch.0.checked_add(ns).map(TimeNs).ok_or(out_of_range)
}

/// The wire name of a field that `Measurement::validate` rejected, and why.
fn wire_field(model_field: &'static str) -> (&'static str, &'static str) {
    let field = match model_field {
        "sigma_horizontal_m" => "sigma_h_m",
        "sigma_vertical_m" => "sigma_v_m",
        "position" => "lat_deg",
        f => f,
    };
    let reason = match field {
        "el_deg" | "lat_deg" => "must be finite and in [-90, 90]",
        f if f.starts_with("sigma_") => "must be positive",
        "range_m" | "dist_m" => "must be positive",
        _ => "must be finite",
    };
    (field, reason)
}

#[derive(Default)]
struct RawDetection<'a> {
    det_id: Option<u64>,
    t: Option<f64>,
    sensor_id: Option<Cow<'a, str>>,
    sensor_type: Option<Cow<'a, str>>,
    sensor_lla: Option<[f64; 3]>,
    range_m: Option<f64>,
    az_deg: Option<f64>,
    el_deg: Option<f64>,
    sigma_range_m: Option<f64>,
    sigma_az_deg: Option<f64>,
    sigma_el_deg: Option<f64>,
    lat_deg: Option<f64>,
    lon_deg: Option<f64>,
    alt_m: Option<f64>,
    serial: Option<Cow<'a, str>>,
    sigma_h_m: Option<f64>,
    sigma_v_m: Option<f64>,
    dist_m: Option<f64>,
    sigma_dist_rel: Option<f64>,
}

impl RawDetection<'_> {
    fn into_observation(self, epoch: TimeNs) -> Result<Observation, LineError> {
        let missing = |field| LineError::MissingField {
            field,
            sensor_type: None,
        };
        let sensor_type = self.sensor_type.ok_or_else(|| missing("sensor_type"))?;
        let (kind, wire): (SensorKind, &'static str) = match &*sensor_type {
            "radar" => (SensorKind::Radar, "radar"),
            "rf_df" => (SensorKind::RfDf, "rf_df"),
            "acoustic" => (SensorKind::Acoustic, "acoustic"),
            "remote_id" => (SensorKind::RemoteId, "remote_id"),
            "agent" => (SensorKind::Agent, "agent"),
            other => return Err(LineError::UnknownSensorType(other.to_owned())),
        };
        let det_id = self.det_id.ok_or_else(|| missing("det_id"))?;
        let t = time_of(epoch, self.t.ok_or_else(|| missing("t"))?)?;
        let sensor_id = self.sensor_id.ok_or_else(|| missing("sensor_id"))?;
        if sensor_id.is_empty() {
            return Err(LineError::BadField {
                field: "sensor_id",
                reason: "must not be empty",
            });
        }
        let sensor_position = match self.sensor_lla {
            None => None,
            Some([lat, lon, h]) => {
                let lla = Lla::new(lat, lon, h);
                if !lla.is_valid() {
                    return Err(LineError::BadField {
                        field: "sensor_lla",
                        reason: "must be [lat_deg, lon_deg, h_m] with lat_deg in [-90, 90]",
                    });
                }
                Some(lla)
            }
        };

        let req = |v: Option<f64>, field: &'static str| {
            v.ok_or(LineError::MissingField {
                field,
                sensor_type: Some(wire),
            })
        };
        let mut identity = IdentityHints::default();
        let measurement = match kind {
            SensorKind::Radar => Measurement::RangeAzEl {
                range_m: req(self.range_m, "range_m")?,
                az_deg: req(self.az_deg, "az_deg")?,
                el_deg: req(self.el_deg, "el_deg")?,
                sigma_range_m: req(self.sigma_range_m, "sigma_range_m")?,
                sigma_az_deg: req(self.sigma_az_deg, "sigma_az_deg")?,
                sigma_el_deg: req(self.sigma_el_deg, "sigma_el_deg")?,
            },
            SensorKind::RfDf => Measurement::Bearing {
                az_deg: req(self.az_deg, "az_deg")?,
                sigma_az_deg: req(self.sigma_az_deg, "sigma_az_deg")?,
            },
            SensorKind::Acoustic => Measurement::AzEl {
                az_deg: req(self.az_deg, "az_deg")?,
                el_deg: req(self.el_deg, "el_deg")?,
                sigma_az_deg: req(self.sigma_az_deg, "sigma_az_deg")?,
                sigma_el_deg: req(self.sigma_el_deg, "sigma_el_deg")?,
            },
            SensorKind::RemoteId => {
                let lat_deg = req(self.lat_deg, "lat_deg")?;
                let lon_deg = req(self.lon_deg, "lon_deg")?;
                let h_m = req(self.alt_m, "alt_m")?;
                if !(-90.0..=90.0).contains(&lat_deg) {
                    return Err(LineError::BadField {
                        field: "lat_deg",
                        reason: "must be finite and in [-90, 90]",
                    });
                }
                identity.remote_id_serial = self.serial.map(Cow::into_owned);
                Measurement::Position {
                    position: Lla {
                        lat_deg,
                        lon_deg,
                        h_m,
                    },
                    sigma_horizontal_m: req(self.sigma_h_m, "sigma_h_m")?,
                    sigma_vertical_m: req(self.sigma_v_m, "sigma_v_m")?,
                }
            }
            _ => Measurement::BearingDistance {
                az_deg: req(self.az_deg, "az_deg")?,
                dist_m: req(self.dist_m, "dist_m")?,
                sigma_az_deg: req(self.sigma_az_deg, "sigma_az_deg")?,
                sigma_dist_rel: req(self.sigma_dist_rel, "sigma_dist_rel")?,
            },
        };
        if measurement.needs_sensor_position() && sensor_position.is_none() {
            return Err(LineError::MissingField {
                field: "sensor_lla",
                sensor_type: Some(wire),
            });
        }
        measurement.validate().map_err(|f| {
            let (field, reason) = wire_field(f);
            LineError::BadField { field, reason }
        })?;
        Ok(Observation {
            id: ObservationId(det_id),
            t,
            sensor_id: SensorId(sensor_id.into_owned()),
            sensor_kind: kind,
            sensor_position,
            measurement,
            velocity: None,
            identity,
        })
    }
}

// ---------------------------------------------------------------------------------------
// serde plumbing: a field-naming visitor for the detection object.

enum Key {
    DetId,
    T,
    SensorId,
    SensorType,
    SensorLla,
    RangeM,
    AzDeg,
    ElDeg,
    SigmaRangeM,
    SigmaAzDeg,
    SigmaElDeg,
    LatDeg,
    LonDeg,
    AltM,
    Serial,
    SigmaHM,
    SigmaVM,
    DistM,
    SigmaDistRel,
    Other,
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "det_id" => Key::DetId,
            "t" => Key::T,
            "sensor_id" => Key::SensorId,
            "sensor_type" => Key::SensorType,
            "sensor_lla" => Key::SensorLla,
            "range_m" => Key::RangeM,
            "az_deg" => Key::AzDeg,
            "el_deg" => Key::ElDeg,
            "sigma_range_m" => Key::SigmaRangeM,
            "sigma_az_deg" => Key::SigmaAzDeg,
            "sigma_el_deg" => Key::SigmaElDeg,
            "lat_deg" => Key::LatDeg,
            "lon_deg" => Key::LonDeg,
            "alt_m" => Key::AltM,
            "serial" => Key::Serial,
            "sigma_h_m" => Key::SigmaHM,
            "sigma_v_m" => Key::SigmaVM,
            "dist_m" => Key::DistM,
            "sigma_dist_rel" => Key::SigmaDistRel,
            _ => Key::Other,
        })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

/// A non-null number; the field name goes into the "expected" part of type errors.
#[derive(Clone, Copy)]
struct Num(&'static str);

impl Visitor<'_> for Num {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number for `{}`", self.0)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
}

impl<'de> DeserializeSeed<'de> for Num {
    type Value = f64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_f64(self)
    }
}

/// A non-negative integer.
struct Id(&'static str);

impl Visitor<'_> for Id {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a non-negative integer for `{}`", self.0)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
}

/// A string, borrowed from the input when it has no escapes.
struct Str(&'static str);

impl<'de> Visitor<'de> for Str {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string for `{}`", self.0)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// An array of exactly three numbers.
struct Arr3(&'static str);

impl<'de> Visitor<'de> for Arr3 {
    type Value = [f64; 3];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of 3 numbers for `{}`", self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[f64; 3], A::Error> {
        let mut out = [0.0; 3];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = seq
                .next_element_seed(Num(self.0))?
                .ok_or_else(|| de::Error::invalid_length(i, &self))?;
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(4, &self));
        }
        Ok(out)
    }
}

/// `null` or absent → `None`, otherwise the inner visitor's value.
struct Opt<V>(V);

macro_rules! opt_seed {
    ($inner:ty, $value:ty, $method:ident) => {
        impl<'de> DeserializeSeed<'de> for Opt<$inner> {
            type Value = Option<$value>;

            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_option(self)
            }
        }

        impl<'de> Visitor<'de> for Opt<$inner> {
            type Value = Option<$value>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.expecting(f)?;
                f.write_str(" or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.$method(self.0).map(Some)
            }
        }
    };
}

opt_seed!(Num, f64, deserialize_f64);
opt_seed!(Id, u64, deserialize_u64);
opt_seed!(Str, Cow<'de, str>, deserialize_str);
opt_seed!(Arr3, [f64; 3], deserialize_seq);

struct DetectionVisitor;

impl<'de> Visitor<'de> for DetectionVisitor {
    type Value = RawDetection<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a detection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut d = RawDetection::default();
        macro_rules! take {
            ($slot:ident, $seed:ident) => {{
                if d.$slot.is_some() {
                    return Err(de::Error::duplicate_field(stringify!($slot)));
                }
                d.$slot = map.next_value_seed(Opt($seed(stringify!($slot))))?;
            }};
        }
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::DetId => take!(det_id, Id),
                Key::T => take!(t, Num),
                Key::SensorId => take!(sensor_id, Str),
                Key::SensorType => take!(sensor_type, Str),
                Key::SensorLla => take!(sensor_lla, Arr3),
                Key::RangeM => take!(range_m, Num),
                Key::AzDeg => take!(az_deg, Num),
                Key::ElDeg => take!(el_deg, Num),
                Key::SigmaRangeM => take!(sigma_range_m, Num),
                Key::SigmaAzDeg => take!(sigma_az_deg, Num),
                Key::SigmaElDeg => take!(sigma_el_deg, Num),
                Key::LatDeg => take!(lat_deg, Num),
                Key::LonDeg => take!(lon_deg, Num),
                Key::AltM => take!(alt_m, Num),
                Key::Serial => take!(serial, Str),
                Key::SigmaHM => take!(sigma_h_m, Num),
                Key::SigmaVM => take!(sigma_v_m, Num),
                Key::DistM => take!(dist_m, Num),
                Key::SigmaDistRel => take!(sigma_dist_rel, Num),
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(d)
    }
}

impl<'de> Deserialize<'de> for RawDetection<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DetectionVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    use proptest::prelude::*;

    /// 2025-06-01T12:00:00Z
    const EPOCH: TimeNs = TimeNs(1_748_779_200 * TimeNs::NS_PER_S);

    // From FORMAT.md.
    const DOC_RADAR: &str = r#"{"det_id": 0, "t": 0.0, "sensor_id": "radar-1", "sensor_type": "radar", "sensor_enu": [0.0, 0.0, 10.0], "sensor_lla": [51.2, -1.8, 110.0], "az_deg": 52.62763, "sigma_az_deg": 0.5, "el_deg": 4.37903, "sigma_el_deg": 1.0, "range_m": 3183.916, "sigma_range_m": 5.0}"#;
    const DOC_RID: &str = r#"{"det_id": 67, "t": 0.2, "sensor_id": "rid-1", "sensor_type": "remote_id", "sensor_enu": [0.0, 0.0, 5.0], "sensor_lla": [51.2, -1.8, 105.0], "lat_deg": 51.224744658, "lon_deg": -1.766926803, "alt_m": 235.335, "serial": "1596F2JTC4MF7EF", "sigma_h_m": 6.4, "sigma_v_m": 6.4}"#;
    // From generated scenarios (small-1, large-1).
    const GEN_RFDF: &str = r#"{"det_id": 16, "t": 0.2, "sensor_id": "rfdf-1", "sensor_type": "rf_df", "sensor_enu": [1060.66, 1060.66, 5.0], "sensor_lla": [51.209532693, -1.784822168, 105.176], "az_deg": 269.41232, "sigma_az_deg": 2.0}"#;
    const GEN_ACOUSTIC: &str = r#"{"det_id": 141, "t": 6.6, "sensor_id": "acoustic-1", "sensor_type": "acoustic", "sensor_enu": [-587.79, -809.02, 2.0], "sensor_lla": [51.192727857, -1.808408101, 102.078], "az_deg": 252.58858, "sigma_az_deg": 5.0, "el_deg": 14.44339, "sigma_el_deg": 5.0}"#;
    const GEN_AGENT: &str = r#"{"det_id": 2565, "t": 1.9, "sensor_id": "agent-1", "sensor_type": "agent", "sensor_enu": [44.18, 1511.2, 1.7], "sensor_lla": [51.213583334, -1.799367807, 101.879], "az_deg": 228.576, "sigma_az_deg": 10.0, "dist_m": 527.6, "sigma_dist_rel": 0.3}"#;

    const ALL: [&str; 5] = [DOC_RADAR, DOC_RID, GEN_RFDF, GEN_ACOUSTIC, GEN_AGENT];

    fn ok(line: &str) -> Observation {
        parse_detection_line(line, EPOCH).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    fn err(line: &str) -> LineError {
        match parse_detection_line(line, EPOCH) {
            Ok(o) => panic!("expected an error for {line}, got {o:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn radar_line() {
        let o = ok(DOC_RADAR);
        assert_eq!(o.id, ObservationId(0));
        assert_eq!(o.t, EPOCH);
        assert_eq!(o.sensor_id, SensorId::new("radar-1"));
        assert_eq!(o.sensor_kind, SensorKind::Radar);
        assert_eq!(o.sensor_position, Some(Lla::new(51.2, -1.8, 110.0)));
        assert_eq!(
            o.measurement,
            Measurement::RangeAzEl {
                range_m: 3183.916,
                az_deg: 52.62763,
                el_deg: 4.37903,
                sigma_range_m: 5.0,
                sigma_az_deg: 0.5,
                sigma_el_deg: 1.0,
            }
        );
        assert!(o.identity.is_empty());
    }

    #[test]
    fn remote_id_line() {
        let o = ok(DOC_RID);
        assert_eq!(o.id, ObservationId(67));
        assert_eq!(o.t, TimeNs(EPOCH.0 + 200_000_000));
        assert_eq!(o.t, EPOCH.plus_secs(0.2));
        assert_eq!(o.sensor_kind, SensorKind::RemoteId);
        assert_eq!(o.sensor_position, Some(Lla::new(51.2, -1.8, 105.0)));
        assert_eq!(
            o.measurement,
            Measurement::Position {
                position: Lla::new(51.224744658, -1.766926803, 235.335),
                sigma_horizontal_m: 6.4,
                sigma_vertical_m: 6.4,
            }
        );
        assert_eq!(
            o.identity.remote_id_serial.as_deref(),
            Some("1596F2JTC4MF7EF")
        );
    }

    #[test]
    fn rf_df_acoustic_and_agent_lines() {
        let o = ok(GEN_RFDF);
        assert_eq!(o.sensor_kind, SensorKind::RfDf);
        assert_eq!(
            o.measurement,
            Measurement::Bearing {
                az_deg: 269.41232,
                sigma_az_deg: 2.0
            }
        );
        assert_eq!(
            o.sensor_position,
            Some(Lla::new(51.209532693, -1.784822168, 105.176))
        );

        let o = ok(GEN_ACOUSTIC);
        assert_eq!(o.sensor_kind, SensorKind::Acoustic);
        assert_eq!(o.t, EPOCH.plus_secs(6.6));
        assert_eq!(
            o.measurement,
            Measurement::AzEl {
                az_deg: 252.58858,
                el_deg: 14.44339,
                sigma_az_deg: 5.0,
                sigma_el_deg: 5.0
            }
        );

        let o = ok(GEN_AGENT);
        assert_eq!(o.sensor_kind, SensorKind::Agent);
        assert_eq!(o.sensor_id.as_str(), "agent-1");
        assert_eq!(o.id, ObservationId(2565));
        assert_eq!(
            o.measurement,
            Measurement::BearingDistance {
                az_deg: 228.576,
                dist_m: 527.6,
                sigma_az_deg: 10.0,
                sigma_dist_rel: 0.3
            }
        );
    }

    #[test]
    fn unknown_keys_escapes_nulls_and_key_order() {
        let line = r#"{"future": {"a": [1, {"b": null}]}, "sigma_az_deg": 2, "az_deg": 10,
            "t": 3, "sensor_type": "rf_df", "sensor_id": "rf\u0064f-\"9\"", "det_id": 5,
            "sensor_lla": [51.2, -1.8, 1e2], "range_m": null, "serial": null, "x": "y"}"#;
        let o = ok(line);
        assert_eq!(o.sensor_id.as_str(), "rfdf-\"9\"");
        assert_eq!(o.t, EPOCH.plus_secs(3.0));
        assert_eq!(
            o.measurement,
            Measurement::Bearing {
                az_deg: 10.0,
                sigma_az_deg: 2.0
            }
        );
        assert_eq!(o.sensor_position, Some(Lla::new(51.2, -1.8, 100.0)));
    }

    #[test]
    fn remote_id_needs_no_sensor_position_nor_serial() {
        let line = DOC_RID
            .replace(r#""sensor_lla": [51.2, -1.8, 105.0], "#, "")
            .replace(r#""serial": "1596F2JTC4MF7EF", "#, "");
        let o = ok(&line);
        assert_eq!(o.sensor_position, None);
        assert_eq!(o.identity.remote_id_serial, None);
    }

    #[test]
    fn missing_type_field_is_named_with_the_type() {
        let line = DOC_RADAR.replace(r#", "range_m": 3183.916"#, "");
        let e = err(&line);
        assert_eq!(e.field(), Some("range_m"));
        assert_eq!(
            e.to_string(),
            "field `range_m` missing for a radar detection"
        );
        let wrapped = FormatError::Line {
            line_no: 17,
            source: e,
        };
        assert_eq!(
            wrapped.to_string(),
            "line 17: field `range_m` missing for a radar detection"
        );

        let e = err(&GEN_AGENT.replace(r#""dist_m": 527.6"#, r#""dist_m": null"#));
        assert_eq!(
            e.to_string(),
            "field `dist_m` missing for an agent detection"
        );

        let e = err(&GEN_ACOUSTIC.replace("sensor_lla", "sensor_llx"));
        assert_eq!(
            e.to_string(),
            "field `sensor_lla` missing for an acoustic detection"
        );

        let e = err(&DOC_RID.replace("sigma_v_m", "sigma_vm"));
        assert_eq!(
            e.to_string(),
            "field `sigma_v_m` missing for a remote_id detection"
        );
    }

    #[test]
    fn missing_common_fields() {
        for field in ["det_id", "t", "sensor_id", "sensor_type"] {
            let line = GEN_RFDF.replace(&format!("\"{field}\""), "\"renamed\"");
            let e = err(&line);
            assert_eq!(e.to_string(), format!("field `{field}` missing"));
        }
    }

    #[test]
    fn wrong_json_types_name_the_field() {
        let e = err(&GEN_RFDF.replace(r#""t": 0.2"#, r#""t": "0.2""#));
        assert!(matches!(e, LineError::Json(_)));
        let msg = e.to_string();
        assert!(msg.contains("expected a number for `t`"), "{msg}");
        assert!(msg.contains("column"), "{msg}");

        let msg = err(&GEN_RFDF.replace(r#""det_id": 16"#, r#""det_id": -16"#)).to_string();
        assert!(msg.contains("`det_id`"), "{msg}");
        let msg = err(&GEN_RFDF.replace(r#""det_id": 16"#, r#""det_id": 1.5"#)).to_string();
        assert!(msg.contains("`det_id`"), "{msg}");
        let msg = err(&GEN_RFDF.replace(r#""rfdf-1""#, "7")).to_string();
        assert!(msg.contains("a string for `sensor_id`"), "{msg}");
        let msg = err(&GEN_RFDF.replace("[51.209532693, ", "[")).to_string();
        assert!(msg.contains("array of 3 numbers for `sensor_lla`"), "{msg}");
        let msg = err(&GEN_RFDF.replace("105.176]", "105.176, 1]")).to_string();
        assert!(msg.contains("array of 3 numbers for `sensor_lla`"), "{msg}");
        let msg = err(&GEN_RFDF.replace(r#""az_deg": 269.41232"#, r#""az_deg": [1]"#));
        assert!(msg.to_string().contains("`az_deg`"), "{msg}");
        let msg = err(&GEN_RFDF.replace(r#""t": 0.2, "#, r#""t": 0.2, "t": 0.3, "#)).to_string();
        assert!(msg.contains("duplicate field `t`"), "{msg}");
    }

    #[test]
    fn nan_like_and_out_of_domain_values() {
        for bad in ["NaN", "nan", "Infinity", "-Infinity", "1e999", "\"NaN\""] {
            let e = err(&GEN_RFDF.replace("269.41232", bad));
            assert!(matches!(e, LineError::Json(_)), "{bad}: {e}");
        }
        let e = err(&DOC_RADAR.replace(r#""sigma_az_deg": 0.5"#, r#""sigma_az_deg": 0"#));
        assert_eq!(e.to_string(), "field `sigma_az_deg` must be positive");
        let e = err(&DOC_RADAR.replace("3183.916", "-3"));
        assert_eq!(e.field(), Some("range_m"));
        let e = err(&DOC_RADAR.replace("4.37903", "95"));
        assert_eq!(e.field(), Some("el_deg"));
        let e = err(&DOC_RID.replace("51.224744658", "91.5"));
        assert_eq!(e.field(), Some("lat_deg"));
        let e = err(&DOC_RID.replace(r#""sigma_h_m": 6.4"#, r#""sigma_h_m": -6.4"#));
        assert_eq!(e.field(), Some("sigma_h_m"));
        let e = err(&GEN_AGENT.replace("527.6", "0"));
        assert_eq!(e.field(), Some("dist_m"));
        let e = err(&GEN_RFDF.replace("[51.209532693", "[-95"));
        assert_eq!(e.field(), Some("sensor_lla"));
        let e = err(&GEN_RFDF.replace(r#""t": 0.2"#, r#""t": 1e300"#));
        assert_eq!(e.field(), Some("t"));
        let e = err(&GEN_RFDF.replace(r#""t": 0.2"#, r#""t": 8.9e9"#));
        assert_eq!(e.field(), Some("t"));
        let e = err(&GEN_RFDF.replace(r#""rfdf-1""#, r#""""#));
        assert_eq!(e.field(), Some("sensor_id"));
    }

    #[test]
    fn negative_times_are_allowed() {
        let o = ok(&GEN_RFDF.replace(r#""t": 0.2"#, r#""t": -1.5"#));
        assert_eq!(o.t, TimeNs(EPOCH.0 - 1_500_000_000));
    }

    #[test]
    fn unknown_sensor_type() {
        let e = err(&GEN_RFDF.replace(r#""rf_df""#, r#""lidar""#));
        assert!(matches!(&e, LineError::UnknownSensorType(s) if s == "lidar"));
        assert_eq!(e.to_string(), "unknown sensor_type `lidar`");
    }

    #[test]
    fn truncated_and_non_object_json() {
        for cut in [1, 10, DOC_RADAR.len() / 2, DOC_RADAR.len() - 1] {
            let e = err(&DOC_RADAR[..cut]);
            assert!(matches!(e, LineError::Json(_)), "{cut}: {e}");
        }
        for line in [
            "",
            "[]",
            "null",
            "3",
            "\"x\"",
            "{}}",
            "{} {}",
            "{\"det_id\": 0,}",
        ] {
            let e = err(line);
            assert!(
                matches!(e, LineError::Json(_) | LineError::MissingField { .. }),
                "{line}: {e}"
            );
        }
        // Trailing whitespace (and a CR from a CRLF file) is fine.
        ok(&format!("{GEN_RFDF} \r\n"));
    }

    #[test]
    fn reader_yields_line_numbers_and_continues_after_bad_lines() {
        let text = format!(
            "{DOC_RADAR}\n\n{}\n{GEN_RFDF}\r\n   \n{{\"det_id\": 3, \"t\": \n{GEN_AGENT}",
            DOC_RID.replace(r#""alt_m": 235.335, "#, "")
        );
        let got: Vec<_> = DetectionReader::new(Cursor::new(text), EPOCH).collect();
        let summary: Vec<_> = got
            .iter()
            .map(|(n, r)| (*n, r.as_ref().map(|o| o.id.0).map_err(|e| e.to_string())))
            .collect();
        assert_eq!(summary.len(), 5, "{summary:?}");
        assert_eq!(summary[0], (1, Ok(0)));
        assert_eq!(
            summary[1],
            (
                3,
                Err("line 3: field `alt_m` missing for a remote_id detection".into())
            )
        );
        assert_eq!(summary[2], (4, Ok(16)));
        assert_eq!(summary[3].0, 6);
        let e = summary[3].1.as_ref().err().cloned().unwrap_or_default();
        assert!(e.starts_with("line 6: invalid JSON: EOF"), "{e}");
        assert_eq!(summary[4], (7, Ok(2565)));
        assert_eq!(
            got[3].1.as_ref().err().and_then(FormatError::line_no),
            Some(6)
        );
    }

    #[test]
    fn reader_reports_invalid_utf8_and_continues() {
        let mut bytes = GEN_RFDF.as_bytes().to_vec();
        bytes.extend_from_slice(b"\n{\"sensor_id\": \"\xff\"}\n");
        bytes.extend_from_slice(GEN_AGENT.as_bytes());
        let got: Vec<_> = DetectionReader::new(Cursor::new(bytes), EPOCH).collect();
        assert_eq!(got.len(), 3);
        assert!(matches!(
            &got[1],
            (
                2,
                Err(FormatError::Line {
                    source: LineError::Utf8(_),
                    ..
                })
            )
        ));
        assert!(matches!(&got[2], (3, Ok(_))));
    }

    /// Fails after the first `ok` bytes.
    struct Flaky {
        data: Cursor<Vec<u8>>,
        ok: usize,
    }

    impl Read for Flaky {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let pos = self.data.position() as usize;
            if pos >= self.ok {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.ok - pos);
            self.data.read(&mut buf[..n])
        }
    }

    #[test]
    fn reader_yields_an_io_error_once_and_stops() {
        let text = format!("{GEN_RFDF}\n{GEN_AGENT}\n{GEN_RFDF}\n");
        let ok_bytes = GEN_RFDF.len() + 1 + 20;
        let flaky = Flaky {
            data: Cursor::new(text.into_bytes()),
            ok: ok_bytes,
        };
        let mut reader = DetectionReader::new(std::io::BufReader::with_capacity(8, flaky), EPOCH);
        assert!(matches!(reader.next(), Some((1, Ok(_)))));
        match reader.next() {
            Some((2, Err(e @ FormatError::Read { .. }))) => {
                assert_eq!(e.to_string(), "line 2: read error: disk on fire");
            }
            other => panic!("{other:?}"),
        }
        assert!(reader.next().is_none());
        assert!(reader.next().is_none());
    }

    #[test]
    fn reader_opens_files_and_reports_the_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("detections.jsonl");
        std::fs::write(&path, format!("{DOC_RADAR}\n{DOC_RID}\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        let reader = DetectionReader::open(&path, EPOCH).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<_> = reader.filter_map(|(_, r)| r.ok()).map(|o| o.id.0).collect();
        assert_eq!(ids, [0, 67]);
        match DetectionReader::open(&dir.path().join("nope.jsonl"), EPOCH) {
            Err(e @ FormatError::Io { .. }) => assert!(e.to_string().contains("nope.jsonl")),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_strings(s in ".{0,300}") {
            let _ = parse_detection_line(&s, EPOCH);
        }

        #[test]
        fn never_panics_on_json_like_strings(
            s in r#"[{}\[\]":,0-9.eE+\- a-z_]{0,200}"#
        ) {
            let _ = parse_detection_line(&s, EPOCH);
        }

        #[test]
        fn never_panics_on_mutated_valid_lines(
            which in 0usize..ALL.len(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
            epoch in any::<i64>(),
        ) {
            let mut bytes = ALL[which].as_bytes().to_vec();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            let line = String::from_utf8_lossy(&bytes);
            if let Ok(o) = parse_detection_line(&line, TimeNs(epoch)) {
                prop_assert!(o.measurement.validate().is_ok());
            }
            let mut stream = bytes.clone();
            stream.push(b'\n');
            stream.extend_from_slice(&bytes);
            let lines = stream.split(|&b| b == b'\n').count() as u64;
            let mut last = 0;
            for (n, _) in DetectionReader::new(Cursor::new(stream), TimeNs(epoch)) {
                prop_assert!(n > last && n <= lines);
                last = n;
            }
        }

        #[test]
        fn valid_lines_parse_with_any_epoch_time(t_ds in -100_000i64..100_000) {
            let t = t_ds as f64 * 0.1;
            let line = GEN_RFDF.replace(r#""t": 0.2"#, &format!(r#""t": {t:.1}"#));
            let o = parse_detection_line(&line, EPOCH);
            prop_assert!(o.is_ok());
            if let Ok(o) = o {
                prop_assert_eq!(o.t, TimeNs(EPOCH.0 + t_ds * 100_000_000));
            }
        }
    }
}
