//! The JSON API under `/_/api/v1` (R-SEC-5), following `docs/API.md`: plural nouns, bearer
//! tokens only, one error body for every failure. Handlers parse input into core types, call
//! one store operation, and answer with the same link JSON everywhere.
//!
//! Routes are registered through `utoipa_axum`, so the OpenAPI document served at
//! `/_/api/v1/openapi.json` is generated from the very handlers that answer.

mod admin;
mod error;
mod links;

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use qrlink_core::accounts::{Caller, LinkRights, Scope, TokenSecret};
use qrlink_core::link::{Actor, Interface};
use qrlink_core::slug::Slug;

pub use error::ApiError;

use super::AppState;
use super::client::Peer;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "qrlink API",
        description = "Links, their history, counts and QR codes; API tokens. See docs/API.md.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "links", description = "Short links and where they point"),
        (name = "admin", description = "Tokens and users (admin scope)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The failures any operation may answer with, documented on every one: a malformed request
/// (400), no valid token (401), a token without the scope (403), invalid input (422), the
/// database unreachable (503), and for operations with a body, one that is not JSON (415).
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, ResponseBuilder, content::ContentBuilder};
        let error = |description: &str| {
            let body = ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", body)
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let mut common = vec![
                    ("400", "The request is malformed"),
                    (
                        "401",
                        "No valid token: missing, unknown, expired, revoked, or sent in the URL",
                    ),
                    ("403", "The token lacks the scope"),
                    ("422", "Invalid input: `field` and `rule` say which and why"),
                    (
                        "503",
                        "The database is unavailable; retry after the `Retry-After` seconds",
                    ),
                ];
                if operation.request_body.is_some() {
                    common.push(("415", "The body is not `application/json`"));
                }
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// The API's routes and its OpenAPI document, generated together.
fn routes() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(links::list, links::create))
        .routes(routes!(links::show, links::update))
        .routes(routes!(links::set_target))
        .routes(routes!(links::retire))
        .routes(routes!(links::unretire))
        .routes(routes!(links::set_lock))
        .routes(routes!(links::rename))
        .routes(routes!(links::history))
        .routes(routes!(links::restore))
        .routes(routes!(links::unschedule))
        .routes(routes!(links::counts))
        .routes(routes!(links::qr))
        .routes(routes!(admin::tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::users))
        .split_for_parts()
}

/// The OpenAPI document, as served and as snapshotted in `docs/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut document) = routes();
    // After the routes: the derive's modifiers run before `OpenApiRouter` adds any path.
    CommonErrors.modify(&mut document);
    document.servers = Some(vec![utoipa::openapi::Server::new("/_/api/v1")]);
    document
}

/// The router mounted at `<base path>_/api/v1`.
pub fn router(state: &AppState) -> axum::Router<Arc<AppState>> {
    let (api, _) = routes();
    let mut document = openapi();
    let served_at = format!("{}_/api/v1", state.settings.base().path());
    document.servers = Some(vec![utoipa::openapi::Server::new(served_at)]);
    api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let document = document.clone();
            async move { Json(document) }
        }),
    )
    .fallback(|| async { ApiError::not_found_route() })
    .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
}

/// An authenticated caller, from `Authorization: Bearer …` and nowhere else.
#[derive(Debug)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = ApiError;

    /// Refuses a client with too many failed authentications (R-SEC-6) before looking its
    /// token up, and counts each failure.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let client = state.client(Peer::address(&parts.extensions), &parts.headers);
        let now = state.clock.now();
        let limit = &state.limits.api_auth_failure;
        if let Err(wait) = limit.check(client, now) {
            return Err(ApiError::too_many(wait));
        }
        let authenticated = authenticate(parts, state, now).await;
        if authenticated.as_ref().is_err_and(ApiError::is_unauthorized) {
            let _ = limit.take(client, now);
        }
        authenticated.map(Authenticated)
    }
}

async fn authenticate(
    parts: &Parts,
    state: &AppState,
    now: jiff::Timestamp,
) -> Result<Caller, ApiError> {
    // A token in a URL ends up in logs and browser history: refused like a missing one,
    // even when a valid one also comes in the header.
    let token_in_url = parts.uri.query().is_some_and(|query| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(key, value)| {
            matches!(&*key, "token" | "access_token") || TokenSecret::parse(&value).is_some()
        })
    });
    if token_in_url {
        return Err(ApiError::unauthorized(
            "tokens are accepted in the Authorization header only, never in the URL",
        ));
    }
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("send a token: `Authorization: Bearer qrl_…`"))?;
    let secret = header
        .strip_prefix("Bearer ")
        .and_then(|token| TokenSecret::parse(token.trim()))
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not `Bearer qrl_…`"))?;
    state
        .store
        .authenticate(&secret, now)
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token is unknown, expired or revoked"))
}

impl Authenticated {
    /// The caller, if its scope includes `needed`.
    pub fn require(self, needed: Scope) -> Result<Caller, ApiError> {
        if self.0.scope >= needed {
            Ok(self.0)
        } else {
            Err(ApiError::forbidden(needed))
        }
    }
}

impl Authenticated {
    /// The caller, if it may change the link `slug`: a write scope, and for a token of an
    /// editor, a link the editor owns unless they were granted all links (R-SEC-1).
    pub async fn may_change(self, state: &AppState, slug: &Slug) -> Result<Caller, ApiError> {
        let caller = self.require(Scope::Write)?;
        if caller.rights == LinkRights::All
            || caller.rights.may_change(&state.store.link(slug).await?)
        {
            Ok(caller)
        } else {
            Err(ApiError::not_owner(slug))
        }
    }
}

fn actor(caller: &Caller) -> Actor {
    Actor::new(caller.actor_name(), Interface::Api)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The committed `docs/openapi.json` is what the code generates, so every change to the
    /// API shows up as a diff in review. `QRLINK_BLESS=1 cargo test -p qrlink openapi` rewrites it.
    #[test]
    fn the_openapi_snapshot_matches_the_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let generated = serde_json::to_string_pretty(&super::openapi()).unwrap() + "\n";
        if std::env::var_os("QRLINK_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/openapi.json is out of date: run `QRLINK_BLESS=1 cargo test -p qrlink openapi`"
        );
    }
}
