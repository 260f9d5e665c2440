//! Remote ID from pcap and pcapng capture files.
//!
//! The file is read into memory and walked with `pcap-file`'s slice parsers. Packets are
//! numbered from 1 in file order, counting every packet (as Wireshark does), so a record's
//! `frame` finds the packet in Wireshark. Timestamps honour the pcap nanosecond magic and
//! the pcapng `if_tsresol`/`if_tsoffset` options.
//!
//! Link types: 127 radiotap + 802.11, 105 bare 802.11, 272 nRF Sniffer for Bluetooth LE,
//! 251 Bluetooth LE link layer. Packets of other link types are skipped.

use std::path::Path;

use pcap_file::PcapError;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};

use crate::error::{CaptureError, DecodeError, TransportError};
use crate::message::Message;
use crate::pack::Payload;
use crate::transport::{MacAddress, OdidFrame, Transport, ble, nordic, radiotap, wifi};

/// pcap LINKTYPE_BLUETOOTH_LE_LL: access address, PDU, CRC (1M PHY).
pub const LINKTYPE_BLUETOOTH_LE_LL: u32 = 251;

/// The link types this module understands.
pub fn supported_linktype(linktype: u32) -> bool {
    matches!(
        linktype,
        radiotap::LINKTYPE_IEEE802_11_RADIOTAP
            | wifi::LINKTYPE_IEEE802_11
            | nordic::LINKTYPE_NORDIC_BLE
            | LINKTYPE_BLUETOOTH_LE_LL
    )
}

/// Extracts the Remote ID payload of one captured packet of the given link type.
pub fn extract(linktype: u32, packet: &[u8]) -> Result<Option<OdidFrame<'_>>, TransportError> {
    match linktype {
        radiotap::LINKTYPE_IEEE802_11_RADIOTAP => radiotap::parse(packet),
        wifi::LINKTYPE_IEEE802_11 => wifi::parse_80211(packet),
        nordic::LINKTYPE_NORDIC_BLE => nordic::parse(packet),
        LINKTYPE_BLUETOOTH_LE_LL => ble::parse_link_layer(
            packet,
            false,
            ble::PduContext {
                link_crc_ok: None,
                rssi_dbm: None,
            },
        ),
        _ => Ok(None),
    }
}

/// One packet that carried Remote ID.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureRecord {
    /// 1-based packet number in the file.
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub t_unix_ns: i64,
    pub transport: Transport,
    pub transmitter: Option<MacAddress>,
    pub counter: u8,
    pub link_crc_ok: Option<bool>,
    pub rssi_dbm: Option<i16>,
    /// The payload as extracted (one message or a pack).
    pub payload: Vec<u8>,
    /// The decoded messages: `Err` when the payload as a whole is unusable (bad pack
    /// header or content), else one result per message.
    pub messages: Result<Vec<Result<Message, DecodeError>>, DecodeError>,
}

/// A packet whose link layer could not be parsed far enough; reading goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {frame}: {source}")]
pub struct FrameError {
    pub frame: u64,
    pub t_unix_ns: i64,
    pub source: TransportError,
}

/// What the reader yields for each packet that is Remote ID or is broken.
#[derive(Debug)]
pub enum CaptureItem {
    Record(CaptureRecord),
    /// The packet could not be parsed; later packets are still read.
    BadFrame(FrameError),
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Ticks per second as (10 or 2) ^ exponent.
    resol: TsResol,
    offset_s: i64,
}

#[derive(Debug, Clone, Copy)]
enum TsResol {
    Decimal(u8),
    Binary(u8),
}

impl TsResol {
    fn from_option(v: u8) -> Self {
        if v & 0x80 == 0 {
            Self::Decimal(v)
        } else {
            Self::Binary(v & 0x7F)
        }
    }

    /// Ticks to nanoseconds, saturating.
    fn to_ns(self, ticks: u64) -> i128 {
        let t = i128::from(ticks);
        match self {
            TsResol::Decimal(e) if e <= 9 => t.saturating_mul(10i128.pow(u32::from(9 - e))),
            TsResol::Decimal(e) => 10i128.checked_pow(u32::from(e - 9)).map_or(0, |d| t / d),
            TsResol::Binary(e) => match 1i128.checked_shl(u32::from(e)) {
                Some(d) if d > 0 => t.saturating_mul(1_000_000_000) / d,
                _ => 0,
            },
        }
    }
}

enum Format {
    Pcap {
        parser: PcapParser,
        linktype: u32,
        nanos: bool,
    },
    PcapNg {
        parser: PcapNgParser,
    },
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Format::Pcap { linktype, .. } => write!(f, "Pcap(linktype {linktype})"),
            Format::PcapNg { .. } => f.write_str("PcapNg"),
        }
    }
}

/// One packet located in the file.
#[derive(Debug, Clone)]
struct RawPacket {
    frame: u64,
    t_unix_ns: i64,
    linktype: u32,
    range: std::ops::Range<usize>,
}

/// Iterates over the Remote ID packets of a capture held in memory.
#[derive(Debug)]
pub struct CaptureReader {
    data: Vec<u8>,
    pos: usize,
    format: Format,
    frame: u64,
    finished: bool,
}

impl CaptureReader {
    /// Reads the whole file (captures from Remote ID receivers are small).
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let data = std::fs::read(path).map_err(|source| CaptureError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(data)
    }

    /// A pcap or pcapng file already in memory.
    pub fn from_bytes(data: Vec<u8>) -> Result<Self, CaptureError> {
        let magic = data
            .get(..4)
            .map(<[u8]>::to_vec)
            .unwrap_or_else(|| data.clone());
        let (pos, format) = match magic.as_slice() {
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                let (rem, parser) = PcapNgParser::new(&data).map_err(|e| format_error(0, &e))?;
                (data.len() - rem.len(), Format::PcapNg { parser })
            }
            [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1] => {
                let (rem, parser) = PcapParser::new(&data).map_err(|e| format_error(0, &e))?;
                let header = parser.header();
                let nanos = matches!(header.ts_resolution, pcap_file::TsResolution::NanoSecond);
                let linktype = u32::from(header.datalink);
                (
                    data.len() - rem.len(),
                    Format::Pcap {
                        parser,
                        linktype,
                        nanos,
                    },
                )
            }
            _ => return Err(CaptureError::UnknownFormat(magic)),
        };
        Ok(Self {
            data,
            pos,
            format,
            frame: 0,
            finished: false,
        })
    }

    /// The next packet as `(frame, t_unix_ns, linktype, bytes range)`, or `None` at the end.
    fn next_packet(&mut self) -> Option<Result<RawPacket, CaptureError>> {
        loop {
            let src = self.data.get(self.pos..).unwrap_or(&[]);
            if src.is_empty() {
                return None;
            }
            let base = self.data.as_ptr() as usize;
            match &mut self.format {
                Format::Pcap {
                    parser,
                    linktype,
                    nanos,
                } => {
                    let (rem, pkt) = match parser.next_raw_packet(src) {
                        Ok(v) => v,
                        Err(e) => return Some(Err(format_error(self.pos, &e))),
                    };
                    let Some(range) = sub_range(
                        base,
                        self.data.len(),
                        pkt.data.as_ptr() as usize,
                        pkt.data.len(),
                    ) else {
                        return Some(Err(CaptureError::Format {
                            offset: self.pos,
                            reason: "packet data outside the file".into(),
                        }));
                    };
                    let frac_ns = if *nanos {
                        i64::from(pkt.ts_frac)
                    } else {
                        i64::from(pkt.ts_frac) * 1000
                    };
                    let t = i64::from(pkt.ts_sec) * 1_000_000_000 + frac_ns;
                    let linktype = *linktype;
                    self.pos = self.data.len() - rem.len();
                    self.frame += 1;
                    return Some(Ok(RawPacket {
                        frame: self.frame,
                        t_unix_ns: t,
                        linktype,
                        range,
                    }));
                }
                Format::PcapNg { parser } => {
                    let (rem, block) = match parser.next_block(src) {
                        Ok(v) => v,
                        Err(e) => return Some(Err(format_error(self.pos, &e))),
                    };
                    let consumed = src.len() - rem.len();
                    let packet = match &block {
                        Block::EnhancedPacket(epb) => {
                            // pcap-file stores the raw tick count as nanoseconds.
                            let ticks = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                            Some((
                                epb.interface_id,
                                Some(ticks),
                                epb.data.as_ptr() as usize,
                                epb.data.len(),
                            ))
                        }
                        Block::SimplePacket(spb) => {
                            Some((0, None, spb.data.as_ptr() as usize, spb.data.len()))
                        }
                        Block::Packet(pb) => Some((
                            u32::from(pb.interface_id),
                            Some(pb.timestamp),
                            pb.data.as_ptr() as usize,
                            pb.data.len(),
                        )),
                        _ => None,
                    };
                    let Some((iface_id, ticks, ptr, len)) = packet else {
                        self.pos += consumed;
                        continue;
                    };
                    self.frame += 1;
                    let frame = self.frame;
                    let Some(iface) = parser.interfaces().get(iface_id as usize).map(interface)
                    else {
                        self.pos += consumed;
                        return Some(Err(CaptureError::UnknownInterface {
                            frame,
                            interface: iface_id,
                        }));
                    };
                    let t_ns = ticks.map_or(0, |t| iface.resol.to_ns(t))
                        + i128::from(iface.offset_s) * 1_000_000_000;
                    let t =
                        i64::try_from(t_ns).unwrap_or(if t_ns < 0 { i64::MIN } else { i64::MAX });
                    self.pos += consumed;
                    let Some(range) = sub_range(base, self.data.len(), ptr, len) else {
                        return Some(Err(CaptureError::Format {
                            offset: self.pos - consumed,
                            reason: "packet data outside the file".into(),
                        }));
                    };
                    return Some(Ok(RawPacket {
                        frame,
                        t_unix_ns: t,
                        linktype: iface.linktype,
                        range,
                    }));
                }
            }
        }
    }
}

fn interface(
    idb: &pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock<'_>,
) -> Interface {
    let mut resol = TsResol::Decimal(6);
    let mut offset_s = 0i64;
    for opt in &idb.options {
        match opt {
            InterfaceDescriptionOption::IfTsResol(v) => resol = TsResol::from_option(*v),
            InterfaceDescriptionOption::IfTsOffset(v) => offset_s = *v as i64,
            _ => {}
        }
    }
    Interface {
        linktype: u32::from(idb.linktype),
        resol,
        offset_s,
    }
}

/// The range of `data` that a borrowed sub-slice (pointer, length) covers.
fn sub_range(base: usize, total: usize, ptr: usize, len: usize) -> Option<std::ops::Range<usize>> {
    let start = ptr.checked_sub(base)?;
    let end = start.checked_add(len)?;
    (end <= total).then_some(start..end)
}

fn format_error(offset: usize, e: &PcapError) -> CaptureError {
    let reason = match e {
        PcapError::IncompleteBuffer => "file ends inside a record".to_string(),
        other => other.to_string(),
    };
    CaptureError::Format { offset, reason }
}

/// Decodes a payload into its messages (see [`CaptureRecord::messages`]).
pub fn decode_messages(payload: &[u8]) -> Result<Vec<Result<Message, DecodeError>>, DecodeError> {
    Payload::decode(payload).map(|p| p.messages().collect())
}

impl Iterator for CaptureReader {
    type Item = Result<CaptureItem, CaptureError>;

    /// Packets without Remote ID are skipped. After a [`CaptureError`] (broken file
    /// structure) the iteration ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            let RawPacket {
                frame,
                t_unix_ns,
                linktype,
                range,
            } = match self.next_packet() {
                None => {
                    self.finished = true;
                    return None;
                }
                Some(Err(e @ CaptureError::UnknownInterface { .. })) => return Some(Err(e)),
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(e));
                }
                Some(Ok(p)) => p,
            };
            let packet = self.data.get(range).unwrap_or(&[]);
            match extract(linktype, packet) {
                Ok(None) => continue,
                Err(source) => {
                    return Some(Ok(CaptureItem::BadFrame(FrameError {
                        frame,
                        t_unix_ns,
                        source,
                    })));
                }
                Ok(Some(f)) => {
                    return Some(Ok(CaptureItem::Record(CaptureRecord {
                        frame,
                        t_unix_ns,
                        transport: f.transport,
                        transmitter: f.transmitter,
                        counter: f.counter,
                        link_crc_ok: f.link_crc_ok,
                        rssi_dbm: f.rssi_dbm,
                        payload: f.payload.to_vec(),
                        messages: decode_messages(f.payload),
                    })));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn tsresol_conversions() {
        assert_eq!(TsResol::Decimal(6).to_ns(1_500_000), 1_500_000_000);
        assert_eq!(TsResol::Decimal(9).to_ns(7), 7);
        assert_eq!(TsResol::Decimal(12).to_ns(7_000), 7);
        assert_eq!(TsResol::Binary(10).to_ns(1024), 1_000_000_000);
        assert_eq!(TsResol::Decimal(200).to_ns(5), 0);
        assert_eq!(TsResol::Binary(127).to_ns(5), 0);
    }

    #[test]
    fn not_a_capture() {
        assert!(matches!(
            CaptureReader::from_bytes(b"hello".to_vec()),
            Err(CaptureError::UnknownFormat(_))
        ));
        assert!(matches!(
            CaptureReader::from_bytes(vec![]),
            Err(CaptureError::UnknownFormat(_))
        ));
    }

    /// A little-endian microsecond pcap with one radiotap beacon built by hand.
    #[test]
    fn pcap_with_one_beacon() {
        let mut frame = vec![0x80, 0, 0, 0];
        frame.extend([0xff; 6]);
        frame.extend([2, 0, 0, 0, 0, 1]);
        frame.extend([2, 0, 0, 0, 0, 1, 0, 0]);
        frame.extend([0u8; 12]);
        let mut pack = vec![0xF2, 25, 1, 0x32];
        pack.extend([0u8; 24]);
        frame.extend([221, (5 + pack.len()) as u8, 0xfa, 0x0b, 0xbc, 0x0d, 9]);
        frame.extend(&pack);
        let mut pkt = vec![0, 0, 8, 0, 0, 0, 0, 0];
        pkt.extend(&frame);
        let mut file = Vec::new();
        file.extend(0xa1b2c3d4u32.to_le_bytes());
        file.extend(2u16.to_le_bytes());
        file.extend(4u16.to_le_bytes());
        file.extend([0u8; 8]);
        file.extend(65535u32.to_le_bytes());
        file.extend(127u32.to_le_bytes());
        file.extend(1_700_000_000u32.to_le_bytes());
        file.extend(250_000u32.to_le_bytes());
        file.extend((pkt.len() as u32).to_le_bytes());
        file.extend((pkt.len() as u32).to_le_bytes());
        file.extend(&pkt);
        let items: Vec<_> = CaptureReader::from_bytes(file.clone()).unwrap().collect();
        assert_eq!(items.len(), 1);
        let Ok(CaptureItem::Record(r)) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(r.frame, 1);
        assert_eq!(r.t_unix_ns, 1_700_000_000_250_000_000);
        assert_eq!(r.transport, Transport::WifiBeacon);
        assert_eq!(r.counter, 9);
        assert_eq!(r.payload, pack);
        assert!(matches!(&r.messages, Ok(m) if m.len() == 1));
        // Cut the file inside the packet: a format error naming the offset, then the end.
        file.truncate(file.len() - 3);
        let mut it = CaptureReader::from_bytes(file).unwrap();
        assert!(matches!(
            it.next(),
            Some(Err(CaptureError::Format { offset: 24, .. }))
        ));
        assert!(it.next().is_none());
    }
}
