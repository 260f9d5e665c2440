//! Properties of the log, on SQLite and on PostgreSQL:
//! - any sequence of appends (with idempotency keys), prunes and reopens keeps every chain
//!   dense from its anchor, gives the seqs and duplicates a simple model predicts, and
//!   verifies;
//! - any single-byte change to any stored value of an event or of a chain's anchor/head
//!   is found by verify, at or before the changed event.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use dronewatch_model::{Lla, TimeNs};
use dronewatch_store::{Chain, EventKind, NewEvent, Store};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::TestDb;

const KINDS: [EventKind; 4] = [
    EventKind::Observation,
    EventKind::Track,
    EventKind::Sighting,
    EventKind::Alert,
];

fn chain_index(c: Chain) -> usize {
    Chain::ALL.iter().position(|x| *x == c).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    /// (kind, key, t in seconds)
    Append(Vec<(usize, Option<u8>, i16)>),
    Prune(usize, i16),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0..KINDS.len(), prop::option::of(0..5u8), -40..40i16), 0..10)
            .prop_map(Op::Append),
        2 => (0..3usize, -45..45i16).prop_map(|(c, b)| Op::Prune(c, b)),
        1 => Just(Op::Reopen),
    ]
}

/// A retained event in the model: (seq, t_ns, kind index, key).
type Kept = (u64, i64, usize, Option<u8>);

/// What the store should hold: per chain, the anchor, the head and the retained events.
#[derive(Debug, Default, Clone)]
struct Model {
    anchor: [u64; 3],
    head: [u64; 3],
    kept: [Vec<Kept>; 3],
}

fn event(kind: usize, key: Option<u8>, t_s: i16) -> NewEvent {
    NewEvent {
        kind: KINDS[kind],
        t: TimeNs(i64::from(t_s) * 1_000_000_000),
        source: Some("s".into()),
        serial: None,
        track_id: None,
        position: None,
        idempotency_key: key.map(|k| format!("k{k}")),
        body: format!(r#"{{"t":{t_s}}}"#),
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

async fn run_ops(db: &TestDb, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut store = db.open().await;
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::Append(evs) => {
                let acks = store
                    .append(evs.iter().map(|&(k, key, t)| event(k, key, t)).collect())
                    .await
                    .map_err(fail)?;
                prop_assert_eq!(acks.len(), evs.len());
                for (&(k, key, t), a) in evs.iter().zip(&acks) {
                    let c = chain_index(KINDS[k].chain());
                    let first = key.and_then(|key| {
                        m.kept[c]
                            .iter()
                            .find(|e| e.2 == k && e.3 == Some(key))
                            .map(|e| e.0)
                    });
                    match first {
                        Some(seq) => prop_assert_eq!((a.seq, a.duplicate), (seq, true)),
                        None => {
                            m.head[c] += 1;
                            prop_assert_eq!((a.seq, a.duplicate), (m.head[c], false));
                            m.kept[c].push((a.seq, i64::from(t) * 1_000_000_000, k, key));
                        }
                    }
                }
            }
            Op::Prune(c, before_s) => {
                let before = i64::from(*before_s) * 1_000_000_000;
                let n = m.kept[*c].iter().take_while(|e| e.1 < before).count();
                if n > 0 {
                    m.anchor[*c] = m.kept[*c][n - 1].0;
                }
                m.kept[*c].drain(..n);
                let deleted = store
                    .prune(Chain::ALL[*c], TimeNs(before))
                    .await
                    .map_err(fail)?;
                prop_assert_eq!(deleted, n as u64);
            }
            Op::Reopen => {
                drop(store);
                store = db.open().await;
            }
        }
        let report = store.verify().await.map_err(fail)?;
        prop_assert!(report.ok(), "{:?} after {:?}", report, op);
    }
    let report = store.verify().await.map_err(fail)?;
    for (c, chain) in Chain::ALL.into_iter().enumerate() {
        let seqs: Vec<u64> = store
            .read_after(chain, 0, usize::MAX)
            .await
            .map_err(fail)?
            .iter()
            .map(|e| e.seq)
            .collect();
        let want: Vec<u64> = m.kept[c].iter().map(|e| e.0).collect();
        prop_assert_eq!(&seqs, &want);
        // Dense: the retained events are exactly anchor+1 ..= head.
        prop_assert_eq!(seqs, ((m.anchor[c] + 1)..=m.head[c]).collect::<Vec<_>>());
        prop_assert_eq!(store.last_seq(chain).await.map_err(fail)?, m.head[c]);
        let r = &report.chains[c];
        prop_assert_eq!(
            (r.anchor_seq, r.last_seq, r.events_checked),
            (m.anchor[c], m.head[c], m.kept[c].len() as u64)
        );
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        max_shrink_iters: 64,
        ..Config::default()
    })
}

fn random_ops_keep_chains_dense_and_verifying(backend: &str, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    if backend == "postgres" && !postgres_here(&rt) {
        return;
    }
    let mut r = runner(cases);
    let result = r.run(&prop::collection::vec(op(), 1..16), |ops| {
        rt.block_on(async {
            let db = new_db(backend).await;
            run_ops(&db, &ops).await
        })
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
}

/// A random event with every field random and optional.
fn any_event() -> impl Strategy<Value = NewEvent> {
    (
        0..KINDS.len(),
        any::<i64>(),
        prop::option::of("[a-z0-9-]{0,12}"),
        prop::option::of("[A-Z0-9]{1,20}"),
        prop::option::of(any::<u64>()),
        prop::option::of((-90.0..=90.0f64, -180.0..=180.0f64, -500.0..9000.0f64)),
        prop::option::of("[a-z0-9]{1,8}"),
        "[ -~]{0,80}",
    )
        .prop_map(
            |(k, t, source, serial, track_id, pos, key, body)| NewEvent {
                kind: KINDS[k],
                t: TimeNs(t),
                source,
                serial,
                track_id,
                position: pos.map(|(a, b, c)| Lla::new(a, b, c)),
                idempotency_key: key,
                body,
            },
        )
}

const EVENT_COLUMNS: [&str; 13] = [
    "seq",
    "kind",
    "t_ns",
    "stored_at_ns",
    "source",
    "serial",
    "track_id",
    "lat_deg",
    "lon_deg",
    "h_m",
    "idempotency_key",
    "body",
    "hash",
];
const STATE_COLUMNS: [&str; 5] = [
    "chain",
    "anchor_seq",
    "anchor_hash",
    "head_seq",
    "head_hash",
];

#[derive(Debug, Clone)]
struct Tamper {
    /// Pick among the chains that have events (or the chain_state row).
    chain: usize,
    row: usize,
    state_row: bool,
    column: usize,
    byte: usize,
    mask: u8,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    (
        0..3usize,
        any::<usize>(),
        prop::bool::weighted(0.2),
        any::<usize>(),
        any::<usize>(),
        1..=255u8,
    )
        .prop_map(|(chain, row, state_row, column, byte, mask)| Tamper {
            chain,
            row,
            state_row,
            column,
            byte,
            mask,
        })
}

fn table(c: Chain) -> String {
    format!("events_{}", c.as_str())
}

async fn tamper_is_found(
    db: &TestDb,
    batches: &[Vec<NewEvent>],
    prune: Option<i64>,
    t: &Tamper,
) -> Result<(), TestCaseError> {
    let store: Store = db.open().await;
    for b in batches {
        store.append(b.clone()).await.map_err(fail)?;
    }
    if let Some(before) = prune {
        store
            .prune(Chain::ALL[t.chain], TimeNs(before))
            .await
            .map_err(fail)?;
    }
    prop_assert!(store.verify().await.map_err(fail)?.ok());
    let chain = Chain::ALL[t.chain];
    let seqs: Vec<u64> = store
        .read_after(chain, 0, usize::MAX)
        .await
        .map_err(fail)?
        .iter()
        .map(|e| e.seq)
        .collect();
    let (applied, at_seq) = if t.state_row || seqs.is_empty() {
        let column = STATE_COLUMNS[t.column % STATE_COLUMNS.len()];
        let w = format!("chain = '{}'", chain.as_str());
        let ok = db
            .tamper_byte("chain_state", &w, column, t.byte, t.mask)
            .await
            .map_err(fail)?;
        (ok, None)
    } else {
        let seq = seqs[t.row % seqs.len()];
        let column = EVENT_COLUMNS[t.column % EVENT_COLUMNS.len()];
        let ok = db
            .tamper_byte(
                &table(chain),
                &format!("seq = {seq}"),
                column,
                t.byte,
                t.mask,
            )
            .await
            .map_err(fail)?;
        (ok, Some(seq))
    };
    if !applied {
        REFUSED.fetch_add(1, Ordering::Relaxed);
    }
    prop_assume!(applied, "the database refused this change");
    APPLIED.fetch_add(1, Ordering::Relaxed);
    let report = store.verify().await.map_err(fail)?;
    for r in &report.chains {
        if r.chain == chain {
            let bad = r.first_bad.clone();
            prop_assert!(bad.is_some(), "{:?} not found: {:?}", t, r);
            if let (Some((bad_seq, _)), Some(seq)) = (bad, at_seq) {
                prop_assert!(
                    bad_seq <= seq,
                    "{:?}: reported {} after {}",
                    t,
                    bad_seq,
                    seq
                );
            }
        } else {
            prop_assert!(r.first_bad.is_none(), "{:?}", r);
        }
    }
    Ok(())
}

static APPLIED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

fn any_single_byte_tamper_is_found(backend: &str, cases: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    if backend == "postgres" && !postgres_here(&rt) {
        return;
    }
    let mut r = runner(cases);
    let strategy = (
        prop::collection::vec(prop::collection::vec(any_event(), 1..12), 1..4),
        prop::option::of(any::<i64>()),
        tamper(),
    );
    let result = r.run(&strategy, |(batches, prune, t)| {
        rt.block_on(async {
            let db = new_db(backend).await;
            tamper_is_found(&db, &batches, prune, &t).await
        })
    });
    if let Err(e) = result {
        panic!("{backend}: {e}");
    }
    // Both counters are shared by the two backends' tests; they only inform.
    eprintln!(
        "{backend}: tampers applied so far {}, refused by the database {}",
        APPLIED.load(Ordering::Relaxed),
        REFUSED.load(Ordering::Relaxed)
    );
}

async fn new_db(backend: &str) -> TestDb {
    match backend {
        "sqlite" => TestDb::sqlite(),
        #[cfg(feature = "postgres")]
        _ => TestDb::postgres().await.unwrap(),
        #[cfg(not(feature = "postgres"))]
        _ => unreachable!(),
    }
}

/// False (after saying so) when the PostgreSQL server is away; fails under CI.
fn postgres_here(rt: &tokio::runtime::Runtime) -> bool {
    #[cfg(feature = "postgres")]
    {
        rt.block_on(TestDb::postgres()).is_some()
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = rt;
        false
    }
}

#[test]
fn sqlite_random_ops_keep_chains_dense_and_verifying() {
    random_ops_keep_chains_dense_and_verifying("sqlite", 64);
}

#[test]
fn sqlite_any_single_byte_tamper_is_found() {
    any_single_byte_tamper_is_found("sqlite", 160);
}

// Fewer cases on PostgreSQL: each makes a database (with the PostGIS extension, when
// installed), about a second apiece.
#[cfg(feature = "postgres")]
#[test]
fn postgres_random_ops_keep_chains_dense_and_verifying() {
    random_ops_keep_chains_dense_and_verifying("postgres", 16);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_any_single_byte_tamper_is_found() {
    any_single_byte_tamper_is_found("postgres", 32);
}
