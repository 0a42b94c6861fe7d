//! What an operator sees: metrics on their own listener, logs that say nothing about visitors
//! unless the access log is turned on, and counts the server folds by itself.

use qrlink_core::testing::TestDatabase;

use crate::support::*;

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let options = Options {
        metrics: true,
        ..Options::default()
    };
    let app = TestApp::with(TestDatabase::sqlite().await, options).await;
    app.create("flyer", "https://example.org/flyer").await;
    app.sync().await;
    for _ in 0..3 {
        assert_eq!(app.get("/flyer").await.status(), 302);
    }
    assert_eq!(app.get("/nothing-here").await.status(), 404);
    assert_eq!(app.get("/_/health/ready").await.status(), 200);
    assert_eq!(
        app.get("/metrics").await.status(),
        404,
        "the public listener has no metrics: `metrics` is just an unknown slug there"
    );

    let metrics_base = app.metrics_base.clone().unwrap();
    let response = app
        .client
        .get(format!("{metrics_base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        header(&response, "content-type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"qrlink_http_requests_total{route="slug",status="302"} 3"#,
        r#"qrlink_http_requests_total{route="slug",status="404"} 2"#,
        r#"qrlink_http_requests_total{route="health",status="200"}"#,
        "qrlink_redirect_duration_seconds_count 5",
        "qrlink_redirect_table_slugs 1",
        "qrlink_count_flush_lag_seconds",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(
        !text.contains("flyer") && !text.contains("127.0.0.1"),
        "metrics name no link and no visitor:\n{text}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn visitors_appear_in_the_log_only_with_the_access_log_on() {
    let dir = tempfile::tempdir().unwrap();
    let data = ["--data-dir", dir.path().to_str().unwrap()];
    let (ok, _, stderr) =
        run_qrlink(&[&data[..], &["link", "add", "flyer", "https://example.org/"]].concat()).await;
    assert!(ok, "{stderr}");

    for access_log in [false, true] {
        let flags: &[&str] = if access_log { &["--access-log"] } else { &[] };
        let server = ServeProcess::start(&data, flags).await;
        assert_eq!(server.get("/flyer").await.status(), 302);
        assert_eq!(server.get("/who-knows").await.status(), 404);
        let log = server.log();
        server.terminate().await;
        let mentions = |needle: &str| log.iter().any(|line| line.contains(needle));
        if access_log {
            assert!(
                mentions("client=127.0.0.1") && mentions("/flyer") && mentions("status=302"),
                "the access log has each request: {log:#?}"
            );
        } else {
            assert!(
                !mentions("127.0.0.1") && !mentions("flyer") && !mentions("who-knows"),
                "without the access log, nothing about visitors: {log:#?}"
            );
        }
    }
}

/// The running server folds its count log into the daily totals by itself: the log empties,
/// and the totals say exactly what was served. Polls with a generous bound and reports.
#[tokio::test]
async fn the_server_folds_its_count_log_into_daily_totals() {
    let app = TestApp::sqlite().await;
    let link = app.create("folded", "https://example.org/folded").await;
    for _ in 0..25 {
        assert_eq!(app.get("/folded").await.status(), 302);
    }
    let data_dir = app
        .db
        .as_ref()
        .and_then(|db| db.data_dir())
        .unwrap()
        .to_owned();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/qrlink.db", data_dir.display()))
        .await
        .unwrap();
    let took = app
        .eventually("the server folds every hit into daily_counts", || async {
            let folded: Option<i64> =
                sqlx::query_scalar("SELECT SUM(hits) FROM daily_counts WHERE link_id = $1")
                    .bind(link.id.0)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let logged: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM count_log) + (SELECT COUNT(*) FROM count_packs)",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            folded == Some(25) && logged == 0
        })
        .await;
    eprintln!("25 hits were flushed and folded {took:?} after the last one");
    let counts = app.store.daily_counts(&link.slug).await.unwrap();
    assert_eq!(counts.iter().map(|c| c.counts.hits).sum::<i64>(), 25);
}
