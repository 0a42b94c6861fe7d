-- Passwords (Argon2id, PHC strings) and the per-account counter of failed sign-ins, kept in the
-- database so every replica sees it (R-SEC-6). A user without a password has not finished
-- their one-time setup yet.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN sign_in_blocked_until BIGINT;
