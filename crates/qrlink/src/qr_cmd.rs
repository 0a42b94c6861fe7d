//! `qrlink qr TEXT`: encode, render, verify, then write or draw. Nothing is written unless an
//! independent decoder read the image back as the text.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use qrlink_qr::{Color, EcLevel, EncodeOptions, Format, Look, encode, render_verified};

use crate::cli::QrArgs;

pub fn run(args: &QrArgs) -> anyhow::Result<()> {
    let options = EncodeOptions {
        ecc: EcLevel::parse(&args.ecc)?,
        boost: !args.no_boost,
        version: args.version,
        mask: args.mask,
        micro: args.micro,
        ..EncodeOptions::default()
    };
    let symbol = encode(&args.text, &options)?;
    let border = args.border.unwrap_or_else(|| symbol.default_border());
    let scale = match (args.scale, args.size) {
        (Some(scale), _) => scale,
        (None, Some(size)) => {
            let side = (symbol.width() + 2 * border) as u32;
            if size < side {
                bail!(
                    "invalid size: {size} px is less than one pixel per module; this code needs at least {side} px (rule: minimum)"
                );
            }
            size / side
        }
        (None, None) => Look::default().scale,
    };
    let look = Look {
        border: Some(border),
        scale,
        dark: Color::parse("dark", &args.dark)?,
        light: Color::parse("light", &args.light)?,
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
    let bytes = render_verified(&symbol, format, &look)?;
    match &args.output {
        Some(path) => write_atomically(path, &bytes)?,
        None => std::io::stdout()
            .write_all(&bytes)
            .context("writing to standard output")?,
    }
    if args.output.is_some() {
        eprintln!(
            "verified: version {}, level {}, mask {}, {} modules + quiet zone {border}",
            symbol.version(),
            symbol.ecc().letter(),
            symbol.mask(),
            symbol.width()
        );
    }
    Ok(())
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
