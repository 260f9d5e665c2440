//! ADS-B for deconfliction: manned aircraft become cooperative [`Observation`]s
//! (`SensorKind::Adsb`) so that fusion can tell them from drones; they never raise drone
//! alerts.
//!
//! Mode S decoding and the CPR arithmetic come from `rs1090` (the jet1090 decoder). This
//! crate holds what sits around it, with no I/O and no async:
//!
//! * framing: [`beast`] (binary, incremental over arbitrary chunks), [`avr`] (`*hex;`,
//!   `@ts hex;`), [`sbs`] (SBS-1 / BaseStation CSV), [`json`] (readsb / dump1090
//!   `aircraft.json`, both field-name generations);
//! * state: [`AircraftTable`] pairs CPR messages, keeps identity, altitude and velocity per
//!   aircraft, and emits an [`Observation`] for each new position, with sigma from
//!   NACp / NUCp / NIC ([`accuracy`]) and a height as described in [`table::height_for`].
//!
//! Formats are de-facto standards (dump1090 / readsb family); see the module docs.
//!
//! [`Observation`]: dronewatch_model::Observation

pub mod accuracy;
pub mod avr;
pub mod beast;
pub mod category;
pub mod frame;
pub mod json;
pub mod sbs;
pub mod table;

pub use avr::{AvrError, format_avr_line, parse_avr_line};
pub use beast::{BeastDecoder, BeastError, encode_beast};
pub use category::EmitterCategory;
pub use frame::{FrameKind, RawFrame};
pub use json::{
    AircraftJson, AltBaro, JsonAircraft, JsonEntryError, JsonError, parse_aircraft_json,
};
pub use sbs::{SbsDateTime, SbsError, SbsMessage, parse_sbs_line};
pub use table::{
    AircraftState, AircraftTable, FrameError, PositionFix, PositionSource, TableConfig, TableStats,
};

/// The decoder underneath, for callers that want the full rs1090 message.
pub use rs1090;
