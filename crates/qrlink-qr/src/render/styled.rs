//! Styled codes: module shapes, finder shapes, gradient fills, a logo and a caption, built as
//! one vector drawing (see `vector.rs`) that SVG, PNG (rasterised from the SVG), PDF and EPS
//! are all written from.

use std::sync::Arc;

use super::Look;
use super::vector::{Drawing, Layer, Paint, Path, PlacedLogo};
use crate::style::{Fill, FinderShape, ModuleShape};
use crate::{Color, Error, Symbol};

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
pub fn to_styled_svg(symbol: &Symbol, look: &Look) -> Result<String, Error> {
    let drawing = drawing(symbol, look)?;
    Ok(drawing.to_svg((drawing.width * f64::from(look.scale)).round() as u64))
}

/// The styled symbol as a vector drawing, in module units.
pub(crate) fn drawing(symbol: &Symbol, look: &Look) -> Result<Drawing, Error> {
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let band = look
        .caption
        .as_ref()
        .map_or(0.0, |_| super::caption::band_height(side));
    let (width, height) = (side as f64, side as f64 + band);
    let b = border as f64;
    let paint = match look.style.fill {
        Fill::Solid => Paint::Solid(look.dark),
        Fill::Linear(end) => Paint::Linear {
            from: (b, b),
            to: (width - b, width - b),
            start: look.dark,
            end,
        },
        Fill::Radial(end) => Paint::Radial {
            centre: (width / 2.0, width / 2.0),
            radius: symbol.width() as f64 / std::f64::consts::SQRT_2,
            start: look.dark,
            end,
        },
    };
    let origins = finder_origins(symbol);
    let cleared = look.logo.as_ref().map(|logo| logo.cleared(symbol.width()));
    let mut layers = vec![Layer {
        path: modules(symbol, look.style.shape, &origins, cleared, b),
        paint,
        even_odd: false,
    }];
    let mut finders = Path::default();
    for &(ox, oy) in &origins {
        finder(
            &mut finders,
            look.style.finder,
            ox as f64 + b,
            oy as f64 + b,
        );
    }
    layers.push(Layer {
        path: finders,
        paint,
        even_odd: true,
    });
    let mut logo = None;
    if let (Some(source), Some((first, count))) = (&look.logo, cleared) {
        let at = first as f64 + b;
        let count = count as f64;
        let plate = if look.light.a == 0 {
            Color::WHITE
        } else {
            look.light
        };
        let mut path = Path::default();
        path.rounded_rect(at + 0.5, at + 0.5, count - 1.0, count - 1.0, [0.8; 4]);
        layers.push(Layer {
            path,
            paint: Paint::Solid(plate),
            even_odd: false,
        });
        logo = Some(PlacedLogo {
            logo: Arc::clone(source),
            x: at + 1.0,
            y: at + 1.0,
            size: count - 2.0,
        });
    }
    if let Some(caption) = &look.caption {
        let mut path = Path::default();
        super::caption::write_caption(caption, side, width, &mut path)?;
        layers.push(Layer {
            path,
            paint: Paint::Solid(look.dark),
            even_odd: false,
        });
    }
    Ok(Drawing {
        width,
        height,
        background: (look.light.a > 0).then_some(look.light),
        layers,
        logo,
    })
}

fn modules(
    symbol: &Symbol,
    shape: ModuleShape,
    origins: &[(usize, usize)],
    cleared: Option<(usize, usize)>,
    b: f64,
) -> Path {
    let width = symbol.width();
    let under_logo = |x: usize, y: usize| {
        cleared.is_some_and(|(first, count)| {
            (first..first + count).contains(&x) && (first..first + count).contains(&y)
        })
    };
    let dark =
        |x: usize, y: usize| symbol.is_dark(x, y) && !in_finder(origins, x, y) && !under_logo(x, y);
    // Neighbours outside the symbol, in a finder or under the logo count as light.
    let dark_at = |x: isize, y: isize| x >= 0 && y >= 0 && dark(x as usize, y as usize);
    let runs = |line: &dyn Fn(usize) -> bool| {
        super::row_runs(&(0..width).map(line).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    let mut path = Path::default();
    match shape {
        ModuleShape::Square => {
            for y in 0..width {
                for (start, length) in runs(&|x| dark(x, y)) {
                    path.rect(start as f64 + b, y as f64 + b, length as f64, 1.0);
                }
            }
        }
        ModuleShape::HorizontalBars => {
            for y in 0..width {
                for (start, length) in runs(&|x| dark(x, y)) {
                    path.rounded_rect(
                        start as f64 + b + 0.05,
                        y as f64 + b + 0.1,
                        length as f64 - 0.1,
                        0.8,
                        [0.4; 4],
                    );
                }
            }
        }
        ModuleShape::VerticalBars => {
            for x in 0..width {
                for (start, length) in runs(&|y| dark(x, y)) {
                    path.rounded_rect(
                        x as f64 + b + 0.1,
                        start as f64 + b + 0.05,
                        0.8,
                        length as f64 - 0.1,
                        [0.4; 4],
                    );
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
                    match shape {
                        ModuleShape::Dot => path.circle(px + 0.5, py + 0.5, 0.4),
                        ModuleShape::Gapped => path.rect(px + 0.1, py + 0.1, 0.8, 0.8),
                        _ => {
                            let (xi, yi) = (x as isize, y as isize);
                            let (up, down) = (dark_at(xi, yi - 1), dark_at(xi, yi + 1));
                            let (left, right) = (dark_at(xi - 1, yi), dark_at(xi + 1, yi));
                            // A corner is rounded when neither module beside it continues the shape.
                            let radius = |a: bool, c: bool| if a || c { 0.0 } else { 0.5 };
                            path.rounded_rect(
                                px,
                                py,
                                1.0,
                                1.0,
                                [
                                    radius(up, left),
                                    radius(up, right),
                                    radius(down, right),
                                    radius(down, left),
                                ],
                            );
                        }
                    }
                }
            }
        }
    }
    path
}

/// A finder pattern at (x, y): a 7x7 ring around a 3x3 centre, for the even-odd rule.
fn finder(path: &mut Path, shape: FinderShape, x: f64, y: f64) {
    match shape {
        FinderShape::Square => {
            path.rect(x, y, 7.0, 7.0);
            path.rect(x + 1.0, y + 1.0, 5.0, 5.0);
            path.rect(x + 2.0, y + 2.0, 3.0, 3.0);
        }
        FinderShape::Rounded => {
            path.rounded_rect(x, y, 7.0, 7.0, [2.0; 4]);
            path.rounded_rect(x + 1.0, y + 1.0, 5.0, 5.0, [1.4; 4]);
            path.rounded_rect(x + 2.0, y + 2.0, 3.0, 3.0, [0.9; 4]);
        }
        FinderShape::Dot => {
            for radius in [3.5, 2.5, 1.5] {
                path.circle(x + 3.5, y + 3.5, radius);
            }
        }
    }
}
