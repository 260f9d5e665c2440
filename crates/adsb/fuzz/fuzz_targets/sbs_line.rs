//! Arbitrary text into the SBS-1 line parser and then the aircraft table: never panics, and
//! any observation it yields is valid.
#![no_main]

use dronewatch_adsb::{AircraftTable, TableConfig, parse_sbs_line};
use dronewatch_model::{SensorId, TimeNs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut table = AircraftTable::new(TableConfig::new(SensorId::new("fuzz")));
    for (i, line) in text.split('\n').enumerate() {
        if let Ok(Some(m)) = parse_sbs_line(line) {
            if let Some(o) = table.ingest_sbs(TimeNs(i as i64 * 500_000_000), &m) {
                assert!(o.measurement.validate().is_ok());
            }
        }
    }
});
