//! The warner on hand-made scenes: who is warned, when, at which level, and who never is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dronewatch_geo::EnuFrame;
use dronewatch_model::{
    AgentFix, AgentId, Lla, TimeNs, Track, TrackId, TrackIdentity, TrackStatus,
};
use dronewatch_threat::{
    AgentWarning, AllowList, PostureConfig, PostureLevel, Warner, WarnerConfig, WarningLevel,
};

const REF: Lla = Lla::new(31.33, -109.95, 1200.0);

fn track(frame: &EnuFrame, id: u64, t: TimeNs, enu: [f64; 3], vel: [f64; 3]) -> Track {
    Track {
        id: TrackId(id),
        t,
        status: TrackStatus::Confirmed,
        position: frame.to_lla(&enu),
        enu_m: enu,
        vel_enu_mps: vel,
        cov_enu_m2: [25.0, 0.0, 0.0, 0.0, 25.0, 0.0, 0.0, 0.0, 25.0],
        sensors: Vec::new(),
        identity: TrackIdentity::default(),
        first_update: None,
        last_update: t,
        updates: 20,
    }
}

fn secs(t_s: f64) -> TimeNs {
    TimeNs::from_secs_f64(t_s)
}

/// Flies each (id, start, velocity, identity) straight for `duration_s` past a post at the
/// origin; returns every warning issued, in order.
fn fly(
    allow: AllowList,
    drones: &[(u64, [f64; 3], [f64; 3], TrackIdentity)],
    duration_s: u32,
) -> Vec<AgentWarning> {
    fly_with(WarnerConfig::default(), allow, drones, duration_s)
}

fn fly_with(
    cfg: WarnerConfig,
    allow: AllowList,
    drones: &[(u64, [f64; 3], [f64; 3], TrackIdentity)],
    duration_s: u32,
) -> Vec<AgentWarning> {
    fly_switching(cfg, None, allow, drones, duration_s)
}

/// As [`fly_with`], with the configuration replaced at `switch.0` seconds (a posture
/// change).
fn fly_switching(
    cfg: WarnerConfig,
    mut switch: Option<(u32, WarnerConfig)>,
    allow: AllowList,
    drones: &[(u64, [f64; 3], [f64; 3], TrackIdentity)],
    duration_s: u32,
) -> Vec<AgentWarning> {
    let frame = EnuFrame::new(REF);
    let mut warner = Warner::new(cfg, REF, allow);
    let mut out = Vec::new();
    for k in 0..=duration_s {
        let t = secs(f64::from(k));
        if let Some((_, next)) = switch.take_if(|(at_s, _)| *at_s == k) {
            warner.set_config(next);
        }
        warner.observe_agent(&AgentFix {
            agent_id: AgentId::new("post-1"),
            t,
            position: frame.to_lla(&[0.0, 0.0, 1.7]),
        });
        let tracks: Vec<Track> = drones
            .iter()
            .map(|(id, p0, v, identity)| {
                let dt = f64::from(k);
                let enu = [p0[0] + v[0] * dt, p0[1] + v[1] * dt, p0[2] + v[2] * dt];
                Track {
                    identity: identity.clone(),
                    ..track(&frame, *id, t, enu, *v)
                }
            })
            .collect();
        out.extend(warner.assess(t, &tracks));
    }
    out
}

#[test]
fn an_approaching_drone_is_warned_early_and_escalates_without_repeats() {
    // 15 m/s from 1500 m north, straight at the post: closest approach at t = 100 s.
    let ws = fly(
        AllowList::default(),
        &[(
            1,
            [0.0, 1500.0, 60.0],
            [0.0, -15.0, 0.0],
            TrackIdentity::default(),
        )],
        110,
    );
    let levels: Vec<(f64, WarningLevel)> =
        ws.iter().map(|w| (w.t.as_secs_f64(), w.level)).collect();
    let first = ws.first().expect("warned");
    assert_eq!(first.level, WarningLevel::Advisory);
    assert!(first.t.as_secs_f64() <= 100.0 - 40.0, "{levels:?}");
    assert!(
        (first.t_cpa.as_secs_f64() - 100.0).abs() <= 1.0,
        "{:?}",
        first.t_cpa
    );
    assert!(first.cpa_m < 70.0);
    assert!((first.bearing_deg - 0.0).abs() < 1.0 || (first.bearing_deg - 360.0).abs() < 1.0);
    assert!(first.clock.is_none(), "a post has no heading");
    assert!((first.height_above_agent_m - 58.3).abs() < 1.0);
    // Each level once, rising; critical by 15 s out.
    let order: Vec<WarningLevel> = ws.iter().map(|w| w.level).collect();
    assert_eq!(
        &order[..3],
        &[
            WarningLevel::Advisory,
            WarningLevel::Warning,
            WarningLevel::Critical
        ],
        "{levels:?}"
    );
    let critical = ws
        .iter()
        .find(|w| w.level == WarningLevel::Critical)
        .unwrap();
    assert!(critical.t.as_secs_f64() <= 85.0, "{levels:?}");
    assert!(critical.advice.to_lowercase().contains("cover"));
}

#[test]
fn a_drone_passing_far_off_is_not_warned() {
    // Passes 400 m east of the post.
    let ws = fly(
        AllowList::default(),
        &[(
            1,
            [400.0, 1500.0, 60.0],
            [0.0, -15.0, 0.0],
            TrackIdentity::default(),
        )],
        200,
    );
    assert!(ws.is_empty(), "{ws:?}");
}

#[test]
fn a_raised_posture_warns_a_wider_pass_sooner_with_its_own_advice() {
    // Passes 250 m east: outside the usual 150 m radius, inside the high posture's 300 m.
    let drone = [(
        1,
        [250.0, 1500.0, 60.0],
        [0.0, -15.0, 0.0],
        TrackIdentity::default(),
    )];
    assert!(fly(AllowList::default(), &drone, 120).is_empty());
    let posture = PostureConfig::default();
    let high = posture.warner_config(&WarnerConfig::default(), PostureLevel::High);
    let ws = fly_with(high.clone(), AllowList::default(), &drone, 120);
    let first = ws.first().expect("warned at high posture");
    // 45 s + 20 s of extra lead before the closest approach at t = 100 s.
    assert!(first.t.as_secs_f64() <= 100.0 - 50.0, "{ws:?}");
    let warning = ws
        .iter()
        .find(|w| w.level == WarningLevel::Warning)
        .expect("a warning");
    assert_eq!(warning.advice, high.advice.warning);
    assert!(warning.t.as_secs_f64() <= 100.0 - 40.0, "{ws:?}");
}

#[test]
fn a_posture_change_reissues_warnings_in_force_with_the_new_advice_once() {
    // Straight at the post: an advisory at 47 s, a warning only at 61 s; closest at 100 s.
    let drone = [(
        1,
        [0.0, 1500.0, 60.0],
        [0.0, -15.0, 0.0],
        TrackIdentity::default(),
    )];
    let normal = WarnerConfig::default();
    // Only the advice changes, so the level holds across the switch.
    let high = WarnerConfig {
        advice: PostureConfig::default()
            .warner_config(&normal, PostureLevel::High)
            .advice,
        ..normal.clone()
    };
    assert_ne!(normal.advice, high.advice);
    let before = fly(AllowList::default(), &drone, 50);
    let last = before.last().expect("warned by t = 50 s");
    assert_eq!(last.advice, normal.advice.for_level(last.level));
    let ws = fly_switching(
        normal.clone(),
        Some((50, high.clone())),
        AllowList::default(),
        &drone,
        52,
    );
    let at_switch: Vec<&AgentWarning> = ws.iter().filter(|w| w.t == secs(50.0)).collect();
    assert_eq!(at_switch.len(), 1, "{ws:?}");
    assert_eq!(at_switch[0].level, last.level);
    assert_eq!(at_switch[0].advice, high.advice.for_level(last.level));
    // Not again at the next assessment (the level held).
    assert!(ws.iter().all(|w| w.t <= secs(50.0)), "{ws:?}");
    // The same advice again (a posture set twice) issues nothing.
    let same = fly_switching(
        normal.clone(),
        Some((50, normal.clone())),
        AllowList::default(),
        &drone,
        50,
    );
    assert_eq!(same, before);
}

#[test]
fn allow_listed_drones_and_manned_aircraft_are_never_warned() {
    let friendly = TrackIdentity {
        remote_id_serial: Some("1596F2848A2W8XS".into()),
        ..TrackIdentity::default()
    };
    let manned = TrackIdentity {
        icao_address: Some(0x3c6586),
        ..TrackIdentity::default()
    };
    let unlisted = TrackIdentity {
        remote_id_serial: Some("OTHER".into()),
        ..TrackIdentity::default()
    };
    let ws = fly(
        AllowList::new(["1596F2848A2W8XS"]),
        &[
            (1, [0.0, 1500.0, 60.0], [0.0, -15.0, 0.0], friendly),
            (2, [1500.0, 0.0, 90.0], [-15.0, 0.0, 0.0], manned),
            (3, [-1500.0, 0.0, 40.0], [15.0, 0.0, 0.0], unlisted),
        ],
        120,
    );
    assert!(!ws.is_empty());
    assert!(ws.iter().all(|w| w.track_id == TrackId(3)), "{ws:?}");
}

#[test]
fn an_orbiting_drone_is_judged_on_its_circle_not_its_tangent() {
    // Orbits 700 m north of the post on a 150 m radius at 15 m/s (5.7°/s); its tangent
    // points at the post every lap, its circle never comes within 550 m.
    let frame = EnuFrame::new(REF);
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::default());
    let (r, v) = (150.0, 15.0);
    let w = v / r;
    let mut ws = Vec::new();
    for k in 0..=300 {
        let t = secs(f64::from(k));
        let a = w * f64::from(k);
        warner.observe_agent(&AgentFix {
            agent_id: AgentId::new("post-1"),
            t,
            position: frame.to_lla(&[0.0, 0.0, 1.7]),
        });
        let enu = [r * a.cos(), 700.0 + r * a.sin(), 80.0];
        let vel = [-v * a.sin(), v * a.cos(), 0.0];
        ws.extend(warner.assess(t, &[track(&frame, 7, t, enu, vel)]));
    }
    assert!(ws.is_empty(), "{ws:?}");
}

#[test]
fn a_track_that_leaves_the_picture_ends_its_warning() {
    let frame = EnuFrame::new(REF);
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::default());
    let fix = |t| AgentFix {
        agent_id: AgentId::new("post-1"),
        t,
        position: frame.to_lla(&[0.0, 0.0, 1.7]),
    };
    let t0 = secs(0.0);
    warner.observe_agent(&fix(t0));
    let tr = track(&frame, 4, t0, [0.0, 50.0, 30.0], [0.0, -5.0, 0.0]);
    let ws = warner.assess(t0, std::slice::from_ref(&tr));
    assert_eq!(ws.len(), 1);
    assert_eq!(ws[0].level, WarningLevel::Critical);
    // Gone: an all clear, once.
    let ws = warner.assess(secs(1.0), &[]);
    assert_eq!(ws.len(), 1);
    assert_eq!(ws[0].level, WarningLevel::AllClear);
    assert!(warner.assess(secs(2.0), &[]).is_empty());
}

#[test]
fn a_patrol_sees_the_drone_on_its_clock() {
    // The agent walks east; a drone 300 m away at 150° (60° right of its way) heads for it.
    let frame = EnuFrame::new(REF);
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::default());
    let mut last = Vec::new();
    for k in 0..=5 {
        let t = secs(f64::from(k));
        let agent = [1.5 * f64::from(k), 0.0, 1.7];
        warner.observe_agent(&AgentFix {
            agent_id: AgentId::new("foot-1"),
            t,
            position: frame.to_lla(&agent),
        });
        // The drone shows up once the agent has been seen moving.
        let d = [agent[0] + 150.0, agent[1] - 259.8, 40.0];
        let tracks = if k >= 2 {
            vec![track(&frame, 9, t, d, [-7.0, 12.1, 0.0])]
        } else {
            vec![]
        };
        let ws = warner.assess(t, &tracks);
        if !ws.is_empty() {
            last = ws;
        }
    }
    let w = last.first().expect("warned");
    assert!((w.bearing_deg - 150.0).abs() < 2.0, "{}", w.bearing_deg);
    // Heading east (090), the drone at 150 is 60° to the right: 2 o'clock.
    assert_eq!(w.clock, Some(2));
}

#[test]
fn a_patrol_that_turned_round_before_is_warned_about_a_drone_behind_it() {
    // A vehicle patrols east-west at 10 m/s between e = 0 and e = 1000; after its first
    // turn it is a known patroller. A drone follows 400 m behind it, aimed at where it
    // will be after its next turn: straight-line prediction of the vehicle never meets it.
    let frame = EnuFrame::new(REF);
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::default());
    let agent_e = |t: f64| {
        let d = (10.0 * t).rem_euclid(2000.0);
        if d <= 1000.0 { d } else { 2000.0 - d }
    };
    let mut first = None;
    for k in 0..=150 {
        let t_s = f64::from(k);
        let t = secs(t_s);
        warner.observe_agent(&AgentFix {
            agent_id: AgentId::new("vehicle-1"),
            t,
            position: frame.to_lla(&[agent_e(t_s), 0.0, 1.7]),
        });
        // From t = 110 s (the vehicle heading west from its turn at e = 1000, t = 100 s), a
        // drone 400 m behind it, east, flying west at 9 m/s.
        let tracks = if k >= 110 {
            let e = 1400.0 - 100.0 - 9.0 * (t_s - 110.0);
            vec![track(&frame, 5, t, [e, 0.0, 50.0], [-9.0, 0.0, 0.0])]
        } else {
            vec![]
        };
        if let Some(w) = warner.assess(t, &tracks).into_iter().next() {
            first.get_or_insert(w);
        }
    }
    // The straight-line future says the vehicle runs away at 10 m/s from a 9 m/s drone;
    // the patrol future (turn round now) says they meet within seconds.
    let w = first.expect("warned");
    assert!(w.t.as_secs_f64() <= 112.0, "{w:?}");
}

#[test]
fn a_new_track_waits_for_its_first_remote_id_before_a_warning_below_critical() {
    // The sector's own drone, 270 m from the post and heading past it, is first seen by
    // radar alone; its Remote ID arrives a second later.
    let frame = EnuFrame::new(REF);
    let friend = "USBP00SUAS000001";
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::new([friend]));
    warner.observe_agent(&AgentFix {
        agent_id: AgentId::new("post-1"),
        t: secs(0.0),
        position: frame.to_lla(&[0.0, 0.0, 1.7]),
    });
    for k in 0..6 {
        let t = secs(f64::from(k));
        let mut tr = track(
            &frame,
            2,
            t,
            [270.0 - 8.0 * f64::from(k), 60.0, 100.0],
            [-8.0, 0.0, 0.0],
        );
        if k >= 1 {
            tr.identity.remote_id_serial = Some(friend.into());
        }
        assert!(
            warner.assess(t, &[tr]).is_empty(),
            "warned about the friend at {k} s"
        );
    }
    // The same track without Remote ID is warned once it is 2 s old, counted from its first
    // observation: a track fusion showed a second after first seeing the drone (the time
    // it takes to confirm) is warned a second sooner.
    let first_warning_s = |first_update_s: Option<f64>| {
        let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::new([friend]));
        warner.observe_agent(&AgentFix {
            agent_id: AgentId::new("post-1"),
            t: secs(0.0),
            position: frame.to_lla(&[0.0, 0.0, 1.7]),
        });
        (0..6)
            .find(|&k| {
                let t = secs(f64::from(k));
                let tr = Track {
                    first_update: first_update_s.map(secs),
                    ..track(
                        &frame,
                        2,
                        t,
                        [270.0 - 8.0 * f64::from(k), 60.0, 100.0],
                        [-8.0, 0.0, 0.0],
                    )
                };
                !warner.assess(t, &[tr]).is_empty()
            })
            .expect("warned")
    };
    assert_eq!(first_warning_s(None), 2);
    assert_eq!(first_warning_s(Some(0.0)), 2);
    assert_eq!(first_warning_s(Some(-1.0)), 1);
}

#[test]
fn an_area_posture_raises_the_warnings_of_the_agents_inside_it_only() {
    // Two posts 5 km apart; at each a drone passes 250 m east (outside the usual 150 m,
    // inside the high posture's 300 m). A high posture holds around post-1 only.
    let frame = EnuFrame::new(REF);
    let corner = |e: f64, n: f64| {
        let p = frame.to_lla(&[e, n, 0.0]);
        [p.lon_deg, p.lat_deg]
    };
    let area = dronewatch_threat::PostureArea {
        ring_deg: vec![
            corner(-1000.0, -1000.0),
            corner(1000.0, -1000.0),
            corner(1000.0, 1000.0),
            corner(-1000.0, 1000.0),
            corner(-1000.0, -1000.0),
        ],
    };
    let posture = PostureConfig::default();
    let high = posture.warner_config(&WarnerConfig::default(), PostureLevel::High);
    let mut warner = Warner::new(WarnerConfig::default(), REF, AllowList::default());
    warner.set_areas(vec![(area, high.clone())]);
    let mut out = Vec::new();
    for k in 0..=120u32 {
        let t = secs(f64::from(k));
        for (name, east_m) in [("post-1", 0.0), ("post-2", 5000.0)] {
            warner.observe_agent(&AgentFix {
                agent_id: AgentId::new(name),
                t,
                position: frame.to_lla(&[east_m, 0.0, 1.7]),
            });
        }
        let dt = f64::from(k);
        let tracks = [
            track(
                &frame,
                1,
                t,
                [250.0, 1500.0 - 15.0 * dt, 60.0],
                [0.0, -15.0, 0.0],
            ),
            track(
                &frame,
                2,
                t,
                [5250.0, 1500.0 - 15.0 * dt, 60.0],
                [0.0, -15.0, 0.0],
            ),
        ];
        out.extend(warner.assess(t, &tracks));
    }
    assert!(out.iter().all(|w| w.agent_id.0 == "post-1"), "{out:?}");
    let warning = out
        .iter()
        .find(|w| w.level == WarningLevel::Warning)
        .expect("post-1 warned under the high posture");
    assert_eq!(warning.track_id, TrackId(1));
    assert_eq!(warning.advice, high.advice.warning);
}
