//! End to end in real headless Chromium, driven through chromedriver (WebDriver): first-run
//! setup, a link created and styled with the live preview, downloads that decode, a re-point,
//! a restore from history and signing out; once with JavaScript and once without. Every
//! Content-Security-Policy violation is reported to a collector the test runs, and there must
//! be none. Screenshots of each step go to `target/e2e/`; with `QRLINK_SCREENSHOTS=DIR`, the
//! main pages are also saved at desktop and phone widths for the documentation.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian `chromium`, `chromium-driver`). Without
//! them the test prints a loud notice and passes; CI sets `QRLINK_REQUIRE_BROWSER=1`, which
//! turns the skip into a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromedriver() -> Option<PathBuf> {
    let found = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_some() && Path::new(CHROMIUM).exists() {
        return found;
    }
    if std::env::var("QRLINK_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!("QRLINK_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed");
    }
    eprintln!(
        "\n!!! SKIPPED: browser test, chromium and chromedriver are not installed (apt-get install chromium chromium-driver) !!!\n"
    );
    None
}

/// chromedriver and one headless Chromium session; both end when this is dropped.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_browser(driver: &Path, javascript: bool) -> Browser {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let mut chrome_options = json!({
        "binary": CHROMIUM,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
            "--window-size=1280,900", format!("--user-data-dir={}", profile.path().display()),
        ],
    });
    if !javascript {
        chrome_options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), chrome_options);
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Browser {
                    client,
                    driver: child,
                    _profile: profile,
                };
            }
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no WebDriver session within 10 s: {last_error:?}");
}

/// Collects the CSP reports browsers send to `report-uri`.
async fn csp_collector() -> (String, Arc<Mutex<Vec<String>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let kept = reports.clone();
    let app = axum::Router::new().route(
        "/csp",
        axum::routing::post(move |body: String| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/csp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, reports)
}

struct Run<'a> {
    app: &'a TestApp,
    client: &'a Client,
    shots: PathBuf,
    step: Mutex<u32>,
}

impl Run<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/_/admin/{path}", self.app.base)
    }

    async fn screenshot(&self, name: &str) {
        let mut step = self.step.lock().unwrap().to_owned();
        step += 1;
        *self.step.lock().unwrap() = step;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{step:02}-{name}.png")), png).unwrap();
    }

    async fn fill(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Polls the page until `check` holds on its source (htmx swaps arrive a little later).
    async fn until(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let started = std::time::Instant::now();
        loop {
            if let Ok(source) = self.client.source().await
                && check(&source)
            {
                return source;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let source = self.client.source().await.unwrap_or_default();
                panic!("{what}: not within 20 s; page: {source}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn preview_src(&self) -> String {
        self.client
            .find(Locator::Css("img.qr"))
            .await
            .unwrap()
            .attr("src")
            .await
            .unwrap()
            .unwrap_or_default()
    }
}

/// The whole flow in one browser; `javascript` off shows every page works without it.
async fn the_flow(driver: &Path, javascript: bool) {
    let (report_uri, reports) = csp_collector().await;
    let mut options = Options::default();
    options.settings.csp_report_uri = Some(report_uri);
    let app = TestApp::with(qrlink_core::testing::TestDatabase::sqlite().await, options).await;
    let browser = start_browser(driver, javascript).await;
    let mode = if javascript { "js" } else { "no-js" };
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../e2e")
        .join(mode);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let run = Run {
        app: &app,
        client: &browser.client,
        shots,
        step: Mutex::new(0),
    };
    let client = &browser.client;

    // First-run setup through the one-time link.
    let setup = app.store.create_password_link(None, t0()).await.unwrap();
    client
        .goto(&run.url(&format!("password/{}", setup.expose())))
        .await
        .unwrap();
    run.screenshot("setup").await;
    run.fill("name", "ada").await;
    run.fill("password", "a long passphrase for ada").await;
    run.fill("repeat", "a long passphrase for ada").await;
    run.click("main form button[type=submit]").await;
    run.until("signed in after setup", |s| {
        s.contains("ada (admin)") && s.contains("No links match")
    })
    .await;
    run.screenshot("links-empty").await;

    // A new link.
    run.click("a.button[href$='links/new']").await;
    run.until("the new link form", |s| s.contains("<h1>New link</h1>"))
        .await;
    run.fill("target", "https://example.org/slides").await;
    run.fill("slug", "talk").await;
    run.fill("title", "My talk at PyCon").await;
    run.screenshot("new-link").await;
    run.click("main form button[type=submit]").await;
    run.until("the link page", |s| {
        s.contains("<h1>talk") && s.contains("img class=\"qr\"")
    })
    .await;
    run.screenshot("link").await;

    // Style it: with JavaScript the preview follows the form; without, the Preview button.
    let before = run.preview_src().await;
    client
        .find(Locator::Id("shape"))
        .await
        .unwrap()
        .select_by_value("dot")
        .await
        .unwrap();
    client
        .find(Locator::Id("finder"))
        .await
        .unwrap()
        .select_by_value("rounded")
        .await
        .unwrap();
    let logo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qrlink-qr/tests/fixtures/logo.jpg");
    client
        .find(Locator::Id("logo"))
        .await
        .unwrap()
        .send_keys(&logo.canonicalize().unwrap().display().to_string())
        .await
        .unwrap();
    if !javascript {
        run.click("form.style button[name=save][value='0']").await;
    }
    run.until("the preview shows the new style and the logo", |s| {
        s.contains("Not saved yet") && !s.contains(&before) && s.contains("the logo hides")
    })
    .await;
    run.screenshot("styled").await;
    run.click("form.style button[name=save][value='1']").await;
    run.until("the style is saved", |s| {
        s.contains("Download:") && !s.contains("Not saved yet")
    })
    .await;
    let saved = app
        .store
        .link_style(&slug("talk"))
        .await
        .unwrap()
        .expect("a saved style");
    assert!(
        saved.options.contains("\"shape\":\"dot\"")
            && saved.options.contains("\"finder\":\"rounded\"")
    );
    assert!(saved.logo_png.is_some(), "the uploaded logo is saved");
    assert_ne!(
        run.preview_src().await,
        before,
        "the page shows the saved style"
    );

    // Downloads, fetched over HTTP with the browser's session, decode to the short URL.
    let session = client
        .get_named_cookie("__Host-qrlink-session")
        .await
        .expect("the session cookie is set on http://127.0.0.1 (Secure is allowed there)");
    assert!(session.http_only().unwrap_or(false) && session.secure().unwrap_or(false));
    for format in ["PNG", "SVG"] {
        let link = client
            .find(Locator::XPath(&format!(
                "//p[@class='downloads']/a[text()='{format}']"
            )))
            .await
            .unwrap();
        let href = link.attr("href").await.unwrap().unwrap();
        let bytes = app.download(&href, session.value()).await;
        assert_decodes(format, &bytes, "HTTPS://GO.EXAMPLE.ORG/TALK");
    }

    // Re-point it, then restore the first target from history.
    run.fill("new-target", "https://example.org/video").await;
    run.fill("reason", "the video is up").await;
    run.click("form[action$='/talk/target'] button[type=submit]")
        .await;
    run.until("re-pointed", |s| {
        s.contains("the video is up") && s.contains("→ <a href=\"https://example.org/video\"")
    })
    .await;
    run.screenshot("re-pointed").await;
    run.click("form[action$='/talk/restore/1'] button[type=submit]")
        .await;
    run.until("restored", |s| {
        s.contains("→ <a href=\"https://example.org/slides\"")
    })
    .await;
    run.screenshot("restored").await;
    let link = app.store.link(&slug("talk")).await.unwrap();
    assert_eq!(link.target.as_str(), "https://example.org/slides");
    assert_eq!(app.store.history(&slug("talk")).await.unwrap().len(), 3);

    // From the list: with JavaScript the target is edited in its row; without, `edit` leads
    // to the link's page.
    client.goto(&run.url("links")).await.unwrap();
    run.click("#target-talk a.edit").await;
    if javascript {
        run.until("the inline form", |s| {
            s.contains("id=\"inline-target-talk\"")
        })
        .await;
        run.fill("inline-target-talk", "https://example.org/recap")
            .await;
        run.screenshot("inline-edit").await;
        run.click("#target-talk button[type=submit]").await;
        run.until("the row shows the new target", |s| {
            s.contains("<h1>Links</h1>") && s.contains(">https://example.org/recap</span>")
        })
        .await;
        let link = app.store.link(&slug("talk")).await.unwrap();
        assert_eq!(link.target.as_str(), "https://example.org/recap");
    } else {
        run.until("the link page", |s| s.contains("<h1>talk")).await;
    }

    if let Ok(dir) = std::env::var("QRLINK_SCREENSHOTS") {
        docs_screenshots(&run, Path::new(&dir), mode).await;
    }

    // Sign out: the session is gone on the server too.
    run.click("form.sign-out button").await;
    run.until("signed out", |s| s.contains("<h1>Sign in</h1>"))
        .await;
    run.screenshot("signed-out").await;
    client.goto(&run.url("links?q=talk")).await.unwrap();
    run.until("sent to sign in", |s| s.contains("<h1>Sign in</h1>"))
        .await;

    // Signing in again, through the form, leads back to the page asked for.
    run.fill("name", "ada").await;
    run.fill("password", "a long passphrase for ada").await;
    run.screenshot("sign-in").await;
    run.click("main form button[type=submit]").await;
    run.until("signed in again", |s| {
        s.contains("ada (admin)") && s.contains("value=\"talk\"")
    })
    .await;
    run.click("form.sign-out button").await;
    run.until("signed out again", |s| s.contains("<h1>Sign in</h1>"))
        .await;

    // No page violated the CSP. As a check that reporting works at all, break the policy
    // on purpose (WebDriver's own script may run; the style element it adds may not).
    assert_eq!(
        reports.lock().unwrap().as_slice(),
        &[] as &[String],
        "CSP violations"
    );
    if javascript {
        client
            .execute(
                "const s = document.createElement('style'); s.textContent = 'body{}'; document.head.append(s);",
                vec![],
            )
            .await
            .unwrap();
        eventually(
            "the deliberate violation is reported",
            Duration::from_secs(30),
            || async { !reports.lock().unwrap().is_empty() },
        )
        .await;
        let reports = reports.lock().unwrap();
        assert!(
            reports.iter().all(|r| r.contains("style-src")),
            "{reports:?}"
        );
    }
    drop(browser);
    app.shutdown().await;
}

/// The main pages at a desktop and a phone width, for the README.
async fn docs_screenshots(run: &Run<'_>, dir: &Path, mode: &str) {
    if mode != "js" {
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..12 {
        let mut new = qrlink_core::link::NewLink::new(
            Some(slug(&format!("event-{i:02}"))),
            target(&format!("https://example.org/events/{i}")),
        );
        new.title = format!("Poster {i} for the spring campaign");
        new.tags = vec![qrlink_core::link::Tag::parse("spring").unwrap()];
        run.app.create_with(new).await;
    }
    // Some made-up hits over the last month, so that the sparklines and the chart show.
    let mut counts = Vec::new();
    for (n, link) in run
        .app
        .store
        .list_links(&qrlink_core::store::LinkQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .enumerate()
    {
        for day in 0..30_i64 {
            let hits = (day * 7 + n as i64 * 13) % 23 + if day > 20 { 15 } else { 0 };
            counts.push(qrlink_core::counts::DailyCount {
                link_id: link.id,
                day: qrlink_core::counts::utc_day(t0()) - jiff::Span::new().days(day),
                counts: qrlink_core::counts::Counts {
                    hits,
                    ..Default::default()
                },
            });
        }
    }
    run.app.store.add_counts(&counts).await.unwrap();
    run.app.store.fold_counts().await.unwrap();
    for (width, height, size) in [(1280, 900, "desktop"), (390, 844, "phone")] {
        run.client.set_window_size(width, height).await.unwrap();
        for (page, name) in [
            ("links", "links"),
            ("links/talk", "link"),
            ("links/new", "new-link"),
        ] {
            run.client.goto(&run.url(page)).await.unwrap();
            run.until("the page", |s| s.contains("</main>")).await;
            let png = run.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{size}.png")), png).unwrap();
        }
    }
    run.client.set_window_size(1280, 900).await.unwrap();
    run.client.goto(&run.url("links/talk")).await.unwrap();
}

#[tokio::test]
async fn the_admin_in_a_real_browser_with_and_without_javascript() {
    let Some(driver) = chromedriver() else { return };
    the_flow(&driver, true).await;
    the_flow(&driver, false).await;
}
