//! Colours, and the contrast rules a printed code must meet (R-QR-4).

use crate::Error;

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color {
    /// Red, 0-255.
    pub r: u8,
    /// Green, 0-255.
    pub g: u8,
    /// Blue, 0-255.
    pub b: u8,
    /// Alpha, 0 (transparent) to 255 (opaque).
    pub a: u8,
}

impl Color {
    /// Opaque black, the default dark colour.
    pub const BLACK: Color = Color {
        r: 0,
        g: 0,
        b: 0,
        a: 255,
    };
    /// Opaque white, the default light colour.
    pub const WHITE: Color = Color {
        r: 255,
        g: 255,
        b: 255,
        a: 255,
    };
    /// No colour at all: the paper shows through.
    pub const TRANSPARENT: Color = Color {
        r: 255,
        g: 255,
        b: 255,
        a: 0,
    };

    /// Parses `#rgb`, `#rrggbb`, `#rrggbbaa`, `black`, `white` or `transparent`.
    pub fn parse(field: &'static str, input: &str) -> Result<Color, Error> {
        let text = input.trim().to_ascii_lowercase();
        match text.as_str() {
            "black" => return Ok(Color::BLACK),
            "white" => return Ok(Color::WHITE),
            "transparent" => return Ok(Color::TRANSPARENT),
            _ => {}
        }
        let bad = || {
            Error::option(
                field,
                "color",
                format!(
                    "`{input}` is not a colour: write #rrggbb, #rgb, #rrggbbaa, black, white or transparent"
                ),
            )
        };
        let hex = text.strip_prefix('#').ok_or_else(bad)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        let nibble = |i: usize| {
            u8::from_str_radix(&hex[i..i + 1], 16)
                .map(|v| v * 17)
                .map_err(|_| bad())
        };
        match hex.len() {
            3 => Ok(Color {
                r: nibble(0)?,
                g: nibble(1)?,
                b: nibble(2)?,
                a: 255,
            }),
            6 => Ok(Color {
                r: byte(0)?,
                g: byte(2)?,
                b: byte(4)?,
                a: 255,
            }),
            8 => Ok(Color {
                r: byte(0)?,
                g: byte(2)?,
                b: byte(4)?,
                a: byte(6)?,
            }),
            _ => Err(bad()),
        }
    }

    /// True when the colour has no transparency.
    pub fn is_opaque(self) -> bool {
        self.a == 255
    }

    /// `#rgb` or `#rrggbb` (without alpha), the shorter that is exact, for SVG.
    pub fn hex_rgb(self) -> String {
        let short = |c: u8| c.is_multiple_of(17);
        if short(self.r) && short(self.g) && short(self.b) {
            format!("#{:x}{:x}{:x}", self.r / 17, self.g / 17, self.b / 17)
        } else {
            format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
        }
    }

    /// The colour as it appears printed on white paper: alpha blended over white.
    pub fn over_white(self) -> Color {
        let blend = |c: u8| {
            ((u32::from(c) * u32::from(self.a) + 255 * (255 - u32::from(self.a))) / 255) as u8
        };
        Color {
            r: blend(self.r),
            g: blend(self.g),
            b: blend(self.b),
            a: 255,
        }
    }

    /// WCAG relative luminance, after blending over white.
    pub fn luminance(self) -> f64 {
        let c = self.over_white();
        let channel = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.04045 {
                s / 12.92
            } else {
                ((s + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)
    }

    /// 8-bit grey as a decoder sees it, after blending over white.
    pub fn luma(self) -> u8 {
        let c = self.over_white();
        ((299 * u32::from(c.r) + 587 * u32::from(c.g) + 114 * u32::from(c.b)) / 1000) as u8
    }
}

/// The WCAG contrast ratio of two colours (1 to 21); a transparent light colour counts as white.
pub fn contrast_ratio(a: Color, b: Color) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

/// Codes below this contrast are refused; below [`WARN_CONTRAST`] they get a warning.
pub const MIN_CONTRAST: f64 = 3.0;
/// Codes below this contrast get a warning.
pub const WARN_CONTRAST: f64 = 4.5;

/// Refuses colour pairs that scanners cannot rely on: too little contrast, or inverted
/// (light modules darker than dark ones, which many scanners do not read).
pub fn check_colors(dark: Color, light: Color) -> Result<(), Error> {
    let ratio = contrast_ratio(dark, light);
    if ratio < MIN_CONTRAST {
        return Err(Error::option(
            "dark",
            "contrast",
            format!(
                "the contrast between dark {} and light {} is {ratio:.2}:1; at least {MIN_CONTRAST}:1 is needed to scan",
                dark.hex_rgb(),
                if light.a == 0 {
                    "transparent".into()
                } else {
                    light.hex_rgb()
                }
            ),
        ));
    }
    if dark.luminance() > light.luminance() {
        return Err(Error::option(
            "dark",
            "inverted",
            "the dark colour is lighter than the light colour; many scanners cannot read inverted codes",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_measures_contrast() {
        assert_eq!(Color::parse("dark", "#000").unwrap(), Color::BLACK);
        assert_eq!(Color::parse("dark", "#FFFFFF").unwrap(), Color::WHITE);
        assert_eq!(
            Color::parse("dark", "#11223380").unwrap(),
            Color {
                r: 0x11,
                g: 0x22,
                b: 0x33,
                a: 0x80
            }
        );
        assert_eq!(
            Color::parse("dark", "red").unwrap_err().code(),
            "invalid_option"
        );
        assert!((contrast_ratio(Color::BLACK, Color::WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(Color::BLACK, Color::TRANSPARENT) - 21.0).abs() < 1e-9);
        assert!(check_colors(Color::BLACK, Color::WHITE).is_ok());
        let same = check_colors(
            Color::parse("dark", "#777").unwrap(),
            Color::parse("light", "#777").unwrap(),
        );
        assert!(matches!(
            same,
            Err(Error::InvalidOption {
                rule: "contrast",
                ..
            })
        ));
        assert!(matches!(
            check_colors(Color::WHITE, Color::BLACK),
            Err(Error::InvalidOption {
                rule: "inverted",
                ..
            })
        ));
    }
}
