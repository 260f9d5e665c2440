//! Frames per second on the real recording (`adsb/long_flight.csv`, 30,000 Beast frames),
//! loaded at start through dronewatch-testdata; without the shared data the benches do
//! nothing (they say SKIPPED).
//!
//! * `beast/framing`: the escaped byte stream through [`BeastDecoder`] only;
//! * `beast/decode`: the same plus rs1090 and the [`AircraftTable`] (CPR, identity), i.e.
//!   what the Beast source does per frame;
//! * `sbs/parse+table`: dump1090's SBS output for the same frames, parsed and applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dronewatch_adsb::{
    AircraftTable, BeastDecoder, RawFrame, TableConfig, encode_beast, parse_sbs_line,
};
use dronewatch_model::{SensorId, TimeNs};

/// `(unix time, frame)` per line (the file's frames are unescaped, fixed layout).
fn recording() -> Option<Vec<(TimeNs, RawFrame)>> {
    let path = dronewatch_testdata::data("adsb/long_flight.csv")?;
    let text = std::fs::read_to_string(path).unwrap();
    Some(
        text.lines()
            .map(|l| {
                let (t, h) = l.split_once(',').unwrap();
                let b = hex::decode(h.trim()).unwrap();
                let f = RawFrame::from_unescaped_beast(&b).unwrap();
                (TimeNs::from_secs_f64(t.parse().unwrap()), f)
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let Some(rec) = recording() else { return };
    let mut stream = Vec::new();
    for (_, f) in &rec {
        encode_beast(f, &mut stream);
    }
    let n = rec.len() as u64;

    let mut g = c.benchmark_group("beast");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.bench_function("framing", |b| {
        b.iter(|| {
            let mut dec = BeastDecoder::new();
            let mut frames = 0usize;
            for chunk in stream.chunks(16 * 1024) {
                frames += dec.feed(chunk).filter(Result::is_ok).count();
            }
            assert_eq!(frames as u64, n);
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut dec = BeastDecoder::new();
            let mut table = AircraftTable::new(TableConfig::new(SensorId::new("bench")));
            // Each frame keeps its recorded time (the live source stamps receive time).
            let mut times = rec.iter().map(|(t, _)| *t);
            let mut obs = 0usize;
            for chunk in stream.chunks(16 * 1024) {
                for frame in dec.feed(chunk).flatten() {
                    let t = times.next().unwrap_or(TimeNs(0));
                    if let Ok(Some(_)) = table.ingest_frame(t, &frame) {
                        obs += 1;
                    }
                }
            }
            assert!(obs > 0);
        })
    });
    g.finish();

    if let Some(path) =
        dronewatch_testdata::data("adsb/generated/sbs_from_long_flight_dump1090-mutability.txt")
    {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut g = c.benchmark_group("sbs");
        g.throughput(Throughput::Elements(lines.len() as u64));
        g.sample_size(20);
        g.bench_function("parse+table", |b| {
            b.iter(|| {
                let mut table = AircraftTable::new(TableConfig::new(SensorId::new("bench")));
                let mut obs = 0usize;
                for (i, l) in lines.iter().enumerate() {
                    if let Ok(Some(m)) = parse_sbs_line(l)
                        && table.ingest_sbs(TimeNs(i as i64 * 1_000_000), &m).is_some()
                    {
                        obs += 1;
                    }
                }
                assert!(obs > 0);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
