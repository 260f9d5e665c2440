//! Personal warnings: for every agent, the drone tracks predicted to pass within
//! `radius_m` in the next `horizon_s`, with a level that says how soon.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use dronewatch_geo::{EnuFrame, wrap_deg_360, wrap_pi};
use dronewatch_model::{AgentFix, AgentId, Lla, TimeNs, Track, TrackId, TrackIdentity};
use serde::{Deserialize, Serialize};

use crate::config::WarnerConfig;
use crate::path::{Closest, Path, closest_approach, dist};
use crate::posture::PostureArea;
use crate::zones::ring_contains;

/// How urgent a warning is. `AllClear` ends an earlier warning about the same track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningLevel {
    AllClear,
    Advisory,
    Warning,
    Critical,
}

impl WarningLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningLevel::AllClear => "all_clear",
            WarningLevel::Advisory => "advisory",
            WarningLevel::Warning => "warning",
            WarningLevel::Critical => "critical",
        }
    }
}

/// One warning to one agent about one drone track, issued when its level changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentWarning {
    pub t: TimeNs,
    pub agent_id: AgentId,
    pub track_id: TrackId,
    pub level: WarningLevel,
    /// 3D distance from the agent to the drone now [m].
    pub range_m: f64,
    /// Compass bearing from the agent to the drone [deg].
    pub bearing_deg: f64,
    /// The drone's direction on the clock face, 12 = the agent's direction of travel; `None`
    /// when the agent is standing still (no heading to refer to).
    pub clock: Option<u8>,
    /// The drone's height above the agent [m].
    pub height_above_agent_m: f64,
    /// When the closest approach is predicted.
    pub t_cpa: TimeNs,
    /// Predicted 3D distance at the closest approach [m].
    pub cpa_m: f64,
    /// The sector procedure's advice for this level.
    pub advice: String,
}

/// Drones that must never raise a warning: Remote ID serials of friendly drones. Tracks
/// with an ICAO address are manned aircraft and never warned about either.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowList {
    remote_id_serials: BTreeSet<String>,
}

impl AllowList {
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(serials: I) -> Self {
        Self {
            remote_id_serials: serials.into_iter().map(Into::into).collect(),
        }
    }

    /// True when the track is a friendly drone or a manned aircraft.
    pub fn exempts(&self, identity: &TrackIdentity) -> bool {
        identity.icao_address.is_some()
            || identity
                .remote_id_serial
                .as_ref()
                .is_some_and(|s| self.remote_id_serials.contains(s))
    }

    /// [`exempts`](Self::exempts) for each track of one picture, except that a listed
    /// serial on two tracks at once exempts neither: one of them is a clone, and nothing
    /// says which.
    pub fn exempt_in<T: std::borrow::Borrow<Track>>(&self, tracks: &[T]) -> Vec<bool> {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for tr in tracks {
            if let Some(s) = tr.borrow().identity.remote_id_serial.as_deref() {
                *count.entry(s).or_default() += 1;
            }
        }
        tracks
            .iter()
            .map(|tr| {
                let id = &tr.borrow().identity;
                id.icao_address.is_some()
                    || id.remote_id_serial.as_deref().is_some_and(|s| {
                        self.remote_id_serials.contains(s) && count.get(s) == Some(&1)
                    })
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct AgentMotion {
    /// Index into `Warner::agent_ids`: pairs are keyed by it, not by the id string.
    index: u32,
    t: TimeNs,
    enu_m: [f64; 3],
    vel_enu_mps: [f64; 3],
    /// Where the agent turned round before (a patrol goes back and forth along a stretch).
    turn_points: Vec<[f64; 3]>,
}

/// Per (agent, track): when each level's condition last held, and what was last issued.
#[derive(Debug, Clone, Default)]
struct PairState {
    last_held: [Option<TimeNs>; 3],
    /// When the pair was last judged (within reach of each other).
    judged_at: Option<TimeNs>,
    /// Since when some level's condition has held at every assessment.
    held_since: Option<TimeNs>,
    issued: Option<WarningLevel>,
    /// The advice the issued warning carried: a posture that changes it (sector-wide, or an
    /// area the agent is in) has the warning issued again with the new advice.
    advice: String,
}

/// Issues [`AgentWarning`]s from tracks and agent fixes. Deterministic: iteration is in id
/// order and nothing depends on wall time.
#[derive(Debug, Clone)]
pub struct Warner {
    cfg: WarnerConfig,
    frame: EnuFrame,
    allow: AllowList,
    agents: BTreeMap<AgentId, AgentMotion>,
    /// Recent (time, horizontal velocity) of each track, for its turn rate.
    history: BTreeMap<TrackId, VecDeque<(TimeNs, [f64; 2])>>,
    /// Since when each live track has been seen (`first_seen`).
    first_seen: BTreeMap<TrackId, TimeNs>,
    agent_ids: Vec<AgentId>,
    pairs: BTreeMap<(u32, TrackId), PairState>,
    /// Raised postures that apply inside an area: the ring (east, north in `frame`) and the
    /// configuration for agents inside it, lowest level first.
    areas: Vec<(Vec<[f64; 2]>, WarnerConfig)>,
    // Scratch buffers, kept to avoid allocating per assessment.
    /// (index into the assessed tracks, extent within the horizon [m], sampled path).
    track_paths: Vec<(usize, f64, Vec<[f64; 3]>)>,
}

impl Warner {
    /// `reference` is any point near the sector: predictions run in its ENU frame.
    pub fn set_allow_list(&mut self, allow: AllowList) {
        self.allow = allow;
    }

    pub fn new(cfg: WarnerConfig, reference: Lla, allow: AllowList) -> Self {
        Self {
            cfg,
            frame: EnuFrame::new(reference),
            allow,
            agents: BTreeMap::new(),
            history: BTreeMap::new(),
            first_seen: BTreeMap::new(),
            agent_ids: Vec::new(),
            pairs: BTreeMap::new(),
            areas: Vec::new(),
            track_paths: Vec::new(),
        }
    }

    pub fn config(&self) -> &WarnerConfig {
        &self.cfg
    }

    /// A new configuration (the sector's posture changed). Warnings already issued keep
    /// their level until the next assessment judges them under the new one; if the advice
    /// changed, that assessment issues them again with the new advice, so an agent already
    /// warned is told the new procedure too.
    pub fn set_config(&mut self, cfg: WarnerConfig) {
        self.cfg = cfg;
    }

    /// Raised postures inside areas (a bulletin's polygon, `[lon, lat]` degrees), each with
    /// the configuration for agents inside it, lowest level first: an agent in several
    /// takes the last. Agents elsewhere keep the sector's configuration.
    pub fn set_areas(&mut self, areas: Vec<(PostureArea, WarnerConfig)>) {
        self.areas = areas
            .into_iter()
            .map(|(a, cfg)| (a.ring_en_m(&self.frame), cfg))
            .collect();
    }

    /// Each track's highest current warning and the agent it concerns (the first such
    /// agent in id order).
    pub fn agent_levels(&self) -> BTreeMap<TrackId, (WarningLevel, String)> {
        let mut out: BTreeMap<TrackId, (WarningLevel, String)> = BTreeMap::new();
        for (&(agent, track_id), pair) in &self.pairs {
            let Some(level) = pair.issued.filter(|l| *l != WarningLevel::AllClear) else {
                continue;
            };
            let Some(agent_id) = self.agent_ids.get(agent as usize) else {
                continue;
            };
            let entry = out.entry(track_id).or_insert((level, agent_id.0.clone()));
            if level > entry.0 {
                *entry = (level, agent_id.0.clone());
            }
        }
        out
    }

    /// Records where an agent is. The velocity comes from its previous fix (an agent's
    /// phone reports positions, not velocities); fixes older than the last are ignored.
    pub fn observe_agent(&mut self, fix: &AgentFix) {
        let enu_m = self.frame.to_enu(&fix.position);
        match self.agents.get_mut(&fix.agent_id) {
            Some(a) if fix.t <= a.t => {}
            Some(a) => {
                let dt_s = fix.t.secs_since(a.t);
                // A long silence says nothing about how the agent moves now.
                let vel: [f64; 3] = if dt_s <= 10.0 {
                    std::array::from_fn(|i| (enu_m[i] - a.enu_m[i]) / dt_s)
                } else {
                    [0.0; 3]
                };
                let moving = |v: &[f64; 3]| v[0].hypot(v[1]) > MIN_AGENT_SPEED_MPS;
                let dot = vel[0] * a.vel_enu_mps[0] + vel[1] * a.vel_enu_mps[1];
                if moving(&vel) && moving(&a.vel_enu_mps) && dot < 0.0 {
                    note_turn_point(&mut a.turn_points, a.enu_m);
                }
                a.vel_enu_mps = vel;
                a.t = fix.t;
                a.enu_m = enu_m;
            }
            None => {
                let index = self.agent_ids.len() as u32;
                self.agent_ids.push(fix.agent_id.clone());
                self.agents.insert(
                    fix.agent_id.clone(),
                    AgentMotion {
                        index,
                        t: fix.t,
                        enu_m,
                        vel_enu_mps: [0.0; 3],
                        turn_points: Vec::new(),
                    },
                );
            }
        }
    }

    /// Assesses the picture at `t` (tracks predicted to `t`) and returns the warnings whose
    /// level changed, in (agent, track) order. Tracks that left the picture end their
    /// warnings with `AllClear`.
    pub fn assess(&mut self, t: TimeNs, tracks: &[Track]) -> Vec<AgentWarning> {
        let cfg = self.cfg.clone();
        let cfg = &cfg;
        // Every configuration in force: the sector's first, then each raised area's. Paths
        // and reach are sized for the widest of them; each pair is judged under its agent's.
        let configs: Vec<WarnerConfig> = std::iter::once(cfg.clone())
            .chain(self.areas.iter().map(|(_, c)| c.clone()))
            .collect();
        let horizon_s = configs
            .iter()
            .map(|c| c.horizon_s)
            .fold(cfg.horizon_s, f64::max);
        let step_s = cfg.step_s.max(0.1);
        let mut tracks: Vec<&Track> = tracks.iter().collect();
        tracks.sort_by_key(|tr| tr.id);

        self.note_velocities(t, &tracks);
        // `tracks` is sorted by id.
        self.history
            .retain(|id, _| tracks.binary_search_by_key(id, |tr| tr.id).is_ok());
        self.first_seen
            .retain(|id, _| tracks.binary_search_by_key(id, |tr| tr.id).is_ok());
        for tr in &tracks {
            self.first_seen.entry(tr.id).or_insert(first_seen(tr, t));
        }

        // Predicted paths, once per track and once per agent.
        // Paths are sampled twice as far as the horizon, so that the closest approach of a
        // threat entering the radius near the horizon is still reported where it is.
        let horizon_steps = (horizon_s / step_s).floor() as usize;
        let mut spare: Vec<Vec<[f64; 3]>> =
            self.track_paths.drain(..).map(|(_, _, buf)| buf).collect();
        let exempt = self.allow.exempt_in(&tracks);
        let young: Vec<bool> = tracks
            .iter()
            .map(|tr| {
                self.first_seen
                    .get(&tr.id)
                    .is_some_and(|&since| t.secs_since(since) < cfg.min_track_age_s)
            })
            .collect();
        for (i, tr) in tracks.iter().enumerate() {
            if tr.updates < cfg.min_track_updates || exempt[i] {
                continue;
            }
            let path = Path {
                enu_m: self.frame.to_enu(&tr.position),
                vel_enu_mps: tr.vel_enu_mps,
                turn_rate_rad_s: if tr.updates >= cfg.min_updates_for_turn {
                    self.turn_rate_rad_s(tr.id)
                } else {
                    0.0
                },
            };
            let mut buf = spare.pop().unwrap_or_default();
            path.sample(step_s, 2.0 * horizon_s, &mut buf);
            self.track_paths.push((i, extent(&buf, horizon_steps), buf));
        }
        let mut agent_paths = Vec::with_capacity(self.agents.len());
        for (id, a) in &self.agents {
            let dt_s = t.secs_since(a.t).max(0.0);
            let now = Path::straight(a.enu_m, a.vel_enu_mps).at(dt_s);
            let mut buf = Vec::new();
            Path::straight(now, a.vel_enu_mps).sample(step_s, 2.0 * horizon_s, &mut buf);
            // A patrol may also turn round where it turned before: both futures are judged.
            let patrol = patrol_path(now, a, step_s, 2.0 * horizon_s);
            let reach = extent(&buf, horizon_steps).max(
                patrol
                    .as_ref()
                    .map_or(0.0, |(p, _)| extent(p.as_slice(), horizon_steps)),
            );
            // The last raised area the agent stands in (0: the sector's configuration).
            let area = self
                .areas
                .iter()
                .rposition(|(ring, _)| ring_contains(ring, [now[0], now[1]]))
                .map_or(0, |i| i + 1);
            agent_paths.push((id, a, reach, buf, patrol, area));
        }
        // Agents sorted west to east: each track looks only at the strip of agents it could
        // reach, not at all of them.
        agent_paths.sort_by(|a, b| east_m(&a.3).total_cmp(&east_m(&b.3)));
        let max_agent_extent_m = agent_paths.iter().map(|a| a.2).fold(0.0, f64::max);
        let max_agent_speed_mps = self
            .agents
            .values()
            .map(|a| a.vel_enu_mps[0].hypot(a.vel_enu_mps[1]))
            .fold(0.0, f64::max);
        let max_radius_m = configs
            .iter()
            .map(|c| {
                (c.radius_m + c.agent_path_share * max_agent_speed_mps * c.horizon_s).max(c.close_m)
            })
            .fold(0.0, f64::max);

        let mut out = Vec::new();
        for (i, track_extent_m, tpath) in &self.track_paths {
            let track_east_m = east_m(tpath);
            let strip_m = track_extent_m + max_agent_extent_m + max_radius_m;
            let first = agent_paths.partition_point(|a| east_m(&a.3) < track_east_m - strip_m);
            for (agent_id, agent, agent_extent_m, apath, patrol, area) in &agent_paths[first..] {
                if east_m(apath) > track_east_m + strip_m {
                    break;
                }
                let cfg = &configs[*area];
                let agent_speed_mps = agent.vel_enu_mps[0].hypot(agent.vel_enu_mps[1]);
                let radius_at =
                    |dt_s: f64| cfg.radius_m + cfg.agent_path_share * agent_speed_mps * dt_s;
                let tr = tracks[*i];
                let (Some(a0), Some(p0)) = (apath.first(), tpath.first()) else {
                    continue;
                };
                // Pairs that cannot meet within the horizon are skipped before the full
                // comparison: the paths are at most their sampled extent apart from their start.
                let reach_m =
                    agent_extent_m + track_extent_m + radius_at(cfg.horizon_s).max(cfg.close_m);
                let range_m = dist(a0, p0);
                if range_m > reach_m {
                    continue;
                }
                let Some(mut closest) = closest_approach(tpath, apath, step_s, radius_at) else {
                    continue;
                };
                if let Some(alt) = patrol
                    .as_ref()
                    .filter(|&&(_, speculative)| {
                        !speculative || follows(agent, a0, p0, &tr.vel_enu_mps)
                    })
                    .and_then(|(p, _)| closest_approach(tpath, p.as_slice(), step_s, radius_at))
                    && sooner(&alt, &closest)
                {
                    closest = alt;
                }
                let raw = raw_level(cfg, range_m, &closest);
                let key = (agent.index, tr.id);
                if raw.is_none() && !self.pairs.contains_key(&key) {
                    continue;
                }
                let pair = self.pairs.entry(key).or_default();
                pair.judged_at = Some(t);
                if let Some(level) = raw {
                    for slot in &mut pair.last_held[..level_index(level) + 1] {
                        *slot = Some(t);
                    }
                    pair.held_since.get_or_insert(t);
                } else {
                    pair.held_since = None;
                }
                let mut level = held_level(pair, t, cfg.hold_s);
                let confirmed = pair
                    .held_since
                    .is_some_and(|since| t.secs_since(since) >= cfg.advisory_confirm_s);
                if level == WarningLevel::Advisory && pair.issued.is_none() && !confirmed {
                    level = WarningLevel::AllClear;
                }
                // A new track may yet say it is a friend (its first Remote ID broadcast),
                // and its first velocity is a guess: only a drone already close is warned
                // before that.
                if young[*i] && pair.issued.is_none() && range_m > cfg.close_m {
                    level = WarningLevel::AllClear;
                }
                let issued = pair.issued.unwrap_or(WarningLevel::AllClear);
                let advice = cfg.advice.for_level(level);
                let advice_stale = level != WarningLevel::AllClear && pair.advice != advice;
                if issued == level && !advice_stale {
                    continue;
                }
                pair.issued = Some(level);
                pair.advice = advice.to_owned();
                out.push(self.warning(t, agent_id, agent, a0, p0, tr.id, level, closest, advice));
            }
        }
        // Pairs not judged this time (track gone, exempted, or out of reach) are over.
        out.sort_by(|a, b| (&a.agent_id, a.track_id).cmp(&(&b.agent_id, b.track_id)));
        let mut ended = Vec::new();
        self.pairs.retain(|&(agent, track_id), pair| {
            let stale = pair.judged_at != Some(t);
            if stale && pair.issued.is_some_and(|l| l != WarningLevel::AllClear) {
                ended.push((agent, track_id));
            }
            !stale
        });
        for (agent, track_id) in ended {
            if let Some(agent_id) = self.agent_ids.get(agent as usize) {
                out.push(AgentWarning {
                    t,
                    agent_id: agent_id.clone(),
                    track_id,
                    level: WarningLevel::AllClear,
                    range_m: f64::NAN,
                    bearing_deg: f64::NAN,
                    clock: None,
                    height_above_agent_m: f64::NAN,
                    t_cpa: t,
                    cpa_m: f64::NAN,
                    advice: String::new(),
                });
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn warning(
        &self,
        t: TimeNs,
        agent_id: &AgentId,
        agent: &AgentMotion,
        a0: &[f64; 3],
        p0: &[f64; 3],
        track_id: TrackId,
        level: WarningLevel,
        closest: Closest,
        advice: &str,
    ) -> AgentWarning {
        let (de, dn) = (p0[0] - a0[0], p0[1] - a0[1]);
        let bearing_deg = wrap_deg_360(de.atan2(dn).to_degrees());
        let [ve, vn, _] = agent.vel_enu_mps;
        let clock = (ve.hypot(vn) > 0.5).then(|| {
            let heading_deg = ve.atan2(vn).to_degrees();
            let rel = wrap_deg_360(bearing_deg - heading_deg);
            let hour = (rel / 30.0).round() as u8 % 12;
            if hour == 0 { 12 } else { hour }
        });
        AgentWarning {
            t,
            agent_id: agent_id.clone(),
            track_id,
            level,
            range_m: dist(a0, p0),
            bearing_deg,
            clock,
            height_above_agent_m: p0[2] - a0[2],
            t_cpa: t.plus_secs(closest.dt_s),
            cpa_m: closest.distance_m,
            advice: advice.to_string(),
        }
    }

    fn note_velocities(&mut self, t: TimeNs, tracks: &[&Track]) {
        let window_s = self.cfg.turn_window_s;
        for tr in tracks {
            let h = self.history.entry(tr.id).or_default();
            if h.back().is_some_and(|(last, _)| *last >= t) {
                continue;
            }
            h.push_back((t, [tr.vel_enu_mps[0], tr.vel_enu_mps[1]]));
            while h
                .front()
                .is_some_and(|(t0, _)| t.secs_since(*t0) > window_s)
            {
                h.pop_front();
            }
        }
    }

    /// The track's turn rate from the change of its heading over the window; zero when it
    /// is slow (heading undefined), barely turning, or has too short a history.
    fn turn_rate_rad_s(&self, id: TrackId) -> f64 {
        const MIN_SPEED_MPS: f64 = 3.0;
        let Some(h) = self.history.get(&id) else {
            return 0.0;
        };
        let (Some((t0, v0)), Some((t1, v1))) = (h.front(), h.back()) else {
            return 0.0;
        };
        let dt_s = t1.secs_since(*t0);
        if dt_s < 0.75 * self.cfg.turn_window_s
            || h.iter().any(|(_, v)| v[0].hypot(v[1]) < MIN_SPEED_MPS)
        {
            return 0.0;
        }
        let heading = |v: &[f64; 2]| v[1].atan2(v[0]);
        let w = wrap_pi(heading(v1) - heading(v0)) / dt_s;
        let (min, max) = (
            self.cfg.min_turn_rate_deg_s.to_radians(),
            self.cfg.max_turn_rate_deg_s.to_radians(),
        );
        // A real turn turns one way all through the window at a steady rate; a heading
        // that swings (a new track's velocity settling, noise) is not a turn.
        let steady = h.iter().zip(h.iter().skip(1)).all(|((ta, va), (tb, vb))| {
            let step_s = tb.secs_since(*ta);
            let wi = wrap_pi(heading(vb) - heading(va)) / step_s.max(1e-3);
            wi * w > 0.0 && (wi - w).abs() <= w.abs().max(min)
        });
        if w.abs() < min || !steady {
            0.0
        } else {
            w.clamp(-max, max)
        }
    }
}

/// Agents slower than this are standing [m/s].
const MIN_AGENT_SPEED_MPS: f64 = 0.5;

/// Since when the sensors have seen `tr`, first assessed at `t`: its first observation (a
/// fused track is shown about a second after it, once confirmed), or `t` for a track that
/// does not say.
fn first_seen(tr: &Track, t: TimeNs) -> TimeNs {
    tr.first_update.map_or(t, |first| first.min(t))
}

/// Remembers a turn point, merging it with one already known nearby; keeps the latest few.
fn note_turn_point(points: &mut Vec<[f64; 3]>, p: [f64; 3]) {
    const SAME_M: f64 = 100.0;
    const KEEP: usize = 4;
    points.retain(|q| dist(q, &p) > SAME_M);
    points.push(p);
    if points.len() > KEEP {
        points.remove(0);
    }
}

/// The agent's path if it turns round at the next known turn point ahead of it (within
/// 60 m of its line of travel), and again at the one behind it if known: back and forth at
/// its current speed. `None` when it stands or no turn point lies ahead.
fn patrol_path(
    now: [f64; 3],
    a: &AgentMotion,
    step_s: f64,
    horizon_s: f64,
) -> Option<(Vec<[f64; 3]>, bool)> {
    const LINE_M: f64 = 60.0;
    let speed_mps = a.vel_enu_mps[0].hypot(a.vel_enu_mps[1]);
    if speed_mps <= MIN_AGENT_SPEED_MPS {
        return None;
    }
    let u = [a.vel_enu_mps[0] / speed_mps, a.vel_enu_mps[1] / speed_mps];
    let along = |q: &[f64; 3]| {
        let (de, dn) = (q[0] - now[0], q[1] - now[1]);
        let s = de * u[0] + dn * u[1];
        let lateral = (de * u[1] - dn * u[0]).abs();
        (lateral <= LINE_M).then_some(s)
    };
    let ahead_m = a
        .turn_points
        .iter()
        .filter_map(along)
        .filter(|s| *s > 0.0)
        .fold(f64::INFINITY, f64::min);
    // A known patroller with no turn point ahead yet may turn round at any time: judge the
    // earliest, turning now (a speculative future, flagged as such).
    let (ahead_m, speculative) = if ahead_m.is_finite() {
        (ahead_m, false)
    } else if a.turn_points.is_empty() {
        return None;
    } else {
        (0.0, true)
    };
    // The far end, if known; otherwise the agent is assumed to go back indefinitely.
    let behind_m = a
        .turn_points
        .iter()
        .filter_map(along)
        .filter(|s| *s < 0.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let span_m = ahead_m - behind_m;
    let steps = (horizon_s / step_s).floor().max(0.0) as usize;
    let path = (0..=steps)
        .map(|k| {
            let d = speed_mps * k as f64 * step_s;
            // Position along the line, bouncing between the ends.
            let s = if d <= ahead_m {
                d
            } else if !span_m.is_finite() {
                2.0 * ahead_m - d
            } else {
                let phase = (d - ahead_m).rem_euclid(2.0 * span_m);
                if phase <= span_m {
                    ahead_m - phase
                } else {
                    behind_m + (phase - span_m)
                }
            };
            [now[0] + u[0] * s, now[1] + u[1] * s, now[2]]
        })
        .collect();
    Some((path, speculative))
}

/// True when the drone is behind the moving agent and flying the same way: following it,
/// the case where the agent turning round matters.
fn follows(agent: &AgentMotion, a0: &[f64; 3], p0: &[f64; 3], drone_vel_mps: &[f64; 3]) -> bool {
    let v = agent.vel_enu_mps;
    let behind = (p0[0] - a0[0]) * v[0] + (p0[1] - a0[1]) * v[1] < 0.0;
    let same_way = drone_vel_mps[0] * v[0] + drone_vel_mps[1] * v[1] > 0.0;
    behind && same_way
}

/// True when `a` is the more urgent of two judgements of one pair: it enters the radius,
/// and sooner; or neither enters and `a` comes closer.
fn sooner(a: &Closest, b: &Closest) -> bool {
    match (a.entry_dt_s, b.entry_dt_s) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => a.distance_m < b.distance_m,
    }
}

/// Where a sampled path starts, east [m] (−∞ for an empty path, which is never compared).
fn east_m(path: &[[f64; 3]]) -> f64 {
    path.first().map_or(f64::NEG_INFINITY, |p| p[0])
}

/// How far a sampled path gets from its start within its first `steps` samples.
fn extent(path: &[[f64; 3]], steps: usize) -> f64 {
    match path.first() {
        Some(a) => path
            .iter()
            .take(steps + 1)
            .map(|p| dist(a, p))
            .fold(0.0, f64::max),
        None => 0.0,
    }
}

/// The level the geometry calls for now, before hysteresis.
fn raw_level(cfg: &WarnerConfig, range_m: f64, closest: &Closest) -> Option<WarningLevel> {
    if range_m <= cfg.close_m {
        return Some(WarningLevel::Critical);
    }
    let dt_cpa_s = match closest.entry_dt_s {
        Some(dt_s) if dt_s <= cfg.horizon_s => dt_s,
        _ => return None,
    };
    Some(if dt_cpa_s <= cfg.critical_within_s {
        WarningLevel::Critical
    } else if dt_cpa_s <= cfg.warning_within_s {
        WarningLevel::Warning
    } else {
        WarningLevel::Advisory
    })
}

fn level_index(level: WarningLevel) -> usize {
    match level {
        WarningLevel::AllClear | WarningLevel::Advisory => 0,
        WarningLevel::Warning => 1,
        WarningLevel::Critical => 2,
    }
}

/// The highest level whose condition held within the last `hold_s`.
fn held_level(pair: &PairState, t: TimeNs, hold_s: f64) -> WarningLevel {
    const LEVELS: [WarningLevel; 3] = [
        WarningLevel::Advisory,
        WarningLevel::Warning,
        WarningLevel::Critical,
    ];
    (0..3)
        .rev()
        .find(|&i| pair.last_held[i].is_some_and(|at| t.secs_since(at) <= hold_s))
        .map_or(WarningLevel::AllClear, |i| LEVELS[i])
}
