//! The four broadcast transports of F3411-22a §5.4.6-7 / EN 4709-002 and the link layers
//! they are captured with.
//!
//! Each extractor returns `Ok(None)` for a frame that carries no Remote ID, `Ok(Some)`
//! with the borrowed payload (one message or a pack) when it does, and an error naming
//! the layer, field and offset when the frame is too short or inconsistent to tell.

pub mod ble;
pub mod nordic;
pub mod radiotap;
pub mod wifi;

use serde::{Serialize, Serializer};

use crate::error::TransportError;
use crate::message::MESSAGE_SIZE;
use crate::pack::{PACK_HEADER_SIZE, PACK_MAX_MESSAGES};

/// How a Remote ID payload travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Bluetooth 4 legacy advertising: one message per advertisement.
    BluetoothLegacy,
    /// Bluetooth 5 extended advertising (normally on the LE Coded PHY, "long range"):
    /// a message pack.
    BluetoothLongRange,
    /// Wi-Fi beacon vendor-specific element.
    WifiBeacon,
    /// Wi-Fi Neighbour Awareness Networking service discovery frame.
    WifiNan,
}

impl Transport {
    pub const fn name(self) -> &'static str {
        match self {
            Transport::BluetoothLegacy => "bluetooth_legacy",
            Transport::BluetoothLongRange => "bluetooth_long_range",
            Transport::WifiBeacon => "wifi_beacon",
            Transport::WifiNan => "wifi_nan",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A 48-bit IEEE 802 / Bluetooth device address, most significant byte first (the usual
/// written order; Bluetooth sends it least significant byte first on air).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    /// From the on-air order of a Bluetooth address (least significant byte first).
    pub fn from_ble_le(bytes: [u8; 6]) -> Self {
        let mut b = bytes;
        b.reverse();
        Self(b)
    }
}

impl std::fmt::Display for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl std::fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl Serialize for MacAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A Remote ID payload found in a link-layer frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OdidFrame<'a> {
    pub transport: Transport,
    /// BLE advertiser address (AdvA) or 802.11 transmitter address; `None` when the frame
    /// does not carry one (e.g. an AUX_CHAIN_IND).
    pub transmitter: Option<MacAddress>,
    /// The message counter byte before the payload.
    pub counter: u8,
    /// One 25-byte message or a message pack, trimmed to the pack's declared length when
    /// its header is valid and the frame holds it all.
    pub payload: &'a [u8],
    /// The capture device's CRC/FCS verdict, when it gives one. `Some(false)` means the
    /// frame was damaged on air: its content must not be trusted.
    pub link_crc_ok: Option<bool>,
    /// Received signal strength, when the capture pseudo-header gives it.
    pub rssi_dbm: Option<i16>,
}

/// Bounds-checked reads that name the layer, field and offset when the frame is short.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) layer: &'static str,
}

impl<'a> Frame<'a> {
    pub(crate) const fn new(bytes: &'a [u8], layer: &'static str) -> Self {
        Self { bytes, layer }
    }

    pub(crate) fn slice(
        &self,
        field: &'static str,
        offset: usize,
        len: usize,
    ) -> Result<&'a [u8], TransportError> {
        offset
            .checked_add(len)
            .and_then(|end| self.bytes.get(offset..end))
            .ok_or(TransportError::Truncated {
                layer: self.layer,
                field,
                offset,
                need: len,
                have: self.bytes.len().saturating_sub(offset),
            })
    }

    pub(crate) fn rest(
        &self,
        field: &'static str,
        offset: usize,
    ) -> Result<&'a [u8], TransportError> {
        self.bytes.get(offset..).ok_or(TransportError::Truncated {
            layer: self.layer,
            field,
            offset,
            need: 0,
            have: 0,
        })
    }

    pub(crate) fn u8(&self, field: &'static str, offset: usize) -> Result<u8, TransportError> {
        self.slice(field, offset, 1)
            .map(|b| b.first().copied().unwrap_or(0))
    }

    pub(crate) fn u16_le(&self, field: &'static str, offset: usize) -> Result<u16, TransportError> {
        match self.slice(field, offset, 2)? {
            &[a, b] => Ok(u16::from_le_bytes([a, b])),
            _ => Ok(0),
        }
    }

    pub(crate) fn u32_le(&self, field: &'static str, offset: usize) -> Result<u32, TransportError> {
        match self.slice(field, offset, 4)? {
            &[a, b, c, d] => Ok(u32::from_le_bytes([a, b, c, d])),
            _ => Ok(0),
        }
    }

    pub(crate) fn array6(
        &self,
        field: &'static str,
        offset: usize,
    ) -> Result<[u8; 6], TransportError> {
        let s = self.slice(field, offset, 6)?;
        let mut out = [0u8; 6];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn malformed(
        &self,
        field: &'static str,
        offset: usize,
        reason: &'static str,
    ) -> TransportError {
        TransportError::Malformed {
            layer: self.layer,
            field,
            offset,
            reason,
        }
    }
}

/// The Remote ID payload after the counter byte: a pack is cut to its declared length
/// when its header is valid and the bytes are there; anything else is returned whole so
/// the decoder can say what is wrong with it.
pub(crate) fn trim_payload(data: &[u8]) -> &[u8] {
    if let Some(&[b0, size, count]) = data.first_chunk::<PACK_HEADER_SIZE>()
        && b0 >> 4 == 0xF
        && usize::from(size) == MESSAGE_SIZE
        && usize::from(count) <= PACK_MAX_MESSAGES
    {
        let len = PACK_HEADER_SIZE + usize::from(count) * MESSAGE_SIZE;
        if let Some(p) = data.get(..len) {
            return p;
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_display_order() {
        let a = MacAddress::from_ble_le([0x1c, 0x2f, 0xeb, 0xea, 0x7d, 0xe0]);
        assert_eq!(a.to_string(), "e0:7d:ea:eb:2f:1c");
    }

    #[test]
    fn frame_reads_name_field_and_offset() {
        let f = Frame::new(&[1, 2, 3], "test");
        assert_eq!(f.u16_le("x", 1), Ok(0x0302));
        assert_eq!(
            f.u32_le("y", 1),
            Err(TransportError::Truncated {
                layer: "test",
                field: "y",
                offset: 1,
                need: 4,
                have: 2
            })
        );
        assert!(f.slice("z", usize::MAX, 2).is_err());
    }

    #[test]
    fn trimming_keeps_broken_packs_whole() {
        let mut p = vec![0xF2, 25, 1];
        p.extend([0u8; 30]);
        assert_eq!(trim_payload(&p).len(), 28);
        p[2] = 70;
        assert_eq!(trim_payload(&p).len(), 33);
        assert_eq!(trim_payload(&[0x12, 0]).len(), 2);
    }
}
