//! Signed JSON webhooks. Each message is signed with HMAC-SHA256, sent on its own task,
//! retried with exponential backoff, and a dead letter when every attempt failed.
//!
//! The body is the stream message (`{"type": "alert", "alert": {...}}`) with
//! `delivery_id`, `sector` and `node` added; `X-Dronewatch-Signature: t=<unix s>,
//! sha256=<hex>` signs `"<t>.<body>"`, so a receiver can refuse replays of old bodies.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{Channel, Filter, Outgoing, error_chain};

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

/// Deliveries in flight per webhook; beyond it an event is a dead letter at once (the
/// receiver is far behind, and the node must not hold unbounded memory for it).
const MAX_IN_FLIGHT: usize = 256;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// Checks one webhook's configuration.
pub(super) fn check(w: &WebhookConfig) -> Result<(), String> {
    if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
        return Err("url: http:// or https:// expected".into());
    }
    if secret_of(w)?.len() < 16 {
        return Err("secret: at least 16 bytes".into());
    }
    super::check_filters(&w.kinds, &w.min_alert_level)?;
    if w.max_attempts == 0 {
        return Err("max_attempts: at least 1".into());
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
pub(super) fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    format!("{scheme}://{rest}")
}

/// Starts the webhook's task.
pub(super) fn spawn(
    w: &WebhookConfig,
    channel: Channel,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), String> {
    let client = crate::http_client().map_err(|e| format!("webhook client: {e}"))?;
    info!(url = %channel.url, kinds = ?w.kinds, "webhook delivery");
    let events = channel.ctx.hub.events.subscribe();
    let hook = Webhook {
        secret: secret_of(w)?,
        cfg: w.clone(),
        client,
        channel,
        slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    };
    let filter = Filter::new(&w.kinds, &w.min_alert_level);
    let again = hook.channel.redelivery_queue();
    tasks.spawn(hook.run(events, again, filter, shutdown.clone()));
    Ok(())
}

#[derive(Debug)]
struct Webhook {
    cfg: WebhookConfig,
    secret: Vec<u8>,
    client: reqwest::Client,
    channel: Channel,
    slots: Arc<Semaphore>,
}

impl Webhook {
    async fn run(
        self,
        mut events: tokio::sync::broadcast::Receiver<Arc<Vec<crate::live::LiveEvent>>>,
        mut again: tokio::sync::mpsc::Receiver<super::Again>,
        mut filter: Filter,
        shutdown: CancellationToken,
    ) {
        let hook = Arc::new(self);
        loop {
            // Dead letters sent again (an operator asked) come between live batches.
            let (out, redelivery) = tokio::select! {
                Some((id, msg)) = again.recv() => (vec![Outgoing { kind: "redelivery", id, msg }], true),
                out = hook.channel.next(&mut events, &mut filter, &shutdown) => match out {
                    Some(out) => (out, false),
                    None => break,
                },
            };
            for Outgoing { id, msg, .. } in out {
                let Ok(permit) = hook.slots.clone().try_acquire_owned() else {
                    hook.channel
                        .dead_letter(&id, 0, "too many deliveries in flight", msg)
                        .await;
                    continue;
                };
                let h = hook.clone();
                tokio::spawn(async move {
                    h.deliver(id, msg, redelivery).await;
                    drop(permit);
                });
            }
        }
    }

    async fn deliver(&self, id: String, msg: serde_json::Value, redelivery: bool) {
        let body = msg.to_string().into_bytes();
        let mut wait = Duration::from_millis(self.cfg.first_retry_ms);
        let ch = &self.channel;
        ch.status(|s| s.in_flight += 1);
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
            ch.failed(&error);
            if !retry || attempt >= self.cfg.max_attempts {
                break Err((error, attempt));
            }
            ch.status(|s| s.retried += 1);
            ch.count("retried");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_RETRY_WAIT);
            attempt += 1;
        };
        ch.status(|s| s.in_flight -= 1);
        match outcome {
            Ok(()) => {
                ch.delivered();
                if redelivery {
                    ch.redelivered(&id).await;
                }
            }
            Err((error, attempts)) => ch.dead_letter(&id, attempts, &error, msg).await,
        }
    }
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
        assert_eq!(check(&ok), Ok(()));
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
            let e = check(&bad).unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
