//! The default sector: a stretch of the US-Mexico border at Nogales, Arizona, laid out in
//! scene coordinates (metres east and north of the origin, the border running east-west
//! 800 m south of it, Mexico to the south). [`SectorConfig`] puts it anywhere on Earth: the
//! origin moves it and `rotation_deg` turns it, so the hostile side can face any way.

use dronewatch_model::Lla;

use super::flight::{Flight, Leg};

/// Where the sector is and what is played.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorConfig {
    /// The scene's origin (a point near the middle of the sector, on the ground).
    pub origin: Lla,
    /// Turns the scene clockwise about the origin [deg]: 0 puts the hostile side south.
    pub rotation_deg: f64,
    /// Scenario length [s]; the scripted incidents fill the first eight minutes.
    pub duration_s: f64,
    /// Seeds the sensor noise, detection draws and clutter (the script itself is fixed).
    pub seed: u64,
}

impl Default for SectorConfig {
    fn default() -> Self {
        Self {
            // Nogales, Arizona, by the DeConcini port of entry.
            origin: Lla::new(31.3404, -110.9343, 1200.0),
            rotation_deg: 0.0,
            duration_s: 600.0,
            seed: 1,
        }
    }
}

/// What an aircraft is to the sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Must be alerted on.
    Hostile,
    /// A member of the public flying lawfully: no alert.
    Benign,
    /// The sector's own drone (allow-listed): never warned or alerted about.
    Friendly,
    /// A crewed aircraft on ADS-B: deconflicted, never a drone threat.
    Manned,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hostile => "hostile",
            Role::Benign => "benign",
            Role::Friendly => "friendly",
            Role::Manned => "manned",
        }
    }
}

/// What an aircraft broadcasts as Remote ID.
#[derive(Debug, Clone, PartialEq)]
pub enum Broadcast {
    None,
    /// Its true position, with its serial.
    Genuine {
        serial: String,
    },
    /// A serial and a position moved by `offset_en_m` (scene east, north) from the truth.
    Spoofed {
        serial: String,
        offset_en_m: [f64; 2],
    },
}

impl Broadcast {
    pub fn serial(&self) -> Option<&str> {
        match self {
            Broadcast::None => None,
            Broadcast::Genuine { serial } | Broadcast::Spoofed { serial, .. } => Some(serial),
        }
    }
}

/// An ADS-B transponder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transponder {
    pub icao: u32,
    pub callsign: String,
}

/// One aircraft and its script.
#[derive(Debug, Clone, PartialEq)]
pub struct Aircraft {
    /// Stable name (`hostile-approach`, ...), also the truth's `name`.
    pub name: String,
    pub role: Role,
    /// What it does, in the benchmark's `pattern` words where one fits.
    pub pattern: &'static str,
    pub flight: Flight,
    pub broadcast: Broadcast,
    /// Emits a control or video link an RF direction finder can hear.
    pub rf_emitting: bool,
    pub transponder: Option<Transponder>,
}

/// How an agent spends the scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Duty {
    /// At a fixed post.
    Post { en_m: [f64; 2] },
    /// Back and forth along a road stretch at a speed, turning round at its ends.
    Patrol {
        from_en_m: [f64; 2],
        to_en_m: [f64; 2],
        speed_mps: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// The agent's user name on the node (`agent-1`, ...).
    pub id: String,
    pub duty: Duty,
}

/// Agents hold their phone 1.7 m above the ground.
pub const AGENT_HEIGHT_M: f64 = 1.7;

impl Agent {
    pub fn mode(&self) -> &'static str {
        match self.duty {
            Duty::Post { .. } => "post",
            Duty::Patrol { speed_mps, .. } if speed_mps > 3.0 => "vehicle",
            Duty::Patrol { .. } => "foot",
        }
    }

    /// Scene position at `t_s`.
    pub fn at(&self, t_s: f64) -> [f64; 3] {
        match self.duty {
            Duty::Post { en_m } => [en_m[0], en_m[1], AGENT_HEIGHT_M],
            Duty::Patrol {
                from_en_m: a,
                to_en_m: b,
                speed_mps,
            } => {
                let len_m = (b[0] - a[0]).hypot(b[1] - a[1]).max(1.0);
                let s = (speed_mps * t_s.max(0.0)).rem_euclid(2.0 * len_m);
                let f = if s <= len_m { s } else { 2.0 * len_m - s } / len_m;
                [
                    a[0] + f * (b[0] - a[0]),
                    a[1] + f * (b[1] - a[1]),
                    AGENT_HEIGHT_M,
                ]
            }
        }
    }
}

/// A fixed sensor of the scene.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSite {
    pub id: String,
    pub kind: SiteKind,
    /// Scene position (mast height in `u`).
    pub enu_m: [f64; 3],
    pub max_range_m: f64,
    pub period_s: f64,
    pub phase_s: f64,
    pub pd: f64,
    /// False reports per scan (Poisson mean).
    pub false_per_scan: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    Radar,
    RfDf,
    Acoustic,
    RemoteId,
    Adsb,
}

/// A zone of the scene, in scene coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneDef {
    pub name: &'static str,
    /// GeoJSON `properties.kind` (docs/threat.md).
    pub kind: &'static str,
    pub points_en_m: Vec<[f64; 2]>,
    /// A polygon (closed ring) rather than a line.
    pub area: bool,
}

/// Everything in the sector.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub sensors: Vec<SensorSite>,
    pub zones: Vec<ZoneDef>,
    pub agents: Vec<Agent>,
    pub aircraft: Vec<Aircraft>,
    /// Remote ID serials of the sector's own drones.
    pub allow_list: Vec<String>,
}

/// North coordinate of the border in scene metres (Mexico south of it).
pub const BORDER_N_M: f64 = -800.0;
const POST: [f64; 2] = [-2500.0, -420.0];
const STATION: [f64; 2] = [0.0, 1400.0];

fn rect(centre: [f64; 2], width_m: f64, height_m: f64) -> Vec<[f64; 2]> {
    let (w, h) = (width_m / 2.0, height_m / 2.0);
    let [e, n] = centre;
    // Counter-clockwise, closed (RFC 7946 exterior rings).
    vec![
        [e - w, n - h],
        [e + w, n - h],
        [e + w, n + h],
        [e - w, n + h],
        [e - w, n - h],
    ]
}

fn to(e: f64, n: f64, u: f64, speed_mps: f64) -> Leg {
    Leg::To {
        enu: [e, n, u],
        speed_mps,
    }
}

impl Scene {
    /// The default sector's script. Times are seconds from the scenario's start; the
    /// incidents a watch officer must see (an approach on a post, border crossings, a
    /// spoofed Remote ID) all begin in the first minute.
    pub fn border_sector() -> Self {
        let site = |id: &str, kind, enu_m, max_range_m, phase_s, pd, false_per_scan| SensorSite {
            id: id.into(),
            kind,
            enu_m,
            max_range_m,
            period_s: 1.0,
            phase_s,
            pd,
            false_per_scan,
        };
        let sensors = vec![
            site(
                "radar-1",
                SiteKind::Radar,
                [0.0, 0.0, 15.0],
                6000.0,
                0.0,
                0.92,
                4.0,
            ),
            site(
                "radar-2",
                SiteKind::Radar,
                [-2600.0, -300.0, 10.0],
                3500.0,
                0.5,
                0.9,
                2.0,
            ),
            site(
                "rf-1",
                SiteKind::RfDf,
                [1200.0, -450.0, 8.0],
                5000.0,
                0.2,
                0.8,
                0.05,
            ),
            site(
                "rf-2",
                SiteKind::RfDf,
                [-1200.0, 900.0, 8.0],
                5000.0,
                0.7,
                0.8,
                0.05,
            ),
            site(
                "acoustic-1",
                SiteKind::Acoustic,
                [-2480.0, -400.0, 3.0],
                600.0,
                0.3,
                0.7,
                0.02,
            ),
            site(
                "rid-1",
                SiteKind::RemoteId,
                [0.0, 0.0, 12.0],
                6000.0,
                0.0,
                0.95,
                0.0,
            ),
            site(
                "adsb-1",
                SiteKind::Adsb,
                [0.0, 0.0, 12.0],
                100_000.0,
                0.0,
                1.0,
                0.0,
            ),
        ];

        // East to west, so the hostile (southern) side is on the left of travel.
        let border: Vec<[f64; 2]> = (0..=12)
            .map(|k| {
                let e = 6000.0 - 1000.0 * f64::from(k);
                [e, BORDER_N_M + 15.0 * (0.9 * f64::from(k)).sin()]
            })
            .collect();
        let zones = vec![
            ZoneDef {
                name: "US-Mexico border",
                kind: "border",
                points_en_m: border,
                area: false,
            },
            ZoneDef {
                name: "Nogales Station",
                kind: "station",
                points_en_m: rect(STATION, 220.0, 160.0),
                area: true,
            },
            ZoneDef {
                name: "Post Mariposa",
                kind: "protected_site",
                points_en_m: rect(POST, 120.0, 100.0),
                area: true,
            },
            ZoneDef {
                name: "Border road",
                kind: "road",
                points_en_m: vec![[-4500.0, -560.0], [4500.0, -560.0]],
                area: false,
            },
        ];

        let agents = vec![
            Agent {
                id: "agent-1".into(),
                duty: Duty::Post { en_m: POST },
            },
            Agent {
                id: "agent-2".into(),
                duty: Duty::Post { en_m: STATION },
            },
            Agent {
                id: "agent-3".into(),
                duty: Duty::Patrol {
                    from_en_m: [-1800.0, -560.0],
                    to_en_m: [1500.0, -560.0],
                    speed_mps: 6.0,
                },
            },
            Agent {
                id: "agent-4".into(),
                duty: Duty::Patrol {
                    from_en_m: [2200.0, -540.0],
                    to_en_m: [4200.0, -540.0],
                    speed_mps: 1.5,
                },
            },
        ];

        let drone = |name: &str, role, pattern, flight, broadcast, rf_emitting| Aircraft {
            name: name.into(),
            role,
            pattern,
            flight,
            broadcast,
            rf_emitting,
            transponder: None,
        };
        let mut aircraft = vec![
            // Flies from Mexico straight at the post, crosses at ~27 s, hovers over the
            // agent there for 40 s, and goes back.
            drone(
                "hostile-approach",
                Role::Hostile,
                "approach",
                Flight::new(
                    2.0,
                    [-2550.0, -1150.0, 90.0],
                    &[
                        to(POST[0], POST[1] - 50.0, 40.0, 14.0),
                        Leg::Hold { duration_s: 40.0 },
                        to(-2700.0, -1900.0, 100.0, 16.0),
                    ],
                ),
                Broadcast::None,
                true,
            ),
            // A smuggling run: straight across the border (~41 s) and on north.
            drone(
                "hostile-transit",
                Role::Hostile,
                "transit",
                Flight::new(
                    0.0,
                    [1800.0, -1500.0, 120.0],
                    &[to(1900.0, 4500.0, 120.0, 17.0)],
                ),
                Broadcast::None,
                true,
            ),
            // Broadcasts a serial and a position 540 m from where it is; radar and RF see
            // the truth.
            drone(
                "hostile-spoofed",
                Role::Hostile,
                "transit",
                Flight::new(
                    1.0,
                    [-900.0, -1400.0, 100.0],
                    &[to(-700.0, 3000.0, 100.0, 12.0)],
                ),
                Broadcast::Spoofed {
                    serial: "1581F4QWB21SP00K".into(),
                    offset_en_m: [450.0, 300.0],
                },
                true,
            ),
            // Comes over the border on the patrol east of the port and dives at the road.
            drone(
                "hostile-dive",
                Role::Hostile,
                "dive",
                Flight::new(
                    100.0,
                    [2700.0, -1500.0, 150.0],
                    &[
                        to(2480.0, -650.0, 150.0, 15.0),
                        // Onto the patrol on the road, where it will be at ~178 s.
                        to(2480.0, -555.0, 3.0, 9.0),
                    ],
                ),
                Broadcast::None,
                false,
            ),
            // The sector's own drone, circling the station.
            drone(
                "friendly-patrol",
                Role::Friendly,
                "orbit",
                Flight::orbit(0.0, STATION, 250.0, 90.0, 9.0, 30),
                Broadcast::Genuine {
                    serial: "USBP00SUAS000001".into(),
                },
                true,
            ),
            // A hobbyist far from anyone, with Remote ID.
            drone(
                "benign-hobbyist",
                Role::Benign,
                "orbit",
                Flight::orbit(5.0, [3800.0, 2900.0], 120.0, 60.0, 6.0, 40),
                Broadcast::Genuine {
                    serial: "1581F5BKD225F00X".into(),
                },
                true,
            ),
        ];
        // A small swarm at the station: three drones in a loose V, over the border at
        // ~3 min.
        for (k, off) in [[0.0, 0.0], [40.0, -30.0], [-40.0, -30.0]]
            .iter()
            .enumerate()
        {
            aircraft.push(drone(
                &format!("hostile-swarm-{}", k + 1),
                Role::Hostile,
                "approach",
                Flight::new(
                    70.0,
                    [600.0 + off[0], -2000.0 + off[1], 80.0 + 5.0 * k as f64],
                    &[
                        to(STATION[0] + off[0], STATION[1] - 120.0 + off[1], 70.0, 13.0),
                        Leg::Hold { duration_s: 30.0 },
                        to(900.0 + off[0], -2200.0 + off[1], 90.0, 15.0),
                    ],
                ),
                Broadcast::None,
                k == 0,
            ));
        }
        // A crewed helicopter patrolling north of the station, on ADS-B.
        aircraft.push(Aircraft {
            name: "manned-helicopter".into(),
            role: Role::Manned,
            pattern: "transit",
            flight: Flight::new(
                0.0,
                [-3000.0, 2600.0, 300.0],
                &[
                    to(5500.0, 2600.0, 300.0, 40.0),
                    to(5500.0, 3200.0, 300.0, 30.0),
                    to(-5500.0, 3200.0, 300.0, 40.0),
                    to(-5500.0, 2600.0, 300.0, 30.0),
                    to(5500.0, 2600.0, 300.0, 40.0),
                    to(5500.0, 3200.0, 300.0, 30.0),
                    to(-5500.0, 3200.0, 300.0, 40.0),
                ],
            ),
            broadcast: Broadcast::None,
            rf_emitting: false,
            transponder: Some(Transponder {
                icao: 0xA3_C5E1,
                callsign: "OMAHA21".into(),
            }),
        });
        Self {
            sensors,
            zones,
            agents,
            aircraft,
            allow_list: vec!["USBP00SUAS000001".into()],
        }
    }
}
