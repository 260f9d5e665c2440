//! `dronewatch sapient-sensor` as an integrator runs it: against a SAPIENT fusion node
//! listening on loopback (dronewatch's own listener), every detection of the scenario
//! arrives as an Observation and the command reports what it sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use dronewatch_server::SourceEvent;
use dronewatch_server::sources::sapient::{SapientSource, SapientSourceConfig};
use support::dronewatch;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const SENSORS: &str = r#"{"scenario": {"duration_s": 10, "report_period_s": 1.0,
  "epoch_utc": "2025-06-01T12:00:00Z", "ref_lla": [51.2, -1.8, 100.0]},
 "sensors": [
  {"id": "radar-1", "type": "radar", "lla": [51.2, -1.8, 110.0], "period_s": 1.0, "pd": 0.9},
  {"id": "rfdf-1", "type": "rf_df", "lla": [51.21, -1.78, 105.0], "period_s": 1.0}
 ]}"#;

fn detections() -> String {
    (0..40)
        .map(|k| {
            let t = f64::from(k) * 0.25;
            if k % 2 == 0 {
                format!(
                    r#"{{"det_id": {k}, "t": {t:.2}, "sensor_id": "radar-1", "sensor_type": "radar", "sensor_lla": [51.2, -1.8, 110.0], "az_deg": {az:.1}, "sigma_az_deg": 0.5, "el_deg": 5.0, "sigma_el_deg": 1.0, "range_m": 2500.0, "sigma_range_m": 5.0}}"#,
                    az = f64::from(k) * 3.0
                )
            } else {
                format!(
                    r#"{{"det_id": {k}, "t": {t:.2}, "sensor_id": "rfdf-1", "sensor_type": "rf_df", "sensor_lla": [51.21, -1.78, 105.0], "az_deg": {az:.1}, "sigma_az_deg": 2.0}}"#,
                    az = 200.0 + f64::from(k)
                )
            }
        })
        .map(|l| l + "\n")
        .collect()
}

#[tokio::test]
async fn a_scenario_replayed_as_sapient_nodes_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sensors.json"), SENSORS).unwrap();
    std::fs::write(dir.path().join("detections.jsonl"), detections()).unwrap();

    let source = SapientSource::bind(SapientSourceConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..SapientSourceConfig::default()
    })
    .await
    .unwrap();
    let addr = source.local_addr().unwrap();
    let (tx, mut rx) = mpsc::channel(1024);
    let stop = CancellationToken::new();
    let server = tokio::spawn(source.run(tx, stop.clone()));

    let scenario = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        dronewatch()
            .args(["sapient-sensor", "--as-fast-as-possible", "--server"])
            .arg(addr.to_string())
            .arg("--scenario")
            .arg(&scenario)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["nodes_registered"], 2, "{stats}");
    assert_eq!(stats["registration_acks"], 2, "{stats}");
    assert_eq!(stats["detections_sent"], 40, "{stats}");
    assert_eq!(stats["errors_received"], 0, "{stats}");

    let mut observations = 0;
    while observations < 40 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(SourceEvent::Observation(_))) => observations += 1,
            Ok(Some(_)) => {}
            other => panic!("after {observations} observations: {other:?}"),
        }
    }
    stop.cancel();
    server.await.unwrap();
}
