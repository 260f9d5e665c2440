//! Web Push subscriptions: the field app subscribes with the node's VAPID key and gives the
//! node its subscription, so its user's warnings and the sector's bulletins reach the phone
//! as notifications (`crate::delivery::webpush`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed};
use crate::auth::{Perm, Role};
use crate::delivery::WebPush;
use crate::delivery::webpush::{PushSubscription, SubscriptionJson};

#[derive(Debug, Serialize, ToSchema)]
pub struct VapidKey {
    /// The node's VAPID public key (base64url, uncompressed P-256 point): the
    /// `applicationServerKey` of `pushManager.subscribe`.
    pub public_key: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Unsubscribe {
    pub endpoint: String,
}

fn push(s: &AppState) -> Result<&Arc<WebPush>, ApiError> {
    s.delivery
        .push
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("web push is off on this node".into()))
}

/// The node's VAPID public key, for subscribing.
#[utoipa::path(get, path = "/api/v1/push/key", tag = "push", security(("bearer" = [])),
    responses((status = 200, body = VapidKey, description = "The key"),
              (status = 404, body = super::error::ErrorBody, description = "Web push is off")))]
pub async fn vapid_key(State(s): State<AppState>, who: Authed) -> Result<Json<VapidKey>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json(VapidKey {
        public_key: push(&s)?.public_key.clone(),
    }))
}

/// The caller's subscriptions (an admin's: everyone's).
#[utoipa::path(get, path = "/api/v1/push/subscriptions", tag = "push", security(("bearer" = [])),
    responses((status = 200, body = Vec<PushSubscription>, description = "The subscriptions")))]
pub async fn subscriptions(
    State(s): State<AppState>,
    who: Authed,
) -> Result<Json<Vec<PushSubscription>>, ApiError> {
    let who = who.require(Perm::ReadLive)?;
    let all = who.role == Role::Admin;
    Ok(Json(
        push(&s)?
            .subscriptions()
            .into_iter()
            .filter(|sub| all || sub.user == who.user)
            .collect(),
    ))
}

/// Subscribes this browser: the body is its `PushSubscription.toJSON()`. Subscribing the
/// same endpoint again renews it.
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "push",
    request_body = SubscriptionJson, security(("bearer" = [])),
    responses((status = 201, body = PushSubscription, description = "Subscribed"),
              (status = 400, body = super::error::ErrorBody, description = "The message names the field")))]
pub async fn subscribe(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<SubscriptionJson>,
) -> Result<(StatusCode, Json<PushSubscription>), ApiError> {
    let who = who.require(Perm::ReadLive)?;
    let sub = req.validate(&who.user).map_err(ApiError::BadRequest)?;
    push(&s)?
        .subscribe(sub.clone())
        .map_err(ApiError::Unavailable)?;
    info!(user = %who.user, "web push: subscribed");
    Ok((StatusCode::CREATED, Json(sub)))
}

/// Unsubscribes an endpoint (the caller's own; an admin's: anyone's).
#[utoipa::path(delete, path = "/api/v1/push/subscriptions", tag = "push",
    request_body = Unsubscribe, security(("bearer" = [])),
    responses((status = 204, description = "Unsubscribed"),
              (status = 404, body = super::error::ErrorBody, description = "No such subscription of the caller's")))]
pub async fn unsubscribe(
    State(s): State<AppState>,
    who: Authed,
    Json(req): Json<Unsubscribe>,
) -> Result<StatusCode, ApiError> {
    let who = who.require(Perm::ReadLive)?;
    let admin = who.role == Role::Admin;
    let removed = push(&s)?
        .unsubscribe(&req.endpoint, |user| admin || user == who.user)
        .map_err(ApiError::Internal)?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such subscription".into()))
    }
}
