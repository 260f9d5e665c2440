//! The bus outbox of a sector node: each chain of the event log, read after a cursor kept
//! in the store, becomes bus messages `dw.<sector>.<kind>` with the id
//! `<sector>.<chain>.<seq>`. The relay (`dronewatch_bus::relay`) publishes them in order and
//! commits the cursor once the bus has them: the log is the buffer while the bus is away.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use dronewatch_bus::{BusError, BusMessage, Outbox, RelayStats};
use dronewatch_store::{Chain, EventKind, Store, StoredEvent};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The bus subject kind of an event kind (plural, as DESIGN.md names them).
pub fn bus_kind(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Observation => "observations",
        EventKind::Track => "tracks",
        EventKind::Alert => "alerts",
        EventKind::Warning => "warnings",
        EventKind::Sighting => "sightings",
        EventKind::SensorHealth => "sensor_health",
        EventKind::SensorRecord => "sensor_records",
        EventKind::AgentFix => "agent_fixes",
        EventKind::OperatorAction => "operator_actions",
        EventKind::Audit => "audit",
        EventKind::Config => "config",
        EventKind::Delivery => "deliveries",
    }
}

#[derive(Debug, Clone)]
pub struct ChainOutbox {
    store: Store,
    chain: Chain,
    sector: String,
    cursor_name: String,
}

impl ChainOutbox {
    pub fn new(store: Store, chain: Chain, sector: String) -> Self {
        Self {
            cursor_name: format!("bus.{}", chain.as_str()),
            store,
            chain,
            sector,
        }
    }
}

fn bus_err(e: dronewatch_store::StoreError) -> BusError {
    BusError::Other(format!("event log: {e}"))
}

impl Outbox for ChainOutbox {
    async fn read_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, BusMessage)>, BusError> {
        let events = self
            .store
            .read_after(self.chain, cursor, limit)
            .await
            .map_err(bus_err)?;
        events
            .iter()
            .map(|e| {
                let subject = dronewatch_bus::subject(&self.sector, bus_kind(e.kind))?;
                Ok((
                    e.seq,
                    BusMessage {
                        subject,
                        id: format!("{}.{}.{}", self.sector, self.chain.as_str(), e.seq),
                        payload: Bytes::from(envelope(&self.sector, e)),
                    },
                ))
            })
            .collect()
    }

    async fn committed(&self) -> Result<u64, BusError> {
        Ok(self
            .store
            .cursor(&self.cursor_name)
            .await
            .map_err(bus_err)?
            .unwrap_or(0))
    }

    async fn commit(&self, cursor: u64) -> Result<(), BusError> {
        self.store
            .set_cursor(&self.cursor_name, cursor)
            .await
            .map_err(bus_err)
    }
}

/// What a bus message carries: the logged event with its place in the sector's chain.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    pub sector: String,
    pub chain: Chain,
    pub seq: u64,
    pub kind: EventKind,
    pub t_unix_ns: i64,
    pub stored_unix_ns: i64,
    pub source: Option<String>,
    pub serial: Option<String>,
    pub track_id: Option<u64>,
    pub position: Option<crate::view::Position>,
    pub hash: String,
    pub body: Box<serde_json::value::RawValue>,
}

/// The envelope's JSON. The body is already JSON (the log holds what we wrote), so it is
/// spliced in as it is instead of being parsed and written again.
pub fn envelope(sector: &str, e: &StoredEvent) -> String {
    let s = |v: &Option<String>| serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let position = e.position.map_or_else(
        || "null".to_string(),
        |p| {
            serde_json::to_string(&crate::view::Position::from(p)).unwrap_or_else(|_| "null".into())
        },
    );
    let mut out = String::with_capacity(256 + e.body.len());
    let _ = write!(
        out,
        "{{\"sector\":{},\"chain\":\"{}\",\"seq\":{},\"kind\":\"{}\",\"t_unix_ns\":{},\"stored_unix_ns\":{},\"source\":{},\"serial\":{},\"track_id\":{},\"position\":{},\"hash\":\"{}\",\"body\":{}}}",
        serde_json::to_string(sector).unwrap_or_default(),
        e.chain.as_str(),
        e.seq,
        e.kind.as_str(),
        e.t.0,
        e.stored_at.0,
        s(&e.source),
        s(&e.serial),
        e.track_id.map_or_else(|| "null".into(), |t| t.to_string()),
        position,
        hex::encode(e.hash),
        e.body,
    );
    out
}

/// Copies the relay's counters to the metrics every second (summed over the chains).
pub async fn report_stats(stats: Arc<RelayStats>, metrics: Metrics, stop: CancellationToken) {
    let mut last = (0i64, 0i64, 0i64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = (
            stats.published.load(Ordering::Relaxed) as i64,
            stats.backlog.load(Ordering::Relaxed) as i64,
            stats.disconnected.load(Ordering::Relaxed) as i64,
        );
        metrics.bus_published.inc_by(now.0 - last.0);
        metrics.bus_backlog.inc_by(now.1 - last.1);
        metrics.bus_disconnected.inc_by(now.2 - last.2);
        last = now;
    }
}
