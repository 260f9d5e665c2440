//! Arbitrary bytes, cut into arbitrary chunks, into the incremental Beast decoder: it must
//! never panic, must give the same output whatever the chunking, and every frame it yields
//! must re-encode to bytes that decode to the same frame.
#![no_main]

use dronewatch_adsb::{BeastDecoder, encode_beast};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: chunk size for the second pass.
    let (step, stream) = match data.split_first() {
        Some((s, rest)) => (usize::from(*s).max(1), rest),
        None => return,
    };
    let whole: Vec<_> = BeastDecoder::new().feed(stream).collect();
    let mut dec = BeastDecoder::new();
    let mut chunked = Vec::new();
    for c in stream.chunks(step) {
        chunked.extend(dec.feed(c));
    }
    assert_eq!(whole, chunked);
    for frame in whole.into_iter().flatten() {
        let mut wire = Vec::new();
        encode_beast(&frame, &mut wire);
        let again: Vec<_> = BeastDecoder::new().feed(&wire).collect();
        assert_eq!(again, vec![Ok(frame)]);
    }
});
