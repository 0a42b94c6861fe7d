//! The print check (R-QR-4): what a person printing the code should know before printing.

use crate::Symbol;
use crate::color::{MIN_CONTRAST, WARN_CONTRAST, contrast_ratio};
use crate::render::Look;

/// The findings of a print check. Refusals (contrast below 3:1, inverted colours) are errors
/// from [`crate::render_verified`]; what is here are measurements and warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintCheck {
    /// WCAG contrast between dark and light (a transparent light counts as white paper).
    pub contrast: f64,
    /// Quiet zone in modules, and what the standard asks for.
    pub quiet_zone: usize,
    /// The quiet zone the standard asks for (4 modules, 2 for Micro QR).
    pub standard_quiet_zone: usize,
    /// Modules per side without quiet zone.
    pub modules: usize,
    /// For a scan distance: the smallest symbol width (without quiet zone) in millimetres,
    /// one tenth of the distance, and the module size that gives.
    pub min_width_mm: Option<f64>,
    /// With a logo: the modules it hides, and about how many the error correction can repair.
    pub logo_modules: Option<(usize, usize)>,
    /// Sentences for people about what may make the code hard to scan.
    pub warnings: Vec<String>,
}

impl PrintCheck {
    /// The smallest module size in millimetres for the scan distance, if one was given.
    pub fn min_module_mm(&self) -> Option<f64> {
        self.min_width_mm.map(|width| width / self.modules as f64)
    }
}

/// Checks a symbol as it would be printed with `look`, optionally for a scan distance in mm.
pub fn print_check(symbol: &Symbol, look: &Look, scan_distance_mm: Option<f64>) -> PrintCheck {
    // With a gradient, the weaker end is what scanners must cope with.
    let contrast = look
        .style
        .dark_extremes(look.dark)
        .into_iter()
        .map(|dark| contrast_ratio(dark, look.light))
        .fold(f64::INFINITY, f64::min);
    let quiet_zone = look.border.unwrap_or_else(|| symbol.default_border());
    let standard_quiet_zone = symbol.default_border();
    let mut warnings = Vec::new();
    if contrast < MIN_CONTRAST {
        warnings.push(format!(
            "contrast {contrast:.2}:1 is below {MIN_CONTRAST}:1; this code is refused"
        ));
    } else if contrast < WARN_CONTRAST {
        warnings.push(format!(
            "contrast {contrast:.2}:1 is below {WARN_CONTRAST}:1; older phones and dim rooms may fail to scan it"
        ));
    }
    if quiet_zone < standard_quiet_zone {
        warnings.push(format!(
            "the quiet zone is {quiet_zone} modules, the standard asks for {standard_quiet_zone}; keep the printed surroundings plain"
        ));
    }
    if look.light.a == 0 {
        warnings
            .push("the background is transparent: print it on a light, plain surface".to_owned());
    }
    let logo_modules = look
        .logo
        .as_ref()
        .filter(|_| !symbol.is_micro())
        .map(|logo| {
            let (_, count) = logo.cleared(symbol.width());
            (
                count * count,
                crate::logo::repairable_modules(symbol.version(), symbol.ecc()),
            )
        });
    PrintCheck {
        logo_modules,
        contrast,
        quiet_zone,
        standard_quiet_zone,
        modules: symbol.width(),
        min_width_mm: scan_distance_mm.map(|distance| distance / 10.0),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Color, EncodeOptions, encode};

    #[test]
    fn reports_contrast_quiet_zone_and_print_size() {
        let symbol = encode(
            "https://example.org/qr/talk-0001",
            &EncodeOptions::default(),
        )
        .unwrap();
        let plain = print_check(&symbol, &Look::default(), Some(2000.0));
        assert!((plain.contrast - 21.0).abs() < 1e-9);
        assert!(plain.warnings.is_empty(), "{:?}", plain.warnings);
        assert_eq!(
            plain.min_width_mm,
            Some(200.0),
            "2 m away needs a 20 cm symbol"
        );
        assert!((plain.min_module_mm().unwrap() - 200.0 / 29.0).abs() < 1e-9);
        let grey = Look {
            dark: Color::parse("dark", "#777").unwrap(),
            border: Some(1),
            ..Look::default()
        };
        let check = print_check(&symbol, &grey, None);
        assert!(
            check.contrast > 3.0 && check.contrast < 4.5,
            "{}",
            check.contrast
        );
        assert_eq!(check.warnings.len(), 2, "{:?}", check.warnings);
    }
}
