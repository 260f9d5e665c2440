//! The benchmark scenario file formats (`shared/bench/FORMAT.md`).
//!
//! * `sensors.json` → [`Scenario`] ([`parse_sensors_json`], [`read_scenario_dir`]);
//! * `detections.jsonl` → [`Observation`](dronewatch_model::Observation)s
//!   ([`parse_detection_line`], [`DetectionReader`]);
//! * `agents.jsonl` → [`AgentFix`](dronewatch_model::AgentFix)es ([`read_agents`]);
//! * [`TrackRecord`]s → `tracks.jsonl` ([`TrackWriter`]).

mod agents;
mod detections;
mod error;
mod sensors;
mod tracks;

use std::path::Path;

use dronewatch_model::{Lla, Sensor, TimeNs};

pub use agents::{parse_agent_line, read_agents};
pub use detections::{DetectionReader, parse_detection_line};
pub use error::{FormatError, LineError};
pub use sensors::{parse_sensors_json, sensor_kind_from_wire};
pub use tracks::{TrackRecord, TrackWriter};

/// The `scenario` object of `sensors.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioMeta {
    pub scale: Option<String>,
    pub seed: Option<i64>,
    pub duration_s: f64,
    pub tick_s: Option<f64>,
    pub report_period_s: f64,
    /// `epoch_utc`: the instant of scenario time `t = 0`.
    pub epoch: TimeNs,
    /// Origin of the scenario's ENU frame.
    pub ref_lla: Lla,
    pub area_radius_m: Option<f64>,
}

impl ScenarioMeta {
    /// The instant of scenario time `t_s` (seconds since the epoch).
    pub fn time_at(&self, t_s: f64) -> TimeNs {
        self.epoch.plus_secs(t_s)
    }

    /// Scenario time (s) of an instant.
    pub fn scenario_secs(&self, t: TimeNs) -> f64 {
        t.secs_since(self.epoch)
    }

    /// The number of report times `t = k·report_period_s`, `k = 0 …
    /// duration_s/report_period_s` (both ends included).
    pub fn report_count(&self) -> u64 {
        // The small slack keeps e.g. 0.3 / 0.1 = 2.9999999999999996 from losing a report.
        (self.duration_s / self.report_period_s + 1e-9).floor() as u64 + 1
    }

    /// The `k`-th report time (s).
    pub fn report_time_s(&self, k: u64) -> f64 {
        k as f64 * self.report_period_s
    }
}

/// A scenario's inputs from `sensors.json`: metadata, sensors and the Remote ID allow-list
/// (empty when the file has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub meta: ScenarioMeta,
    pub sensors: Vec<Sensor>,
    pub allow_list: Vec<String>,
}

impl Scenario {
    /// The sensor with this id.
    pub fn sensor(&self, id: &str) -> Option<&Sensor> {
        self.sensors.iter().find(|s| s.id.as_str() == id)
    }

    /// True when `serial` is on the Remote ID allow-list.
    pub fn is_allow_listed(&self, serial: &str) -> bool {
        self.allow_list.iter().any(|s| s == serial)
    }
}

/// Reads `dir/sensors.json`. I/O errors carry the file's path; format errors name the file.
pub fn read_scenario_dir(dir: &Path) -> Result<Scenario, FormatError> {
    let path = dir.join("sensors.json");
    let text = std::fs::read_to_string(&path).map_err(|source| FormatError::Io {
        path: path.clone(),
        source,
    })?;
    parse_sensors_json(&text).map_err(|e| match e {
        FormatError::Json { source, .. } => FormatError::Json {
            what: path.display().to_string(),
            source,
        },
        FormatError::Field { field, reason, .. } => FormatError::Field {
            what: path.display().to_string(),
            field,
            reason,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"scenario": {"duration_s": 0.3, "report_period_s": 0.1,
        "epoch_utc": "2025-06-01T12:00:00Z", "ref_lla": [51.2, -1.8, 100.0]},
        "sensors": [{"id": "rid-1", "type": "remote_id", "lla": [51.2, -1.8, 105.0]}],
        "allow_list": ["A1", "B2"]}"#;

    #[test]
    fn reads_a_scenario_dir() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("sensors.json"), MINIMAL).unwrap_or_else(|e| panic!("{e}"));
        let s = read_scenario_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.sensors.len(), 1);
        assert!(s.sensor("rid-1").is_some());
        assert!(s.sensor("radar-1").is_none());
        assert!(s.is_allow_listed("B2"));
        assert!(!s.is_allow_listed("C3"));
        assert_eq!(s.meta.report_count(), 4);
        assert!((s.meta.report_time_s(3) - 0.3).abs() < 1e-12);
        let t = s.meta.time_at(2.5);
        assert_eq!(t, TimeNs(s.meta.epoch.0 + 2_500_000_000));
        assert_eq!(s.meta.scenario_secs(t), 2.5);
    }

    #[test]
    fn errors_carry_the_path() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let e = read_scenario_dir(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("sensors.json") && e.contains(&*dir.path().to_string_lossy()),
            "{e}"
        );

        std::fs::write(dir.path().join("sensors.json"), &MINIMAL[..40])
            .unwrap_or_else(|e| panic!("{e}"));
        let e = read_scenario_dir(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains(&*dir.path().to_string_lossy()) && e.contains("EOF"),
            "{e}"
        );

        std::fs::write(
            dir.path().join("sensors.json"),
            MINIMAL.replace("0.1,", "-1,"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let e = read_scenario_dir(dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("scenario.report_period_s"), "{e}");
    }
}
