//! The decoded OcuSync DroneID payload: 91 bytes, little-endian, laid out as Python's
//! `struct` format `<BBBHH16siihhhhhhQiiiiBB20sH` (RUB-SysSec DroneSecurity
//! `src/droneid_packet.py`, NDSS 2023).
//!
//! | bytes | field | encoding |
//! |---|---|---|
//! | 0 | `pkt_len` | u8 (88 in the real burst, which fits "bytes after byte 0, less the CRC"; not checked) |
//! | 1 | `unknown_1` | u8 ("unk"; 0x10 in the real burst, perhaps the sub-command as in Wi-Fi DroneID) |
//! | 2 | `version` | u8 |
//! | 3–4 | `sequence` | u16 |
//! | 5–6 | `state_info` | u16 bit flags, see [`StateInfo`] |
//! | 7–22 | `serial` | 16 ASCII, NUL padded |
//! | 23–26 / 27–30 | drone **lon**, **lat** | i32 radians × 1e7 |
//! | 31–32 / 33–34 | `altitude`, `height` | i16, unit unsettled |
//! | 35–40 | `v_north`, `v_east`, `v_up` | i16, unit unsettled |
//! | 41–42 | `yaw` ("d_1_angle") | i16, unit unsettled |
//! | 43–50 | `gps_time` | u64 ms since the Unix epoch |
//! | 51–54 / 55–58 | app (pilot) **lat**, **lon** | i32 radians × 1e7 (note: lat first) |
//! | 59–62 / 63–66 | home **lon**, **lat** | i32 radians × 1e7 |
//! | 67 | `product_type` | u8, see [`product_name`](crate::product_name) |
//! | 68 | `uuid_len` | u8 (≤ 20) |
//! | 69–88 | `uuid` | 20 ASCII, NUL padded |
//! | 89–90 | CRC | u16, see [`crate::crc`] |

use serde::Serialize;

use crate::crc::droneid_crc;
use crate::state::StateInfo;
use crate::units::{LengthUnit, SpeedUnit, rad_e7_to_deg};

/// Length of the decoded DroneID payload, CRC included.
pub const PAYLOAD_LEN: usize = 91;

/// Bytes covered by the CRC (0..=88).
pub const CRC_COVERED_LEN: usize = PAYLOAD_LEN - 2;

const SERIAL_AT: usize = 7;
const SERIAL_LEN: usize = 16;
const UUID_AT: usize = 69;
const UUID_LEN: usize = 20;

/// Why a payload was refused. Each variant names the byte range or field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DroneIdError {
    #[error("payload: {len} bytes, a DroneID payload needs {PAYLOAD_LEN}")]
    Truncated { len: usize },
    #[error("crc (bytes 89-90): payload says {stored:#06x}, bytes 0-88 give {computed:#06x}")]
    CrcMismatch { stored: u16, computed: u16 },
    #[error("uuid_len (byte 68): {len} exceeds the 20-byte uuid field")]
    UuidLen { len: u8 },
    #[error("{field} (byte {byte}): {value:#04x} is not printable ASCII")]
    NotAscii {
        field: &'static str,
        byte: usize,
        value: u8,
    },
}

/// A decoded DroneID payload. Integers whose unit or reference is not settled by public
/// sources keep their raw value (`*_raw`); the methods convert under an explicit assumption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroneIdPacket {
    pub pkt_len: u8,
    /// Byte 1, meaning unknown ("unk" in DroneSecurity).
    pub unknown_1: u8,
    pub version: u8,
    pub sequence: u16,
    pub state: StateInfo,
    /// Manufacturer serial number (not an ANSI/CTA-2063-A Remote ID serial).
    pub serial: String,
    pub drone_lon_rad_e7: i32,
    pub drone_lat_rad_e7: i32,
    /// Altitude, unit unsettled (feet or metres) and reference unknown (see crate docs).
    pub altitude_raw: i16,
    /// Height above the home point, unit unsettled (feet or metres).
    pub height_raw: i16,
    /// Velocities north, east, up; unit unsettled (cm/s or m/s).
    pub v_north_raw: i16,
    pub v_east_raw: i16,
    pub v_up_raw: i16,
    /// Heading ("d_1_angle"); Kismet's Wi-Fi DroneID reads its angles as centidegrees.
    pub yaw_raw: i16,
    /// GPS time, milliseconds since the Unix epoch.
    pub gps_time_ms: u64,
    pub app_lat_rad_e7: i32,
    pub app_lon_rad_e7: i32,
    pub home_lon_rad_e7: i32,
    pub home_lat_rad_e7: i32,
    pub product_type: u8,
    pub uuid_len: u8,
    /// The app's UUID (the first `uuid_len` bytes of the field).
    pub uuid: String,
    /// The CRC as stored in the payload.
    pub crc: u16,
}

/// Little-endian reads from a slice already known to hold [`PAYLOAD_LEN`] bytes; the
/// `unwrap_or` defaults are unreachable after the length check but keep the parser
/// panic-free by construction.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        self.0
            .get(at..at + N)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }
    fn u8(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_le_bytes(self.bytes(at))
    }
    fn i16(&self, at: usize) -> i16 {
        i16::from_le_bytes(self.bytes(at))
    }
    fn i32(&self, at: usize) -> i32 {
        i32::from_le_bytes(self.bytes(at))
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes(at))
    }
}

/// The ASCII text of a NUL-padded field: bytes up to the first NUL, each printable.
fn ascii_field(field: &'static str, at: usize, bytes: &[u8]) -> Result<String, DroneIdError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = bytes.get(..end).unwrap_or_default();
    if let Some(i) = text.iter().position(|b| !(0x20..0x7f).contains(b)) {
        return Err(DroneIdError::NotAscii {
            field,
            byte: at + i,
            value: text.get(i).copied().unwrap_or(0),
        });
    }
    Ok(text.iter().map(|&b| char::from(b)).collect())
}

impl DroneIdPacket {
    /// Decodes a payload and checks its CRC. Bytes past the 91st are ignored (demodulators
    /// hand over a longer frame). Never panics.
    pub fn parse(bytes: &[u8]) -> Result<Self, DroneIdError> {
        let packet = Self::parse_unchecked(bytes)?;
        let computed = droneid_crc(bytes.get(..CRC_COVERED_LEN).unwrap_or_default());
        if computed != packet.crc {
            return Err(DroneIdError::CrcMismatch {
                stored: packet.crc,
                computed,
            });
        }
        Ok(packet)
    }

    /// Decodes a payload without checking its CRC (for damaged bursts a caller still wants
    /// to look at). Field checks (ASCII text, `uuid_len`) still apply. Never panics.
    pub fn parse_unchecked(bytes: &[u8]) -> Result<Self, DroneIdError> {
        let bytes = bytes
            .get(..PAYLOAD_LEN)
            .ok_or(DroneIdError::Truncated { len: bytes.len() })?;
        let r = Reader(bytes);
        let serial_bytes: [u8; SERIAL_LEN] = r.bytes(SERIAL_AT);
        let uuid_bytes: [u8; UUID_LEN] = r.bytes(UUID_AT);
        let uuid_len = r.u8(68);
        let uuid_used = uuid_bytes
            .get(..usize::from(uuid_len))
            .ok_or(DroneIdError::UuidLen { len: uuid_len })?;
        Ok(Self {
            pkt_len: r.u8(0),
            unknown_1: r.u8(1),
            version: r.u8(2),
            sequence: r.u16(3),
            state: StateInfo(r.u16(5)),
            serial: ascii_field("serial", SERIAL_AT, &serial_bytes)?,
            drone_lon_rad_e7: r.i32(23),
            drone_lat_rad_e7: r.i32(27),
            altitude_raw: r.i16(31),
            height_raw: r.i16(33),
            v_north_raw: r.i16(35),
            v_east_raw: r.i16(37),
            v_up_raw: r.i16(39),
            yaw_raw: r.i16(41),
            gps_time_ms: r.u64(43),
            app_lat_rad_e7: r.i32(51),
            app_lon_rad_e7: r.i32(55),
            home_lon_rad_e7: r.i32(59),
            home_lat_rad_e7: r.i32(63),
            product_type: r.u8(67),
            uuid_len,
            uuid: ascii_field("uuid", UUID_AT, uuid_used)?,
            crc: r.u16(89),
        })
    }

    /// Encodes the payload (strings NUL padded, truncated to their fields) with the stored
    /// `crc`. Use [`with_crc`](Self::with_crc) first to make it valid.
    pub fn to_bytes(&self) -> [u8; PAYLOAD_LEN] {
        let mut out = [0u8; PAYLOAD_LEN];
        let mut put = |at: usize, src: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + src.len()) {
                dst.copy_from_slice(src);
            }
        };
        put(0, &[self.pkt_len, self.unknown_1, self.version]);
        put(3, &self.sequence.to_le_bytes());
        put(5, &self.state.0.to_le_bytes());
        let serial = self.serial.as_bytes();
        put(SERIAL_AT, serial.get(..SERIAL_LEN).unwrap_or(serial));
        put(23, &self.drone_lon_rad_e7.to_le_bytes());
        put(27, &self.drone_lat_rad_e7.to_le_bytes());
        put(31, &self.altitude_raw.to_le_bytes());
        put(33, &self.height_raw.to_le_bytes());
        put(35, &self.v_north_raw.to_le_bytes());
        put(37, &self.v_east_raw.to_le_bytes());
        put(39, &self.v_up_raw.to_le_bytes());
        put(41, &self.yaw_raw.to_le_bytes());
        put(43, &self.gps_time_ms.to_le_bytes());
        put(51, &self.app_lat_rad_e7.to_le_bytes());
        put(55, &self.app_lon_rad_e7.to_le_bytes());
        put(59, &self.home_lon_rad_e7.to_le_bytes());
        put(63, &self.home_lat_rad_e7.to_le_bytes());
        put(67, &[self.product_type, self.uuid_len]);
        let uuid = self.uuid.as_bytes();
        put(UUID_AT, uuid.get(..UUID_LEN).unwrap_or(uuid));
        put(89, &self.crc.to_le_bytes());
        out
    }

    /// The same packet with `crc` set to the CRC of its encoding.
    pub fn with_crc(mut self) -> Self {
        let bytes = self.to_bytes();
        self.crc = droneid_crc(bytes.get(..CRC_COVERED_LEN).unwrap_or_default());
        self
    }

    /// Drone (latitude, longitude) in degrees; `None` when both are zero (no fix sent).
    pub fn drone_lat_lon_deg(&self) -> Option<(f64, f64)> {
        lat_lon(self.drone_lat_rad_e7, self.drone_lon_rad_e7)
    }

    /// App (pilot) (latitude, longitude) in degrees; `None` when both are zero.
    pub fn app_lat_lon_deg(&self) -> Option<(f64, f64)> {
        lat_lon(self.app_lat_rad_e7, self.app_lon_rad_e7)
    }

    /// Home point (latitude, longitude) in degrees; `None` when both are zero.
    pub fn home_lat_lon_deg(&self) -> Option<(f64, f64)> {
        lat_lon(self.home_lat_rad_e7, self.home_lon_rad_e7)
    }

    /// Altitude in metres under the given unit assumption.
    pub fn altitude_m_assuming(&self, unit: LengthUnit) -> f64 {
        unit.to_m(self.altitude_raw)
    }

    /// Height above the home point in metres under the given unit assumption.
    pub fn height_m_assuming(&self, unit: LengthUnit) -> f64 {
        unit.to_m(self.height_raw)
    }

    /// Velocity [east, north, up] in m/s under the given unit assumption.
    pub fn velocity_enu_mps_assuming(&self, unit: SpeedUnit) -> [f64; 3] {
        [
            unit.to_mps(self.v_east_raw),
            unit.to_mps(self.v_north_raw),
            unit.to_mps(self.v_up_raw),
        ]
    }

    /// Yaw as a compass heading in [0, 360) degrees, assuming centidegrees (Kismet's reading
    /// of the Wi-Fi DroneID attitude angles).
    pub fn yaw_deg_assuming_centidegrees(&self) -> f64 {
        (f64::from(self.yaw_raw) / 100.0).rem_euclid(360.0)
    }

    /// The product name, when the public table knows the id.
    pub fn product_name(&self) -> Option<&'static str> {
        crate::product::product_name(self.product_type)
    }
}

fn lat_lon(lat_raw: i32, lon_raw: i32) -> Option<(f64, f64)> {
    (lat_raw != 0 || lon_raw != 0).then(|| (rad_e7_to_deg(lat_raw), rad_e7_to_deg(lon_raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic packet (not taken from any capture).
    pub(crate) fn sample() -> DroneIdPacket {
        DroneIdPacket {
            pkt_len: 88,
            unknown_1: 0x10,
            version: 2,
            sequence: 7,
            state: StateInfo(0x0033),
            serial: "TESTSERIAL01".into(),
            drone_lon_rad_e7: 1_000_000,
            drone_lat_rad_e7: 2_000_000,
            altitude_raw: 100,
            height_raw: 30,
            v_north_raw: -5,
            v_east_raw: 5,
            v_up_raw: 10,
            yaw_raw: -9000,
            gps_time_ms: 1_700_000_000_000,
            app_lat_rad_e7: 2_000_100,
            app_lon_rad_e7: 1_000_100,
            home_lon_rad_e7: 1_000_050,
            home_lat_rad_e7: 2_000_050,
            product_type: 63,
            uuid_len: 4,
            uuid: "1234".into(),
            crc: 0,
        }
        .with_crc()
    }

    #[test]
    fn field_offsets_follow_the_struct_layout() {
        let b = sample().to_bytes();
        assert_eq!(&b[7..19], b"TESTSERIAL01");
        assert_eq!(i32::from_le_bytes([b[23], b[24], b[25], b[26]]), 1_000_000); // lon first
        assert_eq!(i32::from_le_bytes([b[27], b[28], b[29], b[30]]), 2_000_000);
        assert_eq!(i32::from_le_bytes([b[51], b[52], b[53], b[54]]), 2_000_100); // app lat first
        assert_eq!(i32::from_le_bytes([b[59], b[60], b[61], b[62]]), 1_000_050); // home lon first
        assert_eq!(b[67], 63);
        assert_eq!(&b[69..73], b"1234");
    }

    #[test]
    fn axis_order_flips_between_drone_app_and_home() {
        let p = sample();
        let (lat, lon) = p.drone_lat_lon_deg().unwrap_or_default();
        assert!((lat - rad_e7_to_deg(2_000_000)).abs() < 1e-12);
        assert!((lon - rad_e7_to_deg(1_000_000)).abs() < 1e-12);
        let (lat, lon) = p.app_lat_lon_deg().unwrap_or_default();
        assert!((lat - rad_e7_to_deg(2_000_100)).abs() < 1e-12);
        assert!((lon - rad_e7_to_deg(1_000_100)).abs() < 1e-12);
        let (lat, lon) = p.home_lat_lon_deg().unwrap_or_default();
        assert!((lat - rad_e7_to_deg(2_000_050)).abs() < 1e-12);
        assert!((lon - rad_e7_to_deg(1_000_050)).abs() < 1e-12);
    }

    #[test]
    fn parse_of_encoding_is_identity() {
        let p = sample();
        assert_eq!(DroneIdPacket::parse(&p.to_bytes()), Ok(p));
    }

    #[test]
    fn bad_crc_is_reported_with_both_values() {
        let mut b = sample().to_bytes();
        b[40] ^= 0x01;
        match DroneIdPacket::parse(&b) {
            Err(DroneIdError::CrcMismatch { stored, computed }) => assert_ne!(stored, computed),
            other => panic!("expected a CRC mismatch, got {other:?}"),
        }
        assert!(DroneIdPacket::parse_unchecked(&b).is_ok());
    }

    #[test]
    fn short_input_is_truncated_not_a_panic() {
        let b = sample().to_bytes();
        assert_eq!(
            DroneIdPacket::parse(&b[..90]),
            Err(DroneIdError::Truncated { len: 90 })
        );
        assert_eq!(
            DroneIdPacket::parse(&[]),
            Err(DroneIdError::Truncated { len: 0 })
        );
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let p = sample();
        let mut b = p.to_bytes().to_vec();
        b.extend_from_slice(&[0xAA; 86]);
        assert_eq!(DroneIdPacket::parse(&b), Ok(p));
    }

    #[test]
    fn field_errors_name_the_byte() {
        let mut p = sample();
        p.uuid_len = 21;
        assert_eq!(
            DroneIdPacket::parse(&p.with_crc().to_bytes()),
            Err(DroneIdError::UuidLen { len: 21 })
        );
        let mut b = sample().to_bytes();
        b[9] = 0xFF;
        assert_eq!(
            DroneIdPacket::parse_unchecked(&b),
            Err(DroneIdError::NotAscii {
                field: "serial",
                byte: 9,
                value: 0xFF
            })
        );
    }

    #[test]
    fn zero_position_means_no_fix() {
        let mut p = sample();
        p.drone_lat_rad_e7 = 0;
        p.drone_lon_rad_e7 = 0;
        assert_eq!(p.drone_lat_lon_deg(), None);
    }

    #[test]
    fn yaw_is_wrapped_into_a_compass_heading() {
        let p = sample();
        assert!((p.yaw_deg_assuming_centidegrees() - 270.0).abs() < 1e-9);
    }
}
