//! The live hub: what WebSocket clients and the REST "now" endpoints read.
//!
//! Three broadcast channels, so that each client wakes only for what it asked for:
//! - `deltas`: the tracks that changed, as often as fusion publishes (tens of times a
//!   second), for clients that want every update;
//! - `snapshots`: the whole picture once a second, for clients at 1 Hz (most field phones);
//! - `events`: alerts, warnings, sensor health, sightings, agent positions.
//!
//! Every item is serialised once, when it is made, and shared by all clients (`Arc<str>`):
//! a thousand clients cost a thousand copies into sockets, not a thousand serialisations.
//! A client that falls behind a channel is resynchronised from the latest snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::view::{AgentView, AlertView, SensorView, TrackView, WarningView};

/// A track, serialised once.
#[derive(Debug)]
pub struct TrackItem {
    pub uid: String,
    pub id: u64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub view: TrackView,
    pub json: Arc<str>,
}

impl TrackItem {
    pub fn new(view: TrackView) -> Self {
        let json: Arc<str> = serde_json::to_string(&view).unwrap_or_default().into();
        Self {
            uid: view.uid.clone(),
            id: view.id,
            lat_deg: view.position.lat_deg,
            lon_deg: view.position.lon_deg,
            view,
            json,
        }
    }
}

/// The tracks that changed since the last delta.
#[derive(Debug, Default)]
pub struct TrackDelta {
    /// Every observation with a time up to this has been used (sensor time).
    pub processed_to_unix_ns: i64,
    pub published_unix_ns: i64,
    pub tracks: Vec<Arc<TrackItem>>,
    /// Tracks that left the picture, by `uid`.
    pub removed: Vec<String>,
}

/// The whole picture at one time.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub t_unix_ns: i64,
    pub processed_to_unix_ns: i64,
    pub published_unix_ns: i64,
    /// In track id order.
    pub tracks: Vec<Arc<TrackItem>>,
}

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// A personal warning: the agent it is for, and the ops center (never other agents).
    Agent(String),
}

/// Anything but tracks, serialised once as a whole stream message.
#[derive(Debug)]
pub struct LiveEvent {
    /// `alert`, `warning`, `sensor_health`, `sighting`, `agent`.
    pub kind: &'static str,
    pub position: Option<(f64, f64)>,
    pub audience: Audience,
    /// The complete message: `{"type": kind, ...}`.
    pub json: Arc<str>,
}

impl LiveEvent {
    pub fn new<T: serde::Serialize>(
        kind: &'static str,
        position: Option<(f64, f64)>,
        audience: Audience,
        body: &T,
    ) -> Self {
        let json = serde_json::json!({ "type": kind, kind: body })
            .to_string()
            .into();
        Self {
            kind,
            position,
            audience,
            json,
        }
    }
}

/// The hub; clone it freely.
#[derive(Debug, Clone)]
pub struct LiveHub {
    pub deltas: broadcast::Sender<Arc<TrackDelta>>,
    pub snapshots: broadcast::Sender<Arc<Snapshot>>,
    pub events: broadcast::Sender<Arc<LiveEvent>>,
    /// The latest snapshot, for REST reads and new clients.
    pub picture: watch::Sender<Arc<Snapshot>>,
    pub boards: Arc<Boards>,
}

impl LiveHub {
    pub fn new() -> Self {
        let (deltas, _) = broadcast::channel(256);
        let (snapshots, _) = broadcast::channel(16);
        let (events, _) = broadcast::channel(4096);
        let (picture, _) = watch::channel(Arc::new(Snapshot::default()));
        Self {
            deltas,
            snapshots,
            events,
            picture,
            boards: Arc::new(Boards::default()),
        }
    }

    pub fn publish_event(&self, ev: LiveEvent) {
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(Arc::new(ev));
    }

    /// An alert, opened or changed: on the board under `key` and to every client.
    pub fn alert(&self, key: u64, view: AlertView) {
        let pos = (view.last_position.lat_deg, view.last_position.lon_deg);
        self.publish_event(LiveEvent::new(
            "alert",
            Some(pos),
            Audience::Everyone,
            &view,
        ));
        lock(&self.boards.alerts).insert(key, Arc::new(view));
    }

    /// A warning: on the board of the agent `board_key` names (replacing the one about the
    /// same track, gone when all clear), to that agent and to the ops center.
    pub fn warning(&self, board_key: String, view: WarningView) {
        self.publish_event(LiveEvent::new(
            "warning",
            None,
            Audience::Agent(view.agent_id.clone()),
            &view,
        ));
        let mut boards = lock(&self.boards.warnings);
        let list = boards.entry(board_key).or_default();
        list.retain(|w| w.track_id != view.track_id);
        if view.level != "all_clear" {
            list.push(view);
        }
    }

    /// A sensor's state: on the board and to every client.
    pub fn sensor(&self, view: SensorView) {
        let pos = view.position.map(|p| (p.lat_deg, p.lon_deg));
        self.publish_event(LiveEvent::new(
            "sensor_health",
            pos,
            Audience::Everyone,
            &view,
        ));
        lock(&self.boards.sensors).insert(view.id.clone(), view);
    }

    /// An agent's position: on the board and to every client.
    pub fn agent(&self, view: AgentView) {
        let pos = (view.position.lat_deg, view.position.lon_deg);
        self.publish_event(LiveEvent::new(
            "agent",
            Some(pos),
            Audience::Everyone,
            &view,
        ));
        lock(&self.boards.agents).insert(view.agent_id.clone(), view);
    }
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

/// What the node knows now besides tracks: sensors, agents, alerts.
#[derive(Debug, Default)]
pub struct Boards {
    pub sensors: Mutex<BTreeMap<String, SensorView>>,
    pub agents: Mutex<BTreeMap<String, AgentView>>,
    pub alerts: Mutex<BTreeMap<u64, Arc<AlertView>>>,
    pub warnings: Mutex<BTreeMap<String, Vec<WarningView>>>,
}

/// Locks a board; a poisoned lock (a panicked writer) still holds consistent data here,
/// since every writer replaces whole entries.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
