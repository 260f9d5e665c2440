use serde::{Deserialize, Serialize};

use crate::warner::WarningLevel;

/// When an agent is warned, and at which level. Every threshold is here so that a sector
/// can tune it (and a posture level can tighten it) without code changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarnerConfig {
    /// A predicted pass closer than this (3D) to an agent is a threat to that agent [m].
    pub radius_m: f64,
    /// The radius grows by this share of the distance a moving agent covers before the
    /// closest approach: a patrol may turn round, so where it will be is less certain.
    pub agent_path_share: f64,
    /// A drone predicted within `radius_m` of an agent within this time is a threat [s]:
    /// the advisory horizon.
    pub horizon_s: f64,
    /// An advisory (the earliest, least certain level) is issued only once its condition
    /// has held this long without a break [s]; warning and critical are issued at once.
    pub advisory_confirm_s: f64,
    /// Within `radius_m` within this time → `warning` [s].
    pub warning_within_s: f64,
    /// Within `radius_m` within this time → `critical` [s].
    pub critical_within_s: f64,
    /// Prediction step [s].
    pub step_s: f64,
    /// A drone this close (3D) is `critical` whatever its predicted path [m].
    pub close_m: f64,
    /// A level stays this long after its condition last held, so levels do not flicker [s].
    pub hold_s: f64,
    /// Turn rates below this are treated as straight flight [deg/s].
    pub min_turn_rate_deg_s: f64,
    /// Turn rates are capped here: beyond it the estimate is noise [deg/s].
    pub max_turn_rate_deg_s: f64,
    /// Velocities over this window estimate the turn rate [s].
    pub turn_window_s: f64,
    /// Tracks with fewer updates are not yet judged (one stray plot is not a drone).
    pub min_track_updates: u64,
    /// A track younger than this warns no one farther than `close_m` yet [s]: a drone
    /// broadcasting Remote ID says so once a second, and a radar track of the sector's own
    /// drone must not warn anyone before its first broadcast (or a lost one) can arrive.
    pub min_track_age_s: f64,
    /// A turn is believed only from tracks with this many updates: a new track's heading
    /// still swings with its velocity estimate.
    pub min_updates_for_turn: u64,
    /// What to tell the agent at each level.
    pub advice: Advice,
}

/// The sector procedure's protective advice, per warning level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Advice {
    pub advisory: String,
    pub warning: String,
    pub critical: String,
}

impl Advice {
    /// The advice given with a warning at `level` (none with an all-clear).
    pub fn for_level(&self, level: WarningLevel) -> &str {
        match level {
            WarningLevel::AllClear => "",
            WarningLevel::Advisory => &self.advisory,
            WarningLevel::Warning => &self.warning,
            WarningLevel::Critical => &self.critical,
        }
    }
}

impl Default for Advice {
    fn default() -> Self {
        Self {
            advisory: "Drone may pass near you. Look for it; report what you see.".into(),
            warning: "Drone heading your way. Move to cover; armour on; note the pilot \
                      direction."
                .into(),
            critical: "Drone about to pass over you. Take cover now. Do not approach a \
                       dropped package."
                .into(),
        }
    }
}

impl Default for WarnerConfig {
    fn default() -> Self {
        Self {
            radius_m: 150.0,
            agent_path_share: 0.1,
            horizon_s: 45.0,
            advisory_confirm_s: 1.0,
            warning_within_s: 30.0,
            critical_within_s: 15.0,
            step_s: 1.0,
            close_m: 100.0,
            hold_s: 5.0,
            min_turn_rate_deg_s: 2.0,
            max_turn_rate_deg_s: 30.0,
            turn_window_s: 4.0,
            min_track_updates: 3,
            min_track_age_s: 2.0,
            min_updates_for_turn: 10,
            advice: Advice::default(),
        }
    }
}
