//! The bus between dronewatch nodes: subjects `dw.<sector>.<kind>` (`observations`,
//! `tracks`, `alerts`, ...). In-process (one node, the default) or NATS JetStream
//! (scale-out: sector nodes publish, HQ nodes subscribe to several sectors).
//!
//! A sector node never waits on the bus: what it publishes comes from its own durable event
//! log through an [`Outbox`] and the [`relay`], which publishes in order, with a message id
//! per event (JetStream de-duplicates on it), and advances its cursor only after the bus
//! acknowledged. While the bus is unreachable the relay retries; nothing is lost (the log
//! holds it) and nothing is duplicated (message ids, and subscribers see sequence numbers).
//!
//! SKELETON: the public API the server codes against. Bodies are filled in by the bus work.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

/// One message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// `dw.<sector>.<kind>`.
    pub subject: String,
    /// Unique per message and stable across retries (`<sector>.<chain>.<seq>`): the bus
    /// stores a message id once.
    pub id: String,
    pub payload: Bytes,
}

/// The subject for a sector and kind, checked: sector and kind are `[A-Za-z0-9_-]+`.
pub fn subject(sector: &str, kind: &str) -> Result<String, BusError> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !ok(sector) {
        return Err(BusError::Subject(format!("bad sector name {sector:?}")));
    }
    if !ok(kind) {
        return Err(BusError::Subject(format!("bad kind {kind:?}")));
    }
    Ok(format!("dw.{sector}.{kind}"))
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("subject: {0}")]
    Subject(String),
    /// The bus cannot be reached now; try again later.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    #[error("bus: {0}")]
    Other(String),
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `None` or `memory:` for in-process; `nats://host:port` for NATS JetStream.
    pub url: Option<String>,
    /// How long JetStream keeps messages [s].
    pub max_age_s: u64,
    /// JetStream's de-duplication window [s]: must exceed the longest outage whose
    /// in-flight messages may be re-sent.
    pub duplicate_window_s: u64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_age_s: 7 * 24 * 3600,
            duplicate_window_s: 24 * 3600,
        }
    }
}

/// A handle to the bus; cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    _private: Arc<()>,
}

impl Bus {
    /// The in-process bus.
    pub fn in_process() -> Bus {
        unimplemented!("bus skeleton")
    }

    /// Connects as configured. Never fails because a NATS server is unreachable now: the
    /// client keeps trying in the background and publishes fail with
    /// [`BusError::Unavailable`] meanwhile.
    pub async fn connect(_cfg: &BusConfig) -> Result<Bus, BusError> {
        unimplemented!("bus skeleton")
    }

    /// `"memory"` or `"nats"`.
    pub fn kind(&self) -> &'static str {
        unimplemented!("bus skeleton")
    }

    /// Publishes messages in order and waits until the bus acknowledged every one.
    pub async fn publish_batch(&self, _msgs: &[BusMessage]) -> Result<(), BusError> {
        unimplemented!("bus skeleton")
    }

    /// A durable subscription to `sectors`' messages of `kinds` (`"*"` for every sector),
    /// resuming where the consumer named `durable` left off.
    pub async fn subscribe(
        &self,
        _sectors: &[String],
        _kinds: &[String],
        _durable: &str,
    ) -> Result<Subscription, BusError> {
        unimplemented!("bus skeleton")
    }
}

/// A stream of deliveries.
#[derive(Debug)]
pub struct Subscription {
    _private: (),
}

impl Subscription {
    /// The next delivery; `None` when the subscription ended. Errors are transient (the
    /// subscription keeps going).
    pub async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        unimplemented!("bus skeleton")
    }
}

/// A delivered message; acknowledge it once it is safely handled, or it is redelivered.
#[derive(Debug)]
pub struct Delivery {
    pub subject: String,
    pub id: String,
    pub payload: Bytes,
    /// What acknowledges it (the backend's handle).
    acker: Acker,
}

#[derive(Debug)]
#[allow(dead_code)] // skeleton: constructed once the bodies exist
enum Acker {
    Memory,
}

impl Delivery {
    pub async fn ack(self) -> Result<(), BusError> {
        match self.acker {
            Acker::Memory => Ok(()),
        }
    }
}

/// Where the relay reads what to publish: a durable, ordered log with a cursor.
pub trait Outbox: Send + Sync {
    /// Up to `limit` messages after `cursor`, each with its own cursor value, in order.
    fn read_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(u64, BusMessage)>, BusError>> + Send;
    /// The cursor last committed (0 at the start).
    fn committed(&self) -> impl Future<Output = Result<u64, BusError>> + Send;
    /// Records that everything up to `cursor` is on the bus.
    fn commit(&self, cursor: u64) -> impl Future<Output = Result<(), BusError>> + Send;
}

/// Relay counters.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub published: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
    /// 1 while the bus is unreachable.
    pub disconnected: std::sync::atomic::AtomicU64,
    /// Messages read from the outbox and not yet acknowledged by the bus.
    pub backlog: std::sync::atomic::AtomicU64,
}

/// Publishes an outbox to the bus until `shutdown`: in order, in batches, retrying with
/// backoff while the bus is unavailable, committing the cursor after each acknowledged
/// batch. `wake` is notified when the outbox has new messages.
pub async fn relay<O: Outbox>(
    _outbox: O,
    _bus: Bus,
    _wake: Arc<tokio::sync::Notify>,
    _stats: Arc<RelayStats>,
    _shutdown: CancellationToken,
) {
    unimplemented!("bus skeleton")
}
