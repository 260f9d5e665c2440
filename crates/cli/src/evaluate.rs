//! `dronewatch evaluate`: the threat stage's alerts over simulated border sectors, scored
//! against the simulator's truth. Each place and seed is generated in memory and played
//! through what a node runs, in its order and at its 1 Hz: the ADS-B table (fed the SBS-1
//! lines the live simulator serves), the tracker, the warner, the threat rules and the
//! alert book. Every alert is then traced to the aircraft whose tracks carried it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use dronewatch_adsb::{AircraftTable, TableConfig, parse_sbs_line};
use dronewatch_fusion::{Tracker, TrackerConfig};
use dronewatch_geo::EnuFrame;
use dronewatch_model::{AgentFix, AgentId, Lla, Observation, SensorKind, TimeNs, Track, TrackId};
use dronewatch_sim::sector::{REPORT_PERIOD_S, Role, Scene, SectorConfig, SectorRun};
use dronewatch_threat::{
    AlertBook, AlertChange, AlertConfig, AllowList, Rule, ThreatAssessor, ThreatConfig, Warner,
    WarnerConfig, WarningLevel, parse_zones,
};
use serde::Serialize;

use crate::sim_live::sbs_lines;

/// A track maps to the aircraft nearest to it (3D) if within this [m] (as the benchmark's
/// `score_warnings.py` maps tracks to targets).
const MATCH_RADIUS_M: f64 = 50.0;

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Seeds, as a range `1-10` or a list `1,4,7`.
    #[arg(long, default_value = "1-5", value_parser = parse_seeds)]
    pub seeds: Seeds,
    /// A place as `name=lat,lon[,h][@rotation_deg]`; repeat for several. Default: four
    /// border stretches (Nogales, El Paso, Laredo, Narva) at four orientations.
    #[arg(long = "place", value_parser = parse_place)]
    pub places: Vec<Place>,
    /// Scenario length [s]; the scripted incidents fill the first eight minutes.
    #[arg(long, default_value_t = 480.0)]
    pub duration_s: f64,
    /// Scenario time 0 (RFC 3339): the sun, so the night rule, depends on it.
    #[arg(long, default_value = "2026-06-01T18:00:00Z")]
    pub epoch: String,
    /// Threat rules as JSON (any subset of the defaults).
    #[arg(long)]
    pub threat_config: Option<std::path::PathBuf>,
    /// Print one JSON object per run (with every aircraft's figures) instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone)]
pub struct Seeds(Vec<u64>);

fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let num = |p: &str| p.trim().parse::<u64>().map_err(|e| format!("{p:?}: {e}"));
    let seeds = match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a || b - a >= 1000 {
                return Err("a range `a-b` with a <= b, at most 1000 seeds".into());
            }
            (a..=b).collect()
        }
        None => s.split(',').map(num).collect::<Result<Vec<_>, _>>()?,
    };
    Ok(Seeds(seeds))
}

#[derive(Debug, Clone)]
pub struct Place {
    pub name: String,
    pub origin: Lla,
    pub rotation_deg: f64,
}

fn parse_place(s: &str) -> Result<Place, String> {
    let (name, rest) = s
        .split_once('=')
        .ok_or("expected name=lat,lon[,h][@rotation_deg]")?;
    let (lla, rotation_deg) = match rest.split_once('@') {
        Some((lla, rot)) => (
            lla,
            rot.trim()
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite())
                .ok_or_else(|| format!("rotation {rot:?}: not a number of degrees"))?,
        ),
        None => (rest, 0.0),
    };
    Ok(Place {
        name: name.trim().to_owned(),
        origin: crate::simulate::parse_lla(lla)?,
        rotation_deg,
    })
}

/// Border stretches where the scripted sector is laid (the hostile side faces south at
/// 0°, west at 90°, north at 180°, east at 270°).
fn default_places() -> Vec<Place> {
    [
        ("nogales", Lla::new(31.3404, -110.9343, 1200.0), 0.0),
        ("el-paso", Lla::new(31.7587, -106.4869, 1140.0), 20.0),
        ("laredo", Lla::new(27.5036, -99.5075, 130.0), 45.0),
        ("narva", Lla::new(59.3772, 28.1903, 30.0), 270.0),
    ]
    .into_iter()
    .map(|(name, origin, rotation_deg)| Place {
        name: name.into(),
        origin,
        rotation_deg,
    })
    .collect()
}

/// What one aircraft caused.
#[derive(Debug, Serialize)]
pub struct AircraftScore {
    pub name: String,
    pub role: &'static str,
    /// Alerts whose tracks were mostly this aircraft's.
    pub alerts: usize,
    /// Scenario time its first confirmed track was near it [s].
    pub first_tracked_s: Option<f64>,
    pub first_alert_s: Option<f64>,
    /// Distinct (agent, track) warnings about it.
    pub warnings: usize,
    /// Every rule that fired on a track near it.
    pub rules: BTreeSet<Rule>,
    /// The rules its script is written to fire that never did.
    pub missing_rules: Vec<Rule>,
}

/// One place and seed.
#[derive(Debug, Serialize)]
pub struct RunScore {
    pub place: String,
    pub seed: u64,
    pub duration_s: f64,
    pub hostile: usize,
    pub hostile_alerted: usize,
    /// Alerts beyond the first about one hostile aircraft.
    pub duplicate_alerts: usize,
    pub friendly_alerts: usize,
    pub manned_alerts: usize,
    pub benign_alerts: usize,
    /// Alerts whose tracks were near no aircraft (clutter, false sightings).
    pub unmatched_alerts: usize,
    /// Benign and unmatched alerts an hour of scenario.
    pub false_alerts_per_h: f64,
    pub friendly_or_manned_warnings: usize,
    /// Longest time from a hostile aircraft's first track to its alert [s].
    pub slowest_alert_s: Option<f64>,
    pub aircraft: Vec<AircraftScore>,
}

impl RunScore {
    /// The targets: every hostile aircraft alerted, once; no alert or warning about a
    /// friendly drone or a manned aircraft; every scripted rule fired.
    pub fn meets_targets(&self) -> bool {
        self.hostile_alerted == self.hostile
            && self.duplicate_alerts == 0
            && self.friendly_alerts == 0
            && self.manned_alerts == 0
            && self.friendly_or_manned_warnings == 0
            && self.aircraft.iter().all(|a| a.missing_rules.is_empty())
    }
}

/// The rules each scripted aircraft is written to fire (by its name in [`Scene`]); every
/// hostile one comes over the border.
fn scripted_rules(name: &str, role: Role) -> Vec<Rule> {
    let mut rules = Vec::new();
    if role == Role::Hostile {
        rules.push(Rule::CrossedBorder);
    }
    match name {
        "hostile-approach" => rules.extend([Rule::ClosingOnAgent, Rule::NoRemoteId]),
        "hostile-spoofed" => rules.push(Rule::RemoteIdMismatch),
        "hostile-dive" => rules.extend([Rule::ClosingOnAgent, Rule::Dive]),
        n if n.starts_with("hostile-swarm") => rules.push(Rule::Swarm),
        _ => {}
    }
    rules
}

pub fn run(args: &EvaluateArgs) -> Result<()> {
    if !(args.duration_s.is_finite() && args.duration_s > 0.0 && args.duration_s <= 86_400.0) {
        bail!("--duration-s: above 0, at most a day (86400)");
    }
    let ts: jiff::Timestamp = args.epoch.parse().context("--epoch")?;
    let epoch = TimeNs(i64::try_from(ts.as_nanosecond()).context("--epoch")?);
    let rules = match &args.threat_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<ThreatConfig>(&text)
                .with_context(|| format!("threat rules in {}", path.display()))?
        }
        None => ThreatConfig::default(),
    };
    let places = if args.places.is_empty() {
        default_places()
    } else {
        args.places.clone()
    };
    let mut scores = Vec::new();
    for place in &places {
        for &seed in &args.seeds.0 {
            let cfg = SectorConfig {
                origin: place.origin,
                rotation_deg: place.rotation_deg,
                duration_s: args.duration_s,
                seed,
            };
            let run = SectorRun::generate(cfg, Scene::border_sector(), epoch);
            let score = evaluate_run(&place.name, &run, rules.clone())?;
            if args.json {
                println!("{}", serde_json::to_string(&score)?);
            }
            scores.push(score);
        }
    }
    if !args.json {
        print!("{}", table(&scores));
    }
    Ok(())
}

/// Plays one scenario and scores its alerts.
pub fn evaluate_run(place: &str, run: &SectorRun, rules: ThreatConfig) -> Result<RunScore> {
    let origin = run.config.origin;
    let frame = EnuFrame::new(origin);
    let zones = parse_zones(&dronewatch_sim::sector::zones_geojson(run), &frame)
        .context("the scene's zones")?;
    let allow = AllowList::new(run.scene.allow_list.iter().cloned());
    let mut tracker = Tracker::new(TrackerConfig::default(), origin, run.epoch, &run.sensors);
    let mut warner = Warner::new(WarnerConfig::default(), origin, allow.clone());
    let mut assessor = ThreatAssessor::new(rules, origin, zones, allow);
    let mut book = AlertBook::new(AlertConfig::default());

    let observations = observations_in_order(run);
    let mut next_obs = observations.into_iter().peekable();
    let mut next_agent = 0;
    let mut truth = Truth::new(run);
    let mut opened_s: BTreeMap<u64, f64> = BTreeMap::new();
    let mut warned: BTreeSet<(AgentId, TrackId)> = BTreeSet::new();

    let reports = (run.config.duration_s / REPORT_PERIOD_S).floor() as u64;
    for k in 0..=reports {
        let t_s = k as f64 * REPORT_PERIOD_S;
        let t = run.epoch.plus_secs(t_s);
        while let Some((_, obs)) = next_obs.next_if(|(at_s, _)| *at_s <= t_s) {
            // A late observation is refused by the tracker as it would be live.
            let _ = tracker.ingest(obs);
        }
        tracker.advance_to(t);
        while let Some(rec) = run.agents.get(next_agent).filter(|r| r.t_s <= t_s) {
            warner.observe_agent(&AgentFix {
                agent_id: AgentId::new(run.scene.agents[rec.agent].id.clone()),
                t: run.epoch.plus_secs(rec.t_s),
                position: rec.lla,
            });
            next_agent += 1;
        }
        let tracks = tracker.tracks_at(t);
        for w in warner.assess(t, &tracks) {
            if w.level != WarningLevel::AllClear {
                warned.insert((w.agent_id, w.track_id));
            }
        }
        let levels = warner.agent_levels();
        let assessments = assessor.assess(t, &tracks, &levels);
        for change in book.update(t, &tracks, &assessments) {
            if let AlertChange::Opened(id) = change {
                opened_s.insert(id.0, t_s);
            }
        }
        truth.vote(k, t_s, &tracks);
        for a in &assessments {
            if let Some(target) = truth.now.get(&a.track_id) {
                truth.rules[*target].extend(a.reasons.iter().map(|r| r.rule));
            }
        }
    }
    Ok(truth.score(place, run, &book, &opened_s, &warned))
}

/// Detections and the helicopter's ADS-B positions as observations, in time order: the
/// ADS-B ones through the SBS-1 lines and the table a node's ADS-B source uses.
fn observations_in_order(run: &SectorRun) -> Vec<(f64, Observation)> {
    let adsb = run.sensors.iter().find(|s| s.kind == SensorKind::Adsb);
    let mut out: Vec<(f64, Observation)> = run
        .detections
        .iter()
        .map(|d| (d.t_s, d.observation.clone()))
        .collect();
    if let Some(sensor) = adsb {
        let mut table_cfg = TableConfig::new(sensor.id.clone());
        table_cfg.receiver = sensor.position;
        let mut table = AircraftTable::new(table_cfg);
        for r in &run.adsb {
            let t = run.epoch.plus_secs(r.t_s);
            for line in sbs_lines(r, t).lines() {
                if let Ok(Some(msg)) = parse_sbs_line(line)
                    && let Some(obs) = table.ingest_sbs(t, &msg)
                {
                    out.push((r.t_s, obs));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// Which aircraft each track was, by votes over its report times.
struct Truth {
    /// Truth records grouped by report index.
    by_report: BTreeMap<u64, Vec<(usize, [f64; 3])>>,
    /// Aircraft index of each Remote ID serial broadcast (a spoofed position still names
    /// its drone).
    by_serial: BTreeMap<String, usize>,
    votes: BTreeMap<TrackId, BTreeMap<usize, u32>>,
    /// The aircraft each current track is near at the latest report.
    now: BTreeMap<TrackId, usize>,
    first_tracked_s: Vec<Option<f64>>,
    rules: Vec<BTreeSet<Rule>>,
}

impl Truth {
    fn new(run: &SectorRun) -> Self {
        let mut by_report: BTreeMap<u64, Vec<(usize, [f64; 3])>> = BTreeMap::new();
        for rec in &run.truth {
            let k = (rec.t_s / REPORT_PERIOD_S).round() as u64;
            by_report
                .entry(k)
                .or_default()
                .push((rec.target, rec.enu_m));
        }
        let by_serial = run
            .scene
            .aircraft
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.broadcast.serial().map(|s| (s.to_owned(), i)))
            .collect();
        let n = run.scene.aircraft.len();
        Self {
            by_report,
            by_serial,
            votes: BTreeMap::new(),
            now: BTreeMap::new(),
            first_tracked_s: vec![None; n],
            rules: vec![BTreeSet::new(); n],
        }
    }

    /// `tracks` are in the tracker's frame, the scene's origin with true north, as the
    /// truth is.
    fn vote(&mut self, k: u64, t_s: f64, tracks: &[Track]) {
        self.now.clear();
        let truth = self.by_report.get(&k).map_or(&[][..], Vec::as_slice);
        for tr in tracks {
            let by_serial = tr
                .identity
                .remote_id_serial
                .as_ref()
                .and_then(|s| self.by_serial.get(s).copied());
            let p = tr.enu_m;
            let nearest = || {
                truth
                    .iter()
                    .map(|(target, q)| (*target, distance_m(p, *q)))
                    .filter(|(_, d)| *d <= MATCH_RADIUS_M)
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(target, _)| target)
            };
            let Some(target) = by_serial.or_else(nearest) else {
                continue;
            };
            *self
                .votes
                .entry(tr.id)
                .or_default()
                .entry(target)
                .or_default() += 1;
            self.now.insert(tr.id, target);
            self.first_tracked_s[target].get_or_insert(t_s);
        }
    }

    /// The aircraft most of these tracks' votes name.
    fn target_of(&self, tracks: &[TrackId]) -> Option<usize> {
        let mut sum: BTreeMap<usize, u32> = BTreeMap::new();
        for votes in tracks.iter().filter_map(|t| self.votes.get(t)) {
            for (target, n) in votes {
                *sum.entry(*target).or_default() += n;
            }
        }
        sum.into_iter().max_by_key(|(_, n)| *n).map(|(t, _)| t)
    }

    fn score(
        self,
        place: &str,
        run: &SectorRun,
        book: &AlertBook,
        opened_s: &BTreeMap<u64, f64>,
        warned: &BTreeSet<(AgentId, TrackId)>,
    ) -> RunScore {
        let n = run.scene.aircraft.len();
        let mut alerts = vec![0usize; n];
        let mut first_alert_s: Vec<Option<f64>> = vec![None; n];
        let mut unmatched_alerts = 0;
        for alert in book.alerts() {
            let at_s = opened_s.get(&alert.id.0).copied();
            match self.target_of(&alert.track_ids) {
                Some(target) => {
                    alerts[target] += 1;
                    let first = &mut first_alert_s[target];
                    *first = match (*first, at_s) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                None => unmatched_alerts += 1,
            }
        }
        let mut warnings = vec![0usize; n];
        for (_, track) in warned {
            if let Some(target) = self.target_of(&[*track]) {
                warnings[target] += 1;
            }
        }
        let aircraft: Vec<AircraftScore> = run
            .scene
            .aircraft
            .iter()
            .enumerate()
            .map(|(i, a)| AircraftScore {
                name: a.name.clone(),
                role: a.role.as_str(),
                alerts: alerts[i],
                first_tracked_s: self.first_tracked_s[i],
                first_alert_s: first_alert_s[i],
                warnings: warnings[i],
                missing_rules: scripted_rules(&a.name, a.role)
                    .into_iter()
                    .filter(|r| !self.rules[i].contains(r))
                    .collect(),
                rules: self.rules[i].clone(),
            })
            .collect();
        let of_role = |role: Role| aircraft.iter().filter(move |a| a.role == role.as_str());
        let count = |role: Role| of_role(role).map(|a| a.alerts).sum::<usize>();
        let benign_alerts = count(Role::Benign);
        let hours = run.config.duration_s / 3600.0;
        RunScore {
            place: place.to_owned(),
            seed: run.config.seed,
            duration_s: run.config.duration_s,
            hostile: of_role(Role::Hostile).count(),
            hostile_alerted: of_role(Role::Hostile).filter(|a| a.alerts > 0).count(),
            duplicate_alerts: of_role(Role::Hostile)
                .map(|a| a.alerts.saturating_sub(1))
                .sum(),
            friendly_alerts: count(Role::Friendly),
            manned_alerts: count(Role::Manned),
            benign_alerts,
            unmatched_alerts,
            false_alerts_per_h: (benign_alerts + unmatched_alerts) as f64 / hours,
            friendly_or_manned_warnings: of_role(Role::Friendly)
                .chain(of_role(Role::Manned))
                .map(|a| a.warnings)
                .sum(),
            slowest_alert_s: of_role(Role::Hostile)
                .filter_map(|a| Some(a.first_alert_s? - a.first_tracked_s?))
                .max_by(f64::total_cmp),
            aircraft,
        }
    }
}

fn distance_m(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// A Markdown table of the runs, with the totals and which runs missed a target.
fn table(scores: &[RunScore]) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "| place | seed | hostile alerted | duplicates | friendly | manned | benign | unmatched | false/h | friendly/manned warnings | slowest alert s | rules missing |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in scores {
        let missing: Vec<String> = r
            .aircraft
            .iter()
            .flat_map(|a| {
                a.missing_rules
                    .iter()
                    .map(move |rule| format!("{}: {rule:?}", a.name))
            })
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {}/{} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} |",
            r.place,
            r.seed,
            r.hostile_alerted,
            r.hostile,
            r.duplicate_alerts,
            r.friendly_alerts,
            r.manned_alerts,
            r.benign_alerts,
            r.unmatched_alerts,
            r.false_alerts_per_h,
            r.friendly_or_manned_warnings,
            r.slowest_alert_s
                .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}")),
            if missing.is_empty() {
                "-".to_owned()
            } else {
                missing.join(", ")
            },
        );
    }
    let hours: f64 = scores.iter().map(|r| r.duration_s / 3600.0).sum();
    let sum = |f: fn(&RunScore) -> usize| scores.iter().map(f).sum::<usize>();
    let _ = writeln!(
        s,
        "\n{} runs, {:.2} h of picture: {}/{} hostile aircraft alerted, {} duplicate alerts, \
         {} about friendly and {} about manned aircraft, {} false ({:.1} an hour), {} of {} runs meet every target",
        scores.len(),
        hours,
        sum(|r| r.hostile_alerted),
        sum(|r| r.hostile),
        sum(|r| r.duplicate_alerts),
        sum(|r| r.friendly_alerts),
        sum(|r| r.manned_alerts),
        sum(|r| r.benign_alerts + r.unmatched_alerts),
        sum(|r| r.benign_alerts + r.unmatched_alerts) as f64 / hours.max(1e-9),
        scores.iter().filter(|r| r.meets_targets()).count(),
        scores.len(),
    );
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn seeds_and_places_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_seeds("3-5").unwrap().0, vec![3, 4, 5]);
        assert_eq!(parse_seeds("1,4,7").unwrap().0, vec![1, 4, 7]);
        assert!(parse_seeds("5-3").is_err());
        assert!(parse_seeds("x").is_err());
        let p = parse_place("juarez=31.69,-106.42,1130@15").unwrap();
        assert_eq!(p.name, "juarez");
        assert!((p.rotation_deg - 15.0).abs() < 1e-12);
        assert!((p.origin.h_m - 1130.0).abs() < 1e-9);
        assert!(parse_place("31.69,-106.42").is_err());
        assert!(parse_place("a=91,0").is_err());
        assert!(parse_place("a=1,2@north").is_err());
    }
}
