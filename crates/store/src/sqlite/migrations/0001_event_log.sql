-- The event log: three hash chains, one table each, so that each keeps its own retention
-- and its own lean indexes (every index costs insert speed on the observations chain).
-- seq is the rowid (appends go to the end of the b-tree). Hash input: docs/store.md.
-- track_id holds a u64 as the i64 with the same bits.

CREATE TABLE events_observations (
    seq             INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    t_ns            INTEGER NOT NULL,
    stored_at_ns    INTEGER NOT NULL,
    source          TEXT,
    serial          TEXT,
    track_id        INTEGER,
    lat_deg         REAL,
    lon_deg         REAL,
    h_m             REAL,
    idempotency_key TEXT,
    body            TEXT    NOT NULL,
    hash            BLOB    NOT NULL
) STRICT;
CREATE INDEX events_observations_t ON events_observations (t_ns);
CREATE INDEX events_observations_source_t ON events_observations (source, t_ns);
CREATE INDEX events_observations_serial ON events_observations (serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX events_observations_idem ON events_observations (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE events_tracks (
    seq             INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    t_ns            INTEGER NOT NULL,
    stored_at_ns    INTEGER NOT NULL,
    source          TEXT,
    serial          TEXT,
    track_id        INTEGER,
    lat_deg         REAL,
    lon_deg         REAL,
    h_m             REAL,
    idempotency_key TEXT,
    body            TEXT    NOT NULL,
    hash            BLOB    NOT NULL
) STRICT;
CREATE INDEX events_tracks_t ON events_tracks (t_ns);
CREATE INDEX events_tracks_track_t ON events_tracks (track_id, t_ns);
CREATE INDEX events_tracks_serial ON events_tracks (serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX events_tracks_idem ON events_tracks (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE events_records (
    seq             INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    t_ns            INTEGER NOT NULL,
    stored_at_ns    INTEGER NOT NULL,
    source          TEXT,
    serial          TEXT,
    track_id        INTEGER,
    lat_deg         REAL,
    lon_deg         REAL,
    h_m             REAL,
    idempotency_key TEXT,
    body            TEXT    NOT NULL,
    hash            BLOB    NOT NULL
) STRICT;
CREATE INDEX events_records_t ON events_records (t_ns);
CREATE INDEX events_records_kind_t ON events_records (kind, t_ns);
CREATE INDEX events_records_track ON events_records (track_id) WHERE track_id IS NOT NULL;
CREATE INDEX events_records_source ON events_records (source) WHERE source IS NOT NULL;
CREATE INDEX events_records_serial ON events_records (serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX events_records_idem ON events_records (kind, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Per chain: the retention anchor (the last pruned event's seq and hash; 0 and 32 zero
-- bytes before any pruning) and the head (the last appended event), which lets verify see
-- events deleted from the end.
CREATE TABLE chain_state (
    chain       TEXT    PRIMARY KEY,
    anchor_seq  INTEGER NOT NULL,
    anchor_hash BLOB    NOT NULL,
    head_seq    INTEGER NOT NULL,
    head_hash   BLOB    NOT NULL
) STRICT;
INSERT INTO chain_state VALUES
    ('observations', 0, zeroblob(32), 0, zeroblob(32)),
    ('tracks',       0, zeroblob(32), 0, zeroblob(32)),
    ('records',      0, zeroblob(32), 0, zeroblob(32));
