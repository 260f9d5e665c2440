//! SAPIENT framing on TCP: every message is a 4-byte little-endian `u32` length followed by
//! that many bytes of serialized `SapientMessage` (as Apex's `message_io` and the Dstl test
//! harness's `ByteDataMessageBuilder.AddHeader` write it).
//!
//! Pure functions over [`BytesMut`]; the server wraps them for tokio.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// Default largest accepted message body. The biggest test-harness registration is a few
/// kilobytes; a megabyte leaves room for large registrations and Error packets while keeping
/// one connection from making us buffer gigabytes.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// A framing failure. After one, the stream has lost sync and the connection must close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "frame length prefix {len} exceeds the maximum message size of {max} bytes \
         (4-byte little-endian length expected)"
    )]
    TooLarge { len: u64, max: usize },
}

/// Splits a byte stream into message bodies and frames outgoing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCodec {
    max_frame_bytes: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl FrameCodec {
    /// A codec that refuses bodies longer than `max_frame_bytes` (capped at `u32::MAX`).
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes: max_frame_bytes.min(u32::MAX as usize),
        }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }

    /// The body length announced by the prefix at the start of `buf`, if 4 bytes are there.
    pub fn peek_len(buf: &[u8]) -> Option<u32> {
        let prefix: [u8; LENGTH_PREFIX_BYTES] = buf.get(..LENGTH_PREFIX_BYTES)?.try_into().ok()?;
        Some(u32::from_le_bytes(prefix))
    }

    /// Takes the next complete message body off the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed (and `buf` has reserved room for them). A
    /// prefix above the maximum is an error and leaves `buf` untouched.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(len) = Self::peek_len(buf) else {
            buf.reserve(LENGTH_PREFIX_BYTES);
            return Ok(None);
        };
        let len = len as usize;
        if len > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len: len as u64,
                max: self.max_frame_bytes,
            });
        }
        let total = LENGTH_PREFIX_BYTES + len;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        buf.advance(LENGTH_PREFIX_BYTES);
        Ok(Some(buf.split_to(len).freeze()))
    }

    /// Appends `payload` with its length prefix.
    pub fn encode_payload(&self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        if payload.len() > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len: payload.len() as u64,
                max: self.max_frame_bytes,
            });
        }
        dst.reserve(LENGTH_PREFIX_BYTES + payload.len());
        dst.put_u32_le(payload.len() as u32);
        dst.put_slice(payload);
        Ok(())
    }

    /// Appends `msg`, serialized, with its length prefix.
    pub fn encode<M: prost::Message>(&self, msg: &M, dst: &mut BytesMut) -> Result<(), FrameError> {
        let len = msg.encoded_len();
        if len > self.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len: len as u64,
                max: self.max_frame_bytes,
            });
        }
        dst.reserve(LENGTH_PREFIX_BYTES + len);
        dst.put_u32_le(len as u32);
        // Cannot fail: `dst` has the room reserved above.
        let _ = msg.encode(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_frames_and_waits_for_more() {
        let codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        codec.encode_payload(b"abc", &mut buf).unwrap();
        codec.encode_payload(b"", &mut buf).unwrap();
        assert_eq!(&buf[..4], &[3, 0, 0, 0]);
        let mut partial = BytesMut::from(&buf[..5]);
        assert_eq!(codec.decode(&mut partial), Ok(None));
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"abc"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b""[..]);
        assert_eq!(codec.decode(&mut buf), Ok(None));
    }

    #[test]
    fn refuses_oversized_prefix() {
        let codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&[17u8, 0, 0, 0, 1, 2][..]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert_eq!(err, FrameError::TooLarge { len: 17, max: 16 });
        assert!(err.to_string().contains("17"), "{err}");
        assert_eq!(buf.len(), 6);
        let mut out = BytesMut::new();
        assert!(codec.encode_payload(&[0; 17], &mut out).is_err());
        assert!(out.is_empty());
    }
}
