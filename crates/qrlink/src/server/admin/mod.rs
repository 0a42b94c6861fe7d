//! The admin web UI under `<base path>_/admin` (R-UI-1, R-UI-2, R-SEC-1 to R-SEC-4).
//!
//! Pages are rendered on the server by askama, which escapes every value, and work without
//! JavaScript. htmx, served by qrlink itself, boosts links and forms (no full reloads) and adds
//! active search and a live QR preview; a handler answers an htmx request for one part of a
//! page (`HX-Target`) with that part only.
//!
//! Every request is checked in this order: the [`guard`] refuses unsafe cross-site requests
//! (Sec-Fetch-Site, then Origin) and gives every answer the admin CSP; [`Signed`] finds the
//! session from the `__Host-` cookie, or sends the browser to sign in; [`Post`] checks the
//! session's synchronizer token before a form is read. Nothing changes state on `GET`.

mod account;
mod chart;
mod links;
mod people;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use qrlink_core::accounts::{Role, Session, SessionSecret, User};
use qrlink_core::error::Invalid;
use serde::de::DeserializeOwned;

use super::AppState;
use super::pages::render;

/// The session cookie. `__Host-` makes browsers insist on Secure, `Path=/` and no Domain, so no
/// other host or path can set or shadow it (R-SEC-2).
const SESSION_COOKIE: &str = "__Host-qrlink-session";
/// Before sign-in there is no session: the sign-in form's token is paired with this cookie.
const SIGN_IN_COOKIE: &str = "__Host-qrlink-sign-in";
/// Forms are small; a larger body is refused before it is read.
const FORM_LIMIT: usize = 64 * 1024;

pub fn router() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/", get(home))
        .route(
            "/sign-in",
            get(account::sign_in_page).post(account::sign_in),
        )
        .route("/sign-out", post(account::sign_out))
        .route(
            "/password/{secret}",
            get(account::password_page).post(account::set_password),
        )
        .route("/links", get(links::list).post(links::create))
        .route("/links/new", get(links::new_page))
        .route("/links/{slug}", get(links::show))
        .route("/links/{slug}/qr", get(links::qr))
        .route(
            "/links/{slug}/style",
            // A logo of at most 1 MiB, and the one a preview carries on.
            post(links::style).layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route("/links/{slug}/target", post(links::set_target))
        .route("/links/{slug}/target-edit", get(links::target_edit))
        .route("/links/{slug}/target-cell", get(links::target_cell))
        .route("/links/{slug}/details", post(links::details))
        .route("/links/{slug}/lock", post(links::lock))
        .route("/links/{slug}/status", post(links::status))
        .route("/links/{slug}/rename", post(links::rename))
        .route("/links/{slug}/restore/{seq}", post(links::restore))
        .route("/links/{slug}/unschedule/{id}", post(links::unschedule))
        .route("/users", get(people::users).post(people::add_user))
        .route("/users/{name}/role", post(people::set_role))
        .route("/users/{name}/reset", post(people::reset_password))
        .route("/settings", get(people::settings))
        .route("/settings/blocked", post(people::block_domain))
        .route("/settings/unblocked", post(people::unblock_domain))
        .route("/settings/presets/delete", post(people::delete_preset))
        .route("/tokens", get(people::tokens).post(people::create_token))
        .route("/tokens/{id}/revoke", post(people::revoke_token))
        .fallback(|| async { AdminError::NotFound })
}

/// `/_/admin` and `/_/admin/` lead to the links (an absolute path: a relative one would
/// resolve differently from the two).
pub async fn home(State(state): State<Arc<AppState>>) -> Redirect {
    Redirect::to(&format!("{}links", Chrome::new(&state, None).admin))
}

/// Refuses unsafe requests from other sites (R-SEC-3) and sets the admin CSP (R-UI-1).
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = if !safe && is_cross_site(request.headers(), state.settings.base()) {
        AdminError::CrossSite.into_response()
    } else {
        next.run(request).await
    };
    if let Some(failure) = response.extensions_mut().remove::<Failure>() {
        let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
        response = finish_failure(&state, failure, response.status());
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
    }
    let mut csp = String::from(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    if let Some(uri) = &state.settings.csp_report_uri {
        csp.push_str("; report-uri ");
        csp.push_str(uri);
    }
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A request another site made the browser send: told by `Sec-Fetch-Site` where the browser
/// sends it, else by an `Origin` that is not the configured base URL's (the `Host` header is
/// the client's to choose, so it proves nothing).
fn is_cross_site(headers: &HeaderMap, base: &qrlink_core::base_url::BaseUrl) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(origin) => !origin.to_str().is_ok_and(|origin| base.is_origin(origin)),
    }
}

/// What every admin page shows around its content: where things are, and who is signed in.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// `<base path>_/admin/`, for links and forms.
    pub admin: String,
    /// `<base path>_/assets/`.
    pub assets: String,
    pub user: Option<User>,
    /// The session's synchronizer token, put into every form.
    pub csrf: String,
}

impl Chrome {
    fn new(state: &AppState, session: Option<&Session>) -> Chrome {
        let base = state.settings.base().path();
        Chrome {
            admin: format!("{base}_/admin/"),
            assets: format!("{base}_/assets/"),
            user: session.map(|session| session.user.clone()),
            csrf: session.map(|s| s.csrf_token.clone()).unwrap_or_default(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|user| user.role == Role::Admin)
    }

    pub fn htmx(&self) -> String {
        format!("{}{}", self.assets, super::assets::HTMX_FILE)
    }
}

/// A signed-in user's request: the session from the cookie, still live on the server.
pub struct Signed {
    pub session: Session,
    pub secret: SessionSecret,
    pub chrome: Chrome,
}

impl FromRequestParts<Arc<AppState>> for Signed {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // After signing in, back to the page asked for (a path of this site only).
        let sign_in = || AdminError::SignIn {
            next: parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .and_then(|uri| uri.path_and_query())
                .map(|p| p.as_str().to_owned())
                .filter(|_| parts.method == Method::GET),
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE).and_then(SessionSecret::parse)
        else {
            return Err(sign_in());
        };
        let now = state.clock.now();
        let session = state
            .store
            .session(&secret, state.settings.sessions, now)
            .await?
            .ok_or_else(sign_in)?;
        let chrome = Chrome::new(state, Some(&session));
        Ok(Signed {
            session,
            secret,
            chrome,
        })
    }
}

impl Signed {
    pub fn user(&self) -> &User {
        &self.session.user
    }

    pub fn require_admin(&self) -> Result<(), AdminError> {
        if self.chrome.is_admin() {
            Ok(())
        } else {
            Err(AdminError::Forbidden("only admins can do this".into()))
        }
    }

    pub fn actor(&self) -> qrlink_core::link::Actor {
        qrlink_core::link::Actor::new(self.user().name.clone(), qrlink_core::link::Interface::Web)
    }
}

/// A form posted by a signed-in user, accepted only with the session's synchronizer token
/// (R-SEC-3). The token is checked before the form's fields are looked at.
pub struct Post<T> {
    pub signed: Signed,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Post<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self, AdminError> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let bytes = read_form(body).await?;
        let sent: CsrfField = parse_form(&bytes)?;
        if !same_secret(&sent.csrf, &signed.session.csrf_token) {
            return Err(AdminError::Csrf);
        }
        let form = parse_form(&bytes)?;
        Ok(Post { signed, form })
    }
}

/// An `application/x-www-form-urlencoded` form's fields, or which rule it broke.
fn parse_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    serde_urlencoded::from_bytes(bytes)
        .map_err(|error| AdminError::Invalid(Invalid::new("form", "format", error.to_string())))
}

async fn read_form(body: axum::body::Body) -> Result<axum::body::Bytes, AdminError> {
    axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(
            |error| match crate::server::paced_body::is_too_slow(&error) {
                true => AdminError::TooSlow,
                false => AdminError::Invalid(Invalid::new(
                    "form",
                    "size",
                    "the form is larger than 64 KiB",
                )),
            },
        )
}

/// A `multipart/form-data` form: its text fields and one file.
pub struct MultipartForm {
    pub fields: Vec<(String, String)>,
    pub file: Option<Vec<u8>>,
}

impl MultipartForm {
    /// A text field's value, or `""`.
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value)
    }
}

/// Reads a multipart form of `signed`'s session, with the file field `file_field` (an empty
/// file counts as none), and checks its synchronizer token before anything is used.
pub async fn read_multipart(
    signed: &Signed,
    mut multipart: axum::extract::Multipart,
    file_field: &str,
) -> Result<MultipartForm, AdminError> {
    let malformed = |error: axum::extract::multipart::MultipartError| {
        AdminError::Invalid(Invalid::new("form", "format", error.body_text()))
    };
    let mut form = MultipartForm {
        fields: Vec::new(),
        file: None,
    };
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_field {
            let bytes = field.bytes().await.map_err(malformed)?;
            if !bytes.is_empty() {
                form.file = Some(bytes.to_vec());
            }
        } else {
            let text = field.text().await.map_err(malformed)?;
            form.fields.push((name, text));
        }
    }
    if !same_secret(form.field("csrf"), &signed.session.csrf_token) {
        return Err(AdminError::Csrf);
    }
    form.fields.retain(|(key, _)| key != "csrf");
    Ok(form)
}

/// Compares two secrets in time that depends on their length only.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !b.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value for one of the admin's cookies: `__Host-` rules, script cannot read
/// it, and it is sent on top-level navigations from other sites but never on their posts.
fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{age}"
    ))
    .expect("cookie values are base62")
}

/// Whether htmx asked for the element `id` only.
fn wants_part(headers: &HeaderMap, id: &str) -> bool {
    headers.contains_key("hx-request")
        && headers.get("hx-target").map(HeaderValue::as_bytes) == Some(id.as_bytes())
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn page(template: &impl askama::Template) -> Response {
    html(StatusCode::OK, render(template))
}

/// After a change, the page to show (Post/Redirect/Get; htmx follows it too).
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Everything that ends an admin request early, each shown as a page that says why.
#[derive(Debug)]
pub enum AdminError {
    /// Not signed in (or the session ended): to the sign-in page, then back to `next`.
    SignIn {
        next: Option<String>,
    },
    Forbidden(String),
    NotFound,
    CrossSite,
    Csrf,
    Invalid(Invalid),
    Core(qrlink_core::Error),
    /// The request's body came too slowly and was not read to its end (R-SEC-13).
    TooSlow,
    /// This client asked too often (R-SEC-6); it may try again after the wait.
    TooMany {
        retry_after: std::time::Duration,
    },
}

impl From<qrlink_core::Error> for AdminError {
    fn from(error: qrlink_core::Error) -> AdminError {
        match error {
            qrlink_core::Error::Invalid(invalid) => AdminError::Invalid(invalid),
            other => AdminError::Core(other),
        }
    }
}

impl From<Invalid> for AdminError {
    fn from(invalid: Invalid) -> AdminError {
        AdminError::Invalid(invalid)
    }
}

#[derive(askama::Template)]
#[template(path = "admin/error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    heading: &'a str,
    message: &'a str,
}

/// What went wrong, left on the response for [`guard`], which knows the instance's paths and
/// renders the page (or the redirect to sign-in).
#[derive(Debug, Clone)]
enum Failure {
    SignIn {
        next: Option<String>,
    },
    Page {
        heading: &'static str,
        message: String,
    },
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        use qrlink_core::Error as Core;
        let retry_after = match &self {
            AdminError::TooMany { retry_after } | AdminError::Core(Core::Busy { retry_after }) => {
                Some(retry_after.as_secs().max(1))
            }
            _ => None,
        };
        let (status, heading, message) = match self {
            AdminError::SignIn { next } => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                response.extensions_mut().insert(Failure::SignIn { next });
                return response;
            }
            AdminError::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message),
            AdminError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page.".to_owned(),
            ),
            AdminError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This request came from another site and was refused.".to_owned(),
            ),
            AdminError::Csrf => (
                StatusCode::FORBIDDEN,
                "Refused",
                "The form is out of date or was not sent by this site. Go back, reload the page and try again.".to_owned(),
            ),
            AdminError::Invalid(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Cannot do that",
                invalid.to_string(),
            ),
            AdminError::Core(error @ (Core::NotFound(_) | Core::Missing(_))) => {
                (StatusCode::NOT_FOUND, "Not found", error.to_string())
            }
            AdminError::Core(
                error @ (Core::SlugTaken(_)
                | Core::ConfirmationRequired(_)
                | Core::LockedRename(_)
                | Core::Conflict(_)),
            ) => (StatusCode::CONFLICT, "Cannot do that", error.to_string()),
            AdminError::TooSlow => (
                StatusCode::REQUEST_TIMEOUT,
                "Too slow",
                "The form arrived too slowly and was not read. Nothing was changed; send it again."
                    .to_owned(),
            ),
            AdminError::TooMany { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                format!(
                    "Too many requests of this kind came from your network. Try again in {} s.",
                    retry_after.as_secs().max(1)
                ),
            ),
            AdminError::Core(error @ Core::Busy { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                format!("{error}; nothing was changed."),
            ),
            AdminError::Core(error) => {
                tracing::warn!(%error, "admin request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "The database cannot be reached right now; nothing was changed. Try again in a moment.".to_owned(),
                )
            }
        };
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(Failure::Page { heading, message });
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Turns a [`Failure`] into what the browser gets.
fn finish_failure(state: &AppState, failure: Failure, status: StatusCode) -> Response {
    let chrome = Chrome::new(state, None);
    match failure {
        Failure::SignIn { next } => {
            let mut location = format!("{}sign-in", chrome.admin);
            if let Some(next) = next {
                location.push_str("?next=");
                location.extend(url::form_urlencoded::byte_serialize(next.as_bytes()));
            }
            see_other(&location)
        }
        Failure::Page { heading, message } => html(
            status,
            render(&ErrorPage {
                c: &chrome,
                heading,
                message: &message,
            }),
        ),
    }
}
