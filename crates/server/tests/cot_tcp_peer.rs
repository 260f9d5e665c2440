//! The CoT channel against a plain TCP peer on 127.0.0.1 that this test plays:
//!
//! - a peer that is away: the channel says it is failing, keeps the messages that come
//!   meanwhile in its queue (256), and sends them when the peer comes back; when the queue
//!   is full the oldest become dead letters (the peer is bound only after they were queued);
//! - the TAK Protocol negotiation (`protocol = "negotiate"`): no TAK server to be had here
//!   speaks TAK Protocol v1 (taky speaks XML; the official TAK Server cannot be installed),
//!   so the peer plays the server's side as ATAK-CIV's `protocol.txt` describes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use dronewatch_cot::negotiation::{self, Negotiation};
use dronewatch_cot::{Event, StreamSplitter};
use serde_json::{Value, json};
use support::{TestNode, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn node_with_peer(port: u16) -> TestNode {
    TestNode::start(&format!(
        "[http]\nrate_per_s = 10000\nrate_burst = 10000\n\
         [[delivery.cot]]\nurl = \"tcp://127.0.0.1:{port}\"\nkinds = [\"sighting\"]\n"
    ))
    .await
}

/// An agent's sighting, which the node passes on to TAK (its CoT uid ends in `note`).
async fn report_sighting(n: &TestNode, agent: &str, note: &str) {
    let r = n
        .post(
            agent,
            "/api/v1/sightings",
            &json!({
                "client_id": note,
                "observed_at": "2026-12-05T10:00:00Z",
                "reporter_position": { "lat_deg": 31.34, "lon_deg": -110.93, "h_m": 1200.0 },
                "bearing_deg": 45.0,
                "distance_m": 300.0,
                "note": note,
            }),
        )
        .await;
    assert_eq!(r.status(), 201);
}

/// The CoT channel's status, once `ok` says it is as expected.
async fn cot_status(n: &TestNode, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let admin = n.admin().await;
    n.delivery_channel(&admin, "cot", Duration::from_secs(20), what, ok)
        .await
}

/// Events the peer receives on its first connection within `d`, and the connection (kept
/// open: a closed one is the peer away again).
async fn peer_receives(listener: TcpListener, d: Duration) -> (Vec<Event>, TcpStream) {
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(40), listener.accept())
        .await
        .expect("the node reconnects within its 30 s back-off")
        .unwrap();
    let mut splitter = StreamSplitter::new(256 * 1024);
    let mut events = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + d;
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        splitter.push(&buf[..n]);
        while let Some(e) = splitter.next_event() {
            events.push(e.unwrap());
        }
    }
    (events, conn)
}

#[tokio::test]
async fn messages_wait_for_an_away_peer_and_go_out_when_it_returns() {
    let port = free_port();
    let n = node_with_peer(port).await;
    let agent = n.user(&n.admin().await, "garcia", "agent").await;
    report_sighting(&n, &agent, "quadcopter over the wash").await;
    let away = cot_status(&n, "the channel failing with the sighting queued", |c| {
        c["failing"] == true && c["in_flight"] == 1
    })
    .await;
    assert!(away["last_error"].is_string(), "{away}");

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let (events, _conn) = peer_receives(listener, Duration::from_secs(3)).await;
    let sightings: Vec<&Event> = events
        .iter()
        .filter(|e| e.cot_type.starts_with("a-u-A") && e.how == "h-e")
        .collect();
    assert_eq!(
        sightings.len(),
        1,
        "{:?}",
        events.iter().map(|e| &e.cot_type).collect::<Vec<_>>()
    );
    let back = cot_status(&n, "the channel delivering", |c| {
        c["failing"] == false && c["in_flight"] == 0
    })
    .await;
    assert_eq!(back["delivered"], 1, "{back}");
    assert_eq!(back["dead_lettered"], 0, "{back}");
    n.stop().await;
}

#[tokio::test]
async fn a_full_queue_makes_the_oldest_messages_dead_letters() {
    let port = free_port();
    let n = node_with_peer(port).await;
    let agent = n.user(&n.admin().await, "garcia", "agent").await;
    for i in 0..260 {
        report_sighting(&n, &agent, &format!("sighting-{i:03}")).await;
    }
    let full = cot_status(&n, "the queue full, the 4 oldest dead letters", |c| {
        c["in_flight"] == 256 && c["dead_lettered"] == 4
    })
    .await;
    assert_eq!(full["delivered"], 0, "{full}");

    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let (events, _conn) = peer_receives(listener, Duration::from_secs(5)).await;
    let got: Vec<&str> = events
        .iter()
        .filter(|e| e.cot_type.starts_with("a-u-A"))
        .filter_map(|e| e.uid.strip_prefix("dronewatch.sighting."))
        .collect();
    let expected: Vec<String> = (4..260).map(|i| format!("sighting-{i:03}")).collect();
    assert_eq!(got, expected, "the 256 newest, in order");
    cot_status(&n, "the queue emptied", |c| {
        c["in_flight"] == 0 && c["delivered"] == 256
    })
    .await;
    n.stop().await;
}

/// Reads from `conn` until `splitter` yields an event `f` accepts; returns it and every
/// byte read meanwhile.
async fn read_until(
    conn: &mut TcpStream,
    splitter: &mut StreamSplitter,
    what: &str,
    f: impl Fn(&Event) -> bool,
) -> (Event, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(e) = splitter.next_event() {
            let e = e.unwrap();
            if f(&e) {
                return (e, raw);
            }
        }
        let n = tokio::time::timeout_at(deadline, conn.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("never saw {what}"))
            .unwrap();
        assert!(n > 0, "the node closed the connection before {what}");
        raw.extend_from_slice(&buf[..n]);
        splitter.push(&buf[..n]);
    }
}

#[tokio::test]
async fn with_negotiate_the_node_speaks_xml_until_the_server_agrees_to_tak_v1() {
    let port = free_port();
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let n = TestNode::start(&format!(
        "[[delivery.cot]]\nurl = \"tcp://127.0.0.1:{port}\"\nprotocol = \"negotiate\"\n\
         kinds = [\"sighting\"]\n"
    ))
    .await;
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(20), listener.accept())
        .await
        .unwrap()
        .unwrap();
    let mut splitter = StreamSplitter::new(256 * 1024);
    let now_ms = || i64::try_from(std::time::UNIX_EPOCH.elapsed().unwrap().as_millis()).unwrap();

    // Before the server says anything, the node speaks CoT XML (its announcement).
    let (_, raw) = read_until(&mut conn, &mut splitter, "the announcement", |e| {
        e.cot_type == "a-f-G-E-S"
    })
    .await;
    assert!(raw.trim_ascii_start().starts_with(b"<"), "not XML: {raw:?}");

    // The server offers v1; the node asks for it, still in XML.
    let offer = negotiation::event(Negotiation::Offers(1), "tak-server", now_ms());
    conn.write_all(dronewatch_cot::to_xml(&offer).as_bytes())
        .await
        .unwrap();
    let (_, raw) = read_until(&mut conn, &mut splitter, "the request", |e| {
        negotiation::read(e) == Some(Negotiation::Requests(1))
    })
    .await;
    assert!(raw.trim_ascii_start().starts_with(b"<"), "not XML: {raw:?}");

    // The server agrees: from now on the node's events are TAK Protocol v1 frames.
    let yes = negotiation::event(
        Negotiation::Answer { accepted: true },
        "tak-server",
        now_ms(),
    );
    conn.write_all(dronewatch_cot::to_xml(&yes).as_bytes())
        .await
        .unwrap();
    let admin = n.admin().await;
    let agent = n.user(&admin, "garcia", "agent").await;
    cot_status(&n, "the agreement heard", |c| c["failing"] == false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    report_sighting(&n, &agent, "after the agreement").await;
    let (sighting, raw) = read_until(&mut conn, &mut splitter, "the sighting", |e| {
        e.cot_type.starts_with("a-u-A")
    })
    .await;
    assert_eq!(sighting.uid, "dronewatch.sighting.after the agreement");
    assert_eq!(
        raw.first(),
        Some(&dronewatch_cot::tak::MAGIC),
        "not TAK v1: {raw:?}"
    );
    n.stop().await;
}
