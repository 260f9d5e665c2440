//! `dronewatch replay --warnings-out` on the benchmark's medium scenario with agents (seed 1,
//! 8 agents: the scenario of the shared WARNINGS-REFERENCE.md), scored by the shared
//! `score_warnings.py`, against the targets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{bench_dir, python, replay, require_numpy, run_ok};

#[test]
fn agents_are_warned_in_time_and_rarely_in_vain() {
    let Some(bench) = bench_dir() else { return };
    require_numpy();
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("medium-1-a8");
    run_ok(
        python()
            .arg(bench.join("gen_scenario.py"))
            .args(["--scale", "medium", "--seed", "1", "--agents", "8", "--out"])
            .arg(&scen),
    );
    let (tracks, warnings) = (scen.join("dw.tracks.jsonl"), scen.join("dw.warnings.jsonl"));
    run_ok(replay(&scen, &tracks).arg("--warnings-out").arg(&warnings));
    let score = scen.join("warnings.score.json");
    run_ok(
        python()
            .arg(bench.join("score_warnings.py"))
            .arg("--scenario")
            .arg(&scen)
            .arg("--tracks")
            .arg(&tracks)
            .arg("--warnings")
            .arg(&warnings)
            .arg("--json")
            .arg(&score),
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&score).unwrap()).unwrap();
    let s = &v["summary"];
    eprintln!("{s}");
    let num = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("no {k} in {s}"));
    // Every approach that could be warned 30 s ahead was (the reference: 15 of 16).
    assert!(num("eligible_events") >= 10.0, "{s}");
    assert_eq!(num("share_warned_30s"), 1.0, "{s}");
    // Never about a friendly drone, never twice for one incident, never a repeated level.
    assert_eq!(num("allow_listed_warnings"), 0.0, "{s}");
    assert_eq!(num("duplicate_warnings"), 0.0, "{s}");
    assert_eq!(num("repeated_lines"), 0.0, "{s}");
    // At most half the reference's false warnings (60 an hour).
    assert!(num("false_per_hour") <= 30.0, "{s}");
}
