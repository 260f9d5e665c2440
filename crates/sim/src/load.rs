//! A synthetic sky for load tests: many drones on closed paths (so the same tracks live for
//! a whole soak), radars on a ring that see every drone in range each scan, clutter, and
//! Remote ID from a share of the drones. Deterministic for a seed; positions are known at
//! any time, so a test can check the tracks against the truth.

use std::f64::consts::TAU;

use dronewatch_geo::{EnuFrame, enu_to_az_el_range};
use dronewatch_model::{
    Clutter, Coverage, IdentityHints, Lla, Measurement, Observation, ObservationId, Sensor,
    SensorId, SensorKind, TimeNs,
};

use crate::rng::Rng;

/// The shape of the load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadConfig {
    /// Centre of the area.
    pub origin: Lla,
    pub drones: usize,
    pub radars: usize,
    /// Each radar reports every drone in range once per period [s].
    pub radar_period_s: f64,
    pub radar_range_m: f64,
    /// Drones fly within this radius of the origin [m].
    pub area_radius_m: f64,
    /// False plots per radar scan (uniform in the radar's coverage).
    pub clutter_per_scan: f64,
    /// Share of the drones that broadcast Remote ID (once a second).
    pub remote_id_share: f64,
    pub pd: f64,
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            origin: Lla::new(31.3404, -110.9343, 1200.0),
            drones: 500,
            radars: 10,
            radar_period_s: 0.25,
            radar_range_m: 12_000.0,
            area_radius_m: 4_000.0,
            clutter_per_scan: 2.0,
            remote_id_share: 0.2,
            pd: 0.95,
            seed: 1,
        }
    }
}

impl LoadConfig {
    /// Observations per second this sky produces on average.
    pub fn rate_per_s(&self) -> f64 {
        let radar = self.radars as f64 * (self.drones as f64 * self.pd + self.clutter_per_scan)
            / self.radar_period_s;
        radar + (self.drones as f64 * self.remote_id_share).round()
    }
}

/// A drone circling at constant speed and height.
#[derive(Debug, Clone)]
struct Orbit {
    centre_en: [f64; 2],
    radius_m: f64,
    /// Signed angular speed [rad/s].
    omega_rad_s: f64,
    phase_rad: f64,
    height_m: f64,
    serial: Option<String>,
}

impl Orbit {
    fn enu_at(&self, t_s: f64) -> [f64; 3] {
        let a = self.phase_rad + self.omega_rad_s * t_s;
        [
            self.centre_en[0] + self.radius_m * a.cos(),
            self.centre_en[1] + self.radius_m * a.sin(),
            self.height_m,
        ]
    }
}

#[derive(Debug, Clone)]
struct Radar {
    id: SensorId,
    position: Lla,
    frame: EnuFrame,
    /// Scenario time of the next scan [s].
    next_scan_s: f64,
}

const SIGMA_RANGE_M: f64 = 5.0;
const SIGMA_AZ_DEG: f64 = 0.4;
const SIGMA_EL_DEG: f64 = 0.4;
const REMOTE_ID_SIGMA_M: f64 = 5.0;

/// The sky, stepped forward in time.
#[derive(Debug, Clone)]
pub struct LoadScene {
    cfg: LoadConfig,
    frame: EnuFrame,
    /// Wall time of scenario time 0.
    epoch: TimeNs,
    drones: Vec<Orbit>,
    radars: Vec<Radar>,
    next_remote_id_s: f64,
    rng: Rng,
    next_id: u64,
}

impl LoadScene {
    pub fn new(cfg: LoadConfig, epoch: TimeNs) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let frame = EnuFrame::new(cfg.origin);
        let n_rid = (cfg.drones as f64 * cfg.remote_id_share).round() as usize;
        let drones = (0..cfg.drones)
            .map(|i| {
                let radius_m = 150.0 + 450.0 * rng.uniform();
                let r = (cfg.area_radius_m - radius_m).max(0.0) * rng.uniform().sqrt();
                let bearing = TAU * rng.uniform();
                let speed_mps = 5.0 + 20.0 * rng.uniform();
                let sign = if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
                Orbit {
                    centre_en: [r * bearing.sin(), r * bearing.cos()],
                    radius_m,
                    omega_rad_s: sign * speed_mps / radius_m,
                    phase_rad: TAU * rng.uniform(),
                    height_m: 60.0 + 240.0 * rng.uniform(),
                    serial: (i < n_rid).then(|| format!("LOAD{i:08}")),
                }
            })
            .collect();
        let radars = (0..cfg.radars)
            .map(|k| {
                let a = TAU * k as f64 / cfg.radars.max(1) as f64;
                let d = cfg.area_radius_m * 0.5;
                let position = frame.to_lla(&[d * a.sin(), d * a.cos(), 5.0]);
                Radar {
                    id: SensorId::new(format!("load-radar-{k}")),
                    position,
                    frame: EnuFrame::new(position),
                    // Scans staggered so the load is smooth.
                    next_scan_s: cfg.radar_period_s * k as f64 / cfg.radars.max(1) as f64,
                }
            })
            .collect();
        Self {
            cfg,
            frame,
            epoch,
            drones,
            radars,
            next_remote_id_s: 0.0,
            rng,
            next_id: 1,
        }
    }

    pub fn config(&self) -> &LoadConfig {
        &self.cfg
    }

    /// The radars (and the Remote ID receiver) as the tracker's sensor metadata.
    pub fn sensors(&self) -> Vec<Sensor> {
        let mut out: Vec<Sensor> = self
            .radars
            .iter()
            .map(|r| Sensor {
                id: r.id.clone(),
                kind: SensorKind::Radar,
                position: Some(r.position),
                period_s: Some(self.cfg.radar_period_s),
                pd: Some(self.cfg.pd),
                coverage: Some(Coverage {
                    min_range_m: 50.0,
                    max_range_m: self.cfg.radar_range_m,
                    el_deg: Some([-2.0, 30.0]),
                }),
                clutter: Some(Clutter {
                    rate_per_scan: self.cfg.clutter_per_scan,
                    range_m: Some([50.0, self.cfg.radar_range_m]),
                    az_deg: Some([0.0, 360.0]),
                    el_deg: Some([-2.0, 30.0]),
                }),
            })
            .collect();
        out.push(Sensor {
            id: SensorId::new("load-rid-1"),
            kind: SensorKind::RemoteId,
            position: Some(self.cfg.origin),
            period_s: Some(1.0),
            pd: Some(1.0),
            coverage: None,
            clutter: None,
        });
        out
    }

    /// Where drone `i` truly is at scenario time `t_s`.
    pub fn truth(&self, i: usize, t_s: f64) -> Option<Lla> {
        self.drones
            .get(i)
            .map(|d| self.frame.to_lla(&d.enu_at(t_s)))
    }

    pub fn drone_count(&self) -> usize {
        self.drones.len()
    }

    /// Every observation due up to scenario time `t_s`, in time order, appended to `out`.
    pub fn step_until(&mut self, t_s: f64, out: &mut Vec<Observation>) {
        loop {
            let next_radar = self
                .radars
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.next_scan_s.total_cmp(&b.1.next_scan_s))
                .map(|(i, r)| (i, r.next_scan_s));
            let rid_due = self.next_remote_id_s;
            match next_radar {
                Some((i, at)) if at <= t_s && at <= rid_due => {
                    self.scan(i, at, out);
                    self.radars[i].next_scan_s = at + self.cfg.radar_period_s;
                }
                _ if rid_due <= t_s => {
                    self.remote_id(rid_due, out);
                    self.next_remote_id_s = rid_due + 1.0;
                }
                _ => break,
            }
        }
    }

    fn take_id(&mut self) -> ObservationId {
        let id = ObservationId(self.next_id);
        self.next_id += 1;
        id
    }

    fn scan(&mut self, i: usize, at_s: f64, out: &mut Vec<Observation>) {
        let t = self.epoch.plus_secs(at_s);
        let (id, position) = (self.radars[i].id.clone(), self.radars[i].position);
        for d in 0..self.drones.len() {
            if self.rng.uniform() >= self.cfg.pd {
                continue;
            }
            let lla = self.frame.to_lla(&self.drones[d].enu_at(at_s));
            let rel = self.radars[i].frame.to_enu(&lla);
            let (az, el, range) = enu_to_az_el_range(&rel);
            if range > self.cfg.radar_range_m || range < 50.0 {
                continue;
            }
            let m = Measurement::RangeAzEl {
                range_m: range + SIGMA_RANGE_M * self.rng.normal(),
                az_deg: (az + SIGMA_AZ_DEG * self.rng.normal()).rem_euclid(360.0),
                el_deg: (el + SIGMA_EL_DEG * self.rng.normal()).clamp(-89.9, 89.9),
                sigma_range_m: SIGMA_RANGE_M,
                sigma_az_deg: SIGMA_AZ_DEG,
                sigma_el_deg: SIGMA_EL_DEG,
            };
            let oid = self.take_id();
            out.push(radar_obs(oid, t, &id, position, m));
        }
        // Clutter: Poisson count approximated by rounding a jittered mean.
        let n = (self.cfg.clutter_per_scan + self.rng.normal() * self.cfg.clutter_per_scan.sqrt())
            .round()
            .max(0.0) as usize;
        for _ in 0..n {
            let m = Measurement::RangeAzEl {
                range_m: 50.0 + (self.cfg.radar_range_m - 50.0) * self.rng.uniform(),
                az_deg: 360.0 * self.rng.uniform(),
                el_deg: -2.0 + 32.0 * self.rng.uniform(),
                sigma_range_m: SIGMA_RANGE_M,
                sigma_az_deg: SIGMA_AZ_DEG,
                sigma_el_deg: SIGMA_EL_DEG,
            };
            let oid = self.take_id();
            out.push(radar_obs(oid, t, &id, position, m));
        }
    }

    fn remote_id(&mut self, at_s: f64, out: &mut Vec<Observation>) {
        let t = self.epoch.plus_secs(at_s);
        for d in 0..self.drones.len() {
            let Some(serial) = self.drones[d].serial.clone() else {
                continue;
            };
            let enu = self.drones[d].enu_at(at_s);
            let noisy = [
                enu[0] + REMOTE_ID_SIGMA_M * self.rng.normal(),
                enu[1] + REMOTE_ID_SIGMA_M * self.rng.normal(),
                enu[2] + REMOTE_ID_SIGMA_M * self.rng.normal(),
            ];
            let oid = self.take_id();
            out.push(Observation {
                id: oid,
                t,
                sensor_id: SensorId::new("load-rid-1"),
                sensor_kind: SensorKind::RemoteId,
                sensor_position: Some(self.cfg.origin),
                measurement: Measurement::Position {
                    position: self.frame.to_lla(&noisy),
                    sigma_horizontal_m: REMOTE_ID_SIGMA_M,
                    sigma_vertical_m: REMOTE_ID_SIGMA_M,
                },
                velocity: None,
                identity: IdentityHints {
                    remote_id_serial: Some(serial),
                    ..IdentityHints::default()
                },
            });
        }
    }
}

fn radar_obs(
    id: ObservationId,
    t: TimeNs,
    sensor: &SensorId,
    pos: Lla,
    m: Measurement,
) -> Observation {
    Observation {
        id,
        t,
        sensor_id: sensor.clone(),
        sensor_kind: SensorKind::Radar,
        sensor_position: Some(pos),
        measurement: m,
        velocity: None,
        identity: IdentityHints::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_what_the_config_says() {
        let cfg = LoadConfig {
            drones: 100,
            radars: 4,
            radar_period_s: 0.5,
            ..LoadConfig::default()
        };
        let expected = cfg.rate_per_s();
        let mut scene = LoadScene::new(cfg, TimeNs(0));
        let mut out = Vec::new();
        scene.step_until(60.0, &mut out);
        let rate = out.len() as f64 / 60.0;
        assert!((rate / expected - 1.0).abs() < 0.05, "{rate} vs {expected}");
        assert!(out.windows(2).all(|w| w[0].t <= w[1].t), "time order");
        assert!(out.iter().all(|o| o.measurement.validate().is_ok()));
    }

    #[test]
    fn the_same_seed_gives_the_same_sky() {
        let run = || {
            let mut s = LoadScene::new(
                LoadConfig {
                    drones: 20,
                    ..LoadConfig::default()
                },
                TimeNs(0),
            );
            let mut out = Vec::new();
            s.step_until(5.0, &mut out);
            out
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn drones_stay_in_the_area() {
        let cfg = LoadConfig::default();
        let s = LoadScene::new(cfg.clone(), TimeNs(0));
        let frame = EnuFrame::new(cfg.origin);
        for i in 0..s.drone_count() {
            for t in [0.0, 100.0, 1000.0] {
                let p = s.truth(i, t).unwrap_or(cfg.origin);
                let enu = frame.to_enu(&p);
                assert!(enu[0].hypot(enu[1]) <= cfg.area_radius_m + 1.0);
            }
        }
    }
}
