//! From a payload and options to a `Symbol`: the module matrix and what was chosen.

use qrcode_generator::{EncodeError, SymbolVersion};

use crate::Error;

/// Error-correction level: about 7, 15, 25 and 30 % of codewords recoverable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EcLevel {
    /// Low: about 7 % of codewords recoverable.
    L,
    /// Medium: about 15 %, the default.
    M,
    /// Quartile: about 25 %.
    Q,
    /// High: about 30 %, the default with a logo.
    H,
}

impl EcLevel {
    /// Parses `L`, `M`, `Q` or `H` (either case).
    pub fn parse(input: &str) -> Result<EcLevel, Error> {
        match input.trim().to_ascii_uppercase().as_str() {
            "L" => Ok(EcLevel::L),
            "M" => Ok(EcLevel::M),
            "Q" => Ok(EcLevel::Q),
            "H" => Ok(EcLevel::H),
            _ => Err(Error::option(
                "ecc",
                "one_of",
                format!("`{input}` is not an error-correction level: use L, M, Q or H"),
            )),
        }
    }

    /// The level as its letter, `L`, `M`, `Q` or `H`.
    pub fn letter(self) -> char {
        match self {
            EcLevel::L => 'L',
            EcLevel::M => 'M',
            EcLevel::Q => 'Q',
            EcLevel::H => 'H',
        }
    }
}

/// The symbol size: a QR version (1-40, 21 to 177 modules) or a Micro QR version (M1-M4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// A QR version, 1 to 40.
    Normal(u8),
    /// A Micro QR version, 1 to 4 (M1 to M4).
    Micro(u8),
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Version::Normal(v) => write!(f, "{v}"),
            Version::Micro(v) => write!(f, "M{v}"),
        }
    }
}

/// How to encode. The default is level M with free boosting, automatic version and mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// The error-correction level asked for.
    pub ecc: EcLevel,
    /// Raise the level for free when the chosen version has room (on by default).
    pub boost: bool,
    /// Use at least this version (1-40).
    pub min_version: Option<u8>,
    /// Use exactly this version (1-40, or 1-4 with `micro`).
    pub version: Option<u8>,
    /// Force a mask (0-7 for QR, 0-3 for Micro QR) instead of the best one.
    pub mask: Option<u8>,
    /// Make a Micro QR symbol (for short payloads; fails when the data does not fit M4).
    pub micro: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            ecc: EcLevel::M,
            boost: true,
            min_version: None,
            version: None,
            mask: None,
            micro: false,
        }
    }
}

/// An encoded symbol: a square matrix of modules (`true` is dark), without quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    width: usize,
    modules: Vec<bool>,
    version: Version,
    ecc: EcLevel,
    mask: u8,
    payload: String,
}

impl Symbol {
    /// Modules per side, without quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark. Outside the symbol it is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x]
    }

    /// One row of modules.
    pub fn row(&self, y: usize) -> &[bool] {
        &self.modules[y * self.width..(y + 1) * self.width]
    }

    /// The version the encoder chose (or was told to use).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The level written to the symbol (it may be higher than asked, by boosting).
    pub fn ecc(&self) -> EcLevel {
        self.ecc
    }

    /// The mask pattern applied, 0-7 (0-3 for Micro QR).
    pub fn mask(&self) -> u8 {
        self.mask
    }

    /// The text the symbol holds: what a scanner must read back.
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// True for a Micro QR symbol.
    pub fn is_micro(&self) -> bool {
        matches!(self.version, Version::Micro(_))
    }

    /// The quiet zone the standard asks for: 4 modules, 2 for Micro QR.
    pub fn default_border(&self) -> usize {
        if self.is_micro() { 2 } else { 4 }
    }
}

/// Encodes `payload` as text (ASCII in the most compact modes, anything else as UTF-8 bytes;
/// never Shift JIS), in the smallest symbol the options allow.
pub fn encode(payload: &str, options: &EncodeOptions) -> Result<Symbol, Error> {
    if payload.is_empty() {
        return Err(Error::option(
            "payload",
            "required",
            "there is nothing to encode",
        ));
    }
    let symbol = if options.micro {
        encode_micro(payload, options)?
    } else {
        encode_normal(payload, options)?
    };
    let version = match symbol.version() {
        SymbolVersion::Qr(v) => Version::Normal(v.value()),
        SymbolVersion::Micro(v) => Version::Micro(micro_number(v)),
        other => {
            return Err(Error::Unencodable(format!(
                "the encoder made an unexpected symbol kind {other:?}"
            )));
        }
    };
    let ecc = match symbol.error_correction() {
        qrcode_generator::SymbolErrorCorrection::Low
        | qrcode_generator::SymbolErrorCorrection::DetectionOnly => EcLevel::L,
        qrcode_generator::SymbolErrorCorrection::Medium => EcLevel::M,
        qrcode_generator::SymbolErrorCorrection::Quartile => EcLevel::Q,
        qrcode_generator::SymbolErrorCorrection::High => EcLevel::H,
        other => {
            return Err(Error::Unencodable(format!(
                "the encoder chose an unexpected level {other:?}"
            )));
        }
    };
    Ok(Symbol {
        width: symbol.width(),
        modules: symbol.modules().to_vec(),
        version,
        ecc,
        mask: symbol.mask(),
        payload: payload.to_owned(),
    })
}

fn encode_normal(
    payload: &str,
    options: &EncodeOptions,
) -> Result<qrcode_generator::Symbol, Error> {
    use qrcode_generator::qr::{Encoder, ErrorCorrection, Mask, Version as QrVersion};
    let level = match options.ecc {
        EcLevel::L => ErrorCorrection::Low,
        EcLevel::M => ErrorCorrection::Medium,
        EcLevel::Q => ErrorCorrection::Quartile,
        EcLevel::H => ErrorCorrection::High,
    };
    let version = |field: &'static str, v: u8| {
        QrVersion::new(v)
            .map_err(|_| Error::option(field, "range", format!("QR versions are 1 to 40, not {v}")))
    };
    let mut encoder = Encoder::new(level).boost_error_correction(options.boost);
    match (options.version, options.min_version) {
        (Some(v), _) => encoder = encoder.version(version("version", v)?),
        (None, Some(min)) => {
            encoder =
                encoder.version_range(version("min_version", min)?..=version("min_version", 40)?)
        }
        (None, None) => {}
    }
    if let Some(mask) = options.mask {
        let mask = Mask::new(mask).map_err(|_| {
            Error::option("mask", "range", format!("QR masks are 0 to 7, not {mask}"))
        })?;
        encoder = encoder.mask(mask);
    }
    encode_payload(
        payload,
        |bytes| encoder.encode_bytes(bytes),
        |text| encoder.encode_text(text),
    )
    .map_err(|e| encode_error(e, payload, options))
}

/// ASCII goes through the text encoder (all modes, optimal segments). Anything else is written
/// as its UTF-8 bytes without an ECI header: ISO-8859-1, the standard's default, is guessed as
/// Shift JIS by real decoders, and UTF-8 is what phone scanners expect.
fn encode_payload<T>(
    payload: &str,
    bytes: impl FnOnce(&[u8]) -> Result<T, EncodeError>,
    text: impl FnOnce(&str) -> Result<T, EncodeError>,
) -> Result<T, EncodeError> {
    if payload.is_ascii() {
        text(payload)
    } else {
        bytes(payload.as_bytes())
    }
}

fn encode_micro(payload: &str, options: &EncodeOptions) -> Result<qrcode_generator::Symbol, Error> {
    use qrcode_generator::micro::{Encoder, ErrorCorrection, Mask, Version as MicroVersion};
    // M1, the smallest Micro QR, only detects errors; level L is the nearest thing to ask for.
    let level = match (options.ecc, options.version) {
        (EcLevel::L, Some(1)) => ErrorCorrection::DetectionOnly,
        (_, Some(1)) => {
            return Err(Error::option(
                "ecc",
                "micro",
                "Micro QR M1 only detects errors; use level L or a larger version",
            ));
        }
        (EcLevel::L, _) => ErrorCorrection::Low,
        (EcLevel::M, _) => ErrorCorrection::Medium,
        (EcLevel::Q, _) => ErrorCorrection::Quartile,
        (EcLevel::H, _) => {
            return Err(Error::option(
                "ecc",
                "micro",
                "Micro QR has no level H; use L, M or Q",
            ));
        }
    };
    if options.min_version.is_some() {
        return Err(Error::option(
            "min_version",
            "micro",
            "a minimum version applies to QR, not Micro QR; use a fixed version M1-M4",
        ));
    }
    let mut encoder = Encoder::new(level).boost_error_correction(options.boost);
    if let Some(v) = options.version {
        let version = match v {
            1 => MicroVersion::M1,
            2 => MicroVersion::M2,
            3 => MicroVersion::M3,
            4 => MicroVersion::M4,
            other => {
                return Err(Error::option(
                    "version",
                    "range",
                    format!("Micro QR versions are 1 to 4 (M1-M4), not {other}"),
                ));
            }
        };
        encoder = encoder.version(version);
    }
    if let Some(mask) = options.mask {
        let mask = Mask::new(mask).map_err(|_| {
            Error::option(
                "mask",
                "range",
                format!("Micro QR masks are 0 to 3, not {mask}"),
            )
        })?;
        encoder = encoder.mask(mask);
    }
    encode_payload(
        payload,
        |bytes| encoder.encode_bytes(bytes),
        |text| encoder.encode_text(text),
    )
    .map_err(|e| encode_error(e, payload, options))
}

fn micro_number(version: qrcode_generator::micro::Version) -> u8 {
    use qrcode_generator::micro::Version as MicroVersion;
    match version {
        MicroVersion::M1 => 1,
        MicroVersion::M2 => 2,
        MicroVersion::M3 => 3,
        MicroVersion::M4 => 4,
    }
}

fn encode_error(error: EncodeError, payload: &str, options: &EncodeOptions) -> Error {
    match error {
        EncodeError::DataTooLong {
            required_bits,
            capacity_bits,
        } => {
            let family = if options.micro { "Micro QR" } else { "QR" };
            let chosen = match options.version {
                Some(v) if options.micro => format!("version M{v}"),
                Some(v) => format!("version {v}"),
                None if options.micro => "M4, the largest Micro QR version".to_owned(),
                None => "version 40, the largest".to_owned(),
            };
            let needed =
                required_bits.map_or(String::new(), |bits| format!(" needs {bits} bits, but"));
            Error::DataTooLong(format!(
                "{} characters at level {}{needed} {family} {chosen} holds {capacity_bits} bits; shorten the payload, lower the level or allow a larger version",
                payload.chars().count(),
                options.ecc.letter(),
            ))
        }
        EncodeError::TextNotRepresentable {
            byte_offset,
            family,
        } => Error::Unencodable(format!(
            "the character at byte {byte_offset} cannot be written in {family} (it has no UTF-8 support); use a normal QR code"
        )),
        EncodeError::UnsupportedErrorCorrection {
            version,
            error_correction,
        } => Error::option(
            "ecc",
            "version",
            format!("{version:?} does not support level {error_correction:?}"),
        ),
        other => Error::Unencodable(other.to_string()),
    }
}
