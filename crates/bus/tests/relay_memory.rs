//! The relay against the in-process bus: the failure cases that need no server (a commit
//! failing, a read failing, a restart between publish and commit, a refused message, a
//! slow subscriber).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use dronewatch_bus::{Bus, BusConfig, BusError};

#[tokio::test]
async fn every_message_once_in_order_through_injected_failures() {
    let bus = Bus::connect(&BusConfig::default()).await.unwrap();
    assert_eq!(bus.kind(), "memory");
    let sector = unique("mem");
    let mut sub = bus.subscribe(&strings(&["*"]), &[], "t").await.unwrap();
    let outbox = TestOutbox::new();
    outbox.fail_reads.store(2, Ordering::SeqCst);
    outbox.fail_commits.store(1, Ordering::SeqCst);
    let r = start(outbox.clone(), &bus);
    // Fed while it runs, woken for each chunk.
    for chunk in 0..10u64 {
        for i in 1..=500 {
            outbox.push(message(&sector, "log", chunk * 500 + i));
        }
        r.wake.notify_one();
        tokio::task::yield_now().await;
    }
    wait_until("all committed", Duration::from_secs(20), || {
        outbox.committed_now() == 5_000
    })
    .await;
    let (got, errors) = collect(
        &mut sub,
        5_000,
        Duration::from_secs(10),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(errors, 0);
    let ids: Vec<String> = got.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids, outbox.ids(), "every id once, in order");
    let s = r.stats.snapshot();
    assert_eq!(s.committed, 5_000);
    assert_eq!(s.commit_failures, 1);
    assert!(s.retries >= 3, "{s:?}");
    assert_eq!(s.backlog, 0);
    assert!(!s.disconnected);
    // The failed commit was retried alone: nothing was published twice.
    assert_eq!(bus.status().duplicates, 0);
    assert_eq!(bus.status().published, 5_000);
    r.stop().await;
}

#[tokio::test]
async fn a_restart_between_publish_and_commit_publishes_again_and_the_bus_drops_it() {
    let bus = Bus::in_process();
    let sector = unique("mem");
    let outbox = TestOutbox::new();
    for i in 1..=3_000 {
        outbox.push(message(&sector, "log", i));
    }
    outbox.refuse_commits.store(true, Ordering::SeqCst);
    let r = start(outbox.clone(), &bus);
    wait_until("a failed commit", Duration::from_secs(10), || {
        r.stats.snapshot().commit_failures >= 1
    })
    .await;
    let first = bus.status().published;
    assert!(first >= 1, "the first batch is on the bus");
    r.stop().await; // "crashes" with the batch published and not committed
    assert_eq!(outbox.committed_now(), 0);

    let again = outbox.reopened(0);
    let r = start(again.clone(), &bus);
    wait_until("all committed", Duration::from_secs(10), || {
        again.committed_now() == 3_000
    })
    .await;
    let st = bus.status();
    assert_eq!(st.published, 3_000, "each id stored once");
    assert_eq!(st.duplicates, first, "the re-sent batch was recognised");
    let mut sub = bus.subscribe(&strings(&[&sector]), &[], "t").await.unwrap();
    let (got, _) = collect(
        &mut sub,
        3_000,
        Duration::from_secs(10),
        Duration::from_millis(100),
    )
    .await;
    assert_eq!(
        got.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        again.ids()
    );
    r.stop().await;
}

#[tokio::test]
async fn a_message_the_bus_can_never_take_is_passed_over_and_counted() {
    let bus = Bus::in_process();
    let outbox = TestOutbox::new();
    outbox.push(message("s", "log", 1));
    let mut bad = message("s", "log", 2);
    bad.subject = "dw.s.bad.kind".into();
    outbox.push(bad);
    outbox.push(message("s", "log", 3));
    let r = start(outbox.clone(), &bus);
    wait_until("all committed", Duration::from_secs(5), || {
        outbox.committed_now() == 3
    })
    .await;
    assert_eq!(r.stats.snapshot().rejected, 1);
    assert_eq!(bus.status().published, 2);
    r.stop().await;
}

#[tokio::test]
async fn a_slow_subscriber_never_holds_the_relay_back() {
    let bus = Bus::in_process_with_capacity(1_000);
    let mut slow = bus.subscribe(&strings(&["*"]), &[], "slow").await.unwrap();
    let outbox = TestOutbox::new();
    for i in 1..=10_000 {
        outbox.push(message("s", "log", i));
    }
    let r = start(outbox.clone(), &bus);
    // The subscriber reads nothing meanwhile.
    wait_until("all committed", Duration::from_secs(10), || {
        outbox.committed_now() == 10_000
    })
    .await;
    match slow.next().await.unwrap() {
        Err(BusError::Lagged { missed }) => assert_eq!(missed, 9_000),
        other => panic!("want Lagged, got {other:?}"),
    }
    let (got, _) = collect(
        &mut slow,
        1_000,
        Duration::from_secs(5),
        Duration::from_millis(50),
    )
    .await;
    assert_eq!(got[0].id, "s.log.9001");
    r.stop().await;
}

#[tokio::test]
async fn nothing_to_send_until_woken() {
    let bus = Bus::in_process();
    let outbox = TestOutbox::new();
    let r = start(outbox.clone(), &bus);
    tokio::time::sleep(Duration::from_millis(50)).await;
    outbox.push(message("s", "log", 1));
    r.wake.notify_one();
    wait_until("the one message", Duration::from_millis(900), || {
        outbox.committed_now() == 1
    })
    .await;
    r.stop().await;
}
