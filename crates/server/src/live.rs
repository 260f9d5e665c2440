//! The live hub: what WebSocket clients and the REST "now" endpoints read.
//!
//! Three broadcast channels, so that each client wakes only for what it asked for:
//! - `deltas`: the tracks that changed, as often as fusion publishes (tens of times a
//!   second), for clients that want every update;
//! - `snapshots`: the whole picture once a second, for clients at 1 Hz (most field phones);
//! - `events`: alerts, warnings, sensor health, sightings, agent positions.
//!
//! Every item is serialised once, when it is made, and shared by all clients; a whole
//! message for clients that watch the whole area is composed once too (the first client
//! to send it composes it) and shared as reference-counted bytes, so a client costs its
//! socket writes, not a serialisation or a copy. Clients that watch an area compose their
//! own message from the shared items. A client that falls behind a channel is
//! resynchronised from the latest snapshot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::ws::Utf8Bytes;
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
    pub json: Box<str>,
}

impl TrackItem {
    pub fn new(view: TrackView) -> Self {
        let json = serde_json::to_string(&view).unwrap_or_default().into();
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
    /// The `tracks` message for clients without an area.
    pub whole: OnceLock<Utf8Bytes>,
}

impl TrackDelta {
    /// The `tracks` message with the tracks `here` keeps (`None`: all of them); `None` when
    /// nothing of the delta is left.
    pub fn message(&self, here: Option<&dyn Fn(&TrackItem) -> bool>) -> Option<Utf8Bytes> {
        let Some(here) = here else {
            return Some(self.whole.get_or_init(|| self.compose(&|_| true).0).clone());
        };
        let (msg, n) = self.compose(here);
        (n > 0 || !self.removed.is_empty()).then_some(msg)
    }

    fn compose(&self, here: &dyn Fn(&TrackItem) -> bool) -> (Utf8Bytes, usize) {
        let mut out = String::with_capacity(128 + self.tracks.len() * 512);
        let _ = write!(
            out,
            "{{\"type\":\"tracks\",\"processed_to_unix_ns\":{},\"published_unix_ns\":{},\"tracks\":",
            self.processed_to_unix_ns, self.published_unix_ns
        );
        let n = push_tracks(&mut out, &self.tracks, here);
        out.push_str(",\"removed\":");
        out.push_str(&serde_json::to_string(&self.removed).unwrap_or_else(|_| "[]".into()));
        out.push('}');
        (out.into(), n)
    }
}

/// The whole picture at one time.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub t_unix_ns: i64,
    pub processed_to_unix_ns: i64,
    pub published_unix_ns: i64,
    /// In track id order.
    pub tracks: Vec<Arc<TrackItem>>,
    /// The `snapshot` message for clients without an area.
    pub whole: OnceLock<Utf8Bytes>,
}

impl Snapshot {
    /// The `snapshot` message with the tracks `here` keeps (`None`: all of them).
    pub fn message(&self, here: Option<&dyn Fn(&TrackItem) -> bool>) -> Utf8Bytes {
        match here {
            None => self.whole.get_or_init(|| self.compose(&|_| true)).clone(),
            Some(here) => self.compose(here),
        }
    }

    fn compose(&self, here: &dyn Fn(&TrackItem) -> bool) -> Utf8Bytes {
        let mut out = String::with_capacity(128 + self.tracks.len() * 512);
        let _ = write!(
            out,
            "{{\"type\":\"snapshot\",\"t_unix_ns\":{},\"processed_to_unix_ns\":{},\"published_unix_ns\":{},\"tracks\":",
            self.t_unix_ns, self.processed_to_unix_ns, self.published_unix_ns
        );
        push_tracks(&mut out, &self.tracks, here);
        out.push('}');
        out.into()
    }
}

/// Appends the JSON array of the tracks `here` keeps; returns how many.
fn push_tracks(
    out: &mut String,
    items: &[Arc<TrackItem>],
    here: &dyn Fn(&TrackItem) -> bool,
) -> usize {
    let mut n = 0;
    out.push('[');
    for t in items.iter().filter(|t| here(t)) {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&t.json);
        n += 1;
    }
    out.push(']');
    n
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
    pub json: Utf8Bytes,
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
    /// Events that happened together travel as one item.
    pub events: broadcast::Sender<Arc<Vec<LiveEvent>>>,
    /// The latest snapshot, for REST reads and new clients.
    pub picture: watch::Sender<Arc<Snapshot>>,
    pub boards: Arc<Boards>,
}

impl LiveHub {
    pub fn new() -> Self {
        let (deltas, _) = broadcast::channel(256);
        let (snapshots, _) = broadcast::channel(16);
        let (events, _) = broadcast::channel(1024);
        let (picture, _) = watch::channel(Arc::new(Snapshot::default()));
        Self {
            deltas,
            snapshots,
            events,
            picture,
            boards: Arc::new(Boards::default()),
        }
    }

    /// One event to every client that wants it.
    pub fn publish_event(&self, ev: LiveEvent) {
        self.publish(vec![ev]);
    }

    /// Events that happened together, in one message on the channel: each client wakes
    /// once for all of them (five hundred alert updates a second, one wake-up each, were
    /// half a million task polls a second with a thousand clients).
    pub fn publish(&self, events: Vec<LiveEvent>) {
        if !events.is_empty() {
            // No receivers is fine: nobody is watching.
            let _ = self.events.send(Arc::new(events));
        }
    }

    /// An alert, opened or changed: on the board under `key` and to every client.
    pub fn alert(&self, key: u64, view: AlertView) {
        self.alerts([(key, view)]);
    }

    /// Alerts changed together.
    pub fn alerts(&self, alerts: impl IntoIterator<Item = (u64, AlertView)>) {
        let mut events = Vec::new();
        let mut board = lock(&self.boards.alerts);
        for (key, view) in alerts {
            let pos = (view.last_position.lat_deg, view.last_position.lon_deg);
            events.push(LiveEvent::new(
                "alert",
                Some(pos),
                Audience::Everyone,
                &view,
            ));
            board.insert(key, Arc::new(view));
        }
        drop(board);
        self.publish(events);
    }

    /// A warning: on the board of the agent `board_key` names (replacing the one about the
    /// same track, gone when all clear), to that agent and to the ops center.
    pub fn warning(&self, board_key: String, view: WarningView) {
        self.warnings([(board_key, view)]);
    }

    /// Warnings made together.
    pub fn warnings(&self, warnings: impl IntoIterator<Item = (String, WarningView)>) {
        let mut events = Vec::new();
        let mut boards = lock(&self.boards.warnings);
        for (board_key, view) in warnings {
            events.push(LiveEvent::new(
                "warning",
                None,
                Audience::Agent(view.agent_id.clone()),
                &view,
            ));
            let list = boards.entry(board_key).or_default();
            list.retain(|w| w.track_id != view.track_id);
            if view.level != "all_clear" {
                list.push(view);
            }
        }
        drop(boards);
        self.publish(events);
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
