//! Arbitrary bytes into the sensors.json parser: it must never panic.
#![no_main]

use dronewatch_sim::parse_sensors_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_sensors_json(&String::from_utf8_lossy(data));
});
