//! `replay --warnings-out`: runs the warner on the replayed tracks with the scenario's
//! agents and allow-list, and writes `warnings.jsonl` (FORMAT.md contract: a line when an
//! (agent, track) warning is first issued or its level changes; no repeats).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use dronewatch_model::{AgentFix, AgentId, TimeNs, Track, TrackId};
use dronewatch_sim::scenario::{Scenario, read_agents};
use dronewatch_threat::{AllowList, Warner, WarnerConfig, WarningLevel};
use serde::Serialize;

#[derive(Serialize)]
struct WarningLine<'a> {
    t: f64,
    agent_id: &'a str,
    track_id: u64,
    level: &'static str,
    range_m: f64,
    t_cpa_est: f64,
    cpa_m: f64,
    bearing_deg: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    clock: Option<u8>,
    height_above_agent_m: f64,
}

#[derive(Debug)]
pub struct WarningsOut {
    warner: Warner,
    fixes: Vec<AgentFix>,
    next_fix: usize,
    out: BufWriter<File>,
    written: BTreeMap<(AgentId, TrackId), WarningLevel>,
    lines: u64,
}

impl WarningsOut {
    pub fn open(
        scenario_dir: &Path,
        scenario: &Scenario,
        cfg: WarnerConfig,
        out: &Path,
    ) -> Result<Self> {
        let agents_path = scenario_dir.join("agents.jsonl");
        let fixes = read_agents(&agents_path, scenario.meta.epoch)
            .with_context(|| format!("agents for --warnings-out ({})", agents_path.display()))?;
        let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let allow = AllowList::new(scenario.allow_list.iter().cloned());
        Ok(Self {
            warner: Warner::new(cfg, scenario.meta.ref_lla, allow),
            fixes,
            next_fix: 0,
            out: BufWriter::new(file),
            written: BTreeMap::new(),
            lines: 0,
        })
    }

    /// Assesses the picture at report time `t` (scenario time `t_s`): agents first, with
    /// every fix up to `t` and none after (what a live system would know).
    pub fn at_report(&mut self, t_s: f64, t: TimeNs, tracks: &[Track]) -> Result<()> {
        while let Some(fix) = self.fixes.get(self.next_fix).filter(|f| f.t <= t) {
            self.warner.observe_agent(fix);
            self.next_fix += 1;
        }
        for w in self.warner.assess(t, tracks) {
            let key = (w.agent_id.clone(), w.track_id);
            // The file has no "all clear" level: an ended warning simply stops, and if the
            // same track comes back at the level last written, that line is not repeated.
            if w.level == WarningLevel::AllClear || self.written.get(&key) == Some(&w.level) {
                continue;
            }
            self.written.insert(key, w.level);
            let line = WarningLine {
                t: t_s,
                agent_id: w.agent_id.as_str(),
                track_id: w.track_id.0,
                level: w.level.as_str(),
                range_m: round_dm(w.range_m),
                t_cpa_est: t_s + w.t_cpa.secs_since(t),
                cpa_m: round_dm(w.cpa_m),
                bearing_deg: round_dm(w.bearing_deg),
                clock: w.clock,
                height_above_agent_m: round_dm(w.height_above_agent_m),
            };
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
            self.lines += 1;
        }
        Ok(())
    }

    /// Flushes the file; returns the number of lines written.
    pub fn finish(mut self) -> Result<u64> {
        self.out.flush()?;
        Ok(self.lines)
    }
}

fn round_dm(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
