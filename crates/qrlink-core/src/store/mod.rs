//! The `Store`: every read and write of links, on SQLite or PostgreSQL.
//!
//! The queries are written once, in `backend.rs`, and compiled twice: the file is included
//! into a `sqlite` and a `postgres` module, each naming its own `Db` type. Both copies are
//! fully type-checked against their driver, no generic bounds leak out, and the SQL is one
//! text to read and review. The differences between the dialects (how a write transaction
//! takes its lock, schema DDL) are explicit `match DIALECT` arms or separate migration files.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;

use crate::accounts::{
    Caller, NewToken, PASSWORD_LINK_LIFETIME, PasswordHash, PasswordLinkFor, PasswordLinkSecret,
    Role, Session, SessionSecret, SessionTimeouts, SignInReservation, TokenInfo, TokenSecret, User,
};
use crate::counts::DailyCount;
use crate::error::Result;
use crate::link::{Actor, HistoryEntry, Link, LinkDetails, LinkId, LinkStatus, NewLink};
use crate::slug::Slug;
use crate::table::RoutedLink;
use crate::target::{TargetPolicy, TargetUrl};
use crate::transfer::{ImportRow, LinkRecord};

/// How a fold adds counts to the daily totals.
const FOLD_ADD: &str =
    "ON CONFLICT (link_id, day) DO UPDATE SET hits = daily_counts.hits + excluded.hits,
     head_hits = daily_counts.head_hits + excluded.head_hits,
     bot_hits = daily_counts.bot_hits + excluded.bot_hits";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

mod packs;
mod routes;

mod sqlite {
    use super::Dialect;
    type Db = sqlx::Sqlite;
    const DIALECT: Dialect = Dialect::Sqlite;
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "links",
            include_str!("../../migrations/sqlite/0001_links.sql"),
        ),
        (
            3,
            "search",
            include_str!("../../migrations/sqlite/0003_search.sql"),
        ),
        (
            4,
            "count_log",
            include_str!("../../migrations/sqlite/0004_count_log.sql"),
        ),
        (
            5,
            "accounts",
            include_str!("../../migrations/sqlite/0005_accounts.sql"),
        ),
        (
            6,
            "counts_without_rowid",
            include_str!("../../migrations/sqlite/0006_counts_without_rowid.sql"),
        ),
        (
            7,
            "sessions",
            include_str!("../../migrations/sqlite/0007_sessions.sql"),
        ),
        (
            8,
            "passwords",
            include_str!("../../migrations/sqlite/0008_passwords.sql"),
        ),
        (
            9,
            "setup_and_owners",
            include_str!("../../migrations/sqlite/0009_setup_and_owners.sql"),
        ),
        (
            10,
            "link_styles",
            include_str!("../../migrations/sqlite/0010_link_styles.sql"),
        ),
        (
            11,
            "blocked_domains",
            include_str!("../../migrations/sqlite/0011_blocked_domains.sql"),
        ),
        (
            12,
            "links_by_change",
            include_str!("../../migrations/sqlite/0012_links_by_change.sql"),
        ),
        (
            13,
            "style_presets",
            include_str!("../../migrations/sqlite/0013_style_presets.sql"),
        ),
        (
            14,
            "count_log_by_link",
            include_str!("../../migrations/sqlite/0014_count_log_by_link.sql"),
        ),
        (
            15,
            "count_packs",
            include_str!("../../migrations/sqlite/0015_count_packs.sql"),
        ),
        (
            16,
            "sign_in_limits",
            include_str!("../../migrations/sqlite/0016_sign_in_limits.sql"),
        ),
    ];
    include!("backend.rs");
}

mod postgres {
    use super::Dialect;
    type Db = sqlx::Postgres;
    const DIALECT: Dialect = Dialect::Postgres;
    const MIGRATIONS: &[(i64, &str, &str)] = &[
        (
            1,
            "links",
            include_str!("../../migrations/postgres/0001_links.sql"),
        ),
        (
            2,
            "change_notify",
            include_str!("../../migrations/postgres/0002_change_notify.sql"),
        ),
        (
            3,
            "search",
            include_str!("../../migrations/postgres/0003_search.sql"),
        ),
        (
            4,
            "count_log",
            include_str!("../../migrations/postgres/0004_count_log.sql"),
        ),
        (
            5,
            "accounts",
            include_str!("../../migrations/postgres/0005_accounts.sql"),
        ),
        (
            7,
            "sessions",
            include_str!("../../migrations/postgres/0007_sessions.sql"),
        ),
        (
            8,
            "passwords",
            include_str!("../../migrations/postgres/0008_passwords.sql"),
        ),
        (
            9,
            "setup_and_owners",
            include_str!("../../migrations/postgres/0009_setup_and_owners.sql"),
        ),
        (
            10,
            "link_styles",
            include_str!("../../migrations/postgres/0010_link_styles.sql"),
        ),
        (
            11,
            "blocked_domains",
            include_str!("../../migrations/postgres/0011_blocked_domains.sql"),
        ),
        (
            12,
            "links_by_change",
            include_str!("../../migrations/postgres/0012_links_by_change.sql"),
        ),
        (
            13,
            "style_presets",
            include_str!("../../migrations/postgres/0013_style_presets.sql"),
        ),
        (
            16,
            "sign_in_limits",
            include_str!("../../migrations/postgres/0016_sign_in_limits.sql"),
        ),
    ];
    include!("backend.rs");
}

/// The highest schema version this binary knows; a database beyond it is refused.
/// Versions are shared by both dialects; a dialect may have nothing to do for one (SQLite has
/// no notifications, so it skips version 2; PostgreSQL skips 6, 14 and 15, SQLite's layouts of
/// the counts).
pub const SCHEMA_VERSION: i64 = 16;

/// Makes the database file readable by its owner alone (mode 0600), creating it empty if it
/// is missing: it holds password hashes and sessions. SQLite creates the `-wal` and `-shm`
/// files with the database's mode; ones left by an older version are tightened too.
fn owner_only(database: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let refused = |e: std::io::Error| {
        crate::Error::invalid(
            "data_dir",
            "writable",
            format!("cannot create {}: {e}", database.display()),
        )
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(database)
        .map_err(refused)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = database.as_os_str().to_owned();
        file.push(suffix);
        let file = Path::new(&file);
        if file.exists() {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                .map_err(refused)?;
        }
    }
    Ok(())
}

/// A stored time (Unix microseconds, UTC), as both backends and the bulk route read keep it.
fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A stored schedule entry's action: a target, or retirement where the target is NULL.
fn scheduled_action(target: Option<String>) -> crate::link::ScheduledAction {
    match target {
        Some(target) => crate::link::ScheduledAction::Target {
            target: TargetUrl::from_stored(target),
        },
        None => crate::link::ScheduledAction::Retire,
    }
}

/// The PostgreSQL notification channel of the change feed (see migration 0002).
const CHANGE_CHANNEL: &str = "qrlink_changes";

/// See [`Store::change_signal`].
#[derive(Debug)]
pub struct ChangeSignal(Option<sqlx::postgres::PgListener>);

impl ChangeSignal {
    /// Waits until a change may have been committed. Never returns on SQLite. An error means
    /// the connection was lost; drop the signal and make a new one later.
    pub async fn changed(&mut self) -> Result<()> {
        match &mut self.0 {
            None => std::future::pending().await,
            Some(listener) => {
                listener.recv().await?;
                Ok(())
            }
        }
    }
}

/// Filter, search and keyset pagination for listing links.
#[derive(Debug, Clone, Default)]
pub struct LinkQuery {
    /// Case-insensitive substring of slug, title or target.
    pub search: Option<String>,
    pub tag: Option<crate::link::Tag>,
    pub status: Option<LinkStatus>,
    /// Keyset cursor: only links after this one in `order`.
    pub after: Option<Slug>,
    pub order: LinkOrder,
    /// Only links this user owns.
    pub owner: Option<String>,
    pub limit: u32,
}

/// A link's saved QR style: the front end's options, opaque to the store, and a logo that
/// the front end has already decoded and re-encoded (never an upload as sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedStyle {
    /// JSON, as the front end wrote it.
    pub options: String,
    pub logo_png: Option<Vec<u8>>,
}

/// A domain refused as a target, and who refused it when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedDomain {
    pub domain: String,
    pub added_at: Timestamp,
    pub added_by: String,
}

/// The order of a list of links.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinkOrder {
    /// By slug, A to Z.
    #[default]
    Slug,
    /// The most recently changed first.
    Changed,
}

/// One page of links, in the query's order.
#[derive(Debug, Clone)]
pub struct LinkPage {
    pub links: Vec<Link>,
    /// Pass as [`LinkQuery::after`] for the next page; `None` when this is the last.
    pub next_after: Option<Slug>,
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum StoreLocation<'a> {
    /// An SQLite database file `qrlink.db` inside this directory (created if missing).
    SqliteDir(&'a Path),
    /// A `postgres://` URL.
    Postgres(&'a str),
}

/// The application database. A closed enum rather than a trait object or a generic: there
/// are exactly two backends, and every caller stays free of type parameters.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(sqlite::Backend),
    Postgres(postgres::Backend),
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* $(,)? )) => {
        match $self {
            Store::Sqlite(backend) => backend.$method($($arg),*).await,
            Store::Postgres(backend) => backend.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the database, creating it if needed, and brings its schema up to date. Safe when
    /// several processes do this at once on an empty database.
    pub async fn open(location: StoreLocation<'_>) -> Result<Store> {
        let store = Store::connect_lazy(location)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Prepares the connection pool without connecting: the first query connects. A server
    /// uses this to start while the database is still unreachable, then calls [`Store::migrate`].
    pub fn connect_lazy(location: StoreLocation<'_>) -> Result<Store> {
        let store = match location {
            StoreLocation::SqliteDir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    crate::Error::invalid(
                        "data_dir",
                        "creatable",
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
                owner_only(&dir.join("qrlink.db"))?;
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.join("qrlink.db"))
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Up to 32 MiB of pages per connection (SQLite's default is 2 MiB): at a
                    // million links the counts upserts of each flush touch pages all over.
                    .pragma("cache_size", "-32768")
                    .pragma("mmap_size", "1073741824");
                let pool = sqlx::pool::PoolOptions::new()
                    .max_connections(4)
                    .connect_lazy_with(options);
                Store::Sqlite(sqlite::Backend { pool })
            }
            StoreLocation::Postgres(url) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| {
                    crate::Error::invalid(
                        "database_url",
                        "postgres_url",
                        format!("not a PostgreSQL URL: {e}"),
                    )
                })?;
                let pool = sqlx::pool::PoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with(options);
                Store::Postgres(postgres::Backend { pool })
            }
        };
        Ok(store)
    }

    /// A signal that another process committed a change, for waking a follower before its
    /// next poll: PostgreSQL LISTEN/NOTIFY on its own connection. SQLite has none and its
    /// signal never fires; followers of either keep polling, so a lost wake-up only delays.
    pub async fn change_signal(&self) -> Result<ChangeSignal> {
        match self {
            Store::Sqlite(_) => Ok(ChangeSignal(None)),
            Store::Postgres(backend) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(&backend.pool).await?;
                listener.listen(CHANGE_CHANNEL).await?;
                Ok(ChangeSignal(Some(listener)))
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Brings the schema up to date; refuses a schema newer than this binary knows.
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(self.migrate())
    }

    /// Applies the migrations up to schema version `last` only, to test a later one against
    /// data written in an earlier schema.
    #[cfg(feature = "testing")]
    pub async fn migrate_up_to(&self, last: i64) -> Result<()> {
        dispatch!(self.migrate_up_to(last))
    }

    pub async fn close(&self) {
        dispatch!(self.close())
    }

    /// Writes a consistent copy of an SQLite database to `file` while it is in use (`VACUUM
    /// INTO`), then checks the copy: integrity and schema version. Returns the number of links
    /// in the copy. PostgreSQL is backed up with its own tools (`pg_dump`), see the README.
    pub async fn backup(&self, file: &Path) -> Result<i64> {
        let Store::Sqlite(backend) = self else {
            return Err(crate::Error::invalid(
                "database",
                "sqlite_only",
                "qrlink backup copies SQLite databases; back PostgreSQL up with pg_dump (see the README)",
            ));
        };
        if file.exists() {
            return Err(crate::Error::invalid(
                "file",
                "new",
                format!("{} exists already; choose a new file", file.display()),
            ));
        }
        let path = file.to_str().ok_or_else(|| {
            crate::Error::invalid("file", "utf8", "the backup path must be valid UTF-8")
        })?;
        // The copy holds password hashes too: created empty, for its owner alone.
        owner_only(file)?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&backend.pool)
            .await?;
        check_sqlite_file(file).await
    }
}

/// Opens an SQLite database file read-only and checks it: `PRAGMA integrity_check` passes and
/// its schema is one this binary knows. Returns how many links it holds.
pub async fn check_sqlite_file(file: &Path) -> Result<i64> {
    use sqlx::Connection;
    let unreadable = |e: sqlx::Error| {
        let reason = e
            .as_database_error()
            .map_or_else(|| e.to_string(), |d| d.message().to_owned());
        crate::Error::invalid(
            "file",
            "sqlite",
            format!(
                "{} is not a readable SQLite database: {reason}",
                file.display()
            ),
        )
    };
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true);
    let mut connection = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(unreadable)?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await
        .map_err(unreadable)?;
    if integrity != "ok" {
        return Err(crate::Error::Conflict(format!(
            "{} fails the SQLite integrity check: {integrity}",
            file.display()
        )));
    }
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut connection)
            .await
            .map_err(|_| {
                crate::Error::invalid(
                    "file",
                    "qrlink_database",
                    format!("{} is not a qrlink database", file.display()),
                )
            })?;
    if version > SCHEMA_VERSION {
        return Err(crate::Error::SchemaTooNew {
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    let links: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM links")
        .fetch_one(&mut connection)
        .await?;
    connection.close().await?;
    Ok(links)
}

/// Puts a checked backup in place as the SQLite database of `data_dir`. The server must be
/// stopped: a running one would keep writing to the database this replaces.
pub async fn restore_sqlite(backup: &Path, data_dir: &Path, replace: bool) -> Result<i64> {
    let links = check_sqlite_file(backup).await?;
    let target = data_dir.join("qrlink.db");
    if target.exists() && !replace {
        return Err(crate::Error::invalid(
            "data_dir",
            "empty",
            format!(
                "{} holds a database already; stop qrlink and pass --replace to overwrite it",
                data_dir.display()
            ),
        ));
    }
    let io = |e: std::io::Error| {
        crate::Error::invalid(
            "data_dir",
            "writable",
            format!("cannot restore into {}: {e}", data_dir.display()),
        )
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    // Copy beside the target, then rename over it, so a crash leaves the old or the new file.
    let partial = data_dir.join("qrlink.db.restoring");
    std::fs::copy(backup, &partial).map_err(io)?;
    for stale in ["qrlink.db-wal", "qrlink.db-shm"] {
        match std::fs::remove_file(data_dir.join(stale)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    std::fs::rename(&partial, &target).map_err(io)?;
    Ok(links)
}

impl Store {
    pub async fn create_link(&self, new: &NewLink, actor: &Actor, now: Timestamp) -> Result<Link> {
        dispatch!(self.create_link(new, actor, now))
    }

    /// Creates many links in one transaction: all of them, or none if one fails (a taken
    /// slug, say). The bulk path for imports and benchmarks.
    pub async fn create_links(
        &self,
        links: &[NewLink],
        actor: &Actor,
        now: Timestamp,
    ) -> Result<()> {
        dispatch!(self.create_links(links, actor, now))
    }

    /// Streams every link with its history to `each`, in slug order, from one consistent
    /// snapshot; returns how many. See [`crate::transfer`] for the file formats.
    pub async fn export_links(
        &self,
        each: &mut (dyn FnMut(LinkRecord) -> Result<()> + Send),
    ) -> Result<u64> {
        dispatch!(self.export_links(each))
    }

    /// Writes the records verbatim (history included) in one transaction: all, or none with
    /// [`crate::Error::Rejected`] listing every record whose slug or alias is taken. The rows
    /// must be valid and free of duplicates among themselves ([`crate::transfer`] checks both).
    pub async fn import_links(&self, rows: &[ImportRow]) -> Result<()> {
        dispatch!(self.import_links(rows))
    }

    /// Adds a user. Names are unique (see [`crate::accounts::parse_user_name`]).
    pub async fn create_user(&self, name: &str, role: Role, now: Timestamp) -> Result<User> {
        dispatch!(self.create_user(name, role, now))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        dispatch!(self.users())
    }

    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self.user(name))
    }

    /// Changes a user's role and whether an editor may change all links. The user's sessions
    /// end. The last admin cannot be demoted.
    pub async fn set_role(&self, user: &User, role: Role, all_links: bool) -> Result<User> {
        dispatch!(self.set_role(user, role, all_links))
    }

    /// Whether an admin exists; until one does, `qrlink serve` prints a setup link.
    pub async fn has_admin(&self) -> Result<bool> {
        dispatch!(self.has_admin())
    }

    /// A new one-time link to set `user`'s password, or, for `None`, the first-run setup link
    /// that creates the first admin. Usable once, for [`PASSWORD_LINK_LIFETIME`].
    pub async fn create_password_link(
        &self,
        user: Option<&User>,
        now: Timestamp,
    ) -> Result<PasswordLinkSecret> {
        dispatch!(self.create_password_link(user, PASSWORD_LINK_LIFETIME, now))
    }

    /// What a password link is for, while it is unused and unexpired.
    pub async fn password_link(
        &self,
        secret: &PasswordLinkSecret,
        now: Timestamp,
    ) -> Result<Option<PasswordLinkFor>> {
        dispatch!(self.password_link(secret, now))
    }

    /// Uses a password link: sets the password (creating the first admin, named
    /// `first_admin`, for the setup link), ends the user's other sessions, and deletes the
    /// link. A used or expired link is refused (`link`, `unused`).
    pub async fn use_password_link(
        &self,
        secret: &PasswordLinkSecret,
        first_admin: Option<&str>,
        hash: &PasswordHash,
        now: Timestamp,
    ) -> Result<User> {
        dispatch!(self.use_password_link(secret, first_admin, hash, now))
    }

    /// Deletes sessions idle for `idle` or past their end, expired password links, and
    /// sign-in back-off records that hold nothing back any more.
    pub async fn prune_expired(&self, idle: jiff::SignedDuration, now: Timestamp) -> Result<u64> {
        dispatch!(self.prune_expired(idle, now))
    }

    /// Creates a token; the secret is returned this once and only its hash is kept. A token
    /// tied to a user may not exceed what the user's role allows.
    pub async fn create_token(
        &self,
        new: &NewToken,
        created_by: &str,
        now: Timestamp,
    ) -> Result<(TokenInfo, TokenSecret)> {
        dispatch!(self.create_token(new, created_by, now))
    }

    /// Every token ever created, revoked and expired ones included, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        dispatch!(self.tokens())
    }

    /// Revokes a token from now on, on every replica: each request looks its token up.
    pub async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<()> {
        dispatch!(self.revoke_token(id, now))
    }

    /// Sets a user's password (at setup or reset) and clears their failed sign-ins.
    pub async fn set_password(&self, user: &User, hash: &PasswordHash) -> Result<()> {
        dispatch!(self.set_password(user, hash))
    }

    /// Counts a sign-in attempt at `name` from `client` before its password is checked, or
    /// refuses it while a back-off holds (see [`crate::accounts::sign_in`], which uses it).
    pub async fn reserve_sign_in(
        &self,
        name: &str,
        client: &str,
        now: Timestamp,
    ) -> Result<SignInReservation> {
        dispatch!(self.reserve_sign_in(name, client, now))
    }

    /// Takes back a reserved sign-in attempt whose password was right.
    pub async fn forget_sign_in_failures(&self, name: &str, client: &str) -> Result<()> {
        dispatch!(self.forget_sign_in_failures(name, client))
    }

    /// Starts a session for `user` (at every sign-in, so a session id is never reused across
    /// sign-ins); the secret goes into the cookie and only its hash is stored.
    pub async fn create_session(
        &self,
        user: &User,
        timeouts: SessionTimeouts,
        now: Timestamp,
    ) -> Result<(SessionSecret, Session)> {
        dispatch!(self.create_session(user, timeouts, now))
    }

    /// The live session a cookie's secret stands for, on any replica; `None` once it has been
    /// idle or alive too long, or signed out.
    pub async fn session(
        &self,
        secret: &SessionSecret,
        timeouts: SessionTimeouts,
        now: Timestamp,
    ) -> Result<Option<Session>> {
        dispatch!(self.session(secret, timeouts, now))
    }

    /// Signs out: the session is gone on the server, whatever the browser keeps.
    pub async fn delete_session(&self, secret: &SessionSecret) -> Result<()> {
        dispatch!(self.delete_session(secret))
    }

    /// Ends every session of a user; returns how many there were.
    pub async fn delete_sessions_of(&self, user: &User) -> Result<u64> {
        dispatch!(self.delete_sessions_of(user.id))
    }

    /// The caller a token stands for, or `None` for an unknown, revoked or expired token.
    pub async fn authenticate(
        &self,
        secret: &TokenSecret,
        now: Timestamp,
    ) -> Result<Option<Caller>> {
        dispatch!(self.authenticate(secret, now))
    }

    /// The link with this slug, current or alias.
    pub async fn link(&self, slug: &Slug) -> Result<Link> {
        dispatch!(self.link(slug))
    }

    /// Links matching `query`, ordered by slug. A search with control characters is refused:
    /// the search index separates fields with a newline, so none may be searched for.
    pub async fn list_links(&self, query: &LinkQuery) -> Result<Vec<Link>> {
        if let Some(search) = &query.search
            && search.chars().any(char::is_control)
        {
            return Err(crate::Error::invalid(
                "search",
                "no_control_characters",
                "a search cannot contain control characters such as line breaks",
            ));
        }
        dispatch!(self.list_links(query))
    }

    /// A page of [`Store::list_links`] and the cursor of the next one, `None` on the last page
    /// (one more link is read to know).
    pub async fn list_page(&self, query: &LinkQuery) -> Result<LinkPage> {
        let limit = query.limit.max(1);
        let probe = LinkQuery {
            limit: limit.saturating_add(1),
            ..query.clone()
        };
        let mut links = self.list_links(&probe).await?;
        let more = links.len() > limit as usize;
        links.truncate(limit as usize);
        let next_after = more
            .then(|| links.last().map(|link| link.slug.clone()))
            .flatten();
        Ok(LinkPage { links, next_after })
    }

    /// Points the link at `target` now, or from `at` on when that lies in the future.
    pub async fn set_target(
        &self,
        change: TargetChange<'_>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::SetTarget {
            slug: change.slug.clone(),
            target: change.target.clone(),
            at: change.at,
            confirm: change.confirm,
        };
        self.edit(&edit, actor, now, change.reason).await
    }

    pub async fn update_details(
        &self,
        slug: &Slug,
        details: &LinkDetails,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::Details {
            slug: slug.clone(),
            details: details.clone(),
        };
        self.edit(&edit, actor, now, None).await
    }

    /// Retires the link now, or from `at` on. A retired link answers 410; its slug stays taken.
    pub async fn retire(
        &self,
        slug: &Slug,
        at: Option<Timestamp>,
        confirm: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::Retire {
            slug: slug.clone(),
            at,
            confirm,
        };
        self.edit(&edit, actor, now, None).await
    }

    pub async fn unretire(&self, slug: &Slug, actor: &Actor, now: Timestamp) -> Result<Link> {
        let edit = Edit::Unretire { slug: slug.clone() };
        self.edit(&edit, actor, now, None).await
    }

    pub async fn set_locked(
        &self,
        slug: &Slug,
        locked: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::Lock {
            slug: slug.clone(),
            locked,
        };
        self.edit(&edit, actor, now, None).await
    }

    /// Gives the link a new slug; the old one stays as a permanent alias.
    pub async fn rename(
        &self,
        old: &Slug,
        new: &Slug,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::Rename {
            old: old.clone(),
            new: new.clone(),
        };
        self.edit(&edit, actor, now, None).await
    }

    /// Makes one change; returns the link as it is afterwards. `reason` goes into history.
    pub async fn edit(
        &self,
        edit: &Edit,
        actor: &Actor,
        now: Timestamp,
        reason: Option<&str>,
    ) -> Result<Link> {
        dispatch!(self.edit(edit, actor, now, reason))
    }

    /// Makes every change in order in one transaction: all of them, or none if one fails.
    /// `reason` goes into each history entry (`apply` names its file).
    pub async fn apply_edits(
        &self,
        edits: &[Edit],
        actor: &Actor,
        now: Timestamp,
        reason: Option<&str>,
    ) -> Result<()> {
        dispatch!(self.apply_edits(edits, actor, now, reason))
    }

    pub async fn history(&self, slug: &Slug) -> Result<Vec<HistoryEntry>> {
        dispatch!(self.history(slug))
    }

    /// Points the link back at the target that history entry `seq` set, as a new entry. The
    /// old target is checked against today's rules first.
    pub async fn restore(
        &self,
        slug: &Slug,
        seq: i64,
        policy: &TargetPolicy,
        confirm: bool,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let history = self.history(slug).await?;
        let entry = history
            .iter()
            .find(|entry| entry.seq == seq)
            .ok_or_else(|| {
                crate::Error::Missing(format!("the history of `{slug}` has no entry {seq}"))
            })?;
        let old_target = entry.change.target_set().ok_or_else(|| {
            crate::Error::invalid(
                "entry",
                "sets_target",
                format!("history entry {seq} did not set a target"),
            )
        })?;
        let target = TargetUrl::parse(old_target, policy)?;
        let reason = format!("restored from history entry {seq}");
        self.set_target(
            TargetChange {
                slug,
                target: &target,
                at: None,
                reason: Some(&reason),
                confirm,
            },
            actor,
            now,
        )
        .await
    }

    pub async fn unschedule(
        &self,
        slug: &Slug,
        entry_id: i64,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<Link> {
        let edit = Edit::Unschedule {
            slug: slug.clone(),
            entry_id,
        };
        self.edit(&edit, actor, now, None).await
    }

    /// Folds every schedule entry that has come due into its link, recording history. Redirects
    /// do not wait for this (they evaluate schedules themselves); it keeps history truthful.
    pub async fn apply_due_schedules(&self, now: Timestamp) -> Result<usize> {
        dispatch!(self.apply_due_schedules(now))
    }

    /// Adds a batch of counts in one transaction, appended to the count log (cheap whichever
    /// links were hit); [`Store::fold_counts`] later adds them into the daily totals.
    pub async fn add_counts(&self, batch: &[DailyCount]) -> Result<()> {
        match self {
            Store::Sqlite(backend) if !batch.is_empty() => {
                packs::append(backend.pool.connect_options().get_filename(), batch).await
            }
            _ => dispatch!(self.add_counts(batch)),
        }
    }

    /// Folds the appended counts into the daily totals; returns how many it folded (log rows
    /// and, on SQLite, packed records). Readers see the same totals before and after. Safe to
    /// run from several replicas.
    pub async fn fold_counts(&self) -> Result<u64> {
        let logged = dispatch!(self.fold_counts())?;
        match self {
            Store::Sqlite(backend) => {
                Ok(logged + packs::fold(backend.pool.connect_options().get_filename()).await?)
            }
            Store::Postgres(_) => Ok(logged),
        }
    }

    /// The domains refused as targets, by name.
    pub async fn blocked_domains(&self) -> Result<Vec<BlockedDomain>> {
        dispatch!(self.blocked_domains())
    }

    /// Refuses `domain` (see [`crate::target::parse_domain`]) and every name below it as a
    /// target from now on, for every front end. Links already pointing there stay.
    pub async fn block_domain(&self, domain: &str, by: &str, now: Timestamp) -> Result<()> {
        dispatch!(self.block_domain(domain, by, now))
    }

    pub async fn unblock_domain(&self, domain: &str) -> Result<()> {
        dispatch!(self.unblock_domain(domain))
    }

    /// The instance's style presets, by name.
    pub async fn style_presets(&self) -> Result<Vec<(String, SavedStyle)>> {
        dispatch!(self.style_presets())
    }

    /// Saves a style preset under `name` (1 to 60 characters, one line), replacing one of
    /// that name.
    pub async fn save_style_preset(
        &self,
        name: &str,
        style: &SavedStyle,
        now: Timestamp,
    ) -> Result<String> {
        let name = crate::link::parse_text("preset", name, 60, false)?;
        if name.is_empty() {
            return Err(crate::Error::invalid(
                "preset",
                "required",
                "a preset needs a name",
            ));
        }
        dispatch!(self.save_style_preset(&name, style, now))?;
        Ok(name)
    }

    pub async fn delete_style_preset(&self, name: &str) -> Result<()> {
        dispatch!(self.delete_style_preset(name))
    }

    /// The link's saved QR style, if it has one.
    pub async fn link_style(&self, slug: &Slug) -> Result<Option<SavedStyle>> {
        dispatch!(self.link_style(slug))
    }

    /// Saves (or with `None`, forgets) the link's QR style. Styles are not history: they
    /// change how a code looks, never where it goes.
    pub async fn set_link_style(
        &self,
        slug: &Slug,
        style: Option<&SavedStyle>,
        now: Timestamp,
    ) -> Result<()> {
        dispatch!(self.set_link_style(slug, style, now))
    }

    pub async fn daily_counts(&self, slug: &Slug) -> Result<Vec<DailyCount>> {
        dispatch!(self.daily_counts(slug))
    }

    /// The newest id of the change feed, 0 when empty.
    pub async fn latest_change(&self) -> Result<i64> {
        dispatch!(self.latest_change())
    }

    /// Changes after `cursor`, oldest first: `(change id, link)`.
    pub async fn changes_after(&self, cursor: i64, limit: i64) -> Result<Vec<(i64, LinkId)>> {
        dispatch!(self.changes_after(cursor, limit))
    }

    /// Streams the routes of every link to `each`, one link at a time, without holding them
    /// all in memory.
    pub async fn each_route(&self, each: &mut (dyn FnMut(RoutedLink) + Send)) -> Result<()> {
        match self {
            Store::Sqlite(backend) => {
                let file = backend.pool.connect_options().get_filename().to_owned();
                routes::each_sqlite_route(file, each).await
            }
            Store::Postgres(backend) => backend.each_route(None, each).await,
        }
    }

    /// What the redirect table needs of one link; `None` if there is no such link.
    pub async fn route(&self, link_id: LinkId) -> Result<Option<RoutedLink>> {
        let mut found = None;
        dispatch!(self.each_route(Some(link_id), &mut |routed| found = Some(routed)))?;
        Ok(found)
    }
}

/// One change to the links; what every front end asks of the store, one at a time or as a
/// batch in one transaction ([`Store::apply_edits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Create(NewLink),
    /// Re-point now, or from `at` on; `confirm` is needed for a locked link.
    SetTarget {
        slug: Slug,
        target: TargetUrl,
        at: Option<Timestamp>,
        confirm: bool,
    },
    Details {
        slug: Slug,
        details: LinkDetails,
    },
    Retire {
        slug: Slug,
        at: Option<Timestamp>,
        confirm: bool,
    },
    Unretire {
        slug: Slug,
    },
    Lock {
        slug: Slug,
        locked: bool,
    },
    Rename {
        old: Slug,
        new: Slug,
    },
    Unschedule {
        slug: Slug,
        entry_id: i64,
    },
}

/// A re-point of a link, now or at a future time.
#[derive(Debug, Clone, Copy)]
pub struct TargetChange<'a> {
    pub slug: &'a Slug,
    pub target: &'a TargetUrl,
    pub at: Option<Timestamp>,
    pub reason: Option<&'a str>,
    /// The explicit confirmation a locked ("printed") link needs.
    pub confirm: bool,
}
