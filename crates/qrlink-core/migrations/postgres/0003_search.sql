-- Search (`link list --search`, the admin list) by substring of slug, title or target, served
-- by a trigram index instead of a scan of every link. The indexed expression joins the fields
-- with a newline, which a search never contains, so a match never spans two fields; the
-- query repeats the expression exactly so the planner can use the index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX links_search ON links
    USING gin (lower(slug || chr(10) || title || chr(10) || target) gin_trgm_ops);
