-- A link's saved QR style (R-QR-3): the options as the admin's style editor writes them
-- (JSON), and the logo, already decoded and re-encoded as a plain PNG, never the upload as
-- sent. Downloads without options of their own use it.
CREATE TABLE link_styles (
    link_id INTEGER PRIMARY KEY REFERENCES links (id),
    options TEXT NOT NULL,
    logo BLOB,
    updated_at INTEGER NOT NULL
);
