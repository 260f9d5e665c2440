//! Relay throughput: an in-memory outbox of ~300-byte messages relayed (read, publish,
//! acks awaited, commit) into the in-process bus, and into NATS JetStream at
//! 127.0.0.1:4222 on loopback (skipped with a message when no server answers there).
//! Each iteration relays BATCH messages from a fresh cursor; the time is from the relay's
//! start until the outbox's cursor reaches the end.
//!
//! `cargo bench -p dronewatch-bus --bench relay`
//! Besides criterion's figures it prints messages per second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dronewatch_bus::Bus;
use tokio::runtime::Runtime;

const BATCH: u64 = 20_000;

/// Relays `BATCH` fresh messages of `sector` (a new chain each time, so nothing is a
/// duplicate) and returns how long it took.
async fn relay_once(bus: &Bus, sector: &str, chain: &str) -> Duration {
    let outbox = TestOutbox::new();
    for seq in 1..=BATCH {
        outbox.push(message(sector, chain, seq));
    }
    let t = Instant::now();
    let r = start(outbox.clone(), bus);
    while outbox.committed_now() < BATCH {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let took = t.elapsed();
    r.stop().await;
    took
}

fn report(what: &str, total: Duration, iters: u64) {
    let per_s = (BATCH * iters) as f64 / total.as_secs_f64();
    eprintln!("{what}: {per_s:.0} messages/s over {iters} x {BATCH}");
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut g = c.benchmark_group("relay");
    g.throughput(Throughput::Elements(BATCH))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    g.bench_function("in_process", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for i in 0..iters {
                    let bus = Bus::in_process_with_capacity(BATCH as usize);
                    total += relay_once(&bus, "bench", &format!("c{i}")).await;
                }
                report("in-process", total, iters);
                total
            })
        })
    });

    #[cfg(feature = "nats")]
    jetstream(&rt, &mut g);
    g.finish();
}

/// Into JetStream at 127.0.0.1:4222, one stream for the whole bench (deleted after).
#[cfg(feature = "nats")]
fn jetstream(
    rt: &Runtime,
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
) {
    let url = "nats://127.0.0.1:4222";
    let up = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:4222".parse().unwrap(),
        Duration::from_secs(1),
    )
    .is_ok();
    if up {
        let sector = unique("bench");
        let _cleanup = Cleanup::new(url, std::slice::from_ref(&sector));
        let bus = rt
            .block_on(Bus::connect(&dronewatch_bus::BusConfig {
                url: Some(url.into()),
                max_age_s: 3_600,
                duplicate_window_s: 600,
            }))
            .unwrap();
        let mut n = 0u64;
        g.bench_function("jetstream_loopback", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        n += 1;
                        total += relay_once(&bus, &sector, &format!("c{n}")).await;
                    }
                    report("JetStream", total, iters);
                    total
                })
            })
        });
        eprintln!("bus after the bench: {:?}", bus.status());
    } else {
        eprintln!("SKIPPED: no NATS server at 127.0.0.1:4222: jetstream_loopback not measured");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
