//! The node's metrics, served as OpenMetrics text on `/metrics`. One struct holds every
//! metric so that a stage counts and logs in one place; the handles are cheap clones.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label sets.
pub type KindLabel = Vec<(&'static str, String)>;

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Events written to the log, by kind.
    pub journaled: Family<KindLabel, Counter>,
    /// Events the log refused as duplicates (idempotent retries), by kind.
    pub duplicates: Family<KindLabel, Counter>,
    /// Store transactions that failed (the events were refused to their senders).
    pub journal_errors: Counter,
    /// Events per store transaction.
    pub journal_batch_events: Histogram,
    /// Time to commit one transaction [s].
    pub journal_commit_seconds: Histogram,
    /// Observations refused by fusion, by sensor and reason (`too_late`, `future`, `invalid`).
    pub observations_refused: Family<KindLabel, Counter>,
    /// From an observation's arrival to the publication of the picture that used it [s].
    pub observation_to_publish_seconds: Histogram,
    /// Confirmed tracks in the picture now.
    pub tracks: Gauge,
    /// Open alerts now.
    pub alerts_open: Gauge,
    /// Webhook deliveries, by outcome (`delivered`, `retried`, `dead_letter`).
    pub webhook_deliveries: Family<KindLabel, Counter>,
    /// The sector posture the threat stage applies: 0 normal, 1 elevated, 2 high.
    pub posture_level: Gauge,
    /// Warnings issued to agents, by level.
    pub warnings: Family<KindLabel, Counter>,
    /// WebSocket clients connected now.
    pub ws_clients: Gauge,
    pub ws_messages: Counter,
    /// Times a client fell behind the live stream and was resynchronised.
    pub ws_lagged: Counter,
    /// HTTP responses, by status class (`2xx`, `4xx`...).
    pub http_responses: Family<KindLabel, Counter>,
    /// Failed logins, and logins refused because the account is locked.
    pub login_failures: Counter,
    pub logins_locked: Counter,
    /// Requests refused by the rate limiter.
    pub rate_limited: Counter,
    /// Bus relay: published, backlog, 1 while the bus is unreachable.
    pub bus_published: Gauge,
    pub bus_backlog: Gauge,
    pub bus_disconnected: Gauge,
    /// Events waiting for the journal.
    pub ingest_queue: Gauge,
    /// The process's resident memory [bytes] (Linux; updated every few seconds).
    pub process_resident_bytes: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("dronewatch");
        let journaled = Family::<KindLabel, Counter>::default();
        let duplicates = Family::<KindLabel, Counter>::default();
        let journal_errors = Counter::default();
        let journal_batch_events =
            Histogram::new([1.0, 10.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0]);
        let journal_commit_seconds = Histogram::new(latency_buckets());
        let observations_refused = Family::<KindLabel, Counter>::default();
        let observation_to_publish_seconds = Histogram::new(latency_buckets());
        let tracks = Gauge::default();
        let alerts_open = Gauge::default();
        let posture_level = Gauge::default();
        let webhook_deliveries = Family::<KindLabel, Counter>::default();
        let warnings = Family::<KindLabel, Counter>::default();
        let ws_clients = Gauge::default();
        let ws_messages = Counter::default();
        let ws_lagged = Counter::default();
        let http_responses = Family::<KindLabel, Counter>::default();
        let login_failures = Counter::default();
        let logins_locked = Counter::default();
        let rate_limited = Counter::default();
        let bus_published = Gauge::default();
        let bus_backlog = Gauge::default();
        let bus_disconnected = Gauge::default();
        let ingest_queue = Gauge::default();
        let process_resident_bytes = Gauge::default();
        r.register(
            "process_resident_bytes",
            "Resident memory of the process",
            process_resident_bytes.clone(),
        );
        r.register(
            "journaled_events",
            "Events written to the log",
            journaled.clone(),
        );
        r.register(
            "journal_duplicates",
            "Events not stored again (idempotent retries)",
            duplicates.clone(),
        );
        r.register(
            "journal_errors",
            "Store transactions that failed",
            journal_errors.clone(),
        );
        r.register(
            "journal_batch_events",
            "Events per store transaction",
            journal_batch_events.clone(),
        );
        r.register(
            "journal_commit_seconds",
            "Time to commit one store transaction",
            journal_commit_seconds.clone(),
        );
        r.register(
            "observations_refused",
            "Observations fusion refused, by sensor and reason",
            observations_refused.clone(),
        );
        r.register(
            "observation_to_publish_seconds",
            "From an observation's arrival to the live picture that used it",
            observation_to_publish_seconds.clone(),
        );
        r.register("tracks", "Confirmed tracks in the picture", tracks.clone());
        r.register("alerts_open", "Open alerts", alerts_open.clone());
        r.register(
            "webhook_deliveries",
            "Webhook deliveries by outcome",
            webhook_deliveries.clone(),
        );
        r.register(
            "posture_level",
            "Sector posture applied by the threat stage (0 normal, 1 elevated, 2 high)",
            posture_level.clone(),
        );
        r.register("warnings", "Warnings issued to agents", warnings.clone());
        r.register(
            "ws_clients",
            "WebSocket clients connected",
            ws_clients.clone(),
        );
        r.register(
            "ws_messages",
            "WebSocket messages sent",
            ws_messages.clone(),
        );
        r.register(
            "ws_lagged",
            "Times a WebSocket client fell behind and was resynchronised",
            ws_lagged.clone(),
        );
        r.register(
            "http_responses",
            "HTTP responses by status class",
            http_responses.clone(),
        );
        r.register("login_failures", "Failed logins", login_failures.clone());
        r.register(
            "logins_locked",
            "Logins refused because the account is locked",
            logins_locked.clone(),
        );
        r.register(
            "rate_limited",
            "Requests refused by the rate limiter",
            rate_limited.clone(),
        );
        r.register(
            "bus_published",
            "Events the bus relay has published",
            bus_published.clone(),
        );
        r.register(
            "bus_backlog",
            "Events read for the bus and not yet acknowledged",
            bus_backlog.clone(),
        );
        r.register(
            "bus_disconnected",
            "1 while the bus is unreachable",
            bus_disconnected.clone(),
        );
        r.register(
            "ingest_queue",
            "Events waiting for the journal",
            ingest_queue.clone(),
        );
        Self {
            registry: Arc::new(r),
            journaled,
            duplicates,
            journal_errors,
            journal_batch_events,
            journal_commit_seconds,
            observations_refused,
            observation_to_publish_seconds,
            tracks,
            alerts_open,
            posture_level,
            webhook_deliveries,
            warnings,
            ws_clients,
            ws_messages,
            ws_lagged,
            http_responses,
            login_failures,
            logins_locked,
            rate_limited,
            bus_published,
            bus_backlog,
            bus_disconnected,
            ingest_queue,
            process_resident_bytes,
        }
    }

    /// Reads the process's resident memory (Linux `/proc/self/status`).
    pub fn sample_process(&self) {
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            return;
        };
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok());
        if let Some(kib) = kib {
            self.process_resident_bytes.set(kib * 1024);
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in the encoder.
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One label `name=value`.
pub fn label(name: &'static str, value: impl Into<String>) -> KindLabel {
    vec![(name, value.into())]
}

fn latency_buckets() -> [f64; 14] {
    [
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
    ]
}
