//! Reading routes in bulk for the redirect table: a row per link, in link order, made into a
//! [`RoutedLink`] with its aliases and pending schedule entries attached.
//!
//! On SQLite, start-up reads every link with rusqlite on a blocking thread instead of sqlx:
//! sqlx's SQLite driver spends several microseconds per row (a worker thread, a channel and
//! copies of every value), which at a million links was most of a seven-second start-up,
//! against a goal of two (R-PERF-4). Both paths run the queries below.

use std::path::PathBuf;

use crate::error::Result;
use crate::link::{LinkId, LinkStatus, RedirectStatus};
use crate::store::{scheduled_action, timestamp};
use crate::table::{Route, RoutedLink};
use crate::target::TargetUrl;

/// Every link's row, ordered by link, with its current slug.
pub(super) const ROUTES_SQL: &str =
    "SELECT id, target, status, redirect_status, forward_query, slug FROM links
     WHERE ($1 IS NULL OR id = $1) ORDER BY id";

/// The earlier slugs of renamed links (aliases), ordered by link: few, and found without
/// joining every link with its slugs, which took as long as reading all the links.
pub(super) const ALIASES_SQL: &str =
    "SELECT s.link_id, s.slug FROM slugs s JOIN links l ON l.id = s.link_id
     WHERE s.slug <> l.slug AND ($1 IS NULL OR s.link_id = $1) ORDER BY s.link_id";

/// Pending schedule entries, ordered by link and time.
pub(super) const SCHEDULE_SQL: &str = "SELECT link_id, at, target FROM schedule
     WHERE ($1 IS NULL OR link_id = $1) ORDER BY link_id, at, id";

/// One row of [`ROUTES_SQL`], decoded.
pub(super) struct RouteRow {
    pub id: i64,
    pub target: String,
    pub status: String,
    pub redirect_status: i64,
    pub forward_query: bool,
    pub slug: String,
}

/// Turns [`RouteRow`]s, which come in link order, into links with their aliases and pending
/// schedule entries, walking the (link-ordered) aliases and schedule alongside.
pub(super) struct Assembler {
    aliases: std::iter::Peekable<std::vec::IntoIter<(i64, String)>>,
    schedule: std::iter::Peekable<std::vec::IntoIter<(i64, i64, Option<String>)>>,
}

impl Assembler {
    /// `aliases` and `schedule`: the rows of [`ALIASES_SQL`] and [`SCHEDULE_SQL`].
    pub(super) fn new(
        aliases: Vec<(i64, String)>,
        schedule: Vec<(i64, i64, Option<String>)>,
    ) -> Assembler {
        Assembler {
            aliases: aliases.into_iter().peekable(),
            schedule: schedule.into_iter().peekable(),
        }
    }

    pub(super) fn route(&mut self, row: RouteRow) -> RoutedLink {
        let mut slugs = vec![row.slug.into_boxed_str()];
        while let Some((link, alias)) = self.aliases.next_if(|(link, _)| *link <= row.id) {
            if link == row.id {
                slugs.push(alias.into_boxed_str());
            }
        }
        let mut entries = Vec::new();
        while let Some((link, at, target)) = self.schedule.next_if(|(link, _, _)| *link <= row.id) {
            if link == row.id {
                entries.push((timestamp(at), scheduled_action(target)));
            }
        }
        RoutedLink {
            slugs,
            route: Route {
                link_id: LinkId(row.id),
                target: TargetUrl::from_stored(row.target),
                status: LinkStatus::from_stored(&row.status),
                redirect_status: RedirectStatus::from_stored(row.redirect_status),
                forward_query: row.forward_query,
                schedule: entries.into_boxed_slice(),
            },
        }
    }
}

/// Links per batch handed from the reading thread to the caller.
const BATCH: usize = 1024;

/// Streams every route of the SQLite database `file` to `each`, read in one read transaction
/// (a consistent snapshot) by rusqlite on a blocking thread.
pub(super) async fn each_sqlite_route(
    file: PathBuf,
    each: &mut (dyn FnMut(RoutedLink) + Send),
) -> Result<()> {
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Vec<RoutedLink>>(4);
    let reader = tokio::task::spawn_blocking(move || read_sqlite_routes(&file, &sender));
    while let Some(batch) = batches.recv().await {
        batch.into_iter().for_each(&mut *each);
    }
    reader.await.expect("the route reader never panics")
}

fn read_sqlite_routes(
    file: &std::path::Path,
    sender: &tokio::sync::mpsc::Sender<Vec<RoutedLink>>,
) -> Result<()> {
    use rusqlite::OpenFlags;
    let mut connection = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    let snapshot = connection.transaction()?;
    let no_filter: Option<i64> = None;
    let aliases = snapshot
        .prepare(ALIASES_SQL)?
        .query_map([no_filter], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let schedule = snapshot
        .prepare(SCHEDULE_SQL)?
        .query_map([no_filter], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut assembler = Assembler::new(aliases, schedule);
    let mut statement = snapshot.prepare(ROUTES_SQL)?;
    let mut rows = statement.query([no_filter])?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        let row = RouteRow {
            id: row.get(0)?,
            target: row.get(1)?,
            status: row.get(2)?,
            redirect_status: row.get(3)?,
            forward_query: row.get(4)?,
            slug: row.get(5)?,
        };
        batch.push(assembler.route(row));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if sender.blocking_send(full).is_err() {
                return Ok(()); // The caller stopped listening.
            }
        }
    }
    let _ = sender.blocking_send(batch);
    Ok(())
}
