//! Association benchmarks: GNN assignment on synthetic gating problems of typical, dense and
//! large size, and one full tracker scan of 100 radar plots against 100 established tracks.
//!
//! Run with `cargo bench -p dronewatch-fusion --bench association`.

use std::f64::consts::TAU;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dronewatch_fusion::assoc::{self, Candidate};
use dronewatch_fusion::{Tracker, TrackerConfig};
use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, Sensor, SensorId, SensorKind,
    TimeNs,
};

/// Detection probability behind the synthetic miss cost.
const PD: f64 = 0.9;

#[path = "../tests/support/lcg.rs"]
mod lcg;
use lcg::Lcg;

/// A gated pair's cost `-ln(Pd · N(y; 0, S) / λ)`: a squared distance inside a 3-D gate
/// plus a constant, so most pairs beat the miss cost but distant ones do not.
fn pair_cost(rng: &mut Lcg) -> f64 {
    -5.0 + 0.5 * 16.27 * rng.uniform()
}

/// Tracks in small groups (1–4 tracks) that share a proportional slice of the plots; each
/// track gates 1–3 plots of its slice, so clusters are small and independent, and the plots
/// no track gates play the part of clutter.
fn clustered(n_tracks: usize, n_plots: usize, seed: u64) -> Vec<Candidate> {
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    let mut t0 = 0;
    while t0 < n_tracks {
        let t1 = (t0 + rng.below(1, 5)).min(n_tracks);
        let p0 = t0 * n_plots / n_tracks;
        let p1 = (t1 * n_plots / n_tracks).max(p0 + 1);
        for track in t0..t1 {
            let k = rng.below(1, 4).min(p1 - p0);
            let mut picked: Vec<usize> = Vec::with_capacity(k);
            while picked.len() < k {
                let meas = rng.below(p0, p1);
                if !picked.contains(&meas) {
                    picked.push(meas);
                }
            }
            for meas in picked {
                out.push(Candidate {
                    track,
                    meas,
                    cost: pair_cost(&mut rng),
                });
            }
        }
        t0 = t1;
    }
    out
}

/// Every track gates every plot: one cluster that needs the full Kuhn–Munkres solve.
fn dense(n: usize, seed: u64) -> Vec<Candidate> {
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(n * n);
    for track in 0..n {
        for meas in 0..n {
            out.push(Candidate {
                track,
                meas,
                cost: pair_cost(&mut rng),
            });
        }
    }
    out
}

fn bench_assign(c: &mut Criterion) {
    let mut g = c.benchmark_group("association");
    // Cost of leaving a track without a plot.
    let miss_cost = -(1.0 - PD).ln();
    let problems = [
        ("assign/typical_50x70", clustered(50, 70, 1)),
        ("assign/dense_20x20", dense(20, 2)),
        ("assign/sparse_500x700", clustered(500, 700, 3)),
    ];
    for (name, cands) in &problems {
        g.bench_function(*name, |b| {
            b.iter(|| assoc::assign(black_box(cands), |_| miss_cost));
        });
    }
    g.finish();
}

// --- Full tracker scan -------------------------------------------------------------------

const ORIGIN: Lla = Lla::new(51.2, -1.8, 100.0);
const RADAR_LLA: Lla = Lla::new(51.2, -1.8, 110.0);
/// The radar in the tracker's ENU frame (same latitude and longitude as the origin).
const RADAR_ENU: [f64; 3] = [0.0, 0.0, 10.0];
const TARGETS: usize = 100;
const WARMUP_SCANS: u32 = 10;
const SIGMA_RANGE_M: f64 = 5.0;
const SIGMA_AZ_DEG: f64 = 0.3;
const SIGMA_EL_DEG: f64 = 0.5;

fn radar() -> Sensor {
    Sensor {
        id: SensorId::new("radar-1"),
        kind: SensorKind::Radar,
        position: Some(RADAR_LLA),
        period_s: Some(1.0),
        pd: Some(PD),
        coverage: None,
        clutter: None,
    }
}

/// A target flying a straight line at constant velocity, in ENU metres.
#[derive(Debug, Clone, Copy)]
struct Target {
    start: [f64; 3],
    vel: [f64; 3],
}

impl Target {
    fn at(&self, t_s: f64) -> [f64; 3] {
        std::array::from_fn(|i| self.start[i] + self.vel[i] * t_s)
    }
}

/// 100 targets on a 10×10 grid with 500 m spacing around the radar (jittered), 40–200 m
/// up, 3–18 m/s in any direction: they never come within a few hundred metres of each
/// other over the benchmark's 11 s, so every track keeps its own plot.
fn targets(rng: &mut Lcg) -> Vec<Target> {
    (0..TARGETS)
        .map(|i| {
            let (row, col) = ((i / 10) as f64, (i % 10) as f64);
            let start = [
                -2250.0 + 500.0 * col + 50.0 * (rng.uniform() - 0.5),
                -2250.0 + 500.0 * row + 50.0 * (rng.uniform() - 0.5),
                40.0 + 160.0 * rng.uniform(),
            ];
            let speed = 3.0 + 15.0 * rng.uniform();
            let heading = TAU * rng.uniform();
            let vel = [
                speed * heading.sin(),
                speed * heading.cos(),
                0.5 * (rng.uniform() - 0.5),
            ];
            Target { start, vel }
        })
        .collect()
}

/// The radar plots of every target at scan `k` (time `epoch + k` s), with measurement noise.
fn scan(
    targets: &[Target],
    epoch: TimeNs,
    k: u32,
    next_id: &mut u64,
    rng: &mut Lcg,
) -> Vec<Observation> {
    let t_s = f64::from(k);
    let t = epoch.plus_secs(t_s);
    targets
        .iter()
        .map(|target| {
            let p = target.at(t_s);
            let d: [f64; 3] = std::array::from_fn(|i| p[i] - RADAR_ENU[i]);
            let r = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
            let az = d[0].atan2(d[1]).to_degrees() + SIGMA_AZ_DEG * rng.normal();
            let el = (d[2] / r).asin().to_degrees() + SIGMA_EL_DEG * rng.normal();
            *next_id += 1;
            Observation {
                id: ObservationId(*next_id),
                t,
                sensor_id: SensorId::new("radar-1"),
                sensor_kind: SensorKind::Radar,
                sensor_position: Some(RADAR_LLA),
                measurement: Measurement::RangeAzEl {
                    range_m: r + SIGMA_RANGE_M * rng.normal(),
                    az_deg: az.rem_euclid(360.0),
                    el_deg: el.clamp(-90.0, 90.0),
                    sigma_range_m: SIGMA_RANGE_M,
                    sigma_az_deg: SIGMA_AZ_DEG,
                    sigma_el_deg: SIGMA_EL_DEG,
                },
                velocity: None,
                identity: IdentityHints::default(),
            }
        })
        .collect()
}

/// A tracker after `WARMUP_SCANS` scans of every target, and the observations of the next
/// scan. Deterministic: every call returns the same thing.
fn warmed_tracker() -> (Tracker, Vec<Observation>, TimeNs) {
    let epoch = TimeNs::from_secs_f64(1_700_000_000.0);
    let mut rng = Lcg(42);
    let targets = targets(&mut rng);
    let mut tracker = Tracker::new(TrackerConfig::default(), ORIGIN, epoch, &[radar()]);
    let mut next_id = 0;
    for k in 0..WARMUP_SCANS {
        for obs in scan(&targets, epoch, k, &mut next_id, &mut rng) {
            // Every synthetic observation is valid and in time order.
            let _ = tracker.ingest(obs);
        }
        tracker.advance_to(epoch.plus_secs(f64::from(k)));
    }
    let next = scan(&targets, epoch, WARMUP_SCANS, &mut next_id, &mut rng);
    (tracker, next, epoch.plus_secs(f64::from(WARMUP_SCANS)))
}

fn bench_tracker(c: &mut Criterion) {
    let mut g = c.benchmark_group("association");
    {
        // Sanity check of the setup, outside the measurement: every target has a confirmed
        // track, and the measured scan updates each of them.
        let (mut tracker, obs, t) = warmed_tracker();
        let confirmed = tracker.tracks_at(t).len();
        let before = tracker.stats().associated;
        for o in obs {
            let _ = tracker.ingest(o);
        }
        tracker.advance_to(t);
        let associated = tracker.stats().associated - before;
        if confirmed != TARGETS || tracker.live_tracks() != TARGETS || associated != TARGETS as u64
        {
            eprintln!(
                "warning: tracker_scan setup is off: {confirmed} confirmed / {} live tracks, \
                 {associated} plots associated, for {TARGETS} targets",
                tracker.live_tracks()
            );
        }
    }
    // `Tracker` is not `Clone`: rebuild the warmed tracker for every iteration (setup is
    // not timed).
    g.bench_function("tracker_scan", |b| {
        b.iter_batched(
            warmed_tracker,
            |(mut tracker, obs, t)| {
                for o in obs {
                    let _ = tracker.ingest(o);
                }
                tracker.advance_to(t);
                tracker
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench_assign, bench_tracker);
criterion_main!(benches);
