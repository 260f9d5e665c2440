//! Web Push to the field app (RFC 8030, payloads encrypted by RFC 8291 `aes128gcm`, the
//! sender identified by VAPID, RFC 8292): an agent's phone gets its own warnings and the
//! sector's bulletins as notifications even with the app closed or its WebSocket down,
//! wherever the phone reaches its browser's push service.
//!
//! The phone subscribes with the node's VAPID public key and gives the node its
//! subscription (`POST /api/v1/push/subscriptions`); the node keeps them in the data
//! directory (`push_subscriptions.json`) and its VAPID key beside them
//! (`vapid_private.key`), generated at the first start. A subscription the push service
//! says is gone (404, 410) is dropped; anything else that fails is retried, then a dead
//! letter like a webhook's.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use utoipa::ToSchema;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair};
use web_push_native::{Auth, WebPushBuilder};

use super::{Channel, Filter, Outgoing, error_chain};
use crate::live::lock;

const KEY_FILE: &str = "vapid_private.key";
const SUBSCRIPTIONS_FILE: &str = "push_subscriptions.json";
/// A user's phones and browsers; a new one beyond this replaces the oldest.
const MAX_PER_USER: usize = 5;
const MAX_SUBSCRIPTIONS: usize = 10_000;
/// Push services take at least 4 KiB of payload (RFC 8030 §7.2); the body is cut to fit.
const MAX_BODY_CHARS: usize = 1500;
const MAX_IN_FLIGHT: usize = 256;

/// `[delivery.web_push]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebPushConfig {
    /// Accept subscriptions and push (on by default: nothing is sent until a phone
    /// subscribes, and a phone subscribes only where it reaches a push service).
    pub enabled: bool,
    /// Who runs this node, for the push services (VAPID `sub`): `mailto:` or `https:`.
    pub contact: String,
    /// `warning` (each agent its own), `bulletin` (every subscriber, when published).
    pub kinds: Vec<String>,
    /// How long a push service keeps a message for a phone that is off [s]: a warning
    /// older than this is of no use.
    pub ttl_s: u64,
    /// Attempts before a message is a dead letter.
    pub max_attempts: u32,
    pub first_retry_ms: u64,
    pub timeout_ms: u64,
}

impl Default for WebPushConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            contact: "mailto:watch-officer@dronewatch.invalid".into(),
            kinds: vec!["warning".into(), "bulletin".into()],
            ttl_s: 300,
            max_attempts: 3,
            first_retry_ms: 500,
            timeout_ms: 5000,
        }
    }
}

pub(super) fn check(cfg: &WebPushConfig) -> Result<(), String> {
    if let Some(k) = cfg
        .kinds
        .iter()
        .find(|k| !["warning", "bulletin"].contains(&k.as_str()))
    {
        return Err(format!("kinds: unknown {k:?} (warning, bulletin)"));
    }
    if !(cfg.contact.starts_with("mailto:") || cfg.contact.starts_with("https://")) {
        return Err("contact: a mailto: or https: address".into());
    }
    if cfg.max_attempts == 0 {
        return Err("max_attempts: at least 1".into());
    }
    if cfg.ttl_s == 0 {
        return Err("ttl_s: at least 1".into());
    }
    Ok(())
}

/// One browser's push subscription, as the node keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushSubscription {
    /// The user it pushes to.
    pub user: String,
    pub endpoint: String,
    /// The browser's P-256 public key (base64url, uncompressed point).
    pub p256dh: String,
    /// The browser's 16-byte authentication secret (base64url).
    pub auth: String,
    pub created_unix_ns: i64,
}

/// The browser's `PushSubscription.toJSON()`, as the field app posts it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionJson {
    pub endpoint: String,
    #[serde(default)]
    pub expiration_time: Option<f64>,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

/// Decodes base64url with or without padding (browsers send it without).
fn b64url(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|e| format!("not base64url: {e}"))
}

impl SubscriptionJson {
    /// Checks it as a push service would need it: an https endpoint (http only on the
    /// loopback, for tests), a P-256 point and a 16-byte secret.
    pub fn validate(&self, user: &str) -> Result<PushSubscription, String> {
        let uri: axum::http::Uri = self
            .endpoint
            .parse()
            .map_err(|e| format!("endpoint: {e}"))?;
        let loopback = matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if loopback => {}
            _ => return Err("endpoint: an https:// address".into()),
        }
        if self.endpoint.len() > 2048 {
            return Err("endpoint: longer than 2048 bytes".into());
        }
        let key = b64url(&self.keys.p256dh).map_err(|e| format!("keys.p256dh: {e}"))?;
        web_push_native::p256::PublicKey::from_sec1_bytes(&key)
            .map_err(|_| "keys.p256dh: not a P-256 public key".to_owned())?;
        if b64url(&self.keys.auth)
            .map_err(|e| format!("keys.auth: {e}"))?
            .len()
            != 16
        {
            return Err("keys.auth: 16 bytes expected".into());
        }
        Ok(PushSubscription {
            user: user.to_owned(),
            endpoint: self.endpoint.clone(),
            p256dh: self.keys.p256dh.trim_end_matches('=').to_owned(),
            auth: self.keys.auth.trim_end_matches('=').to_owned(),
            created_unix_ns: crate::clock::now().0,
        })
    }
}

/// The node's VAPID key and the subscriptions, shared by the API and the sender.
#[derive(Debug)]
pub struct WebPush {
    key: ES256KeyPair,
    /// The VAPID public key as browsers take it (`applicationServerKey`).
    pub public_key: String,
    path: PathBuf,
    list: Mutex<Vec<PushSubscription>>,
}

impl WebPush {
    /// Loads the key (made and saved on the first start) and the subscriptions.
    pub fn load(data_dir: &Path) -> Result<Self, String> {
        let key_path = data_dir.join(KEY_FILE);
        let key = if key_path.exists() {
            let text = std::fs::read_to_string(&key_path)
                .map_err(|e| format!("{}: {e}", key_path.display()))?;
            b64url(text.trim())
                .and_then(|b| ES256KeyPair::from_bytes(&b).map_err(|e| e.to_string()))
                .map_err(|e| format!("{}: {e}", key_path.display()))?
        } else {
            let key = ES256KeyPair::generate();
            write_private(&key_path, &URL_SAFE_NO_PAD.encode(key.to_bytes()))
                .map_err(|e| format!("{}: {e}", key_path.display()))?;
            info!(path = %key_path.display(), "web push: VAPID key made");
            key
        };
        let public_key =
            URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed());
        let path = data_dir.join(SUBSCRIPTIONS_FILE);
        let list = if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            Vec::new()
        };
        Ok(Self {
            key,
            public_key,
            path,
            list: Mutex::new(list),
        })
    }

    pub fn subscriptions(&self) -> Vec<PushSubscription> {
        lock(&self.list).clone()
    }

    /// Adds (or renews) a subscription; a user's oldest goes beyond [`MAX_PER_USER`].
    pub fn subscribe(&self, sub: PushSubscription) -> Result<(), String> {
        let mut list = lock(&self.list);
        list.retain(|s| s.endpoint != sub.endpoint);
        if list.len() >= MAX_SUBSCRIPTIONS {
            return Err("the node holds as many subscriptions as it takes".into());
        }
        let mine: Vec<usize> = (0..list.len())
            .filter(|&i| list[i].user == sub.user)
            .collect();
        if mine.len() >= MAX_PER_USER {
            list.remove(mine[0]);
        }
        list.push(sub);
        self.save(&list)
    }

    /// Removes the subscription at `endpoint` if `may(owner)`; whether one was removed.
    pub fn unsubscribe(&self, endpoint: &str, may: impl Fn(&str) -> bool) -> Result<bool, String> {
        let mut list = lock(&self.list);
        let before = list.len();
        list.retain(|s| !(s.endpoint == endpoint && may(&s.user)));
        let removed = list.len() != before;
        if removed {
            self.save(&list)?;
        }
        Ok(removed)
    }

    fn save(&self, list: &[PushSubscription]) -> Result<(), String> {
        let text = serde_json::to_string_pretty(list).map_err(|e| e.to_string())?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

/// Writes a secret readable by the node's user only.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

/// What the phone shows: the service worker turns it into a notification.
#[derive(Debug, Serialize)]
struct Notice {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
    title: String,
    body: String,
    /// A newer notice with the same tag replaces the older on the phone.
    tag: String,
    level: String,
    exercise: bool,
}

/// The notice for a stream message, and who gets it (`None`: every subscriber).
fn notice(kind: &str, msg: &serde_json::Value) -> Option<(Notice, Option<String>)> {
    match kind {
        "warning" => {
            let w = &msg["warning"];
            let level = w["level"].as_str()?.to_owned();
            let agent = w["agent_id"].as_str()?.to_owned();
            let exercise = w["exercise"].as_bool().unwrap_or(false);
            let title = super::warning_headline(w)?;
            let n = Notice {
                kind: "warning",
                id: w["id"].as_str().unwrap_or_default().to_owned(),
                title,
                body: w["advice"].as_str().unwrap_or_default().to_owned(),
                tag: format!("track-{}", w["track_id"].as_u64().unwrap_or(0)),
                level,
                exercise,
            };
            Some((n, Some(agent)))
        }
        "bulletin" => {
            let b = &msg["bulletin"];
            if !b["withdrawn_unix_ns"].is_null() {
                return None;
            }
            let posture = b["posture"].as_str().unwrap_or("normal").to_owned();
            let id = b["id"].as_str()?.to_owned();
            let n = Notice {
                kind: "bulletin",
                title: format!("Bulletin: posture {}", posture.to_uppercase()),
                body: b["text"].as_str().unwrap_or_default().to_owned(),
                tag: format!("bulletin-{id}"),
                id,
                level: posture,
                exercise: false,
            };
            Some((n, None))
        }
        _ => None,
    }
}

/// Starts the sender.
pub(super) fn spawn(
    cfg: &WebPushConfig,
    push: Arc<WebPush>,
    channel: Channel,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), String> {
    let client = crate::http_client().map_err(|e| format!("web push client: {e}"))?;
    let events = channel.ctx.hub.events.subscribe();
    let sender = Arc::new(Sender {
        cfg: cfg.clone(),
        push,
        client,
        channel,
        slots: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    });
    let filter = Filter::new(&cfg.kinds, "critical");
    tasks.spawn(sender.run(events, filter, shutdown.clone()));
    Ok(())
}

#[derive(Debug)]
struct Sender {
    cfg: WebPushConfig,
    push: Arc<WebPush>,
    client: reqwest::Client,
    channel: Channel,
    slots: Arc<Semaphore>,
}

impl Sender {
    async fn run(
        self: Arc<Self>,
        mut events: tokio::sync::broadcast::Receiver<Arc<Vec<crate::live::LiveEvent>>>,
        mut filter: Filter,
        shutdown: CancellationToken,
    ) {
        // Bulletin events repeat on every acknowledgement: only the first is news.
        let mut bulletins_sent = std::collections::BTreeSet::new();
        while let Some(out) = self.channel.next(&mut events, &mut filter, &shutdown).await {
            for Outgoing { kind, id, msg } in out {
                let Some((mut notice, to)) = notice(kind, &msg) else {
                    continue;
                };
                if kind == "bulletin" && !bulletins_sent.insert(notice.id.clone()) {
                    continue;
                }
                if notice.body.chars().count() > MAX_BODY_CHARS {
                    notice.body =
                        notice.body.chars().take(MAX_BODY_CHARS).collect::<String>() + "…";
                }
                let urgency = if kind == "warning" { "high" } else { "normal" };
                for sub in self.push.subscriptions() {
                    if to.as_ref().is_some_and(|u| *u != sub.user) {
                        continue;
                    }
                    let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                        self.channel
                            .dead_letter(&id, 0, "too many pushes in flight", msg.clone())
                            .await;
                        continue;
                    };
                    let body = serde_json::to_vec(&notice).unwrap_or_default();
                    let (me, id, msg) = (self.clone(), id.clone(), msg.clone());
                    tokio::spawn(async move {
                        me.deliver(&sub, urgency, body, &id, msg).await;
                        drop(permit);
                    });
                }
            }
        }
    }

    async fn deliver(
        &self,
        sub: &PushSubscription,
        urgency: &str,
        body: Vec<u8>,
        id: &str,
        msg: serde_json::Value,
    ) {
        let ch = &self.channel;
        ch.status(|s| s.in_flight += 1);
        let mut wait = Duration::from_millis(self.cfg.first_retry_ms);
        let mut attempt = 1;
        let outcome = loop {
            let (error, retry) = match self.send_once(sub, urgency, &body).await {
                Ok(status) if status.is_success() => break Ok(()),
                Ok(status) if matches!(status.as_u16(), 404 | 410) => break Err(None),
                Ok(status) => (
                    format!("HTTP {status}"),
                    status.is_server_error() || status.as_u16() == 429,
                ),
                Err(e) => (e, true),
            };
            ch.failed(&error);
            if !retry || attempt >= self.cfg.max_attempts {
                break Err(Some((error, attempt)));
            }
            ch.status(|s| s.retried += 1);
            ch.count("retried");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
            attempt += 1;
        };
        ch.status(|s| s.in_flight -= 1);
        match outcome {
            Ok(()) => ch.delivered(),
            Err(None) => {
                info!(user = %sub.user, "web push: the push service says the subscription is gone");
                if let Err(e) = self.push.unsubscribe(&sub.endpoint, |_| true) {
                    warn!(error = %e, "web push: subscription not removed");
                }
            }
            Err(Some((error, attempts))) => {
                let error = format!("to {}'s phone: {error}", sub.user);
                ch.dead_letter(id, attempts, &error, msg).await;
            }
        }
    }

    async fn send_once(
        &self,
        sub: &PushSubscription,
        urgency: &str,
        body: &[u8],
    ) -> Result<reqwest::StatusCode, String> {
        let endpoint: axum::http::Uri =
            sub.endpoint.parse().map_err(|e| format!("endpoint: {e}"))?;
        let ua_public = b64url(&sub.p256dh)
            .ok()
            .and_then(|k| web_push_native::p256::PublicKey::from_sec1_bytes(&k).ok())
            .ok_or("the subscription's key is not a P-256 point")?;
        let auth = b64url(&sub.auth)
            .ok()
            .filter(|a| a.len() == 16)
            .ok_or("the subscription's secret is not 16 bytes")?;
        let request = WebPushBuilder::new(endpoint, ua_public, Auth::clone_from_slice(&auth))
            .with_valid_duration(Duration::from_secs(self.cfg.ttl_s))
            .with_vapid(&self.push.key, &self.cfg.contact)
            .build(body.to_vec())
            .map_err(|e| format!("encrypting: {e}"))?;
        let (parts, payload) = request.into_parts();
        let sent = self
            .client
            .post(parts.uri.to_string())
            .headers(parts.headers)
            .header("Urgency", urgency)
            .timeout(Duration::from_millis(self.cfg.timeout_ms))
            .body(payload)
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(sent.status())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn subscription(endpoint: &str, p256dh: &str, auth: &str) -> SubscriptionJson {
        SubscriptionJson {
            endpoint: endpoint.into(),
            expiration_time: None,
            keys: SubscriptionKeys {
                p256dh: p256dh.into(),
                auth: auth.into(),
            },
        }
    }

    #[test]
    fn subscriptions_are_checked_as_a_push_service_needs_them() {
        let key = web_push_native::p256::SecretKey::random(
            &mut web_push_native::p256::elliptic_curve::rand_core::OsRng,
        );
        let p256dh = URL_SAFE_NO_PAD.encode(
            web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &key.public_key(),
                false,
            )
            .as_bytes(),
        );
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        let ok = subscription("https://push.example/x", &p256dh, &auth);
        assert_eq!(ok.validate("agent-1").unwrap().user, "agent-1");
        assert!(
            subscription("http://127.0.0.1:9/x", &p256dh, &auth)
                .validate("a")
                .is_ok()
        );
        for (bad, field) in [
            (
                subscription("http://push.example/x", &p256dh, &auth),
                "endpoint",
            ),
            (
                subscription("https://push.example/x", "AAAA", &auth),
                "p256dh",
            ),
            (
                subscription("https://push.example/x", &p256dh, "AAAA"),
                "auth",
            ),
            (subscription("https://push.example/x", &p256dh, "*"), "auth"),
        ] {
            let e = bad.validate("a").unwrap_err();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn a_warning_notice_says_how_far_which_way_and_how_soon() {
        let msg = serde_json::json!({"type": "warning", "warning": {
            "id": "w3", "agent_id": "agent-2", "track_id": 9, "level": "critical",
            "range_m": 412.4, "bearing_deg": 350.0, "time_to_cpa_s": 21.6,
            "advice": "Take cover now.", "exercise": true}});
        let (n, to) = notice("warning", &msg).unwrap();
        assert_eq!(to.as_deref(), Some("agent-2"));
        assert_eq!(n.title, "EXERCISE CRITICAL: drone 412 m N, closest in 22 s");
        assert_eq!(n.body, "Take cover now.");
        assert_eq!(n.tag, "track-9");
        let withdrawn = serde_json::json!({"type": "bulletin", "bulletin": {
            "id": "b1", "text": "x", "posture": "high", "withdrawn_unix_ns": 5}});
        assert!(notice("bulletin", &withdrawn).is_none());
    }

    #[test]
    fn a_users_oldest_subscription_makes_way_and_the_key_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let push = WebPush::load(dir.path()).unwrap();
        for i in 0..=MAX_PER_USER {
            push.subscribe(PushSubscription {
                user: "agent-1".into(),
                endpoint: format!("https://push.example/{i}"),
                p256dh: String::new(),
                auth: String::new(),
                created_unix_ns: i as i64,
            })
            .unwrap();
        }
        let again = WebPush::load(dir.path()).unwrap();
        assert_eq!(again.public_key, push.public_key);
        let subs = again.subscriptions();
        assert_eq!(subs.len(), MAX_PER_USER);
        assert!(subs.iter().all(|s| s.endpoint != "https://push.example/0"));
        assert!(
            again
                .unsubscribe("https://push.example/1", |u| u == "agent-1")
                .unwrap()
        );
        assert!(
            !again
                .unsubscribe("https://push.example/2", |u| u == "other")
                .unwrap()
        );
    }
}
