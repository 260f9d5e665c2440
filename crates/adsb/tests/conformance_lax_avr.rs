//! AVR conformance on real data: adsb_deku's `lax-messages.txt` (the first 60,000 frames
//! received near Los Angeles, one `*<hex>;` per line) through our AVR parser, rs1090 and
//! [`AircraftTable`]. Every line must frame; decoding may refuse only frames whose parity
//! fails (real receivers pass on corrupted replies), never anything else, and never panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dronewatch_adsb::{AircraftTable, FrameError, TableConfig, parse_avr_line};
use dronewatch_model::{SensorId, TimeNs};

/// Time between lines, see the derivation where it is used.
const LINE_SPACING_NS: i64 = 4_000_000;

/// Los Angeles International (KLAX) aerodrome reference point.
const LAX: (f64, f64) = (33.9425, -118.4081);

fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[test]
fn every_lax_line_frames_and_decodes_or_fails_parity() {
    let Some(path) = dronewatch_testdata::data("adsb/lax-messages.txt") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut table = AircraftTable::new(TableConfig::new(SensorId::new("lax")));
    let mut by_df: BTreeMap<u8, [u32; 3]> = BTreeMap::new(); // [ok, parity, other error]
    let mut other_errors = Vec::new();
    let mut lines = 0;
    let mut observations = 0;
    let mut max_km = 0f64;
    for (i, line) in text.lines().enumerate() {
        lines += 1;
        let frame = parse_avr_line(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let df = frame.downlink_format().unwrap_or(32);
        // The file has no times. Aircraft A8A3CE reports 390 kt due east (TC 19, line 2046)
        // and moves 11.4 km between its positions at lines 3,846 and 19,153: 57 s for
        // 15,307 lines, 3.7 ms a line. Spacing lines 4 ms apart keeps the CPR pairing
        // windows (seconds) at least as strict as they were on the air; 1 ms made 10 s span
        // 37 s of flight, and stale even/odd pairs decoded one longitude zone off.
        let t = TimeNs(i as i64 * LINE_SPACING_NS);
        let slot = by_df.entry(df).or_default();
        match table.ingest_frame(t, &frame) {
            Ok(obs) => {
                slot[0] += 1;
                if let Some(o) = obs {
                    o.measurement.validate().unwrap();
                    observations += 1;
                    // Received near LAX: within radio line of sight (~450 km at FL450).
                    let dronewatch_model::Measurement::Position { position: p, .. } = o.measurement
                    else {
                        panic!("ADS-B observations are positions")
                    };
                    let d_km = great_circle_km(p.lat_deg, p.lon_deg, LAX.0, LAX.1);
                    max_km = max_km.max(d_km);
                    assert!(
                        d_km < 450.0,
                        "line {}: {p:?} is {d_km:.0} km from LAX",
                        i + 1
                    );
                }
            }
            // DF17 with a CRC residual (rs1090 says so in its message) or DF18's parity.
            Err(FrameError::Parity { .. }) => slot[1] += 1,
            Err(FrameError::Decode { df: 17, reason }) if reason.contains("CRC") => slot[1] += 1,
            Err(e) => {
                slot[2] += 1;
                other_errors.push(format!("line {}: {e}", i + 1));
            }
        }
    }
    eprintln!("{lines} AVR lines; per DF [decoded, parity failed, other error]: {by_df:?}");
    eprintln!(
        "{} aircraft, {observations} observations up to {max_km:.0} km from LAX, stats {:?}",
        table.len(),
        table.stats()
    );
    assert_eq!(lines, 60_000);
    assert!(
        other_errors.is_empty(),
        "{} unexpected: {:?}",
        other_errors.len(),
        &other_errors[..other_errors.len().min(20)]
    );
    assert!(observations > 0);
}
