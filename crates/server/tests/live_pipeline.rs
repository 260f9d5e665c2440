//! The live pipeline end to end, over the real interfaces: detections in over SAPIENT TCP,
//! tracks and alerts out over the REST API and the WebSocket, warnings to the right agent
//! only, an operator's acknowledgement recorded, and an event log that verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dronewatch_geo::EnuFrame;
use dronewatch_model::{Lla, SensorKind, TimeNs};
use dronewatch_server::sapient_sensor::SapientLink;
use dronewatch_sim::load::LoadConfig;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::{LiveSky, TestNode, eventually, plot_by, radar_flight};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws(n: &TestNode, token: &str, query: &str) -> Ws {
    let url = format!(
        "ws://{}/api/v1/stream?access_token={token}{query}",
        n.node().http_addr
    );
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws
}

/// The next message of `kind`, within `timeout`.
async fn next_of(ws: &mut Ws, kind: &str, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .ok()??
            .ok()?;
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return Some(v);
            }
        }
    }
}

fn now() -> TimeNs {
    dronewatch_server::clock::now()
}

#[tokio::test]
async fn a_sky_over_sapient_becomes_tracks_near_the_truth_on_rest_and_websocket() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let mut live = ws(&n, &admin, "").await;
    let hello = next_of(&mut live, "hello", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(hello["role"], "admin");

    let cfg = LoadConfig {
        drones: 40,
        radars: 3,
        radar_period_s: 0.5,
        clutter_per_scan: 1.0,
        remote_id_share: 0.25,
        ..LoadConfig::default()
    };
    let mut sky = LiveSky::connect(&n, cfg).await;
    let started = Instant::now();
    let mut deltas = 0;
    while started.elapsed() < Duration::from_secs(12) {
        sky.step().await;
        // Read what the stream has for us meanwhile.
        while let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(1), live.next()).await
        {
            if t.starts_with("{\"type\":\"tracks\"") {
                deltas += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(deltas > 20, "live track deltas: {deltas}");
    let t_s = sky.t_s();
    let scene = &sky.scene;

    let v = n.get_json(&admin, "/api/v1/tracks").await;
    let tracks = v["tracks"].as_array().unwrap();
    // Every drone tracked once, close to where it is.
    let frame = EnuFrame::new(LoadConfig::default().origin);
    let mut near = 0;
    for i in 0..scene.drone_count() {
        let truth = scene.truth(i, t_s).unwrap();
        let te = frame.to_enu(&truth);
        let best = tracks
            .iter()
            .map(|t| {
                let p = Lla::new(
                    t["position"]["lat_deg"].as_f64().unwrap(),
                    t["position"]["lon_deg"].as_f64().unwrap(),
                    t["position"]["h_m"].as_f64().unwrap(),
                );
                let e = frame.to_enu(&p);
                (e[0] - te[0]).hypot(e[1] - te[1])
            })
            .fold(f64::INFINITY, f64::min);
        // The picture is up to a second old: 25 m/s at most.
        if best < 60.0 {
            near += 1;
        }
    }
    assert!(
        near >= 38,
        "{near} of 40 drones have a track within 60 m; {} tracks",
        tracks.len()
    );
    assert!(tracks.len() <= 44, "{} tracks for 40 drones", tracks.len());
    let with_serial = tracks
        .iter()
        .filter(|t| t["remote_id_serial"].is_string())
        .count();
    assert!(
        with_serial >= 9,
        "Remote ID serials on {with_serial} tracks"
    );

    let sensors = n.get_json(&admin, "/api/v1/sensors").await;
    let radar = sensors
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "load-radar-0")
        .unwrap_or_else(|| panic!("the radar is not listed: {sensors}"));
    assert_eq!(radar["state"], "ok");
    assert!(radar["observations"].as_u64().unwrap() > 500, "{radar}");
    assert_eq!(radar["refused"], 0, "{radar}");

    let stats = sky.finish().await;
    assert_eq!(stats.errors_received, 0, "{stats:?}");
    let store = n.node().store.clone();
    let report = store.verify().await.unwrap();
    assert!(report.ok(), "{report:?}");
    let metrics = n.node().metrics.encode();
    assert!(
        metrics.contains("dronewatch_tracks 4"),
        "tracks gauge: {metrics}"
    );
    n.stop().await;
}

#[tokio::test]
async fn a_drone_heading_for_an_agent_warns_that_agent_only_and_raises_an_alert() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let garcia = n.user(&admin, "garcia", "agent").await;
    let lee = n.user(&admin, "lee", "agent").await;
    let officer = n.user(&admin, "officer", "operator").await;
    let origin = LoadConfig::default().origin;
    let frame = EnuFrame::new(origin);
    let agent_pos = frame.to_lla(&[0.0, 0.0, 0.0]);
    let far_agent = frame.to_lla(&[3000.0, -3000.0, 0.0]);
    for (tok, p) in [(&garcia, agent_pos), (&lee, far_agent)] {
        let r = n
            .post(
                tok,
                "/api/v1/agents/me/position",
                &json!({"position": {"lat_deg": p.lat_deg, "lon_deg": p.lon_deg, "h_m": p.h_m}}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let mut garcia_ws = ws(&n, &garcia, "&kinds=warnings").await;
    let mut lee_ws = ws(&n, &lee, "&kinds=warnings").await;
    let mut ops_ws = ws(&n, &officer, "&kinds=alerts").await;

    // A drone 500 m north at 60 m, flying south at 15 m/s straight at the agent.
    let feeder = radar_flight(&n, frame, [3.0, 500.0, 60.0], -15.0, 25).await;

    let warning = next_of(&mut garcia_ws, "warning", Duration::from_secs(20))
        .await
        .expect("garcia is warned");
    let w = &warning["warning"];
    assert_eq!(w["agent_id"], "garcia");
    assert!(
        ["warning", "critical", "advisory"].contains(&w["level"].as_str().unwrap()),
        "{w}"
    );
    let bearing = w["bearing_deg"].as_f64().unwrap();
    assert!(
        !(15.0..=345.0).contains(&bearing),
        "the drone is north: {bearing}"
    );
    assert!(w["advice"].as_str().unwrap().len() > 10);

    let alert = next_of(&mut ops_ws, "alert", Duration::from_secs(10))
        .await
        .expect("the ops center sees an alert");
    let id = alert["alert"]["id"].as_u64().unwrap();
    let reasons: Vec<&str> = alert["alert"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"closing_on_agent"), "{reasons:?}");
    // Lee, 4 km away, is never told about garcia's drone.
    assert!(
        next_of(&mut lee_ws, "warning", Duration::from_millis(500))
            .await
            .is_none()
    );

    // The agent acknowledges the warning; the officer acknowledges the alert.
    let wid = w["id"].as_str().unwrap();
    let r = n
        .post(
            &garcia,
            &format!("/api/v1/warnings/{wid}/acknowledge"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = n
        .post(
            &officer,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &json!({"note": "seen on camera 3"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let a = n.get_json(&officer, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(a["state"], "acknowledged");
    assert!(
        a["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "officer")
    );
    // A closed alert cannot be acknowledged again... after resolving it.
    assert_eq!(
        n.post(
            &officer,
            &format!("/api/v1/alerts/{id}/resolve"),
            &json!({})
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        n.post(
            &officer,
            &format!("/api/v1/alerts/{id}/acknowledge"),
            &json!({})
        )
        .await
        .status(),
        409
    );

    let h = n
        .get_json(&admin, "/api/v1/history/events?kind=operator_action")
        .await;
    let actions: Vec<&str> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["body"]["action"].as_str())
        .collect();
    assert!(actions.contains(&"warning_acknowledged"), "{actions:?}");
    assert!(actions.contains(&"acknowledge"), "{actions:?}");
    let warnings = n
        .get_json(&admin, "/api/v1/history/events?kind=warning")
        .await;
    assert!(!warnings["events"].as_array().unwrap().is_empty());

    let stats = feeder.await.unwrap();
    assert_eq!(stats.errors_received, 0);
    let report = n.node().store.verify().await.unwrap();
    assert!(report.ok(), "{report:?}");
    n.stop().await;
}

#[tokio::test]
async fn an_exercise_is_marked_end_to_end_kept_apart_and_ended_in_one_action() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let garcia = n.user(&admin, "garcia", "agent").await;
    let officer = n.user(&admin, "officer", "operator").await;
    let frame = EnuFrame::new(LoadConfig::default().origin);
    let p = frame.to_lla(&[0.0, 0.0, 0.0]);
    let body = json!({"position": {"lat_deg": p.lat_deg, "lon_deg": p.lon_deg, "h_m": p.h_m}});
    assert_eq!(
        n.post(&garcia, "/api/v1/agents/me/position", &body)
            .await
            .status(),
        201
    );
    let mut garcia_ws = ws(&n, &garcia, "&kinds=warnings").await;
    let mut ops_ws = ws(&n, &officer, "&kinds=alerts").await;

    // An exercise radar and a real one. The exercise drone flies at the agent; a real
    // drone crosses 2 km away.
    let radar = frame.to_lla(&[800.0, 200.0, 5.0]);
    let mut link = SapientLink::connect(n.node().sapient_addr.unwrap(), 5.0)
        .await
        .unwrap();
    link.register(
        &[
            ("EXERCISE-radar-a".into(), SensorKind::Radar),
            ("radar-b".into(), SensorKind::Radar),
        ],
        now(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let feeder = tokio::spawn(async move {
        let start = Instant::now();
        let mut k = 0u64;
        while stop_rx.try_recv().is_err() && start.elapsed() < Duration::from_secs(40) {
            let t_s = start.elapsed().as_secs_f64();
            let drill = frame.to_lla(&[3.0, 500.0 - 15.0 * t_s, 60.0]);
            let real = frame.to_lla(&[-2000.0 + 10.0 * t_s, 2000.0, 80.0]);
            link.push(&plot_by("EXERCISE-radar-a", 2 * k, now(), radar, drill))
                .await
                .unwrap();
            link.push(&plot_by("radar-b", 2 * k + 1, now(), radar, real))
                .await
                .unwrap();
            link.flush().await.unwrap();
            k += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        link.finish(now()).await.unwrap()
    });

    // No exercise running: the exercise sensor is refused, the real one tracked.
    eventually(Duration::from_secs(10), "the real track alone", || async {
        let tracks = n.get_json(&officer, "/api/v1/tracks").await;
        let tracks = tracks["tracks"].as_array().unwrap().clone();
        (tracks.len() == 1 && tracks[0]["exercise"] == false).then_some(())
    })
    .await;
    let sensors = n.get_json(&officer, "/api/v1/sensors").await;
    let drill_sensor = sensors
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "EXERCISE-radar-a")
        .unwrap();
    assert!(
        drill_sensor["refused"].as_u64().unwrap() > 0,
        "{drill_sensor}"
    );

    let start = json!({"name": "drone attack on the post"});
    let r = n.post(&officer, "/api/v1/exercise", &start).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        n.post(&officer, "/api/v1/exercise", &start).await.status(),
        409
    );

    let warning = next_of(&mut garcia_ws, "warning", Duration::from_secs(20))
        .await
        .expect("garcia is warned by the exercise drone");
    let w = &warning["warning"];
    assert_eq!(w["exercise"], true, "{w}");
    let alert = next_of(&mut ops_ws, "alert", Duration::from_secs(10))
        .await
        .expect("the ops center sees the exercise alert");
    assert_eq!(alert["alert"]["exercise"], true, "{alert}");
    let alert_id = alert["alert"]["id"].as_u64().unwrap();
    let tracks = n.get_json(&officer, "/api/v1/tracks").await;
    let flags: Vec<bool> = tracks["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["exercise"].as_bool().unwrap())
        .collect();
    assert_eq!(flags.iter().filter(|f| **f).count(), 1, "{tracks}");
    assert_eq!(flags.iter().filter(|f| !**f).count(), 1, "{tracks}");

    let wid = w["id"].as_str().unwrap();
    let path = format!("/api/v1/warnings/{wid}/acknowledge");
    assert_eq!(n.post(&garcia, &path, &json!({})).await.status(), 200);
    let path = format!("/api/v1/alerts/{alert_id}/acknowledge");
    assert_eq!(n.post(&officer, &path, &json!({})).await.status(), 200);

    // One action ends it: the summary says who was warned and acknowledged, and how fast.
    stop_tx.send(()).unwrap();
    feeder.await.unwrap();
    let r = n
        .http
        .delete(format!("{}/api/v1/exercise", n.base))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["agents_warned"], 1, "{report:#}");
    assert_eq!(summary["agents_acknowledged"], 1, "{report:#}");
    let ack_s = summary["warnings"][0]["seconds_to_acknowledge"]
        .as_f64()
        .unwrap();
    assert!((0.0..30.0).contains(&ack_s), "{report:#}");
    assert_eq!(
        summary["alerts"][0]["acknowledged_by"], "officer",
        "{report:#}"
    );
    assert_eq!(report["last"]["ended_by"], "officer");
    assert!(report["running"].is_null());

    let a = n
        .get_json(&officer, &format!("/api/v1/alerts/{alert_id}"))
        .await;
    assert_eq!(a["state"], "resolved", "{a}");
    eventually(
        Duration::from_secs(5),
        "the exercise track gone",
        || async {
            let tracks = n.get_json(&officer, "/api/v1/tracks").await;
            let any = tracks["tracks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["exercise"] == true);
            (!any).then_some(())
        },
    )
    .await;
    // The record says so too.
    let h = n
        .get_json(&admin, "/api/v1/history/events?kind=warning")
        .await;
    assert!(
        h["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["body"]["exercise"] == true),
        "{h}"
    );
    // And the CSV export, which carries no body, has an exercise column.
    let csv = n
        .get(&admin, "/api/v1/history/export?format=csv&kind=warning")
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|c| *c == "exercise")
        .expect("an exercise column");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty(), "{csv}");
    assert!(rows.iter().all(|r| r[col] == "true"), "{csv}");
    n.stop().await;
}

#[tokio::test]
async fn a_slow_websocket_client_at_1_hz_gets_snapshots_filtered_by_area() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let cfg = LoadConfig {
        drones: 30,
        radars: 2,
        radar_period_s: 0.5,
        ..LoadConfig::default()
    };
    let origin = cfg.origin;
    let mut sky = LiveSky::connect(&n, cfg).await;
    // A box around the north-east quarter of the area.
    let bbox = format!(
        "{},{},{},{}",
        origin.lon_deg,
        origin.lat_deg,
        origin.lon_deg + 0.05,
        origin.lat_deg + 0.05
    );
    let mut slow = ws(
        &n,
        &admin,
        &format!("&rate_ms=1000&kinds=tracks&bbox={bbox}"),
    )
    .await;
    let feeder = tokio::spawn(async move { sky.feed_for(Duration::from_secs(8)).await });
    let mut snapshots = Vec::new();
    let mut deltas = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout_at(deadline, slow.next()).await
    {
        let v: Value = serde_json::from_str(&t).unwrap();
        match v["type"].as_str() {
            Some("snapshot") => snapshots.push((Instant::now(), v)),
            Some("tracks") => deltas += 1,
            _ => {}
        }
    }
    feeder.await.unwrap();
    assert_eq!(deltas, 0, "a 1 Hz client gets no deltas");
    assert!(
        (6..=10).contains(&snapshots.len()),
        "{} snapshots in 8 s",
        snapshots.len()
    );
    let last = &snapshots.last().unwrap().1;
    let tracks = last["tracks"].as_array().unwrap();
    assert!(!tracks.is_empty());
    for t in tracks {
        let lat = t["position"]["lat_deg"].as_f64().unwrap();
        let lon = t["position"]["lon_deg"].as_f64().unwrap();
        assert!(
            lat >= origin.lat_deg && lon >= origin.lon_deg,
            "outside the box: {t}"
        );
    }
    let all = n.get_json(&admin, "/api/v1/tracks").await;
    assert!(all["tracks"].as_array().unwrap().len() > tracks.len());

    // Changing the filter over the socket.
    slow.send(Message::Text(
        json!({"type": "subscribe", "kinds": ["bogus"]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let err = next_of(&mut slow, "error", Duration::from_secs(3))
        .await
        .unwrap();
    assert!(err["message"].as_str().unwrap().contains("bogus"));
    n.stop().await;
}

#[tokio::test]
async fn http_detections_are_answered_once_durable_and_bad_ones_are_refused_by_field() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    // A sensor's device token: role sensor.
    let r = n
        .post(
            &admin,
            "/api/v1/users",
            &json!({"name": "radar-http", "role": "sensor", "password": "sensor password 1"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = n
        .post(
            &admin,
            "/api/v1/users/radar-http/device-tokens",
            &json!({"label": "radar box"}),
        )
        .await;
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let t = now();
    let det = json!({
        "t": t.0, "sensor_id": "radar-http", "sensor_kind": "radar", "seq": 7,
        "sensor_position": {"lat_deg": 31.34, "lon_deg": -110.93, "h_m": 1200.0},
        "measurement": {"kind": "range_az_el", "range_m": 900.0, "az_deg": 10.0, "el_deg": 3.0,
                        "sigma_range_m": 5.0, "sigma_az_deg": 0.5, "sigma_el_deg": 0.5}
    });
    let r = n
        .post(&token, "/api/v1/sensors/radar-http/detections", &det)
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let mut bad = det.clone();
    bad["measurement"]["el_deg"] = json!(120.0);
    let r = n
        .post(&token, "/api/v1/sensors/radar-http/detections", &bad)
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("el_deg"));
    // A sensor token reads nothing.
    assert_eq!(n.get(&token, "/api/v1/tracks").await.status(), 403);
    let store = n.node().store.clone();
    let seen = eventually(Duration::from_secs(5), "the detection in the log", || {
        let store = store.clone();
        async move {
            let rows = store
                .query(dronewatch_store::EventQuery {
                    kinds: vec![dronewatch_store::EventKind::Observation],
                    source: Some("radar-http".into()),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .ok()?;
            (!rows.is_empty()).then_some(rows)
        }
    })
    .await;
    assert_eq!(seen.len(), 1);
    n.stop().await;
}

/// A raised posture tightens the live warnings: a drone passing 250 m from an agent warns
/// no one at the normal posture (150 m radius), nor under a high posture held only in an
/// area elsewhere, and warns the agent, with the high posture's advice, once an analyst
/// publishes a high-posture bulletin for an area around them; a sector-wide one then
/// raises the sector's level.
#[tokio::test]
async fn a_high_posture_bulletin_warns_an_agent_of_a_wider_pass() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let analyst = n.user(&admin, "intel", "analyst").await;
    let garcia = n.user(&admin, "garcia", "agent").await;
    let origin = LoadConfig::default().origin;
    let frame = EnuFrame::new(origin);
    let p = frame.to_lla(&[0.0, 0.0, 0.0]);
    let r = n
        .post(
            &garcia,
            "/api/v1/agents/me/position",
            &json!({"position": {"lat_deg": p.lat_deg, "lon_deg": p.lon_deg, "h_m": p.h_m}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let mut garcia_ws = ws(&n, &garcia, "&kinds=warnings,bulletins").await;
    // A 2 km square centred `east_m` east of the agent, as GeoJSON.
    let square = |east_m: f64| {
        let c = |e: f64, n: f64| {
            let q = frame.to_lla(&[east_m + e, n, 0.0]);
            json!([q.lon_deg, q.lat_deg])
        };
        json!({"type": "Polygon", "coordinates": [[
            c(-1000.0, -1000.0), c(1000.0, -1000.0), c(1000.0, 1000.0),
            c(-1000.0, 1000.0), c(-1000.0, -1000.0)]]})
    };

    // 250 m east of the agent, from 600 m north, south at 12 m/s: abeam after 50 s.
    let feeder = radar_flight(&n, frame, [250.0, 600.0, 60.0], -12.0, 22).await;
    assert!(
        next_of(&mut garcia_ws, "warning", Duration::from_secs(6))
            .await
            .is_none(),
        "a 250 m pass is outside the normal posture's radius"
    );
    let b = publish(
        &n,
        &analyst,
        &mut garcia_ws,
        json!({"text": "Attacks on agents at the east crossing.", "posture": "high",
        "area": square(10_000.0), "area_only": true}),
    )
    .await;
    assert_eq!(b["bulletin"]["unacknowledged"], json!(["garcia"]));
    let posture = n.get_json(&garcia, "/api/v1/posture").await;
    assert_eq!(posture["level"], "normal", "{posture}");
    assert_eq!(posture["areas"][0]["level"], "high", "{posture}");
    assert!(
        next_of(&mut garcia_ws, "warning", Duration::from_secs(3))
            .await
            .is_none(),
        "a high posture 10 km away changes nothing here"
    );
    publish(
        &n,
        &analyst,
        &mut garcia_ws,
        json!({"text": "Attacks on agents authorised here.", "posture": "high",
        "area": square(0.0), "area_only": true}),
    )
    .await;
    let w = next_of(&mut garcia_ws, "warning", Duration::from_secs(10))
        .await
        .expect("warned at the high posture of the agent's area");
    let advice = w["warning"]["advice"].as_str().unwrap();
    let high = dronewatch_threat::PostureConfig::default().high.advice;
    assert!(
        [&high.advisory, &high.warning, &high.critical].contains(&&advice.to_owned()),
        "{advice}"
    );
    assert!(n.metrics(&admin).await.contains("posture_level 0"));
    let r = n
        .post(
            &analyst,
            "/api/v1/bulletins",
            &json!({"text": "No area, no posture of its own.", "posture": "high", "area_only": true}),
        )
        .await;
    assert_eq!(r.status(), 400);
    publish(
        &n,
        &analyst,
        &mut garcia_ws,
        json!({"text": "Attacks on agents authorised.", "posture": "high"}),
    )
    .await;
    let posture = n.get_json(&garcia, "/api/v1/posture").await;
    assert_eq!(posture["level"], "high", "{posture}");
    assert_eq!(
        posture["areas"],
        json!([]),
        "no area above the sector now: {posture}"
    );
    let metrics = n.metrics(&admin).await;
    assert!(metrics.contains("posture_level 2"), "{metrics}");
    feeder.await.unwrap();
    n.stop().await;
}

/// Publishes a bulletin as `analyst`; the bulletin as the agent's stream `ws` shows it.
async fn publish(n: &TestNode, analyst: &str, ws: &mut Ws, body: Value) -> Value {
    let r = n.post(analyst, "/api/v1/bulletins", &body).await;
    assert_eq!(r.status(), 201, "{body}");
    next_of(ws, "bulletin", Duration::from_secs(5))
        .await
        .expect("the agent is sent the bulletin")
}

/// What a push service on 127.0.0.1 was sent: (path, headers, body).
type Pushed = std::sync::Arc<std::sync::Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>>;

/// A push service: `/push/gone` answers 410 (the browser unsubscribed), anything else 201.
async fn push_service() -> (String, Pushed) {
    let seen: Pushed = Default::default();
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/push/{name}",
        axum::routing::post(
            move |axum::extract::Path(name): axum::extract::Path<String>,
                  headers: axum::http::HeaderMap,
                  body: axum::body::Bytes| {
                let seen = state.clone();
                async move {
                    seen.lock()
                        .unwrap()
                        .push((name.clone(), headers, body.to_vec()));
                    if name == "gone" {
                        axum::http::StatusCode::GONE
                    } else {
                        axum::http::StatusCode::CREATED
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

/// A browser's push keys: the subscription JSON and what decrypts its pushes.
fn browser_keys(endpoint: &str) -> (Value, web_push_native::p256::SecretKey, [u8; 16]) {
    use base64::Engine;
    use web_push_native::p256::elliptic_curve::rand_core::{OsRng, RngCore};
    use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let secret = web_push_native::p256::SecretKey::random(&mut OsRng);
    let mut auth = [0u8; 16];
    OsRng.fill_bytes(&mut auth);
    let public = secret.public_key().to_encoded_point(false);
    let sub = json!({"endpoint": endpoint, "expirationTime": null,
        "keys": {"p256dh": b64.encode(public.as_bytes()), "auth": b64.encode(auth)}});
    (sub, secret, auth)
}

/// Decrypts one push as the browser would, after checking its VAPID signature against
/// the node's published key.
fn open_push(
    headers: &axum::http::HeaderMap,
    body: &[u8],
    vapid_key: &str,
    secret: &web_push_native::p256::SecretKey,
    auth: &[u8; 16],
) -> Value {
    use base64::Engine;
    use web_push_native::jwt_simple::prelude::*;
    assert_eq!(headers["content-encoding"], "aes128gcm");
    assert_eq!(headers["ttl"], "300");
    let vapid = headers["authorization"].to_str().unwrap();
    let (token, k) = vapid
        .strip_prefix("vapid t=")
        .and_then(|s| s.split_once(", k="))
        .expect("a VAPID authorization");
    assert_eq!(k, vapid_key, "signed with the key the node gives browsers");
    let key_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(k)
        .unwrap();
    let claims = ES256PublicKey::from_bytes(&key_bytes)
        .unwrap()
        .verify_token::<NoCustomClaims>(token, None)
        .expect("a valid VAPID signature");
    assert_eq!(
        claims.audiences.unwrap().into_string().unwrap(),
        "http://127.0.0.1"
    );
    let plain = web_push_native::decrypt(
        body.to_vec(),
        secret,
        &web_push_native::Auth::clone_from_slice(auth),
    )
    .expect("the browser's keys decrypt it");
    serde_json::from_slice(&plain).unwrap()
}

#[tokio::test]
async fn web_push_brings_an_agent_its_warning_and_the_bulletin_encrypted_and_signed() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let analyst = n.user(&admin, "intel", "analyst").await;
    let garcia = n.user(&admin, "garcia", "agent").await;
    let lee = n.user(&admin, "lee", "agent").await;
    let (base, pushed) = push_service().await;
    let vapid_key = n.get_json(&garcia, "/api/v1/push/key").await["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (sub, secret, auth) = browser_keys(&format!("{base}/push/garcia"));
    let r = n.post(&garcia, "/api/v1/push/subscriptions", &sub).await;
    assert_eq!(r.status(), 201);
    let (gone, _, _) = browser_keys(&format!("{base}/push/gone"));
    assert_eq!(
        n.post(&lee, "/api/v1/push/subscriptions", &gone)
            .await
            .status(),
        201
    );
    let (mut bad, _, _) = browser_keys("http://push.example/x");
    let r = n.post(&lee, "/api/v1/push/subscriptions", &bad).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("endpoint"));
    bad["endpoint"] = json!(format!("{base}/push/x"));
    bad["keys"]["auth"] = json!("AAAA");
    assert_eq!(
        n.post(&lee, "/api/v1/push/subscriptions", &bad)
            .await
            .status(),
        400
    );

    // A bulletin goes to every subscriber, once.
    let r = n
        .post(
            &analyst,
            "/api/v1/bulletins",
            &json!({"text": "Attacks on agents authorised.", "posture": "elevated"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let (headers, body) = eventually(Duration::from_secs(10), "the bulletin pushed", || {
        let pushed = pushed.clone();
        async move {
            let p = pushed.lock().unwrap();
            p.iter()
                .find(|(name, _, _)| name == "garcia")
                .map(|(_, h, b)| (h.clone(), b.clone()))
        }
    })
    .await;
    let notice = open_push(&headers, &body, &vapid_key, &secret, &auth);
    assert_eq!(notice["type"], "bulletin");
    assert_eq!(notice["title"], "Bulletin: posture ELEVATED");
    assert_eq!(notice["body"], "Attacks on agents authorised.");
    // The push service said lee's browser is gone: the node forgets it.
    eventually(
        Duration::from_secs(10),
        "the gone subscription dropped",
        || {
            let (n, lee) = (&n, &lee);
            async move {
                let subs = n.get_json(lee, "/api/v1/push/subscriptions").await;
                (subs.as_array().unwrap().is_empty()).then_some(())
            }
        },
    )
    .await;
    let bulletin_id = n.get_json(&garcia, "/api/v1/bulletins").await[0]["id"].clone();
    let r = n
        .post(
            &garcia,
            &format!(
                "/api/v1/bulletins/{}/acknowledge",
                bulletin_id.as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);

    // A drone straight at garcia: the warning is pushed to garcia's phone, urgently.
    let origin = LoadConfig::default().origin;
    let frame = EnuFrame::new(origin);
    let p = frame.to_lla(&[0.0, 0.0, 0.0]);
    let r = n
        .post(
            &garcia,
            "/api/v1/agents/me/position",
            &json!({"position": {"lat_deg": p.lat_deg, "lon_deg": p.lon_deg, "h_m": p.h_m}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let feeder = radar_flight(&n, frame, [0.0, 600.0, 60.0], -12.0, 15).await;
    let (headers, body) = eventually(Duration::from_secs(20), "a warning pushed", || {
        let pushed = pushed.clone();
        let (vapid_key, secret, auth) = (vapid_key.clone(), secret.clone(), auth);
        async move {
            let p = pushed.lock().unwrap();
            p.iter()
                .filter(|(name, _, _)| name == "garcia")
                .find(|(_, h, b)| {
                    h["urgency"] == "high"
                        && open_push(h, b, &vapid_key, &secret, &auth)["type"] == "warning"
                })
                .map(|(_, h, b)| (h.clone(), b.clone()))
        }
    })
    .await;
    let notice = open_push(&headers, &body, &vapid_key, &secret, &auth);
    let title = notice["title"].as_str().unwrap();
    assert!(
        title.contains(": drone ") && title.contains(" m N"),
        "{title}"
    );
    assert!(
        notice["tag"].as_str().unwrap().starts_with("track-"),
        "{notice}"
    );
    assert!(!notice["body"].as_str().unwrap().is_empty(), "the advice");
    // Every push was the bulletin (once) or garcia's own warnings; lee's only went to
    // the gone endpoint, never again after the 410.
    let gone = pushed
        .lock()
        .unwrap()
        .iter()
        .filter(|(name, _, _)| name == "gone")
        .count();
    assert_eq!(gone, 1);
    let status = n.get_json(&admin, "/api/v1/delivery").await;
    let web_push = status
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "web_push")
        .expect("web push on the delivery status");
    assert!(web_push["delivered"].as_u64().unwrap() >= 2, "{status}");
    assert_eq!(web_push["dead_lettered"], 0, "{status}");
    feeder.await.unwrap();
    n.stop().await;
}

#[tokio::test]
async fn a_staffed_post_is_an_agent_from_the_start_and_is_warned_of_a_drone_coming_at_it() {
    let origin = LoadConfig::default().origin;
    let frame = EnuFrame::new(origin);
    let post = frame.to_lla(&[0.0, 0.0, 0.0]);
    let n = TestNode::start(&format!(
        "[[threat.posts]]\nagent = \"post-7\"\nposition = {{ lat_deg = {}, lon_deg = {}, h_m = {} }}\n",
        post.lat_deg, post.lon_deg, post.h_m
    ))
    .await;
    let admin = n.admin().await;
    let agents = n.get_json(&admin, "/api/v1/agents").await;
    assert_eq!(agents[0]["agent_id"], "post-7", "{agents}");
    assert!((agents[0]["position"]["lat_deg"].as_f64().unwrap() - post.lat_deg).abs() < 1e-9);

    let feeder = radar_flight(&n, frame, [3.0, 500.0, 60.0], -15.0, 20).await;
    let warnings = eventually(Duration::from_secs(25), "a warning to the post", || {
        let (n, admin) = (&n, admin.clone());
        async move {
            let w = n.get_json(&admin, "/api/v1/warnings").await;
            w.as_array()?
                .iter()
                .any(|w| w["agent_id"] == "post-7" && w["level"] != "all_clear")
                .then_some(w)
        }
    })
    .await;
    assert!(warnings.to_string().contains("post-7"));
    feeder.await.unwrap();
    n.stop().await;

    // A bad post stops the start, by name.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "data_dir = {:?}\n[[threat.posts]]\nagent = \"\"\nposition = {{ lat_deg = 1.0, lon_deg = 2.0, h_m = 0.0 }}\n",
        dir.path().display().to_string()
    );
    let e = dronewatch_server::config::ServerConfig::from_toml(&text).unwrap_err();
    assert!(e.to_string().contains("threat.posts[0].agent"), "{e}");
}
