use serde::{Deserialize, Serialize};

use crate::{Lla, TimeNs};

/// A field agent's stable identifier (as the field app or the roster names them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl AgentId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an agent was at one time (from the field app's GPS, a CoT position report, or a
/// static post).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentFix {
    pub agent_id: AgentId,
    pub t: TimeNs,
    pub position: Lla,
}
