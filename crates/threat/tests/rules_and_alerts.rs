//! Threat rules and the alert lifecycle on hand-made pictures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use dronewatch_geo::EnuFrame;
use dronewatch_model::{Lla, SensorId, TimeNs, Track, TrackId, TrackIdentity, TrackStatus};
use dronewatch_threat::{
    AlertAction, AlertBook, AlertChange, AlertConfig, AlertError, AlertState, AllowList, Rule,
    ThreatAssessor, ThreatConfig, ThreatLevel, WarningLevel, parse_zones,
};

const REF: Lla = Lla::new(51.2, -1.8, 100.0);

fn frame() -> EnuFrame {
    EnuFrame::new(REF)
}

/// 12:00 UTC on 2025-06-01: daylight in the sector (no night points).
fn noon(t_s: f64) -> TimeNs {
    TimeNs::from_secs_f64(1_748_779_200.0 + t_s)
}

fn track(id: u64, t: TimeNs, enu: [f64; 3], vel: [f64; 3]) -> Track {
    Track {
        id: TrackId(id),
        t,
        status: TrackStatus::Confirmed,
        position: frame().to_lla(&enu),
        enu_m: enu,
        vel_enu_mps: vel,
        cov_enu_m2: [0.0; 9],
        sensors: vec![SensorId::new("radar-1")],
        identity: TrackIdentity::default(),
        first_update: None,
        last_update: t,
        updates: 20,
    }
}

/// A border along n = 1000 m (west → east), a no-fly square at (2000..2200, 0..200), an
/// ignore square at (-3000..-2800, 0..200).
fn zones() -> Vec<dronewatch_threat::Zone> {
    let f = frame();
    let ll = |e: f64, n: f64| {
        let p = f.to_lla(&[e, n, 0.0]);
        format!("[{:.9}, {:.9}]", p.lon_deg, p.lat_deg)
    };
    let square = |e: f64, n: f64| {
        format!(
            "[[{}, {}, {}, {}, {}]]",
            ll(e, n),
            ll(e + 200.0, n),
            ll(e + 200.0, n + 200.0),
            ll(e, n + 200.0),
            ll(e, n)
        )
    };
    let text = format!(
        r#"{{"type": "FeatureCollection", "features": [
        {{"type": "Feature", "id": "border", "properties": {{"kind": "border"}},
          "geometry": {{"type": "LineString", "coordinates": [{}, {}]}}}},
        {{"type": "Feature", "id": "nfz", "properties": {{"kind": "no_fly", "name": "fuel depot"}},
          "geometry": {{"type": "Polygon", "coordinates": {}}}}},
        {{"type": "Feature", "id": "range", "properties": {{"kind": "ignore"}},
          "geometry": {{"type": "Polygon", "coordinates": {}}}}}
        ]}}"#,
        ll(-5000.0, 1000.0),
        ll(5000.0, 1000.0),
        square(2000.0, 0.0),
        square(-3000.0, 0.0)
    );
    parse_zones(&text, &f).unwrap()
}

/// The alert book for pictures of tracks already established: alerts open at first sight.
fn established() -> AlertConfig {
    AlertConfig {
        min_track_age_s: 0.0,
        ..AlertConfig::default()
    }
}

fn rules_of(a: &dronewatch_threat::Assessment) -> Vec<Rule> {
    a.reasons.iter().map(|r| r.rule).collect()
}

#[test]
fn each_rule_fires_with_its_numbers() {
    let mut assessor = ThreatAssessor::new(
        ThreatConfig::default(),
        REF,
        zones(),
        AllowList::new(["FRIEND-1"]),
    );
    let none = BTreeMap::new();
    // t = 0: a drone north of the border heading south; a swarm of three; a diver; a friend.
    let friend = Track {
        identity: TrackIdentity {
            remote_id_serial: Some("FRIEND-1".into()),
            ..TrackIdentity::default()
        },
        ..track(9, noon(0.0), [0.0, -500.0, 50.0], [0.0, 0.0, 0.0])
    };
    let picture = |t_s: f64| {
        let t = noon(t_s);
        vec![
            track(1, t, [0.0, 1010.0 - 10.0 * t_s, 60.0], [0.0, -10.0, 0.0]),
            track(2, t, [-1000.0, -1000.0, 50.0], [0.0, 0.0, 0.0]),
            track(3, t, [-1100.0, -1000.0, 50.0], [0.0, 0.0, 0.0]),
            track(4, t, [-1000.0, -1150.0, 50.0], [0.0, 0.0, 0.0]),
            track(5, t, [1000.0, -2000.0, 80.0], [0.0, 0.0, -8.0]),
            track(6, t, [2100.0, 100.0, 40.0], [0.0, 0.0, 0.0]),
            track(7, t, [-2900.0, 100.0, 40.0], [5.0, 0.0, 0.0]),
            track(8, t, [1950.0, -400.0, 40.0], [0.0, 10.0, 0.0]),
            Track {
                t,
                ..friend.clone()
            },
        ]
    };
    assessor.assess(noon(0.0), &picture(0.0), &none);
    let out = assessor.assess(noon(2.0), &picture(2.0), &none);
    let by: BTreeMap<u64, _> = out.iter().map(|a| (a.track_id.0, a)).collect();
    assert!(
        rules_of(by[&1]).contains(&Rule::CrossedBorder),
        "{:?}",
        by[&1]
    );
    for id in [2, 3, 4] {
        assert!(
            rules_of(by[&id]).contains(&Rule::Swarm),
            "{id}: {:?}",
            by[&id]
        );
    }
    assert!(rules_of(by[&5]).contains(&Rule::Dive));
    assert!(by[&5].reasons.iter().any(|r| r.detail.contains("8.0 m/s")));
    let inside = by[&6];
    assert!(rules_of(inside).contains(&Rule::InsideZone));
    assert!(
        inside
            .reasons
            .iter()
            .any(|r| r.detail.contains("fuel depot"))
    );
    assert!(
        rules_of(by[&8]).contains(&Rule::ClosingOnSite),
        "{:?}",
        by[&8]
    );
    // No Remote ID counts on all of them; the ignore zone and the friend are exempt.
    assert!(out.iter().all(|a| rules_of(a).contains(&Rule::NoRemoteId)));
    assert!(!by.contains_key(&7) && !by.contains_key(&9));
    // Every assessment says which sensors saw the drone; scores add up their reasons.
    for a in &out {
        assert_eq!(a.sensors, vec![SensorId::new("radar-1")]);
        let sum: f64 = a.reasons.iter().map(|r| r.points).sum();
        assert!((a.score - sum.min(100.0)).abs() < 1e-9);
    }
}

#[test]
fn a_cloned_serial_is_suspicious_and_night_adds_points() {
    let mut assessor =
        ThreatAssessor::new(ThreatConfig::default(), REF, vec![], AllowList::default());
    let midnight = TimeNs::from_secs_f64(1_748_736_000.0); // 2025-06-01 00:00 UTC
    let rid = |id, e| Track {
        identity: TrackIdentity {
            remote_id_serial: Some("1596F2848A2W8XS".into()),
            ..TrackIdentity::default()
        },
        ..track(id, midnight, [e, 0.0, 50.0], [0.0, 0.0, 0.0])
    };
    let out = assessor.assess(midnight, &[rid(1, 0.0), rid(2, 3000.0)], &BTreeMap::new());
    for a in &out {
        assert!(rules_of(a).contains(&Rule::DuplicatedSerial), "{a:?}");
        assert!(rules_of(a).contains(&Rule::Night), "{a:?}");
        assert!(!rules_of(a).contains(&Rule::NoRemoteId));
    }
}

#[test]
fn a_friendly_serial_on_two_tracks_at_once_exempts_neither() {
    let friend = "USBP00SUAS000001";
    let mut assessor = ThreatAssessor::new(
        ThreatConfig::default(),
        REF,
        vec![],
        AllowList::new([friend]),
    );
    let t = TimeNs::from_secs_f64(1_748_779_200.0);
    let rid = |id, e| Track {
        identity: TrackIdentity {
            remote_id_serial: Some(friend.into()),
            ..TrackIdentity::default()
        },
        ..track(id, t, [e, 0.0, 50.0], [0.0, 0.0, 0.0])
    };
    assert!(
        assessor
            .assess(t, &[rid(1, 0.0)], &BTreeMap::new())
            .is_empty()
    );
    let out = assessor.assess(t, &[rid(1, 0.0), rid(2, 3000.0)], &BTreeMap::new());
    assert_eq!(out.len(), 2, "a clone of the friend's serial: {out:?}");
    assert!(
        out.iter()
            .all(|a| rules_of(a).contains(&Rule::DuplicatedSerial))
    );
}

#[test]
fn a_remote_id_position_off_the_radar_track_of_the_same_course_is_a_spoof_suspicion() {
    let mut assessor =
        ThreatAssessor::new(ThreatConfig::default(), REF, vec![], AllowList::default());
    let noon = TimeNs::from_secs_f64(1_748_779_200.0); // 2025-06-01 12:00 UTC
    let broadcast = |t, dx| Track {
        identity: TrackIdentity {
            remote_id_serial: Some("1581F4QWB21SP00K".into()),
            ..TrackIdentity::default()
        },
        ..track(1, t, [450.0 + dx, 300.0, 100.0], [0.5, 12.0, 0.0])
    };
    let radar = |t| track(2, t, [0.0, 0.0, 100.0], [0.0, 12.2, 0.0]);
    // Another drone without Remote ID on a different course is no twin.
    let crossing = |t| track(3, t, [300.0, 200.0, 80.0], [12.0, 0.0, 0.0]);
    let mut last = Vec::new();
    let mut book = AlertBook::new(AlertConfig::default());
    for k in 0..8 {
        let t = noon.plus_secs(f64::from(k));
        let picture = [broadcast(t, 0.0), radar(t), crossing(t)];
        last = assessor.assess(t, &picture, &BTreeMap::new());
        book.update(t, &picture, &last);
        let flagged = last
            .iter()
            .filter(|a| rules_of(a).contains(&Rule::RemoteIdMismatch))
            .count();
        // It must hold for remote_id_mismatch_s (5 s) first.
        assert_eq!(flagged, if k >= 5 { 2 } else { 0 }, "at {k} s: {last:?}");
    }
    let of = |id: u64| last.iter().find(|a| a.track_id == TrackId(id)).unwrap();
    assert!(!rules_of(of(3)).contains(&Rule::RemoteIdMismatch));
    let why = &of(1)
        .reasons
        .iter()
        .find(|r| r.rule == Rule::RemoteIdMismatch)
        .unwrap()
        .detail;
    assert!(why.contains("541 m from track 2"), "{why}");
    assert!(of(1).level >= ThreatLevel::Medium, "{:?}", of(1));
    assert_eq!(
        (of(1).twin, of(2).twin),
        (Some(TrackId(2)), Some(TrackId(1)))
    );
    // The broadcast's track and the radar track are one drone: one alert, not two.
    let alerts: Vec<_> = book.alerts().collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");

    // Hovering drones all agree in velocity: never twins.
    let mut assessor =
        ThreatAssessor::new(ThreatConfig::default(), REF, vec![], AllowList::default());
    for k in 0..8 {
        let t = noon.plus_secs(f64::from(k));
        let still = |id, e| track(id, t, [e, 0.0, 50.0], [0.0; 3]);
        let mut rid = still(1, 500.0);
        rid.identity.remote_id_serial = Some("X".into());
        let out = assessor.assess(t, &[rid, still(2, 0.0)], &BTreeMap::new());
        assert!(
            out.iter()
                .all(|a| !rules_of(a).contains(&Rule::RemoteIdMismatch))
        );
    }
}

fn assess_one(level: WarningLevel, t: TimeNs, tr: &Track) -> dronewatch_threat::Assessment {
    let mut assessor =
        ThreatAssessor::new(ThreatConfig::default(), REF, vec![], AllowList::default());
    let levels = BTreeMap::from([(tr.id, (level, "agent-1".to_string()))]);
    assessor
        .assess(t, std::slice::from_ref(tr), &levels)
        .pop()
        .expect("assessed")
}

#[test]
fn one_alert_per_incident_across_a_track_break_with_an_audit_trail() {
    let mut book = AlertBook::new(established());
    let t0 = noon(0.0);
    let a = track(1, t0, [0.0, 500.0, 60.0], [0.0, -10.0, 0.0]);
    let ch = book.update(
        t0,
        std::slice::from_ref(&a),
        &[assess_one(WarningLevel::Warning, t0, &a)],
    );
    assert!(matches!(ch.as_slice(), [AlertChange::Opened(_)]), "{ch:?}");
    let id = book.alerts().next().unwrap().id;
    assert_eq!(book.get(id).unwrap().level, ThreatLevel::High);

    // The track breaks: gone at t = 5, a new track 60 m on at t = 8 is the same incident.
    assert_eq!(
        book.update(noon(5.0), &[], &[]),
        vec![AlertChange::Updated(id)]
    );
    assert!(book.get(id).unwrap().track_lost);
    let b = track(2, noon(8.0), [0.0, 440.0, 60.0], [0.0, -10.0, 0.0]);
    let ch = book.update(
        noon(8.0),
        std::slice::from_ref(&b),
        &[assess_one(WarningLevel::Warning, noon(8.0), &b)],
    );
    assert_eq!(ch, vec![AlertChange::Updated(id)]);
    assert_eq!(book.alerts().count(), 1);
    assert_eq!(
        book.get(id).unwrap().track_ids,
        vec![TrackId(1), TrackId(2)]
    );

    // Operators act; every action is kept with who and when; a closed alert takes no more.
    book.acknowledge(id, "watch-officer", noon(9.0), None)
        .unwrap();
    book.assign(
        id,
        "watch-officer",
        "agent-4",
        noon(10.0),
        Some("check the ridge".into()),
    )
    .unwrap();
    book.resolve(
        id,
        "agent-4",
        noon(60.0),
        Some("drone landed, seized".into()),
    )
    .unwrap();
    let alert = book.get(id).unwrap();
    assert_eq!(alert.state, AlertState::Resolved);
    assert_eq!(alert.assignee.as_deref(), Some("agent-4"));
    let actors: Vec<&str> = alert.history.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(
        actors,
        [
            "system",
            "system",
            "system",
            "watch-officer",
            "watch-officer",
            "agent-4"
        ]
    );
    assert!(matches!(alert.history[4].action, AlertAction::Assigned { ref to } if to == "agent-4"));
    assert_eq!(
        book.false_alarm(id, "x", noon(61.0), None),
        Err(AlertError::Closed(id, AlertState::Resolved))
    );
    assert_eq!(
        book.acknowledge(dronewatch_threat::AlertId(99), "x", noon(61.0), None),
        Err(AlertError::NotFound(dronewatch_threat::AlertId(99)))
    );
}

#[test]
fn a_new_track_opens_no_alert_below_critical_until_its_friend_broadcast_could_come() {
    // The sector's own drone is a radar track for a second before its first Remote ID
    // broadcast says it is a friend: a high threat on a new track waits 2 s.
    let mut book = AlertBook::new(AlertConfig::default());
    let tr = |id: u64, t_s: f64| track(id, noon(t_s), [0.0, 500.0, 60.0], [0.0, -10.0, 0.0]);
    for t_s in [0.0, 1.0] {
        let a = assess_one(WarningLevel::Warning, noon(t_s), &tr(1, t_s));
        assert!(a.level >= ThreatLevel::Medium);
        assert_eq!(book.update(noon(t_s), &[tr(1, t_s)], &[a]), vec![]);
    }
    let a = assess_one(WarningLevel::Warning, noon(2.0), &tr(1, 2.0));
    let ch = book.update(noon(2.0), &[tr(1, 2.0)], &[a]);
    assert!(matches!(ch.as_slice(), [AlertChange::Opened(_)]), "{ch:?}");
    // A critical threat does not wait.
    let mut book = AlertBook::new(AlertConfig::default());
    let a = assess_one(WarningLevel::Critical, noon(0.0), &tr(2, 0.0));
    assert_eq!(a.level, ThreatLevel::Critical);
    let ch = book.update(noon(0.0), &[tr(2, 0.0)], &[a]);
    assert!(matches!(ch.as_slice(), [AlertChange::Opened(_)]), "{ch:?}");
}

#[test]
fn a_new_track_beside_a_coasting_one_takes_its_alert_over() {
    // A drone leaves its hover over the post: the hover track coasts where it was, a new
    // track follows the drone. One incident, one alert, now on the new track.
    let mut book = AlertBook::new(established());
    let hover = |t_s: f64, status| Track {
        status,
        ..track(1, noon(t_s), [0.0, 50.0, 40.0], [0.0; 3])
    };
    let h0 = hover(0.0, TrackStatus::Confirmed);
    book.update(
        noon(0.0),
        std::slice::from_ref(&h0),
        &[assess_one(WarningLevel::Critical, noon(0.0), &h0)],
    );
    let id = book.alerts().next().unwrap().id;
    let h1 = hover(3.0, TrackStatus::Coasting);
    let leaving = track(2, noon(3.0), [0.0, 20.0, 40.0], [0.0, -16.0, 0.0]);
    let ch = book.update(
        noon(3.0),
        &[h1.clone(), leaving.clone()],
        &[
            assess_one(WarningLevel::Critical, noon(3.0), &h1),
            assess_one(WarningLevel::Critical, noon(3.0), &leaving),
        ],
    );
    assert_eq!(ch, vec![AlertChange::Updated(id)]);
    assert_eq!(book.alerts().count(), 1);
    assert_eq!(
        book.get(id).unwrap().track_ids,
        vec![TrackId(1), TrackId(2)]
    );
    assert_eq!(book.alert_for_track(TrackId(2)).map(|a| a.id), Some(id));
    // The coasting track opens nothing of its own while it coasts.
    let h2 = hover(4.0, TrackStatus::Coasting);
    let on = track(2, noon(4.0), [0.0, 4.0, 40.0], [0.0, -16.0, 0.0]);
    book.update(
        noon(4.0),
        &[h2.clone(), on.clone()],
        &[
            assess_one(WarningLevel::Critical, noon(4.0), &h2),
            assess_one(WarningLevel::Critical, noon(4.0), &on),
        ],
    );
    assert_eq!(book.alerts().count(), 1);
}

#[test]
fn levels_rise_at_once_fall_slowly_and_critical_escalates() {
    let mut book = AlertBook::new(established());
    let tr = |t_s: f64| track(1, noon(t_s), [0.0, 300.0, 60.0], [0.0, -10.0, 0.0]);
    let mut escalated_at = None;
    for k in 0..60 {
        let t_s = f64::from(k);
        // Critical, with the level dipping to warning every other second.
        let level = if k % 2 == 0 {
            WarningLevel::Critical
        } else {
            WarningLevel::Warning
        };
        let ch = book.update(
            noon(t_s),
            &[tr(t_s)],
            &[assess_one(level, noon(t_s), &tr(t_s))],
        );
        if ch.iter().any(|c| matches!(c, AlertChange::Escalated(_))) {
            escalated_at = Some(t_s);
        }
    }
    let alert = book.alerts().next().unwrap();
    // No flicker: once critical, it stayed critical.
    let lowered = alert
        .history
        .iter()
        .filter(|e| matches!(e.action, AlertAction::Lowered { .. }))
        .count();
    assert_eq!(lowered, 0, "{:?}", alert.history);
    assert_eq!(alert.level, ThreatLevel::Critical);
    // Not acknowledged for 30 s: escalated once.
    assert_eq!(escalated_at, Some(30.0));
    // A sustained drop is taken, after the hold.
    let mut book2 = book.clone();
    for k in 60..90 {
        let t_s = f64::from(k);
        book2.update(
            noon(t_s),
            &[tr(t_s)],
            &[assess_one(WarningLevel::Advisory, noon(t_s), &tr(t_s))],
        );
    }
    let alert = book2.alerts().next().unwrap();
    assert!(
        alert
            .history
            .iter()
            .any(|e| matches!(e.action, AlertAction::Lowered { .. }))
    );
    assert!(alert.level < ThreatLevel::Critical);
}

/// An assessment with no agent in the drone's path.
fn assess_quiet(t: TimeNs, tr: &Track) -> dronewatch_threat::Assessment {
    let mut assessor =
        ThreatAssessor::new(ThreatConfig::default(), REF, vec![], AllowList::default());
    assessor
        .assess(t, std::slice::from_ref(tr), &BTreeMap::new())
        .pop()
        .expect("assessed")
}

#[test]
fn a_closed_alert_silences_its_track_only_until_the_threat_grows_or_comes_back() {
    let tr = |t_s: f64| track(1, noon(t_s), [0.0, 500.0, 60.0], [0.0, -10.0, 0.0]);
    let at = |book: &mut AlertBook, t_s: f64, level: Option<WarningLevel>| {
        let a = match level {
            Some(l) => assess_one(l, noon(t_s), &tr(t_s)),
            None => assess_quiet(noon(t_s), &tr(t_s)),
        };
        book.update(noon(t_s), &[tr(t_s)], &[a])
    };
    assert!(assess_quiet(noon(0.0), &tr(0.0)).level < ThreatLevel::Medium);

    // Resolved at high: silent while it stays high; a new alert when it turns critical.
    let mut book = AlertBook::new(established());
    at(&mut book, 0.0, Some(WarningLevel::Warning));
    let first = book.alerts().next().unwrap().id;
    book.resolve(first, "officer", noon(1.0), None).unwrap();
    for k in 2..10 {
        assert_eq!(
            at(&mut book, f64::from(k), Some(WarningLevel::Warning)),
            vec![]
        );
    }
    let ch = at(&mut book, 10.0, Some(WarningLevel::Critical));
    let [AlertChange::Opened(second)] = ch[..] else {
        panic!("{ch:?}")
    };
    assert_ne!(second, first);
    assert_eq!(book.alert_for_track(TrackId(1)).unwrap().id, second);
    assert_eq!(book.get(first).unwrap().state, AlertState::Resolved);

    // Resolved, quiet for 15 s, then threatening again: the drone came back.
    let mut book = AlertBook::new(established());
    at(&mut book, 0.0, Some(WarningLevel::Warning));
    let first = book.alerts().next().unwrap().id;
    book.resolve(first, "officer", noon(1.0), None).unwrap();
    for k in 2..12 {
        at(&mut book, f64::from(k), None);
    }
    // Quiet for 10 s only: still the same incident.
    assert_eq!(at(&mut book, 12.0, Some(WarningLevel::Warning)), vec![]);
    for k in 13..30 {
        at(&mut book, f64::from(k), None);
    }
    let ch = at(&mut book, 30.0, Some(WarningLevel::Warning));
    assert!(
        matches!(ch[..], [AlertChange::Opened(id)] if id != first),
        "{ch:?}"
    );

    // A false alarm is not re-armed by a quiet spell, only by a greater threat.
    let mut book = AlertBook::new(established());
    at(&mut book, 0.0, Some(WarningLevel::Warning));
    let first = book.alerts().next().unwrap().id;
    book.false_alarm(first, "officer", noon(1.0), Some("a bird".into()))
        .unwrap();
    for k in 2..30 {
        at(&mut book, f64::from(k), None);
    }
    assert_eq!(at(&mut book, 30.0, Some(WarningLevel::Warning)), vec![]);
    assert!(matches!(
        at(&mut book, 31.0, Some(WarningLevel::Critical))[..],
        [AlertChange::Opened(_)]
    ));
}

#[test]
fn an_area_posture_lowers_the_thresholds_of_drones_inside_it_only() {
    let f = frame();
    let corner = |e: f64, n: f64| {
        let p = f.to_lla(&[e, n, 0.0]);
        [p.lon_deg, p.lat_deg]
    };
    let area = dronewatch_threat::PostureArea {
        ring_deg: vec![
            corner(-500.0, -500.0),
            corner(500.0, -500.0),
            corner(500.0, 500.0),
            corner(-500.0, 500.0),
            corner(-500.0, -500.0),
        ],
    };
    let mut a = ThreatAssessor::new(
        ThreatConfig::default(),
        REF,
        Vec::new(),
        AllowList::default(),
    );
    let raised = ThreatConfig {
        level_thresholds: [0.0, 0.0, 0.0, 1.0],
        ..ThreatConfig::default()
    };
    a.set_areas(vec![(area, raised)]);
    let t = noon(0.0);
    // The same drone twice: inside the area, and 3 km east of it.
    let inside = track(1, t, [0.0, 0.0, 60.0], [5.0, 0.0, 0.0]);
    let outside = track(2, t, [3000.0, 0.0, 60.0], [5.0, 0.0, 0.0]);
    let out = a.assess(t, &[inside, outside], &BTreeMap::new());
    let by_id = |id: u64| out.iter().find(|x| x.track_id == TrackId(id)).unwrap();
    assert_eq!(by_id(1).score, by_id(2).score);
    assert!(by_id(1).score >= 1.0, "{out:?}");
    assert_eq!(by_id(1).level, ThreatLevel::Critical);
    assert!(by_id(2).level < ThreatLevel::Critical, "{out:?}");
}

#[test]
fn sensors_classifications_and_rf_move_the_score_but_a_bird_never_goes_below_zero() {
    use dronewatch_model::RfEmission;
    // Six drones in one square would be a swarm: leave that rule out of the sums.
    let cfg = ThreatConfig {
        swarm_points: 0.0,
        ..ThreatConfig::default()
    };
    let mut assessor = ThreatAssessor::new(cfg, REF, zones(), AllowList::default());
    let t = noon(0.0);
    let classified = |id, class: Option<(&str, f64)>, rf_hz: Option<f64>| Track {
        identity: TrackIdentity {
            class: class.map(|(c, _)| c.into()),
            class_confidence: class.map(|(_, share)| share),
            rf_emission: rf_hz.map(|hz| RfEmission {
                centre_frequency_hz: hz,
                bandwidth_hz: None,
                amplitude: None,
            }),
            ..TrackIdentity::default()
        },
        // Inside the no-fly square: 40 points, plus 10 for no Remote ID.
        ..track(id, t, [2100.0, 100.0, 40.0], [0.0, 0.0, 0.0])
    };
    let picture = [
        classified(1, Some(("uav.multirotor", 0.9)), Some(2.44e9)),
        classified(2, None, Some(5.76e9)),
        classified(3, Some(("bird", 0.8)), None),
        // Not sure enough, or a link outside drone bands: no points either way.
        classified(4, Some(("bird", 0.5)), Some(100e6)),
        // A bird the RF sensor hears a drone link from is no bird.
        classified(5, Some(("bird.raptor", 0.9)), Some(2.41e9)),
        classified(6, Some(("uavx", 0.9)), None),
    ];
    let out = assessor.assess(t, &picture, &BTreeMap::new());
    let by: BTreeMap<u64, _> = out.iter().map(|a| (a.track_id.0, a)).collect();
    let reason = |id: u64| {
        by[&id]
            .reasons
            .iter()
            .find(|r| r.rule == Rule::Classification)
    };
    let r = reason(1).expect("a drone class");
    assert_eq!(r.points, 5.0);
    assert_eq!(
        r.detail,
        "classified uav.multirotor (90% of the evidence), a link at 2440 MHz (2.4 GHz drone band)"
    );
    assert_eq!(by[&1].score, 55.0);
    // A link alone scores nothing: Wi-Fi is in the same bands.
    assert_eq!(reason(2), None);
    assert_eq!(by[&2].score, 50.0);
    let bird = reason(3).expect("a bird");
    assert_eq!((bird.points, by[&3].score), (-15.0, 35.0));
    assert_eq!(reason(4), None);
    assert_eq!(by[&4].score, 50.0);
    assert_eq!(
        reason(5),
        None,
        "a bird that transmits a drone link is no bird"
    );
    assert_eq!(
        reason(6),
        None,
        "a label that only starts with uav is not one"
    );

    // A bird out in the open scores nothing rather than less than nothing.
    let open = Track {
        updates: 1,
        ..classified(7, Some(("bird", 1.0)), None)
    };
    let open = Track {
        enu_m: [-1000.0, -3000.0, 40.0],
        position: frame().to_lla(&[-1000.0, -3000.0, 40.0]),
        ..open
    };
    let out = assessor.assess(t, &[open], &BTreeMap::new());
    assert_eq!(out[0].score, 0.0);
    assert_eq!(out[0].level, ThreatLevel::None);
}
