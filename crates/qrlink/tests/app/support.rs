//! `TestApp`: a real server on 127.0.0.1:0 over a throwaway database, with a manual clock and
//! helpers that make tests read like stories.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use qrlink::server::{AppState, Intervals, PublicSettings, Server};
use qrlink_core::base_url::BaseUrl;
use qrlink_core::clock::Clock;
use qrlink_core::link::{Actor, Interface, Link, NewLink};
use qrlink_core::slug::Slug;
use qrlink_core::store::Store;
use qrlink_core::target::{TargetPolicy, TargetUrl};
use qrlink_core::testing::TestDatabase;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const BASE: &str = "https://go.example.org";

pub fn t0() -> Timestamp {
    "2026-06-01T10:00:00Z".parse().unwrap()
}

pub fn policy() -> TargetPolicy {
    TargetPolicy {
        base: BaseUrl::parse(BASE).unwrap(),
        allow_private: false,
    }
}

pub fn slug(s: &str) -> Slug {
    Slug::parse(s).unwrap()
}

pub fn target(url: &str) -> TargetUrl {
    TargetUrl::parse(url, &policy()).unwrap()
}

pub fn admin() -> Actor {
    Actor::new("test", Interface::Cli)
}

/// Options of the server under test.
#[derive(Debug, Clone)]
pub struct Options {
    pub settings: PublicSettings,
    pub intervals: Intervals,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: PublicSettings {
                base: BaseUrl::parse(BASE).unwrap(),
                home_url: None,
                not_found_url: None,
                retired_url: None,
                referrer_policy: axum::http::HeaderValue::from_static("no-referrer"),
            },
            // Short intervals keep tests quick; tests that need control call catch_up/flush themselves.
            intervals: Intervals {
                flush: Duration::from_millis(100),
                poll: Duration::from_millis(50),
            },
        }
    }
}

pub struct TestApp {
    pub db: Option<TestDatabase>,
    pub store: Store,
    pub clock: Clock,
    pub state: Arc<AppState>,
    pub base: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        TestApp::with(TestDatabase::sqlite().await, Options::default()).await
    }

    pub async fn with(db: TestDatabase, options: Options) -> TestApp {
        let store = db.store.clone();
        TestApp::on_store(Some(db), store, options).await
    }

    /// Starts the server over `store` and waits until its table is loaded.
    pub async fn on_store(db: Option<TestDatabase>, store: Store, options: Options) -> TestApp {
        let clock = Clock::manual(t0());
        let server = Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            store.clone(),
            clock.clone(),
            options.settings,
            options.intervals,
        )
        .await
        .unwrap();
        let base = format!("http://{}", server.local_addr());
        let state = server.state();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let app = TestApp {
            db,
            store,
            clock,
            state,
            base,
            client,
            shutdown: Some(shutdown),
            handle: Some(handle),
        };
        app.eventually("the redirect table loads", || async {
            app.state.table.is_loaded()
        })
        .await;
        app
    }

    pub async fn create(&self, s: &str, url: &str) -> Link {
        self.create_with(NewLink::new(Some(slug(s)), target(url)))
            .await
    }

    pub async fn create_with(&self, new: NewLink) -> Link {
        let link = self
            .store
            .create_link(&new, &admin(), self.clock.now())
            .await
            .unwrap();
        self.sync().await;
        link
    }

    /// Applies the change feed now instead of waiting for the next poll.
    pub async fn sync(&self) {
        self.state.table.catch_up(&self.store).await.unwrap();
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn head(&self, path: &str) -> reqwest::Response {
        self.client
            .head(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// Polls `condition` for up to 30 seconds; returns how long it took. Never a fixed sleep.
    pub async fn eventually<F, Fut>(&self, what: &str, condition: F) -> Duration
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        eventually(what, Duration::from_secs(30), condition).await
    }

    /// Stops the server as SIGTERM would, waits for it to drain and flush, and hands back the
    /// database so the test can look at what was written.
    pub async fn shutdown(mut self) -> Option<TestDatabase> {
        let _ = self.shutdown.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap().unwrap();
        self.db.take()
    }
}

pub async fn eventually<F, Fut>(what: &str, bound: Duration, condition: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < bound, "waited {bound:?} for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}
