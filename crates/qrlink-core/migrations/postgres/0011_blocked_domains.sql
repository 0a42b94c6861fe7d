-- Domains an admin refuses as targets (R-UI-2 settings), with every name below them. Checked
-- by each write that sets a target, whichever front end makes it; links already pointing
-- there are left as they are.
CREATE TABLE blocked_domains (
    domain TEXT PRIMARY KEY,
    added_at BIGINT NOT NULL,
    added_by TEXT NOT NULL
);
