//! The public side, end to end over HTTP: R-FWD-1 to R-FWD-9.

use jiff::SignedDuration;
use qrlink_core::link::{LinkDetails, NewLink, RedirectStatus};
use qrlink_core::store::TargetChange;
use qrlink_core::testing::TestDatabase;

use crate::support::*;

#[tokio::test]
async fn a_link_redirects_with_302_and_no_trace_of_the_visitor() {
    let app = TestApp::sqlite().await;
    app.create("pycon-talk", "https://example.org/talk?x=1")
        .await;
    let response = app.get("/pycon-talk").await;
    assert_eq!(response.status(), 302);
    assert_eq!(
        header(&response, "location"),
        Some("https://example.org/talk?x=1")
    );
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&response, "x-frame-options"), Some("DENY"));
    assert_eq!(
        header(&response, "strict-transport-security"),
        Some("max-age=31536000"),
        "the base URL is https"
    );
    assert_eq!(
        header(&response, "content-security-policy"),
        Some("default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    );
    for name in [
        "location",
        "cache-control",
        "referrer-policy",
        "x-content-type-options",
        "x-frame-options",
        "strict-transport-security",
        "content-security-policy",
    ] {
        let values = response.headers().get_all(name).iter().count();
        assert_eq!(values, 1, "{name} is sent once");
    }
    assert!(header(&response, "set-cookie").is_none());
    assert!(header(&response, "server").is_none());
    assert!(response.bytes().await.unwrap().len() <= 512);
}

#[tokio::test]
async fn head_answers_like_get() {
    let app = TestApp::sqlite().await;
    app.create("talk", "https://example.org/").await;
    for path in ["/talk", "/TALK", "/missing", "/talk+"] {
        let (get, head) = (app.get(path).await, app.head(path).await);
        assert_eq!(head.status(), get.status(), "{path}");
        for name in ["location", "cache-control", "referrer-policy"] {
            assert_eq!(header(&head, name), header(&get, name), "{path} {name}");
        }
    }
}

#[tokio::test]
async fn permanent_redirects_are_cached_briefly_at_most() {
    let app = TestApp::sqlite().await;
    for (s, code) in [("p301", 301), ("p308", 308), ("t307", 307)] {
        let mut new = NewLink::new(Some(slug(s)), target("https://example.org/"));
        new.redirect_status = RedirectStatus::parse(code).unwrap();
        app.create_with(new).await;
        let response = app.get(&format!("/{s}")).await;
        assert_eq!(response.status(), code);
        let expected = if code == 307 {
            "no-store"
        } else {
            "private, max-age=90"
        };
        assert_eq!(header(&response, "cache-control"), Some(expected), "{code}");
    }
}

#[tokio::test]
async fn slugs_are_matched_case_insensitively_but_only_in_ascii() {
    let app = TestApp::sqlite().await;
    app.create("pycon-talk", "https://example.org/").await;
    assert_eq!(app.get("/PYCON-TALK").await.status(), 302);
    assert_eq!(app.get("/PyCon-Talk").await.status(), 302);
    // U+212A KELVIN SIGN lowercases to `k` under Unicode rules; a path like this is never folded.
    app.create("kelvin", "https://example.org/").await;
    assert_eq!(app.get("/%E2%84%AAelvin").await.status(), 404);
    assert_eq!(
        app.get("/pycon-talk/").await.status(),
        404,
        "no trailing-slash variant, no extra hop"
    );
}

#[tokio::test]
async fn unknown_slugs_get_a_404_that_reflects_nothing_and_is_not_cached() {
    let app = TestApp::sqlite().await;
    let response = app.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(response.status(), 404);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(
        header(&response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("script") && !body.contains("alert"),
        "{body}"
    );
    assert_eq!(
        app.get("/_/nothing-here").await.status(),
        404,
        "`/_/` is never a slug"
    );
    assert_eq!(app.get("/favicon.ico").await.status(), 404);
    assert_eq!(app.get("/.well-known/security.txt").await.status(), 404);
}

#[tokio::test]
async fn a_retired_link_answers_410_and_can_come_back() {
    let app = TestApp::sqlite().await;
    let link = app.create("flyer", "https://example.org/").await;
    app.store
        .retire(&link.slug, None, false, &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    let response = app.get("/flyer").await;
    assert_eq!(response.status(), 410);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    app.store
        .unretire(&link.slug, &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    assert_eq!(app.get("/flyer").await.status(), 302);
}

#[tokio::test]
async fn configured_pages_redirect_instead() {
    let mut options = Options::default();
    options.settings.not_found_url = Some(axum::http::HeaderValue::from_static(
        "https://example.org/404",
    ));
    options.settings.retired_url = Some(axum::http::HeaderValue::from_static(
        "https://example.org/gone",
    ));
    options.settings.home_url = Some(axum::http::HeaderValue::from_static("https://example.org/"));
    let app = TestApp::with(TestDatabase::sqlite().await, options).await;
    let link = app.create("old", "https://example.org/x").await;
    app.store
        .retire(&link.slug, None, false, &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    for (path, location) in [
        ("/", "https://example.org/"),
        ("/nope", "https://example.org/404"),
        ("/old", "https://example.org/gone"),
    ] {
        let response = app.get(path).await;
        assert_eq!(
            (response.status().as_u16(), header(&response, "location")),
            (302, Some(location)),
            "{path}"
        );
        assert_eq!(header(&response, "cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn a_renamed_slug_keeps_redirecting() {
    let app = TestApp::sqlite().await;
    let link = app
        .create("meetup-2026", "https://example.org/meetup")
        .await;
    app.store
        .rename(&link.slug, &slug("meetup"), &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    for path in ["/meetup-2026", "/meetup"] {
        assert_eq!(
            header(&app.get(path).await, "location"),
            Some("https://example.org/meetup"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_query_string_never_changes_the_destination_unless_the_link_forwards_it() {
    let app = TestApp::sqlite().await;
    app.create("plain", "https://example.org/page?a=1#top")
        .await;
    let link = app
        .create("forwarding", "https://example.org/page?a=1#top")
        .await;
    let details = LinkDetails {
        forward_query: Some(true),
        ..LinkDetails::default()
    };
    app.store
        .update_details(&link.slug, &details, &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    let plain = app.get("/plain?url=https://evil.example/&a=2").await;
    assert_eq!(
        header(&plain, "location"),
        Some("https://example.org/page?a=1#top")
    );
    let forwarded = app.get("/forwarding?utm_source=poster&a=2").await;
    assert_eq!(
        header(&forwarded, "location"),
        Some("https://example.org/page?a=1&utm_source=poster&a=2#top")
    );
}

#[tokio::test]
async fn a_scheduled_switch_happens_at_its_time_without_any_write() {
    let app = TestApp::sqlite().await;
    let link = app.create("conf", "https://example.org/cfp").await;
    let switch_at = app.clock.now() + SignedDuration::from_hours(2);
    let recap = target("https://example.org/recap");
    let change = TargetChange {
        slug: &link.slug,
        target: &recap,
        at: Some(switch_at),
        reason: None,
        confirm: false,
    };
    app.store
        .set_target(change, &admin(), app.clock.now())
        .await
        .unwrap();
    app.sync().await;
    assert_eq!(
        header(&app.get("/conf").await, "location"),
        Some("https://example.org/cfp")
    );
    app.clock.set(switch_at - SignedDuration::from_secs(1));
    assert_eq!(
        header(&app.get("/conf").await, "location"),
        Some("https://example.org/cfp")
    );
    app.clock.set(switch_at);
    assert_eq!(
        header(&app.get("/conf").await, "location"),
        Some("https://example.org/recap")
    );
}

#[tokio::test]
async fn the_preview_shows_where_a_code_goes_escaped_and_uncounted() {
    let app = TestApp::sqlite().await;
    let mut new = NewLink::new(
        Some(slug("wary")),
        target("https://b\u{fc}cher.example/<x>"),
    );
    new.title = "<script>alert(1)</script> & \"quotes\"".into();
    new.notes = "<img src=x onerror=alert(1)>".into();
    app.create_with(new).await;
    let response = app.get("/WARY+").await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let body = response.text().await.unwrap();
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;quotes&#34;")
            || body.contains("&lt;script&gt;"),
        "{body}"
    );
    assert!(
        !body.contains("<script>") && !body.contains("<img"),
        "{body}"
    );
    assert!(
        body.contains("https://xn--bcher-kva.example/%3Cx%3E"),
        "{body}"
    );
    assert!(body.contains("https://go.example.org/wary"), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn only_get_and_head_are_answered_on_slugs() {
    let app = TestApp::sqlite().await;
    app.create("talk", "https://example.org/").await;
    let response = app
        .client
        .post(format!("{}/talk", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(header(&response, "allow"), Some("GET, HEAD"));
}

#[tokio::test]
async fn health_reports_live_and_ready() {
    let app = TestApp::sqlite().await;
    assert_eq!(app.get("/_/health/live").await.status(), 200);
    assert_eq!(app.get("/_/health/ready").await.status(), 200);
    let robots = app.get("/robots.txt").await;
    assert_eq!(
        robots.text().await.unwrap(),
        "User-agent: *\nDisallow: /_/\n"
    );
    let home = app.get("/").await;
    assert_eq!(home.status(), 200);
}

#[tokio::test]
async fn hits_are_counted_apart_from_head_and_previews_and_flushed_on_shutdown() {
    let app = TestApp::sqlite().await;
    let link = app.create("counted", "https://example.org/").await;
    for _ in 0..5 {
        app.get("/counted").await;
    }
    app.head("/counted").await;
    app.client
        .get(format!("{}/counted", app.base))
        .header("user-agent", "Slackbot-LinkExpanding 1.0")
        .send()
        .await
        .unwrap();
    for (name, value) in [("sec-purpose", "prefetch"), ("x-moz", "prefetch")] {
        app.client
            .get(format!("{}/counted", app.base))
            .header(name, value)
            .send()
            .await
            .unwrap();
    }
    app.get("/counted+").await;
    app.get("/missing").await;
    // Shutdown drains requests and flushes what is still in memory.
    let db = app.shutdown().await.unwrap();
    let counts = db.reopen().await.daily_counts(&link.slug).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(
        (
            counts[0].counts.hits,
            counts[0].counts.head_hits,
            counts[0].counts.bot_hits
        ),
        (5, 1, 3)
    );
    assert_eq!(counts[0].day.to_string(), "2026-06-01");
}

#[tokio::test]
async fn a_mounted_instance_answers_under_its_path_only() {
    let mut options = Options::default();
    options.settings.instance.policy.base =
        qrlink_core::base_url::BaseUrl::parse("https://example.org/qr/").unwrap();
    let app = TestApp::with(TestDatabase::sqlite().await, options).await;
    app.create("talk", "https://example.org/talk").await;
    assert_eq!(app.get("/qr/talk").await.status(), 302);
    assert_eq!(app.get("/talk").await.status(), 404);
    assert_eq!(app.get("/qr/_/health/ready").await.status(), 200);
}

#[tokio::test]
async fn the_server_runs_on_postgres_too() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let app = TestApp::with(db, Options::default()).await;
    app.create("talk", "https://example.org/talk").await;
    assert_eq!(
        header(&app.get("/TALK").await, "location"),
        Some("https://example.org/talk")
    );
    assert_eq!(app.get("/nope").await.status(), 404);
}

#[tokio::test]
async fn during_a_database_outage_known_links_redirect_and_unknown_ones_get_503() {
    use crate::proxy::CuttableProxy;
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let mut proxied = url::Url::parse(db.postgres_url().unwrap()).unwrap();
    let upstream =
        tokio::net::lookup_host((proxied.host_str().unwrap(), proxied.port().unwrap_or(5432)))
            .await
            .unwrap()
            .next()
            .unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let store = qrlink_core::store::Store::open(qrlink_core::store::StoreLocation::Postgres(
        proxied.as_str(),
    ))
    .await
    .unwrap();
    let app = TestApp::on_store(Some(db), store, Options::default()).await;
    let link = app.create("known", "https://example.org/known").await;
    for _ in 0..3 {
        assert_eq!(app.get("/known").await.status(), 302);
    }

    proxy.cut();
    let noticed = app
        .eventually("an unknown slug answers 503", || async {
            app.get("/unknown").await.status() == 503
        })
        .await;
    eprintln!("the outage was noticed after {noticed:?}");
    let unavailable = app.get("/unknown").await;
    assert_eq!(header(&unavailable, "retry-after"), Some("5"));
    assert_eq!(header(&unavailable, "cache-control"), Some("no-store"));
    for _ in 0..4 {
        assert_eq!(
            header(&app.get("/known").await, "location"),
            Some("https://example.org/known")
        );
    }
    assert_eq!(
        app.get("/_/health/ready").await.status(),
        200,
        "readiness stays up during the outage"
    );

    proxy.restore();
    let recovered = app
        .eventually("an unknown slug answers 404 again", || async {
            app.get("/unknown").await.status() == 404
        })
        .await;
    eprintln!("recovery was noticed after {recovered:?}");
    let direct = &app.db.as_ref().unwrap().store;
    let flushed = app
        .eventually("all seven hits reach the database", || async {
            let counts = direct.daily_counts(&link.slug).await.unwrap();
            counts.iter().map(|c| c.counts.hits).sum::<i64>() == 7
        })
        .await;
    eprintln!("counts kept through the outage were flushed {flushed:?} after recovery");
}

/// htmx is served by qrlink itself, byte for byte the vendored release (its checksum is in
/// `vendor/htmx/SHA256SUMS`), and may be cached for good: its name carries the version.
#[tokio::test]
async fn the_vendored_htmx_is_served_unmodified_from_our_own_origin() {
    use sha2::Digest;
    let app = TestApp::sqlite().await;
    let response = app.get("/_/assets/htmx-2.0.11.min.js").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    let served: String = sha2::Sha256::digest(response.bytes().await.unwrap())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let sums = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vendor/htmx/SHA256SUMS"),
    )
    .unwrap();
    let recorded = sums
        .lines()
        .find_map(|line| line.strip_suffix("  htmx.min.js"))
        .expect("htmx.min.js is listed");
    assert_eq!(served, recorded);
}
