//! Per-aircraft state: CPR position resolution, identity, altitude, velocity, and the
//! [`Observation`]s that come out of it.
//!
//! Mode S decoding and the CPR arithmetic are rs1090's (`Message`, `cpr::airborne_position`,
//! `cpr::*_with_reference`); this module decides which messages to pair and which reference
//! to trust, as dump1090 does:
//!
//! * airborne (TC 9..18, 20..22): global decode from the latest even and odd messages when
//!   they are at most [`TableConfig::cpr_pair_max_s`] apart (10 s: The 1090 MHz Riddle,
//!   "Globally unambiguous position"); otherwise local decode against the aircraft's own
//!   last position if it is at most [`TableConfig::local_ref_max_age_s`] old.
//! * surface (TC 5..8): local decode against the aircraft's last position, else against the
//!   receiver position ([`TableConfig::receiver`]). Surface CPR cells are 90° wide, so without
//!   one of these no surface position is produced (dump1090 behaves the same).
//! * a new position that would need more than [`TableConfig::max_speed_mps`] from the last
//!   one is held back; a second position consistent with the held one replaces the old
//!   track (the old one was the bad one). With a receiver position, anything beyond
//!   [`TableConfig::max_range_m`] is refused. An aircraft's very first position has nothing
//!   to be checked against (the receiver range aside).
//!
//! Only DF17, DF18 with a zero parity residual and DF11 acquisition squitters (zero
//! residual) create aircraft. DF0/4/5/16/20/21 carry the address only inside their parity,
//! so they update aircraft already known and are otherwise ignored (any corrupted frame
//! would otherwise invent an aircraft); their altitude yields to the extended squitter's for
//! 15 s, as in dump1090.
//!
//! Height: see [`height_for`]. Position sigma: see [`crate::accuracy`].

use std::collections::BTreeMap;

use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use rs1090::decode::DF;
use rs1090::decode::adsb::ME;
use rs1090::decode::bds::bds05::{AirbornePosition, Source};
use rs1090::decode::bds::bds06::SurfacePosition;
use rs1090::decode::bds::bds09::AirborneVelocitySubType;
use rs1090::decode::bds::bds65::{
    ADSBVersionAirborne, ADSBVersionSurface, AircraftOperationStatus,
};
use rs1090::decode::cpr::{
    CPRFormat, airborne_position, airborne_position_with_reference, surface_position_with_reference,
};
use rs1090::decode::crc::modes_checksum;
use rs1090::decode::{
    AC13Field, Capability, ControlFieldType, FlightStatus, IdentityCode, Message,
};
use rs1090::prelude::DekuContainerRead;

use crate::accuracy::{self, K95_1D};
use crate::category::{self, EmitterCategory};
use crate::frame::RawFrame;
use crate::json::{AltBaro, JsonAircraft};
use crate::sbs::SbsMessage;

const FT_TO_M: f64 = 0.3048;

/// How the table resolves positions; defaults follow dump1090.
#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    pub sensor_id: SensorId,
    /// The receiver's antenna: reference for surface positions, and each observation's
    /// `sensor_position`.
    pub receiver: Option<Lla>,
    /// Largest gap between the even and odd messages of a global CPR decode.
    pub cpr_pair_max_s: f64,
    /// Oldest own position still used as a local-decode reference (airborne).
    pub local_ref_max_age_s: f64,
    /// Oldest own position still used as a surface local-decode reference.
    pub surface_ref_max_age_s: f64,
    /// Fastest plausible ground speed between two positions (above any civil aircraft).
    pub max_speed_mps: f64,
    /// With a [`receiver`](Self::receiver), positions farther than this are refused as bad
    /// decodes (1090 MHz line of sight at FL450 is about 450 km).
    pub max_range_m: f64,
    /// An aircraft not heard for this long is forgotten by [`AircraftTable::expire`].
    pub forget_after_s: f64,
}

impl TableConfig {
    pub fn new(sensor_id: SensorId) -> Self {
        Self {
            sensor_id,
            receiver: None,
            cpr_pair_max_s: 10.0,
            local_ref_max_age_s: 60.0,
            surface_ref_max_age_s: 600.0,
            max_speed_mps: 350.0,
            max_range_m: 600_000.0,
            forget_after_s: 300.0,
        }
    }
}

/// How a position was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionSource {
    /// Even/odd CPR pair.
    CprGlobal,
    /// One CPR message against the aircraft's own last position.
    CprLocalAircraft,
    /// One CPR message against the receiver position.
    CprLocalReceiver,
    /// Already decoded by another decoder (SBS, aircraft.json).
    Reported,
}

/// A resolved position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionFix {
    pub lat_deg: f64,
    pub lon_deg: f64,
    pub t: TimeNs,
    pub surface: bool,
    pub source: PositionSource,
}

/// What the table knows about one aircraft. Units as broadcast (feet, knots, ft/min).
#[derive(Debug, Clone, PartialEq)]
pub struct AircraftState {
    pub icao_address: u32,
    /// Anonymous / non-ICAO address (DF18 CF 1, `~` in SBS and aircraft.json).
    pub non_icao: bool,
    pub callsign: Option<String>,
    pub category: Option<EmitterCategory>,
    /// Four octal digits, e.g. `"7700"`.
    pub squawk: Option<String>,
    pub alt_baro_ft: Option<i32>,
    /// When an extended squitter (DF17/18) last gave the barometric altitude.
    pub alt_baro_es_t: Option<TimeNs>,
    /// GNSS height from TC 20..22 or aircraft.json `alt_geom`.
    pub alt_geom_ft: Option<i32>,
    /// GNSS minus barometric altitude (velocity message), with when it was heard.
    pub geo_minus_baro_ft: Option<(i32, TimeNs)>,
    pub on_ground: Option<bool>,
    pub ground_speed_kt: Option<f64>,
    pub track_deg: Option<f64>,
    pub vertical_rate_fpm: Option<i32>,
    pub position: Option<PositionFix>,
    pub version: Option<u8>,
    pub nac_p: Option<u8>,
    pub nuc_p: Option<u8>,
    pub gva: Option<u8>,
    /// Type code of the last position message (NIC/NUCp).
    pub position_type_code: Option<u8>,
    pub messages: u64,
    pub last_seen: TimeNs,
    even_air: Option<(AirbornePosition, TimeNs)>,
    odd_air: Option<(AirbornePosition, TimeNs)>,
    /// A position held back as implausible; a later one consistent with it wins.
    held: Option<PositionFix>,
}

impl AircraftState {
    fn new(icao_address: u32, non_icao: bool, t: TimeNs) -> Self {
        Self {
            icao_address,
            non_icao,
            callsign: None,
            category: None,
            squawk: None,
            alt_baro_ft: None,
            alt_baro_es_t: None,
            alt_geom_ft: None,
            geo_minus_baro_ft: None,
            on_ground: None,
            ground_speed_kt: None,
            track_deg: None,
            vertical_rate_fpm: None,
            position: None,
            version: None,
            nac_p: None,
            nuc_p: None,
            gva: None,
            position_type_code: None,
            messages: 0,
            last_seen: t,
            even_air: None,
            odd_air: None,
            held: None,
        }
    }
}

/// Why a frame did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("mode s: Mode A/C reply, nothing to decode")]
    ModeAc,
    #[error("mode s: DF{df}: {reason}")]
    Decode { df: u8, reason: String },
    #[error("mode s: DF{df} parity residual {residual:06x} (corrupted frame)")]
    Parity { df: u8, residual: u32 },
}

/// Counters, for logs and health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    pub frames: u64,
    pub decode_errors: u64,
    /// Address/parity replies for an address not (yet) known.
    pub unknown_address: u64,
    pub positions: u64,
    pub implausible_positions: u64,
    pub observations: u64,
}

/// Every aircraft heard, keyed by 24-bit address (ordered, so iteration is deterministic).
#[derive(Debug, Clone)]
pub struct AircraftTable {
    config: TableConfig,
    aircraft: BTreeMap<u32, AircraftState>,
    next_id: u64,
    stats: TableStats,
}

impl AircraftTable {
    pub fn new(config: TableConfig) -> Self {
        Self {
            config,
            aircraft: BTreeMap::new(),
            next_id: 0,
            stats: TableStats::default(),
        }
    }

    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    pub fn stats(&self) -> TableStats {
        self.stats
    }

    pub fn get(&self, icao_address: u32) -> Option<&AircraftState> {
        self.aircraft.get(&icao_address)
    }

    pub fn iter(&self) -> impl Iterator<Item = &AircraftState> {
        self.aircraft.values()
    }

    pub fn len(&self) -> usize {
        self.aircraft.len()
    }

    pub fn is_empty(&self) -> bool {
        self.aircraft.is_empty()
    }

    /// Forgets aircraft not heard for [`TableConfig::forget_after_s`]; returns how many.
    pub fn expire(&mut self, now: TimeNs) -> usize {
        let now = clamp_time(now);
        let before = self.aircraft.len();
        let keep_s = self.config.forget_after_s;
        self.aircraft
            .retain(|_, a| now.secs_since(a.last_seen) <= keep_s);
        before - self.aircraft.len()
    }

    /// Decodes one received frame (Beast or AVR) heard at `t`; an observation when it
    /// yields a new position.
    pub fn ingest_frame(
        &mut self,
        t: TimeNs,
        frame: &RawFrame,
    ) -> Result<Option<Observation>, FrameError> {
        self.ingest_bytes(t, frame.payload())
    }

    /// Decodes one Mode S reply (7 or 14 bytes) heard at `t`.
    pub fn ingest_bytes(
        &mut self,
        t: TimeNs,
        payload: &[u8],
    ) -> Result<Option<Observation>, FrameError> {
        let t = clamp_time(t);
        self.stats.frames += 1;
        let df = payload.first().map_or(0, |b| b >> 3);
        if payload.len() == 2 {
            return Err(FrameError::ModeAc);
        }
        if matches!(df, 0 | 4 | 5 | 16 | 20 | 21) {
            return self.ingest_surveillance(t, df, payload).map(|()| None);
        }
        let msg = match Message::from_bytes((payload, 0)) {
            Ok((_, msg)) => msg,
            Err(e) => {
                self.stats.decode_errors += 1;
                return Err(FrameError::Decode {
                    df,
                    reason: e.to_string(),
                });
            }
        };
        // rs1090 refuses DF17 with a residual itself; DF18 has the same CRC-24 over the
        // whole frame (Annex 10 Vol IV §3.1.2.3.3), so a residual means corruption.
        if df == 18 && msg.crc != 0 {
            self.stats.decode_errors += 1;
            return Err(FrameError::Parity {
                df,
                residual: msg.crc,
            });
        }
        Ok(self.ingest_message(t, &msg))
    }

    /// Address/parity replies (DF0/4/5/16/20/21). Only the flight status, altitude or
    /// identity code and the address are of use here, so they are read with rs1090's field
    /// decoders rather than a full `Message` decode: DF20/21 would otherwise run rs1090's
    /// Comm-B register inference (all BDS candidates), which costs 5-20x a DF17 and tells
    /// deconfliction nothing.
    fn ingest_surveillance(&mut self, t: TimeNs, df: u8, payload: &[u8]) -> Result<(), FrameError> {
        let bits = match (df, payload.len()) {
            (0 | 4 | 5, 7) => 56,
            (16 | 20 | 21, 14) => 112,
            _ => {
                self.stats.decode_errors += 1;
                return Err(FrameError::Decode {
                    df,
                    reason: format!(
                        "{} bytes is the wrong length for this format",
                        payload.len()
                    ),
                });
            }
        };
        let decode_err = |e: rs1090::prelude::DekuError| FrameError::Decode {
            df,
            reason: e.to_string(),
        };
        // Address/parity: the CRC residual of the whole reply is the address (§3.1.2.3.3.2).
        let address = modes_checksum(payload, bits).map_err(decode_err)?;
        // FS in bits 6-8 (DF4/5/20/21); AC13 or ID13 in bits 20-32 (§3.1.2.6.5).
        let field = payload.get(2..).unwrap_or(&[]);
        let status = if matches!(df, 4 | 5 | 20 | 21) {
            Some(
                FlightStatus::from_bytes((payload, 5))
                    .map_err(decode_err)?
                    .1,
            )
        } else {
            None
        };
        let altitude = if matches!(df, 0 | 4 | 16 | 20) {
            AC13Field::from_bytes((field, 3)).map_err(decode_err)?.1.0
        } else {
            None
        };
        let squawk = if matches!(df, 5 | 21) {
            Some(IdentityCode::from_bytes((field, 3)).map_err(decode_err)?.1)
        } else {
            None
        };
        let Some(a) = self.known(address, t) else {
            return Ok(());
        };
        if let Some(fs) = status {
            apply_flight_status(a, fs);
        }
        if altitude.is_some() && !es_altitude_is_fresh(a, t) {
            a.alt_baro_ft = altitude;
        }
        if let Some(id) = squawk {
            a.squawk = Some(format!("{:04x}", id.0));
        }
        Ok(())
    }

    /// Applies an already decoded rs1090 message.
    pub fn ingest_message(&mut self, t: TimeNs, msg: &Message) -> Option<Observation> {
        let t = clamp_time(t);
        match &msg.df {
            DF::ExtendedSquitterADSB(adsb) => {
                let ground = match adsb.capability {
                    Capability::AG_GROUND => Some(true),
                    Capability::AG_AIRBORNE => Some(false),
                    _ => None,
                };
                self.ingest_me(t, adsb.icao24.0, false, ground, &adsb.message)
            }
            DF::ExtendedSquitterTisB { cf, .. } => {
                let non_icao = match cf.field_type {
                    ControlFieldType::ADSB_ES_NT | ControlFieldType::TISB_ADSB => false,
                    ControlFieldType::ADSB_ES_NT_ALT
                    | ControlFieldType::TISB_FINE
                    | ControlFieldType::TISB_ADSB_RELAY => true,
                    // Coarse TIS-B and management messages use other layouts.
                    _ => return None,
                };
                self.ingest_me(t, cf.aa.0, non_icao, None, &cf.me)
            }
            DF::SurveillanceAltitudeReply { fs, ac, ap, .. }
            | DF::CommBAltitudeReply { fs, ac, ap, .. } => {
                let a = self.known(ap.0, t)?;
                apply_flight_status(a, *fs);
                if ac.0.is_some() && !es_altitude_is_fresh(a, t) {
                    a.alt_baro_ft = ac.0;
                }
                None
            }
            DF::SurveillanceIdentityReply { fs, id, ap, .. }
            | DF::CommBIdentityReply { fs, id, ap, .. } => {
                let a = self.known(ap.0, t)?;
                apply_flight_status(a, *fs);
                a.squawk = Some(format!("{:04x}", id.0));
                None
            }
            DF::AllCallReply {
                capability, icao, ..
            } => {
                // The parity holds the interrogator code; zero means a squitter (II = 0),
                // which is as trustworthy as DF17 for the address.
                if msg.crc != 0 {
                    return None;
                }
                let a = self.entry(icao.0, false, t);
                match capability {
                    Capability::AG_GROUND => a.on_ground = Some(true),
                    Capability::AG_AIRBORNE => a.on_ground = Some(false),
                    _ => {}
                }
                None
            }
            DF::ShortAirAirSurveillance { ac, ap, .. }
            | DF::LongAirAirSurveillance { ac, ap, .. } => {
                let a = self.known(ap.0, t)?;
                if ac.0.is_some() && !es_altitude_is_fresh(a, t) {
                    a.alt_baro_ft = ac.0;
                }
                None
            }
            _ => None,
        }
    }

    /// An aircraft already in the table, counted as heard.
    fn known(&mut self, icao: u32, t: TimeNs) -> Option<&mut AircraftState> {
        match self.aircraft.get_mut(&icao) {
            Some(a) => {
                a.messages += 1;
                a.last_seen = a.last_seen.max(t);
                Some(a)
            }
            None => {
                self.stats.unknown_address += 1;
                None
            }
        }
    }

    fn entry(&mut self, icao: u32, non_icao: bool, t: TimeNs) -> &mut AircraftState {
        let a = self
            .aircraft
            .entry(icao)
            .or_insert_with(|| AircraftState::new(icao, non_icao, t));
        a.messages += 1;
        a.last_seen = a.last_seen.max(t);
        a
    }

    fn ingest_me(
        &mut self,
        t: TimeNs,
        icao: u32,
        non_icao: bool,
        ground: Option<bool>,
        me: &ME,
    ) -> Option<Observation> {
        let cfg = self.config.clone();
        let a = self.entry(icao, non_icao, t);
        if ground.is_some() {
            a.on_ground = ground;
        }
        let fix = match me {
            ME::BDS08 { inner, .. } => {
                let callsign = inner.callsign.trim_end_matches([' ', '#', '_']).trim();
                if !callsign.is_empty() {
                    a.callsign = Some(callsign.to_owned());
                }
                a.category = EmitterCategory::from_type_code(inner.tc as u8, inner.ca);
                None
            }
            ME::BDS05 { tc, inner } => {
                a.on_ground = Some(false);
                a.position_type_code = Some(*tc);
                match inner.source {
                    Source::Barometric => {
                        a.alt_baro_ft = inner.alt;
                        a.alt_baro_es_t = Some(t);
                    }
                    Source::Gnss => a.alt_geom_ft = inner.alt,
                }
                airborne_fix(a, inner, t, &cfg)
            }
            ME::BDS06 { tc, inner } => {
                a.on_ground = Some(true);
                a.position_type_code = Some(*tc);
                if inner.groundspeed.is_some() {
                    a.ground_speed_kt = inner.groundspeed;
                }
                if inner.track.is_some() {
                    a.track_deg = inner.track;
                }
                surface_fix(a, inner, t, &cfg)
            }
            ME::BDS09(v) => {
                if let AirborneVelocitySubType::GroundSpeedDecoding(gs) = &v.velocity {
                    a.ground_speed_kt = Some(gs.groundspeed);
                    a.track_deg = Some(gs.track);
                }
                a.vertical_rate_fpm = v.vertical_rate.map(i32::from);
                if let Some(d) = v.geo_minus_baro {
                    a.geo_minus_baro_ft = Some((i32::from(d), t));
                }
                None
            }
            ME::BDS65(status) => {
                match status {
                    AircraftOperationStatus::Airborne(s) => match &s.version {
                        ADSBVersionAirborne::DOC9871AppendixA(_) => a.version = Some(0),
                        ADSBVersionAirborne::DOC9871AppendixB(v1) => {
                            a.version = Some(1);
                            a.nac_p = Some(v1.nac_p);
                        }
                        ADSBVersionAirborne::DOC9871AppendixC(v2) => {
                            a.version = Some(2);
                            a.nac_p = Some(v2.nac_p);
                            a.gva = Some(v2.geometry_vertical_accuracy);
                        }
                        ADSBVersionAirborne::Reserved { .. } => {}
                    },
                    AircraftOperationStatus::Surface(s) => match &s.version {
                        ADSBVersionSurface::DOC9871AppendixA(_) => a.version = Some(0),
                        ADSBVersionSurface::DOC9871AppendixB(v1) => {
                            a.version = Some(1);
                            a.nac_p = Some(v1.nac_p);
                        }
                        ADSBVersionSurface::DOC9871AppendixC(v2) => {
                            a.version = Some(2);
                            a.nac_p = Some(v2.nac_p);
                        }
                        ADSBVersionSurface::Reserved { .. } => {}
                    },
                    AircraftOperationStatus::Reserved { .. } => {}
                }
                None
            }
            ME::BDS62(ts) => {
                // Target state and status (version 2) carries NACp too.
                a.nac_p = Some(ts.nac_p);
                None
            }
            ME::BDS61(st) => {
                if st.squawk.0 != 0 {
                    a.squawk = Some(format!("{:04x}", st.squawk.0));
                }
                None
            }
            _ => None,
        };
        let fix = fix?;
        self.accept_fix(icao, fix)
    }

    /// Plausibility check, then the position becomes the aircraft's and an observation.
    fn accept_fix(&mut self, icao: u32, fix: PositionFix) -> Option<Observation> {
        let max_speed = self.config.max_speed_mps;
        if let Some(r) = self.config.receiver {
            let d = ground_distance_m(r.lat_deg, r.lon_deg, fix.lat_deg, fix.lon_deg);
            if d > self.config.max_range_m {
                self.stats.implausible_positions += 1;
                return None;
            }
        }
        let a = self.aircraft.get_mut(&icao)?;
        let plausible_from = |prev: &PositionFix| {
            let dt = fix.t.secs_since(prev.t).abs();
            let d = ground_distance_m(prev.lat_deg, prev.lon_deg, fix.lat_deg, fix.lon_deg);
            // 2 km slack covers CPR quantisation and clock jitter; bad CPR decodes are off by
            // whole zones (tens to hundreds of km).
            d <= max_speed * dt + 2_000.0
        };
        let ok = match (&a.position, &a.held) {
            (None, _) => true,
            (Some(prev), _) if plausible_from(prev) => true,
            (Some(_), Some(held)) if plausible_from(held) => true,
            _ => false,
        };
        if !ok {
            a.held = Some(fix);
            self.stats.implausible_positions += 1;
            return None;
        }
        a.held = None;
        a.position = Some(fix);
        self.stats.positions += 1;
        let obs = self.observation(icao)?;
        self.stats.observations += 1;
        Some(obs)
    }

    /// The observation for an aircraft's current position.
    fn observation(&mut self, icao: u32) -> Option<Observation> {
        let a = self.aircraft.get(&icao)?;
        let fix = a.position?;
        // NACp, else the NUCp an aircraft.json gave, else what the position type code says.
        let type_code = a
            .position_type_code
            .filter(|_| fix.source != PositionSource::Reported);
        let bound_h = match (
            a.nac_p.and_then(accuracy::nacp_epu_m),
            a.nuc_p.and_then(accuracy::nucp_accuracy_m),
        ) {
            (Some(epu), _) => epu,
            (None, Some(rcu)) => rcu,
            (None, None) => accuracy::horizontal_bound_95_m(None, a.version, type_code).0,
        };
        let (h_m, sigma_v) = height_for(a, fix, self.config.receiver);
        let obs = Observation {
            id: ObservationId(self.next_id),
            t: fix.t,
            sensor_id: self.config.sensor_id.clone(),
            sensor_kind: SensorKind::Adsb,
            sensor_position: self.config.receiver,
            measurement: Measurement::Position {
                position: Lla::new(fix.lat_deg, fix.lon_deg, h_m),
                sigma_horizontal_m: accuracy::sigma_from_radius_95(bound_h),
                sigma_vertical_m: sigma_v,
            },
            velocity: None,
            identity: IdentityHints {
                icao_address: (!a.non_icao).then_some(a.icao_address),
                classification: Some(category::classification(a.category)),
                ..IdentityHints::default()
            },
        };
        obs.measurement.validate().ok()?;
        self.next_id += 1;
        Some(obs)
    }

    /// Applies an SBS line heard at `t` (its own date/time fields are receiver local time
    /// and are not used). An observation when it carries a position (MSG,2 / MSG,3).
    pub fn ingest_sbs(&mut self, t: TimeNs, m: &SbsMessage) -> Option<Observation> {
        let t = clamp_time(t);
        let a = self.entry(m.icao_address, m.non_icao, t);
        if let Some(c) = &m.callsign {
            a.callsign = Some(c.clone());
        }
        if let Some(alt) = m.altitude_ft {
            a.alt_baro_ft = Some(alt);
        }
        if m.ground_speed_kt.is_some() {
            a.ground_speed_kt = m.ground_speed_kt;
        }
        if m.track_deg.is_some() {
            a.track_deg = m.track_deg;
        }
        if m.vertical_rate_fpm.is_some() {
            a.vertical_rate_fpm = m.vertical_rate_fpm;
        }
        if let Some(s) = &m.squawk {
            a.squawk = Some(s.clone());
        }
        match (m.transmission_type, m.on_ground) {
            (2, _) => a.on_ground = Some(true),
            (3, _) => a.on_ground = Some(false),
            (_, Some(g)) => a.on_ground = Some(g),
            _ => {}
        }
        let (Some(lat_deg), Some(lon_deg)) = (m.lat_deg, m.lon_deg) else {
            return None;
        };
        let fix = PositionFix {
            lat_deg,
            lon_deg,
            t,
            surface: m.transmission_type == 2,
            source: PositionSource::Reported,
        };
        self.accept_fix(m.icao_address, fix)
    }

    /// Applies one aircraft.json entry from a file written at `now`. An observation when
    /// the entry's position is newer than the one the table holds (so polling the same
    /// file twice yields nothing new).
    pub fn ingest_json(&mut self, now: TimeNs, j: &JsonAircraft) -> Option<Observation> {
        let now = clamp_time(now);
        let seen = secs_before(now, j.seen_s);
        let a = self.entry(j.icao_address, j.non_icao, seen);
        // `entry` counted one message; aircraft.json says how many there were.
        if let Some(n) = j.messages {
            a.messages = n;
        }
        if let Some(f) = &j.flight {
            a.callsign = Some(f.clone());
        }
        if let Some(c) = j.category.as_deref().and_then(EmitterCategory::parse) {
            a.category = Some(c);
        }
        if let Some(s) = &j.squawk {
            a.squawk = Some(s.clone());
        }
        match j.alt_baro {
            Some(AltBaro::Ground) => a.on_ground = Some(true),
            Some(AltBaro::Feet(ft)) => {
                a.on_ground = Some(false);
                a.alt_baro_ft = Some(ft.round() as i32);
            }
            None => {}
        }
        if let Some(g) = j.alt_geom_ft {
            a.alt_geom_ft = Some(g.round() as i32);
        }
        if j.gs_kt.is_some() {
            a.ground_speed_kt = j.gs_kt;
        }
        if j.track_deg.is_some() {
            a.track_deg = j.track_deg;
        }
        if let Some(r) = j.baro_rate_fpm.or(j.geom_rate_fpm) {
            a.vertical_rate_fpm = Some(r.round() as i32);
        }
        if j.version.is_some() {
            a.version = j.version;
        }
        if j.nac_p.is_some() {
            a.nac_p = j.nac_p;
        }
        if j.nuc_p.is_some() {
            a.nuc_p = j.nuc_p;
        }
        if j.gva.is_some() {
            a.gva = j.gva;
        }
        let (Some(lat_deg), Some(lon_deg)) = (j.lat_deg, j.lon_deg) else {
            return None;
        };
        let t_pos = secs_before(now, j.seen_pos_s);
        if a.position.is_some_and(|p| p.t >= t_pos) {
            return None;
        }
        let fix = PositionFix {
            lat_deg,
            lon_deg,
            t: t_pos,
            surface: j.alt_baro == Some(AltBaro::Ground),
            source: PositionSource::Reported,
        };
        self.accept_fix(j.icao_address, fix)
    }
}

/// Latest time the table works with (2^62 ns, year 2116): inputs are clamped to
/// `[0, MAX_T]` so that differences between any two of them cannot overflow.
const MAX_T: i64 = 1 << 62;

fn clamp_time(t: TimeNs) -> TimeNs {
    TimeNs(t.0.clamp(0, MAX_T))
}

/// `now` minus an aircraft.json age in seconds (absent, negative or NaN: 0; at most a day).
fn secs_before(now: TimeNs, age_s: Option<f64>) -> TimeNs {
    let age_s = age_s
        .filter(|s| s.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, 86_400.0);
    TimeNs(now.0.saturating_sub((age_s * 1e9).round() as i64).max(0))
}

/// How long an extended-squitter altitude outranks Mode S replies' altitude.
const ES_ALTITUDE_PRIORITY_S: f64 = 15.0;

/// The altitude broadcast with the position (DF17/18) is the one deconfliction uses; the
/// Mode S replies' AC field (DF0/4/16/20) only fills in when none was heard for
/// [`ES_ALTITUDE_PRIORITY_S`]. dump1090-mutability behaves the same (its aircraft.json keeps
/// the ES altitude while DF20 replies say otherwise).
fn es_altitude_is_fresh(a: &AircraftState, t: TimeNs) -> bool {
    a.alt_baro_es_t
        .is_some_and(|es| t.secs_since(es).abs() <= ES_ALTITUDE_PRIORITY_S)
}

fn apply_flight_status(a: &mut AircraftState, fs: FlightStatus) {
    match fs {
        FlightStatus::NoAlertNoSpiOnGround | FlightStatus::AlertNoSpiOnGround => {
            a.on_ground = Some(true);
        }
        FlightStatus::NoAlertNoSpiAirborne | FlightStatus::AlertNoSpiAirborne => {
            a.on_ground = Some(false);
        }
        _ => {}
    }
}

fn parity_slot(
    a: &mut AircraftState,
    parity: CPRFormat,
) -> &mut Option<(AirbornePosition, TimeNs)> {
    match parity {
        CPRFormat::Even => &mut a.even_air,
        CPRFormat::Odd => &mut a.odd_air,
    }
}

fn airborne_fix(
    a: &mut AircraftState,
    msg: &AirbornePosition,
    t: TimeNs,
    cfg: &TableConfig,
) -> Option<PositionFix> {
    let other = match msg.parity {
        CPRFormat::Even => a.odd_air,
        CPRFormat::Odd => a.even_air,
    };
    *parity_slot(a, msg.parity) = Some((*msg, t));
    let fix = |p: rs1090::decode::cpr::Position, source| PositionFix {
        lat_deg: p.latitude,
        lon_deg: p.longitude,
        t,
        surface: false,
        source,
    };
    let pair = other.filter(|(_, t_o)| t.secs_since(*t_o).abs() <= cfg.cpr_pair_max_s);
    if let Some(p) = pair.and_then(|(o, _)| airborne_position(&o, msg)) {
        return Some(fix(p, PositionSource::CprGlobal));
    }
    let prev = a.position?;
    if t.secs_since(prev.t).abs() > cfg.local_ref_max_age_s {
        return None;
    }
    airborne_position_with_reference(msg, prev.lat_deg, prev.lon_deg)
        .map(|p| fix(p, PositionSource::CprLocalAircraft))
}

fn surface_fix(
    a: &mut AircraftState,
    msg: &SurfacePosition,
    t: TimeNs,
    cfg: &TableConfig,
) -> Option<PositionFix> {
    // A surface message breaks any airborne CPR pair.
    a.even_air = None;
    a.odd_air = None;
    let own = a
        .position
        .filter(|p| t.secs_since(p.t).abs() <= cfg.surface_ref_max_age_s)
        .map(|p| (p.lat_deg, p.lon_deg, PositionSource::CprLocalAircraft));
    let receiver = cfg
        .receiver
        .map(|r| (r.lat_deg, r.lon_deg, PositionSource::CprLocalReceiver));
    let (lat, lon, source) = own.or(receiver)?;
    surface_position_with_reference(msg, lat, lon).map(|p| PositionFix {
        lat_deg: p.latitude,
        lon_deg: p.longitude,
        t,
        surface: true,
        source,
    })
}

/// Height above the WGS84 ellipsoid for an observation, and its one-sigma error.
///
/// In order of preference:
/// 1. geometric height: GNSS height of TC 20..22 / aircraft.json `alt_geom`, or barometric
///    altitude plus the velocity message's "difference from baro" (heard within 60 s).
///    DO-260B has these as HAE where the avionics have it. σ from GVA, else
///    [`accuracy::DEFAULT_GVA_M`] / 1.96.
/// 2. barometric altitude as an approximation: σ from [`accuracy::sigma_baro_as_height_m`].
/// 3. on the ground: the receiver's height (σ 100 m), else 0 (σ 500 m): the airport's
///    elevation is not known here.
/// 4. nothing: 0 with σ 5 km, so fusion treats it as horizontal only.
pub fn height_for(a: &AircraftState, fix: PositionFix, receiver: Option<Lla>) -> (f64, f64) {
    let geom_sigma = a
        .gva
        .and_then(accuracy::gva_bound_m)
        .unwrap_or(accuracy::DEFAULT_GVA_M)
        / K95_1D;
    if fix.surface || (a.on_ground == Some(true) && a.alt_baro_ft.is_none()) {
        return match receiver {
            Some(r) => (r.h_m, 100.0),
            None => (0.0, 500.0),
        };
    }
    if let Some(g) = a.alt_geom_ft {
        return (f64::from(g) * FT_TO_M, geom_sigma);
    }
    if let Some(baro) = a.alt_baro_ft {
        let fresh_diff = a
            .geo_minus_baro_ft
            .filter(|(_, t_d)| fix.t.secs_since(*t_d).abs() <= 60.0);
        if let Some((d, _)) = fresh_diff {
            return ((f64::from(baro) + f64::from(d)) * FT_TO_M, geom_sigma);
        }
        let h = f64::from(baro) * FT_TO_M;
        return (h, accuracy::sigma_baro_as_height_m(h));
    }
    (0.0, 5_000.0)
}

/// Great-circle distance on a sphere of the WGS84 mean radius (good to 0.5 %, plenty for a
/// plausibility gate).
fn ground_distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const R_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn table() -> AircraftTable {
        AircraftTable::new(TableConfig::new(SensorId::new("adsb-test")))
    }

    fn bytes(h: &str) -> Vec<u8> {
        hex::decode(h).unwrap()
    }

    // The even/odd pair of The 1090 MHz Riddle ("Airborne position", ICAO 40621D):
    // lat 52.2572, lon 3.91937, 38000 ft.
    const EVEN: &str = "8D40621D58C382D690C8AC2863A7";
    const ODD: &str = "8D40621D58C386435CC412692AD6";

    #[test]
    fn global_pair_resolves_the_riddle_example() {
        let mut t = table();
        let t0 = TimeNs::from_secs_f64(1000.0);
        assert_eq!(t.ingest_bytes(t0, &bytes(ODD)).unwrap(), None);
        let obs = t
            .ingest_bytes(t0.plus_secs(1.0), &bytes(EVEN))
            .unwrap()
            .expect("a position");
        let Measurement::Position {
            position,
            sigma_horizontal_m,
            sigma_vertical_m,
        } = obs.measurement
        else {
            panic!("position")
        };
        // The Riddle's worked answer, for the newer (even) message.
        assert!((position.lat_deg - 52.2572).abs() < 5e-5, "{position:?}");
        assert!((position.lon_deg - 3.91937).abs() < 5e-5, "{position:?}");
        assert!((position.h_m - 38_000.0 * FT_TO_M).abs() < 1e-6);
        assert!(sigma_horizontal_m > 0.0 && sigma_vertical_m > 75.0);
        assert_eq!(obs.sensor_kind, SensorKind::Adsb);
        assert_eq!(obs.identity.icao_address, Some(0x40621d));
        assert!(
            obs.identity
                .classification
                .unwrap()
                .class
                .starts_with("aircraft.manned")
        );
        let a = t.get(0x40621d).unwrap();
        assert_eq!(a.position.unwrap().source, PositionSource::CprGlobal);
        assert_eq!(a.on_ground, Some(false));
    }

    #[test]
    fn pair_too_far_apart_does_not_decode_globally() {
        let mut t = table();
        let t0 = TimeNs::from_secs_f64(1000.0);
        t.ingest_bytes(t0, &bytes(EVEN)).unwrap();
        assert_eq!(
            t.ingest_bytes(t0.plus_secs(11.0), &bytes(ODD)).unwrap(),
            None
        );
    }

    #[test]
    fn local_decode_follows_a_global_one() {
        let mut t = table();
        let t0 = TimeNs::from_secs_f64(1000.0);
        t.ingest_bytes(t0, &bytes(ODD)).unwrap();
        let first = t
            .ingest_bytes(t0.plus_secs(1.0), &bytes(EVEN))
            .unwrap()
            .unwrap();
        // 30 s later the pair is stale, but the aircraft's own position is a reference.
        let again = t
            .ingest_bytes(t0.plus_secs(31.0), &bytes(ODD))
            .unwrap()
            .unwrap();
        assert_eq!(
            t.get(0x40621d).unwrap().position.unwrap().source,
            PositionSource::CprLocalAircraft
        );
        assert!(again.id.0 > first.id.0);
    }

    #[test]
    fn identification_sets_callsign_and_category() {
        let mut t = table();
        // The 1090 MHz Riddle identification example: KLM1023, category A0.
        t.ingest_bytes(TimeNs(0), &bytes("8D4840D6202CC371C32CE0576098"))
            .unwrap();
        let a = t.get(0x4840d6).unwrap();
        assert_eq!(a.callsign.as_deref(), Some("KLM1023"));
        assert_eq!(a.category.map(|c| c.to_string()).as_deref(), Some("A0"));
    }

    #[test]
    fn corrupted_frames_are_refused() {
        let mut t = table();
        let mut b = bytes(EVEN);
        b[5] ^= 0x10;
        assert!(matches!(
            t.ingest_bytes(TimeNs(0), &b),
            Err(FrameError::Decode { df: 17, .. })
        ));
        assert_eq!(
            t.ingest_bytes(TimeNs(0), &[0x00, 0x01]),
            Err(FrameError::ModeAc)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn replies_for_unknown_addresses_create_nothing() {
        let mut t = table();
        // A DF4 altitude reply: its address is only in the parity.
        let r = t.ingest_bytes(TimeNs(0), &bytes("20001838CA3804")).unwrap();
        assert_eq!(r, None);
        assert!(t.is_empty());
        assert_eq!(t.stats().unknown_address, 1);
    }

    #[test]
    fn implausible_jump_is_held_until_confirmed() {
        let mut t = table();
        let fix = |lat: f64| SbsMessage {
            transmission_type: 3,
            session_id: None,
            aircraft_id: None,
            icao_address: 0xabcdef,
            non_icao: false,
            flight_id: None,
            generated: None,
            logged: None,
            callsign: None,
            altitude_ft: Some(10_000),
            ground_speed_kt: None,
            track_deg: None,
            lat_deg: Some(lat),
            lon_deg: Some(1.0),
            vertical_rate_fpm: None,
            squawk: None,
            alert: None,
            emergency: None,
            spi: None,
            on_ground: None,
        };
        let t0 = TimeNs::from_secs_f64(0.0);
        assert!(t.ingest_sbs(t0, &fix(45.0)).is_some());
        // 1 degree (111 km) in one second: held back.
        assert!(t.ingest_sbs(t0.plus_secs(1.0), &fix(46.0)).is_none());
        assert_eq!(t.stats().implausible_positions, 1);
        // The old track continues: accepted.
        assert!(t.ingest_sbs(t0.plus_secs(2.0), &fix(45.001)).is_some());
        // Two consistent jumps: the second replaces the track.
        assert!(t.ingest_sbs(t0.plus_secs(3.0), &fix(47.0)).is_none());
        assert!(t.ingest_sbs(t0.plus_secs(4.0), &fix(47.001)).is_some());
        assert_eq!(t.get(0xabcdef).unwrap().position.unwrap().lat_deg, 47.001);
    }

    #[test]
    fn positions_beyond_receiver_range_are_refused() {
        let mut cfg = TableConfig::new(SensorId::new("adsb-test"));
        // 52.2572 N 3.91937 E is about 560 km from this point.
        cfg.receiver = Some(Lla::new(47.3, 3.9, 0.0));
        cfg.max_range_m = 500_000.0;
        let mut t = AircraftTable::new(cfg);
        let t0 = TimeNs::from_secs_f64(1000.0);
        t.ingest_bytes(t0, &bytes(ODD)).unwrap();
        assert_eq!(
            t.ingest_bytes(t0.plus_secs(1.0), &bytes(EVEN)).unwrap(),
            None
        );
        assert_eq!(t.stats().implausible_positions, 1);
    }

    #[test]
    fn json_entries_emit_only_newer_positions() {
        let mut t = table();
        let j = JsonAircraft {
            icao_address: 0x486257,
            alt_baro: Some(AltBaro::Feet(33_600.0)),
            lat_deg: Some(45.274063),
            lon_deg: Some(1.008453),
            seen_pos_s: Some(2.4),
            nuc_p: Some(7),
            category: Some("A3".into()),
            ..JsonAircraft::default()
        };
        let now = TimeNs::from_secs_f64(1_795_611_490.0);
        let obs = t.ingest_json(now, &j).unwrap();
        assert_eq!(obs.t, now.plus_secs(-2.4));
        assert_eq!(
            obs.identity.classification.unwrap().class,
            "aircraft.manned.a3"
        );
        assert!(t.ingest_json(now, &j).is_none());
        assert!(t.ingest_json(now.plus_secs(1.0), &j).is_some());
    }

    #[test]
    fn extreme_times_and_values_do_not_overflow() {
        let mut t = table();
        let j = JsonAircraft {
            icao_address: 0xabcdef,
            alt_baro: Some(AltBaro::Feet(1e300)),
            lat_deg: Some(10.0),
            lon_deg: Some(10.0),
            seen_pos_s: Some(1e300),
            seen_s: Some(f64::NAN),
            ..JsonAircraft::default()
        };
        for now in [TimeNs(i64::MIN), TimeNs(0), TimeNs(i64::MAX)] {
            let _ = t.ingest_json(now, &j);
            let _ = t.ingest_bytes(now, &bytes(EVEN));
            t.expire(now);
        }
        t.aircraft.get_mut(&0xabcdef).unwrap().geo_minus_baro_ft = Some((3000, TimeNs(MAX_T)));
        let j2 = JsonAircraft {
            seen_pos_s: Some(0.0),
            ..j
        };
        let _ = t.ingest_json(TimeNs(i64::MAX), &j2);
    }

    #[test]
    fn expire_forgets_silent_aircraft() {
        let mut t = table();
        t.ingest_bytes(TimeNs(0), &bytes("8D4840D6202CC371C32CE0576098"))
            .unwrap();
        assert_eq!(t.expire(TimeNs::from_secs_f64(100.0)), 0);
        assert_eq!(t.expire(TimeNs::from_secs_f64(301.0)), 1);
        assert!(t.is_empty());
    }
}
