//! Arbitrary bytes as 802.11 elements and as a whole 802.11 management frame: never
//! panics.
#![no_main]

use dronewatch_remoteid::transport::wifi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, payload))) = wifi::find_vendor_element(data) {
        assert!(payload.len() < data.len());
    }
    // As a beacon: frame control 0x80 0x00 then the fuzz bytes.
    let mut frame = vec![0x80, 0x00];
    frame.extend_from_slice(data);
    let _ = wifi::parse_80211(&frame);
    let _ = wifi::parse_80211(data);
});
