//! Delivery beyond the WebSocket: signed JSON webhooks ([`webhook`]), MQTT ([`mqtt`]),
//! Web Push to the field app ([`webpush`]) and Cursor on Target to TAK ([`cot`]).
//! Each channel takes the live events it asks for from the hub (alerts at or above a
//! level, warnings, bulletins, posture), so it sees exactly what the ops centre sees and
//! can never slow the pipeline. A message a channel gives up on is a dead letter in the
//! event log; a failing channel shows on `GET /api/v1/delivery`, in the metrics and on the
//! ops centre's screen (docs/delivery.md).

pub mod cot;
#[cfg(feature = "mqtt")]
pub mod mqtt;
pub mod webhook;
pub mod webpush;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use dronewatch_store::{EventKind, NewEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::warn;
use utoipa::ToSchema;

use crate::live::{LiveEvent, LiveHub, lock};
use crate::metrics::{Metrics, label};
use crate::pipeline::{Ingest, Input};

pub use cot::{CotConfig, CotProtocol};
pub use webhook::{WebhookConfig, signature};
pub use webpush::{WebPush, WebPushConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeliverySection {
    pub webhooks: Vec<WebhookConfig>,
    /// Publish to an MQTT broker (`[delivery.mqtt]`; absent: no MQTT delivery).
    pub mqtt: Option<MqttDeliveryConfig>,
    /// Web Push to the field app (`[delivery.web_push]`; on by default).
    pub web_push: WebPushConfig,
    /// TAK peers: servers, ATAK devices or the mesh (`[[delivery.cot]]`).
    pub cot: Vec<CotConfig>,
}

/// Alerts, warnings, bulletins and the posture on MQTT topics under
/// `<prefix>/<sector>/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttDeliveryConfig {
    pub host: String,
    pub port: u16,
    /// Stable across restarts, so the broker keeps the session and what is in flight.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prefix: String,
    /// `alert`, `warning`, `bulletin`, `posture`.
    pub kinds: Vec<String>,
    /// `low`, `medium`, `high`, `critical`.
    pub min_alert_level: String,
}

impl Default for MqttDeliveryConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "dronewatch-delivery".into(),
            username: None,
            password: None,
            prefix: "dronewatch".into(),
            kinds: KINDS.iter().map(|k| (*k).to_owned()).collect(),
            min_alert_level: "medium".into(),
        }
    }
}

pub(crate) const KINDS: [&str; 4] = ["alert", "warning", "bulletin", "posture"];
pub(crate) const LEVELS: [&str; 5] = ["none", "low", "medium", "high", "critical"];

/// How one delivery channel is doing, for the watch officer.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct DeliveryStatus {
    /// `webhook`, `mqtt`, `web_push` or `cot`.
    pub channel: &'static str,
    /// The receiver's address without credentials or query.
    pub url: String,
    pub delivered: u64,
    /// Attempts that failed and were tried again.
    pub retried: u64,
    pub dead_lettered: u64,
    /// Dead letters sent again and delivered (`POST /api/v1/delivery/redeliver`).
    pub redelivered: u64,
    pub in_flight: usize,
    /// The last attempt (or, for MQTT, the connection) failed.
    pub failing: bool,
    pub last_error: Option<String>,
    pub last_error_unix_ns: Option<i64>,
    pub last_delivered_unix_ns: Option<i64>,
}

/// Every channel's status, shared with the API.
#[derive(Debug, Default)]
pub struct DeliveryBoard {
    pub channels: Mutex<Vec<DeliveryStatus>>,
    /// The push subscriptions and the node's VAPID key, when Web Push is on.
    pub push: Option<Arc<WebPush>>,
    /// Each webhook's queue for dead letters sent again, by its shown URL.
    redeliver: Mutex<Vec<(String, mpsc::Sender<Again>)>>,
}

/// A dead letter to send again: its delivery id and message.
pub(crate) type Again = (String, serde_json::Value);

/// What `POST /api/v1/delivery/redeliver` did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Redelivery {
    /// Dead letters queued to their webhook again (same delivery id: receivers de-duplicate).
    pub queued: usize,
    /// Dead letters delivered by an earlier redelivery.
    pub already_redelivered: usize,
    /// Dead letters that cannot be sent again: the webhook is no longer configured, the
    /// channel is MQTT or Web Push, or the node had skipped them without a message.
    pub not_redeliverable: usize,
}

impl DeliveryBoard {
    /// Queues the webhook dead letters recorded since `since` to their webhooks again; a
    /// redelivered message that is delivered is recorded as such, so a later call skips it.
    pub async fn redeliver(
        &self,
        store: &dronewatch_store::Store,
        since: dronewatch_model::TimeNs,
    ) -> Result<Redelivery, String> {
        let events = store
            .query(dronewatch_store::EventQuery {
                kinds: vec![EventKind::Delivery],
                chain: Some(EventKind::Delivery.chain()),
                from: Some(since),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())?;
        let bodies: Vec<serde_json::Value> = events
            .iter()
            .filter_map(|e| serde_json::from_str(&e.body).ok())
            .collect();
        let done: std::collections::BTreeSet<&str> = bodies
            .iter()
            .filter(|b| b["redelivered"] == true)
            .filter_map(|b| b["delivery_id"].as_str())
            .collect();
        let queues = lock(&self.redeliver).clone();
        let mut report = Redelivery::default();
        for b in bodies.iter().filter(|b| b["dead_letter"] == true) {
            let Some(id) = b["delivery_id"].as_str() else {
                continue;
            };
            if done.contains(id) {
                report.already_redelivered += 1;
                continue;
            }
            let queue = queues
                .iter()
                .find(|(url, _)| b["channel"].as_str() == Some(url.as_str()))
                .map(|(_, q)| q);
            match queue {
                Some(q) if b["message"].is_object() => {
                    if q.send((id.to_owned(), b["message"].clone())).await.is_ok() {
                        report.queued += 1;
                    }
                }
                _ => report.not_redeliverable += 1,
            }
        }
        Ok(report)
    }
}

/// What every channel needs of the node.
#[derive(Debug, Clone)]
pub struct DeliveryContext {
    pub hub: LiveHub,
    pub ingest: Ingest,
    pub metrics: Metrics,
    pub sector: String,
    pub node: String,
    /// Where Web Push keeps its key and subscriptions.
    pub data_dir: PathBuf,
    /// The sector's place (`fusion.origin`): where the node shows itself on a TAK map.
    pub origin: dronewatch_model::Lla,
}

/// Checks the configuration: called before anything starts, so a typo fails the start.
pub fn check(cfg: &DeliverySection) -> Result<(), String> {
    for (i, w) in cfg.webhooks.iter().enumerate() {
        webhook::check(w).map_err(|e| format!("delivery.webhooks[{i}]: {e}"))?;
    }
    webpush::check(&cfg.web_push).map_err(|e| format!("delivery.web_push: {e}"))?;
    for (i, c) in cfg.cot.iter().enumerate() {
        cot::check(c).map_err(|e| format!("delivery.cot[{i}]: {e}"))?;
    }
    if let Some(m) = &cfg.mqtt {
        let at = |what: &str| format!("delivery.mqtt: {what}");
        if !cfg!(feature = "mqtt") {
            return Err(at("this build has no MQTT (feature `mqtt`)"));
        }
        check_filters(&m.kinds, &m.min_alert_level).map_err(|e| at(&e))?;
        if m.prefix.is_empty() || m.prefix.contains(['+', '#']) {
            return Err(at("prefix: not empty, no wildcards"));
        }
    }
    Ok(())
}

pub(crate) fn check_filters(kinds: &[String], min_alert_level: &str) -> Result<(), String> {
    if let Some(k) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(format!("kinds: unknown {k:?} (one of {KINDS:?})"));
    }
    if !LEVELS[1..].contains(&min_alert_level) {
        return Err("min_alert_level: low, medium, high or critical".into());
    }
    Ok(())
}

/// Starts every configured channel. Returns the board the API reads.
pub fn start(
    cfg: &DeliverySection,
    ctx: DeliveryContext,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<Arc<DeliveryBoard>, String> {
    check(cfg)?;
    let push = match cfg.web_push.enabled {
        true => Some(Arc::new(WebPush::load(&ctx.data_dir)?)),
        false => None,
    };
    let board = Arc::new(DeliveryBoard {
        push: push.clone(),
        ..DeliveryBoard::default()
    });

    for w in &cfg.webhooks {
        let channel = Channel::new("webhook", webhook::shown(&w.url), &board, &ctx);
        webhook::spawn(w, channel, shutdown, tasks)?;
    }
    #[cfg(feature = "mqtt")]
    if let Some(m) = &cfg.mqtt {
        let url = format!("mqtt://{}:{}/{}", m.host, m.port, m.prefix);
        let channel = Channel::new("mqtt", url, &board, &ctx);
        mqtt::spawn(m, channel, shutdown, tasks);
    }
    for c in &cfg.cot {
        let channel = Channel::new("cot", c.url.clone(), &board, &ctx);
        let origin = ctx.origin;
        cot::spawn(c, channel, origin, shutdown, tasks)?;
    }
    if let Some(push) = push {
        let channel = Channel::new("web_push", "web push (field app)".into(), &board, &ctx);
        webpush::spawn(&cfg.web_push, push, channel, shutdown, tasks)?;
    }
    Ok(board)
}

/// One channel's handle on its status, the node's log and the metrics.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    index: usize,
    pub(crate) url: String,
    board: Arc<DeliveryBoard>,
    pub(crate) ctx: DeliveryContext,
    seq: Arc<std::sync::atomic::AtomicU64>,
}

impl Channel {
    fn new(
        kind: &'static str,
        url: String,
        board: &Arc<DeliveryBoard>,
        ctx: &DeliveryContext,
    ) -> Self {
        let mut list = lock(&board.channels);
        list.push(DeliveryStatus {
            channel: kind,
            url: url.clone(),
            ..Default::default()
        });
        Self {
            index: list.len() - 1,
            url,
            board: board.clone(),
            ctx: ctx.clone(),
            seq: Arc::default(),
        }
    }

    pub(crate) fn status(&self, f: impl FnOnce(&mut DeliveryStatus)) {
        if let Some(s) = lock(&self.board.channels).get_mut(self.index) {
            f(s);
        }
    }

    pub(crate) fn failed(&self, error: &str) {
        let now = crate::clock::now().0;
        self.status(|s| {
            s.failing = true;
            s.last_error = Some(error.to_owned());
            s.last_error_unix_ns = Some(now);
        });
    }

    pub(crate) fn delivered(&self) {
        let now = crate::clock::now().0;
        self.status(|s| {
            s.delivered += 1;
            s.failing = false;
            s.last_delivered_unix_ns = Some(now);
        });
        self.count("delivered");
    }

    pub(crate) fn count(&self, outcome: &'static str) {
        self.ctx
            .metrics
            .webhook_deliveries
            .get_or_create(&label("outcome", outcome))
            .inc();
    }

    /// The messages of the next batch of live events that this channel takes, each with
    /// `delivery_id`, `sector` and `node` added; `None` once the node stops. A batch the
    /// channel fell too far behind to see is a dead letter.
    pub(crate) async fn next(
        &self,
        events: &mut broadcast::Receiver<Arc<Vec<LiveEvent>>>,
        filter: &mut Filter,
        stop: &CancellationToken,
    ) -> Option<Vec<Outgoing>> {
        let batch = tokio::select! {
            _ = stop.cancelled() => return None,
            b = events.recv() => b,
        };
        match batch {
            Ok(batch) => Some(
                batch
                    .iter()
                    .filter_map(|ev| {
                        let msg = filter.accept(ev)?;
                        Some(self.envelope(ev.kind, msg))
                    })
                    .collect(),
            ),
            Err(RecvError::Lagged(n)) => {
                let error = format!(
                    "the node produced events faster than this channel took them: {n} batches skipped"
                );
                self.dead_letter("lagged", 0, &error, serde_json::Value::Null)
                    .await;
                Some(Vec::new())
            }
            Err(RecvError::Closed) => None,
        }
    }

    fn envelope(&self, kind: &'static str, mut msg: serde_json::Value) -> Outgoing {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let id = format!("{}-{}-{seq}", self.ctx.node, crate::clock::now().0);
        msg["delivery_id"] = id.clone().into();
        msg["sector"] = self.ctx.sector.clone().into();
        msg["node"] = self.ctx.node.clone().into();
        Outgoing { kind, id, msg }
    }

    /// A queue of messages to send again, registered under this channel's URL.
    pub(crate) fn redelivery_queue(&self) -> mpsc::Receiver<Again> {
        let (tx, rx) = mpsc::channel(1024);
        lock(&self.board.redeliver).push((self.url.clone(), tx));
        rx
    }

    /// A dead letter sent again and delivered: recorded, so it is not sent a third time.
    pub(crate) async fn redelivered(&self, id: &str) {
        self.status(|s| s.redelivered += 1);
        let record = NewEvent {
            kind: EventKind::Delivery,
            t: crate::clock::now(),
            source: Some(self.url.clone()),
            serial: None,
            track_id: None,
            position: None,
            idempotency_key: None,
            body: serde_json::json!({
                "redelivered": true, "channel": self.url, "delivery_id": id,
            })
            .to_string(),
        };
        if let Err(e) = self.ctx.ingest.submit(Input::Record(record)).await {
            warn!(error = %e, "redelivery not recorded");
        }
    }

    /// Gives up on a message: counted, shown, and kept in the event log with the message.
    pub(crate) async fn dead_letter(
        &self,
        id: &str,
        attempts: u32,
        error: &str,
        msg: serde_json::Value,
    ) {
        warn!(url = %self.url, delivery = id, attempts, error, "delivery failed");
        self.failed(error);
        self.status(|s| s.dead_lettered += 1);
        self.count("dead_letter");
        let record = NewEvent {
            kind: EventKind::Delivery,
            t: crate::clock::now(),
            source: Some(self.url.clone()),
            serial: None,
            track_id: msg["alert"]["track_id"]
                .as_u64()
                .or(msg["warning"]["track_id"].as_u64()),
            position: None,
            idempotency_key: None,
            body: serde_json::json!({
                "dead_letter": true, "channel": self.url, "delivery_id": id,
                "attempts": attempts, "error": error, "message": msg,
            })
            .to_string(),
        };
        if let Err(e) = self.ctx.ingest.submit(Input::Record(record)).await {
            warn!(error = %e, "dead letter not recorded");
        }
    }
}

/// One message for a channel: its stream type, delivery id and body.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub kind: &'static str,
    pub id: String,
    pub msg: serde_json::Value,
}

/// Which events a channel takes: the kinds it asked for, alerts only on news at or above
/// its minimum level (per alert, the news last delivered), never an `all_clear`.
#[derive(Debug)]
pub(crate) struct Filter {
    kinds: Vec<String>,
    min_alert_rank: usize,
    alerts: BTreeMap<u64, AlertKey>,
}

impl Filter {
    pub(crate) fn new(kinds: &[String], min_alert_level: &str) -> Self {
        Self {
            kinds: kinds.to_vec(),
            min_alert_rank: LEVELS
                .iter()
                .position(|l| *l == min_alert_level)
                .unwrap_or(3),
            alerts: BTreeMap::new(),
        }
    }

    /// The event's message, parsed, if the channel takes it.
    fn accept(&mut self, ev: &LiveEvent) -> Option<serde_json::Value> {
        if !self.kinds.iter().any(|k| k == ev.kind) {
            return None;
        }
        let msg = serde_json::from_str::<serde_json::Value>(ev.json.as_str()).ok()?;
        let wanted = match ev.kind {
            "alert" => alert_is_news(self.min_alert_rank, &msg, &mut self.alerts),
            "warning" => msg["warning"]["level"] != "all_clear",
            _ => true,
        };
        wanted.then_some(msg)
    }
}

/// An alert opened, its level or state changed, or it was escalated (critical and not
/// acknowledged in time: the receiver may be how someone else is reached), and it is at
/// or above the minimum.
fn alert_is_news(
    min_rank: usize,
    msg: &serde_json::Value,
    seen: &mut BTreeMap<u64, AlertKey>,
) -> bool {
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
    } else if rank >= min_rank || was_delivered {
        seen.insert(id, now);
    }
    // Below the minimum: never delivered, unless it was delivered before (the receiver
    // has the alert and should hear that it is lower now, or closed).
    news && (rank >= min_rank || was_delivered)
}

const COMPASS: [&str; 8] = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];

/// A warning in one line, for a phone's notification or a TAK chat: "WARNING: drone 420 m
/// NE, closest in 25 s" (EXERCISE first for a training one).
pub(crate) fn warning_headline(w: &serde_json::Value) -> Option<String> {
    let level = w["level"].as_str()?;
    let exercise = w["exercise"].as_bool().unwrap_or(false);
    let bearing = w["bearing_deg"].as_f64().unwrap_or(0.0);
    let compass = COMPASS[((bearing.rem_euclid(360.0) + 22.5) / 45.0) as usize % 8];
    Some(format!(
        "{}{}: drone {:.0} m {compass}, closest in {:.0} s",
        if exercise { "EXERCISE " } else { "" },
        level.to_uppercase(),
        w["range_m"].as_f64().unwrap_or(f64::NAN),
        w["time_to_cpa_s"].as_f64().unwrap_or(f64::NAN).max(0.0),
    ))
}

/// What makes an alert worth delivering again: its level, state and escalation.
type AlertKey = (String, String, bool);

/// The error with its causes ("error sending request: connection refused"), which
/// most errors' own messages leave out.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
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
    fn alerts_are_delivered_on_news_at_or_above_the_minimum() {
        let high = LEVELS.iter().position(|l| *l == "high").unwrap();
        let mut seen = BTreeMap::new();
        let mut news = |level: &str, state: &str, escalated: bool| {
            let msg = serde_json::json!({"type": "alert", "alert": {
                "id": 7, "level": level, "state": state, "escalated": escalated}});
            alert_is_news(high, &msg, &mut seen)
        };
        assert!(!news("medium", "new", false), "below the minimum");
        assert!(news("high", "new", false), "raised to it");
        assert!(!news("high", "new", false), "a refresh is no news");
        assert!(news("critical", "new", false));
        assert!(news("critical", "new", true), "escalated");
        assert!(news("critical", "acknowledged", true));
        assert!(news("medium", "acknowledged", true), "fell below, once");
        assert!(!news("medium", "acknowledged", true));
        assert!(
            news("medium", "resolved", true),
            "closed after being delivered"
        );
        assert!(
            !news("low", "new", false),
            "a new incident below the minimum"
        );
    }

    #[test]
    fn a_bad_mqtt_section_is_refused_by_field() {
        let section = |m: MqttDeliveryConfig| DeliverySection {
            mqtt: Some(m),
            ..DeliverySection::default()
        };
        assert_eq!(check(&section(MqttDeliveryConfig::default())), Ok(()));
        for (bad, field) in [
            (
                MqttDeliveryConfig {
                    prefix: "a/#".into(),
                    ..Default::default()
                },
                "prefix",
            ),
            (
                MqttDeliveryConfig {
                    kinds: vec!["tracks".into()],
                    ..Default::default()
                },
                "kinds",
            ),
            (
                MqttDeliveryConfig {
                    min_alert_level: "x".into(),
                    ..Default::default()
                },
                "min_alert_level",
            ),
        ] {
            let e = check(&section(bad)).unwrap_err();
            assert!(e.starts_with("delivery.mqtt: ") && e.contains(field), "{e}");
        }
    }
}
