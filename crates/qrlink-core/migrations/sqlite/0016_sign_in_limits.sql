-- Failed sign-ins, kept per name as typed (known or not, so the answers cannot tell which
-- names exist) and per client address block, so an attacker from one address cannot lock
-- the owner out from another (R-SEC-6). An attempt is counted before its password is
-- checked and forgotten when it succeeds. The columns users.failed_sign_ins and
-- users.sign_in_blocked_until are no longer read; they go in a later release (contract).
CREATE TABLE sign_in_backoff (
    name TEXT NOT NULL,
    client TEXT NOT NULL,
    failures INTEGER NOT NULL,
    blocked_until INTEGER,
    touched_at INTEGER NOT NULL,
    PRIMARY KEY (name, client)
);

-- The ceiling on attempts at one name from every client together, a GCRA bucket: `tat` is
-- when the bucket would be empty again (Unix microseconds).
CREATE TABLE sign_in_ceiling (
    name TEXT PRIMARY KEY,
    tat INTEGER NOT NULL
);
