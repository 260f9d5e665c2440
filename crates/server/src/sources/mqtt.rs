//! MQTT source: subscribes to sensor JSON topics (`docs/sensor-json.md`) on a broker,
//! validates and maps each message with `dronewatch-sensorjson`, and sends the results to
//! the pipeline's bounded channel.
//!
//! # Delivery and backpressure
//!
//! The subscription is QoS 1 and acknowledgements are **manual**: rumqttc then sends no
//! PUBACK by itself, and we send it only after the pipeline's channel has taken the event
//! (or after the message was refused, since a bad message stays bad on redelivery). The
//! broker keeps every unacknowledged QoS 1 message and, once its in-flight window for this
//! client is full (Mosquitto's `max_inflight_messages`, 20 by default), sends no more, so a
//! slow pipeline slows the broker rather than growing our memory. Unacknowledged messages
//! are redelivered after a reconnect when the session persists (`clean_session = false`,
//! the default): delivery is at least once, and a message taken by the pipeline just
//! before a connection loss or shutdown may arrive twice.
//!
//! rumqttc's event loop must keep being polled for keep-alive pings, so polling and
//! processing run side by side: the poller hands publishes to the processor over a small
//! queue ([`MqttConfig::queue_capacity`], sized above the broker's window so a QoS 1
//! publish never waits). QoS 0 publishes are not flow-controlled by the broker; when the
//! queue is full they are dropped and counted (QoS 0 means at most once).
//!
//! # Errors
//!
//! A refused message is counted, kept in [`MqttStats::recent_rejections`], logged with its
//! topic, stage, field and reason, acknowledged, and the stream goes on. Connection errors
//! are counted and logged; the next poll reconnects after a backoff that doubles from
//! [`MqttConfig::reconnect_min`] to [`MqttConfig::reconnect_max`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronewatch_model::{ObservationId, TimeNs};
use dronewatch_sensorjson::{
    Options, Received, Rejection, SchemaError, SensorJson, SensorMessage, TopicLayout,
};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Packet, Publish, QoS,
    SubscribeReasonCode,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SourceEvent;
use crate::pipeline::{Ingest, IngestError, Input};

/// How many refused messages [`MqttStats::recent_rejections`] keeps.
pub const RECENT_REJECTIONS: usize = 32;

/// Where and how to subscribe.
#[derive(Debug, Clone)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Must be stable across restarts for a persistent session to resume.
    pub client_id: String,
    pub credentials: Option<(String, String)>,
    /// Topic layout (prefix) the messages are parsed with.
    pub layout: TopicLayout,
    /// Subscription filter; default `<prefix>/+/sensors/+/+`.
    pub topic_filter: String,
    pub keep_alive: Duration,
    /// `false` (default): the broker keeps the subscription and unacknowledged messages
    /// while we are away.
    pub clean_session: bool,
    /// Publishes waiting between the poller and the processor. Default 256.
    pub queue_capacity: usize,
    /// Largest MQTT packet accepted from the broker. A larger one breaks the connection (a
    /// protocol limit of rumqttc), so configure the broker's `max_packet_size` at or below
    /// it. Default 1 MiB.
    pub max_packet_bytes: usize,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// Mapping options (payload limit, Remote ID default sigmas).
    pub options: Options,
}

impl MqttConfig {
    /// Defaults for a broker and client id, subscribing to every sector.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> Self {
        let layout = TopicLayout::default();
        Self {
            host: host.into(),
            port,
            client_id: client_id.into(),
            credentials: None,
            topic_filter: layout.filter_all(),
            layout,
            keep_alive: Duration::from_secs(30),
            clean_session: false,
            queue_capacity: 256,
            max_packet_bytes: 1024 * 1024,
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            options: Options::default(),
        }
    }

    /// The same, with another layout and its every-sector filter.
    pub fn with_layout(mut self, layout: TopicLayout) -> Self {
        self.topic_filter = layout.filter_all();
        self.layout = layout;
        self
    }

    fn check(&self) -> Result<(), MqttSourceError> {
        let bad = |field: &'static str, reason: &str| {
            Err(MqttSourceError::Config {
                field,
                reason: reason.into(),
            })
        };
        if self.client_id.is_empty() {
            return bad("client_id", "must not be empty");
        }
        if self.keep_alive < Duration::from_secs(1) {
            return bad("keep_alive", "must be at least 1 s");
        }
        if self.topic_filter.is_empty() {
            return bad("topic_filter", "must not be empty");
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity", "must be at least 1");
        }
        if self.reconnect_min.is_zero() || self.reconnect_max < self.reconnect_min {
            return bad("reconnect_min", "must be > 0 and <= reconnect_max");
        }
        Ok(())
    }
}

/// Why the source could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttSourceError {
    #[error("mqtt config {field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// A refused message, kept for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedMessage {
    pub topic: String,
    pub rejection: Rejection,
}

/// Counters of one MQTT source; share with `Arc` and read at any time.
#[derive(Debug, Default)]
pub struct MqttStats {
    /// Publishes handed to the processor.
    pub received: AtomicU64,
    /// Messages the pipeline took.
    pub accepted: AtomicU64,
    /// Messages refused (topic, payload, schema or mapping).
    pub rejected: AtomicU64,
    /// QoS 0 publishes dropped because the queue was full.
    pub dropped_qos0: AtomicU64,
    /// Successful connections (CONNACK accepted).
    pub connects: AtomicU64,
    /// Subscriptions the broker granted (SUBACK without failure).
    pub subscriptions: AtomicU64,
    /// Connection errors (each followed by a reconnect attempt).
    pub connection_errors: AtomicU64,
    /// Messages left unacknowledged because the event log refused them.
    pub unacknowledged: AtomicU64,
    recent: Mutex<VecDeque<RejectedMessage>>,
}

impl MqttStats {
    /// The last [`RECENT_REJECTIONS`] refused messages, oldest first.
    pub fn recent_rejections(&self) -> Vec<RejectedMessage> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().cloned().collect()
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// One refused message: logs and counts in one place.
struct MessageRejected<'a> {
    topic: &'a str,
    rejection: Rejection,
}

impl MessageRejected<'_> {
    fn emit(self, stats: &MqttStats) {
        MqttStats::inc(&stats.rejected);
        tracing::warn!(
            topic = self.topic,
            stage = self.rejection.stage.as_str(),
            field = self.rejection.field(),
            reason = %self.rejection,
            "mqtt: message refused"
        );
        let mut recent = stats.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() >= RECENT_REJECTIONS {
            recent.pop_front();
        }
        recent.push_back(RejectedMessage {
            topic: self.topic.to_owned(),
            rejection: self.rejection,
        });
    }
}

fn now() -> TimeNs {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    TimeNs(i64::try_from(ns).unwrap_or(i64::MAX))
}

/// Runs the source until `shutdown` is cancelled or the pipeline's receiver is dropped.
/// Connection errors never end it; it reconnects. A message is acknowledged once `tx` has
/// taken it.
pub async fn run(
    config: MqttConfig,
    tx: mpsc::Sender<SourceEvent>,
    stats: Arc<MqttStats>,
    shutdown: CancellationToken,
) -> Result<(), MqttSourceError> {
    run_with(config, Sink::Channel(tx), stats, shutdown).await
}

/// Like [`run`], but a message is acknowledged only once the node's event log holds it:
/// a PUBACK then means "durable here", and a crash loses nothing acknowledged. Messages stay
/// in flight while their write is pending, at most the broker's in-flight window of them.
/// If the log refuses a write, the message is left unacknowledged: the broker redelivers
/// it after the next reconnect.
pub async fn run_journaled(
    config: MqttConfig,
    ingest: Ingest,
    stats: Arc<MqttStats>,
    shutdown: CancellationToken,
) -> Result<(), MqttSourceError> {
    run_with(config, Sink::Journal(ingest), stats, shutdown).await
}

/// Where accepted messages go.
#[derive(Debug)]
enum Sink {
    Channel(mpsc::Sender<SourceEvent>),
    Journal(Ingest),
}

async fn run_with(
    config: MqttConfig,
    sink: Sink,
    stats: Arc<MqttStats>,
    shutdown: CancellationToken,
) -> Result<(), MqttSourceError> {
    config.check()?;
    let parser = SensorJson::new(config.layout.clone(), config.options)?;
    let mut options = MqttOptions::new(config.client_id.clone(), config.host.clone(), config.port);
    options
        .set_keep_alive(config.keep_alive)
        .set_clean_session(config.clean_session)
        .set_manual_acks(true)
        .set_max_packet_size(config.max_packet_bytes, config.max_packet_bytes);
    if let Some((user, password)) = &config.credentials {
        options.set_credentials(user.clone(), password.clone());
    }
    let (client, eventloop) = AsyncClient::new(options, 64);
    let (queue_tx, queue_rx) = mpsc::channel(config.queue_capacity);
    // Ends the poller when the processor stops (pipeline gone) and vice versa.
    let stop = shutdown.child_token();
    tokio::join!(
        poll(eventloop, &client, &config, queue_tx, &stats, &stop),
        process(queue_rx, &client, &parser, sink, &stats, &stop),
    );
    Ok(())
}

/// Drives rumqttc's event loop: connects, subscribes, reconnects, forwards publishes.
async fn poll(
    mut eventloop: EventLoop,
    client: &AsyncClient,
    config: &MqttConfig,
    queue: mpsc::Sender<Publish>,
    stats: &MqttStats,
    stop: &CancellationToken,
) {
    let mut backoff = config.reconnect_min;
    let mut subscribed_once = false;
    loop {
        let event = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                MqttStats::inc(&stats.connects);
                backoff = config.reconnect_min;
                tracing::info!(
                    host = %config.host,
                    port = config.port,
                    session_present = ack.session_present,
                    "mqtt: connected"
                );
                // A resumed session keeps its subscription; subscribe anyway on this
                // process's first connection in case the filter changed.
                if !ack.session_present || !subscribed_once {
                    if let Err(e) = client.try_subscribe(&config.topic_filter, QoS::AtLeastOnce) {
                        tracing::error!(error = %e, "mqtt: could not queue the subscription");
                    }
                    subscribed_once = true;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                if ack.return_codes.contains(&SubscribeReasonCode::Failure) {
                    tracing::error!(
                        filter = %config.topic_filter,
                        "mqtt: the broker refused the subscription"
                    );
                } else {
                    MqttStats::inc(&stats.subscriptions);
                    tracing::info!(filter = %config.topic_filter, "mqtt: subscribed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                if publish.qos == QoS::AtMostOnce {
                    if queue.try_send(publish).is_err() {
                        MqttStats::inc(&stats.dropped_qos0);
                    }
                    continue;
                }
                // The broker's in-flight window bounds these; see the module docs.
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    sent = queue.send(publish) => if sent.is_err() { break },
                }
            }
            Ok(_) => {}
            Err(e) => {
                MqttStats::inc(&stats.connection_errors);
                if let rumqttc::ConnectionError::ConnectionRefused(code) = &e
                    && matches!(
                        code,
                        ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized
                    )
                {
                    tracing::error!(error = %e, "mqtt: broker refused our credentials");
                }
                tracing::warn!(
                    error = %e,
                    retry_in_ms = backoff.as_millis(),
                    "mqtt: connection error, reconnecting"
                );
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(config.reconnect_max);
            }
        }
    }
    stop.cancel();
    // Say goodbye so the broker does not wait out the keep-alive; bounded in time.
    if client.try_disconnect().is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Ok(event) = eventloop.poll().await {
                if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Parses each publish, hands the result to the sink, then acknowledges it: at once for a
/// channel, after the log's answer for the journal (in arrival order, by a second task so
/// that several writes are in flight).
async fn process(
    mut queue: mpsc::Receiver<Publish>,
    client: &AsyncClient,
    parser: &SensorJson,
    sink: Sink,
    stats: &MqttStats,
    stop: &CancellationToken,
) {
    let (acks_tx, acks_rx) = mpsc::channel::<PendingAck>(1024);
    let acker = ack_in_order(acks_rx, client, stats);
    let reader = async {
        let mut next_id: u64 = 1;
        loop {
            let closed = async {
                match &sink {
                    Sink::Channel(tx) => tx.closed().await,
                    Sink::Journal(_) => std::future::pending().await,
                }
            };
            let publish = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                () = closed => {
                    tracing::info!("mqtt: pipeline closed, stopping");
                    break;
                }
                p = queue.recv() => match p { Some(p) => p, None => break },
            };
            MqttStats::inc(&stats.received);
            let received = Received {
                at: now(),
                id: ObservationId(next_id),
            };
            next_id = next_id.wrapping_add(1);
            let pending = match parser.parse(&publish.topic, &publish.payload, received) {
                Ok(message) => {
                    let event = match message {
                        SensorMessage::Observation(o) => SourceEvent::Observation(o),
                        SensorMessage::Health(h) => SourceEvent::Health(h),
                    };
                    // Waiting here is the backpressure: no ack until the pipeline has it.
                    let handed = tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        h = hand_over(&sink, event) => h,
                    };
                    match handed {
                        Some(durable) => {
                            MqttStats::inc(&stats.accepted);
                            PendingAck { publish, durable }
                        }
                        None => {
                            tracing::info!("mqtt: pipeline closed, stopping");
                            break;
                        }
                    }
                }
                Err(rejection) => {
                    MessageRejected {
                        topic: &publish.topic,
                        rejection,
                    }
                    .emit(stats);
                    // A bad message stays bad on redelivery: acknowledge it.
                    PendingAck {
                        publish,
                        durable: None,
                    }
                }
            };
            if acks_tx.send(pending).await.is_err() {
                break;
            }
        }
        drop(acks_tx);
    };
    tokio::join!(reader, acker);
    stop.cancel();
}

/// A message waiting for its acknowledgement, and the log's answer when there is one.
struct PendingAck {
    publish: Publish,
    durable:
        Option<tokio::sync::oneshot::Receiver<Result<dronewatch_store::Appended, IngestError>>>,
}

/// `None` when the pipeline is gone.
async fn hand_over(
    sink: &Sink,
    event: SourceEvent,
) -> Option<Option<tokio::sync::oneshot::Receiver<Result<dronewatch_store::Appended, IngestError>>>>
{
    match sink {
        Sink::Channel(tx) => tx.send(event).await.ok().map(|()| None),
        Sink::Journal(ingest) => ingest
            .submit_pipelined(Input::Source(event))
            .await
            .ok()
            .map(Some),
    }
}

async fn ack_in_order(
    mut acks: mpsc::Receiver<PendingAck>,
    client: &AsyncClient,
    stats: &MqttStats,
) {
    while let Some(p) = acks.recv().await {
        if let Some(durable) = p.durable {
            match durable.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    MqttStats::inc(&stats.unacknowledged);
                    tracing::warn!(error = %e, topic = %p.publish.topic,
                        "mqtt: not acknowledged (the broker will redeliver after a reconnect)");
                    continue;
                }
                Err(_) => {
                    MqttStats::inc(&stats.unacknowledged);
                    continue;
                }
            }
        }
        if let Err(e) = client.ack(&p.publish).await {
            tracing::warn!(error = %e, "mqtt: could not queue the ack");
        }
    }
}

impl MqttStats {
    /// A plain copy of the counters.
    pub fn snapshot(&self) -> MqttStatsSnapshot {
        MqttStatsSnapshot {
            received: Self::get(&self.received),
            accepted: Self::get(&self.accepted),
            rejected: Self::get(&self.rejected),
            dropped_qos0: Self::get(&self.dropped_qos0),
            connects: Self::get(&self.connects),
            subscriptions: Self::get(&self.subscriptions),
            connection_errors: Self::get(&self.connection_errors),
            unacknowledged: Self::get(&self.unacknowledged),
        }
    }
}

/// [`MqttStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct MqttStatsSnapshot {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub dropped_qos0: u64,
    pub connects: u64,
    pub subscriptions: u64,
    pub connection_errors: u64,
    pub unacknowledged: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_checks_name_the_field_instead_of_panicking_in_rumqttc() {
        let mut c = MqttConfig::new("127.0.0.1", 1883, "");
        assert!(matches!(
            c.check(),
            Err(MqttSourceError::Config {
                field: "client_id",
                ..
            })
        ));
        c.client_id = "x".into();
        c.keep_alive = Duration::from_millis(500);
        assert!(matches!(
            c.check(),
            Err(MqttSourceError::Config {
                field: "keep_alive",
                ..
            })
        ));
        c.keep_alive = Duration::from_secs(5);
        assert!(c.check().is_ok());
    }

    #[test]
    fn recent_rejections_are_bounded() {
        let stats = MqttStats::default();
        for i in 0..(RECENT_REJECTIONS + 5) {
            MessageRejected {
                topic: &format!("t/{i}"),
                rejection: Rejection::one(dronewatch_sensorjson::Stage::Payload, "payload", "x"),
            }
            .emit(&stats);
        }
        let recent = stats.recent_rejections();
        assert_eq!(recent.len(), RECENT_REJECTIONS);
        assert_eq!(recent.first().map(|r| r.topic.as_str()), Some("t/5"));
        assert_eq!(stats.snapshot().rejected, (RECENT_REJECTIONS + 5) as u64);
    }
}
