-- Links, their slugs, history, schedule, change feed and daily counts.
-- Times are Unix microseconds (UTC); days are ISO dates (YYYY-MM-DD, UTC).
CREATE TABLE links (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_status INTEGER NOT NULL DEFAULT 302 CHECK (redirect_status IN (301, 302, 307, 308)),
    forward_query BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Every slug ever given to a link, current or earlier: a slug is never freed (R-FWD-6).
CREATE TABLE slugs (
    slug TEXT PRIMARY KEY,
    link_id INTEGER NOT NULL REFERENCES links (id)
);
CREATE INDEX slugs_link ON slugs (link_id);

CREATE TABLE link_tags (
    link_id INTEGER NOT NULL REFERENCES links (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (link_id, tag)
);
CREATE INDEX link_tags_tag ON link_tags (tag);

CREATE TABLE history (
    link_id INTEGER NOT NULL REFERENCES links (id),
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    interface TEXT NOT NULL,
    kind TEXT NOT NULL,
    old TEXT,
    new TEXT,
    effective_at INTEGER,
    reason TEXT,
    PRIMARY KEY (link_id, seq)
);

CREATE TABLE schedule (
    id INTEGER PRIMARY KEY,
    link_id INTEGER NOT NULL REFERENCES links (id),
    at INTEGER NOT NULL,
    -- NULL target means "retire".
    target TEXT,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX schedule_link ON schedule (link_id, at);
CREATE INDEX schedule_at ON schedule (at);

-- The change feed: every write to a link appends its id; servers follow it to refresh
-- their in-memory tables. AUTOINCREMENT keeps ids increasing and never reused.
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    link_id INTEGER NOT NULL
);

CREATE TABLE daily_counts (
    link_id INTEGER NOT NULL REFERENCES links (id),
    day TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    head_hits INTEGER NOT NULL DEFAULT 0,
    bot_hits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
);
