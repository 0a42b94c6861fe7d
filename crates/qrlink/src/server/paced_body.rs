//! Request bodies must keep coming (R-SEC-13). The connection watchdog counts a request being
//! read as busy, so a client sending a body one byte every few seconds held its connection
//! for as long as it liked. A body now has [`GRACE`] plus one second per [`MIN_RATE`] bytes
//! received to arrive, and [`MAX_TIME`] in all; past that, reading it fails with
//! [`BodyTooSlow`], which handlers answer with 408.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Time every body gets before any rate is asked of it.
pub const GRACE: Duration = Duration::from_secs(10);
/// Bytes per second a body must average beyond the grace time.
pub const MIN_RATE: u64 = 8 * 1024;
/// The longest any body may take.
pub const MAX_TIME: Duration = Duration::from_secs(60);

/// Why a body could not be read: it came too slowly.
#[derive(Debug)]
pub struct BodyTooSlow;

impl std::fmt::Display for BodyTooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for BodyTooSlow {}

/// Whether `error`, or anything it was caused by, is [`BodyTooSlow`].
pub fn is_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<BodyTooSlow>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// Wraps every routed request's body (the middleware of `public::router`).
pub async fn pace(request: axum::extract::Request) -> axum::extract::Request {
    request.map(|body| Body::new(PacedBody::new(body)))
}

struct PacedBody {
    inner: Body,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
}

impl PacedBody {
    fn new(inner: Body) -> PacedBody {
        let started = Instant::now();
        PacedBody {
            inner,
            started,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + GRACE)),
        }
    }

    fn deadline(&self) -> Instant {
        let earned = Duration::from_secs_f64(self.received as f64 / MIN_RATE as f64);
        self.started + (GRACE + earned).min(MAX_TIME)
    }
}

impl HttpBody for PacedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let deadline = this.deadline();
                    this.deadline.as_mut().reset(deadline);
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(other) => return Poll::Ready(other),
            Poll::Pending => {}
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTooSlow)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
