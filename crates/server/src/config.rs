//! `dronewatch.toml`: everything a node needs, with defaults that run one laptop alone
//! (SQLite in the data directory, the in-process bus, every listener on 127.0.0.1).
//!
//! Layers, later ones winning: the defaults, the TOML file, then environment variables
//! `DRONEWATCH_<SECTION>__<KEY>` (e.g. `DRONEWATCH_HTTP__BIND=0.0.0.0:8443`) and
//! `DRONEWATCH_DATA_DIR`. Unknown keys are refused, so a typo never passes silently.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dronewatch_fusion::TrackerConfig;
use dronewatch_model::Lla;
use dronewatch_threat::{AlertConfig, PostureConfig, ThreatConfig, WarnerConfig};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The whole configuration of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Where the SQLite store, the signing key and photos live.
    pub data_dir: PathBuf,
    pub node: NodeConfig,
    pub store: StoreConfig,
    pub bus: BusSection,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub fusion: FusionConfig,
    pub threat: ThreatSection,
    /// Webhooks (docs/delivery.md).
    pub delivery: crate::delivery::DeliverySection,
    pub sources: SourcesConfig,
    pub retention: RetentionConfig,
    pub pipeline: PipelineConfig,
    pub log: LogConfig,
    pub ui: UiSection,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("dronewatch-data"),
            node: NodeConfig::default(),
            store: StoreConfig::default(),
            bus: BusSection::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            fusion: FusionConfig::default(),
            threat: ThreatSection::default(),
            delivery: crate::delivery::DeliverySection::default(),
            sources: SourcesConfig::default(),
            retention: RetentionConfig::default(),
            pipeline: PipelineConfig::default(),
            log: LogConfig::default(),
            ui: UiSection::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's name (logs, bus message ids).
    pub name: String,
    /// The sector this node serves: its bus subjects are `dw.<sector>.<kind>`.
    pub sector: String,
    /// `sector` (default: sources, fusion, threat, delivery) or `hq` (subscribes to the
    /// sectors on the bus and shows one picture).
    pub role: NodeRole,
    /// For `hq`: the sectors to follow (`["*"]` for all).
    pub follow_sectors: Vec<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            name: "dronewatch".into(),
            sector: "sector-1".into(),
            role: NodeRole::Sector,
            follow_sectors: vec!["*".into()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    Sector,
    Hq,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Empty: SQLite at `<data_dir>/dronewatch.db`. Else a path, `sqlite://PATH`, or
    /// `postgres://user@host:port/db`.
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSection {
    /// Empty: the in-process bus (one node). `nats://host:4222`: NATS JetStream.
    pub url: String,
    /// How long JetStream keeps messages [s].
    pub max_age_s: u64,
    /// JetStream's de-duplication window [s].
    pub duplicate_window_s: u64,
}

impl Default for BusSection {
    fn default() -> Self {
        let d = dronewatch_bus::BusConfig::default();
        Self {
            url: String::new(),
            max_age_s: d.max_age_s,
            duplicate_window_s: d.duplicate_window_s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The API, WebSocket and UI listener. Loopback by default: expose it deliberately.
    pub bind: SocketAddr,
    /// PEM certificate chain and private key; with both set the listener speaks TLS only.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Largest request body, except sighting reports [bytes].
    pub max_body_bytes: usize,
    /// Largest sighting report, photo included [bytes].
    pub max_sighting_bytes: usize,
    /// Requests per second per client (token or address), and the burst above it.
    pub rate_per_s: u32,
    pub rate_burst: u32,
    /// Login attempts per minute per address.
    pub login_per_min: u32,
    /// WebSocket clients served at once.
    pub max_ws_clients: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 256 * 1024,
            max_sighting_bytes: 8 * 1024 * 1024,
            rate_per_s: 100,
            rate_burst: 400,
            login_per_min: 20,
            max_ws_clients: 2000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of an access token [s]; clients refresh before it ends.
    pub token_ttl_s: u64,
    /// A session may be refreshed for this long after the password login [s].
    pub session_max_s: u64,
    /// Failed logins in a row that lock an account, and for how long [s].
    pub lockout_failures: u32,
    pub lockout_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_ttl_s: 15 * 60,
            session_max_s: 12 * 3600,
            lockout_failures: 5,
            lockout_s: 15 * 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FusionConfig {
    /// The fusion frame's origin: any point near the middle of the sector.
    pub origin: Lla,
    /// Sensor metadata (`sensors.json` of the benchmark format) for detection probabilities
    /// and clutter; sensors not listed get the tracker's defaults.
    pub sensors_file: Option<PathBuf>,
    /// How long observations wait to be put in time order at most [s]. Live default 0.05.
    /// The wait adapts below this to how late observations have been arriving (in-order
    /// sensors wait ~2 ms); a sensor whose reports arrive later than this after a newer
    /// one from another sensor has them refused (counted per sensor in the metrics);
    /// raise it for slow links.
    pub reorder_lag_s: f64,
    /// How often the picture is published to live clients at most [ms].
    pub publish_interval_ms: u64,
    /// Tracker parameters (any subset; `dronewatch replay --print-config` shows them).
    pub tracker: Option<serde_json::Value>,
}

impl Default for FusionConfig {
    fn default() -> Self {
        Self {
            // Nogales, on the US-Mexico border: set this to your sector.
            origin: Lla::new(31.3404, -110.9343, 1200.0),
            sensors_file: None,
            reorder_lag_s: 0.05,
            publish_interval_ms: 20,
            tracker: None,
        }
    }
}

impl FusionConfig {
    /// The tracker configuration: defaults, the overrides, and the live reorder lag.
    pub fn tracker_config(&self) -> Result<TrackerConfig, ConfigError> {
        let mut cfg = match &self.tracker {
            None => TrackerConfig::default(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| ConfigError::Invalid {
                field: "fusion.tracker".into(),
                reason: e.to_string(),
            })?,
        };
        cfg.reorder_lag_s = self.reorder_lag_s;
        Ok(cfg)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreatSection {
    /// Zones (GeoJSON FeatureCollection; docs/threat.md).
    pub zones_file: Option<PathBuf>,
    /// Remote ID serials of friendly drones: never warned or alerted about.
    pub allow_list: Vec<String>,
    /// How often the threat picture is assessed [ms].
    pub picture_interval_ms: u64,
    pub warner: WarnerConfig,
    pub rules: ThreatConfig,
    pub alerts: AlertConfig,
    /// What a raised sector posture (from a bulletin) changes; docs/threat.md.
    pub posture: PostureConfig,
    /// Staffed posts: agents who stay at a place and report no position of their own
    /// (`[[threat.posts]]`), warned like any agent.
    pub posts: Vec<StaticPost>,
}

/// An agent at a fixed place: a checkpoint, an observation post, a station's gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPost {
    /// The agent id its warnings carry (a user of that name sees them in the field app).
    pub agent: String,
    pub position: Lla,
}

impl Default for ThreatSection {
    fn default() -> Self {
        Self {
            zones_file: None,
            allow_list: Vec::new(),
            picture_interval_ms: 1000,
            warner: WarnerConfig::default(),
            rules: ThreatConfig::default(),
            alerts: AlertConfig::default(),
            posture: PostureConfig::default(),
            posts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    pub sapient: SapientSection,
    pub mqtt: MqttSection,
    /// ADS-B feeds (readsb/dump1090): Beast or SBS-1 over TCP, or aircraft.json.
    pub adsb: Vec<AdsbSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SapientSection {
    pub enabled: bool,
    pub bind: SocketAddr,
    pub max_connections: usize,
    /// What names a node's sensor: `name` (its registration name, as in the deployment's
    /// sensor list; names must then be unique) or `node_id` (its UUID).
    pub sensor_ids: dronewatch_sapient::session::SensorIdScheme,
}

impl Default for SapientSection {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: SocketAddr::from(([127, 0, 0, 1], crate::sources::sapient::DEFAULT_PORT)),
            max_connections: 64,
            sensor_ids: dronewatch_sapient::session::SensorIdScheme::Name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSection {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Stable across restarts, so the broker keeps our session and unacknowledged messages.
    pub client_id: String,
    /// Topic prefix (docs/sensor-json.md).
    pub prefix: String,
    /// Take every sector's sensors under the prefix (`<prefix>/+/sensors/...`), not only
    /// this node's (`<prefix>/<node.sector>/sensors/...`): for a node that fuses several.
    pub all_sectors: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "dronewatch".into(),
            prefix: "dronewatch".into(),
            all_sectors: false,
            username: None,
            password: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdsbSection {
    /// `beast`, `sbs` or `aircraft_json`.
    pub kind: String,
    /// `host:port` for `beast`/`sbs`; a URL or file path for `aircraft_json`.
    pub address: String,
    /// Sensor id for the receiver.
    #[serde(default = "default_adsb_id")]
    pub sensor_id: String,
}

fn default_adsb_id() -> String {
    "adsb-1".into()
}

/// How long each chain of the event log is kept [days]; 0 keeps it forever.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    pub observations_days: f64,
    pub tracks_days: f64,
    /// Alerts, warnings, sightings, operator actions, audit: the evidence.
    pub records_days: f64,
    pub prune_interval_s: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            observations_days: 30.0,
            tracks_days: 90.0,
            records_days: 0.0,
            prune_interval_s: 3600,
        }
    }
}

/// The web UI (served at `/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSection {
    /// Raster tiles drawn under the built-in outlines, an XYZ template such as
    /// `http://tiles.post.local/{z}/{x}/{y}.png` (your own tile server: the UI never
    /// reaches the internet by itself).
    pub tile_url: Option<String>,
    /// A PMTiles archive on this node (raster or vector tiles, for instance one extracted
    /// for the sector with `pmtiles extract`), drawn under the outlines. The UI reads it
    /// through the API by HTTP range requests; nothing else is needed to serve it.
    pub pmtiles: Option<PathBuf>,
    /// The map's first zoom level, centred on `fusion.origin`.
    pub zoom: f64,
}

impl Default for UiSection {
    fn default() -> Self {
        Self {
            tile_url: None,
            pmtiles: None,
            zoom: 11.0,
        }
    }
}

/// Queue sizes and batching: the knobs behind backpressure and latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Events waiting to be journaled; a full queue slows the sources down.
    pub ingest_queue: usize,
    /// Most events written in one store transaction.
    pub journal_batch: usize,
    /// Each track is recorded at most this often [s].
    pub track_record_interval_s: f64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            ingest_queue: 8192,
            journal_batch: 2000,
            track_record_interval_s: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json` (one object per line, for log shippers).
    pub format: String,
    /// A `tracing` filter, e.g. `info,dronewatch_server=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            filter: "info".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl ServerConfig {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(ServerConfig::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid {
                    field: "--config".into(),
                    reason: format!("{} does not exist", f.display()),
                });
            }
            fig = fig.merge(Toml::file(f));
        }
        // Only DRONEWATCH_DATA_DIR and DRONEWATCH_<SECTION>__<KEY>: other DRONEWATCH_
        // variables (the admin password, test settings) are not configuration keys.
        let env = Env::prefixed("DRONEWATCH_")
            .filter(|k| k.as_str().contains("__") || k.as_str().eq_ignore_ascii_case("data_dir"))
            .split("__");
        let cfg: ServerConfig = fig.merge(env).extract().map_err(Box::new)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Parses a TOML text over the defaults (no environment): for tests and `--print-config`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: ServerConfig = Figment::from(Serialized::defaults(ServerConfig::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(Box::new)?;
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, reason: &str| {
            Err(ConfigError::Invalid {
                field: field.into(),
                reason: reason.into(),
            })
        };
        if !self.fusion.origin.is_valid() {
            return bad("fusion.origin", "not a valid WGS84 position");
        }
        for (i, post) in self.threat.posts.iter().enumerate() {
            if post.agent.trim().is_empty() {
                return bad(&format!("threat.posts[{i}].agent"), "empty");
            }
            if !post.position.is_valid() || !(-180.0..=180.0).contains(&post.position.lon_deg) {
                return bad(
                    &format!("threat.posts[{i}].position"),
                    "not a valid WGS84 position",
                );
            }
        }
        if !(0.0..=10.0).contains(&self.fusion.reorder_lag_s) {
            return bad("fusion.reorder_lag_s", "must be within 0..10 s");
        }
        if let Some(url) = &self.ui.tile_url
            && !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with('/'))
        {
            return bad("ui.tile_url", "an http(s) URL or a path on this node");
        }
        if self.ui.tile_url.is_some() && self.ui.pmtiles.is_some() {
            return bad(
                "ui.pmtiles",
                "one basemap: either ui.tile_url or ui.pmtiles",
            );
        }
        if !(0.0..=22.0).contains(&self.ui.zoom) {
            return bad("ui.zoom", "must be within 0..22");
        }
        if self.http.tls_cert.is_some() != self.http.tls_key.is_some() {
            return bad("http.tls_cert", "tls_cert and tls_key go together");
        }
        if self.pipeline.ingest_queue == 0 || self.pipeline.journal_batch == 0 {
            return bad("pipeline", "queue and batch sizes must be at least 1");
        }
        if self.auth.token_ttl_s == 0 || self.auth.lockout_failures == 0 {
            return bad(
                "auth",
                "token_ttl_s and lockout_failures must be at least 1",
            );
        }
        if self.http.rate_per_s == 0 || self.http.login_per_min == 0 {
            return bad("http", "rate limits must be at least 1");
        }
        if dronewatch_bus::subject(&self.node.sector, "x").is_err() {
            return bad("node.sector", "use letters, digits, '_' and '-' only");
        }
        self.fusion.tracker_config()?;
        Ok(())
    }

    /// The store URL in effect.
    pub fn store_url(&self) -> String {
        if self.store.url.is_empty() {
            self.data_dir.join("dronewatch.db").display().to_string()
        } else {
            self.store.url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_alone_on_loopback() {
        let cfg = ServerConfig::from_toml("").unwrap_or_else(|e| panic!("{e}"));
        assert!(cfg.http.bind.ip().is_loopback());
        assert!(cfg.sources.sapient.bind.ip().is_loopback());
        assert!(cfg.bus.url.is_empty());
        assert!(cfg.store_url().ends_with("dronewatch.db"));
    }

    #[test]
    fn a_typo_is_refused_by_name() {
        let err = ServerConfig::from_toml("[http]\nbnid = \"0.0.0.0:1\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("bnid"), "{err}");
    }

    #[test]
    fn tls_needs_both_files() {
        let err = ServerConfig::from_toml("[http]\ntls_cert = \"c.pem\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls_key"), "{err}");
    }

    #[test]
    fn tracker_overrides_keep_the_live_lag() {
        let cfg = ServerConfig::from_toml(
            "[fusion]\nreorder_lag_s = 0.2\ntracker = { confirm_hits = 4 }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = cfg
            .fusion
            .tracker_config()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.confirm_hits, 4);
        assert_eq!(t.reorder_lag_s, 0.2);
    }
}
