//! The border-sector simulator: its script does what the demo relies on, its sensors see
//! what they should, and its files read back through the benchmark-format readers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_model::{Measurement, SensorKind, TimeNs};
use dronewatch_sim::scenario::read_agents;
use dronewatch_sim::sector::{BORDER_N_M, Role, Scene, SectorConfig, SectorRun, write_dir};
use dronewatch_sim::{DetectionReader, read_scenario_dir};

const EPOCH: TimeNs = TimeNs(1_780_336_800_000_000_000); // 2026-06-01T18:00:00Z

fn run(seed: u64, duration_s: f64) -> SectorRun {
    let cfg = SectorConfig {
        seed,
        duration_s,
        ..SectorConfig::default()
    };
    SectorRun::generate(cfg, Scene::border_sector(), EPOCH)
}

fn target(run: &SectorRun, name: &str) -> usize {
    run.scene
        .aircraft
        .iter()
        .position(|a| a.name == name)
        .unwrap()
}

#[test]
fn the_hostiles_of_the_first_minute_are_seen_and_cross_the_border() {
    let r = run(1, 90.0);
    for name in ["hostile-approach", "hostile-transit", "hostile-spoofed"] {
        let i = target(&r, name);
        let radar_hits = r
            .detections
            .iter()
            .filter(|d| d.target == Some(i) && d.t_s < 10.0)
            .filter(|d| d.observation.sensor_kind == SensorKind::Radar)
            .count();
        assert!(radar_hits >= 5, "{name}: {radar_hits} radar plots in 10 s");
        // From the hostile side (south) to ours within the first minute.
        let n = |t: f64| r.state_at(i, t).unwrap().enu_m[1];
        assert!(n(3.0) < BORDER_N_M && n(60.0) > BORDER_N_M, "{name}");
        assert_eq!(r.scene.aircraft[i].role, Role::Hostile);
    }
    // The approach ends up over the agent at the post.
    let i = target(&r, "hostile-approach");
    let post = r
        .agents
        .iter()
        .find(|a| a.agent == 0 && a.t_s == 70.0)
        .unwrap();
    let over = r.state_at(i, 70.0).unwrap().enu_m;
    let d = (over[0] - post.enu_m[0]).hypot(over[1] - post.enu_m[1]);
    assert!(d < 60.0, "{d}");
    assert!(
        r.encounters
            .iter()
            .any(|e| e.target == i && e.agent == 0 && e.cpa_m < 100.0)
    );
}

#[test]
fn the_spoofer_broadcasts_a_position_off_its_true_one_and_the_helicopter_only_ads_b() {
    let r = run(2, 60.0);
    let i = target(&r, "hostile-spoofed");
    let mut n = 0;
    for d in r.detections.iter().filter(|d| d.target == Some(i)) {
        if let Measurement::Position { position, .. } = d.observation.measurement {
            let claimed = r.frame.to_enu(&position);
            let truth = r.state_at(i, d.t_s).unwrap().enu_m;
            let off = (claimed[0] - truth[0]).hypot(claimed[1] - truth[1]);
            assert!((off - 540.8).abs() < 20.0, "offset {off}");
            assert_eq!(
                d.observation.identity.remote_id_serial.as_deref(),
                Some("1581F4QWB21SP00K")
            );
            n += 1;
        }
    }
    assert!(n >= 45, "{n} Remote ID messages in 60 s");
    let heli = target(&r, "manned-helicopter");
    assert!(r.adsb.len() >= 59, "{}", r.adsb.len());
    assert!(r.adsb.iter().all(|a| a.icao == 0xA3_C5E1));
    assert!(
        !r.detections
            .iter()
            .any(|d| d.target == Some(heli) && d.observation.sensor_kind == SensorKind::RemoteId)
    );
    // Clutter is there, and is nobody's.
    assert!(r.detections.iter().filter(|d| d.target.is_none()).count() > 100);
}

#[test]
fn the_same_seed_gives_the_same_scenario_and_another_seed_other_noise() {
    let (a, b, c) = (run(5, 30.0), run(5, 30.0), run(6, 30.0));
    assert_eq!(a.detections, b.detections);
    assert_ne!(a.detections, c.detections);
    assert_eq!(a.truth, c.truth, "the script does not depend on the seed");
}

#[test]
fn the_files_read_back_through_the_benchmark_readers() {
    let r = run(3, 40.0);
    let dir = tempfile::tempdir().unwrap();
    write_dir(&r, dir.path()).unwrap();
    let sc = read_scenario_dir(dir.path()).unwrap();
    assert_eq!(sc.meta.epoch, EPOCH);
    assert_eq!(sc.allow_list, vec!["USBP00SUAS000001".to_owned()]);
    assert_eq!(
        sc.sensors.len(),
        r.sensors.len() - 1,
        "ADS-B is not a format sensor type"
    );
    let reader =
        DetectionReader::open(&dir.path().join("detections.jsonl"), sc.meta.epoch).unwrap();
    let mut n = 0;
    for ((_, got), want) in reader.zip(&r.detections) {
        let got = got.unwrap();
        assert_eq!(got.sensor_id, want.observation.sensor_id);
        assert_eq!(got.sensor_kind, want.observation.sensor_kind);
        assert!(got.t.secs_since(want.observation.t).abs() < 1e-6);
        n += 1;
    }
    assert_eq!(n, r.detections.len());
    let zones: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("zones.geojson")).unwrap())
            .unwrap();
    assert_eq!(
        zones["features"].as_array().unwrap().len(),
        r.scene.zones.len()
    );
    let agents = read_agents(&dir.path().join("agents.jsonl"), EPOCH).unwrap();
    assert_eq!(agents.len(), 41 * r.scene.agents.len());
}

#[test]
fn a_rotated_sector_turns_the_border_with_it() {
    let cfg = SectorConfig {
        rotation_deg: 90.0,
        duration_s: 5.0,
        ..SectorConfig::default()
    };
    let r = SectorRun::generate(cfg, Scene::border_sector(), EPOCH);
    // Turned 90° clockwise, scene north is world east: the hostile side faces west.
    let i = target(&r, "hostile-transit");
    let s = r.state_at(i, 1.0).unwrap();
    assert!(
        s.vel_enu_mps[0] > 16.0 && s.vel_enu_mps[1].abs() < 1.0,
        "{s:?}"
    );
}
