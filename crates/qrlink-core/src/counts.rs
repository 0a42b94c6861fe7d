//! Daily hit counts, aggregated in memory on the request path and flushed in batches (R-LNK-6).

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::link::LinkId;

/// How a redirect is counted: real visits apart from HEAD requests and previews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Hit,
    Head,
    /// Prefetches and link-preview bots (see [`crate::bots`]).
    Bot,
}

/// The counts of one link on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub hits: i64,
    pub head_hits: i64,
    pub bot_hits: i64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.hits += other.hits;
        self.head_hits += other.head_hits;
        self.bot_hits += other.bot_hits;
    }

    pub fn total(&self) -> i64 {
        self.hits + self.head_hits + self.bot_hits
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DailyCount {
    #[serde(skip)]
    pub link_id: LinkId,
    pub day: Date,
    #[serde(flatten)]
    pub counts: Counts,
}

impl DailyCount {
    /// The count as a `count_log` row: link, ISO day, hits, head hits, bot hits.
    pub(crate) fn row(&self) -> (i64, String, i64, i64, i64) {
        let counts = self.counts;
        (
            self.link_id.0,
            self.day.to_string(),
            counts.hits,
            counts.head_hits,
            counts.bot_hits,
        )
    }
}

/// Links per bucket of the packed count log (SQLite): a flush writes one row per bucket it
/// hit, and a read decodes its link's bucket only.
pub(crate) const PACK_BUCKET_BITS: u32 = 12;
/// Bytes per packed count: link (8), day number (4), hits, head hits, bot hits (4 each).
const PACKED: usize = 24;

/// The packed log's bucket of a link.
pub(crate) fn pack_bucket(link_id: LinkId) -> i64 {
    link_id.0 >> PACK_BUCKET_BITS
}

/// Packs counts of one bucket, sorted by link and day, into fixed-width little-endian
/// records. A count above `u32::MAX` in one flush (impossible at any real rate) saturates.
pub(crate) fn pack(counts: &[DailyCount]) -> Vec<u8> {
    let mut sorted: Vec<&DailyCount> = counts.iter().collect();
    sorted.sort_unstable_by_key(|count| (count.link_id.0, count.day));
    let mut bytes = Vec::with_capacity(sorted.len() * PACKED);
    for count in sorted {
        let day = i32::try_from(number_of_day(count.day)).unwrap_or(i32::MAX);
        bytes.extend_from_slice(&count.link_id.0.to_le_bytes());
        bytes.extend_from_slice(&day.to_le_bytes());
        for value in [
            count.counts.hits,
            count.counts.head_hits,
            count.counts.bot_hits,
        ] {
            bytes.extend_from_slice(
                &u32::try_from(value.max(0))
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            );
        }
    }
    bytes
}

/// The counts of packed records; a trailing partial record is ignored.
pub(crate) fn unpack(bytes: &[u8]) -> impl Iterator<Item = DailyCount> + '_ {
    bytes.chunks_exact(PACKED).map(|record| {
        let int = |at: usize| u32::from_le_bytes(record[at..at + 4].try_into().expect("4 bytes"));
        DailyCount {
            link_id: LinkId(i64::from_le_bytes(record[..8].try_into().expect("8 bytes"))),
            day: day_of_number(i64::from(int(8) as i32)),
            counts: Counts {
                hits: i64::from(int(12)),
                head_hits: i64::from(int(16)),
                bot_hits: i64::from(int(20)),
            },
        }
    })
}

const SHARDS: usize = 16;

/// Counts of one shard, keyed by link and UTC day number.
type Shard = HashMap<(LinkId, i64), Counts, foldhash::fast::RandomState>;

/// Counts waiting to be written: HEAD requests, previews, and a failed flush's batch (plain
/// visits are counted in the redirect table's cells, [`crate::table::RedirectTable::visit`]).
/// Recording takes one short lock on one of 16 shards, so concurrent requests rarely meet;
/// the database is never touched on the request path.
#[derive(Debug, Default)]
pub struct HitCounter {
    /// Keyed by link and UTC day number since 1970-01-01: an integer division on the request
    /// path instead of a calendar conversion, which waits for `drain`.
    shards: [Mutex<Shard>; SHARDS],
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day of `at`, counted from 1970-01-01.
pub(crate) fn day_number(at: Timestamp) -> i64 {
    at.as_microsecond().div_euclid(MICROS_PER_DAY)
}

fn number_of_day(day: Date) -> i64 {
    let midnight = day
        .to_zoned_datetime(TimeZone::UTC)
        .expect("a UTC midnight exists");
    day_number(midnight.timestamp())
}

/// The date of a [`day_number`].
pub(crate) fn day_of_number(day: i64) -> Date {
    utc_day(
        Timestamp::from_microsecond(day * MICROS_PER_DAY)
            .expect("a day number from a valid timestamp"),
    )
}

impl HitCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, link_id: LinkId, at: Timestamp, kind: HitKind) {
        let day = day_number(at);
        let mut one = Counts::default();
        match kind {
            HitKind::Hit => one.hits = 1,
            HitKind::Head => one.head_hits = 1,
            HitKind::Bot => one.bot_hits = 1,
        }
        self.add(link_id, day, one);
    }

    fn add(&self, link_id: LinkId, day: i64, counts: Counts) {
        let shard = &self.shards[(link_id.0 as u64 as usize) % SHARDS];
        shard
            .lock()
            .expect("counter shard poisoned")
            .entry((link_id, day))
            .or_default()
            .add(counts);
    }

    /// Takes everything recorded so far, leaving the counter empty.
    pub fn drain(&self) -> Vec<DailyCount> {
        let mut batch = Vec::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().expect("counter shard poisoned"));
            batch.extend(
                taken
                    .into_iter()
                    .map(|((link_id, day), counts)| DailyCount {
                        link_id,
                        day: day_of_number(day),
                        counts,
                    }),
            );
        }
        batch
    }

    /// Puts back a batch whose flush failed, so it goes out with the next one.
    pub fn restore(&self, batch: Vec<DailyCount>) {
        for count in batch {
            self.add(count.link_id, number_of_day(count.day), count.counts);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.shards
            .iter()
            .all(|shard| shard.lock().expect("counter shard poisoned").is_empty())
    }
}

pub fn utc_day(at: Timestamp) -> Date {
    at.to_zoned_datetime(TimeZone::UTC).date()
}

#[cfg(test)]
mod tests {
    #[test]
    fn packed_counts_read_back_sorted() {
        let count = |link: i64, day: &str, hits: i64| DailyCount {
            link_id: LinkId(link),
            day: day.parse().unwrap(),
            counts: Counts {
                hits,
                head_hits: 2,
                bot_hits: 3,
            },
        };
        let counts = [
            count(9, "2026-06-02", 1),
            count(4, "2026-06-01", 5_000_000_000),
            count(9, "1999-12-31", 7),
        ];
        let packed = pack(&counts);
        assert_eq!(packed.len(), 3 * 24);
        let back: Vec<DailyCount> = unpack(&packed).collect();
        assert_eq!(
            back,
            [
                count(4, "2026-06-01", i64::from(u32::MAX)),
                count(9, "1999-12-31", 7),
                count(9, "2026-06-02", 1),
            ],
            "sorted by link and day; an impossible count saturates"
        );
        assert_eq!(pack_bucket(LinkId(4095)), 0);
        assert_eq!(pack_bucket(LinkId(4096)), 1);
    }

    use super::*;

    #[test]
    fn counts_add_up_per_link_and_day_and_survive_a_failed_flush() {
        let counter = HitCounter::new();
        let day1: Timestamp = "2026-05-01T23:59:59Z".parse().unwrap();
        let day2: Timestamp = "2026-05-02T00:00:00Z".parse().unwrap();
        counter.record(LinkId(1), day1, HitKind::Hit);
        counter.record(LinkId(1), day1, HitKind::Hit);
        counter.record(LinkId(1), day1, HitKind::Head);
        counter.record(LinkId(1), day2, HitKind::Bot);
        counter.record(LinkId(2), day2, HitKind::Hit);
        let mut batch = counter.drain();
        assert!(counter.is_empty());
        counter.restore(batch.clone());
        counter.record(LinkId(2), day2, HitKind::Hit);
        batch = counter.drain();
        batch.sort_by_key(|c| (c.link_id, c.day));
        let summary: Vec<_> = batch
            .iter()
            .map(|c| {
                (
                    c.link_id.0,
                    c.day.to_string(),
                    c.counts.hits,
                    c.counts.head_hits,
                    c.counts.bot_hits,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (1, "2026-05-01".into(), 2, 1, 0),
                (1, "2026-05-02".into(), 0, 0, 1),
                (2, "2026-05-02".into(), 2, 0, 0)
            ]
        );
    }
}
