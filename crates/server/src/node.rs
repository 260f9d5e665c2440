//! One node, wired: store, auth, pipeline stages, sources, the HTTP API, the bus relay and
//! housekeeping, started together and stopped together.
//!
//! Shutdown order: the sources and the HTTP listener stop taking input; the journal
//! writes what it already holds and closes; fusion, threat and the recorder drain behind
//! it; the store closes last. Nothing accepted is dropped on the way.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use dronewatch_bus::{Bus, BusConfig, RelayStats};
use dronewatch_fusion::Tracker;
use dronewatch_geo::EnuFrame;
use dronewatch_model::{Sensor, SensorId};
use dronewatch_store::{Chain, Store};
use dronewatch_threat::{AlertBook, AllowList, ThreatAssessor, Warner};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::api::{self, AppState};
use crate::auth::Auth;
use crate::config::{AdsbSection, NodeRole, ServerConfig};
use crate::live::LiveHub;
use crate::metrics::Metrics;
use crate::pipeline::Ingest;
use crate::pipeline::fusion::FusionStage;
use crate::pipeline::journal::{Journal, JournalOutputs};
use crate::pipeline::recorder::Recorder;
use crate::pipeline::threat::{SectorPosture, ThreatStage, ThreatView};
use crate::relay::ChainOutbox;
use crate::sources::SourceEvent;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("store: {0}")]
    Store(#[from] dronewatch_store::StoreError),
    #[error("auth: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("bus: {0}")]
    Bus(#[from] dronewatch_bus::BusError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Io { what, source }
}

/// A running node.
#[derive(Debug)]
pub struct RunningNode {
    pub http_addr: SocketAddr,
    pub sapient_addr: Option<SocketAddr>,
    /// The admin password generated on first start (print it once), if any.
    pub generated_admin_password: Option<String>,
    pub store: Store,
    pub metrics: Metrics,
    pub hub: LiveHub,
    pub ingest: Ingest,
    shutdown: CancellationToken,
    http: axum_server::Handle<SocketAddr>,
    tasks: JoinSet<()>,
    /// Stages that end by themselves once their inputs close; awaited after the others.
    pipeline: JoinSet<()>,
}

impl RunningNode {
    /// A token that stops the node when cancelled (e.g. by Ctrl-C).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops taking input, drains the pipeline, and waits (at most `grace`).
    pub async fn stop(mut self, grace: Duration) {
        self.shutdown.cancel();
        self.http.graceful_shutdown(Some(grace / 2));
        let drain = async {
            while self.tasks.join_next().await.is_some() {}
            // The API's handles to the pipeline go with the server's tasks; drop ours.
            drop(self.ingest);
            while self.pipeline.join_next().await.is_some() {}
        };
        if tokio::time::timeout(grace, drain).await.is_err() {
            warn!(
                grace_s = grace.as_secs_f64(),
                "shutdown grace over; stopping the rest"
            );
        }
        info!("node stopped");
    }

    /// Runs until the shutdown token is cancelled, then stops.
    pub async fn run_until_stopped(self, grace: Duration) {
        self.shutdown.cancelled().await;
        self.stop(grace).await;
    }
}

/// Starts a node as configured; on first start the admin password comes from
/// `DRONEWATCH_ADMIN_PASSWORD`, or is generated.
pub async fn start(cfg: ServerConfig) -> Result<RunningNode, NodeError> {
    start_with_admin_password(cfg, std::env::var("DRONEWATCH_ADMIN_PASSWORD").ok()).await
}

/// Starts a node; on first start (no users yet) `admin` gets `admin_password`, or a
/// generated one when `None`.
pub async fn start_with_admin_password(
    cfg: ServerConfig,
    admin_password: Option<String>,
) -> Result<RunningNode, NodeError> {
    crate::install_crypto_provider();
    if let Some(path) = &cfg.ui.pmtiles {
        api::ui::check_pmtiles(path).map_err(NodeError::Invalid)?;
    }
    std::fs::create_dir_all(&cfg.data_dir).map_err(io(format!(
        "creating the data directory {}",
        cfg.data_dir.display()
    )))?;
    let store = Store::open(&cfg.store_url()).await?;
    info!(backend = store.backend(), url = %redact(&cfg.store_url()), "store open");
    let auth = Auth::new(store.clone(), cfg.auth.clone(), &cfg.data_dir).await?;
    let generated_admin_password = auth.bootstrap_admin(admin_password).await?;
    let metrics = Metrics::new();
    let hub = LiveHub::new();
    let shutdown = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut pipeline = JoinSet::new();
    let committed = Arc::new(Notify::new());

    let (sensors_tx, sensors_rx) = mpsc::channel::<SourceEvent>(cfg.pipeline.ingest_queue);
    let (submit_tx, submit_rx) = mpsc::channel(cfg.pipeline.ingest_queue);
    let ingest = Ingest::new(submit_tx);
    let (threat_tx, threat_rx) = mpsc::channel(64);
    let (recorder_tx, recorder_rx) = mpsc::channel(256);
    let ready = Arc::new(AtomicBool::new(false));
    let (context, zones) = api::context::SectorContext::load(
        &cfg.data_dir,
        EnuFrame::new(cfg.fusion.origin),
        cfg.threat.zones_file.as_deref(),
        &cfg.threat.allow_list,
    )
    .map_err(NodeError::Invalid)?;
    let context = Arc::new(context);
    let bulletins = Arc::new(
        api::bulletins::BulletinBoard::load(&cfg.data_dir, cfg.threat.posture.clone())
            .map_err(NodeError::Invalid)?,
    );
    // The bulletins kept from before set the posture from the first assessment (nothing
    // else is queued to the stage yet; an HQ node has no threat stage to tell).
    let _ = threat_tx.try_send(crate::pipeline::threat::ThreatCommand::SetPosture(
        bulletins.windows(),
    ));
    let exercise = Arc::new(watch::Sender::new(
        api::exercise::ExerciseState::load(&cfg.data_dir).map_err(NodeError::Invalid)?,
    ));

    match cfg.node.role {
        NodeRole::Sector => {
            start_sector_pipeline(
                &cfg,
                &store,
                &metrics,
                &hub,
                &ingest,
                sensors_rx,
                submit_rx,
                threat_rx,
                (zones, context.allow_rx(), exercise.subscribe()),
                recorder_tx.clone(),
                recorder_rx,
                committed.clone(),
                &shutdown,
                &mut pipeline,
            )?;
        }
        NodeRole::Hq => {
            crate::hq::start(
                &cfg,
                &store,
                &metrics,
                &hub,
                submit_rx,
                recorder_rx,
                committed.clone(),
                &shutdown,
                &mut pipeline,
                &mut tasks,
            )
            .await?;
            drop(sensors_rx);
            drop(threat_rx);
        }
    }
    drop(recorder_tx);

    let sapient_addr = if cfg.node.role == NodeRole::Sector {
        place_posts(&cfg, &ingest).await?;
        start_sources(&cfg, &sensors_tx, &ingest, &shutdown, &mut tasks).await?
    } else {
        None
    };
    drop(sensors_tx);

    if !cfg.bus.url.is_empty() && cfg.node.role == NodeRole::Sector {
        start_relay(
            &cfg,
            &store,
            &metrics,
            committed.clone(),
            &shutdown,
            &mut tasks,
        )
        .await?;
    }
    start_housekeeping(&cfg, &store, &shutdown, &mut tasks);
    let delivery = crate::delivery::start(
        &cfg.delivery,
        crate::delivery::DeliveryContext {
            hub: hub.clone(),
            ingest: ingest.clone(),
            metrics: metrics.clone(),
            sector: cfg.node.sector.clone(),
            node: cfg.node.name.clone(),
            data_dir: cfg.data_dir.clone(),
            origin: cfg.fusion.origin,
        },
        &shutdown,
        &mut tasks,
    )
    .map_err(NodeError::Invalid)?;

    let state = AppState {
        exercise,
        ingest: ingest.clone(),
        hub: hub.clone(),
        store: store.clone(),
        auth,
        metrics: metrics.clone(),
        threat: threat_tx,
        http: Arc::new(cfg.http.clone()),
        sector: cfg.node.sector.clone(),
        node: cfg.node.name.clone(),
        blobs_dir: cfg.data_dir.join("photos"),
        data_dir: cfg.data_dir.clone(),
        limits: Arc::new(api::Limits::new(&cfg.http)),
        ready: ready.clone(),
        started: Instant::now(),
        sensor_json: Arc::new(
            dronewatch_sensorjson::SensorJson::new(
                dronewatch_sensorjson::TopicLayout::default(),
                dronewatch_sensorjson::Options::default(),
            )
            .map_err(|e| NodeError::Invalid(format!("sensor JSON schema: {e}")))?,
        ),
        ui: Arc::new(api::ui::UiConfig {
            sector: cfg.node.sector.clone(),
            center: cfg.fusion.origin.into(),
            zoom: cfg.ui.zoom,
            tile_url: cfg.ui.tile_url.clone(),
            pmtiles_url: cfg
                .ui
                .pmtiles
                .as_ref()
                .map(|_| api::ui::PMTILES_PATH.to_owned()),
        }),
        basemap_pmtiles: cfg.ui.pmtiles.clone().map(Arc::new),
        context,
        bulletins,
        delivery,
    };
    let limits = state.limits.clone();
    let stop = shutdown.clone();
    let m = metrics.clone();
    let ingest_for_gauge = ingest.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut n = 0u64;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            m.sample_process();
            m.ingest_queue.set(ingest_for_gauge.queued() as i64);
            n += 1;
            if n.is_multiple_of(30) {
                limits.forget_quiet();
            }
        }
    });
    let (http, http_addr) = start_http(&cfg, state, &mut tasks).await?;
    ready.store(true, std::sync::atomic::Ordering::Relaxed);
    info!(%http_addr, tls = cfg.http.tls_cert.is_some(), sector = %cfg.node.sector, role = ?cfg.node.role, "dronewatch node running");
    Ok(RunningNode {
        http_addr,
        sapient_addr,
        generated_admin_password,
        store,
        metrics,
        hub,
        ingest,
        shutdown,
        http,
        tasks,
        pipeline,
    })
}

#[allow(clippy::too_many_arguments)]
fn start_sector_pipeline(
    cfg: &ServerConfig,
    store: &Store,
    metrics: &Metrics,
    hub: &LiveHub,
    ingest: &Ingest,
    sensors_rx: mpsc::Receiver<SourceEvent>,
    submit_rx: mpsc::Receiver<crate::pipeline::Submission>,
    threat_rx: mpsc::Receiver<crate::pipeline::threat::ThreatCommand>,
    (zones, allow_rx, exercise_rx): (
        Vec<dronewatch_threat::Zone>,
        watch::Receiver<Arc<AllowList>>,
        watch::Receiver<api::exercise::ExerciseState>,
    ),
    recorder_tx: mpsc::Sender<Vec<dronewatch_store::NewEvent>>,
    recorder_rx: mpsc::Receiver<Vec<dronewatch_store::NewEvent>>,
    committed: Arc<Notify>,
    shutdown: &CancellationToken,
    pipeline: &mut JoinSet<()>,
) -> Result<(), NodeError> {
    let origin = cfg.fusion.origin;
    let sensors = load_sensors(cfg.fusion.sensors_file.as_deref())?;
    {
        let mut board = crate::live::lock(&hub.boards.sensors);
        for s in &sensors {
            board.insert(s.id.0.clone(), crate::pipeline::journal::listed_sensor(s));
        }
    }
    let allow = AllowList::clone(&allow_rx.borrow());
    let tracker = Tracker::new(
        cfg.fusion.tracker_config()?,
        origin,
        crate::clock::now(),
        &sensors,
    );
    let (fusion_tx, fusion_rx) = mpsc::channel(64);
    let (agents_tx, agents_rx) = mpsc::channel(4096);
    let (tracks_tx, tracks_rx) = watch::channel(Arc::new(Vec::new()));
    let (view_tx, view_rx) = watch::channel(Arc::new(ThreatView::default()));

    let journal_busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let journal = Journal {
        store: store.clone(),
        sensors_rx,
        submissions_rx: submit_rx,
        out: JournalOutputs {
            fusion: Some(fusion_tx),
            agents: Some(agents_tx),
            hub: hub.clone(),
            busy: journal_busy.clone(),
        },
        metrics: metrics.clone(),
        max_batch: cfg.pipeline.journal_batch,
        committed: committed.clone(),
    };
    pipeline.spawn(journal.run(shutdown.clone()));
    let fusion = FusionStage {
        tracker,
        rx: fusion_rx,
        hub: hub.clone(),
        threat_view: view_rx,
        tracks_tx,
        recorder: recorder_tx.clone(),
        metrics: metrics.clone(),
        sector: cfg.node.sector.clone(),
        allow: allow_rx,
        exercise: exercise_rx,
        reorder_lag_s: cfg.fusion.reorder_lag_s,
        publish_interval: Duration::from_millis(cfg.fusion.publish_interval_ms.max(1)),
        track_record_interval_s: cfg.pipeline.track_record_interval_s,
        journal_busy,
    };
    // The tracker is the one stage that is all CPU: on a thread of its own the operating
    // system shares the cores between it and the socket tasks, instead of fusion waiting
    // in a run queue behind a thousand WebSocket clients.
    pipeline.spawn_blocking(move || {
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(fusion.run()),
            Err(e) => tracing::error!(error = %e, "fusion: no runtime; no tracks"),
        }
    });
    let threat = ThreatStage {
        warner: Warner::new(cfg.threat.warner.clone(), origin, allow.clone()),
        assessor: ThreatAssessor::new(cfg.threat.rules.clone(), origin, zones, allow),
        book: AlertBook::new(cfg.threat.alerts.clone()),
        tracks_rx,
        agents_rx,
        commands_rx: threat_rx,
        view_tx,
        hub: hub.clone(),
        recorder: recorder_tx,
        ingest: ingest.clone(),
        metrics: metrics.clone(),
        sector: cfg.node.sector.clone(),
        interval: Duration::from_millis(cfg.threat.picture_interval_ms.max(10)),
        posture: SectorPosture::new(
            cfg.threat.posture.clone(),
            cfg.threat.warner.clone(),
            cfg.threat.rules.clone(),
        ),
    };
    pipeline.spawn(threat.run(shutdown.clone()));
    let recorder = Recorder {
        store: store.clone(),
        rx: recorder_rx,
        metrics: metrics.clone(),
        max_batch: cfg.pipeline.journal_batch,
        committed,
    };
    pipeline.spawn(recorder.run());
    Ok(())
}

/// Sensor metadata from a benchmark-format `sensors.json`, if configured.
fn load_sensors(path: Option<&Path>) -> Result<Vec<Sensor>, NodeError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text =
        std::fs::read_to_string(path).map_err(io(format!("sensors file {}", path.display())))?;
    let scenario = dronewatch_sim::scenario::parse_sensors_json(&text)
        .map_err(|e| NodeError::Invalid(format!("sensors file {}: {e}", path.display())))?;
    Ok(scenario.sensors)
}

/// Puts the staffed posts of `[[threat.posts]]` on the picture: one position each, journaled
/// like any agent's, at every start.
async fn place_posts(cfg: &ServerConfig, ingest: &Ingest) -> Result<(), NodeError> {
    let now = crate::clock::now();
    for post in &cfg.threat.posts {
        let fix = dronewatch_model::AgentFix {
            agent_id: dronewatch_model::AgentId::new(post.agent.clone()),
            t: now,
            position: post.position,
        };
        ingest
            .submit(crate::pipeline::Input::AgentFix(fix))
            .await
            .map_err(|e| NodeError::Invalid(format!("threat.posts: {e}")))?;
    }
    Ok(())
}

async fn start_sources(
    cfg: &ServerConfig,
    sensors_tx: &mpsc::Sender<SourceEvent>,
    ingest: &Ingest,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<Option<SocketAddr>, NodeError> {
    let mut sapient_addr = None;
    if cfg.sources.sapient.enabled {
        let mut scfg = crate::sources::sapient::SapientSourceConfig {
            bind: cfg.sources.sapient.bind,
            max_connections: cfg.sources.sapient.max_connections,
            ..Default::default()
        };
        scfg.session.sensor_ids = cfg.sources.sapient.sensor_ids;
        let src = crate::sources::sapient::SapientSource::bind(scfg)
            .await
            .map_err(io(format!("SAPIENT listener {}", cfg.sources.sapient.bind)))?;
        sapient_addr = Some(src.local_addr().map_err(io("SAPIENT listener address"))?);
        tasks.spawn(src.run(sensors_tx.clone(), shutdown.clone()));
    }
    #[cfg(feature = "mqtt")]
    if cfg.sources.mqtt.enabled {
        use crate::sources::mqtt;
        let m = &cfg.sources.mqtt;
        let layout = dronewatch_sensorjson::TopicLayout::new(&m.prefix)
            .map_err(|e| NodeError::Invalid(format!("sources.mqtt.prefix: {e}")))?;
        let filter = if m.all_sectors {
            layout.filter_all()
        } else {
            layout.filter_sector(&cfg.node.sector)
        };
        let mut mcfg =
            mqtt::MqttConfig::new(m.host.clone(), m.port, m.client_id.clone()).with_layout(layout);
        mcfg.topic_filter = filter;
        if let (Some(u), Some(p)) = (&m.username, &m.password) {
            mcfg.credentials = Some((u.clone(), p.clone()));
        }
        let stats = Arc::new(mqtt::MqttStats::default());
        let ingest = ingest.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = mqtt::run_journaled(mcfg, ingest, stats, stop).await {
                error!(error = %e, "MQTT source did not start");
            }
        });
    }
    #[cfg(not(feature = "mqtt"))]
    if cfg.sources.mqtt.enabled {
        return Err(NodeError::Invalid(
            "sources.mqtt: this build has no MQTT support (feature `mqtt`)".into(),
        ));
    }
    let _ = ingest;
    for a in &cfg.sources.adsb {
        let feed = adsb_feed(a)?;
        let table = dronewatch_adsb::TableConfig::new(SensorId::new(a.sensor_id.clone()));
        let src = crate::sources::adsb::AdsbSource::new(
            crate::sources::adsb::AdsbSourceConfig::new(feed, table),
        );
        tasks.spawn(src.run(sensors_tx.clone(), shutdown.clone()));
    }
    Ok(sapient_addr)
}

fn adsb_feed(a: &AdsbSection) -> Result<crate::sources::adsb::AdsbFeed, NodeError> {
    use crate::sources::adsb::{AdsbFeed, JsonLocation};
    Ok(match a.kind.as_str() {
        "beast" => AdsbFeed::Beast {
            addr: a.address.clone(),
        },
        "sbs" => AdsbFeed::Sbs {
            addr: a.address.clone(),
        },
        "aircraft_json" => AdsbFeed::AircraftJson {
            location: if a.address.starts_with("http://") || a.address.starts_with("https://") {
                JsonLocation::Http(a.address.clone())
            } else {
                JsonLocation::File(a.address.clone().into())
            },
            interval: Duration::from_secs(1),
        },
        other => {
            return Err(NodeError::Invalid(format!(
                "sources.adsb kind {other:?}: beast, sbs or aircraft_json"
            )));
        }
    })
}

async fn start_relay(
    cfg: &ServerConfig,
    store: &Store,
    metrics: &Metrics,
    committed: Arc<Notify>,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<(), NodeError> {
    let bus = Bus::connect(&BusConfig {
        url: Some(cfg.bus.url.clone()),
        max_age_s: cfg.bus.max_age_s,
        duplicate_window_s: cfg.bus.duplicate_window_s,
    })
    .await?;
    info!(bus = bus.kind(), url = %cfg.bus.url, "bus connected (publishing from the event log)");
    for chain in Chain::ALL {
        let outbox = ChainOutbox::new(store.clone(), chain, cfg.node.sector.clone());
        let stats = Arc::new(RelayStats::default());
        tasks.spawn(dronewatch_bus::relay(
            outbox,
            bus.clone(),
            committed.clone(),
            stats.clone(),
            shutdown.clone(),
        ));
        tasks.spawn(crate::relay::report_stats(
            stats,
            metrics.clone(),
            shutdown.clone(),
        ));
    }
    Ok(())
}

fn start_housekeeping(
    cfg: &ServerConfig,
    store: &Store,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let r = cfg.retention.clone();
    let store = store.clone();
    let stop = shutdown.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(r.prune_interval_s.max(1)));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            for (chain, days) in [
                (Chain::Observations, r.observations_days),
                (Chain::Tracks, r.tracks_days),
                (Chain::Records, r.records_days),
            ] {
                if days <= 0.0 {
                    continue;
                }
                let before = crate::clock::now().plus_secs(-days * 86_400.0);
                match store.prune(chain, before).await {
                    Ok(0) => {}
                    Ok(n) => info!(
                        chain = chain.as_str(),
                        deleted = n,
                        days,
                        "retention: pruned"
                    ),
                    Err(e) => warn!(chain = chain.as_str(), error = %e, "retention: prune failed"),
                }
            }
        }
    });
}

async fn start_http(
    cfg: &ServerConfig,
    state: AppState,
    tasks: &mut JoinSet<()>,
) -> Result<(axum_server::Handle<SocketAddr>, SocketAddr), NodeError> {
    let listener = std::net::TcpListener::bind(cfg.http.bind)
        .map_err(io(format!("HTTP listener {}", cfg.http.bind)))?;
    let addr = listener.local_addr().map_err(io("HTTP listener address"))?;
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    match (&cfg.http.tls_cert, &cfg.http.tls_key) {
        (Some(cert), Some(key)) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(io(format!(
                    "TLS certificate {} / key {}",
                    cert.display(),
                    key.display()
                )))?;
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(io("HTTP listener"))?
                .handle(handle.clone());
            tasks.spawn(async move {
                if let Err(e) = server.serve(app).await {
                    error!(error = %e, "HTTPS server stopped");
                }
            });
        }
        _ => {
            let server = axum_server::from_tcp(listener)
                .map_err(io("HTTP listener"))?
                .handle(handle.clone());
            tasks.spawn(async move {
                if let Err(e) = server.serve(app).await {
                    error!(error = %e, "HTTP server stopped");
                }
            });
        }
    }
    Ok((handle, addr))
}

/// A URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("postgres://dw:secret@db:5432/dw"),
            "postgres://dw:***@db:5432/dw"
        );
        assert_eq!(redact("postgres://dw@db/dw"), "postgres://dw@db/dw");
        assert_eq!(redact("/var/lib/dw.db"), "/var/lib/dw.db");
    }
}
