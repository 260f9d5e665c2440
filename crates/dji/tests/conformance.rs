//! Conformance against the one real DroneID payload: a Mavic Air 2 burst recorded by
//! RUB-SysSec and decoded by their own receiver (`shared/data/dji-droneid/generated/
//! mavic_air_2_decoded.json`, read at run time). Every field the reference decoder wrote is
//! compared; an unknown key fails the test so nothing is skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_dji::{
    CRC_COVERED_LEN, DroneIdPacket, FEET_PER_METRE_DRONESECURITY, LengthUnit, MapOptions,
    Reception, crc, to_observation,
};
use dronewatch_model::{Measurement, ObservationId, SensorId, SensorKind, TimeNs};
use serde_json::Value;

/// The reference decoder's angle divisor (a rounding of 1e7·π/180).
const DRONESECURITY_DIVISOR: f64 = 174533.0;

fn golden() -> Option<Vec<Value>> {
    let path = dronewatch_testdata::data("dji-droneid/generated/mavic_air_2_decoded.json")?;
    let text = std::fs::read_to_string(&path).expect("read golden file");
    let v: Value = serde_json::from_str(&text).expect("golden file is JSON");
    Some(v.as_array().expect("golden file is an array").clone())
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is an integer"))
}

fn i(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is an integer"))
}

/// Our exact degrees agree with the reference's rounded divisor to its own precision, and
/// the reference value is reproduced bit for bit from our raw integer.
fn check_angle(key: &str, raw: i32, ours_deg: f64, reference_deg: f64) {
    let theirs_from_raw = f64::from(raw) / DRONESECURITY_DIVISOR;
    assert!(
        (theirs_from_raw - reference_deg).abs() <= 1e-12 * reference_deg.abs().max(1.0),
        "{key}: raw {raw} / 174533 = {theirs_from_raw}, reference {reference_deg}"
    );
    // ours / reference = 174533 / (1e7·π/180), exactly, up to float rounding.
    let exact_divisor = 1e7 * std::f64::consts::PI / 180.0;
    let divisor_gap = reference_deg.abs() * (DRONESECURITY_DIVISOR / exact_divisor - 1.0);
    assert!(
        (ours_deg - reference_deg).abs() <= divisor_gap.abs() * (1.0 + 1e-9) + 1e-12,
        "{key}: ours {ours_deg}, reference {reference_deg}"
    );
}

#[test]
fn mavic_air_2_payload_matches_the_reference_decoder_field_by_field() {
    let Some(records) = golden() else { return };
    assert!(!records.is_empty());
    for rec in &records {
        let raw = hex::decode(rec["raw_hex"].as_str().expect("raw_hex")).expect("hex");
        let p = DroneIdPacket::parse(&raw).unwrap_or_else(|e| panic!("parse: {e}"));
        let computed = crc::droneid_crc(&raw[..CRC_COVERED_LEN]);
        let (lat, lon) = p.drone_lat_lon_deg().expect("drone position");
        let (app_lat, app_lon) = p.app_lat_lon_deg().expect("app position");
        let (home_lat, home_lon) = p.home_lat_lon_deg().expect("home position");

        for (key, value) in rec.as_object().expect("record is an object") {
            match key.as_str() {
                "raw_hex" => {}
                "pkt_len" => assert_eq!(u(rec, key), u64::from(p.pkt_len)),
                "unk" => assert_eq!(u(rec, key), u64::from(p.unknown_1)),
                "version" => assert_eq!(u(rec, key), u64::from(p.version)),
                "sequence_number" => assert_eq!(u(rec, key), u64::from(p.sequence)),
                "state_info" => assert_eq!(u(rec, key), u64::from(p.state.0)),
                "serial_number" => assert_eq!(value.as_str(), Some(p.serial.as_str())),
                "longitude" => check_angle(key, p.drone_lon_rad_e7, lon, f(rec, key)),
                "latitude" => check_angle(key, p.drone_lat_rad_e7, lat, f(rec, key)),
                "app_lat" => check_angle(key, p.app_lat_rad_e7, app_lat, f(rec, key)),
                "app_lon" => check_angle(key, p.app_lon_rad_e7, app_lon, f(rec, key)),
                "longitude_home" => check_angle(key, p.home_lon_rad_e7, home_lon, f(rec, key)),
                "latitude_home" => check_angle(key, p.home_lat_rad_e7, home_lat, f(rec, key)),
                "altitude" | "height" => {
                    let (raw_v, ours) = if key == "altitude" {
                        (p.altitude_raw, p.altitude_m_assuming(LengthUnit::Feet))
                    } else {
                        (p.height_raw, p.height_m_assuming(LengthUnit::Feet))
                    };
                    // The reference: round(raw / 3.281, 2).
                    let theirs =
                        (f64::from(raw_v) / FEET_PER_METRE_DRONESECURITY * 100.0).round() / 100.0;
                    assert!((theirs - f(rec, key)).abs() < 1e-9, "{key}: {theirs}");
                    // Ours uses the exact foot; it differs by the reference's rounding only.
                    let slack = f64::from(raw_v).abs()
                        * (0.3048 - 1.0 / FEET_PER_METRE_DRONESECURITY).abs()
                        + 0.005;
                    assert!((ours - f(rec, key)).abs() <= slack, "{key}: ours {ours}");
                }
                "v_north" => assert_eq!(i(rec, key), i64::from(p.v_north_raw)),
                "v_east" => assert_eq!(i(rec, key), i64::from(p.v_east_raw)),
                "v_up" => assert_eq!(i(rec, key), i64::from(p.v_up_raw)),
                "d_1_angle" => assert_eq!(i(rec, key), i64::from(p.yaw_raw)),
                "gps_time" => assert_eq!(u(rec, key), p.gps_time_ms),
                "device_type" => assert_eq!(value.as_str(), p.product_name()),
                "uuid_len" => assert_eq!(u(rec, key), u64::from(p.uuid_len)),
                "uuid" => assert_eq!(value.as_str(), Some(p.uuid.as_str())),
                "crc-packet" => assert_eq!(value.as_str(), Some(format!("{:04x}", p.crc).as_str())),
                "crc-calculated" => {
                    assert_eq!(value.as_str(), Some(format!("{computed:04x}").as_str()))
                }
                "crc_ok" => assert_eq!(value.as_bool(), Some(computed == p.crc)),
                other => panic!("golden field {other:?} is not compared"),
            }
        }
    }
}

#[test]
fn every_single_bit_flip_of_the_real_payload_fails_the_crc() {
    let Some(records) = golden() else { return };
    for rec in &records {
        let raw = hex::decode(rec["raw_hex"].as_str().expect("raw_hex")).expect("hex");
        assert!(DroneIdPacket::parse(&raw).is_ok());
        for bit in 0..(raw.len().min(91) * 8) {
            let mut bad = raw.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                DroneIdPacket::parse(&bad).is_err(),
                "bit {bit} flipped still passes"
            );
        }
    }
}

#[test]
fn real_payload_maps_to_a_position_observation_with_the_pilot() {
    let Some(records) = golden() else { return };
    for rec in &records {
        let raw = hex::decode(rec["raw_hex"].as_str().expect("raw_hex")).expect("hex");
        let p = DroneIdPacket::parse(&raw).expect("parse");
        let reception = Reception {
            sensor_id: SensorId::new("dji-rx"),
            sensor_position: None,
            id: ObservationId(1),
            received_at: TimeNs(0),
        };
        let obs = to_observation(&p, &reception, &MapOptions::default()).expect("maps");
        assert_eq!(obs.sensor_kind, SensorKind::RemoteId);
        assert_eq!(obs.identity.remote_id_serial, None);
        let Measurement::Position { position, .. } = obs.measurement else {
            panic!("position expected")
        };
        check_angle(
            "latitude",
            p.drone_lat_rad_e7,
            position.lat_deg,
            f(rec, "latitude"),
        );
        check_angle(
            "longitude",
            p.drone_lon_rad_e7,
            position.lon_deg,
            f(rec, "longitude"),
        );
        let op = obs.identity.operator_position.expect("pilot position");
        check_angle("app_lat", p.app_lat_rad_e7, op.lat_deg, f(rec, "app_lat"));
        check_angle("app_lon", p.app_lon_rad_e7, op.lon_deg, f(rec, "app_lon"));
    }
}
