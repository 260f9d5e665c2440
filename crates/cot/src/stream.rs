//! A TCP stream of CoT cut into events: XML events back to back (each may carry its
//! `<?xml?>` header; whitespace between them is fine) or TAK v1 stream frames, which begin
//! with `0xbf`. Memory stays bounded: a frame over the limit is dropped with an error, and
//! bytes that are neither are dropped as they come, with one error per run of them.
//!
//! Resync is by pattern, as a stream has no other: an XML frame starts at `<?xml`, `<event`
//! or `<!--`; a TAK frame is `0xbf`, a length and then a `TakMessage` field (tag byte 0x0a or
//! 0x12). An event cut off by the next one's `<?xml` or `<event`, or by a `0xbf` after an
//! ASCII byte (never UTF-8 text), costs the cut one only. A
//! literal `<event` in a comment or CDATA inside `<detail>` would be taken for such a cut.

use crate::tak::{MAGIC, decode_stream, stream_frame_len};
use crate::{CotError, Event, parse_xml};

const END_TAG: &[u8] = b"</event>";
const XML_DECL: &[u8] = b"<?xml";
const EVENT_TAG: &[u8] = b"<event";
/// The first byte of a `TakMessage`'s fields 1 (takControl) or 2 (cotEvent).
const TAK_FIELD_TAGS: [u8; 2] = [0x0a, 0x12];

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
    /// Garbage dropped so far in the current run, reported once when the run ends.
    garbage: usize,
}

/// What the bytes at the head of the buffer are.
enum Head {
    Xml,
    Tak,
    Garbage,
    /// Too few bytes to tell.
    NeedMore,
}

impl StreamSplitter {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_frame_bytes,
            scanned: 0,
            discard: 0,
            skip_xml: false,
            garbage: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let skip = self.discard.min(bytes.len());
        self.discard -= skip;
        self.buf.extend_from_slice(&bytes[skip..]);
    }

    /// Bytes held waiting for the rest of a frame: at most `max_frame_bytes` once
    /// [`StreamSplitter::next_event`] has returned `None`.
    pub fn buffered(&self) -> usize {
        self.buf.len()
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
            if self.garbage > 0 {
                self.garbage += self.buf.len();
            }
            self.buf.clear();
            return None;
        };
        if start > 0 {
            self.buf.drain(..start);
            self.scanned = 0;
            if self.garbage > 0 {
                self.garbage += start; // whitespace inside a run of garbage is part of it
            }
        }
        match head(&self.buf) {
            Head::NeedMore => None,
            Head::Garbage => self.skip_garbage(),
            // A run of garbage is reported before the frame that ends it.
            Head::Xml | Head::Tak if self.garbage > 0 => {
                Some(Err(CotError::Garbage(std::mem::take(&mut self.garbage))))
            }
            Head::Tak => self.tak_frame(),
            Head::Xml => self.xml_event(),
        }
    }

    /// Drops bytes up to the next frame start; the error once that start is seen.
    fn skip_garbage(&mut self) -> Option<Result<Event, CotError>> {
        let mut end = self.buf.len();
        let mut found = false;
        for i in 1..self.buf.len() {
            if self.buf[i] != b'<' && self.buf[i] != MAGIC {
                continue;
            }
            match head(&self.buf[i..]) {
                Head::Garbage => continue,
                Head::NeedMore => end = i,
                Head::Xml | Head::Tak => (end, found) = (i, true),
            }
            break;
        }
        self.buf.drain(..end);
        self.scanned = 0;
        self.garbage += end;
        found.then(|| Err(CotError::Garbage(std::mem::take(&mut self.garbage))))
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
        let end = find(&self.buf, END_TAG, from).map(|i| i + END_TAG.len());
        // 0xbf after an ASCII byte is no UTF-8 text: a TAK frame after an event cut short.
        let binary = self.buf[from.saturating_sub(1)..end.unwrap_or(self.buf.len())]
            .windows(2)
            .position(|w| w[0].is_ascii() && w[1] == MAGIC)
            .map(|i| from.saturating_sub(1) + i + 1);
        if let Some(cut) = binary {
            self.buf.drain(..cut);
            self.scanned = 0;
            return Some(Err(CotError::Truncated));
        }
        let Some(end) = end else {
            if self.buf.len() > self.max_frame_bytes {
                let len = self.buf.len();
                self.buf.clear();
                self.scanned = 0;
                self.skip_xml = true;
                return Some(Err(CotError::TooLarge {
                    len,
                    max: self.max_frame_bytes,
                }));
            }
            self.scanned = self.buf.len();
            return None;
        };
        self.scanned = 0;
        if let Some(cut) = last_start(&self.buf[..end]) {
            // The head is an event cut short by the one at `cut`; that one is still whole.
            self.buf.drain(..cut);
            return Some(Err(CotError::Truncated));
        }
        let frame: Vec<u8> = self.buf.drain(..end).collect();
        if frame.len() > self.max_frame_bytes {
            return Some(Err(CotError::TooLarge {
                len: frame.len(),
                max: self.max_frame_bytes,
            }));
        }
        Some(parse_xml(&frame))
    }
}

/// Classifies the bytes at `b[0]` (not whitespace).
fn head(b: &[u8]) -> Head {
    match b.first() {
        Some(&MAGIC) => tak_head(b),
        Some(b'<') => {
            for start in [XML_DECL, b"<!--"] {
                if b.starts_with(start) {
                    return Head::Xml;
                }
                if start.starts_with(b) {
                    return Head::NeedMore;
                }
            }
            match b.get(EVENT_TAG.len()) {
                _ if !b.starts_with(&EVENT_TAG[..b.len().min(EVENT_TAG.len())]) => Head::Garbage,
                None => Head::NeedMore,
                Some(&c) if ends_name(c) => Head::Xml,
                Some(_) => Head::Garbage,
            }
        }
        _ => Head::Garbage,
    }
}

/// `0xbf`, a length, then a `TakMessage` field: anything else is a stray `0xbf`.
fn tak_head(b: &[u8]) -> Head {
    let header = match b.iter().skip(1).take(10).position(|x| x & 0x80 == 0) {
        Some(i) => i + 2,
        None if b.len() > 11 => return Head::Tak, // a bad length: reported as such
        None => return Head::NeedMore,
    };
    match (b.get(1), b.get(header)) {
        (Some(0), _) => Head::Tak, // an empty message: reported as such
        (_, None) => Head::NeedMore,
        (_, Some(tag)) if TAK_FIELD_TAGS.contains(tag) => Head::Tak,
        _ => Head::Garbage,
    }
}

fn ends_name(c: u8) -> bool {
    c.is_ascii_whitespace() || c == b'>' || c == b'/'
}

/// Where the last event in `frame` starts (its `<?xml` if it has one), when that is not the
/// start of `frame`: the start of `frame` was cut short.
fn last_start(frame: &[u8]) -> Option<usize> {
    let tags: Vec<usize> = (0..frame.len())
        .filter(|&i| {
            frame[i..].starts_with(EVENT_TAG)
                && frame
                    .get(i + EVENT_TAG.len())
                    .is_some_and(|&c| ends_name(c))
        })
        .collect();
    let &last = tags.last()?;
    let before = tags.len().checked_sub(2).map_or(0, |j| tags[j] + 1);
    let decls: Vec<usize> = (0..last)
        .filter(|&i| frame[i..].starts_with(XML_DECL))
        .collect();
    let start = decls
        .last()
        .copied()
        .filter(|&d| d >= before)
        .unwrap_or(last);
    // One event with a comment or a header before its tag is whole.
    let cut = tags.len() > 1 || decls.len() > 1 || (decls.len() == 1 && start > 0);
    (cut && start > 0).then_some(start)
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

    #[test]
    fn a_run_of_garbage_costs_one_error_however_it_arrives() {
        let mut bytes = b"<x> <y <eventually 12 \xbf\x05zz ".to_vec();
        let garbage = bytes.len();
        bytes.extend(to_xml(&event("a")).into_bytes());
        for chunk in [1, 3, bytes.len()] {
            let mut s = StreamSplitter::new(1 << 16);
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                s.push(piece);
                got.extend(drain(&mut s));
            }
            assert_eq!(got.len(), 2, "chunks of {chunk}: {got:?}");
            assert_eq!(got[0], Err(CotError::Garbage(garbage)), "chunks of {chunk}");
            assert_eq!(got[1].as_ref().unwrap().uid, "a");
        }
    }

    #[test]
    fn an_event_cut_short_by_the_next_costs_only_itself() {
        let whole = to_xml(&event("b"));
        let cut = &to_xml(&event("a"))[..120];
        for (before, after) in [
            (cut.to_owned(), whole.clone()),
            // No header on the next one, and one on its own.
            (cut.to_owned(), whole.replace(XML_HEADER, "")),
            (XML_HEADER.to_owned(), whole.clone()),
        ] {
            let mut s = StreamSplitter::new(1 << 16);
            s.push(before.as_bytes());
            s.push(after.as_bytes());
            let got = drain(&mut s);
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(got[0], Err(CotError::Truncated));
            assert_eq!(got[1].as_ref().unwrap().uid, "b");
        }
        // Nor by a TAK frame, which cannot be UTF-8 text.
        let mut s = StreamSplitter::new(1 << 16);
        s.push(cut.as_bytes());
        s.push(&tak::encode_stream(&event("c")));
        let got = drain(&mut s);
        assert_eq!(got[0], Err(CotError::Truncated));
        assert_eq!(got[1].as_ref().unwrap().uid, "c");
        // A comment or a header before the tag is part of the event.
        let mut s = StreamSplitter::new(1 << 16);
        s.push(format!("<!-- hello -->{}", whole.replace(XML_HEADER, "")).as_bytes());
        assert_eq!(drain(&mut s)[0].as_ref().unwrap().uid, "b");
    }

    const XML_HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>";
}
