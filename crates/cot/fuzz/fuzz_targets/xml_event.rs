//! Arbitrary bytes into the CoT XML reader: never a panic, and whatever reads writes back to
//! XML and TAK v1 that read to the same event.
#![no_main]

use dronewatch_cot::{parse_xml, tak, to_xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = parse_xml(data) else {
        return;
    };
    let _ = event.detail.remarks();
    let _ = event.detail.element_attrs("link");
    let _ = dronewatch_cot::types::sidc_2525b(&event.cot_type);
    assert_eq!(parse_xml(to_xml(&event).as_bytes()).as_ref(), Ok(&event));
    if event.time_unix_ms >= 0 && event.start_unix_ms >= 0 && event.stale_unix_ms >= 0 {
        assert_eq!(tak::decode_mesh(&tak::encode_mesh(&event)).as_ref(), Ok(&event));
    }
});
