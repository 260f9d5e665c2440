//! Arbitrary bytes as NaN attributes and as a NaN service discovery action frame body:
//! never panics.
#![no_main]

use dronewatch_remoteid::transport::wifi;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wifi::find_nan_service_info(data);
    // Management action frame header + public action, vendor specific, WFA NaN.
    let mut frame = vec![0xd0, 0x00, 0, 0, 0x51, 0x6f, 0x9a, 0x01, 0, 0];
    frame.extend([0x02, 0, 0, 0, 0, 1, 0x50, 0x6f, 0x9a, 0x01, 0, 0xff, 0, 0]);
    frame.extend([4, 9, 0x50, 0x6f, 0x9a, 0x13]);
    frame.extend_from_slice(data);
    let _ = wifi::parse_80211(&frame);
});
