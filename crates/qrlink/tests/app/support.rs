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
    /// Also serve metrics on a second loopback port.
    pub metrics: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: PublicSettings {
                instance: qrlink::instance::Instance {
                    policy: policy(),
                    time_zone: jiff::tz::TimeZone::UTC,
                    uppercase_codes: true,
                },
                home_url: None,
                not_found_url: None,
                retired_url: None,
                referrer_policy: axum::http::HeaderValue::from_static("no-referrer"),
                access_log: false,
                sessions: qrlink_core::accounts::SessionTimeouts {
                    idle: jiff::SignedDuration::from_mins(30),
                    absolute: jiff::SignedDuration::from_hours(12),
                },
                csp_report_uri: None,
                trusted_proxies: qrlink::server::client::TrustedProxies::none(),
                client_rates: qrlink::server::client::ClientRates::DEFAULT,
                max_connections: None,
            },
            // Short intervals keep tests quick; tests that need control call catch_up/flush themselves.
            intervals: Intervals {
                flush: Duration::from_millis(100),
                poll: Duration::from_millis(50),
                fold: Duration::from_millis(200),
                idle: Intervals::IDLE,
            },
            metrics: false,
        }
    }
}

pub struct TestApp {
    pub db: Option<TestDatabase>,
    pub store: Store,
    pub clock: Clock,
    pub state: Arc<AppState>,
    pub base: String,
    /// `http://127.0.0.1:PORT` of the metrics listener, if the options asked for one.
    pub metrics_base: Option<String>,
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
        let mut server = Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            store.clone(),
            clock.clone(),
            options.settings,
            options.intervals,
        )
        .await
        .unwrap();
        if options.metrics {
            server = server
                .with_metrics_listener("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
        }
        let base = format!("http://{}", server.local_addr());
        let metrics_base = server.metrics_addr().map(|addr| format!("http://{addr}"));
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
            metrics_base,
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

    /// The secret of a new API token with this scope, tied to no user.
    pub async fn token(&self, scope: qrlink_core::accounts::Scope) -> String {
        let new = qrlink_core::accounts::NewToken {
            name: format!("{}-token", scope.as_str()),
            scope,
            user: None,
            expires_at: None,
        };
        let (_, secret) = self
            .store
            .create_token(&new, "test", self.clock.now())
            .await
            .unwrap();
        secret.expose().to_owned()
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

    /// The bytes of an admin download, fetched over HTTP with a session cookie.
    pub async fn download(&self, path: &str, session: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("__Host-qrlink-session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.bytes().await.unwrap().to_vec()
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

/// A real `qrlink serve` process listening on 127.0.0.1:0, started with `instance` (the
/// global settings: `--data-dir …` or `--database-url …`) and `serve_args`.
pub struct ServeProcess {
    child: tokio::process::Child,
    pub base: String,
    pub client: reqwest::Client,
    redirects: std::sync::atomic::AtomicU64,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Starts the process and waits until it is ready (its table is loaded).
    pub async fn start(instance: &[&str], serve_args: &[&str]) -> ServeProcess {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_qrlink"))
            .args(instance)
            .args(["--base-url", BASE, "serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .env_remove("DATABASE_URL")
            .env("QRLINK_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // The address is in the start-up log line: `... qrlink listening addr=127.0.0.1:PORT`.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .expect("the server logs its address within 30 s")
                .unwrap()
                .expect("the server exited before listening");
            if let Some(rest) = line.split("addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading the log so the process never blocks on a full pipe.
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().unwrap().push(line);
            }
        });
        let server = ServeProcess {
            child,
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            redirects: Default::default(),
            log,
        };
        eventually("the server is ready", Duration::from_secs(30), || async {
            server
                .client
                .get(format!("{}/_/health/ready", server.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        })
        .await;
        server
    }

    /// The process's resident memory now and at its peak so far, in bytes (`VmRSS`,
    /// `VmHWM` of `/proc/PID/status`).
    pub fn memory(&self) -> (u64, u64) {
        let pid = self.child.id().expect("the server runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib = |field: &str| -> u64 {
            let line = status.lines().find(|l| l.starts_with(field)).unwrap();
            line.split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap()
                * 1024
        };
        (kib("VmRSS:"), kib("VmHWM:"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        if response.status().is_redirection() {
            self.redirects
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        response
    }

    /// How many redirects this process has answered to [`ServeProcess::get`].
    pub fn redirects_received(&self) -> u64 {
        self.redirects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Where `/<slug>` redirects to now, if it redirects.
    pub async fn location(&self, slug: &str) -> Option<String> {
        let response = self.get(&format!("/{slug}")).await;
        header(&response, "location").map(str::to_owned)
    }

    /// The log lines written since start-up (after the address line).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("the server is running").to_string();
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Sends SIGTERM and waits (up to a minute) for the process to exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("the server stops within a minute of SIGTERM")
            .unwrap()
    }

    /// Sends SIGKILL: no drain, no flush, as in a crash or an OOM kill.
    pub async fn kill(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait().await;
    }
}

/// Runs the `qrlink` binary with `args`; returns (success, stdout, stderr).
pub async fn run_qrlink(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_qrlink"))
        .args(["--base-url", BASE])
        .args(args)
        .env_remove("DATABASE_URL")
        .env("USER", "cli-tester")
        // A test that drops this future (a simulated crash) kills the process with it.
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Decodes a PNG or SVG code with the independent decoder and checks the text it carries.
pub fn assert_decodes(format: &str, bytes: &[u8], text: &str) {
    match format.to_ascii_lowercase().as_str() {
        "png" => qrlink_qr::verify_png(bytes, text, false).unwrap(),
        "svg" => qrlink_qr::verify_svg(bytes, text, false).unwrap(),
        other => panic!("no decoder here for {other}"),
    }
}
