//! The sector's context that admins edit from the map: zones (GeoJSON) and the allow-list
//! of friendly drones. A change is checked, audited, written to the data directory (it
//! outlives restarts and then takes precedence over `threat.zones_file` and
//! `threat.allow_list`) and handed to the threat stage, which uses it from its next
//! assessment.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use dronewatch_geo::EnuFrame;
use dronewatch_threat::{AllowList, Zone, parse_zones};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed, audit};
use crate::auth::Perm;
use crate::live::lock;
use crate::pipeline::threat::ThreatCommand;

const ZONES_FILE: &str = "zones.geojson";
const ALLOW_FILE: &str = "allow-list.json";

/// The friendly drones: tracks with these Remote ID serials never raise an alert or a
/// warning (manned aircraft, with an ICAO address, never do either).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowListDoc {
    pub remote_id_serials: Vec<String>,
}

/// What the node holds of its context, as it was given.
#[derive(Debug)]
pub struct SectorContext {
    data_dir: PathBuf,
    frame: EnuFrame,
    docs: Mutex<(serde_json::Value, AllowListDoc)>,
    /// Fusion reads the allow-list to draw friends as friends (shared: it looks at every
    /// publication).
    allow_tx: tokio::sync::watch::Sender<Arc<AllowList>>,
}

impl SectorContext {
    /// The context at start: the data directory's copies if an admin edited it, else the
    /// configuration's. Returns it with the parsed zones for the threat stage.
    pub fn load(
        data_dir: &Path,
        frame: EnuFrame,
        zones_file: Option<&Path>,
        allow_list: &[String],
    ) -> Result<(Self, Vec<Zone>), String> {
        let edited = data_dir.join(ZONES_FILE);
        let source = if edited.exists() {
            Some(edited.as_path())
        } else {
            zones_file
        };
        let zones_doc = match source {
            None => serde_json::json!({ "type": "FeatureCollection", "features": [] }),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("zones {}: {e}", p.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("zones {}: {e}", p.display()))?
            }
        };
        let zones =
            parse_zones(&zones_doc.to_string(), &frame).map_err(|e| format!("zones: {e}"))?;
        let edited = data_dir.join(ALLOW_FILE);
        let allow_doc = if edited.exists() {
            let text = std::fs::read_to_string(&edited)
                .map_err(|e| format!("{}: {e}", edited.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", edited.display()))?
        } else {
            AllowListDoc {
                remote_id_serials: allow_list.to_vec(),
            }
        };
        let allow = AllowList::new(allow_doc.remote_id_serials.iter().cloned());
        let ctx = Self {
            data_dir: data_dir.to_path_buf(),
            frame,
            docs: Mutex::new((zones_doc, allow_doc)),
            allow_tx: tokio::sync::watch::Sender::new(Arc::new(allow)),
        };
        Ok((ctx, zones))
    }

    /// The allow-list in force, kept current.
    pub fn allow_rx(&self) -> tokio::sync::watch::Receiver<Arc<AllowList>> {
        self.allow_tx.subscribe()
    }
}

/// The sector's zones, as a GeoJSON FeatureCollection (each feature has `properties.kind`
/// and `properties.name`).
#[utoipa::path(get, path = "/api/v1/zones", tag = "picture", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "A GeoJSON FeatureCollection")))]
pub async fn zones(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<serde_json::Value>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(lock(&s.context.docs).0.clone()))
}

/// Replace the sector's zones (admin). Refused whole, naming the feature, if any is wrong.
#[utoipa::path(put, path = "/api/v1/zones", tag = "admin", request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "The zones now in force"),
              (status = 400, body = super::error::ErrorBody, description = "Not valid zones")))]
pub async fn replace_zones(
    State(s): State<AppState>,
    who: Authed,
    Json(doc): Json<serde_json::Value>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let who = who.require(Perm::Admin)?;
    let text = doc.to_string();
    let zones = parse_zones(&text, &s.context.frame)
        .map_err(|e| ApiError::BadRequest(format!("zones: {e}")))?;
    audit(
        &s,
        &who.user,
        "zones_replace",
        serde_json::json!({ "zones": zones.len(), "geojson": doc }),
    )
    .await?;
    write_atomically(&s.context.data_dir.join(ZONES_FILE), &text)?;
    s.threat
        .send(ThreatCommand::SetZones(zones))
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))?;
    lock(&s.context.docs).0 = doc.clone();
    Ok(Json(doc))
}

#[utoipa::path(get, path = "/api/v1/allow-list", tag = "picture", security(("bearer" = [])),
    responses((status = 200, body = AllowListDoc, description = "OK")))]
pub async fn allow_list(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<AllowListDoc>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(lock(&s.context.docs).1.clone()))
}

/// Replace the allow-list (admin).
#[utoipa::path(put, path = "/api/v1/allow-list", tag = "admin", request_body = AllowListDoc, security(("bearer" = [])),
    responses((status = 200, body = AllowListDoc, description = "The allow-list now in force"),
              (status = 400, body = super::error::ErrorBody, description = "A serial is not valid")))]
pub async fn replace_allow_list(
    State(s): State<AppState>,
    who: Authed,
    Json(mut doc): Json<AllowListDoc>,
) -> Result<Json<AllowListDoc>, ApiError> {
    let who = who.require(Perm::Admin)?;
    for (i, serial) in doc.remote_id_serials.iter().enumerate() {
        // Remote ID serials (ANSI/CTA-2063-A) are at most 20 characters; session ids and
        // other id types up to 20 bytes too. 64 leaves room for SAPIENT ids.
        if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::BadRequest(format!(
                "remote_id_serials[{i}]: 1 to 64 printable ASCII characters"
            )));
        }
    }
    doc.remote_id_serials.sort();
    doc.remote_id_serials.dedup();
    audit(
        &s,
        &who.user,
        "allow_list_replace",
        serde_json::json!({ "remote_id_serials": doc.remote_id_serials }),
    )
    .await?;
    let text = serde_json::to_string_pretty(&doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    write_atomically(&s.context.data_dir.join(ALLOW_FILE), &text)?;
    let allow = AllowList::new(doc.remote_id_serials.iter().cloned());
    s.threat
        .send(ThreatCommand::SetAllowList(allow.clone()))
        .await
        .map_err(|_| ApiError::Unavailable("threat stage stopped".into()))?;
    s.context.allow_tx.send_replace(Arc::new(allow));
    lock(&s.context.docs).1 = doc.clone();
    Ok(Json(doc))
}

/// Written beside and renamed over: a crash leaves the old file or the new one.
pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), ApiError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| ApiError::Internal(format!("{}: {e}", path.display())))
}
