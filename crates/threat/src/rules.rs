//! Threat rules: a score per track with its reasons. Each rule adds points when it fires
//! and says why with its numbers; weights and thresholds are configuration, so a sector
//! (or its posture level) can tune them.

use std::collections::BTreeMap;

use dronewatch_geo::EnuFrame;
use dronewatch_model::{Lla, SensorId, TimeNs, Track, TrackId};
use serde::{Deserialize, Serialize};

use crate::path::Path;
use crate::sun::sun_elevation_deg;
use crate::warner::{AllowList, WarningLevel};
use crate::zones::{Zone, ZoneKind};

/// Threat rule weights [points] and thresholds. A score is the sum of the points of the
/// rules that fire, capped at 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatConfig {
    /// Points for an agent warning at advisory / warning / critical.
    pub closing_on_agent_points: [f64; 3],
    /// Predicted path within `site_radius_m` of a protected zone within `site_horizon_s`.
    pub closing_on_site_points: f64,
    pub site_radius_m: f64,
    pub site_horizon_s: f64,
    /// Inside a protected or no-fly zone now.
    pub inside_zone_points: f64,
    /// Crossed the border from the hostile side (remembered for `border_memory_s`).
    pub crossed_border_points: f64,
    pub border_memory_s: f64,
    /// Slower than `loiter_speed_mps` for `loiter_min_s` within `loiter_radius_m` of a
    /// protected zone or an agent.
    pub loitering_points: f64,
    pub loiter_speed_mps: f64,
    pub loiter_min_s: f64,
    pub loiter_radius_m: f64,
    /// No Remote ID after `no_remote_id_after_updates` updates.
    pub no_remote_id_points: f64,
    pub no_remote_id_after_updates: u64,
    /// The same Remote ID serial on two tracks at once (spoofing or a cloned serial).
    pub duplicated_serial_points: f64,
    /// A Remote ID track and a track without Remote ID flying the same course
    /// `remote_id_mismatch_m` apart (min, max) for `remote_id_mismatch_s`: the broadcast
    /// position is not where radar and RF see the drone. Both tracks score this.
    pub remote_id_mismatch_points: f64,
    pub remote_id_mismatch_m: [f64; 2],
    /// Velocities agree within this [m/s] (each track faster than `..._min_speed_mps`,
    /// so hovering drones, which all "agree", never pair up).
    pub remote_id_mismatch_tolerance_mps: f64,
    pub remote_id_mismatch_min_speed_mps: f64,
    pub remote_id_mismatch_s: f64,
    /// At least `swarm_min_drones` drones (this one included) within `swarm_radius_m`.
    pub swarm_points: f64,
    pub swarm_min_drones: usize,
    pub swarm_radius_m: f64,
    /// Descending faster than `dive_speed_mps`.
    pub dive_points: f64,
    pub dive_speed_mps: f64,
    /// The sun below the horizon (−6°, civil twilight) where the drone is.
    pub night_points: f64,
    /// The sensors' classifications say drone (a class labelled `uav…` or `drone…` with at
    /// least `classified_min_share` of the evidence). A link an RF sensor heard in a drone
    /// band is named in the reason; alone it scores nothing (Wi-Fi shares those bands).
    pub classified_drone_points: f64,
    /// The sensors' classifications say one of `not_drone_classes` (at least
    /// `classified_min_share`) and no drone link was heard: usually negative, so a radar's
    /// birds do not crowd the alert queue. Personal warnings to agents ignore
    /// classifications: a drone taken for a bird still warns the agents in its path.
    pub classified_not_drone_points: f64,
    pub not_drone_classes: Vec<String>,
    pub classified_min_share: f64,
    /// Score thresholds for low / medium / high / critical.
    pub level_thresholds: [f64; 4],
}

impl Default for ThreatConfig {
    fn default() -> Self {
        Self {
            closing_on_agent_points: [25.0, 45.0, 70.0],
            closing_on_site_points: 30.0,
            site_radius_m: 150.0,
            site_horizon_s: 60.0,
            inside_zone_points: 40.0,
            crossed_border_points: 20.0,
            border_memory_s: 600.0,
            loitering_points: 20.0,
            loiter_speed_mps: 3.0,
            loiter_min_s: 20.0,
            loiter_radius_m: 300.0,
            no_remote_id_points: 10.0,
            no_remote_id_after_updates: 10,
            duplicated_serial_points: 25.0,
            remote_id_mismatch_points: 30.0,
            remote_id_mismatch_m: [150.0, 2000.0],
            remote_id_mismatch_tolerance_mps: 2.5,
            remote_id_mismatch_min_speed_mps: 4.0,
            remote_id_mismatch_s: 5.0,
            swarm_points: 15.0,
            swarm_min_drones: 3,
            swarm_radius_m: 300.0,
            dive_points: 20.0,
            dive_speed_mps: 5.0,
            night_points: 5.0,
            classified_drone_points: 5.0,
            classified_not_drone_points: -15.0,
            not_drone_classes: vec!["bird".into()],
            classified_min_share: 0.6,
            level_thresholds: [10.0, 25.0, 45.0, 70.0],
        }
    }
}

/// The rule that fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    ClosingOnAgent,
    ClosingOnSite,
    InsideZone,
    CrossedBorder,
    Loitering,
    NoRemoteId,
    DuplicatedSerial,
    RemoteIdMismatch,
    Swarm,
    Dive,
    Night,
    Classification,
}

/// One rule's contribution, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub rule: Rule,
    pub points: f64,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreatLevel {
    None,
    Low,
    Medium,
    High,
    Critical,
}

/// A track's threat at one time: score, level, reasons and the sensors that saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub track_id: TrackId,
    pub t: TimeNs,
    pub score: f64,
    pub level: ThreatLevel,
    pub reasons: Vec<Reason>,
    pub sensors: Vec<SensorId>,
    /// The other track of the same drone when the Remote ID mismatch rule fired: the
    /// broadcast's track and the one radar and RF see are one incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twin: Option<TrackId>,
}

#[derive(Debug, Clone, Default)]
struct Memory {
    last_en: Option<[f64; 2]>,
    crossed_border_at: Option<TimeNs>,
    slow_since: Option<TimeNs>,
    /// The track flying the same course at a distance (see `remote_id_mismatch_points`),
    /// and since when.
    twin: Option<(TrackId, TimeNs)>,
}

/// Scores tracks against zones, agent warnings and each other. Deterministic.
#[derive(Debug, Clone)]
pub struct ThreatAssessor {
    cfg: ThreatConfig,
    frame: EnuFrame,
    zones: Vec<Zone>,
    /// Axis-aligned bounds of each zone (min e, min n, max e, max n), to skip far zones.
    bounds: Vec<[f64; 4]>,
    allow: AllowList,
    memory: BTreeMap<TrackId, Memory>,
    /// Raised postures inside areas: the ring (east, north) and the level thresholds for
    /// drones inside it, lowest level first.
    areas: Vec<(Vec<[f64; 2]>, [f64; 4])>,
}

impl ThreatAssessor {
    /// `zones` must be in the ENU frame of `reference` (as [`crate::parse_zones`] makes them).
    pub fn new(cfg: ThreatConfig, reference: Lla, zones: Vec<Zone>, allow: AllowList) -> Self {
        let bounds = zones.iter().map(bounds_of).collect();
        Self {
            cfg,
            frame: EnuFrame::new(reference),
            zones,
            bounds,
            allow,
            memory: BTreeMap::new(),
            areas: Vec::new(),
        }
    }

    pub fn config(&self) -> &ThreatConfig {
        &self.cfg
    }

    /// A new configuration (the sector's posture changed), used from the next assessment.
    pub fn set_config(&mut self, cfg: ThreatConfig) {
        self.cfg = cfg;
    }

    /// Raised postures inside areas (`[lon, lat]` polygons), each with the rules'
    /// configuration for drones inside it, lowest level first; only its level thresholds
    /// differ from the sector's.
    pub fn set_areas(&mut self, areas: Vec<(crate::PostureArea, ThreatConfig)>) {
        self.areas = areas
            .into_iter()
            .map(|(a, cfg)| (a.ring_en_m(&self.frame), cfg.level_thresholds))
            .collect();
    }

    /// New zones (an operator edited them), in the frame of this assessor's reference.
    pub fn set_zones(&mut self, zones: Vec<Zone>) {
        self.bounds = zones.iter().map(bounds_of).collect();
        self.zones = zones;
    }

    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.allow = allow;
    }

    /// Scores every track at `t`. `agent_levels` is each track's highest current agent
    /// warning (from the [`crate::Warner`]) and the agent concerned. Exempt tracks
    /// (allow-listed, manned, or in an ignore zone) get no assessment.
    pub fn assess(
        &mut self,
        t: TimeNs,
        tracks: &[Track],
        agent_levels: &BTreeMap<TrackId, (WarningLevel, String)>,
    ) -> Vec<Assessment> {
        let positions: Vec<[f64; 3]> = tracks
            .iter()
            .map(|tr| self.frame.to_enu(&tr.position))
            .collect();
        self.pair_twins(t, tracks, &positions);
        let cfg = &self.cfg;
        let mut serial_count: BTreeMap<&str, usize> = BTreeMap::new();
        for tr in tracks {
            if let Some(s) = &tr.identity.remote_id_serial {
                *serial_count.entry(s.as_str()).or_default() += 1;
            }
        }
        // Drones that count towards a swarm (not friends, not manned), sorted west to east.
        let exempt = self.allow.exempt_in(tracks);
        let mut by_east: Vec<(f64, [f64; 3])> = positions
            .iter()
            .zip(&exempt)
            .filter(|(_, exempt)| !**exempt)
            .map(|(p, _)| (p[0], *p))
            .collect();
        by_east.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut out = Vec::new();
        for ((tr, enu), exempt) in tracks.iter().zip(&positions).zip(exempt) {
            let en = [enu[0], enu[1]];
            let memory = self.memory.entry(tr.id).or_default();
            let previous = memory.last_en.replace(en);
            if exempt
                || self
                    .zones
                    .iter()
                    .any(|z| z.kind == ZoneKind::Ignore && z.contains(en))
            {
                continue;
            }
            let mut reasons = Vec::new();
            let mut add = |rule, points: f64, detail: String| {
                if points != 0.0 {
                    reasons.push(Reason {
                        rule,
                        points,
                        detail,
                    });
                }
            };

            if let Some((level, agent)) = agent_levels.get(&tr.id) {
                let i = match level {
                    WarningLevel::AllClear => None,
                    WarningLevel::Advisory => Some(0),
                    WarningLevel::Warning => Some(1),
                    WarningLevel::Critical => Some(2),
                };
                if let Some(i) = i {
                    add(
                        Rule::ClosingOnAgent,
                        cfg.closing_on_agent_points[i],
                        format!("{} warning to {agent}", level.as_str()),
                    );
                }
            }

            // Zones: inside one now, heading into one, crossing the border.
            let path = Path::straight(*enu, tr.vel_enu_mps);
            let speed_mps = tr.vel_enu_mps[0].hypot(tr.vel_enu_mps[1]);
            let reach_m = speed_mps * cfg.site_horizon_s + cfg.site_radius_m;
            let mut near_protected = false;
            for (zone, b) in self.zones.iter().zip(&self.bounds) {
                if zone.kind == ZoneKind::Border {
                    if let Some(prev) = previous
                        && zone.crossing(prev, en) == Some(1)
                    {
                        memory.crossed_border_at = Some(t);
                    }
                    continue;
                }
                if !zone.kind.is_protected() || outside_bounds(b, en, reach_m) {
                    continue;
                }
                let d_now_m = zone.distance_m(en);
                if d_now_m == 0.0 {
                    add(
                        Rule::InsideZone,
                        cfg.inside_zone_points,
                        format!("inside {}", zone.name),
                    );
                    near_protected = true;
                    continue;
                }
                near_protected |= d_now_m <= cfg.loiter_radius_m;
                let step_s = 2.0;
                let entry = (1..=(cfg.site_horizon_s / step_s) as usize)
                    .map(|k| k as f64 * step_s)
                    .find(|&dt| {
                        let p = path.at(dt);
                        !outside_bounds(b, [p[0], p[1]], cfg.site_radius_m)
                            && zone.is_within_m([p[0], p[1]], cfg.site_radius_m)
                    });
                if let Some(dt_s) = entry {
                    add(
                        Rule::ClosingOnSite,
                        cfg.closing_on_site_points,
                        format!(
                            "within {:.0} m of {} in {dt_s:.0} s",
                            cfg.site_radius_m, zone.name
                        ),
                    );
                }
            }
            if let Some(at) = memory.crossed_border_at {
                if t.secs_since(at) <= cfg.border_memory_s {
                    add(
                        Rule::CrossedBorder,
                        cfg.crossed_border_points,
                        format!("crossed the border {:.0} s ago", t.secs_since(at)),
                    );
                } else {
                    memory.crossed_border_at = None;
                }
            }

            // Loitering near a site or an agent it is closing on.
            let near = near_protected || agent_levels.contains_key(&tr.id);
            if speed_mps < cfg.loiter_speed_mps && near {
                let since = *memory.slow_since.get_or_insert(t);
                let slow_s = t.secs_since(since);
                if slow_s >= cfg.loiter_min_s {
                    add(
                        Rule::Loitering,
                        cfg.loitering_points,
                        format!(
                            "{slow_s:.0} s below {:.0} m/s near a site or agent",
                            cfg.loiter_speed_mps
                        ),
                    );
                }
            } else {
                memory.slow_since = None;
            }

            match &tr.identity.remote_id_serial {
                None if tr.updates >= cfg.no_remote_id_after_updates => add(
                    Rule::NoRemoteId,
                    cfg.no_remote_id_points,
                    format!("no Remote ID after {} updates", tr.updates),
                ),
                Some(s) if serial_count.get(s.as_str()).copied().unwrap_or(0) > 1 => add(
                    Rule::DuplicatedSerial,
                    cfg.duplicated_serial_points,
                    format!("serial {s} on {} tracks at once", serial_count[s.as_str()]),
                ),
                _ => {}
            }

            let mut twin_now = None;
            if let Some((twin, since)) = memory.twin
                && t.secs_since(since) >= cfg.remote_id_mismatch_s
                && let Some(other) = tracks.iter().position(|o| o.id == twin)
            {
                twin_now = Some(twin);
                let d_m = (positions[other][0] - enu[0]).hypot(positions[other][1] - enu[1]);
                let detail = match (
                    &tr.identity.remote_id_serial,
                    &tracks[other].identity.remote_id_serial,
                ) {
                    (Some(s), _) => format!(
                        "Remote ID {s} reports a position {d_m:.0} m from track {twin}, \
                         which flies the same course without Remote ID (spoofed position?)"
                    ),
                    (None, Some(s)) => format!(
                        "flies the course Remote ID {s} reports, {d_m:.0} m from it \
                         (spoofed position?)"
                    ),
                    (None, None) => String::new(),
                };
                add(
                    Rule::RemoteIdMismatch,
                    cfg.remote_id_mismatch_points,
                    detail,
                );
            }

            let r = cfg.swarm_radius_m;
            let first = by_east.partition_point(|(e, _)| *e < enu[0] - r);
            let together = by_east[first..]
                .iter()
                .take_while(|(e, _)| *e <= enu[0] + r)
                .filter(|(_, p)| (p[0] - enu[0]).powi(2) + (p[1] - enu[1]).powi(2) <= r * r)
                .count();
            if together >= cfg.swarm_min_drones {
                add(
                    Rule::Swarm,
                    cfg.swarm_points,
                    format!("{together} drones within {:.0} m", cfg.swarm_radius_m),
                );
            }
            if -tr.vel_enu_mps[2] > cfg.dive_speed_mps {
                add(
                    Rule::Dive,
                    cfg.dive_points,
                    format!("descending at {:.1} m/s", -tr.vel_enu_mps[2]),
                );
            }
            let sun_deg = sun_elevation_deg(t, &tr.position);
            if sun_deg < -6.0 {
                add(
                    Rule::Night,
                    cfg.night_points,
                    format!("sun {sun_deg:.0}° below the horizon"),
                );
            }

            if let Some((points, detail)) = classification(cfg, tr) {
                add(Rule::Classification, points, detail);
            }

            let score = reasons
                .iter()
                .map(|r| r.points)
                .sum::<f64>()
                .clamp(0.0, 100.0);
            let thresholds = self
                .areas
                .iter()
                .rev()
                .find(|(ring, _)| crate::zones::ring_contains(ring, en))
                .map_or(&cfg.level_thresholds, |(_, th)| th);
            let level = level_of(thresholds, score);
            out.push(Assessment {
                track_id: tr.id,
                t,
                score,
                level,
                reasons,
                sensors: tr.sensors.clone(),
                twin: twin_now,
            });
        }
        let mut live: Vec<TrackId> = tracks.iter().map(|tr| tr.id).collect();
        live.sort_unstable();
        self.memory.retain(|id, _| live.binary_search(id).is_ok());
        out
    }
}

impl ThreatAssessor {
    /// Pairs each Remote ID track with a track without Remote ID on the same course at a
    /// distance, remembering since when (a pair must hold to count).
    fn pair_twins(&mut self, t: TimeNs, tracks: &[Track], positions: &[[f64; 3]]) {
        let cfg = &self.cfg;
        let fast = |tr: &Track| {
            tr.vel_enu_mps[0].hypot(tr.vel_enu_mps[1]) >= cfg.remote_id_mismatch_min_speed_mps
        };
        let [min_m, max_m] = cfg.remote_id_mismatch_m;
        // Candidates without Remote ID, sorted west to east.
        let mut silent: Vec<(f64, usize)> = tracks
            .iter()
            .enumerate()
            .filter(|(_, tr)| {
                tr.identity.remote_id_serial.is_none()
                    && tr.identity.icao_address.is_none()
                    && tr.updates >= cfg.no_remote_id_after_updates
                    && fast(tr)
            })
            .map(|(i, _)| (positions[i][0], i))
            .collect();
        silent.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut pairs: BTreeMap<TrackId, TrackId> = BTreeMap::new();
        for (i, tr) in tracks.iter().enumerate() {
            if tr.identity.remote_id_serial.is_none()
                || tr.identity.icao_address.is_some()
                || !fast(tr)
            {
                continue;
            }
            let p = positions[i];
            let first = silent.partition_point(|(e, _)| *e < p[0] - max_m);
            let best = silent[first..]
                .iter()
                .take_while(|(e, _)| *e <= p[0] + max_m)
                .filter_map(|&(_, j)| {
                    let q = positions[j];
                    let d_m = (q[0] - p[0]).hypot(q[1] - p[1]);
                    let dv = (tracks[j].vel_enu_mps[0] - tr.vel_enu_mps[0])
                        .hypot(tracks[j].vel_enu_mps[1] - tr.vel_enu_mps[1]);
                    ((min_m..=max_m).contains(&d_m) && dv <= cfg.remote_id_mismatch_tolerance_mps)
                        .then_some((dv, j))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((_, j)) = best {
                pairs.insert(tr.id, tracks[j].id);
                pairs.entry(tracks[j].id).or_insert(tr.id);
            }
        }
        for tr in tracks {
            let memory = self.memory.entry(tr.id).or_default();
            memory.twin = match (pairs.get(&tr.id), memory.twin) {
                (Some(&twin), Some((held, since))) if held == twin => Some((twin, since)),
                (Some(&twin), _) => Some((twin, t)),
                (None, _) => None,
            };
        }
    }
}

/// What the sensors' classifications and RF say the track is, as points and a reason.
fn classification(cfg: &ThreatConfig, tr: &Track) -> Option<(f64, String)> {
    let id = &tr.identity;
    let confident = id
        .class
        .as_deref()
        .zip(id.class_confidence)
        .filter(|(_, share)| *share >= cfg.classified_min_share);
    // Labels are dotted, general to specific: `uav.multirotor` is a `uav`.
    let is_a = |c: &str, general: &str| {
        c.strip_prefix(general)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    let is_drone_class = |c: &str| is_a(c, "uav") || is_a(c, "drone");
    let link = id
        .rf_emission
        .and_then(|rf| rf.drone_band().map(|band| (rf.centre_frequency_hz, band)));
    let link_text =
        |(hz, band): (f64, &str)| format!("a link at {:.0} MHz ({band} drone band)", hz / 1e6);
    match (confident, link) {
        (Some((c, share)), link) if is_drone_class(c) => {
            let heard = link
                .map(|l| format!(", {}", link_text(l)))
                .unwrap_or_default();
            let detail = format!(
                "classified {c} ({:.0}% of the evidence){heard}",
                share * 100.0
            );
            Some((cfg.classified_drone_points, detail))
        }
        // A link alone is weak evidence (Wi-Fi shares the 2.4 and 5.8 GHz bands): no
        // points, but a bird that transmits one is no bird.
        (_, Some(_)) => None,
        (Some((c, share)), None) if cfg.not_drone_classes.iter().any(|n| is_a(c, n)) => Some((
            cfg.classified_not_drone_points,
            format!("classified {c} ({:.0}% of the evidence)", share * 100.0),
        )),
        _ => None,
    }
}

fn level_of(thresholds: &[f64; 4], score: f64) -> ThreatLevel {
    const LEVELS: [ThreatLevel; 4] = [
        ThreatLevel::Low,
        ThreatLevel::Medium,
        ThreatLevel::High,
        ThreatLevel::Critical,
    ];
    thresholds
        .iter()
        .zip(LEVELS)
        .rev()
        .find(|(th, _)| score >= **th)
        .map_or(ThreatLevel::None, |(_, l)| l)
}

fn bounds_of(zone: &Zone) -> [f64; 4] {
    let rings = match &zone.shape {
        crate::zones::Shape::Area(r) | crate::zones::Shape::Line(r) => r,
    };
    rings.iter().flatten().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        },
    )
}

fn outside_bounds(b: &[f64; 4], p: [f64; 2], margin_m: f64) -> bool {
    p[0] < b[0] - margin_m
        || p[0] > b[2] + margin_m
        || p[1] < b[1] - margin_m
        || p[1] > b[3] + margin_m
}
