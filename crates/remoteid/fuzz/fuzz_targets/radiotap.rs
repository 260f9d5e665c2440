//! Arbitrary bytes as a radiotap + 802.11 packet: never panics; the 802.11 frame it
//! returns lies inside the input.
#![no_main]

use dronewatch_remoteid::transport::radiotap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, frame)) = radiotap::split(data) {
        assert!(frame.len() <= data.len());
    }
    let _ = radiotap::parse(data);
});
