//! Times qrlink-qr on a file of URLs (one per line), one pass per operation, and prints
//! microseconds per code as `RESULT name us_per_code bytes_of_first`. Used by `bench/qr.sh`,
//! which runs segno on the same file in the same run.

use std::time::Instant;

use qrlink_qr::render::{pdf::to_pdf, png::to_png, svg::to_svg};
use qrlink_qr::{EncodeOptions, Look, encode, verify_png};

fn main() {
    let path = std::env::args().nth(1).expect("usage: qr_timing URLS_FILE");
    let urls: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let options = EncodeOptions::default();
    let look = Look::default();
    let time = |name: &str, f: &dyn Fn(&str) -> usize| {
        let first = f(&urls[0]);
        let start = Instant::now();
        for url in &urls {
            std::hint::black_box(f(url));
        }
        let micros = start.elapsed().as_secs_f64() * 1e6 / urls.len() as f64;
        println!("RESULT {name} {micros:.1} {first}");
    };
    time("encode", &|u| encode(u, &options).unwrap().width());
    time("svg", &|u| {
        to_svg(&encode(u, &options).unwrap(), &look).unwrap().len()
    });
    time("png", &|u| {
        to_png(&encode(u, &options).unwrap(), &look).unwrap().len()
    });
    time("pdf", &|u| {
        to_pdf(&encode(u, &options).unwrap(), &look).unwrap().len()
    });
    // A styled 1000 px PNG with a logo (R-PERF-3: under 15 ms), on the first 200 URLs.
    let logo = std::sync::Arc::new(
        qrlink_qr::Logo::decode(include_bytes!("../tests/fixtures/logo.jpg"), 20).unwrap(),
    );
    let styled_options = EncodeOptions {
        ecc: qrlink_qr::EcLevel::H,
        ..EncodeOptions::default()
    };
    let styled = |u: &str| {
        let symbol = encode(u, &styled_options).unwrap();
        let look = Look {
            scale: (1000 / (symbol.width() + 8)) as u32,
            style: qrlink_qr::Style {
                shape: qrlink_qr::ModuleShape::Rounded,
                finder: qrlink_qr::FinderShape::Rounded,
                fill: qrlink_qr::Fill::Linear(qrlink_qr::Color::parse("dark2", "#00695c").unwrap()),
            },
            logo: Some(logo.clone()),
            ..Look::default()
        };
        to_png(&symbol, &look).unwrap().len()
    };
    let first = styled(&urls[0]);
    let start = Instant::now();
    for url in urls.iter().take(200) {
        std::hint::black_box(styled(url));
    }
    println!(
        "RESULT styled1000 {:.1} {first}",
        start.elapsed().as_secs_f64() * 1e6 / 200.0
    );
    let pngs: Vec<Vec<u8>> = urls
        .iter()
        .map(|u| to_png(&encode(u, &options).unwrap(), &look).unwrap())
        .collect();
    let start = Instant::now();
    for (url, png) in urls.iter().zip(&pngs) {
        verify_png(png, url, false).unwrap();
    }
    println!(
        "RESULT verify {:.1} {}",
        start.elapsed().as_secs_f64() * 1e6 / urls.len() as f64,
        pngs[0].len()
    );
}
