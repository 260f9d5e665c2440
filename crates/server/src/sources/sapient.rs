//! SAPIENT (BSI Flex 335 v2.0 and v1.0) over TCP, with dronewatch as the fusion node (DMM).
//!
//! A tokio listener accepts edge nodes up to a connection limit; each connection runs in its
//! own task around a sans-IO [`Session`] from `dronewatch-sapient`: bytes in are cut into
//! frames (4-byte little-endian length + `SapientMessage`), each frame's events go to the
//! pipeline on the bounded channel (awaiting capacity, so a slow pipeline slows the sensors
//! and never grows memory), then the acknowledgements and errors are written back. A
//! connection that sends garbage gets an `Error` and is dropped; the others keep flowing.
//! Shutdown (the [`CancellationToken`]) stops accepting, lets each connection forward what
//! it has already read, marks its nodes offline and closes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use dronewatch_model::TimeNs;
use dronewatch_sapient::frame::{DEFAULT_MAX_FRAME_BYTES, FrameCodec};
use dronewatch_sapient::session::{NodeRegistry, Outputs, Session, SessionConfig, SessionEvent};
use dronewatch_sapient::v2::sapient_message::Content;
use dronewatch_sapient::{json, time, v2};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{SourceEvent, SourceRecord};

/// Our default SAPIENT port (the standard names none; deployments configure their own).
pub const DEFAULT_PORT: u16 = 5020;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct SapientSourceConfig {
    /// Where to listen; loopback by default (expose deliberately).
    pub bind: SocketAddr,
    /// Connections served at once; more are told so with an `Error` and closed.
    pub max_connections: usize,
    /// Largest accepted message body, in bytes.
    pub max_frame_bytes: usize,
    /// Connections silent for longer are closed (SAPIENT nodes send status heartbeats).
    pub idle_timeout: Option<Duration>,
    pub session: SessionConfig,
}

impl Default for SapientSourceConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            max_connections: 64,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            idle_timeout: Some(Duration::from_secs(300)),
            session: SessionConfig::default(),
        }
    }
}

/// Live counters of a listener; read them at any time with [`SapientCounters::snapshot`].
#[derive(Debug, Default)]
pub struct SapientCounters {
    connections_accepted: AtomicU64,
    connections_refused: AtomicU64,
    connections_open: AtomicU64,
    connections_dropped_for_garbage: AtomicU64,
    frames: AtomicU64,
    messages_accepted: AtomicU64,
    messages_rejected: AtomicU64,
    observations: AtomicU64,
    health_reports: AtomicU64,
    records: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// A copy of [`SapientCounters`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SapientCountersSnapshot {
    pub connections_accepted: u64,
    pub connections_refused: u64,
    pub connections_open: u64,
    pub connections_dropped_for_garbage: u64,
    pub frames: u64,
    pub messages_accepted: u64,
    pub messages_rejected: u64,
    pub observations: u64,
    pub health_reports: u64,
    pub records: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl SapientCounters {
    pub fn snapshot(&self) -> SapientCountersSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SapientCountersSnapshot {
            connections_accepted: r(&self.connections_accepted),
            connections_refused: r(&self.connections_refused),
            connections_open: r(&self.connections_open),
            connections_dropped_for_garbage: r(&self.connections_dropped_for_garbage),
            frames: r(&self.frames),
            messages_accepted: r(&self.messages_accepted),
            messages_rejected: r(&self.messages_rejected),
            observations: r(&self.observations),
            health_reports: r(&self.health_reports),
            records: r(&self.records),
            bytes_in: r(&self.bytes_in),
            bytes_out: r(&self.bytes_out),
        }
    }

    fn add(c: &AtomicU64, n: u64) {
        if n > 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// A bound SAPIENT listener, ready to [`run`](SapientSource::run).
#[derive(Debug)]
pub struct SapientSource {
    listener: TcpListener,
    cfg: SapientSourceConfig,
    session_cfg: Arc<SessionConfig>,
    counters: Arc<SapientCounters>,
    registry: NodeRegistry,
}

impl SapientSource {
    /// Binds the listener (use port 0 for an ephemeral port in tests).
    pub async fn bind(cfg: SapientSourceConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(cfg.bind).await?;
        info!(addr = %listener.local_addr()?, dmm_node_id = %cfg.session.dmm_node_id,
              "SAPIENT listener bound");
        Ok(Self {
            listener,
            session_cfg: Arc::new(cfg.session.clone()),
            cfg,
            counters: Arc::new(SapientCounters::default()),
            registry: NodeRegistry::new(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn counters(&self) -> Arc<SapientCounters> {
        Arc::clone(&self.counters)
    }

    /// The nodes registered on all connections.
    pub fn registry(&self) -> NodeRegistry {
        self.registry.clone()
    }

    /// Accepts connections until `shutdown` is cancelled, then waits for every connection to
    /// forward what it has read and close.
    pub async fn run(self, tx: mpsc::Sender<SourceEvent>, shutdown: CancellationToken) {
        let limit = Arc::new(Semaphore::new(self.cfg.max_connections));
        let codec = FrameCodec::new(self.cfg.max_frame_bytes);
        let mut tasks = JoinSet::new();
        let mut next_id: u64 = 0;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                // Reap finished connections so the set does not grow.
                Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
                a = self.listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Per-connection accept errors (e.g. reset before accept) are transient;
                    // back off briefly in case it is resource exhaustion.
                    warn!(error = %e, "SAPIENT accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
                self.counters
                    .connections_refused
                    .fetch_add(1, Ordering::Relaxed);
                warn!(%peer, limit = self.cfg.max_connections, "SAPIENT connection refused: limit reached");
                tasks.spawn(refuse(stream, self.session_cfg.dmm_node_id.clone(), codec));
                continue;
            };
            next_id += 1;
            self.counters
                .connections_accepted
                .fetch_add(1, Ordering::Relaxed);
            let conn = Connection {
                id: next_id,
                peer,
                session: Session::new(
                    Arc::clone(&self.session_cfg),
                    self.registry.clone(),
                    next_id,
                ),
                codec,
                idle_timeout: self.cfg.idle_timeout,
                counters: Arc::clone(&self.counters),
                tx: tx.clone(),
                shutdown: shutdown.clone(),
            };
            tasks.spawn(async move {
                conn.run(stream).await;
                drop(permit);
            });
        }
        info!("SAPIENT listener stopping; waiting for connections to finish");
        while tasks.join_next().await.is_some() {}
        info!("SAPIENT listener stopped");
    }
}

/// Tells a connection over the limit why it is closed (a v2.0 `Error`).
async fn refuse(mut stream: TcpStream, dmm_node_id: String, codec: FrameCodec) {
    let msg = v2::SapientMessage {
        timestamp: Some(time::from_time_ns(time::now())),
        node_id: Some(dmm_node_id),
        destination_id: None,
        content: Some(Content::Error(v2::Error {
            packet: Some(Vec::new()),
            error_message: vec!["connection limit reached; try again later".to_owned()],
        })),
        additional_information: None,
    };
    let mut buf = BytesMut::new();
    if codec.encode(&msg, &mut buf).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&buf)).await;
    }
    let _ = stream.shutdown().await;
}

struct Connection {
    id: u64,
    peer: SocketAddr,
    session: Session,
    codec: FrameCodec,
    idle_timeout: Option<Duration>,
    counters: Arc<SapientCounters>,
    tx: mpsc::Sender<SourceEvent>,
    shutdown: CancellationToken,
}

/// Why a connection ended.
enum End {
    PeerClosed,
    Garbage,
    Idle,
    Shutdown,
    PipelineClosed,
    Io(std::io::Error),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::PeerClosed => f.write_str("peer closed the connection"),
            End::Garbage => f.write_str("peer sent bytes that are not SAPIENT"),
            End::Idle => f.write_str("idle timeout"),
            End::Shutdown => f.write_str("server shutting down"),
            End::PipelineClosed => f.write_str("pipeline closed"),
            End::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl Connection {
    async fn run(mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        self.counters
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        info!(conn = self.id, peer = %self.peer, "SAPIENT connection opened");
        let (mut rd, mut wr) = stream.split();
        let mut inbuf = BytesMut::with_capacity(64 * 1024);
        let mut outbuf = BytesMut::with_capacity(4 * 1024);
        let mut out = Outputs::default();
        let end = loop {
            let read = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break End::Shutdown,
                r = read_some(&mut rd, &mut inbuf, self.idle_timeout) => r,
            };
            match read {
                Ok(Some(0)) => break End::PeerClosed,
                Ok(Some(n)) => SapientCounters::add(&self.counters.bytes_in, n as u64),
                Ok(None) => break End::Idle,
                Err(e) => break End::Io(e),
            }
            let now = time::now();
            self.take_frames(&mut inbuf, now, &mut out);
            if let Err(end) = self.flush(&mut out, &mut outbuf, &mut wr).await {
                break end;
            }
            if out.close {
                break End::Garbage;
            }
            out.clear();
        };
        if matches!(end, End::Garbage) {
            self.counters
                .connections_dropped_for_garbage
                .fetch_add(1, Ordering::Relaxed);
            warn!(conn = self.id, peer = %self.peer, "SAPIENT connection dropped: {end}");
        } else {
            info!(conn = self.id, peer = %self.peer, "SAPIENT connection closing: {end}");
        }
        out.clear();
        self.session.close(time::now(), &end.to_string(), &mut out);
        out.replies.clear();
        let _ = self.forward(&mut out).await;
        let _ = wr.shutdown().await;
        self.counters
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }

    /// Runs the session over every complete frame in `inbuf`; stops at a closing one.
    fn take_frames(&mut self, inbuf: &mut BytesMut, now: TimeNs, out: &mut Outputs) {
        loop {
            match self.codec.decode(inbuf) {
                Ok(Some(frame)) => {
                    self.counters.frames.fetch_add(1, Ordering::Relaxed);
                    let rejected_before = out.rejected;
                    self.session.handle_frame(&frame, now, out);
                    if out.rejected > rejected_before {
                        debug!(conn = self.id, peer = %self.peer, "SAPIENT message rejected");
                    }
                    if out.close {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let head = inbuf.get(..inbuf.len().min(64)).unwrap_or_default();
                    self.session.handle_frame_error(&e, head, now, out);
                    return;
                }
            }
        }
    }

    /// Events to the pipeline first (awaiting capacity), then replies to the node.
    async fn flush(
        &mut self,
        out: &mut Outputs,
        outbuf: &mut BytesMut,
        wr: &mut tokio::net::tcp::WriteHalf<'_>,
    ) -> Result<(), End> {
        SapientCounters::add(&self.counters.messages_accepted, out.accepted);
        SapientCounters::add(&self.counters.messages_rejected, out.rejected);
        self.forward(out).await?;
        for reply in &out.replies {
            if let Some(Content::Error(e)) = &reply.content {
                warn!(conn = self.id, peer = %self.peer, errors = ?e.error_message,
                      "SAPIENT Error sent");
            }
            if let Err(e) = self.session.encode_reply(reply, &self.codec, outbuf) {
                warn!(conn = self.id, error = %e, "SAPIENT reply too large to send");
            }
        }
        if !outbuf.is_empty() {
            wr.write_all(outbuf).await.map_err(End::Io)?;
            SapientCounters::add(&self.counters.bytes_out, outbuf.len() as u64);
            outbuf.clear();
        }
        Ok(())
    }

    async fn forward(&mut self, out: &mut Outputs) -> Result<(), End> {
        let mut events = out.events.drain(..).peekable();
        while events.peek().is_some() {
            let want = events.len().clamp(1, self.tx.max_capacity().max(1));
            let permits = self
                .tx
                .reserve_many(want)
                .await
                .map_err(|_| End::PipelineClosed)?;
            for (permit, event) in permits.zip(events.by_ref()) {
                permit.send(self.to_source_event(event));
            }
        }
        Ok(())
    }

    fn to_source_event(&self, event: SessionEvent) -> SourceEvent {
        match event {
            SessionEvent::Observation(observation) => {
                self.counters.observations.fetch_add(1, Ordering::Relaxed);
                SourceEvent::Observation(observation)
            }
            SessionEvent::Health(h) => {
                self.counters.health_reports.fetch_add(1, Ordering::Relaxed);
                SourceEvent::Health(h)
            }
            SessionEvent::Record(r) => {
                self.counters.records.fetch_add(1, Ordering::Relaxed);
                let message = json::v2_to_json(&r.message).unwrap_or_else(|e| {
                    serde_json::Value::String(format!("(message not renderable: {e})"))
                });
                SourceEvent::Record(SourceRecord {
                    sensor_id: r.sensor_id,
                    t: r.t,
                    kind: r.kind.as_str().to_owned(),
                    body: serde_json::json!({
                        "node_id": r.node_id,
                        "connection": self.id,
                        "peer": self.peer.to_string(),
                        "icd_version": self.session.version().map(|v| v.label()),
                        "reasons": r.reasons,
                        "message": message,
                    }),
                })
            }
        }
    }
}

/// Reads more bytes; `Ok(None)` on idle timeout.
async fn read_some(
    rd: &mut tokio::net::tcp::ReadHalf<'_>,
    buf: &mut BytesMut,
    idle: Option<Duration>,
) -> std::io::Result<Option<usize>> {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(64 * 1024);
    }
    match idle {
        Some(d) => match tokio::time::timeout(d, rd.read_buf(buf)).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        },
        None => rd.read_buf(buf).await.map(Some),
    }
}
