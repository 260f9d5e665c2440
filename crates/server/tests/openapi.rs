//! The OpenAPI document: generated from the handlers, served by the node, kept identical to
//! `docs/openapi.json`, and valid OpenAPI 3.1 by an independent validator.
//!
//! After changing the API: `DRONEWATCH_UPDATE_OPENAPI=1 cargo test -p dronewatch-server
//! --test openapi` rewrites `docs/openapi.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;

use serde_json::Value;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = dronewatch_server::api::openapi::json() + "\n";
    let path = committed();
    if std::env::var_os("DRONEWATCH_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is not the generated document; rerun with DRONEWATCH_UPDATE_OPENAPI=1"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/auth/login",
        "/api/v1/tracks",
        "/api/v1/tracks/{id}",
        "/api/v1/alerts/{id}/{action}",
        "/api/v1/sightings",
        "/api/v1/history/events",
        "/api/v1/history/export",
        "/api/v1/stream",
        "/api/v1/users",
        "/api/v1/sensors/{sensor_id}/{kind}",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
    // Every operation but login says it needs the bearer token.
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            if path == "/api/v1/auth/login" {
                continue;
            }
            assert!(
                op.get("security").is_some(),
                "{method} {path} has no security"
            );
        }
    }
}

#[test]
fn an_independent_validator_accepts_it() {
    let Some(python) = std::env::var_os("DRONEWATCH_BENCH_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "DRONEWATCH_BENCH_PYTHON (set by scripts/test.sh) is needed under CI"
        );
        eprintln!("SKIPPED: DRONEWATCH_BENCH_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, dronewatch_server::api::openapi::json()).unwrap();
    let out = std::process::Command::new(python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_node_serves_the_document() {
    let n = support::TestNode::start("").await;
    let r = n
        .http
        .get(n.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let served: Value = r.json().await.unwrap();
    let generated: Value = serde_json::from_str(&dronewatch_server::api::openapi::json()).unwrap();
    assert_eq!(served, generated);
    n.stop().await;
}
