//! Administration: users, device tokens, the audit trail and the log's integrity check.
//! Every change is audited.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use dronewatch_store::{EventKind, EventQuery, VerifyReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::history::EventView;
use super::{ApiError, AppState, Authed, audit};
use crate::auth::{Perm, Role};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub locked_until_unix_ns: Option<i64>,
    pub created_unix_ns: i64,
}

impl From<dronewatch_store::UserRecord> for UserView {
    fn from(u: dronewatch_store::UserRecord) -> Self {
        Self {
            name: u.name,
            role: u.role,
            disabled: u.disabled,
            locked_until_unix_ns: u.locked_until.map(|t| t.0),
            created_unix_ns: u.created_at.0,
        }
    }
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [UserView], description = "OK")))]
pub async fn users(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<UserView>>, ApiError> {
    who.require(Perm::Admin)?;
    Ok(Json(
        s.store.users().await?.into_iter().map(Into::into).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// At least 12 characters.
    pub password: String,
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    security(("bearer" = [])),
    responses((status = 201, body = UserView, description = "Created"), (status = 409, body = super::error::ErrorBody, description = "Conflicts with the current state")))]
pub async fn create_user(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<NewUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let who = who.require(Perm::Admin)?;
    audit(
        &s,
        &who.user,
        "user_create",
        serde_json::json!({ "name": req.name, "role": req.role.as_str() }),
    )
    .await?;
    s.auth
        .create_user(&req.name, req.role, &req.password)
        .await?;
    let user = s
        .store
        .user(&req.name)
        .await?
        .ok_or_else(|| ApiError::Internal("user vanished after creation".into()))?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// A new password (at least 12 characters); also clears a lockout.
    pub password: Option<String>,
    /// Clear a lockout without changing the password.
    pub unlock: Option<bool>,
}

/// Change a user's role, password or state.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "admin", params(("name" = String, Path)),
    request_body = UserChange, security(("bearer" = [])),
    responses((status = 200, body = UserView, description = "OK"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn update_user(
    State(s): State<AppState>,
    who: Authed,
    Path(name): Path<String>,
    Json(req): Json<UserChange>,
) -> Result<Json<UserView>, ApiError> {
    let who = who.require(Perm::Admin)?;
    if name == who.user
        && (req.disabled == Some(true) || req.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::Conflict(
            "an admin cannot disable or demote itself".into(),
        ));
    }
    audit(
        &s,
        &who.user,
        "user_update",
        serde_json::json!({ "name": name, "role": req.role.map(Role::as_str), "disabled": req.disabled,
                            "password_changed": req.password.is_some(), "unlock": req.unlock }),
    )
    .await?;
    if let Some(p) = &req.password {
        s.auth.set_password(&name, p).await?;
    }
    let mut user = s
        .store
        .user(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {name}")))?;
    if let Some(r) = req.role {
        user.role = r.as_str().into();
    }
    if let Some(d) = req.disabled {
        user.disabled = d;
    }
    if req.unlock == Some(true) {
        user.failed_logins = 0;
        user.locked_until = None;
    }
    s.store.update_user(&user).await?;
    Ok(Json(user.into()))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "admin", params(("name" = String, Path)),
    security(("bearer" = [])), responses((status = 204, description = "Done, nothing to return"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn delete_user(
    State(s): State<AppState>,
    who: Authed,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = who.require(Perm::Admin)?;
    if name == who.user {
        return Err(ApiError::Conflict("an admin cannot delete itself".into()));
    }
    audit(
        &s,
        &who.user,
        "user_delete",
        serde_json::json!({ "name": name }),
    )
    .await?;
    s.store.delete_user(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceToken {
    /// What it is for, e.g. "phone of agent garcia".
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceTokenView {
    pub id: String,
    pub user: String,
    pub label: String,
    pub created_unix_ns: i64,
    pub revoked_unix_ns: Option<i64>,
    /// The secret, shown once at creation and never again.
    pub token: Option<String>,
}

impl DeviceTokenView {
    fn new(r: dronewatch_store::DeviceTokenRecord, token: Option<String>) -> Self {
        Self {
            id: r.id,
            user: r.user,
            label: r.label,
            created_unix_ns: r.created_at.0,
            revoked_unix_ns: r.revoked_at.map(|t| t.0),
            token,
        }
    }
}

/// Issue a device token for a user's phone or sensor. The secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/users/{name}/device-tokens", tag = "admin",
    params(("name" = String, Path)), request_body = NewDeviceToken, security(("bearer" = [])),
    responses((status = 201, body = DeviceTokenView, description = "Created")))]
pub async fn create_device_token(
    State(s): State<AppState>,
    who: Authed,
    Path(name): Path<String>,
    Json(req): Json<NewDeviceToken>,
) -> Result<(StatusCode, Json<DeviceTokenView>), ApiError> {
    let who = who.require(Perm::Admin)?;
    if req.label.len() > 200 {
        return Err(ApiError::BadRequest("label: at most 200 bytes".into()));
    }
    let (rec, secret) = s.auth.create_device_token(&name, &req.label).await?;
    audit(
        &s,
        &who.user,
        "device_token_create",
        serde_json::json!({ "id": rec.id, "user": name, "label": req.label }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(DeviceTokenView::new(rec, Some(secret))),
    ))
}

/// Every device token (without secrets).
#[utoipa::path(get, path = "/api/v1/device-tokens", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = [DeviceTokenView], description = "OK")))]
pub async fn device_tokens(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<DeviceTokenView>>, ApiError> {
    who.require(Perm::Admin)?;
    Ok(Json(
        s.store
            .device_tokens()
            .await?
            .into_iter()
            .map(|r| DeviceTokenView::new(r, None))
            .collect(),
    ))
}

/// Revoke a device token: it stops working at once.
#[utoipa::path(delete, path = "/api/v1/device-tokens/{id}", tag = "admin", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 204, description = "Done, nothing to return"), (status = 404, body = super::error::ErrorBody, description = "Not found")))]
pub async fn revoke_device_token(
    State(s): State<AppState>,
    who: Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = who.require(Perm::Admin)?;
    audit(
        &s,
        &who.user,
        "device_token_revoke",
        serde_json::json!({ "id": id }),
    )
    .await?;
    s.store
        .revoke_device_token(&id, crate::clock::now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// At most this many, newest first (default 200, at most 5000).
    pub limit: Option<usize>,
}

/// The audit trail, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams),
    security(("bearer" = [])), responses((status = 200, body = [EventView], description = "OK")))]
pub async fn audit_trail(
    State(s): State<AppState>,
    who: Authed,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    who.require(Perm::Admin)?;
    let limit = p.limit.unwrap_or(200).clamp(1, 5000);
    let rows = s
        .store
        .query(EventQuery {
            kinds: vec![EventKind::Audit],
            chain: Some(EventKind::Audit.chain()),
            limit,
            descending: true,
            ..EventQuery::default()
        })
        .await?;
    Ok(Json(rows.into_iter().map(EventView::from).collect()))
}

/// Check every hash chain of the event log (may take a while on a big log).
#[utoipa::path(post, path = "/api/v1/store/verify", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "the report per chain")))]
pub async fn verify(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<VerifyReport>, ApiError> {
    let who = who.require(Perm::Admin)?;
    audit(&s, &who.user, "store_verify", serde_json::json!({})).await?;
    Ok(Json(s.store.verify().await?))
}
