//! Cursor on Target to TAK: the picture on every ATAK, WinTAK and TAK Server in the sector,
//! and agents' positions back from them.
//!
//! One `[[delivery.cot]]` is one peer: a TAK server's streaming port (`tcp://host:8087`),
//! an ATAK's directed port (`tcp://host:4242`) or the mesh (`udp://239.2.3.1:6969`), in
//! CoT XML or TAK Protocol v1 (protobuf). What goes out:
//!
//! | what | CoT |
//! |---|---|
//! | each live track, again every `track_interval_s` and at once when its identity changes | `a-<h,s,u,f>-A-M-H-Q` (UAV), `a-n-A-C-F`/`-H` (manned, ADS-B), `how="m-f"` (fused), stale after `stale_s` |
//! | a Remote ID pilot position | `a-<s,n>-G`, `how="m-r"` (relayed: a claim), linked to its drone |
//! | a track that left the picture | its last event again, stale now (TAK clients drop it) |
//! | a personal warning | a GeoChat (`b-t-f`) to that agent only (`__chat` to their uid, `marti` to their callsign) |
//! | an alert, at or above `min_alert_level` | a GeoChat to All Chat Rooms |
//! | a field sighting | `a-u-A`, `how="h-e"` (human estimated) at the estimated place |
//!
//! An exercise's tracks, warnings and alerts carry `opex="e"` and say EXERCISE in their
//! callsign and text. The node announces itself (`a-f-G-E-S`, with `takv` and `__group`, as
//! TAK servers expect of a client) on connecting and every 30 s.
//!
//! What comes back on a TCP peer: position reports of the callsigns or uids listed in
//! `agents` become those agents' positions, as if their field app had sent them; the node
//! learns each agent's TAK uid from them, so warnings reach the right device.
//!
//! Tracks are state: a peer that was away gets the whole picture when it returns. Warnings,
//! alerts and sightings are messages: while the peer is away they wait in a bounded queue,
//! are sent on reconnection if still fresh, and become dead letters when the queue is full
//! or they went stale waiting.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dronewatch_cot::negotiation::{self, Negotiation};
use dronewatch_cot::types::{self, Affiliation as CotAffiliation};
use dronewatch_cot::{Contact, Detail, Event, Group, Point, StreamSplitter, Takv, Track, UNKNOWN};
use dronewatch_model::{AgentFix, AgentId, Lla, TimeNs};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{Channel, Filter, Outgoing, error_chain, warning_headline};
use crate::live::{LiveEvent, Snapshot, lock};
use crate::pipeline::Input;
use crate::view::{Affiliation, SightingReport, TrackView};

/// One TAK peer (`[[delivery.cot]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CotConfig {
    /// `tcp://host:port` (TAK server streaming, ATAK directed), `ssl://host:port` (TAK
    /// server over TLS with a client certificate, usually 8089) or `udp://host:port` (mesh).
    pub url: String,
    /// `xml` (CoT XML, "protocol version 0"), `tak` (TAK Protocol v1 protobuf from the
    /// start: a mesh, or a peer set to it) or `negotiate` (XML until a TAK server agrees to
    /// v1, as TAK Server clients do).
    pub protocol: CotProtocol,
    /// The node's callsign on the TAK network.
    pub callsign: String,
    /// `track`, `warning`, `alert`, `sighting`.
    pub kinds: Vec<String>,
    /// Alerts below this level are not announced (`low`, `medium`, `high`, `critical`).
    pub min_alert_level: String,
    /// Each live track is sent again at least this often [s].
    pub track_interval_s: f64,
    /// How long a TAK client keeps a track or a sighting without news of it [s].
    pub stale_s: f64,
    /// TAK callsigns or uids whose position reports are an agent's position:
    /// `{ "BP ALPHA 1" = "agent-1" }`.
    pub agents: BTreeMap<String, String>,
    /// For `ssl://`: the PEM certificate(s) of the CA that signed the TAK server's
    /// certificate (a TAK server's own CA, as in its truststore).
    pub ca_file: Option<PathBuf>,
    /// For `ssl://`: the node's client certificate chain and private key, PEM (made by the
    /// TAK server's CA for this node).
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// For `ssl://`: the name the server's certificate must carry (default: the host).
    pub server_name: Option<String>,
}

impl Default for CotConfig {
    fn default() -> Self {
        Self {
            url: "tcp://127.0.0.1:8087".into(),
            protocol: CotProtocol::Xml,
            callsign: "dronewatch".into(),
            kinds: KINDS.iter().map(|k| (*k).to_owned()).collect(),
            min_alert_level: "high".into(),
            track_interval_s: 2.0,
            stale_s: 20.0,
            agents: BTreeMap::new(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            server_name: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CotProtocol {
    Xml,
    Tak,
    /// CoT XML until the server offers TAK Protocol v1 and agrees to the node's request
    /// (`dronewatch_cot::negotiation`), then v1; a stream peer only.
    Negotiate,
}

const KINDS: [&str; 4] = ["track", "warning", "alert", "sighting"];

/// Messages kept while the peer is away.
const QUEUE: usize = 256;
/// How often the node announces itself.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(30);
/// A write that takes longer is a dead connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest event taken from a peer.
const MAX_FRAME_BYTES: usize = 256 * 1024;

/// Where a peer is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Peer {
    Tcp(String),
    Tls(String),
    Udp(String),
}

fn peer_of(url: &str) -> Result<Peer, String> {
    let (scheme, addr) = url
        .split_once("://")
        .ok_or("url: tcp://, ssl:// or udp://host:port")?;
    let port_ok = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !port_ok {
        return Err(format!("url: {url:?} has no host:port"));
    }
    match scheme {
        "tcp" => Ok(Peer::Tcp(addr.to_owned())),
        "ssl" | "tls" => Ok(Peer::Tls(addr.to_owned())),
        "udp" => Ok(Peer::Udp(addr.to_owned())),
        _ => Err(format!("url: scheme {scheme:?} (tcp, ssl or udp)")),
    }
}

/// Checks one peer's configuration.
pub(super) fn check(cfg: &CotConfig) -> Result<(), String> {
    let tls = matches!(peer_of(&cfg.url)?, Peer::Tls(_));
    let files = [
        ("ca_file", &cfg.ca_file),
        ("cert_file", &cfg.cert_file),
        ("key_file", &cfg.key_file),
    ];
    for (name, f) in files {
        match (tls, f) {
            (true, None) => return Err(format!("{name}: needed for ssl://")),
            (false, Some(_)) => return Err(format!("{name}: only for ssl://")),
            _ => {}
        }
    }
    if let Some(k) = cfg.kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(format!("kinds: unknown {k:?} (one of {KINDS:?})"));
    }
    super::check_filters(&[], &cfg.min_alert_level)?;
    if cfg.callsign.trim().is_empty() {
        return Err("callsign: empty".into());
    }
    if cfg.protocol == CotProtocol::Negotiate && matches!(peer_of(&cfg.url)?, Peer::Udp(_)) {
        return Err("protocol: negotiate needs a stream (tcp:// or ssl://)".into());
    }
    if !(cfg.track_interval_s > 0.0 && cfg.track_interval_s <= 600.0) {
        return Err("track_interval_s: within (0, 600]".into());
    }
    if !(cfg.stale_s >= cfg.track_interval_s && cfg.stale_s <= 86_400.0) {
        return Err("stale_s: at least track_interval_s, at most a day".into());
    }
    Ok(())
}

pub(super) fn spawn(
    cfg: &CotConfig,
    channel: Channel,
    origin: Lla,
    shutdown: &CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> Result<(), String> {
    let peer = peer_of(&cfg.url)?;
    let tls = match &peer {
        Peer::Tls(addr) => Some(tls_connector(cfg, addr)?),
        _ => None,
    };
    info!(url = %cfg.url, protocol = ?cfg.protocol, "CoT delivery");
    let link = Link {
        cfg: cfg.clone(),
        me: Me {
            uid: format!("dronewatch-{}", channel.ctx.node),
            callsign: cfg.callsign.clone(),
            origin,
        },
        tracks: SentTracks::default(),
        pending: VecDeque::new(),
        agent_uids: BTreeMap::new(),
        snapshots: channel.ctx.hub.snapshots.subscribe(),
        events: channel.ctx.hub.events.subscribe(),
        filter: Filter::new(&cfg.kinds, &cfg.min_alert_level),
        wire: cfg.protocol.at_start(),
        channel,
    };
    let stop = shutdown.clone();
    tasks.spawn(link.run(peer, tls, stop));
    Ok(())
}

/// What a TLS connection to a TAK server needs: its CA, the node's client certificate, and
/// the name to check on the server's certificate.
type TlsLink = (
    tokio_rustls::TlsConnector,
    rustls::pki_types::ServerName<'static>,
);

fn tls_connector(cfg: &CotConfig, addr: &str) -> Result<TlsLink, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let path = |f: &Option<PathBuf>, name: &str| {
        f.clone()
            .ok_or_else(|| format!("{name}: needed for ssl://"))
    };
    let ca = path(&cfg.ca_file, "ca_file")?;
    let mut roots = rustls::RootCertStore::empty();
    for c in
        CertificateDer::pem_file_iter(&ca).map_err(|e| format!("ca_file {}: {e}", ca.display()))?
    {
        let c = c.map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
        roots
            .add(c)
            .map_err(|e| format!("ca_file {}: {e}", ca.display()))?;
    }
    let cert = path(&cfg.cert_file, "cert_file")?;
    let chain = CertificateDer::pem_file_iter(&cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cert_file {}: {e}", cert.display()))?;
    let key_path = path(&cfg.key_file, "key_file")?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("key_file {}: {e}", key_path.display()))?;
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("cert_file/key_file: {e}"))?;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = cfg.server_name.as_deref().unwrap_or(host).to_owned();
    let name = ServerName::try_from(name).map_err(|e| format!("server_name: {e}"))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(client)), name))
}

/// The node as a TAK client.
#[derive(Debug, Clone)]
struct Me {
    uid: String,
    callsign: String,
    origin: Lla,
}

/// A TAK user the node knows: its uid and callsign.
#[derive(Debug, Clone, PartialEq)]
struct TakUser {
    uid: String,
    callsign: String,
}

/// One peer's sender and receiver.
#[derive(Debug)]
struct Link {
    cfg: CotConfig,
    me: Me,
    tracks: SentTracks,
    /// Messages (warnings, alerts, sightings) not yet written.
    pending: VecDeque<(Outgoing, Event)>,
    /// Agents heard on the TAK network, by agent id.
    agent_uids: BTreeMap<String, TakUser>,
    snapshots: broadcast::Receiver<Arc<Snapshot>>,
    events: broadcast::Receiver<Arc<Vec<LiveEvent>>>,
    filter: Filter,
    /// What the connection speaks now (`negotiate` starts with XML).
    wire: Wire,
    channel: Channel,
}

/// What is written on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Xml,
    Tak,
}

impl CotProtocol {
    /// What a new connection speaks first.
    fn at_start(self) -> Wire {
        match self {
            CotProtocol::Xml | CotProtocol::Negotiate => Wire::Xml,
            CotProtocol::Tak => Wire::Tak,
        }
    }
}

/// A stream either way: plain TCP or TLS.
type ReadHalf = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
type WriteHalf = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// What a connection is.
enum Conn {
    Stream(ReadHalf, WriteHalf),
    Udp(UdpSocket),
}

impl Link {
    async fn run(mut self, peer: Peer, tls: Option<TlsLink>, stop: CancellationToken) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let conn = tokio::select! {
                _ = stop.cancelled() => return,
                c = connect(&peer, tls.as_ref()) => c,
            };
            match conn {
                Ok(conn) => {
                    backoff = Duration::from_millis(200);
                    self.channel.status(|s| s.failing = false);
                    info!(url = %self.cfg.url, "CoT peer connected");
                    // Everything is news to a new connection, in the protocol it starts with.
                    self.tracks.forget();
                    self.wire = self.cfg.protocol.at_start();
                    match self.session(conn, &stop).await {
                        Ok(()) => return,
                        Err(e) => {
                            warn!(url = %self.cfg.url, error = %e, "CoT peer lost");
                            self.channel.failed(&e);
                        }
                    }
                }
                Err(e) => self.channel.failed(&e),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.wait_away(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Waits `d` while the peer is away, queueing the messages that arrive meanwhile.
    async fn wait_away(&mut self, d: Duration) {
        let until = tokio::time::Instant::now() + d;
        let stop = CancellationToken::new();
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return,
                out = self.channel.next(&mut self.events, &mut self.filter, &stop) => {
                    let now_ms = now_ms();
                    for o in out.unwrap_or_default() {
                        self.queue(o, now_ms).await;
                    }
                }
            }
        }
    }

    /// Serves one connection until it fails (`Err`) or the node stops (`Ok`).
    async fn session(&mut self, conn: Conn, stop: &CancellationToken) -> Result<(), String> {
        let (mut reader, mut writer) = match conn {
            Conn::Stream(r, w) => (Some(r), Writer::Stream(w)),
            Conn::Udp(s) => (None, Writer::Udp(s)),
        };
        let mut splitter = StreamSplitter::new(MAX_FRAME_BYTES);
        let mut buf = vec![0u8; 16 * 1024];
        let mut announce = tokio::time::interval(ANNOUNCE_EVERY);
        // The picture as it is now, at once, rather than at the next snapshot.
        let current = self.channel.ctx.hub.picture.borrow().clone();
        self.write_tracks(&mut writer, &current).await?;
        self.flush_pending(&mut writer).await?;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = announce.tick() => {
                    let sa = self_announcement(&self.me, now_ms());
                    writer.send(&[sa], self.wire).await?;
                }
                snap = self.snapshots.recv() => match snap {
                    Ok(snap) => self.write_tracks(&mut writer, &snap).await?,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                out = self.channel.next(&mut self.events, &mut self.filter, stop) => {
                    let Some(out) = out else { return Ok(()) };
                    let now_ms = now_ms();
                    for o in out {
                        self.queue(o, now_ms).await;
                    }
                    self.flush_pending(&mut writer).await?;
                }
                n = read_some(&mut reader, &mut buf) => {
                    let n = n?;
                    if n == 0 {
                        return Err("the peer closed the connection".into());
                    }
                    splitter.push(&buf[..n]);
                    while let Some(ev) = splitter.next_event() {
                        match ev {
                            Ok(ev) => match negotiation::read(&ev) {
                                Some(n) => self.negotiate(n, &mut writer).await?,
                                None => self.heard(&ev).await,
                            },
                            Err(e) => debug!(url = %self.cfg.url, error = %e, "CoT from the peer not understood"),
                        }
                    }
                }
            }
        }
    }

    /// Answers the server's side of the TAK Protocol negotiation: asks for v1 when it is
    /// offered, and switches to it when the server agrees.
    async fn negotiate(&mut self, n: Negotiation, writer: &mut Writer) -> Result<(), String> {
        if self.cfg.protocol != CotProtocol::Negotiate || self.wire == Wire::Tak {
            return Ok(());
        }
        match n {
            Negotiation::Offers(1) => {
                let ask = negotiation::event(Negotiation::Requests(1), &self.me.uid, now_ms());
                writer.send(&[ask], Wire::Xml).await
            }
            Negotiation::Answer { accepted: true } => {
                info!(url = %self.cfg.url, "the TAK server agreed to TAK Protocol v1");
                self.wire = Wire::Tak;
                Ok(())
            }
            Negotiation::Answer { accepted: false } => {
                warn!(url = %self.cfg.url, "the TAK server refused TAK Protocol v1; staying with CoT XML");
                Ok(())
            }
            Negotiation::Offers(_) | Negotiation::Requests(_) => Ok(()),
        }
    }

    /// Sends the tracks that are due, and the removal of those that left the picture.
    async fn write_tracks(&mut self, writer: &mut Writer, snap: &Snapshot) -> Result<(), String> {
        if !self.cfg.kinds.iter().any(|k| k == "track") {
            return Ok(());
        }
        let now_ms = now_ms();
        let due = self.tracks.due(snap, &self.cfg, &self.me, now_ms);
        if due.is_empty() {
            return Ok(());
        }
        let n = due.len();
        writer.send(&due, self.wire).await?;
        for _ in 0..n {
            self.channel.delivered();
        }
        Ok(())
    }

    /// Turns a message into CoT and queues it; a full queue makes the oldest a dead letter.
    async fn queue(&mut self, out: Outgoing, now_ms: i64) {
        let event = match out.kind {
            "warning" => {
                let w = &out.msg["warning"];
                let Some(agent) = w["agent_id"].as_str() else {
                    return;
                };
                let to = self.tak_user(agent);
                warning_chat(&out.msg, &to, &self.me, now_ms)
            }
            "alert" => alert_chat(&out.msg, &self.me, now_ms),
            "sighting" => serde_json::from_value::<SightingReport>(out.msg["sighting"].clone())
                .ok()
                .map(|s| sighting_event(&s, self.cfg.stale_s, now_ms)),
            _ => None,
        };
        let Some(event) = event else { return };
        if self.pending.len() >= QUEUE
            && let Some((old, _)) = self.pending.pop_front()
        {
            let error = "the TAK peer was away and the queue is full";
            self.channel.dead_letter(&old.id, 0, error, old.msg).await;
        }
        self.pending.push_back((out, event));
        self.channel.status(|s| s.in_flight = self.pending.len());
    }

    /// Writes the queued messages; those that went stale waiting are dead letters.
    async fn flush_pending(&mut self, writer: &mut Writer) -> Result<(), String> {
        let now_ms = now_ms();
        while let Some((out, event)) = self.pending.pop_front() {
            if event.stale_unix_ms < now_ms {
                let error = "went stale while the TAK peer was away";
                self.channel.dead_letter(&out.id, 0, error, out.msg).await;
                continue;
            }
            if let Err(e) = writer.send(std::slice::from_ref(&event), self.wire).await {
                self.pending.push_front((out, event));
                self.channel.status(|s| s.in_flight = self.pending.len());
                return Err(e);
            }
            self.channel.delivered();
        }
        self.channel.status(|s| s.in_flight = 0);
        Ok(())
    }

    /// Who an agent is on the TAK network: the uid heard from them, else the callsign the
    /// config maps to them (the TAK server routes by callsign).
    fn tak_user(&self, agent: &str) -> TakUser {
        if let Some(u) = self.agent_uids.get(agent) {
            return u.clone();
        }
        let callsign = self
            .cfg
            .agents
            .iter()
            .find(|(_, a)| a.as_str() == agent)
            .map_or(agent, |(k, _)| k.as_str());
        TakUser {
            uid: callsign.to_owned(),
            callsign: callsign.to_owned(),
        }
    }

    /// An event from the peer: a listed agent's position report becomes their position; a
    /// drone marker one of them drops is their sighting.
    async fn heard(&mut self, ev: &Event) {
        if let Some((agent, mut report)) = self.marker_sighting(ev) {
            match crate::api::reports::check_sighting(&report) {
                Ok(t) => {
                    report.reporter = Some(agent.clone());
                    let obs = crate::api::reports::sighting_observation(&report, t);
                    let input = Input::Sighting(Box::new(report), obs);
                    if let Err(e) = self.channel.ctx.ingest.submit(input).await {
                        warn!(agent, error = %e, "sighting from TAK not stored");
                    }
                }
                Err(e) => {
                    warn!(agent, marker = %ev.uid, error = %e, "drone marker from TAK refused")
                }
            }
            return;
        }
        let Some((agent, fix)) = agent_fix(
            ev,
            &self.cfg.agents,
            crate::clock::now(),
            self.me.origin.h_m,
        ) else {
            return;
        };
        let callsign = ev.detail.contact.as_ref().map(|c| c.callsign.clone());
        self.agent_uids.insert(
            agent.clone(),
            TakUser {
                uid: ev.uid.clone(),
                callsign: callsign.unwrap_or_else(|| ev.uid.clone()),
            },
        );
        if let Err(e) = self.channel.ctx.ingest.submit(Input::AgentFix(fix)).await {
            warn!(agent, error = %e, "agent position from TAK not stored");
        }
    }

    /// The agent who made a marker: its `link` to the device that made it (`relation="p-p"`),
    /// by the uid heard from that agent or listed in `agents`, or by `parent_callsign`.
    fn marker_author(&self, ev: &Event) -> Option<String> {
        let link = ev.detail.element_attrs("link")?;
        let get = |k: &str| link.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        if get("relation") != Some("p-p") {
            return None;
        }
        let uid = get("uid")?;
        self.agent_uids
            .iter()
            .find(|(_, u)| u.uid == uid)
            .map(|(a, _)| a.clone())
            .or_else(|| self.cfg.agents.get(uid).cloned())
            .or_else(|| get("parent_callsign").and_then(|c| self.cfg.agents.get(c).cloned()))
    }

    /// A drone marker (an air atom, not friend or neutral) dropped in ATAK by a listed agent,
    /// as that agent's sighting report.
    fn marker_sighting(&self, ev: &Event) -> Option<(String, SightingReport)> {
        let air = ev.cot_type.split('-').nth(2) == Some("A");
        let affiliation = types::affiliation(&ev.cot_type)?;
        let drone_like = matches!(
            affiliation,
            CotAffiliation::Hostile
                | CotAffiliation::Suspect
                | CotAffiliation::Unknown
                | CotAffiliation::Pending
                | CotAffiliation::Joker
                | CotAffiliation::Faker
        );
        if !air || !drone_like {
            return None;
        }
        let agent = self.marker_author(ev)?;
        let from = lock(&self.channel.ctx.hub.boards.agents)
            .get(&agent)
            .map(|a| Lla::from(a.position));
        let report = marker_report(ev, from);
        Some((agent, report))
    }
}

/// A marker as a sighting report: from where its agent was (bearing and distance to the
/// marker, which makes an observation for fusion), or at the marker itself when the agent's
/// place is unknown (stored, not fused). The reporter is set once the report is checked.
fn marker_report(ev: &Event, agent_at: Option<Lla>) -> SightingReport {
    let marker = Lla::new(ev.point.lat_deg, ev.point.lon_deg, 0.0);
    let known_hae = (ev.point.hae_m != UNKNOWN).then_some(ev.point.hae_m);
    let (from, bearing_deg, distance_m) = match agent_at {
        Some(at) => {
            let g = dronewatch_geo::geodesic_inverse(
                &at,
                &Lla::new(marker.lat_deg, marker.lon_deg, at.h_m),
            );
            if g.distance_m > 1.0 && g.distance_m <= 20_000.0 {
                (
                    at,
                    Some(g.initial_bearing_deg.rem_euclid(360.0)),
                    Some(g.distance_m),
                )
            } else {
                (at, None, None)
            }
        }
        None => (
            Lla::new(marker.lat_deg, marker.lon_deg, known_hae.unwrap_or(0.0)),
            None,
            None,
        ),
    };
    let height_m = known_hae
        .zip(agent_at)
        .map(|(hae, at)| hae - at.h_m)
        .filter(|h| (0.0..=5000.0).contains(h));
    let callsign = ev
        .detail
        .contact
        .as_ref()
        .map_or("", |c| c.callsign.as_str());
    let mut note = format!("ATAK marker {callsign} ({}, {})", ev.cot_type, ev.uid);
    if let Some(r) = ev.detail.remarks().filter(|r| !r.trim().is_empty()) {
        note = format!("{r} [{note}]");
    }
    while note.len() > 4000 {
        note.pop();
    }
    let observed_at = jiff::Timestamp::from_millisecond(ev.time_unix_ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    // One report per version of the marker: a moved marker is a new report, a repeat of
    // the same one (a TAK server replays what it keeps) is stored once.
    let digest = crate::auth::sha256(format!("{}@{}", ev.uid, ev.time_unix_ms).as_bytes());
    SightingReport {
        client_id: format!("cot-{}", hex::encode(&digest[..16])),
        observed_at,
        reporter_position: from.into(),
        reporter_accuracy_m: None,
        bearing_deg,
        distance_m,
        height_m,
        count: None,
        sound_heard: None,
        note: Some(note),
        photo: None,
        reporter: None,
        photo_sha256: None,
    }
}

async fn connect(peer: &Peer, tls: Option<&TlsLink>) -> Result<Conn, String> {
    let tcp = async |addr: &str| {
        let s = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connecting to {addr}: timed out"))?
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        Ok::<_, String>(s)
    };
    match (peer, tls) {
        (Peer::Tcp(addr), _) => {
            let (r, w) = tcp(addr).await?.into_split();
            Ok(Conn::Stream(Box::new(r), Box::new(w)))
        }
        (Peer::Tls(addr), Some((connector, name))) => {
            let s = tcp(addr).await?;
            let s =
                tokio::time::timeout(Duration::from_secs(10), connector.connect(name.clone(), s))
                    .await
                    .map_err(|_| format!("TLS with {addr}: timed out"))?
                    .map_err(|e| format!("TLS with {addr}: {}", error_chain(&e)))?;
            let (r, w) = tokio::io::split(s);
            Ok(Conn::Stream(Box::new(r), Box::new(w)))
        }
        (Peer::Tls(addr), None) => Err(format!("{addr}: no TLS settings")),
        (Peer::Udp(addr), _) => {
            let s = UdpSocket::bind("0.0.0.0:0")
                .await
                .map_err(|e| format!("UDP socket: {e}"))?;
            s.connect(addr)
                .await
                .map_err(|e| format!("UDP to {addr}: {e}"))?;
            Ok(Conn::Udp(s))
        }
    }
}

/// Reads from the peer, or waits for ever where there is nothing to read (UDP: send only).
async fn read_some(reader: &mut Option<ReadHalf>, buf: &mut [u8]) -> Result<usize, String> {
    match reader {
        Some(r) => r.read(buf).await.map_err(|e| format!("reading: {e}")),
        None => std::future::pending().await,
    }
}

enum Writer {
    Stream(WriteHalf),
    Udp(UdpSocket),
}

impl Writer {
    /// Writes events, in one write on a stream, one datagram each on the mesh.
    async fn send(&mut self, events: &[Event], wire: Wire) -> Result<(), String> {
        let write = async {
            match self {
                Writer::Stream(w) => {
                    let mut bytes = Vec::new();
                    for e in events {
                        match wire {
                            Wire::Xml => {
                                bytes.extend_from_slice(dronewatch_cot::to_xml(e).as_bytes())
                            }
                            Wire::Tak => bytes.extend(dronewatch_cot::tak::encode_stream(e)),
                        }
                    }
                    w.write_all(&bytes).await?;
                    w.flush().await
                }
                Writer::Udp(s) => {
                    for e in events {
                        let datagram = match wire {
                            Wire::Xml => dronewatch_cot::to_xml(e).into_bytes(),
                            Wire::Tak => dronewatch_cot::tak::encode_mesh(e),
                        };
                        s.send(&datagram).await?;
                    }
                    Ok(())
                }
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("writing: {}", error_chain(&e))),
            Err(_) => Err("writing: timed out".into()),
        }
    }
}

/// What was last sent of each track, to send only what is due.
#[derive(Debug, Default)]
struct SentTracks {
    /// By track uid: when it was last sent, its identity then, and the events sent.
    sent: BTreeMap<String, Sent>,
}

#[derive(Debug)]
struct Sent {
    at_ms: i64,
    identity: (Affiliation, bool),
    events: Vec<Event>,
}

impl SentTracks {
    fn forget(&mut self) {
        self.sent.clear();
    }

    /// The events due now: tracks not sent for `track_interval_s` or whose identity changed,
    /// and the last events of tracks gone from the picture, stale now.
    fn due(&mut self, snap: &Snapshot, cfg: &CotConfig, me: &Me, now_ms: i64) -> Vec<Event> {
        let interval_ms = (cfg.track_interval_s * 1000.0) as i64;
        let mut out = Vec::new();
        let mut live = std::collections::BTreeSet::new();
        for item in &snap.tracks {
            let t = &item.view;
            live.insert(t.uid.as_str());
            let identity = (t.affiliation, t.status == "coasting");
            let due = self
                .sent
                .get(&t.uid)
                .is_none_or(|s| now_ms - s.at_ms >= interval_ms || s.identity != identity);
            if !due {
                continue;
            }
            let mut events = vec![track_event(t, me, cfg.stale_s, now_ms)];
            events.extend(pilot_event(t, cfg.stale_s, now_ms));
            out.extend(events.iter().cloned());
            self.sent.insert(
                t.uid.clone(),
                Sent {
                    at_ms: now_ms,
                    identity,
                    events,
                },
            );
        }
        let gone: Vec<String> = self
            .sent
            .keys()
            .filter(|uid| !live.contains(uid.as_str()))
            .cloned()
            .collect();
        for uid in gone {
            if let Some(s) = self.sent.remove(&uid) {
                out.extend(s.events.into_iter().map(|mut e| {
                    e.time_unix_ms = now_ms;
                    e.start_unix_ms = now_ms;
                    e.stale_unix_ms = now_ms;
                    e
                }));
            }
        }
        out
    }
}

fn now_ms() -> i64 {
    crate::clock::now().0 / 1_000_000
}

fn ms_after(now_ms: i64, s: f64) -> i64 {
    now_ms + (s * 1000.0) as i64
}

/// A track's CoT uid: stable across restarts of the node and unique across sectors.
fn track_uid(t: &TrackView) -> String {
    format!("dronewatch.{}", t.uid.replace('/', "."))
}

fn exercise_mark(exercise: bool) -> &'static str {
    if exercise { "EXERCISE " } else { "" }
}

/// A track as TAK draws it.
fn track_event(t: &TrackView, me: &Me, stale_s: f64, now_ms: i64) -> Event {
    let cot_type = match t.affiliation {
        Affiliation::Manned => {
            let rotary = t
                .class
                .as_deref()
                .is_some_and(|c| c.contains("heli") || c.contains("rotor"));
            types::manned_aircraft(CotAffiliation::Neutral, rotary)
        }
        Affiliation::Hostile => types::uav(CotAffiliation::Hostile),
        Affiliation::Suspect => types::uav(CotAffiliation::Suspect),
        Affiliation::Unknown => types::uav(CotAffiliation::Unknown),
        Affiliation::Friend => types::uav(CotAffiliation::Friend),
    };
    let name = match (&t.remote_id_serial, &t.icao_address) {
        (_, Some(icao)) => format!("ICAO {icao}"),
        (Some(serial), _) => format!("UAS {} {serial}", t.id),
        _ => format!("UAS {}", t.id),
    };
    let mut detail = Detail {
        contact: Some(Contact {
            callsign: format!("{}{name}", exercise_mark(t.exercise)),
            endpoint: None,
        }),
        track: Some(Track {
            course_deg: t.course_deg,
            speed_mps: t.speed_mps,
        }),
        ..Detail::default()
    };
    detail.push_element("remarks", &[], Some(&track_remarks(t)));
    detail.push_element(
        "link",
        &[("uid", &me.uid), ("type", SELF_TYPE), ("relation", "p-p")],
        None,
    );
    let threat = t.threat.as_ref();
    let score = threat.map(|th| format!("{:.0}", th.score));
    let alert = threat.and_then(|th| th.alert_id).map(|a| a.to_string());
    let mut attrs = vec![
        ("sector", t.sector.as_str()),
        ("track_id", t.uid.as_str()),
        ("status", t.status.as_str()),
    ];
    attrs.extend(threat.map(|th| ("threat_level", th.level.as_str())));
    attrs.extend(score.as_deref().map(|s| ("threat_score", s)));
    attrs.extend(alert.as_deref().map(|a| ("alert_id", a)));
    attrs.extend(t.remote_id_serial.as_deref().map(|s| ("rid_serial", s)));
    attrs.extend(t.icao_address.as_deref().map(|s| ("icao", s)));
    if t.exercise {
        attrs.push(("exercise", "true"));
    }
    detail.push_element("__dronewatch", &attrs, None);
    Event {
        uid: track_uid(t),
        cot_type,
        how: "m-f".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: ms_after(now_ms, stale_s),
        opex: t.exercise.then(|| "e".into()),
        point: Point {
            lat_deg: t.position.lat_deg,
            lon_deg: t.position.lon_deg,
            hae_m: t.position.h_m,
            ce_m: t.sigma_horizontal_m,
            le_m: UNKNOWN,
        },
        detail,
        ..Event::default()
    }
}

fn track_remarks(t: &TrackView) -> String {
    let mut r = String::new();
    if t.exercise {
        r.push_str("EXERCISE: training, not a real drone. ");
    }
    match &t.threat {
        Some(th) => {
            r.push_str(&format!("Threat {} (score {:.0})", th.level, th.score));
            if let Some(a) = th.alert_id {
                r.push_str(&format!(", alert {a}"));
            }
            r.push_str(". ");
        }
        None if t.affiliation == Affiliation::Manned => r.push_str("Manned aircraft (ADS-B). "),
        None if t.affiliation == Affiliation::Friend => r.push_str("Friendly (allow-list). "),
        None => {}
    }
    if let Some(s) = &t.remote_id_serial {
        r.push_str(&format!("Remote ID {s}. "));
    }
    if !t.sensors.is_empty() {
        r.push_str(&format!("Sensors: {}. ", t.sensors.join(", ")));
    }
    if t.status == "coasting" {
        r.push_str("Coasting: no fix for a while, position predicted. ");
    }
    r.push_str(&format!("dronewatch track {}", t.uid));
    r
}

/// The Remote ID pilot position of a track: a broadcast claim, relayed.
fn pilot_event(t: &TrackView, stale_s: f64, now_ms: i64) -> Option<Event> {
    let p = t.operator_position?;
    let affiliation = match t.affiliation {
        Affiliation::Hostile | Affiliation::Suspect => CotAffiliation::Suspect,
        Affiliation::Friend => CotAffiliation::Friend,
        _ => CotAffiliation::Neutral,
    };
    let drone = track_uid(t);
    let mut detail = Detail {
        contact: Some(Contact {
            callsign: format!("{}Pilot of UAS {}", exercise_mark(t.exercise), t.id),
            endpoint: None,
        }),
        ..Detail::default()
    };
    detail.push_element(
        "remarks",
        &[],
        Some("Remote ID operator position as broadcast by the drone: a claim, not a fix."),
    );
    detail.push_element(
        "link",
        &[("uid", &drone), ("type", "a-u-A"), ("relation", "p-p")],
        None,
    );
    Some(Event {
        uid: format!("{drone}.pilot"),
        cot_type: format!("a-{}-G", affiliation.letter()),
        how: "m-r".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: ms_after(now_ms, stale_s),
        opex: t.exercise.then(|| "e".into()),
        point: unknown_point(p.lat_deg, p.lon_deg),
        detail,
        ..Event::default()
    })
}

/// The node's own type: ground equipment, sensor.
const SELF_TYPE: &str = "a-f-G-E-S";

/// The node as a TAK client introduces itself (TAK servers route to users they know).
fn self_announcement(me: &Me, now_ms: i64) -> Event {
    let mut detail = Detail {
        contact: Some(Contact {
            callsign: me.callsign.clone(),
            endpoint: None,
        }),
        group: Some(Group {
            name: "Cyan".into(),
            role: "HQ".into(),
        }),
        takv: Some(Takv {
            device: "dronewatch".into(),
            platform: "dronewatch".into(),
            os: std::env::consts::OS.into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }),
        ..Detail::default()
    };
    detail.push_element(
        "remarks",
        &[],
        Some("dronewatch counter-drone awareness node"),
    );
    Event {
        uid: me.uid.clone(),
        cot_type: SELF_TYPE.into(),
        how: "m-c".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: ms_after(now_ms, 2.0 * ANNOUNCE_EVERY.as_secs_f64()),
        point: Point {
            lat_deg: me.origin.lat_deg,
            lon_deg: me.origin.lon_deg,
            hae_m: me.origin.h_m,
            ce_m: UNKNOWN,
            le_m: UNKNOWN,
        },
        detail,
        ..Event::default()
    }
}

/// A GeoChat from the node: to one user, or to All Chat Rooms.
fn chat(
    me: &Me,
    to: Option<&TakUser>,
    id: &str,
    text: &str,
    at: Point,
    now_ms: i64,
    stale_s: f64,
) -> Event {
    let (room, room_id) = match to {
        Some(u) => (u.callsign.as_str(), u.uid.as_str()),
        None => ("All Chat Rooms", "All Chat Rooms"),
    };
    let time = jiff::Timestamp::from_millisecond(now_ms)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut detail = Detail::default();
    // `__chat` with its `chatgrp` child, as ATAK writes it.
    detail.push_parent(
        "__chat",
        &[
            ("parent", "RootContactGroup"),
            ("groupOwner", "false"),
            ("chatroom", room),
            ("id", room_id),
            ("senderCallsign", &me.callsign),
        ],
        &[(
            "chatgrp",
            &[("uid0", &me.uid), ("uid1", room_id), ("id", room_id)],
        )],
    );
    detail.push_element(
        "link",
        &[("uid", &me.uid), ("type", SELF_TYPE), ("relation", "p-p")],
        None,
    );
    let source = format!("BAO.F.ATAK.{}", me.uid);
    detail.push_element(
        "remarks",
        &[("source", &source), ("to", room_id), ("time", &time)],
        Some(text),
    );
    if let Some(u) = to {
        // TAK Server routes by `marti`: to this callsign only.
        detail.push_parent("marti", &[], &[("dest", &[("callsign", &u.callsign)])]);
    }
    Event {
        uid: format!("GeoChat.{}.{room_id}.{id}", me.uid),
        cot_type: "b-t-f".into(),
        how: "h-g-i-g-o".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: ms_after(now_ms, stale_s),
        point: at,
        detail,
        ..Event::default()
    }
}

fn unknown_point(lat_deg: f64, lon_deg: f64) -> Point {
    Point {
        lat_deg,
        lon_deg,
        hae_m: UNKNOWN,
        ce_m: UNKNOWN,
        le_m: UNKNOWN,
    }
}

/// A personal warning as a GeoChat to that agent alone.
fn warning_chat(msg: &serde_json::Value, to: &TakUser, me: &Me, now_ms: i64) -> Option<Event> {
    let w = &msg["warning"];
    let id = w["id"].as_str()?;
    let text = format!(
        "{}. {}",
        warning_headline(w)?,
        w["advice"].as_str().unwrap_or_default()
    );
    let mut e = chat(
        me,
        Some(to),
        id,
        &text,
        unknown_point(0.0, 0.0),
        now_ms,
        300.0,
    );
    e.opex = w["exercise"].as_bool().unwrap_or(false).then(|| "e".into());
    Some(e)
}

/// An alert's news as a GeoChat to All Chat Rooms.
fn alert_chat(msg: &serde_json::Value, me: &Me, now_ms: i64) -> Option<Event> {
    let a = &msg["alert"];
    let id = a["id"].as_u64()?;
    let exercise = a["exercise"].as_bool().unwrap_or(false);
    let reasons: Vec<&str> = a["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["detail"].as_str())
                .take(3)
                .collect()
        })
        .unwrap_or_default();
    let text = format!(
        "{}ALERT {} {} ({}){}: track {}. {}",
        exercise_mark(exercise),
        id,
        a["level"].as_str().unwrap_or("?").to_uppercase(),
        a["state"].as_str().unwrap_or("?"),
        if a["escalated"].as_bool() == Some(true) {
            ", ESCALATED"
        } else {
            ""
        },
        a["track_ids"]
            .as_array()
            .and_then(|ids| ids.last())
            .map_or_else(|| "?".to_owned(), ToString::to_string),
        reasons.join("; "),
    );
    let at = a["last_position"]["lat_deg"]
        .as_f64()
        .zip(a["last_position"]["lon_deg"].as_f64())
        .map_or(unknown_point(0.0, 0.0), |(lat, lon)| {
            unknown_point(lat, lon)
        });
    let key = format!("alert-{id}-{now_ms}");
    let mut e = chat(me, None, &key, &text, at, now_ms, 300.0);
    e.opex = exercise.then(|| "e".into());
    Some(e)
}

/// A field sighting where the reporter estimated the drone to be (or where they stood,
/// when they gave no bearing and distance).
fn sighting_event(s: &SightingReport, stale_s: f64, now_ms: i64) -> Event {
    let at: Lla = s.reporter_position.into();
    let (place, ce_m) = match (s.bearing_deg, s.distance_m) {
        (Some(b), Some(d)) if b.is_finite() && d.is_finite() && d >= 0.0 => (
            dronewatch_geo::geodesic_direct(&at, b, d),
            (0.3 * d).max(30.0),
        ),
        _ => (
            at,
            s.distance_m.filter(|d| d.is_finite()).unwrap_or(UNKNOWN),
        ),
    };
    let mut remarks = format!(
        "Sighting by {} at {}",
        s.reporter.as_deref().unwrap_or("an agent"),
        s.observed_at
    );
    if let Some(b) = s.bearing_deg {
        remarks.push_str(&format!(", bearing {b:.0}°"));
    }
    if let Some(d) = s.distance_m {
        remarks.push_str(&format!(", about {d:.0} m away"));
    }
    if let Some(h) = s.height_m {
        remarks.push_str(&format!(", about {h:.0} m up"));
    }
    if let Some(c) = s.count.filter(|c| *c > 1) {
        remarks.push_str(&format!(", {c} drones"));
    }
    if s.sound_heard == Some(true) {
        remarks.push_str(", heard");
    }
    if let Some(n) = &s.note {
        remarks.push_str(&format!(". {n}"));
    }
    let mut detail = Detail {
        contact: Some(Contact {
            callsign: format!("Sighting {}", s.reporter.as_deref().unwrap_or(""))
                .trim()
                .to_owned(),
            endpoint: None,
        }),
        ..Detail::default()
    };
    detail.push_element("remarks", &[], Some(&remarks));
    Event {
        uid: format!("dronewatch.sighting.{}", s.client_id),
        cot_type: "a-u-A".into(),
        how: "h-e".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: ms_after(now_ms, stale_s.max(300.0)),
        point: Point {
            lat_deg: place.lat_deg,
            lon_deg: place.lon_deg,
            hae_m: s.height_m.map_or(UNKNOWN, |h| at.h_m + h),
            ce_m,
            le_m: UNKNOWN,
        },
        detail,
        ..Event::default()
    }
}

/// A position report from a TAK user that `agents` lists (by callsign or uid): that agent's
/// position. A time more than an hour from `now` is taken as now (a phone's clock); an
/// unknown height as `default_h_m` (the sector's).
fn agent_fix(
    ev: &Event,
    agents: &BTreeMap<String, String>,
    now: TimeNs,
    default_h_m: f64,
) -> Option<(String, AgentFix)> {
    if !types::is_atom(&ev.cot_type) || ev.cot_type.starts_with("a-h") {
        return None;
    }
    let callsign = ev.detail.contact.as_ref().map(|c| c.callsign.as_str());
    let agent = callsign
        .and_then(|c| agents.get(c))
        .or_else(|| agents.get(&ev.uid))?;
    let position = Lla::new(
        ev.point.lat_deg,
        ev.point.lon_deg,
        if ev.point.hae_m == UNKNOWN || !ev.point.hae_m.is_finite() {
            default_h_m
        } else {
            ev.point.hae_m
        },
    );
    if !position.is_valid() || !(-180.0..=180.0).contains(&position.lon_deg) {
        return None;
    }
    let t = TimeNs(ev.time_unix_ms.saturating_mul(1_000_000));
    let t = if t.secs_since(now).abs() > 3600.0 {
        now
    } else {
        t
    };
    Some((
        agent.clone(),
        AgentFix {
            agent_id: AgentId::new(agent.clone()),
            t,
            position,
        },
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::live::TrackItem;
    use crate::view::{Position, ThreatSummary};

    fn me() -> Me {
        Me {
            uid: "dronewatch-n1".into(),
            callsign: "SOC Nogales".into(),
            origin: Lla::new(31.34, -110.93, 1200.0),
        }
    }

    fn track(id: u64, affiliation: Affiliation) -> TrackView {
        TrackView {
            uid: format!("sector-1/{id}"),
            id,
            sector: "sector-1".into(),
            t_unix_ns: 0,
            status: "confirmed".into(),
            position: Position {
                lat_deg: 31.35,
                lon_deg: -110.94,
                h_m: 1260.0,
            },
            speed_mps: 12.5,
            course_deg: 181.0,
            climb_mps: 0.0,
            sigma_horizontal_m: 7.5,
            sensors: vec!["radar-a".into(), "rf-1".into()],
            remote_id_serial: Some("1581F5FJD1234".into()),
            operator_position: Some(Position {
                lat_deg: 31.30,
                lon_deg: -110.95,
                h_m: 0.0,
            }),
            icao_address: None,
            class: None,
            class_confidence: None,
            rf_frequency_mhz: None,
            rf_band: None,
            affiliation,
            threat: Some(ThreatSummary {
                score: 81.6,
                level: "critical".into(),
                alert_id: Some(4),
            }),
            updates: 10,
            last_update_unix_ns: 0,
            exercise: false,
        }
    }

    fn snapshot(tracks: Vec<TrackView>) -> Snapshot {
        Snapshot {
            tracks: tracks
                .into_iter()
                .map(|t| Arc::new(TrackItem::new(t)))
                .collect(),
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_bad_peer_is_refused_by_field() {
        assert_eq!(check(&CotConfig::default()), Ok(()));
        for (bad, field) in [
            (
                CotConfig {
                    url: "http://tak:8087".into(),
                    ..Default::default()
                },
                "url",
            ),
            (
                CotConfig {
                    url: "tcp://tak".into(),
                    ..Default::default()
                },
                "url",
            ),
            (
                CotConfig {
                    kinds: vec!["posture".into()],
                    ..Default::default()
                },
                "kinds",
            ),
            (
                CotConfig {
                    stale_s: 1.0,
                    ..Default::default()
                },
                "stale_s",
            ),
            (
                CotConfig {
                    url: "udp://239.2.3.1:6969".into(),
                    protocol: CotProtocol::Negotiate,
                    ..Default::default()
                },
                "protocol",
            ),
            (
                CotConfig {
                    min_alert_level: "urgent".into(),
                    ..Default::default()
                },
                "min_alert_level",
            ),
            (
                CotConfig {
                    url: "ssl://tak:8089".into(),
                    ..Default::default()
                },
                "ca_file: needed for ssl://",
            ),
            (
                CotConfig {
                    cert_file: Some("node.pem".into()),
                    ..Default::default()
                },
                "cert_file: only for ssl://",
            ),
        ] {
            let e = check(&bad).unwrap_err();
            assert!(e.contains(field), "{e}");
        }
    }

    #[test]
    fn a_hostile_track_is_a_hostile_uav_fused_with_its_threat_and_reads_back_the_same() {
        let e = track_event(&track(12, Affiliation::Hostile), &me(), 20.0, 1_000_000);
        assert_eq!(e.cot_type, "a-h-A-M-H-Q");
        assert_eq!(e.uid, "dronewatch.sector-1.12");
        assert_eq!(e.how, "m-f");
        assert_eq!(e.stale_unix_ms, 1_020_000);
        assert_eq!(e.point.ce_m, 7.5);
        assert_eq!(e.point.hae_m, 1260.0);
        assert_eq!(e.opex, None);
        let remarks = e.detail.remarks().unwrap();
        assert!(
            remarks.contains("Threat critical (score 82), alert 4"),
            "{remarks}"
        );
        assert!(remarks.contains("radar-a, rf-1"), "{remarks}");
        let attrs = e.detail.element_attrs("__dronewatch").unwrap();
        assert!(
            attrs.contains(&("alert_id".into(), "4".into())),
            "{attrs:?}"
        );
        let xml = dronewatch_cot::to_xml(&e);
        assert_eq!(dronewatch_cot::parse_xml(xml.as_bytes()).unwrap(), e);
        let tak = dronewatch_cot::tak::encode_stream(&e);
        assert_eq!(dronewatch_cot::tak::decode_stream(&tak).unwrap(), e);

        let pilot = pilot_event(&track(12, Affiliation::Hostile), 20.0, 1_000_000).unwrap();
        assert_eq!(
            pilot.cot_type, "a-s-G",
            "a claimed position: suspect, not hostile"
        );
        assert_eq!(pilot.how, "m-r");
        assert_eq!(pilot.uid, "dronewatch.sector-1.12.pilot");
    }

    #[test]
    fn an_exercise_track_says_so_and_manned_aircraft_are_neutral() {
        let mut t = track(3, Affiliation::Suspect);
        t.exercise = true;
        let e = track_event(&t, &me(), 20.0, 0);
        assert_eq!(e.cot_type, "a-s-A-M-H-Q");
        assert_eq!(e.opex.as_deref(), Some("e"));
        assert!(
            e.detail
                .contact
                .as_ref()
                .unwrap()
                .callsign
                .starts_with("EXERCISE ")
        );
        assert!(e.detail.remarks().unwrap().starts_with("EXERCISE"));

        let mut heli = track(4, Affiliation::Manned);
        heli.icao_address = Some("A1B2C3".into());
        heli.class = Some("helicopter".into());
        heli.threat = None;
        let e = track_event(&heli, &me(), 20.0, 0);
        assert_eq!(e.cot_type, "a-n-A-C-H");
        assert_eq!(e.detail.contact.unwrap().callsign, "ICAO A1B2C3");
    }

    #[test]
    fn tracks_are_sent_when_due_at_once_on_a_new_identity_and_stale_when_gone() {
        let cfg = CotConfig {
            track_interval_s: 2.0,
            ..CotConfig::default()
        };
        let mut sent = SentTracks::default();
        let unknown = snapshot(vec![
            track(1, Affiliation::Unknown),
            track(2, Affiliation::Friend),
        ]);
        // Two tracks, each with its pilot.
        assert_eq!(sent.due(&unknown, &cfg, &me(), 0).len(), 4);
        assert!(sent.due(&unknown, &cfg, &me(), 1_000).is_empty());
        assert_eq!(sent.due(&unknown, &cfg, &me(), 2_000).len(), 4);
        let hostile = snapshot(vec![
            track(1, Affiliation::Hostile),
            track(2, Affiliation::Friend),
        ]);
        let due = sent.due(&hostile, &cfg, &me(), 2_500);
        assert_eq!(due.len(), 2, "only the track whose identity changed");
        assert_eq!(due[0].cot_type, "a-h-A-M-H-Q");
        let gone = snapshot(vec![track(2, Affiliation::Friend)]);
        let due = sent.due(&gone, &cfg, &me(), 3_000);
        assert_eq!(due.len(), 2, "track 1 and its pilot, stale");
        assert!(
            due.iter()
                .all(|e| e.stale_unix_ms == 3_000 && e.uid.contains(".1"))
        );
        sent.forget();
        assert_eq!(
            sent.due(&gone, &cfg, &me(), 3_100).len(),
            2,
            "all news again"
        );
    }

    fn sa(uid: &str, callsign: &str, cot_type: &str, hae_m: f64) -> Event {
        Event {
            uid: uid.into(),
            cot_type: cot_type.into(),
            how: "m-g".into(),
            time_unix_ms: 1_700_000_000_000,
            point: Point {
                lat_deg: 31.3,
                lon_deg: -110.9,
                hae_m,
                ce_m: 5.0,
                le_m: 5.0,
            },
            detail: Detail {
                contact: Some(Contact {
                    callsign: callsign.into(),
                    endpoint: None,
                }),
                ..Detail::default()
            },
            ..Event::default()
        }
    }

    #[test]
    fn a_listed_tak_users_position_is_that_agents_position() {
        let agents: BTreeMap<String, String> = [
            ("BP ALPHA 1".to_owned(), "garcia".to_owned()),
            ("ANDROID-lee".to_owned(), "lee".to_owned()),
        ]
        .into();
        let now = TimeNs(1_700_000_000_000_000_000);
        let (agent, fix) = agent_fix(
            &sa("ANDROID-x", "BP ALPHA 1", "a-f-G-U-C", 1250.0),
            &agents,
            now,
            0.0,
        )
        .unwrap();
        assert_eq!(agent, "garcia");
        assert_eq!(fix.position, Lla::new(31.3, -110.9, 1250.0));
        assert_eq!(fix.t, now);
        let (agent, fix) = agent_fix(
            &sa("ANDROID-lee", "Lee", "a-f-G-U-C", UNKNOWN),
            &agents,
            now,
            1200.0,
        )
        .unwrap();
        assert_eq!(agent, "lee", "by uid");
        assert_eq!(fix.position.h_m, 1200.0, "unknown height: the sector's");
        assert!(agent_fix(&sa("x", "Stranger", "a-f-G-U-C", 0.0), &agents, now, 0.0).is_none());
        assert!(
            agent_fix(&sa("x", "BP ALPHA 1", "b-t-f", 0.0), &agents, now, 0.0).is_none(),
            "a chat is not a position"
        );
        let mut far = sa("x", "BP ALPHA 1", "a-f-G-U-C", 0.0);
        far.point.lat_deg = 91.0;
        assert!(agent_fix(&far, &agents, now, 0.0).is_none());
        let mut stale_clock = sa("x", "BP ALPHA 1", "a-f-G-U-C", 0.0);
        stale_clock.time_unix_ms = 0;
        assert_eq!(agent_fix(&stale_clock, &agents, now, 0.0).unwrap().1.t, now);
    }

    #[test]
    fn a_warning_is_a_chat_to_that_agent_alone() {
        let msg = serde_json::json!({"type": "warning", "warning": {
            "id": "w-7", "agent_id": "garcia", "track_id": 12, "level": "critical",
            "range_m": 420.0, "bearing_deg": 44.0, "time_to_cpa_s": 25.0,
            "advice": "Take cover now.", "exercise": false}});
        let to = TakUser {
            uid: "ANDROID-garcia".into(),
            callsign: "BP ALPHA 1".into(),
        };
        let e = warning_chat(&msg, &to, &me(), 5_000).unwrap();
        assert_eq!(e.cot_type, "b-t-f");
        assert_eq!(e.uid, "GeoChat.dronewatch-n1.ANDROID-garcia.w-7");
        assert_eq!(
            e.detail.remarks().unwrap(),
            "CRITICAL: drone 420 m NE, closest in 25 s. Take cover now."
        );
        let dest = e.detail.element_attrs("dest").unwrap();
        assert_eq!(dest, vec![("callsign".to_owned(), "BP ALPHA 1".to_owned())]);
        let chat = e.detail.element_attrs("__chat").unwrap();
        assert!(
            chat.contains(&("id".into(), "ANDROID-garcia".into())),
            "{chat:?}"
        );
        let xml = dronewatch_cot::to_xml(&e);
        assert_eq!(dronewatch_cot::parse_xml(xml.as_bytes()).unwrap(), e);
    }
}
