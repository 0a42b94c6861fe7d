//! Hardening (R-SEC-6, R-SEC-13), told as an attacker would try it: floods of sign-ins,
//! guessed passwords from one address while the owner signs in from another, unknown slugs
//! and bad tokens by the hundred. Clients are told apart by `X-Forwarded-For` from a trusted
//! proxy (127.0.0.1), as behind a load balancer.

use std::time::Duration;

use qrlink::server::client::{ClientRates, ForwardedHeader, TrustedProxies};
use qrlink_core::accounts::{Password, PasswordHash, Role};
use qrlink_core::testing::TestDatabase;

use crate::support::*;

/// A server behind a trusted proxy on loopback.
async fn behind_proxy() -> TestApp {
    let mut options = Options::default();
    options.settings.trusted_proxies =
        TrustedProxies::parse(&["127.0.0.1".into()], ForwardedHeader::XForwardedFor).unwrap();
    TestApp::with(TestDatabase::sqlite().await, options).await
}

/// Posts the sign-in form as a browser would, from `client`; returns the status and the
/// `Retry-After` header.
async fn sign_in(app: &TestApp, client: &str, name: &str, password: &str) -> (u16, Option<String>) {
    // The form's token is paired with a cookie of the same value (double submit).
    let token = "t".repeat(43);
    let response = app
        .client
        .post(format!("{}/_/admin/sign-in", app.base))
        .header("x-forwarded-for", client)
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("__Host-qrlink-sign-in={token}"))
        .form(&[
            ("csrf", token.as_str()),
            ("name", name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let retry = header(&response, "retry-after").map(str::to_owned);
    (response.status().as_u16(), retry)
}

#[tokio::test]
async fn the_owner_signs_in_from_home_while_an_attacker_is_held_back() {
    let app = behind_proxy().await;
    let ada = app
        .store
        .create_user("ada", Role::Admin, t0())
        .await
        .unwrap();
    let password = Password::parse("correct horse battery").unwrap();
    app.store
        .set_password(&ada, &PasswordHash::create(&password))
        .await
        .unwrap();
    let attacker = "198.51.100.7";
    for _ in 0..5 {
        assert_eq!(sign_in(&app, attacker, "ada", "guess").await.0, 422);
    }
    let (status, retry) = sign_in(&app, attacker, "ada", "correct horse battery").await;
    assert_eq!(
        (status, retry.as_deref()),
        (429, Some("1")),
        "even the right password waits"
    );
    // An unknown name is answered exactly the same way (from a second address: the first
    // has used up its sign-in attempts for the minute).
    let second = "198.51.100.8";
    for _ in 0..5 {
        assert_eq!(sign_in(&app, second, "nobody", "guess").await.0, 422);
    }
    assert_eq!(
        sign_in(&app, second, "nobody", "guess").await,
        (429, Some("1".into()))
    );
    // The owner, from home, is not held back by the attacker's failures.
    let (status, _) = sign_in(&app, "203.0.113.9", "ada", "correct horse battery").await;
    assert_eq!(status, 303, "signed in");
}

#[tokio::test]
async fn one_address_gets_a_few_sign_in_attempts_a_minute_whatever_the_names() {
    let app = behind_proxy().await;
    let burst = ClientRates::DEFAULT.sign_in.burst;
    for n in 0..burst {
        let (status, _) = sign_in(&app, "198.51.100.7", &format!("name{n}"), "guess").await;
        assert_eq!(status, 422, "attempt {n}");
    }
    let (status, retry) = sign_in(&app, "198.51.100.7", "another", "guess").await;
    assert_eq!((status, retry.as_deref()), (429, Some("6")));
    assert_eq!(
        sign_in(&app, "198.51.100.8", "another", "guess").await.0,
        422,
        "another client"
    );
    app.clock.advance(jiff::SignedDuration::from_secs(6));
    assert_eq!(
        sign_in(&app, "198.51.100.7", "another", "guess").await.0,
        422,
        "refilled"
    );
}

#[tokio::test]
async fn unknown_slugs_are_limited_per_client_and_known_links_never() {
    let app = behind_proxy().await;
    app.create("talk", "https://example.org/talk").await;
    let get = |path: &'static str, client: &'static str| {
        app.client
            .get(format!("{}{path}", app.base))
            .header("x-forwarded-for", client)
            .send()
    };
    let burst = ClientRates::DEFAULT.unknown_slug.burst;
    for _ in 0..burst {
        assert_eq!(get("/nope", "198.51.100.7").await.unwrap().status(), 404);
    }
    let limited = get("/nope", "198.51.100.7").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after"), Some("1"));
    assert_eq!(header(&limited, "cache-control"), Some("no-store"));
    assert_eq!(
        get("/nope+", "198.51.100.7").await.unwrap().status(),
        429,
        "previews too"
    );
    for _ in 0..100 {
        assert_eq!(get("/talk", "198.51.100.7").await.unwrap().status(), 302);
    }
    assert_eq!(get("/nope", "198.51.100.8").await.unwrap().status(), 404);
    // Without a trusted proxy the header is the client's own claim: every request above
    // would have counted against 127.0.0.1.
}

#[tokio::test]
async fn bad_tokens_are_limited_per_client_and_good_ones_are_not() {
    let app = behind_proxy().await;
    let token = app.token(qrlink_core::accounts::Scope::Read).await;
    let call = |bearer: String, client: &'static str| {
        app.client
            .get(format!("{}/_/api/v1/links", app.base))
            .header("x-forwarded-for", client)
            .bearer_auth(bearer)
            .send()
    };
    let burst = ClientRates::DEFAULT.api_auth_failure.burst;
    let wrong = format!("qrl_{}", "x".repeat(43));
    for _ in 0..burst {
        assert_eq!(
            call(wrong.clone(), "198.51.100.7").await.unwrap().status(),
            401
        );
    }
    let limited = call(wrong.clone(), "198.51.100.7").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after"), Some("3"));
    let body: serde_json::Value = serde_json::from_str(&limited.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    for _ in 0..burst + 5 {
        assert_eq!(
            call(token.clone(), "198.51.100.9").await.unwrap().status(),
            200
        );
    }
}

/// R-SEC-13: sign-in attempts from many addresses with unknown names, all at once. Each would
/// run Argon2 (19 MiB); the server hashes a few at a time in reused memory and turns the rest
/// away with 503 when they wait too long. Measured on a real `qrlink serve` process.
#[tokio::test]
async fn sixty_parallel_sign_ins_with_unknown_names_stay_within_250_mb() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server =
        ServeProcess::start(&["--data-dir", data], &["--trusted-proxy", "127.0.0.1"]).await;
    let (idle, _) = server.memory();
    let token = "t".repeat(43);
    let attempts = (0..60).map(|n| {
        let request = server
            .client
            .post(format!("{}/_/admin/sign-in", server.base))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", format!("__Host-qrlink-sign-in={token}"))
            .timeout(Duration::from_secs(60))
            .form(&[
                ("csrf", token.clone()),
                ("name", format!("nobody{n}")),
                ("password", "a guess at a password".to_owned()),
            ]);
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    });
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for attempt in attempts.collect::<Vec<_>>() {
        *statuses.entry(attempt.await.unwrap()).or_default() += 1;
    }
    let (_, peak) = server.memory();
    let grown = peak.saturating_sub(idle) / (1024 * 1024);
    println!(
        "60 parallel unknown-name sign-ins: statuses {statuses:?}; idle {} MiB, peak {} MiB, {grown} MiB above idle",
        idle >> 20,
        peak >> 20
    );
    assert!(
        statuses.keys().all(|status| [422, 503].contains(status)),
        "each is refused as a wrong name or told to come back: {statuses:?}"
    );
    assert!(
        statuses.get(&422).copied().unwrap_or(0) > 0,
        "some were checked"
    );
    assert!(grown < 250, "peak {grown} MiB above idle");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut options = Options::default();
    options.settings.max_connections = Some(2);
    let app = TestApp::with(TestDatabase::sqlite().await, options).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let held_one = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let _held_two = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The third connection is accepted by the kernel but not served while two are open.
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    third
        .write_all(b"GET /_/health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let waited =
        tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut answer)).await;
    assert!(
        waited.is_err(),
        "not served while the cap is reached: {answer:?}"
    );
    drop(held_one);
    tokio::time::timeout(Duration::from_secs(30), third.read_to_end(&mut answer))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_png_is_at_most_3000_pixels_wide_and_says_so() {
    let app = TestApp::sqlite().await;
    app.create("talk", "https://example.org/talk").await;
    let token = app.token(qrlink_core::accounts::Scope::Read).await;
    let qr = |query: &'static str| {
        app.client
            .get(format!("{}/_/api/v1/links/talk/qr?{query}", app.base))
            .bearer_auth(token.clone())
            .send()
    };
    for (query, field, rule, names) in [
        ("format=png&size=10000&shape=dot", "size", "range", "3000"),
        ("format=png&scale=100", "scale", "too_large", "at most 3000"),
        (
            "format=png&mm=2000&dpi=2400",
            "mm",
            "too_large",
            "at most 3000",
        ),
    ] {
        let response = qr(query).await.unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(
            (
                body["error"]["field"].as_str(),
                body["error"]["rule"].as_str()
            ),
            (Some(field), Some(rule)),
            "{query}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains(names),
            "{query}: {body}"
        );
    }
    // Vector formats have no pixels: a poster-sized PDF is drawn, and verified at a camera's
    // resolution.
    let poster = qr("format=pdf&mm=2000&dpi=2400").await.unwrap();
    assert_eq!(poster.status(), 200);
    assert_eq!(header(&poster, "content-type"), Some("application/pdf"));
    let widest = qr("format=png&size=3000&shape=dot").await.unwrap();
    assert_eq!(widest.status(), 200);
    assert_decodes(
        "png",
        &widest.bytes().await.unwrap(),
        "HTTPS://GO.EXAMPLE.ORG/TALK",
    );
}

/// R-SEC-13: a read token asks for the largest styled PNG eight times at once. Renders run
/// two at a time, each bounded in pixels. Measured on a real `qrlink serve` process.
#[tokio::test]
async fn eight_parallel_largest_renders_stay_within_250_mb() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, _, stderr) = run_qrlink(&[
        "--data-dir",
        data,
        "link",
        "add",
        "talk",
        "https://example.org/talk",
    ])
    .await;
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = run_qrlink(&[
        "--data-dir",
        data,
        "token",
        "create",
        "--name",
        "reader",
        "--scope",
        "read",
    ])
    .await;
    assert!(ok, "{stderr}");
    let token = stdout.lines().last().unwrap().trim().to_owned();
    let server = ServeProcess::start(&["--data-dir", data], &[]).await;
    let (idle, _) = server.memory();
    let renders = (0..8).map(|_| {
        let request = server
            .client
            .get(format!(
                "{}/_/api/v1/links/talk/qr?format=png&size=3000&shape=dot&finder=dot",
                server.base
            ))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(120));
        tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
    });
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    for render in renders.collect::<Vec<_>>() {
        *statuses.entry(render.await.unwrap()).or_default() += 1;
    }
    let (_, peak) = server.memory();
    let grown = peak.saturating_sub(idle) / (1024 * 1024);
    println!(
        "8 parallel 3000 px dot renders: statuses {statuses:?}; idle {} MiB, peak {} MiB, {grown} MiB above idle",
        idle >> 20,
        peak >> 20
    );
    assert!(
        statuses.keys().all(|status| [200, 503].contains(status)),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 0,
        "some were drawn"
    );
    assert!(grown < 250, "peak {grown} MiB above idle");
}

/// Sends `head` and then a body of `length` bytes at one byte every 200 ms; returns the
/// server's answer and how long it took to come.
async fn trickle(app: &TestApp, head: String, length: usize) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let started = std::time::Instant::now();
    writer
        .write_all(format!("{head}content-length: {length}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let sender = tokio::spawn(async move {
        for _ in 0..length {
            if writer.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    let bound = Duration::from_secs(60);
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(bound, reader.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("no answer within {bound:?}"),
        }
    }
    sender.abort();
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off() {
    let app = TestApp::sqlite().await;
    let (answer, took) = trickle(
        &app,
        "POST /_/admin/sign-in HTTP/1.1\r\nhost: x\r\nsec-fetch-site: same-origin\r\n\
         content-type: application/x-www-form-urlencoded\r\n"
            .into(),
        60_000,
    )
    .await;
    println!("a sign-in body at 5 bytes a second was cut off after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let token = app.token(qrlink_core::accounts::Scope::Write).await;
    let (answer, took) = trickle(
        &app,
        format!(
            "POST /_/api/v1/links HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\n"
        ),
        60_000,
    )
    .await;
    println!("an API body at 5 bytes a second was cut off after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn an_oversized_api_body_is_413() {
    let app = TestApp::sqlite().await;
    let token = app.token(qrlink_core::accounts::Scope::Write).await;
    let huge = format!(
        "{{\"slug\": \"talk\", \"target\": \"https://example.org/{}\"}}",
        "x".repeat(3 << 20)
    );
    let response = app
        .client
        .post(format!("{}/_/api/v1/links", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "invalid_json");
}
