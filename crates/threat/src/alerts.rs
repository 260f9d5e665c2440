//! The alert lifecycle: one alert per track incident, updated as the threat evolves, never
//! duplicated when the drone is re-acquired as a new track; operator actions with who and
//! when; escalation of unacknowledged critical alerts; hysteresis on levels.

use std::collections::BTreeMap;

use dronewatch_model::{Lla, SensorId, TimeNs, Track, TrackId, TrackStatus};
use serde::{Deserialize, Serialize};

use crate::rules::{Assessment, Reason, ThreatLevel};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// An alert opens when a track's threat reaches this level.
    pub open_at: ThreatLevel,
    /// A new track this close to where an alert's track was lost, within
    /// `reacquire_window_s`, continues that alert [m].
    pub reacquire_radius_m: f64,
    pub reacquire_window_s: f64,
    /// A level is lowered only after the threat stayed lower this long [s].
    pub lower_after_s: f64,
    /// A critical alert not acknowledged within this time is escalated [s].
    pub escalate_after_s: f64,
    /// A track younger than this opens no alert below critical [s]: the sector's own drone
    /// says it is a friend in its first Remote ID broadcast, which may come a second after
    /// radar made its track (as the warner's `min_track_age_s`).
    pub min_track_age_s: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self {
            open_at: ThreatLevel::Medium,
            reacquire_radius_m: 400.0,
            reacquire_window_s: 60.0,
            lower_after_s: 15.0,
            escalate_after_s: 30.0,
            min_track_age_s: 2.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AlertId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged,
    Assigned,
    Resolved,
    FalseAlarm,
}

impl AlertState {
    pub fn is_closed(self) -> bool {
        matches!(self, AlertState::Resolved | AlertState::FalseAlarm)
    }
}

/// What happened to an alert: the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AlertAction {
    Opened { track_id: TrackId },
    Raised { to: ThreatLevel },
    Lowered { to: ThreatLevel },
    Escalated,
    TrackLost { track_id: TrackId },
    TrackReacquired { track_id: TrackId },
    Acknowledged,
    Assigned { to: String },
    Resolved,
    FalseAlarm,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    pub t: TimeNs,
    /// `system`, or the user who acted.
    pub actor: String,
    #[serde(flatten)]
    pub action: AlertAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: AlertId,
    pub opened_at: TimeNs,
    /// Every track of this incident, oldest first; the last is the live one.
    pub track_ids: Vec<TrackId>,
    pub level: ThreatLevel,
    pub score: f64,
    pub reasons: Vec<Reason>,
    pub sensors: Vec<SensorId>,
    pub state: AlertState,
    pub assignee: Option<String>,
    pub escalated: bool,
    /// Where and when the drone was last seen.
    pub last_position: Lla,
    pub last_seen: TimeNs,
    /// Set while no track carries the incident.
    pub track_lost: bool,
    pub history: Vec<AlertEvent>,
    /// Since when the assessed level has been below `level` (hysteresis).
    #[serde(skip)]
    lower_since: Option<TimeNs>,
    /// Once resolved: since when its track's threat has been below the opening level, and
    /// whether that lasted `lower_after_s` (the incident is over; a new one may begin).
    #[serde(skip)]
    quiet_since: Option<TimeNs>,
    #[serde(skip)]
    rearmed: bool,
}

impl Alert {
    /// About an exercise's simulated drone (its sensors are an exercise's).
    pub fn is_exercise(&self) -> bool {
        self.sensors.first().is_some_and(SensorId::is_exercise)
    }
}

/// An alert that changed and should be delivered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChange {
    Opened(AlertId),
    Updated(AlertId),
    Escalated(AlertId),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlertError {
    #[error("no alert {0:?}")]
    NotFound(AlertId),
    #[error("alert {0:?} is closed ({1:?})")]
    Closed(AlertId, AlertState),
}

/// All alerts, open and closed. Deterministic: alerts are numbered in order of opening.
#[derive(Debug, Clone, Default)]
pub struct AlertBook {
    cfg: AlertConfig,
    alerts: BTreeMap<AlertId, Alert>,
    by_track: BTreeMap<TrackId, AlertId>,
    /// When each live track was first in the picture.
    first_seen: BTreeMap<TrackId, TimeNs>,
    /// Coasting tracks whose alert a new track took over: they open none of their own.
    handed_over: std::collections::BTreeSet<TrackId>,
    next_id: u64,
}

const SYSTEM: &str = "system";

impl AlertBook {
    pub fn new(cfg: AlertConfig) -> Self {
        Self {
            cfg,
            ..Self::default()
        }
    }

    pub fn get(&self, id: AlertId) -> Option<&Alert> {
        self.alerts.get(&id)
    }

    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// The alert carrying this track, if any.
    pub fn alert_for_track(&self, track: TrackId) -> Option<&Alert> {
        self.by_track.get(&track).and_then(|id| self.alerts.get(id))
    }

    /// Takes the picture at `t`: the current tracks and their assessments.
    pub fn update(
        &mut self,
        t: TimeNs,
        tracks: &[Track],
        assessments: &[Assessment],
    ) -> Vec<AlertChange> {
        let mut changes = Vec::new();
        let assessed: BTreeMap<TrackId, &Assessment> =
            assessments.iter().map(|a| (a.track_id, a)).collect();
        let live: BTreeMap<TrackId, &Track> = tracks.iter().map(|tr| (tr.id, tr)).collect();
        self.first_seen.retain(|id, _| live.contains_key(id));
        self.handed_over.retain(|id| live.contains_key(id));
        for tr in tracks {
            self.first_seen.entry(tr.id).or_insert(t);
        }

        // Tracks that left the picture: their alerts wait for re-acquisition.
        let lost: Vec<(TrackId, AlertId)> = self
            .by_track
            .iter()
            .filter(|(tr, _)| !live.contains_key(tr))
            .map(|(tr, id)| (*tr, *id))
            .collect();
        for (track_id, id) in lost {
            self.by_track.remove(&track_id);
            if let Some(alert) = self.alerts.get_mut(&id)
                && alert.track_ids.last() == Some(&track_id)
            {
                alert.track_lost = true;
                alert
                    .history
                    .push(event(t, AlertAction::TrackLost { track_id }));
                changes.push(AlertChange::Updated(id));
            }
        }

        for tr in tracks {
            let Some(a) = assessed.get(&tr.id) else {
                continue;
            };
            let id = match self.by_track.get(&tr.id) {
                Some(id) => *id,
                // A spoofer's broadcast track and the track radar and RF see are one
                // drone: the alert one of them carries is the incident's.
                None if a.level >= self.cfg.open_at && self.twin_alerted(a) => continue,
                None if a.level >= self.cfg.open_at
                    && a.level < ThreatLevel::Critical
                    && self.young(t, tr.id) =>
                {
                    continue;
                }
                None if self.handed_over.contains(&tr.id) && tr.status == TrackStatus::Coasting => {
                    continue;
                }
                None if a.level >= self.cfg.open_at => match self
                    .reacquired(t, tr)
                    .or_else(|| self.coasting_nearby(tr, &live))
                {
                    Some(id) => {
                        // From a coasting track (a drone leaving a hover often gets a new
                        // track while the old one still coasts), the alert moves over.
                        if let Some(old) = self
                            .alerts
                            .get(&id)
                            .and_then(|a| a.track_ids.last().copied())
                            .filter(|old| self.by_track.get(old) == Some(&id))
                        {
                            self.by_track.remove(&old);
                            self.handed_over.insert(old);
                        }
                        self.by_track.insert(tr.id, id);
                        if let Some(alert) = self.alerts.get_mut(&id) {
                            alert.track_ids.push(tr.id);
                            alert.track_lost = false;
                            alert
                                .history
                                .push(event(t, AlertAction::TrackReacquired { track_id: tr.id }));
                        }
                        changes.push(AlertChange::Updated(id));
                        id
                    }
                    None => {
                        let id = self.open(t, tr, a);
                        changes.push(AlertChange::Opened(id));
                        continue;
                    }
                },
                None => continue,
            };
            let Some(alert) = self.alerts.get_mut(&id) else {
                continue;
            };
            alert.last_position = tr.position;
            alert.last_seen = t;
            if alert.state.is_closed() {
                if closed_alert_reopens(alert, a.level, t, &self.cfg) {
                    let id = self.open(t, tr, a);
                    changes.push(AlertChange::Opened(id));
                }
                continue;
            }
            let mut changed = false;
            if a.level > alert.level {
                alert.level = a.level;
                alert.lower_since = None;
                alert
                    .history
                    .push(event(t, AlertAction::Raised { to: a.level }));
                changed = true;
            } else if a.level < alert.level {
                let since = *alert.lower_since.get_or_insert(t);
                if t.secs_since(since) >= self.cfg.lower_after_s {
                    alert.level = a.level;
                    alert.lower_since = None;
                    alert
                        .history
                        .push(event(t, AlertAction::Lowered { to: a.level }));
                    changed = true;
                }
            } else {
                alert.lower_since = None;
            }
            if changed || alert.reasons != a.reasons {
                alert.score = a.score;
                alert.reasons = a.reasons.clone();
                alert.sensors = merge_sensors(&alert.sensors, &a.sensors);
                changes.push(AlertChange::Updated(id));
            }
        }

        // Escalation: critical and still not acknowledged.
        for alert in self.alerts.values_mut() {
            if alert.state == AlertState::New
                && alert.level == ThreatLevel::Critical
                && !alert.escalated
                && t.secs_since(alert.opened_at) >= self.cfg.escalate_after_s
            {
                alert.escalated = true;
                alert.history.push(event(t, AlertAction::Escalated));
                changes.push(AlertChange::Escalated(alert.id));
            }
        }
        changes.sort_unstable_by_key(|c| match c {
            AlertChange::Opened(id) | AlertChange::Updated(id) | AlertChange::Escalated(id) => *id,
        });
        changes.dedup();
        changes
    }

    fn open(&mut self, t: TimeNs, tr: &Track, a: &Assessment) -> AlertId {
        self.next_id += 1;
        let id = AlertId(self.next_id);
        self.alerts.insert(
            id,
            Alert {
                id,
                opened_at: t,
                track_ids: vec![tr.id],
                level: a.level,
                score: a.score,
                reasons: a.reasons.clone(),
                sensors: a.sensors.clone(),
                state: AlertState::New,
                assignee: None,
                escalated: false,
                last_position: tr.position,
                last_seen: t,
                track_lost: false,
                history: vec![event(t, AlertAction::Opened { track_id: tr.id })],
                lower_since: None,
                quiet_since: None,
                rearmed: false,
            },
        );
        self.by_track.insert(tr.id, id);
        id
    }

    /// The open alert whose track was lost near this new track, recently: the same drone.
    fn reacquired(&self, t: TimeNs, tr: &Track) -> Option<AlertId> {
        self.alerts
            .values()
            .filter(|a| a.track_lost && !a.state.is_closed())
            // An exercise's track never continues a real alert, nor the other way.
            .filter(|a| a.is_exercise() == tr.is_exercise())
            .filter(|a| t.secs_since(a.last_seen) <= self.cfg.reacquire_window_s)
            .map(|a| (a.id, horizontal_m(&a.last_position, &tr.position)))
            .filter(|(_, d)| *d <= self.cfg.reacquire_radius_m)
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(id, _)| id)
    }

    /// An open alert whose track is coasting within `reacquire_radius_m` of this new track.
    fn coasting_nearby(&self, tr: &Track, live: &BTreeMap<TrackId, &Track>) -> Option<AlertId> {
        self.alerts
            .values()
            .filter(|a| !a.track_lost && !a.state.is_closed())
            .filter(|a| a.is_exercise() == tr.is_exercise())
            .filter_map(|a| {
                let old = live.get(a.track_ids.last()?)?;
                (old.status == TrackStatus::Coasting)
                    .then(|| (a.id, horizontal_m(&old.position, &tr.position)))
            })
            .filter(|(_, d)| *d <= self.cfg.reacquire_radius_m)
            .min_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(id, _)| id)
    }

    /// The track came into the picture less than `min_track_age_s` ago.
    fn young(&self, t: TimeNs, track: TrackId) -> bool {
        self.first_seen
            .get(&track)
            .is_some_and(|since| t.secs_since(*since) < self.cfg.min_track_age_s)
    }

    /// The assessment's Remote ID twin carries an open alert.
    fn twin_alerted(&self, a: &Assessment) -> bool {
        a.twin
            .and_then(|twin| self.by_track.get(&twin))
            .and_then(|id| self.alerts.get(id))
            .is_some_and(|alert| !alert.state.is_closed())
    }

    pub fn acknowledge(
        &mut self,
        id: AlertId,
        actor: &str,
        t: TimeNs,
        note: Option<String>,
    ) -> Result<(), AlertError> {
        self.act(id, actor, t, note, AlertAction::Acknowledged, |a| {
            if a.state == AlertState::New {
                a.state = AlertState::Acknowledged;
            }
        })
    }

    /// Assigning acknowledges too.
    pub fn assign(
        &mut self,
        id: AlertId,
        actor: &str,
        assignee: &str,
        t: TimeNs,
        note: Option<String>,
    ) -> Result<(), AlertError> {
        let to = assignee.to_string();
        self.act(
            id,
            actor,
            t,
            note,
            AlertAction::Assigned { to: to.clone() },
            |a| {
                a.state = AlertState::Assigned;
                a.assignee = Some(to);
            },
        )
    }

    pub fn resolve(
        &mut self,
        id: AlertId,
        actor: &str,
        t: TimeNs,
        note: Option<String>,
    ) -> Result<(), AlertError> {
        self.act(id, actor, t, note, AlertAction::Resolved, |a| {
            a.state = AlertState::Resolved
        })
    }

    pub fn false_alarm(
        &mut self,
        id: AlertId,
        actor: &str,
        t: TimeNs,
        note: Option<String>,
    ) -> Result<(), AlertError> {
        self.act(id, actor, t, note, AlertAction::FalseAlarm, |a| {
            a.state = AlertState::FalseAlarm
        })
    }

    fn act(
        &mut self,
        id: AlertId,
        actor: &str,
        t: TimeNs,
        note: Option<String>,
        action: AlertAction,
        apply: impl FnOnce(&mut Alert),
    ) -> Result<(), AlertError> {
        let alert = self.alerts.get_mut(&id).ok_or(AlertError::NotFound(id))?;
        if alert.state.is_closed() {
            return Err(AlertError::Closed(id, alert.state));
        }
        apply(alert);
        alert.history.push(AlertEvent {
            t,
            actor: actor.to_string(),
            action,
            note,
        });
        Ok(())
    }
}

/// Whether the track of a closed alert starts a new incident at `level`. An operator closed
/// the alert judging the threat as it was: the track stays silent at that level, but not
/// when its threat grows past it (the drone that was "leaving" turns on a post), and, once
/// resolved, not when it was quiet for `lower_after_s` and then rises again (the drone came
/// back). A false alarm re-arms only by growing: the operator said it is no drone.
fn closed_alert_reopens(
    alert: &mut Alert,
    level: ThreatLevel,
    t: TimeNs,
    cfg: &AlertConfig,
) -> bool {
    if level > alert.level {
        return true;
    }
    if alert.state != AlertState::Resolved {
        return false;
    }
    if level < cfg.open_at {
        let since = *alert.quiet_since.get_or_insert(t);
        alert.rearmed |= t.secs_since(since) >= cfg.lower_after_s;
        return false;
    }
    alert.quiet_since = None;
    alert.rearmed
}

fn event(t: TimeNs, action: AlertAction) -> AlertEvent {
    AlertEvent {
        t,
        actor: SYSTEM.to_string(),
        action,
        note: None,
    }
}

fn merge_sensors(a: &[SensorId], b: &[SensorId]) -> Vec<SensorId> {
    let mut all: Vec<SensorId> = a.iter().chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

fn horizontal_m(a: &Lla, b: &Lla) -> f64 {
    dronewatch_geo::geodesic_inverse(a, b).distance_m
}
