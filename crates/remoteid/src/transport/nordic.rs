//! nRF Sniffer for Bluetooth LE packets (pcap linktype 272, LINKTYPE_NORDIC_BLE), the
//! format Wireshark's `packet-nordic_ble.c` reads:
//!
//! * protocol 0 (legacy): `be ef`, packet id, counter (2), unused (2), payload length,
//!   then a fixed 9-byte event header;
//! * protocol 1: board id, header length, payload length, protocol version, counter (2),
//!   packet id, then the event header;
//! * protocol 2 and 3: board id, payload length (2, LE), protocol version, counter (2),
//!   packet id, then the event header.
//!
//! Event header (protocols 1-3): its own length (normally 10, this byte included), flags
//! (bit 0 CRC ok, bits 4-6 PHY: 0 1M, 1 2M, 2 Coded), channel, RSSI (positive, means
//! negative dBm), event counter (2), time (4). The BLE link-layer packet follows.

use super::ble::{self, PduContext};
use super::{Frame, OdidFrame};
use crate::error::TransportError;

/// pcap LINKTYPE_NORDIC_BLE.
pub const LINKTYPE_NORDIC_BLE: u32 = 272;

const LEGACY_BLE_OFFSET: usize = 17;
const LEGACY_FLAGS_OFFSET: usize = 8;
const UART_HEADER_LEN: usize = 7;
const EVENT_HEADER_MIN_LEN: usize = 10;
const PHY_CODED: u8 = 2;

/// Extracts the Remote ID payload of one Nordic sniffer packet.
pub fn parse(packet: &[u8]) -> Result<Option<OdidFrame<'_>>, TransportError> {
    let f = Frame::new(packet, "nRF sniffer header");
    let (flags_at, ble_at) = if f.u16_le("legacy marker", 0)? == 0xEFBE {
        (LEGACY_FLAGS_OFFSET, LEGACY_BLE_OFFSET)
    } else {
        let event_len = usize::from(f.u8("event header length", UART_HEADER_LEN)?);
        if event_len < EVENT_HEADER_MIN_LEN {
            return Err(f.malformed("event header length", UART_HEADER_LEN, "below 10 bytes"));
        }
        (UART_HEADER_LEN + 1, UART_HEADER_LEN + event_len)
    };
    let flags = f.u8("flags", flags_at)?;
    let rssi = f.u8("RSSI", flags_at + 2)?;
    let coded = (flags >> 4) & 0x07 == PHY_CODED;
    let ll = f.rest("BLE packet", ble_at)?;
    let ctx = PduContext {
        link_crc_ok: Some(flags & 0x01 != 0),
        rssi_dbm: Some(-i16::from(rssi)),
    };
    ble::parse_link_layer(ll, coded, ctx)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::transport::Transport;

    /// Protocol 3 header + event header + coded-PHY advertising packet, laid out as the
    /// Wireshark dissector documents it.
    fn packet(flags: u8, with_odid: bool) -> Vec<u8> {
        let mut ad = vec![
            0x1e,
            0x16,
            0xfa,
            0xff,
            if with_odid { 0x0d } else { 0x0c },
            5,
        ];
        ad.extend([0x02; 25]);
        let mut pdu_payload = vec![1, 2, 3, 4, 5, 6];
        pdu_payload.extend(&ad);
        let mut ll = 0x8E89_BED6u32.to_le_bytes().to_vec();
        ll.push(0); // coding indicator
        ll.extend([0x02, pdu_payload.len() as u8]);
        ll.extend(&pdu_payload);
        ll.extend([0, 0, 0]); // CRC
        let mut p = vec![3, 0, 0, 3, 0, 0, 2];
        p.extend([10, flags, 37, 60, 0, 0, 1, 2, 3, 4]);
        p.extend(&ll);
        let plen = (p.len() - 7) as u16;
        p[1..3].copy_from_slice(&plen.to_le_bytes());
        p
    }

    #[test]
    fn coded_phy_packet_with_crc_verdict() {
        let p = packet(0x21, true);
        let f = parse(&p).unwrap().unwrap();
        assert_eq!(f.transport, Transport::BluetoothLegacy);
        assert_eq!(f.counter, 5);
        assert_eq!(f.link_crc_ok, Some(true));
        assert_eq!(f.rssi_dbm, Some(-60));
        let bad_packet = packet(0x20, true);
        let bad = parse(&bad_packet).unwrap().unwrap();
        assert_eq!(bad.link_crc_ok, Some(false));
        assert_eq!(parse(&packet(0x21, false)).unwrap(), None);
    }

    #[test]
    fn short_header_is_an_error() {
        assert!(parse(&[3, 0, 0, 3]).is_err());
        let mut p = packet(0x21, true);
        p[7] = 4;
        assert!(matches!(parse(&p), Err(TransportError::Malformed { .. })));
    }
}
