//! The web UI, embedded at build time (`build.rs`), served at `/`, and what it needs to
//! know about this node (`GET /api/v1/ui-config`).
//!
//! The app's files are code, not data: they are served without a token, like a login
//! page. Everything they show comes from the API, which needs one.

use std::io::Read;
use std::path::Path;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa::ToSchema;

use super::{ApiError, AppState, Authed};
use crate::auth::Perm;
use crate::view::Position;

#[derive(Debug)]
pub struct Asset {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Served when the binary was built without Node.js.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>dronewatch</title>\
<h1>dronewatch</h1><p>This node was built without its web UI (Node.js was not found at \
build time). Install Node.js 20 or later and rebuild (<code>cargo build --release</code>), \
or set <code>DRONEWATCH_UI_DIST</code> to a built <code>ui/dist</code>. The API at \
<code>/api/v1</code> works without it.</p>";

/// GET of anything that is not an API route: a file of the app, or the app itself for
/// its own routes (`/`, `/field`...).
pub async fn serve(State(s): State<AppState>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(a) = ASSETS.iter().find(|a| a.path == path) {
        return file(&s, a);
    }
    if path.starts_with("api/") || path.rsplit('/').next().is_some_and(|f| f.contains('.')) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    match ASSETS.iter().find(|a| a.path == "index.html") {
        Some(index) => file(&s, index),
        None => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn file(s: &AppState, a: &Asset) -> Response {
    // Vite names bundles by their content hash: they never change under one name.
    let cache = if a.path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut r = (
        [
            (header::CONTENT_TYPE, mime_of(a.path)),
            (header::CACHE_CONTROL, cache),
        ],
        a.bytes,
    )
        .into_response();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(s.ui.tile_url.as_deref())) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    r
}

/// Only this node, and the configured tile server: a page that cannot reach elsewhere
/// cannot leak the picture there. Symbols are data: URLs, the map's workers blob: URLs.
fn content_security_policy(tile_url: Option<&str>) -> String {
    let tiles = tile_url.and_then(origin_of).unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: blob: {tiles}; connect-src 'self' ws: wss: {tiles}; \
         worker-src 'self' blob:; child-src blob:; style-src 'self' 'unsafe-inline'; \
         object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )
}

/// `https://host:port` of a URL, for the policy.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

fn mime_of(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "pbf" => "application/x-protobuf",
        "map" => "application/json",
        _ => "application/octet-stream",
    }
}

/// What the UI needs about this node.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UiConfig {
    pub sector: String,
    /// Where the map opens: the sector's origin (`fusion.origin`).
    pub center: Position,
    pub zoom: f64,
    /// Raster tiles under the outlines (`ui.tile_url`), if any.
    pub tile_url: Option<String>,
    /// The node's PMTiles basemap (`ui.pmtiles`), if any: read it by range requests.
    pub pmtiles_url: Option<String>,
}

/// Where the node serves its `ui.pmtiles` archive.
pub const PMTILES_PATH: &str = "/api/v1/basemap.pmtiles";

/// Checks at start-up that `path` is a PMTiles version 3 archive, so a wrong file is a
/// clear configuration error rather than a blank map.
pub fn check_pmtiles(path: &Path) -> Result<(), String> {
    let mut magic = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map_err(|e| format!("ui.pmtiles: cannot read {}: {e}", path.display()))?;
    match magic {
        [b'P', b'M', b'T', b'i', b'l', b'e', b's', 3] => Ok(()),
        [b'P', b'M', b'T', b'i', b'l', b'e', b's', v] => Err(format!(
            "ui.pmtiles: {} is PMTiles version {v}; convert it to version 3 (`pmtiles convert`)",
            path.display()
        )),
        _ => Err(format!(
            "ui.pmtiles: {} is not a PMTiles archive",
            path.display()
        )),
    }
}

/// GET (or HEAD) of the PMTiles basemap. Range requests, `ETag` and `Last-Modified` come
/// from tower-http's file service; the map reads a few kilobytes at a time.
#[utoipa::path(get, path = "/api/v1/basemap.pmtiles", tag = "picture", security(("bearer" = [])),
    params(("Range" = Option<String>, Header, description = "bytes=START-END")),
    responses(
        (status = 200, description = "The whole archive", content_type = "application/vnd.pmtiles"),
        (status = 206, description = "The requested range", content_type = "application/vnd.pmtiles"),
        (status = 404, description = "No `ui.pmtiles` on this node", body = super::error::ErrorBody)))]
pub async fn basemap(
    State(s): State<AppState>,
    who: Authed,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    who.require(Perm::ReadLive)?;
    let Some(path) = s.basemap_pmtiles.as_deref() else {
        return Err(ApiError::NotFound(
            "this node has no PMTiles basemap (ui.pmtiles)".into(),
        ));
    };
    match ServeFile::new(path).oneshot(req).await {
        Ok(r) => Ok(r.map(Body::new)),
        Err(never) => match never {},
    }
}

#[utoipa::path(get, path = "/api/v1/ui-config", tag = "picture", security(("bearer" = [])),
    responses((status = 200, body = UiConfig, description = "OK")))]
pub async fn ui_config(State(s): State<AppState>, who: Authed) -> Result<Json<UiConfig>, ApiError> {
    who.require(Perm::ReadLive)?;
    Ok(Json((*s.ui).clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_tile_server_only() {
        let p = content_security_policy(Some("https://tiles.post.local:8443/{z}/{x}/{y}.png"));
        assert!(
            p.contains("connect-src 'self' ws: wss: https://tiles.post.local:8443;"),
            "{p}"
        );
        let p = content_security_policy(None);
        assert!(p.contains("img-src 'self' data: blob: ;"), "{p}");
        assert_eq!(origin_of("/tiles/{z}/{x}/{y}.png"), None);
    }

    #[test]
    fn files_get_their_types() {
        assert_eq!(
            mime_of("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(mime_of("manifest.webmanifest"), "application/manifest+json");
        assert_eq!(mime_of("LICENSE"), "application/octet-stream");
    }
}
