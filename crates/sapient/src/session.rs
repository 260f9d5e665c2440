//! The sans-IO SAPIENT session of one connection, with dronewatch as the fusion node (DMM).
//!
//! Feed it each message body ([`Session::handle_frame`]); it answers with replies to send,
//! events for the pipeline and counts, and never does I/O itself. The flow follows BSI Flex
//! 335 and Apex: an edge node (ASM) registers and gets a `RegistrationAck` (accepted, or
//! rejected with the validator's reasons), then sends status reports (→ [`SensorHealth`]),
//! detection reports (→ [`Observation`]s) and alerts (recorded, answered with `AlertAck`).
//! Anything from a node that has not registered gets an `Error`. A `Task` is always refused
//! with `TaskAck REJECTED`: dronewatch never controls effectors and does not execute tasks.
//! Bytes that are not a SAPIENT message get an `Error` and the connection is closed.
//!
//! A connection may carry several nodes (each registers with its own `node_id`). v1.0 nodes
//! are understood: their messages are validated with the v1.0 rules, converted to v2.0, and
//! our replies converted back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use dronewatch_model::{
    HealthState, IdentityHints, Lla, Observation, ObservationId, SensorHealth, SensorId,
    SensorKind, TimeNs, VelocityMeasurement,
};
use prost::Message;

use crate::convert::{downgrade, upgrade};
use crate::frame::{FrameCodec, FrameError};
use crate::ids::ulid_low_u64;
use crate::mapping::{
    AxisOrder, DefaultSigmas, EnuVelocity, classification_hint, enu_velocity, health_state,
    hz_per_unit, is_effector, is_remote_id_receiver, location_to_fix, position_measurement,
    range_bearing_measurement, rf_emission, sensor_kind, status_details,
};
use crate::v2::sapient_message::Content;
use crate::validate::{IcdVersion, Violation, validate, validate_v1};
use crate::{time, v1, v2};

/// Which ICD versions a listener speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IcdMode {
    /// v2.0, or v1.0 when a connection's first accepted registration says
    /// `icd_version: "BSI Flex 335 v1.0"` (the frames carry no version of their own).
    #[default]
    Auto,
    V2,
    V1,
}

/// What becomes the model [`SensorId`] of a node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorIdScheme {
    /// The node's UUID (unique by the standard).
    #[default]
    NodeId,
    /// The registration's `name` (falling back to the UUID); for operators who name nodes
    /// after the sensors of their deployment file.
    Name,
}

/// Settings shared by every session of a listener.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Our own node id (UUID v4), the `node_id` of every message we send.
    pub dmm_node_id: String,
    pub icd: IcdMode,
    /// Default `Location` axis order, and per-node exceptions (by node id).
    pub axis_order: AxisOrder,
    pub axis_order_by_node: HashMap<String, AxisOrder>,
    pub sensor_ids: SensorIdScheme,
    /// Fixed positions of nodes that never send `node_location` (by node id).
    pub node_positions: HashMap<String, Lla>,
    pub sigmas: DefaultSigmas,
    /// At most this many bytes of an offending message are echoed in `Error.packet`.
    pub max_error_packet_bytes: usize,
    /// Apex's "message timestamp reasonable" check: accepted range of (message time − our
    /// time), in seconds, e.g. `(-0.9, 0.1)`. Off by default (replays and simulators send
    /// past times).
    pub timestamp_window_s: Option<(f64, f64)>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            dmm_node_id: crate::ids::new_uuid_v4(),
            icd: IcdMode::Auto,
            axis_order: AxisOrder::LonLat,
            axis_order_by_node: HashMap::new(),
            sensor_ids: SensorIdScheme::NodeId,
            node_positions: HashMap::new(),
            sigmas: DefaultSigmas::default(),
            max_error_packet_bytes: 1024,
            timestamp_window_s: None,
        }
    }
}

/// A registered node, as every session of a listener sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredNode {
    pub node_id: String,
    pub name: Option<String>,
    pub sensor_id: SensorId,
    pub kind: SensorKind,
    /// `Registration.NodeType` numbers.
    pub node_types: Vec<i32>,
    pub effector: bool,
    pub icd: IcdVersion,
    pub connection_id: u64,
}

/// The nodes registered on all connections of a listener, shared by its sessions (so a task
/// aimed at an effector on another connection is recognised).
#[derive(Debug, Clone, Default)]
pub struct NodeRegistry {
    inner: Arc<Mutex<HashMap<String, RegisteredNode>>>,
}

impl NodeRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, RegisteredNode>> {
        // A panic elsewhere while holding the lock leaves a usable map.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, node_id: &str) -> Option<RegisteredNode> {
        self.lock().get(node_id).cloned()
    }

    /// Every registered node, sorted by node id.
    pub fn nodes(&self) -> Vec<RegisteredNode> {
        let mut v: Vec<_> = self.lock().values().cloned().collect();
        v.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        v
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn insert(&self, node: RegisteredNode) {
        self.lock().insert(node.node_id.clone(), node);
    }

    fn remove_connection(&self, connection_id: u64) {
        self.lock().retain(|_, n| n.connection_id != connection_id);
    }
}

/// Something kept as evidence rather than fused.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub sensor_id: SensorId,
    pub node_id: String,
    pub t: TimeNs,
    pub kind: RecordKind,
    /// The message as received (converted to v2.0 for a v1.0 node).
    pub message: Box<v2::SapientMessage>,
    /// Our reasons, for rejections and refusals.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Registration,
    RegistrationRejected,
    Alert,
    TaskRefused,
    RegistrationAck,
    TaskAck,
    AlertAck,
    Error,
}

impl RecordKind {
    /// The record's kind for the event log, e.g. `sapient.alert`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Registration => "sapient.registration",
            RecordKind::RegistrationRejected => "sapient.registration_rejected",
            RecordKind::Alert => "sapient.alert",
            RecordKind::TaskRefused => "sapient.task_refused",
            RecordKind::RegistrationAck => "sapient.registration_ack",
            RecordKind::TaskAck => "sapient.task_ack",
            RecordKind::AlertAck => "sapient.alert_ack",
            RecordKind::Error => "sapient.error",
        }
    }
}

/// What a session hands to the pipeline.
// Observations are nearly every event: boxing them would cost an allocation per detection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Observation(Observation),
    Health(SensorHealth),
    Record(Record),
}

/// The results of one call: replies to send (in order, before reading on), pipeline events,
/// counts, and whether to close the connection after sending the replies.
#[derive(Debug, Default)]
pub struct Outputs {
    pub replies: Vec<v2::SapientMessage>,
    pub events: Vec<SessionEvent>,
    /// Messages taken in (acknowledged, recorded or mapped).
    pub accepted: u64,
    /// Messages refused (invalid, unregistered sender, unmappable, garbage).
    pub rejected: u64,
    pub close: bool,
}

impl Outputs {
    pub fn clear(&mut self) {
        self.replies.clear();
        self.events.clear();
        self.accepted = 0;
        self.rejected = 0;
        self.close = false;
    }
}

#[derive(Debug, Clone)]
struct Node {
    sensor_id: SensorId,
    kind: SensorKind,
    remote_id: bool,
    utm_zone: Option<String>,
    velocity_kph: bool,
    /// Hertz per unit of the node's signal frequencies, when its registration says.
    hz_per_unit: Option<f64>,
    axis: AxisOrder,
    position: Option<Lla>,
    goodbye: bool,
}

/// One decoded message, in v2.0 form, with its violations.
struct Incoming {
    msg: v2::SapientMessage,
    violations: Vec<Violation>,
    version: IcdVersion,
}

/// The state of one connection.
#[derive(Debug)]
pub struct Session {
    cfg: Arc<SessionConfig>,
    registry: NodeRegistry,
    connection_id: u64,
    version: Option<IcdVersion>,
    nodes: HashMap<String, Node>,
    fallback_obs_id: std::cell::Cell<u64>,
}

impl Session {
    /// A session for connection `connection_id`, sharing `registry` with its listener.
    pub fn new(cfg: Arc<SessionConfig>, registry: NodeRegistry, connection_id: u64) -> Self {
        let version = match cfg.icd {
            IcdMode::V1 => Some(IcdVersion::V1_0),
            IcdMode::V2 => Some(IcdVersion::V2_0),
            IcdMode::Auto => None,
        };
        Self {
            cfg,
            registry,
            connection_id,
            version,
            nodes: HashMap::new(),
            fallback_obs_id: std::cell::Cell::new(0),
        }
    }

    pub fn dmm_node_id(&self) -> &str {
        &self.cfg.dmm_node_id
    }

    /// The ICD version of this connection, once known.
    pub fn version(&self) -> Option<IcdVersion> {
        self.version
    }

    /// Node ids registered on this connection.
    pub fn node_ids(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// Frames `reply` for the wire in this connection's version (v1.0 replies are converted).
    pub fn encode_reply(
        &self,
        reply: &v2::SapientMessage,
        codec: &FrameCodec,
        dst: &mut BytesMut,
    ) -> Result<(), FrameError> {
        if self.version == Some(IcdVersion::V1_0)
            && let Ok(v1msg) = downgrade(reply)
        {
            return codec.encode(&v1msg, dst);
        }
        codec.encode(reply, dst)
    }

    /// Handles one message body.
    pub fn handle_frame(&mut self, payload: &[u8], now: TimeNs, out: &mut Outputs) {
        let incoming = match self.decode(payload) {
            Ok(i) => i,
            Err(reason) => return self.garbage(payload, now, reason, out),
        };
        let Incoming {
            msg,
            mut violations,
            version,
        } = incoming;
        if msg.content.is_none() && msg.node_id.is_none() {
            return self.garbage(
                payload,
                now,
                "not a SAPIENT message: no node_id and no content".to_owned(),
                out,
            );
        }
        if let Some(reason) = self.timestamp_out_of_window(&msg, now) {
            violations.push(reason);
        }
        let reasons: Vec<String> = violations.iter().map(ToString::to_string).collect();
        match &msg.content {
            Some(Content::Registration(_)) if !reasons.is_empty() => {
                self.reject_registration(msg, now, reasons, out)
            }
            Some(Content::Registration(_)) => self.on_registration(msg, version, now, out),
            // Refused whether valid or not, and whoever sends it.
            Some(Content::Task(_)) => self.on_task(msg, now, reasons, out),
            _ if !reasons.is_empty() => {
                let to = msg.node_id.clone();
                self.error_reply(payload, to, now, reasons, out);
            }
            _ => self.dispatch(msg, payload, now, out),
        }
    }

    /// Handles a framing error (the stream is out of sync): an `Error` naming it, then close.
    pub fn handle_frame_error(
        &mut self,
        err: &FrameError,
        head: &[u8],
        now: TimeNs,
        out: &mut Outputs,
    ) {
        self.garbage(head, now, err.to_string(), out);
    }

    /// The connection ended: every node still on it goes offline and leaves the registry.
    pub fn close(&mut self, now: TimeNs, why: &str, out: &mut Outputs) {
        let mut nodes: Vec<_> = self.nodes.drain().collect();
        nodes.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, node) in nodes {
            if !node.goodbye {
                out.events.push(SessionEvent::Health(SensorHealth {
                    sensor_id: node.sensor_id,
                    t: now,
                    state: HealthState::Offline,
                    position: node.position,
                    detail: vec![format!("SAPIENT connection closed: {why}")],
                }));
            }
        }
        self.registry.remove_connection(self.connection_id);
    }

    fn decode(&self, payload: &[u8]) -> Result<Incoming, String> {
        let as_v1 = |payload: &[u8]| -> Result<Incoming, String> {
            let m = v1::SapientMessage::decode(payload)
                .map_err(|e| format!("not a BSI Flex 335 v1.0 SapientMessage: {e}"))?;
            let violations = validate_v1(&m).err().unwrap_or_default();
            let msg = upgrade(&m).map_err(|e| e.to_string())?;
            Ok(Incoming {
                msg,
                violations,
                version: IcdVersion::V1_0,
            })
        };
        if self.version == Some(IcdVersion::V1_0) {
            return as_v1(payload);
        }
        let msg = v2::SapientMessage::decode(payload)
            .map_err(|e| format!("not a BSI Flex 335 v2.0 SapientMessage: {e}"))?;
        if self.version.is_none()
            && let Some(Content::Registration(r)) = &msg.content
        {
            let claims_v1 =
                r.icd_version.as_deref().and_then(IcdVersion::from_label) == Some(IcdVersion::V1_0);
            if claims_v1 {
                return as_v1(payload);
            }
        }
        let violations = validate(&msg).err().unwrap_or_default();
        Ok(Incoming {
            msg,
            violations,
            version: IcdVersion::V2_0,
        })
    }

    fn timestamp_out_of_window(&self, msg: &v2::SapientMessage, now: TimeNs) -> Option<Violation> {
        let (lo_s, hi_s) = self.cfg.timestamp_window_s?;
        let t = time::to_time_ns(msg.timestamp.as_ref()?)?;
        let offset_ms = t.0.saturating_sub(now.0) / 1_000_000;
        let (min_ms, max_ms) = ((lo_s * 1e3).round() as i64, (hi_s * 1e3).round() as i64);
        (!(min_ms..=max_ms).contains(&offset_ms)).then(|| Violation {
            path: "timestamp".into(),
            kind: crate::ViolationKind::TimestampNotReasonable {
                offset_ms,
                min_ms,
                max_ms,
            },
        })
    }

    fn reply(&self, to: Option<String>, now: TimeNs, content: Content) -> v2::SapientMessage {
        v2::SapientMessage {
            timestamp: Some(time::from_time_ns(now)),
            node_id: Some(self.cfg.dmm_node_id.clone()),
            destination_id: to,
            content: Some(content),
            additional_information: None,
        }
    }

    fn clip<'a>(&self, payload: &'a [u8]) -> &'a [u8] {
        payload
            .get(..self.cfg.max_error_packet_bytes.min(payload.len()))
            .unwrap_or(payload)
    }

    fn error_reply(
        &self,
        payload: &[u8],
        to: Option<String>,
        now: TimeNs,
        reasons: Vec<String>,
        out: &mut Outputs,
    ) {
        let error = v2::Error {
            packet: Some(self.clip(payload).to_vec()),
            error_message: reasons,
        };
        out.replies.push(self.reply(to, now, Content::Error(error)));
        out.rejected += 1;
    }

    fn garbage(&mut self, payload: &[u8], now: TimeNs, reason: String, out: &mut Outputs) {
        self.error_reply(
            payload,
            None,
            now,
            vec![format!("{reason}; closing the connection")],
            out,
        );
        out.close = true;
    }

    fn record(
        &self,
        msg: v2::SapientMessage,
        kind: RecordKind,
        now: TimeNs,
        reasons: Vec<String>,
        out: &mut Outputs,
    ) {
        let node_id = msg.node_id.clone().unwrap_or_default();
        let sensor_id = self
            .nodes
            .get(&node_id)
            .map(|n| n.sensor_id.clone())
            .unwrap_or_else(|| SensorId::new(node_id.clone()));
        let t = msg
            .timestamp
            .as_ref()
            .and_then(time::to_time_ns)
            .unwrap_or(now);
        out.events.push(SessionEvent::Record(Record {
            sensor_id,
            node_id,
            t,
            kind,
            message: Box::new(msg),
            reasons,
        }));
    }

    fn reject_registration(
        &mut self,
        msg: v2::SapientMessage,
        now: TimeNs,
        reasons: Vec<String>,
        out: &mut Outputs,
    ) {
        let ack = v2::RegistrationAck {
            acceptance: Some(false),
            ack_response_reason: reasons.clone(),
        };
        out.replies
            .push(self.reply(msg.node_id.clone(), now, Content::RegistrationAck(ack)));
        out.rejected += 1;
        self.record(msg, RecordKind::RegistrationRejected, now, reasons, out);
    }

    fn on_registration(
        &mut self,
        msg: v2::SapientMessage,
        version: IcdVersion,
        now: TimeNs,
        out: &mut Outputs,
    ) {
        let (Some(node_id), Some(Content::Registration(reg))) = (&msg.node_id, &msg.content) else {
            return;
        };
        let node_id = node_id.clone();
        let sensor_id = match (self.cfg.sensor_ids, &reg.name) {
            (SensorIdScheme::Name, Some(name)) if !name.trim().is_empty() => {
                SensorId::new(name.trim())
            }
            _ => SensorId::new(node_id.clone()),
        };
        let kind = sensor_kind(&reg.node_definition);
        let node_types: Vec<i32> = reg
            .node_definition
            .iter()
            .filter_map(|d| d.node_type)
            .collect();
        let effector = node_types.iter().any(|&t| is_effector(t));
        let node = Node {
            sensor_id: sensor_id.clone(),
            kind,
            remote_id: is_remote_id_receiver(&reg.node_definition),
            utm_zone: registered_utm_zone(reg),
            velocity_kph: registered_kph(reg),
            hz_per_unit: registered_hz_per_unit(reg),
            axis: self
                .cfg
                .axis_order_by_node
                .get(&node_id)
                .copied()
                .unwrap_or(self.cfg.axis_order),
            position: self.cfg.node_positions.get(&node_id).copied(),
            goodbye: false,
        };
        let position = node.position;
        self.nodes.insert(node_id.clone(), node);
        self.registry.insert(RegisteredNode {
            node_id: node_id.clone(),
            name: reg.name.clone(),
            sensor_id: sensor_id.clone(),
            kind,
            node_types,
            effector,
            icd: version,
            connection_id: self.connection_id,
        });
        self.version.get_or_insert(version);
        let ack = v2::RegistrationAck {
            acceptance: Some(true),
            ack_response_reason: Vec::new(),
        };
        out.replies
            .push(self.reply(Some(node_id), now, Content::RegistrationAck(ack)));
        out.accepted += 1;
        out.events.push(SessionEvent::Health(SensorHealth {
            sensor_id,
            t: now,
            state: HealthState::Ok,
            position,
            detail: vec![format!("SAPIENT node registered ({version})")],
        }));
        self.record(msg, RecordKind::Registration, now, Vec::new(), out);
    }

    fn on_task(
        &mut self,
        msg: v2::SapientMessage,
        now: TimeNs,
        invalid: Vec<String>,
        out: &mut Outputs,
    ) {
        let Some(Content::Task(task)) = &msg.content else {
            return;
        };
        let mut reasons = Vec::new();
        let target = msg.destination_id.as_deref();
        let effector_target = target
            .and_then(|id| self.registry.get(id))
            .filter(|n| n.effector);
        if let Some(node) = effector_target {
            let types: Vec<&str> = node
                .node_types
                .iter()
                .filter(|&&t| is_effector(t))
                .filter_map(|&t| v2::registration::NodeType::try_from(t).ok())
                .map(|t| t.as_str_name())
                .collect();
            reasons.push(format!(
                "dronewatch never controls effectors: destination node {} is registered as {}",
                node.node_id,
                types.join(", ")
            ));
        } else {
            reasons.push(
                "dronewatch is a detect-and-alert fusion node: it accepts no tasks and never \
                 controls effectors"
                    .to_owned(),
            );
        }
        reasons.extend(invalid);
        if task.task_id.is_some() {
            let ack = v2::TaskAck {
                task_id: task.task_id.clone(),
                task_status: Some(v2::task_ack::TaskStatus::Rejected as i32),
                associated_file: None,
                reason: reasons.clone(),
            };
            out.replies
                .push(self.reply(msg.node_id.clone(), now, Content::TaskAck(ack)));
        } else {
            // A TaskAck needs the task id; without one, say it in an Error.
            let packet = msg.encode_to_vec();
            self.error_reply(&packet, msg.node_id.clone(), now, reasons.clone(), out);
            out.rejected -= 1;
        }
        out.rejected += 1;
        self.record(msg, RecordKind::TaskRefused, now, reasons, out);
    }

    fn dispatch(
        &mut self,
        msg: v2::SapientMessage,
        payload: &[u8],
        now: TimeNs,
        out: &mut Outputs,
    ) {
        let node_id = msg.node_id.clone().unwrap_or_default();
        if !self.nodes.contains_key(&node_id) {
            let reason = format!(
                "node_id: node {node_id} has not registered on this connection; send a \
                 Registration first"
            );
            return self.error_reply(payload, Some(node_id), now, vec![reason], out);
        }
        match msg.content {
            Some(Content::StatusReport(_)) => self.on_status(msg, &node_id, payload, now, out),
            Some(Content::DetectionReport(_)) => {
                self.on_detection(msg, &node_id, payload, now, out)
            }
            Some(Content::Alert(ref alert)) => {
                let ack = v2::AlertAck {
                    alert_id: alert.alert_id.clone(),
                    reason: Vec::new(),
                    alert_ack_status: Some(v2::alert_ack::AlertAckStatus::Accepted as i32),
                };
                out.replies
                    .push(self.reply(Some(node_id), now, Content::AlertAck(ack)));
                out.accepted += 1;
                self.record(msg, RecordKind::Alert, now, Vec::new(), out);
            }
            Some(Content::RegistrationAck(_)) => {
                self.accept_record(msg, RecordKind::RegistrationAck, now, out)
            }
            Some(Content::TaskAck(_)) => self.accept_record(msg, RecordKind::TaskAck, now, out),
            Some(Content::AlertAck(_)) => self.accept_record(msg, RecordKind::AlertAck, now, out),
            Some(Content::Error(_)) => self.accept_record(msg, RecordKind::Error, now, out),
            // Handled before dispatch.
            Some(Content::Registration(_) | Content::Task(_)) | None => {}
        }
    }

    fn accept_record(
        &mut self,
        msg: v2::SapientMessage,
        kind: RecordKind,
        now: TimeNs,
        out: &mut Outputs,
    ) {
        out.accepted += 1;
        self.record(msg, kind, now, Vec::new(), out);
    }

    fn on_status(
        &mut self,
        msg: v2::SapientMessage,
        node_id: &str,
        payload: &[u8],
        now: TimeNs,
        out: &mut Outputs,
    ) {
        let (Some(Content::StatusReport(sr)), Some(node)) =
            (&msg.content, self.nodes.get_mut(node_id))
        else {
            return;
        };
        let mut problem = None;
        if let Some(loc) = &sr.node_location {
            match location_to_fix(
                loc,
                node.axis,
                node.utm_zone.as_deref(),
                "status_report.node_location",
            ) {
                Ok(fix) => node.position = Some(fix.lla),
                Err(e) => problem = Some(e.to_string()),
            }
        }
        let state = health_state(sr.system);
        node.goodbye = state == HealthState::Offline;
        let t = msg
            .timestamp
            .as_ref()
            .and_then(time::to_time_ns)
            .unwrap_or(now);
        out.events.push(SessionEvent::Health(SensorHealth {
            sensor_id: node.sensor_id.clone(),
            t,
            state,
            position: node.position,
            detail: status_details(sr),
        }));
        out.accepted += 1;
        if let Some(reason) = problem {
            // The status counts; the node should still hear that its location was unusable.
            self.error_reply(payload, Some(node_id.to_owned()), now, vec![reason], out);
            out.rejected -= 1;
        }
    }

    fn on_detection(
        &mut self,
        msg: v2::SapientMessage,
        node_id: &str,
        payload: &[u8],
        now: TimeNs,
        out: &mut Outputs,
    ) {
        let Some(node) = self.nodes.get(node_id) else {
            return;
        };
        let result = self.detection_to_observation(msg, node);
        match result {
            Ok(observation) => {
                out.events.push(SessionEvent::Observation(observation));
                out.accepted += 1;
            }
            Err(reason) => {
                self.error_reply(payload, Some(node_id.to_owned()), now, vec![reason], out)
            }
        }
    }

    fn detection_to_observation(
        &self,
        msg: v2::SapientMessage,
        node: &Node,
    ) -> Result<Observation, String> {
        let t = msg
            .timestamp
            .as_ref()
            .and_then(time::to_time_ns)
            .ok_or("timestamp: out of range for nanoseconds since 1970")?;
        let Some(Content::DetectionReport(d)) = msg.content else {
            return Err("content: not a detection report".into());
        };
        let sigmas = &self.cfg.sigmas;
        let measurement = match &d.location_oneof {
            Some(v2::detection_report::LocationOneof::Location(loc)) => {
                let fix = location_to_fix(
                    loc,
                    node.axis,
                    node.utm_zone.as_deref(),
                    "detection_report.location",
                )
                .map_err(|e| e.to_string())?;
                position_measurement(&fix, sigmas)
            }
            Some(v2::detection_report::LocationOneof::RangeBearing(rb)) => {
                let at = node.position.ok_or(
                    "detection_report.range_bearing: the node's location is unknown (send a \
                     StatusReport with node_location first)",
                )?;
                range_bearing_measurement(rb, &at, sigmas, "detection_report.range_bearing")
                    .map_err(|e| e.to_string())?
            }
            None => return Err("detection_report.location_oneof: missing".into()),
        };
        let velocity = match &d.velocity_oneof {
            Some(v2::detection_report::VelocityOneof::EnuVelocity(v)) => Some(
                enu_velocity(v, node.velocity_kph, "detection_report.enu_velocity")
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let id = d
            .report_id
            .as_deref()
            .and_then(ulid_low_u64)
            .unwrap_or_else(|| {
                // Only reachable for a report id that passed validation yet is not a ULID.
                let n = self.fallback_obs_id.get().wrapping_add(1);
                self.fallback_obs_id.set(n);
                n
            });
        let identity = IdentityHints {
            remote_id_serial: d.id.clone().filter(|s| node.remote_id && !s.is_empty()),
            operator_position: None,
            icao_address: None,
            classification: classification_hint(&d.classification, d.detection_confidence),
            sensor_object_id: d.object_id.clone().filter(|id| !id.is_empty()),
            rf_emission: rf_emission(&d.signal, node.hz_per_unit),
        };
        let observation = Observation {
            id: ObservationId(id),
            t,
            sensor_id: node.sensor_id.clone(),
            sensor_kind: node.kind,
            sensor_position: node.position,
            measurement,
            velocity: velocity.as_ref().map(velocity_measurement),
            identity,
        };
        Ok(observation)
    }
}

/// A detection's `enu_velocity` for fusion; the sigmas the node left out are taken as
/// [`DEFAULT_VELOCITY_SIGMA_MPS`].
fn velocity_measurement(v: &EnuVelocity) -> VelocityMeasurement {
    let sigma = |s: Option<f64>| s.filter(|s| *s > 0.0).unwrap_or(DEFAULT_VELOCITY_SIGMA_MPS);
    VelocityMeasurement {
        east_mps: v.east_mps,
        north_mps: v.north_mps,
        up_mps: v.up_mps,
        sigma_horizontal_mps: sigma(v.sigma_east_mps).max(sigma(v.sigma_north_mps)),
        sigma_vertical_mps: sigma(v.sigma_up_mps),
    }
}

/// The noise of a velocity a node reports without one: a sensor tracker's velocity is good
/// to a few metres a second.
pub const DEFAULT_VELOCITY_SIGMA_MPS: f64 = 2.0;

/// The UTM zone a node declared for its locations (status or detection definitions).
fn registered_utm_zone(reg: &v2::Registration) -> Option<String> {
    let from_status = reg
        .status_definition
        .as_ref()
        .and_then(|s| s.location_definition.as_ref())
        .and_then(|l| l.zone.clone());
    from_status.or_else(|| {
        reg.mode_definition
            .iter()
            .flat_map(|m| &m.detection_definition)
            .filter_map(|d| d.location_type.as_ref())
            .find_map(|l| l.zone.clone())
    })
}

/// True when the node registered its velocities in km/h.
/// The units a node registered for its signals' frequencies (a `DetectionReport`
/// definition of category signal whose type names a frequency).
fn registered_hz_per_unit(reg: &v2::Registration) -> Option<f64> {
    use v2::registration::DetectionReportCategory;
    reg.mode_definition
        .iter()
        .flat_map(|m| &m.detection_definition)
        .flat_map(|d| &d.detection_report)
        .filter(|r| r.category == Some(DetectionReportCategory::Signal as i32))
        .filter(|r| {
            r.r#type
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().contains("frequency"))
        })
        .find_map(|r| r.units.as_deref().and_then(hz_per_unit))
}

fn registered_kph(reg: &v2::Registration) -> bool {
    use v2::registration::velocity_type::VelocityUnitsOneof;
    reg.mode_definition
        .iter()
        .flat_map(|m| &m.detection_definition)
        .filter_map(|d| d.velocity_type.as_ref())
        .find_map(|v| match &v.velocity_units_oneof {
            Some(VelocityUnitsOneof::EnuVelocityUnits(u)) => u.east_north_rate_units,
            None => None,
        })
        == Some(v2::SpeedUnits::Kph as i32)
}
