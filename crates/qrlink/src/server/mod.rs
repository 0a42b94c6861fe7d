//! `qrlink serve`: binds the listener, runs the public side, follows the change feed, flushes
//! counts, and shuts down gracefully. Binding is apart from serving so tests can use port 0.

mod admin;
pub mod api;
mod assets;
pub mod client;
mod connection;
mod metrics;
mod paced_body;
mod pages;
mod public;
pub mod qr;

/// The redirect fast path, public for `examples/redirect_path.rs`.
pub use public::answer_slug;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::http::HeaderValue;
use qrlink_core::accounts::{PasswordLinkSecret, SessionTimeouts};
use qrlink_core::base_url::BaseUrl;
use qrlink_core::clock::Clock;
use qrlink_core::counts::HitCounter;
use qrlink_core::store::{ChangeSignal, Store};
use qrlink_core::table::RedirectTable;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::ServeArgs;
use crate::instance::Instance;
use metrics::{DbOperation, Metrics};

/// Settings of the public side, validated.
#[derive(Debug, Clone)]
pub struct PublicSettings {
    /// The instance: base URL, target rules, time zone, code case.
    pub instance: Instance,
    pub home_url: Option<HeaderValue>,
    pub not_found_url: Option<HeaderValue>,
    pub retired_url: Option<HeaderValue>,
    pub referrer_policy: HeaderValue,
    /// Log every request with the visitor's address (off unless the operator turns it on).
    pub access_log: bool,
    /// How long admin sessions last.
    pub sessions: SessionTimeouts,
    /// Where admin pages' CSP violations are reported, if anywhere.
    pub csp_report_uri: Option<String>,
    /// Proxies whose forwarding header names the client (R-SEC-6).
    pub trusted_proxies: client::TrustedProxies,
    /// The per-client rate limits.
    pub client_rates: client::ClientRates,
    /// At most this many open connections; `None` for no limit.
    pub max_connections: Option<usize>,
}

/// Timings of the background work.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    pub flush: Duration,
    pub poll: Duration,
    /// How often flushed counts are folded from the count log into the daily totals. Readers
    /// see both, so this only bounds the log's size; folding less often makes each fold update
    /// a (link, day) row once for many flushes. [`Intervals::FOLD`] in production.
    pub fold: Duration,
    /// How long a connection may start no request, with none in flight, before it is closed:
    /// the defence against clients that send their headers slowly, and the keep-alive idle
    /// limit. [`Intervals::IDLE`] in production.
    pub idle: Duration,
}

impl Intervals {
    /// The fold interval of `qrlink serve`. A fold costs about 2 µs of CPU per (link, day)
    /// row it updates (`examples/count_fold`). Under a uniform load on a million links,
    /// folding every 10 s read 590,000-730,000 records and took 1.0-1.2 s each time (11% of
    /// a core); folding every minute updates each row at most once a minute, about a third as
    /// many updates. The log holds a minute of flushes at most.
    pub const FOLD: Duration = Duration::from_secs(60);
    /// The connection idle limit of `qrlink serve`.
    pub const IDLE: Duration = Duration::from_secs(30);
}

impl PublicSettings {
    pub fn base(&self) -> &BaseUrl {
        self.instance.base()
    }

    pub fn from_args(args: &ServeArgs, instance: Instance) -> anyhow::Result<PublicSettings> {
        const POLICIES: &[&str] = &[
            "no-referrer",
            "no-referrer-when-downgrade",
            "origin",
            "origin-when-cross-origin",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin",
            "unsafe-url",
        ];
        // A static value: cloning it into every response touches no shared reference count.
        let Some(referrer_policy) = POLICIES.iter().find(|p| **p == args.referrer_policy) else {
            anyhow::bail!(
                "invalid referrer_policy: `{}` is not one of {} (rule: one_of)",
                args.referrer_policy,
                POLICIES.join(", ")
            );
        };
        Ok(PublicSettings {
            instance,
            home_url: redirect_url("home_url", args.home_url.as_deref())?,
            not_found_url: redirect_url("not_found_url", args.not_found_url.as_deref())?,
            retired_url: redirect_url("retired_url", args.retired_url.as_deref())?,
            referrer_policy: HeaderValue::from_static(referrer_policy),
            access_log: args.access_log,
            sessions: SessionTimeouts {
                idle: jiff::SignedDuration::from_mins(i64::from(args.session_idle_minutes)),
                absolute: jiff::SignedDuration::from_hours(i64::from(args.session_hours)),
            },
            csp_report_uri: redirect_url("csp_report_uri", args.csp_report_uri.as_deref())?
                .map(|url| String::from_utf8_lossy(url.as_bytes()).into_owned()),
            trusted_proxies: client::TrustedProxies::parse(
                &args.trusted_proxies,
                client::ForwardedHeader::parse(&args.forwarded_header)?,
            )?,
            client_rates: client::ClientRates::DEFAULT,
            max_connections: (args.max_connections > 0).then_some(args.max_connections),
        })
    }
}

fn redirect_url(field: &str, value: Option<&str>) -> anyhow::Result<Option<HeaderValue>> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let url = url::Url::parse(value)
        .with_context(|| format!("invalid {field}: not an absolute URL (rule: url)"))?;
    if !matches!(url.scheme(), "http" | "https") {
        anyhow::bail!("invalid {field}: must start with http:// or https:// (rule: scheme)");
    }
    Ok(Some(HeaderValue::from_str(url.as_str())?))
}

/// The one-time link where a person sets their password (first-run setup, a new user, a reset).
pub fn password_url(instance: &Instance, secret: &PasswordLinkSecret) -> String {
    format!(
        "{}_/admin/password/{}",
        instance.base().as_str(),
        secret.expose()
    )
}

/// While no admin exists, prints a one-time link that makes whoever opens it the first admin
/// (R-SEC-1: there is no default password). Printed, never logged: it is a secret.
pub async fn announce_setup(
    store: &Store,
    instance: &Instance,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    if store.has_admin().await? {
        return Ok(());
    }
    let secret = store.create_password_link(None, now).await?;
    eprintln!(
        "\nNo admin account exists yet. Open this one-time link within 24 hours to create one:\n\n    {}\n",
        password_url(instance, &secret)
    );
    Ok(())
}

/// Everything request handlers share.
#[derive(Debug)]
pub struct AppState {
    pub table: RedirectTable,
    pub counter: HitCounter,
    pub store: Store,
    pub clock: Clock,
    pub settings: PublicSettings,
    pub metrics: Metrics,
    /// Password hashing, a few at a time in reused memory (R-SEC-13).
    pub password_work: qrlink_core::passwords::PasswordWork,
    /// Per-client rate limits (R-SEC-6).
    pub limits: client::ClientLimits,
    /// QR renders running at once (R-SEC-13, see `qr::link_image`).
    pub renders: Arc<tokio::sync::Semaphore>,
    /// The headers of every redirect, built from `settings` once.
    redirect_headers: public::RedirectHeaders,
}

impl AppState {
    /// A server's shared state, its redirect table not loaded yet.
    pub fn new(store: Store, clock: Clock, settings: PublicSettings) -> AppState {
        AppState {
            table: RedirectTable::new(),
            counter: HitCounter::new(),
            store,
            clock,
            redirect_headers: public::RedirectHeaders::new(&settings),
            password_work: qrlink_core::passwords::PasswordWork::for_this_machine(),
            limits: client::ClientLimits::new(settings.client_rates),
            renders: Arc::new(tokio::sync::Semaphore::new(qr::RENDER_SLOTS)),
            settings,
            metrics: Metrics::new(),
        }
    }

    /// The client a request counts against: its peer, or the address a trusted proxy
    /// forwarded.
    pub fn client(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> client::ClientKey {
        client::ClientKey::of(self.settings.trusted_proxies.client(peer, headers))
    }
}

/// A server bound to its address, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: Arc<AppState>,
    intervals: Intervals,
}

impl Server {
    pub async fn bind(
        addr: SocketAddr,
        store: Store,
        clock: Clock,
        settings: PublicSettings,
        intervals: Intervals,
    ) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let state = Arc::new(AppState::new(store, clock, settings));
        Ok(Server {
            listener,
            metrics_listener: None,
            state,
            intervals,
        })
    }

    /// Also serves `/metrics` on `addr`, apart from the public listener.
    pub async fn with_metrics_listener(mut self, addr: SocketAddr) -> anyhow::Result<Server> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics on {addr}"))?;
        self.metrics_listener = Some(listener);
        Ok(self)
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and flushes counts.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Server {
            listener,
            metrics_listener,
            state,
            intervals,
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let metrics_server = metrics_listener.map(|listener| {
            let mut stop = stop_rx.clone();
            let app = metrics::router(state.clone());
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.changed().await;
                };
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            })
        });
        let follower = tokio::spawn(follow_changes(
            state.clone(),
            intervals.poll,
            stop_rx.clone(),
        ));
        let folder = tokio::spawn(fold_count_log(
            state.clone(),
            intervals.fold,
            stop_rx.clone(),
        ));
        let flusher = tokio::spawn(flush_counts(state.clone(), intervals.flush, stop_rx));
        let app = public::router(state.clone());
        connection::serve_connections(listener, state.clone(), app, intervals.idle, shutdown).await;
        tracing::info!("stopped accepting requests; flushing counts");
        let _ = stop_tx.send(true);
        let _ = follower.await;
        let _ = flusher.await;
        let _ = folder.await;
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        final_flush(&state).await;
        state.store.close().await;
        Ok(())
    }
}

/// Migrates and loads the table (retrying while the database is unreachable), then follows the
/// change feed: at every poll, and at once when the database signals a change (PostgreSQL).
/// Due schedule entries are folded into history every few seconds.
async fn follow_changes(state: Arc<AppState>, poll: Duration, mut stop: watch::Receiver<bool>) {
    let mut migrated = false;
    let mut rounds: u64 = 0;
    let mut signal: Option<ChangeSignal> = None;
    loop {
        if !migrated {
            match state.store.migrate().await {
                Ok(()) => migrated = true,
                Err(error) => {
                    state.metrics.database_error(DbOperation::Migrate);
                    tracing::warn!(%error, "cannot migrate the database yet; retrying")
                }
            }
        }
        if migrated && !state.table.is_loaded() {
            match state.table.load(&state.store).await {
                Ok(()) => tracing::info!(
                    slugs = state.table.len(),
                    table_bytes = state.table.heap_bytes(),
                    "redirect table loaded; ready"
                ),
                Err(error) => {
                    state.metrics.database_error(DbOperation::Load);
                    tracing::warn!(%error, "cannot load the redirect table yet; retrying")
                }
            }
        } else if migrated {
            if let Err(error) = state.table.catch_up(&state.store).await {
                state.metrics.database_error(DbOperation::Follow);
                tracing::debug!(%error, "change feed unreachable");
            }
            rounds += 1;
            // Ended sessions, expired password links, stale sign-in failures: every ten
            // minutes or so.
            if rounds.is_multiple_of(2400)
                && let Err(error) = state
                    .store
                    .prune_expired(state.settings.sessions.idle, state.clock.now())
                    .await
            {
                tracing::debug!(%error, "could not prune ended sessions");
            }
            if rounds.is_multiple_of(20)
                && let Err(error) = state.store.apply_due_schedules(state.clock.now()).await
            {
                state.metrics.database_error(DbOperation::Schedule);
                tracing::debug!(%error, "could not fold due schedule entries");
            }
        }
        if signal.is_none() && state.table.database_reachable() {
            // A change committed between the catch-up above and this is seen at the next poll.
            let listen = tokio::time::timeout(Duration::from_secs(2), state.store.change_signal());
            signal = listen.await.ok().and_then(Result::ok);
        }
        let wait = if state.table.is_loaded() {
            poll
        } else {
            Duration::from_secs(1)
        };
        let woken = async {
            match signal.as_mut() {
                Some(signal) => signal.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            healthy = woken => {
                if !healthy {
                    tracing::debug!("change notifications lost; polling until they are back");
                    signal = None;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn flush_counts(state: Arc<AppState>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => { flush_once(&state).await; }
            _ = stop.changed() => return,
        }
    }
}

/// Folds the count log on its own task, so a long fold never delays a flush (a hard kill
/// loses at most one flush interval of counts, R-LNK-6). Stopping abandons a fold in progress:
/// its open transaction rolls back and the log keeps those rows for the next server.
async fn fold_count_log(state: Arc<AppState>, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        let wait_and_fold = async {
            tokio::time::sleep(every).await;
            fold_counts(&state).await;
        };
        tokio::select! {
            () = wait_and_fold => {}
            _ = stop.changed() => return,
        }
    }
}

async fn fold_counts(state: &AppState) {
    let started = Instant::now();
    match state.store.fold_counts().await {
        Ok(rows) => tracing::debug!(rows, elapsed = ?started.elapsed(), "count log folded"),
        Err(error) => {
            state.metrics.database_error(DbOperation::Fold);
            tracing::warn!(%error, "could not fold the count log; will retry");
        }
    }
}

/// Writes the counts gathered so far; on failure they go back into memory for the next try.
pub async fn flush_once(state: &Arc<AppState>) -> bool {
    // Gathering scans every link's entry (24 MB at a million links) and may collect a hundred
    // thousand counts: milliseconds that would hold up the requests queued on a runtime
    // worker, so it runs on a blocking thread, which the kernel preempts instead.
    let shared = Arc::clone(state);
    let batch = tokio::task::spawn_blocking(move || {
        let mut batch = shared.table.take_visits(shared.clock.now());
        batch.extend(shared.counter.drain());
        batch
    })
    .await
    .expect("gathering counts never panics");
    if batch.is_empty() {
        state.metrics.flushed();
        return true;
    }
    let started = Instant::now();
    match state.store.add_counts(&batch).await {
        Ok(()) => {
            state.metrics.flushed();
            tracing::debug!(rows = batch.len(), elapsed = ?started.elapsed(), "counts flushed");
            true
        }
        Err(error) => {
            state.metrics.database_error(DbOperation::Flush);
            tracing::warn!(%error, days = batch.len(), "could not write counts; keeping them in memory");
            state.counter.restore(batch);
            false
        }
    }
}

async fn final_flush(state: &Arc<AppState>) {
    for attempt in 0..10 {
        if flush_once(state).await {
            return;
        }
        tracing::warn!(attempt, "final count flush failed; retrying");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let lost: i64 = state.counter.drain().iter().map(|c| c.counts.total()).sum();
    tracing::error!(
        lost,
        "the database stayed unreachable at shutdown; these hits were not recorded"
    );
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown signal received");
}
