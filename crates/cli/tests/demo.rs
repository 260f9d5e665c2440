//! `dronewatch demo` end to end, as a user runs it: the binary on a free port, the
//! simulator feeding it live through SAPIENT, SBS-1 and the field API. Within 60 s the API
//! must show the hostile drones in the air as confirmed tracks near their true positions,
//! the expected alerts (an approach on an agent, a border crossing, a spoofed Remote ID),
//! no alert for the helicopter or the friendly and benign drones, and the web UI served.
//! A TAK peer given with `--tak` gets the picture as CoT (hostile drones, the helicopter,
//! agent-1's warning as a chat, the exercise marked). Ctrl-C (SIGINT) must then stop it
//! cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dronewatch_geo::EnuFrame;
use dronewatch_model::Lla;
use serde_json::Value;
use support::free_port;

const PASSWORD: &str = "demo test admin password";

/// Where each aircraft was, by name, at each whole second of scenario time.
type Paths = BTreeMap<String, BTreeMap<i64, Lla>>;

/// The scenario's epoch [unix s], truth.jsonl as [`Paths`], and each aircraft's role.
fn truth(dir: &Path) -> (f64, Paths, BTreeMap<String, String>) {
    let sensors: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sensors.json")).unwrap()).unwrap();
    let epoch: jiff::Timestamp = sensors["scenario"]["epoch_utc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut by_name: BTreeMap<String, BTreeMap<i64, Lla>> = BTreeMap::new();
    let mut roles = BTreeMap::new();
    let f = std::fs::File::open(dir.join("truth.jsonl")).unwrap();
    for line in std::io::BufReader::new(f).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let name = v["name"].as_str().unwrap().to_owned();
        let l = &v["lla"];
        let lla = Lla::new(
            l[0].as_f64().unwrap(),
            l[1].as_f64().unwrap(),
            l[2].as_f64().unwrap(),
        );
        by_name
            .entry(name.clone())
            .or_default()
            .insert(v["t"].as_f64().unwrap() as i64, lla);
        roles.insert(name, v["role"].as_str().unwrap().to_owned());
    }
    (epoch.as_nanosecond() as f64 / 1e9, by_name, roles)
}

fn horizontal_m(a: &Lla, b: &Lla) -> f64 {
    let p = EnuFrame::new(*a).to_enu(b);
    p[0].hypot(p[1])
}

fn lla_of(p: &Value) -> Lla {
    Lla::new(
        p["lat_deg"].as_f64().unwrap(),
        p["lon_deg"].as_f64().unwrap(),
        p["h_m"].as_f64().unwrap_or(0.0),
    )
}

#[test]
fn the_demo_shows_hostile_tracks_and_the_right_alerts_within_a_minute() {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(demo_end_to_end());
}

async fn demo_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A TAK peer: what the demo sends it as CoT, kept.
    let tak = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tak_url = format!("tcp://{}", tak.local_addr().unwrap());
    let cot = Arc::new(Mutex::new(Vec::<u8>::new()));
    let cot_in = Arc::clone(&cot);
    std::thread::spawn(move || {
        use std::io::Read;
        let (mut conn, _) = tak.accept().unwrap();
        let mut buf = [0u8; 65536];
        while let Ok(n) = conn.read(&mut buf) {
            if n == 0 {
                break;
            }
            cot_in.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let started = Instant::now();
    let mut child = spawn_demo(dir.path(), port, &["--tak", &tak_url]);
    let stdout = child.stdout.take().unwrap();
    let printed = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&printed);
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            lines.lock().unwrap().push(line);
        }
    });

    let base = format!("http://127.0.0.1:{port}");
    dronewatch_server::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let token = log_in(&http, &base, started).await;
    let get = async |path: &str| -> Value {
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    };

    let ui = http.get(format!("{base}/")).send().await.unwrap();
    assert!(ui.status().is_success());
    assert!(
        ui.text().await.unwrap().contains("<html"),
        "the web UI is served"
    );

    let scenario = dir.path().join("scenario");
    let hostile_now = ["hostile-approach", "hostile-transit", "hostile-spoofed"];
    let exempt = ["manned-helicopter", "friendly-patrol", "benign-hobbyist"];
    let mut seen_near: BTreeMap<&str, f64> = BTreeMap::new();
    let mut rules_seen: BTreeMap<String, u64> = BTreeMap::new();
    let wanted = ["closing_on_agent", "crossed_border", "remote_id_mismatch"];
    let mut last_alerts = Value::Null;
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if !scenario.join("truth.jsonl").exists() {
            continue;
        }
        let (epoch_s, truth, roles) = truth(&scenario);
        let tracks = get("/api/v1/tracks").await;
        for tr in tracks["tracks"].as_array().unwrap() {
            if tr["status"] != "confirmed" {
                continue;
            }
            let t_s = (tr["t_unix_ns"].as_f64().unwrap() / 1e9 - epoch_s).round() as i64;
            let p = lla_of(&tr["position"]);
            for name in hostile_now {
                if let Some(at) = truth.get(name).and_then(|m| m.get(&t_s)) {
                    let d = horizontal_m(at, &p);
                    let best = seen_near.entry(name).or_insert(f64::INFINITY);
                    *best = best.min(d);
                }
            }
        }
        let alerts = get("/api/v1/alerts?state=all").await;
        for a in alerts.as_array().unwrap() {
            // No alert may sit on an exempt aircraft.
            let t_s = (a["last_seen_unix_ns"].as_f64().unwrap() / 1e9 - epoch_s).round() as i64;
            let p = lla_of(&a["last_position"]);
            for name in exempt {
                if let Some(at) = truth.get(name).and_then(|m| m.get(&t_s)) {
                    assert!(
                        horizontal_m(at, &p) > 150.0,
                        "alert on {name} ({}): {a}",
                        roles[name]
                    );
                }
            }
            for r in a["reasons"].as_array().unwrap() {
                *rules_seen
                    .entry(r["rule"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
        last_alerts = alerts;
        let all_near = hostile_now
            .iter()
            .all(|n| seen_near.get(n).is_some_and(|d| *d < 60.0));
        if all_near && wanted.iter().all(|r| rules_seen.contains_key(*r)) {
            break;
        }
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    for name in hostile_now {
        let d = seen_near.get(name).copied().unwrap_or(f64::INFINITY);
        assert!(
            d < 60.0,
            "{name}: nearest confirmed track {d:.0} m (after {elapsed_s:.0} s)"
        );
    }
    for rule in wanted {
        assert!(
            rules_seen.contains_key(rule),
            "no alert with {rule} after {elapsed_s:.0} s: {rules_seen:?}\n{last_alerts:#}"
        );
    }
    eprintln!("demo: all seen after {elapsed_s:.1} s; nearest {seen_near:?}; rules {rules_seen:?}");

    // Every simulated sensor reported, with its kind (the map draws coverage by kind).
    let sensors = get("/api/v1/sensors").await;
    let kinds: BTreeMap<&str, &str> = sensors
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                s["kind"].as_str().unwrap_or("none"),
            )
        })
        .collect();
    for (id, kind) in [
        ("radar-1", "radar"),
        ("radar-2", "radar"),
        ("rf-1", "rf_df"),
        ("acoustic-1", "acoustic"),
        ("rid-1", "remote_id"),
        ("adsb-1", "adsb"),
    ] {
        assert_eq!(kinds.get(id), Some(&kind), "{sensors:#}");
    }
    // The agents' phones share their positions.
    let agents = get("/api/v1/agents").await;
    assert_eq!(agents.as_array().unwrap().len(), 4, "{agents:#}");

    // A training exercise on top: the simulator's hostile drones again, through EXERCISE-
    // sensors, started and ended through the API; the after-action summary names the
    // agent at the post, warned by an exercise drone.
    let sapient = printed
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix("SAPIENT")
                .map(|r| r.split_whitespace().next().unwrap().to_owned())
        })
        .expect("the banner names the SAPIENT listener");
    let mut exercise = Command::new(env!("CARGO_BIN_EXE_dronewatch"));
    exercise
        .args([
            "simulate",
            "--live",
            "--exercise",
            "drill at the post",
            "--duration-s",
            "40",
        ])
        .args([
            "--http",
            &format!("127.0.0.1:{port}"),
            "--sapient",
            &sapient,
        ])
        .args(["--sbs-listen", "127.0.0.1:0", "--password", PASSWORD])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    let drill = tokio::task::spawn_blocking(move || exercise.output().unwrap());
    let mut saw_exercise_track = false;
    while !drill.is_finished() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let tracks = get("/api/v1/tracks").await;
        saw_exercise_track |= tracks["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["exercise"] == true);
    }
    let out = drill.await.unwrap();
    assert!(out.status.success(), "simulate --exercise: {}", out.status);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(saw_exercise_track, "no exercise track seen");
    let warned: Vec<&str> = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["agent_id"].as_str().unwrap())
        .collect();
    assert!(warned.contains(&"agent-1"), "{summary:#}");
    assert!(
        summary["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["state"] == "resolved"),
        "exercise alerts are closed when it ends: {summary:#}"
    );
    let tracks = get("/api/v1/tracks").await;
    assert!(
        tracks["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["exercise"] == false),
        "the exercise's tracks are gone: {tracks:#}"
    );

    // The TAK peer got the picture as CoT: hostile drones, the warning to agent-1 as a chat
    // to that callsign, and the exercise's drones marked as an exercise.
    let mut splitter = dronewatch_cot::StreamSplitter::new(1 << 20);
    splitter.push(&cot.lock().unwrap());
    let events: Vec<dronewatch_cot::Event> = std::iter::from_fn(|| splitter.next_event())
        .map(|e| e.expect("the node sends CoT that reads"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e.cot_type == "a-h-A-M-H-Q" && e.how == "m-f"),
        "a hostile UAV on TAK"
    );
    assert!(
        events
            .iter()
            .any(|e| e.cot_type == "a-n-A-C-H" || e.cot_type == "a-n-A-C-F"),
        "the helicopter on TAK as a civil aircraft"
    );
    assert!(
        events.iter().any(|e| e.cot_type == "b-t-f"
            && e.uid.contains(".agent-1.")
            && e.detail.remarks().is_some_and(|r| r.contains("drone"))),
        "agent-1's warning as a chat"
    );
    assert!(
        events.iter().any(|e| e.opex.as_deref() == Some("e")
            && e.detail
                .contact
                .as_ref()
                .is_some_and(|c| c.callsign.starts_with("EXERCISE "))),
        "the exercise's drones marked on TAK"
    );
    assert!(
        events
            .iter()
            .filter(|e| e
                .detail
                .contact
                .as_ref()
                .is_some_and(|c| c.callsign.starts_with("EXERCISE ")))
            .all(|e| e.opex.as_deref() == Some("e")),
        "every exercise object marked"
    );

    // Ctrl-C stops everything cleanly.
    interrupt(&mut child);
    reader.join().unwrap();
    let banner = printed.lock().unwrap().join("\n");
    assert!(banner.contains(&format!("{base}/")), "{banner}");
    assert!(
        banner.contains("password    demo test admin password"),
        "{banner}"
    );
}

/// `dronewatch demo` on `port` with its data in `dir`, stdout piped.
fn spawn_demo(dir: &Path, port: u16, extra: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dronewatch"))
        .args(["demo", "--http", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("DRONEWATCH_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The admin's access token, once the demo answers (within 20 s of `started`).
async fn log_in(http: &reqwest::Client, base: &str, started: Instant) -> String {
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the demo did not come up"
        );
        if let Ok(r) = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": PASSWORD}))
            .send()
            .await
            && r.status().is_success()
        {
            return r.json::<Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ctrl-C: the demo must stop cleanly within 20 s.
fn interrupt(child: &mut std::process::Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stop = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            stop.elapsed() < Duration::from_secs(20),
            "the demo did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "the demo exited with {status}");
}

#[test]
fn with_a_broker_the_demo_plays_remote_id_over_mqtt() {
    let up = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], 1883)),
        Duration::from_secs(1),
    )
    .is_ok();
    if !up {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Mosquitto broker on 127.0.0.1:1883 is needed under CI"
        );
        eprintln!("SKIPPED: no MQTT broker on 127.0.0.1:1883");
        return;
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let started = Instant::now();
            let mut child = spawn_demo(dir.path(), port, &["--mqtt", "127.0.0.1:1883"]);
            let base = format!("http://127.0.0.1:{port}");
            dronewatch_server::install_crypto_provider();
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let token = log_in(&http, &base, started).await;
            // Serials come only from Remote ID, which now travels only over MQTT: the
            // sector's own drone and the spoofer are known by them.
            let wanted = ["USBP00SUAS000001", "1581F4QWB21SP00K"];
            loop {
                let tracks = http
                    .get(format!("{base}/api/v1/tracks"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                if wanted.iter().all(|s| tracks.contains(s)) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(45),
                    "no Remote ID tracks over MQTT: {tracks}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            eprintln!(
                "mqtt demo: Remote ID tracks after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            interrupt(&mut child);
        });
}
