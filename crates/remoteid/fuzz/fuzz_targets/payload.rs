//! Arbitrary bytes as a transport payload (one message or a message pack): never panics,
//! and an accepted pack never claims bytes it does not have.
#![no_main]

use dronewatch_remoteid::{MessagePack, Payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Payload::decode(data) {
        for m in p.messages() {
            let _ = m;
        }
    }
    if let Ok(pack) = MessagePack::decode(data) {
        assert!(pack.encoded_len() <= data.len());
        assert!((1..=9).contains(&pack.len()));
        assert_eq!(pack.iter().count(), pack.len());
    }
});
