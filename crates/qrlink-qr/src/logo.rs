//! Logos in the centre of a code (R-QR-3): PNG or JPEG, decoded and re-encoded as a plain
//! PNG (no metadata, nothing but pixels survives), within size limits, and measured against
//! what the error correction can repair.

use crate::{EcLevel, Error, Symbol, Version};

/// The largest logo file accepted, and the largest side in pixels.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;
/// The largest logo side in pixels.
pub const MAX_LOGO_PIXELS: u32 = 4096;

/// A decoded, re-encoded logo and how large to draw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    png: Vec<u8>,
    width: u32,
    height: u32,
    /// Width of the logo's box as a percentage of the symbol's width (without quiet zone).
    pub size_percent: u8,
}

impl Logo {
    /// Reads PNG or JPEG bytes (by their signature, not a file name).
    pub fn decode(bytes: &[u8], size_percent: u8) -> Result<Logo, Error> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(Error::option(
                "logo",
                "too_large",
                format!("a logo file has at most {} KiB", MAX_LOGO_BYTES / 1024),
            ));
        }
        if !(5..=40).contains(&size_percent) {
            return Err(Error::option(
                "logo_size",
                "range",
                "the logo is 5 to 40 % of the symbol's width",
            ));
        }
        let (rgba, width, height) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            decode_png(bytes)?
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            decode_jpeg(bytes)?
        } else {
            return Err(Error::option(
                "logo",
                "type",
                "a logo must be a PNG or JPEG image",
            ));
        };
        let png = encode_rgba(&rgba, width, height)?;
        Ok(Logo {
            png,
            width,
            height,
            size_percent,
        })
    }

    /// The re-encoded PNG.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// The logo's pixels as 8-bit RGBA, for writers that embed raw samples (PDF, EPS).
    pub(crate) fn rgba(&self) -> Result<(Vec<u8>, u32, u32), Error> {
        let (rgba, width, height) = decode_png(&self.png)?;
        Ok((rgba, width, height))
    }

    /// The logo's width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The square of modules cleared for the logo, centred: `(first, count)` on each axis,
    /// with one module of margin around the logo's box.
    pub fn cleared(&self, symbol_width: usize) -> (usize, usize) {
        let box_modules =
            (symbol_width as f64 * f64::from(self.size_percent) / 100.0).ceil() as usize;
        let mut count = box_modules + 2;
        // Keep the cleared square centred on the symbol's centre module.
        if count % 2 != symbol_width % 2 {
            count += 1;
        }
        ((symbol_width - count) / 2, count)
    }
}

fn too_big(width: u32, height: u32) -> Result<(), Error> {
    if width == 0 || height == 0 || width > MAX_LOGO_PIXELS || height > MAX_LOGO_PIXELS {
        return Err(Error::option(
            "logo",
            "dimensions",
            format!(
                "a logo is 1 to {MAX_LOGO_PIXELS} pixels wide and high, this one is {width}x{height}"
            ),
        ));
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    let bad = |e: png::DecodingError| {
        Error::option(
            "logo",
            "unreadable",
            format!("the PNG logo cannot be read: {e}"),
        )
    };
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(
        png::Transformations::EXPAND | png::Transformations::STRIP_16 | png::Transformations::ALPHA,
    );
    // Check the size before allocating for the pixels.
    let header = decoder.read_header_info().map_err(bad)?;
    too_big(header.width, header.height)?;
    let mut reader = decoder.read_info().map_err(bad)?;
    let mut buffer = vec![
        0;
        reader.output_buffer_size().ok_or_else(|| Error::option(
            "logo",
            "dimensions",
            "the PNG logo is too large"
        ))?
    ];
    let info = reader.next_frame(&mut buffer).map_err(bad)?;
    let pixels = &buffer[..info.buffer_size()];
    let rgba = match info.color_type {
        png::ColorType::Rgba => pixels.to_vec(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks_exact(2)
            .flat_map(|p| [p[0], p[0], p[0], p[1]])
            .collect(),
        other => {
            return Err(Error::option(
                "logo",
                "unreadable",
                format!("unexpected PNG colour type {other:?}"),
            ));
        }
    };
    Ok((rgba, info.width, info.height))
}

fn decode_jpeg(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let bad = |e: String| {
        Error::option(
            "logo",
            "unreadable",
            format!("the JPEG logo cannot be read: {e}"),
        )
    };
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGBA)
        .set_max_width(MAX_LOGO_PIXELS as usize)
        .set_max_height(MAX_LOGO_PIXELS as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| bad(format!("{e:?}")))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| bad("no dimensions".into()))?;
    too_big(width as u32, height as u32)?;
    let rgba = decoder.decode().map_err(|e| bad(format!("{e:?}")))?;
    Ok((rgba, width as u32, height as u32))
}

fn encode_rgba(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, Error> {
    crate::render::png::write_png(width, height, rgba, |encoder| {
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
    })
}

/// Modules that carry codewords in a QR symbol of this version (ISO/IEC 18004 table 1):
/// everything but the finder, timing, alignment, format and version patterns.
pub fn data_modules(version: Version) -> usize {
    match version {
        Version::Normal(v) => {
            let v = usize::from(v);
            let mut modules = (16 * v + 128) * v + 64;
            if v >= 2 {
                let alignments = v / 7 + 2;
                modules -= (25 * alignments - 10) * alignments - 55;
                if v >= 7 {
                    modules -= 36;
                }
            }
            modules
        }
        // Micro QR: a logo is never allowed, so the figure only needs to be positive.
        Version::Micro(v) => [36, 80, 132, 192][usize::from(v.clamp(1, 4)) - 1],
    }
}

/// How many modules the error correction can repair, roughly: the level's share of codewords.
pub fn repairable_modules(version: Version, ecc: EcLevel) -> usize {
    let share = match ecc {
        EcLevel::L => 0.07,
        EcLevel::M => 0.15,
        EcLevel::Q => 0.25,
        EcLevel::H => 0.30,
    };
    (data_modules(version) as f64 * share) as usize
}

/// Refuses a logo that hides more modules than the error correction can repair, keeping half
/// the budget for dirt, glare and creases.
pub fn check_logo(symbol: &Symbol, logo: &Logo) -> Result<usize, Error> {
    if symbol.is_micro() {
        return Err(Error::option(
            "logo",
            "micro",
            "Micro QR symbols are too small for a logo",
        ));
    }
    let (_, count) = logo.cleared(symbol.width());
    let covered = count * count;
    let budget = repairable_modules(symbol.version(), symbol.ecc()) / 2;
    if covered > budget {
        return Err(Error::option(
            "logo",
            "coverage",
            format!(
                "the logo hides {covered} modules, but level {} at version {} can spare about {budget}; make it smaller or use level H",
                symbol.ecc().letter(),
                symbol.version()
            ),
        ));
    }
    Ok(covered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_module_counts_match_the_standard() {
        // ISO/IEC 18004 table 1: versions 1, 2, 7 and 40.
        assert_eq!(data_modules(Version::Normal(1)), 208);
        assert_eq!(data_modules(Version::Normal(2)), 359);
        assert_eq!(data_modules(Version::Normal(7)), 1568);
        assert_eq!(data_modules(Version::Normal(40)), 29648);
    }
}
