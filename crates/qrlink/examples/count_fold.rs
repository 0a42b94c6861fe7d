//! Times the SQLite count fold (`Store::fold_counts`) after a minute of flushes under a
//! uniform load on a million links, the server's worst case: 60 flushes of 40,000 counts each,
//! link ids drawn at random (seeded), in a copy of the database of a data directory that
//! `bench/redirect.sh` loaded with a million links (counts need their links). The first round
//! folds into a day without totals, the next ones into existing rows. Prints the fold's time
//! per record read and per (link, day) row.
//!
//! `cargo run --release -p qrlink --example count_fold -- DATA_DIR [ROUNDS=3]`

mod common;

use std::time::Instant;

use qrlink_core::counts::{Counts, DailyCount};
use qrlink_core::link::LinkId;
use qrlink_core::store::{Store, StoreLocation};

const LINKS: u64 = 1_000_000;
const FLUSHES: usize = 60;
const PER_FLUSH: usize = 40_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (data, rounds) = common::data_dir_and_number("count_fold DATA_DIR [ROUNDS]", 3)?;
    let dir = tempfile::tempdir()?;
    std::fs::copy(format!("{data}/qrlink.db"), dir.path().join("qrlink.db"))?;
    let store = Store::open(StoreLocation::SqliteDir(dir.path())).await?;
    // A day no benchmark counted.
    let day = jiff::civil::date(2001, 2, 3);
    let seed = 0x2545_f491_4f6c_dd1d_u64;
    println!("seed {seed:#x}");
    let mut numbers = common::XorShift(seed);
    for round in 1..=rounds {
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..FLUSHES {
            let batch: Vec<DailyCount> = (0..PER_FLUSH)
                .map(|_| {
                    let link_id = LinkId(numbers.below(LINKS) as i64 + 1);
                    distinct.insert(link_id);
                    DailyCount {
                        link_id,
                        day,
                        counts: Counts {
                            hits: 1,
                            ..Counts::default()
                        },
                    }
                })
                .collect();
            store.add_counts(&batch).await?;
        }
        let start = Instant::now();
        let records = store.fold_counts().await?;
        let took = start.elapsed();
        println!(
            "round {round}: folded {records} records into {} rows in {took:.2?}: {:.2} us a record, {:.2} us a row",
            distinct.len(),
            took.as_secs_f64() * 1e6 / records as f64,
            took.as_secs_f64() * 1e6 / distinct.len() as f64,
        );
    }
    store.close().await;
    Ok(())
}
