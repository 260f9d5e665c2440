//! Broadcast Remote ID: ASTM F3411-22a / ASD-STAN EN 4709-002 ("Open Drone ID").
//!
//! Layers, bottom up, each usable on its own:
//!
//! * [`message`]: the six 25-byte messages, decoded into typed structs (units in names,
//!   F3411 "unknown" values as `None`) and encoded back; [`pack`]: message packs.
//! * [`transport`]: finding the payload in BLE advertisements (legacy and long range),
//!   Wi-Fi beacon vendor elements and Wi-Fi NaN service discovery frames, under radiotap
//!   or the nRF Bluetooth LE sniffer header.
//! * [`capture`]: pcap/pcapng files to Remote ID records.
//! * [`receiver`]: per-drone state merged from messages, with plausibility [`Flag`]s.
//! * [`observation`]: receiver updates to [`dronewatch_model::Observation`]s.
//! * [`record`]: one serializable record per message of a capture, for the CLI.
//!
//! Pure: no async, no I/O except reading a capture file; the decoders never panic and
//! never allocate on the message path.
//!
//! ```no_run
//! use dronewatch_remoteid::{Message, Payload, decode_capture};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One JSON object per message of a capture (what `dronewatch decode remote-id` prints).
//! for record in decode_capture(std::path::Path::new("capture.pcapng"))? {
//!     println!("{}", serde_json::to_string(&record?)?);
//! }
//! // Or one payload taken from a receiver.
//! let bytes = [0x12u8; 25];
//! for message in Payload::decode(&bytes)?.messages() {
//!     if let Message::Location(l) = message? {
//!         println!("{} {}", l.latitude_deg, l.longitude_deg);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

pub mod capture;
pub mod codes;
pub mod error;
pub mod message;
pub mod observation;
pub mod pack;
pub mod receiver;
pub mod record;
pub mod text;
pub mod transport;

pub use capture::{CaptureItem, CaptureReader, CaptureRecord, FrameError};
pub use error::{CaptureError, DecodeError, EncodeError, TransportError};
pub use message::{
    Auth, AuthData, BasicId, Location, MESSAGE_SIZE, Message, MessageType, OperatorId, SelfId,
    System,
};
pub use observation::to_observation;
pub use pack::{MessagePack, Payload, PayloadMessages, encode_pack};
pub use receiver::{DroneKey, DroneState, Flag, Receiver, ReceiverConfig, Source, Update};
pub use record::{DecodeCapture, DecodedRecord, decode_capture, decode_capture_with};
pub use text::OdidText;
pub use transport::{MacAddress, OdidFrame, Transport};
