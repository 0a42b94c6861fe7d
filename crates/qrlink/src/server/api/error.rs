//! The API's one error body and the one place where errors become HTTP statuses.
//!
//! `{"error": {"code": "slug_taken", "message": "…"}}`, with `field` and `rule` for invalid
//! input. Codes are stable; messages are for people. Server errors never carry internals.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qrlink_core::accounts::Scope;
use serde::Serialize;
use utoipa::ToSchema;

/// Every failure of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid_input`, `slug_taken`, `not_found`,
    /// `confirmation_required`, `locked`, `conflict`, `unauthorized`, `insufficient_scope`,
    /// `not_owner`, `invalid_json`, `method_not_allowed`, `rate_limited`, `busy`,
    /// `unavailable`, `internal`.
    pub code: &'static str,
    /// For people; may change between versions.
    pub message: String,
    /// The input field at fault (`invalid_input` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// The rule the field broke (`invalid_input` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
    /// Seconds for `Retry-After` (429 and 503).
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: ErrorDetail {
                code,
                message: message.into(),
                field: None,
                rule: None,
            },
            retry_after: None,
        }
    }

    /// With `Retry-After`, in whole seconds (at least one).
    pub fn retry_after(mut self, wait: std::time::Duration) -> ApiError {
        self.retry_after = Some(wait.as_secs().max(1));
        self
    }

    /// 429: this client asked too often.
    pub fn too_many(wait: std::time::Duration) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests with a missing or wrong token came from your network",
        )
        .retry_after(wait)
    }

    pub fn invalid(
        field: &'static str,
        rule: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message);
        error.detail.field = Some(field);
        error.detail.rule = Some(rule);
        error
    }

    pub fn is_unauthorized(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(needed: Scope) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this needs a token with the `{}` scope", needed.as_str()),
        )
    }

    pub fn not_owner(slug: &qrlink_core::slug::Slug) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "not_owner",
            format!("`{slug}` belongs to another user; an admin can grant you all links"),
        )
    }

    /// 405: the route exists, the method does not (`Allow` lists the ones that do).
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this resource does not answer that method; `Allow` lists the ones it does",
        )
    }

    pub fn not_found_route() -> ApiError {
        ApiError::not_found("no such API resource")
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// A request body that is not JSON, or JSON of the wrong shape.
    pub fn bad_json(status: StatusCode, message: String) -> ApiError {
        ApiError::new(status, "invalid_json", message)
    }
}

impl From<qrlink_core::Error> for ApiError {
    fn from(error: qrlink_core::Error) -> ApiError {
        use qrlink_core::Error as E;
        let status = match &error {
            E::Invalid(invalid) => {
                return ApiError::invalid(invalid.field, invalid.rule, invalid.message.clone());
            }
            E::NotFound(_) | E::Missing(_) => StatusCode::NOT_FOUND,
            E::SlugTaken(_) | E::ConfirmationRequired(_) | E::LockedRename(_) | E::Conflict(_) => {
                StatusCode::CONFLICT
            }
            E::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            E::Database(_) | E::Sqlite(_) | E::SchemaTooNew { .. } => {
                tracing::warn!(%error, "API request failed on the database");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again shortly",
                );
            }
            E::Busy { retry_after } => {
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string())
                    .retry_after(*retry_after);
            }
            E::Io(_) | E::TableFull => {
                tracing::error!(%error, "API request failed");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                );
            }
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.detail })).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"qrlink\""),
            );
        }
        match self.retry_after {
            Some(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            None if self.status == StatusCode::SERVICE_UNAVAILABLE => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            None => {}
        }
        response
    }
}
