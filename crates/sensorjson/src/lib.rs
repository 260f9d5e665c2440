//! Generic sensor JSON: how sensors and Remote ID receivers that speak JSON publish to
//! dronewatch (normally over MQTT), and how their messages become model values. Pure: no
//! I/O, no clock (the caller passes the reception time).
//!
//! - Topics: `<prefix>/<sector>/sensors/<sensor_id>/{detections|status|remoteid}`
//!   ([`TopicLayout`]); the last level picks the message definition.
//! - Schema: `schema/sensor-json.schema.json` (JSON Schema draft 2020-12, embedded as
//!   [`SCHEMA_JSON`]), checked at run time on every message.
//! - Mapping: serde onto wire structs, explicit range checks, then model types
//!   ([`SensorMessage`]); strict on its own ([`map_value`]) so schema and code agree.
//! - Errors: every [`Rejection`] names the stage, the field (JSON Pointer) and the reason.
//!
//! The user guide, with examples, is `docs/sensor-json.md`.

mod error;
mod map;
mod schema;
mod topic;

pub use error::{FieldError, Rejection, SchemaError, Stage};
pub use map::{MAX_T_UNIX_NS, MIN_T_UNIX_NS, Options, Received, SensorMessage, map_value};
pub use schema::{MAX_REPORTED_ERRORS, SCHEMA_JSON};
pub use topic::{MessageKind, SensorTopic, TopicLayout, is_valid_id};

use serde_json::Value;

/// The compiled schema, the topic layout and the mapping options: build once, share.
#[derive(Debug)]
pub struct SensorJson {
    schemas: schema::Schemas,
    layout: TopicLayout,
    options: Options,
}

impl SensorJson {
    /// Compiles the embedded schema (a few milliseconds).
    pub fn new(layout: TopicLayout, options: Options) -> Result<Self, SchemaError> {
        Ok(Self {
            schemas: schema::Schemas::new()?,
            layout,
            options,
        })
    }

    pub fn layout(&self) -> &TopicLayout {
        &self.layout
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// One MQTT message: topic checked, payload size checked, parsed as JSON, validated
    /// against the schema definition the topic names, then mapped. Never panics.
    pub fn parse(
        &self,
        topic: &str,
        payload: &[u8],
        received: Received,
    ) -> Result<SensorMessage, Rejection> {
        let topic = self.layout.parse(topic)?;
        self.parse_kind(topic.kind, Some(&topic.sensor_id), payload, received)
    }

    /// A payload whose kind (and perhaps sensor id) is known from elsewhere.
    pub fn parse_kind(
        &self,
        kind: MessageKind,
        topic_sensor_id: Option<&str>,
        payload: &[u8],
        received: Received,
    ) -> Result<SensorMessage, Rejection> {
        if payload.len() > self.options.max_payload_bytes {
            return Err(Rejection::one(
                Stage::Payload,
                "payload",
                format!(
                    "{} bytes, more than the {}-byte limit",
                    payload.len(),
                    self.options.max_payload_bytes
                ),
            ));
        }
        let value: Value = serde_json::from_slice(payload)
            .map_err(|e| Rejection::one(Stage::Payload, "payload", format!("not JSON: {e}")))?;
        self.validate(kind, &value)?;
        map_value(kind, &value, topic_sensor_id, received, &self.options)
    }

    /// Schema validation alone.
    pub fn validate(&self, kind: MessageKind, value: &Value) -> Result<(), Rejection> {
        self.schemas.validate(kind, value)
    }
}
