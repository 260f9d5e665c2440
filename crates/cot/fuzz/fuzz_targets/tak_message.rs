//! Arbitrary bytes into the TAK Protocol v1 readers (mesh and stream): never a panic, and
//! whatever reads encodes to a frame that reads to the same event.
#![no_main]

use dronewatch_cot::tak;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = tak::decode_mesh(data) {
        assert_eq!(tak::decode_mesh(&tak::encode_mesh(&event)).as_ref(), Ok(&event));
    }
    if let Ok(event) = tak::decode_stream(data) {
        assert_eq!(tak::decode_stream(&tak::encode_stream(&event)).as_ref(), Ok(&event));
    }
});
