//! Arbitrary bytes into the single-message decoder: never panics; whatever decodes and
//! re-encodes has a stable canonical form and serializes.
#![no_main]

use dronewatch_remoteid::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        if let Ok(enc) = m.encode() {
            let again = Message::decode(&enc).expect("an encoded message decodes");
            assert_eq!(again.encode().ok(), Some(enc));
        }
        let _ = serde_json::to_string(&m).expect("serializes");
    }
});
