//! Sources: one module per wire protocol. Each turns its connections into [`SourceEvent`]s
//! sent on a bounded `tokio::sync::mpsc` channel, so a slow pipeline pushes back on the
//! sensors instead of growing memory. A bad message is counted and logged with its reason;
//! it never ends the stream, and never drops what was already accepted.

use dronewatch_model::{Observation, SensorHealth, SensorId, TimeNs};
use serde::Serialize;

pub mod adsb;
#[cfg(feature = "mqtt")]
pub mod mqtt;
pub mod sapient;

/// What a source hands to the pipeline.
#[derive(Debug, Clone, PartialEq)]
// Observations are nearly every event: boxing them would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum SourceEvent {
    /// A measurement for fusion.
    Observation(Observation),
    /// A sensor's own report of its health and position.
    Health(SensorHealth),
    /// Something a sensor said that is kept as evidence but not fused (a SAPIENT alert,
    /// a registration, a refused task).
    Record(SourceRecord),
}

/// A message kept for the record: who sent it, when, what kind, and its content as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRecord {
    pub sensor_id: SensorId,
    pub t: TimeNs,
    /// e.g. `sapient.alert`, `sapient.registration`.
    pub kind: String,
    pub body: serde_json::Value,
}
