//! SVG: one path of strokes, one per run of dark modules, in module units. Runs go along rows
//! or along columns, whichever has fewer runs in this symbol. Deterministic bytes.

use std::fmt::Write;

use super::Look;
use crate::color::Color;
use crate::{Error, Symbol};

/// Writes the symbol as a standalone SVG document. The `width` gives the default display
/// size (`scale` pixels per module); the height follows from the square `viewBox`.
pub fn to_svg(symbol: &Symbol, look: &Look) -> Result<String, Error> {
    if !look.is_plain() {
        return super::styled::to_styled_svg(symbol, look);
    }
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let pixels = side as u64 * u64::from(look.scale);
    // Each run costs about the same few bytes, so the direction with fewer runs writes the
    // shorter path; counting is much cheaper than writing both.
    let direction = if run_count(symbol, Direction::Columns) < run_count(symbol, Direction::Rows) {
        Direction::Columns
    } else {
        Direction::Rows
    };
    let path = runs(symbol, border, direction);
    let mut svg = String::with_capacity(160 + path.len());
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" width="{pixels}">"#
    );
    if look.light.a > 0 {
        let _ = write!(
            svg,
            r#"<path fill="{}"{} d="M0 0h{side}v{side}H0z"/>"#,
            look.light.hex_rgb(),
            opacity("fill", look.light)
        );
    }
    let _ = write!(
        svg,
        r#"<path stroke="{}"{} d="{path}"/></svg>"#,
        look.dark.hex_rgb(),
        opacity("stroke", look.dark)
    );
    Ok(svg)
}

fn opacity(attribute: &str, color: Color) -> String {
    if color.is_opaque() {
        String::new()
    } else {
        format!(
            r#" {attribute}-opacity="{:.3}""#,
            f64::from(color.a) / 255.0
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Rows,
    Columns,
}

fn run_count(symbol: &Symbol, direction: Direction) -> usize {
    let width = symbol.width();
    let dark = |line: usize, along: usize| match direction {
        Direction::Rows => symbol.is_dark(along, line),
        Direction::Columns => symbol.is_dark(line, along),
    };
    (0..width)
        .map(|line| {
            (0..width)
                .filter(|&along| dark(line, along) && (along == 0 || !dark(line, along - 1)))
                .count()
        })
        .sum()
}

/// Each run of dark modules is a move relative to where the last run ended, then a line of its
/// length; a stroke of width 1 along the middle of the row (or column) covers exactly the run.
fn runs(symbol: &Symbol, border: usize, direction: Direction) -> String {
    let width = symbol.width();
    let dark = |line: usize, along: usize| match direction {
        Direction::Rows => symbol.is_dark(along, line),
        Direction::Columns => symbol.is_dark(line, along),
    };
    let (draw, mut out) = match direction {
        Direction::Rows => ('h', String::with_capacity(width * width / 2)),
        Direction::Columns => ('v', String::with_capacity(width * width / 2)),
    };
    let mut at: Option<(i64, i64)> = None;
    for line in 0..width {
        let mut along = 0;
        while along < width {
            if !dark(line, along) {
                along += 1;
                continue;
            }
            let start = along;
            while along < width && dark(line, along) {
                along += 1;
            }
            let (start_along, line_at) = ((start + border) as i64, (line + border) as i64);
            // Moves are written as (dx dy): along a row x is `along`; along a column y is.
            let (dx, dy) = match (at, direction) {
                (None, _) => (start_along, line_at),
                (Some((a, l)), Direction::Rows) => (start_along - a, line_at - l),
                (Some((a, l)), Direction::Columns) => (line_at - l, start_along - a),
            };
            let _ = match (at, direction) {
                (None, Direction::Rows) => write!(out, "M{dx} {dy}.5{draw}{}", along - start),
                (None, Direction::Columns) => {
                    write!(out, "M{}.5 {}{draw}{}", line_at, start_along, along - start)
                }
                (Some(_), _) => write!(out, "m{dx} {dy}{draw}{}", along - start),
            };
            at = Some(((along + border) as i64, line_at));
        }
    }
    out
}
