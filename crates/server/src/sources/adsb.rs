//! ADS-B sources, for deconfliction: manned aircraft become cooperative observations
//! (`SensorKind::Adsb`) that fusion keeps apart from drones.
//!
//! Three feeds, one [`AdsbSource`] each, all decoding through `dronewatch-adsb`:
//!
//! * **Beast** binary (dump1090/readsb output port 30005): a TCP client; bytes go through
//!   the incremental [`BeastDecoder`], frames through rs1090 into the [`AircraftTable`].
//! * **SBS-1 / BaseStation** CSV (port 30003): a TCP client reading `\n`-terminated lines.
//! * **aircraft.json** (readsb / dump1090): polled from a file path or an `http://` or
//!   `https://` URL.
//!   HTTP is a minimal HTTP/1.0 `GET` written here on tokio's `TcpStream` (no TLS, no
//!   redirects, no chunked bodies: HTTP/1.0 servers send none), to keep the laptop build
//!   free of an HTTP client stack.
//!
//! Observation times are our receive time for Beast and SBS (the Beast counter is not a
//! clock, and SBS times are the receiver's local time in an unknown zone), and the file's
//! own `now` minus `seen_pos` for aircraft.json.
//!
//! A bad frame or line is counted and logged with its reason (the first
//! [`LOGGED_PER_CONNECTION`] of a connection at `warn`, then every 1000th) and the stream
//! goes on. A lost connection is reported as `Health::Error` and retried after a backoff that
//! doubles from [`AdsbSourceConfig::reconnect_min`] to [`AdsbSourceConfig::reconnect_max`].
//! Cancelling the [`CancellationToken`] stops the source at its next await; it then reports
//! `Health::Offline` (if the channel has room).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dronewatch_adsb::{
    AircraftTable, BeastDecoder, FrameError, SbsError, TableConfig, parse_aircraft_json,
    parse_sbs_line,
};
use dronewatch_model::{HealthState, Observation, SensorHealth, TimeNs};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::SourceEvent;

/// dump1090 / readsb Beast output port.
pub const BEAST_PORT: u16 = 30005;
/// dump1090 / readsb SBS-1 (BaseStation) output port.
pub const SBS_PORT: u16 = 30003;
/// Bad frames or lines logged at `warn` per connection before thinning to every 1000th.
pub const LOGGED_PER_CONNECTION: u64 = 10;

/// Which feed to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdsbFeed {
    /// Beast binary over TCP, `host:port`.
    Beast { addr: String },
    /// SBS-1 / BaseStation CSV over TCP, `host:port`.
    Sbs { addr: String },
    /// aircraft.json, polled.
    AircraftJson {
        location: JsonLocation,
        interval: Duration,
    },
}

/// Where an aircraft.json lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonLocation {
    File(PathBuf),
    /// `http://host[:port]/path` or `https://...`.
    Http(String),
}

/// Source settings.
#[derive(Debug, Clone)]
pub struct AdsbSourceConfig {
    pub feed: AdsbFeed,
    /// Sensor id, receiver position and CPR settings.
    pub table: TableConfig,
    pub reconnect_min: Duration,
    pub reconnect_max: Duration,
    /// A TCP feed silent this long is reconnected (a Beast feed from a live receiver is
    /// never quiet for long; SBS is quiet when no aircraft is around, so it has none by
    /// default).
    pub idle_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    /// Longest SBS line; a longer one is refused and skipped up to its newline.
    pub max_line_bytes: usize,
    /// Largest aircraft.json accepted.
    pub max_json_bytes: usize,
    /// How often aircraft not heard for [`TableConfig::forget_after_s`] are dropped.
    pub expire_every: Duration,
}

impl AdsbSourceConfig {
    pub fn new(feed: AdsbFeed, table: TableConfig) -> Self {
        let idle_timeout = match feed {
            AdsbFeed::Beast { .. } => Some(Duration::from_secs(120)),
            _ => None,
        };
        Self {
            feed,
            table,
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            idle_timeout,
            connect_timeout: Duration::from_secs(10),
            max_line_bytes: 1024,
            max_json_bytes: 16 * 1024 * 1024,
            expire_every: Duration::from_secs(30),
        }
    }
}

/// Live counters; read them at any time with [`AdsbCounters::snapshot`].
#[derive(Debug, Default)]
pub struct AdsbCounters {
    connects: AtomicU64,
    connect_failures: AtomicU64,
    disconnects: AtomicU64,
    bytes: AtomicU64,
    frames: AtomicU64,
    bad_frames: AtomicU64,
    decode_errors: AtomicU64,
    lines: AtomicU64,
    bad_lines: AtomicU64,
    polls: AtomicU64,
    poll_failures: AtomicU64,
    rejected_entries: AtomicU64,
    observations: AtomicU64,
}

/// A copy of [`AdsbCounters`] at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AdsbCountersSnapshot {
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    pub bytes: u64,
    /// Beast frames decoded from the byte stream.
    pub frames: u64,
    /// Beast framing errors (garbage, unknown type, truncated frame).
    pub bad_frames: u64,
    /// Frames that framed but did not decode as Mode S (parity, format).
    pub decode_errors: u64,
    /// SBS lines read (good and bad).
    pub lines: u64,
    pub bad_lines: u64,
    pub polls: u64,
    pub poll_failures: u64,
    /// aircraft.json entries refused.
    pub rejected_entries: u64,
    pub observations: u64,
}

impl AdsbCounters {
    pub fn snapshot(&self) -> AdsbCountersSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        AdsbCountersSnapshot {
            connects: r(&self.connects),
            connect_failures: r(&self.connect_failures),
            disconnects: r(&self.disconnects),
            bytes: r(&self.bytes),
            frames: r(&self.frames),
            bad_frames: r(&self.bad_frames),
            decode_errors: r(&self.decode_errors),
            lines: r(&self.lines),
            bad_lines: r(&self.bad_lines),
            polls: r(&self.polls),
            poll_failures: r(&self.poll_failures),
            rejected_entries: r(&self.rejected_entries),
            observations: r(&self.observations),
        }
    }
}

fn inc(c: &AtomicU64) -> u64 {
    c.fetch_add(1, Ordering::Relaxed) + 1
}

/// One ADS-B feed, ready to [`run`](AdsbSource::run).
#[derive(Debug)]
pub struct AdsbSource {
    cfg: AdsbSourceConfig,
    counters: Arc<AdsbCounters>,
}

/// Why a connection or poll ended.
#[derive(Debug, thiserror::Error)]
enum FeedError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    #[error("no data for {0:?}")]
    Idle(Duration),
    #[error("peer closed the connection")]
    Closed,
    #[error("http: {0}")]
    Http(String),
    #[error("aircraft.json: {0}")]
    Json(#[from] dronewatch_adsb::JsonError),
    /// Shutdown, or the pipeline is gone: stop without retrying.
    #[error("stopped")]
    Stopped,
}

impl AdsbSource {
    pub fn new(cfg: AdsbSourceConfig) -> Self {
        Self {
            cfg,
            counters: Arc::new(AdsbCounters::default()),
        }
    }

    pub fn counters(&self) -> Arc<AdsbCounters> {
        Arc::clone(&self.counters)
    }

    /// Runs until `shutdown` is cancelled or the pipeline's receiver is dropped.
    pub async fn run(self, tx: mpsc::Sender<SourceEvent>, shutdown: CancellationToken) {
        let mut ctx = Ctx {
            table: AircraftTable::new(self.cfg.table.clone()),
            counters: self.counters,
            tx,
            shutdown,
            cfg: self.cfg,
            last_expire: TimeNs(0),
            logged: 0,
        };
        match ctx.cfg.feed.clone() {
            AdsbFeed::Beast { addr } => ctx.run_tcp(&addr, true).await,
            AdsbFeed::Sbs { addr } => ctx.run_tcp(&addr, false).await,
            AdsbFeed::AircraftJson { location, interval } => {
                ctx.run_poll(&location, interval).await
            }
        }
        // Best effort: a full or closed channel at shutdown is not worth waiting for.
        let _ = ctx
            .tx
            .try_send(ctx.health(HealthState::Offline, "source stopped".into()));
        info!(sensor = %ctx.cfg.table.sensor_id, "ADS-B source stopped");
    }
}

/// A running source's state.
struct Ctx {
    cfg: AdsbSourceConfig,
    table: AircraftTable,
    counters: Arc<AdsbCounters>,
    tx: mpsc::Sender<SourceEvent>,
    shutdown: CancellationToken,
    last_expire: TimeNs,
    /// Bad inputs logged on the current connection.
    logged: u64,
}

impl Ctx {
    fn health(&self, state: HealthState, detail: String) -> SourceEvent {
        SourceEvent::Health(SensorHealth {
            sensor_id: self.cfg.table.sensor_id.clone(),
            t: now(),
            state,
            position: self.cfg.table.receiver,
            detail: vec![detail],
        })
    }

    /// Sends one event, waiting for room (backpressure); `Stopped` on shutdown or when the
    /// pipeline is gone.
    async fn send(&self, ev: SourceEvent) -> Result<(), FeedError> {
        tokio::select! {
            biased;
            _ = self.shutdown.cancelled() => Err(FeedError::Stopped),
            r = self.tx.send(ev) => r.map_err(|_| FeedError::Stopped),
        }
    }

    async fn send_observations(&self, obs: Vec<Observation>) -> Result<(), FeedError> {
        for o in obs {
            self.send(SourceEvent::Observation(o)).await?;
            inc(&self.counters.observations);
        }
        Ok(())
    }

    fn expire(&mut self, t: TimeNs) {
        if t.secs_since(self.last_expire) >= self.cfg.expire_every.as_secs_f64() {
            let gone = self.table.expire(t);
            if gone > 0 {
                debug!(sensor = %self.cfg.table.sensor_id, gone, "ADS-B aircraft expired");
            }
            self.last_expire = t;
        }
    }

    /// Logs a bad input: the first few of a connection at `warn`, then every 1000th.
    fn log_bad(&mut self, what: &str, total: u64, reason: &dyn std::fmt::Display) {
        self.logged += 1;
        if self.logged <= LOGGED_PER_CONNECTION || total.is_multiple_of(1000) {
            warn!(sensor = %self.cfg.table.sensor_id, total, "ADS-B {what} refused: {reason}");
        } else {
            debug!(sensor = %self.cfg.table.sensor_id, total, "ADS-B {what} refused: {reason}");
        }
    }

    async fn sleep_or_stop(&self, d: Duration) -> Result<(), FeedError> {
        tokio::select! {
            _ = self.shutdown.cancelled() => Err(FeedError::Stopped),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    async fn run_tcp(&mut self, addr: &str, beast: bool) {
        let kind = if beast { "beast" } else { "sbs" };
        let mut backoff = self.cfg.reconnect_min;
        loop {
            let started = std::time::Instant::now();
            let result = self.connection(addr, beast).await;
            let err = match result {
                Err(FeedError::Stopped) => return,
                Err(e) => e,
                Ok(()) => FeedError::Closed,
            };
            // A connection that lived a while was healthy: start the backoff over.
            if started.elapsed() > self.cfg.reconnect_max {
                backoff = self.cfg.reconnect_min;
            }
            warn!(sensor = %self.cfg.table.sensor_id, addr, kind, error = %err,
                  retry_in = ?backoff, "ADS-B feed lost");
            let ev = self.health(HealthState::Error, format!("{kind} {addr}: {err}"));
            if self.send(ev).await.is_err() || self.sleep_or_stop(backoff).await.is_err() {
                return;
            }
            backoff = (backoff * 2).min(self.cfg.reconnect_max);
        }
    }

    async fn connect(&self, addr: &str) -> Result<TcpStream, FeedError> {
        let connect = tokio::time::timeout(self.cfg.connect_timeout, TcpStream::connect(addr));
        let stream = tokio::select! {
            _ = self.shutdown.cancelled() => return Err(FeedError::Stopped),
            r = connect => r.map_err(|_| FeedError::ConnectTimeout(self.cfg.connect_timeout))??,
        };
        Ok(stream)
    }

    /// One connection, until it fails or the source stops.
    async fn connection(&mut self, addr: &str, beast: bool) -> Result<(), FeedError> {
        let mut stream = match self.connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                if !matches!(e, FeedError::Stopped) {
                    inc(&self.counters.connect_failures);
                }
                return Err(e);
            }
        };
        inc(&self.counters.connects);
        self.logged = 0;
        let kind = if beast { "beast" } else { "sbs" };
        info!(sensor = %self.cfg.table.sensor_id, addr, kind, "ADS-B feed connected");
        self.send(self.health(HealthState::Ok, format!("{kind} {addr}: connected")))
            .await?;
        let mut beast_decoder = BeastDecoder::new();
        let mut lines = LineSplitter::new(self.cfg.max_line_bytes);
        let mut buf = vec![0u8; 64 * 1024];
        let result = loop {
            let read = async {
                match self.cfg.idle_timeout {
                    Some(d) => tokio::time::timeout(d, stream.read(&mut buf))
                        .await
                        .map_err(|_| FeedError::Idle(d))?
                        .map_err(FeedError::from),
                    None => stream.read(&mut buf).await.map_err(FeedError::from),
                }
            };
            let n = tokio::select! {
                _ = self.shutdown.cancelled() => break Err(FeedError::Stopped),
                r = read => match r {
                    Ok(0) => break Err(FeedError::Closed),
                    Ok(n) => n,
                    Err(e) => break Err(e),
                },
            };
            self.counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
            let chunk = buf.get(..n).unwrap_or(&[]);
            let t = now();
            let obs = if beast {
                self.beast_chunk(&mut beast_decoder, chunk, t)
            } else {
                self.sbs_chunk(&mut lines, chunk, t)
            };
            self.expire(t);
            if let Err(e) = self.send_observations(obs).await {
                break Err(e);
            }
        };
        inc(&self.counters.disconnects);
        let _ = stream.shutdown().await;
        result
    }

    fn beast_chunk(&mut self, dec: &mut BeastDecoder, chunk: &[u8], t: TimeNs) -> Vec<Observation> {
        let mut out = Vec::new();
        dec.push(chunk);
        while let Some(item) = dec.pop() {
            match item {
                Ok(frame) => {
                    inc(&self.counters.frames);
                    match self.table.ingest_frame(t, &frame) {
                        Ok(Some(o)) => out.push(o),
                        Ok(None) | Err(FrameError::ModeAc) => {}
                        Err(e) => {
                            // Receivers forward corrupted replies as a matter of course;
                            // counted, logged quietly.
                            let total = inc(&self.counters.decode_errors);
                            debug!(sensor = %self.cfg.table.sensor_id, total, error = %e,
                                   frame = %hex_string(frame.payload()), "Mode S frame refused");
                        }
                    }
                }
                Err(e) => {
                    let total = inc(&self.counters.bad_frames);
                    self.log_bad("Beast frame", total, &e);
                }
            }
        }
        out
    }

    fn sbs_chunk(&mut self, lines: &mut LineSplitter, chunk: &[u8], t: TimeNs) -> Vec<Observation> {
        let mut out = Vec::new();
        let mut bad: Vec<(String, String)> = Vec::new();
        lines.push(chunk, |line| match line {
            Line::TooLong(n) => {
                bad.push((String::new(), format!("line of {n}+ bytes is too long")))
            }
            Line::Text(text) => {
                inc(&self.counters.lines);
                let text = String::from_utf8_lossy(text);
                match parse_sbs_line(&text) {
                    Ok(Some(m)) => {
                        if let Some(o) = self.table.ingest_sbs(t, &m) {
                            out.push(o);
                        }
                    }
                    // Other BaseStation records, and blank keep-alive lines.
                    Ok(None) | Err(SbsError::Empty) => {}
                    Err(e) => bad.push((text.chars().take(80).collect(), e.to_string())),
                }
            }
        });
        for (line, reason) in bad {
            let total = inc(&self.counters.bad_lines);
            self.log_bad("SBS line", total, &format_args!("{reason} in {line:?}"));
        }
        out
    }

    async fn run_poll(&mut self, location: &JsonLocation, interval: Duration) {
        let mut failing = false;
        let mut last_now: Option<f64> = None;
        loop {
            match self.poll_once(location, &mut last_now).await {
                Err(FeedError::Stopped) => return,
                Ok(()) => {
                    if failing || self.counters.polls.load(Ordering::Relaxed) == 1 {
                        let ev =
                            self.health(HealthState::Ok, format!("aircraft.json {location:?}: ok"));
                        if self.send(ev).await.is_err() {
                            return;
                        }
                    }
                    failing = false;
                }
                Err(e) => {
                    let total = inc(&self.counters.poll_failures);
                    if !failing {
                        warn!(sensor = %self.cfg.table.sensor_id, ?location, error = %e, total,
                              "aircraft.json poll failed");
                        let ev = self.health(HealthState::Error, format!("aircraft.json: {e}"));
                        if self.send(ev).await.is_err() {
                            return;
                        }
                    } else {
                        debug!(sensor = %self.cfg.table.sensor_id, error = %e, total,
                               "aircraft.json poll failed again");
                    }
                    failing = true;
                }
            }
            if self.sleep_or_stop(interval).await.is_err() {
                return;
            }
        }
    }

    async fn poll_once(
        &mut self,
        location: &JsonLocation,
        last_now: &mut Option<f64>,
    ) -> Result<(), FeedError> {
        let max = self.cfg.max_json_bytes;
        let bytes = match location {
            JsonLocation::File(path) => {
                let path = path.clone();
                let read = tokio::task::spawn_blocking(move || read_limited(&path, max));
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(FeedError::Stopped),
                    r = read => r.map_err(|e| FeedError::Io(std::io::Error::other(e)))??,
                }
            }
            JsonLocation::Http(url) => {
                let get = http_get(url, max, self.cfg.connect_timeout);
                tokio::select! {
                    _ = self.shutdown.cancelled() => return Err(FeedError::Stopped),
                    r = get => r?,
                }
            }
        };
        inc(&self.counters.polls);
        self.counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let doc = parse_aircraft_json(&bytes)?;
        // The same file again (the writer has not run since): nothing new.
        if *last_now == Some(doc.now_unix_s) {
            return Ok(());
        }
        *last_now = Some(doc.now_unix_s);
        for r in &doc.rejected {
            let total = inc(&self.counters.rejected_entries);
            self.log_bad(
                "aircraft.json entry",
                total,
                &format_args!("#{} ({:?}): {}", r.index, r.hex, r.error),
            );
        }
        let t = TimeNs::from_secs_f64(doc.now_unix_s);
        let obs: Vec<Observation> = doc
            .aircraft
            .iter()
            .filter_map(|a| self.table.ingest_json(t, a))
            .collect();
        self.expire(t);
        self.send_observations(obs).await
    }
}

fn read_limited(path: &std::path::Path, max: usize) -> Result<Vec<u8>, FeedError> {
    let len = std::fs::metadata(path)?.len();
    if len > max as u64 {
        return Err(FeedError::Io(std::io::Error::other(format!(
            "{} is {len} bytes, more than the {max} allowed",
            path.display()
        ))));
    }
    Ok(std::fs::read(path)?)
}

/// GET of an `http://` or `https://` URL (the system's certificates); the body of a 200
/// response, refused past `max` bytes.
async fn http_get(url: &str, max: usize, timeout: Duration) -> Result<Vec<u8>, FeedError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(FeedError::Http(format!(
            "{url:?}: an http:// or https:// URL expected"
        )));
    }
    let fail =
        |e: reqwest::Error| FeedError::Http(format!("{url}: {}", crate::delivery::error_chain(&e)));
    let mut resp = crate::http_client()
        .map_err(fail)?
        .get(url)
        .timeout(timeout)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(fail)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(FeedError::Http(format!("{url}: HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(fail)? {
        if body.len() + chunk.len() > max {
            return Err(FeedError::Http(format!("{url}: body over {max} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A line from [`LineSplitter`].
enum Line<'a> {
    /// Without its `\n` (a trailing `\r` is left for the parser, which ignores it).
    Text(&'a [u8]),
    /// A line longer than the limit (its length so far); its rest is skipped.
    TooLong(usize),
}

/// Cuts a byte stream into `\n`-terminated lines, holding at most `max` bytes of a partial
/// line.
struct LineSplitter {
    buf: Vec<u8>,
    max: usize,
    /// Skipping the rest of an over-long line.
    skipping: bool,
}

impl LineSplitter {
    fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            skipping: false,
        }
    }

    fn push(&mut self, mut chunk: &[u8], mut each: impl FnMut(Line<'_>)) {
        while !chunk.is_empty() {
            match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => {
                    let (head, tail) = chunk.split_at(i);
                    chunk = tail.get(1..).unwrap_or(&[]);
                    if self.skipping {
                        self.skipping = false;
                        continue;
                    }
                    if self.buf.len() + head.len() > self.max {
                        each(Line::TooLong(self.buf.len() + head.len()));
                        self.buf.clear();
                        continue;
                    }
                    if self.buf.is_empty() {
                        each(Line::Text(head));
                    } else {
                        self.buf.extend_from_slice(head);
                        each(Line::Text(&self.buf));
                        self.buf.clear();
                    }
                }
                None => {
                    if !self.skipping {
                        if self.buf.len() + chunk.len() > self.max {
                            each(Line::TooLong(self.buf.len() + chunk.len()));
                            self.buf.clear();
                            self.skipping = true;
                        } else {
                            self.buf.extend_from_slice(chunk);
                        }
                    }
                    chunk = &[];
                }
            }
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> TimeNs {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    TimeNs(ns)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use dronewatch_adsb::{RawFrame, encode_beast};
    use dronewatch_model::{Measurement, SensorId};
    use tokio::net::TcpListener;

    // The even/odd pair of The 1090 MHz Riddle ("Airborne position", ICAO 40621D).
    const ODD: &str = "8D40621D58C386435CC412692AD6";
    const EVEN: &str = "8D40621D58C382D690C8AC2863A7";

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    fn beast_bytes(hexes: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, h) in hexes.iter().enumerate() {
            let mut f = RawFrame::new(&unhex(h)).unwrap();
            f.mlat_ticks = Some(0x1a1a_0000 + i as u64);
            f.signal = Some(0x1a);
            encode_beast(&f, &mut out);
        }
        out
    }

    fn config(feed: AdsbFeed) -> AdsbSourceConfig {
        let mut c = AdsbSourceConfig::new(feed, TableConfig::new(SensorId::new("adsb-unit")));
        c.reconnect_min = Duration::from_millis(20);
        c.reconnect_max = Duration::from_millis(100);
        c
    }

    async fn next_observation(rx: &mut mpsc::Receiver<SourceEvent>) -> Observation {
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("an event in time")
                .expect("channel open");
            if let SourceEvent::Observation(o) = ev {
                return o;
            }
        }
    }

    #[test]
    fn line_splitter_handles_boundaries_and_long_lines() {
        let mut s = LineSplitter::new(8);
        let mut got = Vec::new();
        let mut collect = |chunk: &[u8], s: &mut LineSplitter| {
            s.push(chunk, |l| {
                got.push(match l {
                    Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    Line::TooLong(n) => format!("<long {n}>"),
                })
            })
        };
        collect(b"ab", &mut s);
        collect(b"c\r\nde\nfghijklmnop", &mut s);
        collect(b"qrs\nt", &mut s);
        collect(b"u\n", &mut s);
        assert_eq!(got, vec!["abc\r", "de", "<long 11>", "tu"]);
    }

    #[tokio::test]
    async fn beast_feed_with_garbage_and_reconnect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let source = AdsbSource::new(config(AdsbFeed::Beast { addr }));
        let counters = source.counters();
        let (tx, mut rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let task = tokio::spawn(source.run(tx, stop.clone()));

        // First connection: garbage, then the pair split across writes, then hang up.
        let (mut s, _) = listener.accept().await.unwrap();
        let wire = beast_bytes(&[ODD, EVEN]);
        s.write_all(b"\x00garbage").await.unwrap();
        for part in wire.chunks(5) {
            s.write_all(part).await.unwrap();
            s.flush().await.unwrap();
        }
        let o = next_observation(&mut rx).await;
        let Measurement::Position { position, .. } = o.measurement else {
            panic!()
        };
        assert!((position.lat_deg - 52.2572).abs() < 5e-5);
        assert_eq!(o.identity.icao_address, Some(0x40621d));
        drop(s);

        // The source reconnects and carries on (local decode from the known position).
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&beast_bytes(&[ODD])).await.unwrap();
        let o = next_observation(&mut rx).await;
        assert_eq!(o.identity.icao_address, Some(0x40621d));
        let c = counters.snapshot();
        assert_eq!(c.connects, 2);
        assert_eq!(c.bad_frames, 1, "{c:?}");
        assert_eq!(c.frames, 3);
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn sbs_feed_counts_bad_lines_and_keeps_going() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let source = AdsbSource::new(config(AdsbFeed::Sbs { addr }));
        let counters = source.counters();
        let (tx, mut rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let task = tokio::spawn(source.run(tx, stop.clone()));
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(
            b"MSG,3,1,1,398101,1,2026/11/25,12:58:06.339,2026/11/25,12:58:06.339,,525,,,95.0,1.36984,,,,,,0\r\n\
              not sbs at all\r\n\xff\xfe\r\n\
              STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM\r\n\
              MSG,3,1,1,398101,1,2026/11/25,12:58:06.339,2026/11/25,12:58:06.339,,525,,,43.62112,1.36984,,,,,,0\r\n",
        )
        .await
        .unwrap();
        let o = next_observation(&mut rx).await;
        let Measurement::Position { position, .. } = o.measurement else {
            panic!()
        };
        assert_eq!(position.lat_deg, 43.62112);
        let c = counters.snapshot();
        assert_eq!(c.lines, 5);
        assert_eq!(c.bad_lines, 3, "{c:?}");
        stop.cancel();
        task.await.unwrap();
        // Offline at the end.
        let mut last = None;
        while let Ok(ev) = rx.try_recv() {
            last = Some(ev);
        }
        assert!(matches!(last, Some(SourceEvent::Health(h)) if h.state == HealthState::Offline));
    }

    const JSON: &str = r#"{"now":1795611490.0,"aircraft":[
        {"hex":"486257","lat":45.274063,"lon":1.008453,"seen_pos":2.4,"altitude":33600},
        {"hex":"zzzzzz"}]}"#;

    #[tokio::test]
    async fn aircraft_json_file_is_polled_once_per_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aircraft.json");
        std::fs::write(&path, JSON).unwrap();
        let mut cfg = config(AdsbFeed::AircraftJson {
            location: JsonLocation::File(path.clone()),
            interval: Duration::from_millis(20),
        });
        cfg.table.forget_after_s = 1e9;
        let source = AdsbSource::new(cfg);
        let counters = source.counters();
        let (tx, mut rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let task = tokio::spawn(source.run(tx, stop.clone()));
        let o = next_observation(&mut rx).await;
        assert_eq!(o.t, TimeNs::from_secs_f64(1795611490.0).plus_secs(-2.4));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let c = counters.snapshot();
        assert!(c.polls >= 3, "{c:?}");
        assert_eq!(c.observations, 1, "the same file again yields nothing new");
        assert_eq!(c.rejected_entries, 1);
        // A newer file with a newer position.
        std::fs::write(&path, JSON.replace("1795611490.0", "1795611491.0")).unwrap();
        let o2 = next_observation(&mut rx).await;
        assert!(o2.t > o.t);
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn aircraft_json_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; 1024];
            let n = s.read(&mut req).await.unwrap();
            let req = String::from_utf8_lossy(&req[..n]).into_owned();
            let resp = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{JSON}");
            s.write_all(resp.as_bytes()).await.unwrap();
            req
        });
        let cfg = config(AdsbFeed::AircraftJson {
            location: JsonLocation::Http(format!("http://{addr}/data/aircraft.json")),
            interval: Duration::from_secs(60),
        });
        let (tx, mut rx) = mpsc::channel(16);
        let stop = CancellationToken::new();
        let task = tokio::spawn(AdsbSource::new(cfg).run(tx, stop.clone()));
        let o = next_observation(&mut rx).await;
        assert_eq!(o.identity.icao_address, Some(0x486257));
        let req = server.await.unwrap();
        assert!(
            req.starts_with("GET /data/aircraft.json HTTP/1.1\r\n"),
            "{req}"
        );
        stop.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn http_errors_are_reported() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; 1024];
            let _ = s.read(&mut req).await.unwrap();
            s.write_all(b"HTTP/1.0 404 Not Found\r\n\r\n")
                .await
                .unwrap();
        });
        let e = http_get(&format!("http://{addr}/x"), 1024, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("404"), "{e}");
        let e = http_get("ftp://example.invalid/", 1024, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("https:// URL expected"), "{e}");
    }

    #[tokio::test]
    async fn shutdown_while_connecting_stops_promptly() {
        // Nothing listens on this port (bound then dropped): the source keeps retrying.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let source = AdsbSource::new(config(AdsbFeed::Sbs { addr }));
        let counters = source.counters();
        let (tx, _rx) = mpsc::channel(64);
        let stop = CancellationToken::new();
        let task = tokio::spawn(source.run(tx, stop.clone()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(counters.snapshot().connect_failures >= 2);
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .unwrap()
            .unwrap();
    }
}
