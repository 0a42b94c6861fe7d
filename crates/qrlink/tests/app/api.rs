//! The JSON API through the real server: every endpoint, every error case, tokens of each
//! scope, and the one error body (`docs/API.md`).

use axum::http::Method;
use jiff::SignedDuration;
use qrlink_core::accounts::{NewToken, Role, Scope};
use serde_json::{Value, json};

use crate::support::*;

/// A client of the API with one token (or none).
struct Api<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    /// The error code, asserting the error body's shape on the way.
    fn code(&self) -> &str {
        let error = &self.body["error"];
        assert!(
            error["message"].is_string(),
            "every error has a message: {}",
            self.body
        );
        error["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }
}

impl Api<'_> {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .app
            .client
            .request(method, format!("{}/_/api/v1{path}", self.app.base));
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }
}

async fn api(app: &TestApp, scope: Scope) -> Api<'_> {
    Api {
        app,
        token: Some(app.token(scope).await),
    }
}

#[tokio::test]
async fn a_link_is_created_read_listed_and_changed_through_the_api() {
    let app = TestApp::sqlite().await;
    let writer = api(&app, Scope::Write).await;

    let created = writer
        .post("/links", json!({"slug": "Talk", "target": "https://example.org/talk", "title": "My talk", "tags": ["pycon"]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.headers["location"], "/_/api/v1/links/talk");
    let link = &created.body;
    for field in [
        "slug",
        "target",
        "title",
        "notes",
        "tags",
        "status",
        "locked",
        "redirect_status",
        "forward_query",
        "created_at",
        "updated_at",
        "schedule",
    ] {
        assert!(link.get(field).is_some(), "a link has `{field}`: {link}");
    }
    assert_eq!(
        (link["slug"].as_str(), link["status"].as_str()),
        (Some("talk"), Some("active"))
    );
    assert_eq!(link["url"], "https://go.example.org/talk");
    app.sync().await;
    assert_eq!(
        app.get("/talk").await.status(),
        302,
        "the public side follows"
    );

    let generated = writer
        .post("/links", json!({"target": "https://example.org/generated"}))
        .await;
    assert_eq!(generated.status, 201);
    assert!(
        generated.body["slug"].as_str().unwrap().len() >= 7,
        "a missing slug is generated"
    );

    let page = writer.get("/links?limit=1").await;
    assert_eq!(page.body["links"].as_array().unwrap().len(), 1);
    let after = page.body["next_after"].as_str().unwrap().to_owned();
    let rest = writer.get(&format!("/links?limit=1&after={after}")).await;
    assert_eq!(rest.body["links"].as_array().unwrap().len(), 1);
    assert!(
        rest.body["next_after"].is_null(),
        "the last page says so: {}",
        rest.body
    );
    let whole = writer.get("/links?limit=2").await;
    assert!(
        whole.body["next_after"].is_null(),
        "a full last page is the last page"
    );
    let found = writer.get("/links?search=my%20talk").await;
    assert_eq!(found.body["links"][0]["slug"], "talk");

    let moved = writer
        .put(
            "/links/talk/target",
            json!({"target": "https://example.org/video", "reason": "video is up"}),
        )
        .await;
    assert_eq!(
        (moved.status, moved.body["target"].as_str()),
        (200, Some("https://example.org/video"))
    );
    let later = (app.clock.now() + SignedDuration::from_hours(48)).to_string();
    let scheduled = writer
        .put(
            "/links/talk/target",
            json!({"target": "https://example.org/recap", "at": later}),
        )
        .await;
    assert_eq!(scheduled.body["schedule"][0]["action"], "target");
    let entry = scheduled.body["schedule"][0]["id"].as_i64().unwrap();
    let unscheduled = writer
        .call(
            Method::DELETE,
            &format!("/links/talk/schedule/{entry}"),
            None,
        )
        .await;
    assert_eq!(
        (
            unscheduled.status,
            unscheduled.body["schedule"].as_array().unwrap().len()
        ),
        (200, 0)
    );

    let patched = writer
        .call(
            Method::PATCH,
            "/links/talk",
            Some(json!({"title": "Renamed talk", "redirect_status": 308})),
        )
        .await;
    assert_eq!(
        (
            patched.body["title"].as_str(),
            patched.body["redirect_status"].as_u64()
        ),
        (Some("Renamed talk"), Some(308))
    );
    let renamed = writer
        .post("/links/talk/rename", json!({"slug": "keynote"}))
        .await;
    assert_eq!(
        (
            renamed.body["slug"].as_str(),
            renamed.body["aliases"][0].as_str()
        ),
        (Some("keynote"), Some("talk"))
    );
    let locked = writer
        .put("/links/keynote/lock", json!({"locked": true}))
        .await;
    assert_eq!(locked.body["locked"], true);
    let refused = writer
        .put(
            "/links/keynote/target",
            json!({"target": "https://example.org/x"}),
        )
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "confirmation_required")
    );
    let refused = writer
        .post("/links/keynote/rename", json!({"slug": "other"}))
        .await;
    assert_eq!((refused.status, refused.code()), (409, "locked"));
    let retired = writer
        .post("/links/keynote/retire", json!({"confirm": true}))
        .await;
    assert_eq!(retired.body["status"], "retired");
    let back = writer
        .call(Method::POST, "/links/keynote/unretire", None)
        .await;
    assert_eq!(back.body["status"], "active");

    let history = writer.get("/links/keynote/history").await;
    let kinds: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "target",
            "scheduled",
            "unscheduled",
            "slug",
            "lock",
            "status",
            "status"
        ]
    );
    assert_eq!(history.body[1]["reason"], "video is up");
    assert_eq!(history.body[1]["actor"], "token write-token");
    assert_eq!(history.body[1]["interface"], "api");
    let restored = writer
        .post("/links/keynote/history/1/restore", json!({"confirm": true}))
        .await;
    assert_eq!(restored.body["target"], "https://example.org/talk");
    let wrong_method = writer.put("/links/keynote/history", json!({})).await;
    assert_eq!(
        (
            wrong_method.status,
            wrong_method.body["error"]["code"].as_str()
        ),
        (405, Some("method_not_allowed")),
        "{}",
        wrong_method.body
    );
    assert_eq!(wrong_method.headers["allow"], "GET,HEAD");
    let missing = writer
        .post(
            "/links/keynote/history/99/restore",
            json!({"confirm": true}),
        )
        .await;
    assert_eq!(
        (missing.status, missing.body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "a history entry that does not exist: {}",
        missing.body
    );

    // The one redirect above is counted once the server flushes (every 100 ms here).
    let took = app
        .eventually("the redirect is counted", || async {
            let counts = writer.get("/links/keynote/counts").await;
            counts.status == 200 && counts.body[0]["hits"] == 1
        })
        .await;
    let counts = writer.get("/links/keynote/counts").await;
    assert_eq!(
        counts.body.as_array().map(Vec::len),
        Some(1),
        "one day, after {took:?}"
    );
    let shown = writer.get("/links/TALK").await;
    assert_eq!(shown.body["slug"], "keynote", "an alias finds its link");
}

/// A request body, and the status, code and (field, rule) it is refused with.
type RefusalCase = (
    Value,
    u16,
    &'static str,
    Option<(&'static str, &'static str)>,
);

#[tokio::test]
async fn bad_input_is_refused_with_the_field_the_rule_and_a_stable_code() {
    let app = TestApp::sqlite().await;
    let writer = api(&app, Scope::Write).await;
    writer
        .post(
            "/links",
            json!({"slug": "taken", "target": "https://example.org/"}),
        )
        .await;
    let cases: Vec<RefusalCase> = vec![
        (
            json!({"slug": "taken", "target": "https://example.org/"}),
            409,
            "slug_taken",
            None,
        ),
        (
            json!({"slug": "TAKEN", "target": "https://example.org/"}),
            409,
            "slug_taken",
            None,
        ),
        (
            json!({"slug": "ok-1", "target": "javascript:alert(1)"}),
            422,
            "invalid_input",
            Some(("target", "scheme")),
        ),
        (
            json!({"slug": "ok-2", "target": "http://169.254.169.254/"}),
            422,
            "invalid_input",
            Some(("target", "private_address")),
        ),
        (
            json!({"slug": "ok-3", "target": "https://go.example.org/x"}),
            422,
            "invalid_input",
            Some(("target", "loop")),
        ),
        (
            json!({"slug": "_admin", "target": "https://example.org/"}),
            422,
            "invalid_input",
            Some(("slug", "alphabet")),
        ),
        (
            json!({"slug": "ok-4", "target": "https://example.org/", "tags": ["no spaces"]}),
            422,
            "invalid_input",
            Some(("tags", "alphabet")),
        ),
        (
            json!({"slug": "ok-5", "target": "https://example.org/", "redirect_status": 303}),
            422,
            "invalid_input",
            Some(("redirect_status", "one_of")),
        ),
        (
            json!({"slug": "ok-6", "target": "https://example.org/", "title": "a\u{1b}b"}),
            422,
            "invalid_input",
            Some(("title", "control_character")),
        ),
        (json!({"slug": "ok-7"}), 422, "invalid_json", None),
        (
            json!({"slug": "ok-8", "target": "https://example.org/", "colour": "red"}),
            422,
            "invalid_json",
            None,
        ),
        (json!(["not", "an", "object"]), 422, "invalid_json", None),
    ];
    for (body, status, code, field_rule) in cases {
        let answer = writer.post("/links", body.clone()).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{body}: {}",
            answer.body
        );
        if let Some((field, rule)) = field_rule {
            assert_eq!(
                (
                    answer.body["error"]["field"].as_str(),
                    answer.body["error"]["rule"].as_str()
                ),
                (Some(field), Some(rule)),
                "{body}"
            );
        }
    }
    let not_json = writer
        .app
        .client
        .post(format!("{}/_/api/v1/links", app.base))
        .header(
            "authorization",
            format!("Bearer {}", writer.token.as_deref().unwrap()),
        )
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    assert_eq!(
        (
            writer.get("/links/nowhere").await.status,
            writer.get("/links/nowhere").await.code()
        ),
        (404, "not_found")
    );
    let bad_limit = writer.get("/links?limit=0").await;
    assert_eq!(
        (bad_limit.status, bad_limit.body["error"]["field"].as_str()),
        (422, Some("limit"))
    );
    let unknown = writer.get("/no-such-resource").await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    let all = app
        .store
        .list_links(&qrlink_core::store::LinkQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "nothing refused was stored");
}

#[tokio::test]
async fn tokens_are_checked_on_every_request_by_scope_expiry_and_revocation() {
    let app = TestApp::sqlite().await;
    let reader = api(&app, Scope::Read).await;
    let writer = api(&app, Scope::Write).await;
    let admin = api(&app, Scope::Admin).await;
    writer
        .post(
            "/links",
            json!({"slug": "talk", "target": "https://example.org/"}),
        )
        .await;

    assert_eq!(reader.get("/links/talk").await.status, 200);
    let refused = reader
        .post("/links", json!({"target": "https://example.org/"}))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "insufficient_scope")
    );
    let refused = writer.get("/tokens").await;
    assert_eq!(
        (refused.status, refused.code()),
        (403, "insufficient_scope")
    );

    let anonymous = Api {
        app: &app,
        token: None,
    };
    let missing = anonymous.get("/links").await;
    assert_eq!((missing.status, missing.code()), (401, "unauthorized"));
    assert_eq!(
        missing.headers["www-authenticate"],
        "Bearer realm=\"qrlink\""
    );
    let unknown = Api {
        app: &app,
        token: Some(
            qrlink_core::accounts::TokenSecret::generate()
                .expose()
                .to_owned(),
        ),
    };
    assert_eq!(unknown.get("/links").await.status, 401);
    let malformed = Api {
        app: &app,
        token: Some("hunter2".into()),
    };
    assert_eq!(malformed.get("/links").await.status, 401);

    let secret = reader.token.as_deref().unwrap();
    for query in [
        format!("access_token={secret}"),
        format!("token={secret}"),
        format!("t={secret}"),
    ] {
        let in_url = anonymous.get(&format!("/links?{query}")).await;
        assert_eq!(
            (in_url.status, in_url.code()),
            (401, "unauthorized"),
            "{query}"
        );
        let both = reader.get(&format!("/links?{query}")).await;
        assert_eq!(
            both.status, 401,
            "a token in the URL is refused even beside a valid header"
        );
    }
    let search = reader.get("/links?search=qrl_docs").await;
    assert_eq!(
        search.status, 200,
        "text that merely starts like a token is a fine search"
    );
    let cookie = app
        .client
        .get(format!("{}/_/api/v1/links", app.base))
        .header("cookie", format!("token={secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie.status(), 401, "cookies are never read");

    let created = admin
        .post("/tokens", json!({"name": "short", "scope": "read", "expires_at": (app.clock.now() + SignedDuration::from_hours(1)).to_string()}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let short = Api {
        app: &app,
        token: Some(created.body["secret"].as_str().unwrap().to_owned()),
    };
    assert_eq!(short.get("/links").await.status, 200);
    app.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(short.get("/links").await.status, 401, "expired");

    let listed = admin.get("/tokens").await;
    let tokens = listed.body.as_array().unwrap();
    assert!(tokens.iter().all(|t| t.get("secret").is_none() && t["prefix"].as_str().unwrap().starts_with("qrl_")));
    let reader_id = tokens.iter().find(|t| t["name"] == "read-token").unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(tokens.iter().find(|t| t["name"] == "read-token").unwrap()["last_used_at"].is_string());
    let revoked = admin
        .call(Method::DELETE, &format!("/tokens/{reader_id}"), None)
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        reader.get("/links").await.status,
        401,
        "revoked at the next request"
    );
    assert_eq!(
        admin
            .call(Method::DELETE, "/tokens/9999", None)
            .await
            .status,
        404
    );

    app.store
        .create_user("vera", Role::Viewer, app.clock.now())
        .await
        .unwrap();
    let capped = admin
        .post(
            "/tokens",
            json!({"name": "vera", "scope": "write", "user": "vera"}),
        )
        .await;
    assert_eq!(
        (capped.status, capped.body["error"]["rule"].as_str()),
        (422, Some("within_role"))
    );
    let users = admin.get("/users").await;
    assert_eq!(users.body[0]["role"], "viewer");
}

#[tokio::test]
async fn the_api_sends_no_cors_headers_and_its_document_needs_no_token() {
    let app = TestApp::sqlite().await;
    let reader = api(&app, Scope::Read).await;
    let cross = app
        .client
        .get(format!("{}/_/api/v1/links", app.base))
        .header(
            "authorization",
            format!("Bearer {}", reader.token.as_deref().unwrap()),
        )
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        cross
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/_/api/v1/links", app.base))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        preflight.status().is_client_error(),
        "no preflight is granted: {}",
        preflight.status()
    );
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let document = Api {
        app: &app,
        token: None,
    }
    .get("/openapi.json")
    .await;
    assert_eq!(document.status, 200);
    assert_eq!(document.body["openapi"], "3.1.0");
    assert_eq!(document.body["servers"][0]["url"], "/_/api/v1");
}

#[tokio::test]
async fn a_links_qr_code_comes_in_every_format_and_decodes_to_its_url() {
    let app = TestApp::sqlite().await;
    let reader = api(&app, Scope::Read).await;
    app.create("talk", "https://example.org/talk").await;
    for (format, content_type) in [
        ("svg", "image/svg+xml"),
        ("png", "image/png"),
        ("pdf", "application/pdf"),
        ("eps", "application/postscript"),
        ("txt", "text/plain; charset=utf-8"),
    ] {
        let response = app
            .client
            .get(format!(
                "{}/_/api/v1/links/talk/qr?format={format}&url_caption=true",
                app.base
            ))
            .header(
                "authorization",
                format!("Bearer {}", reader.token.as_deref().unwrap()),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        if status != 200 {
            panic!("{format}: {status} {}", response.text().await.unwrap());
        }
        assert_eq!(response.headers()["content-type"], content_type);
        let bytes = response.bytes().await.unwrap();
        // Uppercase, as R-FWD-5 allows: decoded by the independent decoder.
        match format {
            "png" => qrlink_qr::verify_png(&bytes, "HTTPS://GO.EXAMPLE.ORG/TALK", false).unwrap(),
            "svg" => qrlink_qr::verify_svg(&bytes, "HTTPS://GO.EXAMPLE.ORG/TALK", false).unwrap(),
            _ => {}
        }
    }
    let styled = reader
        .get("/links/talk/qr?format=svg&shape=dot&finder=rounded&gradient=radial&dark2=%23225&caption=Our%20talk&version=3")
        .await;
    assert_eq!(styled.status, 200, "{}", styled.body);
    let both = reader
        .get("/links/talk/qr?caption=x&url_caption=true")
        .await;
    assert_eq!(
        (both.status, both.body["error"]["rule"].as_str()),
        (422, Some("exclusive"))
    );
    // Sizes within range that make too wide a PNG are refused as `too_large`
    // (limits::a_png_is_at_most_3000_pixels_wide_and_says_so).
    for huge in ["scale=100000", "size=1000000", "border=1000"] {
        let refused = reader
            .get(&format!("/links/talk/qr?format=png&{huge}"))
            .await;
        assert_eq!(
            (refused.status, refused.body["error"]["rule"].as_str()),
            (422, Some("range")),
            "{huge}"
        );
    }
    let low_contrast = reader.get("/links/talk/qr?dark=%23eeeeee").await;
    assert_eq!(
        (low_contrast.status, low_contrast.code()),
        (422, "invalid_input")
    );
    assert!(
        low_contrast.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contrast"),
        "{}",
        low_contrast.body
    );
}

/// `qrlink token …` as a script uses it: the secret alone on the last line, then never again.
#[tokio::test]
async fn the_cli_prints_a_new_token_once_on_its_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (ok, stdout, stderr) = run_qrlink(&[
        "--data-dir",
        data,
        "token",
        "create",
        "--name",
        "ci",
        "--scope",
        "write",
        "--expires",
        "30d",
    ])
    .await;
    assert!(ok, "{stderr}");
    let secret = stdout.lines().last().unwrap();
    assert!(
        qrlink_core::accounts::TokenSecret::parse(secret).is_some(),
        "{stdout:?}"
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "nothing else on standard output: {stdout:?}"
    );
    let (_, listed, _) = run_qrlink(&["--data-dir", data, "token", "list"]).await;
    assert!(
        listed.contains(&secret[..10]) && !listed.contains(&secret[10..]),
        "{listed}"
    );
    assert!(
        listed.contains("write") && listed.contains("expires"),
        "{listed}"
    );
    for (args, rule) in [
        (&["--expires", "0d"][..], "rule: duration"),
        (&["--expires", "soon"][..], "rule: duration"),
        (&["--user", "nobody"][..], "rule: exists"),
    ] {
        let mut all = vec![
            "--data-dir",
            data,
            "token",
            "create",
            "--name",
            "x",
            "--scope",
            "read",
        ];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = run_qrlink(&all).await;
        assert!(
            !ok && stdout.is_empty() && stderr.contains(rule),
            "{args:?}: {stderr}"
        );
    }
    let (ok, stdout, _) = run_qrlink(&["--data-dir", data, "token", "revoke", "1"]).await;
    assert!(ok && stdout.contains("token 1 revoked"));
    let (_, listed, _) = run_qrlink(&["--data-dir", data, "token", "list"]).await;
    assert!(listed.contains("revoked"), "{listed}");
}

/// A token of an editor reaches the editor's own links only (R-SEC-1), and links it creates
/// belong to the editor; a token of no user is a service with its scope's reach.
#[tokio::test]
async fn an_editors_token_changes_the_editors_own_links_only() {
    let app = TestApp::sqlite().await;
    app.store
        .create_user("bo", Role::Editor, t0())
        .await
        .unwrap();
    let new = NewToken {
        name: "bo-script".into(),
        scope: Scope::Write,
        user: Some("bo".into()),
        expires_at: None,
    };
    let (_, secret) = app.store.create_token(&new, "test", t0()).await.unwrap();
    let bo = Api {
        app: &app,
        token: Some(secret.expose().to_owned()),
    };
    app.create("shared", "https://example.org/shared").await;

    let created = bo
        .post(
            "/links",
            json!({"slug": "mine", "target": "https://example.org/mine"}),
        )
        .await;
    assert_eq!(
        (created.status, &created.body["owner"]),
        (201, &json!("bo"))
    );
    let moved = bo
        .put(
            "/links/mine/target",
            json!({"target": "https://example.org/moved"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let refused = bo
        .put(
            "/links/shared/target",
            json!({"target": "https://example.org/taken-over"}),
        )
        .await;
    assert_eq!((refused.status, refused.code()), (403, "not_owner"));
    let shared = app.store.link(&slug("shared")).await.unwrap();
    assert_eq!(shared.target.as_str(), "https://example.org/shared");
    let service = api(&app, Scope::Write).await;
    let moved = service
        .put(
            "/links/shared/target",
            json!({"target": "https://example.org/by-service"}),
        )
        .await;
    assert_eq!(moved.status, 200);
    let mine = bo.get("/links?owner=bo").await;
    assert_eq!(mine.body["links"].as_array().unwrap().len(), 1);
}
