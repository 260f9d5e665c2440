//! The SAPIENT listener over real TCP on 127.0.0.1 (ephemeral ports).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use dronewatch_model::{
    HealthState, IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind,
    TimeNs,
};
use dronewatch_sapient::FrameCodec;
use dronewatch_sapient::json::v2_from_json;
use dronewatch_sapient::session::{SensorIdScheme, SessionConfig};
use dronewatch_sapient::v2::sapient_message::Content;
use dronewatch_sapient::{time, v2};
use dronewatch_server::SourceEvent;
use dronewatch_server::sapient_sensor::{detection_for, node_id_for, registration_for, status_for};
use dronewatch_server::sources::sapient::{SapientSource, SapientSourceConfig};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const T0: TimeNs = TimeNs(1_748_779_200_000_000_000);
const RADAR_AT: Lla = Lla::new(51.2, -1.8, 110.0);

fn cfg() -> SapientSourceConfig {
    SapientSourceConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        session: SessionConfig {
            sensor_ids: SensorIdScheme::Name,
            ..Default::default()
        },
        ..Default::default()
    }
}

struct Server {
    addr: SocketAddr,
    rx: mpsc::Receiver<SourceEvent>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    counters: std::sync::Arc<dronewatch_server::sources::sapient::SapientCounters>,
}

async fn start(cfg: SapientSourceConfig, capacity: usize) -> Server {
    let source = SapientSource::bind(cfg).await.unwrap();
    let addr = source.local_addr().unwrap();
    let counters = source.counters();
    let (tx, rx) = mpsc::channel(capacity);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(source.run(tx, shutdown.clone()));
    Server {
        addr,
        rx,
        shutdown,
        task,
        counters,
    }
}

fn msg(node: &str, t: TimeNs, content: Content) -> v2::SapientMessage {
    v2::SapientMessage {
        timestamp: Some(time::from_time_ns(t)),
        node_id: Some(node.to_owned()),
        destination_id: None,
        content: Some(content),
        additional_information: None,
    }
}

fn frames(msgs: &[v2::SapientMessage]) -> Vec<u8> {
    let codec = FrameCodec::default();
    let mut b = BytesMut::new();
    for m in msgs {
        codec.encode(m, &mut b).unwrap();
    }
    b.to_vec()
}

fn radar_obs(k: u64) -> Observation {
    Observation {
        id: ObservationId(k),
        t: T0.plus_secs(k as f64 * 0.1),
        sensor_id: SensorId::new("radar-1"),
        sensor_kind: SensorKind::Radar,
        sensor_position: Some(RADAR_AT),
        measurement: Measurement::RangeAzEl {
            range_m: 1000.0 + k as f64,
            az_deg: (k % 360) as f64,
            el_deg: 3.0,
            sigma_range_m: 5.0,
            sigma_az_deg: 0.5,
            sigma_el_deg: 1.0,
        },
        velocity: None,
        identity: IdentityHints::default(),
    }
}

/// Registration + status + `n` radar detections from node "radar-1".
fn radar_stream(n: u64) -> (Vec<v2::SapientMessage>, Vec<v2::SapientMessage>) {
    let node = node_id_for("radar-1");
    let head = vec![
        msg(
            &node,
            T0,
            Content::Registration(registration_for("radar-1", SensorKind::Radar, 5.0)),
        ),
        msg(
            &node,
            T0,
            Content::StatusReport(status_for(Some(RADAR_AT), false)),
        ),
    ];
    let dets = (0..n)
        .map(|k| {
            msg(
                &node,
                radar_obs(k).t,
                Content::DetectionReport(detection_for(&radar_obs(k))),
            )
        })
        .collect();
    (head, dets)
}

/// Reads one framed reply (with a timeout); `None` at end of stream.
async fn read_reply(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<v2::SapientMessage> {
    let codec = FrameCodec::default();
    loop {
        if let Some(frame) = codec.decode(buf).unwrap() {
            return Some(v2::SapientMessage::decode(frame).unwrap());
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read_buf(buf))
            .await
            .expect("reply timeout")
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
    }
}

async fn next_event(rx: &mut mpsc::Receiver<SourceEvent>) -> SourceEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("event timeout")
        .expect("channel open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_node_detections_arrive_as_observations() {
    let mut server = start(cfg(), 64).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let (head, dets) = radar_stream(200);
    conn.write_all(&frames(&head)).await.unwrap();
    let mut buf = BytesMut::new();
    let ack = read_reply(&mut conn, &mut buf).await.unwrap();
    let Some(Content::RegistrationAck(a)) = ack.content else {
        panic!("{ack:?}")
    };
    assert_eq!(a.acceptance, Some(true));
    assert_eq!(ack.destination_id, Some(node_id_for("radar-1")));
    conn.write_all(&frames(&dets)).await.unwrap();

    let mut observations = Vec::new();
    let mut saw_registration_record = false;
    while observations.len() < 200 {
        match next_event(&mut server.rx).await {
            SourceEvent::Observation(o) => observations.push(o),
            SourceEvent::Record(r) => {
                assert_eq!(r.kind, "sapient.registration");
                assert_eq!(r.body["message"]["registration"]["name"], "radar-1");
                saw_registration_record = true;
            }
            SourceEvent::Health(h) => assert_eq!(h.sensor_id.as_str(), "radar-1"),
        }
    }
    assert!(saw_registration_record);
    for (k, o) in observations.iter().enumerate() {
        let want = radar_obs(k as u64);
        assert_eq!(o.t, want.t);
        assert_eq!(o.sensor_id, want.sensor_id);
        assert_eq!(o.sensor_kind, SensorKind::Radar);
        assert_eq!(o.sensor_position, Some(RADAR_AT));
        assert_eq!(o.measurement, want.measurement, "detection {k}");
    }
    drop(conn);
    // Closing the connection takes the node offline.
    loop {
        if let SourceEvent::Health(h) = next_event(&mut server.rx).await
            && h.state == HealthState::Offline
        {
            break;
        }
    }
    let c = server.counters.snapshot();
    assert_eq!(c.observations, 200);
    assert_eq!(c.messages_accepted, 202);
    assert_eq!(c.messages_rejected, 0);
    server.shutdown.cancel();
    server.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_answered_and_dropped_while_another_sensor_keeps_flowing() {
    let mut server = start(cfg(), 16).await;
    let mut good = TcpStream::connect(server.addr).await.unwrap();
    let mut bad = TcpStream::connect(server.addr).await.unwrap();
    let (head, dets) = radar_stream(3000);
    good.write_all(&frames(&head)).await.unwrap();
    let mut good_buf = BytesMut::new();
    let _ack = read_reply(&mut good, &mut good_buf).await.unwrap();

    let n = dets.len();
    let writer = tokio::spawn(async move {
        // In chunks, so the garbage lands mid-stream.
        for chunk in dets.chunks(100) {
            good.write_all(&frames(chunk)).await.unwrap();
            tokio::task::yield_now().await;
        }
        good
    });
    // A plausible length prefix followed by bytes that are not protobuf.
    let mut garbage = vec![12, 0, 0, 0];
    garbage.extend_from_slice(b"\xff\xff\xff\xffHELLO!!!");
    bad.write_all(&garbage).await.unwrap();
    let mut bad_buf = BytesMut::new();
    let err = read_reply(&mut bad, &mut bad_buf).await.unwrap();
    let Some(Content::Error(e)) = err.content else {
        panic!("{err:?}")
    };
    assert!(
        e.error_message[0].contains("not a BSI Flex 335"),
        "{:?}",
        e.error_message
    );
    assert_eq!(e.packet.as_deref(), Some(&garbage[4..]));
    assert!(
        read_reply(&mut bad, &mut bad_buf).await.is_none(),
        "dropped after the Error"
    );

    let mut got = 0;
    while got < n {
        if let SourceEvent::Observation(o) = next_event(&mut server.rx).await {
            assert_eq!(o.t, radar_obs(got as u64).t, "in order, none lost");
            got += 1;
        }
    }
    let _good = writer.await.unwrap();
    let c = server.counters.snapshot();
    assert_eq!(c.connections_dropped_for_garbage, 1);
    assert_eq!(c.observations, n as u64);
    server.shutdown.cancel();
    server.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_is_refused_and_closes() {
    let mut c = cfg();
    c.max_frame_bytes = 1024;
    let server = start(c, 16).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(&[0, 0, 1, 0, 1, 2, 3]).await.unwrap();
    let mut buf = BytesMut::new();
    let err = read_reply(&mut conn, &mut buf).await.unwrap();
    let Some(Content::Error(e)) = err.content else {
        panic!("{err:?}")
    };
    assert!(
        e.error_message[0].contains("65536 exceeds the maximum message size of 1024"),
        "{:?}",
        e.error_message
    );
    assert!(read_reply(&mut conn, &mut buf).await.is_none());
    server.shutdown.cancel();
    server.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_to_an_effector_are_refused() {
    let mut server = start(cfg(), 64).await;
    let jammer = node_id_for("jammer-1");
    let mut reg = registration_for("jammer-1", SensorKind::Other, 5.0);
    reg.node_definition[0].node_type = Some(v2::registration::NodeType::Jammer as i32);
    let mut jam = TcpStream::connect(server.addr).await.unwrap();
    jam.write_all(&frames(&[msg(&jammer, T0, Content::Registration(reg))]))
        .await
        .unwrap();
    let mut jbuf = BytesMut::new();
    let ack = read_reply(&mut jam, &mut jbuf).await.unwrap();
    assert!(matches!(
        ack.content,
        Some(Content::RegistrationAck(v2::RegistrationAck {
            acceptance: Some(true),
            ..
        }))
    ));

    // Someone else asks dronewatch to point the jammer at a target.
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    let task = v2_from_json(&format!(
        r#"{{"timestamp": "2025-06-01T12:00:00Z", "nodeId": "{}", "destinationId": "{jammer}",
            "task": {{"taskId": "01JWN5N1S8KX1G6N4M2Q7R3T9V", "control": "CONTROL_START",
                      "command": {{"lookAt": {{"locationList": {{"locations": [
                        {{"x": -1.8, "y": 51.21, "coordinateSystem": "LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M",
                          "datum": "LOCATION_DATUM_WGS84_E"}}]}}}}}}}}}}"#,
        node_id_for("operator")
    ))
    .unwrap();
    other.write_all(&frames(&[task])).await.unwrap();
    let mut obuf = BytesMut::new();
    let reply = read_reply(&mut other, &mut obuf).await.unwrap();
    let Some(Content::TaskAck(a)) = reply.content else {
        panic!("{reply:?}")
    };
    assert_eq!(
        a.task_status,
        Some(v2::task_ack::TaskStatus::Rejected as i32)
    );
    assert_eq!(a.task_id.as_deref(), Some("01JWN5N1S8KX1G6N4M2Q7R3T9V"));
    assert!(
        a.reason[0].contains("never controls effectors")
            && a.reason[0].contains("NODE_TYPE_JAMMER"),
        "{:?}",
        a.reason
    );
    // The refusal is on the record.
    loop {
        if let SourceEvent::Record(r) = next_event(&mut server.rx).await
            && r.kind == "sapient.task_refused"
        {
            assert!(r.body["reasons"][0].as_str().unwrap().contains("effectors"));
            break;
        }
    }
    server.shutdown.cancel();
    server.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_told_and_closed() {
    let mut c = cfg();
    c.max_connections = 1;
    let server = start(c, 16).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    // Make sure the first is accepted before the second arrives.
    let (head, _) = radar_stream(0);
    first.write_all(&frames(&head[..1])).await.unwrap();
    let mut fbuf = BytesMut::new();
    read_reply(&mut first, &mut fbuf).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    let mut sbuf = BytesMut::new();
    let err = read_reply(&mut second, &mut sbuf).await.unwrap();
    let Some(Content::Error(e)) = err.content else {
        panic!("{err:?}")
    };
    assert!(e.error_message[0].contains("connection limit"));
    assert!(read_reply(&mut second, &mut sbuf).await.is_none());
    assert_eq!(server.counters.snapshot().connections_refused, 1);
    server.shutdown.cancel();
    server.task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_forwards_what_was_read_and_takes_nodes_offline() {
    let mut server = start(cfg(), 4096).await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    let (head, dets) = radar_stream(500);
    conn.write_all(&frames(&head)).await.unwrap();
    let mut buf = BytesMut::new();
    read_reply(&mut conn, &mut buf).await.unwrap();
    conn.write_all(&frames(&dets)).await.unwrap();
    // Wait until the server has taken every frame in, then shut down.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.counters.snapshot().frames < 502 {
        assert!(tokio::time::Instant::now() < deadline, "frames not read");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown.cancel();
    server.task.await.unwrap();
    let mut observations = 0;
    let mut offline = false;
    while let Ok(ev) = server.rx.try_recv() {
        match ev {
            SourceEvent::Observation(_) => observations += 1,
            SourceEvent::Health(h) if h.state == HealthState::Offline => {
                assert!(h.detail[0].contains("shutting down"), "{:?}", h.detail);
                offline = true;
            }
            _ => {}
        }
    }
    assert_eq!(observations, 500);
    assert!(offline);
    // The server closed our connection.
    assert!(read_reply(&mut conn, &mut buf).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_node_registers_and_reports_over_tcp() {
    use dronewatch_sapient::v1;
    let mut server = start(cfg(), 64).await;
    let node = node_id_for("old-radar");
    // Build v1.0 messages by going through v2.0 types where the wire agrees.
    let reg2 = registration_for("old-radar", SensorKind::Radar, 5.0);
    let mut reg1: v1::Registration =
        v1::Registration::decode(reg2.encode_to_vec().as_slice()).unwrap();
    reg1.icd_version = Some("BSI Flex 335 v1.0".into());
    for m in &mut reg1.mode_definition {
        for t in &mut m.task {
            t.command.clear();
        }
    }
    let env = |content| v1::SapientMessage {
        timestamp: Some(time::from_time_ns(T0)),
        node_id: Some(node.clone()),
        destination_id: None,
        content: Some(content),
    };
    let status: v1::StatusReport = v1::StatusReport {
        report_id: Some(dronewatch_sapient::ids::new_ulid()),
        system: Some(1),
        info: Some(1),
        node_location: Some(
            v1::Location::decode(
                status_for(Some(RADAR_AT), false)
                    .node_location
                    .unwrap()
                    .encode_to_vec()
                    .as_slice(),
            )
            .unwrap(),
        ),
        ..Default::default()
    };
    let det: v1::DetectionReport =
        v1::DetectionReport::decode(detection_for(&radar_obs(7)).encode_to_vec().as_slice())
            .unwrap();
    let codec = FrameCodec::default();
    let mut wire = BytesMut::new();
    for m in [
        env(v1::sapient_message::Content::Registration(reg1)),
        env(v1::sapient_message::Content::StatusReport(status)),
        env(v1::sapient_message::Content::DetectionReport(det)),
    ] {
        codec.encode(&m, &mut wire).unwrap();
    }
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(&wire).await.unwrap();
    // The acknowledgement comes back in v1.0.
    let mut buf = BytesMut::new();
    let deadline = Duration::from_secs(10);
    let frame = loop {
        if let Some(f) = codec.decode(&mut buf).unwrap() {
            break f;
        }
        tokio::time::timeout(deadline, conn.read_buf(&mut buf))
            .await
            .unwrap()
            .unwrap();
    };
    let ack = v1::SapientMessage::decode(frame).unwrap();
    assert!(
        matches!(
            ack.content,
            Some(v1::sapient_message::Content::RegistrationAck(
                v1::RegistrationAck {
                    acceptance: Some(true),
                    ..
                }
            ))
        ),
        "{ack:?}"
    );
    loop {
        if let SourceEvent::Observation(o) = next_event(&mut server.rx).await {
            assert_eq!(o.measurement, radar_obs(7).measurement);
            assert_eq!(o.sensor_id.as_str(), "old-radar");
            break;
        }
    }
    server.shutdown.cancel();
    server.task.await.unwrap();
}
