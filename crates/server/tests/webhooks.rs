//! Signed webhooks against real HTTP receivers on 127.0.0.1: a receiver that fails at first
//! gets each message once it recovers, signed; a receiver that is down leaves a dead letter
//! in the event log, and the watch officer sees the failure on the API and in the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use support::{TestNode, eventually};

const SECRET: &str = "receiver secret 0123456789";

#[derive(Default)]
struct Received {
    requests: usize,
    /// Accepted messages, with their delivery ids.
    accepted: Vec<(String, Value)>,
}

/// Answers 503 to the first `fail_first` requests, then checks the signature (401 when it
/// is wrong) and accepts.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Received>>) {
    receiver_at("127.0.0.1:0".parse().unwrap(), fail_first).await
}

async fn receiver_at(
    addr: std::net::SocketAddr,
    fail_first: usize,
) -> (String, Arc<Mutex<Received>>) {
    let seen = Arc::new(Mutex::new(Received::default()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = state.clone();
            async move {
                let mut r = seen.lock().unwrap();
                r.requests += 1;
                if r.requests <= fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let sig = headers["x-dronewatch-signature"].to_str().unwrap();
                let (t, mac_hex) = sig
                    .strip_prefix("t=")
                    .and_then(|s| s.split_once(",sha256="))
                    .unwrap();
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(format!("{t}.").as_bytes());
                mac.update(&body);
                if mac.verify_slice(&hex::decode(mac_hex).unwrap()).is_err() {
                    return StatusCode::UNAUTHORIZED;
                }
                let now_s = dronewatch_server::clock::now().0 / 1_000_000_000;
                assert!(
                    (now_s - t.parse::<i64>().unwrap()).abs() < 60,
                    "a fresh time"
                );
                let id = headers["x-dronewatch-delivery"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                r.accepted
                    .push((id, serde_json::from_slice(&body).unwrap()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_dead_lettered_visibly() {
    let (url, seen) = receiver(2).await;
    // A port nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let extra = format!(
        r#"
[[delivery.webhooks]]
url = "{url}"
secret = "{SECRET}"
kinds = ["bulletin", "posture"]
first_retry_ms = 100

[[delivery.webhooks]]
url = "http://user:pw@{dead}/hook?token=abc"
secret = "{SECRET}"
kinds = ["bulletin"]
max_attempts = 2
first_retry_ms = 50
timeout_ms = 500
"#
    );
    let n = TestNode::start(&extra).await;
    let admin = n.admin().await;
    let analyst = n.user(&admin, "intel", "analyst").await;
    let officer = n.user(&admin, "officer", "operator").await;
    n.user(&admin, "garcia", "agent").await;
    let r = n
        .post(
            &analyst,
            "/api/v1/bulletins",
            &json!({"text": "Drone attacks on agents authorised.", "posture": "elevated"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let bulletin_id = r.json::<Value>().await.unwrap()["id"].clone();

    // The first two attempts failed; each message still arrives, signed, exactly once.
    let accepted = eventually(Duration::from_secs(15), "both messages accepted", || {
        let seen = seen.clone();
        async move {
            let r = seen.lock().unwrap();
            (r.accepted.len() >= 2).then(|| r.accepted.clone())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let r = seen.lock().unwrap();
        assert_eq!(r.accepted.len(), 2, "{:?}", r.accepted);
        assert_eq!(r.requests, 4, "two refused, two accepted");
    }
    let mut types: Vec<&str> = accepted
        .iter()
        .map(|(_, m)| m["type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["bulletin", "posture"]);
    for (id, m) in &accepted {
        assert_eq!(m["delivery_id"], id.as_str());
        assert!(m["sector"].is_string() && m["node"].is_string(), "{m}");
    }
    let b = &accepted
        .iter()
        .find(|(_, m)| m["type"] == "bulletin")
        .unwrap()
        .1;
    assert_eq!(b["bulletin"]["id"], bulletin_id);
    assert_eq!(b["bulletin"]["unacknowledged"], json!(["garcia"]));

    // The dead receiver: a dead letter with the message, visible to the watch officer.
    let status = eventually(Duration::from_secs(10), "a dead letter", || {
        let n = &n;
        let officer = officer.clone();
        async move {
            let s = n.get_json(&officer, "/api/v1/delivery").await;
            (s[1]["dead_lettered"] == 1).then_some(s)
        }
    })
    .await;
    assert_eq!(status[0]["delivered"], 2, "{status}");
    assert_eq!(status[0]["retried"], 2, "{status}");
    assert_eq!(status[0]["failing"], false, "{status}");
    assert_eq!(
        status[1]["url"],
        format!("http://{dead}/hook"),
        "no credentials shown"
    );
    assert_eq!(status[1]["failing"], true);
    let error = status[1]["last_error"].as_str().unwrap();
    assert!(error.to_lowercase().contains("connect"), "{error}");

    let h = n
        .get_json(&admin, "/api/v1/history/events?kind=delivery")
        .await;
    let events = h["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{h}");
    let letter = &events[0]["body"];
    assert_eq!(letter["dead_letter"], true);
    assert_eq!(letter["attempts"], 2);
    assert_eq!(letter["message"]["bulletin"]["id"], bulletin_id);

    let agent = n.token("garcia", "garcia password 123").await;
    assert_eq!(n.get(&agent, "/api/v1/delivery").await.status(), 403);
    let metrics = n.metrics(&admin).await;
    assert!(
        metrics.contains(r#"dronewatch_webhook_deliveries_total{outcome="dead_letter"} 1"#),
        "{metrics}"
    );

    // The receiver is back: the watch officer sends the dead letter again, with its
    // delivery id; once it is delivered, a second call sends nothing.
    let (_, back) = receiver_at(dead, 0).await;
    let r = n
        .post(&officer, "/api/v1/delivery/redeliver", &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["queued"], 1, "{report}");
    let got = eventually(
        Duration::from_secs(10),
        "the dead letter redelivered",
        || {
            let back = back.clone();
            async move {
                let r = back.lock().unwrap();
                (!r.accepted.is_empty()).then(|| r.accepted.clone())
            }
        },
    )
    .await;
    assert_eq!(got[0].0, letter["delivery_id"].as_str().unwrap());
    assert_eq!(got[0].1["bulletin"]["id"], bulletin_id);
    eventually(Duration::from_secs(10), "the redelivery recorded", || {
        let (n, admin) = (&n, admin.clone());
        async move {
            let h = n
                .get_json(&admin, "/api/v1/history/events?kind=delivery")
                .await;
            (h["events"].as_array().unwrap().len() == 2).then_some(())
        }
    })
    .await;
    let again: Value = n
        .post(&officer, "/api/v1/delivery/redeliver", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["queued"], 0, "{again}");
    assert_eq!(again["already_redelivered"], 1, "{again}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(back.lock().unwrap().accepted.len(), 1);
    assert_eq!(
        n.post(&agent, "/api/v1/delivery/redeliver", &json!({}))
            .await
            .status(),
        403
    );

    let report = n.node().store.verify().await.unwrap();
    assert!(report.ok(), "{report:?}");
    n.stop().await;
}

#[tokio::test]
async fn a_webhook_with_a_short_secret_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(
        dir.path(),
        "[[delivery.webhooks]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"short\"\n",
    );
    let started = dronewatch_server::node::start_with_admin_password(
        cfg,
        Some("a long admin password".into()),
    )
    .await;
    let Err(e) = started else {
        panic!("a short secret was accepted")
    };
    assert!(
        e.to_string().contains("delivery.webhooks[0]: secret"),
        "{e}"
    );
}
