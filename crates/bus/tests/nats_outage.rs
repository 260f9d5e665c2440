//! The relay into the real NATS JetStream server through outages, two ways: a TCP proxy in
//! front of the shared server at 127.0.0.1:4222 that the test cuts and restores on the same
//! port, and a private `nats-server` that the test kills with SIGKILL and restarts on the
//! same store. Each time a durable subscriber then sees every id exactly once and in order,
//! and the stream holds each message once. Also the restart between publish and commit.
//!
//! Without the shared server (or the `nats-server` binary) each test says SKIPPED and
//! passes, except under CI (env `CI` set), where that is a failure. `DRONEWATCH_TEST_NATS`
//! (`host:port`) and `DRONEWATCH_NATS_SERVER` (a path) point them elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use dronewatch_bus::{Bus, BusConfig, BusError};

fn cfg(url: &str) -> BusConfig {
    BusConfig {
        url: Some(url.to_owned()),
        max_age_s: 3_600,
        duplicate_window_s: 600,
    }
}

/// A durable subscriber, connected straight to `url`, reads the sector's whole stream:
/// every id of the outbox once, in order, first deliveries, stream sequence 1..=N.
async fn check_stream(url: &str, sector: &str, outbox: &TestOutbox) {
    let n = outbox.len();
    assert_eq!(
        sector_messages(url, sector).await,
        n,
        "the stream holds each message once"
    );
    let hq = Bus::connect(&cfg(url)).await.unwrap();
    let mut sub = hq
        .subscribe(&strings(&[sector]), &strings(&["*"]), "check")
        .await
        .unwrap();
    let t = Instant::now();
    let (got, _) = collect(
        &mut sub,
        n as usize,
        Duration::from_secs(30),
        Duration::from_millis(500),
    )
    .await;
    eprintln!("subscriber read {n} in {:?}", t.elapsed());
    let ids: Vec<String> = got.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids, outbox.ids(), "every id exactly once, in order");
    assert!(got.iter().all(|g| g.delivered == 1 && g.sector == sector));
    let seqs: Vec<u64> = got.iter().map(|g| g.stream_seq).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_proxy_outages_nothing_is_lost_or_duplicated() {
    let Some(url) = shared_nats("through_proxy_outages").await else {
        return;
    };
    let sector = unique("proxy");
    let _cleanup = cleanup(&url, std::slice::from_ref(&sector));
    const N: u64 = 16_000;

    // Down at the start: connecting works, publishing fails fast.
    let proxy = Proxy::down(&shared_addr());
    let t = Instant::now();
    let bus = Bus::connect(&cfg(&proxy.url())).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "connect waited {:?}",
        t.elapsed()
    );
    assert!(!bus.status().connected);
    let t = Instant::now();
    let err = bus
        .publish_batch(&[message(&sector, "log", 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "publish waited {:?}",
        t.elapsed()
    );

    let outbox = TestOutbox::new();
    let relay = start(outbox.clone(), &bus);
    let feeder = feed(
        outbox.clone(),
        relay.wake.clone(),
        sector.clone(),
        4_000,
        500,
        Duration::from_millis(20),
    );
    wait_until(
        "the relay to see the bus down",
        Duration::from_secs(5),
        || relay.stats.disconnected.load(Ordering::SeqCst) == 1,
    )
    .await;
    feeder.await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(outbox.committed_now(), 0);
    let t = Instant::now();
    proxy.restore().await;
    wait_until(
        "the first 4000 after the bus came up",
        Duration::from_secs(20),
        || outbox.committed_now() == 4_000,
    )
    .await;
    eprintln!("caught up 4000 in {:?} after the bus came up", t.elapsed());

    // Cut in the middle of a batch: ~300 kB into what follows (a batch is ~800 kB).
    let feeder = feed(
        outbox.clone(),
        relay.wake.clone(),
        sector.clone(),
        N - 4_000,
        1_000,
        Duration::from_millis(10),
    );
    proxy.cut_after(300_000);
    wait_until("the cut", Duration::from_secs(20), || proxy.is_cut()).await;
    let cut_at = outbox.committed_now();
    wait_until(
        "the relay to see the bus down",
        Duration::from_secs(10),
        || relay.stats.disconnected.load(Ordering::SeqCst) == 1,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    feeder.await.unwrap();
    assert!(outbox.committed_now() < N, "the outage held the relay back");
    let t = Instant::now();
    proxy.restore().await;
    wait_until("everything committed", Duration::from_secs(30), || {
        outbox.committed_now() == N
    })
    .await;
    eprintln!(
        "cut after cursor {cut_at}; caught up {} in {:?} after the bus came back",
        N - cut_at,
        t.elapsed()
    );
    let s = relay.stats.snapshot();
    let st = bus.status();
    eprintln!("relay {s:?}\nbus {st:?}");
    assert!(!s.disconnected && s.backlog == 0 && s.committed == N);
    assert!(s.retries >= 2, "{s:?}");
    assert!(
        st.duplicates >= 1,
        "the batch cut in the middle was sent again: {st:?}"
    );
    // Stored but not acknowledged before the cut: acknowledged as duplicates afterwards.
    // (That each message is stored once is checked on the stream itself, below.)
    assert!(st.published + st.duplicates >= N, "{st:?}");
    assert!(st.published <= N, "{st:?}");
    relay.stop().await;
    check_stream(&url, &sector, &outbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_server_kill_and_restart_nothing_is_lost_or_duplicated() {
    let Some(mut server) = OwnServer::start("through_a_server_kill").await else {
        return;
    };
    let sector = unique("kill");
    const N: u64 = 16_000;
    let bus = Bus::connect(&cfg(&server.url())).await.unwrap();
    let outbox = TestOutbox::new();
    let relay = start(outbox.clone(), &bus);
    let feeder = feed(
        outbox.clone(),
        relay.wake.clone(),
        sector.clone(),
        N,
        500,
        Duration::from_millis(10),
    );
    wait_until("a few batches", Duration::from_secs(20), || {
        relay.stats.published.load(Ordering::SeqCst) >= 4_000
    })
    .await;
    server.kill();
    let killed_at = outbox.committed_now();
    wait_until(
        "the relay to see the bus down",
        Duration::from_secs(10),
        || relay.stats.disconnected.load(Ordering::SeqCst) == 1,
    )
    .await;
    let t = Instant::now();
    let err = bus
        .publish_batch(&[message(&sector, "probe", 1)])
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "publish waited {:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    feeder.await.unwrap();
    let t = Instant::now();
    server.restart().await;
    wait_until("everything committed", Duration::from_secs(30), || {
        outbox.committed_now() == N
    })
    .await;
    eprintln!(
        "killed at cursor {killed_at}; caught up {} in {:?} after the restart",
        N - killed_at,
        t.elapsed()
    );
    let s = relay.stats.snapshot();
    eprintln!("relay {s:?}\nbus {:?}", bus.status());
    assert!(!s.disconnected && s.backlog == 0 && s.committed == N);
    assert!(s.retries >= 1);
    relay.stop().await;
    check_stream(&server.url(), &sector, &outbox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restarted_after_publishing_and_before_committing_stores_nothing_twice() {
    let Some(url) = shared_nats("restart_before_commit").await else {
        return;
    };
    let sector = unique("restart");
    let _cleanup = cleanup(&url, std::slice::from_ref(&sector));
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    let outbox = TestOutbox::new();
    for seq in 1..=5_000 {
        outbox.push(message(&sector, "log", seq));
    }
    outbox.refuse_commits.store(true, Ordering::SeqCst);
    let relay = start(outbox.clone(), &bus);
    wait_until("a failed commit", Duration::from_secs(20), || {
        relay.stats.commit_failures.load(Ordering::SeqCst) >= 1
    })
    .await;
    relay.stop().await; // the process "dies" with its first batch on the bus, not committed
    let on_bus = sector_messages(&url, &sector).await;
    assert!(on_bus >= 1, "the first batch reached the stream");
    assert_eq!(outbox.committed_now(), 0);

    // A new process on the same log, with a new connection.
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    let again = outbox.reopened(0);
    let relay = start(again.clone(), &bus);
    wait_until("everything committed", Duration::from_secs(30), || {
        again.committed_now() == 5_000
    })
    .await;
    let st = bus.status();
    assert_eq!(
        st.duplicates, on_bus,
        "the batch sent again was recognised: {st:?}"
    );
    assert_eq!(st.published, 5_000 - on_bus);
    relay.stop().await;
    check_stream(&url, &sector, &again).await;
}

#[tokio::test]
async fn connect_never_fails_on_an_unreachable_server_and_publish_fails_fast() {
    let port = free_port(); // nothing listens there
    let url = format!("nats://127.0.0.1:{port}");
    let t = Instant::now();
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(bus.kind(), "nats");
    let st = bus.status();
    assert!(!st.connected);
    assert_eq!(st.url, url);
    for _ in 0..3 {
        let t = Instant::now();
        let err = bus
            .publish_batch(&[message("s", "log", 1)])
            .await
            .unwrap_err();
        assert!(matches!(err, BusError::Unavailable(_)), "{err}");
        assert!(t.elapsed() < Duration::from_millis(200));
    }
    assert_eq!(bus.status().failed_batches, 3);
    // A subscription starts anyway and reports the outage as a transient error.
    let mut sub = bus.subscribe(&strings(&["s"]), &[], "d").await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(15), sub.next())
        .await
        .unwrap();
    assert!(
        matches!(first, Some(Err(BusError::Unavailable(_)))),
        "{first:?}"
    );
    // Bad input is refused at once, whatever the link.
    assert!(matches!(
        bus.subscribe(&strings(&["a.b"]), &[], "d").await,
        Err(BusError::Subject(_))
    ));
    assert!(matches!(
        Bus::connect(&BusConfig {
            url: Some("http://x".into()),
            ..BusConfig::default()
        })
        .await,
        Err(BusError::Url { .. })
    ));
    assert!(matches!(
        Bus::connect(&BusConfig {
            url: Some(url),
            max_age_s: 10,
            duplicate_window_s: 20
        })
        .await,
        Err(BusError::Url { .. })
    ));
}
