//! Arbitrary bytes, in arbitrary chunks (the first byte sets their size), into the stream
//! splitter: never a panic, and never more than a frame's worth held.
#![no_main]

use dronewatch_cot::StreamSplitter;
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let mut s = StreamSplitter::new(MAX);
    for piece in rest.chunks(usize::from(chunk).max(1)) {
        s.push(piece);
        while s.next_event().is_some() {}
        assert!(s.buffered() <= MAX, "{} bytes held", s.buffered());
    }
});
