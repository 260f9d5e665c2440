//! The six 25-byte F3411 messages: decode from and encode to the wire layout.
//!
//! Layouts follow ASTM F3411-22a §5.4.5 / ASD-STAN EN 4709-002 (byte 0 = type << 4 |
//! protocol version, multi-byte fields little-endian), as documented bit by bit in
//! opendroneid-core-c `opendroneid.h`. Values are converted the way that reference
//! decoder converts them; the F3411 "unknown" encodings become `None`, each noted on its
//! field. The protocol-version nibble is kept and never checked (later versions stay
//! backward compatible).

use serde::Serialize;

use crate::error::{DecodeError, EncodeError};
use crate::text::OdidText;

/// Every message is 25 bytes.
pub const MESSAGE_SIZE: usize = 25;
/// UAS ID and Operator ID fields: 20 bytes.
pub const ID_SIZE: usize = 20;
/// Self-ID description: 23 bytes.
pub const DESCRIPTION_SIZE: usize = 23;
/// Authentication data bytes on page 0 and on pages 1-15.
pub const AUTH_PAGE0_DATA_SIZE: usize = 17;
pub const AUTH_PAGE_DATA_SIZE: usize = 23;
/// Authentication pages 0..=15.
pub const AUTH_MAX_PAGES: usize = 16;
/// The protocol version this encoder writes: 2 = ASTM F3411-22a.
pub const PROTOCOL_VERSION: u8 = 2;

/// Raw direction value that, with the East/West bit set, means "unknown" (361°).
const DIRECTION_UNKNOWN_RAW: u8 = 181;
/// Raw horizontal speed that, with the multiplier bit set, means "unknown" (255 m/s).
const SPEED_H_UNKNOWN_RAW: u8 = 255;
/// Raw vertical speed meaning "unknown" (63 m/s).
const SPEED_V_UNKNOWN_RAW: i8 = 126;
/// Raw altitude meaning "unknown" (-1000 m).
const ALT_UNKNOWN_RAW: u16 = 0;
/// Location timestamp meaning "unknown".
const TIMESTAMP_UNKNOWN_RAW: u16 = 0xFFFF;
/// The largest horizontal speed F3411 encodes; faster is sent as this (m/s).
pub const MAX_SPEED_H_MPS: f64 = 254.25;
/// Vertical speed is clamped to ±62 m/s by F3411.
pub const MAX_SPEED_V_MPS: f64 = 62.0;
/// Altitude range of the 0.5 m encoding, metres.
pub const MIN_ALT_M: f64 = -1000.0;
pub const MAX_ALT_M: f64 = 31767.5;
/// Location timestamps count tenths of a second after the UTC hour: at most 3600 s.
pub const MAX_TIMESTAMP_S: f64 = 3600.0;
/// F3411 timestamps (System, Authentication) count seconds from 2019-01-01T00:00:00Z.
pub const ODID_EPOCH_UNIX_S: i64 = 1_546_300_800;

/// The message type nibble (byte 0, bits 7-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    BasicId = 0,
    Location = 1,
    Auth = 2,
    SelfId = 3,
    System = 4,
    OperatorId = 5,
    Pack = 0xF,
}

impl MessageType {
    pub const fn from_nibble(nibble: u8) -> Option<Self> {
        Some(match nibble {
            0 => Self::BasicId,
            1 => Self::Location,
            2 => Self::Auth,
            3 => Self::SelfId,
            4 => Self::System,
            5 => Self::OperatorId,
            0xF => Self::Pack,
            _ => return None,
        })
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::BasicId => "basic_id",
            Self::Location => "location",
            Self::Auth => "auth",
            Self::SelfId => "self_id",
            Self::System => "system",
            Self::OperatorId => "operator_id",
            Self::Pack => "message_pack",
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One decoded message (a pack is a container of these, see [`crate::MessagePack`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    BasicId(BasicId),
    Location(Location),
    Auth(Auth),
    SelfId(SelfId),
    System(System),
    OperatorId(OperatorId),
}

/// Basic ID (type 0): who the UA is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BasicId {
    pub protocol_version: u8,
    /// 0 none, 1 serial number (ANSI/CTA-2063-A), 2 CAA registration, 3 UTM UUID,
    /// 4 specific session ID ([`crate::codes::id_type_name`]).
    pub id_type: u8,
    /// 0-15, [`crate::codes::ua_type_name`].
    pub ua_type: u8,
    /// Bytes 2-21. ASCII for types 1 and 2; binary for types 3 and 4.
    pub uas_id: OdidText<ID_SIZE>,
}

/// Location/Vector (type 1): where the UA is and how it moves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Location {
    pub protocol_version: u8,
    /// 0 undeclared, 1 ground, 2 airborne, 3 emergency, 4 RID system failure.
    pub status: u8,
    /// 0 height above take-off, 1 above ground level.
    pub height_type: u8,
    /// Track over ground, degrees clockwise from true north; `None` = 361 (unknown).
    pub direction_deg: Option<f32>,
    /// Ground speed; `None` = 255 m/s (unknown).
    pub speed_horizontal_mps: Option<f32>,
    /// Up positive; `None` = 63 m/s (unknown).
    pub speed_vertical_mps: Option<f32>,
    /// WGS84 latitude. F3411 sends 0 for both latitude and longitude when unknown.
    pub latitude_deg: f64,
    /// WGS84 longitude (see `latitude_deg` for the unknown value).
    pub longitude_deg: f64,
    /// Barometric pressure altitude (29.92 inHg reference); `None` = -1000 m (unknown).
    pub pressure_altitude_m: Option<f32>,
    /// WGS84 height above the ellipsoid; `None` = -1000 m (unknown).
    pub geodetic_altitude_m: Option<f32>,
    /// Height above take-off or ground (`height_type`); `None` = -1000 m (unknown).
    pub height_m: Option<f32>,
    /// Raw accuracy codes, see [`crate::codes`].
    pub horizontal_accuracy: u8,
    pub vertical_accuracy: u8,
    pub baro_accuracy: u8,
    pub speed_accuracy: u8,
    /// Seconds after the full UTC hour, 0.1 s resolution; `None` = 0xFFFF (unknown).
    pub timestamp_s_after_hour: Option<f32>,
    /// Raw timestamp accuracy code: tenths of a second, 0 = unknown.
    pub timestamp_accuracy: u8,
}

/// Authentication (type 2): one page of up to 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Auth {
    pub protocol_version: u8,
    /// [`crate::codes::auth_type_name`].
    pub auth_type: u8,
    /// 0-15.
    pub page_number: u8,
    /// Page 0 only: index of the last page.
    pub last_page_index: Option<u8>,
    /// Page 0 only: total authentication data length in bytes.
    pub length_bytes: Option<u8>,
    /// Page 0 only: seconds since 2019-01-01T00:00:00Z.
    pub timestamp_s_since_2019: Option<u32>,
    /// 17 bytes on page 0, 23 on the others.
    pub data: AuthData,
}

/// The data bytes of one authentication page (serialized as lower-case hex).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AuthData {
    bytes: [u8; AUTH_PAGE_DATA_SIZE],
    len: u8,
}

impl AuthData {
    /// `None` when longer than 23 bytes.
    pub fn new(data: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; AUTH_PAGE_DATA_SIZE];
        bytes.get_mut(..data.len())?.copy_from_slice(data);
        Some(Self {
            bytes,
            len: u8::try_from(data.len()).ok()?,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl std::fmt::Debug for AuthData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for AuthData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{self:?}"))
    }
}

/// Self-ID (type 3): free text declared by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SelfId {
    pub protocol_version: u8,
    /// 0 text, 1 emergency, 2 extended status, 201-255 private.
    pub description_type: u8,
    pub description: OdidText<DESCRIPTION_SIZE>,
}

/// System (type 4): operator position, operating area, classification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct System {
    pub protocol_version: u8,
    /// 0 take-off, 1 live GNSS, 2 fixed.
    pub operator_location_type: u8,
    /// 0 undeclared, 1 EU.
    pub classification_type: u8,
    /// WGS84; 0, 0 when unknown.
    pub operator_latitude_deg: f64,
    pub operator_longitude_deg: f64,
    /// Number of aircraft in the area (default 1).
    pub area_count: u16,
    /// Area radius, 10 m resolution.
    pub area_radius_m: u16,
    /// `None` = -1000 m (unknown).
    pub area_ceiling_m: Option<f32>,
    pub area_floor_m: Option<f32>,
    /// EU category (0 undeclared, 1 open, 2 specific, 3 certified), when classification is EU.
    pub ua_category_eu: u8,
    /// EU class (0 undeclared, 1 = class 0 ... 7 = class 6).
    pub ua_class_eu: u8,
    /// Operator WGS84 height above the ellipsoid; `None` = -1000 m (unknown).
    pub operator_altitude_m: Option<f32>,
    /// Seconds since 2019-01-01T00:00:00Z; `None` when 0 (not sent before protocol 2).
    pub timestamp_s_since_2019: Option<u32>,
}

/// Operator ID (type 5): the operator's registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OperatorId {
    pub protocol_version: u8,
    /// 0 = operator ID; 1-200 reserved, 201-255 private.
    pub operator_id_type: u8,
    pub operator_id: OdidText<ID_SIZE>,
}

impl Message {
    pub const fn message_type(&self) -> MessageType {
        match self {
            Message::BasicId(_) => MessageType::BasicId,
            Message::Location(_) => MessageType::Location,
            Message::Auth(_) => MessageType::Auth,
            Message::SelfId(_) => MessageType::SelfId,
            Message::System(_) => MessageType::System,
            Message::OperatorId(_) => MessageType::OperatorId,
        }
    }

    /// Decodes one message from the first 25 bytes of `bytes` (extra bytes are ignored,
    /// as BLE legacy advertisements may carry padding).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let Some(m) = bytes.first_chunk::<MESSAGE_SIZE>() else {
            return Err(DecodeError::Truncated {
                what: "message",
                offset: 0,
                need: MESSAGE_SIZE,
                have: bytes.len(),
            });
        };
        Self::decode_array(m)
    }

    /// Decodes one 25-byte message.
    ///
    /// Each type has its own out-of-line decoder that builds the result in place: one
    /// function for all six made the compiler assemble every variant in a shared stack
    /// temporary and copy it out, twice as slow as the reference C decoder.
    #[inline]
    pub fn decode_array(m: &[u8; MESSAGE_SIZE]) -> Result<Self, DecodeError> {
        match m[0] >> 4 {
            0 => decode_basic_id(m),
            1 => decode_location(m),
            2 => Auth::decode_body(m[0] & 0x0F, m).map(Message::Auth),
            3 => decode_self_id(m),
            4 => decode_system(m),
            5 => decode_operator_id(m),
            0xF => Err(DecodeError::UnexpectedPack),
            t => Err(DecodeError::UnknownMessageType(t)),
        }
    }

    /// Encodes to the 25-byte wire form.
    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        match self {
            Message::BasicId(m) => m.encode(),
            Message::Location(m) => m.encode(),
            Message::Auth(m) => m.encode(),
            Message::SelfId(m) => m.encode(),
            Message::System(m) => m.encode(),
            Message::OperatorId(m) => m.encode(),
        }
    }
}

#[inline(never)]
fn decode_basic_id(m: &[u8; MESSAGE_SIZE]) -> Result<Message, DecodeError> {
    Ok(Message::BasicId(BasicId::decode_body(m[0] & 0x0F, m)))
}

#[inline(never)]
fn decode_location(m: &[u8; MESSAGE_SIZE]) -> Result<Message, DecodeError> {
    Ok(Message::Location(Location::decode_body(m[0] & 0x0F, m)))
}

#[inline(never)]
fn decode_self_id(m: &[u8; MESSAGE_SIZE]) -> Result<Message, DecodeError> {
    Ok(Message::SelfId(SelfId::decode_body(m[0] & 0x0F, m)))
}

#[inline(never)]
fn decode_system(m: &[u8; MESSAGE_SIZE]) -> Result<Message, DecodeError> {
    Ok(Message::System(System::decode_body(m[0] & 0x0F, m)))
}

#[inline(never)]
fn decode_operator_id(m: &[u8; MESSAGE_SIZE]) -> Result<Message, DecodeError> {
    Ok(Message::OperatorId(OperatorId::decode_body(m[0] & 0x0F, m)))
}

// ---- field codecs -------------------------------------------------------------------------

#[inline]
fn u16_at(m: &[u8; MESSAGE_SIZE], i: usize) -> u16 {
    match m.get(i..i + 2) {
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    }
}

#[inline]
fn u32_at(m: &[u8; MESSAGE_SIZE], i: usize) -> u32 {
    match m.get(i..i + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

#[inline]
fn put(m: &mut [u8; MESSAGE_SIZE], i: usize, bytes: &[u8]) {
    if let Some(dst) = m.get_mut(i..i + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

#[inline]
fn text_at<const N: usize>(m: &[u8; MESSAGE_SIZE], i: usize) -> OdidText<N> {
    let src = m
        .split_at_checked(i)
        .and_then(|(_, rest)| rest.first_chunk::<N>());
    OdidText::from_raw(src.copied().unwrap_or([0; N]))
}

/// Latitude/longitude: int32 × 1e-7 degrees.
#[inline]
fn decode_lat_lon(raw: u32) -> f64 {
    f64::from(raw as i32) / 1e7
}

/// Altitudes: uint16 × 0.5 − 1000 m; 0 (−1000 m) means unknown.
#[inline]
fn decode_alt(raw: u16) -> Option<f32> {
    (raw != ALT_UNKNOWN_RAW).then(|| f32::from(raw) * 0.5 - 1000.0)
}

fn check_finite(field: &'static str, v: f64) -> Result<f64, EncodeError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(EncodeError {
            field,
            value: v,
            reason: "not a finite number",
        })
    }
}

fn check_range(field: &'static str, v: f64, lo: f64, hi: f64) -> Result<f64, EncodeError> {
    if check_finite(field, v)? < lo || v > hi {
        return Err(EncodeError {
            field,
            value: v,
            reason: "outside the range the encoding can hold",
        });
    }
    Ok(v)
}

fn check_nibble(field: &'static str, v: u8, max: u8) -> Result<u8, EncodeError> {
    if v > max {
        return Err(EncodeError {
            field,
            value: f64::from(v),
            reason: "code does not fit its bit field",
        });
    }
    Ok(v)
}

fn encode_lat_lon(field: &'static str, v: f64, limit: f64) -> Result<[u8; 4], EncodeError> {
    let v = check_range(field, v, -limit, limit)?;
    Ok(((v * 1e7).round() as i32).to_le_bytes())
}

fn encode_alt(field: &'static str, v: Option<f32>) -> Result<[u8; 2], EncodeError> {
    let Some(v) = v.map(f64::from) else {
        return Ok(ALT_UNKNOWN_RAW.to_le_bytes());
    };
    let v = check_range(field, v, MIN_ALT_M, MAX_ALT_M)?;
    Ok((((v + 1000.0) / 0.5).round() as u16).to_le_bytes())
}

fn header(msg_type: MessageType, version: u8) -> Result<u8, EncodeError> {
    Ok((msg_type as u8) << 4 | check_nibble("protocol_version", version, 15)?)
}

// ---- messages -----------------------------------------------------------------------------

impl BasicId {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Self {
        Self {
            protocol_version,
            id_type: m[1] >> 4,
            ua_type: m[1] & 0x0F,
            uas_id: text_at(m, 2),
        }
    }

    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::BasicId, self.protocol_version)?;
        m[1] = check_nibble("id_type", self.id_type, 15)? << 4
            | check_nibble("ua_type", self.ua_type, 15)?;
        put(&mut m, 2, self.uas_id.raw());
        Ok(m)
    }
}

impl Location {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Self {
        let flags = m[1];
        let ew = flags & 0x02 != 0;
        let speed_mult = flags & 0x01 != 0;
        let direction_deg = if ew {
            (m[2] != DIRECTION_UNKNOWN_RAW).then(|| f32::from(m[2]) + 180.0)
        } else {
            Some(f32::from(m[2]))
        };
        let speed_horizontal_mps = if speed_mult {
            (m[3] != SPEED_H_UNKNOWN_RAW).then(|| f32::from(m[3]) * 0.75 + 255.0 * 0.25)
        } else {
            Some(f32::from(m[3]) * 0.25)
        };
        let vs = m[4] as i8;
        let timestamp = u16_at(m, 21);
        Self {
            protocol_version,
            status: flags >> 4,
            height_type: (flags >> 2) & 1,
            direction_deg,
            speed_horizontal_mps,
            speed_vertical_mps: (vs != SPEED_V_UNKNOWN_RAW).then(|| f32::from(vs) * 0.5),
            latitude_deg: decode_lat_lon(u32_at(m, 5)),
            longitude_deg: decode_lat_lon(u32_at(m, 9)),
            pressure_altitude_m: decode_alt(u16_at(m, 13)),
            geodetic_altitude_m: decode_alt(u16_at(m, 15)),
            height_m: decode_alt(u16_at(m, 17)),
            horizontal_accuracy: m[19] & 0x0F,
            vertical_accuracy: m[19] >> 4,
            baro_accuracy: m[20] >> 4,
            speed_accuracy: m[20] & 0x0F,
            timestamp_s_after_hour: (timestamp != TIMESTAMP_UNKNOWN_RAW)
                .then(|| f32::from(timestamp) / 10.0),
            timestamp_accuracy: m[23] & 0x0F,
        }
    }

    /// Encodes with the F3411 quantisation (rounded to the nearest step). Speeds above
    /// the encodable maximum are sent as the maximum, as F3411 prescribes; other values
    /// outside their range are an error naming the field.
    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::Location, self.protocol_version)?;
        let (direction, ew) = match self.direction_deg.map(f64::from) {
            None => (DIRECTION_UNKNOWN_RAW, true),
            Some(d) => {
                let mut d = check_range("direction_deg", d, 0.0, 360.0)?.round() as u16;
                if d == 360 {
                    d = 0;
                }
                if d < 180 {
                    (d as u8, false)
                } else {
                    ((d - 180) as u8, true)
                }
            }
        };
        let (speed, mult) = match self.speed_horizontal_mps.map(f64::from) {
            None => (SPEED_H_UNKNOWN_RAW, true),
            Some(s) => {
                let s = check_range("speed_horizontal_mps", s, 0.0, f64::INFINITY)?;
                if s <= 255.0 * 0.25 {
                    ((s / 0.25).round() as u8, false)
                } else {
                    let s = s.min(MAX_SPEED_H_MPS);
                    (((s - 63.75) / 0.75).round() as u8, true)
                }
            }
        };
        let vs = match self.speed_vertical_mps.map(f64::from) {
            None => SPEED_V_UNKNOWN_RAW,
            Some(v) => {
                let v = check_finite("speed_vertical_mps", v)?;
                (v.clamp(-MAX_SPEED_V_MPS, MAX_SPEED_V_MPS) / 0.5).round() as i8
            }
        };
        m[1] = check_nibble("status", self.status, 15)? << 4
            | check_nibble("height_type", self.height_type, 1)? << 2
            | u8::from(ew) << 1
            | u8::from(mult);
        m[2] = direction;
        m[3] = speed;
        m[4] = vs as u8;
        put(
            &mut m,
            5,
            &encode_lat_lon("latitude_deg", self.latitude_deg, 90.0)?,
        );
        put(
            &mut m,
            9,
            &encode_lat_lon("longitude_deg", self.longitude_deg, 180.0)?,
        );
        put(
            &mut m,
            13,
            &encode_alt("pressure_altitude_m", self.pressure_altitude_m)?,
        );
        put(
            &mut m,
            15,
            &encode_alt("geodetic_altitude_m", self.geodetic_altitude_m)?,
        );
        put(&mut m, 17, &encode_alt("height_m", self.height_m)?);
        m[19] = check_nibble("vertical_accuracy", self.vertical_accuracy, 15)? << 4
            | check_nibble("horizontal_accuracy", self.horizontal_accuracy, 15)?;
        m[20] = check_nibble("baro_accuracy", self.baro_accuracy, 15)? << 4
            | check_nibble("speed_accuracy", self.speed_accuracy, 15)?;
        let ts = match self.timestamp_s_after_hour.map(f64::from) {
            None => TIMESTAMP_UNKNOWN_RAW,
            Some(t) => (check_range("timestamp_s_after_hour", t, 0.0, MAX_TIMESTAMP_S)? * 10.0)
                .round() as u16,
        };
        put(&mut m, 21, &ts.to_le_bytes());
        m[23] = check_nibble("timestamp_accuracy", self.timestamp_accuracy, 15)?;
        Ok(m)
    }

    /// True unless latitude and longitude are both 0, F3411's "unknown position".
    pub fn position_known(&self) -> bool {
        self.latitude_deg != 0.0 || self.longitude_deg != 0.0
    }
}

impl Auth {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Result<Self, DecodeError> {
        let auth_type = m[1] >> 4;
        let page_number = m[1] & 0x0F;
        if page_number == 0 {
            let last_page_index = m[2];
            let length = m[3];
            if usize::from(last_page_index) >= AUTH_MAX_PAGES {
                return Err(DecodeError::AuthLastPageIndex(last_page_index));
            }
            let capacity =
                AUTH_PAGE0_DATA_SIZE + usize::from(last_page_index) * AUTH_PAGE_DATA_SIZE;
            if usize::from(length) > capacity {
                return Err(DecodeError::AuthLength {
                    length,
                    last_page_index,
                    capacity,
                });
            }
            let mut bytes = [0u8; AUTH_PAGE_DATA_SIZE];
            if let (Some(dst), Some(src)) = (bytes.get_mut(..AUTH_PAGE0_DATA_SIZE), m.get(8..)) {
                dst.copy_from_slice(src);
            }
            Ok(Self {
                protocol_version,
                auth_type,
                page_number,
                last_page_index: Some(last_page_index),
                length_bytes: Some(length),
                timestamp_s_since_2019: Some(u32_at(m, 4)),
                data: AuthData {
                    bytes,
                    len: AUTH_PAGE0_DATA_SIZE as u8,
                },
            })
        } else {
            let mut bytes = [0u8; AUTH_PAGE_DATA_SIZE];
            if let Some(src) = m.get(2..) {
                bytes.copy_from_slice(src);
            }
            Ok(Self {
                protocol_version,
                auth_type,
                page_number,
                last_page_index: None,
                length_bytes: None,
                timestamp_s_since_2019: None,
                data: AuthData {
                    bytes,
                    len: AUTH_PAGE_DATA_SIZE as u8,
                },
            })
        }
    }

    /// Page 0 writes `last_page_index`, `length_bytes`, `timestamp_s_since_2019` (0 when
    /// `None`) and up to 17 data bytes; other pages up to 23 data bytes.
    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::Auth, self.protocol_version)?;
        m[1] = check_nibble("auth_type", self.auth_type, 15)? << 4
            | check_nibble("page_number", self.page_number, 15)?;
        let data = self.data.as_bytes();
        if self.page_number == 0 {
            let last = self.last_page_index.unwrap_or(0);
            m[2] = check_nibble("last_page_index", last, 15)?;
            m[3] = self.length_bytes.unwrap_or(0);
            put(
                &mut m,
                4,
                &self.timestamp_s_since_2019.unwrap_or(0).to_le_bytes(),
            );
            if data.len() > AUTH_PAGE0_DATA_SIZE {
                return Err(EncodeError {
                    field: "data",
                    value: data.len() as f64,
                    reason: "page 0 holds at most 17 data bytes",
                });
            }
            put(&mut m, 8, data);
        } else {
            put(&mut m, 2, data);
        }
        Ok(m)
    }
}

impl SelfId {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Self {
        Self {
            protocol_version,
            description_type: m[1],
            description: text_at(m, 2),
        }
    }

    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::SelfId, self.protocol_version)?;
        m[1] = self.description_type;
        put(&mut m, 2, self.description.raw());
        Ok(m)
    }
}

impl System {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Self {
        let timestamp = u32_at(m, 20);
        Self {
            protocol_version,
            operator_location_type: m[1] & 0x03,
            classification_type: (m[1] >> 2) & 0x07,
            operator_latitude_deg: decode_lat_lon(u32_at(m, 2)),
            operator_longitude_deg: decode_lat_lon(u32_at(m, 6)),
            area_count: u16_at(m, 10),
            area_radius_m: u16::from(m[12]) * 10,
            area_ceiling_m: decode_alt(u16_at(m, 13)),
            area_floor_m: decode_alt(u16_at(m, 15)),
            ua_category_eu: m[17] >> 4,
            ua_class_eu: m[17] & 0x0F,
            operator_altitude_m: decode_alt(u16_at(m, 18)),
            timestamp_s_since_2019: (timestamp != 0).then_some(timestamp),
        }
    }

    /// `area_radius_m` is sent in 10 m steps (rounded down, as the reference encoder does).
    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::System, self.protocol_version)?;
        m[1] = check_nibble("classification_type", self.classification_type, 7)? << 2
            | check_nibble("operator_location_type", self.operator_location_type, 3)?;
        put(
            &mut m,
            2,
            &encode_lat_lon("operator_latitude_deg", self.operator_latitude_deg, 90.0)?,
        );
        put(
            &mut m,
            6,
            &encode_lat_lon("operator_longitude_deg", self.operator_longitude_deg, 180.0)?,
        );
        put(&mut m, 10, &self.area_count.to_le_bytes());
        m[12] = u8::try_from(self.area_radius_m / 10).map_err(|_| EncodeError {
            field: "area_radius_m",
            value: f64::from(self.area_radius_m),
            reason: "above the 2550 m the encoding can hold",
        })?;
        put(
            &mut m,
            13,
            &encode_alt("area_ceiling_m", self.area_ceiling_m)?,
        );
        put(&mut m, 15, &encode_alt("area_floor_m", self.area_floor_m)?);
        m[17] = check_nibble("ua_category_eu", self.ua_category_eu, 15)? << 4
            | check_nibble("ua_class_eu", self.ua_class_eu, 15)?;
        put(
            &mut m,
            18,
            &encode_alt("operator_altitude_m", self.operator_altitude_m)?,
        );
        put(
            &mut m,
            20,
            &self.timestamp_s_since_2019.unwrap_or(0).to_le_bytes(),
        );
        Ok(m)
    }

    /// True unless the operator latitude and longitude are both 0 (unknown).
    pub fn operator_position_known(&self) -> bool {
        self.operator_latitude_deg != 0.0 || self.operator_longitude_deg != 0.0
    }
}

impl OperatorId {
    #[inline(always)]
    fn decode_body(protocol_version: u8, m: &[u8; MESSAGE_SIZE]) -> Self {
        Self {
            protocol_version,
            operator_id_type: m[1],
            operator_id: text_at(m, 2),
        }
    }

    pub fn encode(&self) -> Result<[u8; MESSAGE_SIZE], EncodeError> {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = header(MessageType::OperatorId, self.protocol_version)?;
        m[1] = self.operator_id_type;
        put(&mut m, 2, self.operator_id.raw());
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The unknown encodings of F3411 (opendroneid.h INV_* constants) decode to `None`.
    #[test]
    fn unknown_encodings_are_none() {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = 0x12;
        m[1] = 0x03; // EW and speed multiplier set
        m[2] = 181; // 181 + 180 = 361
        m[3] = 255;
        m[4] = 126; // 63 m/s
        m[21] = 0xFF;
        m[22] = 0xFF;
        let Message::Location(l) = Message::decode(&m).unwrap() else {
            panic!("not a location")
        };
        assert_eq!(l.direction_deg, None);
        assert_eq!(l.speed_horizontal_mps, None);
        assert_eq!(l.speed_vertical_mps, None);
        assert_eq!(l.pressure_altitude_m, None);
        assert_eq!(l.timestamp_s_after_hour, None);
        assert!(!l.position_known());
        assert_eq!(l.protocol_version, 2);
        // And they encode back to the same bytes.
        assert_eq!(l.encode().unwrap(), m);
    }

    #[test]
    fn speed_multiplier_and_direction_bits() {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = 0x10;
        m[1] = 0x23; // airborne, EW, mult
        m[2] = 10;
        m[3] = 4;
        m[4] = (-6i8) as u8;
        let Message::Location(l) = Message::decode(&m).unwrap() else {
            panic!("not a location")
        };
        assert_eq!(l.status, 2);
        assert_eq!(l.direction_deg, Some(190.0));
        assert_eq!(l.speed_horizontal_mps, Some(4.0 * 0.75 + 63.75));
        assert_eq!(l.speed_vertical_mps, Some(-3.0));
    }

    #[test]
    fn truncated_and_unknown_types_are_named() {
        let err = Message::decode(&[0x10; 24]).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                what: "message",
                offset: 0,
                need: 25,
                have: 24
            }
        );
        assert!(err.to_string().contains("offset 0"), "{err}");
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = 0x92;
        assert_eq!(Message::decode(&m), Err(DecodeError::UnknownMessageType(9)));
        m[0] = 0xF2;
        assert_eq!(Message::decode(&m), Err(DecodeError::UnexpectedPack));
    }

    #[test]
    fn auth_page_zero_length_is_checked() {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = 0x22;
        m[1] = 0x10; // type 1, page 0
        m[2] = 0; // only page 0
        m[3] = 18; // but 18 bytes
        assert_eq!(
            Message::decode(&m),
            Err(DecodeError::AuthLength {
                length: 18,
                last_page_index: 0,
                capacity: 17
            })
        );
        m[2] = 16;
        assert_eq!(Message::decode(&m), Err(DecodeError::AuthLastPageIndex(16)));
    }

    #[test]
    fn encode_rejects_out_of_range_and_names_the_field() {
        let Message::Location(mut l) = Message::decode(&[0x10; 25]).unwrap() else {
            panic!()
        };
        l.latitude_deg = 91.0;
        let e = l.encode().unwrap_err();
        assert_eq!(e.field, "latitude_deg");
        l.latitude_deg = 0.0;
        l.geodetic_altitude_m = Some(f32::NAN);
        assert_eq!(l.encode().unwrap_err().field, "geodetic_altitude_m");
    }
}
