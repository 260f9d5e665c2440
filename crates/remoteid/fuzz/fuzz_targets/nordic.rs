//! Arbitrary bytes as an nRF Sniffer for Bluetooth LE packet: never panics.
#![no_main]

use dronewatch_remoteid::transport::nordic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(f)) = nordic::parse(data) {
        assert!(f.payload.len() < data.len());
    }
});
