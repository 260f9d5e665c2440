//! The in-process bus: the semantics of the JetStream one for a single process.
//!
//! One bounded log of recent messages (a ring: the oldest is dropped when full, so a
//! publisher never waits), read by every subscription at its own pace. A subscription that
//! falls behind the ring's tail is told how many it lost ([`BusError::Lagged`]) and goes on
//! from the oldest still held. Message ids are de-duplicated within the duplicate window
//! (bounded), like JetStream's; durable names keep their acknowledged position per sector
//! and kind for the life of the bus, so a re-subscription resumes after what was acked.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::{Acker, BusCounters, BusError, BusMessage, Delivery, Filter};

#[derive(Debug, Clone)]
pub(crate) struct MemoryConfig {
    /// Messages held for subscribers.
    pub retained: usize,
    /// Ids remembered for de-duplication, at most (and no longer than `duplicate_window`).
    pub dedupe_ids: usize,
    pub duplicate_window: Duration,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            retained: 65_536,
            dedupe_ids: 131_072,
            duplicate_window: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug)]
struct Stored {
    /// Position in the bus's one log (1, 2, ...).
    seq: u64,
    /// Position among its sector's messages (what JetStream's per-sector stream would say).
    sector_seq: u64,
    sector: String,
    kind: String,
    msg: BusMessage,
}

/// Durable positions: durable -> sector -> kind key (`*` when it took every kind) -> last
/// acked log position.
type Positions = HashMap<String, HashMap<String, HashMap<String, u64>>>;

#[derive(Debug, Default)]
struct State {
    log: VecDeque<Arc<Stored>>,
    /// Position the next message gets; `log` holds `next_seq - log.len() .. next_seq`.
    next_seq: u64,
    sector_seq: HashMap<String, u64>,
    ids: HashSet<Arc<str>>,
    id_order: VecDeque<(Arc<str>, Instant)>,
    positions: Positions,
}

impl State {
    fn first_seq(&self) -> u64 {
        self.next_seq - self.log.len() as u64
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    cfg: MemoryConfig,
    counters: BusCounters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent (every update is a
        // few field writes), so a poisoned lock is taken over.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug)]
pub(crate) struct MemoryBus {
    shared: Arc<Shared>,
    /// The next log position; subscriptions wait on it. Dropped with the bus, which ends
    /// the subscriptions once they have read what is left.
    head: watch::Sender<u64>,
}

impl MemoryBus {
    pub fn new(cfg: MemoryConfig) -> MemoryBus {
        let state = State {
            next_seq: 1,
            ..State::default()
        };
        MemoryBus {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                cfg,
                counters: BusCounters::default(),
            }),
            head: watch::Sender::new(1),
        }
    }

    pub fn counters(&self) -> &BusCounters {
        &self.shared.counters
    }

    /// All or nothing: a bad message refuses the whole batch before anything is stored.
    pub fn publish_batch(&self, msgs: &[BusMessage]) -> Result<(), BusError> {
        let mut parsed = Vec::with_capacity(msgs.len());
        for m in msgs {
            let (sector, kind) = m.check()?;
            parsed.push((sector, kind, m));
        }
        let cfg = &self.shared.cfg;
        let now = Instant::now();
        let (mut new, mut dup) = (0u64, 0u64);
        let next = {
            let mut st = self.shared.lock();
            while let Some((id, t)) = st.id_order.front() {
                if st.id_order.len() < cfg.dedupe_ids
                    && now.duration_since(*t) < cfg.duplicate_window
                {
                    break;
                }
                let id = id.clone();
                st.ids.remove(&id);
                st.id_order.pop_front();
            }
            for (sector, kind, m) in parsed {
                if st.ids.contains(m.id.as_str()) {
                    dup += 1;
                    continue;
                }
                let id: Arc<str> = Arc::from(m.id.as_str());
                st.ids.insert(id.clone());
                st.id_order.push_back((id, now));
                if st.id_order.len() > cfg.dedupe_ids
                    && let Some((old, _)) = st.id_order.pop_front()
                {
                    st.ids.remove(&old);
                }
                let sector_seq = {
                    let n = st.sector_seq.entry(sector.to_owned()).or_insert(0);
                    *n += 1;
                    *n
                };
                let seq = st.next_seq;
                st.next_seq += 1;
                st.log.push_back(Arc::new(Stored {
                    seq,
                    sector_seq,
                    sector: sector.to_owned(),
                    kind: kind.to_owned(),
                    msg: m.clone(),
                }));
                if st.log.len() > cfg.retained {
                    st.log.pop_front();
                }
                new += 1;
            }
            st.next_seq
        };
        self.head.send_replace(next);
        let c = &self.shared.counters;
        c.published
            .fetch_add(new, std::sync::atomic::Ordering::Relaxed);
        c.duplicates
            .fetch_add(dup, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub fn subscribe(&self, filter: Filter, durable: &str) -> MemorySubscription {
        let st = self.shared.lock();
        let positions = st.positions.get(durable).cloned().unwrap_or_default();
        MemorySubscription {
            shared: self.shared.clone(),
            head: self.head.subscribe(),
            cursor: st.first_seq(),
            filter,
            durable: durable.to_owned(),
            positions,
            ready: VecDeque::new(),
        }
    }

    pub fn forget_durable(&self, durable: &str) {
        self.shared.lock().positions.remove(durable);
    }
}

#[derive(Debug)]
pub(crate) struct MemorySubscription {
    shared: Arc<Shared>,
    head: watch::Receiver<u64>,
    /// The next log position to look at.
    cursor: u64,
    filter: Filter,
    durable: String,
    /// The durable's acked positions when it subscribed: older messages are skipped.
    positions: HashMap<String, HashMap<String, u64>>,
    ready: VecDeque<Arc<Stored>>,
}

/// Messages taken from the log per lock.
const READ_CHUNK: usize = 512;

impl MemorySubscription {
    fn kind_key<'a>(&self, kind: &'a str) -> &'a str {
        if self.filter.kinds.is_none() {
            "*"
        } else {
            kind
        }
    }

    pub async fn next(&mut self) -> Option<Result<Delivery, BusError>> {
        loop {
            if let Some(s) = self.ready.pop_front() {
                return Some(Ok(self.delivery(s)));
            }
            // Mark the head seen before reading, so a publish after the read wakes us.
            self.head.borrow_and_update();
            {
                let st = self.shared.lock();
                let first = st.first_seq();
                if self.cursor < first {
                    let missed = first - self.cursor;
                    self.cursor = first;
                    return Some(Err(BusError::Lagged { missed }));
                }
                let skip = (self.cursor - first) as usize;
                for s in st.log.iter().skip(skip).take(READ_CHUNK) {
                    self.cursor = s.seq + 1;
                    if !self.filter.takes(&s.sector, &s.kind) {
                        continue;
                    }
                    let acked = self
                        .positions
                        .get(&s.sector)
                        .and_then(|k| k.get(self.kind_key(&s.kind)))
                        .copied()
                        .unwrap_or(0);
                    if s.seq > acked {
                        self.ready.push_back(s.clone());
                    }
                }
                if !self.ready.is_empty() || self.cursor < st.next_seq {
                    continue;
                }
            }
            if self.head.changed().await.is_err() {
                // The bus is gone: hand out what is left, then end.
                let st = self.shared.lock();
                if self.cursor >= st.next_seq {
                    return None;
                }
            }
        }
    }

    fn delivery(&self, s: Arc<Stored>) -> Delivery {
        Delivery {
            subject: s.msg.subject.clone(),
            id: s.msg.id.clone(),
            payload: s.msg.payload.clone(),
            sector: s.sector.clone(),
            kind: s.kind.clone(),
            stream_seq: s.sector_seq,
            delivered: 1,
            acker: Acker::Memory(AckHandle {
                shared: Arc::downgrade(&self.shared),
                durable: self.durable.clone(),
                sector: s.sector.clone(),
                kind_key: self.kind_key(&s.kind).to_owned(),
                seq: s.seq,
            }),
        }
    }
}

/// Acknowledging moves the durable's position forward to this message (acks are
/// cumulative in-process: nothing is redelivered within one process).
#[derive(Debug)]
pub(crate) struct AckHandle {
    shared: std::sync::Weak<Shared>,
    durable: String,
    sector: String,
    kind_key: String,
    seq: u64,
}

impl AckHandle {
    pub fn ack(self) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let mut st = shared.lock();
        let pos = st
            .positions
            .entry(self.durable)
            .or_default()
            .entry(self.sector)
            .or_default()
            .entry(self.kind_key)
            .or_insert(0);
        *pos = (*pos).max(self.seq);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Bus;
    use bytes::Bytes;

    fn msg(sector: &str, kind: &str, seq: u64) -> BusMessage {
        BusMessage::new(sector, kind, "c", seq, Bytes::from(format!("p{seq}"))).unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    async fn next_id(sub: &mut crate::Subscription) -> String {
        let d = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let id = d.id.clone();
        d.ack().await.unwrap();
        id
    }

    #[tokio::test]
    async fn filters_dedupes_and_resumes_a_durable() {
        let bus = Bus::in_process();
        assert_eq!(bus.kind(), "memory");
        let batch: Vec<_> = (1..=6)
            .map(|i| msg(if i % 2 == 0 { "a" } else { "b" }, "tracks", i))
            .collect();
        bus.publish_batch(&batch).await.unwrap();
        bus.publish_batch(&batch[..3]).await.unwrap(); // re-sent: de-duplicated
        let st = bus.status();
        assert_eq!((st.published, st.duplicates), (6, 3));

        let mut sub = bus
            .subscribe(&strings(&["a"]), &strings(&["tracks"]), "hq")
            .await
            .unwrap();
        assert_eq!(next_id(&mut sub).await, "a.c.2");
        assert_eq!(next_id(&mut sub).await, "a.c.4");
        drop(sub);
        // Resumes after what was acked.
        let mut sub = bus
            .subscribe(&strings(&["a"]), &strings(&["tracks"]), "hq")
            .await
            .unwrap();
        assert_eq!(next_id(&mut sub).await, "a.c.6");
        // A live publish wakes it; other kinds are not delivered.
        bus.publish_batch(&[msg("a", "alerts", 7), msg("a", "tracks", 8)])
            .await
            .unwrap();
        let d = sub.next().await.unwrap().unwrap();
        assert_eq!(
            (d.id.as_str(), d.sector.as_str(), d.kind.as_str()),
            ("a.c.8", "a", "tracks")
        );
        assert_eq!(d.stream_seq, 5, "the fifth message of sector a");
        // Every sector, every kind, from a new durable: everything held.
        let mut all = bus.subscribe(&strings(&["*"]), &[], "all").await.unwrap();
        let mut n = 0;
        while n < 8 {
            next_id(&mut all).await;
            n += 1;
        }
        drop(bus);
        assert!(sub.next().await.is_none(), "ends when the bus is gone");
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_what_it_lost_and_publishers_never_wait() {
        let bus = Bus::in_process_with_capacity(100);
        let mut sub = bus.subscribe(&strings(&["*"]), &[], "slow").await.unwrap();
        for i in 0..10 {
            let batch: Vec<_> = (1..=100).map(|j| msg("s", "obs", i * 100 + j)).collect();
            bus.publish_batch(&batch).await.unwrap();
        }
        match sub.next().await.unwrap() {
            Err(BusError::Lagged { missed }) => assert_eq!(missed, 900),
            other => panic!("{other:?}"),
        }
        assert_eq!(next_id(&mut sub).await, "s.c.901");
    }

    #[tokio::test]
    async fn a_bad_message_refuses_the_whole_batch() {
        let bus = Bus::in_process();
        let mut bad = msg("s", "k", 2);
        bad.subject = "dw.s".into();
        let err = bus
            .publish_batch(&[msg("s", "k", 1), bad])
            .await
            .unwrap_err();
        assert!(matches!(err, BusError::Subject(_)), "{err}");
        assert_eq!(bus.status().published, 0);
        assert_eq!(bus.status().failed_batches, 1);
    }

    #[tokio::test]
    async fn ids_are_forgotten_after_the_window() {
        let bus = Bus::in_process_with(MemoryConfig {
            duplicate_window: Duration::from_millis(1),
            ..MemoryConfig::default()
        });
        bus.publish_batch(&[msg("s", "k", 1)]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        bus.publish_batch(&[msg("s", "k", 1)]).await.unwrap();
        assert_eq!(bus.status().published, 2);
    }
}
