//! What the API and the live stream show: JSON shapes with their OpenAPI schemas, made from
//! the model and the threat crate's types. Times are integer nanoseconds since the Unix
//! epoch (`_unix_ns`), units are in names.

use dronewatch_model::{Lla, Track, TrackStatus};
use dronewatch_threat::{Alert, AlertState, Assessment, ThreatLevel};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WGS84 position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Position {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Height above the WGS84 ellipsoid [m].
    #[serde(default)]
    pub h_m: f64,
}

impl From<Lla> for Position {
    fn from(p: Lla) -> Self {
        Self {
            lat_deg: p.lat_deg,
            lon_deg: p.lon_deg,
            h_m: p.h_m,
        }
    }
}

impl From<Position> for Lla {
    fn from(p: Position) -> Self {
        Lla::new(p.lat_deg, p.lon_deg, p.h_m)
    }
}

/// How a track is drawn (MIL-STD-2525 standard identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Affiliation {
    /// A threat alert is open on it.
    Hostile,
    /// Scored as a threat, no alert (yet).
    Suspect,
    Unknown,
    /// On the allow-list.
    Friend,
    /// A manned aircraft (ADS-B).
    Manned,
}

impl Affiliation {
    /// How a track is drawn, given what the threat stage knows of it.
    pub fn of(
        tr: &Track,
        assessment: Option<&Assessment>,
        alert: Option<&Alert>,
        friendly: bool,
    ) -> Self {
        if tr.identity.icao_address.is_some() {
            Affiliation::Manned
        } else if friendly {
            Affiliation::Friend
        } else if alert.is_some_and(|a| !a.state.is_closed()) {
            Affiliation::Hostile
        } else if assessment.is_some_and(|a| a.level >= ThreatLevel::Medium) {
            Affiliation::Suspect
        } else {
            Affiliation::Unknown
        }
    }
}

/// A track's threat in short; the reasons are on the track's detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ThreatSummary {
    pub score: f64,
    /// `none`, `low`, `medium`, `high`, `critical`.
    pub level: String,
    pub alert_id: Option<u64>,
}

/// A fused track in the live picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrackView {
    /// Unique across sectors: `<sector>/<id>`.
    pub uid: String,
    pub id: u64,
    /// The sector node that tracks it (an HQ picture holds several).
    pub sector: String,
    pub t_unix_ns: i64,
    /// `confirmed` or `coasting` (no fix for a while: shown dimmed, predicted).
    pub status: String,
    pub position: Position,
    pub speed_mps: f64,
    /// Compass course over ground [deg].
    pub course_deg: f64,
    pub climb_mps: f64,
    /// One-sigma horizontal position uncertainty [m].
    pub sigma_horizontal_m: f64,
    pub sensors: Vec<String>,
    pub remote_id_serial: Option<String>,
    /// The Remote ID operator (pilot) position, as broadcast: a claim, not a fix.
    pub operator_position: Option<Position>,
    /// 24-bit ICAO address, hex.
    pub icao_address: Option<String>,
    /// The class the sensors' classifications agree on most, and its share of the
    /// evidence [0, 1].
    pub class: Option<String>,
    pub class_confidence: Option<f64>,
    /// The latest radio link an RF sensor heard from it [MHz], and its drone band
    /// (e.g. `2.4 GHz`) when it is in one.
    pub rf_frequency_mhz: Option<f64>,
    pub rf_band: Option<String>,
    pub affiliation: Affiliation,
    pub threat: Option<ThreatSummary>,
    pub updates: u64,
    pub last_update_unix_ns: i64,
    /// An exercise's simulated drone: training, never a real one (shown so everywhere).
    #[serde(default)]
    pub exercise: bool,
}

impl TrackView {
    pub fn new(
        sector: &str,
        tr: &Track,
        assessment: Option<&Assessment>,
        alert: Option<&Alert>,
        friendly: bool,
    ) -> Self {
        let [ve, vn, vu] = tr.vel_enu_mps;
        let affiliation = Affiliation::of(tr, assessment, alert, friendly);
        Self {
            uid: format!("{sector}/{}", tr.id.0),
            id: tr.id.0,
            sector: sector.to_string(),
            t_unix_ns: tr.t.0,
            status: match tr.status {
                TrackStatus::Coasting => "coasting",
                _ => "confirmed",
            }
            .into(),
            position: tr.position.into(),
            speed_mps: round3(ve.hypot(vn)),
            course_deg: round3(ve.atan2(vn).to_degrees().rem_euclid(360.0)),
            climb_mps: round3(vu),
            sigma_horizontal_m: round3((tr.cov_enu_m2[0] + tr.cov_enu_m2[4]).max(0.0).sqrt()),
            sensors: tr.sensors.iter().map(|s| s.0.clone()).collect(),
            remote_id_serial: tr.identity.remote_id_serial.clone(),
            operator_position: tr.identity.operator_position.map(Into::into),
            icao_address: tr.identity.icao_address.map(|a| format!("{a:06X}")),
            class: tr.identity.class.clone(),
            class_confidence: tr.identity.class_confidence.map(round3),
            rf_frequency_mhz: tr
                .identity
                .rf_emission
                .map(|rf| round3(rf.centre_frequency_hz / 1e6)),
            rf_band: tr
                .identity
                .rf_emission
                .and_then(|rf| rf.drone_band())
                .map(str::to_owned),
            affiliation,
            threat: assessment.map(|a| ThreatSummary {
                score: a.score,
                level: level_str(a.level).into(),
                alert_id: alert.map(|al| al.id.0),
            }),
            updates: tr.updates,
            last_update_unix_ns: tr.last_update.0,
            exercise: tr.is_exercise(),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn level_str(l: ThreatLevel) -> &'static str {
    match l {
        ThreatLevel::None => "none",
        ThreatLevel::Low => "low",
        ThreatLevel::Medium => "medium",
        ThreatLevel::High => "high",
        ThreatLevel::Critical => "critical",
    }
}

/// One rule's contribution to a threat score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReasonView {
    pub rule: String,
    pub points: f64,
    pub detail: String,
}

/// One entry of an alert's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertEventView {
    pub t_unix_ns: i64,
    /// `system` or the user who acted.
    pub actor: String,
    /// `opened`, `raised`, `acknowledged`, `assigned`, `resolved`, `false_alarm`...
    pub action: String,
    /// The action's own fields (new level, assignee, track ids).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub note: Option<String>,
}

/// An alert: one per incident, with its reasons and its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    pub id: u64,
    pub sector: String,
    pub opened_unix_ns: i64,
    /// Every track of the incident, oldest first; the last is the live one.
    pub track_ids: Vec<u64>,
    pub level: String,
    pub score: f64,
    pub reasons: Vec<ReasonView>,
    pub sensors: Vec<String>,
    /// `new`, `acknowledged`, `assigned`, `resolved`, `false_alarm`.
    pub state: String,
    pub assignee: Option<String>,
    pub escalated: bool,
    pub last_position: Position,
    pub last_seen_unix_ns: i64,
    pub track_lost: bool,
    pub history: Vec<AlertEventView>,
    /// About an exercise's simulated drone: training.
    #[serde(default)]
    pub exercise: bool,
}

impl AlertView {
    pub fn new(sector: &str, a: &Alert) -> Self {
        Self {
            id: a.id.0,
            sector: sector.to_string(),
            opened_unix_ns: a.opened_at.0,
            track_ids: a.track_ids.iter().map(|t| t.0).collect(),
            level: level_str(a.level).into(),
            score: a.score,
            reasons: a
                .reasons
                .iter()
                .map(|r| ReasonView {
                    rule: enum_str(&r.rule),
                    points: r.points,
                    detail: r.detail.clone(),
                })
                .collect(),
            sensors: a.sensors.iter().map(|s| s.0.clone()).collect(),
            state: state_str(a.state).into(),
            assignee: a.assignee.clone(),
            escalated: a.escalated,
            last_position: a.last_position.into(),
            last_seen_unix_ns: a.last_seen.0,
            track_lost: a.track_lost,
            exercise: a.is_exercise(),
            history: a
                .history
                .iter()
                .map(|e| {
                    let mut detail = serde_json::to_value(&e.action).unwrap_or_default();
                    let action = detail
                        .get("action")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    if let Some(obj) = detail.as_object_mut() {
                        obj.remove("action");
                    }
                    AlertEventView {
                        t_unix_ns: e.t.0,
                        actor: e.actor.clone(),
                        action,
                        detail,
                        note: e.note.clone(),
                    }
                })
                .collect(),
        }
    }
}

pub fn state_str(s: AlertState) -> &'static str {
    match s {
        AlertState::New => "new",
        AlertState::Acknowledged => "acknowledged",
        AlertState::Assigned => "assigned",
        AlertState::Resolved => "resolved",
        AlertState::FalseAlarm => "false_alarm",
    }
}

/// A serde unit-variant enum as its JSON string.
fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A personal warning to one agent about one drone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WarningView {
    pub id: String,
    pub t_unix_ns: i64,
    pub agent_id: String,
    pub track_id: u64,
    /// `advisory`, `warning`, `critical`, or `all_clear` (the earlier warning is over).
    pub level: String,
    pub range_m: f64,
    /// Compass bearing from the agent to the drone [deg].
    pub bearing_deg: f64,
    /// Clock bearing (12 = the agent's direction of travel), when the agent is moving.
    pub clock: Option<u8>,
    pub height_above_agent_m: f64,
    /// Seconds from now to the predicted closest approach.
    pub time_to_cpa_s: f64,
    pub cpa_m: f64,
    /// What to do, from the sector's procedure.
    pub advice: String,
    /// When the agent acknowledged it.
    #[serde(default)]
    pub acknowledged_unix_ns: Option<i64>,
    /// About an exercise's simulated drone: training.
    #[serde(default)]
    pub exercise: bool,
}

/// A field agent's sighting report, as the field app sends it. `client_id` makes a retried
/// report idempotent: the same id is stored once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SightingReport {
    /// Chosen by the client (a UUID), stable across retries; 1 to 128 characters.
    pub client_id: String,
    /// When the drone was seen (RFC 3339, with offset).
    pub observed_at: String,
    /// Where the reporter stood.
    pub reporter_position: Position,
    /// GPS accuracy of the reporter's position [m].
    #[serde(default)]
    pub reporter_accuracy_m: Option<f64>,
    /// Compass bearing from the reporter to the drone [deg], e.g. from the phone's compass.
    #[serde(default)]
    pub bearing_deg: Option<f64>,
    /// Rough horizontal distance to the drone [m].
    #[serde(default)]
    pub distance_m: Option<f64>,
    /// Rough height of the drone above the ground [m].
    #[serde(default)]
    pub height_m: Option<f64>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub sound_heard: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
    /// A photo, base64-encoded.
    #[serde(default)]
    pub photo: Option<Photo>,
    /// Set by the server: the user who reported it.
    #[serde(default)]
    pub reporter: Option<String>,
    /// Set by the server: the SHA-256 (hex) of the stored photo.
    #[serde(default)]
    pub photo_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub mime: String,
    pub data_base64: String,
}

/// A sensor as the node knows it: what its sensor list says, its last health report and
/// its traffic. Listed sensors are shown (state `unknown`) before they first report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SensorView {
    pub id: String,
    pub kind: Option<String>,
    /// `ok`, `warning`, `error`, `offline`, or `unknown` (never reported its health).
    pub state: String,
    pub position: Option<Position>,
    /// How far it sees [m], from the node's sensor list (`fusion.sensors_file`).
    pub max_range_m: Option<f64>,
    pub detail: Vec<String>,
    pub last_health_unix_ns: Option<i64>,
    pub last_observation_unix_ns: Option<i64>,
    pub observations: u64,
    /// Observations fusion refused (too late, from the future, invalid).
    pub refused: u64,
}

/// An agent's last known position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentView {
    pub agent_id: String,
    pub t_unix_ns: i64,
    pub position: Position,
}
