//! Mode-S Beast binary framing (the dump1090/readsb port 30005 format).
//!
//! A frame is `0x1a`, a type byte (`'1'` Mode A/C, 2 bytes; `'2'` Mode S short, 7 bytes;
//! `'3'` Mode S long, 14 bytes), a 6-byte big-endian 12 MHz MLAT counter, one signal byte,
//! then the payload. Every `0x1a` after the type byte is sent twice, so a lone `0x1a`
//! always starts a frame: that is how the decoder finds its way back after garbage.
//!
//! [`BeastDecoder`] is incremental: feed it whatever a TCP read returned, at any boundary.

use std::collections::VecDeque;

use crate::frame::{FrameKind, MLAT_TICKS_MAX, RawFrame};

/// The Beast escape / sync byte.
pub const ESC: u8 = 0x1a;

/// Bytes between the type byte and the payload: 6 MLAT counter + 1 signal.
const HEADER_LEN: usize = 7;

/// Why some bytes of a Beast stream did not make a frame. The stream carries on after each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BeastError {
    #[error("beast: {skipped} byte(s) outside any frame before the next 0x1a sync")]
    Unsynced { skipped: usize },
    #[error("beast: unknown type byte 0x{byte:02x} after 0x1a (expected '1', '2' or '3')")]
    UnknownType { byte: u8 },
    #[error(
        "beast: type '{}' frame cut short by a new 0x1a sync after {got} of {need} bytes",
        char::from(*ty)
    )]
    Truncated { ty: u8, got: usize, need: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Looking for a `0x1a`.
    Hunt,
    /// Saw a `0x1a` outside a frame: the next byte is a type.
    Sync,
    /// Inside a frame body.
    Body,
    /// Inside a frame body, just after a `0x1a`: must be doubled, or a new frame starts.
    BodyEsc,
}

/// Incremental Beast stream decoder. Output is bounded by what one [`BeastDecoder::feed`]
/// call produces; the decoder itself holds at most one partial frame.
#[derive(Debug, Clone)]
pub struct BeastDecoder {
    state: State,
    kind: FrameKind,
    body: [u8; HEADER_LEN + 14],
    got: usize,
    skipped: usize,
    /// Bytes after an unknown type belong to that unknown frame: skip them quietly.
    quiet: bool,
    out: VecDeque<Result<RawFrame, BeastError>>,
}

impl Default for BeastDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BeastDecoder {
    pub fn new() -> Self {
        Self {
            state: State::Hunt,
            kind: FrameKind::ModeSLong,
            body: [0; HEADER_LEN + 14],
            got: 0,
            skipped: 0,
            quiet: false,
            out: VecDeque::new(),
        }
    }

    /// Decodes `chunk` (any slice of the stream) and drains every frame or error it completed.
    pub fn feed(
        &mut self,
        chunk: &[u8],
    ) -> std::collections::vec_deque::Drain<'_, Result<RawFrame, BeastError>> {
        self.push(chunk);
        self.out.drain(..)
    }

    /// Decodes `chunk` and queues the results for [`BeastDecoder::pop`].
    pub fn push(&mut self, chunk: &[u8]) {
        for &b in chunk {
            self.byte(b);
        }
    }

    /// The next decoded frame or error, oldest first.
    pub fn pop(&mut self) -> Option<Result<RawFrame, BeastError>> {
        self.out.pop_front()
    }

    /// True while a frame has started but not finished (the stream ended mid-frame if this
    /// is still true at the end).
    pub fn in_frame(&self) -> bool {
        matches!(self.state, State::Body | State::BodyEsc | State::Sync)
    }

    fn need(&self) -> usize {
        HEADER_LEN + self.kind.len_bytes()
    }

    fn byte(&mut self, b: u8) {
        match self.state {
            State::Hunt => {
                if b == ESC {
                    self.state = State::Sync;
                } else {
                    self.skipped += 1;
                }
            }
            State::Sync => self.start(b),
            State::Body => {
                if b == ESC {
                    self.state = State::BodyEsc;
                } else {
                    self.store(b);
                }
            }
            State::BodyEsc => {
                if b == ESC {
                    self.state = State::Body;
                    self.store(ESC);
                } else {
                    // A lone 0x1a inside a body: the sender restarted (or we lost bytes).
                    self.out.push_back(Err(BeastError::Truncated {
                        ty: self.kind.beast_type(),
                        got: self.got,
                        need: self.need(),
                    }));
                    self.start(b);
                }
            }
        }
    }

    /// `b` follows a sync `0x1a`.
    fn start(&mut self, b: u8) {
        if let Some(kind) = FrameKind::from_beast_type(b) {
            self.flush_skipped();
            self.quiet = false;
            self.kind = kind;
            self.got = 0;
            self.state = State::Body;
        } else if b == ESC {
            // A doubled 0x1a outside any frame: data from a frame we never saw start.
            self.skipped += 2;
            self.state = State::Hunt;
        } else {
            self.flush_skipped();
            self.out.push_back(Err(BeastError::UnknownType { byte: b }));
            self.quiet = true;
            self.state = State::Hunt;
        }
    }

    fn flush_skipped(&mut self) {
        if self.skipped > 0 && !self.quiet {
            self.out.push_back(Err(BeastError::Unsynced {
                skipped: self.skipped,
            }));
        }
        self.skipped = 0;
    }

    fn store(&mut self, b: u8) {
        if let Some(slot) = self.body.get_mut(self.got) {
            *slot = b;
        }
        self.got += 1;
        if self.got >= self.need() {
            self.out.push_back(Ok(self.finish()));
            self.state = State::Hunt;
        }
    }

    fn finish(&self) -> RawFrame {
        let mut ticks: u64 = 0;
        for &b in self.body.iter().take(6) {
            ticks = (ticks << 8) | u64::from(b);
        }
        let signal = self.body.get(6).copied().unwrap_or(0);
        let mut bytes = [0u8; 14];
        let payload = self
            .body
            .iter()
            .skip(HEADER_LEN)
            .take(self.kind.len_bytes());
        for (dst, src) in bytes.iter_mut().zip(payload) {
            *dst = *src;
        }
        RawFrame {
            kind: self.kind,
            bytes,
            mlat_ticks: Some(ticks),
            signal: Some(signal),
        }
    }
}

/// Appends `frame` in Beast framing to `out`, doubling every `0x1a`. A missing MLAT counter
/// or signal is sent as 0; the counter is cut to its 48 bits.
pub fn encode_beast(frame: &RawFrame, out: &mut Vec<u8>) {
    out.push(ESC);
    out.push(frame.kind().beast_type());
    let ticks = frame.mlat_ticks.unwrap_or(0) & MLAT_TICKS_MAX;
    let header = ticks.to_be_bytes();
    let signal = [frame.signal.unwrap_or(0)];
    let body = header.iter().skip(2).chain(&signal).chain(frame.payload());
    for &b in body {
        out.push(b);
        if b == ESC {
            out.push(ESC);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn frame(payload: &[u8], ticks: u64, signal: u8) -> RawFrame {
        let mut f = RawFrame::new(payload).unwrap();
        f.mlat_ticks = Some(ticks);
        f.signal = Some(signal);
        f
    }

    #[test]
    fn decodes_a_long_frame_with_escapes() {
        // Counter and payload both hold 0x1a, which must come out single.
        let f = frame(
            &[
                0x8d, 0x1a, 0x62, 0x57, 0x58, 0x1a, 0x1a, 0, 0, 0, 0, 0, 0, 0x1a,
            ],
            0x1a_0000_1a1a,
            0x1a,
        );
        let mut wire = Vec::new();
        encode_beast(&f, &mut wire);
        assert_eq!(wire.iter().filter(|b| **b == ESC).count(), 1 + 2 * 8);
        let mut d = BeastDecoder::new();
        let got: Vec<_> = d.feed(&wire).collect();
        assert_eq!(got, vec![Ok(f)]);
        assert!(!d.in_frame());
    }

    #[test]
    fn garbage_then_frame_reports_the_skip() {
        let f = frame(&[0x5d, 1, 2, 3, 4, 5, 6], 7, 9);
        let mut wire = vec![1, 2, 3];
        encode_beast(&f, &mut wire);
        let got: Vec<_> = BeastDecoder::new().feed(&wire).collect();
        assert_eq!(got, vec![Err(BeastError::Unsynced { skipped: 3 }), Ok(f)]);
    }

    #[test]
    fn unknown_type_is_skipped_quietly_until_the_next_frame() {
        let f = frame(&[0x12, 0x34], 1, 2);
        let mut wire = vec![ESC, b'4', 9, 9, 9, 9];
        encode_beast(&f, &mut wire);
        let got: Vec<_> = BeastDecoder::new().feed(&wire).collect();
        assert_eq!(
            got,
            vec![Err(BeastError::UnknownType { byte: b'4' }), Ok(f)]
        );
    }

    #[test]
    fn a_new_sync_inside_a_body_truncates_it() {
        let f = frame(&[0x5d, 1, 2, 3, 4, 5, 6], 7, 9);
        let mut wire = vec![ESC, b'3', 0, 0, 0];
        encode_beast(&f, &mut wire);
        let got: Vec<_> = BeastDecoder::new().feed(&wire).collect();
        assert_eq!(
            got,
            vec![
                Err(BeastError::Truncated {
                    ty: b'3',
                    got: 3,
                    need: 21
                }),
                Ok(f)
            ]
        );
    }

    fn arb_frame() -> impl Strategy<Value = RawFrame> {
        (
            prop_oneof![Just(2usize), Just(7), Just(14)],
            proptest::collection::vec(prop_oneof![Just(ESC), any::<u8>()], 14),
            0..=MLAT_TICKS_MAX,
            prop_oneof![Just(ESC), any::<u8>()],
        )
            .prop_map(|(n, bytes, ticks, signal)| frame(&bytes[..n], ticks, signal))
    }

    proptest! {
        #[test]
        fn round_trip_with_arbitrary_chunking(
            frames in proptest::collection::vec(arb_frame(), 0..40),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let mut wire = Vec::new();
            for f in &frames {
                encode_beast(f, &mut wire);
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
            cuts.push(0);
            cuts.push(wire.len());
            cuts.sort_unstable();
            let mut d = BeastDecoder::new();
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                got.extend(d.feed(&wire[w[0]..w[1]]));
            }
            let want: Vec<_> = frames.into_iter().map(Ok).collect();
            prop_assert_eq!(got, want);
            prop_assert!(!d.in_frame());
        }

        #[test]
        fn resyncs_after_garbage_without_sync_bytes(
            garbage in proptest::collection::vec(any::<u8>().prop_filter("no sync", |b| *b != ESC), 1..64),
            frames in proptest::collection::vec(arb_frame(), 1..10),
        ) {
            let mut wire = garbage.clone();
            for f in &frames {
                encode_beast(f, &mut wire);
            }
            let got: Vec<_> = BeastDecoder::new().feed(&wire).collect();
            let mut want = vec![Err(BeastError::Unsynced { skipped: garbage.len() })];
            want.extend(frames.into_iter().map(Ok));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn never_panics_and_output_is_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut d = BeastDecoder::new();
            let n = d.feed(&bytes).count();
            // Every result consumes at least one input byte... except Unsynced, which is
            // always followed by something that consumed its sync byte.
            prop_assert!(n <= bytes.len());
        }
    }
}
