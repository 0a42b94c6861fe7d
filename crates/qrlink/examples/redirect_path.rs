//! The server's own work for one redirect, without sockets or hyper: `public::answer_slug`
//! (the fast path: the clock, the visit's kind, the table's lookup and count, the response
//! and its headers) for uniformly random slugs from a data directory that `bench/redirect.sh`
//! loaded, on one thread. Each request is built in the loop, as hyper builds one per request,
//! and a loop that only builds and drops the requests is timed beside it and subtracted.
//! Comparing two builds of qrlink with this is steadier than over HTTP, where the kernel's
//! share is half a request or more and varies more than this part.
//!
//! `cargo run --release -p qrlink --example redirect_path -- DATA_DIR [ROUNDS]`

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::http::{Request, header};
use clap::Parser;
use qrlink::cli::{Cli, Command};
use qrlink::server::{AppState, PublicSettings, answer_slug};
use qrlink_core::clock::Clock;
use qrlink_core::store::{Store, StoreLocation};

/// The `User-Agent` of each request unless `USER_AGENT` is set (to nothing, for none).
const MOBILE_BROWSER: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
    (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

/// Requests per loop.
const REQUESTS: usize = 1_000_000;
/// Requests between two takes of the counted visits: what both cores answer in the one
/// second between two flushes in `bench/redirect.sh`. The take's time is included.
const PER_FLUSH: usize = 100_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (dir, rounds) = common::data_dir_and_number("redirect_path DATA_DIR [ROUNDS]", 5)?;
    let cli = Cli::parse_from(["qrlink", "--data-dir", &dir, "serve"]);
    let Command::Serve(serve) = &cli.command else {
        unreachable!("parsed as serve")
    };
    let instance = qrlink::instance::Instance::from_args(&cli.instance)?;
    let store = Store::open(StoreLocation::SqliteDir(dir.as_ref())).await?;
    let settings = PublicSettings::from_args(serve, instance)?;
    let state = Arc::new(AppState::new(store, Clock::system(), settings));
    state.table.load(&state.store).await?;
    let paths: Vec<String> = std::fs::read_to_string(format!("{dir}/slugs.txt"))?
        .lines()
        .map(|slug| format!("/{slug}"))
        .collect();
    let seed = 0x9e37_79b9_7f4a_7c15_u64;
    println!("{} links, seed {seed:#x}", paths.len());

    // What a phone's browser sends after scanning a code.
    let user_agent = std::env::var("USER_AGENT").unwrap_or_else(|_| MOBILE_BROWSER.to_owned());
    let request = |path: &str| {
        Request::get(path)
            .header(header::HOST, "127.0.0.1:18080")
            .header(header::USER_AGENT, &user_agent)
            .body(())
            .expect("a valid request")
    };
    // Every loop asks for the same xorshift sequence of slugs.
    let run = |answer: bool| {
        let mut numbers = common::XorShift(seed);
        let start = Instant::now();
        for done in 1..=REQUESTS {
            if answer && done % PER_FLUSH == 0 {
                black_box(state.table.take_visits(state.clock.now()));
                black_box(state.counter.drain());
            }
            let request = request(&paths[numbers.below(paths.len() as u64) as usize]);
            if answer {
                let response = answer_slug(&state, &request, std::net::Ipv4Addr::LOCALHOST.into());
                assert!(
                    response
                        .as_ref()
                        .is_some_and(|r| r.status().is_redirection()),
                    "every slug redirects"
                );
                black_box(response);
            }
            black_box(request);
        }
        start.elapsed().as_nanos() as f64 / REQUESTS as f64
    };
    let mut answers = Vec::new();
    for round in 1..=rounds {
        let building = run(false);
        let answering = run(true);
        let answer = answering - building;
        answers.push(answer);
        println!(
            "round {round}: answer_slug {answer:.0} ns a request \
             ({answering:.0} with building the request, {building:.0} building it alone)"
        );
    }
    answers.sort_by(f64::total_cmp);
    println!(
        "answer_slug, median of {rounds} rounds: {:.0} ns",
        answers[rounds / 2]
    );
    Ok(())
}
