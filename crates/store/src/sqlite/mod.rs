//! SQLite: one file in WAL mode. One dedicated writer thread owns the only writing
//! connection (appends from every task are grouped into few transactions there); a small
//! pool of reader connections serves queries, which WAL lets run during writes.

mod accounts;
mod read;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::event::{RawEvent, now_ns};
use crate::location::SqliteSync;
use crate::migrate::{self, Migration};
use crate::verify::ChainState;
use crate::{
    Appended, Chain, ChainReport, EventQuery, NewEvent, PruneStep, StoreError, StoredEvent,
};
use dronewatch_model::TimeNs;

pub(crate) use read::Readers;
pub(crate) use writer::Writer;

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "event_log",
        sql: include_str!("migrations/0001_event_log.sql"),
    },
    Migration {
        version: 2,
        name: "accounts",
        sql: include_str!("migrations/0002_accounts.sql"),
    },
];

/// A writer that waits this long for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reader connections (each query holds one for its duration).
const READERS: usize = 4;

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {e}"))
}

#[derive(Debug)]
pub(crate) struct SqliteStore {
    pub(crate) writer: Writer,
    pub(crate) readers: Readers,
}

impl SqliteStore {
    /// `url` is what the caller gave, for messages.
    pub(crate) async fn open(
        url: &str,
        path: PathBuf,
        sync: SqliteSync,
    ) -> Result<SqliteStore, StoreError> {
        let (p, u) = (path.clone(), url.to_string());
        let conn = tokio::task::spawn_blocking(move || open_writer(&u, &p, sync))
            .await
            .map_err(|e| StoreError::Backend(format!("opening the SQLite store: {e}")))??;
        Ok(SqliteStore {
            writer: Writer::start(conn)?,
            readers: Readers::new(path, READERS),
        })
    }
}

impl SqliteStore {
    pub(crate) async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        self.writer.append(events).await
    }

    pub(crate) async fn prune_step(
        &self,
        chain: Chain,
        before: TimeNs,
        max_rows: u64,
    ) -> Result<PruneStep, StoreError> {
        self.writer.prune_step(chain, before, max_rows).await
    }

    pub(crate) async fn query(&self, q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        self.readers.run(move |c| read::query(c, &q)).await
    }

    pub(crate) async fn read_after(
        &self,
        chain: Chain,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.readers
            .run(move |c| read::read_after(c, chain, after_seq, limit))
            .await
    }

    pub(crate) async fn last_seq(&self, chain: Chain) -> Result<u64, StoreError> {
        self.readers.run(move |c| read::last_seq(c, chain)).await
    }

    pub(crate) async fn verify(&self) -> Result<Vec<ChainReport>, StoreError> {
        self.readers.run(read::verify).await
    }
}

fn open_writer(url: &str, path: &Path, sync: SqliteSync) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Url {
            url: url.to_string(),
            reason: format!("cannot create directory {}: {e}", dir.display()),
        })?;
    }
    let mut conn = Connection::open(path).map_err(|e| StoreError::Url {
        url: url.to_string(),
        reason: format!("cannot open SQLite database: {e}"),
    })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "sqlite: {} refused WAL mode (journal_mode is {mode})",
            path.display()
        )));
    }
    let sync = match sync {
        SqliteSync::Normal => "NORMAL",
        SqliteSync::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         -- The writer's page cache holds the hot index pages of the three chains.
         PRAGMA cache_size = -65536;
         -- Checkpoint every ~40 MB of WAL, not SQLite's default 4 MB: index pages written
         -- many times in between are copied to the database (and fsynced) once: about a
         -- quarter more appends per second when measured (docs/store.md).
         PRAGMA wal_autocheckpoint = 10000;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(db)?;
    migrate_up(&mut conn)?;
    Ok(conn)
}

/// Applies the pending migrations, each in an immediate (write-locked) transaction that
/// re-reads the version, so two processes opening at once apply each migration once.
pub(crate) fn migrate_up(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version       INTEGER PRIMARY KEY,
             applied_at_ns INTEGER NOT NULL
         ) STRICT",
    )
    .map_err(db)?;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let current: i64 = tx
            .query_row(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        let current = u32::try_from(current)
            .map_err(|_| StoreError::Backend(format!("schema version {current} is invalid")))?;
        let Some(m) = migrate::pending(current, MIGRATIONS)?.first() else {
            return tx.commit().map_err(db);
        };
        tx.execute_batch(m.sql).map_err(|e| {
            StoreError::Backend(format!("sqlite migration {} ({}): {e}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ns) VALUES (?1, ?2)",
            params![m.version, now_ns().0],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        tracing::info!(version = m.version, name = m.name, "sqlite store migrated");
    }
}

fn opt_bytes(v: ValueRef<'_>, name: &str) -> Result<Option<Vec<u8>>, String> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Text(b) | ValueRef::Blob(b) => Ok(Some(b.to_vec())),
        other => Err(format!("{name} has type {:?}", other.data_type())),
    }
}

fn bytes(v: ValueRef<'_>, name: &str) -> Result<Vec<u8>, String> {
    opt_bytes(v, name)?.ok_or_else(|| format!("{name} is NULL"))
}

fn opt_i64(v: ValueRef<'_>, name: &str) -> Result<Option<i64>, String> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(i) => Ok(Some(i)),
        other => Err(format!("{name} has type {:?}", other.data_type())),
    }
}

fn i64_of(v: ValueRef<'_>, name: &str) -> Result<i64, String> {
    opt_i64(v, name)?.ok_or_else(|| format!("{name} is NULL"))
}

fn opt_f64(v: ValueRef<'_>, name: &str) -> Result<Option<f64>, String> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Real(f) => Ok(Some(f)),
        // SQLite keeps a REAL without a fraction as an integer on disk; reading it back as a
        // REAL column gives the real, but tolerate the integer too.
        ValueRef::Integer(i) => Ok(Some(i as f64)),
        other => Err(format!("{name} has type {:?}", other.data_type())),
    }
}

/// Decodes a row of `event::COLUMNS` as stored; a wrong type is a reason, not an error.
pub(crate) fn raw_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RawEvent, String>> {
    let v = |i: usize| r.get_ref(i);
    let (seq, kind, t, at, src, ser, tid, lat, lon, h, key, body, hash) = (
        v(0)?,
        v(1)?,
        v(2)?,
        v(3)?,
        v(4)?,
        v(5)?,
        v(6)?,
        v(7)?,
        v(8)?,
        v(9)?,
        v(10)?,
        v(11)?,
        v(12)?,
    );
    Ok((|| {
        Ok(RawEvent {
            seq: i64_of(seq, "seq")?,
            kind: bytes(kind, "kind")?,
            t_ns: i64_of(t, "t_ns")?,
            stored_at_ns: i64_of(at, "stored_at_ns")?,
            source: opt_bytes(src, "source")?,
            serial: opt_bytes(ser, "serial")?,
            track_id: opt_i64(tid, "track_id")?,
            lat_deg: opt_f64(lat, "lat_deg")?,
            lon_deg: opt_f64(lon, "lon_deg")?,
            h_m: opt_f64(h, "h_m")?,
            idempotency_key: opt_bytes(key, "idempotency_key")?,
            body: bytes(body, "body")?,
            hash: bytes(hash, "hash")?,
        })
    })())
}

/// The stored `chain_state` row of a chain.
pub(crate) fn chain_state(
    conn: &Connection,
    chain: Chain,
) -> Result<Option<ChainState>, StoreError> {
    conn.prepare_cached(
        "SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM chain_state WHERE chain = ?1",
    )
    .and_then(|mut st| {
        st.query_row([chain.as_str()], |r| {
            Ok(ChainState {
                anchor_seq: r.get(0)?,
                anchor_hash: r.get(1)?,
                head_seq: r.get(2)?,
                head_hash: r.get(3)?,
            })
        })
        .optional()
    })
    .map_err(db)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_numbered_in_order() {
        crate::migrate::assert_numbered(super::MIGRATIONS);
    }
}
