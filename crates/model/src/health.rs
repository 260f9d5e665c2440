use serde::{Deserialize, Serialize};

use crate::{Lla, SensorId, TimeNs};

/// How a sensor says it is doing (SAPIENT status reports, receiver heartbeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Ok,
    Warning,
    Error,
    /// The sensor said goodbye or stopped reporting.
    Offline,
}

/// One health report from a sensor: its state, where it is now, and why, in its own words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorHealth {
    pub sensor_id: SensorId,
    pub t: TimeNs,
    pub state: HealthState,
    /// The sensor's reported position, when the report carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Lla>,
    /// Free-text details (status entries, warnings), as the sensor gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
}
