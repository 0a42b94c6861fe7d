-- Flushed counts are appended here, in arrival order, and folded into daily_counts every few
-- seconds: appending is cheap whatever links were hit, while each fold updates daily_counts
-- once per (link, day), in key order. Reads add up both tables.
CREATE TABLE count_log (
    id INTEGER PRIMARY KEY,
    link_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    hits INTEGER NOT NULL,
    head_hits INTEGER NOT NULL,
    bot_hits INTEGER NOT NULL
);
CREATE INDEX count_log_link ON count_log (link_id);
