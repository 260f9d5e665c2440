//! SAPIENT (BSI Flex 335 v2.0, and v1.0) for dronewatch, the fusion node (DMM).
//!
//! * [`v2`], [`v1`]: the message types, generated from our own `.proto` files;
//! * [`frame`]: the 4-byte little-endian length framing used on TCP;
//! * [`validate()`]: mandatory fields, identifier formats, enumerations, ICD version;
//! * [`json`]: the proto3 JSON mapping (test messages, records);
//! * [`convert`]: v1.0 ⇄ v2.0;
//! * [`mapping`]: SAPIENT locations, range-bearings, node types and status → dronewatch model;
//! * [`session`]: the sans-IO per-connection state machine (registration, acknowledgements,
//!   status, detections, alerts, refused tasks).

/// BSI Flex 335 v2.0 (`sapient_msg.bsi_flex_335_v2_0`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v2 {
    include!(concat!(
        env!("OUT_DIR"),
        "/sapient_msg.bsi_flex_335_v2_0.rs"
    ));
    include!(concat!(
        env!("OUT_DIR"),
        "/validate_sapient_msg.bsi_flex_335_v2_0.rs"
    ));
}

/// BSI Flex 335 v1.0 (`sapient_msg.bsi_flex_335_v1_0`).
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v1 {
    include!(concat!(
        env!("OUT_DIR"),
        "/sapient_msg.bsi_flex_335_v1_0.rs"
    ));
    include!(concat!(
        env!("OUT_DIR"),
        "/validate_sapient_msg.bsi_flex_335_v1_0.rs"
    ));
}

pub mod convert;
pub mod frame;
pub mod ids;
pub mod json;
pub mod mapping;
pub mod session;
pub mod time;
pub mod utm;
pub mod validate;

pub use frame::{FrameCodec, FrameError};
pub use mapping::{AxisOrder, DefaultSigmas, MapError};
pub use session::{
    IcdMode, NodeRegistry, Outputs, Record, RecordKind, RegisteredNode, SensorIdScheme, Session,
    SessionConfig, SessionEvent,
};
pub use validate::{IcdVersion, Violation, ViolationKind, validate, validate_v1};
