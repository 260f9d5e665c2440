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
//! On JetStream each sector has its own stream `DW_<sector>` over `dw.<sector>.>`; a
//! subscription is one durable pull consumer per sector (and kind) merged into one
//! [`Subscription`]. Guarantees and limits: `docs/bus.md`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

mod memory;
mod names;
#[cfg(feature = "nats")]
mod nats;
mod relay;
mod seen;

pub use names::{
    MAX_NAME_LEN, MessageId, STREAM_PREFIX, SUBJECT_PREFIX, is_valid_name, parse_subject,
    sector_of_stream, stream_name, stream_subjects, subject,
};
pub use relay::{RelayCounts, RelayStats, relay};
pub use seen::SeenIds;

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

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("subject: {0}")]
    Subject(String),
    /// The bus cannot be reached now; try again later.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
    /// A subscriber fell so far behind that the in-process bus dropped messages it had not
    /// read yet (the bus never blocks publishers); the subscription goes on after the gap.
    #[error("subscriber too slow: {missed} messages dropped before it read them")]
    Lagged { missed: u64 },
    /// The bus refuses this message and always will (too large, bad subject): retrying
    /// cannot help.
    #[error("message {id:?} refused: {reason}")]
    Rejected { id: String, reason: String },
    #[error("bus: {0}")]
    Other(String),
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `None` or `memory:` for in-process; `nats://host:port` for NATS JetStream (several
    /// servers separated by commas; `tls://` for TLS).
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

impl BusConfig {
    fn check(&self) -> Result<(), BusError> {
        let bad = |reason: String| BusError::Url {
            url: self.url.clone().unwrap_or_default(),
            reason,
        };
        if self.duplicate_window_s == 0 {
            return Err(bad("duplicate_window_s must be at least 1 s".into()));
        }
        if self.max_age_s != 0 && self.duplicate_window_s > self.max_age_s {
            return Err(bad(format!(
                "duplicate_window_s ({}) exceeds max_age_s ({}): JetStream refuses that",
                self.duplicate_window_s, self.max_age_s
            )));
        }
        Ok(())
    }
}

/// A handle to the bus; cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    inner: Arc<Backend>,
}

#[derive(Debug)]
enum Backend {
    Memory(memory::MemoryBus),
    #[cfg(feature = "nats")]
    Nats(nats::NatsBus),
}

/// What a health endpoint shows of the bus.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BusStatus {
    /// `"memory"` or `"nats"`.
    pub kind: &'static str,
    /// The URL without credentials (`memory:` in-process).
    pub url: String,
    /// Connected now (always `true` in-process).
    pub connected: bool,
    /// Messages the bus acknowledged as newly stored.
    pub published: u64,
    /// Messages the bus acknowledged as ones it already had (re-sent after a failure).
    pub duplicates: u64,
    /// `publish_batch` calls that failed.
    pub failed_batches: u64,
}

/// Counters every backend keeps.
#[derive(Debug, Default)]
struct BusCounters {
    published: AtomicU64,
    duplicates: AtomicU64,
    failed_batches: AtomicU64,
}

impl Bus {
    /// The in-process bus.
    pub fn in_process() -> Bus {
        Bus::in_process_with(memory::MemoryConfig::default())
    }

    /// The in-process bus keeping at most `retained` messages for its subscribers (a slower
    /// subscriber gets [`BusError::Lagged`]).
    pub fn in_process_with_capacity(retained: usize) -> Bus {
        Bus::in_process_with(memory::MemoryConfig {
            retained: retained.max(1),
            ..memory::MemoryConfig::default()
        })
    }

    fn in_process_with(cfg: memory::MemoryConfig) -> Bus {
        Bus {
            inner: Arc::new(Backend::Memory(memory::MemoryBus::new(cfg))),
        }
    }

    /// Connects as configured. Never fails because a NATS server is unreachable now: the
    /// client keeps trying in the background and publishes fail with
    /// [`BusError::Unavailable`] meanwhile.
    pub async fn connect(cfg: &BusConfig) -> Result<Bus, BusError> {
        cfg.check()?;
        let url = match cfg.url.as_deref().map(str::trim) {
            None | Some("memory:") | Some("memory") => {
                return Ok(Bus::in_process_with(memory::MemoryConfig {
                    duplicate_window: std::time::Duration::from_secs(cfg.duplicate_window_s),
                    ..memory::MemoryConfig::default()
                }));
            }
            Some(url) => url,
        };
        let is_nats = url
            .split(',')
            .all(|u| u.trim().starts_with("nats://") || u.trim().starts_with("tls://"));
        if !is_nats {
            return Err(BusError::Url {
                url: url.to_owned(),
                reason: "want memory: or nats://host:port".into(),
            });
        }
        #[cfg(feature = "nats")]
        {
            let nats = nats::NatsBus::connect(url, cfg).await?;
            Ok(Bus {
                inner: Arc::new(Backend::Nats(nats)),
            })
        }
        #[cfg(not(feature = "nats"))]
        {
            Err(BusError::Url {
                url: url.to_owned(),
                reason: "this build has no NATS support (cargo feature `nats`)".into(),
            })
        }
    }

    /// `"memory"` or `"nats"`.
    pub fn kind(&self) -> &'static str {
        match &*self.inner {
            Backend::Memory(_) => "memory",
            #[cfg(feature = "nats")]
            Backend::Nats(_) => "nats",
        }
    }

    /// Connection and counters, for health.
    pub fn status(&self) -> BusStatus {
        let (url, connected, c) = match &*self.inner {
            Backend::Memory(m) => ("memory:".to_owned(), true, m.counters()),
            #[cfg(feature = "nats")]
            Backend::Nats(n) => (n.display_url(), n.is_connected(), n.counters()),
        };
        BusStatus {
            kind: self.kind(),
            url,
            connected,
            published: c.published.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// Publishes messages in order and waits until the bus acknowledged every one.
    ///
    /// On JetStream each message carries its id as `Nats-Msg-Id` (the stream stores an id
    /// once per duplicate window) and, after the first of the batch, the id of the message
    /// before it in the same sector as `Nats-Expected-Last-Msg-Id`: a message whose
    /// predecessor did not reach the stream is refused instead of stored out of order, and
    /// the batch fails. Fails with [`BusError::Unavailable`] at once while disconnected or
    /// when the connection drops mid-batch, and after 5 s without an ack; then publish the
    /// same messages again (what was stored is de-duplicated). In-process a batch is all or
    /// nothing.
    pub async fn publish_batch(&self, msgs: &[BusMessage]) -> Result<(), BusError> {
        let result = match &*self.inner {
            Backend::Memory(m) => m.publish_batch(msgs),
            #[cfg(feature = "nats")]
            Backend::Nats(n) => n.publish_batch(msgs).await,
        };
        if result.is_err() {
            let c = match &*self.inner {
                Backend::Memory(m) => m.counters(),
                #[cfg(feature = "nats")]
                Backend::Nats(n) => n.counters(),
            };
            c.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// A durable subscription to `sectors`' messages of `kinds` (`"*"` for every sector),
    /// resuming where the consumer named `durable` left off.
    ///
    /// `kinds` empty or holding `"*"` means every kind. A new durable starts at the oldest
    /// message the bus still holds. Messages come in order per sector and kind (per sector
    /// when every kind is asked for), except redeliveries, which can come late (see
    /// [`Delivery::delivered`] and [`SeenIds`]); sectors are interleaved as they arrive. With
    /// `"*"` the subscription also picks up sectors that appear later (JetStream: checked
    /// every few seconds).
    pub async fn subscribe(
        &self,
        sectors: &[String],
        kinds: &[String],
        durable: &str,
    ) -> Result<Subscription, BusError> {
        let filter = Filter::new(sectors, kinds)?;
        names::check_name("durable", durable)?;
        let inner = match &*self.inner {
            Backend::Memory(m) => SubInner::Memory(m.subscribe(filter, durable)),
            #[cfg(feature = "nats")]
            Backend::Nats(n) => SubInner::Nats(n.subscribe(filter, durable).await?),
        };
        Ok(Subscription { inner })
    }

    /// Deletes what a durable subscription left on the bus (JetStream: its consumers on the
    /// streams of `sectors`, `"*"` for every sector). Nothing to do in-process beyond
    /// forgetting its position.
    pub async fn delete_durable(
        &self,
        sectors: &[String],
        kinds: &[String],
        durable: &str,
    ) -> Result<(), BusError> {
        let filter = Filter::new(sectors, kinds)?;
        names::check_name("durable", durable)?;
        match &*self.inner {
            Backend::Memory(m) => {
                let _ = filter; // positions are per durable in-process
                m.forget_durable(durable);
                Ok(())
            }
            #[cfg(feature = "nats")]
            Backend::Nats(n) => n.delete_durable(&filter, durable).await,
        }
    }

    /// A watch that changes when the connection comes back (JetStream), so a relay backing
    /// off can retry at once. `None` in-process.
    pub(crate) fn reconnected(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        match &*self.inner {
            Backend::Memory(_) => None,
            #[cfg(feature = "nats")]
            Backend::Nats(n) => Some(n.connected_watch()),
        }
    }
}

/// Which sectors and kinds a subscription takes.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// `None`: every sector.
    sectors: Option<Vec<String>>,
    /// `None`: every kind.
    kinds: Option<Vec<String>>,
}

impl Filter {
    fn new(sectors: &[String], kinds: &[String]) -> Result<Filter, BusError> {
        let sectors = if sectors.iter().any(|s| s == "*") {
            None
        } else if sectors.is_empty() {
            return Err(BusError::Subject(
                "no sector to subscribe to (\"*\" means every sector)".into(),
            ));
        } else {
            Some(dedup_names("sector", sectors)?)
        };
        let kinds = if kinds.is_empty() || kinds.iter().any(|k| k == "*") {
            None
        } else {
            Some(dedup_names("kind", kinds)?)
        };
        Ok(Filter { sectors, kinds })
    }

    fn takes(&self, sector: &str, kind: &str) -> bool {
        self.sectors
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == sector))
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.iter().any(|x| x == kind))
    }
}

fn dedup_names(what: &str, names: &[String]) -> Result<Vec<String>, BusError> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        names::check_name(what, n)?;
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    Ok(out)
}

/// A stream of deliveries.
#[derive(Debug)]
pub struct Subscription {
    inner: SubInner,
}

#[derive(Debug)]
enum SubInner {
    Memory(memory::MemorySubscription),
    #[cfg(feature = "nats")]
    Nats(nats::NatsSubscription),
}

impl Subscription {
    /// The next delivery; `None` when the subscription ended. Errors are transient (the
    /// subscription keeps going).
    pub async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        match &mut self.inner {
            SubInner::Memory(m) => m.next().await,
            #[cfg(feature = "nats")]
            SubInner::Nats(n) => n.next().await,
        }
    }
}

/// A delivered message; acknowledge it once it is safely handled, or it is redelivered.
#[derive(Debug)]
pub struct Delivery {
    pub subject: String,
    pub id: String,
    pub payload: Bytes,
    /// From the subject.
    pub sector: String,
    pub kind: String,
    /// Position in the sector's stream (JetStream stream sequence; in-process, a count per
    /// sector). Rises along the stream; a message stored again after its duplicate window
    /// has a new one, so de-duplicate on [`Delivery::id`], not on this.
    pub stream_seq: u64,
    /// How many times this message was delivered to the durable consumer, 1 the first
    /// time; more means an earlier delivery was not acknowledged in time (or the ack was
    /// lost), and the message may already have been handled.
    pub delivered: u64,
    /// What acknowledges it (the backend's handle).
    acker: Acker,
}

#[derive(Debug)]
enum Acker {
    Memory(memory::AckHandle),
    #[cfg(feature = "nats")]
    Nats(Box<async_nats::jetstream::Message>),
}

impl Delivery {
    pub async fn ack(self) -> Result<(), BusError> {
        match self.acker {
            Acker::Memory(h) => {
                h.ack();
                Ok(())
            }
            #[cfg(feature = "nats")]
            Acker::Nats(m) => m
                .ack()
                .await
                .map_err(|e| BusError::Unavailable(format!("ack of {}: {e}", self.id))),
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

/// An outbox shared with the code that writes it.
impl<T: Outbox + ?Sized> Outbox for Arc<T> {
    fn read_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(u64, BusMessage)>, BusError>> + Send {
        (**self).read_after(cursor, limit)
    }
    fn committed(&self) -> impl Future<Output = Result<u64, BusError>> + Send {
        (**self).committed()
    }
    fn commit(&self, cursor: u64) -> impl Future<Output = Result<(), BusError>> + Send {
        (**self).commit(cursor)
    }
}
