//! The one error type of `qrlink-core`, with a stable machine code per variant.

use crate::slug::Slug;

/// A rejected input: which field, which rule, and a sentence for people.
///
/// `field` and `rule` are stable identifiers that front ends show and tests match on;
/// `message` explains the rule in words and never echoes raw control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub rule: &'static str,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &'static str, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            rule,
            message: message.into(),
        }
    }

    /// The same rule and message, about another field (a user name given as `owner`).
    pub fn on(self, field: &'static str) -> Self {
        Self { field, ..self }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invalid {}: {} (rule: {})",
            self.field, self.message, self.rule
        )
    }
}

impl std::error::Error for Invalid {}

/// A record of an import file that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The line of the file where the record starts.
    pub line: u64,
    pub invalid: Invalid,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.invalid)
    }
}

/// Everything that can go wrong in `qrlink-core`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the slug `{0}` is taken (slugs are never freed, even by retired or renamed links)")]
    SlugTaken(Slug),
    #[error("no link has the slug `{0}`")]
    NotFound(Slug),
    /// Something a request names by its id (a history entry, a schedule entry, a token) does
    /// not exist; the text says what.
    #[error("{0}")]
    Missing(String),
    #[error(
        "the link `{0}` is locked because it is printed; confirm the change (type the slug again, `--confirm`, or `confirm: true`)"
    )]
    ConfirmationRequired(Slug),
    #[error(
        "the link `{0}` is locked because it is printed and cannot be renamed; unlock it first"
    )]
    LockedRename(Slug),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "the database schema is at version {found}, newer than this binary knows ({known}); upgrade qrlink"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite database, read in bulk at start-up (see `store::routes`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An import was refused as a whole; every rejected record is listed.
    #[error("{} record(s) of the file were rejected, so nothing was imported", .0.len())]
    Rejected(Vec<Rejection>),
    /// Reading or writing a file or stream (imports and exports).
    #[error("input/output error: {0}")]
    Io(#[from] std::io::Error),
    /// The in-memory redirect table addresses its text with 32-bit offsets.
    #[error("the redirect table is full: slugs and targets would take more than 4 GiB of memory")]
    TableFull,
    /// Every slot for work of this kind (password hashing) stayed taken while the request
    /// waited; nothing was done.
    #[error("the server is busy; try again in {} s", retry_after.as_secs())]
    Busy { retry_after: std::time::Duration },
}

impl Error {
    /// A stable, machine-readable code for this error, for JSON bodies and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::SlugTaken(_) => "slug_taken",
            Error::NotFound(_) | Error::Missing(_) => "not_found",
            Error::ConfirmationRequired(_) => "confirmation_required",
            Error::LockedRename(_) => "locked",
            Error::Conflict(_) => "conflict",
            Error::SchemaTooNew { .. } => "schema_too_new",
            Error::Database(_) | Error::Sqlite(_) => "database_unavailable",
            Error::TableFull => "table_full",
            Error::Rejected(_) => "import_rejected",
            Error::Io(_) => "io",
            Error::Busy { .. } => "busy",
        }
    }

    pub(crate) fn invalid(
        field: &'static str,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid(Invalid::new(field, rule, message))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
