//! Times loading the redirect table from a data directory (R-PERF-4): the database stream
//! alone, then the full load into the compact table, in the same process.
//!
//! `cargo run --release -p qrlink --example table_load -- DATA_DIR`

use std::time::Instant;

use qrlink_core::store::{Store, StoreLocation};
use qrlink_core::table::RedirectTable;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Some(dir) = std::env::args().nth(1) else {
        anyhow::bail!("usage: table_load DATA_DIR");
    };
    let store = Store::open(StoreLocation::SqliteDir(dir.as_ref())).await?;
    for round in 1..=2 {
        let start = Instant::now();
        let mut links = 0usize;
        store.each_route(&mut |_| links += 1).await?;
        let streamed = start.elapsed();
        let start = Instant::now();
        let table = RedirectTable::new();
        table.load(&store).await?;
        let loaded = start.elapsed();
        println!(
            "round {round}: {links} links streamed in {streamed:?}; table loaded in {loaded:?} ({} heap bytes)",
            table.heap_bytes()
        );
    }
    store.close().await;
    Ok(())
}
