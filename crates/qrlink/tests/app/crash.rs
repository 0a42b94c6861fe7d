//! Crashes: `qrlink serve` is killed with SIGKILL at random moments while a writer creates
//! and re-points links through the CLI (whose process in flight is killed too). Every write
//! that was acknowledged before a kill is there afterwards, the SQLite integrity check passes
//! after every kill, and counts are never higher than the redirects actually served.

use std::time::Duration;

use qrlink_core::link::Change;
use qrlink_core::store::{Store, StoreLocation, check_sqlite_file};
use rand::{Rng, SeedableRng};

use crate::support::*;

/// One acknowledged write: the CLI exited 0.
enum Acked {
    Created { slug: String, target: String },
    Repointed { slug: String, target: String },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_and_the_database_stays_intact() {
    let kills: u32 = std::env::var("QRLINK_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("QRLINK_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test: seed {seed}, {kills} kills (set QRLINK_TEST_SEED to repeat)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let data = ["--data-dir", dir.path().to_str().unwrap()];
    let mut acked: Vec<Acked> = Vec::new();
    let mut redirects_served = 0u64;
    let mut next = 0u32;
    // Numbers of the links whose creation was acknowledged.
    let mut created: Vec<u32> = Vec::new();
    for round in 0..kills {
        let server = ServeProcess::start(&data, &["--flush-interval-ms", "50"]).await;
        let alive_for = Duration::from_millis(rng.random_range(50..600));
        let writes = rng.random_range(1..6);
        let deadline = tokio::time::Instant::now() + alive_for;
        // The writer and the visitors run until the kill; the CLI in flight is killed with
        // the future that owns it (kill_on_drop), as a crash of the whole machine would.
        let work = async {
            for _ in 0..writes {
                next += 1;
                let slug = format!("c{next}");
                let target = format!("https://example.org/{next}/created");
                let (ok, _, stderr) =
                    run_qrlink(&[&data[..], &["link", "add", &slug, &target]].concat()).await;
                assert!(ok, "round {round}: {stderr}");
                acked.push(Acked::Created { slug, target });
                created.push(next);
                // Re-point an earlier link, and visit it.
                let earlier = created[rng.random_range(0..created.len())];
                let slug = format!("c{earlier}");
                let target = format!("https://example.org/{earlier}/round-{round}-{next}");
                let (ok, _, stderr) =
                    run_qrlink(&[&data[..], &["link", "set-target", &slug, &target]].concat())
                        .await;
                assert!(ok, "round {round}: {stderr}");
                acked.push(Acked::Repointed { slug, target });
                for _ in 0..5 {
                    server.get(&format!("/c{earlier}")).await;
                }
            }
            std::future::pending::<()>().await
        };
        let _ = tokio::time::timeout_at(deadline, work).await;
        redirects_served += server.redirects_received();
        server.kill().await;

        // After every kill: integrity, then every acknowledged write.
        let store = Store::open(StoreLocation::SqliteDir(dir.path()))
            .await
            .unwrap();
        check_all(&store, &acked, round).await;
        store.close().await;
        check_sqlite_file(&dir.path().join("qrlink.db"))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }

    let store = Store::open(StoreLocation::SqliteDir(dir.path()))
        .await
        .unwrap();
    let mut counted = 0;
    for n in 1..=next {
        if let Ok(days) = store.daily_counts(&slug(&format!("c{n}"))).await {
            counted += days.iter().map(|d| d.counts.hits).sum::<i64>();
        }
    }
    eprintln!(
        "measured: {kills} kills, {} acknowledged writes all present, {counted} of {redirects_served} redirects counted (the rest were in memory at a kill)",
        acked.len()
    );
    assert!(
        counted as u64 <= redirects_served,
        "nothing is counted twice"
    );
}

async fn check_all(store: &Store, acked: &[Acked], round: u32) {
    for write in acked {
        match write {
            Acked::Created { slug: s, target } => {
                let history = store.history(&slug(s)).await.unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged link {s} is missing: {e}")
                });
                assert!(
                    history.iter().any(|h| matches!(&h.change,
                        Change::Created { target: t, .. } if t == target)),
                    "round {round}: the creation of {s} is not in its history"
                );
            }
            Acked::Repointed { slug: s, target } => {
                let history = store.history(&slug(s)).await.unwrap();
                assert!(
                    history.iter().any(|h| matches!(&h.change,
                        Change::Target { new, .. } if new == target)),
                    "round {round}: the acknowledged re-point of {s} to {target} is lost"
                );
            }
        }
    }
}
