//! The one error type of `qrlink-qr`.

/// Everything that can go wrong while encoding, rendering or verifying a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An option is out of range or does not fit with another; `field` and `rule` are stable.
    #[error("invalid {field}: {message} (rule: {rule})")]
    InvalidOption {
        /// The option at fault, such as `ecc` or `logo`.
        field: &'static str,
        /// The rule it broke, such as `range` or `contrast`.
        rule: &'static str,
        /// What is wrong, for people.
        message: String,
    },
    /// The payload does not fit the chosen version, level or symbol family.
    #[error("the payload does not fit: {0}")]
    DataTooLong(String),
    /// The payload cannot be written in the chosen symbol family (Micro QR has no UTF-8).
    #[error("the payload cannot be encoded: {0}")]
    Unencodable(String),
    /// The image was rendered but an independent decoder could not read it back exactly.
    #[error("the image does not scan: {0}")]
    Unreadable(String),
    /// Writing the image failed (a bug or a limit of the image library).
    #[error("could not write the image: {0}")]
    Render(String),
}

impl Error {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidOption { .. } => "invalid_option",
            Error::DataTooLong(_) => "data_too_long",
            Error::Unencodable(_) => "unencodable",
            Error::Unreadable(_) => "unreadable",
            Error::Render(_) => "render_failed",
        }
    }

    pub(crate) fn option(
        field: &'static str,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::InvalidOption {
            field,
            rule,
            message: message.into(),
        }
    }
}
