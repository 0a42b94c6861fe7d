//! Connections of the public listener: hyper's HTTP/1 connection served directly (the same way
//! the benchmark baseline does), slugs answered without the router, and a watchdog for each
//! connection that closes it when it does nothing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use super::AppState;
use super::client::Peer;
use super::metrics::RouteClass;
use super::public;

/// How long shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections until `shutdown`, then waits for connections to finish their request in
/// flight. A connection that starts no request for `idle` while none is in flight is closed.
pub(super) async fn serve_connections(
    listener: TcpListener,
    state: Arc<AppState>,
    app: axum::Router,
    idle: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Each connection holds a permit until it ends; while none is free, new connections wait
    // in the kernel's listen queue.
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(
        state
            .settings
            .max_connections
            .unwrap_or(tokio::sync::Semaphore::MAX_PERMITS),
    ));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A redirect is one small write: send it at once rather than wait for Nagle.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::default());
        let service = Dispatch {
            state: state.clone(),
            router: app.clone(),
            peer,
            activity: activity.clone(),
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let served = tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
        // Apart from the connection's task, so that its timer is not polled at every request.
        tokio::spawn(activity.watch(served.abort_handle(), idle));
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still busy after {DRAIN_TIMEOUT:?}; closing them");
    }
}

/// What a connection's requests have done, for its watchdog.
///
/// The watchdog replaces hyper's header read timeout, which arms a timer when the connection
/// starts reading each request and disarms it when the headers are in: an allocation and two
/// updates of the runtime's timer wheel per request, about 4% of a redirect's CPU in a
/// profile. The watchdog, a task of its own, wakes three times per `idle` and compares
/// counts. It closes a client that sends its headers slowly or not at all (slow loris) and
/// an idle keep-alive connection alike, after between `idle` and a third more; a slow upload
/// or download is a request in flight.
#[derive(Debug, Default)]
struct Activity {
    /// Requests whose headers were read.
    started: AtomicU64,
    /// Requests being read or answered by the router, until their response body is sent.
    in_flight: AtomicU32,
}

impl Activity {
    /// Ends the connection's task once it has started no request for `idle` with none in
    /// flight, and returns early if it ends by itself.
    async fn watch(self: Arc<Self>, connection: AbortHandle, idle: Duration) {
        let check = idle / 3;
        let mut seen = self.started.load(Ordering::Relaxed);
        let mut quiet = Duration::ZERO;
        loop {
            tokio::time::sleep(check).await;
            if connection.is_finished() {
                return;
            }
            let started = self.started.load(Ordering::Relaxed);
            if started != seen || self.in_flight.load(Ordering::Relaxed) > 0 {
                seen = started;
                quiet = Duration::ZERO;
            } else {
                quiet += check;
                if quiet >= idle {
                    tracing::debug!("closing a connection that did nothing for {idle:?}");
                    connection.abort();
                    return;
                }
            }
        }
    }
}

/// A request in flight, until dropped with its response body.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The per-connection service: slug requests take the fast path, everything else the router.
/// Both are counted in the metrics and, when the operator asks for it, in the access log.
#[derive(Clone)]
struct Dispatch {
    state: Arc<AppState>,
    router: axum::Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type Routed = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The response future: ready at once on the fast path, the router's future otherwise.
enum Answer {
    Now(Option<Response>),
    Routed(Routed),
}

impl Future for Answer {
    type Output = Result<Response, Infallible>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.get_mut() {
            Answer::Now(response) => {
                std::task::Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            Answer::Routed(future) => future.as_mut().poll(cx),
        }
    }
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Dispatch {
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let started = Instant::now();
        self.activity.started.fetch_add(1, Ordering::Relaxed);
        let class = request
            .uri()
            .path()
            .strip_prefix(self.state.settings.base().path())
            .map_or(RouteClass::Page, RouteClass::of);
        // Only an operator who turned the access log on pays for copying the request line.
        let logged = self.state.settings.access_log.then(|| Logged {
            method: request.method().clone(),
            uri: request.uri().clone(),
            client: (self.state.settings.trusted_proxies).client(self.peer.ip(), request.headers()),
        });
        if let Some(response) = public::answer_slug(&self.state, &request, self.peer.ip()) {
            self.state.metrics.redirect_time(started);
            finish(&self.state, class, &response, logged, started);
            return Answer::Now(Some(response));
        }
        let (state, peer) = (self.state.clone(), self.peer);
        let in_flight = InFlight::new(&self.activity);
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(Peer(peer));
        let routed = tower::ServiceExt::oneshot(self.router.clone(), request);
        Answer::Routed(Box::pin(async move {
            let response = routed.await?;
            if class == RouteClass::Slug {
                state.metrics.redirect_time(started);
            }
            finish(&state, class, &response, logged, started);
            // The request stays in flight until hyper has sent the body and drops it.
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _in_flight = &in_flight;
                    frame
                }))
            }))
        }))
    }
}

/// What the access log says of a request, copied before the request is consumed.
struct Logged {
    method: axum::http::Method,
    uri: axum::http::Uri,
    /// The peer, or the address a trusted proxy forwarded.
    client: std::net::IpAddr,
}

/// Counts a response and, if asked for, writes its access-log line.
fn finish(
    state: &AppState,
    class: RouteClass,
    response: &Response,
    logged: Option<Logged>,
    started: Instant,
) {
    state.metrics.request(class, response.status());
    if let Some(Logged {
        method,
        uri,
        client,
    }) = logged
    {
        tracing::info!(
            target: "qrlink::access",
            client = %client,
            %method,
            path = uri.path(),
            status = response.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
}
