//! Prometheus metrics, served only on the optional `--metrics-listen` address, never on the
//! public one. They describe the server, never a visitor: route classes and statuses, redirect
//! latency, table size, count-flush lag and database errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossbeam_utils::CachePadded;
use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
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
    requests: Family<RequestLabels, ShardedCounter>,
    /// The counters of `requests` for what a slug is answered with, taken out of the family
    /// once: counting a redirect is then one atomic add, not a hash lookup under a lock.
    slug_answers: [(StatusCode, ShardedCounter); 6],
    redirect_seconds: LatencyHistogram,
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
        let requests = Family::<RequestLabels, ShardedCounter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route class and status",
            requests.clone(),
        );
        let redirect_seconds = LatencyHistogram::default();
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
        self.redirect_seconds.observe(since.elapsed());
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

/// Shards of the metrics recorded at every request. A thread always uses the same shard, on
/// cache lines of its own; a scrape adds the shards up. prometheus-client's counter is one
/// atomic, and its histogram takes a write lock per observation: both cores wrote those
/// lines at every redirect.
const SHARDS: usize = 8;

static THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = THREADS.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

fn shard() -> usize {
    SHARD.with(|shard| *shard)
}

/// A counter whose increments go to the calling thread's shard.
#[derive(Debug, Clone, Default)]
struct ShardedCounter(Arc<[CachePadded<AtomicU64>; SHARDS]>);

impl ShardedCounter {
    fn inc(&self) {
        self.0[shard()].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for ShardedCounter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for ShardedCounter {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Upper bounds of the latency buckets in nanoseconds: 1 µs to about a quarter of a second,
/// four times wider each (the fast path answers in microseconds).
const LATENCY_BOUNDS: [u64; 10] = {
    let mut bounds = [1_000; 10];
    let mut i = 1;
    while i < bounds.len() {
        bounds[i] = bounds[i - 1] * 4;
        i += 1;
    }
    bounds
};

/// A latency histogram whose observations go to the calling thread's shard.
#[derive(Debug, Clone, Default)]
struct LatencyHistogram(Arc<[CachePadded<LatencyShard>; SHARDS]>);

#[derive(Debug, Default)]
struct LatencyShard {
    /// Observations per bucket, not cumulative; the last is above every bound.
    buckets: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    nanos: AtomicU64,
}

impl LatencyHistogram {
    fn observe(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BOUNDS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(LATENCY_BOUNDS.len());
        let shard = &self.0[shard()];
        shard.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        shard.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> std::fmt::Result {
        let mut counts = [0u64; LATENCY_BOUNDS.len() + 1];
        let mut nanos = 0u64;
        for shard in self.0.iter() {
            for (count, bucket) in counts.iter_mut().zip(&shard.buckets) {
                *count += bucket.load(Ordering::Relaxed);
            }
            nanos = nanos.wrapping_add(shard.nanos.load(Ordering::Relaxed));
        }
        // The encoder writes `f64::MAX` as `+Inf` and makes the counts cumulative.
        let buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
            .iter()
            .map(|&bound| bound as f64 / 1e9)
            .chain([f64::MAX])
            .zip(counts)
            .collect();
        let count = counts.iter().sum();
        encoder.encode_histogram::<NoLabelSet>(nanos as f64 / 1e9, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
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
