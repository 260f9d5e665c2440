//! Property tests: nothing panics on arbitrary bytes or JSON, and on generated near-valid
//! messages the schema and the Rust mapping reach the same verdict (a differential test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_model::{ObservationId, TimeNs};
use dronewatch_sensorjson::{
    MessageKind, Options, Received, SensorJson, SensorMessage, TopicLayout, map_value,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const RX: Received = Received {
    at: TimeNs(1_800_000_000_000_000_000),
    id: ObservationId(1),
};

fn sj() -> &'static SensorJson {
    static SJ: std::sync::OnceLock<SensorJson> = std::sync::OnceLock::new();
    SJ.get_or_init(|| SensorJson::new(TopicLayout::default(), Options::default()).unwrap())
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        "[a-z_]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("t".to_owned()),
                    Just("lat".to_owned()),
                    Just("measurement".to_owned()),
                    Just("kind".to_owned()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A number near the interesting limits (0, ±90, ±180, 360, -1000) or anywhere.
fn num() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => prop::sample::select(vec![
            0.0, -0.0, 1.0, -1.0, 89.9, 90.0, 90.1, -90.0, -90.1, 179.9, 180.0, 180.5, -180.0,
            -180.5, 359.9, 360.0, -1000.0, -999.5, 100000.0, 100000.5,
        ])
        .prop_map(Value::from),
        // Valid for every field (positive, within latitude, azimuth and elevation limits).
        40 => (0.001f64..80.0).prop_map(Value::from),
        1 => (-500.0f64..500.0).prop_map(Value::from),
        1 => (-2000i64..2000).prop_map(Value::from),
        1 => Just(json!("1")),
        1 => Just(Value::Null),
    ]
}

/// An object from optional fields: each may be left out, and a stray one may be added.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> {
    let n = fields.len();
    let (names, strategies): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    (
        strategies,
        proptest::collection::vec(prop::bool::weighted(0.97), n),
        prop::bool::weighted(0.02),
    )
        .prop_map(move |(values, keep, stray)| {
            let mut m = Map::new();
            for ((name, v), keep) in names.iter().zip(values).zip(keep) {
                if keep {
                    m.insert((*name).to_owned(), v);
                }
            }
            if stray {
                m.insert("stray".into(), json!(1));
            }
            Value::Object(m)
        })
}

fn lla() -> BoxedStrategy<Value> {
    object(vec![
        ("lat_deg", num().boxed()),
        ("lon_deg", num().boxed()),
        ("h_m", num().boxed()),
    ])
    .boxed()
}

fn measurement() -> BoxedStrategy<Value> {
    let kind = prop::sample::select(vec![
        "position",
        "range_az_el",
        "bearing",
        "az_el",
        "bearing_distance",
        "polar",
    ])
    .prop_map(Value::from)
    .boxed();
    object(vec![
        ("kind", kind),
        ("position", lla()),
        ("sigma_horizontal_m", num().boxed()),
        ("sigma_vertical_m", num().boxed()),
        ("range_m", num().boxed()),
        ("az_deg", num().boxed()),
        ("el_deg", num().boxed()),
        ("sigma_range_m", num().boxed()),
        ("sigma_az_deg", num().boxed()),
        ("sigma_el_deg", num().boxed()),
        ("dist_m", num().boxed()),
        ("sigma_dist_rel", num().boxed()),
    ])
    // Keep only the fields of the chosen kind most of the time, so that valid messages are
    // frequent enough to test acceptance too.
    .prop_flat_map(|m| {
        let kind = m
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let keep: &[&str] = match kind.as_str() {
            "position" => &["kind", "position", "sigma_horizontal_m", "sigma_vertical_m"],
            "range_az_el" => &[
                "kind",
                "range_m",
                "az_deg",
                "el_deg",
                "sigma_range_m",
                "sigma_az_deg",
                "sigma_el_deg",
            ],
            "bearing" => &["kind", "az_deg", "sigma_az_deg"],
            "az_el" => &["kind", "az_deg", "el_deg", "sigma_az_deg", "sigma_el_deg"],
            _ => &["kind", "az_deg", "dist_m", "sigma_az_deg", "sigma_dist_rel"],
        };
        let trimmed: Map<String, Value> = m
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| keep.contains(&k.as_str()) || k.as_str() == "stray")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prop_oneof![4 => Just(Value::Object(trimmed)), 1 => Just(m)]
    })
    .boxed()
}

fn detection() -> impl Strategy<Value = Value> {
    let t = prop_oneof![
        4 => Just(json!("2026-11-25T10:15:30.25Z")),
        4 => Just(json!("2026-11-25T10:15:30+02:00")),
        1 => Just(json!("2026-11-25 10:15:30Z")),
        1 => Just(json!("2026-02-30T10:15:30Z")),
        4 => Just(json!(1_795_601_730_250_000_000_i64)),
        1 => Just(json!(1_795_601_730)),
        1 => Just(json!(true)),
    ]
    .boxed();
    let sensor_id = prop_oneof![
        20 => Just(json!("radar-3")),
        1 => Just(json!("a b")),
        1 => Just(json!("")),
        1 => Just(json!(5)),
    ]
    .boxed();
    let kind = prop::sample::select(vec![
        "radar",
        "rf_df",
        "acoustic",
        "remote_id",
        "agent",
        "adsb",
        "eo",
        "other",
        "sonar",
    ])
    .prop_map(Value::from)
    .boxed();
    let seq = prop_oneof![
        10 => Just(json!(0)),
        1 => Just(json!(u64::MAX)),
        1 => Just(json!(-1)),
        1 => Just(json!(1.5)),
        1 => Just(json!(3.0)),
    ]
    .boxed();
    let identity = object(vec![
        (
            "remote_id_serial",
            prop_oneof![8 => Just(json!("1581F4XFC2285003PZ6V")), 1 => Just(json!("")), 1 => Just(json!("É"))]
                .boxed(),
        ),
        ("operator_position", lla()),
        (
            "icao_address",
            prop_oneof![8 => Just(json!("A1B2C3")), 1 => Just(json!("a1b2c")), 1 => Just(json!(1))]
                .boxed(),
        ),
        (
            "classification",
            object(vec![
                (
                    "class",
                    prop_oneof![8 => Just(json!("uav")), 1 => Just(json!("UAV")), 1 => Just(json!("a..b"))]
                        .boxed(),
                ),
                (
                    "confidence",
                    prop_oneof![8 => (0.0f64..=1.0).prop_map(Value::from), 1 => num()].boxed(),
                ),
            ])
            .boxed(),
        ),
    ])
    .boxed();
    object(vec![
        ("t", t),
        ("sensor_id", sensor_id),
        ("sensor_kind", kind),
        ("seq", seq),
        ("sensor_position", lla()),
        ("measurement", measurement()),
        ("identity", identity),
    ])
}

fn flat() -> impl Strategy<Value = Value> {
    object(vec![
        ("lat", num().boxed()),
        ("lon", num().boxed()),
        ("alt", num().boxed()),
        (
            "t",
            prop_oneof![
                Just(json!(1_745_000_000.5)),
                Just(json!(1_745_000_000_000_i64)),
                Just(Value::Null)
            ]
            .boxed(),
        ),
        (
            "id",
            prop_oneof![Just(json!("SN1")), Just(Value::Null), Just(json!(3))].boxed(),
        ),
        ("pilot_lat", num().boxed()),
        ("pilot_lon", num().boxed()),
        ("height", num().boxed()),
        ("gps_accuracy", num().boxed()),
        (
            "track_type",
            prop_oneof![Just(json!("drone")), Just(json!("aircraft"))].boxed(),
        ),
    ])
}

fn agree(kind: MessageKind, msg: &Value) -> Result<bool, TestCaseError> {
    let schema = sj().validate(kind, msg);
    let mapping = map_value(kind, msg, Some("radar-3"), RX, &Options::default());
    prop_assert_eq!(
        schema.is_ok(),
        mapping.is_ok(),
        "kind {:?}\nmessage {}\nschema {:?}\nmapping {:?}",
        kind,
        msg,
        schema.err().map(|e| e.to_string()),
        mapping.err().map(|e| e.to_string())
    );
    if let Ok(SensorMessage::Observation(o)) = mapping {
        prop_assert!(o.measurement.validate().is_ok());
    }
    Ok(schema.is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        kind in prop::sample::select(MessageKind::ALL.to_vec()),
    ) {
        let topic = TopicLayout::default().topic("s", "x", kind);
        let _ = sj().parse(&topic, &bytes, RX);
        let _ = sj().parse(&String::from_utf8_lossy(&bytes), &bytes, RX);
    }

    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        for kind in MessageKind::ALL {
            let _ = sj().validate(kind, &v);
            let _ = map_value(kind, &v, Some("x"), RX, &Options::default());
            let _ = map_value(kind, &v, None, RX, &Options::default());
        }
    }

    #[test]
    fn schema_and_mapping_agree_on_detections(msg in detection()) {
        agree(MessageKind::Detection, &msg)?;
    }

    #[test]
    fn schema_and_mapping_agree_on_flat_remote_id(msg in flat()) {
        agree(MessageKind::RemoteIdFlat, &msg)?;
    }
}

/// The generators above must produce accepted messages often enough for the agreement
/// properties to test acceptance, not only refusal.
#[test]
fn generators_produce_both_verdicts() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for (name, strategy, kind) in [
        ("detection", detection().boxed(), MessageKind::Detection),
        ("flat", flat().boxed(), MessageKind::RemoteIdFlat),
    ] {
        let (mut ok, mut bad) = (0, 0);
        for _ in 0..3000 {
            let v = strategy.new_tree(&mut runner).unwrap().current();
            if sj().validate(kind, &v).is_ok() {
                ok += 1;
            } else {
                bad += 1;
            }
        }
        eprintln!("{name}: {ok} accepted, {bad} refused of 3000");
        assert!(
            ok >= 20 && bad >= 20,
            "{name}: {ok} accepted, {bad} refused"
        );
    }
}
