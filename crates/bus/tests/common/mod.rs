//! Helpers for the bus tests: an in-memory outbox, unique names, and for the JetStream
//! tests the shared server check (SKIPPED, or a failure under CI), a cuttable TCP proxy,
//! a private `nats-server` that can be killed and restarted, and stream clean-up.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dronewatch_bus::{
    Bus, BusError, BusMessage, Delivery, Outbox, RelayStats, Subscription, relay,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const KINDS: [&str; 3] = ["observations", "tracks", "alerts"];

/// A name no other test run uses: `<tag>-<pid>-<counter><nanos>`, all `[A-Za-z0-9_-]`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{tag}-{}-{}{ns:09}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Prints why a test does nothing; under CI that is a failure instead.
pub fn skip(msg: &str) {
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
}

/// Message `seq` (1-based) of a sector's test feed: kinds in turn, a ~300-byte payload.
pub fn message(sector: &str, chain: &str, seq: u64) -> BusMessage {
    let kind = KINDS[(seq % 3) as usize];
    let mut payload = format!("{{\"sector\":\"{sector}\",\"seq\":{seq},\"pad\":\"");
    while payload.len() < 290 {
        payload.push('x');
    }
    payload.push_str("\"}");
    BusMessage::new(sector, kind, chain, seq, Bytes::from(payload)).unwrap()
}

/// The outbox of a test: messages in a vector (cursor = index + 1), commits recorded, and
/// failures to inject.
#[derive(Debug, Default)]
pub struct TestOutbox {
    msgs: Mutex<Vec<BusMessage>>,
    committed: AtomicU64,
    /// Fail this many commits from now on.
    pub fail_commits: AtomicU64,
    /// Fail every commit while set.
    pub refuse_commits: AtomicBool,
    /// Fail this many reads from now on.
    pub fail_reads: AtomicU64,
    pub commits: AtomicU64,
}

impl TestOutbox {
    pub fn new() -> Arc<TestOutbox> {
        Arc::new(TestOutbox::default())
    }

    /// The same messages, committed up to `committed`: a node restarted on its own log.
    pub fn reopened(&self, committed: u64) -> Arc<TestOutbox> {
        let o = TestOutbox::default();
        *o.msgs.lock().unwrap() = self.msgs.lock().unwrap().clone();
        o.committed.store(committed, Ordering::SeqCst);
        Arc::new(o)
    }

    pub fn push(&self, m: BusMessage) {
        self.msgs.lock().unwrap().push(m);
    }

    pub fn len(&self) -> u64 {
        self.msgs.lock().unwrap().len() as u64
    }

    pub fn ids(&self) -> Vec<String> {
        self.msgs
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect()
    }

    pub fn committed_now(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }
}

fn take_one(n: &AtomicU64) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl Outbox for TestOutbox {
    async fn read_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, BusMessage)>, BusError> {
        if take_one(&self.fail_reads) {
            return Err(BusError::Other("injected read failure".into()));
        }
        let msgs = self.msgs.lock().unwrap();
        let from = (cursor as usize).min(msgs.len());
        let to = (from + limit).min(msgs.len());
        Ok(msgs[from..to]
            .iter()
            .enumerate()
            .map(|(i, m)| ((from + i + 1) as u64, m.clone()))
            .collect())
    }

    async fn committed(&self) -> Result<u64, BusError> {
        Ok(self.committed.load(Ordering::SeqCst))
    }

    async fn commit(&self, cursor: u64) -> Result<(), BusError> {
        if self.refuse_commits.load(Ordering::SeqCst) || take_one(&self.fail_commits) {
            return Err(BusError::Other("injected commit failure".into()));
        }
        let before = self.committed.swap(cursor, Ordering::SeqCst);
        assert!(cursor > before, "commit {cursor} after {before}");
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits until `done()` holds, panicking with `what` after `within`.
pub async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A relay running in a task.
pub struct Running {
    pub stats: Arc<RelayStats>,
    pub wake: Arc<Notify>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub fn start(outbox: Arc<TestOutbox>, bus: &Bus) -> Running {
    let stats = Arc::new(RelayStats::default());
    let wake = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let task = tokio::spawn(relay(
        outbox,
        bus.clone(),
        wake.clone(),
        stats.clone(),
        stop.clone(),
    ));
    Running {
        stats,
        wake,
        stop,
        task,
    }
}

impl Running {
    /// Shuts it down; it must stop promptly whatever it was doing.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the relay stops on shutdown")
            .unwrap();
    }
}

/// Appends `count` messages of the test feed after what the outbox holds, in chunks,
/// waking the relay after each: data keeps arriving whatever the bus does.
pub fn feed(
    outbox: Arc<TestOutbox>,
    wake: Arc<Notify>,
    sector: String,
    count: u64,
    chunk: u64,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut left = count;
        while left > 0 {
            let n = left.min(chunk);
            let next = outbox.len() + 1;
            for seq in next..next + n {
                outbox.push(message(&sector, "log", seq));
            }
            left -= n;
            wake.notify_one();
            tokio::time::sleep(every).await;
        }
    })
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// What a test keeps of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub id: String,
    pub sector: String,
    pub kind: String,
    pub stream_seq: u64,
    pub delivered: u64,
}

/// Takes `n` deliveries (acking each), then makes sure nothing more comes for `quiet`.
/// Transient errors are counted, not fatal.
pub async fn collect(
    sub: &mut Subscription,
    n: usize,
    within: Duration,
    quiet: Duration,
) -> (Vec<Got>, usize) {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::with_capacity(n);
    let mut errors = 0;
    while got.len() < n {
        let next = tokio::time::timeout_at(deadline, sub.next()).await;
        match next {
            Err(_) => panic!("got {} of {n} deliveries in {within:?}", got.len()),
            Ok(None) => panic!("subscription ended after {} of {n}", got.len()),
            Ok(Some(Err(e))) => {
                eprintln!("transient: {e}");
                errors += 1;
            }
            Ok(Some(Ok(d))) => got.push(ack(d).await),
        }
    }
    // Nothing beyond: no duplicate, no stray.
    loop {
        match tokio::time::timeout(quiet, sub.next()).await {
            Err(_) => break,
            Ok(Some(Err(e))) => {
                eprintln!("transient: {e}");
                errors += 1;
            }
            Ok(Some(Ok(d))) => panic!("unexpected extra delivery {:?}", ack(d).await),
            Ok(None) => break,
        }
    }
    (got, errors)
}

async fn ack(d: Delivery) -> Got {
    let g = Got {
        id: d.id.clone(),
        sector: d.sector.clone(),
        kind: d.kind.clone(),
        stream_seq: d.stream_seq,
        delivered: d.delivered,
    };
    d.ack().await.unwrap();
    g
}

#[cfg(feature = "nats")]
#[allow(unused_imports)]
pub use dronewatch_testdata::nats::*;

/// Deletes the sectors' streams when dropped.
#[cfg(feature = "nats")]
pub fn cleanup(url: &str, sectors: &[String]) -> Cleanup {
    let streams: Vec<String> = sectors
        .iter()
        .map(|s| dronewatch_bus::stream_name(s).unwrap())
        .collect();
    Cleanup::new(url, &streams)
}

/// Messages the sector's stream holds now.
#[cfg(feature = "nats")]
pub async fn sector_messages(url: &str, sector: &str) -> u64 {
    stream_messages(url, &dronewatch_bus::stream_name(sector).unwrap()).await
}
