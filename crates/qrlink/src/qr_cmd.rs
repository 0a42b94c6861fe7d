//! `qrlink qr TEXT`: encode, render, verify, then write or draw. Nothing is written unless an
//! independent decoder read the image back as the text.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use qrlink_qr::payload::{self, Contact, Transfer, WifiSecurity};
use qrlink_qr::{
    Color, EcLevel, EncodeOptions, Fill, FinderShape, Format, Logo, Look, ModuleShape, Style,
    encode, render_verified,
};

use crate::cli::{ContactArgs, QrArgs, QrHelper, RenderArgs};

/// `qrlink qr`: a code for any text or helper payload.
pub fn run(qr: &QrArgs) -> anyhow::Result<()> {
    let text = match (&qr.helper, &qr.text) {
        (Some(helper), _) => helper_payload(helper)?,
        (None, Some(text)) => text.clone(),
        (None, None) => bail!("give the TEXT to encode, or a helper such as `wifi`"),
    };
    render(&text, &qr.render)
}

/// A verified code: its bytes, and what the print check needs.
#[derive(Debug)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    symbol: qrlink_qr::Symbol,
    look: Look,
}

impl Image {
    /// The print check of this image (R-QR-4): contrast, quiet zone, logo coverage.
    pub fn print_check(&self) -> qrlink_qr::PrintCheck {
        qrlink_qr::print_check(&self.symbol, &self.look, None)
    }
}

/// Encodes `text`, renders it as `args` ask, verifies it and writes or draws it.
pub fn render(text: &str, args: &RenderArgs) -> anyhow::Result<()> {
    let Image {
        bytes,
        symbol,
        look,
        ..
    } = image(text, args)?;
    let border = look.border.unwrap_or_default();
    match &args.output {
        Some(path) => write_atomically(path, &bytes)?,
        None => std::io::stdout()
            .write_all(&bytes)
            .context("writing to standard output")?,
    }
    let check = qrlink_qr::print_check(
        &symbol,
        &look,
        args.scan_distance.map(|metres| metres * 1000.0),
    );
    if args.output.is_some() {
        eprintln!(
            "verified: version {}, level {}, mask {}, {} modules + quiet zone {border}, contrast {:.1}:1",
            symbol.version(),
            symbol.ecc().letter(),
            symbol.mask(),
            symbol.width(),
            check.contrast,
        );
    }
    if let (Some(width), Some(module)) = (check.min_width_mm, check.min_module_mm()) {
        eprintln!(
            "print at least {width:.0} mm wide without the quiet zone ({module:.2} mm per module) to scan from {:.1} m",
            width / 100.0
        );
    }
    if let Some((hidden, repairable)) = check.logo_modules {
        eprintln!(
            "the logo hides {hidden} modules; level {} can repair about {repairable}",
            symbol.ecc().letter()
        );
    }
    for warning in &check.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// Encodes `text` as `args` ask and renders it, verified by a decoder: what `qrlink qr` writes
/// and what the API sends.
pub fn image(text: &str, args: &RenderArgs) -> anyhow::Result<Image> {
    // Every option is checked before anything is written.
    if let Some(distance) = args.scan_distance
        && !(distance.is_finite() && distance > 0.0)
    {
        bail!("invalid scan_distance: give a positive distance in metres (rule: positive)");
    }
    let logo = match (&args.logo_bytes, &args.logo) {
        (Some(bytes), _) => Some(std::sync::Arc::new(Logo::decode(bytes, args.logo_size)?)),
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the logo {}", path.display()))?;
            Some(std::sync::Arc::new(Logo::decode(&bytes, args.logo_size)?))
        }
        (None, None) => None,
    };
    let ecc = match (&args.ecc, &logo) {
        (Some(level), _) => EcLevel::parse(level)?,
        (None, Some(_)) => EcLevel::H,
        (None, None) => EcLevel::M,
    };
    let options = EncodeOptions {
        ecc,
        boost: !args.no_boost,
        version: args.version,
        mask: args.mask,
        micro: args.micro,
        ..EncodeOptions::default()
    };
    let symbol = encode(text, &options)?;
    let border = args.border.unwrap_or_else(|| symbol.default_border());
    let side = (symbol.width() + 2 * border) as u32;
    let mut look = Look {
        border: Some(border),
        dark: Color::parse("dark", &args.dark)?,
        light: Color::parse("light", &args.light)?,
        style: Style {
            shape: ModuleShape::parse(&args.shape)?,
            finder: FinderShape::parse(&args.finder)?,
            fill: match (args.gradient.as_deref(), args.dark2.as_deref()) {
                (Some("radial"), Some(end)) => Fill::Radial(Color::parse("dark2", end)?),
                (Some(_), Some(end)) => Fill::Linear(Color::parse("dark2", end)?),
                _ => Fill::Solid,
            },
        },
        logo,
        caption: args.caption.clone(),
        ..Look::default()
    };
    let format = match (&args.format, &args.output) {
        (Some(format), _) => Format::parse(format)?,
        (None, Some(path)) => {
            Format::from_extension(&path.to_string_lossy()).with_context(|| {
                format!(
                    "cannot tell the format from `{}`; add --format svg|png|txt",
                    path.display()
                )
            })?
        }
        (None, None) => Format::Terminal,
    };
    let scale_field = match (args.scale, args.size, args.mm) {
        (Some(scale), _, _) => {
            look.scale = scale;
            "scale"
        }
        (None, Some(size), _) => {
            look.scale = pixels_per_module("size", f64::from(size), side)?;
            "size"
        }
        (None, None, Some(mm)) => {
            if !(mm.is_finite() && mm > 0.0) {
                bail!(
                    "invalid mm: the printed width must be a positive number of millimetres (rule: positive)"
                );
            }
            look.module_um = (mm * 1000.0 / f64::from(side)).round() as u32;
            // Pixels matter only for PNG; vector formats are drawn at any size.
            if format == Format::Png {
                look.scale = pixels_per_module("mm", mm / 25.4 * f64::from(args.dpi), side)?;
            }
            "mm"
        }
        (None, None, None) => "scale",
    };
    if let Some(max) = args.max_png_side
        && format == Format::Png
        && u64::from(side) * u64::from(look.scale) > u64::from(max)
    {
        return Err(qrlink_qr::Error::InvalidOption {
            field: scale_field,
            rule: "too_large",
            message: format!(
                "the PNG would be {} pixels wide; at most {max} are drawn here (use SVG, PDF or EPS for large prints)",
                u64::from(side) * u64::from(look.scale)
            ),
        }
        .into());
    }
    let bytes = render_verified(&symbol, format, &look)?;
    let content_type = match format {
        Format::Svg => "image/svg+xml",
        Format::Png => "image/png",
        Format::Pdf => "application/pdf",
        Format::Eps => "application/postscript",
        Format::Text | Format::Terminal => "text/plain; charset=utf-8",
    };
    Ok(Image {
        bytes,
        content_type,
        symbol,
        look,
    })
}

/// Whole pixels per module for an image `pixels` wide, refusing less than one.
fn pixels_per_module(field: &str, pixels: f64, side: u32) -> anyhow::Result<u32> {
    let scale = (pixels / f64::from(side)).floor();
    if scale < 1.0 {
        bail!(
            "invalid {field}: {pixels:.0} px is less than one pixel per module; this code needs at least {side} px (rule: minimum)"
        );
    }
    Ok(scale as u32)
}

/// Builds a helper's payload, escaped for its format (R-QR-5).
fn helper_payload(helper: &QrHelper) -> anyhow::Result<String> {
    let contact = |c: &ContactArgs| Contact {
        name: c.name.clone(),
        organisation: c.org.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        url: c.url.clone(),
        address: c.address.clone(),
        note: c.note.clone(),
    };
    Ok(match helper {
        QrHelper::Wifi {
            ssid,
            password,
            security,
            hidden,
        } => payload::wifi(
            ssid,
            password.as_deref(),
            WifiSecurity::parse(security)?,
            *hidden,
        )?,
        QrHelper::Vcard(c) => payload::vcard(&contact(c))?,
        QrHelper::Mecard(c) => payload::mecard(&contact(c))?,
        QrHelper::Geo { lat, lon } => payload::geo(*lat, *lon)?,
        QrHelper::Email { to, subject, body } => {
            payload::email(to, subject.as_deref(), body.as_deref())?
        }
        QrHelper::Sms { number, body } => payload::sms(number, body.as_deref())?,
        QrHelper::Tel { number } => payload::tel(number)?,
        QrHelper::Epc {
            name,
            iban,
            bic,
            amount,
            reference,
            text,
        } => payload::epc(&Transfer {
            name: name.clone(),
            iban: iban.clone(),
            bic: bic.clone(),
            amount_cents: amount.as_deref().map(euro_cents).transpose()?,
            reference: reference.clone(),
            text: text.clone(),
        })?,
    })
}

/// `12`, `12.5` or `12.50` euro as cents.
fn euro_cents(input: &str) -> anyhow::Result<u64> {
    let bad = || {
        anyhow::anyhow!(
            "invalid amount: `{input}` is not an amount in euro such as 12.50 (rule: format)"
        )
    };
    let (whole, fraction) = input.trim().split_once('.').unwrap_or((input.trim(), ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let fraction: u64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|c| c.checked_add(fraction))
        .ok_or_else(bad)
}

/// Writes next to the target and renames, so a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let file_name = path
        .file_name()
        .with_context(|| format!("`{}` is not a file name", path.display()))?;
    let temporary = path.with_file_name(format!(".{}.partial", file_name.to_string_lossy()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}
