//! Conformance against the reference C decoder (opendroneid-core-c @ beb5639) and the
//! three public captures of opendroneid/wireshark-dissector, all in `shared/data/remote-id`
//! (see its SOURCES.md). Nothing here is copied from those files: they are read at run time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dronewatch_model::{Measurement, ObservationId, SensorId};
use dronewatch_remoteid::message::ID_SIZE;
use dronewatch_remoteid::{
    CaptureItem, CaptureReader, DecodeCapture, Flag, Message, Payload, Receiver, ReceiverConfig,
    Source, Transport, to_observation,
};
use serde_json::{Map, Value, json};

const GOLDEN: &str = "remote-id/generated/odid_samples_decoded.jsonl";
const CAPTURES: [&str; 3] = [
    "odid_wifi_bcn_sample.pcap",
    "odid_wifi_sample.pcap",
    "odid_bt5_lr_sample.pcapng",
];

fn golden() -> Option<Vec<Map<String, Value>>> {
    let path = dronewatch_testdata::data(GOLDEN)?;
    let text = std::fs::read_to_string(path).unwrap();
    Some(
        text.lines()
            .map(|l| match serde_json::from_str(l).unwrap() {
                Value::Object(m) => m,
                other => panic!("not an object: {other}"),
            })
            .collect(),
    )
}

fn capture(name: &str) -> Option<PathBuf> {
    dronewatch_testdata::data(&format!("remote-id/{name}"))
}

fn hex_of(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// The reference decoder's rendering of a character field: the bytes before the first
/// NUL within the field, one code point per byte.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].iter().map(|&b| char::from(b)).collect()
}

/// Our decoding of a payload laid out as the reference decoder's `ODID_UAS_Data` is
/// printed in the golden file, unknowns mapped back to the C library's sentinel values
/// (opendroneid.h INV_DIR 361, INV_SPEED_H 255, INV_SPEED_V 63, INV_ALT -1000,
/// INV_TIMESTAMP 0xFFFF; system timestamp 0).
fn as_reference(messages: &[Message]) -> Map<String, Value> {
    let alt = |v: Option<f32>| v.unwrap_or(-1000.0);
    let mut out = Map::new();
    // decodeOpenDroneID's Basic ID slots: the first slot that is empty (type 0) or holds
    // the same ID type takes the message.
    let mut slots: [Option<(u8, Value)>; 2] = [None, None];
    for m in messages {
        match m {
            Message::BasicId(b) => {
                let id = c_string(&b.uas_id.raw()[..ID_SIZE]);
                let v = json!({"id_type": b.id_type, "ua_type": b.ua_type, "uas_id": id});
                if let Some(slot) = slots
                    .iter_mut()
                    .find(|s| s.as_ref().is_none_or(|(t, _)| *t == 0 || *t == b.id_type))
                {
                    *slot = Some((b.id_type, v));
                }
            }
            Message::Location(l) => {
                out.insert(
                    "location".into(),
                    json!({
                        "status": l.status,
                        "direction": l.direction_deg.unwrap_or(361.0),
                        "speed_h": l.speed_horizontal_mps.unwrap_or(255.0),
                        "speed_v": l.speed_vertical_mps.unwrap_or(63.0),
                        "lat": l.latitude_deg,
                        "lon": l.longitude_deg,
                        "alt_baro": alt(l.pressure_altitude_m),
                        "alt_geo": alt(l.geodetic_altitude_m),
                        "height_type": l.height_type,
                        "height": alt(l.height_m),
                        "h_acc": l.horizontal_accuracy,
                        "v_acc": l.vertical_accuracy,
                        "baro_acc": l.baro_accuracy,
                        "speed_acc": l.speed_accuracy,
                        "ts": l.timestamp_s_after_hour.unwrap_or(65535.0),
                        "ts_acc": l.timestamp_accuracy,
                    }),
                );
            }
            Message::Auth(a) => {
                // The golden file holds no authentication pages; any it ever holds must be
                // mapped here before this test can pass (no silent skipping).
                out.insert(format!("auth_{}", a.page_number), json!({"unmapped": true}));
            }
            Message::SelfId(s) => {
                out.insert(
                    "self_id".into(),
                    json!({"desc_type": s.description_type, "desc": c_string(s.description.raw())}),
                );
            }
            Message::System(s) => {
                out.insert(
                    "system".into(),
                    json!({
                        "op_loc_type": s.operator_location_type,
                        "class_type": s.classification_type,
                        "op_lat": s.operator_latitude_deg,
                        "op_lon": s.operator_longitude_deg,
                        "area_count": s.area_count,
                        "area_radius": s.area_radius_m,
                        "area_ceiling": alt(s.area_ceiling_m),
                        "area_floor": alt(s.area_floor_m),
                        "cat_eu": s.ua_category_eu,
                        "class_eu": s.ua_class_eu,
                        "op_alt_geo": alt(s.operator_altitude_m),
                        "timestamp": s.timestamp_s_since_2019.unwrap_or(0),
                    }),
                );
            }
            Message::OperatorId(o) => {
                out.insert(
                    "operator_id".into(),
                    json!({"type": o.operator_id_type, "id": c_string(o.operator_id.raw())}),
                );
            }
        }
    }
    for (i, slot) in slots.into_iter().enumerate() {
        if let Some((_, v)) = slot {
            out.insert(format!("basic_id_{i}"), v);
        }
    }
    out
}

/// The fields the reference decoder holds as C `float` (opendroneid.h `ODID_Location_data`,
/// `ODID_System_data`); ours are `f32` computed the same way.
const C_FLOAT_FIELDS: [&str; 10] = [
    ".location.direction",
    ".location.speed_h",
    ".location.speed_v",
    ".location.alt_baro",
    ".location.alt_geo",
    ".location.height",
    ".location.ts",
    ".system.area_ceiling",
    ".system.area_floor",
    ".system.op_alt_geo",
];

/// Field by field, both ways: same keys, equal strings and integers; `float` fields equal
/// as `f32` (the golden file prints them rounded to their step, which parses back to the
/// same `f32`), everything else (latitudes, longitudes as C `double`) within 1e-9, i.e.
/// equal up to printing.
fn compare(frame: &str, section: &str, ours: &Value, theirs: &Value, diffs: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: BTreeSet<_> = a.keys().collect();
            let kb: BTreeSet<_> = b.keys().collect();
            if ka != kb {
                diffs.push(format!(
                    "{frame} {section}: keys {ka:?} vs reference {kb:?}"
                ));
                return;
            }
            for k in ka {
                compare(frame, &format!("{section}.{k}"), &a[k], &b[k], diffs);
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            let (x, y) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            let float_equal = C_FLOAT_FIELDS.contains(&section) && x as f32 == y as f32;
            if (x - y).abs() > 1e-9 && !float_equal {
                diffs.push(format!("{frame} {section}: {x} vs reference {y}"));
            }
        }
        (a, b) if a == b => {}
        (a, b) => diffs.push(format!("{frame} {section}: {a} vs reference {b}")),
    }
}

#[test]
fn every_accepted_payload_decodes_to_the_reference_fields() {
    let Some(lines) = golden() else { return };
    let mut diffs = Vec::new();
    let mut checked = 0;
    let mut fields = 0;
    for line in lines.iter().filter(|l| l["rc"] == 0) {
        let frame = line["frame"].as_str().unwrap();
        let bytes = hex_of(&line["hex"]);
        let payload = Payload::decode(&bytes).unwrap_or_else(|e| panic!("{frame}: {e}"));
        let messages: Vec<Message> = payload
            .messages()
            .map(|m| m.unwrap_or_else(|e| panic!("{frame}: {e}")))
            .collect();
        let ours = Value::Object(as_reference(&messages));
        let mut theirs = line.clone();
        for k in ["frame", "hex", "rc"] {
            theirs.remove(k);
        }
        fields += theirs
            .values()
            .filter_map(Value::as_object)
            .map(Map::len)
            .sum::<usize>();
        compare(frame, "", &ours, &Value::Object(theirs), &mut diffs);
        checked += 1;
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(checked, 305, "lines with rc == 0");
    eprintln!("{checked} payloads, {fields} fields equal to the reference decoder");
}

#[test]
fn every_rejected_payload_gives_an_error() {
    let Some(lines) = golden() else { return };
    let rejected: Vec<_> = lines.iter().filter(|l| l["rc"] != 0).collect();
    assert_eq!(rejected.len(), 31);
    for line in rejected {
        let bytes = hex_of(&line["hex"]);
        let err = Payload::decode(&bytes).expect_err(line["frame"].as_str().unwrap());
        assert!(!err.to_string().is_empty());
    }
}

/// Payload extraction per packet: `frame` (packet number) to payload.
fn extracted(path: &Path) -> (BTreeMap<u64, Vec<u8>>, BTreeMap<u64, String>) {
    let mut ok = BTreeMap::new();
    let mut bad = BTreeMap::new();
    for item in CaptureReader::open(path).unwrap() {
        match item.unwrap() {
            CaptureItem::Record(r) => {
                assert!(ok.insert(r.frame, r.payload).is_none());
            }
            CaptureItem::BadFrame(e) => {
                bad.insert(e.frame, e.source.to_string());
            }
        }
    }
    (ok, bad)
}

/// Extraction yields the golden payload of every golden frame. Two BT5 frames differ,
/// both with a corrupted pack header (0xF0 0x19 count 0x46, and size 0x59): the golden
/// extraction (3 + 25 × count bytes, or to the end of the packet) ran past the AD
/// structure into the 3-byte BLE CRC; ours stops at the AD structure's end. Both are
/// rejected by the decoder either way.
#[test]
fn extraction_matches_the_golden_payloads() {
    let Some(lines) = golden() else { return };
    let mut golden_frames: BTreeMap<&str, BTreeMap<u64, Vec<u8>>> = BTreeMap::new();
    for l in &lines {
        let (file, n) = l["frame"].as_str().unwrap().split_once('#').unwrap();
        golden_frames
            .entry(file)
            .or_default()
            .insert(n.parse().unwrap(), hex_of(&l["hex"]));
    }
    let mut past_ad_end = 0;
    for name in CAPTURES {
        let Some(path) = capture(name) else { return };
        let (ours, bad) = extracted(&path);
        let theirs = &golden_frames[name];
        let ours_frames: BTreeSet<_> = ours.keys().collect();
        let their_frames: BTreeSet<_> = theirs.keys().collect();
        assert_eq!(
            ours_frames, their_frames,
            "{name}: frames with Remote ID (bad: {bad:?})"
        );
        for (frame, g) in theirs {
            let o = &ours[frame];
            if o == g {
                continue;
            }
            assert!(
                g.len() == o.len() + 3 && g.starts_with(o),
                "{name}#{frame}: ours {} vs golden {}",
                hex::encode(o),
                hex::encode(g)
            );
            assert!(Payload::decode(o).is_err() && Payload::decode(g).is_err());
            past_ad_end += 1;
        }
    }
    assert_eq!(past_ad_end, 2);
}

fn decode_all(name: &str) -> Option<Vec<dronewatch_remoteid::DecodedRecord>> {
    let path = capture(name)?;
    let it = dronewatch_remoteid::decode_capture(&path).unwrap();
    Some(it.map(Result::unwrap).collect())
}

#[test]
fn captures_decode_to_records_with_transport_and_address() {
    let Some(bcn) = decode_all(CAPTURES[0]) else {
        return;
    };
    // 21 beacons with a 5-message pack each.
    assert_eq!(bcn.len(), 21 * 5);
    assert!(
        bcn.iter()
            .all(|r| r.transport == Some(Transport::WifiBeacon) && r.error.is_none())
    );
    assert!(
        bcn.iter()
            .all(|r| r.address.unwrap().to_string() == "84:cc:a8:60:43:24")
    );
    let Some(wifi) = decode_all(CAPTURES[1]) else {
        return;
    };
    let nan = wifi
        .iter()
        .filter(|r| r.transport == Some(Transport::WifiNan))
        .count();
    let beacon = wifi
        .iter()
        .filter(|r| r.transport == Some(Transport::WifiBeacon))
        .count();
    assert_eq!((nan, beacon), (21, 21));
    for r in bcn.iter().chain(&wifi) {
        let json = serde_json::to_string(r).unwrap();
        assert!(json.contains("\"message_type\""), "{json}");
    }
}

/// Frames the sniffer marked with a bad CRC, and the payloads the reference decoder
/// rejects, all come out as an error or carry flags.
#[test]
fn corrupted_bluetooth_frames_give_errors_or_flags() {
    let Some(records) = decode_all(CAPTURES[2]) else {
        return;
    };
    let mut crc_failed = BTreeSet::new();
    for r in &records {
        assert_eq!(r.transport, Some(Transport::BluetoothLongRange));
        if r.link_crc_ok == Some(false) {
            crc_failed.insert(r.frame);
            assert!(
                r.error.is_some() || r.flags.contains(&Flag::LinkCrcFailed),
                "{r:?}"
            );
        }
    }
    assert!(!crc_failed.is_empty());
    let frame = |n: u64| records.iter().filter(move |r| r.frame == n);
    // #270: longitude -214.6 and a UAS ID of garbage.
    assert!(frame(270).any(|r| {
        r.flags
            .iter()
            .any(|f| matches!(f, Flag::PositionOutOfRange { .. }))
    }));
    assert!(frame(270).any(|r| r.flags.iter().any(|f| matches!(
        f,
        Flag::BadText {
            field: "uas_id",
            ..
        }
    ))));
    // #198: a reserved ID type and a second Basic ID full of non-ASCII bytes.
    assert!(frame(198).any(|r| r.flags.contains(&Flag::ReservedCode {
        field: "id_type",
        code: 5
    })));
    assert!(frame(198).any(|r| r.flags.iter().any(|f| matches!(f, Flag::BadText { .. }))));
    // Packs the reference decoder rejects are error records naming what is wrong.
    for (n, needle) in [
        (82, "type 0x9"),
        (91, "operator_id"),
        (124, "location"),
        (261, "count 70"),
        (271, "size is 89"),
    ] {
        let errs: Vec<_> = frame(n).filter_map(|r| r.error.clone()).collect();
        assert!(errs.iter().any(|e| e.contains(needle)), "#{n}: {errs:?}");
    }
    // The empty packs.
    assert_eq!(
        records
            .iter()
            .filter(|r| r.error.as_deref().is_some_and(|e| e.contains("count 0")))
            .count(),
        25
    );
}

/// Real positions reach fusion with latitude first; the BT5 capture's (0, 0) positions
/// and out-of-range longitudes never do.
#[test]
fn observations_from_real_captures() {
    let Some(lines) = golden() else { return };
    let first = lines
        .iter()
        .find(|l| l["frame"] == "odid_wifi_bcn_sample.pcap#1")
        .unwrap();
    let (lat, lon) = (
        first["location"]["lat"].as_f64().unwrap(),
        first["location"]["lon"].as_f64().unwrap(),
    );
    for (name, expect_some) in [(CAPTURES[0], true), (CAPTURES[2], false)] {
        let Some(path) = capture(name) else { return };
        let mut receiver = Receiver::new(ReceiverConfig::default());
        let mut observations = Vec::new();
        for item in CaptureReader::open(&path).unwrap() {
            let CaptureItem::Record(r) = item.unwrap() else {
                continue;
            };
            let Ok(messages) = r.messages else { continue };
            let source = Source {
                t_unix_ns: r.t_unix_ns,
                transport: r.transport,
                transmitter: r.transmitter,
                link_crc_ok: r.link_crc_ok,
            };
            for m in messages.into_iter().flatten() {
                let u = receiver.update(source, &m);
                let id = ObservationId(observations.len() as u64);
                if let Some(o) = to_observation(&u, &SensorId::new("rid"), id) {
                    observations.push(o);
                }
            }
        }
        if !expect_some {
            assert!(observations.is_empty(), "{name}: {observations:?}");
            continue;
        }
        assert_eq!(observations.len(), 21, "{name}");
        let Measurement::Position { position, .. } = &observations[0].measurement else {
            panic!()
        };
        assert_eq!((position.lat_deg, position.lon_deg), (lat, lon));
        for (i, o) in observations.iter().enumerate() {
            assert_eq!(
                o.identity.remote_id_serial.as_deref(),
                None,
                "ID type 0 is not a serial"
            );
            // The System message follows the Location in each pack.
            assert_eq!(o.identity.operator_position.is_some(), i > 0);
            assert!(o.measurement.validate().is_ok());
        }
    }
}

#[test]
fn decode_capture_from_bytes_matches_from_file() {
    let Some(path) = capture(CAPTURES[1]) else {
        return;
    };
    let a: Vec<_> =
        DecodeCapture::from_bytes(std::fs::read(&path).unwrap(), ReceiverConfig::default())
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let b = decode_all(CAPTURES[1]).unwrap();
    assert_eq!(a, b);
}
