//! The clock, passed in everywhere time matters, so tests can set and move it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

/// Where "now" comes from. Production uses [`Clock::system`]; tests use [`Clock::manual`].
#[derive(Debug, Clone)]
pub struct Clock(ClockSource);

#[derive(Debug, Clone)]
enum ClockSource {
    System,
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn system() -> Self {
        Clock(ClockSource::System)
    }

    /// A clock that stands still at `start` until [`Clock::set`] or [`Clock::advance`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Clock(ClockSource::Manual(Arc::new(AtomicI64::new(
            start.as_microsecond(),
        ))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            #[expect(
                clippy::disallowed_methods,
                reason = "this is the one place that reads the wall clock"
            )]
            ClockSource::System => Timestamp::now(),
            ClockSource::Manual(micros) => {
                Timestamp::from_microsecond(micros.load(Ordering::SeqCst))
                    .expect("manual clock holds a valid timestamp")
            }
        }
    }

    /// Moves a manual clock to `to`. A system clock cannot be set; this panics, as it is a test bug.
    pub fn set(&self, to: Timestamp) {
        match &self.0 {
            ClockSource::System => panic!("the system clock cannot be set"),
            ClockSource::Manual(micros) => micros.store(to.as_microsecond(), Ordering::SeqCst),
        }
    }

    pub fn advance(&self, by: jiff::SignedDuration) {
        self.set(self.now() + by);
    }
}
