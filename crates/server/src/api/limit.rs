//! Rate limits: per caller (bearer token, else address) on the whole API, and per address
//! on logins (password guessing). Keys are forgotten once their bucket is full again.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{ApiError, AppState};
use crate::config::HttpConfig;

#[derive(Debug)]
pub struct Limits {
    api: DefaultKeyedRateLimiter<String>,
    login: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    pub fn new(cfg: &HttpConfig) -> Self {
        let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let api = Quota::per_second(nz(cfg.rate_per_s)).allow_burst(nz(cfg.rate_burst));
        let login = Quota::per_minute(nz(cfg.login_per_min)).allow_burst(nz(cfg.login_per_min));
        Self {
            api: RateLimiter::keyed(api),
            login: RateLimiter::keyed(login),
        }
    }

    pub fn login_allowed(&self, ip: IpAddr) -> bool {
        self.login.check_key(&ip).is_ok()
    }

    /// Drops the state of callers that have been quiet (call now and then).
    pub fn forget_quiet(&self) {
        self.api.retain_recent();
        self.login.retain_recent();
    }
}

pub async fn rate_limit(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let key = match super::bearer(&parts) {
        // A digest, not the token: the limiter's keys must not hold secrets.
        Some(t) => hex::encode(&crate::auth::sha256(t.as_bytes())[..12]),
        None => super::peer(&parts).map_or_else(|| "unknown".into(), |a| a.ip().to_string()),
    };
    if s.limits.api.check_key(&key).is_err() {
        s.metrics.rate_limited.inc();
        return ApiError::TooManyRequests.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
