//! PostgreSQL: a deadpool pool of tokio-postgres connections (NoTls). Appends from any
//! number of tasks or processes serialize per chain on a row lock of `chain_state`, taken
//! in `Chain::ALL` order so that batches spanning chains cannot deadlock. Where the
//! `postgis` extension is available the event tables get an indexed point column for area
//! queries; the results are the same without it.

mod accounts;

use std::collections::HashMap;
use std::str::FromStr;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use dronewatch_model::TimeNs;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, NoTls, Row};

use crate::chain::event_hash;
use crate::event::{COLUMNS, RawEvent, fields_of, now_ns, table};
use crate::migrate::{self, Migration};
use crate::query::{self, Dialect, Param};
use crate::verify::{ChainState, Walk};
use crate::{
    Appended, Chain, ChainReport, EventKind, EventQuery, NewEvent, PruneStep, StoreError,
    StoredEvent,
};

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

/// Serializes schema changes between processes opening the same database.
const SCHEMA_LOCK: i64 = 0x6477_5354_4f52_4531; // "dwSTORE1"
const POOL_SIZE: usize = 8;
/// Verify reads a chain in pages of this many events.
const VERIFY_PAGE: i64 = 10_000;

pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => StoreError::Backend(format!("postgres: {}: {}", d.code().code(), d.message())),
        None => StoreError::Backend(format!("postgres: {e}")),
    }
}

#[derive(Debug)]
pub(crate) struct PgStore {
    pool: Pool,
    /// The tables of `SPATIAL_CHAINS` have the indexed `geom` column.
    postgis: bool,
}

/// The chains whose tables get a PostGIS point column and GiST index. Not observations:
/// there the index halved the append rate (measured: 42,000 -> 22,000 events/s), and their
/// area queries are bounded in time anyway, which the `t_ns` index serves.
const SPATIAL_CHAINS: [Chain; 2] = [Chain::Tracks, Chain::Records];

/// `user@host:port/db` of a config, without the password, for messages.
fn describe(c: &tokio_postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_default();
    let port = c.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        c.get_user().unwrap_or(""),
        c.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    pub(crate) async fn open(url: &str) -> Result<PgStore, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| StoreError::Url {
            url: crate::location::redact(url),
            reason: format!("not a PostgreSQL connection URL: {e}"),
        })?;
        let name = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Backend(format!("postgres pool for {name}: {e}")))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to {name}: {e}")))?;
        migrate_up(&mut client).await?;
        let postgis = ensure_postgis(&mut client).await?;
        tracing::info!(%name, postgis, "postgres store open");
        Ok(PgStore { pool, postgis })
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("postgres pool: {e}")))
    }

    pub(crate) async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<Appended>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let used: Vec<Chain> = Chain::ALL
            .into_iter()
            .filter(|c| events.iter().any(|e| e.kind.chain() == *c))
            .collect();
        let mut heads: HashMap<Chain, (u64, [u8; 32])> = HashMap::new();
        for &c in &used {
            let row = tx
                .query_opt(
                    "SELECT head_seq, head_hash FROM chain_state WHERE chain = $1 FOR UPDATE",
                    &[&c.as_str()],
                )
                .await
                .map_err(pg)?
                .ok_or_else(|| {
                    StoreError::Backend(format!(
                        "postgres: chain_state has no row for {} (run verify)",
                        c.as_str()
                    ))
                })?;
            let bad = || StoreError::Backend(format!("postgres: malformed head of {}", c.as_str()));
            let seq = u64::try_from(row.try_get::<_, i64>(0).map_err(pg)?).map_err(|_| bad())?;
            let hash = <[u8; 32]>::try_from(row.try_get::<_, Vec<u8>>(1).map_err(pg)?)
                .map_err(|_| bad())?;
            heads.insert(c, (seq, hash));
        }
        // Keys already stored (read after the lock: no concurrent batch can add one now).
        let mut seen: HashMap<(EventKind, String), u64> = HashMap::new();
        for &c in &used {
            let (kinds, keys): (Vec<&str>, Vec<&str>) = events
                .iter()
                .filter(|e| e.kind.chain() == c)
                .filter_map(|e| Some((e.kind.as_str(), e.idempotency_key.as_deref()?)))
                .unzip();
            if keys.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT t.kind, t.idempotency_key, t.seq
                 FROM unnest($1::text[], $2::text[]) AS k (kind, key)
                 JOIN {} t ON t.kind = k.kind AND t.idempotency_key = k.key
                 WHERE t.idempotency_key IS NOT NULL",
                table(c)
            );
            for row in tx.query(&sql, &[&kinds, &keys]).await.map_err(pg)? {
                let kind: String = row.try_get(0).map_err(pg)?;
                let key: String = row.try_get(1).map_err(pg)?;
                let seq: i64 = row.try_get(2).map_err(pg)?;
                if let Some(k) = crate::event::kind_from_str(&kind) {
                    seen.insert((k, key), seq as u64);
                }
            }
        }
        let stored_at = now_ns();
        let mut cols: HashMap<Chain, Columns<'_>> = HashMap::new();
        let mut out = Vec::with_capacity(events.len());
        for e in &events {
            let chain = e.kind.chain();
            if let Some(key) = &e.idempotency_key
                && let Some(&seq) = seen.get(&(e.kind, key.clone()))
            {
                out.push(Appended {
                    chain,
                    seq,
                    duplicate: true,
                });
                continue;
            }
            let head = heads
                .get_mut(&chain)
                .ok_or_else(|| StoreError::Backend("postgres: head not locked".into()))?;
            let seq = head.0 + 1;
            let hash = event_hash(&head.1, &fields_of(chain, seq, stored_at, e));
            *head = (seq, hash);
            cols.entry(chain).or_default().push(seq, stored_at, e, hash);
            if let Some(key) = &e.idempotency_key {
                seen.insert((e.kind, key.clone()), seq);
            }
            out.push(Appended {
                chain,
                seq,
                duplicate: false,
            });
        }
        for &c in &used {
            let Some(col) = cols.get(&c) else { continue };
            let sql = format!(
                "INSERT INTO {} ({COLUMNS})
                 SELECT * FROM unnest($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::text[],
                     $6::text[], $7::int8[], $8::float8[], $9::float8[], $10::float8[],
                     $11::text[], $12::text[], $13::bytea[])",
                table(c)
            );
            let stmt = tx.prepare_cached(&sql).await.map_err(pg)?;
            tx.execute(
                &stmt,
                &[
                    &col.seq,
                    &col.kind,
                    &col.t_ns,
                    &col.stored_at_ns,
                    &col.source,
                    &col.serial,
                    &col.track_id,
                    &col.lat,
                    &col.lon,
                    &col.h,
                    &col.key,
                    &col.body,
                    &col.hash,
                ],
            )
            .await
            .map_err(pg)?;
            let (seq, hash) = heads[&c];
            tx.execute(
                "UPDATE chain_state SET head_seq = $1, head_hash = $2 WHERE chain = $3",
                &[&(seq as i64), &&hash[..], &c.as_str()],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(out)
    }

    pub(crate) async fn prune_step(
        &self,
        chain: Chain,
        before: TimeNs,
        max_rows: u64,
    ) -> Result<PruneStep, StoreError> {
        let t = table(chain);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let state = chain_state(&tx, chain, true).await?;
        let (anchor, head) = state
            .as_ref()
            .map_or((0, 0), |s| (s.anchor_seq, s.head_seq));
        let window_end = head.min(anchor.saturating_add(max_rows as i64));
        let first_young: Option<i64> = tx
            .query_opt(
                &format!(
                    "SELECT seq FROM {t} WHERE seq > $1 AND seq <= $2 AND t_ns >= $3 \
                     ORDER BY seq LIMIT 1"
                ),
                &[&anchor, &window_end, &before.0],
            )
            .await
            .map_err(pg)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(pg)?;
        let end = first_young.map_or(window_end, |s| s - 1);
        let done = first_young.is_some() || window_end >= head;
        if end <= anchor {
            return Ok(PruneStep { deleted: 0, done });
        }
        // Never launder a tampered prefix into a trusted anchor.
        let mut walk = Walk::new(chain, state);
        let rows = tx
            .query(
                &format!("SELECT {COLUMNS} FROM {t} WHERE seq > $1 AND seq <= $2 ORDER BY seq"),
                &[&anchor, &end],
            )
            .await
            .map_err(pg)?;
        for r in &rows {
            walk.step(raw_event(r).map_err(|e| e.to_string()));
            if !walk.ok() {
                break;
            }
        }
        let anchor_hash = walk.prefix_hash(end as u64).map_err(|(seq, why)| {
            StoreError::Backend(format!(
                "refusing to prune {}: seq {seq} does not verify: {why}",
                chain.as_str()
            ))
        })?;
        let deleted = tx
            .execute(&format!("DELETE FROM {t} WHERE seq <= $1"), &[&end])
            .await
            .map_err(pg)?;
        tx.execute(
            "UPDATE chain_state SET anchor_seq = $1, anchor_hash = $2 WHERE chain = $3",
            &[&end, &&anchor_hash[..], &chain.as_str()],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(PruneStep { deleted, done })
    }

    pub(crate) async fn query(&self, q: EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let chains = query::chains_of(&q)?;
        if let Some(b) = &q.bbox {
            query::check_bbox(b)?;
        }
        let client = self.client().await?;
        let mut out = Vec::new();
        for (chain, kinds) in chains {
            let dialect = Dialect::Postgres {
                postgis: self.postgis && SPATIAL_CHAINS.contains(&chain),
            };
            let limit = match q.limit {
                0 => None,
                n if out.len() >= n => break,
                n => Some(n - out.len()),
            };
            let sql = query::select(chain, &kinds, &q, limit, dialect);
            out.extend(select(&client, chain, &sql.text, sql.params).await?);
        }
        Ok(out)
    }

    pub(crate) async fn read_after(
        &self,
        chain: Chain,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE seq > $1 ORDER BY seq LIMIT $2",
            table(chain)
        );
        let params = vec![
            Param::I64(i64::try_from(after_seq).unwrap_or(i64::MAX)),
            Param::I64(i64::try_from(limit).unwrap_or(i64::MAX)),
        ];
        select(&client, chain, &sql, params).await
    }

    pub(crate) async fn last_seq(&self, chain: Chain) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let s = chain_state(&client, chain, false).await?.ok_or_else(|| {
            StoreError::Backend(format!(
                "postgres: chain_state has no row for {}",
                chain.as_str()
            ))
        })?;
        u64::try_from(s.head_seq).map_err(|_| {
            StoreError::Backend(format!("postgres: head of {} is negative", chain.as_str()))
        })
    }

    /// Walks every chain in one repeatable-read snapshot.
    pub(crate) async fn verify(&self) -> Result<Vec<ChainReport>, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let mut reports = Vec::new();
        for chain in Chain::ALL {
            let mut walk = Walk::new(chain, chain_state(&tx, chain, false).await?);
            let sql = format!(
                "SELECT {COLUMNS} FROM {} WHERE seq > $1 ORDER BY seq LIMIT $2",
                table(chain)
            );
            let stmt = tx.prepare_cached(&sql).await.map_err(pg)?;
            let mut after = i64::MIN;
            while walk.ok() {
                let rows = tx.query(&stmt, &[&after, &VERIFY_PAGE]).await.map_err(pg)?;
                for r in &rows {
                    let raw = raw_event(r).map_err(|e| e.to_string());
                    if let Ok(raw) = &raw {
                        after = raw.seq;
                    }
                    walk.step(raw);
                    if !walk.ok() {
                        break;
                    }
                }
                if (rows.len() as i64) < VERIFY_PAGE {
                    break;
                }
            }
            reports.push(walk.finish());
        }
        tx.commit().await.map_err(pg)?;
        Ok(reports)
    }
}

/// The column arrays of one chain's insert.
#[derive(Default)]
struct Columns<'a> {
    seq: Vec<i64>,
    kind: Vec<&'static str>,
    t_ns: Vec<i64>,
    stored_at_ns: Vec<i64>,
    source: Vec<Option<&'a str>>,
    serial: Vec<Option<&'a str>>,
    track_id: Vec<Option<i64>>,
    lat: Vec<Option<f64>>,
    lon: Vec<Option<f64>>,
    h: Vec<Option<f64>>,
    key: Vec<Option<&'a str>>,
    body: Vec<&'a str>,
    hash: Vec<Vec<u8>>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, seq: u64, stored_at: TimeNs, e: &'a NewEvent, hash: [u8; 32]) {
        self.seq.push(seq as i64);
        self.kind.push(e.kind.as_str());
        self.t_ns.push(e.t.0);
        self.stored_at_ns.push(stored_at.0);
        self.source.push(e.source.as_deref());
        self.serial.push(e.serial.as_deref());
        self.track_id.push(e.track_id.map(|v| v as i64));
        self.lat.push(e.position.map(|p| p.lat_deg));
        self.lon.push(e.position.map(|p| p.lon_deg));
        self.h.push(e.position.map(|p| p.h_m));
        self.key.push(e.idempotency_key.as_deref());
        self.body.push(&e.body);
        self.hash.push(hash.to_vec());
    }
}

fn raw_event(r: &Row) -> Result<RawEvent, tokio_postgres::Error> {
    let text = |i: usize| r.try_get::<_, String>(i).map(String::into_bytes);
    let opt_text = |i: usize| {
        r.try_get::<_, Option<String>>(i)
            .map(|v| v.map(String::into_bytes))
    };
    Ok(RawEvent {
        seq: r.try_get(0)?,
        kind: text(1)?,
        t_ns: r.try_get(2)?,
        stored_at_ns: r.try_get(3)?,
        source: opt_text(4)?,
        serial: opt_text(5)?,
        track_id: r.try_get(6)?,
        lat_deg: r.try_get(7)?,
        lon_deg: r.try_get(8)?,
        h_m: r.try_get(9)?,
        idempotency_key: opt_text(10)?,
        body: text(11)?,
        hash: r.try_get(12)?,
    })
}

async fn select<C: GenericClient>(
    client: &C,
    chain: Chain,
    sql: &str,
    params: Vec<Param>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let boxed: Vec<Box<dyn ToSql + Sync + Send>> = params
        .into_iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::I64(v) => Box::new(v),
                Param::F64(v) => Box::new(v),
                Param::Text(v) => Box::new(v),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = boxed
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let stmt = client.prepare(sql).await.map_err(pg)?;
    let rows = client.query(&stmt, &refs).await.map_err(pg)?;
    rows.iter()
        .map(|r| raw_event(r).map_err(pg)?.into_stored(chain))
        .collect()
}

async fn chain_state<C: GenericClient>(
    client: &C,
    chain: Chain,
    for_update: bool,
) -> Result<Option<ChainState>, StoreError> {
    let sql = format!(
        "SELECT anchor_seq, anchor_hash, head_seq, head_hash FROM chain_state WHERE chain = $1{}",
        if for_update { " FOR UPDATE" } else { "" }
    );
    let Some(r) = client
        .query_opt(&sql, &[&chain.as_str()])
        .await
        .map_err(pg)?
    else {
        return Ok(None);
    };
    Ok(Some(ChainState {
        anchor_seq: r.try_get(0).map_err(pg)?,
        anchor_hash: r.try_get(1).map_err(pg)?,
        head_seq: r.try_get(2).map_err(pg)?,
        head_hash: r.try_get(3).map_err(pg)?,
    }))
}

/// Applies the pending migrations, each in a transaction holding the schema lock.
async fn migrate_up(client: &mut Object) -> Result<(), StoreError> {
    loop {
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version       INTEGER PRIMARY KEY,
                 applied_at_ns BIGINT  NOT NULL
             )",
        )
        .await
        .map_err(pg)?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(pg)?
            .try_get(0)
            .map_err(pg)?;
        let current = u32::try_from(current)
            .map_err(|_| StoreError::Backend(format!("schema version {current} is invalid")))?;
        let Some(m) = migrate::pending(current, MIGRATIONS)?.first() else {
            return tx.commit().await.map_err(pg);
        };
        tx.batch_execute(m.sql).await.map_err(|e| {
            StoreError::Backend(format!(
                "postgres migration {} ({}): {}",
                m.version,
                m.name,
                pg(e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at_ns) VALUES ($1, $2)",
            &[&(m.version as i32), &now_ns().0],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "postgres store migrated"
        );
    }
}

/// Adds the PostGIS point column and its GiST index to the tables of `SPATIAL_CHAINS` where
/// the extension can be had. Not a
/// numbered migration: it depends on the server, and a database migrated before PostGIS was
/// installed gains it at the next open. Returns whether the column is there.
async fn ensure_postgis(client: &mut Object) -> Result<bool, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(pg)?;
    let one = |sql: &'static str| async {
        tx.query_one(sql, &[])
            .await
            .and_then(|r| r.try_get::<_, bool>(0))
            .map_err(pg)
    };
    if !one("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')").await? {
        if !one("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')")
            .await?
        {
            return Ok(false);
        }
        // Needs the right to create extensions; without it, plain columns serve.
        tx.batch_execute("SAVEPOINT postgis").await.map_err(pg)?;
        if let Err(e) = tx
            .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
            .await
        {
            tracing::warn!("postgis is available but cannot be created: {}", pg(e));
            tx.batch_execute("ROLLBACK TO SAVEPOINT postgis")
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            return Ok(false);
        }
    }
    for chain in SPATIAL_CHAINS {
        let t = table(chain);
        let has: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                  WHERE table_schema = current_schema() AND table_name = $1
                    AND column_name = 'geom')",
                &[&t],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        if !has {
            tx.batch_execute(&format!(
                "ALTER TABLE {t} ADD COLUMN geom geometry(Point, 4326) GENERATED ALWAYS AS (
                     CASE WHEN lat_deg IS NULL OR lon_deg IS NULL THEN NULL
                          ELSE ST_SetSRID(ST_MakePoint(lon_deg, lat_deg), 4326) END) STORED;
                 CREATE INDEX {t}_geom ON {t} USING gist (geom);"
            ))
            .await
            .map_err(pg)?;
            tracing::info!(table = t, "postgis point column added");
        }
    }
    tx.commit().await.map_err(pg)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_numbered_in_order() {
        crate::migrate::assert_numbered(super::MIGRATIONS);
    }
}
