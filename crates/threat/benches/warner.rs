//! One second of picture for a large sector: 500 drone tracks, 200 agents, zones with
//! 1,000 vertices in all: warnings, threat scores and the alert lifecycle.
//!
//!     cargo bench -p dronewatch-threat --bench warner

use criterion::{Criterion, criterion_group, criterion_main};
use dronewatch_geo::EnuFrame;
use dronewatch_model::{
    AgentFix, AgentId, Lla, TimeNs, Track, TrackId, TrackIdentity, TrackStatus,
};
use dronewatch_threat::{
    AlertBook, AlertConfig, AllowList, PostureConfig, PostureLevel, Shape, ThreatAssessor,
    ThreatConfig, Warner, WarnerConfig, Zone, ZoneKind,
};

/// A deterministic spread of values in [0, 1) (splitmix64; no RNG dependency for a bench).
fn unit(i: u64, salt: u64) -> f64 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn scene(frame: &EnuFrame, t: TimeNs) -> (Vec<Track>, Vec<AgentFix>) {
    let tracks = (0..500u64)
        .map(|i| {
            let enu = [
                (unit(i, 1) - 0.5) * 16_000.0,
                (unit(i, 2) - 0.5) * 16_000.0,
                30.0 + 100.0 * unit(i, 3),
            ];
            let heading = unit(i, 4) * std::f64::consts::TAU;
            Track {
                id: TrackId(i),
                t,
                status: TrackStatus::Confirmed,
                position: frame.to_lla(&enu),
                enu_m: enu,
                vel_enu_mps: [15.0 * heading.sin(), 15.0 * heading.cos(), 0.0],
                cov_enu_m2: [25.0, 0.0, 0.0, 0.0, 25.0, 0.0, 0.0, 0.0, 25.0],
                sensors: Vec::new(),
                identity: TrackIdentity::default(),
                first_update: None,
                last_update: t,
                updates: 10,
            }
        })
        .collect();
    let agents = (0..200u64)
        .map(|i| AgentFix {
            agent_id: AgentId::new(format!("agent-{i}")),
            t,
            position: frame.to_lla(&[
                (unit(i, 5) - 0.5) * 16_000.0,
                (unit(i, 6) - 0.5) * 16_000.0,
                1.7,
            ]),
        })
        .collect();
    (tracks, agents)
}

/// Scenes made beforehand (the benches time the threat code, not the scene), replayed in a
/// loop with times shifted so that the picture always moves forward.
struct Scenes {
    scenes: Vec<(TimeNs, Vec<Track>, Vec<AgentFix>)>,
    k: usize,
}

impl Scenes {
    fn new(frame: &EnuFrame) -> Self {
        let scenes = (1..=30)
            .map(|k| {
                let t = TimeNs(k * TimeNs::NS_PER_S);
                let (tracks, agents) = scene(frame, t);
                (t, tracks, agents)
            })
            .collect();
        Self { scenes, k: 0 }
    }

    /// The next second: feeds its agent fixes to the warner, returns its time and tracks.
    fn next(&mut self, warner: &mut Warner) -> (TimeNs, &[Track]) {
        let n = self.scenes.len();
        let (t, tracks, agents) = &self.scenes[self.k % n];
        self.k += 1;
        let t = TimeNs(t.0 + (self.k / n) as i64 * n as i64 * TimeNs::NS_PER_S);
        for a in agents {
            warner.observe_agent(&AgentFix { t, ..a.clone() });
        }
        (t, tracks)
    }
}

fn bench(c: &mut Criterion) {
    let reference = Lla::new(31.33, -109.95, 1200.0);
    let frame = EnuFrame::new(reference);
    let mut warner = Warner::new(WarnerConfig::default(), reference, AllowList::default());
    let mut scenes = Scenes::new(&frame);
    c.bench_function("assess_500_tracks_200_agents", |b| {
        b.iter(|| {
            let (t, tracks) = scenes.next(&mut warner);
            warner.assess(t, tracks)
        })
    });
}

/// 20 protected sites of 40 vertices and a border of 200: 1,000 vertices.
fn zones() -> Vec<Zone> {
    let mut zones: Vec<Zone> = (0..20u64)
        .map(|i| {
            let (ce, cn) = ((unit(i, 7) - 0.5) * 14_000.0, (unit(i, 8) - 0.5) * 14_000.0);
            let ring: Vec<[f64; 2]> = (0..=39)
                .map(|k| {
                    let a = f64::from(k % 39) / 39.0 * std::f64::consts::TAU;
                    [ce + 150.0 * a.cos(), cn + 150.0 * a.sin()]
                })
                .collect();
            Zone {
                id: format!("site-{i}"),
                name: format!("site-{i}"),
                kind: ZoneKind::ProtectedSite,
                shape: Shape::Area(vec![ring]),
            }
        })
        .collect();
    let border: Vec<[f64; 2]> = (0..200)
        .map(|k| {
            [
                -8_000.0 + 80.0 * f64::from(k),
                7_000.0 + 50.0 * (f64::from(k) * 0.3).sin(),
            ]
        })
        .collect();
    zones.push(Zone {
        id: "border".into(),
        name: "border".into(),
        kind: ZoneKind::Border,
        shape: Shape::Line(vec![border]),
    });
    zones
}

fn bench_picture(c: &mut Criterion) {
    picture_at(
        c,
        PostureLevel::Normal,
        "picture_500_tracks_200_agents_1000_zone_vertices",
    );
    // A high posture doubles the warning radius: four times the area to search per agent.
    picture_at(c, PostureLevel::High, "picture_at_high_posture");
}

fn picture_at(c: &mut Criterion, level: PostureLevel, name: &str) {
    let reference = Lla::new(31.33, -109.95, 1200.0);
    let frame = EnuFrame::new(reference);
    let zones = zones();
    assert_eq!(zones.iter().map(Zone::vertex_count).sum::<usize>(), 1_000);
    let posture = PostureConfig::default();
    let mut warner = Warner::new(
        posture.warner_config(&WarnerConfig::default(), level),
        reference,
        AllowList::default(),
    );
    let mut assessor = ThreatAssessor::new(
        posture.threat_config(&ThreatConfig::default(), level),
        reference,
        zones,
        AllowList::default(),
    );
    let mut book = AlertBook::new(AlertConfig::default());
    let mut scenes = Scenes::new(&frame);
    // The scene does real work: agents are warned and alerts open (said, and checked).
    let (mut warned, mut alerted) = (0, 0);
    for _ in 0..30 {
        let (t, tracks) = scenes.next(&mut warner);
        warned += warner.assess(t, tracks).len();
        let assessments = assessor.assess(t, tracks, &warner.agent_levels());
        alerted += book.update(t, tracks, &assessments).len();
    }
    println!("{name}: 30 s of picture, {warned} warnings, {alerted} alert changes");
    assert!(warned > 0 && alerted > 0, "the bench's scene warns no one");
    c.bench_function(name, |b| {
        b.iter(|| {
            let (t, tracks) = scenes.next(&mut warner);
            let warnings = warner.assess(t, tracks);
            let assessments = assessor.assess(t, tracks, &warner.agent_levels());
            let changes = book.update(t, tracks, &assessments);
            (warnings, changes)
        })
    });
}

criterion_group!(benches, bench, bench_picture);
criterion_main!(benches);
