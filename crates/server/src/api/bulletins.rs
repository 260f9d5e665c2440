//! Sector bulletins: intelligence an analyst publishes to the sector's agents ("cartel
//! leaders have authorised drone attacks on agents here"), with an area, a validity and a
//! posture level. Every agent acknowledges each bulletin; the watch officer sees who has
//! not. The highest posture among the bulletins in force is the sector's posture: the
//! threat stage tightens its thresholds and changes its advice while it lasts.
//!
//! Bulletins are kept in the data directory (`bulletins.json`, rewritten whole and renamed
//! over, so a crash leaves the old list or the new one); every publication, acknowledgement
//! and withdrawal is audited.

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;

use axum::Json;
use axum::extract::{Path, Query, State};
use dronewatch_model::TimeNs;
use dronewatch_store::{EventKind, NewEvent};
use dronewatch_threat::{PostureArea, PostureConfig, PostureLevel, PostureWindow, posture_at};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::context::write_atomically;
use super::{ApiError, AppState, Authed, audit};
use crate::auth::{Perm, Role};
use crate::live::{Audience, LiveEvent, lock};
use crate::pipeline::Input;
use crate::pipeline::threat::ThreatCommand;

const BULLETINS_FILE: &str = "bulletins.json";
/// A bulletin is a memo, not a document store.
const MAX_TEXT_CHARS: usize = 4000;
const MAX_AREA_VERTICES: usize = 1000;

/// One bulletin, as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bulletin {
    pub id: String,
    pub text: String,
    /// `normal`, `elevated` or `high`.
    #[schema(value_type = String)]
    pub posture: PostureLevel,
    /// Where the intelligence applies: a GeoJSON Polygon, shown on the map.
    #[schema(value_type = Object)]
    pub area: Option<serde_json::Value>,
    /// The posture holds only inside `area`, for the agents and drones there; otherwise it
    /// is the whole sector's.
    #[serde(default)]
    pub area_only: bool,
    pub valid_from_unix_ns: i64,
    /// Open-ended (until withdrawn) when absent.
    pub valid_until_unix_ns: Option<i64>,
    pub published_by: String,
    pub published_unix_ns: i64,
    pub withdrawn_by: Option<String>,
    pub withdrawn_unix_ns: Option<i64>,
    /// Agent user name → when they acknowledged.
    pub acknowledged: BTreeMap<String, i64>,
}

impl Bulletin {
    fn window(&self) -> Option<PostureWindow> {
        if self.withdrawn_unix_ns.is_some() {
            return None;
        }
        let area = match (self.area_only, &self.area) {
            (true, Some(a)) => Some(PostureArea {
                ring_deg: polygon_ring(a).ok()?,
            }),
            _ => None,
        };
        Some(PostureWindow {
            level: self.posture,
            from: TimeNs(self.valid_from_unix_ns),
            until: self.valid_until_unix_ns.map(TimeNs),
            area,
        })
    }

    /// Not withdrawn and within its validity (without reading its area).
    fn in_force(&self, t: TimeNs) -> bool {
        self.current(t) && self.valid_from_unix_ns <= t.0
    }

    /// Neither withdrawn nor lapsed: in force now or later.
    fn current(&self, t: TimeNs) -> bool {
        self.withdrawn_unix_ns.is_none() && self.valid_until_unix_ns.is_none_or(|u| t.0 < u)
    }
}

/// A bulletin with who still has to acknowledge it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulletinView {
    #[serde(flatten)]
    pub bulletin: Bulletin,
    pub in_force: bool,
    /// The sector's agents (enabled users with the agent role) who have not acknowledged
    /// it; an agent sees only whether they have.
    pub unacknowledged: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBulletin {
    pub text: String,
    /// `normal` (information only), `elevated` or `high`.
    #[schema(value_type = String)]
    pub posture: PostureLevel,
    /// A GeoJSON Polygon geometry.
    #[schema(value_type = Object)]
    pub area: Option<serde_json::Value>,
    /// The posture holds only inside `area` (default: the whole sector).
    #[serde(default)]
    pub area_only: bool,
    /// Default: now.
    pub valid_from_unix_ns: Option<i64>,
    /// Default: until withdrawn.
    pub valid_until_unix_ns: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct BulletinParams {
    /// Also the withdrawn and lapsed ones.
    pub all: Option<bool>,
}

/// The sector's posture now and what it means for agents.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostureView {
    /// `normal`, `elevated` or `high`.
    pub level: &'static str,
    /// The bulletins that set it (those in force).
    pub bulletin_ids: Vec<String>,
    /// What agents carry and do at this posture.
    pub standing_orders: Vec<String>,
    /// Areas where a bulletin raises the posture above the sector's.
    pub areas: Vec<AreaPostureView>,
}

/// A posture that holds inside one bulletin's area.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaPostureView {
    pub bulletin_id: String,
    /// `elevated` or `high`.
    pub level: &'static str,
    /// A GeoJSON Polygon.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    /// What agents inside it carry and do.
    pub standing_orders: Vec<String>,
}

/// The bulletins this node holds.
#[derive(Debug)]
pub struct BulletinBoard {
    path: PathBuf,
    posture: PostureConfig,
    list: Mutex<Vec<Bulletin>>,
}

impl BulletinBoard {
    /// The data directory's bulletins, or none.
    pub fn load(data_dir: &FsPath, posture: PostureConfig) -> Result<Self, String> {
        let path = data_dir.join(BULLETINS_FILE);
        let list = if path.exists() {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            Vec::new()
        };
        Ok(Self {
            path,
            posture,
            list: Mutex::new(list),
        })
    }

    /// The raised postures the bulletins set, for the threat stage.
    pub fn windows(&self) -> Vec<PostureWindow> {
        lock(&self.list)
            .iter()
            .filter_map(Bulletin::window)
            .collect()
    }

    pub fn posture(&self, t: TimeNs) -> PostureView {
        let list = lock(&self.list);
        let windows: Vec<PostureWindow> = list.iter().filter_map(Bulletin::window).collect();
        let level = posture_at(&windows, t);
        PostureView {
            level: level.as_str(),
            bulletin_ids: list
                .iter()
                .filter(|b| {
                    b.in_force(t)
                        && !b.area_only
                        && b.posture == level
                        && level != PostureLevel::Normal
                })
                .map(|b| b.id.clone())
                .collect(),
            standing_orders: self.posture.standing_orders(level).to_vec(),
            areas: list
                .iter()
                .filter(|b| b.area_only && b.in_force(t) && b.posture > level)
                .filter_map(|b| {
                    Some(AreaPostureView {
                        bulletin_id: b.id.clone(),
                        level: b.posture.as_str(),
                        area: b.area.clone()?,
                        standing_orders: self.posture.standing_orders(b.posture).to_vec(),
                    })
                })
                .collect(),
        }
    }

    /// Applies `edit` to a copy of the list and writes it; the list in memory changes only
    /// once the file is written.
    fn commit(
        &self,
        edit: impl FnOnce(&mut Vec<Bulletin>) -> Result<Bulletin, ApiError>,
    ) -> Result<Bulletin, ApiError> {
        let mut list = lock(&self.list);
        let mut next = list.clone();
        let changed = edit(&mut next)?;
        let text =
            serde_json::to_string_pretty(&next).map_err(|e| ApiError::Internal(e.to_string()))?;
        write_atomically(&self.path, &text)?;
        *list = next;
        Ok(changed)
    }

    /// Changes the bulletin `id` with `change` (as [`Self::commit`]); `NotFound` if there
    /// is none.
    fn update(&self, id: &str, change: impl FnOnce(&mut Bulletin)) -> Result<Bulletin, ApiError> {
        self.commit(|list| {
            let b = list
                .iter_mut()
                .find(|b| b.id == id)
                .ok_or_else(|| ApiError::NotFound(format!("bulletin {id}")))?;
            change(b);
            Ok(b.clone())
        })
    }

    fn get(&self, id: &str) -> Option<Bulletin> {
        lock(&self.list).iter().find(|b| b.id == id).cloned()
    }
}

/// The sector's agents: enabled users with the agent role.
async fn recipients(s: &AppState) -> Result<Vec<String>, ApiError> {
    Ok(s.store
        .users()
        .await
        .map_err(|e| ApiError::Unavailable(format!("users: {e}")))?
        .into_iter()
        .filter(|u| u.role == Role::Agent.as_str() && !u.disabled)
        .map(|u| u.name)
        .collect())
}

/// `only_agent`: the agent asking, who sees only their own acknowledgement.
fn view(mut b: Bulletin, agents: &[String], t: TimeNs, only_agent: Option<&str>) -> BulletinView {
    let mut unacknowledged: Vec<String> = agents
        .iter()
        .filter(|a| !b.acknowledged.contains_key(*a))
        .cloned()
        .collect();
    if let Some(me) = only_agent {
        b.acknowledged.retain(|a, _| a == me);
        unacknowledged.retain(|a| a == me);
    }
    BulletinView {
        in_force: b.in_force(t),
        bulletin: b,
        unacknowledged,
    }
}

/// Bulletins belong to a sector node: its threat stage applies the posture and its agents
/// acknowledge. An HQ node runs no threat stage and has no agents of its own.
fn sector_node(s: &AppState) -> Result<(), ApiError> {
    if s.threat.is_closed() {
        return Err(ApiError::Conflict(
            "this node runs no threat stage (an HQ node): publish bulletins on the sector's node"
                .into(),
        ));
    }
    Ok(())
}

fn agent_only(who: &crate::auth::Principal) -> Option<&str> {
    (who.role == Role::Agent).then_some(who.user.as_str())
}

/// Tells the threat stage and every client that a bulletin changed, with the posture it
/// leaves; returns the bulletin as `who` sees it.
async fn announce(
    s: &AppState,
    b: Bulletin,
    t: TimeNs,
    who: &crate::auth::Principal,
) -> Result<BulletinView, ApiError> {
    s.threat
        .send(ThreatCommand::SetPosture(s.bulletins.windows()))
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))?;
    let agents = recipients(s).await?;
    s.hub.publish(vec![
        LiveEvent::new(
            "bulletin",
            None,
            Audience::Everyone,
            &view(b.clone(), &agents, t, None),
        ),
        LiveEvent::new("posture", None, Audience::Everyone, &s.bulletins.posture(t)),
    ]);
    Ok(view(b, &agents, t, agent_only(who)))
}

/// The sector's current bulletins (or, with `all=true`, every one).
#[utoipa::path(get, path = "/api/v1/bulletins", tag = "bulletins", params(BulletinParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<BulletinView>, description = "Newest first")))]
pub async fn list(
    State(s): State<AppState>,
    who: Authed,
    Query(q): Query<BulletinParams>,
) -> Result<Json<Vec<BulletinView>>, ApiError> {
    let who = who.require(Perm::ReadLive)?;
    let t = crate::clock::now();
    let agents = recipients(&s).await?;
    let all = q.all.unwrap_or(false);
    let mut out: Vec<BulletinView> = lock(&s.bulletins.list)
        .iter()
        .filter(|b| all || b.current(t))
        .map(|b| view(b.clone(), &agents, t, agent_only(who)))
        .collect();
    out.sort_by(|a, b| {
        b.bulletin
            .published_unix_ns
            .cmp(&a.bulletin.published_unix_ns)
    });
    Ok(Json(out))
}

/// Publish a bulletin to the sector's agents (analyst, admin).
#[utoipa::path(post, path = "/api/v1/bulletins", tag = "bulletins", request_body = NewBulletin,
    security(("bearer" = [])),
    responses((status = 201, body = BulletinView, description = "Published"),
              (status = 400, body = super::error::ErrorBody, description = "The message names the field")))]
pub async fn publish(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<NewBulletin>,
) -> Result<(axum::http::StatusCode, Json<BulletinView>), ApiError> {
    let who = who.require(Perm::Publish)?.clone();
    sector_node(&s)?;
    let t = crate::clock::now();
    let text = req.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::BadRequest(format!(
            "text: 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    if let Some(area) = &req.area {
        polygon_ring(area).map_err(|e| ApiError::BadRequest(format!("area: {e}")))?;
    } else if req.area_only {
        return Err(ApiError::BadRequest("area_only: needs an area".into()));
    }
    let from = req.valid_from_unix_ns.unwrap_or(t.0);
    if let Some(until) = req.valid_until_unix_ns
        && until <= from.max(t.0)
    {
        return Err(ApiError::BadRequest(
            "valid_until_unix_ns: after valid_from_unix_ns and after now".into(),
        ));
    }
    let mut bulletin = Bulletin {
        id: format!("b{}", t.0),
        text,
        posture: req.posture,
        area: req.area,
        area_only: req.area_only,
        valid_from_unix_ns: from,
        valid_until_unix_ns: req.valid_until_unix_ns,
        published_by: who.user.clone(),
        published_unix_ns: t.0,
        withdrawn_by: None,
        withdrawn_unix_ns: None,
        acknowledged: BTreeMap::new(),
    };
    audit(
        &s,
        &who.user,
        "bulletin_publish",
        serde_json::to_value(&bulletin).unwrap_or_default(),
    )
    .await?;
    let bulletin = s.bulletins.commit(|list| {
        // Ids are publication times; two in one nanosecond get the next one.
        while list.iter().any(|b| b.id == bulletin.id) {
            bulletin.published_unix_ns += 1;
            bulletin.id = format!("b{}", bulletin.published_unix_ns);
        }
        list.push(bulletin.clone());
        Ok(bulletin)
    })?;
    let view = announce(&s, bulletin, t, &who).await?;
    Ok((axum::http::StatusCode::CREATED, Json(view)))
}

/// An agent acknowledges a bulletin (once; a repeat keeps the first time).
#[utoipa::path(post, path = "/api/v1/bulletins/{id}/acknowledge", tag = "bulletins",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BulletinView, description = "Acknowledged"),
              (status = 403, body = super::error::ErrorBody, description = "Only agents acknowledge bulletins"),
              (status = 404, body = super::error::ErrorBody, description = "No such bulletin")))]
pub async fn acknowledge(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<String>,
) -> Result<Json<BulletinView>, ApiError> {
    let who = who.require(Perm::Report)?.clone();
    if who.role != Role::Agent {
        return Err(ApiError::Forbidden(
            "only agents acknowledge bulletins".into(),
        ));
    }
    sector_node(&s)?;
    let t = crate::clock::now();
    let found = s
        .bulletins
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("bulletin {id}")))?;
    if found.acknowledged.contains_key(&who.user) {
        let agents = recipients(&s).await?;
        return Ok(Json(view(found, &agents, t, agent_only(&who))));
    }
    s.ingest
        .submit(Input::Record(NewEvent {
            kind: EventKind::OperatorAction,
            t,
            source: Some(who.user.clone()),
            serial: None,
            track_id: None,
            position: None,
            idempotency_key: None,
            body: serde_json::json!({
                "action": "bulletin_acknowledged", "bulletin_id": id, "by": who.user,
            })
            .to_string(),
        }))
        .await?;
    audit(
        &s,
        &who.user,
        "bulletin_acknowledged",
        serde_json::json!({ "bulletin_id": id }),
    )
    .await?;
    let bulletin = s.bulletins.update(&id, |b| {
        b.acknowledged.entry(who.user.clone()).or_insert(t.0);
    })?;
    announce(&s, bulletin, t, &who).await.map(Json)
}

/// Withdraw a bulletin (analyst, admin): it no longer sets the posture.
#[utoipa::path(delete, path = "/api/v1/bulletins/{id}", tag = "bulletins",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BulletinView, description = "Withdrawn"),
              (status = 404, body = super::error::ErrorBody, description = "No such bulletin"),
              (status = 409, body = super::error::ErrorBody, description = "Already withdrawn")))]
pub async fn withdraw(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<String>,
) -> Result<Json<BulletinView>, ApiError> {
    let who = who.require(Perm::Publish)?.clone();
    sector_node(&s)?;
    let t = crate::clock::now();
    match s.bulletins.get(&id) {
        None => return Err(ApiError::NotFound(format!("bulletin {id}"))),
        Some(b) if b.withdrawn_unix_ns.is_some() => {
            return Err(ApiError::Conflict(format!("bulletin {id} is withdrawn")));
        }
        Some(_) => {}
    }
    audit(
        &s,
        &who.user,
        "bulletin_withdraw",
        serde_json::json!({ "bulletin_id": id }),
    )
    .await?;
    let bulletin = s.bulletins.update(&id, |b| {
        b.withdrawn_by = Some(who.user.clone());
        b.withdrawn_unix_ns = Some(t.0);
    })?;
    announce(&s, bulletin, t, &who).await.map(Json)
}

/// The sector's posture now.
#[utoipa::path(get, path = "/api/v1/posture", tag = "bulletins", security(("bearer" = [])),
    responses((status = 200, body = PostureView, description = "OK")))]
pub async fn posture(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<PostureView>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(s.bulletins.posture(crate::clock::now())))
}

/// Checks a GeoJSON Polygon (closed rings of at least four `[lon, lat]` positions) and
/// returns its exterior ring.
fn polygon_ring(v: &serde_json::Value) -> Result<Vec<[f64; 2]>, String> {
    if v.get("type").and_then(|t| t.as_str()) != Some("Polygon") {
        return Err("a GeoJSON Polygon expected".into());
    }
    let rings = v
        .get("coordinates")
        .and_then(|c| c.as_array())
        .filter(|r| !r.is_empty())
        .ok_or("coordinates: an array of rings expected")?;
    let mut vertices = 0;
    let mut exterior = Vec::new();
    for (i, ring) in rings.iter().enumerate() {
        let points: Vec<[f64; 2]> = ring
            .as_array()
            .ok_or(format!("ring {i}: an array of positions expected"))?
            .iter()
            .map(|p| match p.as_array().map(|a| a.as_slice()) {
                Some([lon, lat, ..]) => match (lon.as_f64(), lat.as_f64()) {
                    (Some(lon), Some(lat))
                        if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
                    {
                        Ok([lon, lat])
                    }
                    _ => Err(format!("ring {i}: [lon, lat] in range expected")),
                },
                _ => Err(format!("ring {i}: [lon, lat] positions expected")),
            })
            .collect::<Result<_, _>>()?;
        if points.len() < 4 || points.first() != points.last() {
            return Err(format!("ring {i}: closed, with at least four positions"));
        }
        vertices += points.len();
        if i == 0 {
            exterior = points;
        }
    }
    if vertices > MAX_AREA_VERTICES {
        return Err(format!("at most {MAX_AREA_VERTICES} positions"));
    }
    Ok(exterior)
}

#[cfg(test)]
mod tests {
    use super::polygon_ring;
    use serde_json::json;

    #[test]
    fn an_area_is_a_closed_polygon_in_range() {
        let square = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]});
        assert_eq!(polygon_ring(&square).map(|r| r.len()), Ok(4));
        for bad in [
            json!({"type": "Point", "coordinates": [0, 0]}),
            json!({"type": "Polygon", "coordinates": []}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}),
            json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 91], [0, 0]]]}),
            json!({"type": "Polygon", "coordinates": [[["a", 0], [1, 0], [1, 1], [0, 0]]]}),
        ] {
            assert!(polygon_ring(&bad).is_err(), "{bad}");
        }
    }
}
