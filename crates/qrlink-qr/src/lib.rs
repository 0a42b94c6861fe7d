//! QR codes for qrlink: encode a payload into a [`Symbol`], render it as SVG, PNG or text,
//! and prove that it scans. Pure and synchronous: no I/O, no clock, no global state.
//!
//! ```
//! use qrlink_qr::{encode, EncodeOptions, Format, Look, render_verified};
//!
//! let symbol = encode("HTTPS://GO.EXAMPLE.ORG/PYCON-TALK", &EncodeOptions::default()).unwrap();
//! assert_eq!(symbol.version().to_string(), "2");
//! // Only bytes that an independent decoder read back as the payload are returned.
//! let png = render_verified(&symbol, Format::Png, &Look::default()).unwrap();
//! assert!(png.starts_with(b"\x89PNG"));
//! ```

#![warn(missing_docs)]

pub mod check;
pub mod color;
mod encode;
mod error;
pub mod logo;
pub mod payload;
pub mod render;
pub mod style;
mod verify;

pub use check::{PrintCheck, print_check};
pub use color::Color;
pub use encode::{EcLevel, EncodeOptions, Symbol, Version, encode};
pub use error::Error;
pub use logo::Logo;
pub use render::Look;
pub use style::{Fill, FinderShape, ModuleShape, Style};
pub use verify::{Format, png_to_luma, render_verified, verify_png, verify_svg};
