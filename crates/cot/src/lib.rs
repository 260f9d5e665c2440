//! Cursor on Target (CoT) and the TAK protocol, as ATAK, WinTAK and TAK servers speak them.
//!
//! - [`parse_xml`] / [`to_xml`]: one MITRE CoT 2.0 `<event>` (TAK's "protocol version 0").
//! - [`tak`]: TAK Protocol v1, the protobuf form, with its mesh (UDP) and stream (TCP)
//!   framing.
//! - [`StreamSplitter`]: a TCP stream of either, cut into events.
//! - [`types`]: CoT type codes ↔ affiliation and MIL-STD-2525B symbol codes.
//!
//! [`Event`] holds `<detail>` as TAK v1 does: six typed children and the rest as XML
//! text, so an event read from XML and from protobuf is the same value. Every reader checks
//! what XML needs (uid, type, times up to the year 9999, finite coordinates, a `<detail>`
//! that opens and closes in balance and holds no `<event`/`</event`/`<?xml`), so any event
//! read can be written as one well-formed CoT event and relayed. Pure: no I/O.

mod detail;
mod error;
pub mod negotiation;
mod stream;
pub mod tak;
mod time;
pub mod types;
mod xml;

pub use error::CotError;
pub use stream::StreamSplitter;
pub use xml::{parse_xml, to_xml};

/// An unknown `hae`, `ce` or `le`, as ATAK writes it.
pub const UNKNOWN: f64 = 9_999_999.0;

/// `<point>`: WGS84 position and its uncertainty.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    pub lat_deg: f64,
    pub lon_deg: f64,
    /// Height above the WGS84 ellipsoid [m] ([`UNKNOWN`] if not known).
    pub hae_m: f64,
    /// Circular error, 1 sigma [m].
    pub ce_m: f64,
    /// Linear (vertical) error, 1 sigma [m].
    pub le_m: f64,
}

/// One CoT event. Times are milliseconds since the Unix epoch, what TAK v1 carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub uid: String,
    /// The type code, e.g. `a-h-A-M-H-Q` (hostile rotary-wing UAV).
    pub cot_type: String,
    /// How the position was made: `m-f` fused, `m-g` GPS, `h-e` human estimate...
    pub how: String,
    /// When the event was made.
    pub time_unix_ms: i64,
    /// From when it is valid.
    pub start_unix_ms: i64,
    /// Until when it is valid: a client drops it then.
    pub stale_unix_ms: i64,
    pub access: Option<String>,
    pub qos: Option<String>,
    /// `o`, `e` or `s` (operation, exercise, simulation), optionally `-name`.
    pub opex: Option<String>,
    pub point: Point,
    pub detail: Detail,
}

/// `<detail>`, split as TAK Protocol v1 splits it: the six children it has messages for,
/// when they carry only what those messages hold, and every other child as XML text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detail {
    /// `<contact callsign endpoint/>`.
    pub contact: Option<Contact>,
    /// `<__group name role/>`.
    pub group: Option<Group>,
    /// `<precisionlocation geopointsrc altsrc/>`.
    pub precision_location: Option<PrecisionLocation>,
    /// `<status battery/>`.
    pub status: Option<Status>,
    /// `<takv device platform os version/>`.
    pub takv: Option<Takv>,
    /// `<track course speed/>`.
    pub track: Option<Track>,
    /// Every other child element, as XML text in document order (TAK v1 `xmlDetail`).
    pub xml: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contact {
    pub callsign: String,
    /// e.g. `192.168.1.10:4242:tcp`.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    /// The team colour, e.g. `Cyan`.
    pub name: String,
    /// e.g. `Team Member`, `HQ`.
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PrecisionLocation {
    pub geopointsrc: Option<String>,
    pub altsrc: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    /// Battery charge [%].
    pub battery: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Takv {
    pub device: String,
    pub platform: String,
    pub os: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Track {
    /// Course over ground, degrees from true north.
    pub course_deg: f64,
    pub speed_mps: f64,
}
