use std::path::Path;
use std::time::Instant;
use dronewatch_sim::*;
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_default();
    let s = read_scenario_dir(Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let text = std::fs::read_to_string(Path::new(&dir).join("detections.jsonl")).unwrap_or_default();
    let t1 = Instant::now();
    let mut n = 0; let mut bad = 0;
    for line in text.lines() { match parse_detection_line(line, s.meta.epoch) { Ok(_) => n += 1, Err(e) => { bad += 1; eprintln!("{e}"); } } }
    let t2 = Instant::now();
    let r = DetectionReader::open(&Path::new(&dir).join("detections.jsonl"), s.meta.epoch).unwrap_or_else(|e| panic!("{e}"));
    let m = r.filter(|(_, r)| r.is_ok()).count();
    let t3 = Instant::now();
    println!("read {:?}; parse_line {} ok {} bad in {:?}; reader {} in {:?}", t1-t0, n, bad, t2-t1, m, t3-t2);
    let mut w = TrackWriter::new(std::io::sink());
    let rec = TrackRecord { t_s: 12.0, track_id: 17, enu: [-1678.512345, -395.52, 130.45], vel_enu: [-11.569, 12.319, -0.442], cov_enu: [23.11, -7.34, 30.09, -7.34, 95.64, 19.2, 30.09, 19.2, 407.39], lla: dronewatch_model::Lla::new(51.185241234, -1.823861, 230.45) };
    let t4 = Instant::now();
    for k in 0..1_000_000u64 { let mut r = rec; r.t_s = k as f64; r.enu[0] += k as f64 * 0.001; w.write(&r).unwrap_or_else(|e| panic!("{e}")); }
    let _ = w.finish();
    println!("1M track lines in {:?}", t4.elapsed());
}
