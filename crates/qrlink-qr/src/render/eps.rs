//! EPS: Encapsulated PostScript for print workflows, the modules as filled rectangles.

use std::fmt::Write;

use super::{Look, check_print_colors, row_runs};
use crate::{Error, Symbol};

const POINTS_PER_MM: f64 = 72.0 / 25.4;

/// Writes an EPS whose bounding box is the code with its quiet zone, `look.module_um` per module.
pub fn to_eps(symbol: &Symbol, look: &Look) -> Result<Vec<u8>, Error> {
    check_print_colors(look)?;
    if !look.is_plain() {
        return super::styled::drawing(symbol, look)?
            .to_eps(f64::from(look.module_um) / 1000.0 * POINTS_PER_MM);
    }
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = symbol.width() + 2 * border;
    let module = f64::from(look.module_um) / 1000.0 * POINTS_PER_MM;
    let extent = side as f64 * module;
    let mut eps = String::with_capacity(64 * symbol.width() + 400);
    let _ = write!(
        eps,
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 {} {}\n%%HiResBoundingBox: 0 0 {extent:.4} {extent:.4}\n\
         %%Creator: qrlink\n%%Pages: 1\n%%EndComments\n\
         gsave\n{module:.6} {module:.6} scale\n",
        extent.ceil() as u64,
        extent.ceil() as u64,
    );
    let rgb = |c: crate::Color| {
        format!(
            "{:.4} {:.4} {:.4} setrgbcolor\n",
            f64::from(c.r) / 255.0,
            f64::from(c.g) / 255.0,
            f64::from(c.b) / 255.0
        )
    };
    if look.light.a > 0 {
        eps.push_str(&rgb(look.light));
        let _ = writeln!(eps, "0 0 {side} {side} rectfill");
    }
    eps.push_str(&rgb(look.dark));
    // PostScript counts y upwards from the bottom; row y of the matrix sits at side - border - y - 1.
    eps.push_str("/r { 1 rectfill } bind def\n");
    for y in 0..symbol.width() {
        let bottom = side - border - y - 1;
        for (start, length) in row_runs(symbol.row(y)) {
            let _ = writeln!(eps, "{} {bottom} {length} r", start + border);
        }
    }
    eps.push_str("grestore\nshowpage\n%%EOF\n");
    Ok(eps.into_bytes())
}
