//! A real peer: Debian's `dump1090-mutability` (`apt-get install dump1090-mutability`),
//! network only on 127.0.0.1 with free ports. We push the real Beast recording
//! (`adsb/long_flight.csv`, 30,000 frames) into its Beast input port, and read what it
//! makes of it through our sources over real TCP: its Beast output (port 30005 role), its
//! SBS-1 output (30003 role) and the aircraft.json it writes. Each must agree with decoding
//! the recording directly.
//!
//! Without the binary the test says SKIPPED and passes, except under CI (env `CI` set),
//! where it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dronewatch_adsb::{AircraftTable, RawFrame, TableConfig, encode_beast};
use dronewatch_model::{Measurement, Observation, SensorId, SensorKind, TimeNs};
use dronewatch_server::SourceEvent;
use dronewatch_server::sources::adsb::{
    AdsbCounters, AdsbFeed, AdsbSource, AdsbSourceConfig, JsonLocation,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const BINARY: &str = "dump1090-mutability";

fn find_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(BINARY))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("{BINARY} not found on PATH (apt-get install {BINARY})");
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// The child process, killed (only it, by its handle) when the test ends either way.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `(unix time, frame)` per line; each line is an *unescaped* Beast frame (fixed layout).
fn load_recording() -> Option<Vec<(TimeNs, RawFrame)>> {
    let path = dronewatch_testdata::data("adsb/long_flight.csv")?;
    let text = std::fs::read_to_string(path).unwrap();
    Some(
        text.lines()
            .map(|l| {
                let (t, h) = l.split_once(',').unwrap();
                let b: Vec<u8> = (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                    .collect();
                let f = RawFrame::from_unescaped_beast(&b).unwrap();
                (TimeNs::from_secs_f64(t.parse().unwrap()), f)
            })
            .collect(),
    )
}

fn position(o: &Observation) -> (f64, f64) {
    match o.measurement {
        Measurement::Position { position, .. } => (position.lat_deg, position.lon_deg),
        _ => panic!("ADS-B observations are positions"),
    }
}

/// Positions per aircraft.
type ByIcao = BTreeMap<u32, Vec<(f64, f64)>>;

fn by_icao(obs: &[Observation]) -> ByIcao {
    let mut m = ByIcao::new();
    for o in obs {
        assert_eq!(o.sensor_kind, SensorKind::Adsb);
        o.measurement.validate().unwrap();
        let class = &o.identity.classification.as_ref().unwrap().class;
        assert!(class.starts_with("aircraft.manned"), "{class}");
        m.entry(o.identity.icao_address.unwrap())
            .or_default()
            .push(position(o));
    }
    m
}

/// Of `a`'s positions, how many lie within `tol` degrees (both axes) of one of `b`'s for
/// the same aircraft; and how many `a` has.
fn covered(a: &ByIcao, b: &ByIcao, tol: f64) -> (usize, usize) {
    let (mut hit, mut all) = (0, 0);
    for (icao, ps) in a {
        let qs = b.get(icao).map(Vec::as_slice).unwrap_or(&[]);
        for p in ps {
            all += 1;
            if qs
                .iter()
                .any(|q| (p.0 - q.0).abs() <= tol && (p.1 - q.1).abs() <= tol)
            {
                hit += 1;
            }
        }
    }
    (hit, all)
}

/// One of our sources, collecting what it sends.
struct Running {
    counters: Arc<AdsbCounters>,
    collected: JoinHandle<Vec<Observation>>,
    task: JoinHandle<()>,
}

fn start(feed: AdsbFeed, name: &str, stop: &CancellationToken) -> Running {
    let mut table = TableConfig::new(SensorId::new(name));
    // The replay squeezes 23 minutes of flight into seconds of receive time, so the
    // plausibility gate (a speed limit between positions) must be opened accordingly.
    table.max_speed_mps = 1e6;
    let cfg = AdsbSourceConfig::new(feed, table);
    let source = AdsbSource::new(cfg);
    let counters = source.counters();
    let (tx, mut rx) = mpsc::channel(256);
    let task = tokio::spawn(source.run(tx, stop.clone()));
    let collected = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(ev) = rx.recv().await {
            if let SourceEvent::Observation(o) = ev {
                out.push(o);
            }
        }
        out
    });
    Running {
        counters,
        collected,
        task,
    }
}

async fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump1090_outputs_agree_with_direct_decoding() {
    let Some(binary) = find_binary() else { return };
    let Some(recording) = load_recording() else {
        return;
    };
    let json_dir = tempfile::tempdir().unwrap();
    let [bi, sbs, ro, bo, ri] = [(); 5].map(|()| free_port());
    let port = |p: u16| p.to_string();
    let child = Command::new(&binary)
        .args(["--net-only", "--net-bind-address", "127.0.0.1"])
        .args(["--net-bi-port", &port(bi), "--net-sbs-port", &port(sbs)])
        .args(["--net-ro-port", &port(ro), "--net-bo-port", &port(bo)])
        .args(["--net-ri-port", &port(ri), "--net-http-port", "0"])
        .arg("--write-json")
        .arg(json_dir.path())
        .arg("--quiet")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _peer = Peer(child);
    let json_path: PathBuf = json_dir.path().join("aircraft.json");
    wait_for("dump1090 to listen", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", sbs)).is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", bo)).is_ok()
            && Path::new(&json_path).exists()
    })
    .await;

    let stop = CancellationToken::new();
    let beast = start(
        AdsbFeed::Beast {
            addr: format!("127.0.0.1:{bo}"),
        },
        "d1090-beast",
        &stop,
    );
    let sbs_src = start(
        AdsbFeed::Sbs {
            addr: format!("127.0.0.1:{sbs}"),
        },
        "d1090-sbs",
        &stop,
    );
    let json = start(
        AdsbFeed::AircraftJson {
            location: JsonLocation::File(json_path.clone()),
            interval: Duration::from_millis(250),
        },
        "d1090-json",
        &stop,
    );
    wait_for("our sources to connect", Duration::from_secs(10), || {
        beast.counters.snapshot().connects == 1
            && sbs_src.counters.snapshot().connects == 1
            && json.counters.snapshot().polls >= 1
    })
    .await;

    // Feed the recording, Beast-escaped, in batches paced by our Beast client: dump1090
    // writes its outputs without blocking and drops a client that cannot take them (our
    // debug build decodes far slower than dump1090), so a burst would lose output.
    let mut feed = TcpStream::connect(("127.0.0.1", bi)).await.unwrap();
    let mut wire = Vec::new();
    let mut sent = 0u64;
    for batch in recording.chunks(100) {
        wire.clear();
        for (_, f) in batch {
            encode_beast(f, &mut wire);
        }
        feed.write_all(&wire).await.unwrap();
        sent += batch.len() as u64;
        // Keep at most ~300 frames in flight; give up waiting after 2 s without progress
        // (should dump1090 not forward some frame).
        let mut seen = beast.counters.snapshot().frames;
        let mut since = Instant::now();
        while seen + 300 < sent && since.elapsed() < Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = beast.counters.snapshot().frames;
            if now != seen {
                seen = now;
                since = Instant::now();
            }
        }
    }
    feed.flush().await.unwrap();

    // Wait until the outputs settle, then for one more aircraft.json write.
    let mut last = (0, 0, Instant::now());
    wait_for("the outputs to settle", Duration::from_secs(120), || {
        let n = (
            beast.counters.snapshot().frames,
            sbs_src.counters.snapshot().lines,
        );
        if (n.0, n.1) != (last.0, last.1) {
            last = (n.0, n.1, Instant::now());
        }
        last.2.elapsed() > Duration::from_secs(2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    drop(feed);
    stop.cancel();
    let mut got = Vec::new();
    for r in [beast, sbs_src, json] {
        r.task.await.unwrap();
        got.push((r.counters.snapshot(), r.collected.await.unwrap()));
    }
    let [(beast_c, beast_obs), (sbs_c, sbs_obs), (json_c, json_obs)] =
        <[_; 3]>::try_from(got).unwrap();
    eprintln!("beast counters {beast_c:?}");
    eprintln!("sbs counters {sbs_c:?}");
    eprintln!("json counters {json_c:?}");

    // Direct decoding of the recording with its own clock.
    let mut table = AircraftTable::new(TableConfig::new(SensorId::new("direct")));
    let direct: Vec<Observation> = recording
        .iter()
        .filter_map(|(t, f)| table.ingest_frame(*t, f).ok().flatten())
        .collect();
    let direct = by_icao(&direct);
    let via_beast = by_icao(&beast_obs);
    let via_sbs = by_icao(&sbs_obs);
    let via_json = by_icao(&json_obs);
    let count = |m: &ByIcao| m.values().map(Vec::len).sum::<usize>();
    eprintln!(
        "positions: direct {}, via Beast {}, via SBS {}, via aircraft.json {}",
        count(&direct),
        count(&via_beast),
        count(&via_sbs),
        count(&via_json)
    );

    // Clean streams: no framing errors, no cut lines.
    assert_eq!(beast_c.bad_frames, 0);
    assert_eq!(sbs_c.bad_lines, 0);
    assert_eq!(json_c.poll_failures, 0);
    assert_eq!(json_c.rejected_entries, 0);
    // dump1090 forwards as Beast every frame it accepts: all but the address/parity
    // replies from addresses it has not heard in a squitter, which our table refuses too.
    let unknown = table.stats().unknown_address;
    eprintln!(
        "Beast frames forwarded {} of {} ({unknown} from unknown addresses)",
        beast_c.frames,
        recording.len()
    );
    assert_eq!(beast_c.frames + unknown, recording.len() as u64);

    // The same aircraft get positions every way.
    let keys = |m: &ByIcao| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(keys(&via_beast), keys(&direct));
    assert_eq!(keys(&via_sbs), keys(&direct));

    // Beast: the same frames, decoded by us at receive time. Pairing windows see the replay
    // (seconds) rather than the flight (23 minutes), so a few messages may resolve one way
    // and not the other; the positions themselves are the same.
    let (hit_b, all_b) = covered(&via_beast, &direct, 1e-9);
    let (hit_d, all_d) = covered(&direct, &via_beast, 1e-9);
    eprintln!(
        "Beast path: {hit_b}/{all_b} of its positions are direct ones; {hit_d}/{all_d} of direct ones appear"
    );
    assert!(hit_b * 100 >= all_b * 99 && hit_d * 100 >= all_d * 99);

    // SBS: dump1090's own decoding, printed to 5 decimals.
    let (hit_s, all_s) = covered(&via_sbs, &direct, 5e-6 + 1e-9);
    let (hit_ds, all_ds) = covered(&direct, &via_sbs, 5e-6 + 1e-9);
    eprintln!(
        "SBS path: {hit_s}/{all_s} of its positions within 5e-6 deg of direct ones; {hit_ds}/{all_ds} of direct ones appear"
    );
    assert!(hit_s * 100 >= all_s * 99 && hit_ds * 100 >= all_ds * 98);

    // aircraft.json: every position it gave is a direct one (6 decimals), and where its
    // final file still shows a position, that is the recording's last for the aircraft.
    let (hit_j, all_j) = covered(&via_json, &direct, 5e-7 + 1e-9);
    eprintln!(
        "aircraft.json path: {hit_j}/{all_j} of its positions within 5e-7 deg of direct ones"
    );
    assert!(all_j > 0 && hit_j == all_j);
    let last_file =
        dronewatch_adsb::parse_aircraft_json(&std::fs::read(&json_path).unwrap()).unwrap();
    let mut with_pos = 0;
    for a in &last_file.aircraft {
        if let (Some(lat), Some(lon)) = (a.lat_deg, a.lon_deg) {
            with_pos += 1;
            let b = direct[&a.icao_address].last().unwrap();
            let seen = via_json[&a.icao_address].last().unwrap();
            assert!(
                (lat - b.0).abs() <= 5e-7 && (lon - b.1).abs() <= 5e-7,
                "{:06x}: {lat},{lon} vs {b:?}",
                a.icao_address
            );
            assert_eq!(seen, &(lat, lon), "our poller saw the final file");
        }
    }
    assert!(with_pos > 0);
}
