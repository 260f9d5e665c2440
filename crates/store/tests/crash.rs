//! An append acknowledged is an append kept, even when the process is killed with SIGKILL
//! right after (or in the middle of the next one).
//!
//! The test binary plays both parts: run as usual it is the parent, which starts this same
//! test again as a child process (with `DW_STORE_CRASH_CHILD_URL` set) that appends batches
//! and prints each acknowledgement; the parent kills it mid-run, reopens the store and
//! checks that every acknowledged event is there, that no batch is there in part, and that
//! the chains verify. Three rounds on the same store, so appending after a crash is tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dronewatch_model::TimeNs;
use dronewatch_store::{Chain, EventKind, NewEvent, Store};
use support::{TestDb, TestResult};

const CHILD_URL: &str = "DW_STORE_CRASH_CHILD_URL";
const OBS_PER_BATCH: u64 = 200;
/// Acknowledgements the parent waits for in each round before it kills the child.
const ACKS_BEFORE_KILL: usize = 15;
const ROUNDS: usize = 3;

fn obs_body(batch: u64, i: u64) -> String {
    format!(r#"{{"batch":{batch},"i":{i},"pad":"{}"}}"#, "x".repeat(200))
}

fn batch(b: u64) -> Vec<NewEvent> {
    let mut events: Vec<NewEvent> = (0..OBS_PER_BATCH)
        .map(|i| NewEvent {
            kind: EventKind::Observation,
            t: TimeNs(b as i64 * 1_000_000_000 + i as i64),
            source: Some("radar-1".into()),
            serial: None,
            track_id: None,
            position: None,
            idempotency_key: None,
            body: obs_body(b, i),
        })
        .collect();
    events.push(NewEvent {
        kind: EventKind::Sighting,
        t: TimeNs(b as i64),
        source: Some("agent-1".into()),
        serial: None,
        track_id: None,
        position: None,
        idempotency_key: Some(format!("batch-{b}")),
        body: format!(r#"{{"batch":{b}}}"#),
    });
    events
}

/// The child: appends batches, numbered on from what the store holds, and prints
/// `ack <batch> <first observation seq> <last observation seq> <record seq>` after each.
/// Bounded in time, should the parent never kill it.
async fn child(url: &str) {
    let store = Store::open(url).await.unwrap();
    let mut b = store.last_seq(Chain::Records).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = std::io::stdout().lock();
    while Instant::now() < deadline {
        let acks = store.append(batch(b)).await.unwrap();
        let first = acks[0].seq;
        let last = acks[OBS_PER_BATCH as usize - 1].seq;
        let rec = acks[OBS_PER_BATCH as usize].seq;
        writeln!(out, "ack {b} {first} {last} {rec}").unwrap();
        out.flush().unwrap();
        b += 1;
    }
}

#[derive(Debug, Clone, Copy)]
struct Ack {
    batch: u64,
    first: u64,
    last: u64,
    rec: u64,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut f = line.strip_prefix("ack ")?.split(' ').map(str::parse::<u64>);
    Some(Ack {
        batch: f.next()?.ok()?,
        first: f.next()?.ok()?,
        last: f.next()?.ok()?,
        rec: f.next()?.ok()?,
    })
}

/// Starts the child, kills it with SIGKILL a little after `ACKS_BEFORE_KILL` acks, and
/// returns every ack it printed.
fn run_and_kill(test_name: &str, url: &str) -> Vec<Ack> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_URL, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = parse_ack(&line) {
                let _ = tx.send(a);
            }
        }
    });
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < ACKS_BEFORE_KILL {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(a) => acks.push(a),
            Err(e) => {
                let _ = child.kill();
                panic!(
                    "the child stopped acknowledging after {} acks: {e}",
                    acks.len()
                );
            }
        }
    }
    // Somewhere inside a later append, not at an acknowledgement.
    let jitter_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros() % 20_000);
    std::thread::sleep(Duration::from_micros(u64::from(jitter_us)));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was not killed: {status:?}"
    );
    reader.join().unwrap();
    // Acks printed before the kill and still in the pipe count too.
    acks.extend(rx.try_iter());
    acks
}

async fn check_after_kill(store: &Store, acks: &[Ack], round: usize) -> TestResult {
    let report = store.verify().await?;
    assert!(report.ok(), "round {round}: {report:?}");
    for a in acks {
        let obs = store
            .read_after(Chain::Observations, a.first - 1, OBS_PER_BATCH as usize)
            .await?;
        assert_eq!(obs.len() as u64, OBS_PER_BATCH, "batch {}", a.batch);
        assert_eq!(obs.last().map(|e| e.seq), Some(a.last));
        for (i, e) in obs.iter().enumerate() {
            assert_eq!(
                e.body,
                obs_body(a.batch, i as u64),
                "batch {} seq {}",
                a.batch,
                e.seq
            );
        }
        let rec = store.read_after(Chain::Records, a.rec - 1, 1).await?;
        assert_eq!(rec[0].body, format!(r#"{{"batch":{}}}"#, a.batch));
    }
    // Whatever committed unacknowledged is whole batches: all or nothing.
    let obs_last = store.last_seq(Chain::Observations).await?;
    let rec_last = store.last_seq(Chain::Records).await?;
    assert_eq!(
        obs_last,
        rec_last * OBS_PER_BATCH,
        "round {round}: a batch is there in part"
    );
    let acked = acks.iter().map(|a| a.rec).max().unwrap_or(0);
    assert!(
        rec_last >= acked,
        "round {round}: acknowledged batch {acked} lost ({rec_last})"
    );
    eprintln!(
        "round {round}: {} batches acknowledged, {} committed unacknowledged",
        acks.len(),
        rec_last - acked
    );
    Ok(())
}

async fn kill9_rounds(db: &TestDb, test_name: &str) -> TestResult {
    let mut all_acks = Vec::new();
    for round in 0..ROUNDS {
        let url = db.url.clone();
        let name = test_name.to_string();
        let acks = tokio::task::spawn_blocking(move || run_and_kill(&name, &url)).await?;
        assert!(acks.len() >= ACKS_BEFORE_KILL);
        all_acks.extend(acks);
        let store = db.open().await;
        check_after_kill(&store, &all_acks, round).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_appends_acknowledged_before_kill_9_survive() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        return child(&url).await;
    }
    let db = TestDb::sqlite();
    if let Err(e) = kill9_rounds(&db, "sqlite_appends_acknowledged_before_kill_9_survive").await {
        panic!("{e}");
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_appends_acknowledged_before_kill_9_survive() {
    if let Ok(url) = std::env::var(CHILD_URL) {
        return child(&url).await;
    }
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    if let Err(e) = kill9_rounds(&db, "postgres_appends_acknowledged_before_kill_9_survive").await {
        panic!("{e}");
    }
}
