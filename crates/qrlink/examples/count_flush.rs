//! Times one count flush on SQLite (R-PERF-1 at a million links: a uniform load flushes a row
//! per link hit each second): `Store::add_counts`, which writes packed counts (a row per bucket
//! of links) through rusqlite, against the same rows inserted into `count_log` as one JSON
//! array per 4,096 (an earlier path), in the same process, each round on emptied tables.
//! Prints microseconds per count.
//!
//! `cargo run --release -p qrlink --example count_flush -- DATA_DIR [ROWS=100000]`

mod common;

use std::time::Instant;

use qrlink_core::counts::{Counts, DailyCount};
use qrlink_core::link::LinkId;
use qrlink_core::store::{Store, StoreLocation};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (dir, rows) = common::data_dir_and_number("count_flush DATA_DIR [ROWS]", 100_000)?;
    let store = Store::open(StoreLocation::SqliteDir(dir.as_ref())).await?;
    let day = jiff::civil::date(2026, 11, 26);
    let batch: Vec<DailyCount> = (0..rows)
        .map(|i| DailyCount {
            link_id: LinkId((i * 7919 % 1_000_000) as i64 + 1),
            day,
            counts: Counts {
                hits: 1,
                head_hits: 0,
                bot_hits: 0,
            },
        })
        .collect();
    let json_rows: Vec<(i64, String, i64, i64, i64)> = batch
        .iter()
        .map(|c| (c.link_id.0, day.to_string(), 1, 0, 0))
        .collect();
    let Store::Sqlite(_) = &store else {
        anyhow::bail!("SQLite only")
    };
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{dir}/qrlink.db")).await?;
    for round in 1..=3 {
        let start = Instant::now();
        store.add_counts(&batch).await?;
        let prepared = start.elapsed();
        sqlx::query("DELETE FROM count_packs")
            .execute(&pool)
            .await?;

        let start = Instant::now();
        let mut tx = pool.begin().await?;
        for chunk in json_rows.chunks(4096) {
            sqlx::query(
                "INSERT INTO count_log (link_id, day, hits, head_hits, bot_hits)
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each($1)",
            )
            .bind(serde_json::to_string(chunk)?)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let json = start.elapsed();
        sqlx::query("DELETE FROM count_log").execute(&pool).await?;
        let per_row = |d: std::time::Duration| d.as_secs_f64() * 1e6 / rows as f64;
        println!(
            "round {round}: {rows} counts: packed {:.2} us/count, JSON array into count_log {:.2} us/count (ratio {:.2})",
            per_row(prepared),
            per_row(json),
            json.as_secs_f64() / prepared.as_secs_f64()
        );
    }
    Ok(())
}
