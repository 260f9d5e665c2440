//! History: the event log searched by time, area, serial, sensor, track; and exports
//! (GeoJSON, CSV, JSON lines with hashes for evidence). Every read is audited first.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dronewatch_model::TimeNs;
use dronewatch_store::{Chain, EventKind, EventQuery, StoredEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::picture::parse_bbox;
use super::{ApiError, AppState, Authed, audit};
use crate::auth::Perm;
use crate::view::Position;

#[derive(Debug, Clone, Deserialize, Serialize, IntoParams)]
pub struct HistoryParams {
    /// Comma-separated kinds: observation, track, alert, warning, sighting, sensor_health,
    /// sensor_record, agent_fix, operator_action, audit, config, delivery. Default: every kind but
    /// observations and tracks.
    pub kind: Option<String>,
    /// From and to: RFC 3339 times or integer nanoseconds since the epoch.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// Remote ID serial or ICAO address (hex).
    pub serial: Option<String>,
    /// Sensor id, user or node that produced the events.
    pub source: Option<String>,
    pub track_id: Option<u64>,
    /// Paging within one chain: events after this sequence number.
    pub after_seq: Option<u64>,
    /// At most this many (default 500, at most 5000; exports at most 100000).
    pub limit: Option<usize>,
    /// `asc` (default) or `desc`.
    pub order: Option<String>,
}

/// An event as stored, with its place in the hash chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub chain: String,
    pub seq: u64,
    pub kind: String,
    pub t_unix_ns: i64,
    pub stored_unix_ns: i64,
    pub source: Option<String>,
    pub serial: Option<String>,
    pub track_id: Option<u64>,
    pub position: Option<Position>,
    /// The event itself, as it was logged.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// SHA-256 of the chain up to this event (docs/store.md), hex.
    pub hash: String,
}

impl From<StoredEvent> for EventView {
    fn from(e: StoredEvent) -> Self {
        Self {
            chain: e.chain.as_str().into(),
            seq: e.seq,
            kind: e.kind.as_str().into(),
            t_unix_ns: e.t.0,
            stored_unix_ns: e.stored_at.0,
            source: e.source,
            serial: e.serial,
            track_id: e.track_id,
            position: e.position.map(Into::into),
            body: serde_json::from_str(&e.body).unwrap_or(serde_json::Value::String(e.body)),
            hash: hex::encode(e.hash),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventsResponse {
    pub events: Vec<EventView>,
    /// More may follow: the number of events returned equals the limit.
    pub truncated: bool,
}

fn parse_time(field: &str, s: &str) -> Result<TimeNs, ApiError> {
    if let Ok(ns) = s.parse::<i64>() {
        return Ok(TimeNs(ns));
    }
    jiff::Timestamp::from_str(s)
        .map(|ts| TimeNs(i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX)))
        .map_err(|e| ApiError::BadRequest(format!("{field}: not a time: {e}")))
}

fn parse_kind(s: &str) -> Result<EventKind, ApiError> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string()))
        .map_err(|_| ApiError::BadRequest(format!("kind {s:?} is not an event kind")))
}

/// The queries (one per chain) that `p` asks for.
fn queries(p: &HistoryParams, max_limit: usize) -> Result<Vec<EventQuery>, ApiError> {
    let kinds: Vec<EventKind> = match &p.kind {
        Some(k) => k.split(',').map(parse_kind).collect::<Result<_, _>>()?,
        None => vec![
            EventKind::Alert,
            EventKind::Warning,
            EventKind::Sighting,
            EventKind::SensorHealth,
            EventKind::SensorRecord,
            EventKind::AgentFix,
            EventKind::OperatorAction,
            EventKind::Audit,
            EventKind::Config,
            EventKind::Delivery,
        ],
    };
    let mut by_chain: BTreeMap<Chain, Vec<EventKind>> = BTreeMap::new();
    for k in kinds {
        by_chain.entry(k.chain()).or_default().push(k);
    }
    if p.after_seq.is_some() && by_chain.len() > 1 {
        return Err(ApiError::BadRequest(
            "after_seq pages one chain: ask for kinds of one chain".into(),
        ));
    }
    let limit = p.limit.unwrap_or(500).clamp(1, max_limit);
    let descending = match p.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => return Err(ApiError::BadRequest(format!("order {o:?}: asc or desc"))),
    };
    let from = p
        .from
        .as_deref()
        .map(|s| parse_time("from", s))
        .transpose()?;
    let to = p.to.as_deref().map(|s| parse_time("to", s)).transpose()?;
    let bbox = p.bbox.as_deref().map(parse_bbox).transpose()?;
    Ok(by_chain
        .into_iter()
        .map(|(chain, kinds)| EventQuery {
            kinds,
            chain: Some(chain),
            from,
            to,
            bbox,
            serial: p.serial.clone(),
            source: p.source.clone(),
            track_id: p.track_id,
            after_seq: p.after_seq,
            limit,
            descending,
        })
        .collect())
}

async fn run(s: &AppState, qs: Vec<EventQuery>) -> Result<(Vec<StoredEvent>, bool), ApiError> {
    let limit = qs.first().map_or(0, |q| q.limit);
    let descending = qs.first().is_some_and(|q| q.descending);
    let mut all = Vec::new();
    for q in qs {
        all.extend(s.store.query(q).await?);
    }
    all.sort_by_key(|e| (e.t, e.chain, e.seq));
    if descending {
        all.reverse();
    }
    let truncated = all.len() >= limit;
    all.truncate(limit);
    Ok((all, truncated))
}

/// Search the event log. Audited.
#[utoipa::path(get, path = "/api/v1/history/events", tag = "history", params(HistoryParams),
    security(("bearer" = [])),
    responses((status = 200, body = EventsResponse, description = "OK"), (status = 400, body = super::error::ErrorBody, description = "The request is malformed; the message names the field")))]
pub async fn events(
    State(s): State<AppState>,
    who: Authed,
    Query(p): Query<HistoryParams>,
) -> Result<Json<EventsResponse>, ApiError> {
    let who = who.require(Perm::ReadHistory)?;
    let qs = queries(&p, 5000)?;
    audit(
        &s,
        &who.user,
        "history_read",
        serde_json::to_value(&p).unwrap_or_default(),
    )
    .await?;
    let (events, truncated) = run(&s, qs).await?;
    Ok(Json(EventsResponse {
        events: events.into_iter().map(EventView::from).collect(),
        truncated,
    }))
}

#[derive(Debug, Deserialize, Serialize, IntoParams)]
pub struct ExportFormat {
    /// `geojson` (default), `csv` or `jsonl` (every field and hash: for evidence).
    pub format: Option<String>,
}

/// Export history for partner agencies or evidence. Audited.
#[utoipa::path(get, path = "/api/v1/history/export", tag = "history", params(HistoryParams, ExportFormat),
    security(("bearer" = [])),
    responses((status = 200, description = "GeoJSON, CSV or JSON lines"), (status = 400, body = super::error::ErrorBody, description = "The request is malformed; the message names the field")))]
pub async fn export(
    State(s): State<AppState>,
    who: Authed,
    Query(p): Query<HistoryParams>,
    Query(f): Query<ExportFormat>,
) -> Result<Response, ApiError> {
    let who = who.require(Perm::Export)?;
    let format = f.format.as_deref().unwrap_or("geojson");
    if !matches!(format, "geojson" | "csv" | "jsonl") {
        return Err(ApiError::BadRequest(format!(
            "format {format:?}: geojson, csv or jsonl"
        )));
    }
    let qs = queries(&p, 100_000)?;
    audit(
        &s,
        &who.user,
        "export",
        serde_json::json!({ "format": format, "query": p }),
    )
    .await?;
    let (events, _) = run(&s, qs).await?;
    let (mime, ext, body) = match format {
        "csv" => ("text/csv; charset=utf-8", "csv", to_csv(&events)),
        "jsonl" => ("application/x-ndjson", "jsonl", to_jsonl(events)),
        _ => ("application/geo+json", "geojson", to_geojson(events)),
    };
    let disposition = format!("attachment; filename=\"dronewatch-{}.{ext}\"", s.sector);
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn to_csv(events: &[StoredEvent]) -> String {
    let mut out = String::from(
        "chain,seq,kind,t_unix_ns,source,serial,track_id,lat_deg,lon_deg,h_m,exercise,hash\n",
    );
    for e in events {
        let (lat, lon, h) = e
            .position
            .map_or((String::new(), String::new(), String::new()), |p| {
                (
                    p.lat_deg.to_string(),
                    p.lon_deg.to_string(),
                    p.h_m.to_string(),
                )
            });
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.chain.as_str(),
            e.seq,
            e.kind.as_str(),
            e.t.0,
            csv_field(e.source.as_deref().unwrap_or("")),
            csv_field(e.serial.as_deref().unwrap_or("")),
            e.track_id.map(|t| t.to_string()).unwrap_or_default(),
            lat,
            lon,
            h,
            is_exercise(e),
            hex::encode(e.hash),
        ));
    }
    out
}

/// An exercise's event: its body says so (tracks, alerts, warnings), or it came from an
/// exercise's sensor (observations, sensor health).
fn is_exercise(e: &StoredEvent) -> bool {
    let from_exercise_sensor = e
        .source
        .as_deref()
        .is_some_and(|s| s.starts_with(dronewatch_model::EXERCISE_PREFIX));
    from_exercise_sensor
        || serde_json::from_str::<serde_json::Value>(&e.body)
            .is_ok_and(|b| b.get("exercise").and_then(serde_json::Value::as_bool) == Some(true))
}

fn to_jsonl(events: Vec<StoredEvent>) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&serde_json::to_string(&EventView::from(e)).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn to_geojson(events: Vec<StoredEvent>) -> String {
    let features: Vec<serde_json::Value> = events
        .into_iter()
        .filter(|e| e.position.is_some())
        .map(|e| {
            let v = EventView::from(e);
            let coords = v
                .position
                .map(|p| vec![p.lon_deg, p.lat_deg, p.h_m])
                .unwrap_or_default();
            serde_json::json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": coords },
                "properties": {
                    "chain": v.chain, "seq": v.seq, "kind": v.kind, "t_unix_ns": v.t_unix_ns,
                    "source": v.source, "serial": v.serial, "track_id": v.track_id,
                    "hash": v.hash, "body": v.body,
                }
            })
        })
        .collect();
    serde_json::json!({ "type": "FeatureCollection", "features": features }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn kinds_split_by_chain_and_paging_needs_one() {
        let p = HistoryParams {
            kind: Some("observation,alert".into()),
            from: None,
            to: None,
            bbox: None,
            serial: None,
            source: None,
            track_id: None,
            after_seq: None,
            limit: None,
            order: None,
        };
        let qs = queries(&p, 5000).unwrap_or_default();
        assert_eq!(qs.len(), 2);
        let paged = HistoryParams {
            after_seq: Some(3),
            ..p
        };
        assert!(queries(&paged, 5000).is_err());
    }
}
