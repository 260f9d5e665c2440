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

use crate::view::{AgentView, AlertView, SensorView, TrackView};

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
    pub warnings: Mutex<BTreeMap<String, Vec<crate::view::WarningView>>>,
}

/// Locks a board; a poisoned lock (a panicked writer) still holds consistent data here,
/// since every writer replaces whole entries.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
