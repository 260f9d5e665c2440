//! SAPIENT ingest: detection reports over TCP on loopback into Observations on the pipeline
//! channel, and Task → TaskAck / Registration → RegistrationAck round trips measured while
//! another sensor streams detections flat out. Also the session alone (no TCP), to see where
//! the time goes.
//!
//! `cargo bench -p dronewatch-server --no-default-features --bench sapient_ingest`
//! Besides criterion's figures it prints round-trip percentiles.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use dronewatch_sapient::session::{NodeRegistry, Outputs, Session, SessionConfig};
use dronewatch_sapient::v2::sapient_message::Content;
use dronewatch_sapient::{FrameCodec, time, v2};
use dronewatch_server::SourceEvent;
use dronewatch_server::sapient_sensor::{detection_for, node_id_for, registration_for, status_for};
use dronewatch_server::sources::sapient::{SapientSource, SapientSourceConfig};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

const BATCH: u64 = 20_000;
/// Background detection rate while round trips are measured (reports/s), in chunks.
const LOAD_RATE: f64 = 100_000.0;
const LOAD_CHUNK: u64 = 1_000;
const T0: TimeNs = TimeNs(1_748_779_200_000_000_000);

fn msg(node: &str, t: TimeNs, content: Content) -> v2::SapientMessage {
    v2::SapientMessage {
        timestamp: Some(time::from_time_ns(t)),
        node_id: Some(node.to_owned()),
        destination_id: None,
        content: Some(content),
        additional_information: None,
    }
}

fn radar_obs(k: u64) -> Observation {
    Observation {
        id: ObservationId(k),
        t: T0.plus_secs(k as f64 * 0.001),
        sensor_id: SensorId::new("radar-1"),
        sensor_kind: SensorKind::Radar,
        sensor_position: None,
        measurement: Measurement::RangeAzEl {
            range_m: 1000.0 + (k % 4000) as f64,
            az_deg: (k % 360) as f64 + 0.25,
            el_deg: 3.0,
            sigma_range_m: 5.0,
            sigma_az_deg: 0.5,
            sigma_el_deg: 1.0,
        },
        velocity: None,
        identity: IdentityHints::default(),
    }
}

/// Registration + status, then `n` detection frames, for sensor `name`.
fn stream_for(name: &str, n: u64) -> (Vec<u8>, Vec<u8>) {
    let codec = FrameCodec::default();
    let node = node_id_for(name);
    let mut head = BytesMut::new();
    let reg = registration_for(name, SensorKind::Radar, 5.0);
    codec
        .encode(&msg(&node, T0, Content::Registration(reg)), &mut head)
        .ok();
    let at = Lla::new(51.2, -1.8, 110.0);
    codec
        .encode(
            &msg(
                &node,
                T0,
                Content::StatusReport(status_for(Some(at), false)),
            ),
            &mut head,
        )
        .ok();
    let mut body = BytesMut::new();
    for k in 0..n {
        let o = radar_obs(k);
        codec
            .encode(
                &msg(&node, o.t, Content::DetectionReport(detection_for(&o))),
                &mut body,
            )
            .ok();
    }
    (head.to_vec(), body.to_vec())
}

async fn read_frame(stream: &mut TcpStream, buf: &mut BytesMut) -> Option<v2::SapientMessage> {
    let codec = FrameCodec::default();
    loop {
        if let Ok(Some(frame)) = codec.decode(buf) {
            return v2::SapientMessage::decode(frame).ok();
        }
        if stream.read_buf(buf).await.ok()? == 0 {
            return None;
        }
    }
}

struct Bench {
    addr: SocketAddr,
    observed: watch::Receiver<u64>,
    shutdown: CancellationToken,
}

async fn start_server() -> Bench {
    let source = SapientSource::bind(SapientSourceConfig {
        bind: "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
        session: SessionConfig::default(),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = source.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = mpsc::channel::<SourceEvent>(8192);
    let shutdown = CancellationToken::new();
    tokio::spawn(source.run(tx, shutdown.clone()));
    let (count_tx, observed) = watch::channel(0u64);
    // The pipeline stand-in: drain in batches, publish the observation count.
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(1024);
        let mut n = 0u64;
        while rx.recv_many(&mut batch, 1024).await > 0 {
            n += batch
                .iter()
                .filter(|e| matches!(e, SourceEvent::Observation(_)))
                .count() as u64;
            batch.clear();
            count_tx.send_replace(n);
        }
    });
    Bench {
        addr,
        observed,
        shutdown,
    }
}

async fn connect_registered(addr: SocketAddr, head: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_nodelay(true);
    s.write_all(head).await.unwrap_or_else(|e| panic!("{e}"));
    let mut buf = BytesMut::new();
    let _ack = read_frame(&mut s, &mut buf).await;
    s
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn tcp_ingest(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let bench = rt.block_on(start_server());
    let (head, body) = stream_for("radar-1", BATCH);
    let frame_bytes = body.len() as u64 / BATCH;
    let mut conn = rt.block_on(connect_registered(bench.addr, &head));
    let mut observed = bench.observed.clone();

    let mut g = c.benchmark_group("sapient_ingest");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("detections_tcp_to_observations", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let target = *observed.borrow() + BATCH;
                    conn.write_all(&body)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    let _ = observed.wait_for(|n| *n >= target).await;
                }
                start.elapsed()
            })
        })
    });
    g.finish();

    // One plain timed run for the report, outside criterion's statistics.
    let runs = 10;
    let elapsed = rt.block_on(async {
        let start = Instant::now();
        for _ in 0..runs {
            let target = *observed.borrow() + BATCH;
            conn.write_all(&body)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = observed.wait_for(|n| *n >= target).await;
        }
        start.elapsed()
    });
    let rate = (runs * BATCH) as f64 / elapsed.as_secs_f64();
    println!(
        "sapient ingest: {} detection reports ({frame_bytes} B each framed) over TCP into \
         Observations in {:.3} s = {:.0} reports/s ({:.1} MB/s)",
        runs * BATCH,
        elapsed.as_secs_f64(),
        rate,
        rate * frame_bytes as f64 / 1e6
    );
    bench.shutdown.cancel();
}

fn ack_latency_under_load(c: &mut Criterion) {
    let rt = Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let bench = rt.block_on(start_server());
    // Background load: another sensor streams detections at LOAD_RATE (1,000 reports every
    // 10 ms; a late tick catches up, so the average holds).
    let (head, body) = stream_for("radar-load", LOAD_CHUNK);
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, addr) = (Arc::clone(&stop), bench.addr);
        rt.spawn(async move {
            let mut s = connect_registered(addr, &head).await;
            // SAPIENT_BENCH_LOAD_RATE overrides the rate (e.g. to compare with no load).
            let rate = std::env::var("SAPIENT_BENCH_LOAD_RATE")
                .ok()
                .and_then(|r| r.parse::<f64>().ok())
                .unwrap_or(LOAD_RATE)
                .max(1.0);
            let period = Duration::from_secs_f64(LOAD_CHUNK as f64 / rate);
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                if s.write_all(&body).await.is_err() {
                    break;
                }
            }
        })
    };
    // The tasking peer: one Task at a time, waiting for its TaskAck.
    let peer = node_id_for("operator");
    let codec = FrameCodec::default();
    let mut task_frame = BytesMut::new();
    let task = v2::Task {
        task_id: Some("01JWN5N1S8KX1G6N4M2Q7R3T9V".into()),
        control: Some(v2::task::Control::Start as i32),
        command: Some(v2::task::Command {
            command: Some(v2::task::command::Command::Request("Status".into())),
            command_parameter: None,
        }),
        ..Default::default()
    };
    codec
        .encode(&msg(&peer, T0, Content::Task(task)), &mut task_frame)
        .ok();
    let (mut conn, mut buf) = rt.block_on(async {
        let s = TcpStream::connect(bench.addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = s.set_nodelay(true);
        (s, BytesMut::new())
    });
    let mut round_trip = |frame: &[u8]| {
        rt.block_on(async {
            let start = Instant::now();
            conn.write_all(frame)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = read_frame(&mut conn, &mut buf).await;
            start.elapsed()
        })
    };
    // Warm up until the load is flowing.
    let observed = bench.observed.clone();
    let warm = Instant::now();
    while *observed.borrow() < 2 * LOAD_CHUNK && warm.elapsed() < Duration::from_secs(10) {
        round_trip(&task_frame);
    }

    let mut g = c.benchmark_group("sapient_ack_under_load");
    g.sample_size(50);
    g.bench_function("task_to_task_ack_rtt", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| round_trip(&task_frame)).sum())
    });
    let reg_frame = {
        let mut b = BytesMut::new();
        let reg = registration_for("late-radar", SensorKind::Radar, 5.0);
        codec
            .encode(
                &msg(&node_id_for("late-radar"), T0, Content::Registration(reg)),
                &mut b,
            )
            .ok();
        b
    };
    g.bench_function("registration_to_ack_rtt", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| round_trip(&reg_frame)).sum())
    });
    g.finish();

    // Percentiles for the report, with the load rate over the same window.
    let n0 = *observed.borrow();
    let start = Instant::now();
    let mut task_rtts: Vec<Duration> = (0..2000).map(|_| round_trip(&task_frame)).collect();
    let mut reg_rtts: Vec<Duration> = (0..2000).map(|_| round_trip(&reg_frame)).collect();
    let window = start.elapsed();
    let load_rate = (*observed.borrow() - n0) as f64 / window.as_secs_f64();
    task_rtts.sort();
    reg_rtts.sort();
    for (name, v) in [
        ("Task->TaskAck", &task_rtts),
        ("Registration->RegistrationAck", &reg_rtts),
    ] {
        println!(
            "{name} round trip under load ({load_rate:.0} detections/s on another connection): \
             p50 {:?}  p90 {:?}  p99 {:?}  max {:?}  (n = {})",
            percentile(v, 0.5),
            percentile(v, 0.9),
            percentile(v, 0.99),
            v.last().copied().unwrap_or_default(),
            v.len()
        );
    }
    stop.store(true, Ordering::Relaxed);
    bench.shutdown.cancel();
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), load).await;
    });
}

/// The sans-IO session alone: decode, validate, map one detection report.
fn session_only(c: &mut Criterion) {
    let (head, body) = stream_for("radar-1", 1000);
    let codec = FrameCodec::default();
    let mut session = Session::new(Arc::new(SessionConfig::default()), NodeRegistry::new(), 1);
    let mut out = Outputs::default();
    let mut head_buf = BytesMut::from(&head[..]);
    while let Ok(Some(f)) = codec.decode(&mut head_buf) {
        session.handle_frame(&f, T0, &mut out);
    }
    let mut frames = Vec::new();
    let mut body_buf = BytesMut::from(&body[..]);
    while let Ok(Some(f)) = codec.decode(&mut body_buf) {
        frames.push(f);
    }
    let mut g = c.benchmark_group("sapient_session");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("detection_frames_to_observations", |b| {
        b.iter(|| {
            for f in &frames {
                out.clear();
                session.handle_frame(f, T0, &mut out);
            }
            out.events.len()
        })
    });
    g.finish();
}

criterion_group!(benches, session_only, tcp_ingest, ack_latency_under_load);
criterion_main!(benches);
