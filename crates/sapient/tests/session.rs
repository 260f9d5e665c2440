//! The sans-IO session driven with the Dstl test-harness messages (edited where a test needs
//! a consistent node id or a usable location) and the Apex v1.0 samples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bytes::BytesMut;
use dronewatch_model::{HealthState, Measurement, SensorKind, TimeNs};
use dronewatch_sapient::json::{v1_from_json, v2_from_json};
use dronewatch_sapient::session::{
    IcdMode, NodeRegistry, Outputs, RecordKind, Session, SessionConfig, SessionEvent,
};
use dronewatch_sapient::v2::sapient_message::Content;
use dronewatch_sapient::{FrameCodec, IcdVersion, v1, v2};
use prost::Message;
use serde_json::{Value, json};

const NOW: TimeNs = TimeNs(1_688_733_857_000_000_000);
const REG_NODE: &str = "a8654cdf-4328-47de-81fa-c495589e30c9";

fn sample(name: &str) -> Option<Value> {
    let path =
        dronewatch_testdata::data(&format!("sapient/bsi-flex-335-v2/validator/True/{name}"))?;
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn v1_sample(name: &str) -> Option<Value> {
    let path = dronewatch_testdata::data(&format!("sapient/bsi-flex-335-v1/{name}"))?;
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn frame(v: &Value) -> Vec<u8> {
    v2_from_json(&v.to_string()).unwrap().encode_to_vec()
}

fn session(cfg: SessionConfig) -> (Session, NodeRegistry) {
    let registry = NodeRegistry::new();
    (Session::new(Arc::new(cfg), registry.clone(), 1), registry)
}

fn run(s: &mut Session, payload: &[u8]) -> Outputs {
    let mut out = Outputs::default();
    s.handle_frame(payload, NOW, &mut out);
    out
}

fn only_reply(out: &Outputs) -> &Content {
    assert_eq!(out.replies.len(), 1, "{:?}", out.replies);
    out.replies[0].content.as_ref().unwrap()
}

fn error_text(out: &Outputs) -> String {
    match only_reply(out) {
        Content::Error(e) => e.error_message.join(" | "),
        other => panic!("expected an Error, got {other:?}"),
    }
}

/// A status report placing the node at 51.2 N, 1.8 W, 110 m (standard axis order).
fn status_at_salisbury(node: &str) -> Value {
    json!({
        "timestamp": "2023-07-07T12:44:17.5Z",
        "nodeId": node,
        "statusReport": {
            "reportId": "01GGYFBAV4EEPB1398MKQ47E6F",
            "system": "SYSTEM_OK",
            "info": "INFO_NEW",
            "mode": "Default",
            "nodeLocation": {
                "x": -1.8, "y": 51.2, "z": 110.0,
                "coordinateSystem": "LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M",
                "datum": "LOCATION_DATUM_WGS84_E"
            },
            "status": [{"statusLevel": "STATUS_LEVEL_INFORMATION_STATUS",
                        "statusType": "STATUS_TYPE_WEATHER", "statusValue": "Rain"}]
        }
    })
}

#[test]
fn registration_status_detection_alert_task_goodbye() {
    let Some(reg) = sample("Registration.FullMesssage.json") else {
        return;
    };
    let (mut s, registry) = session(SessionConfig::default());

    // A detection before registration gets an Error naming the reason.
    let mut det = sample("DetectionReport.RangeBearing.FullMessage.json").unwrap();
    det["nodeId"] = json!(REG_NODE);
    let out = run(&mut s, &frame(&det));
    assert!(
        error_text(&out).contains("has not registered"),
        "{}",
        error_text(&out)
    );
    assert_eq!((out.accepted, out.rejected, out.close), (0, 1, false));

    // Registration: accepted, recorded, the node appears in the registry as a camera.
    let out = run(&mut s, &frame(&reg));
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(true));
    assert_eq!(out.replies[0].destination_id.as_deref(), Some(REG_NODE));
    assert_eq!(out.replies[0].node_id.as_deref(), Some(s.dmm_node_id()));
    assert!(
        out.events
            .iter()
            .any(|e| matches!(e, SessionEvent::Record(r) if r.kind == RecordKind::Registration))
    );
    assert_eq!(registry.get(REG_NODE).unwrap().kind, SensorKind::Eo);
    assert_eq!(s.version(), Some(IcdVersion::V2_0));

    // The harness's range-bearing detection before any node location: refused with a reason.
    let out = run(&mut s, &frame(&det));
    assert!(error_text(&out).contains("node's location is unknown"));

    // The harness's status report labels degrees as UTM: health still flows, without a
    // position, and the node hears why.
    let mut status = sample("StatusReport.FullMessage.json").unwrap();
    status["nodeId"] = json!(REG_NODE);
    let out = run(&mut s, &frame(&status));
    let health = out
        .events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Health(h) => Some(h),
            _ => None,
        })
        .unwrap();
    assert_eq!(health.state, HealthState::Ok);
    assert_eq!(health.position, None);
    assert!(
        health
            .detail
            .iter()
            .any(|d| d.contains("STATUS_TYPE_WEATHER: Rain")),
        "{:?}",
        health.detail
    );
    assert!(error_text(&out).contains("status_report.node_location.y: UTM northing"));

    // A usable location; then the harness's range-bearing detection (GRID datum, degrees and
    // metres) becomes a range-azimuth-elevation observation from that position.
    let out = run(&mut s, &frame(&status_at_salisbury(REG_NODE)));
    assert!(out.replies.is_empty());
    let out = run(&mut s, &frame(&det));
    assert!(out.replies.is_empty(), "{:?}", out.replies);
    let SessionEvent::Observation(observation) = &out.events[0] else {
        panic!("{:?}", out.events)
    };
    let Measurement::RangeAzEl {
        range_m,
        az_deg,
        el_deg,
        sigma_az_deg,
        ..
    } = observation.measurement
    else {
        panic!("{observation:?}")
    };
    assert_eq!((range_m, el_deg, sigma_az_deg), (1.0, 1.0, 1.0));
    // grid azimuth 1° plus the convergence at 1.8 W in zone 30 (central meridian 3 W)
    let convergence = (1.2f64.to_radians().tan() * 51.2f64.to_radians().sin())
        .atan()
        .to_degrees();
    assert!((az_deg - (1.0 + convergence)).abs() < 1e-9, "{az_deg}");
    assert_eq!(observation.sensor_kind, SensorKind::Eo);
    assert_eq!(observation.sensor_position.unwrap().lat_deg, 51.2);
    assert_eq!(observation.t, TimeNs(1_688_733_857_027_638_700));
    assert_eq!(
        observation.identity.classification.as_ref().unwrap().class,
        "human.male"
    );
    // The node's own object id goes to fusion as an association hint.
    assert_eq!(
        observation.identity.sensor_object_id.as_deref(),
        Some("01GGYFBAXH4VYRQYEX7S3XGK3H")
    );
    // The velocity also goes to fusion, with the node's sigmas or the default ones.
    let v = observation
        .velocity
        .expect("the velocity reaches the observation");
    assert_eq!((v.east_mps, v.north_mps), (1.0, 2.0));
    assert!(v.sigma_horizontal_mps > 0.0 && v.sigma_vertical_mps > 0.0);
    // The harness registered no frequency units: 3.0 reads as 3 GHz, the band 2 to 4.
    let rf = observation.identity.rf_emission.expect("the RF signal");
    assert_eq!(rf.centre_frequency_hz, 3e9);
    assert_eq!(rf.bandwidth_hz, Some(2e9));
    assert_eq!(rf.amplitude, Some(1.0));

    // Alert: recorded and acknowledged.
    let Some(mut alert) = sample("Alert.FullMessage.json") else {
        return;
    };
    alert["nodeId"] = json!(REG_NODE);
    let out = run(&mut s, &frame(&alert));
    let Content::AlertAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.alert_id.as_deref(), Some("01H4R63D7NVN8444Z5M77WEBY7"));
    assert_eq!(
        ack.alert_ack_status,
        Some(v2::alert_ack::AlertAckStatus::Accepted as i32)
    );
    assert!(matches!(&out.events[0], SessionEvent::Record(r) if r.kind == RecordKind::Alert));

    // Every harness task is refused.
    for name in [
        "Task.FullMessage.LookAt.json",
        "Task.FullMessage.Request.Start.json",
        "Task.FullMessage.Follow.json",
    ] {
        let task = sample(name).unwrap();
        let out = run(&mut s, &frame(&task));
        let Content::TaskAck(ack) = only_reply(&out) else {
            panic!()
        };
        assert_eq!(
            ack.task_status,
            Some(v2::task_ack::TaskStatus::Rejected as i32),
            "{name}"
        );
        assert!(
            ack.reason[0].contains("accepts no tasks"),
            "{:?}",
            ack.reason
        );
        assert_eq!(out.rejected, 1);
    }

    // Goodbye: offline, and closing the connection does not repeat it.
    let mut bye = sample("StatusReport.Goodbye.json").unwrap();
    bye["nodeId"] = json!(REG_NODE);
    let out = run(&mut s, &frame(&bye));
    assert!(matches!(&out.events[0], SessionEvent::Health(h) if h.state == HealthState::Offline));
    let mut out = Outputs::default();
    s.close(NOW, "test", &mut out);
    assert!(out.events.is_empty());
    assert!(registry.is_empty());
}

#[test]
fn a_task_aimed_at_an_effector_is_refused_as_such() {
    let Some(mut reg) = sample("Registration.Small.Messsage.json") else {
        return;
    };
    let (mut jammer_side, registry) = session(SessionConfig::default());
    reg["registration"]["nodeDefinition"] = json!([{"nodeType": "NODE_TYPE_JAMMER"}]);
    let out = run(&mut jammer_side, &frame(&reg));
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(
        ack.acceptance,
        Some(true),
        "effectors may register (for awareness)"
    );
    assert!(registry.get(REG_NODE).unwrap().effector);

    // Another connection (same registry) sends a task to the jammer.
    let mut other = Session::new(Arc::new(SessionConfig::default()), registry.clone(), 2);
    let mut task = sample("Task.FullMessage.LookAt.json").unwrap();
    task["destinationId"] = json!(REG_NODE);
    let out = run(&mut other, &frame(&task));
    let Content::TaskAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(
        ack.task_status,
        Some(v2::task_ack::TaskStatus::Rejected as i32)
    );
    assert_eq!(ack.task_id.as_deref(), Some("01H4R63D7NVN8444Z5M77WEBY6"));
    assert!(
        ack.reason[0].contains("never controls effectors")
            && ack.reason[0].contains("NODE_TYPE_JAMMER"),
        "{:?}",
        ack.reason
    );
    assert!(matches!(&out.events[0], SessionEvent::Record(r) if r.kind == RecordKind::TaskRefused));
}

#[test]
fn garbage_gets_an_error_and_closes() {
    let (mut s, _) = session(SessionConfig::default());
    let garbage = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    let out = run(&mut s, garbage);
    assert!(out.close);
    let text = error_text(&out);
    assert!(
        text.contains("not a BSI Flex 335 v2.0 SapientMessage") && text.contains("closing"),
        "{text}"
    );
    let Content::Error(e) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(e.packet.as_deref(), Some(&garbage[..]));
    // An empty frame decodes to an empty message: nothing of SAPIENT in it.
    let out = run(&mut s, b"");
    assert!(out.close);
    // A framing error closes too.
    let codec = FrameCodec::new(8);
    let mut buf = BytesMut::from(&[9u8, 0, 0, 0][..]);
    let err = codec.decode(&mut buf).unwrap_err();
    let mut out = Outputs::default();
    s.handle_frame_error(&err, &buf, NOW, &mut out);
    assert!(out.close && error_text(&out).contains("exceeds the maximum"));
}

#[test]
fn invalid_messages_are_answered_with_their_violations() {
    let Some(path) = dronewatch_testdata::data(
        "sapient/bsi-flex-335-v2/validator/False/0028.Registration.IcdVersion.Wrong.json",
    ) else {
        return;
    };
    let wrong_icd = v2_from_json(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .encode_to_vec();
    // A v2-only listener says exactly why.
    let (mut s, registry) = session(SessionConfig {
        icd: IcdMode::V2,
        ..Default::default()
    });
    let out = run(&mut s, &wrong_icd);
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(false));
    assert_eq!(
        ack.ack_response_reason,
        [
            "registration.icd_version: unsupported ICD version \"BSI Flex 335 v1.0\" (this connection speaks \"BSI Flex 335 v2.0\")"
        ]
    );
    assert!(registry.is_empty());
    // An auto listener reads it as the v1.0 registration it claims to be, which it is not.
    let (mut s, registry) = session(SessionConfig::default());
    let out = run(&mut s, &wrong_icd);
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(false), "{:?}", ack.ack_response_reason);
    assert!(registry.is_empty());

    // A detection with a bad object id, from a registered node: Error with the field.
    let Some(reg) = sample("Registration.Small.Messsage.json") else {
        return;
    };
    let (mut s, _) = session(SessionConfig::default());
    run(&mut s, &frame(&reg));
    let mut det = sample("DetectionReport.FullMessage.json").unwrap();
    det["nodeId"] = json!(REG_NODE);
    det["detectionReport"]["objectId"] = json!("not-a-ulid");
    let out = run(&mut s, &frame(&det));
    assert_eq!(
        error_text(&out),
        "detection_report.object_id: \"not-a-ulid\" is not an upper-case ULID"
    );
    assert!(!out.close);
}

#[test]
fn timestamp_window_when_configured() {
    let Some(mut reg) = sample("Registration.Small.Messsage.json") else {
        return;
    };
    reg["timestamp"] = json!("2023-07-07T12:44:17.027638700Z");
    let cfg = SessionConfig {
        timestamp_window_s: Some((-0.9, 0.1)),
        ..Default::default()
    };
    let (mut s, _) = session(cfg);
    let mut out = Outputs::default();
    // The sample is from 2023; "now" two seconds later is outside Apex's default window.
    s.handle_frame(&frame(&reg), TimeNs(1_688_733_859_027_638_700), &mut out);
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(false));
    assert!(
        ack.ack_response_reason[0].contains("-2000 ms from our clock"),
        "{:?}",
        ack.ack_response_reason
    );
    let mut out = Outputs::default();
    s.handle_frame(&frame(&reg), TimeNs(1_688_733_857_227_638_700), &mut out);
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(true));
}

#[test]
fn a_v1_node_is_understood_and_answered_in_v1() {
    let (Some(mut reg), Some(mut det)) = (
        v1_sample("registration_proto.json"),
        v1_sample("detection_proto.json"),
    ) else {
        return;
    };
    let node = "b5546692-a0cc-4846-a36c-4b7098eae08e";
    // The Apex sample lacks the envelope and a mode type; give it those.
    reg["timestamp"] = json!("2023-08-14T10:22:01Z");
    reg["nodeId"] = json!(node);
    reg["registration"]["modeDefinition"][0]["modeType"] = json!("MODE_TYPE_PERMANENT");
    reg["registration"]["nodeDefinition"][0]["nodeType"] = json!("NODE_TYPE_RADAR");
    let reg = v1_from_json(&reg.to_string()).unwrap().encode_to_vec();
    let (mut s, registry) = session(SessionConfig::default());
    let out = run(&mut s, &reg);
    assert_eq!(s.version(), Some(IcdVersion::V1_0));
    let Content::RegistrationAck(ack) = only_reply(&out) else {
        panic!()
    };
    assert_eq!(ack.acceptance, Some(true), "{:?}", ack.ack_response_reason);
    assert_eq!(registry.get(node).unwrap().icd, IcdVersion::V1_0);
    // The reply goes out as v1.0.
    let codec = FrameCodec::default();
    let mut wire = BytesMut::new();
    s.encode_reply(&out.replies[0], &codec, &mut wire).unwrap();
    let body = codec.decode(&mut wire).unwrap().unwrap();
    let back = v1::SapientMessage::decode(body).unwrap();
    assert!(matches!(
        back.content,
        Some(v1::sapient_message::Content::RegistrationAck(
            v1::RegistrationAck {
                acceptance: Some(true),
                ..
            }
        ))
    ));

    // The sample detection has an unspecified coordinate system: refused, in v1.0 terms.
    let unspecified = v1_from_json(&det.to_string()).unwrap().encode_to_vec();
    let out = run(&mut s, &unspecified);
    assert!(
        error_text(&out).contains("coordinate_system"),
        "{}",
        error_text(&out)
    );
    // With degrees it maps (x = longitude 37, y = latitude 53).
    det["detectionReport"]["location"]["coordinateSystem"] =
        json!("LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M");
    let ok = v1_from_json(&det.to_string()).unwrap().encode_to_vec();
    let out = run(&mut s, &ok);
    let SessionEvent::Observation(observation) = &out.events[0] else {
        panic!("{out:?}")
    };
    let Measurement::Position {
        position,
        sigma_vertical_m,
        ..
    } = observation.measurement
    else {
        panic!()
    };
    assert_eq!((position.lat_deg, position.lon_deg), (53.0, 37.0));
    assert_eq!(sigma_vertical_m, 1000.0, "no z: the height is unknown");
    assert_eq!(observation.sensor_kind, SensorKind::Radar);
    assert_eq!(
        observation.identity.classification.as_ref().unwrap().class,
        "human"
    );
}

#[test]
fn detections_with_location_become_positions() {
    let Some(reg) = sample("Registration.Small.Messsage.json") else {
        return;
    };
    let (mut s, _) = session(SessionConfig::default());
    run(&mut s, &frame(&reg));
    let mut det = sample("DetectionReport.FullMessage.json").unwrap();
    det["nodeId"] = json!(REG_NODE);
    // The harness sample labels degrees as UTM: refused.
    let out = run(&mut s, &frame(&det));
    assert!(
        error_text(&out).starts_with("detection_report.location.y: UTM northing -1.82237671048")
    );
    // Real UTM (zone 30U) maps.
    det["detectionReport"]["location"] = json!({"x": 603885.0, "y": 5650836.0, "z": 150.0, "xError": 5, "yError": 7,
        "coordinateSystem": "LOCATION_COORDINATE_SYSTEM_UTM_M", "datum": "LOCATION_DATUM_WGS84_E", "utmZone": "30U"});
    let out = run(&mut s, &frame(&det));
    let SessionEvent::Observation(observation) = &out.events[0] else {
        panic!("{out:?}")
    };
    let Measurement::Position {
        position,
        sigma_horizontal_m,
        sigma_vertical_m,
    } = observation.measurement
    else {
        panic!()
    };
    assert!(
        (50.9..51.1).contains(&position.lat_deg) && (-1.6..-1.5).contains(&position.lon_deg),
        "{position:?}"
    );
    assert_eq!(
        (sigma_horizontal_m, sigma_vertical_m, position.h_m),
        (7.0, 25.0, 150.0)
    );
}
