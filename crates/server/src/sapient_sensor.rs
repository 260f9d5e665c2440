//! `dronewatch sapient-sensor`: a SAPIENT edge node (ASM) simulator that replays a benchmark
//! scenario directory (`sensors.json` + `detections.jsonl`) to a SAPIENT fusion node over
//! TCP, in real time or as fast as possible.
//!
//! One SAPIENT node per scenario sensor, all on one connection: each node registers with its
//! own `node_id` (a UUID derived from the sensor id, so runs are repeatable) and `name` (the
//! sensor id), and one connection keeps the detections in file order, which a tracker needs.
//! Sensors seen only in detections (the scenario's agents) register on first use. A node
//! sends a StatusReport with its `node_location` before its first detection, whenever it
//! moves, and every `status_interval_s` of scenario time; a GOODBYE at the end.
//!
//! Detections are sent the way a real node of that kind would: radar as range-bearing
//! (azimuth, elevation, range), RF direction finding as azimuth only, acoustic as azimuth
//! and elevation, agent sightings as azimuth and range, Remote ID as a WGS84 location
//! (x = longitude) with the serial in `DetectionReport.id` from a PASSIVE_RF node of
//! sub-type "Remote ID".

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use dronewatch_model::{Lla, Measurement, Observation, SensorKind, TimeNs};
use dronewatch_sapient::frame::FrameCodec;
use dronewatch_sapient::ids::{new_ulid, stable_bits, stable_ulid, uuid_v4_from_bits};
use dronewatch_sapient::time::from_time_ns;
use dronewatch_sapient::v2::registration::{self, NodeType};
use dronewatch_sapient::v2::sapient_message::Content;
use dronewatch_sapient::{IcdVersion, v2};
use dronewatch_sim::{DetectionReader, FormatError, read_scenario_dir};
use prost::Message;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

/// How fast to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Scenario time × `speed` (1.0 = real time).
    RealTime {
        speed: f64,
    },
    AsFastAsPossible,
}

/// What to replay, and where.
#[derive(Debug, Clone)]
pub struct SensorClientConfig {
    pub server: SocketAddr,
    /// A scenario folder with `sensors.json` and `detections.jsonl`.
    pub scenario_dir: PathBuf,
    pub pace: Pace,
    /// Scenario seconds between a node's status heartbeats.
    pub status_interval_s: f64,
    /// How long to wait for the RegistrationAcks.
    pub ack_timeout: Duration,
    /// Send at most this many detections.
    pub max_detections: Option<u64>,
}

impl Default for SensorClientConfig {
    fn default() -> Self {
        Self {
            server: SocketAddr::from((Ipv4Addr::LOCALHOST, crate::sources::sapient::DEFAULT_PORT)),
            scenario_dir: PathBuf::from("."),
            pace: Pace::AsFastAsPossible,
            status_interval_s: 5.0,
            ack_timeout: Duration::from_secs(5),
            max_detections: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClientStats {
    pub nodes_registered: u64,
    pub detections_sent: u64,
    pub status_reports_sent: u64,
    /// `detections.jsonl` lines that did not parse (skipped).
    pub lines_skipped: u64,
    pub bytes_sent: u64,
    pub registration_acks: u64,
    /// SAPIENT Error messages the fusion node sent back.
    pub errors_received: u64,
    /// The first few of those errors' texts.
    pub error_samples: Vec<String>,
    pub elapsed_s: f64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SensorClientError {
    #[error("scenario: {0}")]
    Scenario(#[from] FormatError),
    #[error("cannot connect to the SAPIENT fusion node at {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("registration of node {node} ({name}) rejected: {reasons:?}")]
    RegistrationRejected {
        node: String,
        name: String,
        reasons: Vec<String>,
    },
    #[error("no RegistrationAck for {missing} node(s) within {timeout:?}")]
    AckTimeout { missing: usize, timeout: Duration },
    #[error("connection to the fusion node failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the fusion node closed the connection")]
    Closed,
}

/// A stable UUID v4-shaped node id for a scenario sensor id (FNV-1a over the id, twice).
pub fn node_id_for(sensor_id: &str) -> String {
    uuid_v4_from_bits(stable_bits(sensor_id))
}

/// The Registration of a simulated node of `kind`.
pub fn registration_for(
    sensor_id: &str,
    kind: SensorKind,
    status_interval_s: f64,
) -> v2::Registration {
    use registration::{
        Capability, ConfigurationData, DetectionDefinition, Duration as SDuration, LocationType,
        ModeDefinition, NodeDefinition, RegionDefinition, StatusDefinition, TaskDefinition,
        location_type::{CoordinatesOneof, DatumOneof},
    };
    let (node_type, sub_type) = match kind {
        SensorKind::Radar => (NodeType::Radar, None),
        SensorKind::RfDf => (NodeType::PassiveRf, Some("RF direction finder")),
        SensorKind::Acoustic => (NodeType::Acoustic, None),
        SensorKind::RemoteId => (NodeType::PassiveRf, Some("Remote ID")),
        SensorKind::Agent => (NodeType::Human, Some("field agent")),
        SensorKind::Eo => (NodeType::Camera, None),
        SensorKind::Adsb => (NodeType::Other, Some("ADS-B")),
        SensorKind::Other => (NodeType::Other, None),
    };
    let seconds = |value: f32| SDuration {
        units: Some(registration::TimeUnits::Seconds as i32),
        value: Some(value),
    };
    let location_units = LocationType {
        coordinates_oneof: Some(CoordinatesOneof::LocationUnits(
            v2::LocationCoordinateSystem::LatLngDegM as i32,
        )),
        datum_oneof: Some(DatumOneof::LocationDatum(v2::LocationDatum::Wgs84E as i32)),
        zone: None,
    };
    let detection_location = if kind == SensorKind::RemoteId {
        location_units.clone()
    } else {
        LocationType {
            coordinates_oneof: Some(CoordinatesOneof::RangeBearingUnits(
                v2::RangeBearingCoordinateSystem::DegreesM as i32,
            )),
            datum_oneof: Some(DatumOneof::RangeBearingDatum(
                v2::RangeBearingDatum::True as i32,
            )),
            zone: None,
        }
    };
    v2::Registration {
        node_definition: vec![NodeDefinition {
            node_type: Some(node_type as i32),
            node_sub_type: sub_type.map(str::to_owned).into_iter().collect(),
        }],
        icd_version: Some(IcdVersion::V2_0.label().to_owned()),
        name: Some(sensor_id.to_owned()),
        short_name: Some(sensor_id.chars().take(16).collect()),
        capabilities: vec![Capability {
            category: Some("dronewatch".into()),
            r#type: Some("simulated sensor".into()),
            value: Some(format!("{kind:?}")),
            units: None,
        }],
        status_definition: Some(StatusDefinition {
            status_interval: Some(seconds(status_interval_s as f32)),
            location_definition: Some(location_units.clone()),
            ..Default::default()
        }),
        mode_definition: vec![ModeDefinition {
            mode_name: Some("Default".into()),
            mode_type: Some(registration::ModeType::Permanent as i32),
            settle_time: Some(seconds(0.0)),
            tracking_type: Some(registration::TrackingType::None as i32),
            detection_definition: vec![DetectionDefinition {
                location_type: Some(detection_location),
                // An RF node's signals carry their frequencies in hertz.
                detection_report: (kind == SensorKind::RfDf)
                    .then(|| registration::DetectionReport {
                        category: Some(registration::DetectionReportCategory::Signal as i32),
                        r#type: Some("centre_frequency".into()),
                        units: Some("Hz".into()),
                        on_change: None,
                    })
                    .into_iter()
                    .collect(),
                ..Default::default()
            }],
            task: Some(TaskDefinition {
                concurrent_tasks: Some(0),
                region_definition: Some(RegionDefinition {
                    region_type: vec![registration::RegionType::AreaOfInterest as i32],
                    region_area: vec![location_units],
                    ..Default::default()
                }),
                command: Vec::new(),
            }),
            ..Default::default()
        }],
        config_data: vec![ConfigurationData {
            manufacturer: "dronewatch".into(),
            model: format!("sapient-sensor ({kind:?})"),
            ..Default::default()
        }],
        ..Default::default()
    }
}

// Metres per degree (same rounding as the fusion side's reader of our errors).
const M_PER_DEG_LAT: f64 = 111_132.0;
const M_PER_DEG_LON_EQ: f64 = 111_320.0;

/// The DetectionReport of one scenario observation.
pub fn detection_for(obs: &Observation) -> v2::DetectionReport {
    use v2::detection_report::{DetectionReportClassification, LocationOneof};
    let rb = |az: f64,
              el: Option<f64>,
              range: Option<f64>,
              s_az: f64,
              s_el: Option<f64>,
              s_r: Option<f64>| {
        LocationOneof::RangeBearing(v2::RangeBearing {
            elevation: el,
            azimuth: Some(az),
            range,
            elevation_error: s_el,
            azimuth_error: Some(s_az),
            range_error: s_r,
            coordinate_system: Some(v2::RangeBearingCoordinateSystem::DegreesM as i32),
            datum: Some(v2::RangeBearingDatum::True as i32),
        })
    };
    let location = match obs.measurement {
        Measurement::Position {
            position,
            sigma_horizontal_m,
            sigma_vertical_m,
        } => LocationOneof::Location(v2::Location {
            x: Some(position.lon_deg),
            y: Some(position.lat_deg),
            z: Some(position.h_m),
            // Errors in the units of their coordinate (degrees here).
            x_error: Some(
                sigma_horizontal_m / (M_PER_DEG_LON_EQ * position.lat_deg.to_radians().cos()),
            ),
            y_error: Some(sigma_horizontal_m / M_PER_DEG_LAT),
            z_error: Some(sigma_vertical_m),
            coordinate_system: Some(v2::LocationCoordinateSystem::LatLngDegM as i32),
            datum: Some(v2::LocationDatum::Wgs84E as i32),
            utm_zone: None,
        }),
        Measurement::RangeAzEl {
            range_m,
            az_deg,
            el_deg,
            sigma_range_m,
            sigma_az_deg,
            sigma_el_deg,
        } => rb(
            az_deg,
            Some(el_deg),
            Some(range_m),
            sigma_az_deg,
            Some(sigma_el_deg),
            Some(sigma_range_m),
        ),
        Measurement::Bearing {
            az_deg,
            sigma_az_deg,
        } => rb(az_deg, None, None, sigma_az_deg, None, None),
        Measurement::AzEl {
            az_deg,
            el_deg,
            sigma_az_deg,
            sigma_el_deg,
        } => rb(
            az_deg,
            Some(el_deg),
            None,
            sigma_az_deg,
            Some(sigma_el_deg),
            None,
        ),
        Measurement::BearingDistance {
            az_deg,
            dist_m,
            sigma_az_deg,
            sigma_dist_rel,
        } => rb(
            az_deg,
            None,
            Some(dist_m),
            sigma_az_deg,
            None,
            Some(dist_m * sigma_dist_rel),
        ),
    };
    v2::DetectionReport {
        report_id: Some(new_ulid()),
        // The scenario's object id when it has one (the same id, the same ULID), else one
        // object per detection (TRACKING_TYPE_NONE).
        object_id: Some(
            obs.identity
                .sensor_object_id
                .as_deref()
                .map_or_else(new_ulid, stable_ulid),
        ),
        signal: obs
            .identity
            .rf_emission
            .iter()
            .map(|rf| v2::detection_report::Signal {
                // The standard requires an amplitude; 0 stands for "not measured" here.
                amplitude: Some(rf.amplitude.unwrap_or(0.0) as f32),
                centre_frequency: Some(rf.centre_frequency_hz as f32),
                start_frequency: rf
                    .bandwidth_hz
                    .map(|b| (rf.centre_frequency_hz - b / 2.0) as f32),
                stop_frequency: rf
                    .bandwidth_hz
                    .map(|b| (rf.centre_frequency_hz + b / 2.0) as f32),
                pulse_duration: None,
            })
            .collect(),
        location_oneof: Some(location),
        classification: obs
            .identity
            .classification
            .iter()
            .map(|c| DetectionReportClassification {
                r#type: Some(c.class.clone()),
                confidence: Some(c.confidence as f32),
                sub_class: Vec::new(),
            })
            .collect(),
        id: obs.identity.remote_id_serial.clone(),
        ..Default::default()
    }
}

/// The StatusReport of a node at `position`.
pub fn status_for(position: Option<Lla>, goodbye: bool) -> v2::StatusReport {
    use v2::status_report::{Info, System};
    v2::StatusReport {
        report_id: Some(new_ulid()),
        system: Some(if goodbye { System::Goodbye } else { System::Ok } as i32),
        info: Some(Info::New as i32),
        mode: Some("Default".into()),
        node_location: position.map(|p| v2::Location {
            x: Some(p.lon_deg),
            y: Some(p.lat_deg),
            z: Some(p.h_m),
            coordinate_system: Some(v2::LocationCoordinateSystem::LatLngDegM as i32),
            datum: Some(v2::LocationDatum::Wgs84E as i32),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn envelope(node_id: &str, t: TimeNs, content: Content) -> v2::SapientMessage {
    v2::SapientMessage {
        timestamp: Some(from_time_ns(t)),
        node_id: Some(node_id.to_owned()),
        destination_id: None,
        content: Some(content),
        additional_information: None,
    }
}

#[derive(Debug)]
struct NodeState {
    node_id: String,
    last_position: Option<Lla>,
    last_status: Option<TimeNs>,
}

/// Replies from the fusion node, counted by the reader task.
#[derive(Debug, Default)]
struct Inbox {
    acks: AtomicU64,
    errors: AtomicU64,
    samples: Mutex<Vec<String>>,
}

type AckTx = mpsc::UnboundedSender<(String, bool, Vec<String>)>;

/// Connects, registers one node per scenario sensor, waits for the acknowledgements, then
/// replays the detections with status heartbeats, and says goodbye.
pub async fn run(cfg: SensorClientConfig) -> Result<ClientStats, SensorClientError> {
    let started = Instant::now();
    let scenario = read_scenario_dir(&cfg.scenario_dir)?;
    let epoch = scenario.meta.epoch;
    let detections_path = cfg.scenario_dir.join("detections.jsonl");
    // Open now so a missing file fails before we connect.
    let reader = DetectionReader::open(&detections_path, epoch)?;

    let mut link = SapientLink::connect(cfg.server, cfg.status_interval_s).await?;
    let sensors: Vec<(String, SensorKind)> = scenario
        .sensors
        .iter()
        .map(|s| (s.id.0.clone(), s.kind))
        .collect();
    link.register(&sensors, epoch, cfg.ack_timeout).await?;

    // Parse on a blocking thread; the bounded channel paces it to the socket.
    let (obs_tx, mut obs_rx) = mpsc::channel::<Result<Observation, String>>(4096);
    let limit = cfg.max_detections;
    let parser = tokio::task::spawn_blocking(move || {
        let mut sent = 0u64;
        for (_, result) in reader {
            if limit.is_some_and(|l| sent >= l) {
                break;
            }
            let item = result.map_err(|e| e.to_string());
            if item.is_ok() {
                sent += 1;
            }
            if obs_tx.blocking_send(item).is_err() {
                break;
            }
        }
    });

    let wall_start = tokio::time::Instant::now();
    let mut t0: Option<TimeNs> = None;
    while let Some(item) = obs_rx.recv().await {
        let obs = match item {
            Ok(o) => o,
            Err(e) => {
                link.stats.lines_skipped += 1;
                warn!(error = %e, "detections.jsonl line skipped");
                continue;
            }
        };
        if let Pace::RealTime { speed } = cfg.pace {
            let start = *t0.get_or_insert(obs.t);
            let due_s = obs.t.secs_since(start) / speed.max(1e-6);
            let due = wall_start + Duration::from_secs_f64(due_s.max(0.0));
            if due > tokio::time::Instant::now() {
                link.flush().await?;
                tokio::time::sleep_until(due).await;
            }
        }
        link.push(&obs).await?;
    }
    let _ = parser.await;
    let mut stats = link.finish(epoch).await?;
    stats.elapsed_s = started.elapsed().as_secs_f64();
    info!(?stats, "sapient-sensor finished");
    Ok(stats)
}

/// One TCP connection to a SAPIENT fusion node carrying any number of simulated nodes:
/// registration, status heartbeats and detections, encoded into a buffer and written in
/// large writes. Used by `sapient-sensor` and the load generator.
#[derive(Debug)]
pub struct SapientLink {
    wr: OwnedWriteHalf,
    out: BytesMut,
    codec: FrameCodec,
    nodes: HashMap<String, NodeState>,
    inbox: Arc<Inbox>,
    reader_task: tokio::task::JoinHandle<()>,
    ack_rx: mpsc::UnboundedReceiver<(String, bool, Vec<String>)>,
    heartbeat_ns: i64,
    status_interval_s: f64,
    /// What was sent and received so far.
    pub stats: ClientStats,
}

impl SapientLink {
    pub async fn connect(
        server: SocketAddr,
        status_interval_s: f64,
    ) -> Result<Self, SensorClientError> {
        let stream =
            TcpStream::connect(server)
                .await
                .map_err(|source| SensorClientError::Connect {
                    addr: server,
                    source,
                })?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let inbox = Arc::new(Inbox::default());
        // Unbounded but bounded in practice: one entry per registration we send.
        let (ack_tx, ack_rx) = mpsc::unbounded_channel();
        let reader_task = tokio::spawn(read_replies(rd, Arc::clone(&inbox), ack_tx));
        Ok(Self {
            wr,
            out: BytesMut::with_capacity(256 * 1024),
            codec: FrameCodec::default(),
            nodes: HashMap::new(),
            inbox,
            reader_task,
            ack_rx,
            heartbeat_ns: (status_interval_s.max(0.001) * 1e9) as i64,
            status_interval_s,
            stats: ClientStats::default(),
        })
    }

    fn add_node(&mut self, sensor: &str, kind: SensorKind, t: TimeNs) -> String {
        let node_id = node_id_for(sensor);
        let reg = registration_for(sensor, kind, self.status_interval_s);
        let _ = self.codec.encode(
            &envelope(&node_id, t, Content::Registration(reg)),
            &mut self.out,
        );
        self.nodes.insert(
            sensor.to_owned(),
            NodeState {
                node_id: node_id.clone(),
                last_position: None,
                last_status: None,
            },
        );
        node_id
    }

    /// Registers one node per sensor and waits for every acknowledgement.
    pub async fn register(
        &mut self,
        sensors: &[(String, SensorKind)],
        t: TimeNs,
        ack_timeout: Duration,
    ) -> Result<(), SensorClientError> {
        let mut names: HashMap<String, String> = HashMap::new();
        for (id, kind) in sensors {
            let node_id = self.add_node(id, *kind, t);
            names.insert(node_id, id.clone());
        }
        self.flush().await?;
        let mut pending = names.len();
        let deadline = tokio::time::Instant::now() + ack_timeout;
        while pending > 0 {
            match tokio::time::timeout_at(deadline, self.ack_rx.recv()).await {
                Ok(Some((node, true, _))) => {
                    if names.contains_key(&node) {
                        pending -= 1;
                        self.stats.nodes_registered += 1;
                    }
                }
                Ok(Some((node, false, reasons))) => {
                    let name = names.get(&node).cloned().unwrap_or_default();
                    return Err(SensorClientError::RegistrationRejected {
                        node,
                        name,
                        reasons,
                    });
                }
                Ok(None) => return Err(SensorClientError::Closed),
                Err(_) => {
                    return Err(SensorClientError::AckTimeout {
                        missing: pending,
                        timeout: ack_timeout,
                    });
                }
            }
        }
        info!(
            nodes = self.stats.nodes_registered,
            "SAPIENT nodes registered"
        );
        Ok(())
    }

    /// Queues one observation as its node's DetectionReport, with the node's status first
    /// when it moved or a heartbeat is due; writes when the buffer is large.
    pub async fn push(&mut self, obs: &Observation) -> Result<(), SensorClientError> {
        let sensor = obs.sensor_id.as_str();
        if !self.nodes.contains_key(sensor) {
            // Sensors not registered up front (agents) register on first use; the
            // connection keeps order, so the fusion node sees the registration first.
            self.add_node(sensor, obs.sensor_kind, obs.t);
            self.stats.nodes_registered += 1;
        }
        let Some(node) = self.nodes.get_mut(sensor) else {
            return Ok(());
        };
        let moved = obs.sensor_position.is_some() && obs.sensor_position != node.last_position;
        let due = node
            .last_status
            .is_none_or(|t| obs.t.0.saturating_sub(t.0) >= self.heartbeat_ns);
        if moved || due {
            if obs.sensor_position.is_some() {
                node.last_position = obs.sensor_position;
            }
            let status = status_for(node.last_position, false);
            let _ = self.codec.encode(
                &envelope(&node.node_id, obs.t, Content::StatusReport(status)),
                &mut self.out,
            );
            node.last_status = Some(obs.t);
            self.stats.status_reports_sent += 1;
        }
        let det = detection_for(obs);
        let _ = self.codec.encode(
            &envelope(&node.node_id, obs.t, Content::DetectionReport(det)),
            &mut self.out,
        );
        self.stats.detections_sent += 1;
        if self.out.len() >= 64 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is queued.
    pub async fn flush(&mut self) -> Result<(), SensorClientError> {
        send(&mut self.wr, &mut self.out, &mut self.stats).await
    }

    /// Says goodbye for every node, closes our side, collects the last replies.
    pub async fn finish(mut self, fallback_t: TimeNs) -> Result<ClientStats, SensorClientError> {
        let end_t = TimeNs(
            self.nodes
                .values()
                .filter_map(|n| n.last_status)
                .map(|t| t.0)
                .max()
                .unwrap_or(fallback_t.0),
        );
        let mut all: Vec<&NodeState> = self.nodes.values().collect();
        all.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        for node in all {
            let bye = status_for(node.last_position, true);
            let _ = self.codec.encode(
                &envelope(&node.node_id, end_t, Content::StatusReport(bye)),
                &mut self.out,
            );
            self.stats.status_reports_sent += 1;
        }
        self.flush().await?;
        self.wr.shutdown().await?;
        // The fusion node closes after our end of stream; collect its last replies meanwhile.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.reader_task).await;
        let mut stats = self.stats;
        stats.registration_acks = self.inbox.acks.load(Ordering::Relaxed);
        stats.errors_received = self.inbox.errors.load(Ordering::Relaxed);
        stats.error_samples = self.inbox.samples.lock().await.clone();
        Ok(stats)
    }
}

async fn send(
    wr: &mut OwnedWriteHalf,
    out: &mut BytesMut,
    stats: &mut ClientStats,
) -> Result<(), SensorClientError> {
    if !out.is_empty() {
        wr.write_all(out).await?;
        stats.bytes_sent += out.len() as u64;
        out.clear();
    }
    Ok(())
}

async fn read_replies(mut rd: OwnedReadHalf, inbox: Arc<Inbox>, acks: AckTx) {
    let codec = FrameCodec::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            let frame = match codec.decode(&mut buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    warn!(error = %e, "bad frame from the fusion node");
                    return;
                }
            };
            let Ok(msg) = v2::SapientMessage::decode(frame) else {
                warn!("undecodable message from the fusion node");
                continue;
            };
            match msg.content {
                Some(Content::RegistrationAck(a)) => {
                    inbox.acks.fetch_add(1, Ordering::Relaxed);
                    let node = msg.destination_id.unwrap_or_default();
                    let _ = acks.send((node, a.acceptance == Some(true), a.ack_response_reason));
                }
                Some(Content::Error(e)) => {
                    inbox.errors.fetch_add(1, Ordering::Relaxed);
                    let mut samples = inbox.samples.lock().await;
                    if samples.len() < 10 {
                        samples.push(e.error_message.join("; "));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dronewatch_sapient::ids::is_strict_uuid_v4;

    #[test]
    fn node_ids_are_stable_uuids() {
        let a = node_id_for("radar-1");
        assert!(is_strict_uuid_v4(&a), "{a}");
        assert_eq!(a, node_id_for("radar-1"));
        assert_ne!(a, node_id_for("radar-2"));
        // Registered nodes keep their id across releases: the derivation must not change.
        assert_eq!(a, "222b58a3-9f7c-4ae9-9707-081bcb890e6a");
    }

    #[test]
    fn registrations_and_reports_pass_the_validator() {
        for kind in [
            SensorKind::Radar,
            SensorKind::RfDf,
            SensorKind::Acoustic,
            SensorKind::RemoteId,
            SensorKind::Agent,
            SensorKind::Eo,
            SensorKind::Adsb,
            SensorKind::Other,
        ] {
            let msg = envelope(
                &node_id_for("s"),
                TimeNs(0),
                Content::Registration(registration_for("s", kind, 5.0)),
            );
            assert_eq!(dronewatch_sapient::validate(&msg), Ok(()), "{kind:?}");
        }
        let status = envelope(
            &node_id_for("s"),
            TimeNs(0),
            Content::StatusReport(status_for(Some(Lla::new(51.0, -1.0, 3.0)), false)),
        );
        assert_eq!(dronewatch_sapient::validate(&status), Ok(()));
    }

    /// What a simulated RF node says of a drone's link and its own track number comes out
    /// of the fusion node's SAPIENT session as it went in.
    #[test]
    fn an_rf_nodes_signal_and_object_id_survive_the_round_trip() {
        use dronewatch_model::{IdentityHints, ObservationId, RfEmission, SensorId};
        use dronewatch_sapient::SessionEvent;
        use dronewatch_sapient::session::{NodeRegistry, Outputs, Session, SessionConfig};

        let node = node_id_for("rf-1");
        let mut session = Session::new(Arc::new(SessionConfig::default()), NodeRegistry::new(), 1);
        let mut out = Outputs::default();
        let t = TimeNs(1_748_779_200_000_000_000);
        let send = |session: &mut Session, out: &mut Outputs, content| {
            out.clear();
            let msg = envelope(&node, t, content);
            assert_eq!(dronewatch_sapient::validate(&msg), Ok(()));
            session.handle_frame(&msg.encode_to_vec(), t, out);
        };
        let reg = registration_for("rf-1", SensorKind::RfDf, 5.0);
        send(&mut session, &mut out, Content::Registration(reg));
        let at = Lla::new(31.33, -110.92, 1200.0);
        send(
            &mut session,
            &mut out,
            Content::StatusReport(status_for(Some(at), false)),
        );
        let obs = Observation {
            id: ObservationId(1),
            t,
            sensor_id: SensorId::new("rf-1"),
            sensor_kind: SensorKind::RfDf,
            sensor_position: Some(at),
            measurement: Measurement::Bearing {
                az_deg: 123.0,
                sigma_az_deg: 3.0,
            },
            velocity: None,
            identity: IdentityHints {
                sensor_object_id: Some("rf-1/drone-7".into()),
                rf_emission: Some(RfEmission {
                    centre_frequency_hz: 5.76e9,
                    bandwidth_hz: Some(20e6),
                    amplitude: Some(-62.0),
                }),
                ..IdentityHints::default()
            },
        };
        send(
            &mut session,
            &mut out,
            Content::DetectionReport(detection_for(&obs)),
        );
        let Some(SessionEvent::Observation(got)) = out.events.first() else {
            panic!("{:?} {:?}", out.events, out.replies);
        };
        assert_eq!(
            got.identity.sensor_object_id.as_deref(),
            Some(stable_ulid("rf-1/drone-7").as_str())
        );
        let rf = got.identity.rf_emission.unwrap();
        // Sent as f32 hertz, registered as Hz: back within the float's resolution.
        assert!((rf.centre_frequency_hz - 5.76e9).abs() < 1e3, "{rf:?}");
        assert!((rf.bandwidth_hz.unwrap() - 20e6).abs() < 1e3, "{rf:?}");
        assert_eq!(rf.drone_band(), Some("5.8 GHz"));
    }
}
