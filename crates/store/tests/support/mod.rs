//! What the store's integration tests share: a fresh database per test on either backend,
//! raw SQL access to it (to tamper as an outsider would), and event builders.
//!
//! PostgreSQL is the real server at 127.0.0.1:5432 (`DRONEWATCH_TEST_POSTGRES` overrides the
//! admin URL); each test gets its own database, dropped afterwards. When the server cannot
//! be reached a test prints `SKIPPED: ...` and passes, except under CI (`CI` set), where
//! that is a failure.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use dronewatch_model::{Lla, TimeNs};
use dronewatch_store::{EventKind, NewEvent, Store};

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// The database a test runs against.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Sqlite {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
    },
    #[cfg(feature = "postgres")]
    Postgres { admin_url: String, name: String },
}

/// A unique suffix for database names within and across test processes.
fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{t}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDb {
    /// A SQLite file in a fresh temporary directory (in a subdirectory the store creates).
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("dronewatch.db");
        TestDb {
            url: format!("sqlite://{}", path.display()),
            kind: Kind::Sqlite { _dir: dir, path },
        }
    }

    /// A fresh PostgreSQL database, or `None` (after saying why) when the server is away.
    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = std::env::var("DRONEWATCH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let admin = match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
            Ok((client, conn)) => {
                tokio::spawn(conn);
                client
            }
            Err(e) => {
                let msg = format!(
                    "PostgreSQL not reachable at {admin_url} ({e}): this test needs it (set \
                     DRONEWATCH_TEST_POSTGRES to an admin URL)"
                );
                assert!(std::env::var_os("CI").is_none(), "{msg}");
                eprintln!("SKIPPED: {msg}");
                return None;
            }
        };
        let name = format!("dw_test_{}", unique());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let url = with_dbname(&admin_url, &name);
        Some(TestDb {
            url,
            kind: Kind::Postgres { admin_url, name },
        })
    }

    pub fn backend(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite { .. } => "sqlite",
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => "postgres",
        }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }

    /// Runs SQL on the database directly, as someone with access to the file or server.
    pub async fn raw(&self, sql: &str) -> Result<(), String> {
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                c.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(|e| e.to_string())?;
                c.execute_batch(sql).map_err(|e| e.to_string())
            }
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client.batch_execute(sql).await.map_err(|e| e.to_string())
            }
        }
    }

    /// The first column of every row of `sql`, as integers.
    pub async fn raw_i64s(&self, sql: &str) -> Result<Vec<i64>, String> {
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                let mut st = c.prepare(sql).map_err(|e| e.to_string())?;
                st.query_map([], |r| r.get::<_, i64>(0))
                    .and_then(|rows| rows.collect())
                    .map_err(|e| e.to_string())
            }
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                let rows = client.query(sql, &[]).await.map_err(|e| e.to_string())?;
                rows.iter()
                    .map(|r| {
                        r.try_get::<_, i64>(0)
                            .or_else(|_| r.try_get::<_, i32>(0).map(i64::from))
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            }
        }
    }

    /// Changes one byte of one stored value, as an outsider with raw access would: byte
    /// `byte` (modulo the value's width) of `column` in the row of `table` picked by
    /// `where_sql` is XORed with `mask` (integers and reals as their 8 big-endian bytes;
    /// NULL becomes a one-byte value). `Ok(false)` when the database refuses the new value
    /// (a unique key, invalid UTF-8 on PostgreSQL) or stores it as the old one.
    pub async fn tamper_byte(
        &self,
        table: &str,
        where_sql: &str,
        column: &str,
        byte: usize,
        mask: u8,
    ) -> Result<bool, String> {
        assert_ne!(mask, 0);
        let select = format!("SELECT {column} FROM {table} WHERE {where_sql}");
        match &self.kind {
            Kind::Sqlite { path, .. } => {
                use rusqlite::types::Value;
                let c = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
                let old: Value = c
                    .query_row(&select, [], |r| r.get(0))
                    .map_err(|e| e.to_string())?;
                let (new, expr) = match &old {
                    Value::Integer(i) => (Value::Integer(flip_i64(*i, byte, mask)), "?1"),
                    Value::Real(f) => (Value::Real(flip_f64(*f, byte, mask)), "?1"),
                    Value::Text(t) => (
                        Value::Blob(flip_bytes(t.as_bytes(), byte, mask)),
                        "CAST(?1 AS TEXT)",
                    ),
                    Value::Blob(b) => (Value::Blob(flip_bytes(b, byte, mask)), "?1"),
                    Value::Null => match column_type(column) {
                        ColumnType::Int => (Value::Integer(i64::from(mask)), "?1"),
                        ColumnType::Real => (Value::Real(f64::from(mask)), "?1"),
                        ColumnType::Text => (Value::Text("x".into()), "?1"),
                        ColumnType::Bytes => (Value::Blob(vec![mask]), "?1"),
                    },
                };
                let update = format!("UPDATE {table} SET {column} = {expr} WHERE {where_sql}");
                match c.execute(&update, [new]) {
                    Ok(1) => {}
                    Ok(n) => return Err(format!("{update}: {n} rows")),
                    Err(e)
                        if e.sqlite_error_code()
                            == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                    {
                        return Ok(false);
                    }
                    Err(e) => return Err(format!("{update}: {e}")),
                }
                if let Value::Real(f) = old {
                    // SQLite keeps -0.0 as 0: the value stored may be the old one.
                    let now: Value = c
                        .query_row(&select, [], |r| r.get(0))
                        .map_err(|e| e.to_string())?;
                    if matches!(now, Value::Real(g) if g.to_bits() == f.to_bits()) {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => {
                use tokio_postgres::types::ToSql;
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                let row = client
                    .query_one(&select, &[])
                    .await
                    .map_err(|e| e.to_string())?;
                let new: Box<dyn ToSql + Sync + Send> = match column_type(column) {
                    ColumnType::Int => Box::new(match row.try_get::<_, Option<i64>>(0) {
                        Ok(Some(i)) => flip_i64(i, byte, mask),
                        _ => i64::from(mask),
                    }),
                    ColumnType::Real => Box::new(match row.try_get::<_, Option<f64>>(0) {
                        Ok(Some(f)) => flip_f64(f, byte, mask),
                        _ => f64::from(mask),
                    }),
                    ColumnType::Text => {
                        let old: Option<String> = row.try_get(0).map_err(|e| e.to_string())?;
                        let bytes = match old {
                            Some(t) => flip_bytes(t.as_bytes(), byte, mask),
                            None => b"x".to_vec(),
                        };
                        match String::from_utf8(bytes) {
                            Ok(t) if !t.contains('\0') => Box::new(t),
                            _ => return Ok(false),
                        }
                    }
                    ColumnType::Bytes => {
                        let old: Option<Vec<u8>> = row.try_get(0).map_err(|e| e.to_string())?;
                        Box::new(match old {
                            Some(b) => flip_bytes(&b, byte, mask),
                            None => vec![mask],
                        })
                    }
                };
                let update = format!("UPDATE {table} SET {column} = $1 WHERE {where_sql}");
                let param: &(dyn ToSql + Sync) = new.as_ref();
                match client.execute(&update, &[param]).await {
                    Ok(1) => Ok(true),
                    Ok(n) => Err(format!("{update}: {n} rows")),
                    Err(e)
                        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(format!("{update}: {e}")),
                }
            }
        }
    }

    /// A SQL literal for `bytes` in this backend's dialect.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self.kind {
            Kind::Sqlite { .. } => format!("X'{hex}'"),
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => format!("'\\x{hex}'::bytea"),
        }
    }

    /// The SQLite file (None on PostgreSQL).
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Sqlite { path, .. } => Some(path),
            #[cfg(feature = "postgres")]
            Kind::Postgres { .. } => None,
        }
    }
}

/// `url` with its database name replaced (the admin URL's path is `/test`).
fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(feature = "postgres")]
impl Drop for TestDb {
    /// Drops the test database, on a thread of its own: Drop cannot await, and the test's
    /// runtime may be shutting down.
    fn drop(&mut self) {
        if let Kind::Postgres { admin_url, name } = &self.kind {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let done = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        if let Err(e) = client.batch_execute(&sql).await {
                            eprintln!("cleanup: {sql}: {e}");
                        }
                    }
                });
            });
            let _ = done.join();
        }
    }
}

/// An observation event with a position and a ~300-byte JSON body.
pub fn observation(i: u64, t_s: f64, sensor: &str) -> NewEvent {
    let lat = 31.0 + (i % 100) as f64 * 0.001;
    let lon = -110.0 - (i % 37) as f64 * 0.002;
    NewEvent {
        kind: EventKind::Observation,
        t: TimeNs::from_secs_f64(t_s),
        source: Some(sensor.to_string()),
        serial: i.is_multiple_of(3).then(|| format!("SERIAL{}", i % 7)),
        track_id: None,
        position: Some(Lla::new(lat, lon, 120.0 + i as f64)),
        idempotency_key: None,
        body: format!(
            r#"{{"id":"{sensor}-{i}","sensor":"{sensor}","t_unix_ns":{},"measurement":{{"kind":"position","lat_deg":{lat:.6},"lon_deg":{lon:.6},"h_m":{:.1},"sigma_m":12.5}},"identity":{{"serial":"SERIAL{}","class":"quadcopter","confidence":0.82}},"snr_db":17.25}}"#,
            TimeNs::from_secs_f64(t_s).0,
            120.0 + i as f64,
            i % 7
        ),
    }
}

pub fn track(id: u64, t_s: f64, lat: f64, lon: f64) -> NewEvent {
    NewEvent {
        kind: EventKind::Track,
        t: TimeNs::from_secs_f64(t_s),
        source: Some("fusion".into()),
        serial: None,
        track_id: Some(id),
        position: Some(Lla::new(lat, lon, 80.0)),
        idempotency_key: None,
        body: format!(r#"{{"track_id":{id},"lat":{lat},"lon":{lon}}}"#),
    }
}

pub fn record(kind: EventKind, t_s: f64, key: Option<&str>, body: &str) -> NewEvent {
    NewEvent {
        kind,
        t: TimeNs::from_secs_f64(t_s),
        source: Some("agent-7".into()),
        serial: None,
        track_id: None,
        position: None,
        idempotency_key: key.map(str::to_string),
        body: body.to_string(),
    }
}

enum ColumnType {
    Int,
    Real,
    Text,
    Bytes,
}

fn column_type(column: &str) -> ColumnType {
    match column {
        "seq" | "t_ns" | "stored_at_ns" | "track_id" | "anchor_seq" | "head_seq" => ColumnType::Int,
        "lat_deg" | "lon_deg" | "h_m" => ColumnType::Real,
        "hash" | "anchor_hash" | "head_hash" => ColumnType::Bytes,
        _ => ColumnType::Text,
    }
}

fn flip_i64(v: i64, byte: usize, mask: u8) -> i64 {
    let mut b = v.to_be_bytes();
    b[byte % 8] ^= mask;
    i64::from_be_bytes(b)
}

fn flip_f64(v: f64, byte: usize, mask: u8) -> f64 {
    let mut b = v.to_bits().to_be_bytes();
    b[byte % 8] ^= mask;
    f64::from_bits(u64::from_be_bytes(b))
}

fn flip_bytes(v: &[u8], byte: usize, mask: u8) -> Vec<u8> {
    let mut b = v.to_vec();
    match b.len() {
        0 => b.push(mask),
        n => b[byte % n] ^= mask,
    }
    b
}
