//! Append throughput (batches of 1,000 observations with ~300-byte JSON bodies) on SQLite,
//! and on PostgreSQL when the server at `DRONEWATCH_TEST_POSTGRES` (default
//! postgres://postgres@127.0.0.1:5432/test) answers; and history queries on a SQLite log of
//! 300,000 observations.
//!
//!     cargo bench -p dronewatch-store --bench append

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dronewatch_model::{Lla, TimeNs};
use dronewatch_store::{BBox, Chain, EventKind, EventQuery, NewEvent, Store};
use tokio::runtime::Runtime;

const BATCH: usize = 1000;

/// Observation `i` at 1,000 per second from 10 sensors; one in ten carries one of 50
/// Remote ID serials; positions over a 1-degree square.
fn observation(i: u64) -> NewEvent {
    let t = TimeNs(1_800_000_000_000_000_000 + i as i64 * 1_000_000);
    let sensor = format!("radar-{}", i % 10);
    let serial = (i % 10 == 3).then(|| format!("1581F5FKD2294{:05}", (i / 10) % 50));
    let lat = 31.0 + ((i * 7919) % 10_000) as f64 * 1e-4;
    let lon = -111.0 + ((i * 104_729) % 10_000) as f64 * 1e-4;
    let body = format!(
        r#"{{"id":"{sensor}-{i}","sensor":"{sensor}","t_unix_ns":{},"measurement":{{"kind":"position","lat_deg":{lat:.6},"lon_deg":{lon:.6},"h_m":{:.1},"sigma_m":12.5}},"identity":{{"serial":{},"class":"quadcopter","confidence":0.82}},"snr_db":17.25,"platform":{{"kind":"tower","mast_m":12.0,"site":"AZ-TUC-07"}}}}"#,
        t.0,
        100.0 + (i % 300) as f64,
        serial
            .as_ref()
            .map_or("null".to_string(), |s| format!("\"{s}\""))
    );
    NewEvent {
        kind: EventKind::Observation,
        t,
        source: Some(sensor),
        serial,
        track_id: None,
        position: Some(Lla::new(lat, lon, 100.0 + (i % 300) as f64)),
        idempotency_key: None,
        body,
    }
}

fn batches(from: u64, n: u64) -> Vec<Vec<NewEvent>> {
    (0..n)
        .map(|b| {
            (0..BATCH as u64)
                .map(|i| observation(from + b * BATCH as u64 + i))
                .collect()
        })
        .collect()
}

/// Times `iters` appends of fresh batches (made before the clock starts).
fn time_appends(rt: &Runtime, store: &Store, next: &mut u64, iters: u64) -> Duration {
    let todo = batches(*next, iters);
    *next += iters * BATCH as u64;
    rt.block_on(async {
        let start = Instant::now();
        for b in todo {
            store.append(b).await.unwrap();
        }
        start.elapsed()
    })
}

fn sqlite_append(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(30);
    let body_len = observation(1).body.len();
    eprintln!("observation body: {body_len} bytes");
    for sync in ["normal", "full"] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite:{}?synchronous={sync}",
            dir.path().join("bench.db").display()
        );
        let store = rt.block_on(Store::open(&url)).unwrap();
        let mut next = 0;
        g.bench_function(
            BenchmarkId::new("sqlite_observations_x1000", format!("synchronous={sync}")),
            |b| b.iter_custom(|iters| time_appends(&rt, &store, &mut next, iters)),
        );
        let last = rt.block_on(store.last_seq(Chain::Observations)).unwrap();
        eprintln!("sqlite synchronous={sync}: {last} observations in the log at the end");
    }
    #[cfg(feature = "postgres")]
    if let Some(pg) = rt.block_on(pg::Db::create()) {
        let store = rt.block_on(Store::open(&pg.url)).unwrap();
        let mut next = 0;
        g.bench_function("postgres_observations_x1000", |b| {
            b.iter_custom(|iters| time_appends(&rt, &store, &mut next, iters))
        });
        drop(store);
        rt.block_on(pg.drop_db());
    }
    g.finish();
}

fn sqlite_history(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = rt
        .block_on(Store::open(
            &dir.path().join("history.db").display().to_string(),
        ))
        .unwrap();
    const N: u64 = 300_000;
    rt.block_on(async {
        for b in batches(0, N / BATCH as u64) {
            store.append(b).await.unwrap();
        }
    });
    let t = |s: i64| TimeNs(1_800_000_000_000_000_000 + s * 1_000_000_000);
    let mut g = c.benchmark_group("history_300k_observations");
    let queries = [
        (
            "10s_window_one_sensor",
            EventQuery {
                chain: Some(Chain::Observations),
                source: Some("radar-4".into()),
                from: Some(t(150)),
                to: Some(t(160)),
                ..Default::default()
            },
        ),
        (
            "60s_window_bbox_0.2deg",
            EventQuery {
                chain: Some(Chain::Observations),
                from: Some(t(100)),
                to: Some(t(160)),
                bbox: Some(BBox {
                    min_lat: 31.4,
                    min_lon: -110.6,
                    max_lat: 31.6,
                    max_lon: -110.4,
                }),
                ..Default::default()
            },
        ),
        (
            "serial_all_time_newest_100",
            EventQuery {
                chain: Some(Chain::Observations),
                serial: Some("1581F5FKD229400017".into()),
                limit: 100,
                descending: true,
                ..Default::default()
            },
        ),
    ];
    for (name, q) in queries {
        let n = rt.block_on(store.query(q.clone())).unwrap().len();
        eprintln!("{name}: {n} events");
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(store.query(q.clone())).unwrap())
        });
    }
    g.bench_function("read_after_1000", |b| {
        b.iter(|| {
            rt.block_on(store.read_after(Chain::Observations, 150_000, 1000))
                .unwrap()
        })
    });
    g.finish();
}

#[cfg(feature = "postgres")]
mod pg {
    /// A scratch database on the PostgreSQL server, if it answers.
    pub struct Db {
        admin: tokio_postgres::Client,
        name: String,
        pub url: String,
    }

    impl Db {
        pub async fn create() -> Option<Db> {
            let admin_url = std::env::var("DRONEWATCH_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
            let (admin, conn) =
                match tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("PostgreSQL benchmark skipped: {admin_url}: {e}");
                        return None;
                    }
                };
            tokio::spawn(conn);
            let name = format!("dw_bench_{}", std::process::id());
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            let url = format!("{base}/{name}");
            Some(Db { admin, name, url })
        }

        pub async fn drop_db(self) {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            self.admin.batch_execute(&sql).await.unwrap();
        }
    }
}

criterion_group!(benches, sqlite_append, sqlite_history);
criterion_main!(benches);
