//! The writer thread: owns the one writing connection. Appends waiting in its queue are
//! committed together (group commit); should that transaction fail, each batch is retried
//! on its own so that one failing batch leaves the others in. The chain heads are read inside the write-locked transaction, so
//! even a second process on the same file cannot fork a chain.

use std::thread::JoinHandle;

use dronewatch_model::TimeNs;
use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::{chain_state, db, raw_event};
use crate::chain::event_hash;
use crate::event::{fields_of, now_ns, table};
use crate::verify::Walk;
use crate::{Appended, Chain, NewEvent, PruneStep, StoreError};

/// Appends queued behind the first are taken into its transaction up to this many events.
const GROUP_MAX_EVENTS: usize = 50_000;
/// Queued commands before `send` waits (back-pressure on the producers).
const QUEUE: usize = 256;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Command {
    Append(Vec<NewEvent>, Reply<Vec<Appended>>),
    Prune {
        chain: Chain,
        before: TimeNs,
        max_rows: u64,
        reply: Reply<PruneStep>,
    },
    /// Any other write; the closure sends its own result.
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

#[derive(Debug)]
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

fn stopped() -> StoreError {
    StoreError::Backend("sqlite: the store's writer thread has stopped".into())
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("dw-store-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    async fn send(&self, c: Command) -> Result<(), StoreError> {
        match &self.tx {
            Some(tx) => tx.send(c).await.map_err(|_| stopped()),
            None => Err(stopped()),
        }
    }

    pub(crate) async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Append(events, tx)).await?;
        rx.await.map_err(|_| stopped())?
    }

    pub(crate) async fn prune_step(
        &self,
        chain: Chain,
        before: TimeNs,
        max_rows: u64,
    ) -> Result<PruneStep, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Prune {
            chain,
            before,
            max_rows,
            reply,
        })
        .await?;
        rx.await.map_err(|_| stopped())?
    }

    /// Runs `f` on the writing connection, in queue order with the appends.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Run(Box::new(move |c| {
            let _ = tx.send(f(c));
        })))
        .await?;
        rx.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    /// Closing the queue lets the thread finish what is queued and close the file; waiting
    /// for it means a store dropped is a store closed (reopening right after is clean).
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the SQLite writer thread panicked");
        }
    }
}

fn run(mut conn: Connection, mut rx: mpsc::Receiver<Command>) {
    let sql = Statements::new();
    let mut next = rx.blocking_recv();
    while let Some(cmd) = next.take() {
        match cmd {
            Command::Append(events, reply) => {
                let mut n = events.len();
                let mut group = vec![(events, reply)];
                // Take what queued up meanwhile into the same transaction.
                while n < GROUP_MAX_EVENTS {
                    match rx.try_recv() {
                        Ok(Command::Append(e, r)) => {
                            n += e.len();
                            group.push((e, r));
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                append_group(&mut conn, &sql, group);
            }
            Command::Prune {
                chain,
                before,
                max_rows,
                reply,
            } => {
                let _ = reply.send(prune_step(&mut conn, chain, before, max_rows));
            }
            Command::Run(f) => f(&mut conn),
        }
        if next.is_none() {
            next = rx.blocking_recv();
        }
    }
    // Leaves the query planner statistics fresh for the next open.
    if let Err(e) = conn.execute_batch("PRAGMA optimize") {
        tracing::warn!("sqlite: PRAGMA optimize at close: {e}");
    }
}

/// SQL text per chain, built once.
struct Statements {
    insert: [String; 3],
    duplicate: [String; 3],
}

fn idx(c: Chain) -> usize {
    match c {
        Chain::Observations => 0,
        Chain::Tracks => 1,
        Chain::Records => 2,
    }
}

impl Statements {
    fn new() -> Statements {
        let insert = Chain::ALL.map(|c| {
            format!(
                "INSERT INTO {} (seq, kind, t_ns, stored_at_ns, source, serial, track_id, \
                 lat_deg, lon_deg, h_m, idempotency_key, body, hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                table(c)
            )
        });
        let duplicate = Chain::ALL.map(|c| {
            format!(
                "SELECT seq FROM {} WHERE kind = ?1 AND idempotency_key = ?2",
                table(c)
            )
        });
        Statements { insert, duplicate }
    }
}

/// The last seq and hash of each chain, as the transaction goes.
#[derive(Debug, Clone)]
struct Heads {
    seq: [u64; 3],
    hash: [[u8; 32]; 3],
    dirty: [bool; 3],
}

impl Heads {
    fn read(conn: &Connection) -> Result<Heads, StoreError> {
        let mut h = Heads {
            seq: [0; 3],
            hash: [[0; 32]; 3],
            dirty: [false; 3],
        };
        for c in Chain::ALL {
            let s = chain_state(conn, c)?.ok_or_else(|| {
                StoreError::Backend(format!(
                    "sqlite: chain_state has no row for {} (run verify)",
                    c.as_str()
                ))
            })?;
            let bad = || StoreError::Backend(format!("sqlite: malformed head of {}", c.as_str()));
            h.seq[idx(c)] = u64::try_from(s.head_seq).map_err(|_| bad())?;
            h.hash[idx(c)] = <[u8; 32]>::try_from(s.head_hash.as_slice()).map_err(|_| bad())?;
        }
        Ok(h)
    }

    fn write(&self, conn: &Connection) -> Result<(), StoreError> {
        let mut st = conn
            .prepare_cached("UPDATE chain_state SET head_seq = ?1, head_hash = ?2 WHERE chain = ?3")
            .map_err(db)?;
        for c in Chain::ALL {
            let i = idx(c);
            if self.dirty[i] {
                st.execute(params![self.seq[i] as i64, &self.hash[i][..], c.as_str()])
                    .map_err(db)?;
            }
        }
        Ok(())
    }
}

fn append_group(
    conn: &mut Connection,
    sql: &Statements,
    group: Vec<(Vec<NewEvent>, Reply<Vec<Appended>>)>,
) {
    let (batches, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
    let results: Vec<Result<Vec<Appended>, StoreError>> = match append_all(conn, sql, &batches) {
        Ok(r) => r.into_iter().map(Ok).collect(),
        Err(e) if batches.len() == 1 => vec![Err(e)],
        // Rare (the events were checked before they were queued): find the failing batch by
        // appending each on its own, so the others still go in.
        Err(e) => {
            tracing::warn!(
                batches = batches.len(),
                "sqlite: a grouped append failed ({e}); appending its batches one by one"
            );
            batches
                .iter()
                .map(|b| {
                    append_all(conn, sql, std::slice::from_ref(b))
                        .map(|mut r| r.pop().unwrap_or_default())
                })
                .collect()
        }
    };
    for (reply, r) in replies.into_iter().zip(results) {
        let _ = reply.send(r);
    }
}

/// One transaction for all `batches`, all or nothing: durable when `commit` returns. No
/// savepoint per batch: SQLite copies every page a savepoint first touches, about a tenth
/// more CPU per event when measured.
fn append_all(
    conn: &mut Connection,
    sql: &Statements,
    batches: &[Vec<NewEvent>],
) -> Result<Vec<Vec<Appended>>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let mut heads = Heads::read(&tx)?;
    let stored_at = now_ns();
    let mut out = Vec::with_capacity(batches.len());
    for events in batches {
        out.push(append_batch(&tx, sql, &mut heads, events, stored_at)?);
    }
    heads.write(&tx)?;
    tx.commit().map_err(db)?;
    Ok(out)
}

fn append_batch(
    conn: &Connection,
    sql: &Statements,
    heads: &mut Heads,
    events: &[NewEvent],
    stored_at: TimeNs,
) -> Result<Vec<Appended>, StoreError> {
    // Statements looked up once per batch and chain, not per event.
    let mut inserts: [Option<CachedStatement<'_>>; 3] = [None, None, None];
    let mut lookups: [Option<CachedStatement<'_>>; 3] = [None, None, None];
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let chain = e.kind.chain();
        let i = idx(chain);
        if let Some(key) = &e.idempotency_key {
            let st = match &mut lookups[i] {
                Some(st) => st,
                empty => empty.insert(conn.prepare_cached(&sql.duplicate[i]).map_err(db)?),
            };
            // Also finds a duplicate earlier in this batch or group: same transaction.
            let first: Option<i64> = st
                .query_row(params![e.kind.as_str(), key], |r| r.get(0))
                .optional()
                .map_err(db)?;
            if let Some(seq) = first {
                out.push(Appended {
                    chain,
                    seq: seq as u64,
                    duplicate: true,
                });
                continue;
            }
        }
        let seq = heads.seq[i] + 1;
        let hash = event_hash(&heads.hash[i], &fields_of(chain, seq, stored_at, e));
        let p = e.position;
        let st = match &mut inserts[i] {
            Some(st) => st,
            empty => empty.insert(conn.prepare_cached(&sql.insert[i]).map_err(db)?),
        };
        st.execute(params![
            seq as i64,
            e.kind.as_str(),
            e.t.0,
            stored_at.0,
            e.source,
            e.serial,
            e.track_id.map(|v| v as i64),
            p.map(|p| p.lat_deg),
            p.map(|p| p.lon_deg),
            p.map(|p| p.h_m),
            e.idempotency_key,
            e.body,
            &hash[..],
        ])
        .map_err(db)?;
        heads.seq[i] = seq;
        heads.hash[i] = hash;
        heads.dirty[i] = true;
        out.push(Appended {
            chain,
            seq,
            duplicate: false,
        });
    }
    Ok(out)
}

/// Deletes at most `max_rows` of the prefix of `chain` whose events are all older than
/// `before`, after checking that prefix's hashes, and moves the anchor to its last event.
fn prune_step(
    conn: &mut Connection,
    chain: Chain,
    before: TimeNs,
    max_rows: u64,
) -> Result<PruneStep, StoreError> {
    let t = table(chain);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let state = chain_state(&tx, chain)?;
    let (anchor, head) = match &state {
        Some(s) => (s.anchor_seq, s.head_seq),
        None => (0, 0),
    };
    let window_end = head.min(anchor.saturating_add(max_rows as i64));
    let first_young: Option<i64> = tx
        .prepare_cached(&format!(
            "SELECT seq FROM {t} WHERE seq > ?1 AND seq <= ?2 AND t_ns >= ?3 ORDER BY seq LIMIT 1"
        ))
        .and_then(|mut st| {
            st.query_row(params![anchor, window_end, before.0], |r| r.get(0))
                .optional()
        })
        .map_err(db)?;
    let end = first_young.map_or(window_end, |s| s - 1);
    let done = first_young.is_some() || window_end >= head;
    if end <= anchor {
        return Ok(PruneStep { deleted: 0, done });
    }
    // Never launder a tampered prefix into a trusted anchor.
    let mut walk = Walk::new(chain, state);
    {
        let mut st = tx
            .prepare_cached(&format!(
                "SELECT {} FROM {t} WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
                crate::event::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = st.query(params![anchor, end]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            walk.step(raw_event(r).map_err(db)?);
            if !walk.ok() {
                break;
            }
        }
    }
    let anchor_hash = walk.prefix_hash(end as u64).map_err(|(seq, why)| {
        StoreError::Backend(format!(
            "refusing to prune {}: seq {seq} does not verify: {why}",
            chain.as_str()
        ))
    })?;
    let deleted = tx
        .execute(&format!("DELETE FROM {t} WHERE seq <= ?1"), [end])
        .map_err(db)?;
    tx.execute(
        "UPDATE chain_state SET anchor_seq = ?1, anchor_hash = ?2 WHERE chain = ?3",
        params![end, &anchor_hash[..], chain.as_str()],
    )
    .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(PruneStep {
        deleted: deleted as u64,
        done,
    })
}
