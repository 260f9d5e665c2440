//! Receiver state: merges messages arriving one at a time into one report per drone, and
//! flags what is implausible instead of trusting it.
//!
//! Remote ID is self-declared and unauthenticated in practice, and receivers pick up
//! frames damaged on air (the BT5 sample holds longitudes of -214°). So every update
//! comes back with [`Flag`]s carrying the numbers that tripped them, and a fix that is
//! flagged does not move the drone's reference position.
//!
//! A drone is keyed by its UAS ID once a clean one is known (serial number preferred,
//! then CAA registration, then UTM UUID / session ID), by its transmitter address until
//! then. When an address learns its UAS ID, the state gathered under the address moves
//! to the UAS ID.

use std::collections::HashMap;

use dronewatch_model::Lla;
use serde::Serialize;

use crate::codes;
use crate::message::{BasicId, Location, MAX_TIMESTAMP_S, Message, OperatorId, SelfId, System};
use crate::text::OdidText;
use crate::transport::{MacAddress, Transport};

/// Thresholds for the plausibility flags. The defaults are documented on each constant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiverConfig {
    /// Fastest plausible ground speed, reported or implied by two fixes.
    pub max_speed_mps: f64,
    /// Fastest plausible climb or descent.
    pub max_vertical_speed_mps: f64,
    /// Position noise allowed on top of `max_speed_mps × Δt` before two fixes are called
    /// inconsistent (GNSS jitter, quantisation).
    pub position_jitter_m: f64,
    /// Farthest plausible operator-to-drone distance.
    pub max_operator_distance_m: f64,
    /// Plausible altitude band (geodetic, pressure, operator), metres.
    pub min_altitude_m: f64,
    pub max_altitude_m: f64,
    /// Two transmitters sending one UAS ID within this window are flagged.
    pub duplicate_window_s: f64,
    /// States not heard from for this long are dropped by [`Receiver::prune`].
    pub forget_after_s: f64,
    /// At most this many drones are kept; beyond it the longest silent is dropped.
    pub max_drones: usize,
}

/// 100 m/s (360 km/h): above the fastest racing quadcopters; F3411 can encode 254 m/s.
pub const DEFAULT_MAX_SPEED_MPS: f64 = 100.0;
/// 50 m/s: above any multirotor's climb or dive rate.
pub const DEFAULT_MAX_VERTICAL_SPEED_MPS: f64 = 50.0;
/// 50 m.
pub const DEFAULT_POSITION_JITTER_M: f64 = 50.0;
/// 30 km: beyond the longest consumer control links (about 15-20 km).
pub const DEFAULT_MAX_OPERATOR_DISTANCE_M: f64 = 30_000.0;
/// -500 m: below the lowest land (Dead Sea shore, about -430 m).
pub const DEFAULT_MIN_ALTITUDE_M: f64 = -500.0;
/// 10 km: above any small UA's ceiling.
pub const DEFAULT_MAX_ALTITUDE_M: f64 = 10_000.0;
/// 10 s.
pub const DEFAULT_DUPLICATE_WINDOW_S: f64 = 10.0;
/// 10 minutes.
pub const DEFAULT_FORGET_AFTER_S: f64 = 600.0;
/// 10,000 drones.
pub const DEFAULT_MAX_DRONES: usize = 10_000;

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            max_speed_mps: DEFAULT_MAX_SPEED_MPS,
            max_vertical_speed_mps: DEFAULT_MAX_VERTICAL_SPEED_MPS,
            position_jitter_m: DEFAULT_POSITION_JITTER_M,
            max_operator_distance_m: DEFAULT_MAX_OPERATOR_DISTANCE_M,
            min_altitude_m: DEFAULT_MIN_ALTITUDE_M,
            max_altitude_m: DEFAULT_MAX_ALTITUDE_M,
            duplicate_window_s: DEFAULT_DUPLICATE_WINDOW_S,
            forget_after_s: DEFAULT_FORGET_AFTER_S,
            max_drones: DEFAULT_MAX_DRONES,
        }
    }
}

/// Something implausible about a message, with the numbers that show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// The capture device reported a failed CRC/FCS: the frame was damaged on air.
    LinkCrcFailed,
    /// Latitude outside ±90° or longitude outside ±180°.
    PositionOutOfRange { lat_deg: f64, lon_deg: f64 },
    /// Latitude and longitude both 0: F3411's "unknown", or a faulty transmitter.
    PositionUnknown,
    /// Reaching this fix from the drone's previous one needs `speed_mps`.
    ImpliedSpeed {
        speed_mps: f64,
        distance_m: f64,
        dt_s: f64,
    },
    /// The broadcast ground speed is beyond `max_speed_mps`.
    ReportedSpeed { speed_mps: f64 },
    /// The broadcast vertical speed is beyond `max_vertical_speed_mps`.
    ReportedVerticalSpeed { speed_mps: f64 },
    /// Direction above 360° (only reachable by a non-canonical encoding).
    DirectionOutOfRange { direction_deg: f64 },
    /// An altitude outside the plausible band; `field` names which.
    AltitudeOutOfRange {
        field: &'static str,
        altitude_m: f64,
    },
    /// The location timestamp is past the hour (tenths of a second after the hour).
    TimestampOutOfRange { timestamp_s: f64 },
    /// Operator latitude/longitude outside the WGS84 range.
    OperatorPositionOutOfRange { lat_deg: f64, lon_deg: f64 },
    /// The operator is farther from the drone than `max_operator_distance_m`.
    OperatorTooFar { distance_m: f64 },
    /// A text field holds non-printable bytes or bytes after its NUL padding.
    BadText { field: &'static str, text: String },
    /// A code F3411 reserves (undefined in the standard): a corrupted frame, a newer
    /// protocol version, or a non-conforming transmitter.
    ReservedCode { field: &'static str, code: u8 },
    /// The same UAS ID heard from another transmitter within `duplicate_window_s`. Benign
    /// for a drone with two radios (look at `distance_m`), else a clone or spoof.
    DuplicateUasId {
        uas_id: String,
        other_transmitter: MacAddress,
        distance_m: Option<f64>,
    },
}

impl Flag {
    /// True when the flag means the message's drone position must not be used.
    pub fn discredits_position(&self) -> bool {
        matches!(
            self,
            Flag::LinkCrcFailed
                | Flag::PositionOutOfRange { .. }
                | Flag::PositionUnknown
                | Flag::ImpliedSpeed { .. }
                | Flag::AltitudeOutOfRange {
                    field: "geodetic_altitude_m" | "pressure_altitude_m",
                    ..
                }
        )
    }
}

/// How a drone is known. Serialized as its display form: the UAS ID, the address, or
/// `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DroneKey {
    /// A clean UAS ID from a Basic ID message (type 1 serial, 2 CAA, 3/4 as hex).
    UasId { id_type: u8, id: String },
    /// Only the transmitter address is known so far.
    Address(MacAddress),
    /// Neither: frames without an advertiser address and no Basic ID yet.
    Anonymous,
}

impl Serialize for DroneKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::fmt::Display for DroneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DroneKey::UasId { id, .. } => f.write_str(id),
            DroneKey::Address(a) => write!(f, "{a}"),
            DroneKey::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub t_unix_ns: i64,
    pub transport: Transport,
    pub transmitter: Option<MacAddress>,
    /// `Some(false)`: the capture device saw a CRC/FCS error.
    pub link_crc_ok: Option<bool>,
}

/// A drone position as broadcast, with its accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fix {
    pub t_unix_ns: i64,
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub geodetic_altitude_m: Option<f64>,
    pub pressure_altitude_m: Option<f64>,
    pub height_m: Option<f64>,
    pub height_type: u8,
    /// 95 % bounds from the accuracy codes; `None` when unknown.
    pub horizontal_accuracy_m: Option<f64>,
    pub vertical_accuracy_m: Option<f64>,
    pub baro_accuracy_m: Option<f64>,
    pub speed_horizontal_mps: Option<f64>,
    pub direction_deg: Option<f64>,
    pub speed_vertical_mps: Option<f64>,
    pub status: u8,
    /// The fix time reconstructed from the timestamp after the hour and the receive time.
    pub fix_time_unix_ns: Option<i64>,
}

/// The operator position from the System message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatorPosition {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub altitude_m: Option<f64>,
    /// 0 take-off, 1 live GNSS, 2 fixed.
    pub location_type: u8,
}

/// One transmitter heard for a drone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transmitter {
    pub address: Option<MacAddress>,
    pub transport: Transport,
    pub last_seen_unix_ns: i64,
    /// The latest in-range, known position this transmitter sent (flagged or not).
    pub last_lat_lon_deg: Option<(f64, f64)>,
}

/// Everything known about one drone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroneState {
    pub key: DroneKey,
    /// Basic ID messages seen (at most one per ID type; F3411 allows two per UA).
    pub basic_ids: Vec<BasicId>,
    /// UA type of the latest Basic ID.
    pub ua_type: Option<u8>,
    /// The latest fix that was not flagged.
    pub position: Option<Fix>,
    /// The latest Location message, flagged or not.
    pub last_location: Option<Location>,
    pub operator: Option<OperatorPosition>,
    pub system: Option<System>,
    pub self_id: Option<SelfId>,
    pub operator_id: Option<OperatorId>,
    /// Bit n set: authentication page n seen.
    pub auth_pages_seen: u16,
    pub transmitters: Vec<Transmitter>,
    pub first_seen_unix_ns: i64,
    pub last_seen_unix_ns: i64,
    pub messages: u64,
    /// Messages that raised at least one flag.
    pub flagged_messages: u64,
    /// A fix rejected for implied speed, kept so that a real jump can re-anchor.
    #[serde(skip)]
    pending: Option<Fix>,
}

impl DroneState {
    fn new(key: DroneKey, t: i64) -> Self {
        Self {
            key,
            basic_ids: Vec::new(),
            ua_type: None,
            position: None,
            last_location: None,
            operator: None,
            system: None,
            self_id: None,
            operator_id: None,
            auth_pages_seen: 0,
            transmitters: Vec::new(),
            first_seen_unix_ns: t,
            last_seen_unix_ns: t,
            messages: 0,
            flagged_messages: 0,
            pending: None,
        }
    }

    /// The clean serial number (Basic ID type 1), if any.
    pub fn serial(&self) -> Option<&str> {
        self.basic_ids
            .iter()
            .find(|b| b.id_type == codes::ID_TYPE_SERIAL_NUMBER)
            .and_then(|b| b.uas_id.as_str())
    }

    /// The UAS ID to report: the serial, else the key's ID.
    pub fn uas_id(&self) -> Option<String> {
        if let Some(s) = self.serial() {
            return Some(s.to_string());
        }
        match &self.key {
            DroneKey::UasId { id, .. } => Some(id.clone()),
            _ => None,
        }
    }

    /// Takes over what `older` knows and this state does not (used when re-keying).
    fn absorb(&mut self, older: DroneState) {
        for b in older.basic_ids {
            if !self.basic_ids.iter().any(|x| x.id_type == b.id_type) {
                self.basic_ids.push(b);
            }
        }
        self.ua_type = self.ua_type.or(older.ua_type);
        if self
            .position
            .is_none_or(|p| older.position.is_some_and(|o| o.t_unix_ns > p.t_unix_ns))
        {
            self.position = older.position.or(self.position);
        }
        self.last_location = self.last_location.or(older.last_location);
        self.operator = self.operator.or(older.operator);
        self.system = self.system.or(older.system);
        self.self_id = self.self_id.or(older.self_id);
        self.operator_id = self.operator_id.or(older.operator_id);
        self.auth_pages_seen |= older.auth_pages_seen;
        for t in older.transmitters {
            if !self
                .transmitters
                .iter()
                .any(|x| x.address == t.address && x.transport == t.transport)
            {
                self.transmitters.push(t);
            }
        }
        self.first_seen_unix_ns = self.first_seen_unix_ns.min(older.first_seen_unix_ns);
        self.last_seen_unix_ns = self.last_seen_unix_ns.max(older.last_seen_unix_ns);
        self.messages += older.messages;
        self.flagged_messages += older.flagged_messages;
    }
}

/// The result of feeding one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Update<'r> {
    pub t_unix_ns: i64,
    pub key: DroneKey,
    pub flags: Vec<Flag>,
    /// The message that was fed.
    pub message: Message,
    /// The drone's state after the message.
    pub state: &'r DroneState,
}

impl Update<'_> {
    /// True when this update is a Location whose position may be used.
    pub fn has_plausible_fix(&self) -> bool {
        matches!(self.message, Message::Location(_))
            && !self.flags.iter().any(Flag::discredits_position)
            && self
                .state
                .position
                .is_some_and(|p| p.t_unix_ns == self.t_unix_ns)
    }
}

/// The Remote ID receiver state machine. Deterministic: same messages in, same state out.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    config: ReceiverConfig,
    drones: HashMap<DroneKey, DroneState>,
    /// Transmitter address to the key its drone is filed under.
    links: HashMap<MacAddress, DroneKey>,
}

impl Receiver {
    pub fn new(config: ReceiverConfig) -> Self {
        Self {
            config,
            drones: HashMap::new(),
            links: HashMap::new(),
        }
    }

    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    pub fn drone(&self, key: &DroneKey) -> Option<&DroneState> {
        self.drones.get(key)
    }

    /// All drones, in key order.
    pub fn drones(&self) -> Vec<&DroneState> {
        let mut v: Vec<&DroneState> = self.drones.values().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// Drops drones silent for longer than `forget_after_s` before `now_unix_ns`.
    pub fn prune(&mut self, now_unix_ns: i64) {
        let horizon = secs_to_ns(self.config.forget_after_s);
        self.drones
            .retain(|_, d| now_unix_ns.saturating_sub(d.last_seen_unix_ns) <= horizon);
        let drones = &self.drones;
        self.links.retain(|_, k| drones.contains_key(k));
    }

    /// Feeds one message.
    pub fn update(&mut self, source: Source, message: &Message) -> Update<'_> {
        let t = source.t_unix_ns;
        let mut flags = Vec::new();
        if source.link_crc_ok == Some(false) {
            flags.push(Flag::LinkCrcFailed);
        }
        reserved_codes(message, &mut flags);
        let mut key = self.key_for(source.transmitter);

        // A clean Basic ID may re-key the drone (and may collide with another transmitter).
        if let Message::BasicId(b) = message {
            if !b.uas_id.is_clean() && b.id_type <= 2 {
                flags.push(bad_text("uas_id", &b.uas_id));
            } else if source.link_crc_ok != Some(false)
                && let Some(new_key) = uas_key(b)
            {
                if key_rank(&new_key) < key_rank(&key) {
                    key = self.rekey(&key, new_key, source.transmitter, t);
                }
                if let Some(f) = self.duplicate_check(&key, source.transmitter, t) {
                    flags.push(f);
                }
            }
        }

        if self.drones.len() >= self.config.max_drones && !self.drones.contains_key(&key) {
            self.evict_oldest();
        }
        let config = self.config.clone();
        let state = self
            .drones
            .entry(key.clone())
            .or_insert_with(|| DroneState::new(key.clone(), t));
        state.messages += 1;
        state.last_seen_unix_ns = state.last_seen_unix_ns.max(t);
        note_transmitter(state, &source);
        match message {
            Message::BasicId(b) => {
                if b.uas_id.is_clean() || b.id_type > 2 {
                    if let Some(slot) = state.basic_ids.iter_mut().find(|x| x.id_type == b.id_type)
                    {
                        *slot = *b;
                    } else {
                        state.basic_ids.push(*b);
                    }
                }
                state.ua_type = Some(b.ua_type);
            }
            Message::Location(l) => {
                location(state, &config, l, t, &mut flags);
                let (lat, lon) = (l.latitude_deg, l.longitude_deg);
                if lat_lon_valid(lat, lon) && l.position_known() {
                    for x in state
                        .transmitters
                        .iter_mut()
                        .filter(|x| x.address == source.transmitter)
                    {
                        x.last_lat_lon_deg = Some((lat, lon));
                    }
                }
            }
            Message::Auth(a) => {
                state.auth_pages_seen |= 1u16.checked_shl(u32::from(a.page_number)).unwrap_or(0);
            }
            Message::SelfId(s) => {
                if !s.description.is_clean() {
                    flags.push(bad_text("description", &s.description));
                }
                state.self_id = Some(*s);
            }
            Message::System(s) => system(state, &config, s, &mut flags),
            Message::OperatorId(o) => {
                if !o.operator_id.is_clean() {
                    flags.push(bad_text("operator_id", &o.operator_id));
                }
                state.operator_id = Some(*o);
            }
        }
        if !flags.is_empty() {
            state.flagged_messages += 1;
        }
        Update {
            t_unix_ns: t,
            key,
            flags,
            message: message.clone(),
            state,
        }
    }

    fn key_for(&mut self, transmitter: Option<MacAddress>) -> DroneKey {
        match transmitter {
            Some(a) => self.links.entry(a).or_insert(DroneKey::Address(a)).clone(),
            None => DroneKey::Anonymous,
        }
    }

    /// Moves the state filed under `old` to `new` (merging with what `new` holds).
    fn rekey(
        &mut self,
        old: &DroneKey,
        new: DroneKey,
        transmitter: Option<MacAddress>,
        t: i64,
    ) -> DroneKey {
        if let Some(a) = transmitter {
            self.links.insert(a, new.clone());
        }
        // The state moves when it belongs to this transmitter alone: keyed by its address,
        // or (a CAA registration before the serial arrived) heard from nobody else.
        let movable = match old {
            DroneKey::Address(_) => true,
            DroneKey::UasId { .. } => self.drones.get(old).is_some_and(|d| {
                transmitter.is_some() && d.transmitters.iter().all(|x| x.address == transmitter)
            }),
            DroneKey::Anonymous => false,
        };
        let moved = if movable {
            self.drones.remove(old)
        } else {
            None
        };
        match moved {
            Some(mut moved) => {
                moved.key = new.clone();
                match self.drones.get_mut(&new) {
                    Some(existing) => existing.absorb(moved),
                    None => {
                        self.drones.insert(new.clone(), moved);
                    }
                }
            }
            None => {
                if !self.drones.contains_key(&new) {
                    self.drones
                        .insert(new.clone(), DroneState::new(new.clone(), t));
                }
            }
        }
        new
    }

    fn duplicate_check(
        &self,
        key: &DroneKey,
        transmitter: Option<MacAddress>,
        t: i64,
    ) -> Option<Flag> {
        let me = transmitter?;
        let DroneKey::UasId { id, .. } = key else {
            return None;
        };
        let state = self.drones.get(key)?;
        let window = secs_to_ns_u64(self.config.duplicate_window_s);
        let other = state.transmitters.iter().find(|x| {
            x.address.is_some_and(|a| a != me) && t.abs_diff(x.last_seen_unix_ns) <= window
        })?;
        let other_addr = other.address?;
        // Distance between the two transmitters' latest positions, when both are known.
        let mine = state
            .transmitters
            .iter()
            .filter(|x| x.address == Some(me))
            .find_map(|x| x.last_lat_lon_deg);
        let distance_m = match (mine, other.last_lat_lon_deg) {
            (Some((a, b)), Some((c, d))) => Some(distance_m(a, b, c, d)),
            _ => None,
        };
        Some(Flag::DuplicateUasId {
            uas_id: id.clone(),
            other_transmitter: other_addr,
            distance_m,
        })
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self
            .drones
            .values()
            .min_by(|a, b| {
                a.last_seen_unix_ns
                    .cmp(&b.last_seen_unix_ns)
                    .then(a.key.cmp(&b.key))
            })
            .map(|d| d.key.clone())
        {
            self.drones.remove(&k);
            self.links.retain(|_, v| *v != k);
        }
    }
}

/// Flags every code that F3411-22a leaves reserved.
fn reserved_codes(message: &Message, flags: &mut Vec<Flag>) {
    let mut check = |field: &'static str, code: u8, defined: bool| {
        if !defined {
            flags.push(Flag::ReservedCode { field, code });
        }
    };
    match message {
        Message::BasicId(b) => check("id_type", b.id_type, b.id_type <= 4),
        Message::Location(l) => {
            check("status", l.status, l.status <= 4);
            check(
                "horizontal_accuracy",
                l.horizontal_accuracy,
                l.horizontal_accuracy <= 12,
            );
            check(
                "vertical_accuracy",
                l.vertical_accuracy,
                l.vertical_accuracy <= 6,
            );
            check("baro_accuracy", l.baro_accuracy, l.baro_accuracy <= 6);
            check("speed_accuracy", l.speed_accuracy, l.speed_accuracy <= 4);
        }
        Message::Auth(a) => check("auth_type", a.auth_type, !(6..=9).contains(&a.auth_type)),
        Message::SelfId(s) => {
            let t = s.description_type;
            check("description_type", t, t <= 2 || t >= 201);
        }
        Message::System(s) => {
            check(
                "operator_location_type",
                s.operator_location_type,
                s.operator_location_type <= 2,
            );
            check(
                "classification_type",
                s.classification_type,
                s.classification_type <= 1,
            );
            check("ua_category_eu", s.ua_category_eu, s.ua_category_eu <= 3);
            check("ua_class_eu", s.ua_class_eu, s.ua_class_eu <= 7);
        }
        Message::OperatorId(o) => {
            let t = o.operator_id_type;
            check("operator_id_type", t, t == 0 || t >= 201);
        }
    }
}

/// Seconds to nanoseconds, saturating (`as` saturates; NaN gives 0).
fn secs_to_ns(s: f64) -> i64 {
    (s * 1e9) as i64
}

fn secs_to_ns_u64(s: f64) -> u64 {
    (s * 1e9) as u64
}

/// Lower is better.
fn key_rank(k: &DroneKey) -> u8 {
    match k {
        DroneKey::UasId { id_type, .. } => match *id_type {
            codes::ID_TYPE_SERIAL_NUMBER => 0,
            codes::ID_TYPE_CAA_REGISTRATION => 1,
            _ => 2,
        },
        DroneKey::Address(_) => 3,
        DroneKey::Anonymous => 4,
    }
}

/// The key a Basic ID gives: text for types 1-2, hex for the binary types 3-4.
fn uas_key(b: &BasicId) -> Option<DroneKey> {
    match b.id_type {
        1 | 2 => {
            let id = b.uas_id.as_str()?;
            (!id.is_empty()).then(|| DroneKey::UasId {
                id_type: b.id_type,
                id: id.to_string(),
            })
        }
        3 | 4 => {
            let raw = b.uas_id.trimmed();
            (!raw.is_empty()).then(|| DroneKey::UasId {
                id_type: b.id_type,
                id: raw.iter().map(|x| format!("{x:02x}")).collect(),
            })
        }
        _ => None,
    }
}

fn bad_text<const N: usize>(field: &'static str, t: &OdidText<N>) -> Flag {
    Flag::BadText {
        field,
        text: t.trimmed().iter().map(|&b| char::from(b)).collect(),
    }
}

fn note_transmitter(state: &mut DroneState, source: &Source) {
    match state
        .transmitters
        .iter_mut()
        .find(|x| x.address == source.transmitter && x.transport == source.transport)
    {
        Some(x) => x.last_seen_unix_ns = x.last_seen_unix_ns.max(source.t_unix_ns),
        None => state.transmitters.push(Transmitter {
            address: source.transmitter,
            transport: source.transport,
            last_seen_unix_ns: source.t_unix_ns,
            last_lat_lon_deg: None,
        }),
    }
}

fn lat_lon_valid(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// Geodesic distance on WGS84.
fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    dronewatch_geo::geodesic_inverse(&Lla::new(lat1, lon1, 0.0), &Lla::new(lat2, lon2, 0.0))
        .distance_m
}

/// The fix time: the instant at "timestamp after the hour" nearest the receive time
/// (within half an hour of it). Saturates at the ends of the `i64` range.
fn fix_time(t_rx_ns: i64, ts_after_hour_s: f64) -> i64 {
    const HOUR_NS: i128 = 3_600_000_000_000;
    let t = i128::from(t_rx_ns);
    let candidate = t.div_euclid(HOUR_NS) * HOUR_NS + (ts_after_hour_s * 1e9).round() as i128;
    let diff = candidate - t;
    let fixed = if diff > HOUR_NS / 2 {
        candidate - HOUR_NS
    } else if diff < -HOUR_NS / 2 {
        candidate + HOUR_NS
    } else {
        candidate
    };
    i64::try_from(fixed).unwrap_or(if fixed < 0 { i64::MIN } else { i64::MAX })
}

fn check_alt(config: &ReceiverConfig, field: &'static str, v: Option<f64>, flags: &mut Vec<Flag>) {
    if let Some(a) = v
        && (a < config.min_altitude_m || a > config.max_altitude_m)
    {
        flags.push(Flag::AltitudeOutOfRange {
            field,
            altitude_m: a,
        });
    }
}

fn location(
    state: &mut DroneState,
    config: &ReceiverConfig,
    l: &Location,
    t: i64,
    flags: &mut Vec<Flag>,
) {
    state.last_location = Some(*l);
    let speed_h = l.speed_horizontal_mps.map(f64::from);
    let speed_v = l.speed_vertical_mps.map(f64::from);
    let direction = l.direction_deg.map(f64::from);
    let timestamp = l.timestamp_s_after_hour.map(f64::from);
    let geodetic = l.geodetic_altitude_m.map(f64::from);
    let pressure = l.pressure_altitude_m.map(f64::from);
    if let Some(s) = speed_h.filter(|&s| s > config.max_speed_mps) {
        flags.push(Flag::ReportedSpeed { speed_mps: s });
    }
    if let Some(s) = speed_v.filter(|s| s.abs() > config.max_vertical_speed_mps) {
        flags.push(Flag::ReportedVerticalSpeed { speed_mps: s });
    }
    if let Some(d) = direction.filter(|&d| d > 360.0) {
        flags.push(Flag::DirectionOutOfRange { direction_deg: d });
    }
    if let Some(ts) = timestamp.filter(|&ts| ts > MAX_TIMESTAMP_S) {
        flags.push(Flag::TimestampOutOfRange { timestamp_s: ts });
    }
    check_alt(config, "geodetic_altitude_m", geodetic, flags);
    check_alt(config, "pressure_altitude_m", pressure, flags);
    let (lat, lon) = (l.latitude_deg, l.longitude_deg);
    if !lat_lon_valid(lat, lon) {
        flags.push(Flag::PositionOutOfRange {
            lat_deg: lat,
            lon_deg: lon,
        });
    } else if !l.position_known() {
        flags.push(Flag::PositionUnknown);
    }
    let fix = Fix {
        t_unix_ns: t,
        lat_deg: lat,
        lon_deg: lon,
        geodetic_altitude_m: geodetic,
        pressure_altitude_m: pressure,
        height_m: l.height_m.map(f64::from),
        height_type: l.height_type,
        horizontal_accuracy_m: codes::horizontal_accuracy_m(l.horizontal_accuracy),
        vertical_accuracy_m: codes::vertical_accuracy_m(l.vertical_accuracy),
        baro_accuracy_m: codes::vertical_accuracy_m(l.baro_accuracy),
        speed_horizontal_mps: speed_h,
        direction_deg: direction,
        speed_vertical_mps: speed_v,
        status: l.status,
        fix_time_unix_ns: timestamp
            .filter(|&ts| ts <= MAX_TIMESTAMP_S)
            .map(|ts| fix_time(t, ts)),
    };
    if flags.iter().any(Flag::discredits_position) {
        return;
    }
    // Consistency with the reference fix; a rejected fix can re-anchor when the next
    // one agrees with it (a real jump, or a reference that was itself wrong).
    if let Some(prev) = state.position
        && let Some(f) = implied_speed(config, &prev, &fix)
    {
        match state.pending {
            Some(p) if implied_speed(config, &p, &fix).is_none() => {}
            _ => {
                flags.push(f);
                state.pending = Some(fix);
                return;
            }
        }
    }
    state.pending = None;
    state.position = Some(fix);
    if let Some(op) = state.operator {
        operator_distance(config, &fix, &op, flags);
    }
}

fn implied_speed(config: &ReceiverConfig, a: &Fix, b: &Fix) -> Option<Flag> {
    let d = distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg);
    let dt_s = b.t_unix_ns.abs_diff(a.t_unix_ns) as f64 / 1e9;
    if d > config.max_speed_mps * dt_s + config.position_jitter_m {
        Some(Flag::ImpliedSpeed {
            speed_mps: d / dt_s.max(1e-3),
            distance_m: d,
            dt_s,
        })
    } else {
        None
    }
}

fn operator_distance(
    config: &ReceiverConfig,
    fix: &Fix,
    op: &OperatorPosition,
    flags: &mut Vec<Flag>,
) {
    let d = distance_m(fix.lat_deg, fix.lon_deg, op.lat_deg, op.lon_deg);
    if d > config.max_operator_distance_m {
        flags.push(Flag::OperatorTooFar { distance_m: d });
    }
}

fn system(state: &mut DroneState, config: &ReceiverConfig, s: &System, flags: &mut Vec<Flag>) {
    state.system = Some(*s);
    let (lat, lon) = (s.operator_latitude_deg, s.operator_longitude_deg);
    check_alt(
        config,
        "operator_altitude_m",
        s.operator_altitude_m.map(f64::from),
        flags,
    );
    if !lat_lon_valid(lat, lon) {
        flags.push(Flag::OperatorPositionOutOfRange {
            lat_deg: lat,
            lon_deg: lon,
        });
        return;
    }
    if !s.operator_position_known() {
        return; // F3411 "unknown": nothing to check or keep.
    }
    let op = OperatorPosition {
        lat_deg: lat,
        lon_deg: lon,
        altitude_m: s.operator_altitude_m.map(f64::from),
        location_type: s.operator_location_type,
    };
    state.operator = Some(op);
    if let Some(fix) = state.position {
        operator_distance(config, &fix, &op, flags);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const T0: i64 = 1_700_000_000_000_000_000;
    const A: MacAddress = MacAddress([2, 0, 0, 0, 0, 1]);
    const B: MacAddress = MacAddress([2, 0, 0, 0, 0, 2]);

    fn src(t_s: f64, tx: MacAddress) -> Source {
        Source {
            t_unix_ns: T0 + (t_s * 1e9) as i64,
            transport: Transport::WifiBeacon,
            transmitter: Some(tx),
            link_crc_ok: None,
        }
    }

    fn loc(lat: f64, lon: f64) -> Message {
        Message::Location(Location {
            protocol_version: 2,
            status: 2,
            height_type: 0,
            direction_deg: Some(90.0),
            speed_horizontal_mps: Some(10.0),
            speed_vertical_mps: Some(0.0),
            latitude_deg: lat,
            longitude_deg: lon,
            pressure_altitude_m: Some(120.0),
            geodetic_altitude_m: Some(150.0),
            height_m: Some(50.0),
            horizontal_accuracy: 10,
            vertical_accuracy: 4,
            baro_accuracy: 4,
            speed_accuracy: 2,
            timestamp_s_after_hour: Some(100.0),
            timestamp_accuracy: 2,
        })
    }

    fn basic(serial: &str) -> Message {
        Message::BasicId(BasicId {
            protocol_version: 2,
            id_type: 1,
            ua_type: 2,
            uas_id: OdidText::new(serial).unwrap(),
        })
    }

    #[test]
    fn address_state_moves_to_serial() {
        let mut r = Receiver::default();
        let u = r.update(src(0.0, A), &loc(45.0, -122.0));
        assert_eq!(u.key, DroneKey::Address(A));
        assert!(u.flags.is_empty(), "{:?}", u.flags);
        assert!(u.has_plausible_fix());
        let u = r.update(src(0.5, A), &basic("1581F5FJC23B001"));
        let key = u.key.clone();
        assert_eq!(u.state.serial(), Some("1581F5FJC23B001"));
        assert!(u.state.position.is_some(), "position kept across re-keying");
        assert_eq!(u.state.messages, 2);
        assert!(r.drone(&DroneKey::Address(A)).is_none());
        let u = r.update(src(1.0, A), &loc(45.00001, -122.0));
        assert_eq!(u.key, key);
    }

    #[test]
    fn implied_speed_is_flagged_with_numbers_and_does_not_move_the_reference() {
        let mut r = Receiver::default();
        r.update(src(0.0, A), &loc(45.0, -122.0));
        // 0.1° of latitude (about 11.1 km) in one second.
        let u = r.update(src(1.0, A), &loc(45.1, -122.0));
        let Some(Flag::ImpliedSpeed {
            speed_mps,
            distance_m,
            dt_s,
        }) = u.flags.first().cloned()
        else {
            panic!("{:?}", u.flags)
        };
        assert!((distance_m - 11_131.0).abs() < 20.0, "{distance_m}");
        assert!((dt_s - 1.0).abs() < 1e-9);
        assert!((speed_mps - distance_m).abs() < 1e-6);
        assert!(!u.has_plausible_fix());
        assert_eq!(u.state.position.map(|p| p.lat_deg), Some(45.0));
        // Back near the reference: fine.
        let u = r.update(src(2.0, A), &loc(45.00002, -122.0));
        assert!(u.flags.is_empty(), "{:?}", u.flags);
    }

    #[test]
    fn registration_then_serial_keeps_one_state() {
        let mut r = Receiver::default();
        r.update(src(0.0, A), &loc(45.0, -122.0));
        let caa = Message::BasicId(BasicId {
            protocol_version: 2,
            id_type: 2,
            ua_type: 2,
            uas_id: OdidText::new("FIN-REG-1").unwrap(),
        });
        let u = r.update(src(0.1, A), &caa);
        assert!(matches!(&u.key, DroneKey::UasId { id_type: 2, .. }));
        let u = r.update(src(0.2, A), &basic("SERIAL-A"));
        assert_eq!(u.key.to_string(), "SERIAL-A");
        assert_eq!(u.state.basic_ids.len(), 2);
        assert_eq!(u.state.messages, 3);
        assert!(u.state.position.is_some());
        assert_eq!(r.drones().len(), 1);
        // A second transmitter with only the registration does not take the state away.
        let u = r.update(src(0.3, B), &caa);
        assert_eq!(u.key.to_string(), "FIN-REG-1");
        assert_eq!(
            r.drone(&DroneKey::UasId {
                id_type: 1,
                id: "SERIAL-A".into()
            })
            .map(|d| d.messages),
            Some(3)
        );
    }

    #[test]
    fn a_real_jump_re_anchors_after_two_agreeing_fixes() {
        let mut r = Receiver::default();
        r.update(src(0.0, A), &loc(45.0, -122.0));
        let u = r.update(src(1.0, A), &loc(46.0, -122.0));
        assert_eq!(u.flags.len(), 1);
        let u = r.update(src(2.0, A), &loc(46.00001, -122.0));
        assert!(u.flags.is_empty(), "{:?}", u.flags);
        assert_eq!(u.state.position.map(|p| p.lat_deg), Some(46.00001));
    }

    #[test]
    fn out_of_range_and_null_island() {
        let mut r = Receiver::default();
        let u = r.update(src(0.0, A), &loc(20.0, -214.6));
        assert!(
            matches!(u.flags[..], [Flag::PositionOutOfRange { lon_deg, .. }] if lon_deg == -214.6)
        );
        let u = r.update(src(0.0, A), &loc(0.0, 0.0));
        assert_eq!(u.flags, vec![Flag::PositionUnknown]);
        assert!(u.state.position.is_none());
    }

    #[test]
    fn reported_speed_and_altitude_flags() {
        let mut r = Receiver::default();
        let Message::Location(mut l) = loc(45.0, -122.0) else {
            panic!()
        };
        l.speed_horizontal_mps = Some(200.0);
        l.geodetic_altitude_m = Some(20_000.0);
        let u = r.update(src(0.0, A), &Message::Location(l));
        assert!(u.flags.contains(&Flag::ReportedSpeed { speed_mps: 200.0 }));
        assert!(u.flags.contains(&Flag::AltitudeOutOfRange {
            field: "geodetic_altitude_m",
            altitude_m: 20_000.0
        }));
        assert!(!u.has_plausible_fix());
    }

    #[test]
    fn operator_far_away() {
        let mut r = Receiver::default();
        r.update(src(0.0, A), &loc(45.0, -122.0));
        let sys = Message::System(System {
            protocol_version: 2,
            operator_location_type: 1,
            classification_type: 0,
            operator_latitude_deg: 45.5,
            operator_longitude_deg: -122.0,
            area_count: 1,
            area_radius_m: 0,
            area_ceiling_m: None,
            area_floor_m: None,
            ua_category_eu: 0,
            ua_class_eu: 0,
            operator_altitude_m: Some(100.0),
            timestamp_s_since_2019: None,
        });
        let u = r.update(src(0.5, A), &sys);
        let [Flag::OperatorTooFar { distance_m }] = u.flags[..] else {
            panic!("{:?}", u.flags)
        };
        assert!((distance_m - 55_500.0).abs() < 200.0, "{distance_m}");
        assert!(u.state.operator.is_some());
    }

    #[test]
    fn duplicate_serial_from_two_transmitters() {
        let mut r = Receiver::default();
        r.update(src(0.0, A), &basic("SERIAL1"));
        let u = r.update(src(1.0, B), &basic("SERIAL1"));
        assert!(
            matches!(&u.flags[..], [Flag::DuplicateUasId { other_transmitter, .. }] if *other_transmitter == A),
            "{:?}",
            u.flags
        );
        // The same transmitter again is not a duplicate.
        let u = r.update(src(1.5, A), &basic("SERIAL1"));
        assert!(
            matches!(&u.flags[..], [Flag::DuplicateUasId { other_transmitter, .. }] if *other_transmitter == B)
        );
        // Long after B went silent, A alone is fine.
        let u = r.update(src(60.0, A), &basic("SERIAL1"));
        assert!(u.flags.is_empty(), "{:?}", u.flags);
    }

    #[test]
    fn bad_strings_and_crc() {
        let mut r = Receiver::default();
        let b = Message::BasicId(BasicId {
            protocol_version: 2,
            id_type: 1,
            ua_type: 2,
            uas_id: OdidText::from_raw(*b"FIN87astrdge1rp\xa7z\xc9Qo"),
        });
        let u = r.update(src(0.0, A), &b);
        assert!(matches!(
            &u.flags[..],
            [Flag::BadText {
                field: "uas_id",
                ..
            }]
        ));
        let reserved = Message::BasicId(BasicId {
            protocol_version: 2,
            id_type: 5,
            ua_type: 2,
            uas_id: OdidText::new("SSEVPFo93700070").unwrap(),
        });
        let u = r.update(src(0.0, A), &reserved);
        assert_eq!(
            u.flags,
            vec![Flag::ReservedCode {
                field: "id_type",
                code: 5
            }]
        );
        assert_eq!(u.key, DroneKey::Address(A), "garbage never becomes a key");
        let mut s = src(1.0, A);
        s.link_crc_ok = Some(false);
        let u = r.update(s, &loc(45.0, -122.0));
        assert_eq!(u.flags, vec![Flag::LinkCrcFailed]);
        assert!(u.state.position.is_none());
    }

    #[test]
    fn fix_time_picks_the_nearest_hour() {
        const H: i64 = 3_600_000_000_000;
        let rx = 10 * H + 59 * 60_000_000_000; // 10:59
        assert_eq!(fix_time(rx, 3590.0), 10 * H + 3_590_000_000_000);
        assert_eq!(fix_time(rx, 10.0), 11 * H + 10_000_000_000);
        let rx = 11 * H + 60_000_000_000; // 11:01
        assert_eq!(fix_time(rx, 3590.0), 10 * H + 3_590_000_000_000);
    }

    #[test]
    fn extreme_times_saturate() {
        assert_eq!(fix_time(i64::MAX, 3599.9), i64::MAX);
        assert_eq!(fix_time(i64::MIN, 0.0), i64::MIN);
        let mut r = Receiver::default();
        for t in [i64::MAX, i64::MIN, 0, i64::MAX] {
            let s = Source {
                t_unix_ns: t,
                ..src(0.0, A)
            };
            r.update(s, &loc(45.0, -122.0));
            r.update(s, &basic("S1"));
            r.update(
                Source {
                    transmitter: Some(B),
                    ..s
                },
                &basic("S1"),
            );
        }
        r.prune(i64::MIN);
        r.prune(i64::MAX);
    }

    #[test]
    fn prune_and_capacity() {
        let mut r = Receiver::new(ReceiverConfig {
            max_drones: 1,
            ..ReceiverConfig::default()
        });
        r.update(src(0.0, A), &loc(45.0, -122.0));
        r.update(src(1.0, B), &loc(45.0, -122.0));
        assert_eq!(r.drones().len(), 1);
        r.prune(T0 + 3_600_000_000_000);
        assert!(r.drones().is_empty());
    }
}
