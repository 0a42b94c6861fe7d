-- daily_counts becomes a WITHOUT ROWID table: one B-tree keyed by (link_id, day) instead of
-- a rowid table plus its primary-key index, so each count the fold adds touches one tree, not
-- two. PostgreSQL has no such distinction and skips this version.
CREATE TABLE daily_counts_keyed (
    link_id INTEGER NOT NULL REFERENCES links (id),
    day TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    head_hits INTEGER NOT NULL DEFAULT 0,
    bot_hits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;
INSERT INTO daily_counts_keyed (link_id, day, hits, head_hits, bot_hits)
    SELECT link_id, day, hits, head_hits, bot_hits FROM daily_counts;
DROP TABLE daily_counts;
ALTER TABLE daily_counts_keyed RENAME TO daily_counts;
