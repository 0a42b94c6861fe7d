//! Prometheus metrics, served only on the optional `--metrics-listen` address, never on the
//! public one. They describe the server, never a visitor: route classes and statuses, redirect
//! latency, table size, count-flush lag and database errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;

/// What kind of request it was; the only label derived from the request.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum RouteClass {
    /// `/<slug>`, whatever the answer (redirect, 404, 410, 503, 405).
    Slug,
    /// `/<slug>+`.
    Preview,
    /// The health endpoints.
    Health,
    /// Everything else: the home page, robots.txt.
    Page,
}

impl RouteClass {
    /// Classifies a path below the base path (`rest` has the base path stripped). This is the
    /// one definition of a slug path: the redirect fast path answers exactly `Slug`.
    pub fn of(rest: &str) -> RouteClass {
        if rest.starts_with("_/health/") {
            RouteClass::Health
        } else if rest.is_empty() || rest == "robots.txt" || rest.starts_with("_/") {
            RouteClass::Page
        } else if rest.ends_with('+') {
            RouteClass::Preview
        } else {
            RouteClass::Slug
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: RouteClass,
    status: u16,
}

/// What the server was doing when the database failed.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum DbOperation {
    Migrate,
    Load,
    Follow,
    Flush,
    Fold,
    Schedule,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DbLabels {
    operation: DbOperation,
}

/// Label values in lowercase, as Prometheus conventions have them (the derive would use the
/// variant names as written).
macro_rules! label_values {
    ($type:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl EncodeLabelValue for $type {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
                std::fmt::Write::write_str(encoder, match self { $(<$type>::$variant => $text),* })
            }
        }
    };
}

label_values!(RouteClass { Slug => "slug", Preview => "preview", Health => "health", Page => "page" });
label_values!(DbOperation {
    Migrate => "migrate",
    Load => "load",
    Follow => "follow",
    Flush => "flush",
    Fold => "fold",
    Schedule => "schedule",
});

/// The server's metrics. Recording is a few atomic operations; gauges that describe state
/// (table size, flush lag) are read when scraped.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// The counters of `requests` for what a slug is answered with, taken out of the family
    /// once: counting a redirect is then one atomic add, not a hash lookup under a lock.
    slug_answers: [(StatusCode, Counter); 6],
    redirect_seconds: Histogram,
    database_errors: Family<DbLabels, Counter>,
    links: Gauge,
    flush_lag_seconds: Gauge<f64, AtomicU64>,
    started: Instant,
    /// Milliseconds after `started` of the last successful count flush.
    last_flush_ms: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("qrlink");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class and status",
            requests.clone(),
        );
        // 1 µs to about a quarter of a second: the fast path answers in microseconds.
        let redirect_seconds = Histogram::new(exponential_buckets(1e-6, 4.0, 10));
        registry.register(
            "redirect_duration_seconds",
            "Time to answer a slug request, from request to response (server side)",
            redirect_seconds.clone(),
        );
        let database_errors = Family::<DbLabels, Counter>::default();
        registry.register(
            "database_errors",
            "Failed database operations, by what the server was doing",
            database_errors.clone(),
        );
        let links = Gauge::default();
        registry.register(
            "redirect_table_slugs",
            "Slugs (current and aliases) in the in-memory redirect table",
            links.clone(),
        );
        let flush_lag_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "count_flush_lag_seconds",
            "Seconds since hit counts were last written to the database",
            flush_lag_seconds.clone(),
        );
        let slug_answers = [
            StatusCode::MOVED_PERMANENTLY,
            StatusCode::FOUND,
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
            StatusCode::NOT_FOUND,
            StatusCode::GONE,
        ]
        .map(|status| {
            let labels = RequestLabels {
                route: RouteClass::Slug,
                status: status.as_u16(),
            };
            (status, requests.get_or_create(&labels).clone())
        });
        Metrics {
            registry,
            requests,
            slug_answers,
            redirect_seconds,
            database_errors,
            links,
            flush_lag_seconds,
            started: Instant::now(),
            last_flush_ms: AtomicU64::new(0),
        }
    }

    pub fn request(&self, route: RouteClass, status: StatusCode) {
        if route == RouteClass::Slug
            && let Some((_, counter)) = self.slug_answers.iter().find(|(s, _)| *s == status)
        {
            counter.inc();
            return;
        }
        self.requests
            .get_or_create(&RequestLabels {
                route,
                status: status.as_u16(),
            })
            .inc();
    }

    pub fn redirect_time(&self, since: Instant) {
        self.redirect_seconds.observe(since.elapsed().as_secs_f64());
    }

    pub fn database_error(&self, operation: DbOperation) {
        self.database_errors
            .get_or_create(&DbLabels { operation })
            .inc();
    }

    pub fn flushed(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_flush_ms.store(ms, Ordering::Relaxed);
    }

    /// The text exposition (OpenMetrics), with the state gauges read now.
    pub fn render(&self, state: &AppState) -> String {
        self.links.set(state.table.len() as i64);
        let since_flush = (self.started.elapsed().as_millis() as u64)
            .saturating_sub(self.last_flush_ms.load(Ordering::Relaxed));
        self.flush_lag_seconds.set(since_flush as f64 / 1000.0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// The metrics listener's router: `/metrics` and nothing else.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let text = state.metrics.render(&state);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
