//! The HTTP API (`/api/v1`, REST + WebSocket) and the operations endpoints (`/healthz`,
//! `/readyz`, `/metrics`). Every route but liveness, readiness, login and the OpenAPI
//! document needs a bearer token; each checks the permission it needs.

mod admin;
mod auth_routes;
pub mod bulletins;
pub mod context;
mod error;
pub mod exercise;
mod history;
mod limit;
pub mod openapi;
mod picture;
mod push;
pub(crate) mod reports;
mod stream;
pub mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dronewatch_store::{EventKind, NewEvent, Store};
use tokio::sync::mpsc;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::ApiError;
pub use limit::Limits;

use crate::auth::{Auth, Perm, Principal};
use crate::config::HttpConfig;
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::pipeline::threat::ThreatCommand;
use crate::pipeline::{Ingest, Input};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The running exercise (fusion and the threat stage watch it).
    pub exercise: Arc<tokio::sync::watch::Sender<exercise::ExerciseState>>,
    pub ingest: Ingest,
    pub hub: LiveHub,
    pub store: Store,
    pub auth: Auth,
    pub metrics: Metrics,
    pub threat: mpsc::Sender<ThreatCommand>,
    pub http: Arc<HttpConfig>,
    pub sector: String,
    pub node: String,
    /// Photos of sightings, by SHA-256.
    pub blobs_dir: PathBuf,
    /// Where the node keeps what operators set (exercise state and the like).
    pub data_dir: PathBuf,
    pub limits: Arc<limit::Limits>,
    /// Set once the pipeline runs; readiness reports it.
    pub ready: Arc<std::sync::atomic::AtomicBool>,
    pub started: std::time::Instant,
    /// The generic sensor JSON parser (HTTP detections).
    pub sensor_json: Arc<dronewatch_sensorjson::SensorJson>,
    /// What the web UI is told about this node.
    pub ui: Arc<ui::UiConfig>,
    /// The PMTiles archive served as the basemap (`ui.pmtiles`), checked at start-up.
    pub basemap_pmtiles: Option<Arc<PathBuf>>,
    /// Zones and the allow-list, as admins edit them.
    pub context: Arc<context::SectorContext>,
    /// Sector bulletins and the posture they set.
    pub bulletins: Arc<bulletins::BulletinBoard>,
    /// How the webhooks are doing.
    pub delivery: Arc<crate::delivery::DeliveryBoard>,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let max_body = state.http.max_body_bytes;
    let api = Router::new()
        .route("/auth/login", post(auth_routes::login))
        .route("/auth/refresh", post(auth_routes::refresh))
        .route("/me", get(auth_routes::me))
        .route("/tracks", get(picture::tracks))
        .route("/tracks/{id}", get(picture::track))
        .route("/alerts", get(picture::alerts))
        .route("/alerts/{id}", get(picture::alert))
        .route("/alerts/{id}/{action}", post(picture::alert_action))
        .route("/sensors", get(picture::sensors))
        .route("/agents", get(picture::agents))
        .route("/warnings", get(picture::warnings))
        .route(
            "/warnings/{id}/acknowledge",
            post(reports::acknowledge_warning),
        )
        .route("/agents/me/position", post(reports::position))
        .route(
            "/sightings",
            post(reports::sighting).layer(DefaultBodyLimit::max(state.http.max_sighting_bytes)),
        )
        .route("/sightings/{sha256}/photo", get(reports::photo))
        .route("/sensors/{sensor_id}/{kind}", post(reports::detection))
        .route("/history/events", get(history::events))
        .route("/history/export", get(history::export))
        .route("/users", get(admin::users).post(admin::create_user))
        .route(
            "/users/{name}",
            axum::routing::patch(admin::update_user).delete(admin::delete_user),
        )
        .route(
            "/users/{name}/device-tokens",
            post(admin::create_device_token),
        )
        .route("/device-tokens", get(admin::device_tokens))
        .route(
            "/device-tokens/{id}",
            axum::routing::delete(admin::revoke_device_token),
        )
        .route("/audit", get(admin::audit_trail))
        .route("/store/verify", post(admin::verify))
        .route("/stream", get(stream::stream))
        .route("/openapi.json", get(openapi::document))
        .route("/ui-config", get(ui::ui_config))
        .route("/basemap.pmtiles", get(ui::basemap))
        .route("/zones", get(context::zones).put(context::replace_zones))
        .route(
            "/exercise",
            get(exercise::status)
                .post(exercise::start)
                .delete(exercise::end),
        )
        .route("/bulletins", get(bulletins::list).post(bulletins::publish))
        .route(
            "/bulletins/{id}",
            axum::routing::delete(bulletins::withdraw),
        )
        .route("/bulletins/{id}/acknowledge", post(bulletins::acknowledge))
        .route("/posture", get(bulletins::posture))
        .route("/delivery", get(delivery_status))
        .route("/delivery/redeliver", post(redeliver))
        .route("/push/key", get(push::vapid_key))
        .route(
            "/push/subscriptions",
            get(push::subscriptions)
                .post(push::subscribe)
                .delete(push::unsubscribe),
        )
        .route(
            "/allow-list",
            get(context::allow_list).put(context::replace_allow_list),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit::rate_limit,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        // Nothing the API answers is to be cached; the UI's files set their own rule,
        // so they are added after this layer.
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .fallback(get(ui::serve))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(state)
}

/// How each delivery channel (webhook, MQTT, Web Push, CoT) is doing: deliveries, retries, dead letters
/// and the last error
/// (operators, analysts, admins).
#[utoipa::path(get, path = "/api/v1/delivery", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::delivery::DeliveryStatus>, description = "One per configured channel")))]
pub(crate) async fn delivery_status(
    State(s): State<AppState>,
    who: Authed,
) -> Result<axum::Json<Vec<crate::delivery::DeliveryStatus>>, ApiError> {
    who.require(Perm::ReadHistory)?;
    Ok(axum::Json(crate::live::lock(&s.delivery.channels).clone()))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RedeliverRequest {
    /// Dead letters recorded since then; default: the last 24 hours.
    pub since_unix_ns: Option<i64>,
}

/// Sends the webhooks' dead letters again (the receiver is back): each with its delivery
/// id, so a receiver that had it after all drops the copy; one delivered this way is not
/// sent a third time (operators, admins; audited).
#[utoipa::path(post, path = "/api/v1/delivery/redeliver", tag = "admin",
    request_body = RedeliverRequest, security(("bearer" = [])),
    responses((status = 200, body = crate::delivery::Redelivery, description = "What was queued")))]
pub(crate) async fn redeliver(
    State(s): State<AppState>,
    who: Authed,
    body: Option<axum::Json<RedeliverRequest>>,
) -> Result<axum::Json<crate::delivery::Redelivery>, ApiError> {
    let who = who.require(Perm::ActOnAlerts)?.clone();
    let since = body.and_then(|b| b.0.since_unix_ns).map_or_else(
        || crate::clock::now().plus_secs(-86_400.0),
        dronewatch_model::TimeNs,
    );
    let report = s
        .delivery
        .redeliver(&s.store, since)
        .await
        .map_err(ApiError::Internal)?;
    audit(
        &s,
        &who.user,
        "delivery_redeliver",
        serde_json::json!({"since_unix_ns": since.0, "queued": report.queued}),
    )
    .await?;
    Ok(axum::Json(report))
}

/// Liveness: the process answers. Says nothing else.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the pipeline runs and the store answers.
async fn readyz(State(s): State<AppState>) -> Response {
    let pipeline = s.ready.load(std::sync::atomic::Ordering::Relaxed);
    let store = s
        .store
        .last_seq(dronewatch_store::Chain::Records)
        .await
        .is_ok();
    let status = if pipeline && store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "pipeline": pipeline, "store": store })),
    )
        .into_response()
}

/// Prometheus scrapes with an admin's device token.
async fn metrics(State(s): State<AppState>, who: Authed) -> Result<Response, ApiError> {
    who.require(Perm::Admin)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response())
}

async fn count_responses(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let resp = next.run(req).await;
    let class = format!("{}xx", resp.status().as_u16() / 100);
    s.metrics
        .http_responses
        .get_or_create(&crate::metrics::label("status", class))
        .inc();
    resp
}

/// An authenticated caller. Reads `Authorization: Bearer ...`, or `access_token=` in the
/// query for WebSocket upgrades (browsers cannot set headers on them).
#[derive(Debug, Clone)]
pub struct Authed(pub Principal);

impl Authed {
    pub fn require(&self, p: Perm) -> Result<&Principal, ApiError> {
        if self.0.role.may(p) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(format!(
                "role {} may not do this",
                self.0.role.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        s.auth
            .authenticate(&token)
            .await
            .map(Authed)
            .map_err(|_| ApiError::Unauthorized)
    }
}

pub(crate) fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
    {
        return h
            .strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
            .map(|t| t.trim().to_string());
    }
    let is_upgrade = parts
        .headers
        .get(axum::http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !is_upgrade {
        return None;
    }
    parts.uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "access_token")
            .map(|(_, v)| v.to_string())
    })
}

/// The caller's address, when the server was started with connect info.
pub(crate) fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// Writes an audit entry and waits until it is durable: an action that must be audited is
/// refused if its audit entry cannot be written.
pub(crate) async fn audit(
    s: &AppState,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let event = NewEvent {
        kind: EventKind::Audit,
        t: crate::clock::now(),
        source: Some(actor.to_string()),
        serial: None,
        track_id: None,
        position: None,
        idempotency_key: None,
        body: serde_json::json!({ "action": action, "actor": actor, "node": s.node, "detail": detail })
            .to_string(),
    };
    s.ingest
        .submit(Input::Record(event))
        .await
        .map(|_| ())
        .map_err(|e| ApiError::Unavailable(format!("audit log: {e}")))
}
