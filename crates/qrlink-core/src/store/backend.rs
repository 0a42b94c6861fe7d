// Compiled twice, into `store::sqlite` and `store::postgres` (see `store/mod.rs`), with `Db`,
// `DIALECT` and `MIGRATIONS` defined by the including module.

use jiff::Timestamp;
use sqlx::{Executor, Row};

use crate::accounts::{
    Caller, NewToken, PasswordHash, PasswordLinkFor, PasswordLinkSecret, Role, Scope, Session, SessionSecret,
    SessionTimeouts, SignInReservation, TokenInfo, TokenSecret, User, CEILING_BURST, CEILING_INTERVAL, FREE_FAILURES, MAX_BLOCK,
};
use crate::counts::{Counts, DailyCount, pack_bucket, unpack};
use std::collections::HashMap;

use crate::error::{Error, Invalid, Rejection, Result};
use crate::link::{
    Actor, Change, HistoryEntry, Interface, Link, LinkId, LinkStatus, MAX_SCHEDULE_ENTRIES, NewLink,
    RedirectStatus, ScheduleEntry, ScheduledAction, Tag,
};
use crate::slug::Slug;
use crate::store::{BlockedDomain, Edit, FOLD_ADD, LinkOrder, LinkQuery, SCHEMA_VERSION, SavedStyle, routes, scheduled_action, timestamp};
use crate::table::RoutedLink;
use crate::target::TargetUrl;
use crate::transfer::{ImportRow, LinkRecord};

type Conn = <Db as sqlx::Database>::Connection;
type Tx = sqlx::Transaction<'static, Db>;

/// Key of the PostgreSQL advisory lock every writer holds until commit: writes are rare (people
/// editing links), and serialising them makes the change feed's ids commit in order.
const WRITE_LOCK_KEY: i64 = 0x71726c_696e6b;

/// Above this many matching links, SQLite lists a search by scanning in slug order instead
/// of through its search index (see `list_links`).
const SEARCH_INDEX_LIMIT: i64 = 1000;

/// Links per statement of a bulk import or per read of an export.
const TRANSFER_CHUNK: usize = 2000;

/// Count-log rows folded per transaction (see `fold_counts`).
const FOLD_CHUNK: i64 = 20_000;

/// Rows per count upsert, each statement's rows bound as one JSON text.
const COUNT_ROWS_PER_STATEMENT: usize = 4096;

const LINK_COLUMNS: &str =
    "id, slug, target, title, notes, owner, status, locked, redirect_status, forward_query, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct Backend {
    pub(super) pool: sqlx::Pool<Db>,
}

/// The `FROM` item that unpacks `$1`, a JSON array of row arrays bound as text, into rows `e`:
/// binding each value of a bulk write separately costs more than the write itself.
const JSON_ROWS: &str = match DIALECT {
    Dialect::Sqlite => "json_each($1) AS e",
    Dialect::Postgres => "jsonb_array_elements($1::jsonb) AS e",
};

/// Element `index` of a [`JSON_ROWS`] row, as SQL type `ty` (SQLite's `->>` already gives
/// integers and text, and booleans as 0 and 1).
fn json_column(index: usize, ty: &str) -> String {
    match DIALECT {
        Dialect::Sqlite => format!("e.value ->> {index}"),
        Dialect::Postgres => format!("(e.value ->> {index})::{ty}"),
    }
}

fn json(rows: &impl serde::Serialize) -> String {
    serde_json::to_string(rows).expect("rows of text and numbers serialise")
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn slug_taken(error: sqlx::Error, slug: &Slug) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::SlugTaken(slug.clone()),
        _ => Error::Database(error),
    }
}

impl Backend {
    pub(super) async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that holds the write lock from its first statement, so a read followed by
    /// a write never fails half-way (SQLite `BEGIN IMMEDIATE`; a PostgreSQL advisory lock).
    async fn begin_write(&self) -> Result<Tx> {
        match DIALECT {
            Dialect::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Dialect::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK_KEY).execute(&mut *tx).await?;
                Ok(tx)
            }
        }
    }

    pub(super) async fn migrate(&self) -> Result<()> {
        self.migrate_up_to(SCHEMA_VERSION).await
    }

    /// Applies the migrations up to `last` (tests use it to build an older schema).
    pub(super) async fn migrate_up_to(&self, last: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // Plain strings run as simple queries, which may hold several statements.
        (&mut *tx)
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
        let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        if current > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew { found: current, known: SCHEMA_VERSION });
        }
        for &(version, name, sql) in MIGRATIONS {
            if version <= current || version > last {
                continue;
            }
            tracing::info!(version, name, "applying migration");
            (&mut *tx).execute(sql).await?;
            #[expect(clippy::disallowed_methods, reason = "a migration's own timestamp is operational metadata")]
            let applied_at = Timestamp::now().as_microsecond();
            sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                .bind(version)
                .bind(name)
                .bind(applied_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_link(&self, new: &NewLink, actor: &Actor, now: Timestamp) -> Result<Link> {
        let mut tx = self.begin_write().await?;
        let id = insert_link(&mut tx, new, actor, now, None).await?;
        let link = load_link(&mut tx, id).await?;
        tx.commit().await?;
        Ok(link)
    }

    /// Creates all the links or none, in one transaction.
    pub(super) async fn create_links(&self, links: &[NewLink], actor: &Actor, now: Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for new in links {
            insert_link(&mut tx, new, actor, now, None).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn link(&self, slug: &Slug) -> Result<Link> {
        let mut conn = self.pool.acquire().await?;
        let id = resolve(&mut conn, slug).await?;
        load_link(&mut conn, id).await
    }

    pub(super) async fn list_links(&self, query: &LinkQuery) -> Result<Vec<Link>> {
        let mut conn = self.pool.acquire().await?;
        // `$1` is the exact pattern, `%` and `_` in the search escaped; `$6` the same with them
        // left as single-character wildcards, a superset. The trigram indexes (migration 3)
        // serve `$6`: SQLite's FTS5 ignores its index for a LIKE with an ESCAPE clause.
        let term = query.search.as_ref().map(|s| s.to_lowercase());
        let pattern = term.as_ref().map(|t| {
            let escaped = t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let superset = term.as_ref().map(|t| format!("%{}%", t.replace('%', "_")));
        // SQLite cannot weigh an index of a virtual table against a scan in slug order, so it
        // is told: a term found in many links is listed fastest by that scan, which soon has a
        // page of matches; a rarer one through the index. PostgreSQL's planner weighs both.
        let common = match (DIALECT, &superset) {
            (Dialect::Sqlite, Some(superset)) => {
                let found: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM links_search WHERE document LIKE $1 LIMIT $2)",
                )
                .bind(superset)
                .bind(SEARCH_INDEX_LIMIT + 1)
                .fetch_one(&mut *conn)
                .await?;
                found > SEARCH_INDEX_LIMIT
            }
            _ => false,
        };
        // The condition is left out rather than made `$1 IS NULL OR …`, which would keep a
        // generic plan from using the index.
        let search = match (DIALECT, &pattern) {
            (_, None) => "$1 IS NULL AND $6 IS NULL",
            (Dialect::Sqlite, Some(_)) if common => {
                "$6 IS NOT NULL AND lower(l.slug || char(10) || l.title || char(10) || l.target) LIKE $1 ESCAPE '\\'"
            }
            (Dialect::Sqlite, Some(_)) => {
                "l.id IN (SELECT rowid FROM links_search WHERE document LIKE $6 AND document LIKE $1 ESCAPE '\\')"
            }
            (Dialect::Postgres, Some(_)) => {
                "lower(l.slug || chr(10) || l.title || chr(10) || l.target) LIKE $6
                 AND lower(l.slug || chr(10) || l.title || chr(10) || l.target) LIKE $1"
            }
        };
        // The cursor is a slug in either order: the link it names gives the keyset's place. As
        // with the search, the condition is left out rather than made `$4 IS NULL OR …`, which
        // SQLite cannot serve from the index: a later page scanned from the first.
        let (after, order) = match (query.order, &query.after) {
            (LinkOrder::Slug, Some(_)) => ("l.slug > $4", "l.slug"),
            (LinkOrder::Changed, Some(_)) => (
                "(l.updated_at, l.id) < (SELECT c.updated_at, c.id FROM links c JOIN slugs s ON s.link_id = c.id WHERE s.slug = $4)",
                "l.updated_at DESC, l.id DESC",
            ),
            (LinkOrder::Slug, None) => ("$4 IS NULL", "l.slug"),
            (LinkOrder::Changed, None) => ("$4 IS NULL", "l.updated_at DESC, l.id DESC"),
        };
        let sql = format!(
            "SELECT l.id FROM links l
             WHERE {search}
               AND ($2 IS NULL OR l.status = $2)
               AND ($3 IS NULL OR EXISTS (SELECT 1 FROM link_tags t WHERE t.link_id = l.id AND t.tag = $3))
               AND {after}
               AND ($7 IS NULL OR l.owner = $7)
             ORDER BY {order}
             LIMIT $5"
        );
        let ids: Vec<i64> = sqlx::query_scalar(&sql)
        .bind(pattern)
        .bind(query.status.map(LinkStatus::as_str))
        .bind(query.tag.as_ref().map(Tag::as_str))
        .bind(query.after.as_ref().map(Slug::as_str))
        .bind(i64::from(query.limit.max(1)))
        .bind(superset)
        .bind(query.owner.as_deref())
        .fetch_all(&mut *conn)
        .await?;
        let mut links = Vec::with_capacity(ids.len());
        for id in ids {
            links.push(load_link(&mut conn, LinkId(id)).await?);
        }
        Ok(links)
    }

    /// Makes one change in its own transaction and returns the link as it is afterwards.
    pub(super) async fn edit(&self, edit: &Edit, actor: &Actor, now: Timestamp, reason: Option<&str>) -> Result<Link> {
        let mut tx = self.begin_write().await?;
        let id = edit_in(&mut tx, edit, actor, now, reason).await?;
        let link = load_link(&mut tx, id).await?;
        tx.commit().await?;
        Ok(link)
    }

    /// Makes every change in one transaction, in order: all of them, or none.
    pub(super) async fn apply_edits(&self, edits: &[Edit], actor: &Actor, now: Timestamp, reason: Option<&str>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for edit in edits {
            edit_in(&mut tx, edit, actor, now, reason).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn history(&self, slug: &Slug) -> Result<Vec<HistoryEntry>> {
        let mut conn = self.pool.acquire().await?;
        let id = resolve(&mut conn, slug).await?;
        let rows = sqlx::query(
            "SELECT seq, at, actor, interface, kind, old, new, effective_at, reason
             FROM history WHERE link_id = $1 ORDER BY seq",
        )
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(history_entry).collect()
    }

    pub(super) async fn apply_due_schedules(&self, now: Timestamp) -> Result<usize> {
        let due: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT link_id FROM schedule WHERE at <= $1")
            .bind(micros(now))
            .fetch_all(&self.pool)
            .await?;
        let mut applied = 0;
        for link_id in due {
            let mut tx = self.begin_write().await?;
            applied += fold_due_schedule(&mut tx, LinkId(link_id), now).await?;
            tx.commit().await?;
        }
        Ok(applied)
    }

    pub(super) async fn add_counts(&self, batch: &[DailyCount]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // (On SQLite, `Store::add_counts` appends through rusqlite instead.)
        // A busy instance flushes one row per link hit in the last second, tens of thousands
        // at a million links. They are appended to the count log, and each statement takes its
        // rows as one JSON array bound as text, which the database unpacks: binding five values
        // per row cost more than writing them.
        let sql = format!(
            "INSERT INTO count_log (link_id, day, hits, head_hits, bot_hits) SELECT {}, {}, {}, {}, {} FROM {JSON_ROWS}",
            json_column(0, "bigint"),
            json_column(1, "text"),
            json_column(2, "bigint"),
            json_column(3, "bigint"),
            json_column(4, "bigint"),
        );
        let mut tx = self.pool.begin().await?;
        for chunk in batch.chunks(COUNT_ROWS_PER_STATEMENT) {
            let json: Vec<_> = chunk.iter().map(DailyCount::row).collect();
            let json = serde_json::to_string(&json).expect("numbers and dates serialise");
            sqlx::query(&sql).bind(json).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves the count log into the daily totals, in chunks of at most [`FOLD_CHUNK`] log rows,
    /// each under the write lock in its own transaction, so people's edits wait for one chunk
    /// at most. Each chunk upserts once per (link, day), in key order. PostgreSQL deletes and
    /// adds in one statement, so a row appended by another replica meanwhile is either folded
    /// or left for next time, never lost; SQLite has no concurrent writer while the lock is held.
    pub(super) async fn fold_counts(&self) -> Result<u64> {
        let mut total = 0;
        let mut from = Some(i64::MIN);
        while let Some(start) = from {
            let (folded, next) = self.fold_count_chunk(start).await?;
            total += folded;
            from = next;
        }
        Ok(total)
    }

    /// Folds one chunk; returns the log rows it folded and where the next chunk starts, if
    /// there is one. SQLite takes the links from `from` on, up to about [`FOLD_CHUNK`] log
    /// rows (its log is keyed by link, so the chunk's upserts and deletes stay within one
    /// range of pages); PostgreSQL takes the oldest log rows.
    async fn fold_count_chunk(&self, from: i64) -> Result<(u64, Option<i64>)> {

        let mut tx = self.begin_write().await?;
        let folded = match DIALECT {
            Dialect::Sqlite => {
                // The chunk ends before the link of the FOLD_CHUNK-th row from `from` on, or
                // takes the rest (no link has the id i64::MAX); the next starts there.
                let boundary: Option<i64> = sqlx::query_scalar(
                    "SELECT link_id FROM count_log WHERE link_id >= $1 ORDER BY link_id LIMIT 1 OFFSET $2",
                )
                .bind(from)
                .bind(FOLD_CHUNK)
                .fetch_optional(&mut *tx)
                .await?;
                let end = boundary.map(|b| b.max(from.saturating_add(1)));
                let until = end.unwrap_or(i64::MAX);
                sqlx::query(&format!(
                    "INSERT INTO daily_counts (link_id, day, hits, head_hits, bot_hits)
                     SELECT link_id, day, SUM(hits), SUM(head_hits), SUM(bot_hits) FROM count_log
                     WHERE link_id >= $1 AND link_id < $2 GROUP BY link_id, day ORDER BY link_id, day {FOLD_ADD}"
                ))
                .bind(from)
                .bind(until)
                .execute(&mut *tx)
                .await?;
                let folded = sqlx::query("DELETE FROM count_log WHERE link_id >= $1 AND link_id < $2")
                    .bind(from)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                return Ok((folded, end));
            }
            Dialect::Postgres => {
                let folded: i64 = sqlx::query_scalar(&format!(
                    "WITH moved AS (
                         DELETE FROM count_log WHERE id IN (SELECT id FROM count_log ORDER BY id LIMIT $1)
                         RETURNING link_id, day, hits, head_hits, bot_hits
                     ),
                     added AS (
                         INSERT INTO daily_counts (link_id, day, hits, head_hits, bot_hits)
                         SELECT link_id, day, SUM(hits), SUM(head_hits), SUM(bot_hits) FROM moved
                         GROUP BY link_id, day ORDER BY link_id, day {FOLD_ADD}
                     )
                     SELECT COUNT(*) FROM moved"
                ))
                .bind(FOLD_CHUNK)
                .fetch_one(&mut *tx)
                .await?;
                folded as u64
            }
        };
        tx.commit().await?;
        let more = folded >= FOLD_CHUNK as u64;
        Ok((folded, more.then_some(from)))
    }

    pub(super) async fn daily_counts(&self, slug: &Slug) -> Result<Vec<DailyCount>> {
        let mut conn = self.pool.acquire().await?;
        let id = resolve(&mut conn, slug).await?;
        // The folded totals plus whatever the log holds that is not folded yet.
        let rows = sqlx::query(
            "SELECT day, CAST(SUM(hits) AS BIGINT) AS hits, CAST(SUM(head_hits) AS BIGINT) AS head_hits,
                    CAST(SUM(bot_hits) AS BIGINT) AS bot_hits FROM (
                 SELECT day, hits, head_hits, bot_hits FROM daily_counts WHERE link_id = $1
                 UNION ALL
                 SELECT day, hits, head_hits, bot_hits FROM count_log WHERE link_id = $1
             ) AS both_tables GROUP BY day ORDER BY day",
        )
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_day: std::collections::BTreeMap<jiff::civil::Date, Counts> = Default::default();
        for row in &rows {
            let day: String = row.try_get("day")?;
            let day = day.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            by_day.insert(
                day,
                Counts { hits: row.try_get("hits")?, head_hits: row.try_get("head_hits")?, bot_hits: row.try_get("bot_hits")? },
            );
        }
        if DIALECT == Dialect::Sqlite {
            // And the packed counts not folded yet, from the link's bucket only.
            let packs: Vec<Vec<u8>> = sqlx::query_scalar("SELECT data FROM count_packs WHERE bucket = $1")
                .bind(pack_bucket(id))
                .fetch_all(&mut *conn)
                .await?;
            for count in packs.iter().flat_map(|data| unpack(data)).filter(|count| count.link_id == id) {
                by_day.entry(count.day).or_default().add(count.counts);
            }
        }
        Ok(by_day.into_iter().map(|(day, counts)| DailyCount { link_id: id, day, counts }).collect())
    }

    pub(super) async fn latest_change(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM changes").fetch_one(&self.pool).await?)
    }

    pub(super) async fn changes_after(&self, cursor: i64, limit: i64) -> Result<Vec<(i64, LinkId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, link_id FROM changes WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(cursor)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(id, link)| (id, LinkId(link))).collect())
    }

    /// The route of one link, or of every link when `only` is `None`, streamed to `each`.
    /// (SQLite reads every link through `routes::each_sqlite_route` instead, see there.)
    pub(super) async fn each_route(
        &self,
        only: Option<LinkId>,
        each: &mut (dyn FnMut(RoutedLink) + Send),
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        let mut conn = self.pool.acquire().await?;
        let only = only.map(|id| id.0);
        let aliases = sqlx::query_as(routes::ALIASES_SQL).bind(only).fetch_all(&mut *conn).await?;
        let schedule = sqlx::query_as(routes::SCHEDULE_SQL).bind(only).fetch_all(&mut *conn).await?;
        let mut assembler = routes::Assembler::new(aliases, schedule);
        let mut rows = sqlx::query(routes::ROUTES_SQL).bind(only).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            let row = routes::RouteRow {
                id: row.try_get("id")?,
                target: row.try_get("target")?,
                status: row.try_get("status")?,
                redirect_status: row.try_get("redirect_status")?,
                forward_query: row.try_get("forward_query")?,
                slug: row.try_get("slug")?,
            };
            each(assembler.route(row));
        }
        Ok(())
    }

    /// Streams every link with its history to `each`, in slug order, from one consistent
    /// snapshot of the database. Reads [`TRANSFER_CHUNK`] links at a time, with one query per
    /// table for the whole chunk.
    pub(super) async fn export_links(&self, each: &mut (dyn FnMut(LinkRecord) -> Result<()> + Send)) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        if DIALECT == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        }
        // The chunk's ids, bound as one JSON array: a list the planner sees as small, where a
        // subquery on `links` led PostgreSQL to scan the other tables whole for every chunk.
        let chunk = match DIALECT {
            Dialect::Sqlite => "SELECT value FROM json_each($1)",
            Dialect::Postgres => "SELECT jsonb_array_elements_text($1::jsonb)::bigint",
        };
        let mut after = String::new();
        let mut exported = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {LINK_COLUMNS} FROM links WHERE slug > $1 ORDER BY slug LIMIT {TRANSFER_CHUNK}"
            ))
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { return Ok(exported) };
            let last: String = last.try_get("slug")?;
            let ids = rows.iter().map(|row| row.try_get("id")).collect::<Result<Vec<i64>, _>>()?;
            let ids = json(&ids);
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            let tag_rows: Vec<(i64, String)> =
                sqlx::query_as(&format!("SELECT link_id, tag FROM link_tags WHERE link_id IN ({chunk}) ORDER BY tag"))
                    .bind(&ids)
                    .fetch_all(&mut *tx)
                    .await?;
            for (id, tag) in tag_rows {
                tags.entry(id).or_default().push(tag);
            }
            let mut aliases: HashMap<i64, Vec<String>> = HashMap::new();
            let alias_rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT s.link_id, s.slug FROM slugs s JOIN links l ON l.id = s.link_id
                 WHERE s.slug <> l.slug AND s.link_id IN ({chunk}) ORDER BY s.slug"
            ))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
            for (id, alias) in alias_rows {
                aliases.entry(id).or_default().push(alias);
            }
            let mut schedules: HashMap<i64, Vec<ScheduleRow>> = HashMap::new();
            let schedule_rows: Vec<(i64, i64, i64, Option<String>, i64, String)> = sqlx::query_as(&format!(
                "SELECT link_id, id, at, target, created_at, actor FROM schedule
                 WHERE link_id IN ({chunk}) ORDER BY at, id"
            ))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
            for (link, id, at, target, created_at, actor) in schedule_rows {
                schedules.entry(link).or_default().push((id, at, target, created_at, actor));
            }
            let mut histories: HashMap<i64, Vec<HistoryEntry>> = HashMap::new();
            let history_rows = sqlx::query(&format!(
                "SELECT link_id, seq, at, actor, interface, kind, old, new, effective_at, reason FROM history
                 WHERE link_id IN ({chunk}) ORDER BY link_id, seq"
            ))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
            for row in &history_rows {
                histories.entry(row.try_get("link_id")?).or_default().push(history_entry(row)?);
            }
            for row in &rows {
                let id: i64 = row.try_get("id")?;
                let link = link_from_row(
                    row,
                    tags.remove(&id).unwrap_or_default(),
                    aliases.remove(&id).unwrap_or_default(),
                    schedules.remove(&id).unwrap_or_default(),
                )?;
                each(LinkRecord { link, history: histories.remove(&id).unwrap_or_default() })?;
                exported += 1;
            }
            after = last;
        }
    }

    /// Writes every record, or none: one transaction, refused as a whole with every record
    /// whose slug or alias is taken. Records are inserted [`TRANSFER_CHUNK`] at a time, each
    /// table's rows bound as one JSON array, so a million links take seconds, not minutes.
    pub(super) async fn import_links(&self, rows: &[ImportRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let taken_sql = match DIALECT {
            Dialect::Sqlite => "SELECT slug FROM slugs WHERE slug IN (SELECT value FROM json_each($1))",
            Dialect::Postgres => "SELECT slug FROM slugs WHERE slug IN (SELECT jsonb_array_elements_text($1::jsonb))",
        };
        let mut taken = std::collections::HashSet::new();
        for chunk in rows.chunks(TRANSFER_CHUNK) {
            let slugs: Vec<&str> = chunk.iter().flat_map(|row| row.record.slugs()).map(Slug::as_str).collect();
            let found: Vec<String> = sqlx::query_scalar(taken_sql).bind(json(&slugs)).fetch_all(&mut *tx).await?;
            taken.extend(found);
        }
        if !taken.is_empty() {
            let rejections = rows
                .iter()
                .filter_map(|row| {
                    let slug = row.record.slugs().find(|slug| taken.contains(slug.as_str()))?;
                    let field = if *slug == row.record.link.slug { "slug" } else { "aliases" };
                    let message = format!("the slug `{slug}` is taken (slugs are never freed)");
                    Some(Rejection { line: row.line, invalid: Invalid::new(field, "taken", message) })
                })
                .collect();
            return Err(Error::Rejected(rejections));
        }
        let blocked: Vec<String> = sqlx::query_scalar("SELECT domain FROM blocked_domains").fetch_all(&mut *tx).await?;
        if !blocked.is_empty() {
            let rejections: Vec<Rejection> = rows
                .iter()
                .filter_map(|row| {
                    let domain = blocked.iter().find(|domain| row.record.link.target.is_within(domain))?;
                    let message = format!("targets on {domain} are blocked on this instance");
                    Some(Rejection { line: row.line, invalid: Invalid::new("target", "blocked_domain", message) })
                })
                .collect();
            if !rejections.is_empty() {
                return Err(Error::Rejected(rejections));
            }
        }

        // Each statement unpacks one JSON array of row arrays; `insert` names the columns and
        // their SQL types, in the order of the row arrays.
        let insert = |table: &str, columns: &[(&str, &str)]| {
            let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
            let values: Vec<String> =
                columns.iter().enumerate().map(|(index, (_, ty))| json_column(index, ty)).collect();
            format!("INSERT INTO {table} ({}) SELECT {} FROM {JSON_ROWS}", names.join(", "), values.join(", "))
        };
        let links_sql = insert(
            "links",
            &[
                ("slug", "text"), ("target", "text"), ("title", "text"), ("notes", "text"), ("status", "text"),
                ("locked", "boolean"), ("redirect_status", "bigint"), ("forward_query", "boolean"),
                ("created_at", "bigint"), ("updated_at", "bigint"), ("owner", "text"),
            ],
        ) + " RETURNING id, slug";
        let slugs_sql = insert("slugs", &[("link_id", "bigint"), ("slug", "text")]);
        let tags_sql = insert("link_tags", &[("link_id", "bigint"), ("tag", "text")]);
        let history_sql = insert(
            "history",
            &[
                ("link_id", "bigint"), ("seq", "bigint"), ("at", "bigint"), ("actor", "text"), ("interface", "text"),
                ("kind", "text"), ("old", "text"), ("new", "text"), ("effective_at", "bigint"), ("reason", "text"),
            ],
        );
        let schedule_sql = insert(
            "schedule",
            &[("link_id", "bigint"), ("at", "bigint"), ("target", "text"), ("created_at", "bigint"), ("actor", "text")],
        );
        let changes_sql = insert("changes", &[("link_id", "bigint")]);
        for chunk in rows.chunks(TRANSFER_CHUNK) {
            let links: Vec<_> = chunk
                .iter()
                .map(|row| {
                    let l = &row.record.link;
                    (
                        l.slug.as_str(), l.target.as_str(), &l.title, &l.notes, l.status.as_str(), l.locked,
                        l.redirect_status.code(), l.forward_query, micros(l.created_at), micros(l.updated_at),
                        l.owner.as_deref(),
                    )
                })
                .collect();
            // The other tables take the new ids; the database is not asked to join, as its
            // statistics know nothing yet of the rows this transaction added.
            let ids: HashMap<String, i64> = sqlx::query_as::<_, (i64, String)>(&links_sql)
                .bind(json(&links))
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(id, slug)| (slug, id))
                .collect();
            let records: Vec<(i64, &LinkRecord)> =
                chunk.iter().map(|row| (ids[row.record.link.slug.as_str()], &row.record)).collect();
            let slugs: Vec<(i64, &str)> =
                records.iter().flat_map(|(id, r)| r.slugs().map(|slug| (*id, slug.as_str()))).collect();
            sqlx::query(&slugs_sql).bind(json(&slugs)).execute(&mut *tx).await?;
            let mut tags: Vec<(i64, &str)> = Vec::new();
            for (id, r) in &records {
                let mut own: Vec<&str> = r.link.tags.iter().map(Tag::as_str).collect();
                own.sort_unstable();
                own.dedup();
                tags.extend(own.into_iter().map(|tag| (*id, tag)));
            }
            if !tags.is_empty() {
                sqlx::query(&tags_sql).bind(json(&tags)).execute(&mut *tx).await?;
            }
            let history: Vec<_> = records
                .iter()
                .flat_map(|(id, r)| {
                    r.history.iter().map(|entry| {
                        let (kind, old, new, effective_at) = stored_change(&entry.change);
                        let (at, interface) = (micros(entry.at), entry.interface.as_str());
                        (*id, entry.seq, at, &entry.actor, interface, kind, old, new, effective_at, &entry.reason)
                    })
                })
                .collect();
            sqlx::query(&history_sql).bind(json(&history)).execute(&mut *tx).await?;
            let schedule: Vec<_> = records
                .iter()
                .flat_map(|(id, r)| {
                    r.link.schedule.iter().map(|entry| {
                        let target = match &entry.action {
                            ScheduledAction::Target { target } => Some(target.as_str()),
                            ScheduledAction::Retire => None,
                        };
                        (*id, micros(entry.at), target, micros(entry.created_at), &entry.actor)
                    })
                })
                .collect();
            if !schedule.is_empty() {
                sqlx::query(&schedule_sql).bind(json(&schedule)).execute(&mut *tx).await?;
            }
            let changed: Vec<[i64; 1]> = records.iter().map(|(id, _)| [*id]).collect();
            sqlx::query(&changes_sql).bind(json(&changed)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // PostgreSQL plans by statistics, which a bulk load leaves stale until autovacuum
        // comes by; without them, reads by link id chose whole-table scans.
        if DIALECT == Dialect::Postgres && rows.len() > TRANSFER_CHUNK {
            sqlx::raw_sql("ANALYZE links, slugs, link_tags, history, schedule, changes").execute(&self.pool).await?;
        }
        Ok(())
    }

    pub(super) async fn blocked_domains(&self) -> Result<Vec<BlockedDomain>> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT domain, added_at, added_by FROM blocked_domains ORDER BY domain")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(domain, added_at, added_by)| BlockedDomain { domain, added_at: timestamp(added_at), added_by })
            .collect())
    }

    pub(super) async fn block_domain(&self, domain: &str, by: &str, now: Timestamp) -> Result<()> {
        let domain = crate::target::parse_domain(domain)?;
        sqlx::query("INSERT INTO blocked_domains (domain, added_at, added_by) VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING")
            .bind(&domain)
            .bind(micros(now))
            .bind(by)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(super) async fn unblock_domain(&self, domain: &str) -> Result<()> {
        sqlx::query("DELETE FROM blocked_domains WHERE domain = $1").bind(domain).execute(&self.pool).await?;
        Ok(())
    }

        pub(super) async fn style_presets(&self) -> Result<Vec<(String, SavedStyle)>> {
        let rows: Vec<(String, String, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT name, options, logo FROM style_presets ORDER BY name").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(name, options, logo_png)| (name, SavedStyle { options, logo_png })).collect())
    }

    pub(super) async fn save_style_preset(&self, name: &str, style: &SavedStyle, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO style_presets (name, options, logo, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET options = excluded.options, logo = excluded.logo,
             updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(&style.options)
        .bind(style.logo_png.as_deref())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn delete_style_preset(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM style_presets WHERE name = $1").bind(name).execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn link_style(&self, slug: &Slug) -> Result<Option<SavedStyle>> {
        let row: Option<(String, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT st.options, st.logo FROM link_styles st JOIN slugs s ON s.link_id = st.link_id WHERE s.slug = $1",
        )
        .bind(slug.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(options, logo_png)| SavedStyle { options, logo_png }))
    }

    pub(super) async fn set_link_style(&self, slug: &Slug, style: Option<&SavedStyle>, now: Timestamp) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let id = resolve(&mut tx, slug).await?.0;
        match style {
            Some(style) => {
                sqlx::query(
                    "INSERT INTO link_styles (link_id, options, logo, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (link_id) DO UPDATE SET options = excluded.options, logo = excluded.logo,
                     updated_at = excluded.updated_at",
                )
                .bind(id)
                .bind(&style.options)
                .bind(style.logo_png.as_deref())
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM link_styles WHERE link_id = $1").bind(id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn create_user(&self, name: &str, role: Role, now: Timestamp) -> Result<User> {
        let id: i64 = sqlx::query_scalar("INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(role.as_str())
            .bind(micros(now))
            .fetch_one(&self.pool)
            .await
            .map_err(|error| user_taken(error, name))?;
        Ok(User { id, name: name.to_owned(), role, all_links: false, created_at: now })
    }

    pub(super) async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.name")).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    pub(super) async fn user(&self, name: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Changes a user's role and grant; their sessions end, so a demotion holds at once.
    pub(super) async fn set_role(&self, user: &User, role: Role, all_links: bool) -> Result<User> {
        let mut tx = self.begin_write().await?;
        if user.role == Role::Admin && role != Role::Admin {
            let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
                .fetch_one(&mut *tx)
                .await?;
            if admins <= 1 {
                return Err(Error::invalid("role", "last_admin", "the last admin cannot stop being one"));
            }
        }
        sqlx::query("UPDATE users SET role = $1, all_links = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(all_links)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, user.id).await?;
        tx.commit().await?;
        Ok(User { role, all_links, ..user.clone() })
    }

    /// Whether any admin exists (one who has not yet set a password counts).
    pub(super) async fn has_admin(&self) -> Result<bool> {
        let admins: i64 = sqlx::query_scalar(COUNT_ADMINS).fetch_one(&self.pool).await?;
        Ok(admins > 0)
    }

    /// Stores a new one-time password link for `user`, or the first-run setup link for `None`.
    pub(super) async fn create_password_link(
        &self,
        user: Option<&User>,
        lifetime: jiff::SignedDuration,
        now: Timestamp,
    ) -> Result<PasswordLinkSecret> {
        let secret = PasswordLinkSecret::generate();
        let user_id = user.map(|user| user.id);
        let mut tx = self.pool.begin().await?;
        // The newest link is the only one: issuing a link ends the person's earlier ones, and
        // each start of `serve` without an admin replaces the setup link.
        delete_password_links(&mut tx, user_id).await?;
        sqlx::query("INSERT INTO password_links (secret_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(secret.hash())
            .bind(user_id)
            .bind(micros(now))
            .bind(micros(now + lifetime))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// What an unexpired, unused password link is for; `None` for any other secret.
    pub(super) async fn password_link(&self, secret: &PasswordLinkSecret, now: Timestamp) -> Result<Option<PasswordLinkFor>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT user_id FROM password_links WHERE secret_hash = $1 AND expires_at > $2")
                .bind(secret.hash())
                .bind(micros(now))
                .fetch_optional(&self.pool)
                .await?;
        let Some((user_id,)) = row else { return Ok(None) };
        let Some(user_id) = user_id else { return Ok(Some(PasswordLinkFor::FirstAdmin)) };
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?.map(PasswordLinkFor::User))
    }

    /// Uses a password link once: sets the password of its user (or creates the first admin,
    /// named `first_admin`, if no admin exists yet), ends the user's sessions, and deletes the
    /// link, all in one transaction. Refused like an unknown link once it is used or expired.
    pub(super) async fn use_password_link(
        &self,
        secret: &PasswordLinkSecret,
        first_admin: Option<&str>,
        hash: &PasswordHash,
        now: Timestamp,
    ) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("DELETE FROM password_links WHERE secret_hash = $1 AND expires_at > $2 RETURNING user_id")
                .bind(secret.hash())
                .bind(micros(now))
                .fetch_optional(&mut *tx)
                .await?;
        let Some((user_id,)) = row else {
            return Err(Error::invalid("link", "unused", "this link is unknown, used already, or expired"));
        };
        delete_password_links(&mut tx, user_id).await?;
        let user_id = match user_id {
            Some(id) => id,
            None => {
                let admins: i64 = sqlx::query_scalar(COUNT_ADMINS)
                    .fetch_one(&mut *tx)
                    .await?;
                if admins > 0 {
                    return Err(Error::invalid("link", "unused", "an admin exists already: sign in instead"));
                }
                let name = first_admin.ok_or_else(|| Error::invalid("user", "required", "choose a user name"))?;
                sqlx::query_scalar("INSERT INTO users (name, role, created_at) VALUES ($1, 'admin', $2) RETURNING id")
                    .bind(name)
                    .bind(micros(now))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|error| user_taken(error, name))?
            }
        };
        set_password_in(&mut tx, user_id, hash).await?;
        end_sessions(&mut tx, user_id).await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")).bind(user_id).fetch_one(&mut *tx).await?;
        let user = user_from_row(&row)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Deletes sessions and password links that can no longer be used; returns how many.
    pub(super) async fn prune_expired(&self, idle: jiff::SignedDuration, now: Timestamp) -> Result<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(micros(now))
            .bind(micros(now - idle))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let links = sqlx::query("DELETE FROM password_links WHERE expires_at <= $1")
            .bind(micros(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let failures = self.prune_sign_in_failures(now).await?;
        Ok(sessions + links + failures)
    }

    pub(super) async fn create_token(
        &self,
        new: &NewToken,
        created_by: &str,
        now: Timestamp,
    ) -> Result<(TokenInfo, TokenSecret)> {
        let user = match &new.user {
            None => None,
            Some(name) => Some(self.user(name).await?.ok_or_else(|| {
                Error::invalid("user", "exists", format!("there is no user named `{name}`"))
            })?),
        };
        if let Some(user) = &user
            && new.scope > user.role.max_scope()
        {
            return Err(Error::invalid(
                "scope",
                "within_role",
                format!(
                    "`{}` is {} and cannot hold a `{}` token (at most `{}`)",
                    user.name,
                    user.role.as_str(),
                    new.scope.as_str(),
                    user.role.max_scope().as_str()
                ),
            ));
        }
        let secret = TokenSecret::generate();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, prefix, hash, scope, user_id, created_at, created_by, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&new.name)
        .bind(secret.display_prefix())
        .bind(secret.hash())
        .bind(new.scope.as_str())
        .bind(user.as_ref().map(|user| user.id))
        .bind(micros(now))
        .bind(created_by)
        .bind(new.expires_at.map(micros))
        .fetch_one(&self.pool)
        .await?;
        let info = self.tokens().await?.into_iter().find(|token| token.id == id);
        Ok((info.ok_or_else(|| Error::Conflict("the new token vanished".into()))?, secret))
    }

    pub(super) async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.prefix, t.scope, u.name AS user_name, t.created_at, t.created_by,
                    t.expires_at, t.revoked_at, t.last_used_at
             FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let scope: String = row.try_get("scope")?;
                let optional = |column: &str| -> Result<Option<Timestamp>> {
                    Ok(row.try_get::<Option<i64>, _>(column)?.map(timestamp))
                };
                Ok(TokenInfo {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    prefix: row.try_get("prefix")?,
                    scope: Scope::parse(&scope).map_err(Error::Invalid)?,
                    user: row.try_get("user_name")?,
                    created_at: timestamp(row.try_get("created_at")?),
                    created_by: row.try_get("created_by")?,
                    expires_at: optional("expires_at")?,
                    revoked_at: optional("revoked_at")?,
                    last_used_at: optional("last_used_at")?,
                })
            })
            .collect()
    }

    pub(super) async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<()> {
        let revoked = sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(micros(now))
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if revoked == 0 {
            return Err(Error::Missing(format!("there is no token {id}")));
        }
        Ok(())
    }

    pub(super) async fn set_password(&self, user: &User, hash: &PasswordHash) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        set_password_in(&mut tx, user.id, hash).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a sign-in attempt at `name` from `client` as failed before its password is
    /// checked, unless a back-off refuses it (R-SEC-6). Each limit is one conditional upsert,
    /// so parallel attempts cannot slip past it; [`Self::forget_sign_in_failures`] takes the
    /// attempt back when the password was right.
    pub(super) async fn reserve_sign_in(&self, name: &str, client: &str, now: Timestamp) -> Result<SignInReservation> {
        let exponent = "sign_in_backoff.failures + 1 - $4";
        let (least, doubling) = match DIALECT {
            Dialect::Sqlite => ("min", format!("(1 << min({exponent}, 20))")),
            Dialect::Postgres => ("LEAST", format!("(1::bigint << LEAST({exponent}, 20)::int)")),
        };
        // The n-th failure in a row from one client, from FREE_FAILURES on, blocks the next
        // attempt for 2^(n - FREE_FAILURES) seconds, at most MAX_BLOCK.
        let counted: Option<i64> = sqlx::query_scalar(&format!(
            "INSERT INTO sign_in_backoff (name, client, failures, blocked_until, touched_at) VALUES ($1, $2, 1, NULL, $3)
             ON CONFLICT (name, client) DO UPDATE SET
               failures = sign_in_backoff.failures + 1,
               blocked_until = CASE WHEN sign_in_backoff.failures + 1 >= $4
                 THEN $3 + {least}({doubling}, $5) * 1000000
                 ELSE NULL END,
               touched_at = $3
             WHERE sign_in_backoff.blocked_until IS NULL OR sign_in_backoff.blocked_until <= $3
             RETURNING failures"
        ))
        .bind(name)
        .bind(client)
        .bind(micros(now))
        .bind(FREE_FAILURES)
        .bind(MAX_BLOCK.as_secs())
        .fetch_optional(&self.pool)
        .await?;
        if counted.is_none() {
            let until: Option<i64> = sqlx::query_scalar("SELECT blocked_until FROM sign_in_backoff WHERE name = $1 AND client = $2")
                .bind(name)
                .bind(client)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
            return Ok(SignInReservation::Blocked { until: until.map_or(now, timestamp) });
        }
        // The ceiling for the name from all clients together: a GCRA bucket of
        // CEILING_BURST attempts that refills one every CEILING_INTERVAL.
        let (greatest, interval, tolerance) = (
            match DIALECT { Dialect::Sqlite => "max", Dialect::Postgres => "GREATEST" },
            CEILING_INTERVAL.as_micros() as i64,
            CEILING_INTERVAL.as_micros() as i64 * (CEILING_BURST - 1),
        );
        let within: Option<i64> = sqlx::query_scalar(&format!(
            "INSERT INTO sign_in_ceiling (name, tat) VALUES ($1, $2 + $3)
             ON CONFLICT (name) DO UPDATE SET tat = {greatest}(sign_in_ceiling.tat, $2) + $3
             WHERE {greatest}(sign_in_ceiling.tat, $2) - $2 <= $4
             RETURNING tat"
        ))
        .bind(name)
        .bind(micros(now))
        .bind(interval)
        .bind(tolerance)
        .fetch_optional(&self.pool)
        .await?;
        if within.is_none() {
            let tat: Option<i64> = sqlx::query_scalar("SELECT tat FROM sign_in_ceiling WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
            let until = tat.map_or(now, |tat| timestamp(tat - tolerance));
            return Ok(SignInReservation::Blocked { until });
        }
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        let account = match row {
            None => None,
            Some(row) => {
                let hash: Option<String> = row.try_get("password_hash")?;
                Some((user_from_row(&row)?, hash.map(PasswordHash::from_stored)))
            }
        };
        Ok(SignInReservation::Granted(account))
    }

    /// Takes back a reserved attempt that succeeded: the client's failures in a row end, and
    /// the attempt no longer counts against the name's ceiling.
    pub(super) async fn forget_sign_in_failures(&self, name: &str, client: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sign_in_backoff WHERE name = $1 AND client = $2")
            .bind(name)
            .bind(client)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sign_in_ceiling SET tat = tat - $2 WHERE name = $1")
            .bind(name)
            .bind(CEILING_INTERVAL.as_micros() as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes back-off records that no longer hold anything back: rows untouched for a day
    /// and past their block, and ceilings that have refilled. Keeps the tables small however
    /// many names and addresses attackers try.
    async fn prune_sign_in_failures(&self, now: Timestamp) -> Result<u64> {
        let stale = micros(now - jiff::SignedDuration::from_hours(24));
        let backoff = sqlx::query(
            "DELETE FROM sign_in_backoff WHERE touched_at < $1 AND (blocked_until IS NULL OR blocked_until <= $2)",
        )
        .bind(stale)
        .bind(micros(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        let ceiling = sqlx::query("DELETE FROM sign_in_ceiling WHERE tat <= $1")
            .bind(micros(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(backoff + ceiling)
    }

    pub(super) async fn create_session(
        &self,
        user: &User,
        timeouts: SessionTimeouts,
        now: Timestamp,
    ) -> Result<(SessionSecret, Session)> {
        let secret = SessionSecret::generate();
        let session = Session {
            user: user.clone(),
            csrf_token: SessionSecret::generate().expose().to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + timeouts.absolute,
        };
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(secret.hash())
        .bind(user.id)
        .bind(&session.csrf_token)
        .bind(micros(now))
        .bind(micros(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok((secret, session))
    }

    /// The session a cookie stands for, if it has been neither idle too long nor alive too
    /// long. Each use moves the idle deadline on, written at most once a minute.
    pub(super) async fn session(
        &self,
        secret: &SessionSecret,
        timeouts: SessionTimeouts,
        now: Timestamp,
    ) -> Result<Option<Session>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3"
        ))
        .bind(secret.hash())
        .bind(micros(now))
        .bind(micros(now - timeouts.idle))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let mut last_seen_at = timestamp(last_seen);
        if micros(now) - last_seen >= 60_000_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(micros(now))
                .bind(secret.hash())
                .execute(&self.pool)
                .await?;
            last_seen_at = now;
        }
        Ok(Some(Session {
            user: user_from_row(&row)?,
            csrf_token: row.try_get("csrf_token")?,
            created_at: timestamp(row.try_get("created_at")?),
            last_seen_at,
            expires_at: timestamp(row.try_get("expires_at")?),
        }))
    }

    pub(super) async fn delete_session(&self, secret: &SessionSecret) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(secret.hash()).execute(&self.pool).await?;
        Ok(())
    }

    /// Ends every session of a user (a password reset, a role change).
    pub(super) async fn delete_sessions_of(&self, user_id: i64) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        end_sessions(&mut conn, user_id).await
    }

    /// The caller a token stands for, if it is known, unrevoked and unexpired. Records the
    /// use at most once a minute per token, so a busy client does not write on every request.
    pub(super) async fn authenticate(&self, secret: &TokenSecret, now: Timestamp) -> Result<Option<Caller>> {
        let row = sqlx::query(&format!(
            "SELECT t.id, t.name, t.scope, t.last_used_at, t.user_id IS NOT NULL AS has_user, {USER_COLUMNS}
             FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
             WHERE t.hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)"
        ))
        .bind(secret.hash())
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let name: String = row.try_get("name")?;
        let scope: String = row.try_get("scope")?;
        let last_used: Option<i64> = row.try_get("last_used_at")?;
        let user = if row.try_get("has_user")? { Some(user_from_row(&row)?) } else { None };
        if last_used.is_none_or(|last| micros(now) - last >= 60_000_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(micros(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        let mut scope = Scope::parse(&scope).map_err(Error::Invalid)?;
        if let Some(user) = &user {
            scope = scope.min(user.role.max_scope());
        }
        let rights = Caller::rights_of(scope, user.as_ref());
        Ok(Some(Caller { token_id: id, token_name: name, scope, user: user.map(|user| user.name), rights }))
    }
}

/// Refuses a target on a blocked domain (the admin's settings), for every writer alike.
async fn check_not_blocked(tx: &mut Tx, target: &TargetUrl) -> Result<()> {
    let blocked: Vec<String> = sqlx::query_scalar("SELECT domain FROM blocked_domains").fetch_all(&mut **tx).await?;
    match blocked.iter().find(|domain| target.is_within(domain)) {
        Some(domain) => Err(Error::invalid(
            "target",
            "blocked_domain",
            format!("targets on {domain} are blocked on this instance"),
        )),
        None => Ok(()),
    }
}

async fn insert_link(tx: &mut Tx, new: &NewLink, actor: &Actor, now: Timestamp, reason: Option<&str>) -> Result<LinkId> {
    check_not_blocked(tx, &new.target).await?;
    let slug = match &new.slug {
        Some(slug) => slug.clone(),
        None => free_generated_slug(tx).await?,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO links (slug, target, title, notes, status, locked, redirect_status, forward_query, created_at, updated_at, owner)
         VALUES ($1, $2, $3, $4, 'active', FALSE, $5, $6, $7, $7, $8) RETURNING id",
    )
    .bind(slug.as_str())
    .bind(new.target.as_str())
    .bind(&new.title)
    .bind(&new.notes)
    .bind(i64::from(new.redirect_status.code()))
    .bind(new.forward_query)
    .bind(micros(now))
    .bind(new.owner.as_deref())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| slug_taken(e, &slug))?;
    let id = LinkId(id);
    sqlx::query("INSERT INTO slugs (slug, link_id) VALUES ($1, $2)")
        .bind(slug.as_str())
        .bind(id.0)
        .execute(&mut **tx)
        .await
        .map_err(|e| slug_taken(e, &slug))?;
    replace_tags(tx, id, &new.tags).await?;
    let created = Change::Created { slug: slug.to_string(), target: new.target.to_string() };
    record(tx, id, now, actor, &created, reason).await?;
    Ok(id)
}



/// One change inside a write transaction; returns the link it changed. Every front end's
/// single changes and `apply`'s batches go through here.
async fn edit_in(tx: &mut Tx, edit: &Edit, actor: &Actor, now: Timestamp, reason: Option<&str>) -> Result<LinkId> {
    let slug = match edit {
        Edit::Create(new) => return insert_link(tx, new, actor, now, reason).await,
        Edit::SetTarget { slug, .. }
        | Edit::Details { slug, .. }
        | Edit::Retire { slug, .. }
        | Edit::Unretire { slug }
        | Edit::Lock { slug, .. }
        | Edit::Rename { old: slug, .. }
        | Edit::Unschedule { slug, .. } => slug,
    };
    let link = lock_link(tx, slug, now).await?;
    match edit {
        Edit::Create(_) => unreachable!("handled above"),
        Edit::SetTarget { target, at, confirm, .. } => {
            if link.locked && !confirm {
                return Err(Error::ConfirmationRequired(link.slug));
            }
            check_not_blocked(tx, target).await?;
            match at.filter(|at| *at > now) {
                Some(at) => {
                    let action = ScheduledAction::Target { target: target.clone() };
                    schedule(tx, &link, at, &action, actor, now, reason).await?;
                }
                None if &link.target == target => {}
                None => {
                    sqlx::query("UPDATE links SET target = $1, updated_at = $2 WHERE id = $3")
                        .bind(target.as_str())
                        .bind(micros(now))
                        .bind(link.id.0)
                        .execute(&mut **tx)
                        .await?;
                    let entry = Change::Target { old: link.target.to_string(), new: target.to_string() };
                    record(tx, link.id, now, actor, &entry, reason).await?;
                }
            }
        }
        Edit::Details { details, .. } => {
            // History records target, slug, status and lock (R-LNK-3), not descriptive details.
            sqlx::query(
                "UPDATE links SET title = $1, notes = $2, redirect_status = $3, forward_query = $4, updated_at = $5
                 WHERE id = $6",
            )
            .bind(details.title.as_ref().unwrap_or(&link.title))
            .bind(details.notes.as_ref().unwrap_or(&link.notes))
            .bind(i64::from(details.redirect_status.unwrap_or(link.redirect_status).code()))
            .bind(details.forward_query.unwrap_or(link.forward_query))
            .bind(micros(now))
            .bind(link.id.0)
            .execute(&mut **tx)
            .await?;
            if let Some(tags) = &details.tags {
                replace_tags(tx, link.id, tags).await?;
            }
            append_change(tx, link.id).await?;
        }
        Edit::Retire { at, confirm, .. } => {
            if link.locked && !confirm {
                return Err(Error::ConfirmationRequired(link.slug));
            }
            match at.filter(|at| *at > now) {
                Some(at) => schedule(tx, &link, at, &ScheduledAction::Retire, actor, now, reason).await?,
                None => set_status(tx, &link, LinkStatus::Retired, actor, now, reason).await?,
            }
        }
        Edit::Unretire { .. } => set_status(tx, &link, LinkStatus::Active, actor, now, reason).await?,
        Edit::Lock { locked, .. } => {
            if link.locked != *locked {
                sqlx::query("UPDATE links SET locked = $1, updated_at = $2 WHERE id = $3")
                    .bind(locked)
                    .bind(micros(now))
                    .bind(link.id.0)
                    .execute(&mut **tx)
                    .await?;
                record(tx, link.id, now, actor, &Change::Lock { locked: *locked }, reason).await?;
            }
        }
        Edit::Rename { new, .. } => {
            if link.locked {
                return Err(Error::LockedRename(link.slug));
            }
            sqlx::query("INSERT INTO slugs (slug, link_id) VALUES ($1, $2)")
                .bind(new.as_str())
                .bind(link.id.0)
                .execute(&mut **tx)
                .await
                .map_err(|e| slug_taken(e, new))?;
            sqlx::query("UPDATE links SET slug = $1, updated_at = $2 WHERE id = $3")
                .bind(new.as_str())
                .bind(micros(now))
                .bind(link.id.0)
                .execute(&mut **tx)
                .await
                .map_err(|e| slug_taken(e, new))?;
            let entry = Change::Slug { old: link.slug.to_string(), new: new.to_string() };
            record(tx, link.id, now, actor, &entry, reason).await?;
        }
        Edit::Unschedule { entry_id, .. } => {
            let Some(entry) = link.schedule.iter().find(|entry| entry.id == *entry_id) else {
                return Err(Error::Missing(format!(
                    "`{}` has no pending schedule entry {entry_id}",
                    link.slug
                )));
            };
            sqlx::query("DELETE FROM schedule WHERE id = $1").bind(entry_id).execute(&mut **tx).await?;
            let target = match &entry.action {
                ScheduledAction::Target { target } => Some(target.to_string()),
                ScheduledAction::Retire => None,
            };
            record(tx, link.id, now, actor, &Change::Unscheduled { at: entry.at, target }, reason).await?;
        }
    }
    Ok(link.id)
}

/// Resolves a current slug or an alias to its link.
/// Ends every session of a user (sign-out everywhere, a new password, a new role); returns
/// how many there were.
async fn end_sessions(conn: &mut Conn, user_id: i64) -> Result<u64> {
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    Ok(ended.rows_affected())
}

async fn resolve(conn: &mut Conn, slug: &Slug) -> Result<LinkId> {
    let id: Option<i64> = sqlx::query_scalar("SELECT link_id FROM slugs WHERE slug = $1")
        .bind(slug.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    id.map(LinkId).ok_or_else(|| Error::NotFound(slug.clone()))
}

/// Resolves the slug inside a write transaction and folds any schedule entry that came due,
/// so the change about to be made starts from the state visitors see now.
async fn lock_link(tx: &mut Tx, slug: &Slug, now: Timestamp) -> Result<Link> {
    let id = resolve(tx, slug).await?;
    fold_due_schedule(tx, id, now).await?;
    load_link(tx, id).await
}

async fn fold_due_schedule(tx: &mut Tx, id: LinkId, now: Timestamp) -> Result<usize> {
    let due: Vec<(i64, i64, Option<String>, String)> =
        sqlx::query_as("SELECT id, at, target, actor FROM schedule WHERE link_id = $1 AND at <= $2 ORDER BY at, id")
            .bind(id.0)
            .bind(micros(now))
            .fetch_all(&mut **tx)
            .await?;
    for (entry_id, at, target, scheduled_by) in &due {
        let link = load_link(tx, id).await?;
        let at = timestamp(*at);
        let actor = Actor::new(scheduled_by.clone(), Interface::Schedule);
        match target {
            Some(target) if *target != link.target.as_str() => {
                sqlx::query("UPDATE links SET target = $1, updated_at = $2 WHERE id = $3")
                    .bind(target)
                    .bind(micros(at))
                    .bind(id.0)
                    .execute(&mut **tx)
                    .await?;
                let entry = Change::Target { old: link.target.to_string(), new: target.clone() };
                record(tx, id, at, &actor, &entry, None).await?;
            }
            Some(_) => {}
            None => set_status(tx, &link, LinkStatus::Retired, &actor, at, None).await?,
        }
        sqlx::query("DELETE FROM schedule WHERE id = $1").bind(entry_id).execute(&mut **tx).await?;
    }
    if !due.is_empty() {
        append_change(tx, id).await?;
    }
    Ok(due.len())
}

async fn set_status(
    tx: &mut Tx,
    link: &Link,
    status: LinkStatus,
    actor: &Actor,
    now: Timestamp,
    reason: Option<&str>,
) -> Result<()> {
    if link.status == status {
        return Ok(());
    }
    sqlx::query("UPDATE links SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(micros(now))
        .bind(link.id.0)
        .execute(&mut **tx)
        .await?;
    record(tx, link.id, now, actor, &Change::Status { old: link.status, new: status }, reason).await
}

async fn schedule(
    tx: &mut Tx,
    link: &Link,
    at: Timestamp,
    action: &ScheduledAction,
    actor: &Actor,
    now: Timestamp,
    reason: Option<&str>,
) -> Result<()> {
    if link.schedule.len() >= MAX_SCHEDULE_ENTRIES {
        return Err(Error::invalid(
            "schedule",
            "too_many",
            format!("a link holds at most {MAX_SCHEDULE_ENTRIES} pending schedule entries; cancel some first"),
        ));
    }
    let target = match action {
        ScheduledAction::Target { target } => Some(target.to_string()),
        ScheduledAction::Retire => None,
    };
    sqlx::query("INSERT INTO schedule (link_id, at, target, created_at, actor) VALUES ($1, $2, $3, $4, $5)")
        .bind(link.id.0)
        .bind(micros(at))
        .bind(target.as_deref())
        .bind(micros(now))
        .bind(&actor.name)
        .execute(&mut **tx)
        .await?;
    record(tx, link.id, now, actor, &Change::Scheduled { at, target }, reason).await
}

async fn replace_tags(tx: &mut Tx, id: LinkId, tags: &[Tag]) -> Result<()> {
    sqlx::query("DELETE FROM link_tags WHERE link_id = $1").bind(id.0).execute(&mut **tx).await?;
    let mut tags: Vec<&Tag> = tags.iter().collect();
    tags.sort();
    tags.dedup();
    for tag in tags {
        sqlx::query("INSERT INTO link_tags (link_id, tag) VALUES ($1, $2)")
            .bind(id.0)
            .bind(tag.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Appends a history entry and a change-feed entry. History is never edited afterwards.
async fn record(
    tx: &mut Tx,
    id: LinkId,
    at: Timestamp,
    actor: &Actor,
    change: &Change,
    reason: Option<&str>,
) -> Result<()> {
    let (kind, old, new, effective_at) = stored_change(change);
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE link_id = $1")
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO history (link_id, seq, at, actor, interface, kind, old, new, effective_at, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.0)
    .bind(seq)
    .bind(micros(at))
    .bind(&actor.name)
    .bind(actor.interface.as_str())
    .bind(kind)
    .bind(old)
    .bind(new)
    .bind(effective_at)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    append_change(tx, id).await
}

/// How a change is stored in `history`: kind, old, new and effective time (the inverse of
/// [`history_entry`]).
fn stored_change(change: &Change) -> (&'static str, Option<String>, Option<String>, Option<i64>) {
    match change {
        Change::Created { slug, target } => ("created", Some(slug.clone()), Some(target.clone()), None),
        Change::Target { old, new } => ("target", Some(old.clone()), Some(new.clone()), None),
        Change::Slug { old, new } => ("slug", Some(old.clone()), Some(new.clone()), None),
        Change::Status { old, new } => ("status", Some(old.as_str().to_owned()), Some(new.as_str().to_owned()), None),
        Change::Lock { locked } => ("lock", None, Some(locked.to_string()), None),
        Change::Scheduled { at, target } => ("scheduled", None, target.clone(), Some(micros(*at))),
        Change::Unscheduled { at, target } => ("unscheduled", None, target.clone(), Some(micros(*at))),
    }
}

async fn append_change(tx: &mut Tx, id: LinkId) -> Result<()> {
    sqlx::query("INSERT INTO changes (link_id) VALUES ($1)").bind(id.0).execute(&mut **tx).await?;
    Ok(())
}

fn history_entry(row: &<Db as sqlx::Database>::Row) -> Result<HistoryEntry> {
    let kind: String = row.try_get("kind")?;
    let old: Option<String> = row.try_get("old")?;
    let new: Option<String> = row.try_get("new")?;
    let effective_at: Option<i64> = row.try_get("effective_at")?;
    let text = |value: Option<String>| value.unwrap_or_default();
    let change = match kind.as_str() {
        "created" => Change::Created { slug: text(old), target: text(new) },
        "target" => Change::Target { old: text(old), new: text(new) },
        "slug" => Change::Slug { old: text(old), new: text(new) },
        "status" => Change::Status {
            old: LinkStatus::from_stored(&text(old)),
            new: LinkStatus::from_stored(&text(new)),
        },
        "lock" => Change::Lock { locked: new.as_deref() == Some("true") },
        "scheduled" => Change::Scheduled { at: timestamp(effective_at.unwrap_or_default()), target: new },
        "unscheduled" => Change::Unscheduled { at: timestamp(effective_at.unwrap_or_default()), target: new },
        other => return Err(Error::Conflict(format!("unknown history kind `{other}` (written by a newer qrlink?)"))),
    };
    let interface: String = row.try_get("interface")?;
    Ok(HistoryEntry {
        seq: row.try_get("seq")?,
        at: timestamp(row.try_get("at")?),
        actor: row.try_get("actor")?,
        interface: Interface::from_stored(&interface),
        change,
        reason: row.try_get("reason")?,
    })
}

async fn load_link(conn: &mut Conn, id: LinkId) -> Result<Link> {
    let row = sqlx::query(&format!("SELECT {LINK_COLUMNS} FROM links WHERE id = $1"))
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await?;
    let slug: String = row.try_get("slug")?;
    let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM link_tags WHERE link_id = $1 ORDER BY tag")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?;
    let aliases: Vec<String> = sqlx::query_scalar("SELECT slug FROM slugs WHERE link_id = $1 AND slug <> $2 ORDER BY slug")
        .bind(id.0)
        .bind(&slug)
        .fetch_all(&mut *conn)
        .await?;
    let schedule: Vec<ScheduleRow> =
        sqlx::query_as("SELECT id, at, target, created_at, actor FROM schedule WHERE link_id = $1 ORDER BY at, id")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?;
    link_from_row(&row, tags, aliases, schedule)
}

const COUNT_ADMINS: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin'";

/// The columns [`user_from_row`] reads, from `users u`, named apart from any joined table's.
const USER_COLUMNS: &str = "u.id AS user_id, u.name AS user_name, u.role AS user_role, \
     u.all_links AS user_all_links, u.created_at AS user_created_at";

/// Deletes the password links of a user, or the setup links for `None`.
async fn delete_password_links(conn: &mut Conn, user_id: Option<i64>) -> Result<()> {
    let query = match user_id {
        Some(id) => sqlx::query("DELETE FROM password_links WHERE user_id = $1").bind(id),
        None => sqlx::query("DELETE FROM password_links WHERE user_id IS NULL"),
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Sets a user's password and forgets the failed sign-ins at their name: a new password
/// starts with a clean slate, from every client.
async fn set_password_in(conn: &mut Conn, user_id: i64, hash: &PasswordHash) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash.as_str())
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for table in ["sign_in_backoff", "sign_in_ceiling"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE name = (SELECT name FROM users WHERE id = $1)"))
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn user_from_row(row: &<Db as sqlx::Database>::Row) -> Result<User> {
    Ok(User {
        id: row.try_get("user_id")?,
        name: row.try_get("user_name")?,
        role: Role::from_stored(row.try_get("user_role")?),
        all_links: row.try_get("user_all_links")?,
        created_at: timestamp(row.try_get("user_created_at")?),
    })
}

fn user_taken(error: sqlx::Error, name: &str) -> Error {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::invalid("user", "unique", format!("a user named `{name}` exists already"))
        }
        _ => Error::Database(error),
    }
}

/// A stored schedule entry: id, time, target (NULL: retire), creation time, actor.
type ScheduleRow = (i64, i64, Option<String>, i64, String);

/// A link from its `links` row (the columns of [`LINK_COLUMNS`]) and what other tables hold
/// of it, in the order they are shown: tags and aliases by name, the schedule by time.
fn link_from_row(
    row: &<Db as sqlx::Database>::Row,
    tags: Vec<String>,
    aliases: Vec<String>,
    schedule: Vec<ScheduleRow>,
) -> Result<Link> {
    let slug = Slug::parse(row.try_get::<&str, _>("slug")?).map_err(Error::Invalid)?;
    let status: String = row.try_get("status")?;
    Ok(Link {
        id: LinkId(row.try_get("id")?),
        slug,
        target: TargetUrl::from_stored(row.try_get("target")?),
        title: row.try_get("title")?,
        notes: row.try_get("notes")?,
        owner: row.try_get("owner")?,
        tags: tags.iter().filter_map(|tag| Tag::parse(tag).ok()).collect(),
        status: LinkStatus::from_stored(&status),
        locked: row.try_get("locked")?,
        redirect_status: RedirectStatus::from_stored(row.try_get("redirect_status")?),
        forward_query: row.try_get("forward_query")?,
        created_at: timestamp(row.try_get("created_at")?),
        updated_at: timestamp(row.try_get("updated_at")?),
        aliases: aliases.iter().filter_map(|alias| Slug::parse(alias).ok()).collect(),
        schedule: schedule
            .into_iter()
            .map(|(id, at, target, created_at, actor)| ScheduleEntry {
                id,
                at: timestamp(at),
                action: scheduled_action(target),
                created_at: timestamp(created_at),
                actor,
            })
            .collect(),
    })
}

/// Draws random slugs until one is free. With 31^7 slugs, a second draw is already rare.
async fn free_generated_slug(tx: &mut Tx) -> Result<Slug> {
    for _ in 0..16 {
        let slug = Slug::generate(&mut rand::rng());
        let taken: Option<i64> = sqlx::query_scalar("SELECT link_id FROM slugs WHERE slug = $1")
            .bind(slug.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            return Ok(slug);
        }
    }
    Err(Error::Conflict("could not find a free random slug after 16 tries".into()))
}
