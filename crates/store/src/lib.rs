//! The store: an append-only, SHA-256 hash-chained event log (the truth: replay and
//! evidence) with query columns for history, plus the small tables the server needs
//! (users, device tokens, login failures, cursors, documents).
//!
//! Backends behind one handle: SQLite (WAL, one file in a data directory; the default) and
//! PostgreSQL (selected by a `postgres://` URL; PostGIS used for area queries where the
//! extension is available). Both pass the same test suite.
//!
//! How it works and why (the hash definition, durability, retention, schema):
//! `docs/store.md`.

pub mod chain;
mod event;
mod location;
mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod sqlite;
mod verify;

use std::sync::Arc;

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
    /// A delivery to an outside receiver that failed for good (a webhook's dead letter).
    Delivery,
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
            EventKind::Delivery => "delivery",
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
/// (ascending unless `descending`), at most `limit`. A query over several chains (no `chain`,
/// kinds of several chains, or none) returns them one after the other in the order of
/// `Chain::ALL`; page with `after_seq` only within one chain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventQuery {
    /// Kinds to return; empty means every kind of `chain` (of every chain when `chain` is
    /// unset). A kind outside `chain` is a `StoreError::InvalidQuery`.
    pub kinds: Vec<EventKind>,
    pub chain: Option<Chain>,
    /// Event time `t >= from`.
    pub from: Option<TimeNs>,
    /// Event time `t < to`.
    pub to: Option<TimeNs>,
    /// Positions on or inside the box; events without a position never match a box.
    pub bbox: Option<BBox>,
    pub serial: Option<String>,
    pub source: Option<String>,
    pub track_id: Option<u64>,
    /// Only events with `seq > after_seq` (paging).
    pub after_seq: Option<u64>,
    /// At most this many events; 0 means no limit.
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
    /// Hex SHA-256 of the last event checked (the anchor's when none): written down outside
    /// the database, it lets a later check see a log rewritten from there on.
    pub last_hash_hex: String,
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
    /// An event refused before anything of its batch was stored.
    #[error("event {index} of the batch: {field}: {reason}")]
    InvalidEvent {
        index: usize,
        field: String,
        reason: String,
    },
    #[error("query: {0}")]
    InvalidQuery(String),
    #[error("database: {0}")]
    Backend(String),
}

/// How long each chain keeps its events, by event time; `None` keeps them for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retention {
    pub observations_max_age_s: Option<u64>,
    pub tracks_max_age_s: Option<u64>,
    pub records_max_age_s: Option<u64>,
}

impl Retention {
    pub fn max_age_s(&self, chain: Chain) -> Option<u64> {
        match chain {
            Chain::Observations => self.observations_max_age_s,
            Chain::Tracks => self.tracks_max_age_s,
            Chain::Records => self.records_max_age_s,
        }
    }
}

/// What one prune transaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PruneStep {
    pub deleted: u64,
    /// Nothing more to prune for this `before`.
    pub done: bool,
}

/// A prune deletes at most this many events per transaction, so appends interleave.
const PRUNE_STEP_EVENTS: u64 = 20_000;

/// A handle to the store; cheap to clone, safe to share between tasks.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(Arc<sqlite::SqliteStore>),
    #[cfg(feature = "postgres")]
    Postgres(Arc<postgres::PgStore>),
}

/// Runs the same call on whichever backend the store has.
macro_rules! on_backend {
    ($self:ident, $b:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($b) => $call,
            #[cfg(feature = "postgres")]
            Backend::Postgres($b) => $call,
        }
    };
}

impl Store {
    /// Opens (creating and migrating as needed) the store at `url`: a path, `sqlite://PATH`
    /// or `sqlite:PATH` for SQLite (parent directories are created; `?synchronous=full`
    /// makes commits survive power loss too), `postgres://...` or `postgresql://...` for
    /// PostgreSQL.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let backend = match location::Location::parse(url)? {
            location::Location::Sqlite { path, sync } => {
                Backend::Sqlite(Arc::new(sqlite::SqliteStore::open(url, path, sync).await?))
            }
            #[cfg(feature = "postgres")]
            location::Location::Postgres { url } => {
                Backend::Postgres(Arc::new(postgres::PgStore::open(&url).await?))
            }
            #[cfg(not(feature = "postgres"))]
            location::Location::Postgres { url } => {
                return Err(StoreError::Url {
                    url: location::redact(&url),
                    reason: "this build has no PostgreSQL support (cargo feature `postgres`)"
                        .into(),
                });
            }
        };
        Ok(Store { backend })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Appends events in the order given, in one transaction: all or none. Durable when it
    /// returns (a process killed afterwards loses none of them). An event with the kind and
    /// idempotency key of one still stored (or earlier in the batch) stores nothing and
    /// returns that one's seq with `duplicate: true`.
    pub async fn append(&self, mut events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        for (i, e) in events.iter_mut().enumerate() {
            event::check(i, e)?;
        }
        on_backend!(self, b => b.append(events).await)
    }

    pub async fn query(&self, q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        on_backend!(self, b => b.query(q).await)
    }

    /// Up to `limit` events of `chain` with `seq > after_seq`, in seq order: the cheap read
    /// for a relay following the log with a cursor.
    pub async fn read_after(
        &self,
        chain: Chain,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        on_backend!(self, b => b.read_after(chain, after_seq, limit).await)
    }

    /// The last sequence number of a chain (0 when empty).
    pub async fn last_seq(&self, chain: Chain) -> Result<u64, StoreError> {
        on_backend!(self, b => b.last_seq(chain).await)
    }

    /// Checks every chain from its anchor to its end, in one consistent snapshot.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let chains = on_backend!(self, b => b.verify().await)?;
        Ok(VerifyReport { chains })
    }

    /// Deletes the longest prefix of `chain` whose events all have `t < before` (an old
    /// event behind a newer one waits for the newer one) and keeps the last deleted event's
    /// seq and hash as the chain's anchor. The prefix is hash-checked first: a prune never
    /// turns a tampered event into a trusted anchor. Returns how many were deleted.
    pub async fn prune(&self, chain: Chain, before: TimeNs) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let step =
                on_backend!(self, b => b.prune_step(chain, before, PRUNE_STEP_EVENTS).await)?;
            deleted += step.deleted;
            if step.done {
                return Ok(deleted);
            }
        }
    }

    /// Prunes each chain to its retention at `now`; returns how many each lost.
    pub async fn apply_retention(
        &self,
        retention: &Retention,
        now: TimeNs,
    ) -> Result<Vec<(Chain, u64)>, StoreError> {
        let mut out = Vec::new();
        for chain in Chain::ALL {
            if let Some(age_s) = retention.max_age_s(chain) {
                let age_ns = i64::try_from(age_s)
                    .ok()
                    .and_then(|s| s.checked_mul(TimeNs::NS_PER_S))
                    .unwrap_or(i64::MAX);
                let before = TimeNs(now.0.saturating_sub(age_ns));
                out.push((chain, self.prune(chain, before).await?));
            }
        }
        Ok(out)
    }

    pub async fn cursor(&self, name: &str) -> Result<Option<u64>, StoreError> {
        on_backend!(self, b => b.cursor(name).await)
    }

    pub async fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        on_backend!(self, b => b.set_cursor(name, value).await)
    }

    /// A named JSON document (zones, allow-list, settings); last write wins.
    pub async fn document(&self, name: &str) -> Result<Option<String>, StoreError> {
        on_backend!(self, b => b.document(name).await)
    }

    pub async fn put_document(&self, name: &str, json: &str) -> Result<(), StoreError> {
        on_backend!(self, b => b.put_document(name, json).await)
    }

    /// `StoreError::Conflict` when the name is taken.
    pub async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.create_user(user).await)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        on_backend!(self, b => b.user(name).await)
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        on_backend!(self, b => b.users().await)
    }

    /// Replaces a user's record (role, password hash, disabled, failures, lock);
    /// `StoreError::NotFound` when there is no such user.
    pub async fn update_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.update_user(user).await)
    }

    /// Deletes a user and their device tokens.
    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        on_backend!(self, b => b.delete_user(name).await)
    }

    /// `StoreError::Conflict` for a taken id or hash, `NotFound` for an unknown user.
    pub async fn create_device_token(&self, t: &DeviceTokenRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.create_device_token(t).await)
    }

    pub async fn device_token_by_hash(
        &self,
        sha256: &[u8; 32],
    ) -> Result<Option<DeviceTokenRecord>, StoreError> {
        on_backend!(self, b => b.device_token_by_hash(sha256).await)
    }

    /// Every device token, oldest first.
    pub async fn device_tokens(&self) -> Result<Vec<DeviceTokenRecord>, StoreError> {
        on_backend!(self, b => b.device_tokens().await)
    }

    /// Marks a token revoked at `at` (a second revocation keeps the first time).
    pub async fn revoke_device_token(&self, id: &str, at: TimeNs) -> Result<(), StoreError> {
        on_backend!(self, b => b.revoke_device_token(id, at).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server shares one `Store` between tasks and awaits it in axum handlers: the handle
    /// must be `Send + Sync` and every future it returns `Send`.
    #[test]
    fn the_handle_and_its_futures_can_cross_threads() {
        fn handle<T: Send + Sync + Clone + 'static>() {}
        handle::<Store>();
        #[allow(dead_code, clippy::let_underscore_future)]
        fn futures(s: &Store) {
            fn send<T: Send>(_: T) {}
            send(s.append(Vec::new()));
            send(s.query(EventQuery::default()));
            send(s.read_after(Chain::Records, 0, 1));
            send(s.last_seq(Chain::Records));
            send(s.verify());
            send(s.prune(Chain::Records, TimeNs(0)));
            send(s.apply_retention(&Retention::default(), TimeNs(0)));
            send(s.cursor("c"));
            send(s.set_cursor("c", 1));
            send(s.document("d"));
            send(s.put_document("d", "{}"));
            send(s.user("u"));
            send(s.users());
            send(s.device_tokens());
            send(s.device_token_by_hash(&[0; 32]));
            send(s.revoke_device_token("t", TimeNs(0)));
            send(s.delete_user("u"));
        }
    }
}
