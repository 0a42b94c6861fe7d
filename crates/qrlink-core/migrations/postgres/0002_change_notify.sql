-- Wake followers at once: every transaction that appends to the change feed sends one
-- notification on `qrlink_changes` when it commits (PostgreSQL folds duplicates within a
-- transaction). Followers still poll, so a lost notification only delays a change.
CREATE FUNCTION qrlink_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('qrlink_changes', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH STATEMENT EXECUTE FUNCTION qrlink_notify_change();
