//! Browser assets served by qrlink itself under `/_/assets/` (R-UI-1: no CDN). Vendored files
//! are embedded unmodified; their names carry the version, so they may be cached for a year.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// htmx, vendored unmodified in `vendor/htmx` (version, source and checksums there).
pub const HTMX_FILE: &str = "htmx-2.0.11.min.js";
pub const HTMX_PATH: &str = "_/assets/htmx-2.0.11.min.js";
const HTMX: &[u8] = include_bytes!("../../../../vendor/htmx/htmx.min.js");

pub async fn htmx() -> Response {
    asset(
        HTMX,
        "text/javascript; charset=utf-8",
        "public, max-age=31536000, immutable",
    )
}

/// The admin's stylesheet, ours. Its name does not change between versions, so browsers check
/// it again after five minutes.
pub const ADMIN_CSS_PATH: &str = "_/assets/admin.css";
const ADMIN_CSS: &str = include_str!("../../assets/admin.css");

pub async fn admin_css() -> Response {
    asset(
        ADMIN_CSS.as_bytes(),
        "text/css; charset=utf-8",
        "public, max-age=300",
    )
}

fn asset(body: &'static [u8], content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
