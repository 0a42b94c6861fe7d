-- The instance's QR style presets (R-UI-2 settings): named styles an admin saved, from which
-- any link's style can start. Same form as a link's saved style.
CREATE TABLE style_presets (
    name TEXT PRIMARY KEY,
    options TEXT NOT NULL,
    logo BLOB,
    updated_at INTEGER NOT NULL
);
