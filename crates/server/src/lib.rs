//! The live server: sources turn sensor connections into events; the pipeline (journal,
//! fusion, threat, recorder) turns them into the live picture and the event log; the API
//! serves both; the relay puts the log on the bus. [`node::start`] wires one node.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod hq;
pub mod live;
pub mod metrics;
pub mod node;
pub mod pipeline;
pub mod relay;
pub mod sapient_sensor;
pub mod sources;
pub mod view;

pub use sources::SourceEvent;
