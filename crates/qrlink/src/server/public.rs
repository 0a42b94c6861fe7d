//! The public side (R-FWD-1 to R-FWD-10): `/<slug>` redirects, `/<slug>+` previews, health.
//! All routes are listed in `router`; everything that is not a route is a slug.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use qrlink_core::bots;
use qrlink_core::counts::HitKind;
use qrlink_core::link::RedirectStatus;
use qrlink_core::slug::Slug;
use qrlink_core::table::Resolution;

use super::AppState;
use super::client::Peer;
use super::metrics::RouteClass;
use super::pages;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const PERMANENT_CACHE: HeaderValue = HeaderValue::from_static("private, max-age=90");
/// Public pages load nothing: no script, no style, no frames.
const CSP: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

pub fn router(state: Arc<AppState>) -> Router {
    let prefix = state.settings.base().path().to_owned();
    Router::new()
        .route(&format!("{prefix}_/health/live"), get(live))
        .route(&format!("{prefix}_/health/ready"), get(ready))
        .route("/robots.txt", get(robots))
        .route(
            &format!("{prefix}{}", super::assets::HTMX_PATH),
            get(super::assets::htmx),
        )
        .route(
            &format!("{prefix}{}", super::assets::ADMIN_CSS_PATH),
            get(super::assets::admin_css),
        )
        .nest(&format!("{prefix}_/api/v1"), super::api::router(&state))
        // A nested router answers `/_/admin` but not `/_/admin/`.
        .route(&format!("{prefix}_/admin/"), get(super::admin::home))
        .nest(
            &format!("{prefix}_/admin"),
            super::admin::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                super::admin::guard,
            )),
        )
        .fallback(slug_or_page)
        .layer(axum::middleware::map_request(super::paced_body::pace))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            protect,
        ))
        .with_state(state)
}

/// Security headers on every response (R-SEC-4); hyper adds no `Server` header.
async fn protect(State(state): State<Arc<AppState>>, mut response: Response) -> Response {
    add_security_headers(&state.settings, response.headers_mut());
    response
}

/// The one list of security headers, shared by the router and the redirect fast path.
pub fn add_security_headers(settings: &super::PublicSettings, headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Admin pages bring their own policy, which allows the admin's script and stylesheet.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(CSP);
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert_with(|| settings.referrer_policy.clone());
    if settings.base().is_https() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, NO_STORE);
    }
}

async fn live() -> &'static str {
    "ok\n"
}

/// Ready means the redirect table is loaded, not that the database answers: an outage must not
/// take every replica out of the load balancer (R-FWD-10).
async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    if state.table.is_loaded() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "loading\n")
    }
}

async fn robots() -> &'static str {
    "User-agent: *\nDisallow: /_/\n"
}

/// Everything the router has no route for: the home page, previews, 405s, and slugs that the
/// fast path did not already answer.
async fn slug_or_page(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let peer = Peer::address(request.extensions());
    if let Some(response) = answer_slug(&state, &request, peer) {
        return response;
    }
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        let mut response = status_only(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match request
        .uri()
        .path()
        .strip_prefix(state.settings.base().path())
    {
        Some("") => match &state.settings.home_url {
            Some(home) => state
                .redirect_headers
                .redirect(RedirectStatus::FOUND, home.clone()),
            None => page(StatusCode::OK, pages::render(&pages::HOME)),
        },
        Some(rest) if rest.ends_with('+') => {
            preview(&state, &rest[..rest.len() - 1], peer, request.headers()).await
        }
        _ => not_found(&state, peer, request.headers()),
    }
}

/// The headers of every redirect qrlink answers, built once: the security headers,
/// `Cache-Control` and a placeholder `Location`, for temporary and for permanent redirects.
/// A redirect clones one and replaces its `Location` in place. That copies the map with its
/// names' hashes; building it at every request hashed and probed each of seven names, about
/// a fifth of the instructions qrlink adds to hyper's per request (callgrind).
#[derive(Debug)]
pub(super) struct RedirectHeaders {
    temporary: HeaderMap,
    permanent: HeaderMap,
}

impl RedirectHeaders {
    pub(super) fn new(settings: &super::PublicSettings) -> RedirectHeaders {
        let headers = |cache| {
            let mut headers = HeaderMap::with_capacity(8);
            headers.insert(header::LOCATION, HeaderValue::from_static("/"));
            headers.insert(header::CACHE_CONTROL, cache);
            add_security_headers(settings, &mut headers);
            headers
        };
        RedirectHeaders {
            temporary: headers(NO_STORE),
            // Permanent redirects may be cached, but briefly, so that edits reach visitors
            // (R-FWD-1).
            permanent: headers(PERMANENT_CACHE),
        }
    }

    /// A redirect to `location`, with every header it needs.
    fn redirect(&self, status: RedirectStatus, location: HeaderValue) -> Response {
        let template = if status.is_permanent() {
            &self.permanent
        } else {
            &self.temporary
        };
        let mut headers = template.clone();
        // The placeholder is the template's first header: found by one comparison, where
        // `insert` would hash the name and probe.
        match headers
            .iter_mut()
            .find(|(name, _)| *name == header::LOCATION)
        {
            Some((_, placeholder)) => *placeholder = location,
            None => {
                headers.insert(header::LOCATION, location);
            }
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::from_u16(status.code()).unwrap_or(StatusCode::FOUND);
        *response.headers_mut() = headers;
        response
    }
}

/// The redirect path (R-FWD-1): a `GET` or `HEAD` of `<base path><slug>`, answered from the
/// in-memory table without the router, an allocation for the `Location` aside. Returns `None`
/// for any other request, which then goes through the router. `peer` is the connection's
/// address, read only when the slug is unknown (see [`not_found`]).
pub fn answer_slug<B>(
    state: &AppState,
    request: &axum::http::Request<B>,
    peer: IpAddr,
) -> Option<Response> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let rest = request
        .uri()
        .path()
        .strip_prefix(state.settings.base().path())?;
    if RouteClass::of(rest) != RouteClass::Slug {
        return None;
    }
    let now = state.clock.now();
    let kind = || hit_kind(method, request.headers());
    let query = request.uri().query();
    let resolution = state.table.visit(rest, query, now, kind, &state.counter);
    let mut response = match resolution {
        Resolution::Redirect {
            link_id,
            location,
            status,
        } => match HeaderValue::try_from(location) {
            // The security headers are in the redirect's template already.
            Ok(location) => return Some(state.redirect_headers.redirect(status, location)),
            // Stored targets are checked URLs, so this cannot happen; if it did, the visit
            // would already be counted.
            Err(_) => {
                tracing::error!(
                    link = link_id.0,
                    "a stored target is not a valid Location header"
                );
                status_only(StatusCode::INTERNAL_SERVER_ERROR)
            }
        },
        Resolution::Retired { .. } => match &state.settings.retired_url {
            Some(url) => state
                .redirect_headers
                .redirect(RedirectStatus::FOUND, url.clone()),
            None => page(StatusCode::GONE, pages::render(&pages::RETIRED)),
        },
        Resolution::NotFound => not_found(state, peer, request.headers()),
        Resolution::Unavailable => unavailable(),
    };
    add_security_headers(&state.settings, response.headers_mut());
    Some(response)
}

fn hit_kind(method: &Method, headers: &HeaderMap) -> HitKind {
    if method == Method::HEAD {
        return HitKind::Head;
    }
    /// In order of precedence.
    const PURPOSE_HEADERS: [HeaderName; 3] = [
        HeaderName::from_static("sec-purpose"),
        HeaderName::from_static("purpose"),
        HeaderName::from_static("x-moz"),
    ];
    // One pass over the request's headers (a phone sends about a dozen) instead of hashing
    // four names to look each up; the first value of a name counts, as with `get`.
    let mut user_agent = None;
    let mut purposes = [None; 3];
    for (name, value) in headers {
        if name == header::USER_AGENT {
            user_agent.get_or_insert(value.as_bytes());
        } else if let Some(at) = PURPOSE_HEADERS.iter().position(|purpose| purpose == name) {
            purposes[at].get_or_insert(value.as_bytes());
        }
    }
    let purpose = purposes.into_iter().flatten().next();
    if bots::is_preview(user_agent, purpose) {
        HitKind::Bot
    } else {
        HitKind::Hit
    }
}

/// The preview page (R-FWD-7): where a code goes, without going there. Counts nothing.
async fn preview(state: &AppState, raw_slug: &str, peer: IpAddr, headers: &HeaderMap) -> Response {
    let now = state.clock.now();
    let (target, status) = match state.table.resolve(raw_slug, None, now) {
        Resolution::Redirect { location, .. } => (location, StatusCode::OK),
        Resolution::Retired { .. } => {
            return page(StatusCode::GONE, pages::render(&pages::RETIRED));
        }
        Resolution::NotFound => return not_found(state, peer, headers),
        Resolution::Unavailable => return unavailable(),
    };
    // Title and notes are not kept in memory; without the database the preview shows the target alone.
    let link = match Slug::parse(raw_slug) {
        Ok(slug) => state.store.link(&slug).await.ok(),
        Err(_) => None,
    };
    let shown = link.as_ref().map(|l| l.state_at(now).target.shown());
    let target_display = shown
        .as_ref()
        .map_or_else(|| target.clone(), |shown| shown.unicode.clone());
    let short_url = link
        .as_ref()
        .map_or_else(String::new, |l| state.settings.base().link_url(&l.slug));
    let html = pages::render(&pages::Preview {
        short_url: &short_url,
        target: &target,
        target_display: &target_display,
        warning: shown.and_then(|shown| shown.warning),
        title: link.as_ref().map_or("", |l| &l.title),
        notes: link.as_ref().map_or("", |l| &l.notes),
    });
    page(status, html)
}

/// The answer for a slug that does not exist: a 404 page or the configured redirect, or a
/// 429 once the client asked for too many unknown slugs (enumeration, R-SEC-6). Known links
/// never come here, so they are never limited.
fn not_found(state: &AppState, peer: IpAddr, headers: &HeaderMap) -> Response {
    let client = state.client(peer, headers);
    if let Err(wait) = state.limits.unknown_slug.take(client, state.clock.now()) {
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            pages::render(&pages::TOO_MANY),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    match &state.settings.not_found_url {
        Some(url) => state
            .redirect_headers
            .redirect(RedirectStatus::FOUND, url.clone()),
        None => page(StatusCode::NOT_FOUND, pages::render(&pages::NOT_FOUND)),
    }
}

fn unavailable() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        pages::render(&pages::UNAVAILABLE),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn page(status: StatusCode, html: String) -> Response {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HTML);
    response
}

fn status_only(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}
