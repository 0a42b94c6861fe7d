//! The `qrlink` binary as a person uses it: bad input refused with the field and rule, nothing
//! stored, and a running server picking up CLI changes within a second.

use std::path::Path;
use std::time::Duration;

use qrlink_core::testing::TestDatabase;

use crate::support::*;

/// Runs `qrlink` on the SQLite database in `data_dir`; returns (success, stdout, stderr).
async fn qrlink(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let data_dir = data_dir.to_str().unwrap();
    run_qrlink(&[&["--data-dir", data_dir], args].concat()).await
}

#[tokio::test]
async fn bad_targets_and_slugs_are_refused_with_their_rule_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let long_target = format!("https://example.org/{}", "a".repeat(4100));
    let long_slug = "a".repeat(65);
    let bad_targets: Vec<(&str, &str)> = vec![
        ("javascript:alert(1)", "scheme"),
        ("data:text/html,hi", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.org/", "scheme"),
        ("/relative", "absolute"),
        ("//evil.example/", "absolute"),
        ("example.org/page", "absolute"),
        ("https://good.example@evil.example/", "userinfo"),
        ("https://user:pw@example.org/", "userinfo"),
        ("https://example.org/\r\nX: y", "control_character"),
        ("https://example.org/\ttab", "control_character"),
        ("https://example.org/a\u{1b}[31mred", "control_character"),
        ("https://go.example.org/other", "loop"),
        ("http://GO.example.org/x", "loop"),
        ("http://localhost/", "private_address"),
        ("http://db.localhost/", "private_address"),
        ("http://127.0.0.1/", "private_address"),
        ("http://2130706433/", "private_address"),
        ("http://0x7f000001/", "private_address"),
        ("http://10.0.0.1/", "private_address"),
        ("http://192.168.0.10/", "private_address"),
        ("http://169.254.169.254/", "private_address"),
        ("http://[::1]/", "private_address"),
        ("http://[::ffff:10.0.0.1]/", "private_address"),
        ("http://[fc00::1]/", "private_address"),
        ("https://intranet/", "host"),
        ("https://example.org./", "trailing_dot"),
        (&long_target, "too_long"),
    ];
    for (bad, rule) in &bad_targets {
        let (ok, _, stderr) = qrlink(dir.path(), &["link", "add", "fine-slug", bad]).await;
        assert!(!ok, "{bad:?} was accepted");
        assert!(
            stderr.contains("invalid target") && stderr.contains(&format!("rule: {rule}")),
            "{bad:?}: {stderr}"
        );
        assert!(
            !stderr.contains('\r'),
            "the error does not echo raw control characters"
        );
    }
    let bad_slugs: Vec<(&str, &str)> = vec![
        ("_admin", "alphabet"),
        ("caf\u{e9}", "alphabet"),
        ("\u{212a}elvin", "alphabet"),
        ("a/b", "alphabet"),
        ("a.b", "alphabet"),
        ("-lead", "edge_hyphen"),
        ("trail-", "edge_hyphen"),
        (&long_slug, "too_long"),
    ];
    for (bad, rule) in &bad_slugs {
        let (ok, _, stderr) = qrlink(
            dir.path(),
            &["link", "add", "--", bad, "https://example.org/"],
        )
        .await;
        assert!(!ok, "{bad:?} was accepted");
        assert!(
            stderr.contains("invalid slug") && stderr.contains(&format!("rule: {rule}")),
            "{bad:?}: {stderr}"
        );
    }
    assert!(bad_targets.len() + bad_slugs.len() >= 30);
    let (ok, stdout, _) = qrlink(dir.path(), &["link", "list", "--json"]).await;
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap(),
        serde_json::json!([]),
        "nothing was stored"
    );
}

#[tokio::test]
async fn the_cli_manages_a_link_through_its_life() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "add",
            "PyCon-Talk",
            "https://example.org/talk",
            "--title",
            "Talk",
            "--tag",
            "pycon",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("https://go.example.org/pycon-talk\n"),
        "{stdout}"
    );
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &["link", "add", "pycon-talk", "https://example.org/other"],
    )
    .await;
    assert!(!ok && stderr.contains("taken"), "{stderr}");

    assert!(qrlink(dir.path(), &["link", "lock", "pycon-talk"]).await.0);
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &["link", "set-target", "pycon-talk", "https://example.org/v2"],
    )
    .await;
    assert!(!ok && stderr.contains("--confirm"), "{stderr}");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "set-target",
            "pycon-talk",
            "https://example.org/v2",
            "--confirm",
            "--reason",
            "slides moved",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = qrlink(dir.path(), &["link", "rename", "pycon-talk", "talk"]).await;
    assert!(!ok && stderr.contains("unlock"), "{stderr}");
    assert!(
        qrlink(dir.path(), &["link", "unlock", "pycon-talk"])
            .await
            .0
    );
    assert!(
        qrlink(dir.path(), &["link", "rename", "pycon-talk", "talk"])
            .await
            .0
    );
    assert!(
        qrlink(dir.path(), &["link", "restore", "talk", "1"])
            .await
            .0
    );
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "set-target",
            "talk",
            "https://example.org/recap",
            "--at",
            "2030-09-15 09:00 Europe/Berlin",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "retire",
            "talk",
            "--at",
            "2030-03-31 02:30 Europe/Berlin",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("nonexistent_local_time"), "{stderr}");

    let (_, stdout, _) = qrlink(
        dir.path(),
        &[
            "link",
            "show",
            "talk",
            "--at",
            "2030-09-15T07:00:00Z",
            "--json",
        ],
    )
    .await;
    let at: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(at["target"], "https://example.org/recap");
    let (_, stdout, _) = qrlink(
        dir.path(),
        &[
            "link",
            "show",
            "pycon-talk",
            "--at",
            "2030-09-15T06:59:59Z",
            "--json",
        ],
    )
    .await;
    let before: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        before["target"], "https://example.org/talk",
        "the old slug resolves to the same link"
    );

    let (_, stdout, _) = qrlink(dir.path(), &["link", "history", "talk"]).await;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(
        lines[0].starts_with("#1 ")
            && lines[0].contains("cli-tester via cli")
            && lines[0].contains("https://example.org/talk")
    );
    assert!(
        lines[2].contains("https://example.org/talk -> https://example.org/v2")
            && lines[2].contains("(slides moved)"),
        "{stdout}"
    );
    assert!(
        lines[5].contains("restored from history entry 1"),
        "{stdout}"
    );
    let (_, stdout, _) = qrlink(dir.path(), &["link", "history", "talk", "--json"]).await;
    let history: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(history[6]["kind"], "scheduled");

    let (_, stdout, _) = qrlink(dir.path(), &["link", "schedule", "talk", "--json"]).await;
    let schedule: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entry = schedule[0]["id"].as_i64().unwrap().to_string();
    assert!(
        qrlink(dir.path(), &["link", "unschedule", "talk", &entry])
            .await
            .0
    );
    let (_, stdout, _) = qrlink(
        dir.path(),
        &["link", "list", "--json", "--search", "EXAMPLE.org/talk"],
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["slug"], "talk");
    assert_eq!(list[0]["aliases"], serde_json::json!(["pycon-talk"]));
    assert_eq!(list[0]["schedule"], serde_json::json!([]));
}

#[tokio::test]
async fn a_running_server_picks_up_a_cli_change_within_a_second() {
    let db = TestDatabase::sqlite().await;
    let dir = db.data_dir().unwrap().to_path_buf();
    // The real polling interval, not a test shortcut.
    let mut options = Options::default();
    options.intervals.poll = Duration::from_millis(250);
    let app = TestApp::with(db, options).await;
    // The goal is one second; the bound is generous because CI machines are shared and noisy.
    let bound = Duration::from_secs(5);
    assert!(
        qrlink(&dir, &["link", "add", "live", "https://example.org/one"])
            .await
            .0
    );
    let created = eventually("the new link redirects", bound, || async {
        app.get("/live").await.status() == 302
    })
    .await;
    assert!(
        qrlink(
            &dir,
            &["link", "set-target", "live", "https://example.org/two"]
        )
        .await
        .0
    );
    let repointed = eventually("the re-point is served", bound, || async {
        header(&app.get("/live").await, "location") == Some("https://example.org/two")
    })
    .await;
    eprintln!(
        "measured: creation seen by the server after {created:?}, re-point after {repointed:?} (goal: 1 s)"
    );
}

#[tokio::test]
async fn qrlink_qr_writes_only_codes_that_scan() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("talk.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "https://example.org/qr/talk-0001",
            "-o",
            png.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("verified: version 3"), "{stderr}");
    qrlink_qr::verify_png(
        &std::fs::read(&png).unwrap(),
        "https://example.org/qr/talk-0001",
        false,
    )
    .unwrap();

    let svg = dir.path().join("code.svg");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "Hello, qrlink",
            "-o",
            svg.to_str().unwrap(),
            "--dark",
            "#1a237e",
            "--light",
            "transparent",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg_text.starts_with("<svg ") && svg_text.contains("stroke=\"#1a237e\""),
        "{svg_text}"
    );

    let (ok, stdout, _) = qrlink(
        dir.path(),
        &["qr", "--format", "txt", "--border", "1", "--", "wifi"],
    )
    .await;
    assert!(ok);
    assert!(
        stdout
            .lines()
            .all(|l| l.len() == 23 && l.bytes().all(|b| b == b'0' || b == b'1')),
        "{stdout}"
    );

    let refused = dir.path().join("pale.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "text",
            "-o",
            refused.to_str().unwrap(),
            "--dark",
            "#ddd",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("rule: contrast"), "{stderr}");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            &"x".repeat(100),
            "-o",
            refused.to_str().unwrap(),
            "--version",
            "1",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("does not fit"), "{stderr}");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "text",
            "-o",
            dir.path().join("code.gif").to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("--format"), "{stderr}");
    assert!(!refused.exists(), "nothing is written for a refused code");
}

#[tokio::test]
async fn qrlink_qr_helpers_build_escaped_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("wifi.png");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_qrlink"))
        .args([
            "qr",
            "wifi",
            "--ssid",
            "Caf\u{e9};Guest",
            "-o",
            png.to_str().unwrap(),
        ])
        .env("QRLINK_WIFI_PASSWORD", "s3cret:pass")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = "WIFI:T:WPA;S:Caf\u{e9}\\;Guest;P:s3cret\\:pass;;";
    qrlink_qr::verify_png(&std::fs::read(&png).unwrap(), expected, false).unwrap();

    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "epc",
            "--name",
            "Red Cross",
            "--iban",
            "DE89 3704 0044 0532 0130 01",
            "--amount",
            "5",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("rule: checksum"), "{stderr}");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "epc",
            "--name",
            "Red Cross",
            "--iban",
            "DE89370400440532013000",
            "--amount",
            "5.555",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("invalid amount"), "{stderr}");
    let (ok, stdout, _) = qrlink(dir.path(), &["qr", "--format", "txt", "--", "wifi"]).await;
    assert!(
        ok && stdout.starts_with("0000"),
        "`--` makes a helper's name plain text"
    );
}

#[tokio::test]
async fn a_link_code_is_uppercase_where_the_base_url_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        qrlink(
            dir.path(),
            &["link", "add", "PyCon-Talk", "https://example.org/talk"]
        )
        .await
        .0
    );
    let png = dir.path().join("talk.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &["link", "qr", "pycon-talk", "-o", png.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("version 2"),
        "the alphanumeric form is a version smaller: {stderr}"
    );
    qrlink_qr::verify_png(
        &std::fs::read(&png).unwrap(),
        "HTTPS://GO.EXAMPLE.ORG/PYCON-TALK",
        false,
    )
    .unwrap();

    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "qr",
            "pycon-talk",
            "-o",
            png.to_str().unwrap(),
            "--lowercase-codes",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    qrlink_qr::verify_png(
        &std::fs::read(&png).unwrap(),
        "https://go.example.org/pycon-talk",
        false,
    )
    .unwrap();

    // Mounted under a path, a proxy may route case-sensitively: the code stays lowercase.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_qrlink"))
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--base-url",
            "https://example.org/qr/",
        ])
        .args(["link", "qr", "pycon-talk", "-o", png.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    qrlink_qr::verify_png(
        &std::fs::read(&png).unwrap(),
        "https://example.org/qr/pycon-talk",
        false,
    )
    .unwrap();
    let (ok, _, stderr) = qrlink(dir.path(), &["link", "qr", "missing"]).await;
    assert!(!ok && stderr.contains("no link"), "{stderr}");
}

#[tokio::test]
async fn qrlink_qr_draws_styles_that_still_scan() {
    let dir = tempfile::tempdir().unwrap();
    for (file, style) in [
        (
            "rounded.png",
            [
                "--shape",
                "rounded",
                "--finder",
                "rounded",
                "--gradient",
                "linear",
                "--dark",
                "#1a237e",
                "--dark2",
                "#00897b",
            ],
        ),
        (
            "dots.svg",
            [
                "--shape",
                "dot",
                "--finder",
                "dot",
                "--gradient",
                "radial",
                "--dark",
                "#000",
                "--dark2",
                "#4a148c",
            ],
        ),
    ] {
        let path = dir.path().join(file);
        let mut args = vec![
            "qr",
            "https://example.org/qr/talk-0001",
            "-o",
            path.to_str().unwrap(),
        ];
        args.extend(style);
        let (ok, _, stderr) = qrlink(dir.path(), &args).await;
        assert!(ok, "{file}: {stderr}");
        let bytes = std::fs::read(&path).unwrap();
        if file.ends_with(".png") {
            qrlink_qr::verify_png(&bytes, "https://example.org/qr/talk-0001", false).unwrap();
        } else {
            qrlink_qr::verify_svg(&bytes, "https://example.org/qr/talk-0001", false).unwrap();
        }
    }
    let pale = dir.path().join("pale.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "x",
            "-o",
            pale.to_str().unwrap(),
            "--gradient",
            "linear",
            "--dark2",
            "#f0f0f0",
        ],
    )
    .await;
    assert!(
        !ok && stderr.contains("rule: contrast") && !pale.exists(),
        "{stderr}"
    );
}

#[tokio::test]
async fn qrlink_qr_puts_a_logo_in_the_centre_at_level_h() {
    let dir = tempfile::tempdir().unwrap();
    let logo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../qrlink-qr/tests/fixtures/logo.jpg"
    );
    let png = dir.path().join("logo.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "https://example.org/qr/talk-0001",
            "--logo",
            logo,
            "-o",
            png.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("level H") && stderr.contains("the logo hides"),
        "{stderr}"
    );
    qrlink_qr::verify_png(
        &std::fs::read(&png).unwrap(),
        "https://example.org/qr/talk-0001",
        false,
    )
    .unwrap();
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "https://example.org/qr/talk-0001",
            "--logo",
            logo,
            "--ecc",
            "L",
            "-o",
            png.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("rule: coverage"), "{stderr}");
    let not_an_image = dir.path().join("logo.svg");
    std::fs::write(&not_an_image, "<svg onload=\"alert(1)\"/>").unwrap();
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "x",
            "--logo",
            not_an_image.to_str().unwrap(),
            "-o",
            png.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!ok && stderr.contains("rule: type"), "{stderr}");
}

#[tokio::test]
async fn a_link_code_can_carry_its_short_url_as_a_caption() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        qrlink(
            dir.path(),
            &["link", "add", "pycon-talk", "https://example.org/talk"]
        )
        .await
        .0
    );
    let svg = dir.path().join("talk.svg");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "link",
            "qr",
            "pycon-talk",
            "--url-caption",
            "-o",
            svg.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let bytes = std::fs::read(&svg).unwrap();
    qrlink_qr::verify_svg(&bytes, "HTTPS://GO.EXAMPLE.ORG/PYCON-TALK", false).unwrap();
    assert!(
        String::from_utf8(bytes)
            .unwrap()
            .contains("viewBox=\"0 0 33 37\"")
    );
}

#[tokio::test]
async fn a_backup_is_taken_while_the_server_runs_and_restores_elsewhere() {
    let db = TestDatabase::sqlite().await;
    let dir = db.data_dir().unwrap().to_path_buf();
    let app = TestApp::with(db, Options::default()).await;
    app.create("live", "https://example.org/live").await;
    assert_eq!(app.get("/live").await.status(), 302);
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("qrlink-backup.db");
    let (ok, stdout, stderr) = qrlink(&dir, &["backup", file.to_str().unwrap()]).await;
    assert!(
        ok && stdout.contains("1 links, integrity check passed"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        app.get("/live").await.status(),
        302,
        "the server kept serving"
    );
    let restored = elsewhere.path().join("restored");
    let (ok, stdout, stderr) = qrlink(&restored, &["restore", file.to_str().unwrap()]).await;
    assert!(ok, "{stdout}{stderr}");
    let (_, stdout, _) = qrlink(&restored, &["link", "list", "--json"]).await;
    assert!(stdout.contains("https://example.org/live"), "{stdout}");
}

/// Regression: a bad --scan-distance used to be reported only after the file was written.
#[tokio::test]
async fn a_bad_print_option_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("code.png");
    let (ok, _, stderr) = qrlink(
        dir.path(),
        &[
            "qr",
            "x",
            "-o",
            png.to_str().unwrap(),
            "--scan-distance",
            "0",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("scan_distance"), "{stderr}");
    assert!(!png.exists());
}
