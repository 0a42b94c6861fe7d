-- Lists of links by their latest change (newest first), paged by keyset.
CREATE INDEX links_updated ON links (updated_at, id);
