//! Arbitrary bytes into the TAK Protocol v1 readers (mesh and stream): never a panic;
//! whatever reads encodes to a frame that reads to the same event, and writes as CoT XML
//! that reads (a TAK event relayed to an XML peer stays one well-formed event).
#![no_main]

use dronewatch_cot::{Event, parse_xml, tak, to_xml};
use libfuzzer_sys::fuzz_target;

fn relayable(event: &Event) {
    let xml = parse_xml(to_xml(event).as_bytes());
    assert!(xml.is_ok(), "{xml:?}");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = tak::decode_mesh(data) {
        assert_eq!(tak::decode_mesh(&tak::encode_mesh(&event)).as_ref(), Ok(&event));
        relayable(&event);
    }
    if let Ok(event) = tak::decode_stream(data) {
        assert_eq!(tak::decode_stream(&tak::encode_stream(&event)).as_ref(), Ok(&event));
        relayable(&event);
    }
});
