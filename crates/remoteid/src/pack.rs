//! Message packs (type 0xF) and the payload of a transport frame (one message or a pack).
//!
//! F3411-22a §5.4.5.22 / opendroneid.h: byte 0 = 0xF << 4 | version, byte 1 = single
//! message size (25), byte 2 = number of messages (1-9), then the messages. The pack
//! content rules are those the reference decoder enforces (`checkPackContent`): only
//! types 0-5, at most 2 Basic ID, 16 Authentication pages and 1 of each other type.

use crate::error::DecodeError;
use crate::message::{MESSAGE_SIZE, Message, MessageType};

/// At most 9 messages fit a pack.
pub const PACK_MAX_MESSAGES: usize = 9;
/// Pack header length.
pub const PACK_HEADER_SIZE: usize = 3;
/// At most two Basic ID messages per UA (e.g. serial number and registration).
pub const BASIC_ID_MAX_MESSAGES: usize = 2;

/// A validated message pack borrowing its bytes; decode its messages with [`Self::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagePack<'a> {
    protocol_version: u8,
    /// Exactly `count * 25` bytes.
    messages: &'a [u8],
}

impl<'a> MessagePack<'a> {
    /// Checks the header and the content rules. Bytes after the declared messages are
    /// ignored (BLE and NaN frames may pad).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let Some(&[b0, size, count]) = bytes.first_chunk::<PACK_HEADER_SIZE>() else {
            return Err(DecodeError::Truncated {
                what: "message pack header",
                offset: 0,
                need: PACK_HEADER_SIZE,
                have: bytes.len(),
            });
        };
        if b0 >> 4 != MessageType::Pack as u8 {
            return Err(DecodeError::UnknownMessageType(b0 >> 4));
        }
        if usize::from(size) != MESSAGE_SIZE {
            return Err(DecodeError::PackMessageSize(size));
        }
        let n = usize::from(count);
        if n == 0 || n > PACK_MAX_MESSAGES {
            return Err(DecodeError::PackCount(count));
        }
        let body = bytes.get(PACK_HEADER_SIZE..).unwrap_or(&[]);
        let Some(messages) = body.get(..n * MESSAGE_SIZE) else {
            return Err(DecodeError::Truncated {
                what: "message pack",
                offset: PACK_HEADER_SIZE,
                need: n * MESSAGE_SIZE,
                have: body.len(),
            });
        };
        let mut counts = [0usize; 6];
        for (index, m) in messages.chunks_exact(MESSAGE_SIZE).enumerate() {
            let t = m.first().map_or(0xF, |b| b >> 4);
            match counts.get_mut(usize::from(t)) {
                Some(c) => *c += 1,
                None => {
                    return Err(DecodeError::PackForbiddenType {
                        index,
                        offset: PACK_HEADER_SIZE + index * MESSAGE_SIZE,
                        msg_type: t,
                    });
                }
            }
        }
        const KINDS: [(MessageType, usize); 6] = [
            (MessageType::BasicId, BASIC_ID_MAX_MESSAGES),
            (MessageType::Location, 1),
            (MessageType::Auth, crate::message::AUTH_MAX_PAGES),
            (MessageType::SelfId, 1),
            (MessageType::System, 1),
            (MessageType::OperatorId, 1),
        ];
        for ((kind, max), &count) in KINDS.into_iter().zip(counts.iter()) {
            if count > max {
                return Err(DecodeError::PackDuplicate { kind, count, max });
            }
        }
        Ok(Self {
            protocol_version: b0 & 0x0F,
            messages,
        })
    }

    pub fn protocol_version(&self) -> u8 {
        self.protocol_version
    }

    pub fn len(&self) -> usize {
        self.messages.len() / MESSAGE_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The raw 25-byte messages.
    pub fn raw_messages(&self) -> impl Iterator<Item = &'a [u8; MESSAGE_SIZE]> + use<'a> {
        self.messages
            .chunks_exact(MESSAGE_SIZE)
            .filter_map(|c| c.try_into().ok())
    }

    /// Decodes each message in turn; an error names the message's index in the pack.
    pub fn iter(&self) -> impl Iterator<Item = Result<Message, DecodeError>> + use<'a> {
        self.raw_messages().map(Message::decode_array)
    }

    /// Bytes of the pack as transmitted (header + messages).
    pub fn encoded_len(&self) -> usize {
        PACK_HEADER_SIZE + self.messages.len()
    }
}

/// Encodes a pack of already-encoded messages (for tests and the simulator). Checks the
/// same content rules as [`MessagePack::decode`].
pub fn encode_pack(messages: &[[u8; MESSAGE_SIZE]]) -> Result<Vec<u8>, DecodeError> {
    let count = u8::try_from(messages.len()).unwrap_or(u8::MAX);
    let mut out = Vec::with_capacity(PACK_HEADER_SIZE + messages.len() * MESSAGE_SIZE);
    out.push(0xF0 | crate::message::PROTOCOL_VERSION);
    out.push(MESSAGE_SIZE as u8);
    out.push(count);
    for m in messages {
        out.extend_from_slice(m);
    }
    MessagePack::decode(&out)?;
    Ok(out)
}

/// What a transport frame carries: one message (BLE legacy) or a pack.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload<'a> {
    Single(Message),
    Pack(MessagePack<'a>),
}

impl<'a> Payload<'a> {
    /// Decodes a transport payload: a pack when byte 0 says type 0xF, else one message.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        match bytes.first() {
            Some(b) if b >> 4 == MessageType::Pack as u8 => {
                MessagePack::decode(bytes).map(Payload::Pack)
            }
            _ => Message::decode(bytes).map(Payload::Single),
        }
    }

    /// Every message of the payload, each decoded or failed on its own.
    pub fn messages(&self) -> PayloadMessages<'a> {
        match self {
            Payload::Single(m) => PayloadMessages {
                single: Some(m.clone()),
                packed: [].chunks_exact(MESSAGE_SIZE),
            },
            Payload::Pack(p) => PayloadMessages {
                single: None,
                packed: p.messages.chunks_exact(MESSAGE_SIZE),
            },
        }
    }
}

/// Iterator over the messages of a [`Payload`].
#[derive(Debug, Clone)]
pub struct PayloadMessages<'a> {
    single: Option<Message>,
    packed: std::slice::ChunksExact<'a, u8>,
}

impl Iterator for PayloadMessages<'_> {
    type Item = Result<Message, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(m) = self.single.take() {
            return Some(Ok(m));
        }
        let chunk = self.packed.next()?;
        Some(match chunk.first_chunk::<MESSAGE_SIZE>() {
            Some(m) => Message::decode_array(m),
            None => Err(DecodeError::Truncated {
                what: "message",
                offset: 0,
                need: MESSAGE_SIZE,
                have: chunk.len(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn msg(t: u8) -> [u8; MESSAGE_SIZE] {
        let mut m = [0u8; MESSAGE_SIZE];
        m[0] = t << 4 | 2;
        m
    }

    #[test]
    fn header_errors_name_the_byte() {
        assert_eq!(
            MessagePack::decode(&[0xF0, 0x19]),
            Err(DecodeError::Truncated {
                what: "message pack header",
                offset: 0,
                need: 3,
                have: 2
            })
        );
        assert_eq!(
            MessagePack::decode(&[0xF0, 0x19, 0]),
            Err(DecodeError::PackCount(0))
        );
        assert_eq!(
            MessagePack::decode(&[0xF0, 0x19, 10]),
            Err(DecodeError::PackCount(10))
        );
        assert_eq!(
            MessagePack::decode(&[0xF0, 0x59, 1]),
            Err(DecodeError::PackMessageSize(0x59))
        );
        let e = MessagePack::decode(&[0xF0, 0x19, 2, 0, 0]).unwrap_err();
        assert_eq!(
            e,
            DecodeError::Truncated {
                what: "message pack",
                offset: 3,
                need: 50,
                have: 2
            }
        );
    }

    #[test]
    fn content_rules() {
        let ok = encode_pack(&[msg(0), msg(0), msg(1), msg(3), msg(4), msg(5)]).unwrap();
        let p = MessagePack::decode(&ok).unwrap();
        assert_eq!(p.len(), 6);
        assert_eq!(p.iter().filter(|m| m.is_ok()).count(), 6);
        assert_eq!(
            encode_pack(&[msg(1), msg(1)]),
            Err(DecodeError::PackDuplicate {
                kind: MessageType::Location,
                count: 2,
                max: 1
            })
        );
        assert_eq!(
            encode_pack(&[msg(1), msg(9)]),
            Err(DecodeError::PackForbiddenType {
                index: 1,
                offset: 28,
                msg_type: 9
            })
        );
        assert!(matches!(
            encode_pack(&[msg(0xF)]),
            Err(DecodeError::PackForbiddenType { msg_type: 0xF, .. })
        ));
    }

    #[test]
    fn payload_single_or_pack() {
        let single = msg(3);
        assert!(matches!(
            Payload::decode(&single),
            Ok(Payload::Single(Message::SelfId(_)))
        ));
        let pack = encode_pack(&[msg(3), msg(5)]).unwrap();
        let p = Payload::decode(&pack).unwrap();
        assert_eq!(p.messages().count(), 2);
    }
}
