//! One JSON-serializable record per decoded message of a capture, for
//! `dronewatch decode remote-id FILE...`.
//!
//! Each message of each Remote ID packet becomes a [`DecodedRecord`] carrying where it was
//! captured, what it says and the receiver's plausibility flags for it (the receiver sees
//! the capture's messages in file order). A payload or packet that cannot be decoded
//! becomes a record with `error` set and the raw payload in hex; only a broken file
//! structure ends the iteration with a [`CaptureError`].

use std::collections::VecDeque;
use std::path::Path;

use serde::Serialize;

use crate::capture::{CaptureItem, CaptureReader, CaptureRecord, FrameError};
use crate::error::CaptureError;
use crate::message::{Message, MessageType};
use crate::receiver::{DroneKey, Flag, Receiver, ReceiverConfig, Source};
use crate::transport::{MacAddress, Transport};

/// One decoded message (or one decoding failure) of a capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodedRecord {
    /// 1-based packet number in the file (as Wireshark numbers it).
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub t_unix_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// BLE advertiser or 802.11 transmitter address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<MacAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_crc_ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rssi_dbm: Option<i16>,
    /// Position of the message in its pack (0-based); absent for a single message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    /// The decoded fields, tagged with `"type"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Why this message, payload or packet could not be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The raw payload, on error records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
    /// The drone the receiver filed the message under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drone: Option<DroneKey>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
}

impl DecodedRecord {
    fn base(r: &CaptureRecord) -> Self {
        Self {
            frame: r.frame,
            t_unix_ns: r.t_unix_ns,
            transport: Some(r.transport),
            address: r.transmitter,
            counter: Some(r.counter),
            link_crc_ok: r.link_crc_ok,
            rssi_dbm: r.rssi_dbm,
            pack_index: None,
            message_type: None,
            message: None,
            error: None,
            payload_hex: None,
            drone: None,
            flags: Vec::new(),
        }
    }

    fn bad_frame(e: &FrameError) -> Self {
        Self {
            frame: e.frame,
            t_unix_ns: e.t_unix_ns,
            transport: None,
            address: None,
            counter: None,
            link_crc_ok: None,
            rssi_dbm: None,
            pack_index: None,
            message_type: None,
            message: None,
            error: Some(e.source.to_string()),
            payload_hex: None,
            drone: None,
            flags: Vec::new(),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Iterator over the records of one capture; see [`decode_capture`].
#[derive(Debug)]
pub struct DecodeCapture {
    reader: CaptureReader,
    receiver: Receiver,
    queue: VecDeque<DecodedRecord>,
    done: bool,
}

impl DecodeCapture {
    /// Decodes a capture already in memory.
    pub fn from_bytes(data: Vec<u8>, config: ReceiverConfig) -> Result<Self, CaptureError> {
        Ok(Self::new(CaptureReader::from_bytes(data)?, config))
    }

    pub fn new(reader: CaptureReader, config: ReceiverConfig) -> Self {
        Self {
            reader,
            receiver: Receiver::new(config),
            queue: VecDeque::new(),
            done: false,
        }
    }

    /// The receiver state after the records read so far (e.g. for a summary per drone).
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    fn expand(&mut self, r: CaptureRecord) {
        let base = DecodedRecord::base(&r);
        let messages = match r.messages {
            Err(e) => {
                self.queue.push_back(DecodedRecord {
                    error: Some(e.to_string()),
                    payload_hex: Some(hex(&r.payload)),
                    ..base
                });
                return;
            }
            Ok(m) => m,
        };
        let is_pack = r
            .payload
            .first()
            .is_some_and(|b| b >> 4 == MessageType::Pack as u8);
        let source = Source {
            t_unix_ns: r.t_unix_ns,
            transport: r.transport,
            transmitter: r.transmitter,
            link_crc_ok: r.link_crc_ok,
        };
        for (i, m) in messages.into_iter().enumerate() {
            let pack_index = is_pack.then_some(i);
            let rec = match m {
                Ok(message) => {
                    let u = self.receiver.update(source, &message);
                    DecodedRecord {
                        pack_index,
                        message_type: Some(message.message_type()),
                        drone: Some(u.key.clone()),
                        flags: u.flags,
                        message: Some(message),
                        ..base.clone()
                    }
                }
                Err(e) => DecodedRecord {
                    pack_index,
                    error: Some(e.to_string()),
                    payload_hex: Some(hex(&r.payload)),
                    ..base.clone()
                },
            };
            self.queue.push_back(rec);
        }
    }
}

impl Iterator for DecodeCapture {
    type Item = Result<DecodedRecord, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Some(Ok(r));
            }
            if self.done {
                return None;
            }
            match self.reader.next() {
                None => {
                    self.done = true;
                }
                Some(Ok(CaptureItem::Record(r))) => self.expand(r),
                Some(Ok(CaptureItem::BadFrame(e))) => {
                    self.queue.push_back(DecodedRecord::bad_frame(&e))
                }
                // A packet naming an undescribed interface: reported, reading goes on.
                Some(Err(e @ CaptureError::UnknownInterface { .. })) => return Some(Err(e)),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Opens a pcap or pcapng file and decodes every Remote ID message in it, one record
/// per message, with the default receiver thresholds.
pub fn decode_capture(path: &Path) -> Result<DecodeCapture, CaptureError> {
    decode_capture_with(path, ReceiverConfig::default())
}

/// [`decode_capture`] with chosen receiver thresholds.
pub fn decode_capture_with(
    path: &Path,
    config: ReceiverConfig,
) -> Result<DecodeCapture, CaptureError> {
    Ok(DecodeCapture::new(CaptureReader::open(path)?, config))
}
