//! Reading routes in bulk for the redirect table: the rows of links and their slugs, ordered
//! by link, grouped into one [`RoutedLink`] each with its pending schedule attached.
//!
//! On SQLite, start-up reads every link with rusqlite on a blocking thread instead of sqlx:
//! sqlx's SQLite driver spends several microseconds per row (a worker thread, a channel and
//! copies of every value), which at a million links was most of a seven-second start-up,
//! against a goal of two (R-PERF-4). The query is the same as the sqlx one in `backend.rs`.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::error::Result;
use crate::link::{LinkId, LinkStatus, RedirectStatus, ScheduledAction};
use crate::table::{Route, RoutedLink};
use crate::target::TargetUrl;

/// Every route's row: one per slug, ordered by link.
pub(super) const ROUTES_SQL: &str =
    "SELECT l.id, l.target, l.status, l.redirect_status, l.forward_query, s.slug
     FROM links l JOIN slugs s ON s.link_id = l.id
     WHERE ($1 IS NULL OR l.id = $1) ORDER BY l.id";

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

/// Groups [`RouteRow`]s into links.
pub(super) struct Assembler {
    current: Option<RoutedLink>,
    schedule: std::iter::Peekable<std::vec::IntoIter<(i64, i64, Option<String>)>>,
}

impl Assembler {
    /// `schedule`: the rows of [`SCHEDULE_SQL`].
    pub(super) fn new(schedule: Vec<(i64, i64, Option<String>)>) -> Assembler {
        Assembler {
            current: None,
            schedule: schedule.into_iter().peekable(),
        }
    }

    /// Takes the next row; returns the previous link once this row starts another.
    pub(super) fn push(&mut self, row: RouteRow) -> Option<RoutedLink> {
        if let Some(routed) = self
            .current
            .as_mut()
            .filter(|r| r.route.link_id.0 == row.id)
        {
            routed.slugs.push(row.slug.into_boxed_str());
            return None;
        }
        let mut entries = Vec::new();
        while let Some((link, at, target)) = self.schedule.next_if(|(link, _, _)| *link <= row.id) {
            if link == row.id {
                let at = Timestamp::from_microsecond(at).unwrap_or(Timestamp::UNIX_EPOCH);
                let action = match target {
                    Some(target) => ScheduledAction::Target {
                        target: TargetUrl::from_stored(target),
                    },
                    None => ScheduledAction::Retire,
                };
                entries.push((at, action));
            }
        }
        let routed = RoutedLink {
            slugs: vec![row.slug.into_boxed_str()],
            route: Route {
                link_id: LinkId(row.id),
                target: TargetUrl::from_stored(row.target),
                status: LinkStatus::from_stored(&row.status),
                redirect_status: RedirectStatus::from_stored(row.redirect_status),
                forward_query: row.forward_query,
                schedule: entries.into_boxed_slice(),
            },
        };
        self.current.replace(routed)
    }

    /// The last link.
    pub(super) fn finish(self) -> Option<RoutedLink> {
        self.current
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
    let schedule = snapshot
        .prepare(SCHEDULE_SQL)?
        .query_map([no_filter], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut assembler = Assembler::new(schedule);
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
        if let Some(done) = assembler.push(row) {
            batch.push(done);
            if batch.len() == BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if sender.blocking_send(full).is_err() {
                    return Ok(()); // The caller stopped listening.
                }
            }
        }
    }
    batch.extend(assembler.finish());
    let _ = sender.blocking_send(batch);
    Ok(())
}
