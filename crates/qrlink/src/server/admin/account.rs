//! Signing in and out, and the one-time password links (first-run setup, new users, resets).

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use qrlink_core::accounts::{
    self, Password, PasswordLinkFor, PasswordLinkSecret, SignIn, parse_user_name, random_token,
};
use serde::Deserialize;

use super::{
    AdminError, Chrome, Post, SESSION_COOKIE, SIGN_IN_COOKIE, cookie, html, parse_form, read_form,
    same_secret, see_other, set_cookie,
};
use crate::server::AppState;
use crate::server::client::{ClientKey, Peer};
use crate::server::pages::render;

/// The client of an admin request (see [`AppState::client`]).
fn client_of(state: &AppState, request: &Request) -> ClientKey {
    state.client(Peer::address(request.extensions()), request.headers())
}

/// Counts a request to a password link against its client's limit.
fn limit_password_link(state: &AppState, request: &Request) -> Result<(), AdminError> {
    let client = client_of(state, request);
    state
        .limits
        .password_link
        .take(client, state.clock.now())
        .map_err(|retry_after| AdminError::TooMany { retry_after })
}

#[derive(askama::Template)]
#[template(path = "admin/sign_in.html")]
struct SignInPage<'a> {
    c: &'a Chrome,
    next: &'a str,
    name: &'a str,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a path under the admin, never another site or page. `next`
/// is resolved as the browser will resolve it (dot segments, `%2e`, backslashes, `//host`)
/// before it is checked, and the resolved form is what is kept.
fn safe_next(chrome: &Chrome, next: Option<&str>) -> String {
    resolve_next(&chrome.admin, next)
}

/// [`safe_next`] for the admin at `admin` (`<base path>_/admin/`).
fn resolve_next(admin: &str, next: Option<&str>) -> String {
    let fallback = || format!("{admin}links");
    let Some(next) = next.filter(|next| next.starts_with('/')) else {
        return fallback();
    };
    let origin = url::Url::parse("http://qrlink.invalid/").expect("a valid URL");
    let Ok(resolved) = origin.join(next) else {
        return fallback();
    };
    let path = resolved.path();
    if resolved.origin() != origin.origin() || !path.starts_with(admin) || path.contains("//") {
        return fallback();
    }
    match resolved.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

pub async fn sign_in_page(
    State(state): State<Arc<AppState>>,
    Query(query): Query<NextQuery>,
) -> Response {
    let chrome = Chrome::new(&state, None);
    let next = safe_next(&chrome, query.next.as_deref());
    sign_in_form(&chrome, &next, "", None, StatusCode::OK)
}

/// The sign-in form, with a fresh token paired with a short-lived cookie: there is no
/// session yet to hold one (R-SEC-3 for the sign-in form too).
fn sign_in_form(
    chrome: &Chrome,
    next: &str,
    name: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let token = random_token();
    let chrome = Chrome {
        csrf: token.clone(),
        ..chrome.clone()
    };
    let mut response = html(
        status,
        render(&SignInPage {
            c: &chrome,
            next,
            name,
            error,
        }),
    );
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &token, Some(3600)),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, AdminError> {
    let chrome = Chrome::new(&state, None);
    let client = client_of(&state, &request);
    let now = state.clock.now();
    let limited = state.limits.sign_in.take(client, now);
    let (parts, body) = request.into_parts();
    let form: SignInForm = parse_form(&read_form(body).await?)?;
    let paired = cookie(&parts.headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_secret(&form.csrf, paired) {
        return Err(AdminError::Csrf);
    }
    let next = safe_next(&chrome, form.next.as_deref());
    let name = parse_user_name(&form.name).unwrap_or_default();
    let refused = |message: String, status, retry_after: Option<u64>| {
        let mut response = sign_in_form(&chrome, &next, &name, Some(message), status);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    };
    if let Err(wait) = limited {
        let seconds = wait.as_secs().max(1);
        return Ok(refused(
            format!("Too many sign-in attempts came from your network; try again in {seconds} s."),
            StatusCode::TOO_MANY_REQUESTS,
            Some(seconds),
        ));
    }
    let client = client.to_string();
    let signed_in = accounts::sign_in(
        &state.store,
        &state.password_work,
        &name,
        &form.password,
        &client,
        now,
    );
    let user = match signed_in.await? {
        SignIn::Accepted(user) => user,
        SignIn::Refused => {
            return Ok(refused(
                "Wrong name or password.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            ));
        }
        SignIn::Blocked { until } => {
            let seconds = (until - now).as_secs().max(1);
            return Ok(refused(
                format!("Too many failed attempts at this name; try again in {seconds} s."),
                StatusCode::TOO_MANY_REQUESTS,
                u64::try_from(seconds).ok(),
            ));
        }
    };
    start_session(&state, &user, &next).await
}

/// A new session for `user` (a new id at every sign-in, R-SEC-2), then on to `next`.
async fn start_session(
    state: &AppState,
    user: &qrlink_core::accounts::User,
    next: &str,
) -> Result<Response, AdminError> {
    let now = state.clock.now();
    let (secret, _) = state
        .store
        .create_session(user, state.settings.sessions, now)
        .await?;
    let mut response = see_other(next);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, secret.expose(), None),
    );
    headers.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", Some(0)));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// Deletes the session on the server (every replica refuses it at once) and the cookie.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    post: Post<Empty>,
) -> Result<Response, AdminError> {
    let Post { signed, .. } = post;
    state.store.delete_session(&signed.secret).await?;
    let mut response = see_other(&format!("{}sign-in", signed.chrome.admin));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    Ok(response)
}

#[derive(askama::Template)]
#[template(path = "admin/password.html")]
struct PasswordPage<'a> {
    c: &'a Chrome,
    /// `None` for the setup link, where the person also chooses their name.
    user: Option<&'a str>,
    name: &'a str,
    error: Option<String>,
}

fn link_secret(secret: &str) -> Result<PasswordLinkSecret, AdminError> {
    PasswordLinkSecret::parse(secret).ok_or_else(unusable)
}

fn unusable() -> AdminError {
    AdminError::Forbidden(
        "This link is unknown, used already, or expired. Ask an admin for a new one (`qrlink user reset-password NAME`).".into(),
    )
}

/// The page of a one-time link: shows a form, changes nothing.
pub async fn password_page(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    request: Request,
) -> Result<Response, AdminError> {
    limit_password_link(&state, &request)?;
    let secret = link_secret(&secret)?;
    let purpose = state
        .store
        .password_link(&secret, state.clock.now())
        .await?
        .ok_or_else(unusable)?;
    Ok(password_form(
        &state,
        &secret,
        &purpose,
        "",
        None,
        StatusCode::OK,
    ))
}

fn password_form(
    state: &AppState,
    secret: &PasswordLinkSecret,
    purpose: &PasswordLinkFor,
    name: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    // The link's own secret stands in for a session's token: only its holder has it.
    let chrome = Chrome {
        csrf: secret.expose().to_owned(),
        ..Chrome::new(state, None)
    };
    let user = match purpose {
        PasswordLinkFor::FirstAdmin => None,
        PasswordLinkFor::User(user) => Some(user.name.as_str()),
    };
    let mut response = html(
        status,
        render(&PasswordPage {
            c: &chrome,
            user,
            name,
            error,
        }),
    );
    // The secret is in this page's address: no other site may learn it.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    repeat: String,
}

/// Uses the link: sets the password (creating the first admin for the setup link) and signs
/// the person in.
pub async fn set_password(
    State(state): State<Arc<AppState>>,
    Path(secret): Path<String>,
    request: Request,
) -> Result<Response, AdminError> {
    limit_password_link(&state, &request)?;
    let secret = link_secret(&secret)?;
    let form: PasswordForm = parse_form(&read_form(request.into_body()).await?)?;
    if !same_secret(&form.csrf, secret.expose()) {
        return Err(AdminError::Csrf);
    }
    let now = state.clock.now();
    let purpose = state
        .store
        .password_link(&secret, now)
        .await?
        .ok_or_else(unusable)?;
    let checked = (|| {
        let name = match purpose {
            PasswordLinkFor::FirstAdmin => Some(parse_user_name(&form.name)?),
            PasswordLinkFor::User(_) => None,
        };
        let user_name = match (&name, &purpose) {
            (Some(name), _) => name.as_str(),
            (None, PasswordLinkFor::User(user)) => user.name.as_str(),
            (None, PasswordLinkFor::FirstAdmin) => "",
        };
        let context = [user_name, state.settings.base().host(), "qrlink"];
        let password = Password::choose(&form.password, &context)?;
        if form.password != form.repeat {
            return Err(qrlink_core::error::Invalid::new(
                "repeat",
                "same",
                "the two passwords differ",
            ));
        }
        Ok((name, password))
    })();
    let (name, password) = match checked {
        Ok(checked) => checked,
        Err(invalid) => {
            return Ok(password_form(
                &state,
                &secret,
                &purpose,
                &form.name,
                Some(invalid.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let hash = state.password_work.hash(password).await?;
    let user = state
        .store
        .use_password_link(&secret, name.as_deref(), &hash, now)
        .await?;
    let chrome = Chrome::new(&state, None);
    start_session(&state, &user, &format!("{}links", chrome.admin)).await
}

#[cfg(test)]
mod tests {
    use super::resolve_next;

    #[test]
    fn next_is_resolved_as_a_browser_would_before_it_is_checked() {
        let admin = "/qr/_/admin/";
        let next = |next: &str| resolve_next(admin, Some(next));
        assert_eq!(next("/qr/_/admin/links?q=talk"), "/qr/_/admin/links?q=talk");
        assert_eq!(
            next("/qr/_/admin/x/../users"),
            "/qr/_/admin/users",
            "kept resolved"
        );
        for away in [
            "/qr/_/admin/../../talk",
            "/qr/_/admin/%2e%2e/%2E%2E/talk",
            "//evil.example/qr/_/admin/",
            "/\\evil.example/qr/_/admin/",
            "https://evil.example/qr/_/admin/",
            "/qr/_/admin//evil",
            "qr/_/admin/links",
            "/qr/_/administrator",
        ] {
            let kept = next(away);
            assert!(
                kept == "/qr/_/admin/links" || (kept.starts_with(admin) && !kept.contains("..")),
                "{away} -> {kept}"
            );
        }
        assert_eq!(next("/qr/_/admin/../../talk"), "/qr/_/admin/links");
        // An encoded slash is no separator to a browser: it stays inside the admin.
        assert_eq!(
            next("/qr/_/admin/..%2f..%2ftalk"),
            "/qr/_/admin/..%2f..%2ftalk"
        );
        assert_eq!(resolve_next(admin, None), "/qr/_/admin/links");
    }
}
