//! SQLite's packed count log (migration 15), written and folded through rusqlite on a
//! blocking thread. A busy instance flushes a count per link hit in the last second (about a
//! hundred thousand under a uniform load on a million links): one prepared statement binding
//! values costs a fraction of what sqlx binding them as JSON, unpacked by SQLite column by
//! column, did on the cores serving redirects.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::counts::{Counts, DailyCount, pack, pack_bucket, unpack};
use crate::error::Result;

use super::FOLD_ADD;

/// Buckets of packed counts folded per transaction: 65,536 links.
const PACK_BUCKETS_PER_FOLD: i64 = 16;

/// Appends a batch of counts to the database file's count log, a row per bucket. Grouping
/// and packing a large batch takes milliseconds, so it runs on the blocking thread too.
pub(super) async fn append(file: &Path, batch: &[DailyCount]) -> Result<()> {
    let batch = batch.to_vec();
    let file = file.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut buckets: BTreeMap<i64, Vec<DailyCount>> = BTreeMap::new();
        for count in batch {
            buckets
                .entry(pack_bucket(count.link_id))
                .or_default()
                .push(count);
        }
        let packs: Vec<(i64, Vec<u8>)> = buckets
            .into_iter()
            .map(|(bucket, counts)| (bucket, pack(&counts)))
            .collect();
        append_packs(&file, &packs)
    })
    .await
    .expect("the count writer never panics")
}

/// Folds the count log into the daily totals; returns how many records it folded.
///
/// On a thread of its own that gives way to the request handlers (nice 10): under a uniform
/// load on a million links a fold takes a core for 1-2.5 s each minute, and sharing that
/// core equally with a runtime worker tripled the p99 of the redirects answered meanwhile.
/// At a lower priority the scheduler runs a worker woken by a request first.
pub(super) async fn fold(file: &Path) -> Result<u64> {
    let file = file.to_owned();
    let (done, folded) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("qrlink-fold".to_owned())
        .spawn(move || {
            give_way_to_requests();
            let _ = done.send(fold_packs(&file));
        })?;
    folded.await.expect("the count folder never panics")
}

/// Lowers the calling thread's priority to nice 10 (on Linux a thread's own setting). Failing
/// to is harmless: the fold then competes at the usual priority, as it did before.
fn give_way_to_requests() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(%error, "could not lower the count fold's priority");
    }
}

/// Appends packed counts to SQLite's count log, a row per bucket, in one immediate
/// transaction with the durability every other write has (WAL, `synchronous=FULL`). `seq`
/// only keeps this flush's rows apart from earlier ones: a clash fails the flush, whose counts
/// go back into memory for the next one.
fn append_packs(file: &Path, packs: &[(i64, Vec<u8>)]) -> Result<()> {
    let mut connection = count_writer(file)?;
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let seq: i64 = rand::random::<i64>() & i64::MAX;
        let mut insert = transaction
            .prepare("INSERT INTO count_packs (bucket, seq, data) VALUES (?1, ?2, ?3)")?;
        for (bucket, data) in packs {
            insert.execute(rusqlite::params![bucket, seq, data])?;
        }
    }
    transaction.commit()?;
    Ok(())
}

/// Folds SQLite's packed counts into the daily totals, [`PACK_BUCKETS_PER_FOLD`] buckets per
/// immediate transaction, so an edit waits for one chunk at most. A chunk sums its records per
/// (link, day) and upserts them in key order, so they stay within their links' pages, with one
/// prepared statement: binding the values costs a fraction of what unpacking them from JSON
/// inside SQLite did. Returns how many records it folded.
fn fold_packs(file: &Path) -> Result<u64> {
    let mut connection = count_writer(file)?;
    let upsert = format!(
        "INSERT INTO daily_counts (link_id, day, hits, head_hits, bot_hits) VALUES (?1, ?2, ?3, ?4, ?5) {FOLD_ADD}"
    );
    let mut folded = 0;
    let mut from = i64::MIN;
    loop {
        let transaction =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let first: Option<i64> = transaction.query_row(
            "SELECT MIN(bucket) FROM count_packs WHERE bucket >= ?1",
            [from],
            |row| row.get(0),
        )?;
        let Some(first) = first else {
            return Ok(folded);
        };
        let end = first.saturating_add(PACK_BUCKETS_PER_FOLD);
        let mut totals: BTreeMap<(i64, jiff::civil::Date), Counts> = BTreeMap::new();
        {
            let mut select = transaction
                .prepare("SELECT data FROM count_packs WHERE bucket >= ?1 AND bucket < ?2")?;
            let mut rows = select.query([first, end])?;
            while let Some(row) = rows.next()? {
                let data = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
                for count in unpack(data) {
                    folded += 1;
                    totals
                        .entry((count.link_id.0, count.day))
                        .or_default()
                        .add(count.counts);
                }
            }
            let mut upsert = transaction.prepare(&upsert)?;
            for ((link, day), counts) in totals {
                upsert.execute(rusqlite::params![
                    link,
                    day.to_string(),
                    counts.hits,
                    counts.head_hits,
                    counts.bot_hits
                ])?;
            }
        }
        transaction.execute(
            "DELETE FROM count_packs WHERE bucket >= ?1 AND bucket < ?2",
            [first, end],
        )?;
        transaction.commit()?;
        from = end;
    }
}

/// A connection for the count writers, with the durability every other write has (WAL,
/// `synchronous=FULL`) and the same patience for the write lock. It leaves foreign keys
/// unchecked, as SQLite does by default: links are never deleted, and checking that each
/// folded count's link exists would add a lookup to every upsert.
fn count_writer(file: &Path) -> Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(file)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(connection)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The fold's thread runs at nice 10 or lower in priority (never raised), and only that
    /// thread: the one that spawned it keeps its own priority.
    #[test]
    fn the_fold_thread_gives_way_and_only_it() {
        // Field 19 of /proc/thread-self/stat, counted after the command name's `)`.
        fn nice() -> i32 {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .collect();
            fields[16].parse().unwrap()
        }
        let before = nice();
        let fold_thread = std::thread::spawn(|| {
            super::give_way_to_requests();
            nice()
        });
        let folding = fold_thread.join().unwrap();
        println!("nice: {before} here, {folding} in the fold's thread");
        assert!(
            folding >= 10.max(before),
            "lowered to nice 10, never raised"
        );
        assert_eq!(nice(), before, "the spawning thread is untouched");
    }
}
