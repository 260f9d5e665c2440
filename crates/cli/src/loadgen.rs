//! The load generator behind `dronewatch loadgen`: a synthetic sky (`dronewatch_sim::load`)
//! sent live over SAPIENT to a running node, many WebSocket clients reading the live
//! stream, and the node's own metrics scraped along the way.
//!
//! Latency is measured end to end without trusting the server's clocks more than the
//! client's: each observation is stamped with the wall time at which it is sent (both run on
//! one machine), and each `tracks` message says up to which observation time the picture is
//! complete (`processed_to_unix_ns`). An observation is shown by the first message whose
//! `processed_to` reaches its time; the observations a message newly covers were sent
//! after the previous message's `processed_to`, so `received − previous processed_to` is
//! the latency of the oldest of them: the worst case, which is what is reported.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dronewatch_sim::load::{LoadConfig, LoadScene};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use dronewatch_server::clock;
use dronewatch_server::sapient_sensor::{SapientLink, SensorClientError};

#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// The node's HTTP address and SAPIENT listener.
    pub http: SocketAddr,
    pub sapient: SocketAddr,
    pub username: String,
    pub password: String,
    pub load: LoadConfig,
    pub duration: Duration,
    /// Samples before this are left out of the figures (tracks start, caches fill).
    pub warmup: Duration,
    /// Clients that take every update (latency is measured on them).
    pub ws_realtime: usize,
    /// Clients at 1 Hz (whole picture once a second).
    pub ws_1hz: usize,
    /// WebSocket connections opened per second (the server rate-limits per token).
    pub ws_connects_per_s: f64,
    /// Side of the square area each 1 Hz client watches, around a point of its own in the
    /// sky [km] (a phone follows its agent's surroundings); `None`: the whole picture.
    pub ws_1hz_box_km: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    #[error("login: {0}")]
    Login(String),
    #[error("SAPIENT: {0}")]
    Sapient(#[from] SensorClientError),
    #[error("{0}")]
    Other(String),
}

/// Percentiles of a set of samples [ms].
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        Self {
            samples: v.len(),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: v[v.len() - 1],
        }
    }
}

/// One scrape of the node's metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerSample {
    pub at_s: f64,
    pub rss_bytes: f64,
    pub tracks: f64,
    pub observations_journaled: f64,
    pub observations_refused: f64,
    pub ws_clients: f64,
    pub ws_lagged: f64,
    pub ingest_queue: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub duration_s: f64,
    pub target_rate_per_s: f64,
    pub observations_sent: u64,
    pub sent_rate_per_s: f64,
    /// Observations the node journaled during the run (from its metrics).
    pub observations_journaled: u64,
    pub observations_refused: u64,
    /// End-to-end latency after warm-up, worst case per `tracks` message.
    pub latency: Percentiles,
    /// Per-second maximum of how far the sender fell behind its schedule [ms].
    pub sender_lag: Percentiles,
    pub ws_clients_connected: u64,
    pub ws_clients_failed: u64,
    pub ws_messages: u64,
    pub ws_bytes: u64,
    /// 1 Hz clients: time between snapshots after warm-up.
    pub snapshot_interval: Percentiles,
    pub ws_disconnects: u64,
    pub ws_lagged: u64,
    /// Resident memory after warm-up: first, last and highest sample [MiB].
    pub rss_mib_after_warmup: [f64; 3],
    pub tracks_after_warmup: [f64; 2],
    pub samples: Vec<ServerSample>,
}

#[derive(Debug, Default)]
struct WsCounters {
    connected: AtomicU64,
    failed: AtomicU64,
    messages: AtomicU64,
    bytes: AtomicU64,
    disconnects: AtomicU64,
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<String, LoadgenError> {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .map_err(|e| LoadgenError::Login(e.to_string()))?;
    if !r.status().is_success() {
        return Err(LoadgenError::Login(format!("{}", r.status())));
    }
    let v: serde_json::Value = r
        .json()
        .await
        .map_err(|e| LoadgenError::Login(e.to_string()))?;
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| LoadgenError::Login("no access_token".into()))
}

/// Runs the load; returns the figures.
pub async fn run(cfg: LoadgenConfig) -> Result<LoadReport, LoadgenError> {
    let base = format!("http://{}", cfg.http);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| LoadgenError::Other(e.to_string()))?;
    let token = login(&http, &base, &cfg.username, &cfg.password).await?;
    let stop = CancellationToken::new();
    let started = Instant::now();
    let counters = Arc::new(WsCounters::default());
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let intervals = Arc::new(Mutex::new(Vec::<f64>::new()));

    // Clients first, paced, so the picture is watched from the start.
    let mut clients = tokio::task::JoinSet::new();
    let total = cfg.ws_realtime + cfg.ws_1hz;
    let pace = Duration::from_secs_f64(1.0 / cfg.ws_connects_per_s.max(1.0));
    let mut rng = dronewatch_sim::rng::Rng::new(cfg.load.seed ^ 0x5eed);
    for k in 0..total {
        let realtime = k < cfg.ws_realtime;
        let bbox = match cfg.ws_1hz_box_km.filter(|_| !realtime) {
            Some(side_km) => {
                let o = cfg.load.origin;
                let (r, a) = (
                    cfg.load.area_radius_m * rng.uniform().sqrt(),
                    std::f64::consts::TAU * rng.uniform(),
                );
                let m_per_deg_lat = 111_320.0;
                let m_per_deg_lon = m_per_deg_lat * o.lat_deg.to_radians().cos();
                let (lat, lon) = (
                    o.lat_deg + r * a.cos() / m_per_deg_lat,
                    o.lon_deg + r * a.sin() / m_per_deg_lon,
                );
                let (dlat, dlon) = (
                    side_km * 500.0 / m_per_deg_lat,
                    side_km * 500.0 / m_per_deg_lon,
                );
                format!(
                    "&bbox={},{},{},{}",
                    lon - dlon,
                    lat - dlat,
                    lon + dlon,
                    lat + dlat
                )
            }
            None => String::new(),
        };
        let url = format!(
            "ws://{}/api/v1/stream?kinds=tracks,alerts&rate_ms={}{bbox}&access_token={token}",
            cfg.http,
            if realtime { 0 } else { 1000 }
        );
        clients.spawn(ws_client(
            url,
            realtime,
            started + cfg.warmup,
            counters.clone(),
            latencies.clone(),
            intervals.clone(),
            stop.clone(),
        ));
        tokio::time::sleep(pace).await;
    }
    info!(clients = total, "WebSocket clients started");

    let scraper = tokio::spawn(scrape(
        http.clone(),
        base.clone(),
        token.clone(),
        started,
        stop.clone(),
    ));
    let feed_started = Instant::now();
    let (sent, sender_lag) = feed(&cfg, feed_started, started + cfg.warmup).await?;
    let elapsed = feed_started.elapsed().as_secs_f64();
    // Let the last updates arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    let samples = scraper.await.unwrap_or_default();
    while clients.join_next().await.is_some() {}

    let warm = cfg.warmup.as_secs_f64();
    let after: Vec<&ServerSample> = samples.iter().filter(|s| s.at_s >= warm).collect();
    let first = samples
        .iter()
        .find(|s| s.at_s >= feed_started.duration_since(started).as_secs_f64());
    let last = samples.last();
    let mib = |s: &ServerSample| s.rss_bytes / (1024.0 * 1024.0);
    let report = LoadReport {
        duration_s: elapsed,
        target_rate_per_s: cfg.load.rate_per_s(),
        observations_sent: sent,
        sent_rate_per_s: sent as f64 / elapsed,
        observations_journaled: match (first, last) {
            (Some(a), Some(b)) => (b.observations_journaled - a.observations_journaled) as u64,
            _ => 0,
        },
        observations_refused: last.map_or(0, |s| s.observations_refused as u64),
        latency: Percentiles::of(latencies.lock().await.clone()),
        sender_lag: Percentiles::of(sender_lag),
        ws_clients_connected: counters.connected.load(Ordering::Relaxed),
        ws_clients_failed: counters.failed.load(Ordering::Relaxed),
        ws_messages: counters.messages.load(Ordering::Relaxed),
        ws_bytes: counters.bytes.load(Ordering::Relaxed),
        snapshot_interval: Percentiles::of(intervals.lock().await.clone()),
        ws_disconnects: counters.disconnects.load(Ordering::Relaxed),
        ws_lagged: last.map_or(0, |s| s.ws_lagged as u64),
        rss_mib_after_warmup: [
            after.first().map_or(0.0, |s| mib(s)),
            after.last().map_or(0.0, |s| mib(s)),
            after.iter().map(|s| mib(s)).fold(0.0, f64::max),
        ],
        tracks_after_warmup: [
            after.iter().map(|s| s.tracks).fold(f64::INFINITY, f64::min),
            after.iter().map(|s| s.tracks).fold(0.0, f64::max),
        ],
        samples,
    };
    Ok(report)
}

/// Sends the sky live: every 5 ms, whatever is due. Returns the count sent and, per second
/// after warm-up, how far behind schedule the sender was at worst.
async fn feed(
    cfg: &LoadgenConfig,
    started: Instant,
    warm_at: Instant,
) -> Result<(u64, Vec<f64>), LoadgenError> {
    let epoch = clock::now();
    let mut scene = LoadScene::new(cfg.load.clone(), epoch);
    let mut link = SapientLink::connect(cfg.sapient, 5.0).await?;
    let sensors: Vec<(String, dronewatch_model::SensorKind)> = scene
        .sensors()
        .into_iter()
        .map(|s| (s.id.0, s.kind))
        .collect();
    link.register(&sensors, epoch, Duration::from_secs(10))
        .await?;
    let mut buf = Vec::new();
    let mut sent = 0u64;
    let mut lag_per_s = Vec::new();
    let mut worst_this_s = 0.0f64;
    let mut second = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let elapsed = started.elapsed();
        if elapsed >= cfg.duration {
            break;
        }
        // Stamp by wall time at sending: scene time 0 is `epoch`.
        let t_s = clock::now().secs_since(epoch);
        buf.clear();
        scene.step_until(t_s, &mut buf);
        if let Some(oldest) = buf.first() {
            let behind_ms = clock::now().secs_since(oldest.t) * 1e3;
            worst_this_s = worst_this_s.max(behind_ms);
        }
        for obs in &buf {
            link.push(obs).await?;
        }
        link.flush().await?;
        sent += buf.len() as u64;
        let s = elapsed.as_secs();
        if s != second {
            if Instant::now() >= warm_at {
                lag_per_s.push(worst_this_s);
            }
            worst_this_s = 0.0;
            second = s;
        }
    }
    let _ = link.finish(clock::now()).await;
    Ok((sent, lag_per_s))
}

/// Pulls a number out of `"key":123` without parsing the whole message.
fn json_i64(text: &str, key: &str) -> Option<i64> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start_matches([':', ' ', '"']);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[allow(clippy::too_many_arguments)]
async fn ws_client(
    url: String,
    realtime: bool,
    warm_at: Instant,
    counters: Arc<WsCounters>,
    latencies: Arc<Mutex<Vec<f64>>>,
    intervals: Arc<Mutex<Vec<f64>>>,
    stop: CancellationToken,
) {
    // Each read that finds the socket empty zeroes the read buffer's free part: keep it
    // near the size of a message so a thousand clients do not spend the CPU on memset.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(32 * 1024);
    let ws = match tokio_tungstenite::connect_async_with_config(&url, Some(config), true).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            warn!(error = %e, "WebSocket connect failed");
            counters.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    counters.connected.fetch_add(1, Ordering::Relaxed);
    let (_write, mut read) = ws.split();
    let mut prev_processed: Option<i64> = None;
    let mut last_snapshot: Option<Instant> = None;
    let mut lat = Vec::new();
    let mut ivs = Vec::new();
    loop {
        let msg = tokio::select! {
            _ = stop.cancelled() => break,
            m = read.next() => m,
        };
        let Some(Ok(msg)) = msg else {
            counters.disconnects.fetch_add(1, Ordering::Relaxed);
            break;
        };
        let tokio_tungstenite::tungstenite::Message::Text(text) = msg else {
            continue;
        };
        let now_ns = clock::now().0;
        counters.messages.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(text.len() as u64, Ordering::Relaxed);
        let warm = Instant::now() >= warm_at;
        if realtime && text.starts_with("{\"type\":\"tracks\"") {
            let processed = json_i64(&text, "\"processed_to_unix_ns\"");
            if let (Some(prev), Some(p)) = (prev_processed, processed)
                && warm
                && p > prev
            {
                lat.push((now_ns - prev) as f64 / 1e6);
            }
            if processed.is_some() {
                prev_processed = processed.max(prev_processed);
            }
        } else if !realtime && text.starts_with("{\"type\":\"snapshot\"") {
            let now = Instant::now();
            if let Some(prev) = last_snapshot
                && warm
            {
                ivs.push(now.duration_since(prev).as_secs_f64() * 1e3);
            }
            last_snapshot = Some(now);
        }
    }
    latencies.lock().await.extend(lat);
    intervals.lock().await.extend(ivs);
}

/// Reads `/metrics` every 2 s until stopped.
async fn scrape(
    http: reqwest::Client,
    base: String,
    token: String,
    started: Instant,
    stop: CancellationToken,
) -> Vec<ServerSample> {
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let Ok(r) = http
            .get(format!("{base}/metrics"))
            .bearer_auth(&token)
            .send()
            .await
        else {
            continue;
        };
        let Ok(text) = r.text().await else { continue };
        let m = parse_metrics(&text);
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0);
        let sum = |prefix: &str| {
            m.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v)
                .sum::<f64>()
        };
        out.push(ServerSample {
            at_s: started.elapsed().as_secs_f64(),
            rss_bytes: get("dronewatch_process_resident_bytes"),
            tracks: get("dronewatch_tracks"),
            observations_journaled: get("dronewatch_journaled_events_total{kind=\"observation\"}"),
            observations_refused: sum("dronewatch_observations_refused_total"),
            ws_clients: get("dronewatch_ws_clients"),
            ws_lagged: get("dronewatch_ws_lagged_total"),
            ingest_queue: get("dronewatch_ingest_queue"),
        });
    }
    out
}

/// `name{labels} value` lines of an OpenMetrics text.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// `dronewatch loadgen`.
pub fn run_cmd(args: &crate::LoadgenArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let password = match &args.password {
        Some(p) => p.clone(),
        None => std::env::var("DRONEWATCH_ADMIN_PASSWORD")
            .context("--password or DRONEWATCH_ADMIN_PASSWORD is needed")?,
    };
    let cfg = LoadgenConfig {
        http: args.http,
        sapient: args.sapient,
        username: args.user.clone(),
        password,
        load: LoadConfig {
            drones: args.drones,
            radars: args.radars,
            radar_period_s: args.radar_period_s,
            ..LoadConfig::default()
        },
        duration: Duration::from_secs_f64(args.duration_s),
        warmup: Duration::from_secs_f64(args.warmup_s.min(args.duration_s)),
        ws_realtime: args.ws_realtime,
        ws_1hz: args.ws_1hz,
        ws_connects_per_s: 80.0,
        ws_1hz_box_km: (args.ws_1hz_box_km > 0.0).then_some(args.ws_1hz_box_km),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = rt.block_on(run(cfg))?;
    let json = serde_json::to_string_pretty(&report)?;
    println!("{json}");
    if let Some(out) = &args.out {
        std::fs::write(out, &json).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_out_of_messages() {
        let m =
            r#"{"type":"tracks","processed_to_unix_ns":1764672000000000000,"published_unix_ns":5}"#;
        assert_eq!(
            json_i64(m, "\"processed_to_unix_ns\""),
            Some(1_764_672_000_000_000_000)
        );
        assert_eq!(json_i64(m, "\"nope\""), None);
    }

    #[test]
    fn percentiles_of_a_known_set() {
        let p = Percentiles::of((1..=100).map(f64::from).collect());
        assert_eq!(p.samples, 100);
        assert_eq!(p.max_ms, 100.0);
        assert!((p.p50_ms - 50.0).abs() <= 1.0);
        assert!((p.p99_ms - 99.0).abs() <= 1.0);
    }

    #[test]
    fn metrics_lines_parse() {
        let m = parse_metrics(
            "# HELP x\ndronewatch_tracks 500\ndronewatch_journaled_events_total{kind=\"observation\"} 12\n# EOF\n",
        );
        assert_eq!(m.get("dronewatch_tracks"), Some(&500.0));
        assert_eq!(
            m.get("dronewatch_journaled_events_total{kind=\"observation\"}"),
            Some(&12.0)
        );
    }
}
