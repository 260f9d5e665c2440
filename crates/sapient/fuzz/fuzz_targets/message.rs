//! Arbitrary bytes as a v2.0 and a v1.0 SapientMessage: decoding, validation, conversion and
//! JSON rendering must never panic; a valid message re-encodes to one that is still valid.
#![no_main]

use dronewatch_sapient::{convert, json, v1, v2, validate, validate_v1};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = v2::SapientMessage::decode(data) {
        let verdict = validate(&m);
        let _ = json::v2_to_json(&m);
        let _ = convert::downgrade(&m);
        if verdict.is_ok() {
            let again = v2::SapientMessage::decode(m.encode_to_vec().as_slice());
            assert!(again.is_ok_and(|a| validate(&a).is_ok()));
        }
    }
    if let Ok(m) = v1::SapientMessage::decode(data) {
        let _ = validate_v1(&m);
        let _ = json::v1_to_json(&m);
        let _ = convert::upgrade(&m);
    }
});
