//! The outbox relay: from a node's durable log to the bus, in order, nothing lost, nothing
//! duplicated.
//!
//! One batch at a time: read after the committed cursor, publish (the bus acknowledges
//! every message), commit the batch's last cursor. A batch that failed is published again,
//! whole: what had reached the bus comes back as duplicates of known ids and is not stored
//! twice. A commit that failed is retried alone (the messages are on the bus already); if
//! the process dies before it, the next relay publishes the batch again, de-duplicated the
//! same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{Bus, BusError, BusMessage, Outbox};

/// Messages read from the outbox per batch. The bus has them all in flight before it waits
/// for acks (JetStream: up to `nats::MAX_IN_FLIGHT` at once).
pub(crate) const BATCH: usize = 2_000;
/// Backoff after a failure: doubles from the first to the cap.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Looks at the outbox this often even without a `wake` (a missed notification costs at
/// most this much latency).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Relay counters.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub published: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
    /// 1 while the bus is unreachable.
    pub disconnected: std::sync::atomic::AtomicU64,
    /// Messages read from the outbox and not yet acknowledged by the bus.
    pub backlog: std::sync::atomic::AtomicU64,
    /// The cursor last committed.
    pub committed: AtomicU64,
    /// Messages skipped because the bus can never take them (bad subject or id, too large);
    /// each is logged with its id. They stay in the node's own log.
    pub rejected: AtomicU64,
    /// Failed commits (each retried).
    pub commit_failures: AtomicU64,
}

/// A copy of [`RelayStats`] at one moment, for health and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RelayCounts {
    pub published: u64,
    pub retries: u64,
    pub disconnected: bool,
    pub backlog: u64,
    pub committed: u64,
    pub rejected: u64,
    pub commit_failures: u64,
}

impl RelayStats {
    pub fn snapshot(&self) -> RelayCounts {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RelayCounts {
            published: get(&self.published),
            retries: get(&self.retries),
            disconnected: get(&self.disconnected) != 0,
            backlog: get(&self.backlog),
            committed: get(&self.committed),
            rejected: get(&self.rejected),
            commit_failures: get(&self.commit_failures),
        }
    }
}

/// Capped exponential backoff.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            next: BACKOFF_FIRST,
        }
    }
    fn reset(&mut self) {
        self.next = BACKOFF_FIRST;
    }
    fn step(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(BACKOFF_CAP);
        d
    }
}

/// What ends a wait.
enum Woken {
    Shutdown,
    Go,
}

/// Sleeps `d`, or less when the bus reconnects; `Shutdown` when cancelled.
async fn back_off(
    d: Duration,
    reconnected: &mut Option<tokio::sync::watch::Receiver<bool>>,
    shutdown: &CancellationToken,
) -> Woken {
    let reconnect = async {
        match reconnected {
            // Disconnected when the publish was tried: go as soon as the link is back.
            // Connected then (the failure was something else): the full backoff.
            Some(rx) if !*rx.borrow() => {
                if rx.wait_for(|up| *up).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => Woken::Shutdown,
        _ = tokio::time::sleep(d) => Woken::Go,
        _ = reconnect => Woken::Go,
    }
}

/// Publishes an outbox to the bus until `shutdown`: in order, in batches, retrying with
/// backoff while the bus is unavailable, committing the cursor after each acknowledged
/// batch. `wake` is notified when the outbox has new messages.
///
/// A message the bus can never take (bad subject, too large: [`BusError::Subject`] /
/// [`BusError::Rejected`]) is logged, counted in `rejected` and passed over, so one bad
/// record cannot stop a sector's feed; every other failure is retried until it succeeds.
pub async fn relay<O: Outbox>(
    outbox: O,
    bus: Bus,
    wake: Arc<Notify>,
    stats: Arc<RelayStats>,
    shutdown: CancellationToken,
) {
    let mut reconnected = bus.reconnected();
    let mut backoff = Backoff::new();

    // Where to start: the outbox's committed cursor.
    let mut cursor = loop {
        match outbox.committed().await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "relay: reading the outbox cursor failed; retrying");
                stats.retries.fetch_add(1, Ordering::Relaxed);
                if let Woken::Shutdown = back_off(backoff.step(), &mut None, &shutdown).await {
                    return;
                }
            }
        }
    };
    stats.committed.store(cursor, Ordering::Relaxed);
    backoff.reset();
    tracing::info!(cursor, bus = bus.kind(), "relay started");

    // A batch read and not yet committed: published again until the bus takes it.
    // `batch_end` is the cursor of the last message read into it (refused ones included);
    // equal to `cursor` when nothing is pending.
    let mut batch: Vec<(u64, BusMessage)> = Vec::new();
    let mut batch_end = cursor;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        if batch_end == cursor {
            // Register interest before reading, so a `notify_waiters` between the read and
            // the wait is not missed (`notify_one` stores a permit anyway).
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let read = match outbox.read_after(cursor, BATCH).await {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(error = %e, cursor, "relay: reading the outbox failed; retrying");
                    stats.retries.fetch_add(1, Ordering::Relaxed);
                    if let Woken::Shutdown = back_off(backoff.step(), &mut None, &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            let Some(end) = read.last().map(|(c, _)| *c) else {
                stats.backlog.store(0, Ordering::Relaxed);
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            };
            let mut prev = cursor;
            if let Some((bad, _)) = read.iter().find(|(c, _)| {
                let ok = *c > prev;
                prev = *c;
                !ok
            }) {
                // A broken outbox: committing past this could skip messages.
                tracing::error!(
                    cursor,
                    got = *bad,
                    "relay: outbox cursors do not increase after the committed one; retrying the read"
                );
                stats.retries.fetch_add(1, Ordering::Relaxed);
                if let Woken::Shutdown = back_off(backoff.step(), &mut None, &shutdown).await {
                    break;
                }
                continue;
            }
            batch_end = end;
            // Messages the bus can never take are passed over here, once.
            batch = read
                .into_iter()
                .filter(|(c, m)| match m.check() {
                    Ok(_) => true,
                    Err(e) => {
                        tracing::error!(cursor = c, id = %m.id, subject = %m.subject, error = %e,
                            "relay: message refused, passed over");
                        stats.rejected.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                })
                .collect();
            stats.backlog.store(batch.len() as u64, Ordering::Relaxed);
        }

        if !batch.is_empty() {
            let msgs: Vec<BusMessage> = batch.iter().map(|(_, m)| m.clone()).collect();
            match bus.publish_batch(&msgs).await {
                Ok(()) => {
                    if stats.disconnected.swap(0, Ordering::Relaxed) != 0 {
                        tracing::info!(backlog = msgs.len(), "relay: bus reachable again");
                    }
                    stats
                        .published
                        .fetch_add(msgs.len() as u64, Ordering::Relaxed);
                    backoff.reset();
                }
                Err(BusError::Rejected { id, reason }) => {
                    // One message the bus will never take: pass over it, publish the rest.
                    tracing::error!(%id, %reason, "relay: message refused by the bus, passed over");
                    stats.rejected.fetch_add(1, Ordering::Relaxed);
                    let before = batch.len();
                    batch.retain(|(_, m)| m.id != id);
                    if batch.len() == before {
                        // Not one of ours (cannot happen): do not spin on it.
                        batch.clear();
                        batch_end = cursor;
                    }
                    stats.backlog.store(batch.len() as u64, Ordering::Relaxed);
                    continue;
                }
                Err(e) => {
                    let unavailable = matches!(e, BusError::Unavailable(_));
                    if !unavailable {
                        tracing::warn!(error = %e, "relay: publishing failed; retrying");
                    } else if stats.disconnected.swap(1, Ordering::Relaxed) == 0 {
                        tracing::warn!(error = %e, backlog = batch.len(),
                            "relay: bus unavailable; the outbox keeps what is not sent");
                    } else {
                        tracing::debug!(error = %e, "relay: bus still unavailable");
                    }
                    stats.retries.fetch_add(1, Ordering::Relaxed);
                    let wait = backoff.step();
                    let woken = if unavailable {
                        back_off(wait, &mut reconnected, &shutdown).await
                    } else {
                        back_off(wait, &mut None, &shutdown).await
                    };
                    if let Woken::Shutdown = woken {
                        break;
                    }
                    continue;
                }
            }
        }

        if !commit(&outbox, batch_end, &stats, &mut backoff, &shutdown).await {
            break;
        }
        cursor = batch_end;
        batch.clear();
        stats.backlog.store(0, Ordering::Relaxed);
    }
    tracing::info!(cursor, "relay stopped");
}

/// Commits `cursor`, retrying with backoff; `false` when shut down first.
async fn commit<O: Outbox>(
    outbox: &O,
    cursor: u64,
    stats: &RelayStats,
    backoff: &mut Backoff,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        match outbox.commit(cursor).await {
            Ok(()) => {
                stats.committed.store(cursor, Ordering::Relaxed);
                return true;
            }
            Err(e) => {
                tracing::warn!(error = %e, cursor, "relay: commit failed; retrying (the batch is on the bus)");
                stats.commit_failures.fetch_add(1, Ordering::Relaxed);
                stats.retries.fetch_add(1, Ordering::Relaxed);
                if let Woken::Shutdown = back_off(backoff.step(), &mut None, shutdown).await {
                    return false;
                }
            }
        }
    }
}
