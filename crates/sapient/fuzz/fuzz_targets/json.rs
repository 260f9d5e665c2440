//! Arbitrary text as proto3 JSON: parsing must never panic, and whatever parses renders back
//! to JSON that parses to the same message.
#![no_main]

use dronewatch_sapient::{json, validate, validate_v1};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = json::v2_from_json(&text) {
        let _ = validate(&m);
        let rendered = json::v2_to_json(&m).expect("a parsed message renders");
        let back = json::v2_from_json(&rendered.to_string()).expect("rendered JSON parses");
        // Compare the wire form: NaN fields make `==` on the structs fail.
        assert_eq!(back.encode_to_vec(), m.encode_to_vec());
    }
    if let Ok(m) = json::v1_from_json(&text) {
        let _ = validate_v1(&m);
    }
});
