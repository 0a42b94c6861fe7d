//! The redirect table's share of a redirect, without HTTP: uniformly random slugs from a data
//! directory that `bench/redirect.sh` loaded, looked up and counted the way the server does
//! (`RedirectTable::visit`), beside a lookup counted in the `HitCounter` map instead
//! (`resolve` + `HitCounter::record`), on one thread and on two at once, alternately in the
//! same process. Prints nanoseconds a request and the ratio of the two.
//!
//! `cargo run --release -p qrlink --example table_visit -- DATA_DIR [ROUNDS]`

mod common;

use std::hint::black_box;
use std::time::Instant;

use qrlink_core::clock::Clock;
use qrlink_core::counts::{HitCounter, HitKind};
use qrlink_core::store::{Store, StoreLocation};
use qrlink_core::table::RedirectTable;

/// Lookups per thread and round.
const LOOKUPS: usize = 2_000_000;
/// Lookups between two flushes, all threads together: about what one second brings the
/// server in `bench/redirect.sh`, so the map grows as large as it does there and the cells
/// are scanned as often.
const PER_FLUSH: usize = 80_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (dir, rounds) = common::data_dir_and_number("table_visit DATA_DIR [ROUNDS]", 5)?;
    let store = Store::open(StoreLocation::SqliteDir(dir.as_ref())).await?;
    let table = RedirectTable::new();
    table.load(&store).await?;
    store.close().await;
    let slugs: Vec<String> = std::fs::read_to_string(format!("{dir}/slugs.txt"))?
        .lines()
        .map(str::to_owned)
        .collect();
    let seed = 0x9e37_79b9_7f4a_7c15_u64;
    println!("{} links, seed {seed:#x}", slugs.len());
    let clock = Clock::system();
    let counter = HitCounter::new();
    let now = clock.now();

    // The slugs each thread asks for, in order (a xorshift sequence, the same every run),
    // back to back in one string: read in order, as a server reads each from its request
    // buffer, so that the only cache misses are the table's.
    let order = |thread: u64| {
        let mut numbers = common::XorShift(seed ^ (thread + 1).wrapping_mul(0xff51_afd7_ed55_8ccd));
        let mut text = String::new();
        let mut ends = Vec::with_capacity(LOOKUPS);
        for _ in 0..LOOKUPS {
            text.push_str(&slugs[numbers.below(slugs.len() as u64) as usize]);
            ends.push(text.len());
        }
        Requests { text, ends }
    };
    let orders = [order(0), order(1)];

    // Each flush's work is timed too: it is CPU the server spends per request.
    // The first thread flushes; each thread makes its share of a flush interval's requests.
    let in_cells = |requests: &Requests, share: usize, flushes: bool| {
        for chunk in requests.chunks(share) {
            for slug in chunk {
                black_box(table.visit(slug, None, now, || HitKind::Hit, &counter));
            }
            if flushes {
                black_box(table.take_visits(now));
                black_box(counter.drain());
            }
        }
    };
    let in_map = |requests: &Requests, share: usize, flushes: bool| {
        for chunk in requests.chunks(share) {
            for slug in chunk {
                let answer = table.resolve(slug, None, now);
                if let qrlink_core::table::Resolution::Redirect { link_id, .. } = &answer {
                    counter.record(*link_id, now, HitKind::Hit);
                }
                black_box(answer);
            }
            if flushes {
                black_box(counter.drain());
            }
        }
    };
    let time = |threads: usize, run: &(dyn Fn(&Requests, usize, bool) + Sync)| {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for (thread, requests) in orders[..threads].iter().enumerate() {
                scope.spawn(move || run(requests, PER_FLUSH / threads, thread == 0));
            }
        });
        // Nanoseconds per lookup per thread.
        start.elapsed().as_nanos() as f64 / LOOKUPS as f64
    };
    for threads in [1, 2] {
        let mut ratios = Vec::new();
        for round in 1..=rounds {
            let map = time(threads, &in_map);
            let cells = time(threads, &in_cells);
            ratios.push(cells / map);
            println!(
                "{threads} thread(s), round {round}: counted in the map {map:.0} ns, in the table's cells {cells:.0} ns"
            );
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "{threads} thread(s): cells / map, median of {rounds} rounds: {:.3}",
            ratios[rounds / 2]
        );
    }
    Ok(())
}

/// One thread's requested slugs, back to back.
struct Requests {
    text: String,
    ends: Vec<usize>,
}

impl Requests {
    /// The slugs, `size` at a time.
    fn chunks(&self, size: usize) -> impl Iterator<Item = impl Iterator<Item = &str>> {
        self.ends.chunks(size).enumerate().map(move |(i, ends)| {
            let mut start = if i == 0 { 0 } else { self.ends[i * size - 1] };
            ends.iter().map(move |&end| {
                let slug = &self.text[start..end];
                start = end;
                slug
            })
        })
    }
}
