//! `qrlink export-static`: the nginx output is checked by nginx itself (`nginx -t`) and by real
//! requests through it, in any letter case, like qrlink answers them.

use std::path::Path;
use std::time::Duration;

use crate::support::*;

async fn qrlink(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let data_dir = data_dir.to_str().unwrap();
    run_qrlink(&[&["--data-dir", data_dir], args].concat()).await
}

/// The nginx binary, or `None` after a loud notice (CI sets `QRLINK_REQUIRE_NGINX=1`, which
/// turns the skip into a failure).
fn nginx() -> Option<&'static str> {
    for path in ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(path).exists() {
            return Some(path);
        }
    }
    if std::env::var("QRLINK_REQUIRE_NGINX").is_ok_and(|v| v == "1") {
        panic!("QRLINK_REQUIRE_NGINX=1 but nginx is not installed");
    }
    eprintln!("\n!!! SKIPPED: nginx test, nginx is not installed (apt-get install nginx) !!!\n");
    None
}

/// A running nginx, stopped through its own signal handling when dropped (also when a test
/// fails), so its worker processes exit with it rather than outliving the test.
struct Nginx {
    stop: std::process::Command,
    master: std::process::Child,
}

impl Nginx {
    fn start(binary: &str, args: &[&str]) -> Nginx {
        let master = std::process::Command::new(binary)
            .args(args)
            .args(["-g", "daemon off;"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stop = std::process::Command::new(binary);
        stop.args(args).args(["-s", "stop"]);
        Nginx { stop, master }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.stop.stderr(std::process::Stdio::null()).status();
        let _ = self.master.wait();
    }
}

#[tokio::test]
async fn nginx_serves_the_static_export_in_any_letter_case() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let awkward = "https://example.org/pay?amount=$5&note='hi'&x={y}";
    for args in [
        &["link", "add", "talk", awkward][..],
        &["link", "add", "first-name", "https://example.org/renamed"][..],
        &["link", "rename", "first-name", "second-name"][..],
        &["link", "add", "flyer", "https://example.org/flyer"][..],
        &["link", "retire", "flyer"][..],
        &[
            "link",
            "add",
            "banner",
            "https://example.org/banner",
            "--redirect-status",
            "301",
        ][..],
    ] {
        let (ok, _, stderr) = qrlink(&data, args).await;
        assert!(ok, "{args:?}: {stderr}");
    }
    let out = dir.path().join("nginx");
    let (ok, _, stderr) = qrlink(
        &data,
        &[
            "export-static",
            "--format",
            "nginx",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        ok && stderr.contains("wrote 5 slugs in 2 file(s)"),
        "{stderr}"
    );
    let Some(nginx) = nginx() else { return };

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let prefix = dir.path().join("prefix");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let conf = prefix.join("nginx.conf");
    let out = out.display();
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\nerror_log stderr;\npid {prefix}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {prefix}/body;\n\
               proxy_temp_path {prefix}/proxy;\n  fastcgi_temp_path {prefix}/fastcgi;\n\
               uwsgi_temp_path {prefix}/uwsgi;\n  scgi_temp_path {prefix}/scgi;\n\
               include {out}/qrlink-map.conf;\n\
               server {{\n    listen 127.0.0.1:{port};\n    include {out}/qrlink-redirects.conf;\n    return 404;\n  }}\n}}\n",
            prefix = prefix.display()
        ),
    )
    .unwrap();
    let args = [
        "-p",
        prefix.to_str().unwrap(),
        "-c",
        conf.to_str().unwrap(),
        "-e",
        "stderr",
    ];
    let check = std::process::Command::new(nginx)
        .arg("-t")
        .args(args)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let _server = Nginx::start(nginx, &args);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    eventually("nginx answers", Duration::from_secs(10), || {
        let (client, base) = (client.clone(), base.clone());
        async move { client.get(format!("{base}/nowhere")).send().await.is_ok() }
    })
    .await;
    // As stored (WHATWG encodes the quotes), then with the braces RFC 3986 forbids encoded too;
    // the `$` arrives intact through nginx's `geo` variable.
    let paid = "https://example.org/pay?amount=$5&note=%27hi%27&x=%7By%7D";
    let cases = [
        ("/talk", 302, Some(paid.to_owned())),
        ("/TALK", 302, Some(paid.to_owned())),
        (
            "/Second-Name",
            302,
            Some("https://example.org/renamed".to_owned()),
        ),
        (
            "/FIRST-NAME",
            302,
            Some("https://example.org/renamed".to_owned()),
        ),
        ("/flyer", 410, None),
        (
            "/BANNER",
            302,
            Some("https://example.org/banner".to_owned()),
        ),
        ("/unknown", 404, None),
    ];
    for (path, status, location) in cases {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        if let Some(expected) = location {
            let got = header(&response, "location").unwrap_or_default();
            assert_eq!(got, expected, "{path}");
        }
    }
}
