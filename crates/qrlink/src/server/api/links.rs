//! `/links`: create, read, list, re-point, retire, lock, rename; history, counts, QR codes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use qrlink_core::accounts::{Scope, parse_user_name};
use qrlink_core::link::{
    Change, HistoryEntry, Link, LinkDetails, LinkStatus, MAX_NOTES, MAX_REASON, MAX_TITLE, NewLink,
    RedirectStatus, ScheduledAction, Tag, parse_text,
};
use qrlink_core::slug::Slug;
use qrlink_core::store::{LinkOrder, LinkQuery, TargetChange};
use qrlink_core::target::TargetUrl;

use super::{ApiError, Authenticated, actor};
use crate::server::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body, refused with the API's error body when it is not JSON of the right shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let status = match &rejection {
                    JsonRejection::JsonDataError(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    JsonRejection::BytesRejection(bytes)
                        if crate::server::paced_body::is_too_slow(bytes) =>
                    {
                        StatusCode::REQUEST_TIMEOUT
                    }
                    // 413 for a body over the limit, 400 for one that could not be read.
                    _ => rejection.status(),
                };
                Err(ApiError::bad_json(status, rejection.body_text()))
            }
        }
    }
}

/// Query parameters, refused with the API's error body when they do not parse.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::invalid("query", "parameters", rejection.body_text()))
    }
}

/// Path parameters, refused with the API's error body when they do not parse.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::invalid("path", "parameters", rejection.body_text()))
    }
}

/// A link as every endpoint shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkBody {
    pub slug: String,
    /// The short URL that QR codes encode.
    pub url: String,
    pub target: String,
    pub title: String,
    pub notes: String,
    /// The user who owns the link; `null` for links made without one.
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub status: StatusBody,
    /// Printed: re-pointing or retiring needs `confirm: true`, renaming is refused.
    pub locked: bool,
    #[schema(minimum = 301, maximum = 308)]
    pub redirect_status: u16,
    pub forward_query: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Earlier slugs, which keep redirecting.
    pub aliases: Vec<String>,
    /// Pending changes, oldest first.
    pub schedule: Vec<ScheduleBody>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusBody {
    Active,
    Retired,
}

impl From<LinkStatus> for StatusBody {
    fn from(status: LinkStatus) -> StatusBody {
        match status {
            LinkStatus::Active => StatusBody::Active,
            LinkStatus::Retired => StatusBody::Retired,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleBody {
    /// Pass to `DELETE /links/{slug}/schedule/{id}` to cancel.
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub action: ScheduledActionBody,
    /// The new target, for `action: target`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledActionBody {
    Target,
    Retire,
}

impl LinkBody {
    fn new(link: Link, state: &AppState) -> LinkBody {
        LinkBody {
            url: state.settings.base().link_url(&link.slug),
            slug: link.slug.to_string(),
            target: link.target.to_string(),
            title: link.title,
            notes: link.notes,
            owner: link.owner,
            tags: link
                .tags
                .iter()
                .map(|tag| tag.as_str().to_owned())
                .collect(),
            status: link.status.into(),
            locked: link.locked,
            redirect_status: link.redirect_status.code(),
            forward_query: link.forward_query,
            created_at: link.created_at,
            updated_at: link.updated_at,
            aliases: link.aliases.iter().map(ToString::to_string).collect(),
            schedule: link
                .schedule
                .into_iter()
                .map(|entry| {
                    let (action, target) = match entry.action {
                        ScheduledAction::Target { target } => {
                            (ScheduledActionBody::Target, Some(target.to_string()))
                        }
                        ScheduledAction::Retire => (ScheduledActionBody::Retire, None),
                    };
                    ScheduleBody {
                        id: entry.id,
                        at: entry.at,
                        action,
                        target,
                    }
                })
                .collect(),
        }
    }
}

fn reply(link: Link, state: &AppState) -> Json<LinkBody> {
    Json(LinkBody::new(link, state))
}

fn slug(text: &str) -> ApiResult<Slug> {
    Ok(Slug::parse(text).map_err(qrlink_core::Error::from)?)
}

fn tags(tags: &[String]) -> ApiResult<Vec<Tag>> {
    Ok(Tag::parse_all(tags).map_err(qrlink_core::Error::from)?)
}

fn text(field: &'static str, value: &str, max: usize, multiline: bool) -> ApiResult<String> {
    Ok(parse_text(field, value, max, multiline).map_err(qrlink_core::Error::from)?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Case-insensitive text in the slug, title or target.
    search: Option<String>,
    tag: Option<String>,
    status: Option<StatusBody>,
    /// Only links this user owns.
    owner: Option<String>,
    /// `slug` (A to Z, the default) or `changed` (the most recently changed first).
    order: Option<OrderBody>,
    /// Keyset pagination: links whose slug sorts after this one (pass `next_after`).
    after: Option<String>,
    /// 1 to 500; 50 when left out.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderBody {
    Slug,
    Changed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkList {
    pub links: Vec<LinkBody>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// Links in slug order, searched and filtered, a page at a time.
#[utoipa::path(get, path = "/links", tag = "links", params(ListParams), responses(
    (status = 200, body = LinkList),
    (status = 401, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<LinkList>> {
    auth.require(Scope::Read)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "range", "limit is 1 to 500"));
    }
    let query = LinkQuery {
        search: params.search.filter(|s| !s.is_empty()),
        tag: params
            .tag
            .as_deref()
            .map(Tag::parse)
            .transpose()
            .map_err(qrlink_core::Error::from)?,
        status: params.status.map(|status| match status {
            StatusBody::Active => LinkStatus::Active,
            StatusBody::Retired => LinkStatus::Retired,
        }),
        after: params.after.as_deref().map(slug).transpose()?,
        order: match params.order {
            Some(OrderBody::Changed) => LinkOrder::Changed,
            Some(OrderBody::Slug) | None => LinkOrder::Slug,
        },
        owner: params
            .owner
            .as_deref()
            .map(|owner| parse_user_name(owner).map_err(|invalid| invalid.on("owner")))
            .transpose()
            .map_err(qrlink_core::Error::from)?,
        limit,
    };
    let page = state.store.list_page(&query).await?;
    let links = page
        .links
        .into_iter()
        .map(|link| LinkBody::new(link, &state))
        .collect();
    let next_after = page.next_after.map(|slug| slug.to_string());
    Ok(Json(LinkList { links, next_after }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// Left out: a random slug is generated.
    slug: Option<String>,
    target: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    tags: Vec<String>,
    #[schema(minimum = 301, maximum = 308)]
    redirect_status: Option<u16>,
    #[serde(default)]
    forward_query: bool,
}

/// Creates a link; `201` with its `Location`, `409` when the slug is taken.
#[utoipa::path(post, path = "/links", tag = "links", request_body = CreateLink, responses(
    (status = 201, body = LinkBody, headers(("Location" = String, description = "The new link"))),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiJson(body): ApiJson<CreateLink>,
) -> ApiResult<Response> {
    let caller = auth.require(Scope::Write)?;
    let policy = &state.settings.instance.policy;
    let mut new = NewLink::new(
        body.slug.as_deref().map(slug).transpose()?,
        TargetUrl::parse(&body.target, policy).map_err(qrlink_core::Error::from)?,
    );
    new.title = text("title", &body.title, MAX_TITLE, false)?;
    new.notes = text("notes", &body.notes, MAX_NOTES, true)?;
    new.tags = tags(&body.tags)?;
    if let Some(code) = body.redirect_status {
        new.redirect_status = RedirectStatus::parse(code).map_err(qrlink_core::Error::from)?;
    }
    new.forward_query = body.forward_query;
    new.owner = caller.user.clone();
    let link = state
        .store
        .create_link(&new, &actor(&caller), state.clock.now())
        .await?;
    let location = format!(
        "{}_/api/v1/links/{}",
        state.settings.base().path(),
        link.slug
    );
    let mut response = (StatusCode::CREATED, reply(link, &state)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// One link, by its slug or an alias.
#[utoipa::path(get, path = "/links/{slug}", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")), responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn show(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<LinkBody>> {
    auth.require(Scope::Read)?;
    let link = state.store.link(&slug(&name)?).await?;
    Ok(reply(link, &state))
}

/// Title, notes, tags, redirect status and query forwarding; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    title: Option<String>,
    notes: Option<String>,
    tags: Option<Vec<String>>,
    #[schema(minimum = 301, maximum = 308)]
    redirect_status: Option<u16>,
    forward_query: Option<bool>,
}

/// Changes a link's descriptive settings (not its target: see `PUT /links/{slug}/target`).
#[utoipa::path(patch, path = "/links/{slug}", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    request_body = UpdateLink, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateLink>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let details = LinkDetails {
        title: body
            .title
            .as_deref()
            .map(|t| text("title", t, MAX_TITLE, false))
            .transpose()?,
        notes: body
            .notes
            .as_deref()
            .map(|n| text("notes", n, MAX_NOTES, true))
            .transpose()?,
        tags: body.tags.as_deref().map(tags).transpose()?,
        redirect_status: body
            .redirect_status
            .map(RedirectStatus::parse)
            .transpose()
            .map_err(qrlink_core::Error::from)?,
        forward_query: body.forward_query,
    };
    let link = state
        .store
        .update_details(&slug(&name)?, &details, &actor(&caller), state.clock.now())
        .await?;
    Ok(reply(link, &state))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTarget {
    target: String,
    /// From this time on (RFC 3339); now when left out or past.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    /// Recorded in history.
    reason: Option<String>,
    /// Required for a locked (printed) link.
    #[serde(default)]
    confirm: bool,
}

/// Points the link at a new target, now or from `at` on; history records old and new.
#[utoipa::path(put, path = "/links/{slug}/target", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    request_body = SetTarget, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn set_target(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SetTarget>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let slug = slug(&name)?;
    let target = TargetUrl::parse(&body.target, &state.settings.instance.policy)
        .map_err(qrlink_core::Error::from)?;
    let reason = body
        .reason
        .as_deref()
        .map(|r| text("reason", r, MAX_REASON, false))
        .transpose()?;
    let change = TargetChange {
        slug: &slug,
        target: &target,
        at: body.at,
        reason: reason.as_deref().filter(|r| !r.is_empty()),
        confirm: body.confirm,
    };
    let link = state
        .store
        .set_target(change, &actor(&caller), state.clock.now())
        .await?;
    Ok(reply(link, &state))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retire {
    /// From this time on (RFC 3339); now when left out or past.
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    /// Required for a locked (printed) link.
    #[serde(default)]
    confirm: bool,
}

/// Retires the link (it answers 410), now or from `at` on. Its slug is never freed.
#[utoipa::path(post, path = "/links/{slug}/retire", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    request_body = Retire, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn retire(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Retire>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .retire(
            &slug(&name)?,
            body.at,
            body.confirm,
            &actor(&caller),
            state.clock.now(),
        )
        .await?;
    Ok(reply(link, &state))
}

/// Brings a retired link back.
#[utoipa::path(post, path = "/links/{slug}/unretire", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn unretire(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .unretire(&slug(&name)?, &actor(&caller), state.clock.now())
        .await?;
    Ok(reply(link, &state))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLock {
    locked: bool,
}

/// Locks a printed link, or unlocks it; both are recorded in history.
#[utoipa::path(put, path = "/links/{slug}/lock", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    request_body = SetLock, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn set_lock(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<SetLock>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .set_locked(
            &slug(&name)?,
            body.locked,
            &actor(&caller),
            state.clock.now(),
        )
        .await?;
    Ok(reply(link, &state))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// The new slug; the old one stays as an alias.
    slug: String,
}

/// Gives the link a new slug; the old one keeps redirecting. Refused for a locked link.
#[utoipa::path(post, path = "/links/{slug}/rename", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    request_body = Rename, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn rename(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Rename>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .rename(
            &slug(&name)?,
            &slug(&body.slug)?,
            &actor(&caller),
            state.clock.now(),
        )
        .await?;
    Ok(reply(link, &state))
}

/// One recorded change. `kind` says which of the optional fields are present.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryBody {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub actor: String,
    /// `cli`, `web`, `api`, `file` or `schedule`.
    pub interface: String,
    /// `created`, `target`, `slug`, `status`, `lock`, `scheduled` or `unscheduled`.
    pub kind: String,
    /// Before the change (`target`, `slug`, `status`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    /// After the change: the target, slug or status; `true`/`false` for `lock`; the scheduled
    /// target for `scheduled` and `unscheduled` (none for a retirement).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// When a scheduled entry takes effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub effective_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<HistoryEntry> for HistoryBody {
    fn from(entry: HistoryEntry) -> HistoryBody {
        let (kind, old, new, effective_at) = match entry.change {
            Change::Created { slug, target } => ("created", Some(slug), Some(target), None),
            Change::Target { old, new } => ("target", Some(old), Some(new), None),
            Change::Slug { old, new } => ("slug", Some(old), Some(new), None),
            Change::Status { old, new } => (
                "status",
                Some(old.as_str().to_owned()),
                Some(new.as_str().to_owned()),
                None,
            ),
            Change::Lock { locked } => ("lock", None, Some(locked.to_string()), None),
            Change::Scheduled { at, target } => ("scheduled", None, target, Some(at)),
            Change::Unscheduled { at, target } => ("unscheduled", None, target, Some(at)),
        };
        HistoryBody {
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor,
            interface: entry.interface.as_str().to_owned(),
            kind: kind.to_owned(),
            old,
            new,
            effective_at,
            reason: entry.reason,
        }
    }
}

/// Every recorded change of the link, oldest first. History is never edited.
#[utoipa::path(get, path = "/links/{slug}/history", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    responses(
    (status = 200, body = Vec<HistoryBody>),
    (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn history(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<HistoryBody>>> {
    auth.require(Scope::Read)?;
    let history = state.store.history(&slug(&name)?).await?;
    Ok(Json(history.into_iter().map(HistoryBody::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// Required for a locked (printed) link.
    #[serde(default)]
    confirm: bool,
}

/// Points the link back at the target that history entry `seq` set, as a new entry.
#[utoipa::path(post, path = "/links/{slug}/history/{seq}/restore", tag = "links",
    params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$"), ("seq" = i64, Path)), request_body = Restore, responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn restore(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath((name, seq)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<Restore>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .restore(
            &slug(&name)?,
            seq,
            &state.settings.instance.policy,
            body.confirm,
            &actor(&caller),
            state.clock.now(),
        )
        .await?;
    Ok(reply(link, &state))
}

/// Cancels a pending schedule entry (recorded in history).
#[utoipa::path(delete, path = "/links/{slug}/schedule/{id}", tag = "links",
    params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$"), ("id" = i64, Path)), responses(
    (status = 200, body = LinkBody),
    (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
    (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)
))]
pub async fn unschedule(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath((name, id)): ApiPath<(String, i64)>,
) -> ApiResult<Json<LinkBody>> {
    let caller = auth.may_change(&state, &slug(&name)?).await?;
    let link = state
        .store
        .unschedule(&slug(&name)?, id, &actor(&caller), state.clock.now())
        .await?;
    Ok(reply(link, &state))
}

/// Redirects served on one UTC day; head and bot hits counted apart (hits, not people).
#[derive(Debug, Serialize, ToSchema)]
pub struct CountBody {
    #[schema(value_type = String, format = Date)]
    pub day: jiff::civil::Date,
    pub hits: i64,
    pub head_hits: i64,
    pub bot_hits: i64,
}

/// Daily counts of the link, oldest first; days without hits are left out.
#[utoipa::path(get, path = "/links/{slug}/counts", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$")),
    responses(
    (status = 200, body = Vec<CountBody>),
    (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn counts(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<CountBody>>> {
    auth.require(Scope::Read)?;
    let counts = state.store.daily_counts(&slug(&name)?).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|count| CountBody {
                day: count.day,
                hits: count.counts.hits,
                head_hits: count.counts.head_hits,
                bot_hits: count.counts.bot_hits,
            })
            .collect(),
    ))
}

/// The link's QR code, encoding its short URL; verified by a decoder before it is sent.
#[utoipa::path(get, path = "/links/{slug}/qr", tag = "links", params(("slug" = String, Path, description = "The slug or one of its aliases, in any case", pattern = "^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?$"), crate::server::qr::QrParams),
    responses(
    (status = 200, description = "The image, in the requested format", content(
        (String = "image/svg+xml"), (Vec<u8> = "image/png"), (Vec<u8> = "application/pdf"),
        (String = "application/postscript"), (String = "text/plain")
    )),
    (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody),
    (status = 422, body = super::error::ErrorBody)
))]
pub async fn qr(
    State(state): State<Arc<AppState>>,
    auth: Authenticated,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<crate::server::qr::QrParams>,
) -> ApiResult<Response> {
    auth.require(Scope::Read)?;
    let link = state.store.link(&slug(&name)?).await?;
    let image = crate::server::qr::link_image(&state, &link, params, None).await?;
    let mut response = image.bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(image.content_type),
    );
    Ok(response)
}
