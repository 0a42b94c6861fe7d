-- Search (`link list --search`, the admin list) by substring of slug, title or target, served
-- by an FTS5 trigram index instead of a scan of every link. The index holds one document per
-- link (rowid = link id), fields separated by a newline, which a search never contains, so a
-- match never spans two fields. Kept in step by triggers; existing links are indexed here.
CREATE VIRTUAL TABLE links_search USING fts5(document, tokenize = 'trigram', detail = 'none');
INSERT INTO links_search (rowid, document)
    SELECT id, slug || char(10) || title || char(10) || target FROM links;
CREATE TRIGGER links_search_insert AFTER INSERT ON links BEGIN
    INSERT INTO links_search (rowid, document)
        VALUES (new.id, new.slug || char(10) || new.title || char(10) || new.target);
END;
CREATE TRIGGER links_search_update AFTER UPDATE OF slug, title, target ON links BEGIN
    UPDATE links_search SET document = new.slug || char(10) || new.title || char(10) || new.target
        WHERE rowid = new.id;
END;
