//! Scale-out over the real NATS JetStream server on 127.0.0.1:4222: a sector node keeps
//! tracking while its link to the bus is cut, publishes what it logged meanwhile when the
//! link returns, and an HQ node following the sector holds every track event exactly once
//! and shows the sector's picture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use dronewatch_sim::load::LoadConfig;
use dronewatch_store::{Chain, EventKind, EventQuery};
use dronewatch_testdata::nats::{Cleanup, Proxy, shared_nats};
use support::{LiveSky, TestNode, eventually};

fn now() -> dronewatch_model::TimeNs {
    dronewatch_server::clock::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sector_buffers_while_cut_off_and_hq_gets_everything_once() {
    let Some(url) = shared_nats("scale_out").await else {
        return;
    };
    let sector = format!("t{}x{}", std::process::id(), now().0 % 1_000_000_000);
    let _cleanup = Cleanup::new(&url, &[dronewatch_bus::stream_name(&sector).unwrap()]);
    let proxy = Proxy::start(url.trim_start_matches("nats://")).await;
    let node = TestNode::start(&format!(
        "[node]\nname = \"{sector}-node\"\nsector = \"{sector}\"\n[bus]\nurl = \"{}\"\n",
        proxy.url()
    ))
    .await;
    // HQ keeps its history in PostgreSQL.
    let Some(hq_db) = dronewatch_testdata::postgres::fresh_database("hq").await else {
        return;
    };
    let hq = TestNode::start(&format!(
        "[node]\nname = \"hq-{sector}\"\nrole = \"hq\"\nfollow_sectors = [\"{sector}\"]\n[bus]\nurl = \"{url}\"\n[store]\nurl = \"{}\"\n[sources.sapient]\nenabled = false\n",
        hq_db.url
    ))
    .await;
    assert_eq!(hq.node().store.backend(), "postgres");
    let admin = node.admin().await;
    let hq_admin = hq.admin().await;

    let mut sky = LiveSky::connect(
        &node,
        LoadConfig {
            drones: 10,
            radars: 2,
            radar_period_s: 0.5,
            ..LoadConfig::default()
        },
    )
    .await;

    sky.feed_for(Duration::from_secs(4)).await;
    proxy.cut();
    let cut_at_seq = node.node().store.last_seq(Chain::Tracks).await.unwrap();
    sky.feed_for(Duration::from_secs(4)).await;
    // Cut off, the sector still tracks and logs.
    let tracks = node.get_json(&admin, "/api/v1/tracks").await;
    assert!(tracks["tracks"].as_array().unwrap().len() >= 8, "{tracks}");
    let during = node.node().store.last_seq(Chain::Tracks).await.unwrap();
    assert!(
        during > cut_at_seq + 20,
        "tracks logged while cut off: {cut_at_seq} -> {during}"
    );
    let m = node.metrics(&admin).await;
    assert!(
        m.contains("dronewatch_bus_disconnected 1"),
        "the cut shows: {}",
        m.lines()
            .filter(|l| l.contains("bus_"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    proxy.restore().await;
    sky.feed_for(Duration::from_secs(2)).await;
    let _ = sky.finish().await;
    let last = node.node().store.last_seq(Chain::Tracks).await.unwrap();

    // HQ ends with every track event of the sector, each once.
    let hq_store = hq.node().store.clone();
    let keys: BTreeSet<String> = eventually(Duration::from_secs(30), "HQ to catch up", || {
        let hq_store = hq_store.clone();
        let sector = sector.clone();
        async move {
            let mut keys = BTreeSet::new();
            let mut after = 0;
            let mut rows_total = 0;
            loop {
                let rows = hq_store
                    .query(EventQuery {
                        kinds: vec![EventKind::Track],
                        source: Some(sector.clone()),
                        after_seq: Some(after),
                        limit: 5000,
                        ..EventQuery::default()
                    })
                    .await
                    .ok()?;
                let Some(l) = rows.last() else { break };
                after = l.seq;
                rows_total += rows.len();
                keys.extend(rows.into_iter().filter_map(|r| r.idempotency_key));
            }
            assert_eq!(rows_total, keys.len(), "a track event stored twice at HQ");
            (keys.len() as u64 >= last).then_some(keys)
        }
    })
    .await;
    let expected: BTreeSet<String> = (1..=last).map(|s| format!("{sector}.tracks.{s}")).collect();
    assert!(
        expected.is_subset(&keys),
        "missing at HQ: {:?}",
        expected.difference(&keys).take(5).collect::<Vec<_>>()
    );

    // And HQ shows the sector's picture.
    let hq_tracks = eventually(Duration::from_secs(5), "HQ picture", || {
        let hq = &hq;
        let token = hq_admin.clone();
        let sector = sector.clone();
        async move {
            let v = hq.get_json(&token, "/api/v1/tracks").await;
            let n = v["tracks"]
                .as_array()?
                .iter()
                .filter(|t| t["sector"] == sector.as_str())
                .count();
            (n >= 8).then_some(n)
        }
    })
    .await;
    assert!(hq_tracks <= 12, "{hq_tracks} tracks at HQ for 10 drones");
    let sensors = hq.get_json(&hq_admin, "/api/v1/sensors").await;
    assert!(
        sensors
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == format!("{sector}/load-radar-0").as_str()),
        "{sensors}"
    );
    // Bulletins are a sector's: an HQ node refuses them (it has no threat stage).
    let r = hq
        .post(
            &hq_admin,
            "/api/v1/bulletins",
            &serde_json::json!({"text": "Attacks expected.", "posture": "high"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    hq.stop().await;
    node.stop().await;
}
