//! The live stream: `GET /api/v1/stream` upgraded to a WebSocket.
//!
//! Query: `bbox=min_lon,min_lat,max_lon,max_lat` (an area), `kinds=tracks,alerts,warnings,
//! sensors,sightings,agents,bulletins` (default all), `rate_ms=0` (every track update, as fusion
//! publishes it) or `rate_ms=1000` (the whole picture once a second: phones on a thin
//! link). A client may send `{"type":"subscribe","bbox":...,"kinds":[...]}` to change its
//! filter. Messages are JSON text: `hello`, `snapshot`, `tracks` (changed tracks and
//! `removed` ids), `alert`, `warning` (an agent gets only its own), `sensor_health`,
//! `sighting`, `agent`, `bulletin` (published, acknowledged or withdrawn) and `posture`
//! (the sector's, when a bulletin changes it). A client that falls behind gets a fresh `snapshot`.

use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use dronewatch_store::BBox;
use futures::SinkExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use super::picture::{in_bbox, parse_bbox};
use super::{ApiError, AppState, Authed};
use crate::auth::{Perm, Principal, Role};
use crate::live::{Audience, LiveEvent, TrackItem};

#[derive(Debug, Deserialize, IntoParams)]
pub struct StreamParams {
    pub bbox: Option<String>,
    /// Comma-separated: tracks, alerts, warnings, sensors, sightings, agents, bulletins.
    pub kinds: Option<String>,
    /// 0 (default): every update; 1000: the picture once a second.
    pub rate_ms: Option<u64>,
    /// The bearer token, for browsers (they cannot set headers on a WebSocket). Read by
    /// the authentication extractor from the raw query; declared here for the document.
    #[allow(dead_code)]
    pub access_token: Option<String>,
}

#[derive(Debug, Clone)]
struct Filter {
    bbox: Option<BBox>,
    tracks: bool,
    alerts: bool,
    warnings: bool,
    sensors: bool,
    sightings: bool,
    agents: bool,
    bulletins: bool,
}

impl Filter {
    fn parse(bbox: Option<&str>, kinds: Option<&str>) -> Result<Self, ApiError> {
        let bbox = bbox.map(parse_bbox).transpose()?;
        let mut f = Filter {
            bbox,
            tracks: kinds.is_none(),
            alerts: kinds.is_none(),
            warnings: kinds.is_none(),
            sensors: kinds.is_none(),
            sightings: kinds.is_none(),
            agents: kinds.is_none(),
            bulletins: kinds.is_none(),
        };
        for k in kinds.unwrap_or("").split(',').filter(|k| !k.is_empty()) {
            match k.trim() {
                "tracks" => f.tracks = true,
                "alerts" => f.alerts = true,
                "warnings" => f.warnings = true,
                "sensors" => f.sensors = true,
                "sightings" => f.sightings = true,
                "agents" => f.agents = true,
                "bulletins" => f.bulletins = true,
                other => return Err(ApiError::BadRequest(format!("kinds: unknown {other:?}"))),
            }
        }
        Ok(f)
    }

    /// Whether a track is in the area; `None` without an area (every track is).
    fn track_filter(&self) -> Option<impl Fn(&TrackItem) -> bool + '_> {
        self.bbox
            .as_ref()
            .map(|b| move |t: &TrackItem| in_bbox(b, t.lat_deg, t.lon_deg))
    }

    fn here(&self, pos: Option<(f64, f64)>) -> bool {
        match (&self.bbox, pos) {
            (None, _) => true,
            (Some(b), Some((lat, lon))) => in_bbox(b, lat, lon),
            // Events without a position (a warning) are not filtered by area.
            (Some(_), None) => true,
        }
    }

    fn wants(&self, ev: &LiveEvent, who: &Principal) -> bool {
        let kind_ok = match ev.kind {
            "alert" => self.alerts,
            "warning" => self.warnings,
            "sensor_health" => self.sensors,
            "sighting" => self.sightings,
            "agent" => self.agents,
            "bulletin" | "posture" => self.bulletins,
            _ => false,
        };
        let audience_ok = match &ev.audience {
            Audience::Everyone => true,
            Audience::Agent(a) => who.role != Role::Agent || *a == who.user,
        };
        kind_ok && audience_ok && self.here(ev.position)
    }
}

/// Open the live stream (WebSocket).
#[utoipa::path(get, path = "/api/v1/stream", tag = "picture", params(StreamParams),
    security(("bearer" = [])),
    responses((status = 101, description = "switching to the WebSocket protocol"),
              (status = 401, body = super::error::ErrorBody, description = "No valid token")))]
pub async fn stream(
    State(s): State<AppState>,
    who: Authed,
    Query(q): Query<StreamParams>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let who = who.require(Perm::ReadLive)?.clone();
    let filter = Filter::parse(q.bbox.as_deref(), q.kinds.as_deref())?;
    let rate_ms = q.rate_ms.unwrap_or(0);
    if rate_ms != 0 && rate_ms != 1000 {
        return Err(ApiError::BadRequest("rate_ms: 0 or 1000".into()));
    }
    let open = s.metrics.ws_clients.get();
    if open >= s.http.max_ws_clients as i64 {
        return Err(ApiError::Unavailable("too many live clients".into()));
    }
    Ok(ws
        .max_message_size(64 * 1024)
        // Clients send little (a subscribe now and then), and every poll of the socket
        // zeroes the free part of the read buffer: the default 128 KiB, hundreds of
        // thousands of times a second with a thousand clients, was a quarter of the CPU.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| client(socket, s, who, filter, rate_ms == 0)))
}

/// A client's read buffer (what it sends is small) [bytes].
const READ_BUFFER_BYTES: usize = 4096;

/// How long a client may take to accept one message before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(20);

async fn client(
    mut ws: WebSocket,
    s: AppState,
    who: Principal,
    mut filter: Filter,
    realtime: bool,
) {
    s.metrics.ws_clients.inc();
    let mut deltas = s.hub.deltas.subscribe();
    let mut snapshots = s.hub.snapshots.subscribe();
    let mut events = s.hub.events.subscribe();
    let hello = serde_json::json!({
        "type": "hello", "user": who.user, "role": who.role.as_str(), "sector": s.sector,
        "rate_ms": if realtime { 0 } else { 1000 },
    })
    .to_string();
    let snap = s.hub.picture.borrow().clone();
    let mut ok = send(&mut ws, &s, hello.into()).await;
    if ok && filter.tracks {
        ok = send(&mut ws, &s, snapshot_msg(&snap, &filter)).await;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    while ok {
        ok = tokio::select! {
            msg = ws.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    match resubscribe(&t, &filter) {
                        Ok(f) => { filter = f; true }
                        Err(e) => send(&mut ws, &s, serde_json::json!({"type": "error", "message": e.to_string()}).to_string().into()).await,
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                Some(Ok(_)) => true,
            },
            d = deltas.recv(), if realtime && filter.tracks => match d {
                Ok(d) => match delta_msg(&d, &filter) {
                    Some(m) => send(&mut ws, &s, m).await,
                    None => true,
                },
                Err(RecvError::Lagged(_)) => resync(&mut ws, &s, &filter).await,
                Err(RecvError::Closed) => false,
            },
            snap = snapshots.recv(), if !realtime && filter.tracks => match snap {
                Ok(snap) => send(&mut ws, &s, snapshot_msg(&snap, &filter)).await,
                Err(RecvError::Lagged(_)) => resync(&mut ws, &s, &filter).await,
                Err(RecvError::Closed) => false,
            },
            evs = events.recv() => match evs {
                Ok(evs) => send_all(&mut ws, &s, evs.iter().filter(|ev| filter.wants(ev, &who)).map(|ev| ev.json.clone())).await,
                Err(RecvError::Lagged(_)) => { s.metrics.ws_lagged.inc(); true }
                Err(RecvError::Closed) => false,
            },
            _ = ping.tick() => {
                matches!(tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Ping(Default::default()))).await, Ok(Ok(())))
            }
        };
    }
    let _ = ws.send(Message::Close(None)).await;
    s.metrics.ws_clients.dec();
}

async fn send(ws: &mut WebSocket, s: &AppState, text: Utf8Bytes) -> bool {
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Text(text))).await {
        Ok(Ok(())) => {
            s.metrics.ws_messages.inc();
            true
        }
        _ => false,
    }
}

/// Sends several messages with one flush (one write to the socket for all of them).
async fn send_all(
    ws: &mut WebSocket,
    s: &AppState,
    texts: impl Iterator<Item = Utf8Bytes>,
) -> bool {
    let mut n = 0;
    let sent = tokio::time::timeout(SEND_TIMEOUT, async {
        for text in texts {
            ws.feed(Message::Text(text)).await?;
            n += 1;
        }
        if n > 0 { ws.flush().await } else { Ok(()) }
    })
    .await;
    match sent {
        Ok(Ok(())) => {
            s.metrics.ws_messages.inc_by(n);
            true
        }
        _ => false,
    }
}

async fn resync(ws: &mut WebSocket, s: &AppState, filter: &Filter) -> bool {
    s.metrics.ws_lagged.inc();
    let snap = s.hub.picture.borrow().clone();
    send(ws, s, snapshot_msg(&snap, filter)).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    #[serde(rename = "type")]
    kind: String,
    bbox: Option<String>,
    kinds: Option<Vec<String>>,
}

fn resubscribe(text: &str, _old: &Filter) -> Result<Filter, ApiError> {
    let sub: Subscribe = serde_json::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("not a subscribe message: {e}")))?;
    if sub.kind != "subscribe" {
        return Err(ApiError::BadRequest(format!(
            "unknown message type {:?}",
            sub.kind
        )));
    }
    let kinds = sub.kinds.map(|k| k.join(","));
    Filter::parse(sub.bbox.as_deref(), kinds.as_deref())
}

fn snapshot_msg(snap: &crate::live::Snapshot, filter: &Filter) -> Utf8Bytes {
    let here = filter.track_filter();
    snap.message(here.as_ref().map(|f| f as &dyn Fn(&TrackItem) -> bool))
}

/// `None` when nothing of the delta is in the client's area.
fn delta_msg(d: &crate::live::TrackDelta, filter: &Filter) -> Option<Utf8Bytes> {
    let here = filter.track_filter();
    d.message(here.as_ref().map(|f| f as &dyn Fn(&TrackItem) -> bool))
}
