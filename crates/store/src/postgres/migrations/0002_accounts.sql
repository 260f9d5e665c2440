-- Users, device tokens, named cursors and documents: plain tables, not part of the log
-- (changes worth keeping as evidence are also appended as Audit / Config events).

CREATE TABLE users (
    name            TEXT    PRIMARY KEY,
    role            TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    disabled        BOOLEAN NOT NULL,
    failed_logins   BIGINT  NOT NULL,
    locked_until_ns BIGINT,
    created_at_ns   BIGINT  NOT NULL
);

-- A user's tokens go with the user.
CREATE TABLE device_tokens (
    id            TEXT   PRIMARY KEY,
    user_name     TEXT   NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label         TEXT   NOT NULL,
    token_sha256  BYTEA  NOT NULL UNIQUE,
    created_at_ns BIGINT NOT NULL,
    revoked_at_ns BIGINT
);
CREATE INDEX device_tokens_user ON device_tokens (user_name);

-- value holds a u64 as the i64 with the same bits.
CREATE TABLE cursors (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE documents (
    name          TEXT   PRIMARY KEY,
    json          TEXT   NOT NULL,
    updated_at_ns BIGINT NOT NULL
);
