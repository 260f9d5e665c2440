//! Reader connections and the reads of the event log.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use tokio::sync::Semaphore;

use super::{BUSY_TIMEOUT, chain_state, db, raw_event};
use crate::event::{COLUMNS, table};
use crate::query::{self, Dialect, Param};
use crate::verify::Walk;
use crate::{Chain, ChainReport, EventKind, EventQuery, StoreError, StoredEvent};

/// Idle reader connections, opened on first use; at most `permits` in use at once.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, n: usize) -> Readers {
        Readers {
            path,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(n)),
        }
    }

    /// Runs `f` on a reader connection in the blocking pool.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: reader pool closed".into()))?;
        let idle = self.idle.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let popped = idle.lock().ok().and_then(|mut v| v.pop());
            let mut conn = match popped {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let r = f(&mut conn);
            // A connection left inside a transaction by an error is not reused.
            if conn.is_autocommit()
                && let Ok(mut v) = idle.lock()
            {
                v.push(conn);
            }
            drop(permit);
            r
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite reader task: {e}")))?
    }
}

fn open_reader(path: &std::path::Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -16384;")
        .map_err(db)?;
    Ok(conn)
}

fn values(params: Vec<Param>) -> Vec<Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::I64(v) => Value::Integer(v),
            Param::F64(v) => Value::Real(v),
            Param::Text(v) => Value::Text(v),
        })
        .collect()
}

fn select(
    conn: &Connection,
    chain: Chain,
    sql: &str,
    params: Vec<Param>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut st = conn.prepare_cached(sql).map_err(db)?;
    let mut rows = st.query(params_from_iter(values(params))).map_err(db)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(db)? {
        let raw = raw_event(r)
            .map_err(db)?
            .map_err(|why| StoreError::Backend(format!("{} row: {why}", chain.as_str())))?;
        out.push(raw.into_stored(chain)?);
    }
    Ok(out)
}

pub(crate) fn query(conn: &Connection, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let chains: Vec<(Chain, Vec<EventKind>)> = query::chains_of(q)?;
    if let Some(b) = &q.bbox {
        query::check_bbox(b)?;
    }
    let mut out = Vec::new();
    for (chain, kinds) in chains {
        let limit = match q.limit {
            0 => None,
            n if out.len() >= n => break,
            n => Some(n - out.len()),
        };
        let sql = query::select(chain, &kinds, q, limit, Dialect::Sqlite);
        out.extend(select(conn, chain, &sql.text, sql.params)?);
    }
    Ok(out)
}

pub(crate) fn read_after(
    conn: &Connection,
    chain: Chain,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        table(chain)
    );
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    select(
        conn,
        chain,
        &sql,
        vec![Param::I64(after), Param::I64(limit)],
    )
}

/// The head recorded at the last append (0 when empty).
pub(crate) fn last_seq(conn: &Connection, chain: Chain) -> Result<u64, StoreError> {
    let s = chain_state(conn, chain)?.ok_or_else(|| {
        StoreError::Backend(format!(
            "sqlite: chain_state has no row for {}",
            chain.as_str()
        ))
    })?;
    u64::try_from(s.head_seq)
        .map_err(|_| StoreError::Backend(format!("sqlite: head of {} is negative", chain.as_str())))
}

/// Walks every chain inside one read transaction (one WAL snapshot: appends meanwhile are
/// neither seen nor blocked).
pub(crate) fn verify(conn: &mut Connection) -> Result<Vec<ChainReport>, StoreError> {
    let tx = conn.transaction().map_err(db)?;
    let mut reports = Vec::new();
    for chain in Chain::ALL {
        let mut walk = Walk::new(chain, chain_state(&tx, chain)?);
        let mut st = tx
            .prepare(&format!(
                "SELECT {COLUMNS} FROM {} ORDER BY seq",
                table(chain)
            ))
            .map_err(db)?;
        let mut rows = st.query([]).map_err(db)?;
        while walk.ok()
            && let Some(r) = rows.next().map_err(db)?
        {
            walk.step(raw_event(r).map_err(db)?);
        }
        reports.push(walk.finish());
    }
    tx.commit().map_err(db)?;
    Ok(reports)
}
