//! Threat assessment: which agents are in a drone's path, how soon, and what to tell them.
//!
//! Pure and deterministic like fusion: the same tracks and agent fixes give the same
//! warnings. The [`Warner`] looks ahead along each drone track's predicted path (straight,
//! or along its current turn) and each agent's, finds the closest approach, and keeps one
//! warning per (agent, track) whose level changes only when the threat does.

mod alerts;
mod config;
mod path;
mod posture;
mod rules;
mod sun;
mod warner;
mod zones;

pub use alerts::{
    Alert, AlertAction, AlertBook, AlertChange, AlertConfig, AlertError, AlertEvent, AlertId,
    AlertState,
};
pub use config::{Advice, WarnerConfig};
pub use path::{Closest, Path, closest_approach};
pub use posture::{
    PostureAdjust, PostureArea, PostureConfig, PostureLevel, PostureWindow, areas_at, posture_at,
};
pub use rules::{Assessment, Reason, Rule, ThreatAssessor, ThreatConfig, ThreatLevel};
pub use sun::sun_elevation_deg;
pub use warner::{AgentWarning, AllowList, Warner, WarningLevel};
pub use zones::{Shape, Zone, ZoneError, ZoneKind, parse_zones};
