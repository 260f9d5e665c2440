//! kill -9 under load loses nothing that was acknowledged.
//!
//! `dronewatch serve` runs as a child process, fed at once over HTTP (201 = acknowledged),
//! MQTT QoS 1 through the Mosquitto broker on 127.0.0.1:1883 (PUBACK = acknowledged) and
//! SAPIENT TCP (no acknowledgement for detections). It is killed with SIGKILL mid-stream and
//! started again on the same data directory; the test then compares what each sender saw
//! acknowledged with what the event log holds, measures the SAPIENT loss window, and checks
//! that `dronewatch verify` accepts the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use dronewatch_store::{EventKind, EventQuery, Store};
use serde_json::{Value, json};
use support::free_port;

const PASSWORD: &str = "crash test admin pw";

fn now() -> TimeNs {
    dronewatch_server::clock::now()
}

fn broker_up() -> bool {
    let up = std::net::TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], 1883)),
        Duration::from_secs(1),
    )
    .is_ok();
    if !up {
        assert!(
            std::env::var_os("CI").is_none(),
            "this test needs the MQTT broker on 127.0.0.1:1883"
        );
        eprintln!("SKIPPED: no MQTT broker on 127.0.0.1:1883");
    }
    up
}

struct Server {
    child: Child,
    http: SocketAddr,
}

fn serve(config: &Path, http: SocketAddr) -> Server {
    let child = support::dronewatch()
        .args(["serve", "--config"])
        .arg(config)
        .env("DRONEWATCH_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    Server { child, http }
}

async fn wait_ready(http: &reqwest::Client, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not get ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn token(http: &reqwest::Client, addr: SocketAddr, user: &str, pw: &str) -> String {
    let r = http
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn detection(sensor: &str, seq: u64) -> Value {
    json!({
        "t": now().0, "sensor_id": sensor, "sensor_kind": "radar", "seq": seq,
        "sensor_position": {"lat_deg": 31.34, "lon_deg": -110.93, "h_m": 1200.0},
        "measurement": {"kind": "range_az_el", "range_m": 900.0 + seq as f64 % 100.0,
                        "az_deg": 10.0, "el_deg": 3.0, "sigma_range_m": 5.0,
                        "sigma_az_deg": 0.5, "sigma_el_deg": 0.5}
    })
}

/// Every observation event the store holds for `sensor`, paging through the chain.
async fn stored(store: &Store, sensor: &str) -> Vec<dronewatch_store::StoredEvent> {
    let mut out = Vec::new();
    loop {
        let rows = store
            .query(EventQuery {
                kinds: vec![EventKind::Observation],
                source: Some(sensor.into()),
                after_seq: out.last().map(|e: &dronewatch_store::StoredEvent| e.seq),
                limit: 5000,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        if rows.is_empty() {
            return out;
        }
        out.extend(rows);
    }
}

/// The observation ids the store holds for `sensor`.
async fn stored_ids(store: &Store, sensor: &str) -> BTreeSet<u64> {
    stored(store, sensor)
        .await
        .iter()
        .map(|r| serde_json::from_str::<Observation>(&r.body).unwrap().id.0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_acknowledged() {
    if !broker_up() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (http_port, sapient_port) = (free_port(), free_port());
    let prefix = format!("dwcrash{}", now().0 % 1_000_000_007);
    let config = dir.path().join("dronewatch.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[http]\nbind = \"127.0.0.1:{http_port}\"\nrate_per_s = 100000\nrate_burst = 100000\n\
             [sources.sapient]\nbind = \"127.0.0.1:{sapient_port}\"\n\
             [sources.mqtt]\nenabled = true\nclient_id = \"{prefix}-node\"\nprefix = \"{prefix}\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    dronewatch_server::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let http_addr = SocketAddr::from(([127, 0, 0, 1], http_port));
    let mut server = serve(&config, http_addr);
    wait_ready(&http, server.http).await;
    let admin = token(&http, server.http, "admin", PASSWORD).await;
    let r = http
        .post(format!("http://{}/api/v1/users", server.http))
        .bearer_auth(&admin)
        .json(&json!({"name": "loader", "role": "sensor", "password": "loader password 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sensor_token = token(&http, server.http, "loader", "loader password 1").await;
    // Let the MQTT source subscribe before publishing.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http_acked = Arc::new(Mutex::new(BTreeSet::<u64>::new()));
    let mut tasks = tokio::task::JoinSet::new();
    // HTTP: four senders, each its own sequence range.
    for k in 0..4u64 {
        let (http, stop, acked, token) = (
            http.clone(),
            stop.clone(),
            http_acked.clone(),
            sensor_token.clone(),
        );
        let url = format!("http://{}/api/v1/sensors/http-1/detections", server.http);
        tasks.spawn(async move {
            let mut seq = k * 1_000_000_000;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seq += 1;
                match http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&detection("http-1", seq))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 201 => {
                        acked.lock().unwrap().insert(seq);
                    }
                    Ok(r) => panic!("HTTP {} before the kill", r.status()),
                    Err(_) => break,
                }
            }
        });
    }
    // MQTT: QoS 1, acknowledged set from PUBACKs matched to packet ids.
    let mqtt_acked = Arc::new(Mutex::new(BTreeSet::<u64>::new()));
    {
        let (stop, acked, prefix) = (stop.clone(), mqtt_acked.clone(), prefix.clone());
        tasks.spawn(async move {
            use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
            let mut opts = MqttOptions::new(format!("{prefix}-pub"), "127.0.0.1", 1883);
            opts.set_keep_alive(Duration::from_secs(5)).set_inflight(50);
            let (client, mut el) = AsyncClient::new(opts, 200);
            // The node's own sector (`sector-1`, the default): it takes no other's.
            let topic = format!("{prefix}/sector-1/sensors/mqtt-1/detections");
            let order: Arc<Mutex<VecDeque<u64>>> = Arc::default();
            let order2 = order.clone();
            let publisher = tokio::spawn(async move {
                let mut seq = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    seq += 1;
                    let payload = detection("mqtt-1", seq).to_string();
                    order2.lock().unwrap().push_back(seq);
                    if client
                        .publish(&topic, QoS::AtLeastOnce, false, payload)
                        .await
                        .is_err()
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
            let mut by_pkid: BTreeMap<u16, u64> = BTreeMap::new();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && !publisher.is_finished() {
                match tokio::time::timeout(Duration::from_millis(200), el.poll()).await {
                    Ok(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => {
                        if let Some(seq) = order.lock().unwrap().pop_front() {
                            by_pkid.insert(pkid, seq);
                        }
                    }
                    Ok(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                        if let Some(seq) = by_pkid.remove(&ack.pkid) {
                            acked.lock().unwrap().insert(seq);
                        }
                    }
                    Ok(Ok(_)) | Err(_) => {}
                    Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
    }
    // SAPIENT: about 4,000 detections a second, each with its own time.
    let sapient_sent = Arc::new(Mutex::new(Vec::<(i64, Instant)>::new()));
    {
        let (stop, sent) = (stop.clone(), sapient_sent.clone());
        let addr = SocketAddr::from(([127, 0, 0, 1], sapient_port));
        tasks.spawn(async move {
            let mut link = dronewatch_server::sapient_sensor::SapientLink::connect(addr, 5.0)
                .await
                .unwrap();
            link.register(
                &[("sap-1".into(), SensorKind::Radar)],
                now(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
            let radar = Lla::new(31.34, -110.93, 1200.0);
            let mut k = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..20 {
                    k += 1;
                    let t = TimeNs(now().0 / 1000 * 1000 + (k % 1000) as i64);
                    let obs = Observation {
                        id: ObservationId(k),
                        t,
                        sensor_id: SensorId::new("sap-1"),
                        sensor_kind: SensorKind::Radar,
                        sensor_position: Some(radar),
                        measurement: Measurement::RangeAzEl {
                            range_m: 1000.0,
                            az_deg: 45.0,
                            el_deg: 2.0,
                            sigma_range_m: 5.0,
                            sigma_az_deg: 0.5,
                            sigma_el_deg: 0.5,
                        },
                        velocity: None,
                        identity: IdentityHints::default(),
                    };
                    if link.push(&obs).await.is_err() {
                        return;
                    }
                    sent.lock().unwrap().push((t.0, Instant::now()));
                }
                if link.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
    }

    // Kill at a moment that depends on the clock, under full load.
    let run_for = Duration::from_millis(2500 + (now().0 % 1500) as u64);
    tokio::time::sleep(run_for).await;
    if let Ok(r) = http
        .get(format!("http://{}/metrics", server.http))
        .bearer_auth(&admin)
        .send()
        .await
    {
        let text = r.text().await.unwrap_or_default();
        for l in text.lines().filter(|l| {
            l.contains("journal_commit_seconds_sum")
                || l.contains("journal_commit_seconds_count")
                || l.contains("ingest_queue")
                || l.contains("journaled_events_total")
                || l.contains("journal_batch_events_sum")
                || l.contains("observation_to_publish_seconds_sum")
                || l.contains("observation_to_publish_seconds_count")
        }) {
            eprintln!("before the kill: {l}");
        }
    }
    server.child.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let _ = server.child.wait();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}

    // Restart on the same data: the broker redelivers what it never got a PUBACK for.
    let mut server = serve(&config, http_addr);
    wait_ready(&http, server.http).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful stop: {status}");

    let store = Store::open(&dir.path().join("data/dronewatch.db").display().to_string())
        .await
        .unwrap();
    let http_acked = http_acked.lock().unwrap().clone();
    let mqtt_acked = mqtt_acked.lock().unwrap().clone();
    assert!(
        http_acked.len() > 200,
        "HTTP acknowledged {}",
        http_acked.len()
    );
    assert!(
        mqtt_acked.len() > 200,
        "MQTT acknowledged {}",
        mqtt_acked.len()
    );
    let http_stored = stored_ids(&store, "http-1").await;
    let mqtt_stored = stored_ids(&store, "mqtt-1").await;
    let lost_http: Vec<_> = http_acked.difference(&http_stored).collect();
    let lost_mqtt: Vec<_> = mqtt_acked.difference(&mqtt_stored).collect();
    assert!(
        lost_http.is_empty(),
        "HTTP 201 but not stored: {lost_http:?}"
    );
    assert!(
        lost_mqtt.is_empty(),
        "MQTT PUBACK but not stored: {lost_mqtt:?}"
    );

    // SAPIENT acknowledges no detection: what is lost must be the last moments before the
    // kill only.
    let sent = sapient_sent.lock().unwrap().clone();
    let stored: BTreeSet<i64> = stored(&store, "sap-1")
        .await
        .iter()
        .map(|r| r.t.0)
        .collect();
    let before_kill: Vec<&(i64, Instant)> = sent.iter().filter(|(_, at)| *at < killed_at).collect();
    let lost: Vec<&&(i64, Instant)> = before_kill
        .iter()
        .filter(|(t, _)| !stored.contains(t))
        .collect();
    let window_ms = lost
        .iter()
        .map(|(_, at)| killed_at.duration_since(*at).as_secs_f64() * 1e3)
        .fold(0.0, f64::max);
    eprintln!(
        "crash test: HTTP {} acked / {} stored, MQTT {} acked / {} stored, SAPIENT {} sent before the kill, {} lost, window {window_ms:.1} ms",
        http_acked.len(),
        http_stored.len(),
        mqtt_acked.len(),
        mqtt_stored.len(),
        before_kill.len(),
        lost.len()
    );
    assert!(
        before_kill.len() > 2000,
        "SAPIENT sent {}",
        before_kill.len()
    );
    assert!(
        window_ms < 100.0,
        "SAPIENT loss window {window_ms:.1} ms ({} detections)",
        lost.len()
    );

    let out = support::dronewatch()
        .args(["verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
