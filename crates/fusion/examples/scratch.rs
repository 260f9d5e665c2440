use dronewatch_fusion::imm::{ImmParams, ImmState};
use dronewatch_fusion::linalg::{Mat6, Vec3, Vec6};
use dronewatch_fusion::measurement::{Meas, MeasKind};
use dronewatch_model::SensorKind;
fn main() {
    let mut params = ImmParams::default();
    if std::env::var("SOLO").is_ok() { params.switch_per_s = [[0.0; 3]; 3]; }
    if let Ok(f) = std::env::var("SW") { let f: f64 = f.parse().unwrap_or(1.0); for r in params.switch_per_s.iter_mut() { for v in r.iter_mut() { *v *= f; } } }
    let mut p = Mat6::identity() * 400.0;
    for i in 3..6 { p[(i, i)] = 100.0; }
    let mut s = ImmState::new(Vec6::new(1000.0, 1700.0, 60.0, 0.0, 0.0, 0.0), p, if std::env::var("SOLO").is_ok() { [1.0, 0.0, 0.0] } else { [0.3, 0.5, 0.2] });
    let truth = Vec3::new(1000.0, 1700.0, 60.0);
    let mut seed: u64 = 12345;
    let mut gauss = || { let mut acc = 0.0; for _ in 0..12 { seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); acc += (seed >> 11) as f64 / (1u64 << 53) as f64; } acc - 6.0 };
    for k in 0..400 {
        let sensor = if k % 2 == 0 { Vec3::new(0.0, 0.0, 10.0) } else { Vec3::new(2000.0, -1600.0, 10.0) };
        let d = truth - sensor;
        let r = d.norm(); let az = d[0].atan2(d[1]); let el = (d[2] / r).asin();
        let m = Meas { kind: MeasKind::RangeAzEl, sensor_kind: SensorKind::Radar, sensor_enu: sensor,
            z: Vec3::new(r + 5.0 * gauss(), az + 0.5f64.to_radians() * gauss(), el + 1f64.to_radians() * gauss()),
            sigma: Vec3::new(5.0, 0.5f64.to_radians(), 1f64.to_radians()) };
        s = s.predict(&params, 0.5);
        s.update(&m);
        if k % 40 == 39 {
            let (x, p) = s.combined();
            println!("per-model sig_v {:.1} {:.1} {:.1} err_v {:.1} {:.1} {:.1}", s.p[0][(2,2)].sqrt(), s.p[1][(2,2)].sqrt(), s.p[2][(2,2)].sqrt(), s.x[0][2]-60.0, s.x[1][2]-60.0, s.x[2][2]-60.0);
            println!("{k} mu {:?} err {:?} sig {:.1} {:.1} {:.1}", s.mu.map(|m| (m * 1000.0).round() / 1000.0), (Vec3::new(x[0], x[1], x[2]) - truth).map(|v| (v * 10.0).round() / 10.0).as_slice(), p[(0,0)].sqrt(), p[(1,1)].sqrt(), p[(2,2)].sqrt());
        }
    }
}
