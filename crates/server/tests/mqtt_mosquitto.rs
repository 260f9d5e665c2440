//! The MQTT source against a real Mosquitto broker.
//!
//! `through_the_running_broker` uses the broker on 127.0.0.1:1883 (a second rumqttc client
//! publishes good and bad messages on a unique topic prefix); `reconnects_after_the_broker_
//! restarts` starts its own Mosquitto on a free loopback port and restarts it. Without a
//! broker (or the `mosquitto` binary) each test says SKIPPED and passes, except under CI
//! (env `CI` set), where that is a failure.
#![cfg(feature = "mqtt")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dronewatch_model::{HealthState, Measurement, ObservationId, SensorKind};
use dronewatch_sensorjson::{MessageKind, Stage, TopicLayout};
use dronewatch_server::SourceEvent;
use dronewatch_server::sources::mqtt::{self, MqttConfig, MqttStats};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::json;
use support::free_port;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const BROKER: &str = "127.0.0.1:1883";

/// `true` when a broker answers at `addr`; otherwise SKIPPED, or a failure under CI.
fn broker_up(addr: &str, what: &str) -> bool {
    let sock: SocketAddr = addr.parse().unwrap();
    if TcpStream::connect_timeout(&sock, Duration::from_secs(2)).is_ok() {
        return true;
    }
    let msg = format!("no MQTT broker at {addr} ({what}); start Mosquitto there to run this test");
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

fn unique(tag: &str) -> String {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("dwtest-{tag}-{}-{ns}", std::process::id())
}

fn detection(sensor: &str, seq: u64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "t": "2026-11-25T10:15:30.25Z",
        "sensor_id": sensor,
        "sensor_kind": "radar",
        "seq": seq,
        "sensor_position": {"lat_deg": 31.9, "lon_deg": -111.0, "h_m": 900.0},
        "measurement": {
            "kind": "range_az_el", "range_m": 1000.0 + seq as f64, "az_deg": 45.0,
            "el_deg": 3.0, "sigma_range_m": 10.0, "sigma_az_deg": 0.5, "sigma_el_deg": 0.8
        }
    }))
    .unwrap()
}

/// A publisher: a second client whose event loop runs in a task until every QoS 1 publish
/// is acknowledged by the broker.
struct Publisher {
    client: AsyncClient,
    acked: tokio::sync::watch::Receiver<usize>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    fn connect(port: u16, id: &str) -> Self {
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_keep_alive(Duration::from_secs(5));
        let (client, mut eventloop) = AsyncClient::new(opts, 100);
        let (acked_tx, acked) = tokio::sync::watch::channel(0usize);
        let task = tokio::spawn(async move {
            let mut n = 0;
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        n += 1;
                        let _ = acked_tx.send(n);
                    }
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Self {
            client,
            acked,
            task,
        }
    }

    async fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }

    async fn wait_acked(&mut self, n: usize) {
        tokio::time::timeout(Duration::from_secs(10), self.acked.wait_for(|a| *a >= n))
            .await
            .expect("the broker acknowledged our publishes")
            .unwrap();
    }

    async fn close(self) {
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.task).await;
    }
}

async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn config(port: u16, layout: &TopicLayout, client_id: &str) -> MqttConfig {
    let mut c = MqttConfig::new("127.0.0.1", port, client_id).with_layout(layout.clone());
    // Leave no session behind on the shared broker.
    c.clean_session = true;
    c.keep_alive = Duration::from_secs(5);
    c.reconnect_min = Duration::from_millis(100);
    c.reconnect_max = Duration::from_millis(400);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_running_broker() {
    if !broker_up(BROKER, "the machine's broker") {
        return;
    }
    let prefix = unique("src");
    let layout = TopicLayout::new(&prefix).unwrap();
    let stats = Arc::new(MqttStats::default());
    // A tiny pipeline channel, read slowly below: the source must wait, not drop.
    let (tx, mut rx) = mpsc::channel(2);
    let shutdown = CancellationToken::new();
    let source = tokio::spawn(mqtt::run(
        config(1883, &layout, &format!("{prefix}-sub")),
        tx,
        stats.clone(),
        shutdown.clone(),
    ));
    wait_until("the subscription", 10, || {
        stats.snapshot().subscriptions >= 1
    })
    .await;

    let det = |sensor: &str| layout.topic("sector-1", sensor, MessageKind::Detection);
    let mut publisher = Publisher::connect(1883, &format!("{prefix}-pub"));
    let mut expected_seq = Vec::new();
    let mut published = 0;
    // Good and bad interleaved; each bad one names a different stage.
    let plan: Vec<(String, Vec<u8>, Option<u64>)> = vec![
        (det("radar-1"), detection("radar-1", 1), Some(1)),
        (det("radar-1"), b"not json".to_vec(), None),
        (
            layout.topic("sector-1", "radar-1", MessageKind::Status),
            serde_json::to_vec(&json!({"t": "2026-11-25T10:15:31Z", "sensor_id": "radar-1",
                                       "state": "ok"}))
            .unwrap(),
            Some(0),
        ),
        (
            det("radar-1"),
            {
                let mut v: serde_json::Value =
                    serde_json::from_slice(&detection("radar-1", 9)).unwrap();
                v["measurement"]["range_m"] = json!(-1);
                serde_json::to_vec(&v).unwrap()
            },
            None,
        ),
        (
            format!("{prefix}/sector-1/sensors/radar-1/tracks"),
            detection("radar-1", 9),
            None,
        ),
        (det("radar-2"), detection("radar-1", 9), None),
        (
            layout.topic("sector-1", "rid-rx", MessageKind::RemoteIdFlat),
            serde_json::to_vec(&json!({"t": 1745000000.0, "lat": 40.7128, "lon": -74.006,
                                       "alt": 120.5, "id": "SN-TEST-1", "rssi": -68}))
            .unwrap(),
            Some(0),
        ),
    ];
    for (topic, payload, seq) in plan {
        publisher.publish(&topic, payload).await;
        published += 1;
        if let Some(seq) = seq {
            expected_seq.push(seq);
        }
    }
    for seq in 2..=20 {
        publisher
            .publish(&det("radar-1"), detection("radar-1", seq))
            .await;
        published += 1;
        expected_seq.push(seq);
    }
    publisher.wait_acked(published).await;

    // Read slowly: the source waits on the full channel instead of dropping.
    let mut events = Vec::new();
    while events.len() < expected_seq.len() {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} events arrived", events.len()))
            .expect("channel open");
        events.push(ev);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // In publish order: detections by seq, the status and the Remote ID in their places.
    let got: Vec<u64> = events
        .iter()
        .map(|e| match e {
            SourceEvent::Observation(o) if o.sensor_kind == SensorKind::Radar => o.id.0,
            _ => 0,
        })
        .collect();
    assert_eq!(got, expected_seq);
    match &events[1] {
        SourceEvent::Health(h) => assert_eq!(h.state, HealthState::Ok),
        other => panic!("expected the status second, got {other:?}"),
    }
    match &events[2] {
        SourceEvent::Observation(o) => {
            assert_eq!(o.sensor_kind, SensorKind::RemoteId);
            assert_eq!(o.sensor_id.as_str(), "rid-rx");
            assert_eq!(o.identity.remote_id_serial.as_deref(), Some("SN-TEST-1"));
            assert!(matches!(o.measurement, Measurement::Position { .. }));
            assert_ne!(o.id, ObservationId(0));
        }
        other => panic!("expected the Remote ID third, got {other:?}"),
    }
    match &events[0] {
        SourceEvent::Observation(o) => {
            assert!(
                matches!(o.measurement, Measurement::RangeAzEl { range_m, .. } if range_m == 1001.0)
            )
        }
        other => panic!("{other:?}"),
    }

    // The bad ones were counted, each with its stage, field and reason, in order.
    wait_until("4 rejections", 10, || stats.snapshot().rejected == 4).await;
    let recent = stats.recent_rejections();
    let seen: Vec<(Stage, &str)> = recent
        .iter()
        .map(|r| (r.rejection.stage, r.rejection.field()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Stage::Payload, "payload"),
            (Stage::Schema, "/measurement/range_m"),
            (Stage::Topic, "topic"),
            (Stage::Mapping, "/sensor_id"),
        ]
    );
    assert!(recent.iter().all(|r| r.topic.starts_with(&prefix)));
    assert!(recent.iter().all(|r| !r.rejection.reason().is_empty()));
    let s = stats.snapshot();
    assert_eq!(s.received, published as u64);
    assert_eq!(s.accepted, expected_seq.len() as u64);
    assert!(
        rx.try_recv().is_err(),
        "nothing more than the good messages"
    );

    publisher.close().await;
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), source)
        .await
        .expect("the source stops promptly on shutdown")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
}

/// Our own broker on a free loopback port; killed on drop.
struct OwnBroker {
    child: Child,
    _dir: tempfile::TempDir,
}

impl OwnBroker {
    fn start(port: u16) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let child = ["mosquitto", "/usr/sbin/mosquitto"]
            .iter()
            .find_map(|bin| {
                Command::new(bin)
                    .arg("-c")
                    .arg(&conf)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()
            })?;
        Some(Self { child, _dir: dir })
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn own_broker(port: u16) -> Option<OwnBroker> {
    let Some(broker) = OwnBroker::start(port) else {
        let msg = "the mosquitto binary is not installed";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return None;
    };
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "our mosquitto did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(broker)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_after_the_broker_restarts() {
    let port = free_port();
    let Some(broker) = own_broker(port).await else {
        return;
    };
    let layout = TopicLayout::new(&unique("re")).unwrap();
    let stats = Arc::new(MqttStats::default());
    let (tx, mut rx) = mpsc::channel(16);
    let shutdown = CancellationToken::new();
    let source = tokio::spawn(mqtt::run(
        config(port, &layout, "dw-reconnect-sub"),
        tx,
        stats.clone(),
        shutdown.clone(),
    ));
    wait_until("the first subscription", 10, || {
        stats.snapshot().subscriptions >= 1
    })
    .await;
    let topic = layout.topic("s", "radar-1", MessageKind::Detection);
    let mut p = Publisher::connect(port, "dw-reconnect-pub");
    p.publish(&topic, detection("radar-1", 1)).await;
    p.wait_acked(1).await;
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap();
    assert!(matches!(first, Some(SourceEvent::Observation(o)) if o.id.0 == 1));
    p.close().await;

    // Broker gone: the source counts errors and keeps trying.
    drop(broker);
    wait_until("a connection error", 10, || {
        stats.snapshot().connection_errors >= 1
    })
    .await;
    let errors_while_down = stats.snapshot().connection_errors;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        stats.snapshot().connection_errors > errors_while_down,
        "it retries"
    );

    // Broker back (a fresh one: no session survived): reconnect, resubscribe, flow again.
    let _broker = own_broker(port).await.expect("restart");
    wait_until("the second subscription", 15, || {
        stats.snapshot().subscriptions >= 2
    })
    .await;
    assert!(stats.snapshot().connects >= 2);
    let mut p = Publisher::connect(port, "dw-reconnect-pub2");
    p.publish(&topic, detection("radar-1", 2)).await;
    p.wait_acked(1).await;
    let second = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap();
    assert!(matches!(second, Some(SourceEvent::Observation(o)) if o.id.0 == 2));
    p.close().await;

    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), source).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}

#[tokio::test]
async fn retries_without_a_broker_and_stops_on_cancel_or_when_the_pipeline_goes() {
    let port = free_port(); // nothing listens there
    let stats = Arc::new(MqttStats::default());
    let (tx, rx) = mpsc::channel(1);
    let shutdown = CancellationToken::new();
    let source = tokio::spawn(mqtt::run(
        config(port, &TopicLayout::default(), "dw-nobroker-1"),
        tx,
        stats.clone(),
        shutdown.clone(),
    ));
    wait_until("connection errors", 10, || {
        stats.snapshot().connection_errors >= 2
    })
    .await;
    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(3), source).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
    drop(rx);

    // The pipeline's receiver dropped: the source ends by itself.
    let stats = Arc::new(MqttStats::default());
    let (tx, rx) = mpsc::channel(1);
    let source = tokio::spawn(mqtt::run(
        config(port, &TopicLayout::default(), "dw-nobroker-2"),
        tx,
        stats.clone(),
        CancellationToken::new(),
    ));
    wait_until("a connection error", 10, || {
        stats.snapshot().connection_errors >= 1
    })
    .await;
    drop(rx);
    let result = tokio::time::timeout(Duration::from_secs(3), source).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}

/// What a subscriber received: (topic, payload, retained).
type Received = Arc<std::sync::Mutex<Vec<(String, Vec<u8>, bool)>>>;

/// Subscribes to `filter` on the running broker.
async fn subscriber(filter: &str, id: &str) -> Received {
    let (host, port) = BROKER.split_once(':').unwrap();
    let mut opts = MqttOptions::new(id, host, port.parse().unwrap());
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut events) = AsyncClient::new(opts, 64);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = got.clone();
    tokio::spawn(async move {
        let _client = client;
        while let Ok(ev) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev {
                out.lock()
                    .unwrap()
                    .push((p.topic.clone(), p.payload.to_vec(), p.retain));
            }
        }
    });
    got
}

/// The node delivers bulletins and the posture to the running broker: live subscribers get
/// them, a late one gets them retained, and a withdrawn bulletin is cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulletins_and_posture_are_delivered_to_the_broker_retained() {
    if !broker_up(BROKER, "MQTT delivery") {
        return;
    }
    let prefix = unique("delivery");
    let extra = format!(
        "[node]\nsector = \"s1\"\n[delivery.mqtt]\nprefix = \"{prefix}\"\nclient_id = \"{prefix}-node\"\n"
    );
    let n = support::TestNode::start(&extra).await;
    let admin = n.admin().await;
    let analyst = n.user(&admin, "intel", "analyst").await;
    let live = subscriber(&format!("{prefix}/#"), &format!("{prefix}-live")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = n
        .post(
            &analyst,
            "/api/v1/bulletins",
            &json!({"text": "Attacks expected.", "posture": "high"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bulletin_topic = format!("{prefix}/s1/bulletins/{id}");
    let posture_topic = format!("{prefix}/s1/posture");
    let has = |got: &Received, topic: &str| {
        got.lock()
            .unwrap()
            .iter()
            .any(|(t, p, _)| t == topic && !p.is_empty())
    };
    wait_until("the live subscriber gets both", 10, || {
        has(&live, &bulletin_topic) && has(&live, &posture_topic)
    })
    .await;
    let body: serde_json::Value = {
        let got = live.lock().unwrap();
        let (_, p, _) = got.iter().find(|(t, _, _)| *t == bulletin_topic).unwrap();
        serde_json::from_slice(p).unwrap()
    };
    assert_eq!(body["type"], "bulletin");
    assert_eq!(body["bulletin"]["text"], "Attacks expected.");
    assert_eq!(body["sector"], "s1");
    assert!(body["delivery_id"].is_string());

    // A late subscriber: both retained.
    let late = subscriber(&format!("{prefix}/#"), &format!("{prefix}-late")).await;
    wait_until("the late subscriber gets both retained", 10, || {
        let got = late.lock().unwrap();
        [&bulletin_topic, &posture_topic].iter().all(|topic| {
            got.iter()
                .any(|(t, p, r)| t == *topic && *r && !p.is_empty())
        })
    })
    .await;
    let status = n.get_json(&admin, "/api/v1/delivery").await;
    assert_eq!(status[0]["channel"], "mqtt");
    assert_eq!(status[0]["failing"], false, "{status}");
    assert!(status[0]["delivered"].as_u64().unwrap() >= 2, "{status}");

    // Withdrawn: the retained bulletin is cleared; the posture is normal again.
    let r = n
        .http
        .delete(n.url(&format!("/api/v1/bulletins/{id}")))
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = subscriber(&format!("{prefix}/#"), &format!("{prefix}-after")).await;
    wait_until("the posture, retained, is normal", 10, || {
        after.lock().unwrap().iter().any(|(t, p, _)| {
            *t == posture_topic
                && serde_json::from_slice::<serde_json::Value>(p)
                    .is_ok_and(|v| v["posture"]["level"] == "normal")
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !has(&after, &bulletin_topic),
        "a withdrawn bulletin is not retained"
    );
    // Leave the broker clean: clear the retained posture.
    let (host, port) = BROKER.split_once(':').unwrap();
    let (c, mut ev) = AsyncClient::new(
        MqttOptions::new(format!("{prefix}-clean"), host, port.parse().unwrap()),
        8,
    );
    c.publish(&posture_topic, QoS::AtLeastOnce, true, Vec::<u8>::new())
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(e) = ev.poll().await {
            if matches!(e, Event::Incoming(Packet::PubAck(_))) {
                break;
            }
        }
    })
    .await;
    n.stop().await;
}

/// A broker that is not there: the channel shows failing with the error.
#[tokio::test]
async fn an_unreachable_broker_shows_as_failing_delivery() {
    let port = free_port();
    let n = support::TestNode::start(&format!("[delivery.mqtt]\nport = {port}\n")).await;
    let admin = n.admin().await;
    let status = n
        .delivery_channel(
            &admin,
            "mqtt",
            Duration::from_secs(10),
            "failing shown",
            |c| c["failing"] == true,
        )
        .await;
    assert_eq!(status["url"], format!("mqtt://127.0.0.1:{port}/dronewatch"));
    assert!(
        status["last_error"].as_str().unwrap().contains("MQTT"),
        "{status}"
    );
    n.stop().await;
}

#[tokio::test]
async fn a_node_takes_its_own_sectors_sensors_only() {
    if !broker_up("127.0.0.1:1883", "the node's own-sector subscription") {
        return;
    }
    let prefix = unique("sector");
    let extra = format!(
        "[sources.mqtt]\nenabled = true\nclient_id = \"{prefix}-node\"\nprefix = \"{prefix}\"\n"
    );
    let n = support::TestNode::start(&extra).await;
    let admin = n.admin().await;
    let sector = n.get_json(&admin, "/api/v1/ui-config").await["sector"]
        .as_str()
        .unwrap()
        .to_owned();
    // The node's subscription is made once it connects: publish until it takes one.
    let mut publisher = Publisher::connect(1883, &format!("{prefix}-pub"));
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        sent += 1;
        publisher
            .publish(
                &format!("{prefix}/other-sector/sensors/radar-x/detections"),
                detection("radar-x", sent),
            )
            .await;
        publisher
            .publish(
                &format!("{prefix}/{sector}/sensors/radar-own/detections"),
                detection("radar-own", sent),
            )
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if observation_sources(&n, &admin)
            .await
            .iter()
            .any(|s| s == "radar-own")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no observation from the own sector"
        );
    }
    publisher.wait_acked(2 * sent as usize).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sources = observation_sources(&n, &admin).await;
    assert!(
        sources.iter().all(|s| s != "radar-x"),
        "another sector's sensor was taken: {sources:?}"
    );
    publisher.close().await;
    n.stop().await;
}

/// The sensors of the observations in the node's log.
async fn observation_sources(n: &support::TestNode, admin: &str) -> Vec<String> {
    n.get_json(admin, "/api/v1/history/events?kind=observation")
        .await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap_or_default().to_owned())
        .collect()
}
