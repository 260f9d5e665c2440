//! The live server: sources turn sensor connections into events; the pipeline (journal,
//! fusion, threat, recorder) turns them into the live picture and the event log; the API
//! serves both; the relay puts the log on the bus. [`node::start`] wires one node.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod hq;
pub mod live;
pub mod metrics;
pub mod node;
pub mod pipeline;
pub mod relay;
pub mod sapient_sensor;
pub mod sources;
pub mod view;

/// Makes ring the process's TLS crypto provider, as the server's own TLS uses: the HTTP
/// client (webhooks, the simulator, the load generator) takes the process's provider.
/// Call it before building an HTTP client; calling it again does nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The node's outgoing HTTP client (webhooks, Web Push, aircraft.json over HTTP): ring as
/// the TLS provider, the system's certificates, dronewatch's user agent.
pub(crate) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("dronewatch/", env!("CARGO_PKG_VERSION")))
        .build()
}

pub use sources::SourceEvent;
