//! Fills a data directory with N links for benchmarks, through the same `Store` the server
//! uses, and writes their slugs, one per line, to standard output.
//!
//! `cargo run --release -p qrlink --example load_links -- DATA_DIR COUNT > slugs.txt`

use qrlink_core::base_url::BaseUrl;
use qrlink_core::clock::Clock;
use qrlink_core::link::{Actor, Interface, NewLink};
use qrlink_core::slug::Slug;
use qrlink_core::store::{Store, StoreLocation};
use qrlink_core::target::{TargetPolicy, TargetUrl};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(count)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: load_links DATA_DIR COUNT");
    };
    let count: usize = count.parse()?;
    let store = Store::open(StoreLocation::SqliteDir(dir.as_ref())).await?;
    let policy = TargetPolicy {
        base: BaseUrl::parse("http://127.0.0.1:8080")?,
        allow_private: false,
    };
    let actor = Actor::new("bench", Interface::Cli);
    let clock = Clock::system();
    // Batches of 10,000 links per transaction: the bulk path, as an import takes it.
    let mut slugs = std::collections::HashSet::with_capacity(count);
    let mut batch = Vec::with_capacity(10_000);
    let mut rng = rand::rng();
    for i in 0..count {
        let target = TargetUrl::parse(
            &format!("https://example.org/talks/{i}?utm_source=qr"),
            &policy,
        )?;
        let slug = loop {
            let slug = Slug::generate(&mut rng);
            if slugs.insert(slug.clone()) {
                break slug;
            }
        };
        println!("{slug}");
        batch.push(NewLink::new(Some(slug), target));
        if batch.len() == 10_000 || i + 1 == count {
            store.create_links(&batch, &actor, clock.now()).await?;
            batch.clear();
        }
    }
    store.close().await;
    Ok(())
}
