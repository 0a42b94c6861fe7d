-- Links, their slugs, history, schedule, change feed and daily counts.
-- Times are Unix microseconds (UTC); days are ISO dates (YYYY-MM-DD, UTC).
CREATE TABLE links (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    redirect_status BIGINT NOT NULL DEFAULT 302 CHECK (redirect_status IN (301, 302, 307, 308)),
    forward_query BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Every slug ever given to a link, current or earlier: a slug is never freed (R-FWD-6).
CREATE TABLE slugs (
    slug TEXT PRIMARY KEY,
    link_id BIGINT NOT NULL REFERENCES links (id)
);
CREATE INDEX slugs_link ON slugs (link_id);

CREATE TABLE link_tags (
    link_id BIGINT NOT NULL REFERENCES links (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (link_id, tag)
);
CREATE INDEX link_tags_tag ON link_tags (tag);

CREATE TABLE history (
    link_id BIGINT NOT NULL REFERENCES links (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    interface TEXT NOT NULL,
    kind TEXT NOT NULL,
    old TEXT,
    new TEXT,
    effective_at BIGINT,
    reason TEXT,
    PRIMARY KEY (link_id, seq)
);

CREATE TABLE schedule (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id BIGINT NOT NULL REFERENCES links (id),
    at BIGINT NOT NULL,
    -- NULL target means "retire".
    target TEXT,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX schedule_link ON schedule (link_id, at);
CREATE INDEX schedule_at ON schedule (at);

-- The change feed: every write to a link appends its id; servers follow it to refresh
-- their in-memory tables. Writers hold one advisory lock while they append, so ids
-- become visible in increasing order and a follower never skips one.
CREATE TABLE changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_id BIGINT NOT NULL
);

CREATE TABLE daily_counts (
    link_id BIGINT NOT NULL REFERENCES links (id),
    day TEXT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    head_hits BIGINT NOT NULL DEFAULT 0,
    bot_hits BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
);
