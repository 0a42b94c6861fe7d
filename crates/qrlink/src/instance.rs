//! The instance's settings, parsed once from the command line into validated values.

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use qrlink_core::base_url::BaseUrl;
use qrlink_core::store::{Store, StoreLocation};
use qrlink_core::target::TargetPolicy;

use crate::cli::InstanceArgs;

/// What every command knows about the instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub policy: TargetPolicy,
    pub time_zone: TimeZone,
    /// Link codes may use the uppercase form (R-FWD-5) unless the operator turned it off.
    pub uppercase_codes: bool,
}

impl Instance {
    pub fn from_args(args: &InstanceArgs) -> anyhow::Result<Instance> {
        let base = BaseUrl::parse(&args.base_url)?;
        let time_zone = qrlink_core::schedule::time_zone(&args.time_zone)?;
        Ok(Instance {
            policy: TargetPolicy {
                base,
                allow_private: args.allow_private_targets,
            },
            time_zone,
            uppercase_codes: !args.lowercase_codes,
        })
    }

    pub fn base(&self) -> &BaseUrl {
        &self.policy.base
    }

    /// What a link's QR code encodes (see [`BaseUrl::code_payload`]).
    pub fn link_payload(&self, slug: &qrlink_core::slug::Slug) -> String {
        self.base().code_payload(slug, self.uppercase_codes)
    }
}

/// Where the data lives, from `--database-url` or `--data-dir`.
pub fn store_location(args: &InstanceArgs) -> anyhow::Result<StoreLocation<'_>> {
    match args.database_url.as_deref() {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreLocation::Postgres(url))
        }
        Some(url) if !url.is_empty() => {
            let scheme = url.split(':').next().unwrap_or_default();
            bail!(
                "invalid database_url: only postgres:// URLs are supported, not `{scheme}:` (rule: postgres_url)"
            )
        }
        _ => Ok(StoreLocation::SqliteDir(&args.data_dir)),
    }
}

/// Opens and migrates the store, for commands that need it at once.
pub async fn open_store(args: &InstanceArgs) -> anyhow::Result<Store> {
    let location = store_location(args)?;
    let described = match &location {
        StoreLocation::SqliteDir(dir) => format!("SQLite in {}", dir.display()),
        StoreLocation::Postgres(_) => "PostgreSQL (DATABASE_URL)".to_owned(),
    };
    Store::open(location)
        .await
        .with_context(|| format!("cannot open the database ({described})"))
}
