//! Styled SVG: module shapes, finder shapes and gradient fills as filled vector paths. Styled
//! PNGs are rasterised from this SVG, so both formats show the same drawing.

use std::fmt::Write;

use super::{Look, row_runs};
use crate::Symbol;
use crate::style::{Fill, FinderShape, ModuleShape};

/// The top-left corners of the finder patterns: three for QR, one for Micro QR.
fn finder_origins(symbol: &Symbol) -> Vec<(usize, usize)> {
    let w = symbol.width();
    if symbol.is_micro() {
        vec![(0, 0)]
    } else {
        vec![(0, 0), (w - 7, 0), (0, w - 7)]
    }
}

fn in_finder(origins: &[(usize, usize)], x: usize, y: usize) -> bool {
    origins
        .iter()
        .any(|&(ox, oy)| (ox..ox + 7).contains(&x) && (oy..oy + 7).contains(&y))
}

/// Writes the styled symbol as an SVG document.
pub fn to_styled_svg(symbol: &Symbol, look: &Look) -> String {
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let pixels = side as u64 * u64::from(look.scale);
    // A caption adds a band below the quiet zone, which stays clear.
    let band = look
        .caption
        .as_ref()
        .map_or(0.0, |_| super::caption::band_height(side));
    let height = side as f64 + band;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {height}" width="{pixels}">"#
    );
    let paint = match look.style.fill {
        Fill::Solid => look.dark.hex_rgb(),
        Fill::Linear(end) => {
            let _ = write!(
                svg,
                r#"<defs><linearGradient id="f" gradientUnits="userSpaceOnUse" x1="{border}" y1="{border}" x2="{e}" y2="{e}"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/></linearGradient></defs>"#,
                look.dark.hex_rgb(),
                end.hex_rgb(),
                e = side - border,
            );
            "url(#f)".to_owned()
        }
        Fill::Radial(end) => {
            let centre = side as f64 / 2.0;
            let _ = write!(
                svg,
                r#"<defs><radialGradient id="f" gradientUnits="userSpaceOnUse" cx="{centre}" cy="{centre}" r="{:.3}"><stop offset="0" stop-color="{}"/><stop offset="1" stop-color="{}"/></radialGradient></defs>"#,
                symbol.width() as f64 / std::f64::consts::SQRT_2,
                look.dark.hex_rgb(),
                end.hex_rgb(),
            );
            "url(#f)".to_owned()
        }
    };
    if look.light.a > 0 {
        let opacity = if look.light.is_opaque() {
            String::new()
        } else {
            format!(r#" fill-opacity="{:.3}""#, f64::from(look.light.a) / 255.0)
        };
        let _ = write!(
            svg,
            r#"<path fill="{}"{opacity} d="M0 0h{side}v{height}H0z"/>"#,
            look.light.hex_rgb()
        );
    }
    let opacity = if look.dark.is_opaque() {
        String::new()
    } else {
        format!(r#" fill-opacity="{:.3}""#, f64::from(look.dark.a) / 255.0)
    };
    let origins = finder_origins(symbol);
    let cleared = look.logo.as_ref().map(|logo| logo.cleared(symbol.width()));
    let _ = write!(svg, r#"<path fill="{paint}"{opacity} d=""#);
    write_modules(
        symbol,
        look.style.shape,
        &origins,
        cleared,
        border,
        &mut svg,
    );
    let _ = write!(
        svg,
        r#""/><path fill="{paint}"{opacity} fill-rule="evenodd" d=""#
    );
    for &(ox, oy) in &origins {
        write_finder(
            look.style.finder,
            (ox + border) as f64,
            (oy + border) as f64,
            &mut svg,
        );
    }
    svg.push_str(r#""/>"#);
    if let (Some(logo), Some((first, count))) = (&look.logo, cleared) {
        write_logo(logo, (first + border) as f64, count as f64, look, &mut svg);
    }
    if let Some(caption) = &look.caption {
        let _ = write!(svg, r#"<path fill="{}" d=""#, look.dark.hex_rgb());
        // Checked by Look::check before any writer runs; a failure here leaves the band empty.
        let _ = super::caption::write_caption(caption, side, side as f64, &mut svg);
        svg.push_str(r#""/>"#);
    }
    svg.push_str("</svg>");
    svg
}

/// The logo over a light plate filling the cleared square, inset by half a module.
fn write_logo(logo: &crate::logo::Logo, at: f64, count: f64, look: &Look, out: &mut String) {
    use base64::Engine;
    let plate = if look.light.a == 0 {
        crate::Color::WHITE
    } else {
        look.light
    };
    let _ = write!(
        out,
        r#"<rect x="{}" y="{}" width="{}" height="{}" rx=".8" fill="{}"/>"#,
        at + 0.5,
        at + 0.5,
        count - 1.0,
        count - 1.0,
        plate.hex_rgb()
    );
    let data = base64::engine::general_purpose::STANDARD.encode(logo.png());
    let _ = write!(
        out,
        r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="xMidYMid meet" href="data:image/png;base64,{data}"/>"#,
        at + 1.0,
        at + 1.0,
        count - 2.0,
        count - 2.0
    );
}

fn write_modules(
    symbol: &Symbol,
    shape: ModuleShape,
    origins: &[(usize, usize)],
    cleared: Option<(usize, usize)>,
    border: usize,
    out: &mut String,
) {
    let width = symbol.width();
    let under_logo = |x: usize, y: usize| {
        cleared.is_some_and(|(first, count)| {
            (first..first + count).contains(&x) && (first..first + count).contains(&y)
        })
    };
    let dark =
        |x: usize, y: usize| symbol.is_dark(x, y) && !in_finder(origins, x, y) && !under_logo(x, y);
    // Neighbours outside the symbol or inside a finder count as light.
    let dark_at = |x: isize, y: isize| x >= 0 && y >= 0 && dark(x as usize, y as usize);
    let b = border as f64;
    match shape {
        ModuleShape::Square => {
            for y in 0..width {
                let row: Vec<bool> = (0..width).map(|x| dark(x, y)).collect();
                for (start, length) in row_runs(&row) {
                    let _ = write!(
                        out,
                        "M{} {}h{length}v1h-{length}z",
                        start + border,
                        y + border
                    );
                }
            }
        }
        ModuleShape::HorizontalBars => {
            for y in 0..width {
                let row: Vec<bool> = (0..width).map(|x| dark(x, y)).collect();
                for (start, length) in row_runs(&row) {
                    bar(out, start as f64 + b, y as f64 + b, length as f64, true);
                }
            }
        }
        ModuleShape::VerticalBars => {
            for x in 0..width {
                let column: Vec<bool> = (0..width).map(|y| dark(x, y)).collect();
                for (start, length) in row_runs(&column) {
                    bar(out, x as f64 + b, start as f64 + b, length as f64, false);
                }
            }
        }
        ModuleShape::Dot | ModuleShape::Gapped | ModuleShape::Rounded => {
            for y in 0..width {
                for x in 0..width {
                    if !dark(x, y) {
                        continue;
                    }
                    let (px, py) = (x as f64 + b, y as f64 + b);
                    let _ = match shape {
                        ModuleShape::Dot => write!(
                            out,
                            "M{} {}a.4 .4 0 1 0 .8 0a.4 .4 0 1 0-.8 0",
                            px + 0.1,
                            py + 0.5
                        ),
                        ModuleShape::Gapped => write!(out, "M{} {}h.8v.8h-.8z", px + 0.1, py + 0.1),
                        _ => {
                            let (xi, yi) = (x as isize, y as isize);
                            let up = dark_at(xi, yi - 1);
                            let down = dark_at(xi, yi + 1);
                            let left = dark_at(xi - 1, yi);
                            let right = dark_at(xi + 1, yi);
                            // A corner is rounded when neither module beside it continues the shape.
                            let radius = |a: bool, c: bool| if a || c { 0.0 } else { 0.5 };
                            rounded_square(
                                out,
                                px,
                                py,
                                [
                                    radius(up, left),
                                    radius(up, right),
                                    radius(down, right),
                                    radius(down, left),
                                ],
                            );
                            Ok(())
                        }
                    };
                }
            }
        }
    }
}

/// A bar of `length` modules with round ends, 0.8 modules thick, along a row or a column.
fn bar(out: &mut String, x: f64, y: f64, length: f64, horizontal: bool) {
    let straight = length - 0.8;
    let _ = if horizontal {
        write!(
            out,
            "M{} {}h{straight}a.4 .4 0 0 1 0 .8h-{straight}a.4 .4 0 0 1 0-.8z",
            x + 0.4,
            y + 0.1
        )
    } else {
        write!(
            out,
            "M{} {}v{straight}a.4 .4 0 0 1-.8 0v-{straight}a.4 .4 0 0 1 .8 0z",
            x + 0.9,
            y + 0.4
        )
    };
}

/// A unit square with its own radius per corner: top-left, top-right, bottom-right, bottom-left.
fn rounded_square(out: &mut String, x: f64, y: f64, [tl, tr, br, bl]: [f64; 4]) {
    let _ = write!(out, "M{} {y}h{}", x + tl, 1.0 - tl - tr);
    if tr > 0.0 {
        let _ = write!(out, "a{tr} {tr} 0 0 1 {tr} {tr}");
    }
    let _ = write!(out, "v{}", 1.0 - tr - br);
    if br > 0.0 {
        let _ = write!(out, "a{br} {br} 0 0 1-{br} {br}");
    }
    let _ = write!(out, "h-{}", 1.0 - br - bl);
    if bl > 0.0 {
        let _ = write!(out, "a{bl} {bl} 0 0 1-{bl}-{bl}");
    }
    let _ = write!(out, "v-{}", 1.0 - bl - tl);
    if tl > 0.0 {
        let _ = write!(out, "a{tl} {tl} 0 0 1 {tl}-{tl}");
    }
    out.push('z');
}

/// A finder pattern at (x, y): a 7x7 ring around a 3x3 centre, drawn with the even-odd rule.
fn write_finder(shape: FinderShape, x: f64, y: f64, out: &mut String) {
    match shape {
        FinderShape::Square => {
            let _ = write!(
                out,
                "M{x} {y}h7v7h-7zM{} {}h5v5h-5zM{} {}h3v3h-3z",
                x + 1.0,
                y + 1.0,
                x + 2.0,
                y + 2.0
            );
        }
        FinderShape::Rounded => {
            rounded_rect(out, x, y, 7.0, 2.0);
            rounded_rect(out, x + 1.0, y + 1.0, 5.0, 1.4);
            rounded_rect(out, x + 2.0, y + 2.0, 3.0, 0.9);
        }
        FinderShape::Dot => {
            for (radius, _) in [(3.5, ()), (2.5, ()), (1.5, ())] {
                let (cx, cy) = (x + 3.5, y + 3.5);
                let _ = write!(
                    out,
                    "M{} {cy}a{radius} {radius} 0 1 0 {} 0a{radius} {radius} 0 1 0-{} 0",
                    cx - radius,
                    2.0 * radius,
                    2.0 * radius
                );
            }
        }
    }
}

fn rounded_rect(out: &mut String, x: f64, y: f64, size: f64, r: f64) {
    let straight = size - 2.0 * r;
    let _ = write!(
        out,
        "M{} {y}h{straight}a{r} {r} 0 0 1 {r} {r}v{straight}a{r} {r} 0 0 1-{r} {r}h-{straight}a{r} {r} 0 0 1-{r}-{r}v-{straight}a{r} {r} 0 0 1 {r}-{r}z",
        x + r
    );
}
