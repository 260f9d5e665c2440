//! The store: an append-only, SHA-256 hash-chained event log (the truth: replay and
//! evidence) with query columns for history, plus the small tables the server needs
//! (users, device tokens, login failures, cursors, documents).
//!
//! Backends behind one handle: SQLite (WAL, one file in a data directory; the default) and
//! PostgreSQL (selected by a `postgres://` URL; PostGIS used for area queries where the
//! extension is available). Both pass the same test suite.
//!
//! SKELETON: the public API the server codes against. Bodies are filled in by the store work.

use dronewatch_model::{Lla, TimeNs};
use serde::{Deserialize, Serialize};

/// The log is three hash chains, so each can keep its own retention: observations are many
/// and short-lived, records (alerts, actions, audit) are evidence and kept for years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chain {
    Observations,
    Tracks,
    Records,
}

impl Chain {
    pub const ALL: [Chain; 3] = [Chain::Observations, Chain::Tracks, Chain::Records];

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Observations => "observations",
            Chain::Tracks => "tracks",
            Chain::Records => "records",
        }
    }
}

/// What an event is. Decides its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A sensor observation (`model::Observation` as JSON).
    Observation,
    /// A track state (one per track per store interval).
    Track,
    /// An alert as it was opened or changed.
    Alert,
    /// A personal warning to an agent.
    Warning,
    /// A field sighting report as received.
    Sighting,
    /// A sensor's health report.
    SensorHealth,
    /// A message kept for the record (SAPIENT alert, registration, refused task).
    SensorRecord,
    /// An agent's position report.
    AgentFix,
    /// An operator's or agent's action (acknowledge, assign, resolve, note...).
    OperatorAction,
    /// Security audit: login, read of history, export, admin change.
    Audit,
    /// Configuration changes kept as evidence (zones, allow-list, bulletins).
    Config,
}

impl EventKind {
    pub fn chain(self) -> Chain {
        match self {
            EventKind::Observation => Chain::Observations,
            EventKind::Track => Chain::Tracks,
            _ => Chain::Records,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Observation => "observation",
            EventKind::Track => "track",
            EventKind::Alert => "alert",
            EventKind::Warning => "warning",
            EventKind::Sighting => "sighting",
            EventKind::SensorHealth => "sensor_health",
            EventKind::SensorRecord => "sensor_record",
            EventKind::AgentFix => "agent_fix",
            EventKind::OperatorAction => "operator_action",
            EventKind::Audit => "audit",
            EventKind::Config => "config",
        }
    }
}

/// An event to append. The query columns (`source`, `serial`, `track_id`, `position`) are
/// copies of what the body says, for indexed history queries; all of them are hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    /// When it happened (sensor time for observations, wall time for actions).
    pub t: TimeNs,
    /// Sensor id, user name, or node name.
    pub source: Option<String>,
    /// Remote ID serial or ICAO address (hex), when the event names one.
    pub serial: Option<String>,
    pub track_id: Option<u64>,
    pub position: Option<Lla>,
    /// A client-chosen key (field sighting `client_id`): appending a second event with the
    /// same kind and key stores nothing and returns the first one's sequence number.
    pub idempotency_key: Option<String>,
    /// The event as JSON text, stored and hashed byte for byte.
    pub body: String,
}

/// Where an appended event landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub chain: Chain,
    pub seq: u64,
    /// True when an event with the same idempotency key was already stored (`seq` is its).
    pub duplicate: bool,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub chain: Chain,
    /// Dense, from 1, per chain.
    pub seq: u64,
    pub kind: EventKind,
    pub t: TimeNs,
    /// Wall time at which the store appended it.
    pub stored_at: TimeNs,
    pub source: Option<String>,
    pub serial: Option<String>,
    pub track_id: Option<u64>,
    pub position: Option<Lla>,
    pub idempotency_key: Option<String>,
    pub body: String,
    /// SHA-256 over the previous event's hash and this event's fields (docs/store.md).
    pub hash: [u8; 32],
}

/// A latitude/longitude box (degrees; `min_lon > max_lon` crosses the antimeridian).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
}

/// A history query; every set field narrows it. Results in `seq` order within a chain
/// (ascending unless `descending`), at most `limit`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventQuery {
    /// Kinds to return; empty means every kind of `chain`.
    pub kinds: Vec<EventKind>,
    pub chain: Option<Chain>,
    pub from: Option<TimeNs>,
    pub to: Option<TimeNs>,
    pub bbox: Option<BBox>,
    pub serial: Option<String>,
    pub source: Option<String>,
    pub track_id: Option<u64>,
    /// Only events with `seq > after_seq` (paging).
    pub after_seq: Option<u64>,
    pub limit: usize,
    pub descending: bool,
}

/// The result of checking one chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainReport {
    pub chain: Chain,
    /// The sequence number the check started after (0, or the retention anchor).
    pub anchor_seq: u64,
    pub last_seq: u64,
    pub events_checked: u64,
    /// The first event whose hash does not follow, and why.
    pub first_bad: Option<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub chains: Vec<ChainReport>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.chains.iter().all(|c| c.first_bad.is_none())
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    /// `agent`, `operator`, `analyst` or `admin` (the server checks the value).
    pub role: String,
    /// PHC string (argon2id), made by the server.
    pub password_hash: String,
    pub disabled: bool,
    pub failed_logins: u32,
    pub locked_until: Option<TimeNs>,
    pub created_at: TimeNs,
}

/// A long-lived token for a field phone or a sensor; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceTokenRecord {
    pub id: String,
    pub user: String,
    pub label: String,
    pub token_sha256: [u8; 32],
    pub created_at: TimeNs,
    pub revoked_at: Option<TimeNs>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("schema version {found} is newer than this program knows ({known})")]
    SchemaTooNew { found: u32, known: u32 },
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("database: {0}")]
    Backend(String),
}

/// A handle to the store; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Store {
    _private: (),
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `url`: a path or `sqlite://PATH`
    /// for SQLite, `postgres://...` for PostgreSQL.
    pub async fn open(_url: &str) -> Result<Store, StoreError> {
        unimplemented!("store skeleton")
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        unimplemented!("store skeleton")
    }

    /// Appends events in the order given, in one transaction: all or none. Durable when it
    /// returns (a process killed afterwards loses none of them).
    pub async fn append(&self, _events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn query(&self, _q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        unimplemented!("store skeleton")
    }

    /// Up to `limit` events of `chain` after `after_seq`, in order (the bus relay's read).
    pub async fn read_after(
        &self,
        _chain: Chain,
        _after_seq: u64,
        _limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        unimplemented!("store skeleton")
    }

    /// The last sequence number of a chain (0 when empty).
    pub async fn last_seq(&self, _chain: Chain) -> Result<u64, StoreError> {
        unimplemented!("store skeleton")
    }

    /// Checks every chain from its anchor to its end.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        unimplemented!("store skeleton")
    }

    /// Deletes the events of `chain` older than `before` (a prefix of the chain) and keeps
    /// the last deleted event's hash as the chain's anchor. Returns how many were deleted.
    pub async fn prune(&self, _chain: Chain, _before: TimeNs) -> Result<u64, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn cursor(&self, _name: &str) -> Result<Option<u64>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn set_cursor(&self, _name: &str, _value: u64) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    /// A named JSON document (zones, allow-list, settings); last write wins.
    pub async fn document(&self, _name: &str) -> Result<Option<String>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn put_document(&self, _name: &str, _json: &str) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn create_user(&self, _user: &UserRecord) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn user(&self, _name: &str) -> Result<Option<UserRecord>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        unimplemented!("store skeleton")
    }

    /// Replaces a user's record (role, password hash, disabled, failures, lock).
    pub async fn update_user(&self, _user: &UserRecord) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn delete_user(&self, _name: &str) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn create_device_token(&self, _t: &DeviceTokenRecord) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn device_token_by_hash(
        &self,
        _sha256: &[u8; 32],
    ) -> Result<Option<DeviceTokenRecord>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn device_tokens(&self) -> Result<Vec<DeviceTokenRecord>, StoreError> {
        unimplemented!("store skeleton")
    }

    pub async fn revoke_device_token(&self, _id: &str, _at: TimeNs) -> Result<(), StoreError> {
        unimplemented!("store skeleton")
    }
}
