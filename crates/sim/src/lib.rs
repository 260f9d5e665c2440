//! dronewatch benchmark scenarios.
//!
//! For now this crate holds the benchmark scenario file formats (see
//! `shared/bench/FORMAT.md`): reading `sensors.json` into a [`Scenario`], streaming
//! `detections.jsonl` into [`Observation`](dronewatch_model::Observation)s with
//! [`DetectionReader`], and writing `tracks.jsonl` with [`TrackWriter`]; and [`load`], a
//! synthetic sky for load tests; and [`sector`], the scenario simulator of a border sector
//! (the demo, exercises, `dronewatch simulate`).

pub mod load;
pub mod rng;
pub mod scenario;
pub mod sector;

pub use scenario::{
    DetectionReader, FormatError, LineError, Scenario, ScenarioMeta, TrackRecord, TrackWriter,
    parse_detection_line, parse_sensors_json, read_scenario_dir,
};
