-- One-time links that let a person set their password: the first-run setup link (no user
-- yet; it creates the first admin), and the links `qrlink user add` and `qrlink user
-- reset-password` print. Only the secret's SHA-256 is stored; a link is deleted when used.
CREATE TABLE password_links (
    secret_hash TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX password_links_expiry ON password_links (expires_at);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Who owns a link (R-LNK-1): the user who created it, by name; NULL for links made from the
-- command line, an import or a token without a user. Editors change their own links, or all
-- links once an admin grants them that (R-SEC-1).
ALTER TABLE links ADD COLUMN owner TEXT;
CREATE INDEX links_owner ON links (owner) WHERE owner IS NOT NULL;
ALTER TABLE users ADD COLUMN all_links BOOLEAN NOT NULL DEFAULT FALSE;
