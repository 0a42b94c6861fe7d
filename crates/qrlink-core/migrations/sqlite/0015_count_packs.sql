-- Flushed counts, packed: one row per flush and bucket of 4,096 link ids, holding that
-- bucket's counts as fixed-width records sorted by link and day. A flush appends a few
-- hundred rows, each next to its bucket's earlier ones, instead of inserting a row per link
-- all over a table; the fold takes a range of buckets; a read decodes its link's bucket.
-- (count_log stays, read and folded, for counts written before this version.)
CREATE TABLE count_packs (
    bucket INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (bucket, seq)
) WITHOUT ROWID;
