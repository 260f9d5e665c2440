//! A TCP stream of CoT cut into events: XML events back to back (each may carry its
//! `<?xml?>` header; whitespace between them is fine) or TAK v1 stream frames, which begin
//! with `0xbf`. Memory stays bounded: a frame over the limit is dropped with an error, and
//! bytes that are neither are skipped up to the next `<` or `0xbf`.

use crate::tak::{MAGIC, decode_stream, stream_frame_len};
use crate::{CotError, Event, parse_xml};

const END_TAG: &[u8] = b"</event>";

#[derive(Debug)]
pub struct StreamSplitter {
    buf: Vec<u8>,
    max_frame_bytes: usize,
    /// How far `buf` was searched for `</event>` without finding it.
    scanned: usize,
    /// Bytes of an oversized TAK frame still to drop.
    discard: usize,
    /// Dropping an oversized XML event up to its `</event>`.
    skip_xml: bool,
}

impl StreamSplitter {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame_bytes,
            scanned: 0,
            discard: 0,
            skip_xml: false,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let skip = self.discard.min(bytes.len());
        self.discard -= skip;
        self.buf.extend_from_slice(&bytes[skip..]);
    }

    /// The next complete event, or the error of a bad one (the stream goes on after it);
    /// `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Option<Result<Event, CotError>> {
        if self.skip_xml {
            match find(&self.buf, END_TAG, 0) {
                Some(i) => {
                    self.buf.drain(..i + END_TAG.len());
                    self.skip_xml = false;
                }
                None => {
                    // Keep what could be the start of `</event>`.
                    let keep = self.buf.len().min(END_TAG.len() - 1);
                    self.buf.drain(..self.buf.len() - keep);
                    return None;
                }
            }
        }
        let start = self
            .buf
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != 0);
        let Some(start) = start else {
            self.buf.clear();
            return None;
        };
        if start > 0 {
            self.buf.drain(..start);
            self.scanned = 0;
        }
        match self.buf[0] {
            MAGIC => self.tak_frame(),
            b'<' => self.xml_event(),
            _ => {
                let n = self
                    .buf
                    .iter()
                    .position(|b| *b == b'<' || *b == MAGIC)
                    .unwrap_or(self.buf.len());
                self.buf.drain(..n);
                self.scanned = 0;
                Some(Err(CotError::Garbage(n)))
            }
        }
    }

    fn tak_frame(&mut self) -> Option<Result<Event, CotError>> {
        let len = match stream_frame_len(&self.buf) {
            Ok(Some(len)) => len,
            Ok(None) => return None,
            Err(e) => {
                self.buf.drain(..1);
                return Some(Err(e));
            }
        };
        if len > self.max_frame_bytes {
            let have = self.buf.len().min(len);
            self.buf.drain(..have);
            self.discard = len - have;
            return Some(Err(CotError::TooLarge {
                len,
                max: self.max_frame_bytes,
            }));
        }
        if self.buf.len() < len {
            return None;
        }
        let frame: Vec<u8> = self.buf.drain(..len).collect();
        Some(decode_stream(&frame))
    }

    fn xml_event(&mut self) -> Option<Result<Event, CotError>> {
        let from = self.scanned.saturating_sub(END_TAG.len() - 1);
        match find(&self.buf, END_TAG, from) {
            Some(i) => {
                let frame: Vec<u8> = self.buf.drain(..i + END_TAG.len()).collect();
                self.scanned = 0;
                if frame.len() > self.max_frame_bytes {
                    return Some(Err(CotError::TooLarge {
                        len: frame.len(),
                        max: self.max_frame_bytes,
                    }));
                }
                Some(parse_xml(&frame))
            }
            None if self.buf.len() > self.max_frame_bytes => {
                let len = self.buf.len();
                self.buf.clear();
                self.scanned = 0;
                self.skip_xml = true;
                Some(Err(CotError::TooLarge {
                    len,
                    max: self.max_frame_bytes,
                }))
            }
            None => {
                self.scanned = self.buf.len();
                None
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{tak, to_xml};

    fn event(uid: &str) -> Event {
        Event {
            uid: uid.into(),
            cot_type: "a-u-A".into(),
            how: "m-f".into(),
            ..Event::default()
        }
    }

    fn drain(s: &mut StreamSplitter) -> Vec<Result<Event, CotError>> {
        std::iter::from_fn(|| s.next_event()).collect()
    }

    #[test]
    fn xml_and_tak_frames_come_out_whole_whatever_the_chunks() {
        let mut bytes = to_xml(&event("a")).into_bytes();
        bytes.extend_from_slice(b"\n\n");
        bytes.extend(tak::encode_stream(&event("b")));
        bytes.extend(to_xml(&event("c")).into_bytes());
        for chunk in [1, 2, 7, 64, bytes.len()] {
            let mut s = StreamSplitter::new(1 << 16);
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                s.push(piece);
                got.extend(drain(&mut s));
            }
            let uids: Vec<String> = got.into_iter().map(|e| e.unwrap().uid).collect();
            assert_eq!(uids, ["a", "b", "c"], "chunks of {chunk}");
        }
    }

    #[test]
    fn garbage_and_oversized_frames_cost_an_error_each_not_the_events_after() {
        let mut s = StreamSplitter::new(600);
        s.push(b"GET / HTTP/1.1\r\n");
        s.push(to_xml(&event("a")).as_bytes());
        let mut big = event("big");
        big.detail.xml = "<x/>".repeat(400);
        s.push(to_xml(&big).as_bytes());
        s.push(&tak::encode_stream(&big));
        s.push(to_xml(&event("b")).as_bytes());
        let got = drain(&mut s);
        let oks: Vec<String> = got
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|e| e.uid.clone())
            .collect();
        assert_eq!(oks, ["a", "b"]);
        assert!(matches!(got[0], Err(CotError::Garbage(16))), "{got:?}");
        assert_eq!(
            got.iter()
                .filter(|r| matches!(r, Err(CotError::TooLarge { .. })))
                .count(),
            2
        );
        assert!(s.buf.is_empty());
    }
}
