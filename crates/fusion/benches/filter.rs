//! Filter micro-benchmarks: one EKF update, one motion-model prediction, and the 6-model
//! IMM predict / update / score that run for every gated track on every scan.
//!
//! Run with `cargo bench -p dronewatch-fusion --bench filter`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dronewatch_fusion::ekf;
use dronewatch_fusion::imm::{self, ImmParams, ImmState};
use dronewatch_fusion::linalg::{Mat6, Vec3, Vec6};
use dronewatch_fusion::measurement::{Meas, MeasKind};
use dronewatch_fusion::motion::ConstantVelocity;
use dronewatch_model::SensorKind;

/// Radar 10 m above the frame origin.
const RADAR_ENU: [f64; 3] = [0.0, 0.0, 10.0];
/// A direction finder some way off.
const DF_ENU: [f64; 3] = [-500.0, 300.0, 2.0];

/// A drone about 2.9 km out, 120 m up, flying at ~9.5 m/s.
fn state() -> (Vec6, Mat6) {
    let x = Vec6::new(1500.0, 2500.0, 120.0, 8.0, -5.0, 0.5);
    // A settled track: a few metres in position, a metre per second in velocity, with the
    // position–velocity correlation a constant-velocity filter builds up.
    let mut p = Mat6::zeros();
    for i in 0..3 {
        let (pos_var, vel_var, cross) = if i < 2 {
            (64.0, 1.5, 5.0)
        } else {
            (100.0, 0.3, 2.0)
        };
        p[(i, i)] = pos_var;
        p[(i + 3, i + 3)] = vel_var;
        p[(i, i + 3)] = cross;
        p[(i + 3, i)] = cross;
    }
    p[(0, 1)] = 12.0;
    p[(1, 0)] = 12.0;
    (x, p)
}

/// A radar plot of the true position `(e, n, u)`, offset by a typical error.
fn radar_plot(e: f64, n: f64, u: f64) -> Meas {
    let sensor_enu = Vec3::from(RADAR_ENU);
    let d = Vec3::new(e, n, u) - sensor_enu;
    let r = d.norm();
    let az = d[0].atan2(d[1]);
    let el = (d[2] / r).asin();
    Meas {
        kind: MeasKind::RangeAzEl,
        sensor_kind: SensorKind::Radar,
        sensor_enu,
        z: Vec3::new(r + 4.0, az + 0.3f64.to_radians(), el - 0.2f64.to_radians()),
        sigma: Vec3::new(5.0, 0.5f64.to_radians(), 1.0f64.to_radians()),
        velocity: None,
    }
}

/// An RF bearing of the true position `(e, n)`, offset by a typical error.
fn bearing(e: f64, n: f64) -> Meas {
    let sensor_enu = Vec3::from(DF_ENU);
    let az = (e - sensor_enu[0]).atan2(n - sensor_enu[1]);
    Meas {
        kind: MeasKind::Bearing,
        sensor_kind: SensorKind::RfDf,
        sensor_enu,
        z: Vec3::new(az + 1.5f64.to_radians(), 0.0, 0.0),
        // Only component 0 is used for a bearing.
        sigma: Vec3::new(2.0f64.to_radians(), 1.0, 1.0),
        velocity: None,
    }
}

/// An IMM state after a few seconds of radar updates along a straight line, so the models
/// and mode probabilities have diverged the way they do on a live track.
fn warmed_imm(params: &ImmParams) -> ImmState {
    let (x, p) = state();
    let mut s = ImmState::new(x, p, [1.0 / imm::MODELS as f64; imm::MODELS]);
    for k in 1..=8 {
        s = s.predict(params, 1.0);
        let t = f64::from(k);
        let truth = Vec3::new(1500.0 + 8.0 * t, 2500.0 - 5.0 * t, 120.0 + 0.5 * t);
        // Ignore the rare failed update: the benchmark only needs a plausible state.
        let _ = s.update(&radar_plot(truth[0], truth[1], truth[2]));
    }
    s.predict(params, 1.0)
}

fn bench_filter(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter");
    let (x0, p0) = state();
    let radar = radar_plot(1510.0, 2494.0, 121.0);
    let df = bearing(1510.0, 2494.0);

    g.bench_function("ekf_update/radar", |b| {
        b.iter(|| {
            let (mut x, mut p) = (black_box(x0), black_box(p0));
            let inn = ekf::update(&mut x, &mut p, black_box(&radar));
            (x, p, inn)
        });
    });
    g.bench_function("ekf_update/bearing", |b| {
        b.iter(|| {
            let (mut x, mut p) = (black_box(x0), black_box(p0));
            let inn = ekf::update(&mut x, &mut p, black_box(&df));
            (x, p, inn)
        });
    });

    let cv = ConstantVelocity::new(15.0, 1e-5);
    g.bench_function("cv_predict", |b| {
        b.iter(|| cv.predict(black_box(&x0), black_box(&p0), black_box(1.0)));
    });
    let turn = ConstantVelocity::turning(7.0, 1.0, 1e-5);
    g.bench_function("turn_predict", |b| {
        b.iter(|| turn.predict(black_box(&x0), black_box(&p0), black_box(1.0)));
    });

    let params = ImmParams::default();
    let warmed = warmed_imm(&params);
    g.bench_function("imm_predict", |b| {
        b.iter(|| black_box(&warmed).predict(black_box(&params), black_box(1.0)));
    });

    // The plot for the next scan, near where the warmed track expects the target.
    let next = radar_plot(1500.0 + 8.0 * 9.0, 2500.0 - 5.0 * 9.0, 120.0 + 0.5 * 9.0);
    g.bench_function("imm_update/radar", |b| {
        b.iter_batched(
            || warmed.clone(),
            |mut s| {
                let ok = s.update(black_box(&next));
                (s, ok)
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("imm_score/radar", |b| {
        b.iter(|| black_box(&warmed).score(black_box(&next)));
    });
    g.finish();
}

criterion_group!(benches, bench_filter);
criterion_main!(benches);
