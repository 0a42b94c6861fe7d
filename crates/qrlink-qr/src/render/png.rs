//! PNG: 1-bit greyscale for black on white, else a 2-colour palette (with transparency when
//! asked), through the `png` crate with the zlib-rs backend.

use super::Look;
use crate::color::Color;
use crate::{Error, Symbol};

/// Draws the symbol at `look.scale` pixels per module.
pub fn to_png(symbol: &Symbol, look: &Look) -> Result<Vec<u8>, Error> {
    look.check(symbol.width())?;
    if !look.is_plain() {
        return styled_png(symbol, look);
    }
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let scale = look.scale as usize;
    let side = (symbol.width() + 2 * border) * scale;
    let row_bytes = side.div_ceil(8);
    // Bit 1 is the light colour: greyscale white, or palette entry 1.
    let mut pixels = vec![0xffu8; row_bytes * side];
    for y in 0..symbol.width() {
        let row = symbol.row(y);
        let line_start = (y + border) * scale * row_bytes;
        let line = &mut pixels[line_start..line_start + row_bytes];
        for (x, _) in row.iter().enumerate().filter(|(_, dark)| **dark) {
            let first = (x + border) * scale;
            for px in first..first + scale {
                line[px / 8] &= !(0x80 >> (px % 8));
            }
        }
        let (first, rest) =
            pixels[line_start..line_start + scale * row_bytes].split_at_mut(row_bytes);
        for copy in rest.chunks_exact_mut(row_bytes) {
            copy.copy_from_slice(first);
        }
    }
    let width = u32::try_from(side).map_err(|_| Error::Render("image too large".into()))?;
    write_png(width, width, &pixels, |encoder| {
        encoder.set_depth(png::BitDepth::One);
        if look.dark == Color::BLACK && look.light == Color::WHITE {
            encoder.set_color(png::ColorType::Grayscale);
        } else {
            encoder.set_color(png::ColorType::Indexed);
            let (dark, light) = (look.dark, look.light);
            encoder.set_palette(vec![dark.r, dark.g, dark.b, light.r, light.g, light.b]);
            if !(dark.is_opaque() && light.is_opaque()) {
                encoder.set_trns(vec![dark.a, light.a]);
            }
        }
        // Measured on the sample link (bench/qr.sh): no filter with deflate level 4 gives 567
        // bytes in about 64 us; level 9 saves 55 bytes for four times the time, and the `Up`
        // filter, though it zeroes repeated rows, compresses worse at every level but the fastest.
        encoder.set_deflate_compression(png::DeflateCompression::Level(4));
        encoder.set_filter(png::Filter::NoFilter);
    })
}

/// Writes one PNG image; `setup` chooses colour type, depth, palette, filter and compression.
pub(crate) fn write_png(
    width: u32,
    height: u32,
    data: &[u8],
    setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    setup(&mut encoder);
    let mut writer = encoder
        .write_header()
        .map_err(|e| Error::Render(e.to_string()))?;
    writer
        .write_image_data(data)
        .map_err(|e| Error::Render(e.to_string()))?;
    writer.finish().map_err(|e| Error::Render(e.to_string()))?;
    Ok(bytes)
}

/// A styled code: the styled SVG rasterised by resvg, written as 8-bit RGBA.
fn styled_png(symbol: &Symbol, look: &Look) -> Result<Vec<u8>, Error> {
    use resvg::{tiny_skia, usvg};
    let svg = super::styled::to_styled_svg(symbol, look)?;
    let tree = usvg::Tree::from_data(svg.as_bytes(), &usvg::Options::default())
        .map_err(|e| Error::Render(e.to_string()))?;
    let border = look.border.unwrap_or_else(|| symbol.default_border());
    let side = ((symbol.width() + 2 * border) as u32) * look.scale;
    let zoom = side as f32 / tree.size().width();
    // A caption makes the image taller than wide.
    let height = (tree.size().height() * zoom).round() as u32;
    let mut pixmap =
        tiny_skia::Pixmap::new(side, height).ok_or_else(|| Error::Render("empty image".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(zoom, zoom),
        &mut pixmap.as_mut(),
    );
    let rgba = pixmap.take();
    // An opaque background leaves nothing transparent: write RGB, a quarter less to compress.
    let opaque = look.light.is_opaque() && look.dark.is_opaque();
    let (samples, color) = if opaque {
        (
            rgba.chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            png::ColorType::Rgb,
        )
    } else {
        // tiny-skia keeps premultiplied alpha; PNG wants it straight.
        let mut straight = rgba;
        for pixel in straight.chunks_exact_mut(4) {
            let alpha = u32::from(pixel[3]);
            if alpha != 0 && alpha != 255 {
                for channel in &mut pixel[..3] {
                    *channel = ((u32::from(*channel) * 255 + alpha / 2) / alpha).min(255) as u8;
                }
            }
        }
        (straight, png::ColorType::Rgba)
    };
    write_png(side, height, &samples, |encoder| {
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        // Measured on a 1000 px styled code with a logo (bench/qr.sh): the `Up` filter with the
        // fastest deflate takes about 10 ms where adaptive filtering at level 4 took 18 ms, for
        // files about 40 % larger; drawing time matters more than bytes for print images.
        encoder.set_deflate_compression(png::DeflateCompression::FdeflateUltraFast);
        encoder.set_filter(png::Filter::Up);
    })
}
