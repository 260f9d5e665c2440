//! The scenario simulator: a border sector with its sensors, agents on posts and patrols,
//! and a script of drones (hostile approaches, transits, a spoofed Remote ID, a dive, a
//! swarm; the sector's own drone and a hobbyist) and a crewed helicopter on ADS-B.
//!
//! [`Scene`] holds the script in scene coordinates, [`SectorRun::generate`] plays it
//! through the sensors (noise, detection probability, clutter, false bearings, lost
//! Remote ID messages) into detections, ADS-B reports, agent positions and the truth, and
//! [`write_dir`] writes them as a benchmark scenario folder. The server's demo plays the
//! same run live through the real interfaces instead (`dronewatch demo`).

mod files;
mod flight;
mod run;
mod scene;

pub use files::{detection_lines, sensors_json, write_dir, zones_geojson};
pub use flight::{Flight, Leg, State};
pub use run::{
    AdsbReport, AgentRecord, Detection, Encounter, REPORT_PERIOD_S, SectorRun, TICK_S, TruthRecord,
};
pub use scene::{
    AGENT_HEIGHT_M, Agent, Aircraft, BORDER_N_M, Broadcast, Duty, Role, Scene, SectorConfig,
    SensorSite, SiteKind, Transponder, ZoneDef,
};
