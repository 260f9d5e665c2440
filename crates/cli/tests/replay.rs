//! `dronewatch replay` end to end, as a user runs it: on a scenario made by the shared
//! benchmark's generator, scored by its GOSPA scorer, and on hand-written broken input.

mod support;

use std::path::Path;

use support::{bench_dir, dronewatch, python, replay, require_numpy, run_ok};

fn gospa(bench: &Path, scenario: &Path, tracks: &Path) -> f64 {
    let json = scenario.join("score.json");
    run_ok(
        python()
            .arg(bench.join("score.py"))
            .arg("--scenario")
            .arg(scenario)
            .arg("--tracks")
            .arg(tracks)
            .arg("--json")
            .arg(&json),
    );
    let text = std::fs::read_to_string(&json).unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["gospa"]
        .as_f64()
        .unwrap_or_else(|| panic!("no gospa in {text}"))
}

#[test]
fn a_generated_scenario_is_tracked_far_better_than_raw_plots_and_reproducibly() {
    let Some(bench) = bench_dir() else { return };
    require_numpy();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scen = tmp.path().join("small-11");
    run_ok(
        python()
            .arg(bench.join("gen_scenario.py"))
            .args([
                "--scale",
                "small",
                "--seed",
                "11",
                "--duration",
                "150",
                "--out",
            ])
            .arg(&scen),
    );

    let tracks = scen.join("dw.tracks.jsonl");
    run_ok(&mut replay(&scen, &tracks));
    let again = scen.join("dw2.tracks.jsonl");
    run_ok(&mut replay(&scen, &again));
    let (a, b) = (std::fs::read(&tracks), std::fs::read(&again));
    assert!(
        matches!((&a, &b), (Ok(a), Ok(b)) if !a.is_empty() && a == b),
        "replays differ"
    );

    let raw = scen.join("raw.tracks.jsonl");
    run_ok(
        python()
            .arg(bench.join("baseline_raw.py"))
            .arg("--scenario")
            .arg(&scen)
            .arg("--out")
            .arg(&raw),
    );
    let (ours, baseline) = (gospa(&bench, &scen, &tracks), gospa(&bench, &scen, &raw));
    eprintln!("GOSPA dronewatch {ours:.1}, raw plots {baseline:.1}");
    // Raw plots score about 300 on small scenarios; Stone Soup 26-34 over 300 s (this run
    // is 150 s, so track start-up weighs more); dronewatch 33 here.
    assert!(
        ours < 0.12 * baseline,
        "GOSPA {ours:.1} vs raw {baseline:.1}"
    );
    assert!(ours < 40.0, "GOSPA {ours:.1}");
}

fn write_scenario(dir: &Path, detections: &str) {
    let sensors = r#"{"scenario": {"scale": "small", "seed": 1, "duration_s": 3, "tick_s": 0.1,
      "report_period_s": 1.0, "epoch_utc": "2025-06-01T12:00:00Z", "ref_lla": [51.2, -1.8, 100.0],
      "area_radius_m": 2500},
     "sensors": [{"id": "radar-1", "type": "radar", "enu": [0.0, 0.0, 10.0], "lla": [51.2, -1.8, 110.0],
      "period_s": 1.0, "phase_s": 0.0, "pd": 0.9, "coverage": {"range_m": [100.0, 5000.0], "az_deg": [0.0, 360.0], "el_deg": [-2.0, 60.0]},
      "sigma": {"range_m": 5.0, "az_deg": 0.5, "el_deg": 1.0},
      "clutter": {"rate_per_scan": 10, "range_m": [100.0, 5000.0], "az_deg": [0.0, 360.0], "el_deg": [-2.0, 15.0]}}]}"#;
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("sensors.json"), sensors).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("detections.jsonl"), detections).unwrap_or_else(|e| panic!("{e}"));
}

fn plot(det_id: u32, t: f64, range_m: &str) -> String {
    format!(
        r#"{{"det_id": {det_id}, "t": {t:.1}, "sensor_id": "radar-1", "sensor_type": "radar", "sensor_enu": [0.0, 0.0, 10.0], "sensor_lla": [51.2, -1.8, 110.0], "az_deg": 52.6, "sigma_az_deg": 0.5, "el_deg": 4.4, "sigma_el_deg": 1.0, "range_m": {range_m}, "sigma_range_m": 5.0}}"#
    )
}

#[test]
fn a_malformed_line_is_named_and_can_be_skipped() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scen = tmp.path().join("broken");
    let lines = [
        plot(0, 0.0, "1000.0"),
        plot(1, 1.0, "1005.0"),
        plot(2, 2.0, "\"far\""),
        plot(3, 3.0, "1010.0"),
        // Older than the reports already written: the tracker cannot use it any more.
        plot(4, 1.5, "1007.0"),
    ];
    write_scenario(&scen, &(lines.join("\n") + "\n"));
    let out = tmp.path().join("tracks.jsonl");

    let strict = replay(&scen, &out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(!strict.status.success());
    assert!(err.contains("line 3") && err.contains("range_m"), "{err}");
    // What was complete before the bad line is kept, and the message says how far it goes.
    assert!(err.contains("holds the reports up to t = 0 s"), "{err}");
    assert!(out.is_file());

    let lenient = replay(&scen, &out)
        .arg("--skip-bad-lines")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&lenient.stderr);
    assert!(lenient.status.success(), "{err}");
    assert!(
        err.contains("skipped line 3") && err.contains("skipped line 5"),
        "{err}"
    );
    assert!(
        err.contains("3 detections") && err.contains("2 bad lines skipped (1 rejected"),
        "{err}"
    );
}

#[test]
fn a_missing_scenario_is_a_clear_error() {
    let out = dronewatch()
        .args([
            "replay",
            "--scenario",
            "/nonexistent/scenario",
            "--out",
            "/tmp/never.jsonl",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("/nonexistent/scenario/sensors.json"),
        "{err}"
    );
}
