//! The live server: sources turn sensor connections into [`SourceEvent`]s on one bounded
//! channel; the pipeline (fusion, threat, delivery, store) consumes them.

pub mod sapient_sensor;
pub mod sources;

pub use sources::SourceEvent;
