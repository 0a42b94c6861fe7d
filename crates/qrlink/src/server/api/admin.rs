//! `/tokens` and `/users`: for tokens with the admin scope.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use qrlink_core::accounts::{NewToken, Scope, TokenInfo, parse_token_name, parse_user_name};

use super::links::{ApiJson, ApiPath};
use super::{ApiError, Authenticated};
use crate::server::AppState;

/// A token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub id: i64,
    pub name: String,
    /// `qrl_` and the first characters of the secret.
    pub prefix: String,
    pub scope: ScopeBody,
    /// The user whose role caps the token.
    pub user: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeBody {
    Read,
    Write,
    Admin,
}

impl From<Scope> for ScopeBody {
    fn from(scope: Scope) -> ScopeBody {
        match scope {
            Scope::Read => ScopeBody::Read,
            Scope::Write => ScopeBody::Write,
            Scope::Admin => ScopeBody::Admin,
        }
    }
}

impl From<TokenInfo> for TokenBody {
    fn from(token: TokenInfo) -> TokenBody {
        TokenBody {
            id: token.id,
            name: token.name,
            prefix: token.prefix,
            scope: token.scope.into(),
            user: token.user,
            created_at: token.created_at,
            created_by: token.created_by,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// Every token, revoked and expired ones included.
#[utoipa::path(get, path = "/tokens", tag = "admin", responses(
    (status = 200, body = Vec<TokenBody>),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)
))]
pub async fn tokens(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
) -> Result<Json<Vec<TokenBody>>, ApiError> {
    auth.require(Scope::Admin)?;
    let tokens = state.store.tokens().await?;
    Ok(Json(tokens.into_iter().map(TokenBody::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    scope: ScopeBody,
    /// Tie the token to this user, whose role then caps it.
    user: Option<String>,
    /// When the token stops working (RFC 3339); never when left out.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
}

/// A new token and its secret, which is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenBody,
    /// `qrl_` and 43 base62 characters. Only its hash is kept.
    pub secret: String,
}

/// Creates a token; its secret is in this answer only.
#[utoipa::path(post, path = "/tokens", tag = "admin", request_body = CreateToken, responses(
    (status = 201, body = CreatedToken),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let caller = auth.require(Scope::Admin)?;
    let now = state.clock.now();
    let name = parse_token_name(&body.name).map_err(qrlink_core::Error::from)?;
    if body.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::invalid(
            "expires_at",
            "future",
            "expires_at must lie in the future",
        ));
    }
    let new = NewToken {
        name,
        scope: match body.scope {
            ScopeBody::Read => Scope::Read,
            ScopeBody::Write => Scope::Write,
            ScopeBody::Admin => Scope::Admin,
        },
        user: body
            .user
            .as_deref()
            .map(parse_user_name)
            .transpose()
            .map_err(qrlink_core::Error::from)?,
        expires_at: body.expires_at,
    };
    let (token, secret) = state
        .store
        .create_token(&new, &caller.actor_name(), now)
        .await?;
    let created = CreatedToken {
        token: token.into(),
        secret: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a token; every replica refuses it from its next request on.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "admin", params(("id" = i64, Path)), responses(
    (status = 204, description = "Revoked"),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    auth.require(Scope::Admin)?;
    match state.store.revoke_token(id, state.clock.now()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(qrlink_core::Error::Invalid(invalid)) if invalid.rule == "exists" => {
            Err(ApiError::not_found(invalid.message))
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub name: String,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Every user.
#[utoipa::path(get, path = "/users", tag = "admin", responses(
    (status = 200, body = Vec<UserBody>),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody)
))]
pub async fn users(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
) -> Result<Json<Vec<UserBody>>, ApiError> {
    auth.require(Scope::Admin)?;
    let users = state.store.users().await?;
    Ok(Json(
        users
            .into_iter()
            .map(|user| UserBody {
                name: user.name,
                role: user.role.as_str().to_owned(),
                created_at: user.created_at,
            })
            .collect(),
    ))
}
