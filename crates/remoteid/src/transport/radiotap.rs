//! Radiotap (pcap linktype 127): the header a monitor-mode Wi-Fi capture puts before each
//! 802.11 frame (radiotap.org). Only what Remote ID needs is read: the header length, the
//! Flags field (FCS present at the end, bad FCS) and the antenna signal in dBm.

use super::{Frame, OdidFrame, wifi};
use crate::error::TransportError;

/// pcap LINKTYPE_IEEE802_11_RADIOTAP.
pub const LINKTYPE_IEEE802_11_RADIOTAP: u32 = 127;

/// Flags field bit: the frame ends with a 4-byte FCS.
const FLAG_FCS_AT_END: u8 = 0x10;
/// Flags field bit: the FCS check failed.
const FLAG_BAD_FCS: u8 = 0x40;

/// The radiotap metadata Remote ID uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RadiotapInfo {
    /// `Some(false)` when radiotap says the FCS check failed.
    pub fcs_ok: Option<bool>,
    pub antenna_signal_dbm: Option<i16>,
}

/// Splits a radiotap packet into its metadata and the 802.11 frame (FCS removed).
pub fn split(packet: &[u8]) -> Result<(RadiotapInfo, &[u8]), TransportError> {
    let f = Frame::new(packet, "radiotap");
    let version = f.u8("version", 0)?;
    if version != 0 {
        return Err(f.malformed("version", 0, "only radiotap version 0 exists"));
    }
    let len = usize::from(f.u16_le("length", 2)?);
    let header = f.slice("header", 0, len)?;
    let h = Frame::new(header, "radiotap header");
    let present = h.u32_le("present", 4)?;
    // Skip the chain of extended presence bitmaps (bit 31 = another word follows).
    let mut off = 8;
    let mut word = present;
    while word & 0x8000_0000 != 0 {
        word = h.u32_le("extended present", off)?;
        off += 4;
    }
    let mut info = RadiotapInfo::default();
    let mut flags = 0u8;
    // Fields 0..=5 in order with (size, alignment): TSFT, Flags, Rate, Channel, FHSS,
    // dBm antenna signal. Later fields are not needed.
    const FIELDS: [(usize, usize); 6] = [(8, 8), (1, 1), (1, 1), (4, 2), (2, 1), (1, 1)];
    for (bit, (size, align)) in FIELDS.into_iter().enumerate() {
        if present & (1 << bit) == 0 {
            continue;
        }
        off = off.next_multiple_of(align);
        let field = h.slice("field", off, size)?;
        match (bit, field) {
            (1, &[b]) => flags = b,
            (5, &[s]) => info.antenna_signal_dbm = Some(i16::from(s as i8)),
            _ => {}
        }
        off += size;
    }
    let mut frame = f.rest("802.11 frame", len)?;
    if flags & FLAG_FCS_AT_END != 0 {
        let keep = frame
            .len()
            .checked_sub(4)
            .ok_or(TransportError::Truncated {
                layer: "802.11",
                field: "FCS",
                offset: len,
                need: 4,
                have: frame.len(),
            })?;
        frame = frame.get(..keep).unwrap_or(&[]);
    }
    if flags & FLAG_BAD_FCS != 0 {
        info.fcs_ok = Some(false);
    }
    Ok((info, frame))
}

/// Extracts the Remote ID payload of one radiotap + 802.11 packet.
pub fn parse(packet: &[u8]) -> Result<Option<OdidFrame<'_>>, TransportError> {
    let (info, frame) = split(packet)?;
    Ok(wifi::parse_80211(frame)?.map(|mut f| {
        f.link_crc_ok = info.fcs_ok;
        f.rssi_dbm = info.antenna_signal_dbm;
        f
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn flags_after_tsft_and_signal() {
        // present: TSFT, Flags, Rate, Channel, dBm signal; FCS at end and bad.
        let present: u32 = 0b10_1111;
        let mut p = vec![0, 0, 0, 0];
        p.extend(present.to_le_bytes());
        p.extend([0u8; 8]); // TSFT at offset 8
        p.push(FLAG_FCS_AT_END | FLAG_BAD_FCS); // 16
        p.push(2); // rate 17
        p.extend([0x85, 0x09, 0xa0, 0x00]); // channel at 18
        p.push((-40i8) as u8); // 22
        let len = p.len() as u16;
        p[2..4].copy_from_slice(&len.to_le_bytes());
        p.extend([0xAB; 10]);
        let (info, frame) = split(&p).unwrap();
        assert_eq!(frame, &[0xAB; 6]);
        assert_eq!(info.fcs_ok, Some(false));
        assert_eq!(info.antenna_signal_dbm, Some(-40));
    }

    #[test]
    fn length_past_the_packet_is_an_error() {
        let p = [0, 0, 40, 0, 0, 0, 0, 0];
        assert!(matches!(
            split(&p),
            Err(TransportError::Truncated {
                field: "header",
                ..
            })
        ));
        assert!(split(&[1, 0, 8, 0, 0, 0, 0, 0]).is_err());
    }
}
