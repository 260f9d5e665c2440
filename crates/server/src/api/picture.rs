//! The live picture: tracks, alerts, sensors, agents, warnings; and operators' actions on
//! alerts.

use axum::Json;
use axum::extract::{Path, Query, State};
use dronewatch_store::{BBox, EventKind, EventQuery};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, AppState, Authed, audit};
use crate::auth::{Perm, Role};
use crate::live::lock;
use crate::pipeline::threat::{AlertOp, ThreatCommand};
use crate::view::{AgentView, AlertView, ReasonView, SensorView, TrackView, WarningView};

/// `min_lon,min_lat,max_lon,max_lat` (GeoJSON order); `min_lon > max_lon` crosses the
/// antimeridian.
pub fn parse_bbox(s: &str) -> Result<BBox, ApiError> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::BadRequest(format!("bbox {s:?}: four numbers expected")))?;
    let [min_lon, min_lat, max_lon, max_lat] = v[..] else {
        return Err(ApiError::BadRequest(format!(
            "bbox {s:?}: min_lon,min_lat,max_lon,max_lat expected"
        )));
    };
    let lat_ok = |x: f64| (-90.0..=90.0).contains(&x);
    let lon_ok = |x: f64| (-180.0..=180.0).contains(&x);
    if !(lat_ok(min_lat) && lat_ok(max_lat) && lon_ok(min_lon) && lon_ok(max_lon))
        || min_lat > max_lat
    {
        return Err(ApiError::BadRequest(format!("bbox {s:?}: out of range")));
    }
    Ok(BBox {
        min_lat,
        min_lon,
        max_lat,
        max_lon,
    })
}

pub fn in_bbox(b: &BBox, lat: f64, lon: f64) -> bool {
    let lon_in = if b.min_lon <= b.max_lon {
        (b.min_lon..=b.max_lon).contains(&lon)
    } else {
        lon >= b.min_lon || lon <= b.max_lon
    };
    lon_in && (b.min_lat..=b.max_lat).contains(&lat)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AreaParams {
    /// `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TracksResponse {
    pub t_unix_ns: i64,
    /// Every observation up to this sensor time is in the picture.
    pub processed_to_unix_ns: i64,
    pub tracks: Vec<TrackView>,
}

/// The current tracks (the picture of the last second), optionally in an area.
#[utoipa::path(get, path = "/api/v1/tracks", tag = "picture", params(AreaParams),
    security(("bearer" = [])), responses((status = 200, body = TracksResponse, description = "OK")))]
pub async fn tracks(
    State(s): State<AppState>,
    who: Authed,
    Query(q): Query<AreaParams>,
) -> Result<Json<TracksResponse>, ApiError> {
    who.require(Perm::ReadLive)?;
    let bbox = q.bbox.as_deref().map(parse_bbox).transpose()?;
    let snap = s.hub.picture.borrow().clone();
    let tracks = snap
        .tracks
        .iter()
        .filter(|t| {
            bbox.as_ref()
                .is_none_or(|b| in_bbox(b, t.lat_deg, t.lon_deg))
        })
        .map(|t| t.view.clone())
        .collect();
    Ok(Json(TracksResponse {
        t_unix_ns: snap.t_unix_ns,
        processed_to_unix_ns: snap.processed_to_unix_ns,
        tracks,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackDetail {
    pub track: TrackView,
    pub reasons: Vec<ReasonView>,
    pub alert: Option<AlertView>,
    /// Recorded states of the last ten minutes, oldest first (the trail).
    pub trail: Vec<TrackView>,
}

/// One track with its threat reasons, its alert and its trail.
#[utoipa::path(get, path = "/api/v1/tracks/{id}", tag = "picture", params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = TrackDetail, description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn track(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<u64>,
) -> Result<Json<TrackDetail>, ApiError> {
    who.require(Perm::ReadLive)?;
    let snap = s.hub.picture.borrow().clone();
    let item = snap
        .tracks
        .iter()
        .find(|t| t.id == id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("track {id} is not in the picture")))?;
    let alert = item
        .view
        .threat
        .as_ref()
        .and_then(|t| t.alert_id)
        .and_then(|a| lock(&s.hub.boards.alerts).get(&a).map(|v| (**v).clone()));
    let reasons = alert
        .as_ref()
        .map(|a| a.reasons.clone())
        .unwrap_or_default();
    let from = dronewatch_model::TimeNs(snap.t_unix_ns).plus_secs(-600.0);
    let rows = s
        .store
        .query(EventQuery {
            kinds: vec![EventKind::Track],
            track_id: Some(id),
            from: Some(from),
            limit: 600,
            descending: true,
            ..EventQuery::default()
        })
        .await?;
    let mut trail: Vec<TrackView> = rows
        .iter()
        .filter_map(|e| serde_json::from_str::<TrackView>(&e.body).ok())
        .filter(|t| t.sector == s.sector)
        .collect();
    trail.reverse();
    Ok(Json(TrackDetail {
        track: item.view.clone(),
        reasons,
        alert,
        trail,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AlertParams {
    /// `open` (default), `closed` or `all`.
    pub state: Option<String>,
}

/// Alerts, most severe and newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertParams),
    security(("bearer" = [])), responses((status = 200, body = [AlertView], description = "OK")))]
pub async fn alerts(
    State(s): State<AppState>,
    who: Authed,
    Query(q): Query<AlertParams>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    who.require(Perm::ReadLive)?;
    let want = q.state.as_deref().unwrap_or("open");
    let closed = |a: &AlertView| a.state == "resolved" || a.state == "false_alarm";
    let keep: fn(bool) -> bool = match want {
        "open" => |c| !c,
        "closed" => |c| c,
        "all" => |_| true,
        other => {
            return Err(ApiError::BadRequest(format!(
                "state {other:?}: open, closed or all"
            )));
        }
    };
    let mut list: Vec<AlertView> = lock(&s.hub.boards.alerts)
        .values()
        .filter(|a| keep(closed(a)))
        .map(|a| (**a).clone())
        .collect();
    list.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.opened_unix_ns.cmp(&a.opened_unix_ns))
    });
    Ok(Json(list))
}

/// One alert with its reasons and history.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", params(("id" = u64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AlertView, description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn alert(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<u64>,
) -> Result<Json<AlertView>, ApiError> {
    who.require(Perm::ReadLive)?;
    lock(&s.hub.boards.alerts)
        .get(&id)
        .map(|a| Json((**a).clone()))
        .ok_or_else(|| ApiError::NotFound(format!("alert {id}")))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertActionRequest {
    pub note: Option<String>,
    /// For `assign`: who takes it.
    pub assignee: Option<String>,
}

/// Acknowledge, assign, resolve or mark as false alarm. Answered once the action is in the
/// event log; audited.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/{action}", tag = "alerts",
    params(("id" = u64, Path), ("action" = String, Path, description = "acknowledge, assign, resolve or false-alarm")),
    request_body = AlertActionRequest, security(("bearer" = [])),
    responses((status = 200, body = AlertView, description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found"),
              (status = 409, body = super::error::ErrorBody, description = "Conflicts with the current state")))]
pub async fn alert_action(
    State(s): State<AppState>,
    who: Authed,
    Path((id, action)): Path<(u64, String)>,
    body: Option<Json<AlertActionRequest>>,
) -> Result<Json<AlertView>, ApiError> {
    let who = who.require(Perm::ActOnAlerts)?.clone();
    let req = body.map(|b| b.0).unwrap_or_default();
    if req.note.as_ref().is_some_and(|n| n.len() > 4000) {
        return Err(ApiError::BadRequest("note: at most 4000 bytes".into()));
    }
    let op = match action.as_str() {
        "acknowledge" => AlertOp::Acknowledge,
        "assign" => AlertOp::Assign(
            req.assignee
                .clone()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| ApiError::BadRequest("assign needs an assignee".into()))?,
        ),
        "resolve" => AlertOp::Resolve,
        "false-alarm" => AlertOp::FalseAlarm,
        other => {
            return Err(ApiError::NotFound(format!(
                "action {other:?}: acknowledge, assign, resolve or false-alarm"
            )));
        }
    };
    audit(
        &s,
        &who.user,
        "alert_action",
        serde_json::json!({ "alert_id": id, "action": action, "assignee": req.assignee, "note": req.note }),
    )
    .await?;
    let (reply, done) = oneshot::channel();
    s.threat
        .send(ThreatCommand::Alert {
            id,
            op,
            actor: who.user.clone(),
            note: req.note,
            reply,
        })
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))?;
    let view = done
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))??;
    Ok(Json(view))
}

/// Sensors with their health and traffic.
#[utoipa::path(get, path = "/api/v1/sensors", tag = "picture", security(("bearer" = [])),
    responses((status = 200, body = [SensorView], description = "OK")))]
pub async fn sensors(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<SensorView>>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(
        lock(&s.hub.boards.sensors).values().cloned().collect(),
    ))
}

/// Agents' last known positions.
#[utoipa::path(get, path = "/api/v1/agents", tag = "picture", security(("bearer" = [])),
    responses((status = 200, body = [AgentView], description = "OK")))]
pub async fn agents(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(lock(&s.hub.boards.agents).values().cloned().collect()))
}

/// Current warnings: an agent sees its own; the ops center sees every agent's.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings", security(("bearer" = [])),
    responses((status = 200, body = [WarningView], description = "OK")))]
pub async fn warnings(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<WarningView>>, ApiError> {
    let p = who.require(Perm::ReadLive)?;
    let boards = lock(&s.hub.boards.warnings);
    let list = if p.role == Role::Agent {
        boards.get(&p.user).cloned().unwrap_or_default()
    } else {
        boards.values().flatten().cloned().collect()
    };
    Ok(Json(list))
}
