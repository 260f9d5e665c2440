//! What the field and the sensors send: sightings, agents' positions, warning
//! acknowledgements, and detections over HTTP. Each is answered once it is durable in the
//! event log (201), so a phone that got its answer may forget the report.

use std::io::Write;
use std::str::FromStr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use dronewatch_model::{
    AgentFix, AgentId, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use dronewatch_sensorjson::{MessageKind, Received, SensorMessage};
use dronewatch_store::{EventKind, NewEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed, audit};
use crate::auth::{Perm, Role};
use crate::live::lock;
use crate::pipeline::Input;
use crate::sources::SourceEvent;
use crate::view::{Position, SightingReport};

/// Where a report landed in the event log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stored {
    pub seq: u64,
    /// True when this was a retry of a report already stored (nothing was stored again).
    pub duplicate: bool,
}

fn stored(a: dronewatch_store::Appended) -> Response {
    let status = if a.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    (
        status,
        Json(Stored {
            seq: a.seq,
            duplicate: a.duplicate,
        }),
    )
        .into_response()
}

/// One-sigma errors of a person's bearing and distance estimates.
const SIGHTING_SIGMA_AZ_DEG: f64 = 10.0;
const SIGHTING_SIGMA_DIST_REL: f64 = 0.5;

/// Report a drone seen or heard. Idempotent by `client_id`: a retry is stored once.
#[utoipa::path(post, path = "/api/v1/sightings", tag = "field", request_body = SightingReport,
    security(("bearer" = [])),
    responses((status = 201, body = Stored, description = "stored"),
              (status = 200, body = Stored, description = "a retry of a stored report"),
              (status = 400, body = super::error::ErrorBody, description = "The request is malformed; the message names the field")))]
pub async fn sighting(
    State(s): State<AppState>,
    who: Authed,
    Json(mut report): Json<SightingReport>,
) -> Result<Response, ApiError> {
    let who = who.require(Perm::Report)?;
    let observed = check_sighting(&report)?;
    report.reporter = Some(who.user.clone());
    if let Some(photo) = report.photo.take() {
        report.photo_sha256 = Some(save_photo(&s, &photo)?);
    }
    let obs = sighting_observation(&report, observed);
    let appended = s
        .ingest
        .submit(Input::Sighting(Box::new(report), obs))
        .await?;
    Ok(stored(appended))
}

/// The observation a sighting with a bearing gives fusion, from its reporter's place; `None`
/// without a bearing (a drone heard, not seen).
pub(crate) fn sighting_observation(
    report: &SightingReport,
    observed: TimeNs,
) -> Option<Observation> {
    let az = report.bearing_deg?;
    let measurement = match report.distance_m {
        Some(dist_m) => Measurement::BearingDistance {
            az_deg: az,
            dist_m,
            sigma_az_deg: SIGHTING_SIGMA_AZ_DEG,
            sigma_dist_rel: SIGHTING_SIGMA_DIST_REL,
        },
        None => Measurement::Bearing {
            az_deg: az,
            sigma_az_deg: SIGHTING_SIGMA_AZ_DEG,
        },
    };
    Some(Observation {
        id: ObservationId(u64::from_be_bytes(
            crate::auth::sha256(report.client_id.as_bytes())[..8]
                .try_into()
                .unwrap_or([0; 8]),
        )),
        t: observed,
        sensor_id: SensorId::new(format!(
            "agent:{}",
            report.reporter.as_deref().unwrap_or_default()
        )),
        sensor_kind: SensorKind::Agent,
        sensor_position: Some(report.reporter_position.into()),
        measurement,
        velocity: None,
        identity: Default::default(),
    })
}

/// Checks a report as it came from its sender; the time the drone was seen.
pub(crate) fn check_sighting(r: &SightingReport) -> Result<TimeNs, ApiError> {
    let bad = |m: &str| Err(ApiError::BadRequest(m.into()));
    if r.client_id.is_empty() || r.client_id.len() > 128 {
        return bad("client_id: 1 to 128 characters");
    }
    if r.reporter.is_some() || r.photo_sha256.is_some() {
        return bad("reporter and photo_sha256 are set by the server");
    }
    let ts = jiff::Timestamp::from_str(&r.observed_at)
        .map_err(|e| ApiError::BadRequest(format!("observed_at: not an RFC 3339 time: {e}")))?;
    let t = TimeNs(i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX));
    if t.secs_since(crate::clock::now()) > 300.0 {
        return bad("observed_at: more than 5 minutes in the future");
    }
    let p: dronewatch_model::Lla = r.reporter_position.into();
    if !p.is_valid() || !(-180.0..=180.0).contains(&p.lon_deg) {
        return bad("reporter_position: not a WGS84 position");
    }
    if r.bearing_deg.is_some_and(|b| !(0.0..360.0).contains(&b)) {
        return bad("bearing_deg: 0 to 360");
    }
    if r.distance_m.is_some_and(|d| !(d > 0.0 && d <= 20_000.0)) {
        return bad("distance_m: above 0, at most 20 km");
    }
    // A distance without a bearing (a drone heard, not seen) is kept in the report; only a
    // bearing makes an observation for fusion.
    if r.height_m.is_some_and(|h| !(0.0..=5000.0).contains(&h)) {
        return bad("height_m: 0 to 5000");
    }
    if r.reporter_accuracy_m
        .is_some_and(|a| !(0.0..=10_000.0).contains(&a))
    {
        return bad("reporter_accuracy_m: 0 to 10000");
    }
    if r.note.as_ref().is_some_and(|n| n.len() > 4000) {
        return bad("note: at most 4000 bytes");
    }
    Ok(t)
}

fn photo_ext(mime: &str) -> Option<&'static str> {
    match mime {
        "image/jpeg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

/// Writes the photo under its SHA-256 (durably: it is evidence) and returns the digest.
fn save_photo(s: &AppState, photo: &crate::view::Photo) -> Result<String, ApiError> {
    let ext = photo_ext(&photo.mime).ok_or_else(|| {
        ApiError::BadRequest("photo.mime: image/jpeg, image/png or image/webp".into())
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(photo.data_base64.as_bytes())
        .map_err(|e| ApiError::BadRequest(format!("photo.data_base64: {e}")))?;
    let sha = hex::encode(crate::auth::sha256(&bytes));
    let io = |e: std::io::Error| ApiError::Unavailable(format!("storing the photo: {e}"));
    std::fs::create_dir_all(&s.blobs_dir).map_err(io)?;
    let path = s.blobs_dir.join(format!("{sha}.{ext}"));
    if !path.exists() {
        let tmp = s.blobs_dir.join(format!(".{sha}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
    }
    Ok(sha)
}

/// A sighting's photo, by its SHA-256.
#[utoipa::path(get, path = "/api/v1/sightings/{sha256}/photo", tag = "field",
    params(("sha256" = String, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "image/jpeg", description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn photo(
    State(s): State<AppState>,
    who: Authed,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Perm::ReadLive)?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest("sha256: 64 hex digits".into()));
    }
    for (ext, mime) in [
        ("jpg", "image/jpeg"),
        ("png", "image/png"),
        ("webp", "image/webp"),
    ] {
        if let Ok(bytes) = std::fs::read(s.blobs_dir.join(format!("{sha256}.{ext}"))) {
            return Ok(([(axum::http::header::CONTENT_TYPE, mime)], bytes).into_response());
        }
    }
    Err(ApiError::NotFound(format!("photo {sha256}")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionReport {
    pub position: Position,
    /// When the fix was taken; now if absent.
    pub t_unix_ns: Option<i64>,
}

/// The caller's own position (the field app shares it), for warnings.
#[utoipa::path(post, path = "/api/v1/agents/me/position", tag = "field", request_body = PositionReport,
    security(("bearer" = [])), responses((status = 201, body = Stored, description = "Created")))]
pub async fn position(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<PositionReport>,
) -> Result<Response, ApiError> {
    let who = who.require(Perm::Report)?;
    let p: dronewatch_model::Lla = req.position.into();
    if !p.is_valid() || !(-180.0..=180.0).contains(&p.lon_deg) {
        return Err(ApiError::BadRequest(
            "position: not a WGS84 position".into(),
        ));
    }
    let now = crate::clock::now();
    let t = req.t_unix_ns.map_or(now, TimeNs);
    if t.secs_since(now).abs() > 3600.0 {
        return Err(ApiError::BadRequest(
            "t_unix_ns: more than an hour from now".into(),
        ));
    }
    let fix = AgentFix {
        agent_id: AgentId::new(who.user.clone()),
        t,
        position: p,
    };
    Ok(stored(s.ingest.submit(Input::AgentFix(fix)).await?))
}

/// The agent acknowledges a warning it received.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/acknowledge", tag = "warnings",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = crate::view::WarningView, description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn acknowledge_warning(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<String>,
) -> Result<Json<crate::view::WarningView>, ApiError> {
    let who = who.require(Perm::Report)?.clone();
    let now = crate::clock::now();
    let found = {
        let boards = lock(&s.hub.boards.warnings);
        boards
            .iter()
            .filter(|(agent, _)| who.role != Role::Agent || **agent == who.user)
            .flat_map(|(_, list)| list.iter())
            .find(|w| w.id == id)
            .cloned()
    };
    let mut w = found.ok_or_else(|| ApiError::NotFound(format!("warning {id}")))?;
    s.ingest
        .submit(Input::Record(NewEvent {
            kind: EventKind::OperatorAction,
            t: now,
            source: Some(who.user.clone()),
            serial: None,
            track_id: Some(w.track_id),
            position: None,
            idempotency_key: None,
            body: serde_json::json!({
                "action": "warning_acknowledged", "warning_id": w.id, "agent_id": w.agent_id,
                "by": who.user, "level": w.level,
            })
            .to_string(),
        }))
        .await?;
    audit(
        &s,
        &who.user,
        "warning_acknowledged",
        serde_json::json!({ "warning_id": id }),
    )
    .await?;
    w.acknowledged_unix_ns = Some(now.0);
    if let Some(list) = lock(&s.hub.boards.warnings).get_mut(&w.agent_id) {
        for x in list.iter_mut().filter(|x| x.id == w.id) {
            x.acknowledged_unix_ns = Some(now.0);
        }
    }
    Ok(Json(w))
}

/// A generic sensor's message over HTTP: the same JSON as on MQTT (docs/sensor-json.md),
/// `kind` being `detections`, `status` or `remoteid`. Answered 201 once durable.
#[utoipa::path(post, path = "/api/v1/sensors/{sensor_id}/{kind}", tag = "sensors",
    params(("sensor_id" = String, Path), ("kind" = String, Path, description = "detections, status or remoteid")),
    request_body(content = Object, description = "sensor JSON (docs/sensor-json.md)"),
    security(("bearer" = [])),
    responses((status = 201, body = Stored, description = "Created"), (status = 400, body = super::error::ErrorBody, description = "The request is malformed; the message names the field")))]
pub async fn detection(
    State(s): State<AppState>,
    who: Authed,
    Path((sensor_id, kind)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    who.require(Perm::Ingest)?;
    let kind = MessageKind::from_topic_level(&kind).ok_or_else(|| {
        ApiError::NotFound(format!("kind {kind:?}: detections, status or remoteid"))
    })?;
    let now = crate::clock::now();
    let received = Received {
        at: now,
        id: ObservationId(u64::try_from(now.0).unwrap_or(0)),
    };
    let msg = s
        .sensor_json
        .parse_kind(kind, Some(&sensor_id), &body, received)
        .map_err(|r| ApiError::BadRequest(r.to_string()))?;
    let event = match msg {
        SensorMessage::Observation(o) => SourceEvent::Observation(o),
        SensorMessage::Health(h) => SourceEvent::Health(h),
    };
    Ok(stored(s.ingest.submit(Input::Source(event)).await?))
}
