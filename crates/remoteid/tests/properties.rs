//! Property tests: encode→decode round trips for every message type and packs, decoders
//! never panic on arbitrary bytes, and truncated input gives errors that name the field
//! and the offset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_model::{ObservationId, SensorId};
use dronewatch_remoteid::capture::{self, LINKTYPE_BLUETOOTH_LE_LL};
use dronewatch_remoteid::message::{AUTH_PAGE_DATA_SIZE, AUTH_PAGE0_DATA_SIZE};
use dronewatch_remoteid::to_observation;
use dronewatch_remoteid::transport::{ble, nordic, radiotap, wifi};
use dronewatch_remoteid::{
    Auth, AuthData, BasicId, CaptureReader, DecodeCapture, DecodeError, Location, MacAddress,
    Message, MessagePack, OdidText, OperatorId, Payload, Receiver, ReceiverConfig, SelfId, Source,
    System, Transport, TransportError, encode_pack,
};
use proptest::collection::vec;
use proptest::prelude::*;

// ---- strategies: values on the wire grid, so that encode→decode is exact -----------------

fn lat() -> impl Strategy<Value = f64> {
    (-900_000_000i32..=900_000_000).prop_map(|r| f64::from(r) / 1e7)
}

fn lon() -> impl Strategy<Value = f64> {
    (-1_800_000_000i32..=1_800_000_000).prop_map(|r| f64::from(r) / 1e7)
}

/// Altitudes: raw 1..=65535 (raw 0 is "unknown", i.e. `None`).
fn alt() -> impl Strategy<Value = Option<f32>> {
    prop_oneof![
        Just(None),
        (1u16..=u16::MAX).prop_map(|r| Some(f32::from(r) * 0.5 - 1000.0))
    ]
}

fn nibble() -> impl Strategy<Value = u8> {
    0u8..16
}

fn text<const N: usize>() -> impl Strategy<Value = OdidText<N>> {
    vec(any::<u8>(), N).prop_map(|v| OdidText::from_bytes(&v).unwrap())
}

fn basic_id() -> impl Strategy<Value = BasicId> {
    (nibble(), nibble(), nibble(), text::<20>()).prop_map(
        |(protocol_version, id_type, ua_type, uas_id)| BasicId {
            protocol_version,
            id_type,
            ua_type,
            uas_id,
        },
    )
}

fn location() -> impl Strategy<Value = Location> {
    let direction = prop_oneof![Just(None), (0u16..360).prop_map(|d| Some(f32::from(d)))];
    let speed_h = prop_oneof![
        Just(None),
        any::<u8>().prop_map(|r| Some(f32::from(r) * 0.25)),
        (1u8..=254).prop_map(|r| Some(f32::from(r) * 0.75 + 63.75)),
    ];
    let speed_v = prop_oneof![
        Just(None),
        (-124i8..=124).prop_map(|r| Some(f32::from(r) * 0.5))
    ];
    let ts = prop_oneof![
        Just(None),
        (0u16..=36_000).prop_map(|r| Some(f32::from(r) / 10.0))
    ];
    (
        (nibble(), nibble(), 0u8..2, direction, speed_h, speed_v),
        (lat(), lon(), alt(), alt(), alt()),
        (nibble(), nibble(), nibble(), nibble(), ts, nibble()),
    )
        .prop_map(
            |((v, status, ht, dir, sh, sv), (la, lo, pa, ga, h), (ha, va, ba, sa, ts, ta))| {
                Location {
                    protocol_version: v,
                    status,
                    height_type: ht,
                    direction_deg: dir,
                    speed_horizontal_mps: sh,
                    speed_vertical_mps: sv,
                    latitude_deg: la,
                    longitude_deg: lo,
                    pressure_altitude_m: pa,
                    geodetic_altitude_m: ga,
                    height_m: h,
                    horizontal_accuracy: ha,
                    vertical_accuracy: va,
                    baro_accuracy: ba,
                    speed_accuracy: sa,
                    timestamp_s_after_hour: ts,
                    timestamp_accuracy: ta,
                }
            },
        )
}

fn auth() -> impl Strategy<Value = Auth> {
    let page0 = (
        nibble(),
        nibble(),
        0u8..16,
        any::<u32>(),
        vec(any::<u8>(), AUTH_PAGE0_DATA_SIZE),
    )
        .prop_flat_map(|(v, t, last, ts, data)| {
            let cap = 17 + usize::from(last) * 23;
            (0..=cap.min(255)).prop_map(move |len| Auth {
                protocol_version: v,
                auth_type: t,
                page_number: 0,
                last_page_index: Some(last),
                length_bytes: Some(len as u8),
                timestamp_s_since_2019: Some(ts),
                data: AuthData::new(&data).unwrap(),
            })
        });
    let page_n = (
        nibble(),
        nibble(),
        1u8..16,
        vec(any::<u8>(), AUTH_PAGE_DATA_SIZE),
    )
        .prop_map(|(v, t, page, data)| Auth {
            protocol_version: v,
            auth_type: t,
            page_number: page,
            last_page_index: None,
            length_bytes: None,
            timestamp_s_since_2019: None,
            data: AuthData::new(&data).unwrap(),
        });
    prop_oneof![page0, page_n]
}

fn self_id() -> impl Strategy<Value = SelfId> {
    (nibble(), any::<u8>(), text::<23>()).prop_map(|(v, t, d)| SelfId {
        protocol_version: v,
        description_type: t,
        description: d,
    })
}

fn system() -> impl Strategy<Value = System> {
    (
        (
            nibble(),
            0u8..4,
            0u8..8,
            lat(),
            lon(),
            any::<u16>(),
            any::<u8>(),
        ),
        (alt(), alt(), nibble(), nibble(), alt()),
        prop_oneof![Just(None), (1u32..=u32::MAX).prop_map(Some)],
    )
        .prop_map(
            |((v, olt, ct, la, lo, count, radius), (ceil, floor, cat, class, oalt), ts)| System {
                protocol_version: v,
                operator_location_type: olt,
                classification_type: ct,
                operator_latitude_deg: la,
                operator_longitude_deg: lo,
                area_count: count,
                area_radius_m: u16::from(radius) * 10,
                area_ceiling_m: ceil,
                area_floor_m: floor,
                ua_category_eu: cat,
                ua_class_eu: class,
                operator_altitude_m: oalt,
                timestamp_s_since_2019: ts,
            },
        )
}

fn operator_id() -> impl Strategy<Value = OperatorId> {
    (nibble(), any::<u8>(), text::<20>()).prop_map(|(v, t, id)| OperatorId {
        protocol_version: v,
        operator_id_type: t,
        operator_id: id,
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        basic_id().prop_map(Message::BasicId),
        location().prop_map(Message::Location),
        auth().prop_map(Message::Auth),
        self_id().prop_map(Message::SelfId),
        system().prop_map(Message::System),
        operator_id().prop_map(Message::OperatorId),
    ]
}

/// A pack that obeys F3411's content rules: ≤2 Basic ID, ≤16 Auth, ≤1 of each other.
fn pack_messages() -> impl Strategy<Value = Vec<Message>> {
    vec(message(), 1..=9).prop_map(|ms| {
        let mut counts = [0usize; 6];
        let limits = [2, 1, 16, 1, 1, 1];
        ms.into_iter()
            .filter(|m| {
                let t = m.message_type() as usize;
                counts[t] += 1;
                counts[t] <= limits[t]
            })
            .collect()
    })
}

/// Mostly up to 5 s forward; now and then a jump anywhere in the `i64` range.
fn time_step() -> impl Strategy<Value = i64> {
    prop_oneof![9 => 0i64..5_000_000_000, 1 => any::<i64>()]
}

// ---- frames for the transport properties ---------------------------------------------------

fn pack_bytes(ms: &[Message]) -> Vec<u8> {
    let enc: Vec<[u8; 25]> = ms.iter().map(|m| m.encode().unwrap()).collect();
    encode_pack(&enc).unwrap()
}

fn beacon_frame(pack: &[u8], counter: u8) -> Vec<u8> {
    let mut f = vec![0x80, 0, 0, 0];
    f.extend([0xff; 6]);
    f.extend([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    f.extend([0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x10, 0x00]);
    f.extend([0u8; 12]);
    f.extend([0, 4, b'd', b'r', b'o', b'n']);
    f.extend([221, (5 + pack.len()) as u8, 0xfa, 0x0b, 0xbc, 0x0d, counter]);
    f.extend(pack);
    f
}

fn nan_frame(pack: &[u8], counter: u8) -> Vec<u8> {
    let mut f = vec![0xd0, 0, 0, 0, 0x51, 0x6f, 0x9a, 0x01, 0, 0];
    f.extend([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    f.extend([0x50, 0x6f, 0x9a, 0x01, 0x01, 0x79, 0x20, 0x00]);
    f.extend([4, 9, 0x50, 0x6f, 0x9a, 0x13]);
    let mut sda = wifi::ODID_NAN_SERVICE_ID.to_vec();
    sda.extend([1, 0, 0x10, (1 + pack.len()) as u8, counter]);
    sda.extend(pack);
    f.push(3);
    f.extend((sda.len() as u16).to_le_bytes());
    f.extend(&sda);
    f.extend([0x0e, 4, 0, 1, 0, 2, 0x22]);
    f
}

fn radiotap(frame: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 0, 9, 0, 0x02, 0, 0, 0, 0x00];
    p.extend(frame);
    p
}

/// nRF sniffer protocol 3 packet around an extended advertising PDU (Coded PHY).
fn nordic_ext(pack: &[u8], counter: u8) -> Vec<u8> {
    let mut ad = vec![0, 0x16, 0xfa, 0xff, 0x0d, counter];
    ad.extend(pack);
    ad[0] = (ad.len() - 1) as u8;
    let mut payload = vec![0x09, 0x09, 1, 2, 3, 4, 5, 6, 0x75, 0x0e];
    payload.extend(&ad);
    let mut p = vec![3, 0, 0, 3, 0, 0, 2, 10, 0x21, 10, 53, 0, 0, 1, 2, 3, 4];
    p.extend(0x8E89_BED6u32.to_le_bytes());
    p.push(0);
    p.extend([0x07, payload.len() as u8]);
    p.extend(&payload);
    p.extend([0xaa, 0xbb, 0xcc]);
    p
}

/// nRF sniffer protocol 2 packet around a legacy ADV_NONCONN_IND with one message.
fn nordic_legacy(msg: &[u8; 25], counter: u8) -> Vec<u8> {
    let mut ad = vec![0x02, 0x01, 0x06, 0x1e, 0x16, 0xfa, 0xff, 0x0d, counter];
    ad.extend(msg);
    let mut payload = vec![1, 2, 3, 4, 5, 6];
    payload.extend(&ad);
    let mut p = vec![3, 0, 0, 2, 0, 0, 6, 10, 0x01, 37, 60, 0, 0, 1, 2, 3, 4];
    p.extend(0x8E89_BED6u32.to_le_bytes());
    p.extend([0x02, payload.len() as u8]);
    p.extend(&payload);
    p.extend([0xaa, 0xbb, 0xcc]);
    p
}

fn truncation_is_named(
    r: Result<Option<dronewatch_remoteid::OdidFrame<'_>>, TransportError>,
) -> Result<(), TestCaseError> {
    match r {
        Ok(None) => Ok(()),
        Err(e @ TransportError::Truncated { .. }) => {
            let s = e.to_string();
            prop_assert!(s.contains("offset") && s.contains("truncated"), "{s}");
            Ok(())
        }
        Err(e) => Err(TestCaseError::fail(format!("unexpected error {e}"))),
        Ok(Some(f)) => Err(TestCaseError::fail(format!(
            "truncated frame accepted: {f:?}"
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_message_type_round_trips(m in message()) {
        let bytes = m.encode().unwrap();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn packs_round_trip(ms in pack_messages()) {
        let bytes = pack_bytes(&ms);
        let pack = MessagePack::decode(&bytes).unwrap();
        prop_assert_eq!(pack.len(), ms.len());
        let back: Vec<Message> = pack.iter().map(Result::unwrap).collect();
        prop_assert_eq!(back, ms);
    }

    /// Arbitrary bytes: decoding never panics, and whatever decodes and re-encodes has a
    /// stable canonical form.
    #[test]
    fn arbitrary_message_bytes(bytes in vec(any::<u8>(), 0..40)) {
        if let Ok(m) = Message::decode(&bytes) {
            if let Ok(enc) = m.encode() {
                let again = Message::decode(&enc).unwrap();
                prop_assert_eq!(again.encode().unwrap(), enc);
            }
            let _ = serde_json::to_string(&m).unwrap();
        }
        let _ = Payload::decode(&bytes).map(|p| p.messages().count());
    }

    #[test]
    fn arbitrary_packs_never_panic(
        mut bytes in vec(any::<u8>(), 0..260),
        valid_header in any::<bool>(),
    ) {
        if valid_header && bytes.len() >= 3 {
            bytes[0] = 0xF2;
            bytes[1] = 25;
            bytes[2] %= 10;
        }
        if let Ok(p) = MessagePack::decode(&bytes) {
            prop_assert!(p.encoded_len() <= bytes.len());
            for m in p.iter() { let _ = m; }
        }
    }

    #[test]
    fn truncated_messages_name_offset(m in message(), cut in 0usize..25) {
        let bytes = m.encode().unwrap();
        let err = Message::decode(&bytes[..cut]).unwrap_err();
        let expected = DecodeError::Truncated { what: "message", offset: 0, need: 25, have: cut };
        prop_assert_eq!(&err, &expected);
        prop_assert!(err.to_string().contains("offset 0"));
    }

    #[test]
    fn truncated_packs_name_offset(ms in pack_messages(), cut_frac in 0.0f64..1.0) {
        let bytes = pack_bytes(&ms);
        let cut = ((bytes.len() as f64) * cut_frac) as usize;
        match MessagePack::decode(&bytes[..cut]).unwrap_err() {
            DecodeError::Truncated { what: "message pack header", offset: 0, need: 3, have } => {
                prop_assert_eq!(have, cut);
            }
            DecodeError::Truncated { what: "message pack", offset: 3, need, have } => {
                prop_assert_eq!(need, 25 * ms.len());
                prop_assert_eq!(have, cut - 3);
            }
            other => prop_assert!(false, "{other}"),
        }
    }

    /// Every transport finds the payload it was built with, and every truncation of the
    /// frame is either "no Remote ID" or a truncation error naming field and offset.
    #[test]
    fn transports_extract_and_truncate(
        ms in pack_messages(),
        single in message(),
        counter in any::<u8>(),
        cut_frac in 0.0f64..1.0,
    ) {
        let pack = pack_bytes(&ms);
        let one = single.encode().unwrap();
        let cases: [(u32, Vec<u8>, Transport, &[u8]); 4] = [
            (
                radiotap::LINKTYPE_IEEE802_11_RADIOTAP,
                radiotap(&beacon_frame(&pack, counter)),
                Transport::WifiBeacon,
                &pack,
            ),
            (wifi::LINKTYPE_IEEE802_11, nan_frame(&pack, counter), Transport::WifiNan, &pack),
            (
                nordic::LINKTYPE_NORDIC_BLE,
                nordic_ext(&pack, counter),
                Transport::BluetoothLongRange,
                &pack,
            ),
            (
                nordic::LINKTYPE_NORDIC_BLE,
                nordic_legacy(&one, counter),
                Transport::BluetoothLegacy,
                &one,
            ),
        ];
        for (linktype, frame, transport, payload) in &cases {
            let f = capture::extract(*linktype, frame).unwrap().unwrap();
            prop_assert_eq!(f.transport, *transport);
            prop_assert_eq!(f.counter, counter);
            prop_assert_eq!(f.payload, *payload);
            // Cut inside the frame, but not into the trailing bytes after the payload
            // (NaN extension attribute, BLE CRC), which nothing reads.
            let cut = ((frame.len() as f64) * cut_frac) as usize;
            let at = frame.windows(payload.len()).rposition(|w| w == *payload).unwrap();
            let end_of_payload = at + payload.len();
            if cut < end_of_payload {
                truncation_is_named(capture::extract(*linktype, &frame[..cut]))?;
            }
        }
    }

    #[test]
    fn link_layers_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        for lt in [127, 105, 272, LINKTYPE_BLUETOOTH_LE_LL, 1] {
            let _ = capture::extract(lt, &bytes);
        }
        let _ = ble::find_service_data(&bytes);
        let ctx = ble::PduContext { link_crc_ok: None, rssi_dbm: None };
        let _ = ble::parse_advertising_pdu(&bytes, ctx);
        let _ = wifi::find_vendor_element(&bytes);
        let _ = wifi::find_nan_service_info(&bytes);
        let _ = radiotap::split(&bytes);
    }

    /// Arbitrary files never panic, whether they start with a capture magic or not.
    #[test]
    fn capture_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..400), magic in 0usize..5) {
        let magics: [&[u8]; 4] = [
            &[0xd4, 0xc3, 0xb2, 0xa1],
            &[0xa1, 0xb2, 0xc3, 0xd4],
            &[0x4d, 0x3c, 0xb2, 0xa1],
            &[0x0a, 0x0d, 0x0d, 0x0a],
        ];
        if let Some(m) = magics.get(magic)
            && bytes.len() >= 4 { bytes[..4].copy_from_slice(m); }
        if let Ok(r) = CaptureReader::from_bytes(bytes.clone()) {
            for item in r.take(1000) { let _ = item; }
        }
        if let Ok(d) = DecodeCapture::from_bytes(bytes, ReceiverConfig::default()) {
            for r in d.take(1000).flatten() {
                let _ = serde_json::to_string(&r).unwrap();
            }
        }
    }

    /// The receiver takes any decodable message from any transmitter without panicking,
    /// and every flag it raises serializes.
    #[test]
    fn receiver_never_panics(
        msgs in vec((vec(any::<u8>(), 25), 0u8..3, time_step()), 1..60),
    ) {
        let mut r = Receiver::default();
        let mut t = 1_700_000_000_000_000_000i64;
        let sensor = SensorId::new("p");
        for (bytes, tx, dt) in msgs {
            t = t.wrapping_add(dt); // now and then anywhere in the i64 range
            let Ok(m) = Message::decode(&bytes) else { continue };
            let src = Source {
                t_unix_ns: t,
                transport: Transport::WifiBeacon,
                transmitter: Some(MacAddress([2, 0, 0, 0, 0, tx])),
                link_crc_ok: None,
            };
            let u = r.update(src, &m);
            let _ = serde_json::to_string(&u.flags).unwrap();
            if let Some(o) = to_observation(&u, &sensor, ObservationId(0)) {
                prop_assert!(o.measurement.validate().is_ok());
            }
        }
    }
}
