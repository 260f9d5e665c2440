//! docs/store.md defines the hash chain precisely enough for someone else to check a store:
//! `scripts/verify_store_sqlite.py`, written from that page in Python with no dronewatch
//! code, agrees with `Store::verify` on a clean log and on a tampered one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use dronewatch_model::{Lla, TimeNs};
use dronewatch_store::{Chain, EventKind};
use support::{TestDb, observation, record, track};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/verify_store_sqlite.py")
}

/// Runs the script; None (after saying why) when there is no python3.
fn run_script(db: &std::path::Path) -> Option<(bool, String)> {
    match Command::new("python3").arg(script()).arg(db).output() {
        Ok(out) => Some((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )),
        Err(e) => {
            let msg = format!("python3 not runnable ({e}): this test needs it");
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_python_verifier_agrees_with_verify() {
    let db = TestDb::sqlite();
    let path = db.sqlite_path().unwrap().to_path_buf();
    let store = db.open().await;
    let mut alert = record(
        EventKind::Alert,
        3.0,
        Some("c-1"),
        r#"{"note":"ünïcödé ✈"}"#,
    );
    alert.serial = Some("1581F5FKD229400CX5".into());
    alert.track_id = Some(u64::MAX);
    alert.position = Some(Lla::new(-33.9, 151.2, -12.5));
    let mut events: Vec<_> = (0..40)
        .map(|i| observation(i, i as f64, "radar-1"))
        .collect();
    events.push(alert);
    events.push(track(7, 1.0, 69.6, 179.99));
    events.push(record(EventKind::Audit, -5.0, None, ""));
    store.append(events).await.unwrap();
    store
        .prune(Chain::Observations, TimeNs::from_secs_f64(10.0))
        .await
        .unwrap();
    store
        .append(vec![observation(99, 1.0, "rf-2")])
        .await
        .unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.ok());
    drop(store);

    let Some((ok, out)) = run_script(&path) else {
        return;
    };
    assert!(ok, "{out}");
    for c in &report.chains {
        let line = format!("{}: ok, {} events", c.chain.as_str(), c.events_checked);
        assert!(out.contains(&line), "{out} lacks {line}");
    }

    db.raw("UPDATE events_records SET body = '{\"note\":\"edited\"}' WHERE seq = 1")
        .await
        .unwrap();
    let (ok, out) = run_script(&path).unwrap();
    assert!(!ok, "{out}");
    assert!(
        out.contains("records: BAD at seq 1: hash mismatch"),
        "{out}"
    );
    let store = db.open().await;
    let report = store.verify().await.unwrap();
    assert_eq!(
        report.chains[2].first_bad.as_ref().map(|b| b.0),
        Some(1),
        "{report:?}"
    );
}
