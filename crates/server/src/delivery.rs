//! Delivery beyond the WebSocket: signed JSON webhooks. Each configured webhook gets the
//! live events it asks for (alerts at or above a level, warnings, bulletins, posture),
//! signed with HMAC-SHA256, retried with exponential backoff, and, when every attempt
//! failed, kept as a dead letter in the event log. A failing webhook shows on
//! `GET /api/v1/delivery`, in the metrics and on the ops centre's screen.
//!
//! The body is the stream message (`{"type": "alert", "alert": {...}}`) with
//! `delivery_id`, `sector` and `node` added; `X-Dronewatch-Signature: t=<unix s>,
//! sha256=<hex>` signs `"<t>.<body>"`, so a receiver can refuse replays of old bodies.
//! An alert is delivered when it opens and when its level or state changes, not on every
//! refresh of its score.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dronewatch_store::{EventKind, NewEvent};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::Semaphore;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use utoipa::ToSchema;

use crate::live::{LiveHub, lock};
use crate::metrics::{Metrics, label};
use crate::pipeline::{Ingest, Input};

/// One webhook receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` (the system's certificate store is trusted).
    pub url: String,
    /// The HMAC-SHA256 key shared with the receiver; or name an environment variable
    /// holding it in `secret_env`, to keep it out of the file.
    #[serde(default)]
    pub secret: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Stream message types to deliver: `alert`, `warning`, `bulletin`, `posture`.
    #[serde(default = "default_kinds")]
    pub kinds: Vec<String>,
    /// Alerts below this level are not delivered: `low`, `medium`, `high`, `critical`.
    #[serde(default = "default_min_level")]
    pub min_alert_level: String,
    /// Attempts before a delivery becomes a dead letter.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles each time, up to a minute [ms].
    #[serde(default = "default_first_retry_ms")]
    pub first_retry_ms: u64,
    /// One attempt's time limit [ms].
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_kinds() -> Vec<String> {
    vec!["alert".into(), "bulletin".into()]
}
fn default_min_level() -> String {
    "high".into()
}
fn default_attempts() -> u32 {
    6
}
fn default_first_retry_ms() -> u64 {
    1000
}
fn default_timeout_ms() -> u64 {
    5000
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySection {
    pub webhooks: Vec<WebhookConfig>,
}

const KINDS: [&str; 4] = ["alert", "warning", "bulletin", "posture"];
const LEVELS: [&str; 5] = ["none", "low", "medium", "high", "critical"];
/// Deliveries in flight per webhook; beyond it an event is a dead letter at once (the
/// receiver is far behind, and the node must not hold unbounded memory for it).
const MAX_IN_FLIGHT: usize = 256;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How one webhook is doing, for the watch officer.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct WebhookStatus {
    /// The receiver's address without credentials or query.
    pub url: String,
    pub delivered: u64,
    /// Attempts that failed and were tried again.
    pub retried: u64,
    pub dead_lettered: u64,
    pub in_flight: usize,
    /// The last attempt failed.
    pub failing: bool,
    pub last_error: Option<String>,
    pub last_error_unix_ns: Option<i64>,
    pub last_delivered_unix_ns: Option<i64>,
}

/// Every webhook's status, shared with the API.
#[derive(Debug, Default)]
pub struct DeliveryBoard {
    pub webhooks: Mutex<Vec<WebhookStatus>>,
}

/// Checks the configuration: called before anything starts, so a typo fails the start.
pub fn check(cfg: &DeliverySection) -> Result<(), String> {
    for (i, w) in cfg.webhooks.iter().enumerate() {
        let at = |what: &str| format!("delivery.webhooks[{i}]: {what}");
        if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
            return Err(at("url: http:// or https:// expected"));
        }
        if secret_of(w).map_err(|e| at(&e))?.len() < 16 {
            return Err(at("secret: at least 16 bytes"));
        }
        if let Some(k) = w.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
            return Err(at(&format!("kinds: unknown {k:?} (one of {KINDS:?})")));
        }
        if !LEVELS[1..].contains(&w.min_alert_level.as_str()) {
            return Err(at("min_alert_level: low, medium, high or critical"));
        }
        if w.max_attempts == 0 {
            return Err(at("max_attempts: at least 1"));
        }
    }
    Ok(())
}

fn secret_of(w: &WebhookConfig) -> Result<Vec<u8>, String> {
    match &w.secret_env {
        Some(var) => std::env::var(var)
            .map(String::into_bytes)
            .map_err(|_| format!("secret_env: {var} is not set")),
        None => Ok(w.secret.clone().into_bytes()),
    }
}

/// `t=<unix s>,sha256=<hex>` over `"<t>.<body>"`.
pub fn signature(secret: &[u8], t_unix_s: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(t_unix_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={t_unix_s},sha256={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The address as shown: scheme, host and path, no credentials or query.
fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{rest}")
}

/// Starts one task per webhook. Returns the board the API reads.
pub fn start(
    cfg: &DeliverySection,
    ctx: DeliveryContext,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Arc<DeliveryBoard>, String> {
    check(cfg)?;
    let board = Arc::new(DeliveryBoard::default());
    if cfg.webhooks.is_empty() {
        return Ok(board);
    }
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .user_agent(concat!("dronewatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("webhook client: {e}"))?;
    for (i, w) in cfg.webhooks.iter().enumerate() {
        lock(&board.webhooks).push(WebhookStatus {
            url: shown(&w.url),
            ..Default::default()
        });
        let hook = Webhook {
            index: i,
            secret: secret_of(w)?,
            min_alert_rank: LEVELS
                .iter()
                .position(|l| *l == w.min_alert_level)
                .unwrap_or(3),
            cfg: w.clone(),
            client: client.clone(),
            board: board.clone(),
            ctx: ctx.clone(),
            slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        };
        info!(url = %shown(&w.url), kinds = ?w.kinds, "webhook delivery");
        tasks.spawn(hook.run(ctx.hub.events.subscribe(), shutdown.clone()));
    }
    Ok(board)
}

/// What every delivery needs of the node.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub hub: LiveHub,
    pub ingest: Ingest,
    pub metrics: Metrics,
    pub sector: String,
    pub node: String,
}

#[derive(Debug)]
struct Webhook {
    index: usize,
    cfg: WebhookConfig,
    secret: Vec<u8>,
    min_alert_rank: usize,
    client: reqwest::Client,
    board: Arc<DeliveryBoard>,
    ctx: DeliveryContext,
    slots: Arc<Semaphore>,
}

impl Webhook {
    async fn run(
        self,
        mut events: tokio::sync::broadcast::Receiver<Arc<Vec<crate::live::LiveEvent>>>,
        shutdown: CancellationToken,
    ) {
        let hook = Arc::new(self);
        let mut seq: u64 = 0;
        // Per alert, the (level, state, escalated) last delivered.
        let mut alerts: BTreeMap<u64, AlertKey> = BTreeMap::new();
        loop {
            let batch = tokio::select! {
                _ = shutdown.cancelled() => break,
                b = events.recv() => b,
            };
            let batch = match batch {
                Ok(b) => b,
                Err(RecvError::Lagged(n)) => {
                    hook.dead_letter(
                        &format!("lagged-{seq}"),
                        0,
                        &format!("the node produced events faster than this webhook took them: {n} batches skipped"),
                        serde_json::Value::Null,
                    )
                    .await;
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            for ev in batch
                .iter()
                .filter(|e| hook.cfg.kinds.iter().any(|k| k == e.kind))
            {
                let Ok(mut msg) = serde_json::from_str::<serde_json::Value>(ev.json.as_str())
                else {
                    continue;
                };
                if ev.kind == "alert" && !hook.alert_is_news(&msg, &mut alerts) {
                    continue;
                }
                if ev.kind == "warning" && msg["warning"]["level"] == "all_clear" {
                    continue;
                }
                seq += 1;
                let id = format!("{}-{}-{seq}", hook.ctx.node, crate::clock::now().0);
                msg["delivery_id"] = id.clone().into();
                msg["sector"] = hook.ctx.sector.clone().into();
                msg["node"] = hook.ctx.node.clone().into();
                let Ok(permit) = hook.slots.clone().try_acquire_owned() else {
                    hook.dead_letter(&id, 0, "too many deliveries in flight", msg)
                        .await;
                    continue;
                };
                let h = hook.clone();
                tokio::spawn(async move {
                    h.deliver(id, msg).await;
                    drop(permit);
                });
            }
        }
    }

    /// An alert opened, its level or state changed, or it was escalated (critical and not
    /// acknowledged in time: the receiver may be how someone else is reached), and it is at
    /// or above the minimum.
    fn alert_is_news(&self, msg: &serde_json::Value, seen: &mut BTreeMap<u64, AlertKey>) -> bool {
        let a = &msg["alert"];
        let level = a["level"].as_str().unwrap_or("none").to_owned();
        let state = a["state"].as_str().unwrap_or("").to_owned();
        let rank = LEVELS.iter().position(|l| *l == level).unwrap_or(0);
        let Some(id) = a["id"].as_u64() else {
            return false;
        };
        let now = (level, state, a["escalated"].as_bool().unwrap_or(false));
        let news = seen.get(&id) != Some(&now);
        let was_delivered = seen.contains_key(&id);
        // A closed alert is forgotten once its closing is delivered (or skipped).
        let closed = ["resolved", "false_alarm"].contains(&now.1.as_str());
        if closed {
            seen.remove(&id);
        } else if rank >= self.min_alert_rank {
            seen.insert(id, now);
        }
        // Below the minimum: never delivered, unless it fell from above it (the receiver
        // has the alert and should hear that it is lower now or closed).
        news && (rank >= self.min_alert_rank || was_delivered)
    }

    async fn deliver(&self, id: String, msg: serde_json::Value) {
        let body = msg.to_string().into_bytes();
        let mut wait = Duration::from_millis(self.cfg.first_retry_ms);
        self.status(|s| s.in_flight += 1);
        let mut attempt = 1;
        let outcome = loop {
            let t_s = crate::clock::now().0.div_euclid(1_000_000_000);
            let sent = self
                .client
                .post(&self.cfg.url)
                .timeout(Duration::from_millis(self.cfg.timeout_ms))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(
                    "X-Dronewatch-Signature",
                    signature(&self.secret, t_s, &body),
                )
                .header("X-Dronewatch-Delivery", &id)
                .body(body.clone())
                .send()
                .await;
            let (error, retry) = match sent {
                Ok(r) if r.status().is_success() => break Ok(()),
                Ok(r) => {
                    let s = r.status();
                    // The receiver refused this body (a bad signature, say): trying the
                    // same body again cannot help, but an overloaded receiver may recover.
                    (
                        format!("HTTP {s}"),
                        s.is_server_error() || s.as_u16() == 429,
                    )
                }
                Err(e) => (error_chain(&e), true),
            };
            self.failed(&error);
            if !retry || attempt >= self.cfg.max_attempts {
                break Err((error, attempt));
            }
            self.status(|s| s.retried += 1);
            self.ctx
                .metrics
                .webhook_deliveries
                .get_or_create(&label("outcome", "retried"))
                .inc();
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
            attempt += 1;
        };
        self.status(|s| s.in_flight -= 1);
        match outcome {
            Ok(()) => {
                let now = crate::clock::now().0;
                self.status(|s| {
                    s.delivered += 1;
                    s.failing = false;
                    s.last_delivered_unix_ns = Some(now);
                });
                self.ctx
                    .metrics
                    .webhook_deliveries
                    .get_or_create(&label("outcome", "delivered"))
                    .inc();
            }
            Err((error, attempts)) => self.dead_letter(&id, attempts, &error, msg).await,
        }
    }

    fn failed(&self, error: &str) {
        let now = crate::clock::now().0;
        self.status(|s| {
            s.failing = true;
            s.last_error = Some(error.to_owned());
            s.last_error_unix_ns = Some(now);
        });
    }

    /// Gives up on a delivery: counted, shown, and kept in the event log with the message.
    async fn dead_letter(&self, id: &str, attempts: u32, error: &str, msg: serde_json::Value) {
        warn!(url = %shown(&self.cfg.url), delivery = id, attempts, error, "webhook delivery failed");
        self.failed(error);
        self.status(|s| s.dead_lettered += 1);
        self.ctx
            .metrics
            .webhook_deliveries
            .get_or_create(&label("outcome", "dead_letter"))
            .inc();
        let record = NewEvent {
            kind: EventKind::Delivery,
            t: crate::clock::now(),
            source: Some(shown(&self.cfg.url)),
            serial: None,
            track_id: msg["alert"]["track_id"]
                .as_u64()
                .or(msg["warning"]["track_id"].as_u64()),
            position: None,
            idempotency_key: None,
            body: serde_json::json!({
                "dead_letter": true, "webhook": shown(&self.cfg.url), "delivery_id": id,
                "attempts": attempts, "error": error, "message": msg,
            })
            .to_string(),
        };
        if let Err(e) = self.ctx.ingest.submit(Input::Record(record)).await {
            warn!(error = %e, "dead letter not recorded");
        }
    }

    fn status(&self, f: impl FnOnce(&mut WebhookStatus)) {
        if let Some(s) = lock(&self.board.webhooks).get_mut(self.index) {
            f(s);
        }
    }
}

/// What makes an alert worth delivering again: its level, state and escalation.
type AlertKey = (String, String, bool);

/// The error with its causes ("error sending request: connection refused"), which
/// reqwest's own message leaves out.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn signatures_cover_the_time_and_the_body() {
        let a = signature(b"0123456789abcdef", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,sha256="), "{a}");
        assert_eq!(a.len(), "t=1700000000,sha256=".len() + 64);
        assert_ne!(a, signature(b"0123456789abcdef", 1_700_000_001, b"{}"));
        assert_ne!(a, signature(b"0123456789abcdef", 1_700_000_000, b"{ }"));
        assert_ne!(a, signature(b"0123456789abcdeF", 1_700_000_000, b"{}"));
    }

    #[test]
    fn shown_urls_have_no_credentials_or_query() {
        assert_eq!(
            shown("https://user:pw@hooks.example/a/b?token=x#f"),
            "https://hooks.example/a/b"
        );
        assert_eq!(shown("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x");
    }

    #[test]
    fn bad_webhooks_are_refused_by_field() {
        let ok = WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            secret: "a secret of sixteen+".into(),
            secret_env: None,
            kinds: default_kinds(),
            min_alert_level: default_min_level(),
            max_attempts: 3,
            first_retry_ms: 10,
            timeout_ms: 100,
        };
        let section = |w: WebhookConfig| DeliverySection { webhooks: vec![w] };
        assert_eq!(check(&section(ok.clone())), Ok(()));
        for (bad, field) in [
            (
                WebhookConfig {
                    url: "ftp://x".into(),
                    ..ok.clone()
                },
                "url",
            ),
            (
                WebhookConfig {
                    secret: "short".into(),
                    ..ok.clone()
                },
                "secret",
            ),
            (
                WebhookConfig {
                    kinds: vec!["tracks".into()],
                    ..ok.clone()
                },
                "kinds",
            ),
            (
                WebhookConfig {
                    min_alert_level: "severe".into(),
                    ..ok.clone()
                },
                "min_alert_level",
            ),
            (
                WebhookConfig {
                    max_attempts: 0,
                    ..ok.clone()
                },
                "max_attempts",
            ),
            (
                WebhookConfig {
                    secret_env: Some("DRONEWATCH_TEST_UNSET_SECRET".into()),
                    ..ok.clone()
                },
                "secret_env",
            ),
        ] {
            let e = check(&section(bad)).unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
