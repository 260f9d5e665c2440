//! Login, token refresh, and who am I.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed, audit};
use crate::auth::{IssuedToken, LoginOutcome, Role};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Log in with a password; returns a short-lived access token. Every attempt is audited;
/// repeated failures lock the account.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = IssuedToken, description = "OK"), (status = 401, body = super::error::ErrorBody, description = "No valid token"),
              (status = 429, body = super::error::ErrorBody, description = "Rate limit exceeded")))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<IssuedToken>, ApiError> {
    if !s.limits.login_allowed(peer.ip()) {
        s.metrics.rate_limited.inc();
        return Err(ApiError::TooManyRequests);
    }
    let result = s.auth.login(&req.username, &req.password).await;
    let outcome = match &result {
        Ok((_, o)) | Err((_, o)) => *o,
    };
    match outcome {
        LoginOutcome::Ok => {}
        LoginOutcome::Locked => {
            s.metrics.logins_locked.inc();
        }
        _ => {
            s.metrics.login_failures.inc();
        }
    }
    audit(
        &s,
        &req.username,
        "login",
        serde_json::json!({ "outcome": outcome.as_str(), "peer": peer.ip().to_string() }),
    )
    .await?;
    match result {
        Ok((token, _)) => Ok(Json(token)),
        Err((e, _)) => Err(e.into()),
    }
}

/// A fresh access token for a valid one, within the session's lifetime.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = IssuedToken, description = "OK"), (status = 401, body = super::error::ErrorBody, description = "No valid token")))]
pub async fn refresh(
    State(s): State<AppState>,
    req: axum::http::HeaderMap,
) -> Result<Json<IssuedToken>, ApiError> {
    let token = req
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(s.auth.refresh(token.trim()).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: String,
    pub role: Role,
    /// The device token's id, when authenticated by one.
    pub device: Option<String>,
    pub sector: String,
}

/// The caller, as the server sees it.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me, description = "OK"), (status = 401, body = super::error::ErrorBody, description = "No valid token")))]
pub async fn me(State(s): State<AppState>, who: Authed) -> Json<Me> {
    Json(Me {
        user: who.0.user,
        role: who.0.role,
        device: who.0.device,
        sector: s.sector,
    })
}
