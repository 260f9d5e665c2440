//! Arbitrary bytes into the detections.jsonl parsers: they must never panic.
#![no_main]

use std::io::Cursor;

use dronewatch_model::TimeNs;
use dronewatch_sim::{DetectionReader, parse_detection_line};
use libfuzzer_sys::fuzz_target;

/// 2025-06-01T12:00:00Z
const EPOCH: TimeNs = TimeNs(1_748_779_200 * TimeNs::NS_PER_S);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(obs) = parse_detection_line(&text, EPOCH) {
        assert!(obs.measurement.validate().is_ok());
    }
    let mut last = 0;
    for (line_no, _) in DetectionReader::new(Cursor::new(data), EPOCH) {
        assert!(line_no > last);
        last = line_no;
    }
});
