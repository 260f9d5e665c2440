//! The threat stage: one task owns the warner, the threat assessor and the alert book. Once
//! a picture interval it takes the latest tracks, warns the agents in a drone's path,
//! scores every track and updates the alerts; between pictures it takes agents' positions
//! and the operators' actions on alerts.
//!
//! An operator's action is applied at once (the stage is the only writer of the alert
//! book, so actions and updates never race) and answered only when its record is durable
//! in the log. The record is written by a helper task: this stage never waits on the
//! journal, which itself hands agent positions to this stage.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use dronewatch_model::{AgentFix, TimeNs, Track};
use dronewatch_store::{EventKind, NewEvent};
use dronewatch_threat::{
    Alert, AlertBook, AlertChange, AlertError, AlertId, Assessment, PostureArea, PostureConfig,
    PostureLevel, PostureWindow, ThreatAssessor, ThreatConfig, Warner, WarnerConfig, areas_at,
    posture_at,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Ingest, IngestError, Input};
use crate::live::LiveHub;
use crate::metrics::{Metrics, label};
use crate::view::{AlertView, WarningView};

/// The latest assessment of each track, for the picture and the API.
#[derive(Debug, Default)]
pub struct ThreatView {
    pub assessments: BTreeMap<u64, Assessment>,
    /// The alert each track carries, if any.
    pub alerts: BTreeMap<u64, Arc<Alert>>,
}

/// What an operator does to an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOp {
    Acknowledge,
    Assign(String),
    Resolve,
    FalseAlarm,
}

impl AlertOp {
    fn name(&self) -> &'static str {
        match self {
            AlertOp::Acknowledge => "acknowledge",
            AlertOp::Assign(_) => "assign",
            AlertOp::Resolve => "resolve",
            AlertOp::FalseAlarm => "false_alarm",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CommandError {
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

#[derive(Debug)]
pub enum ThreatCommand {
    Alert {
        id: u64,
        op: AlertOp,
        actor: String,
        note: Option<String>,
        reply: oneshot::Sender<Result<AlertView, CommandError>>,
    },
    /// An admin replaced the sector's zones (already checked and stored).
    SetZones(Vec<dronewatch_threat::Zone>),
    /// An admin replaced the allow-list of friendly drones.
    SetAllowList(dronewatch_threat::AllowList),
    /// The bulletins changed: the raised postures they set, and when.
    SetPosture(Vec<PostureWindow>),
    /// The exercise ended: its open alerts are resolved by `actor`; the reply is how many.
    EndExercise {
        actor: String,
        reply: oneshot::Sender<usize>,
    },
}

/// An alert whose score or reasons change (every assessment, for a moving drone) but to
/// which nothing happens is sent and recorded again this often [s]: a thousand clients
/// need not hear of five hundred alerts every second.
const ALERT_REFRESH_S: f64 = 10.0;

#[derive(Debug)]
pub struct ThreatStage {
    pub warner: Warner,
    pub assessor: ThreatAssessor,
    pub book: AlertBook,
    pub tracks_rx: watch::Receiver<Arc<Vec<Track>>>,
    pub agents_rx: mpsc::Receiver<AgentFix>,
    pub commands_rx: mpsc::Receiver<ThreatCommand>,
    pub view_tx: watch::Sender<Arc<ThreatView>>,
    pub hub: LiveHub,
    pub recorder: mpsc::Sender<Vec<NewEvent>>,
    pub ingest: Ingest,
    pub metrics: Metrics,
    pub sector: String,
    pub interval: Duration,
    pub posture: SectorPosture,
}

/// The sector's posture and the configurations it derives from: the warner's and the
/// rules' at the normal posture, and what each raised posture changes.
#[derive(Debug)]
pub struct SectorPosture {
    pub config: PostureConfig,
    pub base_warner: WarnerConfig,
    pub base_rules: ThreatConfig,
    pub windows: Vec<PostureWindow>,
    pub level: PostureLevel,
    /// The bulletins' areas whose posture is above the sector's, as last applied.
    pub areas: Vec<(PostureArea, PostureLevel)>,
}

impl SectorPosture {
    pub fn new(config: PostureConfig, base_warner: WarnerConfig, base_rules: ThreatConfig) -> Self {
        Self {
            config,
            base_warner,
            base_rules,
            windows: Vec::new(),
            level: PostureLevel::Normal,
            areas: Vec::new(),
        }
    }
}

impl ThreatStage {
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut warning_seq: u64 = 0;
        // Per alert: its history length and the time it was last sent.
        let mut alerts_sent = BTreeMap::new();
        let mut last_picture_t: Option<TimeNs> = None;
        // The exercise tracks of the last picture: an all-clear about one that has just left
        // the picture (the exercise ended) is still an exercise's.
        let mut exercise_tracks = std::collections::BTreeSet::new();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    let tracks = self.tracks_rx.borrow_and_update().clone();
                    let Some(t) = tracks.first().map(|tr| tr.t).or(last_picture_t) else { continue };
                    last_picture_t = Some(t);
                    self.assess(t, &tracks, &mut warning_seq, &mut alerts_sent, &mut exercise_tracks).await;
                }
                fix = self.agents_rx.recv() => match fix {
                    Some(fix) => self.warner.observe_agent(&fix),
                    None => break,
                },
                cmd = self.commands_rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
            }
        }
        info!("threat stopped");
    }

    async fn assess(
        &mut self,
        t: TimeNs,
        tracks: &[Track],
        warning_seq: &mut u64,
        sent: &mut BTreeMap<u64, (usize, TimeNs)>,
        exercise_tracks: &mut std::collections::BTreeSet<u64>,
    ) {
        self.apply_posture();
        let warnings = self.warner.assess(t, tracks);
        let levels = self.warner.agent_levels();
        let assessments = self.assessor.assess(t, tracks, &levels);
        let changes = self.book.update(t, tracks, &assessments);
        let mut records = Vec::new();
        let mut warning_views = Vec::with_capacity(warnings.len());
        for w in &warnings {
            *warning_seq += 1;
            let view = WarningView {
                id: format!("w{warning_seq}"),
                t_unix_ns: w.t.0,
                agent_id: w.agent_id.0.clone(),
                track_id: w.track_id.0,
                level: w.level.as_str().into(),
                range_m: w.range_m,
                bearing_deg: w.bearing_deg,
                clock: w.clock,
                height_above_agent_m: w.height_above_agent_m,
                time_to_cpa_s: w.t_cpa.secs_since(w.t),
                cpa_m: w.cpa_m,
                advice: w.advice.clone(),
                acknowledged_unix_ns: None,
                exercise: tracks
                    .iter()
                    .find(|tr| tr.id == w.track_id)
                    .map_or(exercise_tracks.contains(&w.track_id.0), Track::is_exercise),
            };
            self.metrics
                .warnings
                .get_or_create(&label("level", w.level.as_str()))
                .inc();
            records.push(NewEvent {
                kind: EventKind::Warning,
                t: w.t,
                source: Some(w.agent_id.0.clone()),
                serial: None,
                track_id: Some(w.track_id.0),
                position: None,
                idempotency_key: None,
                body: serde_json::to_string(&view).unwrap_or_default(),
            });
            warning_views.push((view.agent_id.clone(), view));
        }
        self.hub.warnings(warning_views);
        *exercise_tracks = tracks
            .iter()
            .filter(|tr| tr.is_exercise())
            .map(|tr| tr.id.0)
            .collect();
        let mut alert_views = Vec::new();
        for change in changes {
            let id = match change {
                AlertChange::Opened(id) | AlertChange::Updated(id) | AlertChange::Escalated(id) => {
                    id
                }
            };
            if let Some(alert) = self.book.get(id) {
                // Something happened (its history grew), or the refresh is due.
                let due = sent.get(&id.0).is_none_or(|(n, at)| {
                    *n != alert.history.len() || t.secs_since(*at) >= ALERT_REFRESH_S
                });
                if !due {
                    continue;
                }
                sent.insert(id.0, (alert.history.len(), t));
                let view = AlertView::new(&self.sector, alert);
                records.push(alert_record(alert, &view));
                alert_views.push((view.id, view));
            }
        }
        self.hub.alerts(alert_views);
        let mut view = ThreatView::default();
        for a in assessments {
            view.assessments.insert(a.track_id.0, a);
        }
        let mut open = 0;
        for alert in self.book.alerts() {
            if alert.state.is_closed() {
                continue;
            }
            open += 1;
            if let Some(tr) = alert.track_ids.last().filter(|_| !alert.track_lost) {
                view.alerts.insert(tr.0, Arc::new(alert.clone()));
            }
        }
        self.metrics.alerts_open.set(open);
        self.view_tx.send_replace(Arc::new(view));
        if !records.is_empty() && self.recorder.send(records).await.is_err() {
            warn!("recorder gone; warnings and alerts not recorded");
        }
    }

    /// Bulletins take effect and lapse by the wall clock (they are memos with a validity,
    /// not part of the picture), checked before every assessment.
    fn apply_posture(&mut self) {
        let p = &mut self.posture;
        let now = crate::clock::now();
        let level = posture_at(&p.windows, now);
        let areas = areas_at(&p.windows, now);
        if level == p.level && areas == p.areas {
            return;
        }
        info!(
            from = p.level.as_str(),
            to = level.as_str(),
            areas = areas.len(),
            "sector posture changed"
        );
        p.level = level;
        self.warner
            .set_config(p.config.warner_config(&p.base_warner, level));
        self.assessor
            .set_config(p.config.threat_config(&p.base_rules, level));
        self.warner.set_areas(
            areas
                .iter()
                .map(|(a, l)| (a.clone(), p.config.warner_config(&p.base_warner, *l)))
                .collect(),
        );
        self.assessor.set_areas(
            areas
                .iter()
                .map(|(a, l)| (a.clone(), p.config.threat_config(&p.base_rules, *l)))
                .collect(),
        );
        p.areas = areas;
        self.metrics.posture_level.set(level as i64);
    }

    fn publish_alert(&self, alert: &Alert) -> AlertView {
        let view = AlertView::new(&self.sector, alert);
        self.hub.alert(view.id, view.clone());
        view
    }

    fn command(&mut self, cmd: ThreatCommand) {
        match cmd {
            ThreatCommand::SetZones(zones) => {
                info!(zones = zones.len(), "zones replaced");
                self.assessor.set_zones(zones);
            }
            ThreatCommand::SetPosture(windows) => {
                self.posture.windows = windows;
                self.apply_posture();
            }
            ThreatCommand::SetAllowList(allow) => {
                info!("allow-list replaced");
                self.warner.set_allow_list(allow.clone());
                self.assessor.set_allow_list(allow);
            }
            ThreatCommand::EndExercise { actor, reply } => {
                let t = crate::clock::now();
                let open: Vec<AlertId> = self
                    .book
                    .alerts()
                    .filter(|a| a.is_exercise() && !a.state.is_closed())
                    .map(|a| a.id)
                    .collect();
                let mut records = Vec::new();
                for id in &open {
                    let note = Some("exercise ended".to_owned());
                    if self.book.resolve(*id, &actor, t, note).is_ok()
                        && let Some(alert) = self.book.get(*id)
                    {
                        let view = self.publish_alert(alert);
                        records.push(alert_record(alert, &view));
                    }
                }
                let recorder = self.recorder.clone();
                tokio::spawn(async move {
                    if !records.is_empty() && recorder.send(records).await.is_err() {
                        warn!("recorder gone; closed exercise alerts not recorded");
                    }
                });
                let _ = reply.send(open.len());
            }
            ThreatCommand::Alert {
                id,
                op,
                actor,
                note,
                reply,
            } => {
                let t = crate::clock::now();
                let alert_id = AlertId(id);
                let done = match &op {
                    AlertOp::Acknowledge => {
                        self.book.acknowledge(alert_id, &actor, t, note.clone())
                    }
                    AlertOp::Assign(to) => self.book.assign(alert_id, &actor, to, t, note.clone()),
                    AlertOp::Resolve => self.book.resolve(alert_id, &actor, t, note.clone()),
                    AlertOp::FalseAlarm => self.book.false_alarm(alert_id, &actor, t, note.clone()),
                };
                let alert = match done.map(|()| self.book.get(alert_id)) {
                    Ok(Some(a)) => a,
                    Ok(None) => {
                        let _ = reply.send(Err(AlertError::NotFound(alert_id).into()));
                        return;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                        return;
                    }
                };
                let view = self.publish_alert(alert);
                let action = NewEvent {
                    kind: EventKind::OperatorAction,
                    t,
                    source: Some(actor.clone()),
                    serial: None,
                    track_id: alert.track_ids.last().map(|t| t.0),
                    position: Some(alert.last_position),
                    idempotency_key: None,
                    body: serde_json::json!({
                        "action": op.name(),
                        "alert_id": id,
                        "actor": actor,
                        "assignee": match &op { AlertOp::Assign(to) => Some(to.as_str()), _ => None },
                        "note": note,
                        "state": view.state,
                    })
                    .to_string(),
                };
                let snapshot = alert_record(alert, &view);
                let ingest = self.ingest.clone();
                tokio::spawn(async move {
                    let result = async {
                        ingest.submit(Input::Record(action)).await?;
                        ingest.submit(Input::Record(snapshot)).await?;
                        Ok::<_, IngestError>(())
                    }
                    .await;
                    let _ = reply.send(result.map(|()| view).map_err(Into::into));
                });
            }
        }
    }
}

fn alert_record(alert: &Alert, view: &AlertView) -> NewEvent {
    NewEvent {
        kind: EventKind::Alert,
        t: alert.last_seen,
        source: Some(view.sector.clone()),
        serial: None,
        track_id: alert.track_ids.last().map(|t| t.0),
        position: Some(alert.last_position),
        idempotency_key: None,
        body: serde_json::to_string(view).unwrap_or_default(),
    }
}
