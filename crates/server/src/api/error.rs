//! API errors: a status and a JSON body `{"error": code, "message": text}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::pipeline::IngestError;
use crate::pipeline::threat::CommandError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests; slow down")]
    TooManyRequests,
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `too_many_requests`, `unavailable`, `internal`.
    pub error: &'static str,
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.parts();
        if status.is_server_error() {
            tracing::warn!(%status, message = %self, "request failed");
        }
        let mut resp = (
            status,
            Json(ErrorBody {
                error,
                message: self.to_string(),
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl From<dronewatch_store::StoreError> for ApiError {
    fn from(e: dronewatch_store::StoreError) -> Self {
        use dronewatch_store::StoreError as E;
        match e {
            E::NotFound(m) => ApiError::NotFound(format!("{m} not found")),
            E::Conflict(m) => ApiError::Conflict(format!("{m} already exists")),
            other => ApiError::Unavailable(format!("store: {other}")),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials | AuthError::BadToken | AuthError::SessionExpired => {
                ApiError::Unauthorized
            }
            AuthError::Invalid(m) => ApiError::BadRequest(m),
            AuthError::Store(s) => s.into(),
            AuthError::KeyFile { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        use dronewatch_threat::AlertError;
        match e {
            CommandError::Alert(AlertError::NotFound(_)) => ApiError::NotFound(e.to_string()),
            CommandError::Alert(AlertError::Closed(..)) => ApiError::Conflict(e.to_string()),
            CommandError::Ingest(i) => i.into(),
        }
    }
}
