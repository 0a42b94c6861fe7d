//! Verification (R-QR-4): an independent decoder (rxing) reads the image back, and only an
//! image whose decoded text equals the payload is handed out.

use rxing::BarcodeFormat;

use crate::color::Color;
use crate::render::{Look, eps::to_eps, pdf::to_pdf, png::to_png, svg::to_svg, text};
use crate::{Error, Symbol};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Scalable vector graphics, one compact path (or shapes when styled).
    Svg,
    /// Portable network graphics: 1-bit when plain, RGB(A) when styled.
    Png,
    /// Vector, one page of the exact physical size.
    Pdf,
    /// Encapsulated PostScript, vector.
    Eps,
    /// `1`/`0` rows, quiet zone included.
    Text,
    /// Unicode half blocks with ANSI colours.
    Terminal,
}

impl Format {
    /// Parses `svg`, `png`, `pdf`, `eps`, `txt` or `terminal`.
    pub fn parse(input: &str) -> Result<Format, Error> {
        match input.trim().to_ascii_lowercase().as_str() {
            "svg" => Ok(Format::Svg),
            "png" => Ok(Format::Png),
            "pdf" => Ok(Format::Pdf),
            "eps" => Ok(Format::Eps),
            "txt" | "text" => Ok(Format::Text),
            "terminal" => Ok(Format::Terminal),
            other => Err(Error::option(
                "format",
                "one_of",
                format!("`{other}` is not a format: use svg, png, pdf, eps, txt or terminal"),
            )),
        }
    }

    /// The format a file name implies, by its extension.
    pub fn from_extension(path: &str) -> Option<Format> {
        let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match extension.as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            "pdf" => Some(Format::Pdf),
            "eps" | "ps" => Some(Format::Eps),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }
}

/// Renders `symbol` in `format` and returns the bytes only if they scan back to its payload.
///
/// PNG bytes are decoded as written, and SVG bytes after rasterising them with resvg. PDF,
/// EPS, text and terminal output are written from the same module model and colours as the
/// PNG, which is what gets decoded for them, at most 10 pixels per module (the tests also
/// rasterise real PDF and EPS bytes with poppler and Ghostscript).
pub fn render_verified(symbol: &Symbol, format: Format, look: &Look) -> Result<Vec<u8>, Error> {
    look.check(symbol.width())?;
    if let Some(logo) = &look.logo {
        crate::logo::check_logo(symbol, logo)?;
    }
    if format == Format::Svg {
        let svg = to_svg(symbol, look)?;
        let side = symbol.width() + 2 * look.border.unwrap_or_else(|| symbol.default_border());
        verify_svg_at(
            svg.as_bytes(),
            symbol.payload(),
            symbol.is_micro(),
            4 * side as u32,
        )?;
        return Ok(svg.into_bytes());
    }
    if format == Format::Png {
        let png = to_png(symbol, look)?;
        verify_png(&png, symbol.payload(), symbol.is_micro())?;
        return Ok(png);
    }
    // The other formats are drawn from the same modules and colours as a PNG at any scale;
    // one at no more than the default scale is decoded, so a large print costs no more to
    // verify than a small one.
    let check = Look {
        scale: look.scale.min(Look::default().scale),
        ..look.clone()
    };
    verify_png(
        &to_png(symbol, &check)?,
        symbol.payload(),
        symbol.is_micro(),
    )?;
    Ok(match format {
        Format::Png | Format::Svg => unreachable!("handled above"),
        Format::Pdf => to_pdf(symbol, look)?,
        Format::Eps => to_eps(symbol, look)?,
        Format::Text => text::to_text_matrix(symbol, look.border).into_bytes(),
        Format::Terminal => text::to_terminal(symbol, look.border).into_bytes(),
    })
}

/// Decodes PNG bytes (transparent pixels count as white paper) and checks the text.
pub fn verify_png(png: &[u8], expected: &str, micro: bool) -> Result<(), Error> {
    let (luma, width, height) = png_to_luma(png)?;
    verify_luma(luma, width, height, expected, micro)
}

/// Rasterises SVG bytes with resvg, 800 pixels wide, and checks the text.
pub fn verify_svg(svg: &[u8], expected: &str, micro: bool) -> Result<(), Error> {
    verify_svg_at(svg, expected, micro, 800)
}

/// Rasterises SVG bytes `pixels_wide` wide (about 4 pixels per module is what a camera needs).
fn verify_svg_at(svg: &[u8], expected: &str, micro: bool, pixels_wide: u32) -> Result<(), Error> {
    use resvg::{tiny_skia, usvg};
    let tree = usvg::Tree::from_data(svg, &usvg::Options::default())
        .map_err(|e| Error::Unreadable(format!("not a readable SVG: {e}")))?;
    let size = tree.size();
    let zoom = pixels_wide as f32 / size.width();
    let (width, height) = (
        (size.width() * zoom).ceil() as u32,
        (size.height() * zoom).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| Error::Unreadable("SVG has no area".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(zoom, zoom),
        &mut pixmap.as_mut(),
    );
    // Premultiplied RGBA over white paper.
    let luma = pixmap
        .data()
        .chunks_exact(4)
        .map(|p| {
            let over_white = |c: u8| c.saturating_add(255 - p[3]);
            Color {
                r: over_white(p[0]),
                g: over_white(p[1]),
                b: over_white(p[2]),
                a: 255,
            }
            .luma()
        })
        .collect();
    verify_luma(luma, width, height, expected, micro)
}

fn verify_luma(
    luma: Vec<u8>,
    width: u32,
    height: u32,
    expected: &str,
    micro: bool,
) -> Result<(), Error> {
    let format = if micro {
        BarcodeFormat::MICRO_QR_CODE
    } else {
        BarcodeFormat::QR_CODE
    };
    let decoded =
        rxing::helpers::detect_in_luma(luma, width, height, Some(format)).map_err(|e| {
            Error::Unreadable(format!(
                "the decoder found no readable code ({e}); check contrast, colours and quiet zone"
            ))
        })?;
    if decoded.getText() != expected {
        return Err(Error::Unreadable(format!(
            "the decoder read {:?} instead of the payload",
            decoded.getText()
        )));
    }
    Ok(())
}

/// Decodes a PNG into 8-bit luma, blending any transparency over white.
pub fn png_to_luma(png: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| Error::Unreadable(format!("not a readable PNG: {e}")))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| Error::Unreadable("PNG too large".into()))?;
    let mut buffer = vec![0; size];
    let info = reader
        .next_frame(&mut buffer)
        .map_err(|e| Error::Unreadable(format!("not a readable PNG: {e}")))?;
    let pixels = &buffer[..info.buffer_size()];
    let luma: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => pixels.to_vec(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .map(|p| {
                Color {
                    r: p[0],
                    g: p[0],
                    b: p[0],
                    a: p[1],
                }
                .luma()
            })
            .collect(),
        png::ColorType::Rgb => pixels
            .chunks_exact(3)
            .map(|p| {
                Color {
                    r: p[0],
                    g: p[1],
                    b: p[2],
                    a: 255,
                }
                .luma()
            })
            .collect(),
        png::ColorType::Rgba => pixels
            .chunks_exact(4)
            .map(|p| {
                Color {
                    r: p[0],
                    g: p[1],
                    b: p[2],
                    a: p[3],
                }
                .luma()
            })
            .collect(),
        png::ColorType::Indexed => {
            return Err(Error::Unreadable("palette was not expanded".into()));
        }
    };
    Ok((luma, info.width, info.height))
}
