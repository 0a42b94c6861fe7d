//! The admin web UI through the real server: setup, sign-in and sign-out, sessions, CSRF, the
//! permission matrix, every page and action, and escaping. A `Browser` keeps cookies the way
//! a browser does and sends what a same-origin form would.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::SignedDuration;
use qrlink_core::accounts::{Password, PasswordHash, Role, User};
use qrlink_core::link::NewLink;

use crate::support::*;

/// A browser's view of one answer.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no Location; status {}: {}", self.status, self.body))
    }

    /// The synchronizer token of the page's forms.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form token in: {}", self.body))
            + 19;
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

struct Browser<'a> {
    app: &'a TestApp,
    cookies: Mutex<BTreeMap<String, String>>,
    /// `Sec-Fetch-Site` as a browser would send it; `None` for an old browser or a script.
    fetch_site: Option<&'static str>,
}

const ADMIN: &str = "/_/admin/";

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: Mutex::new(BTreeMap::new()),
            fetch_site: Some("same-origin"),
        }
    }

    /// A browser holding a fresh session of `user`, as after signing in.
    async fn signed_in(app: &'a TestApp, user: &User) -> Browser<'a> {
        let browser = Browser::new(app);
        let (secret, _) = app
            .store
            .create_session(user, app.state.settings.sessions, app.clock.now())
            .await
            .unwrap();
        browser.set("__Host-qrlink-session", secret.expose());
        browser
    }

    fn set(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut request = request.header("cookie", cookie.join("; "));
        if let Some(site) = self.fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            assert!(
                name.starts_with("__Host-")
                    && attributes.contains("Path=/")
                    && attributes.contains("Secure")
                    && attributes.contains("HttpOnly")
                    && attributes.contains("SameSite=Lax"),
                "cookie attributes: {set}"
            );
            if attributes.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(name);
            } else {
                self.set(name, value);
            }
        }
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        let url = format!("{}{ADMIN}{path}", self.app.base);
        self.send(self.app.client.get(url)).await
    }

    async fn get_part(&self, path: &str, target: &str) -> Page {
        let url = format!("{}{ADMIN}{path}", self.app.base);
        let request = self
            .app
            .client
            .get(url)
            .header("hx-request", "true")
            .header("hx-target", target);
        self.send(request).await
    }

    /// Posts a form as the page at `from` would: with that page's token.
    async fn submit(&self, from: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(from).await.csrf();
        self.post(action, &token, fields).await
    }

    /// Posts a `multipart/form-data` form, as the style editor does, optionally with a logo
    /// and as htmx asking for one element.
    async fn post_multipart(
        &self,
        action: &str,
        token: &str,
        fields: &[(&str, &str)],
        logo: Option<Vec<u8>>,
        hx_target: Option<&str>,
    ) -> Page {
        let mut form = reqwest::multipart::Form::new().text("csrf", token.to_owned());
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        if let Some(bytes) = logo {
            form = form.part(
                "logo",
                reqwest::multipart::Part::bytes(bytes).file_name("logo.png"),
            );
        }
        let url = format!("{}{ADMIN}{action}", self.app.base);
        let mut request = self.app.client.post(url).multipart(form);
        if let Some(target) = hx_target {
            request = request
                .header("hx-request", "true")
                .header("hx-target", target);
        }
        self.send(request).await
    }

    /// Posts a form as htmx does for an element with id `target`.
    async fn post_part(
        &self,
        action: &str,
        token: &str,
        fields: &[(&str, &str)],
        target: &str,
    ) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", token)];
        form.extend_from_slice(fields);
        let request = self
            .app
            .client
            .post(format!("{}{ADMIN}{action}", self.app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("hx-request", "true")
            .header("hx-target", target)
            .body(serde_urlencoded::to_string(&form).unwrap());
        self.send(request).await
    }

    async fn post(&self, action: &str, token: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", token)];
        form.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&form).unwrap();
        let url = format!("{}{ADMIN}{action}", self.app.base);
        let request = self
            .app
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }
}

async fn user(app: &TestApp, name: &str, role: Role) -> User {
    let user = app.store.create_user(name, role, t0()).await.unwrap();
    let hash =
        PasswordHash::create(&Password::parse(&format!("{name} has a long password")).unwrap());
    app.store.set_password(&user, &hash).await.unwrap();
    user
}

#[tokio::test]
async fn first_run_setup_makes_the_first_admin_and_signs_them_in() {
    let app = TestApp::sqlite().await;
    let secret = app.store.create_password_link(None, t0()).await.unwrap();
    let path = format!("password/{}", secret.expose());
    let browser = Browser::new(&app);

    let form = browser.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Set up qrlink") && form.body.contains("name=\"name\""));
    assert_eq!(
        form.header("referrer-policy"),
        "no-referrer",
        "the secret is in the URL"
    );
    assert_eq!(
        app.store.users().await.unwrap(),
        vec![],
        "showing the form stores nothing"
    );

    let fields = [
        ("name", "ada"),
        ("password", "a long passphrase"),
        ("repeat", "a long passphrase"),
    ];
    let forged = browser.post(&path, "not-the-token", &fields).await;
    assert_eq!(forged.status, 403);
    let differ = [
        ("name", "ada"),
        ("password", "a long passphrase"),
        ("repeat", "another phrase!!"),
    ];
    let refused = browser.post(&path, secret.expose(), &differ).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("invalid repeat: the two passwords differ (rule: same)"),
        "{}",
        refused.body
    );
    let short = [("name", "ada"), ("password", "short"), ("repeat", "short")];
    let refused = browser.post(&path, secret.expose(), &short).await;
    assert!(refused.status == 422 && refused.body.contains("rule: length"));
    for weak in ["password1234", "qwerty123456"] {
        let guessable = [("name", "ada"), ("password", weak), ("repeat", weak)];
        let refused = browser.post(&path, secret.expose(), &guessable).await;
        assert!(
            refused.status == 422
                && refused.body.contains("too easy to guess")
                && refused.body.contains("rule: weak"),
            "{weak}: {} {}",
            refused.status,
            refused.body
        );
    }
    assert_eq!(
        app.store.users().await.unwrap(),
        vec![],
        "nothing stored on a refusal"
    );

    let done = browser.post(&path, secret.expose(), &fields).await;
    assert_eq!((done.status, done.location()), (303, "/_/admin/links"));
    assert!(browser.cookie("__Host-qrlink-session").is_some());
    let links = browser.get("links").await;
    assert_eq!(links.status, 200);
    assert!(links.body.contains("ada (admin)"));

    let again = Browser::new(&app).get(&path).await;
    assert_eq!(again.status, 403, "a setup link works once");
    assert!(again.body.contains("used already"));
}

#[tokio::test]
async fn signing_in_and_out_and_sessions_that_end() {
    let app = TestApp::sqlite().await;
    user(&app, "ada", Role::Admin).await;
    let browser = Browser::new(&app);

    for root in ["/_/admin", "/_/admin/"] {
        let response = app.get(root).await;
        let status = response.status();
        assert_eq!(
            response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap()),
            Some("/_/admin/links"),
            "{root}: {status}"
        );
    }
    let away = browser.get("links?q=talk").await;
    assert_eq!(away.status, 303);
    assert_eq!(
        away.location(),
        "/_/admin/sign-in?next=%2F_%2Fadmin%2Flinks%3Fq%3Dtalk"
    );

    let form = browser
        .get("sign-in?next=%2F_%2Fadmin%2Flinks%3Fq%3Dtalk")
        .await;
    let token = form.csrf();
    let wrong = browser
        .post(
            "sign-in",
            &token,
            &[("name", "ada"), ("password", "not my password")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("Wrong name or password."));
    let token = wrong.csrf();
    let stranger = Browser::new(&app);
    let unpaired = stranger
        .post(
            "sign-in",
            &token,
            &[("name", "ada"), ("password", "ada has a long password")],
        )
        .await;
    assert_eq!(
        unpaired.status, 403,
        "a token without its cookie is refused"
    );

    let fields = [
        ("name", "ADA"),
        ("password", "ada has a long password"),
        ("next", "/_/admin/links?q=talk"),
    ];
    let signed_in = browser.post("sign-in", &token, &fields).await;
    assert_eq!(
        (signed_in.status, signed_in.location()),
        (303, "/_/admin/links?q=talk")
    );
    let first = browser.cookie("__Host-qrlink-session").unwrap();
    assert_eq!(browser.get("links").await.status, 200);

    // Somewhere else off-site is never a destination.
    let token = browser
        .get("sign-in?next=https%3A%2F%2Fevil.example%2F")
        .await
        .csrf();
    let fields = [
        ("name", "ada"),
        ("password", "ada has a long password"),
        ("next", "https://evil.example/"),
    ];
    let again = browser.post("sign-in", &token, &fields).await;
    assert_eq!(again.location(), "/_/admin/links");
    assert_ne!(
        browser.cookie("__Host-qrlink-session").unwrap(),
        first,
        "a new id at each sign-in"
    );

    let out = browser.submit("links", "sign-out", &[]).await;
    assert_eq!((out.status, out.location()), (303, "/_/admin/sign-in"));
    assert_eq!(browser.cookie("__Host-qrlink-session"), None);
    let replay = Browser::new(&app);
    replay.set("__Host-qrlink-session", &first);
    assert_eq!(
        replay.get("links").await.status,
        200,
        "the first session is another one"
    );

    // Idle too long: the next request goes to sign-in.
    app.clock.advance(SignedDuration::from_mins(31));
    let idle = replay.get("links").await;
    assert_eq!(idle.status, 303);
    assert!(idle.location().starts_with("/_/admin/sign-in"));
}

#[tokio::test]
async fn unsafe_requests_from_other_sites_or_without_the_token_are_refused() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    app.create("talk", "https://example.org/talk").await;
    let mut browser = Browser::signed_in(&app, &ada).await;
    let token = browser.get("links/talk").await.csrf();
    let repoint = [("target", "https://evil.example/")];

    browser.fetch_site = Some("cross-site");
    let cross = browser.post("links/talk/target", &token, &repoint).await;
    assert_eq!(cross.status, 403);
    assert!(cross.body.contains("came from another site"));
    browser.fetch_site = Some("same-site");
    assert_eq!(
        browser
            .post("links/talk/target", &token, &repoint)
            .await
            .status,
        403
    );

    // A browser without Sec-Fetch-Site: its Origin must be this host.
    browser.fetch_site = None;
    let url = format!("{}{ADMIN}links/talk/target", app.base);
    let body = serde_urlencoded::to_string([
        ("csrf", token.as_str()),
        ("target", "https://evil.example/"),
    ])
    .unwrap();
    let foreign = browser
        .send(
            app.client
                .post(&url)
                .header("origin", "https://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    assert_eq!(foreign.status, 403);
    // The Host header is the client's to choose: an Origin that matches it but not the
    // configured base URL is refused, and the base URL's own origin is accepted (with the
    // target it has already, so that nothing changes).
    let host = app.base.trim_start_matches("http://").to_owned();
    for (origin, status) in [(app.base.clone(), 403), (BASE.to_owned(), 303)] {
        let body = serde_urlencoded::to_string([
            ("csrf", token.as_str()),
            ("target", "https://example.org/talk"),
        ])
        .unwrap();
        let answer = browser
            .send(
                app.client
                    .post(&url)
                    .header("origin", origin.as_str())
                    .header("host", host.as_str())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
            )
            .await;
        assert_eq!(answer.status, status, "Origin {origin}: {}", answer.body);
    }

    browser.fetch_site = Some("same-origin");
    assert_eq!(
        browser.post("links/talk/target", "", &repoint).await.status,
        403,
        "no token"
    );
    assert_eq!(
        browser
            .post("links/talk/target", &"x".repeat(43), &repoint)
            .await
            .status,
        403
    );
    let link = app.store.link(&slug("talk")).await.unwrap();
    assert_eq!(
        link.target.as_str(),
        "https://example.org/talk",
        "nothing changed"
    );
    assert_eq!(app.store.history(&slug("talk")).await.unwrap().len(), 1);

    let ok = browser.post("links/talk/target", &token, &repoint).await;
    assert_eq!((ok.status, ok.location()), (303, "/_/admin/links/talk"));
}

/// Who may do what (R-SEC-1): each role against each kind of request, with the answer's
/// status, and nothing changed by a refusal.
#[tokio::test]
async fn the_permission_matrix() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    let bo = user(&app, "bo", Role::Editor).await;
    let cy = user(&app, "cy", Role::Editor).await;
    let vi = user(&app, "vi", Role::Viewer).await;
    let mut new = NewLink::new(Some(slug("bos")), target("https://example.org/bo"));
    new.owner = Some("bo".into());
    app.create_with(new).await;
    app.create("nobodys", "https://example.org/n").await;

    // (user, page or action, expected status)
    let cases: [(&User, &str, Option<&str>, u16); 20] = [
        (&ada, "users", None, 200),
        (&ada, "tokens", None, 200),
        (&ada, "links/bos/details", Some("links/bos"), 303),
        (&ada, "links/nobodys/details", Some("links/nobodys"), 303),
        (&bo, "users", None, 403),
        (&bo, "tokens", None, 403),
        (&bo, "links/new", None, 200),
        (&bo, "links/bos/details", Some("links/bos"), 303),
        (&bo, "links/nobodys/details", Some("links/nobodys"), 403),
        (&cy, "links/bos/details", Some("links/bos"), 403),
        (&cy, "links/bos/lock", Some("links/bos"), 403),
        (&cy, "links/bos/restore/1", Some("links/bos"), 403),
        (&cy, "links/bos", None, 200),
        (&vi, "links", None, 200),
        (&vi, "links/bos", None, 200),
        (&vi, "links/new", None, 403),
        (&vi, "links", Some("links"), 403),
        (&vi, "links/bos/details", Some("links/bos"), 403),
        (&vi, "links/bos/status", Some("links/bos"), 403),
        (&vi, "users", Some("links"), 403),
    ];
    for (who, path, form_page, expected) in cases {
        let browser = Browser::signed_in(&app, who).await;
        let page = match form_page {
            None => browser.get(path).await,
            Some(from) => {
                let fields = [
                    ("title", "changed"),
                    ("locked", "true"),
                    ("retired", "true"),
                    ("target", "https://example.org/x"),
                    ("name", "x"),
                    ("role", "viewer"),
                ];
                browser.submit(from, path, &fields).await
            }
        };
        assert_eq!(page.status, expected, "{} {path}: {}", who.name, page.body);
    }
    let bos = app.store.link(&slug("bos")).await.unwrap();
    assert!(
        !bos.locked && bos.status.as_str() == "active",
        "refusals changed nothing"
    );
    let readonly = Browser::signed_in(&app, &vi).await.get("links/bos").await;
    for action in ["target", "details", "lock", "status", "rename"] {
        let form = format!("action=\"/_/admin/links/bos/{action}\"");
        assert!(
            !readonly.body.contains(&form),
            "a viewer sees no {action} form"
        );
    }
    assert!(!readonly.body.contains("Save as this link's style"));

    // An admin can grant an editor all links; the grant ends the editor's sessions.
    let cy_browser = Browser::signed_in(&app, &cy).await;
    let granted = Browser::signed_in(&app, &ada)
        .await
        .submit(
            "users",
            "users/cy/role",
            &[("role", "editor"), ("all_links", "true")],
        )
        .await;
    assert_eq!(granted.status, 303);
    assert_eq!(
        cy_browser.get("links").await.status,
        303,
        "signed out by the change"
    );
    let cy = app.store.user("cy").await.unwrap().unwrap();
    let changed = Browser::signed_in(&app, &cy)
        .await
        .submit("links/bos", "links/bos/details", &[("title", "by cy")])
        .await;
    assert_eq!(changed.status, 303);
    assert_eq!(app.store.link(&slug("bos")).await.unwrap().title, "by cy");
    let _ = bo;
}

#[tokio::test]
async fn an_editor_creates_styles_repoints_and_restores_a_link() {
    let app = TestApp::sqlite().await;
    let bo = user(&app, "bo", Role::Editor).await;
    let browser = Browser::signed_in(&app, &bo).await;

    let taken = app.create("taken", "https://example.org/").await;
    let refused = browser
        .submit(
            "links/new",
            "links",
            &[("slug", "taken"), ("target", "https://example.org/x")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("the slug `taken` is taken"));
    assert!(
        refused.body.contains("value=\"https://example.org/x\""),
        "the form keeps what was typed"
    );
    let refused = browser
        .submit(
            "links/new",
            "links",
            &[("slug", "talk"), ("target", "http://localhost/")],
        )
        .await;
    assert!(
        refused.status == 422 && refused.body.contains("invalid target:"),
        "{}",
        refused.body
    );
    assert_eq!(
        app.store
            .list_links(&Default::default())
            .await
            .unwrap()
            .len(),
        1,
        "nothing stored"
    );
    let _ = taken;

    let created = browser
        .submit(
            "links/new",
            "links",
            &[
                ("slug", "talk"),
                ("target", "https://example.org/slides"),
                ("title", "My talk"),
                ("tags", "pycon, 2026"),
            ],
        )
        .await;
    assert_eq!(
        (created.status, created.location()),
        (303, "/_/admin/links/talk")
    );
    let link = app.store.link(&slug("talk")).await.unwrap();
    assert_eq!(link.owner.as_deref(), Some("bo"));
    let history = app.store.history(&slug("talk")).await.unwrap();
    assert_eq!(
        (history[0].actor.as_str(), history[0].interface.as_str()),
        ("bo", "web")
    );

    let page = browser.get("links/talk").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("https://go.example.org/talk"));
    assert!(
        page.body.contains("src=\"data:image/svg+xml;base64,"),
        "the preview is inline"
    );
    assert!(page.body.contains("<span class=\"tag\">pycon</span>"));

    // The style editor's live preview answers with the preview alone, and stores nothing.
    let token = page.csrf();
    let style = [
        ("dark", "#1f4e79"),
        ("light", "#ffffff"),
        ("shape", "dot"),
        ("finder", "rounded"),
        ("gradient", ""),
        ("ecc", ""),
        ("logo_size", "20"),
    ];
    let part = browser
        .post_multipart("links/talk/style", &token, &style, None, Some("qr-preview"))
        .await;
    assert_eq!(part.status, 200);
    assert!(part.body.contains("data:image/svg+xml;base64,") && !part.body.contains("<html"));
    assert!(
        part.body.contains("save this style to download it"),
        "{}",
        part.body
    );
    assert_eq!(app.store.link_style(&slug("talk")).await.unwrap(), None);
    let unreadable = [("dark", "#eeeeee"), ("light", "#ffffff")];
    let refused = browser
        .post_multipart(
            "links/talk/style",
            &token,
            &unreadable,
            None,
            Some("qr-preview"),
        )
        .await;
    assert!(
        refused.body.contains("would not scan") && refused.body.contains("contrast"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("data:image"));
    let not_saved = browser
        .post_multipart(
            "links/talk/style",
            &token,
            &[("dark", "#eeeeee"), ("save", "1")],
            None,
            None,
        )
        .await;
    assert_eq!(not_saved.status, 422);
    assert!(not_saved.body.contains("The style was not saved"));
    assert_eq!(app.store.link_style(&slug("talk")).await.unwrap(), None);
    let forged = browser
        .post_multipart("links/talk/style", "forged", &[("save", "1")], None, None)
        .await;
    assert_eq!(forged.status, 403);

    // A logo: not an image is refused by its bytes; a PNG is re-encoded and kept.
    let text_logo = browser
        .post_multipart(
            "links/talk/style",
            &token,
            &[("save", "1")],
            Some(b"GIF89a not really".to_vec()),
            None,
        )
        .await;
    assert!(
        text_logo.status == 422
            && text_logo
                .body
                .contains("a logo must be a PNG or JPEG image"),
        "{}",
        text_logo.body
    );
    let logo = include_bytes!("../../../qrlink-qr/tests/fixtures/logo.jpg").to_vec();
    let mut saving: Vec<(&str, &str)> = style.to_vec();
    saving.push(("save", "1"));
    let saved = browser
        .post_multipart("links/talk/style", &token, &saving, Some(logo), None)
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (303, "/_/admin/links/talk"),
        "{}",
        saved.body
    );
    let stored = app
        .store
        .link_style(&slug("talk"))
        .await
        .unwrap()
        .expect("saved");
    assert!(stored.options.contains("\"shape\":\"dot\"") && stored.logo_png.is_some());
    let page = browser.get("links/talk").await;
    assert!(
        page.body.contains("the logo hides") && page.body.contains("Keep the saved logo"),
        "{}",
        page.body
    );

    // Downloads of the saved style, fetched over HTTP, decode to the link's short URL.
    for format in ["png", "svg"] {
        let download = browser.get(&format!("links/talk/qr?format={format}")).await;
        assert_eq!(download.status, 200);
        assert_eq!(
            download.header("content-disposition"),
            format!("attachment; filename=\"talk.{format}\"")
        );
        let session = browser.cookie("__Host-qrlink-session").unwrap();
        let path = format!("{ADMIN}links/talk/qr?format={format}");
        let bytes = app.download(&path, &session).await;
        assert_decodes(format, &bytes, "HTTPS://GO.EXAMPLE.ORG/TALK");
        if format == "svg" {
            let svg = String::from_utf8(bytes.to_vec()).unwrap();
            assert!(
                svg.contains("<image") || svg.contains("data:image/png"),
                "the logo is in the SVG"
            );
        }
    }

    // Re-point, lock, and a printed link wants its slug typed again.
    let moved = browser
        .submit(
            "links/talk",
            "links/talk/target",
            &[
                ("target", "https://example.org/video"),
                ("reason", "video is up"),
            ],
        )
        .await;
    assert_eq!(moved.status, 303);
    assert_eq!(
        browser
            .submit("links/talk", "links/talk/lock", &[("locked", "true")])
            .await
            .status,
        303
    );
    let page = browser.get("links/talk").await;
    assert!(page.body.contains("This link is printed. Type its slug"));
    let unconfirmed = browser
        .submit(
            "links/talk",
            "links/talk/target",
            &[("target", "https://example.org/recap"), ("confirm", "tlak")],
        )
        .await;
    assert_eq!(unconfirmed.status, 409);
    assert!(unconfirmed.body.contains("locked because it is printed"));
    assert_eq!(
        app.store.link(&slug("talk")).await.unwrap().target.as_str(),
        "https://example.org/video"
    );

    // History: restore the first target, confirmed.
    let page = browser.get("links/talk").await;
    assert!(page.body.contains("video is up"));
    assert!(page.body.contains("/_/admin/links/talk/restore/1"));
    let restored = browser
        .submit("links/talk", "links/talk/restore/1", &[("confirm", "TALK")])
        .await;
    assert_eq!(restored.status, 303);
    let link = app.store.link(&slug("talk")).await.unwrap();
    assert_eq!(link.target.as_str(), "https://example.org/slides");

    // A scheduled switch, listed and cancelled; then unlock, rename and retire.
    let scheduled = browser
        .submit(
            "links/talk",
            "links/talk/target",
            &[
                ("target", "https://example.org/recap"),
                ("at", "2026-09-15T09:00"),
                ("confirm", "talk"),
            ],
        )
        .await;
    assert_eq!(scheduled.status, 303);
    let page = browser.get("links/talk").await;
    assert!(
        page.body
            .contains("From 2026-09-15 09:00:00 UTC: go to https://example.org/recap"),
        "{}",
        page.body
    );
    let entry = app.store.link(&slug("talk")).await.unwrap().schedule[0].id;
    let cancelled = browser
        .submit("links/talk", &format!("links/talk/unschedule/{entry}"), &[])
        .await;
    assert_eq!(cancelled.status, 303);
    assert!(
        app.store
            .link(&slug("talk"))
            .await
            .unwrap()
            .schedule
            .is_empty()
    );
    let bad_time = browser
        .submit(
            "links/talk",
            "links/talk/target",
            &[
                ("target", "https://example.org/recap"),
                ("at", "soon"),
                ("confirm", "talk"),
            ],
        )
        .await;
    assert!(
        bad_time.status == 422 && bad_time.body.contains("rule: format"),
        "{}",
        bad_time.body
    );

    browser
        .submit("links/talk", "links/talk/lock", &[("locked", "false")])
        .await;
    let renamed = browser
        .submit("links/talk", "links/talk/rename", &[("slug", "keynote")])
        .await;
    assert_eq!(
        (renamed.status, renamed.location()),
        (303, "/_/admin/links/keynote")
    );
    let later = browser
        .submit(
            "links/keynote",
            "links/keynote/status",
            &[("retired", "true"), ("at", "2027-01-01T00:00")],
        )
        .await;
    assert_eq!(later.status, 303);
    let page = browser.get("links/keynote").await;
    assert!(
        page.body.contains("From 2027-01-01 00:00:00 UTC: retire"),
        "scheduled, not yet retired"
    );
    let retired = browser
        .submit(
            "links/keynote",
            "links/keynote/status",
            &[("retired", "true")],
        )
        .await;
    assert_eq!(retired.status, 303);
    let link = app.store.link(&slug("talk")).await.unwrap();
    assert_eq!(
        (link.slug.as_str(), link.status.as_str()),
        ("keynote", "retired")
    );
}

#[tokio::test]
async fn the_list_searches_filters_and_pages_with_a_sparkline_each() {
    let app = TestApp::sqlite().await;
    let vi = user(&app, "vi", Role::Viewer).await;
    for i in 0..55 {
        app.create(&format!("link-{i:02}"), &format!("https://example.org/{i}"))
            .await;
    }
    app.create("pycon", "https://pycon.example/talk").await;
    let browser = Browser::signed_in(&app, &vi).await;

    let first = browser.get("links").await;
    assert_eq!(first.body.matches("<svg class=\"spark\"").count(), 50);
    assert!(
        first
            .body
            .contains("href=\"/_/admin/links?after=link-49\" rel=\"next\""),
        "keyset link"
    );
    let second = browser.get("links?after=link-49").await;
    assert_eq!(second.body.matches("<svg class=\"spark\"").count(), 6);
    assert!(!second.body.contains("rel=\"next\""));

    let rows = browser.get_part("links?q=PYCON", "link-rows").await;
    assert_eq!(rows.status, 200);
    assert!(!rows.body.contains("<html") && rows.body.contains("/_/admin/links/pycon"));
    assert_eq!(rows.body.matches("<tr").count(), 2, "a header and one link");
    let recent = browser.get("links?order=changed").await;
    let position = |slug: &str| {
        recent
            .body
            .find(&format!("href=\"/_/admin/links/{slug}\""))
            .unwrap()
    };
    assert!(position("pycon") < position("link-54"), "the newest first");
    assert!(position("link-54") < position("link-53"));
    let bad = browser.get("links?status=lost").await;
    assert!(bad.status == 422 && bad.body.contains("invalid status"));
}

/// Markup in every field a user controls comes out as text, in pages and in fragments.
#[tokio::test]
async fn markup_in_links_is_shown_as_text() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    let attack = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";
    let mut new = NewLink::new(
        Some(slug("xss")),
        target("https://example.org/?q=\"><script>alert(3)</script>"),
    );
    new.title = attack.into();
    new.notes = format!("notes {attack}");
    new.tags = vec![qrlink_core::link::Tag::parse("a-b").unwrap()];
    app.create_with(new).await;
    let browser = Browser::signed_in(&app, &ada).await;
    let pages = [
        browser.get("links").await,
        browser.get_part("links?q=xss", "link-rows").await,
        browser.get("links/xss").await,
        browser.get("links/xss?days=90").await,
    ];
    for page in &pages {
        assert_eq!(page.status, 200);
        for raw in ["<script>", "<img src=x", "onerror=alert(2)>"] {
            assert!(
                !page.body.contains(raw),
                "`{raw}` unescaped in: {}",
                page.body
            );
        }
    }
    let shown = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";
    assert!(
        pages[2]
            .body
            .contains(&format!("<p class=\"title\">{shown}")),
        "as text"
    );
    assert!(
        pages[2]
            .body
            .contains(&format!("name=\"title\" value=\"{shown}")),
        "in an attribute"
    );
    // Validation percent-encoded the target's markup; it cannot open a tag either way.
    assert!(
        pages[2]
            .body
            .contains("?q=%22%3E%3Cscript%3Ealert(3)%3C/script%3E")
    );

    // Exports: JSON and CSV carry the title as data, intact; the static HTML pages carry
    // nothing that opens a tag.
    use qrlink_core::transfer::{self, ExportFormat, fallback};
    let mut json = Vec::new();
    transfer::export(&app.store, ExportFormat::Json, &mut json)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["links"][0]["title"], attack);
    let mut csv = Vec::new();
    transfer::export(&app.store, ExportFormat::Csv, &mut csv)
        .await
        .unwrap();
    let text = String::from_utf8(csv).unwrap();
    let quoted = format!("\"{}\"", attack.replace('"', "\"\""));
    assert!(text.contains(&quoted), "one quoted CSV cell: {text}");
    let mut files = Vec::new();
    let mut write = |path: &str, text: &str| {
        files.push((path.to_owned(), text.to_owned()));
        Ok(())
    };
    fallback::export_static(&app.store, fallback::StaticFormat::Html, t0(), &mut write)
        .await
        .unwrap();
    assert!(!files.is_empty());
    for (path, text) in &files {
        assert!(
            !text.contains("<script") && !text.contains("\"><"),
            "{path}: {text}"
        );
    }
}

#[tokio::test]
async fn admins_hand_out_password_links_and_tokens_once() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    let browser = Browser::signed_in(&app, &ada).await;

    let added = browser
        .submit("users", "users", &[("name", "Bo"), ("role", "editor")])
        .await;
    assert_eq!(added.status, 200);
    let link_start = added
        .body
        .find("https://go.example.org/_/admin/password/")
        .expect("a one-time link");
    let link = &added.body[link_start..link_start + 40 + 43];
    let bo = app.store.user("bo").await.unwrap().unwrap();
    assert_eq!(bo.role, Role::Editor);
    let path = link.trim_start_matches("https://go.example.org/_/admin/");
    let newcomer = Browser::new(&app);
    let form = newcomer.get(path).await;
    assert!(form.body.contains("Choose a password for bo"));
    let set = newcomer
        .post(
            path,
            &form.csrf(),
            &[
                ("password", "bo chose this one"),
                ("repeat", "bo chose this one"),
            ],
        )
        .await;
    assert_eq!(set.status, 303);
    assert_eq!(newcomer.get("links").await.status, 200);
    assert_eq!(
        browser.get("users").await.body.matches("password/").count(),
        0,
        "shown once"
    );

    let taken = browser
        .submit("users", "users", &[("name", "bo"), ("role", "viewer")])
        .await;
    assert!(taken.status == 422 && taken.body.contains("exists already"));
    let last = browser
        .submit("users", "users/ada/role", &[("role", "viewer")])
        .await;
    assert!(
        last.status == 422 && last.body.contains("rule: last_admin"),
        "{}",
        last.body
    );

    let created = browser
        .submit(
            "tokens",
            "tokens",
            &[
                ("name", "ci-deploy"),
                ("scope", "write"),
                ("user", "bo"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(created.status, 200);
    let start = created
        .body
        .find("<code class=\"secret\">qrl_")
        .expect("the secret")
        + 21;
    let secret = &created.body[start..start + 47];
    let api = app
        .client
        .get(format!("{}/_/api/v1/links", app.base))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let listed = browser.get("tokens").await;
    assert!(
        listed.body.contains("ci-deploy") && !listed.body.contains(secret),
        "never shown again"
    );
    let id = app.store.tokens().await.unwrap()[0].id;
    let revoked = browser
        .submit("tokens", &format!("tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, 303);
    let api = app
        .client
        .get(format!("{}/_/api/v1/links", app.base))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let bad = browser
        .submit(
            "tokens",
            "tokens",
            &[("name", "x"), ("scope", "write"), ("days", "0")],
        )
        .await;
    assert!(bad.status == 422 && bad.body.contains("invalid days"));
}

#[tokio::test]
async fn admins_block_target_domains_in_the_settings() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    let bo = user(&app, "bo", Role::Editor).await;
    let admin = Browser::signed_in(&app, &ada).await;
    let editor = Browser::signed_in(&app, &bo).await;
    assert_eq!(editor.get("settings").await.status, 403);
    assert_eq!(
        editor
            .submit("links", "settings/blocked", &[("domain", "evil.example")])
            .await
            .status,
        403
    );

    let page = admin.get("settings").await;
    assert!(page.status == 200 && page.body.contains("https://go.example.org/"));
    let bad = admin
        .submit(
            "settings",
            "settings/blocked",
            &[("domain", "https://evil.example/")],
        )
        .await;
    assert!(
        bad.status == 422 && bad.body.contains("invalid domain"),
        "{}",
        bad.body
    );
    let blocked = admin
        .submit(
            "settings",
            "settings/blocked",
            &[("domain", "Evil.Example")],
        )
        .await;
    assert_eq!(blocked.status, 303);
    assert!(
        admin
            .get("settings")
            .await
            .body
            .contains("<code>evil.example</code>")
    );

    let refused = editor
        .submit(
            "links/new",
            "links",
            &[("slug", "deal"), ("target", "https://shop.evil.example/")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("targets on evil.example are blocked on this instance")
    );

    let allowed = admin
        .submit(
            "settings",
            "settings/unblocked",
            &[("domain", "evil.example")],
        )
        .await;
    assert_eq!(allowed.status, 303);
    let created = editor
        .submit(
            "links/new",
            "links",
            &[("slug", "deal"), ("target", "https://shop.evil.example/")],
        )
        .await;
    assert_eq!(created.status, 303);
}

#[tokio::test]
async fn a_target_is_edited_inline_in_the_list() {
    let app = TestApp::sqlite().await;
    let bo = user(&app, "bo", Role::Editor).await;
    let vi = user(&app, "vi", Role::Viewer).await;
    let mut new = NewLink::new(Some(slug("talk")), target("https://example.org/slides"));
    new.owner = Some("bo".into());
    app.create_with(new).await;
    let browser = Browser::signed_in(&app, &bo).await;

    let list = browser.get("links").await;
    assert!(
        list.body
            .contains("hx-get=\"/_/admin/links/talk/target-edit\"")
    );
    let viewer_list = Browser::signed_in(&app, &vi).await.get("links").await;
    assert!(
        !viewer_list.body.contains("target-edit"),
        "no edit for a viewer"
    );
    assert_eq!(
        Browser::signed_in(&app, &vi)
            .await
            .get_part("links/talk/target-edit", "target-talk")
            .await
            .status,
        403
    );

    let form = browser
        .get_part("links/talk/target-edit", "target-talk")
        .await;
    assert!(
        form.status == 200
            && form.body.contains("value=\"https://example.org/slides\"")
            && !form.body.contains("<html")
    );
    let token = form.csrf();
    let refused = browser
        .post_part(
            "links/talk/target",
            &token,
            &[("target", "ftp://example.org/")],
            "target-talk",
        )
        .await;
    assert_eq!(refused.status, 200, "htmx swaps only successful answers");
    assert!(
        refused.body.contains("invalid target")
            && refused.body.contains("value=\"ftp://example.org/\"")
    );
    let saved = browser
        .post_part(
            "links/talk/target",
            &token,
            &[("target", "https://example.org/video")],
            "target-talk",
        )
        .await;
    assert_eq!(saved.status, 200);
    assert!(saved.body.contains("https://example.org/video") && !saved.body.contains("<form"));
    assert_eq!(
        app.store.link(&slug("talk")).await.unwrap().target.as_str(),
        "https://example.org/video"
    );
    let cancelled = browser
        .get_part("links/talk/target-cell", "target-talk")
        .await;
    assert!(
        cancelled.body.contains("https://example.org/video")
            && cancelled.body.contains(">edit</a>")
    );
}

#[tokio::test]
async fn an_admin_saves_a_style_preset_that_any_link_can_start_from() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    let bo = user(&app, "bo", Role::Editor).await;
    app.create("brand", "https://example.org/brand").await;
    let mut new = NewLink::new(Some(slug("poster")), target("https://example.org/poster"));
    new.owner = Some("bo".into());
    app.create_with(new).await;
    let admin = Browser::signed_in(&app, &ada).await;
    let editor = Browser::signed_in(&app, &bo).await;
    let logo = include_bytes!("../../../qrlink-qr/tests/fixtures/logo.jpg").to_vec();
    let style = [
        ("dark", "#1f4e79"),
        ("shape", "rounded"),
        ("logo_size", "15"),
        ("preset_name", "Brand blue"),
    ];

    let token = editor.get("links/poster").await.csrf();
    let mut as_preset = style.to_vec();
    as_preset.push(("save", "preset"));
    let refused = editor
        .post_multipart("links/poster/style", &token, &as_preset, None, None)
        .await;
    assert_eq!(refused.status, 403, "only admins save presets");

    let token = admin.get("links/brand").await.csrf();
    let saved = admin
        .post_multipart("links/brand/style", &token, &as_preset, Some(logo), None)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        app.store.link_style(&slug("brand")).await.unwrap(),
        None,
        "the link's own style is untouched"
    );
    assert!(admin.get("settings").await.body.contains("Brand blue"));

    // The editor starts from it: the editor shows its values and logo, unsaved; saving keeps them.
    let page = editor.get("links/poster").await;
    assert!(
        page.body
            .contains("<option value=\"Brand blue\">Brand blue</option>")
    );
    let applied = editor
        .post_multipart(
            "links/poster/style",
            &page.csrf(),
            &[("apply_preset", "1"), ("preset", "Brand blue")],
            None,
            None,
        )
        .await;
    assert_eq!(applied.status, 200);
    assert!(applied.body.contains("value=\"#1f4e79\"") && applied.body.contains("Not saved yet"));
    assert!(
        applied.body.contains("name=\"pending_logo\""),
        "the preset's logo travels on"
    );
    let mut keep: Vec<(String, String)> = vec![
        ("dark".into(), "#1f4e79".into()),
        ("shape".into(), "rounded".into()),
        ("logo_size".into(), "15".into()),
        ("save".into(), "1".into()),
    ];
    let pending_start = applied.body.find("name=\"pending_logo\" value=\"").unwrap() + 27;
    let pending_end = pending_start + applied.body[pending_start..].find('"').unwrap();
    keep.push((
        "pending_logo".into(),
        applied.body[pending_start..pending_end].to_owned(),
    ));
    let fields: Vec<(&str, &str)> = keep.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let stored = editor
        .post_multipart("links/poster/style", &applied.csrf(), &fields, None, None)
        .await;
    assert_eq!(stored.status, 303, "{}", stored.body);
    let poster = app
        .store
        .link_style(&slug("poster"))
        .await
        .unwrap()
        .unwrap();
    assert!(poster.options.contains("rounded") && poster.logo_png.is_some());

    let missing = editor
        .post_multipart(
            "links/poster/style",
            &applied.csrf(),
            &[("apply_preset", "1"), ("preset", "Nope")],
            None,
            None,
        )
        .await;
    assert!(missing.status == 422 && missing.body.contains("no preset named"));
    let deleted = admin
        .submit(
            "settings",
            "settings/presets/delete",
            &[("name", "Brand blue")],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert!(app.store.style_presets().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_look_alike_host_is_shown_in_both_forms_with_a_warning() {
    let app = TestApp::sqlite().await;
    let ada = user(&app, "ada", Role::Admin).await;
    // `аpple.com` with a Cyrillic а; stored in punycode.
    app.create("fruit", "https://\u{0430}pple.com/login").await;
    app.create("books", "https://bücher.example/").await;
    let browser = Browser::signed_in(&app, &ada).await;
    let list = browser.get("links").await;
    let page = browser.get("links/fruit").await;
    let preview = app.get("/fruit+").await.text().await.unwrap();
    for (name, body) in [
        ("list", &list.body),
        ("link page", &page.body),
        ("preview", &preview),
    ] {
        assert!(body.contains("аpple.com"), "{name}: the Unicode form");
        assert!(
            body.contains("xn--pple-43d.com"),
            "{name}: the punycode form: {body}"
        );
        assert!(
            body.contains("mixes Cyrillic and Latin letters"),
            "{name}: the warning"
        );
    }
    let books = browser.get("links/books").await;
    assert!(books.body.contains("bücher.example") && books.body.contains("xn--bcher-kva.example"));
    assert!(!books.body.contains("mixes"), "one script is no warning");
}
