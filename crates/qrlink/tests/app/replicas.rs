//! Several `qrlink serve` processes on one PostgreSQL database, as behind a load balancer:
//! a change made anywhere is served everywhere within a second, and counts add up.

use std::time::Duration;

use qrlink_core::testing::TestDatabase;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_follow_each_other_and_their_counts_add_up() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let url = db.postgres_url().unwrap().to_owned();
    let instance = ["--database-url", url.as_str()];
    // Both start together on the migrated database; the real poll interval, not a shortcut.
    let (a, b) = tokio::join!(
        ServeProcess::start(&instance, &[]),
        ServeProcess::start(&instance, &[])
    );
    // The goal is one second; the bound is generous because CI machines are shared and noisy.
    let bound = Duration::from_secs(5);

    // Created through the CLI (as through replica A's admin): B serves it.
    let (ok, _, stderr) = run_qrlink(
        &[
            &instance[..],
            &["link", "add", "flyer", "https://example.org/one"],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{stderr}");
    let created = eventually("B redirects the new link", bound, || async {
        b.location("flyer").await.as_deref() == Some("https://example.org/one")
    })
    .await;
    let created_on_a = eventually("A redirects the new link", bound, || async {
        a.location("flyer").await.as_deref() == Some("https://example.org/one")
    })
    .await;

    // Re-pointed: both follow.
    let (ok, _, stderr) = run_qrlink(
        &[
            &instance[..],
            &["link", "set-target", "flyer", "https://example.org/two"],
        ]
        .concat(),
    )
    .await;
    assert!(ok, "{stderr}");
    let repointed = eventually("A and B serve the new target", bound, || async {
        a.location("flyer").await.as_deref() == Some("https://example.org/two")
            && b.location("flyer").await.as_deref() == Some("https://example.org/two")
    })
    .await;
    eprintln!(
        "measured: creation served by B after {created:?} (A {created_on_a:?}), re-point by both after {repointed:?} (goal: 1 s)"
    );

    // More visits to both, on top of the redirects above: every one is counted.
    for _ in 0..30 {
        assert_eq!(a.get("/flyer").await.status(), 302);
    }
    for _ in 0..45 {
        assert_eq!(b.get("/flyer").await.status(), 302);
    }
    let received = a.redirects_received() + b.redirects_received();
    assert_eq!(a.terminate().await.code(), Some(0));
    assert_eq!(b.terminate().await.code(), Some(0));
    assert_eq!(
        total_hits(&db, "flyer").await as u64,
        received,
        "the counts of both replicas add up exactly"
    );
}

/// All hits recorded for `slug` so far, read from the database.
async fn total_hits(db: &TestDatabase, s: &str) -> i64 {
    let store = db.reopen().await;
    let total = store
        .daily_counts(&slug(s))
        .await
        .unwrap()
        .iter()
        .map(|c| c.counts.hits)
        .sum();
    store.close().await;
    total
}
