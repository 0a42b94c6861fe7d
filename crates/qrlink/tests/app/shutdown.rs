//! The real `qrlink serve` process under load, stopped with SIGTERM: it drains, flushes, and
//! every redirect a client received is in the counts.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use qrlink_core::store::{Store, StoreLocation};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_and_loses_no_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let binary = env!("CARGO_BIN_EXE_qrlink");
    let added = tokio::process::Command::new(binary)
        .args([
            "--data-dir",
            &data,
            "link",
            "add",
            "busy",
            "https://example.org/busy",
        ])
        .output()
        .await
        .unwrap();
    assert!(added.status.success());

    let mut server = tokio::process::Command::new(binary)
        .args(["--data-dir", &data, "serve", "--listen", "127.0.0.1:0"])
        .env("QRLINK_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The address is in the start-up log line: `... qrlink listening addr=127.0.0.1:PORT ...`.
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    eventually("the server is ready", Duration::from_secs(30), || async {
        client
            .get(format!("{base}/_/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;

    // Eight clients redirect as fast as they can, each request bounded, until the server goes.
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (client, base, received, stop) =
                (client.clone(), base.clone(), received.clone(), stop.clone());
            tokio::spawn(async move {
                for _ in 0..100_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    match client.get(format!("{base}/busy")).send().await {
                        Ok(response) if response.status() == 302 => {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        // Refused or closed: the server has stopped taking requests.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    eventually("load is running", Duration::from_secs(30), || async {
        received.load(Ordering::Relaxed) > 500
    })
    .await;

    let pid = server.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(60), server.wait())
        .await
        .expect("the server stops")
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    assert!(status.success(), "a graceful stop exits 0: {status}");

    let store = Store::open(StoreLocation::SqliteDir(dir.path()))
        .await
        .unwrap();
    let counted: i64 = store
        .daily_counts(&slug("busy"))
        .await
        .unwrap()
        .iter()
        .map(|c| c.counts.hits)
        .sum();
    let received = received.load(Ordering::Relaxed);
    eprintln!(
        "measured: {received} redirects received before SIGTERM took effect, {counted} counted"
    );
    assert_eq!(
        counted as u64, received,
        "every redirect a client received was counted and flushed"
    );
}
