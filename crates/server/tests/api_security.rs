//! The API's security against a running node: authentication everywhere, roles, lockout,
//! device tokens, audit entries, size and rate limits, TLS, first-start admin.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, TestNode};

#[tokio::test]
async fn nothing_is_readable_without_a_token() {
    let n = TestNode::start("").await;
    for path in [
        "/api/v1/me",
        "/api/v1/tracks",
        "/api/v1/tracks/1",
        "/api/v1/alerts",
        "/api/v1/alerts/1",
        "/api/v1/sensors",
        "/api/v1/agents",
        "/api/v1/warnings",
        "/api/v1/history/events",
        "/api/v1/history/export",
        "/api/v1/users",
        "/api/v1/device-tokens",
        "/api/v1/audit",
        "/api/v1/bulletins",
        "/api/v1/posture",
        "/api/v1/stream",
        "/metrics",
        "/api/v1/sightings/00/photo",
        "/api/v1/ui-config",
    ] {
        let r = n.http.get(n.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "GET {path}");
        let r = n
            .http
            .get(n.url(path))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "GET {path} with a bad token");
    }
    for path in [
        "/api/v1/sightings",
        "/api/v1/agents/me/position",
        "/api/v1/alerts/1/acknowledge",
        "/api/v1/warnings/w1/acknowledge",
        "/api/v1/sensors/radar-1/detections",
        "/api/v1/users",
        "/api/v1/store/verify",
        "/api/v1/auth/refresh",
    ] {
        let r = n
            .http
            .post(n.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "POST {path}");
    }
    let r = n.http.get(n.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = n.http.get(n.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    n.stop().await;
}

/// The app's files are served without a token (they hold no data), with a policy that
/// keeps the page from talking to anything but this node; unknown API paths stay 404.
#[tokio::test]
async fn the_web_ui_is_served_from_the_binary() {
    let n = TestNode::start("").await;
    let r = n.http.get(n.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let html = r.text().await.unwrap();
    if html.contains("built without its web UI") {
        // A build without Node.js: fine on a developer's machine, never in CI.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must build the web UI (Node.js + npm)"
        );
        eprintln!("SKIPPED: this build has no web UI (no Node.js at build time)");
        n.stop().await;
        return;
    }
    assert!(html.contains(r#"<div id="app">"#), "{html}");
    // The app's own routes get the app; its bundles are immutable by name.
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("index.html loads a script");
    let r = n.http.get(n.url(script)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{script}");
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let r = n.http.get(n.url("/field")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for missing in ["/assets/nothing.js", "/api/v1/nothing", "/api/nothing"] {
        let r = n.http.get(n.url(missing)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{missing}");
    }
    let r = n
        .http
        .get(n.url("/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    n.stop().await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_every_login_is_audited() {
    let n = TestNode::start("[auth]\nlockout_failures = 3\nlockout_s = 600\n").await;
    let admin = n.admin().await;
    let _ = n.user(&admin, "officer", "operator").await;
    for _ in 0..3 {
        assert_eq!(n.login("officer", "wrong password!").await.status(), 401);
    }
    // Locked: even the right password is refused, with the same answer.
    let r = n.login("officer", "officer password 123").await;
    assert_eq!(r.status(), 401);
    let users = n.get_json(&admin, "/api/v1/users").await;
    let officer = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "officer")
        .unwrap();
    assert!(
        officer["locked_until_unix_ns"].as_i64().is_some(),
        "{officer}"
    );
    let r = n
        .http
        .patch(n.url("/api/v1/users/officer"))
        .bearer_auth(&admin)
        .json(&json!({ "unlock": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        n.login("officer", "officer password 123").await.status(),
        200
    );
    // An unknown user gets the same answer as a wrong password.
    assert_eq!(n.login("nobody", "whatever it is").await.status(), 401);

    let audit = n.get_json(&admin, "/api/v1/audit?limit=100").await;
    let outcomes: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"]["action"] == "login")
        .map(|e| {
            (
                e["body"]["actor"].as_str().unwrap().to_string(),
                e["body"]["detail"]["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let count = |who: &str, what: &str| {
        outcomes
            .iter()
            .filter(|(a, o)| a == who && o == what)
            .count()
    };
    assert_eq!(count("officer", "bad_password"), 3, "{outcomes:?}");
    assert_eq!(count("officer", "locked"), 1, "{outcomes:?}");
    assert_eq!(count("officer", "ok"), 2, "{outcomes:?}");
    assert_eq!(count("nobody", "unknown_user"), 1, "{outcomes:?}");
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["body"]["action"] == "user_update"),
        "the unlock is audited"
    );
    n.stop().await;
}

#[tokio::test]
async fn roles_allow_what_they_should_and_nothing_more() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let agent = n.user(&admin, "garcia", "agent").await;
    let analyst = n.user(&admin, "lee", "analyst").await;
    let operator = n.user(&admin, "officer", "operator").await;

    assert_eq!(n.get(&agent, "/api/v1/tracks").await.status(), 200);
    assert_eq!(n.get(&agent, "/api/v1/history/events").await.status(), 403);
    assert_eq!(n.get(&agent, "/api/v1/users").await.status(), 403);
    assert_eq!(n.get(&agent, "/metrics").await.status(), 403);
    assert_eq!(
        n.post(&agent, "/api/v1/alerts/1/acknowledge", &json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(
        n.get(&analyst, "/api/v1/history/events").await.status(),
        200
    );
    assert_eq!(
        n.get(&analyst, "/api/v1/history/export?format=csv")
            .await
            .status(),
        200
    );
    assert_eq!(
        n.post(
            &analyst,
            "/api/v1/users",
            &json!({"name": "x", "role": "admin", "password": "long enough pw"})
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        n.get(&operator, "/api/v1/history/export").await.status(),
        403
    );
    // An operator may act on alerts: alert 1 does not exist.
    assert_eq!(
        n.post(&operator, "/api/v1/alerts/1/acknowledge", &json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(n.get(&admin, "/metrics").await.status(), 200);
    n.stop().await;
}

#[tokio::test]
async fn a_device_token_works_until_it_is_revoked() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let _ = n.user(&admin, "garcia", "agent").await;
    let r = n
        .post(
            &admin,
            "/api/v1/users/garcia/device-tokens",
            &json!({"label": "phone"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let me = n.get_json(&token, "/api/v1/me").await;
    assert_eq!(me["user"], "garcia");
    assert_eq!(me["role"], "agent");
    assert_eq!(me["device"], id.as_str());
    let listed = n.get_json(&admin, "/api/v1/device-tokens").await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["token"].is_null()),
        "secrets are never listed: {listed}"
    );
    let r = n
        .http
        .delete(n.url(&format!("/api/v1/device-tokens/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(n.get(&token, "/api/v1/me").await.status(), 401);
    n.stop().await;
}

fn sighting(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "observed_at": "2026-12-02T10:00:00Z",
        "reporter_position": { "lat_deg": 31.34, "lon_deg": -110.93, "h_m": 1200.0 },
        "bearing_deg": 45.0,
        "distance_m": 300.0,
        "height_m": 60.0,
        "count": 1,
        "sound_heard": true,
        "note": "quadcopter, heading north",
        "photo": { "mime": "image/jpeg", "data_base64": "/9j/4AAQSkZJRgABAQ==" }
    })
}

#[tokio::test]
async fn a_drone_heard_but_not_seen_is_reported_with_a_distance_and_no_bearing() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let agent = n.user(&admin, "garcia", "agent").await;
    let mut heard = sighting("heard-1");
    let obj = heard.as_object_mut().unwrap();
    obj.remove("bearing_deg");
    obj.remove("photo");
    let r = n.post(&agent, "/api/v1/sightings", &heard).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    n.stop().await;
}

#[tokio::test]
async fn a_retried_sighting_is_stored_once_and_reads_of_history_are_audited() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let agent = n.user(&admin, "garcia", "agent").await;
    let analyst = n.user(&admin, "lee", "analyst").await;
    let first = n.post(&agent, "/api/v1/sightings", &sighting("c-1")).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["duplicate"], false);
    let again = n.post(&agent, "/api/v1/sightings", &sighting("c-1")).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["seq"], first["seq"]);
    // Another client id is another report.
    assert_eq!(
        n.post(&agent, "/api/v1/sightings", &sighting("c-2"))
            .await
            .status(),
        201
    );

    let h = n
        .get_json(&analyst, "/api/v1/history/events?kind=sighting")
        .await;
    let events = h["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{h}");
    let body = &events[0]["body"];
    assert_eq!(body["reporter"], "garcia");
    assert!(
        body["photo"].is_null(),
        "the photo is stored apart, by digest"
    );
    let sha = body["photo_sha256"].as_str().unwrap();
    let photo = n
        .get(&agent, &format!("/api/v1/sightings/{sha}/photo"))
        .await;
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");

    let ex = n
        .get(
            &analyst,
            "/api/v1/history/export?kind=sighting&format=geojson",
        )
        .await;
    assert_eq!(ex.status(), 200);
    let gj: Value = ex.json().await.unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), 2);

    let audit = n.get_json(&admin, "/api/v1/audit?limit=100").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"]["actor"] == "lee")
        .filter_map(|e| e["body"]["action"].as_str())
        .collect();
    assert!(actions.contains(&"history_read"), "{actions:?}");
    assert!(actions.contains(&"export"), "{actions:?}");

    // A malformed report is refused by name.
    let mut bad = sighting("c-3");
    bad["bearing_deg"] = json!(400.0);
    let r = n.post(&agent, "/api/v1/sightings", &bad).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("bearing_deg"));
    n.stop().await;
}

#[tokio::test]
async fn oversized_requests_and_floods_are_refused() {
    let n = TestNode::start(
        "[http]\nbind = \"127.0.0.1:0\"\nmax_body_bytes = 4096\nrate_per_s = 2\nrate_burst = 5\n",
    )
    .await;
    let admin = n.admin().await;
    let big = json!({ "name": "x".repeat(10_000), "role": "agent", "password": "long enough pw" });
    let r = n.post(&admin, "/api/v1/users", &big).await;
    assert_eq!(r.status(), 413);
    let mut limited = 0;
    for _ in 0..20 {
        if n.get(&admin, "/api/v1/tracks").await.status() == 429 {
            limited += 1;
        }
    }
    assert!(limited >= 10, "{limited} of 20 refused");
    let m = n.node().metrics.encode();
    assert!(m.contains("dronewatch_rate_limited_total"), "{m}");
    n.stop().await;
}

#[tokio::test]
async fn tokens_refresh_within_the_session() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let r = n
        .http
        .post(n.url("/api/v1/auth/refresh"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let fresh = v["access_token"].as_str().unwrap();
    assert_eq!(n.get_json(fresh, "/api/v1/me").await["user"], "admin");
    n.stop().await;
}

#[tokio::test]
async fn the_first_start_makes_one_admin_and_never_a_default_password() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(dir.path(), "");
    let node = dronewatch_server::node::start_with_admin_password(cfg.clone(), None)
        .await
        .unwrap();
    let generated = node
        .generated_admin_password
        .clone()
        .expect("a generated password");
    assert!(generated.len() >= 16, "{generated}");
    let base = format!("http://{}", node.http_addr);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": generated}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    node.stop(Duration::from_secs(5)).await;
    // Restarted: the admin exists, nothing is generated again.
    let node = dronewatch_server::node::start_with_admin_password(cfg, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    assert!(node.generated_admin_password.is_none());
    node.stop(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn with_a_certificate_the_api_speaks_tls_only() {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = cert.cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let extra = format!(
        "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
        dir.path().join("cert.pem").display().to_string(),
        dir.path().join("key.pem").display().to_string()
    );
    let n = TestNode::start_in(dir, &extra).await;
    let addr = n.node().http_addr;

    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    tls.read_to_string(&mut resp).await.unwrap_or_default();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = n.http.get(format!("http://{addr}/healthz")).send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200));
    n.stop().await;
}

/// Zones and the allow-list are changed by admins only, checked whole (a bad feature
/// changes nothing), audited, and kept across a restart.
#[tokio::test]
async fn zones_and_the_allow_list_are_admin_changes_that_survive_a_restart() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let officer = n.user(&admin, "officer", "operator").await;
    let put = |token: &str, path: &str, body: Value| {
        n.http
            .put(n.url(path))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    let site = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "post-1",
        "properties": {"kind": "protected_site", "name": "Post 1"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [-110.94, 31.33], [-110.93, 31.33], [-110.93, 31.34], [-110.94, 31.34], [-110.94, 31.33]]]}
    }]});
    let r = put(&officer, "/api/v1/zones", site.clone()).await.unwrap();
    assert_eq!(r.status(), 403, "an operator may not change zones");
    let r = put(&admin, "/api/v1/zones", site.clone()).await.unwrap();
    assert_eq!(r.status(), 200);

    // A second feature without a kind: refused whole, naming it; the first stays.
    let mut bad = site.clone();
    bad["features"].as_array_mut().unwrap().push(json!({
        "type": "Feature", "properties": {"name": "no kind"},
        "geometry": {"type": "LineString", "coordinates": [[-110.9, 31.3], [-110.8, 31.3]]}
    }));
    let r = put(&admin, "/api/v1/zones", bad).await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains("feature 1") && msg.contains("kind"), "{msg}");
    assert_eq!(n.get_json(&officer, "/api/v1/zones").await, site);

    let r = put(
        &admin,
        "/api/v1/allow-list",
        json!({"remote_id_serials": ["1581F5FJD22A", "bad serial"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "a space is not in a serial");
    let r = put(
        &admin,
        "/api/v1/allow-list",
        json!({"remote_id_serials": ["1581F5FJD22A", "1581F5FJD22A"]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let allow = json!({"remote_id_serials": ["1581F5FJD22A"]});
    assert_eq!(n.get_json(&officer, "/api/v1/allow-list").await, allow);

    let audit = n
        .get_json(&admin, "/api/v1/audit?limit=100")
        .await
        .to_string();
    assert!(
        audit.contains("zones_replace") && audit.contains("allow_list_replace"),
        "{audit}"
    );

    let dir = n.stop().await;
    let n = TestNode::start_in(dir, "").await;
    let admin = n.admin().await;
    assert_eq!(n.get_json(&admin, "/api/v1/zones").await, site);
    assert_eq!(n.get_json(&admin, "/api/v1/allow-list").await, allow);
    n.stop().await;
}

/// A bulletin: analysts publish, agents acknowledge (each once), the watch officer sees
/// who has not, a withdrawal ends its posture; every step is audited and the bulletins
/// outlive a restart.
#[tokio::test]
async fn bulletins_are_published_acknowledged_by_each_agent_and_kept() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let analyst = n.user(&admin, "intel", "analyst").await;
    let officer = n.user(&admin, "officer", "operator").await;
    let garcia = n.user(&admin, "garcia", "agent").await;
    n.user(&admin, "lee", "agent").await;
    let area = json!({"type": "Polygon", "coordinates": [[
        [-110.94, 31.33], [-110.93, 31.33], [-110.93, 31.34], [-110.94, 31.33]]]});
    let memo = json!({
        "text": "Cartel leaders have authorised drone attacks on agents in this sector.",
        "posture": "high", "area": area,
    });
    assert_eq!(
        n.get_json(&officer, "/api/v1/posture").await["level"],
        "normal"
    );
    let r = n.post(&officer, "/api/v1/bulletins", &memo).await;
    assert_eq!(r.status(), 403, "an operator does not publish");
    let mut bad = memo.clone();
    bad["area"] = json!({"type": "Polygon", "coordinates": [[[-110.94, 31.33], [-110.93, 31.33]]]});
    let r = n.post(&analyst, "/api/v1/bulletins", &bad).await;
    assert_eq!(r.status(), 400);
    let msg = r.json::<Value>().await.unwrap()["message"].to_string();
    assert!(msg.contains("area"), "{msg}");

    let r = n.post(&analyst, "/api/v1/bulletins", &memo).await;
    assert_eq!(r.status(), 201);
    let b: Value = r.json().await.unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(b["in_force"], true);
    assert_eq!(b["unacknowledged"], json!(["garcia", "lee"]));
    let posture = n.get_json(&garcia, "/api/v1/posture").await;
    assert_eq!(posture["level"], "high");
    assert_eq!(posture["bulletin_ids"], json!([id]));
    assert!(
        posture["standing_orders"]
            .to_string()
            .contains("tourniquet"),
        "{posture}"
    );

    // An agent sees only themselves; an operator cannot acknowledge for them.
    let mine = n.get_json(&garcia, "/api/v1/bulletins").await;
    assert_eq!(mine[0]["unacknowledged"], json!(["garcia"]));
    let ack = format!("/api/v1/bulletins/{id}/acknowledge");
    assert_eq!(n.post(&officer, &ack, &json!({})).await.status(), 403);
    assert_eq!(
        n.post(&garcia, "/api/v1/bulletins/b1/acknowledge", &json!({}))
            .await
            .status(),
        404
    );
    let first: Value = n
        .post(&garcia, &ack, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let at = first["acknowledged"]["garcia"].as_i64().unwrap();
    let again: Value = n
        .post(&garcia, &ack, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["acknowledged"]["garcia"].as_i64(), Some(at));
    let board = n.get_json(&officer, "/api/v1/bulletins").await;
    assert_eq!(board[0]["unacknowledged"], json!(["lee"]));
    assert!(board[0]["acknowledged"]["garcia"].is_i64());

    let dir = n.stop().await;
    let n = TestNode::start_in(dir, "").await;
    let admin = n.admin().await;
    let board = n.get_json(&admin, "/api/v1/bulletins").await;
    assert_eq!(board[0]["id"], id.as_str());
    assert_eq!(board[0]["unacknowledged"], json!(["lee"]));
    assert_eq!(n.get_json(&admin, "/api/v1/posture").await["level"], "high");

    let del = |token: String| {
        n.http
            .delete(n.url(&format!("/api/v1/bulletins/{id}")))
            .bearer_auth(token)
            .send()
    };
    let r = del(admin.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["withdrawn_by"], "admin");
    assert_eq!(del(admin.clone()).await.unwrap().status(), 409);
    assert_eq!(
        n.get_json(&admin, "/api/v1/posture").await["level"],
        "normal"
    );
    assert_eq!(n.get_json(&admin, "/api/v1/bulletins").await, json!([]));
    let all = n.get_json(&admin, "/api/v1/bulletins?all=true").await;
    assert_eq!(all.as_array().unwrap().len(), 1);

    let audit = n
        .get_json(&admin, "/api/v1/audit?limit=100")
        .await
        .to_string();
    for action in [
        "bulletin_publish",
        "bulletin_acknowledged",
        "bulletin_withdraw",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    n.stop().await;
}

/// The exercise state outlives a restart: still running after one, and the last one's
/// record after the next.
#[tokio::test]
async fn a_running_exercise_survives_a_restart() {
    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let r = n
        .post(
            &admin,
            "/api/v1/exercise",
            &json!({"name": "drone attack on Post Mariposa"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let dir = n.stop().await;
    let n = TestNode::start_in(dir, "").await;
    let admin = n.admin().await;
    let st = n.get_json(&admin, "/api/v1/exercise").await;
    assert_eq!(
        st["running"]["name"], "drone attack on Post Mariposa",
        "{st}"
    );
    let r = n
        .http
        .delete(n.url("/api/v1/exercise"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let dir = n.stop().await;
    let n = TestNode::start_in(dir, "").await;
    let admin = n.admin().await;
    let st = n.get_json(&admin, "/api/v1/exercise").await;
    assert!(st["running"].is_null(), "{st}");
    assert_eq!(st["last"]["ended_by"], "admin", "{st}");
    n.stop().await;
}

/// The node's PMTiles basemap is read by the map in HTTP ranges, by users only; a file
/// that is not PMTiles v3 stops the node at start with a clear error.
#[tokio::test]
async fn the_pmtiles_basemap_is_served_by_range_to_users_only() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("sector.pmtiles");
    let mut bytes = b"PMTiles\x03".to_vec();
    bytes.extend((0..4000u32).map(|i| (i % 251) as u8));
    std::fs::write(&archive, &bytes).unwrap();
    let basemap = format!("[ui]\npmtiles = {:?}\n", archive.display().to_string());

    let n = TestNode::start(&basemap).await;
    let url = n.url("/api/v1/basemap.pmtiles");
    assert_eq!(n.http.get(&url).send().await.unwrap().status(), 401);
    let token = n.user(&n.admin().await, "garcia", "agent").await;
    let cfg = n.get_json(&token, "/api/v1/ui-config").await;
    assert_eq!(cfg["pmtiles_url"], "/api/v1/basemap.pmtiles", "{cfg}");
    for (first, last) in [(0usize, 126usize), (1000, 1099), (3900, 4007)] {
        let r = n
            .http
            .get(&url)
            .bearer_auth(&token)
            .header("range", format!("bytes={first}-{last}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206, "bytes={first}-{last}");
        let range = r.headers()["content-range"].to_str().unwrap().to_owned();
        assert_eq!(range, format!("bytes {first}-{last}/{}", bytes.len()));
        assert_eq!(&r.bytes().await.unwrap()[..], &bytes[first..=last]);
    }
    // A map's first read asks for 16 KiB, more than a small archive has: it gets the file.
    let r = n
        .http
        .get(&url)
        .bearer_auth(&token)
        .header("range", "bytes=0-16383")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..]);
    n.stop().await;

    let n = TestNode::start("").await;
    let admin = n.admin().await;
    let cfg = n.get_json(&admin, "/api/v1/ui-config").await;
    assert!(cfg["pmtiles_url"].is_null(), "{cfg}");
    let r = n.get(&admin, "/api/v1/basemap.pmtiles").await;
    assert_eq!(r.status(), 404);
    n.stop().await;

    std::fs::write(&archive, b"<html>not tiles</html>").unwrap();
    let cfg = support::config(dir.path(), &basemap);
    let Err(err) = dronewatch_server::node::start_with_admin_password(cfg, None).await else {
        panic!("a file that is not PMTiles must stop the node");
    };
    assert!(
        err.to_string().contains("is not a PMTiles archive"),
        "{err}"
    );
    let both = format!("{basemap}tile_url = \"/tiles/{{z}}/{{x}}/{{y}}.png\"\n");
    let err = dronewatch_server::config::ServerConfig::from_toml(&both).unwrap_err();
    assert!(err.to_string().contains("ui.pmtiles"), "{err}");
}
