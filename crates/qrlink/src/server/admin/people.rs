//! Users and API tokens, for admins. A new user or a password reset gives a one-time link to
//! pass on; a new token's secret is shown once. Neither is ever shown again.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use qrlink_core::accounts::{
    NewToken, Role, Scope, TokenInfo, User, parse_token_name, parse_user_name,
};
use serde::Deserialize;

use super::{AdminError, Chrome, Post, Signed, page, see_other};
use crate::link_cmd::display_time;
use crate::server::AppState;

#[derive(askama::Template)]
#[template(path = "admin/users.html")]
struct UsersPage<'a> {
    c: &'a Chrome,
    users: Vec<User>,
    /// A one-time link just made, for whom.
    handed_out: Option<(String, String)>,
}

async fn users_page(
    state: &AppState,
    signed: &Signed,
    handed_out: Option<(String, String)>,
) -> Result<Response, AdminError> {
    Ok(page(&UsersPage {
        c: &signed.chrome,
        users: state.store.users().await?,
        handed_out,
    }))
}

pub async fn users(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, AdminError> {
    signed.require_admin()?;
    users_page(&state, &signed, None).await
}

#[derive(Debug, Deserialize)]
pub struct AddUser {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// Adds a user and shows the one-time link where they choose their password.
pub async fn add_user(
    State(state): State<Arc<AppState>>,
    post: Post<AddUser>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    let now = state.clock.now();
    let user = state
        .store
        .create_user(&parse_user_name(&form.name)?, Role::parse(&form.role)?, now)
        .await?;
    let secret = state.store.create_password_link(Some(&user), now).await?;
    let link = crate::server::password_url(&state.settings.instance, &secret);
    users_page(&state, &signed, Some((user.name, link))).await
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    all_links: bool,
}

async fn existing(state: &AppState, name: &str) -> Result<User, AdminError> {
    let name = parse_user_name(name)?;
    state.store.user(&name).await?.ok_or(AdminError::NotFound)
}

pub async fn set_role(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    post: Post<RoleForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    let user = existing(&state, &name).await?;
    state
        .store
        .set_role(&user, Role::parse(&form.role)?, form.all_links)
        .await?;
    Ok(see_other(&format!("{}users", signed.chrome.admin)))
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn reset_password(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    post: Post<NoFields>,
) -> Result<Response, AdminError> {
    let Post { signed, .. } = post;
    signed.require_admin()?;
    let user = existing(&state, &name).await?;
    let secret = state
        .store
        .create_password_link(Some(&user), state.clock.now())
        .await?;
    let link = crate::server::password_url(&state.settings.instance, &secret);
    users_page(&state, &signed, Some((user.name, link))).await
}

/// A token as the tokens page lists it.
struct TokenRow {
    info: TokenInfo,
    created: String,
    expires: String,
    last_used: String,
    state: &'static str,
}

#[derive(askama::Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage<'a> {
    c: &'a Chrome,
    tokens: Vec<TokenRow>,
    users: Vec<User>,
    /// A token just created: its name and secret, shown this once.
    created: Option<(String, String)>,
}

async fn tokens_page(
    state: &AppState,
    signed: &Signed,
    created: Option<(String, String)>,
) -> Result<Response, AdminError> {
    let instance = &state.settings.instance;
    let now = state.clock.now();
    let time = |at: Option<jiff::Timestamp>, none: &str| {
        at.map_or_else(|| none.to_owned(), |at| display_time(at, instance))
    };
    let tokens = state
        .store
        .tokens()
        .await?
        .into_iter()
        .map(|info| TokenRow {
            created: display_time(info.created_at, instance),
            expires: time(info.expires_at, "never"),
            last_used: time(info.last_used_at, "never"),
            state: match (info.revoked_at, info.expires_at) {
                (Some(_), _) => "revoked",
                (None, Some(at)) if at <= now => "expired",
                _ => "active",
            },
            info,
        })
        .collect();
    Ok(page(&TokensPage {
        c: &signed.chrome,
        tokens,
        users: state.store.users().await?,
        created,
    }))
}

pub async fn tokens(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, AdminError> {
    signed.require_admin()?;
    tokens_page(&state, &signed, None).await
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    user: String,
    /// Days until it expires; empty for never.
    #[serde(default)]
    days: String,
}

pub async fn create_token(
    State(state): State<Arc<AppState>>,
    post: Post<TokenForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    let now = state.clock.now();
    let expires_at = match form.days.trim() {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(days @ 1..=3650) => Some(now + jiff::SignedDuration::from_hours(24 * days)),
            _ => {
                return Err(qrlink_core::error::Invalid::new(
                    "days",
                    "range",
                    "a token lasts 1 to 3650 days, or forever when left empty",
                )
                .into());
            }
        },
    };
    let new = NewToken {
        name: parse_token_name(&form.name)?,
        scope: Scope::parse(&form.scope)?,
        user: match form.user.trim() {
            "" => None,
            user => Some(parse_user_name(user)?),
        },
        expires_at,
    };
    let (info, secret) = state
        .store
        .create_token(&new, &signed.user().name, now)
        .await?;
    tokens_page(
        &state,
        &signed,
        Some((info.name, secret.expose().to_owned())),
    )
    .await
}

pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Path(id): Path<i64>,
    post: Post<NoFields>,
) -> Result<Response, AdminError> {
    let Post { signed, .. } = post;
    signed.require_admin()?;
    state.store.revoke_token(id, state.clock.now()).await?;
    Ok(see_other(&format!("{}tokens", signed.chrome.admin)))
}

/// One line of the settings page: a setting and its value.
struct Setting {
    name: &'static str,
    value: String,
    flag: &'static str,
}

#[derive(askama::Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage<'a> {
    c: &'a Chrome,
    settings: Vec<Setting>,
    blocked: Vec<(String, String)>,
    presets: Vec<String>,
}

/// The instance's settings (R-UI-2): those of the configuration, shown, and the blocklist of
/// target domains, kept in the database and edited here.
pub async fn settings(
    State(state): State<Arc<AppState>>,
    signed: Signed,
) -> Result<Response, AdminError> {
    signed.require_admin()?;
    let s = &state.settings;
    let instance = &s.instance;
    let minutes = |d: jiff::SignedDuration| format!("{} minutes", d.as_secs() / 60);
    let settings = vec![
        Setting {
            name: "Public base URL",
            value: instance.base().to_string(),
            flag: "--base-url",
        },
        Setting {
            name: "Display time zone",
            value: instance.time_zone.iana_name().unwrap_or("UTC").to_owned(),
            flag: "--time-zone",
        },
        Setting {
            name: "Private and loopback targets",
            value: if instance.policy.allow_private {
                "allowed"
            } else {
                "refused"
            }
            .into(),
            flag: "--allow-private-targets",
        },
        Setting {
            name: "Uppercase in codes (smaller symbols)",
            value: if instance.uppercase_codes {
                "yes"
            } else {
                "no"
            }
            .into(),
            flag: "--lowercase-codes",
        },
        Setting {
            name: "Session ends when idle for",
            value: minutes(s.sessions.idle),
            flag: "--session-idle-minutes",
        },
        Setting {
            name: "Session ends at the latest after",
            value: minutes(s.sessions.absolute),
            flag: "--session-hours",
        },
        Setting {
            name: "Access log with visitor addresses",
            value: if s.access_log { "on" } else { "off" }.into(),
            flag: "--access-log",
        },
    ];
    let blocked = state
        .store
        .blocked_domains()
        .await?
        .into_iter()
        .map(|b| {
            let when = display_time(b.added_at, instance);
            (b.domain, format!("{when} by {}", b.added_by))
        })
        .collect();
    let presets = state.store.style_presets().await?;
    Ok(page(&SettingsPage {
        c: &signed.chrome,
        settings,
        blocked,
        presets: presets.into_iter().map(|(name, _)| name).collect(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
}

pub async fn block_domain(
    State(state): State<Arc<AppState>>,
    post: Post<DomainForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    state
        .store
        .block_domain(&form.domain, &signed.user().name, state.clock.now())
        .await?;
    Ok(see_other(&format!("{}settings", signed.chrome.admin)))
}

pub async fn unblock_domain(
    State(state): State<Arc<AppState>>,
    post: Post<DomainForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    state.store.unblock_domain(form.domain.trim()).await?;
    Ok(see_other(&format!("{}settings", signed.chrome.admin)))
}

#[derive(Debug, Deserialize)]
pub struct PresetForm {
    #[serde(default)]
    name: String,
}

pub async fn delete_preset(
    State(state): State<Arc<AppState>>,
    post: Post<PresetForm>,
) -> Result<Response, AdminError> {
    let Post { signed, form } = post;
    signed.require_admin()?;
    state.store.delete_style_preset(&form.name).await?;
    Ok(see_other(&format!("{}settings", signed.chrome.admin)))
}
