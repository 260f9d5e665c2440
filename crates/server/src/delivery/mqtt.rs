//! Alerts, warnings, bulletins and the posture on an MQTT broker, QoS 1:
//!
//! | topic | retained |
//! |---|---|
//! | `<prefix>/<sector>/alerts/<id>` | while the alert is open; cleared when it closes |
//! | `<prefix>/<sector>/warnings/<agent>` | no |
//! | `<prefix>/<sector>/bulletins/<id>` | while current; cleared when withdrawn |
//! | `<prefix>/<sector>/posture` | yes |
//!
//! A subscriber that connects late gets every open alert, every current bulletin and the
//! posture at once from the retained messages. rumqttc keeps the session (a stable client
//! id, no clean session) and resends what was in flight after a reconnect; a message that
//! cannot even be queued (the broker away long enough to fill the queue) is a dead letter.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{Channel, Filter, MqttDeliveryConfig, Outgoing, error_chain};
use crate::live::LiveEvent;

/// Requests rumqttc queues while the broker is away.
const QUEUE: usize = 1024;

pub(super) fn spawn(
    cfg: &MqttDeliveryConfig,
    channel: Channel,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) {
    let mut options = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    options
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_max_packet_size(1 << 20, 1 << 20);
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        options.set_credentials(u.clone(), p.clone());
    }
    let (client, eventloop) = AsyncClient::new(options, QUEUE);
    info!(url = %channel.url, kinds = ?cfg.kinds, "MQTT delivery");
    let events = channel.ctx.hub.events.subscribe();
    let base = format!("{}/{}", cfg.prefix, segment(&channel.ctx.sector));
    let filter = Filter::new(&cfg.kinds, &cfg.min_alert_level);
    let stop = shutdown.clone();
    let ch = channel.clone();
    tasks.spawn(async move {
        tokio::join!(
            publish(client, events, filter, base, channel, stop.clone()),
            drive(eventloop, ch, stop),
        );
    });
}

/// Where a message goes and whether the broker keeps it for late subscribers.
pub(crate) fn topic_of(base: &str, kind: &str, msg: &serde_json::Value) -> Option<(String, bool)> {
    Some(match kind {
        "alert" => {
            let a = &msg["alert"];
            let open = !matches!(a["state"].as_str(), Some("resolved" | "false_alarm"));
            (format!("{base}/alerts/{}", a["id"].as_u64()?), open)
        }
        "warning" => (
            format!(
                "{base}/warnings/{}",
                segment(msg["warning"]["agent_id"].as_str()?)
            ),
            false,
        ),
        "bulletin" => {
            let b = &msg["bulletin"];
            (
                format!("{base}/bulletins/{}", segment(b["id"].as_str()?)),
                b["withdrawn_unix_ns"].is_null(),
            )
        }
        "posture" => (format!("{base}/posture"), true),
        _ => return None,
    })
}

/// A name as one topic level: MQTT's separators and wildcards replaced.
fn segment(s: &str) -> String {
    s.replace(['/', '+', '#'], "_")
}

async fn publish(
    client: AsyncClient,
    mut events: tokio::sync::broadcast::Receiver<Arc<Vec<LiveEvent>>>,
    mut filter: Filter,
    base: String,
    channel: Channel,
    stop: CancellationToken,
) {
    while let Some(out) = channel.next(&mut events, &mut filter, &stop).await {
        for Outgoing { kind, id, msg } in out {
            let Some((topic, retain)) = topic_of(&base, kind, &msg) else {
                continue;
            };
            let body = msg.to_string();
            if let Err(e) = client.try_publish(&topic, QoS::AtLeastOnce, retain, body) {
                channel
                    .dead_letter(&id, 1, &format!("MQTT queue: {e}"), msg)
                    .await;
                continue;
            }
            channel.status(|s| s.in_flight += 1);
            // Closed and withdrawn: the broker forgets the retained copy (an empty retained
            // message clears it; QoS 0, nothing to deliver to anyone).
            if !retain && kind != "warning" {
                let _ = client.try_publish(&topic, QoS::AtMostOnce, true, Vec::<u8>::new());
            }
        }
    }
    let _ = client.try_disconnect();
}

/// Drives the connection: counts acknowledged messages, shows connection failures, and
/// reconnects with backoff.
async fn drive(mut eventloop: rumqttc::EventLoop, channel: Channel, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(200);
                channel.status(|s| s.failing = false);
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                channel.status(|s| s.in_flight = s.in_flight.saturating_sub(1));
                channel.delivered();
            }
            Ok(_) => {}
            Err(e) => {
                channel.failed(&format!("MQTT: {}", error_chain(&e)));
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn open_alerts_and_current_bulletins_are_retained_closed_ones_not() {
        let t = |kind: &str, msg: serde_json::Value| topic_of("dw/s1", kind, &msg).unwrap();
        assert_eq!(
            t("alert", json!({"alert": {"id": 7, "state": "new"}})),
            ("dw/s1/alerts/7".into(), true)
        );
        assert_eq!(
            t("alert", json!({"alert": {"id": 7, "state": "false_alarm"}})),
            ("dw/s1/alerts/7".into(), false)
        );
        assert_eq!(
            t("warning", json!({"warning": {"agent_id": "a/b#"}})),
            ("dw/s1/warnings/a_b_".into(), false)
        );
        assert_eq!(
            t(
                "bulletin",
                json!({"bulletin": {"id": "b1", "withdrawn_unix_ns": null}})
            ),
            ("dw/s1/bulletins/b1".into(), true)
        );
        assert_eq!(
            t(
                "bulletin",
                json!({"bulletin": {"id": "b1", "withdrawn_unix_ns": 5}})
            ),
            ("dw/s1/bulletins/b1".into(), false)
        );
        assert_eq!(t("posture", json!({})), ("dw/s1/posture".into(), true));
        assert_eq!(topic_of("dw/s1", "alert", &json!({"alert": {}})), None);
    }
}
