//! Exercises: a training incident played into the live system by simulated sensors whose
//! ids start with `EXERCISE-` (`dronewatch simulate --live --exercise`). Their tracks,
//! alerts and warnings say `exercise: true` everywhere (the map, the field app, the event
//! log and its exports), fusion never mixes them with real observations, and outside a
//! running exercise their observations are refused. Ending the exercise is one action: its
//! tracks are dropped, its open alerts closed, and the after-action summary says who was
//! warned, who acknowledged, and how fast.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dronewatch_store::{EventKind, EventQuery};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed, audit};
use crate::auth::Perm;
use crate::live::lock;
use crate::pipeline::threat::ThreatCommand;
use crate::view::{AlertView, WarningView};

/// One exercise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExerciseInfo {
    pub name: String,
    pub started_by: String,
    pub started_unix_ns: i64,
    pub ended_by: Option<String>,
    pub ended_unix_ns: Option<i64>,
}

/// The running exercise, if any, and the last one that ended. Kept in the data directory
/// (`exercise.json`): a node restarted during an exercise is still in it, and the last
/// one's after-action summary is still there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExerciseState {
    pub running: Option<ExerciseInfo>,
    pub last: Option<ExerciseInfo>,
}

const EXERCISE_FILE: &str = "exercise.json";

impl ExerciseState {
    /// The state kept in `data_dir`, or none.
    pub fn load(data_dir: &std::path::Path) -> Result<Self, String> {
        let path = data_dir.join(EXERCISE_FILE);
        if !path.exists() {
            return Ok(Self::default());
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn save(&self, data_dir: &std::path::Path) -> Result<(), ApiError> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| ApiError::Internal(e.to_string()))?;
        super::context::write_atomically(&data_dir.join(EXERCISE_FILE), &text)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExercise {
    /// Shown with every exercise object, e.g. "drone attack on Post Mariposa".
    pub name: String,
}

/// One agent's warnings about one exercise drone.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentWarned {
    pub agent_id: String,
    pub track_id: u64,
    pub first_warned_unix_ns: i64,
    /// `advisory`, `warning` or `critical`: the highest it reached.
    pub highest_level: String,
    pub acknowledged_unix_ns: Option<i64>,
    /// From the first warning to the agent's acknowledgement.
    pub seconds_to_acknowledge: Option<f64>,
}

/// One exercise alert at the operations centre.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertHandled {
    pub id: u64,
    pub level: String,
    pub state: String,
    pub opened_unix_ns: i64,
    pub acknowledged_by: Option<String>,
    pub seconds_to_acknowledge: Option<f64>,
}

/// Who was warned, who acknowledged, and how fast.
#[derive(Debug, Serialize, ToSchema)]
pub struct AfterAction {
    pub agents_warned: usize,
    pub agents_acknowledged: usize,
    pub warnings: Vec<AgentWarned>,
    pub alerts: Vec<AlertHandled>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExerciseReport {
    pub running: Option<ExerciseInfo>,
    pub last: Option<ExerciseInfo>,
    /// Of the running exercise, else of the last one.
    pub summary: Option<AfterAction>,
}

const LEVELS: [&str; 3] = ["advisory", "warning", "critical"];

async fn report(s: &AppState) -> Result<ExerciseReport, ApiError> {
    let state = s.exercise.borrow().clone();
    let summary = match state.running.as_ref().or(state.last.as_ref()) {
        Some(ex) => Some(after_action(s, ex).await?),
        None => None,
    };
    Ok(ExerciseReport {
        running: state.running,
        last: state.last,
        summary,
    })
}

/// From the event log (warnings and their acknowledgements) and the alert board.
async fn after_action(s: &AppState, ex: &ExerciseInfo) -> Result<AfterAction, ApiError> {
    let from = Some(dronewatch_model::TimeNs(ex.started_unix_ns));
    let to = ex.ended_unix_ns.map(|t| dronewatch_model::TimeNs(t + 1));
    let events = |kind: EventKind| EventQuery {
        kinds: vec![kind],
        chain: Some(kind.chain()),
        from,
        to,
        ..EventQuery::default()
    };
    let mut pairs: BTreeMap<(String, u64), AgentWarned> = BTreeMap::new();
    let mut by_warning: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for e in s.store.query(events(EventKind::Warning)).await? {
        let Ok(w) = serde_json::from_str::<WarningView>(&e.body) else {
            continue;
        };
        if !w.exercise || !LEVELS.contains(&w.level.as_str()) {
            continue;
        }
        let key = (w.agent_id.clone(), w.track_id);
        by_warning.insert(w.id.clone(), key.clone());
        let entry = pairs.entry(key).or_insert_with(|| AgentWarned {
            agent_id: w.agent_id.clone(),
            track_id: w.track_id,
            first_warned_unix_ns: w.t_unix_ns,
            highest_level: w.level.clone(),
            acknowledged_unix_ns: None,
            seconds_to_acknowledge: None,
        });
        let rank = |l: &str| LEVELS.iter().position(|x| *x == l);
        if rank(&w.level) > rank(&entry.highest_level) {
            entry.highest_level = w.level.clone();
        }
    }
    for e in s.store.query(events(EventKind::OperatorAction)).await? {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.body) else {
            continue;
        };
        if v["action"] != "warning_acknowledged" {
            continue;
        }
        let Some(key) = v["warning_id"].as_str().and_then(|id| by_warning.get(id)) else {
            continue;
        };
        if let Some(p) = pairs.get_mut(key)
            && p.acknowledged_unix_ns.is_none()
        {
            p.acknowledged_unix_ns = Some(e.t.0);
            p.seconds_to_acknowledge = Some((e.t.0 - p.first_warned_unix_ns) as f64 / 1e9);
        }
    }
    let warnings: Vec<AgentWarned> = pairs.into_values().collect();
    let mut agents: Vec<&str> = warnings.iter().map(|w| w.agent_id.as_str()).collect();
    agents.sort_unstable();
    agents.dedup();
    let mut acked: Vec<&str> = warnings
        .iter()
        .filter(|w| w.acknowledged_unix_ns.is_some())
        .map(|w| w.agent_id.as_str())
        .collect();
    acked.sort_unstable();
    acked.dedup();
    let alerts = lock(&s.hub.boards.alerts)
        .values()
        .filter(|a| a.exercise && a.opened_unix_ns >= ex.started_unix_ns)
        .filter(|a| ex.ended_unix_ns.is_none_or(|end| a.opened_unix_ns <= end))
        .map(|a| alert_handled(a))
        .collect();
    Ok(AfterAction {
        agents_warned: agents.len(),
        agents_acknowledged: acked.len(),
        warnings,
        alerts,
    })
}

fn alert_handled(a: &AlertView) -> AlertHandled {
    let ack = a.history.iter().find(|h| h.action == "acknowledged");
    AlertHandled {
        id: a.id,
        level: a.level.clone(),
        state: a.state.clone(),
        opened_unix_ns: a.opened_unix_ns,
        acknowledged_by: ack.map(|h| h.actor.clone()),
        seconds_to_acknowledge: ack.map(|h| (h.t_unix_ns - a.opened_unix_ns) as f64 / 1e9),
    }
}

/// The running exercise (or the last one) and its after-action summary.
#[utoipa::path(get, path = "/api/v1/exercise", tag = "exercise", security(("bearer" = [])),
    responses((status = 200, body = ExerciseReport, description = "OK")))]
pub async fn status(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<ExerciseReport>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(report(&s).await?))
}

/// Start an exercise: from now on the node takes observations from `EXERCISE-` sensors.
#[utoipa::path(post, path = "/api/v1/exercise", tag = "exercise", request_body = NewExercise,
    security(("bearer" = [])),
    responses((status = 201, body = ExerciseInfo, description = "Started"),
              (status = 409, body = super::error::ErrorBody, description = "An exercise is running")))]
pub async fn start(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<NewExercise>,
) -> Result<(StatusCode, Json<ExerciseInfo>), ApiError> {
    let who = who.require(Perm::ActOnAlerts)?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest("name: 1 to 200 characters".into()));
    }
    if let Some(r) = &s.exercise.borrow().running {
        return Err(ApiError::Conflict(format!(
            "exercise {:?} is running",
            r.name
        )));
    }
    audit(
        &s,
        &who.user,
        "exercise_start",
        serde_json::json!({ "name": name }),
    )
    .await?;
    let info = ExerciseInfo {
        name: name.to_owned(),
        started_by: who.user.clone(),
        started_unix_ns: crate::clock::now().0,
        ended_by: None,
        ended_unix_ns: None,
    };
    let next = ExerciseState {
        running: Some(info.clone()),
        ..s.exercise.borrow().clone()
    };
    next.save(&s.data_dir)?;
    s.exercise.send_replace(next);
    Ok((StatusCode::CREATED, Json(info)))
}

/// End the running exercise in one action: its tracks are dropped, its open alerts closed,
/// its sensors refused again. Answers with the after-action summary.
#[utoipa::path(delete, path = "/api/v1/exercise", tag = "exercise", security(("bearer" = [])),
    responses((status = 200, body = ExerciseReport, description = "Ended"),
              (status = 409, body = super::error::ErrorBody, description = "No exercise is running")))]
pub async fn end(State(s): State<AppState>, who: Authed) -> Result<Json<ExerciseReport>, ApiError> {
    let who = who.require(Perm::ActOnAlerts)?;
    let Some(mut info) = s.exercise.borrow().running.clone() else {
        return Err(ApiError::Conflict("no exercise is running".into()));
    };
    audit(
        &s,
        &who.user,
        "exercise_end",
        serde_json::json!({ "name": info.name }),
    )
    .await?;
    info.ended_by = Some(who.user.clone());
    info.ended_unix_ns = Some(crate::clock::now().0);
    let next = ExerciseState {
        running: None,
        last: Some(info.clone()),
    };
    next.save(&s.data_dir)?;
    // Fusion drops the exercise's tracks when it sees this.
    s.exercise.send_replace(next);
    let (reply, done) = oneshot::channel();
    s.threat
        .send(ThreatCommand::EndExercise {
            actor: who.user.clone(),
            reply,
        })
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))?;
    let _ = done.await;
    Ok(Json(report(&s).await?))
}
