//! Writers: a `Symbol` with its look becomes image bytes or text.

pub mod caption;
pub mod eps;
pub mod pdf;
pub mod png;
pub mod styled;
pub mod svg;
pub mod text;
mod vector;

use crate::Error;
use crate::color::Color;
use crate::style::Style;

/// How a symbol looks in an image: quiet zone, module size, colours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// Quiet zone in modules; `None` is the standard's (4, or 2 for Micro QR).
    pub border: Option<usize>,
    /// Pixels per module for raster images (PNG); SVG uses it for its `width` only.
    pub scale: u32,
    /// Colour of dark modules.
    pub dark: Color,
    /// Colour of light modules and the quiet zone; may be transparent.
    pub light: Color,
    /// Module size in micrometres for print formats (PDF, EPS): 1000 is 1 mm per module.
    pub module_um: u32,
    /// Module and finder shapes, gradient fill; the default is the plain standard symbol.
    pub style: Style,
    /// A logo in the centre; the modules under it are left to the error correction.
    pub logo: Option<std::sync::Arc<crate::logo::Logo>>,
    /// Text under the code (the short URL, for cameras that fail), drawn in a band below the
    /// quiet zone.
    pub caption: Option<String>,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            border: None,
            scale: 10,
            dark: Color::BLACK,
            light: Color::WHITE,
            module_um: 1000,
            style: Style::default(),
            logo: None,
            caption: None,
        }
    }
}

/// Print formats have no partial transparency: an opaque colour, or (for light) none at all.
pub(crate) fn check_print_colors(look: &Look) -> Result<(), Error> {
    if !look.dark.is_opaque() {
        return Err(Error::option(
            "dark",
            "opaque",
            "print formats (PDF, EPS) need an opaque dark colour",
        ));
    }
    if look.light.a != 0 && !look.light.is_opaque() {
        return Err(Error::option(
            "light",
            "opaque",
            "print formats (PDF, EPS) need an opaque light colour, or transparent",
        ));
    }
    if !(10..=100_000).contains(&look.module_um) {
        return Err(Error::option(
            "module_size",
            "range",
            "a printed module is 0.01 mm to 100 mm",
        ));
    }
    Ok(())
}

/// The dark runs of one row: `(start, length)` in modules, without quiet zone.
pub(crate) fn row_runs(row: &[bool]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut x = 0;
    std::iter::from_fn(move || {
        while x < row.len() && !row[x] {
            x += 1;
        }
        if x == row.len() {
            return None;
        }
        let start = x;
        while x < row.len() && row[x] {
            x += 1;
        }
        Some((start, x - start))
    })
}

/// The largest image side qrlink draws, in pixels, to bound memory and time.
pub const MAX_PIXELS_PER_SIDE: u32 = 20_000;

impl Look {
    /// No style and no logo: the standard symbol, drawn by the compact writers.
    pub fn is_plain(&self) -> bool {
        self.style.is_plain() && self.logo.is_none() && self.caption.is_none()
    }

    /// Checks the look on its own and against the symbol: a scale, a size, colours that scan.
    pub fn check(&self, symbol_width: usize) -> Result<(), Error> {
        if self.scale == 0 {
            return Err(Error::option(
                "scale",
                "positive",
                "the scale must be at least 1 pixel per module",
            ));
        }
        if self.border.is_some_and(|b| b > 100) {
            return Err(Error::option(
                "border",
                "range",
                "the quiet zone is at most 100 modules",
            ));
        }
        let side = (symbol_width + 2 * self.border.unwrap_or(4)) as u64 * u64::from(self.scale);
        if side > u64::from(MAX_PIXELS_PER_SIDE) {
            return Err(Error::option(
                "scale",
                "too_large",
                format!(
                    "the image would be {side} pixels wide; at most {MAX_PIXELS_PER_SIDE} are drawn"
                ),
            ));
        }
        if let Some(caption) = &self.caption {
            caption::check_caption(caption)?;
        }
        // Every colour a dark module can take must stand out from the light one.
        for dark in self.style.dark_extremes(self.dark) {
            crate::color::check_colors(dark, self.light)?;
        }
        Ok(())
    }
}
