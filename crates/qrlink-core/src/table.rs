//! The in-memory redirect table: every slug and alias of every link, so a redirect never waits
//! on the database and known links keep working while it is down (R-FWD-10).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use jiff::Timestamp;

use crate::error::Result;
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

/// Slug → route, shared by all request handlers. Reads take a read lock for a hash lookup;
/// writes come only from following the change feed.
#[derive(Debug, Default)]
pub struct RedirectTable {
    /// foldhash: fast, and seeded per process, so colliding slugs cannot be precomputed.
    routes: RwLock<HashMap<Box<str>, Route, foldhash::fast::RandomState>>,
    loaded: AtomicBool,
    database_reachable: AtomicBool,
    cursor: AtomicI64,
}

/// How many change-feed entries one catch-up reads at most.
const CHANGE_BATCH: i64 = 1000;

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

    pub fn len(&self) -> usize {
        self.routes.read().expect("redirect table poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves the path segment after `/`. Case folding is ASCII only; a path with any other
    /// byte cannot be a slug and is not found, without allocating.
    pub fn resolve(&self, path_segment: &str, query: Option<&str>, now: Timestamp) -> Resolution {
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
        let key = std::str::from_utf8(&folded[..bytes.len()]).expect("ASCII is UTF-8");
        let routes = self.routes.read().expect("redirect table poisoned");
        let Some(route) = routes.get(key) else {
            return if self.database_reachable() {
                Resolution::NotFound
            } else {
                Resolution::Unavailable
            };
        };
        let state = state_at(
            &route.target,
            route.status,
            route.schedule.iter().map(|(at, a)| (*at, a)),
            now,
        );
        if state.status == LinkStatus::Retired {
            return Resolution::Retired {
                link_id: route.link_id,
            };
        }
        let location = match query {
            Some(query) if route.forward_query => state.target.with_forwarded_query(query),
            _ => state.target.as_str().to_owned(),
        };
        Resolution::Redirect {
            link_id: route.link_id,
            location,
            status: route.redirect_status,
        }
    }

    /// Loads every link. The change-feed cursor is read first, so a change committed while
    /// loading is applied again by the next [`RedirectTable::catch_up`] rather than lost.
    pub async fn load(&self, store: &Store) -> Result<()> {
        let outcome = async {
            let cursor = store.latest_change().await?;
            let all = store.all_routes().await?;
            let mut routes = HashMap::with_capacity_and_hasher(
                all.len(),
                foldhash::fast::RandomState::default(),
            );
            for routed in all {
                for slug in routed.slugs {
                    routes.insert(slug, routed.route.clone());
                }
            }
            *self.routes.write().expect("redirect table poisoned") = routes;
            self.cursor.store(cursor, Ordering::Release);
            Ok(())
        }
        .await;
        self.note_database(&outcome);
        if outcome.is_ok() {
            self.loaded.store(true, Ordering::Release);
        }
        outcome
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
                    for slug in &routed.slugs {
                        routes.insert(slug.clone(), routed.route.clone());
                    }
                }
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
                Ok(_) => tracing::info!("database reachable again"),
                Err(error) => {
                    tracing::warn!(%error, "database unreachable; serving known links from memory")
                }
            }
        }
    }
}
