//! Arbitrary bytes into the aircraft.json parser and then the aircraft table: never panics,
//! and any observation it yields is valid.
#![no_main]

use dronewatch_adsb::{AircraftTable, TableConfig, parse_aircraft_json};
use dronewatch_model::{SensorId, TimeNs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = parse_aircraft_json(data) else {
        return;
    };
    let mut table = AircraftTable::new(TableConfig::new(SensorId::new("fuzz")));
    // `now` may be anything a float can be; keep it where TimeNs can hold it.
    let now = if doc.now_unix_s.abs() < 9e9 {
        doc.now_unix_s
    } else {
        0.0
    };
    for a in &doc.aircraft {
        if let Some(o) = table.ingest_json(TimeNs::from_secs_f64(now), a) {
            assert!(o.measurement.validate().is_ok());
        }
    }
});
