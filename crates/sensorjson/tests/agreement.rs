//! The schema (`schema/sensor-json.schema.json`) and the Rust mapping must agree: every good
//! example passes both; every bad example (a good one with exactly one fault) is refused by
//! both, and both name the faulty field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_model::{
    HealthState, Lla, Measurement, ObservationId, SensorId, SensorKind, TimeNs,
};
use dronewatch_sensorjson::{
    MessageKind, Options, Received, SensorJson, SensorMessage, Stage, TopicLayout, map_value,
};
use serde_json::{Value, json};

const RX: Received = Received {
    at: TimeNs(1_800_000_000_000_000_000),
    id: ObservationId(77),
};

fn sj() -> SensorJson {
    SensorJson::new(TopicLayout::default(), Options::default()).expect("schema compiles")
}

fn radar() -> Value {
    json!({
        "v": 1,
        "t": "2026-11-25T10:15:30.25Z",
        "sensor_id": "radar-3",
        "sensor_kind": "radar",
        "seq": 42,
        "sensor_position": {"lat_deg": 31.9, "lon_deg": -111.0, "h_m": 900.0},
        "measurement": {
            "kind": "range_az_el", "range_m": 1500.0, "az_deg": 45.0, "el_deg": 3.5,
            "sigma_range_m": 10.0, "sigma_az_deg": 0.5, "sigma_el_deg": 0.8
        },
        "identity": {"classification": {"class": "uav.multirotor", "confidence": 0.8}}
    })
}

fn rid_detection() -> Value {
    json!({
        "t": 1_795_601_730_250_000_000_i64,
        "sensor_id": "rid-rx.1",
        "sensor_kind": "remote_id",
        "measurement": {
            "kind": "position",
            "position": {"lat_deg": 31.91, "lon_deg": -110.98, "h_m": 1020.5},
            "sigma_horizontal_m": 5.0, "sigma_vertical_m": 7.5
        },
        "identity": {
            "remote_id_serial": "1581F4XFC2285003PZ6V",
            "operator_position": {"lat_deg": 31.905, "lon_deg": -110.99, "h_m": 910.0}
        }
    })
}

fn status() -> Value {
    json!({
        "t": "2026-11-25T10:15:30Z",
        "sensor_id": "radar-3",
        "state": "warning",
        "position": {"lat_deg": 31.9, "lon_deg": -111.0, "h_m": 900.0},
        "detail": ["transmitter temperature high"]
    })
}

/// dronecot's UDP Remote ID JSON, as its docstring shows it.
fn dronecot() -> Value {
    json!({"t": 1745000000.0, "mac": "fa:0b:bc:12:34:56", "radio": "wifi_beacon",
           "rssi": -68, "type": "Location/Vector", "lat": 40.7128, "lon": -74.0060,
           "alt": 120.5, "speed": 8.25, "hdg": 270.0, "id": null})
}

/// A DragonSync-style drone payload (fields from its docs/mqtt-schema.md).
fn dragonsync() -> Value {
    json!({
        "id": "1581F5FJD239C00DW22E", "id_type": "Serial Number (ANSI/CTA-2063-A)",
        "mac": "60:60:1f:00:00:01", "track_type": "drone",
        "lat": 31.95, "lon": -110.91, "latitude": 31.95, "longitude": -110.91,
        "alt": 1050.0, "height": 120.0, "pressure_altitude": null,
        "speed": 4.0, "vspeed": 0.5, "direction": 90.0,
        "pilot_lat": 31.949, "pilot_lon": -110.912, "home_lat": 31.949, "home_lon": -110.912,
        "ua_type": 2, "rssi": -71.0, "observed_at": 1764065730.5, "gps_accuracy": 3.0,
        "horizontal_accuracy": "<3m", "seen_by": "wardragon-123"
    })
}

/// `base` with the value at JSON Pointer `ptr` replaced (or added), or removed when `None`.
fn with(mut base: Value, ptr: &str, v: Option<Value>) -> Value {
    let (parent, key) = ptr.rsplit_once('/').expect("pointer");
    let obj = base
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object");
    match v {
        Some(v) => obj.insert(key.to_owned(), v),
        None => obj.remove(key),
    };
    base
}

fn set(base: Value, ptr: &str, v: Value) -> Value {
    with(base, ptr, Some(v))
}

fn del(base: Value, ptr: &str) -> Value {
    with(base, ptr, None)
}

fn good() -> Vec<(&'static str, MessageKind, Value)> {
    use MessageKind::*;
    let bearing = json!({"kind": "bearing", "az_deg": 0.0, "sigma_az_deg": 3.0});
    let az_el = json!({"kind": "az_el", "az_deg": 359.99, "el_deg": 90.0,
                       "sigma_az_deg": 5.0, "sigma_el_deg": 5.0});
    let sighting = json!({"kind": "bearing_distance", "az_deg": 120.0, "dist_m": 300.0,
                          "sigma_az_deg": 10.0, "sigma_dist_rel": 0.3});
    vec![
        ("radar, all optional fields", Detection, radar()),
        ("remote id position, integer ns", Detection, rid_detection()),
        (
            "minimal radar",
            Detection,
            del(del(del(radar(), "/v"), "/seq"), "/identity"),
        ),
        (
            "rf df bearing",
            Detection,
            set(
                set(radar(), "/sensor_kind", json!("rf_df")),
                "/measurement",
                bearing,
            ),
        ),
        (
            "acoustic az/el at the limits",
            Detection,
            set(
                set(radar(), "/sensor_kind", json!("acoustic")),
                "/measurement",
                az_el,
            ),
        ),
        (
            "agent sighting",
            Detection,
            set(
                set(radar(), "/sensor_kind", json!("agent")),
                "/measurement",
                sighting,
            ),
        ),
        (
            "offset time",
            Detection,
            set(radar(), "/t", json!("2026-11-25T12:15:30.25+02:00")),
        ),
        (
            "year 2000 written with an offset that puts it in 1999",
            Detection,
            set(radar(), "/t", json!("2000-01-01T00:30:00+01:00")),
        ),
        (
            "last ns of 2199",
            Detection,
            set(radar(), "/t", json!(7_258_118_399_999_999_999_i64)),
        ),
        (
            "lower-case t and z",
            Detection,
            set(radar(), "/t", json!("2026-11-25t10:15:30z")),
        ),
        (
            "elevation -90",
            Detection,
            set(radar(), "/measurement/el_deg", json!(-90)),
        ),
        (
            "integer sigma",
            Detection,
            set(radar(), "/measurement/sigma_az_deg", json!(1)),
        ),
        ("seq 0", Detection, set(radar(), "/seq", json!(0))),
        (
            "seq u64 max",
            Detection,
            set(radar(), "/seq", json!(u64::MAX)),
        ),
        (
            "seq as integral float",
            Detection,
            set(radar(), "/seq", json!(7.0)),
        ),
        (
            "latitude -90, longitude 180",
            Detection,
            set(
                radar(),
                "/sensor_position",
                json!({"lat_deg": -90, "lon_deg": 180, "h_m": 0}),
            ),
        ),
        (
            "confidence 0",
            Detection,
            set(radar(), "/identity/classification/confidence", json!(0)),
        ),
        (
            "confidence 1",
            Detection,
            set(radar(), "/identity/classification/confidence", json!(1)),
        ),
        (
            "rf node with its object id and the link it hears",
            Detection,
            set(
                set(radar(), "/identity/sensor_object_id", json!("01JF3Q8Z2X")),
                "/identity/rf_emission",
                json!({"centre_frequency_hz": 2.44e9, "bandwidth_hz": 2e7, "amplitude": -61.5}),
            ),
        ),
        (
            "rf emission, frequency only",
            Detection,
            set(
                radar(),
                "/identity/rf_emission",
                json!({"centre_frequency_hz": 5.8e9}),
            ),
        ),
        (
            "adsb with icao",
            Detection,
            set(
                set(rid_detection(), "/sensor_kind", json!("adsb")),
                "/identity",
                json!({"icao_address": "a1B2c3"}),
            ),
        ),
        (
            "position with a sensor position",
            Detection,
            set(
                rid_detection(),
                "/sensor_position",
                json!({"lat_deg": 31.0, "lon_deg": -111.0, "h_m": 800.0}),
            ),
        ),
        (
            "id punctuation",
            Detection,
            set(radar(), "/sensor_id", json!("Radar_3.north:A-1")),
        ),
        (
            "empty identity",
            Detection,
            set(radar(), "/identity", json!({})),
        ),
        ("status", Status, status()),
        (
            "minimal status",
            Status,
            json!({"t": 1_795_601_730_000_000_000_i64, "sensor_id": "x", "state": "offline"}),
        ),
        ("status v1", Status, set(status(), "/v", json!(1))),
        ("dronecot flat", RemoteIdFlat, dronecot()),
        ("dragonsync flat", RemoteIdFlat, dragonsync()),
        (
            "flat without any time",
            RemoteIdFlat,
            json!({"lat": 1.0, "lon": 0.0, "alt": 10.0}),
        ),
        (
            "flat with nulls",
            RemoteIdFlat,
            json!({"lat": 1.0, "lon": 2.0, "alt": 3.0, "t": null, "id": null, "pilot_lat": null, "pilot_lon": null, "gps_accuracy": null, "height": null}),
        ),
        (
            "flat pilot at 0,0 means none",
            RemoteIdFlat,
            set(
                set(dragonsync(), "/pilot_lat", json!(0)),
                "/pilot_lon",
                json!(0),
            ),
        ),
        (
            "flat empty id",
            RemoteIdFlat,
            set(dronecot(), "/id", json!("")),
        ),
    ]
}

fn bad() -> Vec<(&'static str, MessageKind, Value, &'static str)> {
    use MessageKind::*;
    let long = "x".repeat(65);
    vec![
        ("not an object", Detection, json!([1, 2]), ""),
        (
            "an array shaped like the struct",
            Detection,
            json!([1, "2026-11-25T10:15:30Z", "r", "radar", 1, [1.0, 2.0, 3.0], {"kind": "bearing", "az_deg": 1.0, "sigma_az_deg": 1.0}, {}]),
            "",
        ),
        (
            "position as an array",
            Detection,
            set(radar(), "/sensor_position", json!([31.9, -111.0, 900.0])),
            "/sensor_position",
        ),
        (
            "classification as an array",
            Detection,
            set(radar(), "/identity/classification", json!(["uav", 0.5])),
            "/identity/classification",
        ),
        ("missing t", Detection, del(radar(), "/t"), "/t"),
        (
            "t in seconds",
            Detection,
            set(radar(), "/t", json!(1_764_065_730)),
            "/t",
        ),
        (
            "t in ms",
            Detection,
            set(radar(), "/t", json!(1_764_065_730_250_i64)),
            "/t",
        ),
        (
            "t boolean",
            Detection,
            set(radar(), "/t", json!(true)),
            "/t",
        ),
        (
            "t month 13",
            Detection,
            set(radar(), "/t", json!("2026-13-25T10:15:30Z")),
            "/t",
        ),
        (
            "t without offset",
            Detection,
            set(radar(), "/t", json!("2026-11-25T10:15:30")),
            "/t",
        ),
        (
            "t with a space",
            Detection,
            set(radar(), "/t", json!("2026-11-25 10:15:30Z")),
            "/t",
        ),
        (
            "t year 1999",
            Detection,
            set(radar(), "/t", json!("1999-12-31T23:59:59Z")),
            "/t",
        ),
        (
            "t year 2200",
            Detection,
            set(radar(), "/t", json!("2200-01-01T00:00:00Z")),
            "/t",
        ),
        (
            "t year 1013",
            Detection,
            set(radar(), "/t", json!("1013-11-25T10:15:30Z")),
            "/t",
        ),
        (
            "t ns in 2200",
            Detection,
            set(radar(), "/t", json!(7_258_118_400_000_000_000_i64)),
            "/t",
        ),
        (
            "sensor id with space",
            Detection,
            set(radar(), "/sensor_id", json!("radar 3")),
            "/sensor_id",
        ),
        (
            "sensor id empty",
            Detection,
            set(radar(), "/sensor_id", json!("")),
            "/sensor_id",
        ),
        (
            "sensor id with slash",
            Detection,
            set(radar(), "/sensor_id", json!("a/b")),
            "/sensor_id",
        ),
        (
            "sensor id number",
            Detection,
            set(radar(), "/sensor_id", json!(5)),
            "/sensor_id",
        ),
        (
            "unknown sensor kind",
            Detection,
            set(radar(), "/sensor_kind", json!("radr")),
            "/sensor_kind",
        ),
        (
            "seq negative",
            Detection,
            set(radar(), "/seq", json!(-1)),
            "/seq",
        ),
        (
            "seq fraction",
            Detection,
            set(radar(), "/seq", json!(1.5)),
            "/seq",
        ),
        (
            "seq string",
            Detection,
            set(radar(), "/seq", json!("1")),
            "/seq",
        ),
        ("version 2", Detection, set(radar(), "/v", json!(2)), "/v"),
        (
            "unknown field",
            Detection,
            set(radar(), "/foo", json!(1)),
            "/foo",
        ),
        (
            "null identity",
            Detection,
            set(radar(), "/identity", Value::Null),
            "/identity",
        ),
        (
            "relative without sensor position",
            Detection,
            del(radar(), "/sensor_position"),
            "/sensor_position",
        ),
        (
            "latitude 91",
            Detection,
            set(radar(), "/sensor_position/lat_deg", json!(91)),
            "/sensor_position/lat_deg",
        ),
        (
            "longitude 180.5",
            Detection,
            set(radar(), "/sensor_position/lon_deg", json!(180.5)),
            "/sensor_position/lon_deg",
        ),
        (
            "height -2000",
            Detection,
            set(radar(), "/sensor_position/h_m", json!(-2000)),
            "/sensor_position/h_m",
        ),
        (
            "lla extra field",
            Detection,
            set(radar(), "/sensor_position/alt", json!(1)),
            "/sensor_position/alt",
        ),
        (
            "lla missing h",
            Detection,
            del(radar(), "/sensor_position/h_m"),
            "/sensor_position/h_m",
        ),
        (
            "missing measurement",
            Detection,
            del(radar(), "/measurement"),
            "/measurement",
        ),
        (
            "measurement array",
            Detection,
            set(radar(), "/measurement", json!([])),
            "/measurement",
        ),
        (
            "measurement without kind",
            Detection,
            del(radar(), "/measurement/kind"),
            "/measurement/kind",
        ),
        (
            "measurement kind unknown",
            Detection,
            set(radar(), "/measurement/kind", json!("polar")),
            "/measurement/kind",
        ),
        (
            "range 0",
            Detection,
            set(radar(), "/measurement/range_m", json!(0)),
            "/measurement/range_m",
        ),
        (
            "azimuth 360",
            Detection,
            set(radar(), "/measurement/az_deg", json!(360)),
            "/measurement/az_deg",
        ),
        (
            "azimuth negative",
            Detection,
            set(radar(), "/measurement/az_deg", json!(-0.1)),
            "/measurement/az_deg",
        ),
        (
            "elevation 90.1",
            Detection,
            set(radar(), "/measurement/el_deg", json!(90.1)),
            "/measurement/el_deg",
        ),
        (
            "sigma az 0",
            Detection,
            set(radar(), "/measurement/sigma_az_deg", json!(0)),
            "/measurement/sigma_az_deg",
        ),
        (
            "sigma el negative",
            Detection,
            set(radar(), "/measurement/sigma_el_deg", json!(-1)),
            "/measurement/sigma_el_deg",
        ),
        (
            "sigma as string",
            Detection,
            set(radar(), "/measurement/sigma_el_deg", json!("1")),
            "/measurement/sigma_el_deg",
        ),
        (
            "measurement extra field",
            Detection,
            set(radar(), "/measurement/extra", json!(1)),
            "/measurement/extra",
        ),
        (
            "field of another kind",
            Detection,
            set(radar(), "/measurement/dist_m", json!(1)),
            "/measurement/dist_m",
        ),
        (
            "missing sigma range",
            Detection,
            del(radar(), "/measurement/sigma_range_m"),
            "/measurement/sigma_range_m",
        ),
        (
            "position sigma vertical 0",
            Detection,
            set(rid_detection(), "/measurement/sigma_vertical_m", json!(0)),
            "/measurement/sigma_vertical_m",
        ),
        (
            "position latitude 100",
            Detection,
            set(rid_detection(), "/measurement/position/lat_deg", json!(100)),
            "/measurement/position/lat_deg",
        ),
        (
            "sighting distance 0",
            Detection,
            set(
                set(radar(), "/sensor_kind", json!("agent")),
                "/measurement",
                json!({"kind": "bearing_distance", "az_deg": 1.0, "dist_m": 0.0, "sigma_az_deg": 10.0, "sigma_dist_rel": 0.3}),
            ),
            "/measurement/dist_m",
        ),
        (
            "sighting relative sigma 0",
            Detection,
            set(
                set(radar(), "/sensor_kind", json!("agent")),
                "/measurement",
                json!({"kind": "bearing_distance", "az_deg": 1.0, "dist_m": 10.0, "sigma_az_deg": 10.0, "sigma_dist_rel": 0}),
            ),
            "/measurement/sigma_dist_rel",
        ),
        (
            "serial empty",
            Detection,
            set(rid_detection(), "/identity/remote_id_serial", json!("")),
            "/identity/remote_id_serial",
        ),
        (
            "serial too long",
            Detection,
            set(rid_detection(), "/identity/remote_id_serial", json!(long)),
            "/identity/remote_id_serial",
        ),
        (
            "serial non-ascii",
            Detection,
            set(
                rid_detection(),
                "/identity/remote_id_serial",
                json!("SÉRIAL"),
            ),
            "/identity/remote_id_serial",
        ),
        (
            "operator latitude 91",
            Detection,
            set(
                rid_detection(),
                "/identity/operator_position/lat_deg",
                json!(91),
            ),
            "/identity/operator_position/lat_deg",
        ),
        (
            "icao short",
            Detection,
            set(radar(), "/identity/icao_address", json!("ABC")),
            "/identity/icao_address",
        ),
        (
            "icao not hex",
            Detection,
            set(radar(), "/identity/icao_address", json!("GGGGGG")),
            "/identity/icao_address",
        ),
        (
            "icao as number",
            Detection,
            set(radar(), "/identity/icao_address", json!(123456)),
            "/identity/icao_address",
        ),
        (
            "confidence 1.5",
            Detection,
            set(radar(), "/identity/classification/confidence", json!(1.5)),
            "/identity/classification/confidence",
        ),
        (
            "class upper case",
            Detection,
            set(radar(), "/identity/classification/class", json!("UAV")),
            "/identity/classification/class",
        ),
        (
            "class empty part",
            Detection,
            set(radar(), "/identity/classification/class", json!("uav..x")),
            "/identity/classification/class",
        ),
        (
            "classification without confidence",
            Detection,
            del(radar(), "/identity/classification/confidence"),
            "/identity/classification/confidence",
        ),
        (
            "object id empty",
            Detection,
            set(radar(), "/identity/sensor_object_id", json!("")),
            "/identity/sensor_object_id",
        ),
        (
            "object id as number",
            Detection,
            set(radar(), "/identity/sensor_object_id", json!(7)),
            "/identity/sensor_object_id",
        ),
        (
            "rf frequency zero",
            Detection,
            set(
                radar(),
                "/identity/rf_emission",
                json!({"centre_frequency_hz": 0}),
            ),
            "/identity/rf_emission/centre_frequency_hz",
        ),
        (
            "rf negative bandwidth",
            Detection,
            set(
                radar(),
                "/identity/rf_emission",
                json!({"centre_frequency_hz": 2.4e9, "bandwidth_hz": -1}),
            ),
            "/identity/rf_emission/bandwidth_hz",
        ),
        (
            "rf without frequency",
            Detection,
            set(radar(), "/identity/rf_emission", json!({"amplitude": -50})),
            "/identity/rf_emission/centre_frequency_hz",
        ),
        (
            "rf unknown field",
            Detection,
            set(
                radar(),
                "/identity/rf_emission",
                json!({"centre_frequency_hz": 2.4e9, "band": "2.4"}),
            ),
            "/identity/rf_emission/band",
        ),
        (
            "identity unknown field",
            Detection,
            set(radar(), "/identity/callsign", json!("X")),
            "/identity/callsign",
        ),
        ("status not an object", Status, json!("ok"), ""),
        (
            "status unknown state",
            Status,
            set(status(), "/state", json!("bad")),
            "/state",
        ),
        (
            "status missing state",
            Status,
            del(status(), "/state"),
            "/state",
        ),
        ("status missing t", Status, del(status(), "/t"), "/t"),
        (
            "status detail number",
            Status,
            set(status(), "/detail", json!([1])),
            "/detail/0",
        ),
        (
            "status detail too long",
            Status,
            set(status(), "/detail", json!(["y".repeat(513)])),
            "/detail/0",
        ),
        (
            "status too many details",
            Status,
            set(status(), "/detail", json!(vec!["d"; 33])),
            "/detail",
        ),
        (
            "status bad position",
            Status,
            set(status(), "/position/lat_deg", json!(-91)),
            "/position/lat_deg",
        ),
        (
            "status unknown field",
            Status,
            set(status(), "/extra", json!(true)),
            "/extra",
        ),
        (
            "status null detail",
            Status,
            set(status(), "/detail", Value::Null),
            "/detail",
        ),
        ("flat not an object", RemoteIdFlat, json!(null), ""),
        (
            "flat missing lat",
            RemoteIdFlat,
            del(dronecot(), "/lat"),
            "/lat",
        ),
        (
            "flat lat as string",
            RemoteIdFlat,
            set(dronecot(), "/lat", json!("40.7")),
            "/lat",
        ),
        (
            "flat lat null",
            RemoteIdFlat,
            set(dronecot(), "/lat", Value::Null),
            "/lat",
        ),
        (
            "flat lat 91",
            RemoteIdFlat,
            set(dronecot(), "/lat", json!(91)),
            "/lat",
        ),
        (
            "flat lon 181",
            RemoteIdFlat,
            set(dronecot(), "/lon", json!(181)),
            "/lon",
        ),
        (
            "flat no fix",
            RemoteIdFlat,
            set(set(dronecot(), "/lat", json!(0)), "/lon", json!(0.0)),
            "/lon",
        ),
        (
            "flat alt unknown",
            RemoteIdFlat,
            set(dronecot(), "/alt", json!(-1000)),
            "/alt",
        ),
        (
            "flat alt missing",
            RemoteIdFlat,
            del(dronecot(), "/alt"),
            "/alt",
        ),
        (
            "flat t in ms",
            RemoteIdFlat,
            set(dronecot(), "/t", json!(1_745_000_000_000_i64)),
            "/t",
        ),
        (
            "flat t tiny",
            RemoteIdFlat,
            set(dronecot(), "/t", json!(5)),
            "/t",
        ),
        (
            "flat t string",
            RemoteIdFlat,
            set(dronecot(), "/t", json!("2026-11-25T10:15:30Z")),
            "/t",
        ),
        (
            "flat observed_at in ms",
            RemoteIdFlat,
            set(dragonsync(), "/observed_at", json!(1_764_065_730_500_i64)),
            "/observed_at",
        ),
        (
            "flat id number",
            RemoteIdFlat,
            set(dronecot(), "/id", json!(5)),
            "/id",
        ),
        (
            "flat id too long",
            RemoteIdFlat,
            set(dronecot(), "/id", json!(long)),
            "/id",
        ),
        (
            "flat pilot lat 95",
            RemoteIdFlat,
            set(dragonsync(), "/pilot_lat", json!(95)),
            "/pilot_lat",
        ),
        (
            "flat gps accuracy negative",
            RemoteIdFlat,
            set(dragonsync(), "/gps_accuracy", json!(-1)),
            "/gps_accuracy",
        ),
        (
            "flat aircraft",
            RemoteIdFlat,
            set(dragonsync(), "/track_type", json!("aircraft")),
            "/track_type",
        ),
        (
            "flat track type null",
            RemoteIdFlat,
            set(dragonsync(), "/track_type", Value::Null),
            "/track_type",
        ),
    ]
}

#[test]
fn good_examples_pass_schema_and_mapping() {
    let sj = sj();
    for (name, kind, msg) in good() {
        if let Err(e) = sj.validate(kind, &msg) {
            panic!("{name}: schema refused: {e}");
        }
        if let Err(e) = map_value(kind, &msg, Some(topic_id(&msg)), RX, &Options::default()) {
            panic!("{name}: mapping refused: {e}");
        }
        let payload = serde_json::to_vec(&msg).unwrap();
        let topic = TopicLayout::default().topic("sector-1", topic_id(&msg), kind);
        assert!(sj.parse(&topic, &payload, RX).is_ok(), "{name}: parse");
    }
}

/// The sensor id the topic would carry: the message's own, or one for flat messages.
fn topic_id(msg: &Value) -> &str {
    msg.get("sensor_id")
        .and_then(Value::as_str)
        .unwrap_or("rid-rx-7")
}

#[test]
fn bad_examples_fail_both_and_both_name_the_field() {
    let sj = sj();
    for (name, kind, msg, field) in bad() {
        let schema = sj.validate(kind, &msg).expect_err(name);
        assert_eq!(schema.stage, Stage::Schema, "{name}");
        let fields: Vec<&str> = schema.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&field),
            "{name}: schema named {fields:?}, expected {field:?} ({schema})"
        );
        let mapping = map_value(kind, &msg, Some(topic_id(&msg)), RX, &Options::default())
            .err()
            .unwrap_or_else(|| panic!("{name}: mapping accepted it"));
        assert_eq!(mapping.stage, Stage::Mapping, "{name}");
        assert_eq!(mapping.field(), field, "{name}: mapping said {mapping}");
        assert!(!mapping.reason().is_empty(), "{name}");
        for e in schema.errors.iter().chain(&mapping.errors) {
            assert!(!e.reason.is_empty(), "{name}: empty reason");
        }
    }
}

#[test]
fn good_examples_map_to_the_values_they_state() {
    let opts = Options::default();
    let Ok(SensorMessage::Observation(o)) =
        map_value(MessageKind::Detection, &radar(), None, RX, &opts)
    else {
        panic!("radar");
    };
    assert_eq!(o.id, ObservationId(42));
    assert_eq!(o.sensor_id, SensorId::new("radar-3"));
    assert_eq!(o.sensor_kind, SensorKind::Radar);
    assert_eq!(o.sensor_position, Some(Lla::new(31.9, -111.0, 900.0)));
    assert_eq!(
        o.measurement,
        Measurement::RangeAzEl {
            range_m: 1500.0,
            az_deg: 45.0,
            el_deg: 3.5,
            sigma_range_m: 10.0,
            sigma_az_deg: 0.5,
            sigma_el_deg: 0.8
        }
    );
    let c = o.identity.classification.expect("classification");
    assert_eq!((c.class.as_str(), c.confidence), ("uav.multirotor", 0.8));
    // The same instant given as a string and as integer ns.
    let Ok(SensorMessage::Observation(r)) =
        map_value(MessageKind::Detection, &rid_detection(), None, RX, &opts)
    else {
        panic!("rid");
    };
    assert_eq!(o.t, r.t);
    assert_eq!(r.id, RX.id, "no seq: the receiver's id");
    assert_eq!(
        r.identity.remote_id_serial.as_deref(),
        Some("1581F4XFC2285003PZ6V")
    );
    assert_eq!(
        r.identity.operator_position,
        Some(Lla::new(31.905, -110.99, 910.0))
    );

    let adsb = set(
        rid_detection(),
        "/identity",
        json!({"icao_address": "a1B2c3"}),
    );
    let Ok(SensorMessage::Observation(a)) =
        map_value(MessageKind::Detection, &adsb, None, RX, &opts)
    else {
        panic!("adsb");
    };
    assert_eq!(a.identity.icao_address, Some(0xA1B2C3));

    let rf = set(
        set(radar(), "/identity/sensor_object_id", json!("T-17")),
        "/identity/rf_emission",
        json!({"centre_frequency_hz": 2.44e9, "bandwidth_hz": 2e7}),
    );
    let Ok(SensorMessage::Observation(o)) = map_value(MessageKind::Detection, &rf, None, RX, &opts)
    else {
        panic!("rf");
    };
    assert_eq!(o.identity.sensor_object_id.as_deref(), Some("T-17"));
    let e = o.identity.rf_emission.expect("rf emission");
    assert_eq!(
        (e.centre_frequency_hz, e.bandwidth_hz, e.amplitude),
        (2.44e9, Some(2e7), None)
    );

    let Ok(SensorMessage::Health(h)) = map_value(MessageKind::Status, &status(), None, RX, &opts)
    else {
        panic!("status");
    };
    assert_eq!(h.state, HealthState::Warning);
    assert_eq!(h.position, Some(Lla::new(31.9, -111.0, 900.0)));
    assert_eq!(h.detail, vec!["transmitter temperature high".to_owned()]);
}

#[test]
fn flat_remote_id_maps_position_serial_pilot_and_time() {
    let opts = Options::default();
    let Ok(SensorMessage::Observation(d)) = map_value(
        MessageKind::RemoteIdFlat,
        &dragonsync(),
        Some("kit-1"),
        RX,
        &opts,
    ) else {
        panic!("dragonsync");
    };
    assert_eq!(d.sensor_id, SensorId::new("kit-1"));
    assert_eq!(d.sensor_kind, SensorKind::RemoteId);
    assert_eq!(d.t, TimeNs(1_764_065_730_500_000_000), "observed_at in s");
    assert_eq!(
        d.identity.remote_id_serial.as_deref(),
        Some("1581F5FJD239C00DW22E")
    );
    // No pilot_alt: the ground under the drone, alt - height.
    assert_eq!(
        d.identity.operator_position,
        Some(Lla::new(31.949, -110.912, 930.0))
    );
    let Measurement::Position {
        position,
        sigma_horizontal_m,
        ..
    } = d.measurement
    else {
        panic!("position");
    };
    assert_eq!(position, Lla::new(31.95, -110.91, 1050.0));
    assert_eq!(
        sigma_horizontal_m, 1.5,
        "95 % bound of 3 m -> one sigma 1.5 m"
    );

    let Ok(SensorMessage::Observation(c)) = map_value(
        MessageKind::RemoteIdFlat,
        &dronecot(),
        Some("kit-1"),
        RX,
        &opts,
    ) else {
        panic!("dronecot");
    };
    assert_eq!(c.t, TimeNs(1_745_000_000_000_000_000));
    assert_eq!(c.identity.remote_id_serial, None, "id null");
    assert_eq!(c.id, RX.id);
    let no_time = json!({"lat": 1.0, "lon": 2.0, "alt": 3.0});
    let Ok(SensorMessage::Observation(n)) = map_value(
        MessageKind::RemoteIdFlat,
        &no_time,
        Some("kit-1"),
        RX,
        &opts,
    ) else {
        panic!("no time");
    };
    assert_eq!(n.t, RX.at, "reception time");
    assert!(map_value(MessageKind::RemoteIdFlat, &no_time, None, RX, &opts).is_err());
}

#[test]
fn topic_and_payload_errors_are_named() {
    let sj = sj();
    let payload = serde_json::to_vec(&radar()).unwrap();
    let topic = TopicLayout::default().topic("s1", "radar-4", MessageKind::Detection);
    let e = sj.parse(&topic, &payload, RX).expect_err("id mismatch");
    assert_eq!((e.stage, e.field()), (Stage::Mapping, "/sensor_id"));
    assert!(e.reason().contains("radar-4"), "{e}");

    let e = sj.parse("dronewatch/s1/sensors/radar-3/tracks", &payload, RX);
    assert_eq!(
        e.map_err(|e| (e.stage, e.field().to_owned())).err(),
        Some((Stage::Topic, "topic".into()))
    );

    let topic = TopicLayout::default().topic("s1", "radar-3", MessageKind::Detection);
    let e = sj.parse(&topic, b"{\"t\": ", RX).expect_err("truncated");
    assert_eq!((e.stage, e.field()), (Stage::Payload, "payload"));
    assert!(e.reason().contains("line 1"), "{e}");

    let small = SensorJson::new(
        TopicLayout::default(),
        Options {
            max_payload_bytes: 10,
            ..Options::default()
        },
    )
    .unwrap();
    let e = small.parse(&topic, &payload, RX).expect_err("too large");
    assert_eq!((e.stage, e.field()), (Stage::Payload, "payload"));

    // A schema failure is reported before the mapping runs.
    let bad = serde_json::to_vec(&set(radar(), "/measurement/range_m", json!(-1))).unwrap();
    let e = sj.parse(&topic, &bad, RX).expect_err("schema");
    assert_eq!(e.stage, Stage::Schema);
}
