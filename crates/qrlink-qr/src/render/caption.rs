//! Captions under the code (R-QR-3): the text drawn as vector outlines from a vendored font
//! (Noto Sans, OFL), so it looks the same wherever the image is rendered.

use super::vector::Path;
use crate::Error;

const FONT: &[u8] = include_bytes!("../../vendor/noto-sans/NotoSans-Regular.ttf");

/// The longest caption accepted.
pub const MAX_CAPTION_CHARS: usize = 80;

/// Checks a caption: not empty, not too long, no control characters, every character in the font.
pub fn check_caption(text: &str) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(Error::option("caption", "required", "the caption is empty"));
    }
    if text.chars().count() > MAX_CAPTION_CHARS {
        return Err(Error::option(
            "caption",
            "too_long",
            format!("a caption has at most {MAX_CAPTION_CHARS} characters"),
        ));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(Error::option(
            "caption",
            "control_character",
            format!("the caption contains U+{:04X}", c as u32),
        ));
    }
    let face = face()?;
    if let Some(c) = text
        .chars()
        .find(|c| !c.is_whitespace() && face.glyph_index(*c).is_none())
    {
        return Err(Error::option(
            "caption",
            "glyph",
            format!(
                "the caption font has no glyph for `{c}` (U+{:04X})",
                c as u32
            ),
        ));
    }
    Ok(())
}

fn face() -> Result<ttf_parser::Face<'static>, Error> {
    ttf_parser::Face::parse(FONT, 0)
        .map_err(|e| Error::Render(format!("the caption font cannot be read: {e}")))
}

/// The height of the caption band in modules for a code `side` modules wide (quiet zone included).
pub fn band_height(side: usize) -> f64 {
    (side as f64 * 0.12).max(3.0).round()
}

/// Adds the outlines of `text`, centred in the band starting at `top`, `side` wide, to `path`.
pub(crate) fn write_caption(
    text: &str,
    side: usize,
    top: f64,
    path: &mut Path,
) -> Result<(), Error> {
    let face = face()?;
    let units = f64::from(face.units_per_em());
    let band = band_height(side);
    let advance: f64 = text
        .chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map_or(0.0, f64::from)
        })
        .sum();
    // Letters about half the band high, shrunk to fit 90 % of the width.
    let mut em = band * 0.55;
    let width = advance / units * em;
    if width > side as f64 * 0.9 {
        em *= side as f64 * 0.9 / width;
    }
    let scale = em / units;
    let mut x = (side as f64 - advance * scale) / 2.0;
    let baseline = top + band * 0.5 + em * 0.35;
    for c in text.chars() {
        let Some(glyph) = face.glyph_index(c) else {
            continue;
        };
        let mut pen = Pen {
            path: &mut *path,
            x,
            y: baseline,
            scale,
        };
        face.outline_glyph(glyph, &mut pen);
        x += face.glyph_hor_advance(glyph).map_or(0.0, f64::from) * scale;
    }
    Ok(())
}

/// Turns font outlines (y up, font units) into path segments (y down, modules).
struct Pen<'a> {
    path: &'a mut Path,
    x: f64,
    y: f64,
    scale: f64,
}

impl Pen<'_> {
    fn point(&self, x: f32, y: f32) -> (f64, f64) {
        (
            self.x + f64::from(x) * self.scale,
            self.y - f64::from(y) * self.scale,
        )
    }
}

impl ttf_parser::OutlineBuilder for Pen<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.point(x, y);
        self.path.move_to(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let (x, y) = self.point(x, y);
        self.path.line_to(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x1, y1) = self.point(x1, y1);
        let (x, y) = self.point(x, y);
        self.path.quad_to(x1, y1, x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (x1, y1) = self.point(x1, y1);
        let (x2, y2) = self.point(x2, y2);
        let (x, y) = self.point(x, y);
        self.path.cubic_to(x1, y1, x2, y2, x, y);
    }

    fn close(&mut self) {
        self.path.close();
    }
}
