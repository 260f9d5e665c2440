//! Arbitrary text into the AVR line parser: never panics; what it accepts formats back to
//! a line that parses to the same frame.
#![no_main]

use dronewatch_adsb::{format_avr_line, parse_avr_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(frame) = parse_avr_line(&text) {
        assert_eq!(parse_avr_line(&format_avr_line(&frame)), Ok(frame));
    }
});
