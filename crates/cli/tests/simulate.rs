//! `dronewatch simulate --out DIR` writes a scenario the benchmark's own tools read: it is
//! replayed by `dronewatch replay` (tracks and warnings) and scored by the shared
//! `score.py` (GOSPA, completeness) and `score_warnings.py` (approaches warned in time, no
//! warning about the sector's own drone).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::{bench_dir, dronewatch, python, replay, require_numpy, run_ok};

fn score(
    bench: &Path,
    script: &str,
    scen: &Path,
    args: &[&Path],
    json: &Path,
) -> serde_json::Value {
    let mut cmd = python();
    cmd.arg(bench.join(script)).arg("--scenario").arg(scen);
    for (flag, path) in ["--tracks", "--warnings"].iter().zip(args) {
        cmd.arg(flag).arg(path);
    }
    run_ok(cmd.arg("--json").arg(json));
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn a_simulated_sector_is_tracked_and_its_agents_warned_as_the_benchmark_scores_them() {
    let Some(bench) = bench_dir() else { return };
    require_numpy();
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("sector");
    let said = run_ok(
        dronewatch()
            .args(["simulate", "--duration-s", "300", "--seed", "4", "--out"])
            .arg(&scen),
    );
    assert!(said.contains("10 aircraft, 4 agents"), "{said}");
    let (tracks, warnings) = (scen.join("tracks.jsonl"), scen.join("warnings.jsonl"));
    run_ok(replay(&scen, &tracks).arg("--warnings-out").arg(&warnings));

    let g = score(
        &bench,
        "score.py",
        &scen,
        &[&tracks],
        &scen.join("score.json"),
    );
    eprintln!("tracks: {g}");
    assert_eq!(g["targets_never_tracked"], 0, "{g}");
    assert!(g["completeness"].as_f64().unwrap() >= 0.9, "{g}");
    assert!(g["rmse_assigned_m"].as_f64().unwrap() <= 15.0, "{g}");

    let w = score(
        &bench,
        "score_warnings.py",
        &scen,
        &[&tracks, &warnings],
        &scen.join("warnings.score.json"),
    );
    let s = &w["summary"];
    eprintln!("warnings: {s}");
    // The approach on the post and the dive on the patrol, each warned 30 s ahead.
    assert!(s["eligible_events"].as_f64().unwrap() >= 2.0, "{s}");
    assert_eq!(s["share_warned_30s"].as_f64(), Some(1.0), "{s}");
    assert_eq!(s["allow_listed_warnings"].as_f64(), Some(0.0), "{s}");
    assert!(s["false_per_hour"].as_f64().unwrap() <= 30.0, "{s}");
}

#[test]
fn bad_sector_arguments_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["--rotation-deg", "NaN"][..], "--rotation-deg"),
        (&["--duration-s=0"][..], "--duration-s"),
        (&["--origin", "91,0"][..], "latitude must be in [-90, 90]"),
        (&["--origin", "31.3,x"][..], "--origin"),
    ] {
        let out = dronewatch()
            .arg("simulate")
            .args(args)
            .arg("--out")
            .arg(tmp.path().join("s"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(
        !tmp.path().join("s").exists(),
        "nothing written for a refused run"
    );
}
