//! The in-memory redirect table: every slug and alias of every link, so a redirect never waits
//! on the database and known links keep working while it is down (R-FWD-10).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard};

use jiff::Timestamp;

use crate::counts::{Counts, DailyCount, HitCounter, HitKind, day_number, day_of_number};
use crate::error::{Error, Result};
use crate::link::{LinkId, LinkStatus, RedirectStatus, ScheduledAction, state_at};
use crate::slug::MAX_SLUG_LEN;
use crate::store::Store;
use crate::target::TargetUrl;

/// What the public side needs to answer for one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub link_id: LinkId,
    pub target: TargetUrl,
    pub status: LinkStatus,
    pub redirect_status: RedirectStatus,
    pub forward_query: bool,
    /// Pending changes, ordered by time; evaluated at request time.
    pub schedule: Box<[(Timestamp, ScheduledAction)]>,
}

/// A route with every slug that reaches it (the current one and its aliases).
#[derive(Debug, Clone)]
pub struct RoutedLink {
    pub slugs: Vec<Box<str>>,
    pub route: Route,
}

/// The answer to a request for `/<slug>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Redirect {
        link_id: LinkId,
        location: String,
        status: RedirectStatus,
    },
    Retired {
        link_id: LinkId,
    },
    NotFound,
    /// The table is not loaded, or the database is unreachable and the slug is unknown: it may
    /// exist, so the answer must not be a cacheable "not found".
    Unavailable,
}

/// Slug → route, shared by all request handlers. Reads take a read lock for a hash lookup:
/// a sharded one, so that the runtime's worker threads each lock a cache line of their own
/// instead of passing one line back and forth at every request. Writes, which lock every
/// shard, come only from loading and following the change feed. The layout is compact
/// because it holds every link (see `Routes` in this module).
///
/// The table also counts the redirects it answers ([`RedirectTable::visit`]): one atomic add
/// in a cell stored beside the link's route, instead of a lock and a hash-map insert.
/// [`RedirectTable::take_visits`] empties the cells at every flush.
#[derive(Debug, Default)]
pub struct RedirectTable {
    routes: ShardedLock<Routes>,
    loaded: AtomicBool,
    database_reachable: AtomicBool,
    cursor: AtomicI64,
    /// Visits counted in a table that a reload replaced, until the next take: link, day
    /// parity, visits.
    spilled: Mutex<Vec<(LinkId, usize, u32)>>,
}

/// How many change-feed entries one catch-up reads at most.
const CHANGE_BATCH: i64 = 1000;

/// Beyond this many pending changes (a bulk import), a catch-up reloads the whole table, which
/// reads a million links in about as long as one-by-one reads take for ten thousand.
const RELOAD_BACKLOG: i64 = 20_000;

impl RedirectTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the whole table has been loaded: this is readiness (R-FWD-10).
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    pub fn database_reachable(&self) -> bool {
        self.database_reachable.load(Ordering::Acquire)
    }

    /// How many slugs (current ones and aliases) the table holds.
    pub fn len(&self) -> usize {
        self.read().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the table has reserved on the heap, for measuring its footprint.
    pub fn heap_bytes(&self) -> usize {
        self.read().heap_bytes()
    }

    fn read(&self) -> ShardedLockReadGuard<'_, Routes> {
        self.routes.read().expect("redirect table poisoned")
    }

    /// Resolves the path segment after `/`, counting nothing. Case folding is ASCII only; a
    /// path with any other byte cannot be a slug and is not found, without allocating.
    pub fn resolve(&self, path_segment: &str, query: Option<&str>, now: Timestamp) -> Resolution {
        self.answer(path_segment, query, now, None::<fn(&Routes, u32)>)
    }

    /// Resolves a visitor's request like [`RedirectTable::resolve`] and, when the answer is a
    /// redirect, counts it as a visit of the kind `kind` says (asked only then). A plain visit
    /// is added to its link's cell for `now`'s UTC day; HEAD requests and previews, which are
    /// rare, go to `counter` directly.
    pub fn visit(
        &self,
        path_segment: &str,
        query: Option<&str>,
        now: Timestamp,
        kind: impl FnOnce() -> HitKind,
        counter: &HitCounter,
    ) -> Resolution {
        let count = |routes: &Routes, index: u32| match kind() {
            HitKind::Hit => {
                routes.entries[index as usize].visits[day_parity(day_number(now))]
                    .fetch_add(1, Ordering::Relaxed);
            }
            other => counter.record(routes.entries[index as usize].route.link_id, now, other),
        };
        self.answer(path_segment, query, now, Some(count))
    }

    fn answer(
        &self,
        path_segment: &str,
        query: Option<&str>,
        now: Timestamp,
        count: Option<impl FnOnce(&Routes, u32)>,
    ) -> Resolution {
        if !self.is_loaded() {
            return Resolution::Unavailable;
        }
        let bytes = path_segment.as_bytes();
        let mut folded = [0u8; MAX_SLUG_LEN];
        if bytes.is_empty() || bytes.len() > MAX_SLUG_LEN || !bytes.is_ascii() {
            return Resolution::NotFound;
        }
        for (to, from) in folded.iter_mut().zip(bytes) {
            *to = from.to_ascii_lowercase();
        }
        let routes = self.read();
        let Some(index) = routes.find(&folded[..bytes.len()]) else {
            return if self.database_reachable() {
                Resolution::NotFound
            } else {
                Resolution::Unavailable
            };
        };
        let route = &routes.entries[index as usize].route;
        let schedule = match route.flags & HAS_SCHEDULE {
            0 => &[][..],
            _ => &routes.schedules[&index][..],
        };
        let (target, status) = state_at(
            routes.text(route.target()),
            route.status(),
            schedule.iter().map(|(at, action)| (*at, action)),
            now,
            TargetUrl::as_str,
        );
        if status == LinkStatus::Retired {
            return Resolution::Retired {
                link_id: route.link_id,
            };
        }
        let location = match query {
            Some(query) if route.flags & FORWARD_QUERY != 0 => {
                crate::target::with_forwarded_query(target, query)
            }
            _ => target.to_owned(),
        };
        if let Some(count) = count {
            count(&routes, index);
        }
        Resolution::Redirect {
            link_id: route.link_id,
            location,
            status: route.redirect_status(),
        }
    }

    /// Loads every link, streamed from the database into a new table that then replaces the
    /// old one. The change-feed cursor is read first, so a change committed while loading is
    /// applied again by the next [`RedirectTable::catch_up`] rather than lost.
    pub async fn load(&self, store: &Store) -> Result<()> {
        let outcome = self.reload(store).await;
        self.note_database(&outcome);
        if outcome.is_ok() {
            self.loaded.store(true, Ordering::Release);
        }
        outcome
    }

    /// Takes the visits counted in the table (and in tables a reload replaced since), as
    /// counts to flush; HEAD requests and previews are in the [`HitCounter`]. Each route has a
    /// cell for even and one for odd UTC days: the cell of `now`'s day parity holds today's
    /// visits, the other yesterday's, since this runs at every flush. A visit counted while
    /// this runs is taken by the next call, never lost or taken twice. No hashing: a link
    /// appears once per day and cell.
    pub fn take_visits(&self, now: Timestamp) -> Vec<DailyCount> {
        let today = day_number(now);
        // The date of each cell, indexed by parity.
        let mut dates = [today, today - 1].map(day_of_number);
        if day_parity(today) == 1 {
            dates.swap(0, 1);
        }
        let visits = |link_id: LinkId, parity: usize, hits: u32| DailyCount {
            link_id,
            day: dates[parity],
            counts: Counts {
                hits: i64::from(hits),
                ..Counts::default()
            },
        };
        let spilled = std::mem::take(&mut *self.spilled.lock().expect("spilled visits poisoned"));
        let mut taken: Vec<DailyCount> = spilled
            .into_iter()
            .map(|(link_id, parity, hits)| visits(link_id, parity, hits))
            .collect();
        let routes = self.read();
        for entry in &routes.entries {
            for (parity, cell) in entry.visits.iter().enumerate() {
                // A load first: most cells are zero, and a swap would write every one.
                if cell.load(Ordering::Relaxed) != 0 {
                    let hits = cell.swap(0, Ordering::Relaxed);
                    taken.push(visits(entry.route.link_id, parity, hits));
                }
            }
        }
        taken
    }

    /// Keeps the visits counted in a table that a reload replaced, for the next take.
    fn spill(&self, old: Routes) {
        let mut spilled = Vec::new();
        for entry in old.entries {
            for (parity, cell) in entry.visits.into_iter().enumerate() {
                let hits = cell.into_inner();
                if hits != 0 {
                    spilled.push((entry.route.link_id, parity, hits));
                }
            }
        }
        if !spilled.is_empty() {
            self.spilled
                .lock()
                .expect("spilled visits poisoned")
                .extend(spilled);
        }
    }

    async fn reload(&self, store: &Store) -> Result<()> {
        let cursor = store.latest_change().await?;
        let mut fresh = Routes::default();
        let mut full = Ok(());
        store
            .each_route(&mut |routed| {
                if full.is_ok() {
                    full = fresh.upsert(&routed);
                }
            })
            .await?;
        full?;
        fresh.shrink_to_fit();
        let old = std::mem::replace(
            &mut *self.routes.write().expect("redirect table poisoned"),
            fresh,
        );
        // No request can reach the old table any more: its counts are final.
        self.spill(old);
        self.cursor.store(cursor, Ordering::Release);
        Ok(())
    }

    /// Applies the change feed since the last load or catch-up. Returns how many links changed.
    pub async fn catch_up(&self, store: &Store) -> Result<usize> {
        let outcome = self.apply_changes(store).await;
        self.note_database(&outcome);
        outcome
    }

    async fn apply_changes(&self, store: &Store) -> Result<usize> {
        let mut changed = 0;
        loop {
            let cursor = self.cursor.load(Ordering::Acquire);
            let changes = store.changes_after(cursor, CHANGE_BATCH).await?;
            let Some(&(last, _)) = changes.last() else {
                return Ok(changed);
            };
            // After an import of many links, reading them all at once beats one by one.
            if changes.len() == CHANGE_BATCH as usize {
                let backlog = store.latest_change().await? - cursor;
                if backlog > RELOAD_BACKLOG {
                    self.reload(store).await?;
                    return Ok(changed + backlog as usize);
                }
            }
            let mut ids: Vec<LinkId> = changes.iter().map(|(_, id)| *id).collect();
            ids.sort();
            ids.dedup();
            let mut fresh = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(routed) = store.route(id).await? {
                    fresh.push(routed);
                }
            }
            {
                let mut routes = self.routes.write().expect("redirect table poisoned");
                for routed in &fresh {
                    routes.upsert(routed)?;
                }
                routes.compact_if_wasteful();
            }
            changed += fresh.len();
            self.cursor.store(last, Ordering::Release);
            if changes.len() < CHANGE_BATCH as usize {
                return Ok(changed);
            }
        }
    }

    fn note_database<T>(&self, outcome: &Result<T>) {
        let reachable = outcome.is_ok();
        if self.database_reachable.swap(reachable, Ordering::AcqRel) != reachable {
            match outcome {
                Ok(_) => tracing::info!("database reachable"),
                Err(error) => {
                    tracing::warn!(%error, "database unreachable; serving known links from memory")
                }
            }
        }
    }
}

/// A range of [`Routes::text`]. Offsets are 32-bit, so the text of all slugs and targets may
/// take up to 4 GiB (a million links at the 4096-byte maximum target).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u16,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + usize::from(self.len)
    }
}

/// One slug (current or alias) and the route it reaches: 12 bytes.
///
/// A slug of up to 8 bytes, none of them NUL or beyond ASCII (every slug `Slug::parse`
/// accepts, up to that length, and all the ones qrlink generates), is the key itself,
/// zero-padded: finding it compares two integers and reads no text, and the arena holds no
/// copy of it. A longer slug is in the arena: the key holds its offset (bytes 0-3) and
/// length (byte 4), and byte 7 is [`Slot::IN_TEXT`], which no inline slug has there.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: [u8; 8],
    route: u32,
}

impl Slot {
    const IN_TEXT: u8 = 0x80;

    /// The key of a slug kept inline, if it is short enough and plain ASCII.
    fn inline_key(slug: &[u8]) -> Option<[u8; 8]> {
        if slug.len() > 8 || !slug.iter().all(|&b| (1..Self::IN_TEXT).contains(&b)) {
            return None;
        }
        let mut key = [0; 8];
        key[..slug.len()].copy_from_slice(slug);
        Some(key)
    }

    /// The key of a slug kept in the arena.
    fn text_key(start: u32, len: u8) -> [u8; 8] {
        let [a, b, c, d] = start.to_le_bytes();
        [a, b, c, d, len, 0, 0, Self::IN_TEXT]
    }

    /// Points a slug kept in the arena at its new offset.
    fn move_text(&mut self, start: u32) {
        self.key[..4].copy_from_slice(&start.to_le_bytes());
    }

    /// Where the slug is in the arena, unless it is inline.
    fn span(&self) -> Option<Span> {
        let [a, b, c, d, len, _, _, tag] = self.key;
        (tag == Self::IN_TEXT).then(|| Span {
            start: u32::from_le_bytes([a, b, c, d]),
            len: u16::from(len),
        })
    }

    fn slug<'a>(&'a self, text: &'a str) -> &'a [u8] {
        match self.span() {
            Some(span) => &text.as_bytes()[span.range()],
            None => {
                let len = self.key.iter().position(|&b| b == 0).unwrap_or(8);
                &self.key[..len]
            }
        }
    }
}

/// The cell of a day number in [`Entry::visits`].
fn day_parity(day: i64) -> usize {
    (day & 1) as usize
}

/// One link in [`Routes::entries`]: its route and its visits since the last take, 24 bytes,
/// so that a redirect finds what it answers and where it counts on the same cache line (or
/// two adjacent ones), not on two lines far apart.
#[derive(Debug)]
struct Entry {
    route: PackedRoute,
    /// Visits for even and odd UTC days.
    visits: [AtomicU32; 2],
}

/// What the table knows of one link: 16 bytes, its target's text in the arena.
#[derive(Debug, Clone, Copy)]
struct PackedRoute {
    link_id: LinkId,
    target_start: u32,
    target_len: u16,
    flags: u8,
}

const RETIRED: u8 = 1;
const FORWARD_QUERY: u8 = 1 << 1;
const HAS_SCHEDULE: u8 = 1 << 2;
/// Two bits: 301, 302, 307, 308.
const STATUS_SHIFT: u8 = 3;
const STATUSES: [u16; 4] = [301, 302, 307, 308];

impl PackedRoute {
    fn target(&self) -> Span {
        Span {
            start: self.target_start,
            len: self.target_len,
        }
    }

    fn status(&self) -> LinkStatus {
        if self.flags & RETIRED != 0 {
            LinkStatus::Retired
        } else {
            LinkStatus::Active
        }
    }

    fn redirect_status(&self) -> RedirectStatus {
        let code = STATUSES[usize::from(self.flags >> STATUS_SHIFT & 0b11)];
        RedirectStatus::parse(code).expect("one of the four redirect statuses")
    }
}

/// The compact layout of the table. Each link is a 24-byte [`Entry`]; each slug a
/// 12-byte [`Slot`] in a hash table that stores no key of its own (it hashes and compares the
/// slug's bytes in `text`); slugs and targets are stored once, back to back, in `text`; the
/// few links with pending schedule entries keep them in `schedules`. Aliases share their
/// link's route. Replaced targets leave garbage in `text`, reclaimed when it outweighs the
/// live text.
#[derive(Debug, Default)]
struct Routes {
    slots: hashbrown::HashTable<Slot>,
    /// Indexed by [`Slot::route`]. A link's index never changes while this table lives.
    entries: Vec<Entry>,
    text: String,
    schedules: HashMap<u32, Box<[(Timestamp, ScheduledAction)]>, foldhash::fast::RandomState>,
    /// Bytes of `text` no route or slot refers to any more.
    garbage: usize,
    /// foldhash: fast, and seeded per process, so colliding slugs cannot be precomputed.
    hasher: foldhash::fast::RandomState,
}

impl Routes {
    fn text(&self, span: Span) -> &str {
        &self.text[span.range()]
    }

    fn hash(&self, slug: &[u8]) -> u64 {
        self.hasher.hash_one(slug)
    }

    /// The route of a lowercase slug.
    fn find(&self, slug: &[u8]) -> Option<u32> {
        let hash = self.hash(slug);
        let slot = match Slot::inline_key(slug) {
            Some(key) => self.slots.find(hash, |slot| slot.key == key),
            None => self.slots.find(hash, |slot| {
                slot.span()
                    .is_some_and(|span| &self.text.as_bytes()[span.range()] == slug)
            }),
        };
        slot.map(|slot| slot.route)
    }

    fn push_text(&mut self, text: &str) -> Result<u32> {
        let start = u32::try_from(self.text.len()).map_err(|_| Error::TableFull)?;
        if u32::try_from(self.text.len() + text.len()).is_err() {
            return Err(Error::TableFull);
        }
        self.text.push_str(text);
        Ok(start)
    }

    /// Adds a link or replaces what the table knows of it, and adds any slug it did not have.
    /// A link is found by any of its slugs: they are never freed nor given to another link.
    fn upsert(&mut self, routed: &RoutedLink) -> Result<()> {
        let route = &routed.route;
        let target = route.target.as_str();
        let code = route.redirect_status.code();
        let status_bits = STATUSES.iter().position(|&c| c == code).unwrap_or(1) as u8;
        let mut flags = status_bits << STATUS_SHIFT;
        if route.status == LinkStatus::Retired {
            flags |= RETIRED;
        }
        if route.forward_query {
            flags |= FORWARD_QUERY;
        }
        if !route.schedule.is_empty() {
            flags |= HAS_SCHEDULE;
        }
        // Stored slugs are lowercase already (`Slug::parse`); only a stray one costs a copy.
        let lowercase: Vec<Cow<'_, str>> = routed
            .slugs
            .iter()
            .map(|s| match s.bytes().any(|b| b.is_ascii_uppercase()) {
                true => Cow::Owned(s.to_ascii_lowercase()),
                false => Cow::Borrowed(&**s),
            })
            .collect();
        let existing = lowercase.iter().find_map(|s| self.find(s.as_bytes()));
        // A change that kept the target (a rename, a lock) keeps its text.
        let unchanged = existing
            .map(|i| self.entries[i as usize].route)
            .filter(|old| self.text(old.target()) == target);
        let target_start = match unchanged {
            Some(old) => old.target_start,
            None => self.push_text(target)?,
        };
        let packed = PackedRoute {
            link_id: route.link_id,
            target_start,
            // A stored target has at most 4096 bytes (R-LNK-2).
            target_len: u16::try_from(target.len()).map_err(|_| Error::TableFull)?,
            flags,
        };
        let index = match existing {
            Some(index) => {
                if unchanged.is_none() {
                    self.garbage += usize::from(self.entries[index as usize].route.target_len);
                }
                self.entries[index as usize].route = packed;
                index
            }
            None => {
                let index = u32::try_from(self.entries.len()).map_err(|_| Error::TableFull)?;
                self.entries.push(Entry {
                    route: packed,
                    visits: Default::default(),
                });
                index
            }
        };
        if route.schedule.is_empty() {
            self.schedules.remove(&index);
        } else {
            self.schedules.insert(index, route.schedule.clone());
        }
        for slug in &lowercase {
            if self.find(slug.as_bytes()).is_some() {
                continue;
            }
            let key = match Slot::inline_key(slug.as_bytes()) {
                Some(key) => key,
                // Slugs have at most MAX_SLUG_LEN (64) bytes.
                None => Slot::text_key(
                    self.push_text(slug)?,
                    u8::try_from(slug.len()).map_err(|_| Error::TableFull)?,
                ),
            };
            let slot = Slot { key, route: index };
            let hash = self.hash(slug.as_bytes());
            self.slots
                .insert_unique(hash, slot, rehash(&self.hasher, &self.text));
        }
        Ok(())
    }

    /// Rewrites `text` without its garbage once the garbage outweighs the live text.
    fn compact_if_wasteful(&mut self) {
        if self.garbage < (1 << 20) || self.garbage < self.text.len() / 2 {
            return;
        }
        let mut text = String::with_capacity(self.text.len() - self.garbage);
        for Entry { route, .. } in &mut self.entries {
            let moved = &self.text[route.target().range()];
            route.target_start = text.len() as u32;
            text.push_str(moved);
        }
        for slot in self.slots.iter_mut() {
            if let Some(span) = slot.span() {
                slot.move_text(text.len() as u32);
                text.push_str(&self.text[span.range()]);
            }
        }
        self.text = text;
        self.garbage = 0;
    }

    fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
        self.text.shrink_to_fit();
        self.slots.shrink_to_fit(rehash(&self.hasher, &self.text));
    }

    fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        // hashbrown keeps one control byte per bucket besides the entry.
        let slots = self.slots.capacity() * (size_of::<Slot>() + 1);
        let routes = self.entries.capacity() * size_of::<Entry>();
        let schedules: usize = self
            .schedules
            .values()
            .map(|s| s.len() * size_of::<(Timestamp, ScheduledAction)>())
            .sum::<usize>()
            + self.schedules.capacity() * (size_of::<(u32, Box<[u8]>)>() + 1);
        slots + routes + self.text.capacity() + schedules
    }
}

/// How hashbrown re-hashes a slot when it grows: by the slug's bytes, inline or in the text.
fn rehash<'a>(
    hasher: &'a foldhash::fast::RandomState,
    text: &'a str,
) -> impl Fn(&Slot) -> u64 + 'a {
    move |slot| hasher.hash_one(slot.slug(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_takes_24_bytes_and_a_slot_12() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        assert_eq!(std::mem::size_of::<Slot>(), 12);
    }

    fn routed(id: i64, slugs: &[&str], target: &str) -> RoutedLink {
        RoutedLink {
            slugs: slugs.iter().map(|s| Box::from(*s)).collect(),
            route: Route {
                link_id: LinkId(id),
                target: TargetUrl::from_stored(target.to_owned()),
                status: LinkStatus::Active,
                redirect_status: RedirectStatus::parse(308).unwrap(),
                forward_query: true,
                schedule: Box::new([]),
            },
        }
    }

    fn loaded(routes: Routes) -> RedirectTable {
        let table = RedirectTable::new();
        *table.routes.write().unwrap() = routes;
        table.loaded.store(true, Ordering::Release);
        table.database_reachable.store(true, Ordering::Release);
        table
    }

    fn location(table: &RedirectTable, slug: &str) -> Option<String> {
        match table.resolve(slug, Some("a=1"), Timestamp::UNIX_EPOCH) {
            Resolution::Redirect {
                location, status, ..
            } => {
                assert_eq!(status.code(), 308, "the packed status comes back");
                Some(location)
            }
            _ => None,
        }
    }

    /// Many re-points leave garbage text behind; compaction reclaims it and every slug,
    /// alias included, still reaches its link's latest target: the short ones kept in their
    /// slots and the long ones (over 8 bytes) that compaction moves with the text.
    #[test]
    fn re_pointed_links_keep_resolving_through_compaction() {
        let mut routes = Routes::default();
        routes
            .upsert(&routed(1, &["one"], "https://a.example/1"))
            .unwrap();
        routes
            .upsert(&routed(
                2,
                &["two", "exactly8", "nine-char"],
                "https://a.example/2",
            ))
            .unwrap();
        let long = "x".repeat(4000);
        let mut compactions = 0;
        for round in 0..600 {
            let target = format!("https://b.example/{round}/{long}");
            // Renamed once along the way: the old slug stays as an alias.
            let slugs: &[&str] = if round < 300 {
                &["one"]
            } else {
                &["one", "uno", "a-longer-alias"]
            };
            routes.upsert(&routed(1, slugs, &target)).unwrap();
            let before = routes.garbage;
            routes.compact_if_wasteful();
            if routes.garbage < before {
                compactions += 1;
            }
        }
        assert!(compactions > 0, "the garbage was reclaimed");
        assert!(
            routes.text.len() - routes.garbage < 2 * 4100,
            "the live text is one target per link and the long slugs"
        );
        assert!(
            routes.text.len() < (2 << 20) + 3 * 4100,
            "garbage never grows past its threshold (1 MiB or half the text)"
        );
        assert_eq!(routes.entries.len(), 2, "a re-point replaces, never adds");
        let table = loaded(routes);
        let latest = format!("https://b.example/599/{long}?a=1");
        assert_eq!(location(&table, "one"), Some(latest.clone()));
        assert_eq!(location(&table, "UNO"), Some(latest.clone()));
        assert_eq!(location(&table, "A-Longer-Alias"), Some(latest));
        for slug in ["two", "exactly8", "nine-char"] {
            assert_eq!(
                location(&table, slug).as_deref(),
                Some("https://a.example/2?a=1"),
                "{slug}"
            );
        }
        for unknown in [
            "three",
            "exactly",
            "exactly8x",
            "nine-cha",
            "nine-chars",
            "a-longer",
        ] {
            assert_eq!(
                table.resolve(unknown, None, Timestamp::UNIX_EPOCH),
                Resolution::NotFound,
                "{unknown}"
            );
        }
        assert_eq!(
            table.len(),
            6,
            "six slugs: one, uno, a-longer-alias and link 2's three"
        );
    }
}
