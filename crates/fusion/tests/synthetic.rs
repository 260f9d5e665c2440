//! End-to-end tracker tests on small synthetic scenes built here (no files, no Python):
//! radar with clutter, bearings only, Remote ID, sightings, determinism and reordering.

use dronewatch_fusion::{Tracker, TrackerConfig, TrackerStats};
use dronewatch_geo::EnuFrame;
use dronewatch_model::{
    Clutter, IdentityHints, Lla, Measurement, Observation, ObservationId, Sensor, SensorId,
    SensorKind, TimeNs, Track,
};

const ORIGIN: Lla = Lla::new(51.2, -1.8, 100.0);
const EPOCH: TimeNs = TimeNs(1_748_779_200_000_000_000);

#[path = "support/lcg.rs"]
mod lcg;
use lcg::Lcg;

/// A target flying straight and level: position at time `t_s`.
#[derive(Clone, Copy)]
struct Target {
    start: [f64; 3],
    vel: [f64; 2],
}

impl Target {
    fn at(&self, t_s: f64) -> [f64; 3] {
        [
            self.start[0] + self.vel[0] * t_s,
            self.start[1] + self.vel[1] * t_s,
            self.start[2],
        ]
    }
}

struct Scene {
    frame: EnuFrame,
    noise: Lcg,
    next_id: u64,
    observations: Vec<Observation>,
}

impl Scene {
    fn new(seed: u64) -> Self {
        Self {
            frame: EnuFrame::new(ORIGIN),
            noise: Lcg(seed),
            next_id: 0,
            observations: vec![],
        }
    }

    fn push(&mut self, t_s: f64, sensor: &str, kind: SensorKind, at: [f64; 3], m: Measurement) {
        self.push_with(t_s, sensor, kind, at, m, IdentityHints::default());
    }

    fn push_with(
        &mut self,
        t_s: f64,
        sensor: &str,
        kind: SensorKind,
        at: [f64; 3],
        measurement: Measurement,
        identity: IdentityHints,
    ) {
        self.observations.push(Observation {
            id: ObservationId(self.next_id),
            t: EPOCH.plus_secs(t_s),
            sensor_id: SensorId::new(sensor),
            sensor_kind: kind,
            sensor_position: Some(self.frame.to_lla(&at)),
            measurement,
            velocity: None,
            identity,
        });
        self.next_id += 1;
    }

    fn radar_scan(
        &mut self,
        t_s: f64,
        radar: (&str, [f64; 3]),
        targets: &[Target],
        clutter: usize,
    ) {
        let (name, radar) = radar;
        for target in targets {
            if self.noise.uniform() > 0.9 {
                continue; // Pd 0.9
            }
            let p = target.at(t_s);
            let d = [p[0] - radar[0], p[1] - radar[1], p[2] - radar[2]];
            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let az = d[0].atan2(d[1]).to_degrees().rem_euclid(360.0);
            let el = (d[2] / r).asin().to_degrees();
            let m = Measurement::RangeAzEl {
                range_m: r + 5.0 * self.noise.normal(),
                az_deg: (az + 0.5 * self.noise.normal()).rem_euclid(360.0),
                el_deg: el + 1.0 * self.noise.normal(),
                sigma_range_m: 5.0,
                sigma_az_deg: 0.5,
                sigma_el_deg: 1.0,
            };
            self.push(t_s, name, SensorKind::Radar, radar, m);
        }
        for _ in 0..clutter {
            let m = Measurement::RangeAzEl {
                range_m: 100.0 + 4900.0 * self.noise.uniform(),
                az_deg: 360.0 * self.noise.uniform(),
                el_deg: -2.0 + 17.0 * self.noise.uniform(),
                sigma_range_m: 5.0,
                sigma_az_deg: 0.5,
                sigma_el_deg: 1.0,
            };
            self.push(t_s, name, SensorKind::Radar, radar, m);
        }
    }

    fn bearing(&mut self, t_s: f64, sensor: &str, at: [f64; 3], target: [f64; 3], sigma: f64) {
        let az = (target[0] - at[0]).atan2(target[1] - at[1]).to_degrees();
        let m = Measurement::Bearing {
            az_deg: (az + sigma * self.noise.normal()).rem_euclid(360.0),
            sigma_az_deg: sigma,
        };
        self.push(t_s, sensor, SensorKind::RfDf, at, m);
    }
}

fn radar_sensor(clutter_per_scan: f64) -> Sensor {
    Sensor {
        id: SensorId::new("radar-1"),
        kind: SensorKind::Radar,
        position: Some(EnuFrame::new(ORIGIN).to_lla(&[0.0, 0.0, 10.0])),
        period_s: Some(1.0),
        pd: Some(0.9),
        coverage: None,
        clutter: Some(Clutter {
            rate_per_scan: clutter_per_scan,
            range_m: Some([100.0, 5000.0]),
            az_deg: Some([0.0, 360.0]),
            el_deg: Some([-2.0, 15.0]),
        }),
    }
}

/// Runs the tracker and returns the tracks at every whole second up to `until_s`, each
/// observation delivered at its own time (in time order, whatever order they were made in).
fn run(
    cfg: TrackerConfig,
    sensors: &[Sensor],
    observations: &[Observation],
    until_s: u32,
) -> Vec<(u32, Vec<Track>)> {
    let mut arrivals: Vec<_> = observations.iter().map(|o| (o.t, o.clone())).collect();
    arrivals.sort_by_key(|(t, o)| (*t, o.id));
    run_arrivals(cfg, sensors, &arrivals, until_s).0
}

/// Like [`run`], with each observation delivered at its arrival time (sorted by arrival):
/// as a live tracker does, everything that arrived by `t` + the reorder lag is delivered
/// before the tracks at `t` are read.
fn run_arrivals(
    cfg: TrackerConfig,
    sensors: &[Sensor],
    arrivals: &[(TimeNs, Observation)],
    until_s: u32,
) -> (Vec<(u32, Vec<Track>)>, TrackerStats) {
    let mut tracker = Tracker::new(cfg, ORIGIN, EPOCH, sensors);
    let mut out = Vec::new();
    let mut next = arrivals.iter().peekable();
    for k in 0..=until_s {
        let t = EPOCH.plus_secs(f64::from(k));
        let deliver_until = t.plus_secs(tracker.config().reorder_lag_s);
        while let Some((_, obs)) = next.next_if(|(arrival, _)| *arrival <= deliver_until) {
            tracker
                .ingest(obs.clone())
                .unwrap_or_else(|e| panic!("rejected: {e}"));
        }
        tracker.advance_to(t);
        out.push((k, tracker.tracks_at(t)));
    }
    (out, tracker.stats().clone())
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn three_targets() -> [Target; 3] {
    [
        Target {
            start: [-1500.0, 800.0, 120.0],
            vel: [12.0, -3.0],
        },
        Target {
            start: [1200.0, 1500.0, 60.0],
            vel: [-5.0, -10.0],
        },
        Target {
            start: [300.0, -1800.0, 90.0],
            vel: [0.0, 15.0],
        },
    ]
}

const RADAR_1: (&str, [f64; 3]) = ("radar-1", [0.0, 0.0, 10.0]);
const RADAR_2: (&str, [f64; 3]) = ("radar-2", [2000.0, -1600.0, 10.0]);

fn radar_scene(seed: u64, clutter: usize) -> Scene {
    let mut scene = Scene::new(seed);
    for k in 0..=120 {
        scene.radar_scan(f64::from(k), RADAR_1, &three_targets(), clutter);
    }
    scene
}

#[test]
fn radar_targets_in_clutter_become_one_accurate_track_each() {
    let scene = radar_scene(7, 10);
    let reports = run(
        TrackerConfig::default(),
        &[radar_sensor(10.0)],
        &scene.observations,
        120,
    );
    let mut ids = std::collections::BTreeSet::new();
    let mut errors = Vec::new();
    for (k, tracks) in &reports {
        if *k < 10 {
            continue;
        }
        assert_eq!(tracks.len(), 3, "at {k} s: {} tracks", tracks.len());
        for target in three_targets() {
            let truth = target.at(f64::from(*k));
            let best = tracks
                .iter()
                .map(|tr| (distance(tr.enu_m, truth), tr.id))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or((f64::INFINITY, dronewatch_model::TrackId(0)));
            errors.push(best.0);
            ids.insert(best.1);
        }
    }
    assert_eq!(ids.len(), 3, "one stable id per target: {ids:?}");
    // Each track says since when the radar has seen its drone: from the first scan, before
    // it was confirmed and shown.
    let Some((shown_s, first)) = reports
        .iter()
        .find_map(|(k, tracks)| tracks.first().map(|tr| (*k, tr.first_update)))
    else {
        panic!("no tracks")
    };
    assert!(shown_s >= 1, "shown at {shown_s} s");
    assert_eq!(first, Some(EPOCH), "first shown at {shown_s} s");
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    // Single plots are 17 m across the beam and 30 m in height at 2 km; a good filter does
    // several times better.
    assert!(mean < 10.0, "mean 3D error {mean:.1} m");
}

#[test]
fn the_same_observations_give_bit_identical_tracks() {
    let scene = radar_scene(11, 10);
    let a = run(
        TrackerConfig::default(),
        &[radar_sensor(10.0)],
        &scene.observations,
        60,
    );
    let b = run(
        TrackerConfig::default(),
        &[radar_sensor(10.0)],
        &scene.observations,
        60,
    );
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
}

#[test]
fn out_of_order_arrivals_within_the_lag_give_the_same_tracks() {
    // Two radars half a scan apart, so that delays mix their scans up.
    let mut scene = Scene::new(13);
    for k in 0..=60 {
        scene.radar_scan(f64::from(k), RADAR_1, &three_targets(), 10);
        scene.radar_scan(f64::from(k) + 0.5, RADAR_2, &three_targets(), 10);
    }
    let mut second = radar_sensor(10.0);
    second.id = SensorId::new("radar-2");
    let sensors = [radar_sensor(10.0), second];
    let sorted = run(TrackerConfig::default(), &sensors, &scene.observations, 60);

    // Deliver scans in a scrambled order: each observation is held back by up to 0.9 s of
    // "network delay", and the live tracker advances with its reorder lag.
    let mut delayed: Vec<(TimeNs, Observation)> = Vec::new();
    let mut noise = Lcg(99);
    for obs in &scene.observations {
        delayed.push((obs.t.plus_secs(0.9 * noise.uniform()), obs.clone()));
    }
    delayed.sort_by_key(|(arrival, obs)| (*arrival, obs.id));
    let cfg = TrackerConfig {
        reorder_lag_s: 1.0,
        ..TrackerConfig::default()
    };
    let (reordered, stats) = run_arrivals(cfg, &sensors, &delayed, 60);
    assert!(stats.reordered > 0, "the test must actually reorder");
    assert_eq!(format!("{sorted:?}"), format!("{reordered:?}"));
}

#[test]
fn an_observation_older_than_the_processed_time_is_rejected_not_lost_silently() {
    let scene = radar_scene(17, 0);
    let mut tracker = Tracker::new(
        TrackerConfig::default(),
        ORIGIN,
        EPOCH,
        &[radar_sensor(1.0)],
    );
    tracker.advance_to(EPOCH.plus_secs(5.0));
    let err = tracker.ingest(scene.observations[0].clone());
    assert!(err.is_err_and(|e| e.to_string().contains("reorder lag")));
    assert_eq!(tracker.stats().rejected_late, 1);
}

#[test]
fn bearings_from_three_direction_finders_start_and_hold_a_track() {
    let dfs = [
        ("rfdf-1", [-1500.0, -1000.0, 5.0]),
        ("rfdf-2", [1500.0, -1000.0, 5.0]),
        ("rfdf-3", [0.0, 1800.0, 5.0]),
    ];
    let target = Target {
        start: [-400.0, 200.0, 80.0],
        vel: [6.0, 2.0],
    };
    let mut scene = Scene::new(21);
    for k in 0..=90 {
        for (i, (id, at)) in dfs.iter().enumerate() {
            let t_s = f64::from(k) + 0.1 * i as f64;
            scene.bearing(t_s, id, *at, target.at(t_s), 2.0);
        }
    }
    let reports = run(TrackerConfig::default(), &[], &scene.observations, 90);
    let (_, last) = &reports[90];
    assert_eq!(last.len(), 1, "one track from bearings only: {last:?}");
    let truth = target.at(90.0);
    let horizontal = (last[0].enu_m[0] - truth[0]).hypot(last[0].enu_m[1] - truth[1]);
    assert!(
        horizontal < 60.0,
        "triangulated track {horizontal:.0} m off"
    );
    let first_confirmed = reports
        .iter()
        .find(|(_, tr)| !tr.is_empty())
        .map(|(k, _)| *k);
    assert!(
        first_confirmed.is_some_and(|k| k <= 10),
        "confirmed at {first_confirmed:?}"
    );
}

#[test]
fn remote_id_serials_keep_two_crossing_drones_apart() {
    // Two broadcasters cross at the same point and height; without the serial a tracker
    // may swap them.
    let a = Target {
        start: [-600.0, 0.0, 80.0],
        vel: [10.0, 0.0],
    };
    let b = Target {
        start: [0.0, -600.0, 80.0],
        vel: [0.0, 10.0],
    };
    let mut scene = Scene::new(5);
    for k in 0..=100 {
        for (i, (target, serial)) in [(a, "1596F000AAA"), (b, "1596F000BBB")].iter().enumerate() {
            let t_s = f64::from(k) + 0.3 * i as f64;
            let p = target.at(t_s);
            let noisy = [
                p[0] + 8.0 * scene.noise.normal(),
                p[1] + 8.0 * scene.noise.normal(),
                p[2],
            ];
            let frame = EnuFrame::new(ORIGIN);
            let m = Measurement::Position {
                position: frame.to_lla(&noisy),
                sigma_horizontal_m: 8.0,
                sigma_vertical_m: 8.0,
            };
            let ids = IdentityHints {
                remote_id_serial: Some((*serial).into()),
                ..Default::default()
            };
            scene.push_with(t_s, "rid-1", SensorKind::RemoteId, [0.0, 0.0, 5.0], m, ids);
        }
    }
    let reports = run(TrackerConfig::default(), &[], &scene.observations, 100);
    for (k, tracks) in reports.iter().filter(|(k, _)| *k >= 5) {
        assert_eq!(tracks.len(), 2, "at {k} s");
        for tr in tracks {
            let serial = tr.identity.remote_id_serial.as_deref().unwrap_or("");
            let truth = if serial.ends_with("AAA") { a } else { b }.at(f64::from(*k));
            assert!(distance(tr.enu_m, truth) < 25.0, "{serial} at {k} s");
        }
    }
}

#[test]
fn adsb_reports_make_a_manned_aircraft_track_keyed_by_its_icao_address() {
    // An airliner at 1,500 m, 70 m/s, reporting once a second, beside a Remote ID drone.
    let frame = EnuFrame::new(ORIGIN);
    let mut scene = Scene::new(7);
    for k in 0..=30 {
        let t_s = f64::from(k);
        let plane = [-2000.0 + 70.0 * t_s, 500.0, 1500.0];
        let m = Measurement::Position {
            position: frame.to_lla(&plane),
            sigma_horizontal_m: 10.0,
            sigma_vertical_m: 30.0,
        };
        let ids = IdentityHints {
            icao_address: Some(0x3c6586),
            ..Default::default()
        };
        scene.push_with(t_s, "adsb-1", SensorKind::Adsb, [0.0, 0.0, 5.0], m, ids);
        let drone = [300.0, -200.0 + 10.0 * t_s, 80.0];
        let m = Measurement::Position {
            position: frame.to_lla(&drone),
            sigma_horizontal_m: 8.0,
            sigma_vertical_m: 8.0,
        };
        let ids = IdentityHints {
            remote_id_serial: Some("1596F000CCC".into()),
            ..Default::default()
        };
        scene.push_with(
            t_s + 0.5,
            "rid-1",
            SensorKind::RemoteId,
            [0.0, 0.0, 5.0],
            m,
            ids,
        );
    }
    let reports = run(TrackerConfig::default(), &[], &scene.observations, 30);
    let (_, tracks) = &reports[30];
    assert_eq!(tracks.len(), 2, "{tracks:?}");
    let Some(plane) = tracks.iter().find(|t| t.identity.icao_address.is_some()) else {
        panic!("no aircraft track: {tracks:?}")
    };
    assert_eq!(plane.identity.icao_address, Some(0x3c6586));
    assert_eq!(plane.identity.remote_id_serial, None);
    let Some(drone) = tracks
        .iter()
        .find(|t| t.identity.remote_id_serial.is_some())
    else {
        panic!("no drone track: {tracks:?}")
    };
    assert_eq!(drone.identity.icao_address, None);
}

#[test]
fn a_sighting_updates_the_track_it_describes() {
    let mut scene = radar_scene(3, 0);
    // An agent 400 m south-west of target 0 at t = 30.5 reports it.
    let t_s = 30.5;
    let truth = three_targets()[0].at(t_s);
    let agent = [truth[0] - 300.0, truth[1] - 260.0, 1.7];
    let az = (truth[0] - agent[0])
        .atan2(truth[1] - agent[1])
        .to_degrees();
    let m = Measurement::BearingDistance {
        az_deg: az.rem_euclid(360.0),
        dist_m: 420.0,
        sigma_az_deg: 10.0,
        sigma_dist_rel: 0.3,
    };
    scene.push(t_s, "agent-3", SensorKind::Agent, agent, m);
    let reports = run(
        TrackerConfig::default(),
        &[radar_sensor(1.0)],
        &scene.observations,
        31,
    );
    let (_, tracks) = &reports[31];
    let updated: Vec<_> = tracks
        .iter()
        .filter(|tr| tr.sensors.iter().any(|s| s.as_str() == "agent-3"))
        .collect();
    assert_eq!(updated.len(), 1, "{tracks:?}");
    assert!(distance(updated[0].enu_m, three_targets()[0].at(31.0)) < 30.0);
}

/// Two drones fly at each other, meet, and both turn back: kinematics says they crossed. The radar's own tracker knew better and numbered them; its object ids are
/// returned with the plots. `with_ids`: whether the plots carry them. Returns, for each
/// drone, whether the track that held it before the meeting holds it at the end.
fn turn_back_at_the_meeting(with_ids: bool) -> [bool; 2] {
    let radar = [0.0, 0.0, 10.0];
    // South and north of the meeting point at (0, 1500), along the radar's line of sight,
    // 12 m apart across it; at 8 m/s they meet at 40 s, then turn back over 4 s.
    let at = |i: usize, t_s: f64| {
        let (y0, east) = if i == 0 {
            (1180.0, 0.0)
        } else {
            (1820.0, 12.0)
        };
        let toward = if i == 0 { 1.0 } else { -1.0 };
        // Distance flown toward the meeting point: 8 m/s until 38 s, braking at 4 m/s² to
        // 0 at 40 s, then the same back.
        let along = |t: f64| {
            if t <= 38.0 {
                8.0 * t
            } else {
                let dt = (t - 38.0).min(4.0);
                304.0 + 8.0 * dt - 2.0 * dt * dt - 8.0 * (t - 42.0).max(0.0)
            }
        };
        [east, y0 + toward * along(t_s), 100.0]
    };
    let mut scene = Scene::new(11);
    for k in 0..=80 {
        let t_s = f64::from(k);
        for i in 0..2 {
            let p = at(i, t_s);
            let d = [p[0] - radar[0], p[1] - radar[1], p[2] - radar[2]];
            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let m = Measurement::RangeAzEl {
                range_m: r + 3.0 * scene.noise.normal(),
                az_deg: (d[0].atan2(d[1]).to_degrees() + 0.5 * scene.noise.normal())
                    .rem_euclid(360.0),
                el_deg: (d[2] / r).asin().to_degrees() + 0.5 * scene.noise.normal(),
                sigma_range_m: 3.0,
                sigma_az_deg: 0.5,
                sigma_el_deg: 0.5,
            };
            let ids = IdentityHints {
                sensor_object_id: with_ids.then(|| format!("01JOBJECT{i}")),
                ..Default::default()
            };
            scene.push_with(t_s, "radar-1", SensorKind::Radar, radar, m, ids);
        }
    }
    let reports = run(
        TrackerConfig::default(),
        &[radar_sensor(0.0)],
        &scene.observations,
        80,
    );
    let nearest = |tracks: &[Track], i: usize, t_s: f64| {
        tracks
            .iter()
            .min_by(|a, b| distance(a.enu_m, at(i, t_s)).total_cmp(&distance(b.enu_m, at(i, t_s))))
            .filter(|tr| distance(tr.enu_m, at(i, t_s)) < 30.0)
            .map(|tr| tr.id)
    };
    let before = &reports[30].1;
    let after = &reports[80].1;
    [0, 1].map(|i| {
        let held = nearest(before, i, 30.0);
        held.is_some() && held == nearest(after, i, 80.0)
    })
}

#[test]
fn a_radars_object_ids_keep_two_drones_that_turn_back_apart() {
    assert_eq!(turn_back_at_the_meeting(true), [true, true]);
    // The test means something: on kinematics alone the tracks swap drones.
    assert_ne!(turn_back_at_the_meeting(false), [true, true]);
}

#[test]
fn a_track_keeps_the_sensors_classifications_and_rf_emission() {
    use dronewatch_model::{Classification, RfEmission};
    let mut scene = Scene::new(4);
    let target = three_targets()[0];
    let frame = EnuFrame::new(ORIGIN);
    for k in 0..=30 {
        let t_s = f64::from(k);
        let m = Measurement::Position {
            position: frame.to_lla(&target.at(t_s)),
            sigma_horizontal_m: 10.0,
            sigma_vertical_m: 10.0,
        };
        // A SAPIENT node that locates and listens: mostly "uav.multirotor", now and then
        // "bird"; the link it hears moves from 2.4 to 5.8 GHz.
        let class = if k % 4 == 0 { "bird" } else { "uav.multirotor" };
        let ids = IdentityHints {
            classification: Some(Classification {
                class: class.into(),
                confidence: 0.8,
            }),
            rf_emission: Some(RfEmission {
                centre_frequency_hz: if k < 20 { 2.44e9 } else { 5.76e9 },
                bandwidth_hz: Some(20e6),
                amplitude: Some(-60.0),
            }),
            ..Default::default()
        };
        scene.push_with(t_s, "sapient-1", SensorKind::Radar, [0.0, 0.0, 5.0], m, ids);
    }
    let reports = run(TrackerConfig::default(), &[], &scene.observations, 30);
    let (_, tracks) = &reports[30];
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    let identity = &tracks[0].identity;
    assert_eq!(identity.class.as_deref(), Some("uav.multirotor"));
    let Some(share) = identity.class_confidence else {
        panic!("no class share: {identity:?}")
    };
    assert!(share > 0.6 && share < 0.9, "{share}");
    let Some(rf) = identity.rf_emission else {
        panic!("no emission: {identity:?}")
    };
    assert_eq!(
        (rf.centre_frequency_hz, rf.drone_band()),
        (5.76e9, Some("5.8 GHz"))
    );
}

#[test]
fn the_link_an_rf_direction_finder_hears_goes_to_the_radar_track_it_points_at() {
    use dronewatch_model::RfEmission;
    // Radar holds three drones to a few metres; a direction finder hears target 0's link.
    let mut scene = radar_scene(8, 0);
    let df = [1500.0, -1000.0, 5.0];
    let target = three_targets()[0];
    for k in 0..=60 {
        let t_s = f64::from(k) + 0.5;
        let p = target.at(t_s);
        let az = (p[0] - df[0]).atan2(p[1] - df[1]).to_degrees();
        let m = Measurement::Bearing {
            az_deg: (az + 2.0 * scene.noise.normal()).rem_euclid(360.0),
            sigma_az_deg: 2.0,
        };
        let ids = IdentityHints {
            rf_emission: Some(RfEmission {
                centre_frequency_hz: 2.437e9,
                bandwidth_hz: Some(10e6),
                amplitude: None,
            }),
            ..Default::default()
        };
        scene.push_with(t_s, "rfdf-1", SensorKind::RfDf, df, m, ids);
    }
    let reports = run(
        TrackerConfig::default(),
        &[radar_sensor(0.0)],
        &scene.observations,
        60,
    );
    let (_, tracks) = &reports[60];
    assert_eq!(tracks.len(), 3, "{tracks:?}");
    for tr in tracks {
        let heard = tr.identity.rf_emission.map(|rf| rf.centre_frequency_hz);
        let is_target_0 = distance(tr.enu_m, target.at(60.0)) < 50.0;
        assert_eq!(
            heard.is_some(),
            is_target_0,
            "track {} at {:?}",
            tr.id,
            tr.enu_m
        );
    }
}
