//! Publishing details against the real NATS JetStream server at 127.0.0.1:4222: an existing
//! stream is used as it is, a batch re-sent after another publisher wrote to the stream
//! still goes through (in order), and a message too large for the server is refused as
//! such and passed over by the relay.
//!
//! Without the server each test says SKIPPED and passes, except under CI (env `CI` set).
//! `DRONEWATCH_TEST_NATS` (`host:port`) points them at another server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use dronewatch_bus::{Bus, BusConfig, BusError, BusMessage, stream_name, stream_subjects};

fn cfg(url: &str) -> BusConfig {
    BusConfig {
        url: Some(url.to_owned()),
        max_age_s: 3_600,
        duplicate_window_s: 600,
    }
}

async fn js(url: &str) -> async_nats::jetstream::Context {
    async_nats::jetstream::new(async_nats::connect(url).await.unwrap())
}

/// The ids in the stream, in stream order.
async fn stored_ids(url: &str, sector: &str) -> Vec<String> {
    let js = js(url).await;
    let stream = js.get_stream(stream_name(sector).unwrap()).await.unwrap();
    let mut out = Vec::new();
    let mut seq = 1;
    while let Ok(m) = stream.get_raw_message(seq).await {
        let id = m
            .headers
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        out.push(id);
        seq += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_stream_is_used_as_it_is_and_created_streams_follow_the_config() {
    let Some(url) = shared_nats("existing_stream").await else {
        return;
    };
    let (theirs, ours) = (unique("theirs"), unique("ours"));
    let _cleanup = cleanup(&url, &[theirs.clone(), ours.clone()]);
    let js = js(&url).await;
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream_name(&theirs).unwrap(),
        subjects: vec![stream_subjects(&theirs).unwrap()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .unwrap();
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    bus.publish_batch(&[message(&theirs, "log", 1), message(&ours, "log", 1)])
        .await
        .unwrap();
    let mut s = js.get_stream(stream_name(&theirs).unwrap()).await.unwrap();
    let info = s.info().await.unwrap();
    assert_eq!(
        info.config.duplicate_window,
        Duration::from_secs(120),
        "not overwritten"
    );
    assert_eq!(info.config.max_age, Duration::ZERO);
    assert_eq!(info.state.messages, 1);
    let mut s = js.get_stream(stream_name(&ours).unwrap()).await.unwrap();
    let info = s.info().await.unwrap();
    assert_eq!(info.config.duplicate_window, Duration::from_secs(600));
    assert_eq!(info.config.max_age, Duration::from_secs(3_600));
    assert_eq!(info.config.subjects, vec![format!("dw.{ours}.>")]);
    assert_eq!(info.state.messages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_again_after_another_publisher_wrote_goes_through_in_order() {
    let Some(url) = shared_nats("another_publisher").await else {
        return;
    };
    let sector = unique("shared");
    let _cleanup = cleanup(&url, std::slice::from_ref(&sector));
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    let other = Bus::connect(&cfg(&url)).await.unwrap();
    let m: Vec<BusMessage> = (1..=4).map(|i| message(&sector, "log", i)).collect();
    bus.publish_batch(&m[..2]).await.unwrap();
    other
        .publish_batch(&[message(&sector, "other", 1)])
        .await
        .unwrap();
    // m1 and m2 are duplicates now; m3's predecessor (m2) is not the stream's last
    // message, so the stream refuses m3 with the expectation and takes it without.
    bus.publish_batch(&m).await.unwrap();
    let st = bus.status();
    assert_eq!((st.published, st.duplicates), (4, 2), "{st:?}");
    let ids = stored_ids(&url, &sector).await;
    let want: Vec<String> = [
        &m[0].id,
        &m[1].id,
        &format!("{sector}.other.1"),
        &m[2].id,
        &m[3].id,
    ]
    .into_iter()
    .cloned()
    .collect();
    assert_eq!(ids, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_too_large_for_the_server_is_refused_and_passed_over() {
    let Some(url) = shared_nats("too_large").await else {
        return;
    };
    let sector = unique("large");
    let _cleanup = cleanup(&url, std::slice::from_ref(&sector));
    let bus = Bus::connect(&cfg(&url)).await.unwrap();
    let mut big = message(&sector, "log", 2);
    big.payload = Bytes::from(vec![b'x'; 2 * 1024 * 1024]); // the default max_payload is 1 MiB
    let err = bus.publish_batch(&[big.clone()]).await.unwrap_err();
    assert!(
        matches!(&err, BusError::Rejected { id, .. } if *id == big.id),
        "{err}"
    );

    let outbox = TestOutbox::new();
    outbox.push(message(&sector, "log", 1));
    outbox.push(big);
    outbox.push(message(&sector, "log", 3));
    let relay = start(outbox.clone(), &bus);
    wait_until("all committed", Duration::from_secs(10), || {
        outbox.committed_now() == 3
    })
    .await;
    assert_eq!(relay.stats.snapshot().rejected, 1);
    relay.stop().await;
    assert_eq!(
        stored_ids(&url, &sector).await,
        vec![format!("{sector}.log.1"), format!("{sector}.log.3")]
    );
}
