//! What an operator sees: metrics on their own listener, logs that say nothing about visitors
//! unless the access log is turned on, and counts the server folds by itself.

use std::time::{Duration, Instant};

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
        r#"qrlink_redirect_duration_seconds_bucket{le="+Inf"} 5"#,
        "qrlink_redirect_table_slugs 1",
        "qrlink_count_flush_lag_seconds",
        "# EOF",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    // Buckets are cumulative: each counts at least what the one below it does.
    let buckets: Vec<u64> = text
        .lines()
        .filter(|line| line.starts_with("qrlink_redirect_duration_seconds_bucket"))
        .map(|line| line.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(buckets.len(), 11, "{text}");
    assert!(buckets.windows(2).all(|pair| pair[0] <= pair[1]), "{text}");
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

/// A connection that starts no request for the idle limit is closed, whether its client sends
/// nothing or drips its headers a line at a time (slow loris); one that keeps making requests
/// is kept, however long it lives, and so is one whose request body arrives slowly.
#[tokio::test]
async fn connections_that_start_no_request_are_closed_and_busy_ones_kept() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let idle = Duration::from_millis(600);
    let mut options = Options::default();
    options.intervals.idle = idle;
    let app = TestApp::with(TestDatabase::sqlite().await, options).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let connect = || tokio::net::TcpStream::connect(addr.clone());

    // Requests 200 ms apart for five times the idle limit, all on one connection.
    let mut busy = connect().await.unwrap();
    let mut buffer = [0u8; 4096];
    for round in 0..15 {
        busy.write_all(b"GET /_/health/live HTTP/1.1\r\nHost: qr.test\r\n\r\n")
            .await
            .unwrap();
        let read = busy.read(&mut buffer).await.unwrap();
        let answer = String::from_utf8_lossy(&buffer[..read]);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok\n"),
            "request {round} on the kept connection: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A request whose body takes four times the idle limit to arrive is in flight: answered.
    let token = app.token(qrlink_core::accounts::Scope::Write).await;
    let body = br#"{"slug": "slow", "target": "https://example.org/slow"}"#;
    let mut slow = connect().await.unwrap();
    let head = format!(
        "POST /_/api/v1/links HTTP/1.1\r\nHost: qr.test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        token,
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let pause = idle * 4 / body.len() as u32;
    for byte in body {
        tokio::time::sleep(pause).await;
        slow.write_all(&[*byte]).await.unwrap();
    }
    let read = slow.read(&mut buffer).await.unwrap();
    let answer = String::from_utf8_lossy(&buffer[..read]);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the slow upload: {answer}"
    );

    // Silent, and dripping a header line every 100 ms without ever ending the headers.
    for drip in [false, true] {
        let (mut reader, mut writer) = connect().await.unwrap().into_split();
        let opened = Instant::now();
        if drip {
            writer.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        }
        let closed = async {
            loop {
                tokio::select! {
                    read = reader.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => return opened.elapsed(),
                        Ok(n) => panic!("an answer to no request: {:?}", &buffer[..n]),
                    },
                    () = tokio::time::sleep(Duration::from_millis(100)), if drip => {
                        let _ = writer.write_all(b"X-Slow: a\r\n").await;
                    }
                }
            }
        };
        let after = tokio::time::timeout(Duration::from_secs(30), closed)
            .await
            .unwrap_or_else(|_| panic!("a connection (drip: {drip}) still open after 30 s"));
        println!("closed after {after:?} (drip: {drip}, idle limit {idle:?})");
        assert!(after >= idle, "closed before the idle limit: {after:?}");
    }
    app.shutdown().await;
}
