//! Criterion benchmarks for R-PERF-3: encode, encode + each writer, and verification.
//! `cargo bench -p qrlink-qr`; `bench/qr.sh` compares with segno on the same URLs.

use criterion::{Criterion, criterion_group, criterion_main};
use qrlink_qr::render::{eps::to_eps, pdf::to_pdf, png::to_png, svg::to_svg};
use qrlink_qr::{EncodeOptions, Look, encode, verify_png};
use std::hint::black_box;

fn urls() -> Vec<String> {
    (0..1000)
        .map(|i| format!("https://example.org/qr/talk-{i:04}"))
        .collect()
}

fn benches(c: &mut Criterion) {
    let urls = urls();
    let options = EncodeOptions::default();
    let look = Look::default();
    let mut i = 0;
    let mut next = || {
        i = (i + 1) % urls.len();
        urls[i].as_str()
    };
    c.bench_function("encode", |b| {
        b.iter(|| encode(black_box(next()), &options).unwrap())
    });
    c.bench_function("encode+svg", |b| {
        b.iter(|| to_svg(&encode(black_box(next()), &options).unwrap(), &look).unwrap())
    });
    c.bench_function("encode+png", |b| {
        b.iter(|| to_png(&encode(black_box(next()), &options).unwrap(), &look).unwrap())
    });
    c.bench_function("encode+pdf", |b| {
        b.iter(|| to_pdf(&encode(black_box(next()), &options).unwrap(), &look).unwrap())
    });
    c.bench_function("encode+eps", |b| {
        b.iter(|| to_eps(&encode(black_box(next()), &options).unwrap(), &look).unwrap())
    });
    let pngs: Vec<(String, Vec<u8>)> = urls
        .iter()
        .take(100)
        .map(|u| {
            (
                u.clone(),
                to_png(&encode(u, &options).unwrap(), &look).unwrap(),
            )
        })
        .collect();
    let mut j = 0;
    c.bench_function("verify (decode a 370 px PNG)", |b| {
        b.iter(|| {
            j = (j + 1) % pngs.len();
            verify_png(black_box(&pngs[j].1), &pngs[j].0, false).unwrap()
        })
    });
}

criterion_group!(qr, benches);
criterion_main!(qr);
