//! Arbitrary bytes into the DroneID payload parser and mapping: never a panic, and whatever
//! parses re-encodes to a payload that parses to the same packet.
#![no_main]

use dronewatch_dji::{DroneIdPacket, MapOptions, Reception, TimeSource, to_observation};
use dronewatch_model::{ObservationId, SensorId, TimeNs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = DroneIdPacket::parse(data);
    let Ok(packet) = DroneIdPacket::parse_unchecked(data) else {
        return;
    };
    let again = DroneIdPacket::parse_unchecked(&packet.to_bytes());
    assert_eq!(again.as_ref(), Ok(&packet));
    let reception = Reception {
        sensor_id: SensorId::new("fuzz"),
        sensor_position: None,
        id: ObservationId(0),
        received_at: TimeNs(0),
    };
    for time in [TimeSource::ReceivedAt, TimeSource::DroneGpsTime] {
        let options = MapOptions {
            time,
            ..MapOptions::default()
        };
        if let Ok(obs) = to_observation(&packet, &reception, &options) {
            assert!(obs.measurement.validate().is_ok());
        }
    }
});
