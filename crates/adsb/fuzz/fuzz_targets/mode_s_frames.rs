//! Arbitrary Mode S payloads through rs1090 and the aircraft table (CPR pairing, local
//! decoding, identity): never panics, and any observation it yields is valid. Long frames
//! get their parity fixed up so most DF17/18 frames pass the CRC and reach the CPR code.
#![no_main]

use dronewatch_adsb::rs1090::decode::crc::modes_checksum;
use dronewatch_adsb::{AircraftTable, TableConfig};
use dronewatch_model::{SensorId, TimeNs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut table = AircraftTable::new(TableConfig::new(SensorId::new("fuzz")));
    // One byte of length selector (short or long) before each payload.
    let mut rest = data;
    let mut i = 0i64;
    while let Some((sel, tail)) = rest.split_first() {
        let n = if sel & 1 == 0 { 7 } else { 14 };
        let Some(payload) = tail.get(..n) else { break };
        let mut frame = payload.to_vec();
        if n == 14 && sel & 2 == 0 {
            // The CRC is linear: xoring the residual into the parity field zeroes it.
            if let Ok(r) = modes_checksum(&frame, 112) {
                for (b, r) in frame[11..].iter_mut().zip(&r.to_be_bytes()[1..]) {
                    *b ^= r;
                }
            }
        }
        let payload = &frame[..];
        // Frames 0.1 s apart, so CPR pairs and local references both come into play.
        if let Ok(Some(o)) = table.ingest_bytes(TimeNs(i * 100_000_000), payload) {
            assert!(o.measurement.validate().is_ok());
        }
        rest = tail.get(n..).unwrap_or(&[]);
        i += 1;
    }
});
