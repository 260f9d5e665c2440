//! `sapient-sensor` against the SAPIENT listener, end to end over TCP: every scenario
//! detection arrives as the same Observation the scenario reader makes of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::Duration;

use dronewatch_model::{HealthState, Measurement, Observation};
use dronewatch_sapient::session::{SensorIdScheme, SessionConfig};
use dronewatch_server::SourceEvent;
use dronewatch_server::sapient_sensor::{Pace, SensorClientConfig, run};
use dronewatch_server::sources::sapient::{SapientSource, SapientSourceConfig};
use dronewatch_sim::{DetectionReader, read_scenario_dir};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SENSORS: &str = r#"{"scenario": {"duration_s": 60, "report_period_s": 1.0,
  "epoch_utc": "2025-06-01T12:00:00Z", "ref_lla": [51.2, -1.8, 100.0]},
 "sensors": [
  {"id": "radar-1", "type": "radar", "lla": [51.2, -1.8, 110.0], "period_s": 1.0, "pd": 0.9},
  {"id": "rfdf-1", "type": "rf_df", "lla": [51.209532693, -1.784822168, 105.176], "period_s": 1.0},
  {"id": "acoustic-1", "type": "acoustic", "lla": [51.192727857, -1.808408101, 102.078]},
  {"id": "rid-1", "type": "remote_id", "lla": [51.2, -1.8, 105.0]},
  {"id": "agents", "type": "agent", "lla": null}
 ]}"#;

/// A deterministic mix of every detection type, one bad line, sorted by time.
fn detections() -> String {
    let mut s = String::new();
    let mut det_id = 0;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    for k in 0..300 {
        let t = k as f64 * 0.2;
        let line = match k % 5 {
            0 => format!(
                r#""sensor_id": "radar-1", "sensor_type": "radar", "sensor_lla": [51.2, -1.8, 110.0], "az_deg": {:.5}, "sigma_az_deg": 0.5, "el_deg": {:.5}, "sigma_el_deg": 1.0, "range_m": {:.3}, "sigma_range_m": 5.0"#,
                rnd() * 360.0,
                rnd() * 20.0,
                100.0 + rnd() * 5000.0
            ),
            1 => format!(
                r#""sensor_id": "rfdf-1", "sensor_type": "rf_df", "sensor_lla": [51.209532693, -1.784822168, 105.176], "az_deg": {:.5}, "sigma_az_deg": 2.0"#,
                rnd() * 360.0
            ),
            2 => format!(
                r#""sensor_id": "acoustic-1", "sensor_type": "acoustic", "sensor_lla": [51.192727857, -1.808408101, 102.078], "az_deg": {:.5}, "sigma_az_deg": 5.0, "el_deg": {:.5}, "sigma_el_deg": 5.0"#,
                rnd() * 360.0,
                rnd() * 60.0
            ),
            3 => format!(
                r#""sensor_id": "rid-1", "sensor_type": "remote_id", "sensor_lla": [51.2, -1.8, 105.0], "lat_deg": {:.9}, "lon_deg": {:.9}, "alt_m": {:.3}, "serial": "1596F2JTC4MF7EF", "sigma_h_m": 6.4, "sigma_v_m": 6.4"#,
                51.2 + (rnd() - 0.5) * 0.05,
                -1.8 + (rnd() - 0.5) * 0.05,
                150.0 + rnd() * 100.0
            ),
            _ => format!(
                // Agents move: a new position on every sighting.
                r#""sensor_id": "agent-{}", "sensor_type": "agent", "sensor_lla": [{:.9}, {:.9}, 101.0], "az_deg": {:.5}, "sigma_az_deg": 10.0, "dist_m": {:.3}, "sigma_dist_rel": 0.3"#,
                1 + k % 2,
                51.2 + rnd() * 0.01,
                -1.8 + rnd() * 0.01,
                rnd() * 360.0,
                10.0 + rnd() * 800.0
            ),
        };
        writeln!(s, r#"{{"det_id": {det_id}, "t": {t:.1}, {line}}}"#).unwrap();
        det_id += 1;
        if k == 150 {
            writeln!(
                s,
                r#"{{"det_id": {det_id}, "t": {t:.1}, "sensor_id": "radar-1"}}"#
            )
            .unwrap();
            det_id += 1;
        }
    }
    s
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn same_measurement(a: &Measurement, b: &Measurement) -> bool {
    use Measurement::*;
    match (a, b) {
        (
            Position {
                position: p,
                sigma_horizontal_m: h,
                sigma_vertical_m: v,
            },
            Position {
                position: q,
                sigma_horizontal_m: h2,
                sigma_vertical_m: v2,
            },
        ) => {
            close(p.lat_deg, q.lat_deg)
                && close(p.lon_deg, q.lon_deg)
                && close(p.h_m, q.h_m)
                && close(*h, *h2)
                && close(*v, *v2)
        }
        (
            BearingDistance {
                az_deg,
                dist_m,
                sigma_az_deg,
                sigma_dist_rel,
            },
            BearingDistance {
                az_deg: a2,
                dist_m: d2,
                sigma_az_deg: s2,
                sigma_dist_rel: r2,
            },
        ) => {
            close(*az_deg, *a2)
                && close(*dist_m, *d2)
                && close(*sigma_az_deg, *s2)
                && close(*sigma_dist_rel, *r2)
        }
        _ => a == b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sapient_sensor_replays_a_scenario_into_the_same_observations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sensors.json"), SENSORS).unwrap();
    std::fs::write(dir.path().join("detections.jsonl"), detections()).unwrap();
    let scenario = read_scenario_dir(dir.path()).unwrap();
    let expected: Vec<Observation> =
        DetectionReader::open(&dir.path().join("detections.jsonl"), scenario.meta.epoch)
            .unwrap()
            .filter_map(|(_, r)| r.ok())
            .collect();
    assert_eq!(expected.len(), 300);

    let source = SapientSource::bind(SapientSourceConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        session: SessionConfig {
            sensor_ids: SensorIdScheme::Name,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let addr = source.local_addr().unwrap();
    let registry = source.registry();
    let (tx, mut rx) = mpsc::channel(256);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(source.run(tx, shutdown.clone()));
    let collector = tokio::spawn(async move {
        let mut obs = Vec::new();
        let mut health = Vec::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                SourceEvent::Observation(o) => obs.push(o),
                SourceEvent::Health(h) => health.push(h),
                SourceEvent::Record(_) => {}
            }
        }
        (obs, health)
    });

    let stats = run(SensorClientConfig {
        server: addr,
        scenario_dir: dir.path().to_owned(),
        pace: Pace::AsFastAsPossible,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(stats.detections_sent, 300);
    assert_eq!(stats.lines_skipped, 1);
    assert_eq!(
        stats.nodes_registered,
        5 + 2,
        "5 listed sensors, 2 agents on first use"
    );
    assert_eq!(stats.errors_received, 0, "{:?}", stats.error_samples);
    assert_eq!(stats.registration_acks, 7);

    // The client said goodbye and closed; the server saw it all.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !registry.is_empty() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    server.await.unwrap();
    let (got, health) = collector.await.unwrap();

    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.t, e.t);
        assert_eq!(g.sensor_id, e.sensor_id);
        assert_eq!(g.sensor_kind, e.sensor_kind, "{}", e.sensor_id);
        assert_eq!(g.sensor_position, e.sensor_position, "{}", e.sensor_id);
        assert!(
            same_measurement(&g.measurement, &e.measurement),
            "{:?} vs {:?}",
            g.measurement,
            e.measurement
        );
        assert_eq!(g.identity.remote_id_serial, e.identity.remote_id_serial);
    }
    // Every node ends offline (GOODBYE).
    for sensor in [
        "radar-1",
        "rfdf-1",
        "acoustic-1",
        "rid-1",
        "agents",
        "agent-1",
        "agent-2",
    ] {
        let last = health
            .iter()
            .rev()
            .find(|h| h.sensor_id.as_str() == sensor)
            .unwrap();
        assert_eq!(last.state, HealthState::Offline, "{sensor}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sapient_sensor_paces_in_real_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sensors.json"), SENSORS).unwrap();
    // 2 s of scenario at 4× speed: at least half a second of wall time.
    let lines: String = detections()
        .lines()
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.path().join("detections.jsonl"), lines).unwrap();
    let source = SapientSource::bind(SapientSourceConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .await
    .unwrap();
    let addr = source.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(256);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(source.run(tx, shutdown.clone()));
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let started = std::time::Instant::now();
    let stats = run(SensorClientConfig {
        server: addr,
        scenario_dir: dir.path().to_owned(),
        pace: Pace::RealTime { speed: 4.0 },
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(stats.detections_sent, 11);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    shutdown.cancel();
    server.await.unwrap();
}

/// A full benchmark scenario, when one is given:
/// `SAPIENT_SCENARIO_DIR=<dir> cargo test -p dronewatch-server --release --test
/// sapient_sensor_e2e -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs SAPIENT_SCENARIO_DIR"]
async fn replay_the_scenario_in_sapient_scenario_dir() {
    let Some(dir) = std::env::var_os("SAPIENT_SCENARIO_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let scenario = read_scenario_dir(&dir).unwrap();
    let expected = DetectionReader::open(&dir.join("detections.jsonl"), scenario.meta.epoch)
        .unwrap()
        .filter(|(_, r)| r.is_ok())
        .count();
    let source = SapientSource::bind(SapientSourceConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        session: SessionConfig {
            sensor_ids: SensorIdScheme::Name,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap();
    let addr = source.local_addr().unwrap();
    let counters = source.counters();
    let (tx, mut rx) = mpsc::channel(8192);
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(source.run(tx, shutdown.clone()));
    let collector = tokio::spawn(async move {
        let mut n = 0usize;
        while let Some(ev) = rx.recv().await {
            n += usize::from(matches!(ev, SourceEvent::Observation(_)));
        }
        n
    });
    let stats = run(SensorClientConfig {
        server: addr,
        scenario_dir: dir,
        ..Default::default()
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    shutdown.cancel();
    server.await.unwrap();
    let got = collector.await.unwrap();
    println!("{stats:?}\n{:?}", counters.snapshot());
    println!(
        "{got} observations of {expected} detections; {:.0} detections/s end to end",
        stats.detections_sent as f64 / stats.elapsed_s
    );
    assert_eq!(got, expected);
    assert_eq!(stats.errors_received, 0, "{:?}", stats.error_samples);
}
