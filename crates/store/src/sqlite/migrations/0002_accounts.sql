-- Users, device tokens, named cursors and documents: plain tables, not part of the log
-- (changes worth keeping as evidence are also appended as Audit / Config events).

CREATE TABLE users (
    name           TEXT    PRIMARY KEY,
    role           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    disabled       INTEGER NOT NULL,
    failed_logins  INTEGER NOT NULL,
    locked_until_ns INTEGER,
    created_at_ns  INTEGER NOT NULL
) STRICT;

-- A user's tokens go with the user.
CREATE TABLE device_tokens (
    id            TEXT    PRIMARY KEY,
    user_name     TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label         TEXT    NOT NULL,
    token_sha256  BLOB    NOT NULL UNIQUE,
    created_at_ns INTEGER NOT NULL,
    revoked_at_ns INTEGER
) STRICT;
CREATE INDEX device_tokens_user ON device_tokens (user_name);

-- value holds a u64 as the i64 with the same bits.
CREATE TABLE cursors (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE documents (
    name          TEXT    PRIMARY KEY,
    json          TEXT    NOT NULL,
    updated_at_ns INTEGER NOT NULL
) STRICT;
