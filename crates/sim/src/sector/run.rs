//! Plays a [`Scene`] through its sensors: every detection, ADS-B report, agent position
//! and truth record of a scenario, in time order, deterministic for a seed.

use dronewatch_geo::{EnuFrame, enu_to_az_el_range};
use dronewatch_model::{
    Clutter, Coverage, IdentityHints, Lla, Measurement, Observation, ObservationId, RfEmission,
    Sensor, SensorId, SensorKind, TimeNs,
};

use super::flight::{State, distance_m};
use super::scene::{Broadcast, Role, Scene, SectorConfig, SiteKind};
use crate::rng::Rng;

/// The simulation tick [s]: every time in a scenario is a multiple of it.
pub const TICK_S: f64 = 0.1;
/// Truth and agent positions are written at this period [s].
pub const REPORT_PERIOD_S: f64 = 1.0;

pub(super) const RADAR_SIGMA_RANGE_M: f64 = 5.0;
pub(super) const RADAR_SIGMA_AZ_DEG: f64 = 0.5;
pub(super) const RADAR_SIGMA_EL_DEG: f64 = 1.0;
const RADAR_EL_DEG: [f64; 2] = [-2.0, 40.0];
pub(super) const RF_SIGMA_AZ_DEG: f64 = 2.0;
pub(super) const ACOUSTIC_SIGMA_AZ_DEG: f64 = 3.0;
pub(super) const ACOUSTIC_SIGMA_EL_DEG: f64 = 4.0;
const RID_SIGMA_H_M: f64 = 3.0;
const RID_SIGMA_V_M: f64 = 5.0;
const SIGHTING_SIGMA_AZ_DEG: f64 = 10.0;
const SIGHTING_SIGMA_DIST_REL: f64 = 0.3;
/// Agents report a drone they can see (100-500 m away) about this often [s].
const SIGHTING_INTERVAL_S: f64 = 30.0;

/// One detection, with the aircraft that caused it (`None` for clutter and false reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub t_s: f64,
    pub observation: Observation,
    pub target: Option<usize>,
}

/// One ADS-B position report of a transponder (what a 1090 MHz receiver decodes).
#[derive(Debug, Clone, PartialEq)]
pub struct AdsbReport {
    pub t_s: f64,
    pub icao: u32,
    pub callsign: String,
    pub position: Lla,
    pub vel_enu_mps: [f64; 3],
}

/// Where an aircraft truly was at a report time.
#[derive(Debug, Clone, PartialEq)]
pub struct TruthRecord {
    pub t_s: f64,
    /// Index into the scene's aircraft; the files' `target_id` is this + 1.
    pub target: usize,
    pub enu_m: [f64; 3],
    pub vel_enu_mps: [f64; 3],
    pub lla: Lla,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentRecord {
    pub t_s: f64,
    /// Index into the scene's agents.
    pub agent: usize,
    pub enu_m: [f64; 3],
    pub lla: Lla,
}

/// A (drone, agent) pair that came within 300 m, with its closest approach.
#[derive(Debug, Clone, PartialEq)]
pub struct Encounter {
    pub target: usize,
    pub agent: usize,
    pub t_cpa_s: f64,
    pub cpa_m: f64,
    pub t_enter_300m_s: f64,
    pub t_first_detectable_s: Option<f64>,
}

/// A whole scenario, generated.
#[derive(Debug, Clone)]
pub struct SectorRun {
    pub config: SectorConfig,
    /// The instant of scenario time 0.
    pub epoch: TimeNs,
    /// ENU frame at the origin (true north); scene coordinates are rotated into it.
    pub frame: EnuFrame,
    pub scene: Scene,
    /// The fixed sensors as the tracker's metadata (ADS-B included).
    pub sensors: Vec<Sensor>,
    /// Radar, RF, acoustic, Remote ID and agent detections, sorted by time then sensor.
    pub detections: Vec<Detection>,
    pub adsb: Vec<AdsbReport>,
    pub truth: Vec<TruthRecord>,
    pub agents: Vec<AgentRecord>,
    pub encounters: Vec<Encounter>,
}

impl SectorRun {
    /// Generates the scenario: `epoch` is the wall time of its start.
    pub fn generate(config: SectorConfig, scene: Scene, epoch: TimeNs) -> Self {
        Generator::new(config, scene, epoch).run()
    }

    /// The world ENU (true north, metres) of a scene point.
    pub fn world(&self, scene_enu: [f64; 3]) -> [f64; 3] {
        rotate(self.config.rotation_deg, scene_enu)
    }

    /// The aircraft's true state at `t_s` in world ENU.
    pub fn state_at(&self, target: usize, t_s: f64) -> Option<State> {
        let s = self.scene.aircraft.get(target)?.flight.at(t_s)?;
        Some(State {
            enu_m: self.world(s.enu_m),
            vel_enu_mps: rotate(self.config.rotation_deg, s.vel_enu_mps),
        })
    }
}

/// Turns a scene vector clockwise by `deg` about the vertical.
fn rotate(deg: f64, v: [f64; 3]) -> [f64; 3] {
    let (s, c) = deg.to_radians().sin_cos();
    [v[0] * c + v[1] * s, -v[0] * s + v[1] * c, v[2]]
}

struct Site {
    sensor: Sensor,
    kind: SiteKind,
    enu_m: [f64; 3],
    frame: EnuFrame,
    lla: Lla,
    max_range_m: f64,
    period_ticks: u64,
    phase_ticks: u64,
    pd: f64,
    false_per_scan: f64,
}

struct Generator {
    run: SectorRun,
    sites: Vec<Site>,
    rng: Rng,
    next_id: u64,
    /// Per aircraft, the tick of its Remote ID / ADS-B messages within each second.
    phase_ticks: Vec<u64>,
    last_sighting_s: Vec<Vec<f64>>,
}

fn ticks(s: f64) -> u64 {
    (s / TICK_S).round().max(0.0) as u64
}

impl Generator {
    fn new(config: SectorConfig, scene: Scene, epoch: TimeNs) -> Self {
        let frame = EnuFrame::new(config.origin);
        let rotation = config.rotation_deg;
        let sites: Vec<Site> = scene
            .sensors
            .iter()
            .map(|s| {
                let enu_m = rotate(rotation, s.enu_m);
                let lla = frame.to_lla(&enu_m);
                let kind = match s.kind {
                    SiteKind::Radar => SensorKind::Radar,
                    SiteKind::RfDf => SensorKind::RfDf,
                    SiteKind::Acoustic => SensorKind::Acoustic,
                    SiteKind::RemoteId => SensorKind::RemoteId,
                    SiteKind::Adsb => SensorKind::Adsb,
                };
                let radar = s.kind == SiteKind::Radar;
                Site {
                    sensor: Sensor {
                        id: SensorId::new(s.id.clone()),
                        kind,
                        position: Some(lla),
                        period_s: Some(s.period_s),
                        pd: Some(s.pd),
                        coverage: Some(Coverage {
                            min_range_m: if radar { 50.0 } else { 0.0 },
                            max_range_m: s.max_range_m,
                            el_deg: radar.then_some(RADAR_EL_DEG),
                        }),
                        clutter: (s.false_per_scan > 0.0).then(|| Clutter {
                            rate_per_scan: s.false_per_scan,
                            range_m: radar.then_some([100.0, s.max_range_m]),
                            az_deg: radar.then_some([0.0, 360.0]),
                            el_deg: radar.then_some([0.0, 15.0]),
                        }),
                    },
                    kind: s.kind,
                    enu_m,
                    frame: EnuFrame::new(lla),
                    lla,
                    max_range_m: s.max_range_m,
                    period_ticks: ticks(s.period_s).max(1),
                    phase_ticks: ticks(s.phase_s),
                    pd: s.pd,
                    false_per_scan: s.false_per_scan,
                }
            })
            .collect();
        let n = scene.aircraft.len();
        let agents = scene.agents.len();
        let mut rng = Rng::new(config.seed);
        let phase_ticks = (0..n).map(|_| rng.next_u64() % ticks(1.0)).collect();
        Self {
            run: SectorRun {
                sensors: sites.iter().map(|s| s.sensor.clone()).collect(),
                config,
                epoch,
                frame,
                scene,
                detections: Vec::new(),
                adsb: Vec::new(),
                truth: Vec::new(),
                agents: Vec::new(),
                encounters: Vec::new(),
            },
            sites,
            rng,
            next_id: 1,
            phase_ticks,
            last_sighting_s: vec![vec![f64::NEG_INFINITY; n]; agents],
        }
    }

    fn run(mut self) -> SectorRun {
        let end = ticks(self.run.config.duration_s);
        let report_ticks = ticks(REPORT_PERIOD_S);
        let n = self.run.scene.aircraft.len();
        let mut encounters: Vec<Vec<Option<Encounter>>> =
            vec![vec![None; self.run.scene.agents.len()]; n];
        let mut first_detected: Vec<Option<f64>> = vec![None; n];
        for tick in 0..=end {
            let t_s = tick as f64 * TICK_S;
            let states: Vec<Option<State>> = (0..n).map(|i| self.run.state_at(i, t_s)).collect();
            let agents: Vec<[f64; 3]> = self
                .run
                .scene
                .agents
                .iter()
                .map(|a| self.run.world(a.at(t_s)))
                .collect();
            let before = self.run.detections.len();
            for k in 0..self.sites.len() {
                let site = &self.sites[k];
                let due = tick >= site.phase_ticks
                    && (tick - site.phase_ticks).is_multiple_of(site.period_ticks);
                match site.kind {
                    _ if !due => {}
                    SiteKind::Radar | SiteKind::RfDf | SiteKind::Acoustic => {
                        self.scan(k, t_s, &states)
                    }
                    SiteKind::RemoteId | SiteKind::Adsb => {}
                }
            }
            self.broadcasts(tick, t_s, &states);
            self.sightings(t_s, &states, &agents);
            for d in &self.run.detections[before..] {
                if let Some(i) = d.target {
                    first_detected[i].get_or_insert(d.t_s);
                }
            }
            for (i, s) in states.iter().enumerate() {
                let Some(s) = s else { continue };
                if self.run.scene.aircraft[i].role == Role::Manned {
                    continue;
                }
                for (a, p) in agents.iter().enumerate() {
                    let d_m = distance_m(s.enu_m, *p);
                    if d_m >= 300.0 {
                        continue;
                    }
                    let e = encounters[i][a].get_or_insert(Encounter {
                        target: i,
                        agent: a,
                        t_cpa_s: t_s,
                        cpa_m: d_m,
                        t_enter_300m_s: t_s,
                        t_first_detectable_s: None,
                    });
                    if d_m < e.cpa_m {
                        e.cpa_m = d_m;
                        e.t_cpa_s = t_s;
                    }
                }
            }
            if tick.is_multiple_of(report_ticks) {
                self.report(t_s, &states, &agents);
            }
        }
        let mut all: Vec<Encounter> = encounters
            .into_iter()
            .flatten()
            .flatten()
            .map(|mut e| {
                e.t_first_detectable_s = first_detected[e.target];
                e
            })
            .collect();
        all.sort_by(|a, b| a.t_cpa_s.total_cmp(&b.t_cpa_s));
        self.run.encounters = all;
        // Time, then sensor (a stable sort keeps each scan's shuffled order).
        self.run.detections.sort_by(|a, b| {
            a.t_s
                .total_cmp(&b.t_s)
                .then_with(|| a.observation.sensor_id.cmp(&b.observation.sensor_id))
        });
        self.run
    }

    /// Records one detection by `sensor_id` of `target` (`None`: clutter, a false report).
    #[allow(clippy::too_many_arguments)]
    fn detect(
        &mut self,
        t_s: f64,
        target: Option<usize>,
        sensor_id: SensorId,
        kind: SensorKind,
        sensor_position: Option<Lla>,
        measurement: Measurement,
        identity: IdentityHints,
    ) {
        let id = ObservationId(self.next_id);
        self.next_id += 1;
        let observation = Observation {
            id,
            t: self.run.epoch.plus_secs(t_s),
            sensor_id,
            sensor_kind: kind,
            sensor_position,
            measurement,
            velocity: None,
            identity,
        };
        self.run.detections.push(Detection {
            t_s,
            observation,
            target,
        });
    }

    /// Poisson draw for the small means of false-report rates (Knuth).
    fn poisson(&mut self, mean: f64) -> usize {
        let limit = (-mean).exp();
        let mut p = self.rng.uniform();
        let mut k = 0;
        while p > limit && k < 1000 {
            p *= self.rng.uniform();
            k += 1;
        }
        k
    }

    fn scan(&mut self, k: usize, t_s: f64, states: &[Option<State>]) {
        let start = self.run.detections.len();
        let (kind, id, lla, max_range_m, pd) = {
            let s = &self.sites[k];
            (s.kind, s.sensor.id.clone(), s.lla, s.max_range_m, s.pd)
        };
        for (i, state) in states.iter().enumerate() {
            let Some(state) = state else { continue };
            let a = &self.run.scene.aircraft[i];
            if kind == SiteKind::RfDf && !a.rf_emitting {
                continue;
            }
            let target_lla = self.run.frame.to_lla(&state.enu_m);
            let (az, el, range) = enu_to_az_el_range(&self.sites[k].frame.to_enu(&target_lla));
            let pd = if a.role == Role::Manned && kind == SiteKind::Radar {
                // A helicopter is a far bigger reflector than a small drone.
                pd.max(0.98)
            } else {
                pd
            };
            let in_cover = range <= max_range_m
                && (kind != SiteKind::Radar
                    || (range >= 50.0 && (RADAR_EL_DEG[0]..=RADAR_EL_DEG[1]).contains(&el)));
            if !in_cover || self.rng.uniform() >= pd {
                continue;
            }
            let m = self.measure(kind, az, el, range);
            let identity = IdentityHints {
                rf_emission: (kind == SiteKind::RfDf).then(|| drone_link(i)),
                ..IdentityHints::default()
            };
            self.detect(
                t_s,
                Some(i),
                id.clone(),
                self.sites[k].sensor.kind,
                Some(lla),
                m,
                identity,
            );
        }
        let false_reports = self.poisson(self.sites[k].false_per_scan);
        for _ in 0..false_reports {
            let az = 360.0 * self.rng.uniform();
            let (el, range) = match kind {
                SiteKind::Radar => (
                    15.0 * self.rng.uniform(),
                    100.0 + (max_range_m - 100.0) * self.rng.uniform(),
                ),
                _ => (60.0 * self.rng.uniform(), max_range_m),
            };
            let m = match kind {
                SiteKind::Radar => self.measure(kind, az, el, range),
                SiteKind::RfDf => Measurement::Bearing {
                    az_deg: az,
                    sigma_az_deg: RF_SIGMA_AZ_DEG,
                },
                _ => Measurement::AzEl {
                    az_deg: az,
                    el_deg: el,
                    sigma_az_deg: ACOUSTIC_SIGMA_AZ_DEG,
                    sigma_el_deg: ACOUSTIC_SIGMA_EL_DEG,
                },
            };
            // An RF direction finder's false bearings are other emitters in the same band
            // (Wi-Fi), so hearing 2.4 GHz proves little by itself.
            let identity = IdentityHints {
                rf_emission: (kind == SiteKind::RfDf).then_some(RfEmission {
                    // Wi-Fi channels 1 to 13, picked from the bearing: the random stream
                    // stays as it was, so scenarios do not change.
                    centre_frequency_hz: 2.412e9 + 5e6 * (az as u64 % 13) as f64,
                    bandwidth_hz: Some(20e6),
                    amplitude: None,
                }),
                ..IdentityHints::default()
            };
            self.detect(
                t_s,
                None,
                id.clone(),
                self.sites[k].sensor.kind,
                Some(lla),
                m,
                identity,
            );
        }
        // The order of plots within a scan carries no identity.
        let scan = &mut self.run.detections[start..];
        for j in (1..scan.len()).rev() {
            let r = (self.rng.next_u64() % (j as u64 + 1)) as usize;
            scan.swap(j, r);
        }
    }

    fn measure(&mut self, kind: SiteKind, az: f64, el: f64, range: f64) -> Measurement {
        let rng = &mut self.rng;
        match kind {
            SiteKind::Radar => Measurement::RangeAzEl {
                range_m: (range + RADAR_SIGMA_RANGE_M * rng.normal()).max(1.0),
                az_deg: (az + RADAR_SIGMA_AZ_DEG * rng.normal()).rem_euclid(360.0),
                el_deg: (el + RADAR_SIGMA_EL_DEG * rng.normal()).clamp(-89.9, 89.9),
                sigma_range_m: RADAR_SIGMA_RANGE_M,
                sigma_az_deg: RADAR_SIGMA_AZ_DEG,
                sigma_el_deg: RADAR_SIGMA_EL_DEG,
            },
            SiteKind::RfDf => Measurement::Bearing {
                az_deg: (az + RF_SIGMA_AZ_DEG * rng.normal()).rem_euclid(360.0),
                sigma_az_deg: RF_SIGMA_AZ_DEG,
            },
            _ => Measurement::AzEl {
                az_deg: (az + ACOUSTIC_SIGMA_AZ_DEG * rng.normal()).rem_euclid(360.0),
                el_deg: (el + ACOUSTIC_SIGMA_EL_DEG * rng.normal()).clamp(-89.9, 89.9),
                sigma_az_deg: ACOUSTIC_SIGMA_AZ_DEG,
                sigma_el_deg: ACOUSTIC_SIGMA_EL_DEG,
            },
        }
    }

    /// Remote ID (1 Hz per drone, each at its own phase, heard by the receivers in range)
    /// and ADS-B (1 Hz per transponder).
    fn broadcasts(&mut self, tick: u64, t_s: f64, states: &[Option<State>]) {
        let per_s = ticks(1.0);
        for (i, state) in states.iter().enumerate() {
            let Some(state) = state else { continue };
            if tick % per_s != self.phase_ticks[i] {
                continue;
            }
            let a = self.run.scene.aircraft[i].clone();
            if let Some(tp) = &a.transponder {
                self.run.adsb.push(AdsbReport {
                    t_s,
                    icao: tp.icao,
                    callsign: tp.callsign.clone(),
                    position: self.run.frame.to_lla(&state.enu_m),
                    vel_enu_mps: state.vel_enu_mps,
                });
            }
            let claimed = match &a.broadcast {
                Broadcast::None => continue,
                Broadcast::Genuine { .. } => state.enu_m,
                Broadcast::Spoofed { offset_en_m, .. } => {
                    let off = self.run.world([offset_en_m[0], offset_en_m[1], 0.0]);
                    [
                        state.enu_m[0] + off[0],
                        state.enu_m[1] + off[1],
                        state.enu_m[2],
                    ]
                }
            };
            let serial = a.broadcast.serial().map(str::to_owned);
            for k in 0..self.sites.len() {
                let site = &self.sites[k];
                if site.kind != SiteKind::RemoteId
                    || distance_m(site.enu_m, state.enu_m) > site.max_range_m
                    || self.rng.uniform() >= site.pd
                {
                    continue;
                }
                let noisy = [
                    claimed[0] + RID_SIGMA_H_M * self.rng.normal(),
                    claimed[1] + RID_SIGMA_H_M * self.rng.normal(),
                    claimed[2] + RID_SIGMA_V_M * self.rng.normal(),
                ];
                let m = Measurement::Position {
                    position: self.run.frame.to_lla(&noisy),
                    sigma_horizontal_m: RID_SIGMA_H_M,
                    sigma_vertical_m: RID_SIGMA_V_M,
                };
                let (id, lla) = (self.sites[k].sensor.id.clone(), self.sites[k].lla);
                let identity = IdentityHints {
                    remote_id_serial: serial.clone(),
                    ..IdentityHints::default()
                };
                self.detect(
                    t_s,
                    Some(i),
                    id,
                    SensorKind::RemoteId,
                    Some(lla),
                    m,
                    identity,
                );
            }
        }
    }

    /// Agents report drones they can see, 100-500 m away, now and then.
    fn sightings(&mut self, t_s: f64, states: &[Option<State>], agents: &[[f64; 3]]) {
        for (a, p) in agents.iter().enumerate() {
            for (i, state) in states.iter().enumerate() {
                let Some(state) = state else { continue };
                let aircraft = &self.run.scene.aircraft[i];
                if aircraft.role == Role::Manned {
                    continue;
                }
                let d_h = (state.enu_m[0] - p[0]).hypot(state.enu_m[1] - p[1]);
                if !(100.0..=500.0).contains(&d_h)
                    || t_s - self.last_sighting_s[a][i] < SIGHTING_INTERVAL_S
                {
                    continue;
                }
                // About once per interval while in view.
                if self.rng.uniform() >= TICK_S / SIGHTING_INTERVAL_S * 4.0 {
                    continue;
                }
                self.last_sighting_s[a][i] = t_s;
                let lla = self.run.frame.to_lla(p);
                let target = self.run.frame.to_lla(&state.enu_m);
                let (az, _, _) = enu_to_az_el_range(&EnuFrame::new(lla).to_enu(&target));
                let m = Measurement::BearingDistance {
                    az_deg: (az + SIGHTING_SIGMA_AZ_DEG * self.rng.normal()).rem_euclid(360.0),
                    dist_m: (d_h * (1.0 + SIGHTING_SIGMA_DIST_REL * self.rng.normal())).max(10.0),
                    sigma_az_deg: SIGHTING_SIGMA_AZ_DEG,
                    sigma_dist_rel: SIGHTING_SIGMA_DIST_REL,
                };
                let id = SensorId::new(self.run.scene.agents[a].id.clone());
                self.detect(
                    t_s,
                    Some(i),
                    id,
                    SensorKind::Agent,
                    Some(lla),
                    m,
                    IdentityHints::default(),
                );
            }
        }
    }

    fn report(&mut self, t_s: f64, states: &[Option<State>], agents: &[[f64; 3]]) {
        for (i, s) in states.iter().enumerate() {
            if let Some(s) = s {
                self.run.truth.push(TruthRecord {
                    t_s,
                    target: i,
                    enu_m: s.enu_m,
                    vel_enu_mps: s.vel_enu_mps,
                    lla: self.run.frame.to_lla(&s.enu_m),
                });
            }
        }
        for (a, p) in agents.iter().enumerate() {
            self.run.agents.push(AgentRecord {
                t_s,
                agent: a,
                enu_m: *p,
                lla: self.run.frame.to_lla(p),
            });
        }
    }
}

/// The control link aircraft `i` transmits on, as an RF direction finder hears it: drones
/// alternate between the 2.4 and 5.8 GHz bands, a few MHz apart.
fn drone_link(i: usize) -> RfEmission {
    let (base_hz, bandwidth_hz) = if i.is_multiple_of(2) {
        (2.44e9, 10e6)
    } else {
        (5.76e9, 20e6)
    };
    RfEmission {
        centre_frequency_hz: base_hz + 2e6 * (i % 5) as f64,
        bandwidth_hz: Some(bandwidth_hz),
        amplitude: None,
    }
}
