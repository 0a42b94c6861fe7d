-- Sign-in sessions, kept in the app database so every replica shares them (R-SEC-2). The
-- cookie carries a random secret; only its SHA-256 is stored, so a copy of the database
-- cannot be used to sign in.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- The synchronizer token every form and htmx request of this session must carry.
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    -- The absolute end, whatever the activity.
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
