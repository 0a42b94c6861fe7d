//! The real `qrlink serve` process under load, stopped with SIGTERM: it drains, flushes, and
//! every redirect a client received is in the counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use qrlink_core::store::{Store, StoreLocation};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_and_loses_no_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = ["--data-dir", dir.path().to_str().unwrap()];
    let (added, _, stderr) = run_qrlink(
        &[
            &data[..],
            &["link", "add", "busy", "https://example.org/busy"],
        ]
        .concat(),
    )
    .await;
    assert!(added, "{stderr}");
    let server = ServeProcess::start(&data, &[]).await;
    let (client, base) = (server.client.clone(), server.base.clone());

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

    let status = server.terminate().await;
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
