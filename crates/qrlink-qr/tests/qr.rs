//! qrlink-qr's integration tests: codes decode back, matrices match an independent encoder,
//! writers draw exactly the modules, and bad options are refused with reasons.

use qrlink_qr::{
    Color, EcLevel, EncodeOptions, Error, Format, Look, Symbol, Version, encode, render_verified,
    verify_png,
};
use rand::{Rng, SeedableRng};

const SAMPLE: &str = "https://example.org/qr/talk-0001";

fn options(ecc: EcLevel) -> EncodeOptions {
    EncodeOptions {
        ecc,
        ..EncodeOptions::default()
    }
}

#[test]
fn the_sample_link_is_small_in_every_format() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    assert_eq!(symbol.version(), Version::Normal(3));
    let svg = render_verified(&symbol, Format::Svg, &Look::default()).unwrap();
    let png = render_verified(&symbol, Format::Png, &Look::default()).unwrap();
    eprintln!(
        "sample {SAMPLE}: version {}, SVG {} bytes (segno 1592), PNG {} bytes (segno 495)",
        symbol.version(),
        svg.len(),
        png.len()
    );
    assert!(svg.len() < 1592, "SVG is {} bytes", svg.len());
    let upper = encode(
        &qrlink_qr::payload::uppercase_link(SAMPLE).unwrap(),
        &EncodeOptions::default(),
    )
    .unwrap();
    assert_eq!(
        upper.version(),
        Version::Normal(2),
        "uppercase link payloads save a version"
    );
}

/// A random generator seeded from QRLINK_TEST_SEED or at random, with the seed printed so a
/// failure can be repeated.
fn seeded_rng(test: &str) -> (u64, rand::rngs::StdRng) {
    let seed: u64 = std::env::var("QRLINK_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: seed {seed} (set QRLINK_TEST_SEED to repeat)");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

/// A randomised round trip through PNG for every level and many payload shapes.
#[test]
fn random_payloads_decode_back_exactly_from_png() {
    let (seed, mut rng) = seeded_rng("random_payloads_decode_back_exactly_from_png");
    let alphabets: [&[char]; 4] = [
        &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        &[
            'A', 'B', 'Z', '0', '9', ' ', '$', '%', '*', '+', '-', '.', '/', ':',
        ],
        &['a', 'z', 'Q', '~', '&', '?', '=', '#', '\u{e9}', '\u{df}'],
        &['a', '\u{20ac}', '\u{4e2d}', '\u{1f600}', '\u{3042}', ' '],
    ];
    for case in 0..48 {
        let alphabet = alphabets[case % alphabets.len()];
        let len = rng.random_range(1..=if case % 3 == 0 { 300 } else { 40 });
        let payload: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let ecc = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H][case % 4];
        let symbol = encode(&payload, &options(ecc)).unwrap();
        let look = Look {
            scale: 4,
            ..Look::default()
        };
        render_verified(&symbol, Format::Png, &look)
            .unwrap_or_else(|e| panic!("seed {seed} case {case} {payload:?}: {e}"));
    }
}

#[test]
fn micro_qr_is_made_where_the_data_fits_and_decodes() {
    for (payload, ecc) in [
        ("12345", EcLevel::L),
        ("HELLO", EcLevel::M),
        ("qrlink", EcLevel::L),
        ("0123456789012345", EcLevel::Q),
    ] {
        let symbol = encode(
            payload,
            &EncodeOptions {
                micro: true,
                ..options(ecc)
            },
        )
        .unwrap();
        assert!(symbol.is_micro(), "{payload}");
        render_verified(
            &symbol,
            Format::Png,
            &Look {
                scale: 8,
                ..Look::default()
            },
        )
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
    }
    let long = encode(
        SAMPLE,
        &EncodeOptions {
            micro: true,
            ..EncodeOptions::default()
        },
    );
    assert!(
        matches!(long, Err(Error::DataTooLong(ref m)) if m.contains("Micro QR")),
        "{long:?}"
    );
    let high = encode(
        "1",
        &EncodeOptions {
            micro: true,
            ..options(EcLevel::H)
        },
    );
    assert!(matches!(
        high,
        Err(Error::InvalidOption { field: "ecc", .. })
    ));
}

/// With version, level and mask forced, the matrix is the one Nayuki's encoder makes.
#[test]
fn forced_matrices_are_bit_identical_to_qrcodegen_for_every_version_and_mask() {
    use qrcodegen::{Mask as NMask, QrCode, QrCodeEcc, QrSegment, Version as NVersion};
    // One payload per mode, each short enough for version 1 at level H, so that both encoders
    // must choose the same single segment.
    let payloads = ["01234567", "HELLO 2026", "qrlink!"];
    for version in 1..=40u8 {
        for mask in 0..8u8 {
            let payload = payloads[(version as usize + mask as usize) % payloads.len()];
            let ecc = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H][(version as usize) % 4];
            let ours = encode(
                payload,
                &EncodeOptions {
                    ecc,
                    boost: false,
                    version: Some(version),
                    mask: Some(mask),
                    ..EncodeOptions::default()
                },
            )
            .unwrap();
            let nayuki_ecc = match ecc {
                EcLevel::L => QrCodeEcc::Low,
                EcLevel::M => QrCodeEcc::Medium,
                EcLevel::Q => QrCodeEcc::Quartile,
                EcLevel::H => QrCodeEcc::High,
            };
            let segments = QrSegment::make_segments(payload);
            let theirs = QrCode::encode_segments_advanced(
                &segments,
                nayuki_ecc,
                NVersion::new(version),
                NVersion::new(version),
                Some(NMask::new(mask)),
                false,
            )
            .unwrap();
            assert_eq!(ours.width() as i32, theirs.size());
            for y in 0..ours.width() {
                for x in 0..ours.width() {
                    assert_eq!(
                        ours.is_dark(x, y),
                        theirs.get_module(x as i32, y as i32),
                        "version {version} mask {mask} at ({x},{y})"
                    );
                }
            }
        }
    }
}

/// Reads our own SVG path back into modules: every stroke must cover exactly the dark ones.
/// Strokes run along rows (`h`, at y + 0.5) or along columns (`v`, at x + 0.5).
fn modules_from_svg(svg: &str, side: usize) -> Vec<bool> {
    let d = svg
        .split("stroke=")
        .nth(1)
        .unwrap()
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut grid = vec![false; side * side];
    let (mut x, mut y) = (0f64, 0f64);
    let mut chars = d.chars().peekable();
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| -> f64 {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let mut text = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' || (c == '-' && text.is_empty()) {
                text.push(c);
                chars.next();
            } else {
                break;
            }
        }
        text.parse().unwrap()
    };
    while let Some(command) = chars.next() {
        match command {
            'M' => {
                x = number(&mut chars);
                y = number(&mut chars);
            }
            'm' => {
                x += number(&mut chars);
                y += number(&mut chars);
            }
            'h' => {
                let len = number(&mut chars);
                for px in x as usize..(x + len) as usize {
                    grid[(y - 0.5) as usize * side + px] = true;
                }
                x += len;
            }
            'v' => {
                let len = number(&mut chars);
                for py in y as usize..(y + len) as usize {
                    grid[py * side + (x - 0.5) as usize] = true;
                }
                y += len;
            }
            other => panic!("unexpected path command {other:?}"),
        }
    }
    grid
}

#[test]
fn the_svg_path_draws_exactly_the_dark_modules_and_is_deterministic() {
    for (payload, border) in [(SAMPLE, None), ("A", Some(0)), ("1234567890", Some(7))] {
        let symbol = encode(payload, &EncodeOptions::default()).unwrap();
        let look = Look {
            border,
            ..Look::default()
        };
        let svg = String::from_utf8(render_verified(&symbol, Format::Svg, &look).unwrap()).unwrap();
        assert_eq!(
            svg.as_bytes(),
            render_verified(&symbol, Format::Svg, &look).unwrap(),
            "deterministic"
        );
        let border = border.unwrap_or(4);
        let side = symbol.width() + 2 * border;
        let grid = modules_from_svg(&svg, side);
        for y in 0..side {
            for x in 0..side {
                let expected = x >= border && y >= border && symbol.is_dark(x - border, y - border);
                assert_eq!(grid[y * side + x], expected, "{payload} ({x},{y})");
            }
        }
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
    }
}

#[test]
fn text_and_terminal_forms_include_the_quiet_zone() {
    let symbol = encode("qrlink", &EncodeOptions::default()).unwrap();
    let text = String::from_utf8(render_verified(&symbol, Format::Text, &Look::default()).unwrap())
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let side = symbol.width() + 8;
    assert_eq!(lines.len(), side);
    assert!(
        lines
            .iter()
            .all(|l| l.len() == side && l.bytes().all(|b| b == b'0' || b == b'1'))
    );
    assert!(lines[..4].iter().all(|l| !l.contains('1')) && lines[4].starts_with("00001111111"));
    let terminal =
        String::from_utf8(render_verified(&symbol, Format::Terminal, &Look::default()).unwrap())
            .unwrap();
    assert_eq!(terminal.lines().count(), side.div_ceil(2));
}

#[test]
fn colours_and_transparency_survive_and_still_scan() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    for (dark, light) in [
        ("#1a237e", "#fffde7"),
        ("#000", "transparent"),
        ("#222222", "#ffffffcc"),
    ] {
        let look = Look {
            dark: Color::parse("dark", dark).unwrap(),
            light: Color::parse("light", light).unwrap(),
            ..Look::default()
        };
        let png = render_verified(&symbol, Format::Png, &look)
            .unwrap_or_else(|e| panic!("{dark} on {light}: {e}"));
        verify_png(&png, SAMPLE, false).unwrap();
    }
}

#[test]
fn styles_that_would_not_scan_are_refused_with_the_reason() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let look = |dark: &str, light: &str| Look {
        dark: Color::parse("dark", dark).unwrap(),
        light: Color::parse("light", light).unwrap(),
        ..Look::default()
    };
    let refusals = [
        (look("#777777", "#777777"), "contrast"),
        (look("#999999", "#ffffff"), "contrast"),
        (look("#ffffff", "#000000"), "inverted"),
        (look("#000", "#fff").with_scale(0), "positive"),
        (look("#000", "#fff").with_scale(10_000), "too_large"),
    ];
    for (look, rule) in refusals {
        match render_verified(&symbol, Format::Png, &look) {
            Err(Error::InvalidOption {
                rule: got, message, ..
            }) => assert_eq!(got, rule, "{message}"),
            other => panic!("{rule}: {other:?}"),
        }
    }
    let too_long = encode(
        &"x".repeat(200),
        &EncodeOptions {
            version: Some(2),
            ..EncodeOptions::default()
        },
    );
    assert!(
        matches!(too_long, Err(Error::DataTooLong(ref m)) if m.contains("version 2")),
        "{too_long:?}"
    );
    assert!(matches!(
        encode("", &EncodeOptions::default()),
        Err(Error::InvalidOption {
            field: "payload",
            ..
        })
    ));
    assert!(matches!(
        encode(
            "x",
            &EncodeOptions {
                version: Some(41),
                ..EncodeOptions::default()
            }
        ),
        Err(Error::InvalidOption {
            field: "version",
            ..
        })
    ));
    assert!(matches!(
        encode(
            "x",
            &EncodeOptions {
                mask: Some(8),
                ..EncodeOptions::default()
            }
        ),
        Err(Error::InvalidOption { field: "mask", .. })
    ));
}

trait WithScale {
    fn with_scale(self, scale: u32) -> Self;
}

impl WithScale for Look {
    fn with_scale(self, scale: u32) -> Self {
        Look { scale, ..self }
    }
}

#[test]
fn a_corrupted_image_is_caught_by_the_decoder() {
    let symbol: Symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let png = render_verified(&symbol, Format::Png, &Look::default()).unwrap();
    assert!(
        verify_png(&png, "https://example.org/other", false).is_err(),
        "a different payload is not accepted"
    );
    let blank = qrlink_qr::render::png::to_png(
        &encode("x", &EncodeOptions::default()).unwrap(),
        &Look::default(),
    )
    .unwrap();
    assert!(matches!(
        verify_png(&blank, SAMPLE, false),
        Err(Error::Unreadable(_))
    ));
}

#[test]
fn every_payload_helper_scans_back_exactly() {
    use qrlink_qr::payload::{self, Contact, Transfer, WifiSecurity};
    let contact = Contact {
        name: "Doe, Jane".into(),
        organisation: "PyCon DE".into(),
        phone: "+49 30 1234567".into(),
        email: "jane@example.org".into(),
        url: "https://example.org".into(),
        address: "Alexanderplatz 1, Berlin".into(),
        note: "Speaker\nTrack 2".into(),
    };
    let payloads = [
        payload::wifi(
            "Caf\u{e9} Guest;2",
            Some("s3cret:pass"),
            WifiSecurity::Wpa,
            false,
        )
        .unwrap(),
        payload::vcard(&contact).unwrap(),
        payload::mecard(&contact).unwrap(),
        payload::geo(52.520008, 13.404954).unwrap(),
        payload::email("jane@example.org", Some("Grüße"), Some("Hallo & tschüss")).unwrap(),
        payload::sms("+49 30 1234567", Some("Ja")).unwrap(),
        payload::tel("+49 30 1234567").unwrap(),
        payload::epc(&Transfer {
            name: "Förderverein".into(),
            iban: "DE89370400440532013000".into(),
            amount_cents: Some(500),
            text: "Spende".into(),
            ..Transfer::default()
        })
        .unwrap(),
    ];
    for text in payloads {
        let symbol = encode(&text, &EncodeOptions::default()).unwrap();
        render_verified(
            &symbol,
            Format::Png,
            &Look {
                scale: 4,
                ..Look::default()
            },
        )
        .unwrap_or_else(|e| panic!("{text:?}: {e}"));
    }
}

/// Rasterises real PDF or EPS bytes with an external tool into a PNG, or `None` (after a loud
/// notice) when the tool is not installed. CI sets QRLINK_REQUIRE_PRINT_TOOLS=1 to make the
/// absence a failure.
fn rasterise(tool: &str, args: &[&str], input: &[u8], extension: &str) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!(
        "qrlink-raster-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join(format!("code.{extension}"));
    std::fs::write(&source, input).unwrap();
    let output = dir.join("page.png");
    let mut command = std::process::Command::new(tool);
    for arg in args {
        command.arg(
            arg.replace("{in}", source.to_str().unwrap())
                .replace("{out}", output.to_str().unwrap())
                .replace("{outbase}", dir.join("page").to_str().unwrap()),
        );
    }
    let status = match command.status() {
        Ok(status) => status,
        Err(_) => {
            assert!(
                std::env::var("QRLINK_REQUIRE_PRINT_TOOLS").map_or(true, |v| v != "1"),
                "QRLINK_REQUIRE_PRINT_TOOLS=1 but `{tool}` is not installed"
            );
            eprintln!(
                "\n!!! SKIPPED: `{tool}` is not installed (Debian: poppler-utils, ghostscript) !!!\n"
            );
            return None;
        }
    };
    assert!(status.success(), "{tool} failed on {extension}");
    let png = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(png)
}

/// A PDF page as PNG, drawn by poppler at 150 dpi.
fn rasterise_pdf(pdf: &[u8]) -> Option<Vec<u8>> {
    rasterise(
        "pdftoppm",
        &["-png", "-r", "150", "-singlefile", "{in}", "{outbase}"],
        pdf,
        "pdf",
    )
}

/// An EPS as PNG, drawn by Ghostscript at 150 dpi.
fn rasterise_eps(eps: &[u8]) -> Option<Vec<u8>> {
    let args = [
        "-q",
        "-dSAFER",
        "-dBATCH",
        "-dNOPAUSE",
        "-dEPSCrop",
        "-sDEVICE=png16m",
        "-r150",
        "-sOutputFile={out}",
        "{in}",
    ];
    rasterise("gs", &args, eps, "eps")
}

#[test]
fn real_pdf_and_eps_bytes_rasterise_and_decode() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let look = Look {
        dark: Color::parse("dark", "#1a237e").unwrap(),
        ..Look::default()
    };
    let pdf = render_verified(&symbol, Format::Pdf, &look).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let eps = render_verified(&symbol, Format::Eps, &look).unwrap();
    assert!(eps.starts_with(b"%!PS-Adobe-3.0 EPSF-3.0"));
    // 1 mm per module: 37 modules are 104.88 pt.
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/MediaBox [0 0 104.88"), "{text}");
    if let Some(png) = rasterise_pdf(&pdf) {
        verify_png(&png, SAMPLE, false).unwrap();
    }
    if let Some(png) = rasterise_eps(&eps) {
        verify_png(&png, SAMPLE, false).unwrap();
    }
    let translucent = Look {
        dark: Color::parse("dark", "#00000080").unwrap(),
        ..Look::default()
    };
    assert!(matches!(
        render_verified(&symbol, Format::Pdf, &translucent),
        Err(Error::InvalidOption { rule: "opaque", .. })
    ));
}

#[test]
fn svg_bytes_are_rasterised_and_a_damaged_svg_is_caught() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let look = Look {
        dark: Color::parse("dark", "#1a237e").unwrap(),
        light: Color::TRANSPARENT,
        ..Look::default()
    };
    let svg = render_verified(&symbol, Format::Svg, &look).unwrap();
    qrlink_qr::verify_svg(&svg, SAMPLE, false).unwrap();
    // Cut the path after a quarter of its runs: the finder patterns at the bottom go missing.
    let text = String::from_utf8(svg).unwrap();
    let d_start = text.find(" d=\"M4").unwrap() + 4;
    let damaged = format!(
        "{}\"/></svg>",
        &text[..d_start + (text.len() - d_start) / 4]
    );
    assert!(matches!(
        qrlink_qr::verify_svg(damaged.as_bytes(), SAMPLE, false),
        Err(Error::Unreadable(_))
    ));
    assert!(matches!(
        qrlink_qr::verify_svg(b"<svg", SAMPLE, false),
        Err(Error::Unreadable(_))
    ));
}

#[test]
fn every_style_decodes_in_svg_and_png() {
    use qrlink_qr::{Fill, FinderShape, ModuleShape, Style};
    let shapes = [
        ModuleShape::Square,
        ModuleShape::Rounded,
        ModuleShape::Dot,
        ModuleShape::Gapped,
        ModuleShape::HorizontalBars,
        ModuleShape::VerticalBars,
    ];
    let navy = Color::parse("dark", "#1a237e").unwrap();
    let teal = Color::parse("dark2", "#00695c").unwrap();
    let fills = [Fill::Solid, Fill::Linear(teal), Fill::Radial(teal)];
    for payload in [SAMPLE, "HTTPS://GO.EXAMPLE.ORG/PYCON-TALK"] {
        let symbol = encode(payload, &EncodeOptions::default()).unwrap();
        for shape in shapes {
            for finder in [FinderShape::Square, FinderShape::Rounded, FinderShape::Dot] {
                for fill in fills {
                    let look = Look {
                        dark: navy,
                        style: Style {
                            shape,
                            finder,
                            fill,
                        },
                        scale: 6,
                        ..Look::default()
                    };
                    for format in [Format::Svg, Format::Png] {
                        render_verified(&symbol, format, &look).unwrap_or_else(|e| {
                            panic!("{payload} {shape:?} {finder:?} {fill:?} {format:?}: {e}")
                        });
                    }
                }
            }
        }
    }
    let micro = encode(
        "12345",
        &EncodeOptions {
            micro: true,
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    // Micro QR has one finder pattern, so decoders lean on it more; some styles do not scan,
    // and render_verified refuses those. Report which do, and require the common ones.
    let mut readable = Vec::new();
    for shape in shapes {
        for finder in [FinderShape::Square, FinderShape::Rounded, FinderShape::Dot] {
            let look = Look {
                style: Style {
                    shape,
                    finder,
                    fill: Fill::Solid,
                },
                ..Look::default()
            };
            readable.push((
                shape,
                finder,
                render_verified(&micro, Format::Png, &look).is_ok(),
            ));
        }
    }
    eprintln!("Micro QR styles that decode: {readable:?}");
    assert!(
        readable
            .iter()
            .any(|(shape, finder, ok)| *shape == ModuleShape::Rounded
                && *finder == FinderShape::Square
                && *ok),
        "{readable:?}"
    );
}

#[test]
fn a_gradient_that_fades_into_the_background_is_refused() {
    use qrlink_qr::{Fill, Style};
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let look = Look {
        style: Style {
            fill: Fill::Linear(Color::parse("dark2", "#eeeeee").unwrap()),
            ..Style::default()
        },
        ..Look::default()
    };
    assert!(matches!(
        render_verified(&symbol, Format::Png, &look),
        Err(Error::InvalidOption {
            rule: "contrast",
            ..
        })
    ));
}

/// A 64x64 PNG logo: a red disc on transparency, with a text chunk that must not survive.
fn png_logo() -> Vec<u8> {
    let mut rgba = Vec::with_capacity(64 * 64 * 4);
    for y in 0..64i32 {
        for x in 0..64i32 {
            let inside = (x - 32).pow(2) + (y - 32).pow(2) < 30 * 30;
            rgba.extend_from_slice(if inside {
                &[200, 30, 30, 255]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 64, 64);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .add_text_chunk("Comment".into(), "tracking-id-1234".into())
        .unwrap();
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&rgba).unwrap();
    writer.finish().unwrap();
    bytes
}

#[test]
fn a_logo_is_re_encoded_embedded_and_the_code_still_scans() {
    use qrlink_qr::{EcLevel, Logo};
    use std::sync::Arc;
    let symbol = encode(SAMPLE, &options(EcLevel::H)).unwrap();
    let source = png_logo();
    assert!(source.windows(16).any(|w| w == b"tracking-id-1234"));
    let logo = Arc::new(Logo::decode(&source, 20).unwrap());
    assert!(
        !logo.png().windows(16).any(|w| w == b"tracking-id-1234"),
        "metadata does not survive re-encoding"
    );
    let look = Look {
        logo: Some(logo.clone()),
        ..Look::default()
    };
    let svg = String::from_utf8(render_verified(&symbol, Format::Svg, &look).unwrap()).unwrap();
    assert!(
        svg.contains("<image ") && svg.contains("href=\"data:image/png;base64,"),
        "{}",
        &svg[..200]
    );
    render_verified(&symbol, Format::Png, &look).unwrap();
    let styled = Look {
        style: qrlink_qr::Style {
            shape: qrlink_qr::ModuleShape::Dot,
            ..Default::default()
        },
        ..look.clone()
    };
    render_verified(&symbol, Format::Png, &styled).unwrap();

    let jpeg = Arc::new(Logo::decode(include_bytes!("fixtures/logo.jpg"), 18).unwrap());
    assert_eq!(jpeg.dimensions(), (48, 48));
    render_verified(
        &symbol,
        Format::Png,
        &Look {
            logo: Some(jpeg),
            ..Look::default()
        },
    )
    .unwrap();
}

#[test]
fn logos_that_hide_too_much_or_are_not_images_are_refused() {
    use qrlink_qr::{EcLevel, Logo};
    use std::sync::Arc;
    let logo = Arc::new(Logo::decode(&png_logo(), 30).unwrap());
    let low = encode(
        SAMPLE,
        &EncodeOptions {
            boost: false,
            ..options(EcLevel::L)
        },
    )
    .unwrap();
    let refused = render_verified(
        &low,
        Format::Png,
        &Look {
            logo: Some(logo.clone()),
            ..Look::default()
        },
    );
    assert!(
        matches!(
            refused,
            Err(Error::InvalidOption {
                rule: "coverage",
                ..
            })
        ),
        "{refused:?}"
    );
    let rule = |r: Result<Logo, Error>| match r {
        Err(Error::InvalidOption { rule, .. }) => rule,
        other => panic!("{other:?}"),
    };
    assert_eq!(rule(Logo::decode(b"GIF89a....", 20)), "type");
    assert_eq!(rule(Logo::decode(b"<svg onload=alert(1)>", 20)), "type");
    assert_eq!(
        rule(Logo::decode(&vec![0u8; 2 * 1024 * 1024], 20)),
        "too_large"
    );
    assert_eq!(rule(Logo::decode(&png_logo()[..60], 20)), "unreadable");
    assert_eq!(rule(Logo::decode(&png_logo(), 80)), "range");
}

#[test]
fn a_caption_is_drawn_below_the_quiet_zone_and_the_code_still_scans() {
    let symbol = encode(SAMPLE, &EncodeOptions::default()).unwrap();
    let look = Look {
        caption: Some("example.org/qr/talk-0001".into()),
        ..Look::default()
    };
    let svg = String::from_utf8(render_verified(&symbol, Format::Svg, &look).unwrap()).unwrap();
    assert!(
        svg.contains("viewBox=\"0 0 37 41\""),
        "a 4-module band below: {}",
        &svg[..120]
    );
    let png = render_verified(&symbol, Format::Png, &look).unwrap();
    let (_, width, height) = qrlink_qr::png_to_luma(&png).unwrap();
    assert_eq!((width, height), (370, 410));
    let rule = |caption: &str| match render_verified(
        &symbol,
        Format::Png,
        &Look {
            caption: Some(caption.into()),
            ..Look::default()
        },
    ) {
        Err(Error::InvalidOption {
            field: "caption",
            rule,
            ..
        }) => rule,
        other => panic!("{caption:?}: {other:?}"),
    };
    assert_eq!(rule(&"x".repeat(81)), "too_long");
    assert_eq!(rule("line\nbreak"), "control_character");
    assert_eq!(rule("\u{4e2d}\u{6587}"), "glyph");
    assert_eq!(rule("   "), "required");
}

/// Styles, gradients, logos and captions are vector drawings in PDF and EPS too: the real bytes
/// are rasterised by poppler and Ghostscript and decoded.
#[test]
fn styled_pdf_and_eps_rasterise_and_decode() {
    use qrlink_qr::{EcLevel, Fill, FinderShape, Logo, ModuleShape, Style};
    use std::sync::Arc;
    let symbol = encode(SAMPLE, &options(EcLevel::H)).unwrap();
    let teal = Color::parse("dark2", "#00695c").unwrap();
    let looks = [
        Look {
            style: Style {
                shape: ModuleShape::Rounded,
                finder: FinderShape::Rounded,
                fill: Fill::Linear(teal),
            },
            ..Look::default()
        },
        Look {
            style: Style {
                shape: ModuleShape::Dot,
                finder: FinderShape::Dot,
                fill: Fill::Radial(teal),
            },
            logo: Some(Arc::new(Logo::decode(&png_logo(), 18).unwrap())),
            caption: Some("example.org/qr/talk-0001".into()),
            ..Look::default()
        },
        Look {
            style: Style {
                shape: ModuleShape::HorizontalBars,
                ..Style::default()
            },
            logo: Some(Arc::new(
                Logo::decode(include_bytes!("fixtures/logo.jpg"), 18).unwrap(),
            )),
            light: Color::TRANSPARENT,
            ..Look::default()
        },
    ];
    for (i, look) in looks.iter().enumerate() {
        let pdf = render_verified(&symbol, Format::Pdf, look).unwrap();
        let eps = render_verified(&symbol, Format::Eps, look).unwrap();
        if let Some(png) = rasterise_pdf(&pdf) {
            verify_png(&png, SAMPLE, false).unwrap_or_else(|e| panic!("look {i} PDF: {e}"));
        }
        if let Some(png) = rasterise_eps(&eps) {
            verify_png(&png, SAMPLE, false).unwrap_or_else(|e| panic!("look {i} EPS: {e}"));
        }
    }
}

/// Reads the codewords of a version 1 symbol back out of its matrix: the standard's zig-zag
/// placement from the bottom right, skipping function patterns, with the mask removed.
fn version_1_codewords(symbol: &Symbol) -> Vec<u8> {
    assert_eq!(symbol.width(), 21);
    let function = |x: usize, y: usize| {
        let finder = (x < 9 && !(9..13).contains(&y)) || (x >= 13 && y < 9);
        finder || x == 6 || y == 6
    };
    let mask = |x: usize, y: usize| match symbol.mask() {
        0 => (y + x).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (y + x).is_multiple_of(3),
        4 => (y / 2 + x / 3).is_multiple_of(2),
        5 => (x * y) % 2 + (x * y) % 3 == 0,
        6 => ((x * y) % 2 + (x * y) % 3).is_multiple_of(2),
        _ => ((x + y) % 2 + (x * y) % 3).is_multiple_of(2),
    };
    let mut bits = Vec::new();
    let mut right = 20i32;
    let mut upward = true;
    while right > 0 {
        if right == 6 {
            right = 5;
        }
        for step in 0..21 {
            let y = if upward { 20 - step } else { step } as usize;
            for x in [right as usize, right as usize - 1] {
                if !function(x, y) {
                    bits.push(symbol.is_dark(x, y) ^ mask(x, y));
                }
            }
        }
        upward = !upward;
        right -= 2;
    }
    bits.chunks(8)
        .filter(|c| c.len() == 8)
        .map(|c| c.iter().fold(0u8, |byte, bit| byte << 1 | u8::from(*bit)))
        .collect()
}

/// ISO/IEC 18004 Annex I: "01234567" as version 1-M gives these 16 data and 10 EC codewords.
#[test]
fn the_iso_annex_i_example_gives_its_codewords() {
    let symbol = encode(
        "01234567",
        &EncodeOptions {
            ecc: EcLevel::M,
            boost: false,
            version: Some(1),
            mask: Some(2),
            ..EncodeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        (symbol.version(), symbol.ecc(), symbol.mask()),
        (Version::Normal(1), EcLevel::M, 2)
    );
    let data = [
        0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec,
        0x11,
    ];
    let error_correction = [165, 36, 212, 193, 237, 54, 199, 135, 44, 85];
    let codewords = version_1_codewords(&symbol);
    assert_eq!(&codewords[..16], &data);
    assert_eq!(&codewords[16..26], &error_correction);
}

/// The longest payload of `unit` repeated that fits `options` exactly, by bisection.
fn longest_fitting(unit: &str, options: &EncodeOptions) -> String {
    let fits = |n: usize| encode(&unit.repeat(n), options).is_ok();
    let (mut low, mut high) = (1, 2);
    while fits(high) {
        low = high;
        high *= 2;
    }
    while high - low > 1 {
        let middle = (low + high) / 2;
        if fits(middle) {
            low = middle
        } else {
            high = middle
        }
    }
    unit.repeat(low)
}

/// Payloads filled to the capacity of their version, in every mode and level, and Micro QR at
/// each of its sizes, decode back exactly.
#[test]
fn payloads_at_capacity_decode_back_exactly() {
    let units = ["7", "QR", "\u{e9}t\u{e9}"];
    for version in [1u8, 4, 10, 20] {
        for (i, ecc) in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H]
            .into_iter()
            .enumerate()
        {
            let unit = units[(version as usize + i) % units.len()];
            let options = EncodeOptions {
                ecc,
                boost: false,
                version: Some(version),
                ..EncodeOptions::default()
            };
            let payload = longest_fitting(unit, &options);
            let symbol = encode(&payload, &options).unwrap();
            assert!(
                encode(&format!("{payload}{unit}"), &options).is_err(),
                "full at version {version}"
            );
            render_verified(
                &symbol,
                Format::Png,
                &Look {
                    scale: 3,
                    ..Look::default()
                },
            )
            .unwrap_or_else(|e| {
                panic!(
                    "version {version} {ecc:?} {} chars: {e}",
                    payload.chars().count()
                )
            });
        }
    }
    for version in 1..=4u8 {
        let ecc = if version == 1 { EcLevel::L } else { EcLevel::M };
        let options = EncodeOptions {
            ecc,
            micro: true,
            boost: false,
            version: Some(version),
            ..EncodeOptions::default()
        };
        let payload = longest_fitting("5", &options);
        let symbol = encode(&payload, &options).unwrap();
        assert_eq!(symbol.version(), Version::Micro(version));
        render_verified(
            &symbol,
            Format::Png,
            &Look {
                scale: 8,
                ..Look::default()
            },
        )
        .unwrap_or_else(|e| panic!("M{version} with {} digits: {e}", payload.len()));
    }
}

/// Any combination of options gives an image or an error with a reason, never a panic.
#[test]
fn random_option_combinations_never_panic() {
    use qrlink_qr::{Fill, FinderShape, ModuleShape, Style};
    let (_seed, mut rng) = seeded_rng("random_option_combinations_never_panic");
    let colors = [
        "#000",
        "#fff",
        "#777",
        "#1a237e",
        "#00000080",
        "transparent",
        "#ffff00",
    ];
    let (mut images, mut refusals) = (0, 0);
    for case in 0..120 {
        let options = EncodeOptions {
            ecc: [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H][rng.random_range(0..4)],
            boost: rng.random(),
            min_version: rng.random_bool(0.2).then(|| rng.random_range(0..45)),
            version: rng.random_bool(0.3).then(|| rng.random_range(0..45)),
            mask: rng.random_bool(0.3).then(|| rng.random_range(0..10)),
            micro: rng.random_bool(0.2),
        };
        let payload = "x".repeat(rng.random_range(0..60));
        let look = Look {
            border: rng.random_bool(0.3).then(|| rng.random_range(0..120)),
            scale: rng.random_range(0..12),
            dark: Color::parse("dark", colors[rng.random_range(0..colors.len())]).unwrap(),
            light: Color::parse("light", colors[rng.random_range(0..colors.len())]).unwrap(),
            style: Style {
                shape: [ModuleShape::Square, ModuleShape::Dot, ModuleShape::Rounded]
                    [rng.random_range(0..3)],
                finder: [FinderShape::Square, FinderShape::Dot][rng.random_range(0..2)],
                fill: if rng.random() {
                    Fill::Solid
                } else {
                    Fill::Linear(
                        Color::parse("dark2", colors[rng.random_range(0..colors.len())]).unwrap(),
                    )
                },
            },
            module_um: rng.random_range(0..3000),
            caption: rng.random_bool(0.2).then(|| "caption".to_owned()),
            ..Look::default()
        };
        let format = [
            Format::Svg,
            Format::Png,
            Format::Pdf,
            Format::Eps,
            Format::Text,
        ][case % 5];
        match encode(&payload, &options).and_then(|symbol| render_verified(&symbol, format, &look))
        {
            Ok(_) => images += 1,
            Err(error) => {
                assert!(!error.to_string().is_empty());
                refusals += 1;
            }
        }
    }
    eprintln!("{images} images, {refusals} refusals with reasons");
    assert!(images > 0 && refusals > 0);
}
