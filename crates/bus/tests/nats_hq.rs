//! HQ's side against the real NATS JetStream server: one subscription over several
//! sectors' streams while their relays publish, resuming a durable, and `"*"` picking up
//! sectors that appear later (on a private server, so other streams do not join in).
//!
//! Without the server (or the `nats-server` binary) each test says SKIPPED and passes,
//! except under CI (env `CI` set), where that is a failure. `DRONEWATCH_TEST_NATS`
//! (`host:port`) and `DRONEWATCH_NATS_SERVER` (a path) point them elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use dronewatch_bus::{Bus, BusConfig, MessageId};

fn cfg(url: &str) -> BusConfig {
    BusConfig {
        url: Some(url.to_owned()),
        max_age_s: 3_600,
        duplicate_window_s: 600,
    }
}

/// Every (sector, kind) in order, and exactly the ids the outboxes hold.
fn check_picture(got: &[Got], outboxes: &[(String, std::sync::Arc<TestOutbox>)]) {
    let mut by_feed: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for g in got {
        let id = MessageId::parse(&g.id).unwrap();
        assert_eq!(id.sector, g.sector);
        by_feed
            .entry((g.sector.clone(), g.kind.clone()))
            .or_default()
            .push(id.seq);
    }
    for ((sector, kind), seqs) in &by_feed {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "{sector}/{kind} out of order"
        );
    }
    let got_ids: HashSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(got_ids.len(), got.len(), "no id twice");
    let want: HashSet<String> = outboxes.iter().flat_map(|(_, o)| o.ids()).collect();
    assert_eq!(got_ids.len(), want.len());
    assert!(want.iter().all(|id| got_ids.contains(id.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_sees_three_sectors_in_one_subscription_and_resumes_its_durable() {
    let Some(url) = shared_nats("hq_three_sectors").await else {
        return;
    };
    let sectors: Vec<String> = ["tucson", "yuma", "laredo"]
        .iter()
        .map(|s| unique(s))
        .collect();
    let _cleanup = cleanup(&url, &sectors);
    let kinds = strings(&KINDS);

    // HQ subscribes first and reads nothing while the sectors publish (a slow consumer:
    // the relays must not wait for it).
    let hq = Bus::connect(&cfg(&url)).await.unwrap();
    let mut sub = hq.subscribe(&sectors, &kinds, "hq").await.unwrap();

    const PER_SECTOR: u64 = 3_000;
    let mut outboxes = Vec::new();
    let mut relays = Vec::new();
    let t = Instant::now();
    for s in &sectors {
        // Each sector node has its own connection.
        let bus = Bus::connect(&cfg(&url)).await.unwrap();
        let o = TestOutbox::new();
        let r = start(o.clone(), &bus);
        feed(
            o.clone(),
            r.wake.clone(),
            s.clone(),
            PER_SECTOR,
            300,
            Duration::from_millis(5),
        );
        outboxes.push((s.clone(), o));
        relays.push((r, bus));
    }
    for (_, o) in &outboxes {
        let o = o.clone();
        wait_until(
            "every sector committed",
            Duration::from_secs(30),
            move || o.committed_now() == PER_SECTOR,
        )
        .await;
    }
    eprintln!(
        "three relays published {} in {:?}",
        3 * PER_SECTOR,
        t.elapsed()
    );

    let t = Instant::now();
    let total = 3 * PER_SECTOR as usize;
    let (got, _) = collect(
        &mut sub,
        total,
        Duration::from_secs(30),
        Duration::from_millis(500),
    )
    .await;
    eprintln!(
        "HQ read {total} from 3 sectors x 3 kinds in {:?}",
        t.elapsed()
    );
    check_picture(&got, &outboxes);
    drop(sub);

    // More arrives while HQ is away; the same durable resumes with only the new ones.
    for ((s, o), (r, _)) in outboxes.iter().zip(&relays) {
        feed(
            o.clone(),
            r.wake.clone(),
            s.clone(),
            100,
            100,
            Duration::from_millis(1),
        )
        .await
        .unwrap();
    }
    for (_, o) in &outboxes {
        let o = o.clone();
        wait_until(
            "the new ones committed",
            Duration::from_secs(10),
            move || o.committed_now() == PER_SECTOR + 100,
        )
        .await;
    }
    let mut sub = hq.subscribe(&sectors, &kinds, "hq").await.unwrap();
    // A pull the dropped subscription still had open at the server may take some of these
    // before the server hears it is gone (seen when the machine is busy); they are not
    // acked, so the server sends them again after the ack wait (30 s): nothing is lost.
    let t = Instant::now();
    let (again, _) = collect(
        &mut sub,
        300,
        Duration::from_secs(45),
        Duration::from_millis(500),
    )
    .await;
    eprintln!("HQ resumed with the 300 new ones in {:?}", t.elapsed());
    assert!(
        again
            .iter()
            .all(|g| MessageId::parse(&g.id).unwrap().seq > PER_SECTOR),
        "only what came after the acked ones"
    );
    drop(sub);
    hq.delete_durable(&sectors, &kinds, "hq").await.unwrap();
    for (r, _) in relays {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sector_subscription_picks_up_sectors_as_they_appear() {
    let Some(server) = OwnServer::start("every_sector").await else {
        return;
    };
    let url = server.url();
    let hq = Bus::connect(&cfg(&url)).await.unwrap();
    // No stream exists yet.
    let mut sub = hq.subscribe(&strings(&["*"]), &[], "hq-all").await.unwrap();

    let mut outboxes = Vec::new();
    let mut relays = Vec::new();
    for name in ["first", "second", "later"] {
        if name == "later" {
            // HQ already reads the first two when a third sector comes up.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let sector = unique(name);
        let bus = Bus::connect(&cfg(&url)).await.unwrap();
        let o = TestOutbox::new();
        let r = start(o.clone(), &bus);
        feed(
            o.clone(),
            r.wake.clone(),
            sector.clone(),
            1_000,
            250,
            Duration::from_millis(5),
        );
        outboxes.push((sector, o));
        relays.push(r);
    }
    let t = Instant::now();
    let (got, _) = collect(
        &mut sub,
        3_000,
        Duration::from_secs(30),
        Duration::from_millis(500),
    )
    .await;
    eprintln!("\"*\" read 3000 from 3 sectors in {:?}", t.elapsed());
    check_picture(&got, &outboxes);
    // One consumer per sector takes every kind: each sector in its own order entirely.
    for (sector, o) in &outboxes {
        let mine: Vec<String> = got
            .iter()
            .filter(|g| &g.sector == sector)
            .map(|g| g.id.clone())
            .collect();
        assert_eq!(mine, o.ids());
    }
    for r in relays {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_cut_off_from_the_bus_picks_up_where_it_was_when_the_link_returns() {
    let Some(url) = shared_nats("hq_cut_off").await else {
        return;
    };
    let sector = unique("hqcut");
    let _cleanup = cleanup(&url, std::slice::from_ref(&sector));
    // The sector publishes straight to the server; HQ goes through a proxy that is cut.
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    let outbox = TestOutbox::new();
    let relay = start(outbox.clone(), &bus);
    let proxy = Proxy::start(&shared_addr()).await;
    let hq = Bus::connect(&cfg(&proxy.url())).await.unwrap();
    let mut sub = hq
        .subscribe(std::slice::from_ref(&sector), &[], "hq")
        .await
        .unwrap();
    let mut seen = dronewatch_bus::SeenIds::new(10_000);

    feed(
        outbox.clone(),
        relay.wake.clone(),
        sector.clone(),
        1_000,
        250,
        Duration::from_millis(5),
    );
    let (before, _) = collect(
        &mut sub,
        1_000,
        Duration::from_secs(20),
        Duration::from_millis(200),
    )
    .await;
    assert!(before.iter().all(|g| seen.first_time(&g.id)));

    proxy.cut();
    feed(
        outbox.clone(),
        relay.wake.clone(),
        sector.clone(),
        1_000,
        250,
        Duration::from_millis(5),
    )
    .await
    .unwrap();
    wait_until(
        "published while HQ is away",
        Duration::from_secs(10),
        || outbox.committed_now() == 2_000,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t = Instant::now();
    proxy.restore().await;
    // Every new id arrives; a redelivery (if any) is recognised by its id.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut new = 0;
    let mut redelivered = 0;
    while new < 1_000 {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Err(_) => panic!("{new} of 1000 after the link came back"),
            Ok(None) => panic!("subscription ended"),
            Ok(Some(Err(e))) => eprintln!("transient: {e}"),
            Ok(Some(Ok(d))) => {
                if seen.first_time(&d.id) {
                    new += 1;
                } else {
                    redelivered += 1;
                }
                d.ack().await.unwrap();
            }
        }
    }
    eprintln!(
        "HQ got the 1000 published while it was cut off {:?} after the link returned \
         ({redelivered} redeliveries dropped)",
        t.elapsed()
    );
    relay.stop().await;
}
