//! Errors of the message, pack, transport and capture layers. Each names the byte offset
//! or field and the reason, so a bad frame in a capture can be found with a hex viewer.

use crate::message::MessageType;

/// A Remote ID message or message pack could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the layout needs.
    #[error("{what} truncated: needs {need} bytes from offset {offset}, only {have} present")]
    Truncated {
        what: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    /// Byte 0 high nibble is not one of the types F3411 defines (0-5, 0xF).
    #[error("byte 0: message type {0:#x} is not defined by ASTM F3411 (0-5 or 0xF)")]
    UnknownMessageType(u8),
    /// A message pack where a single message was expected.
    #[error("byte 0: a message pack (type 0xF) where a single message was expected")]
    UnexpectedPack,
    /// Message pack byte 1 must be the single-message size, 25.
    #[error("message pack byte 1: single-message size is {0}, F3411 requires 25")]
    PackMessageSize(u8),
    /// Message pack byte 2 must be 1..=9.
    #[error("message pack byte 2: message count {0} is outside 1..=9")]
    PackCount(u8),
    /// A pack may hold only message types 0-5 (no nested pack, no undefined type).
    #[error(
        "message pack message {index} (offset {offset}): type {msg_type:#x} may not appear in a pack"
    )]
    PackForbiddenType {
        index: usize,
        offset: usize,
        msg_type: u8,
    },
    /// A pack holds more messages of one type than F3411 allows (2 Basic ID, 16
    /// Authentication pages, 1 of each other type).
    #[error("message pack holds {count} {kind} messages, at most {max} allowed")]
    PackDuplicate {
        kind: MessageType,
        count: usize,
        max: usize,
    },
    /// Authentication page 0 byte 2: last page index must be 0..=15.
    #[error("authentication page 0 byte 2: last page index {0} is above 15")]
    AuthLastPageIndex(u8),
    /// Authentication page 0 byte 3: the declared length does not fit the declared pages.
    #[error(
        "authentication page 0 byte 3: length {length} exceeds the {capacity} bytes that pages 0..={last_page_index} can hold"
    )]
    AuthLength {
        length: u8,
        last_page_index: u8,
        capacity: usize,
    },
}

/// A value cannot be represented in the F3411 wire encoding.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot encode `{field}` = {value}: {reason}")]
pub struct EncodeError {
    pub field: &'static str,
    pub value: f64,
    pub reason: &'static str,
}

/// A link-layer frame (BLE advertisement, 802.11 frame, capture pseudo-header) that could
/// not be parsed far enough to find or extract the Remote ID payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error(
        "{layer} {field} truncated: needs {need} bytes from offset {offset}, only {have} present"
    )]
    Truncated {
        layer: &'static str,
        field: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    #[error("{layer} {field} at offset {offset}: {reason}")]
    Malformed {
        layer: &'static str,
        field: &'static str,
        offset: usize,
        reason: &'static str,
    },
}

/// Reading a capture file failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng file (first 4 bytes {0:02x?})")]
    UnknownFormat(Vec<u8>),
    /// The file structure is broken at this byte offset; reading stops here.
    #[error("capture structure broken at byte offset {offset}: {reason}")]
    Format { offset: usize, reason: String },
    /// A packet refers to a pcapng interface that was never described.
    #[error(
        "frame {frame}: packet refers to interface {interface}, which no interface block describes"
    )]
    UnknownInterface { frame: u64, interface: u32 },
}
