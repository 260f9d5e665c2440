//! Cursor on Target through a real TAK server: taky (PyPI, MIT), started on 127.0.0.1 with
//! two ATAK-like clients (CoT XML over TCP, as ATAK talks to a TAK server's port 8087).
//!
//! The node connects to taky as `[[delivery.cot]]`; the agents' position reports reach it
//! through taky and become their positions; a drone over SAPIENT flies at one agent; both
//! agents' clients see the track, hostile once the alert opens; a drone marker one agent
//! drops in ATAK is that agent's sighting; the personal warning
//! reaches that agent's client only, as a GeoChat; and when taky dies the watch officer
//! sees the channel failing.
//!
//! taky comes from the test venv that `scripts/test.sh` makes (`DRONEWATCH_BENCH_PYTHON`'s
//! folder), `DRONEWATCH_TAKY`, or `PATH`. Without it the test says SKIPPED and passes,
//! except under CI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dronewatch_cot::{Contact, Detail, Event, Group, Point, StreamSplitter, Takv};
use dronewatch_geo::EnuFrame;
use dronewatch_model::Lla;
use dronewatch_sim::load::LoadConfig;
use serde_json::Value;
use support::{TestNode, eventually, free_port, radar_flight};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn taky_bin() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DRONEWATCH_TAKY").map(PathBuf::from),
        std::env::var_os("DRONEWATCH_BENCH_PYTHON")
            .map(PathBuf::from)
            .and_then(|p| p.parent().map(|d| d.join("taky"))),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .or_else(|| {
            let ok = Command::new("taky").arg("--help").output().is_ok();
            ok.then(|| PathBuf::from("taky"))
        });
    if found.is_none() {
        let msg = "taky (pip install taky) not found: this test needs a TAK server";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    found
}

/// taky on 127.0.0.1, killed when dropped.
struct Taky {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Taky {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// taky on a free port; with `ssl`, TLS with client certificates from that PKI.
async fn start_taky(bin: &PathBuf, ssl: Option<&Pki>) -> Taky {
    start_taky_on(bin, ssl, free_port()).await
}

async fn start_taky_on(bin: &PathBuf, ssl: Option<&Pki>, port: u16) -> Taky {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("taky.conf");
    let ssl = match ssl {
        None => "enabled = false\n".to_owned(),
        Some(pki) => format!(
            "enabled = true\nclient_cert_required = true\nca = {}\ncert = {}\nkey = {}\n\
             cert_db = {}/cert-db.txt\n",
            pki.ca.display(),
            pki.server.0.display(),
            pki.server.1.display(),
            dir.path().display()
        ),
    };
    std::fs::write(
        &conf,
        format!(
            "[taky]\nbind_ip = 127.0.0.1\nroot_dir = {root}\n\n[cot_server]\nport = {port}\n\n\
             [dp_server]\nupload_path = {root}/dp-user\n\n[ssl]\n{ssl}",
            root = dir.path().display()
        ),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let taky = Taky {
        child,
        port,
        _dir: dir,
    };
    eventually(Duration::from_secs(20), "taky listening", || async move {
        TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    taky
}

/// A CA, the TAK server's certificate (for `localhost`) and two client certificates, as
/// PEM files (certificate, key).
struct Pki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    node: (PathBuf, PathBuf),
    atak: (PathBuf, PathBuf),
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "test TAK CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca = write("ca.pem", ca_cert.pem());
    let issuer = Issuer::new(ca_params, ca_key);
    let issue = |name: &str, sans: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (
            write(&format!("{name}.pem"), cert.pem()),
            write(&format!("{name}.key"), key.serialize_pem()),
        )
    };
    let server = issue("server", vec!["localhost".into()]);
    let node = issue("node", Vec::new());
    let atak = issue("atak", Vec::new());
    Pki {
        _dir: dir,
        ca,
        server,
        node,
        atak,
    }
}

/// A TLS stream to taky with a client certificate.
async fn tls_stream(port: u16, pki: &Pki) -> tokio_rustls::client::TlsStream<TcpStream> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    dronewatch_server::install_crypto_provider();
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca).unwrap())
        .unwrap();
    let chain = vec![CertificateDer::from_pem_file(&pki.atak.0).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&pki.atak.1).unwrap();
    let client = tokio_rustls::rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

type Reader = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
type Writer = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// An ATAK-like client: announces itself as a TAK user at a place, reads what it is sent.
struct Atak {
    reader: Reader,
    writer: Writer,
    splitter: StreamSplitter,
    sa: Event,
    /// Everything received so far.
    seen: Vec<Event>,
}

impl Atak {
    async fn connect(port: u16, uid: &str, callsign: &str, at: Lla) -> Self {
        let (r, w) = TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap()
            .into_split();
        Self::on(Box::new(r), Box::new(w), uid, callsign, at).await
    }

    async fn on(reader: Reader, writer: Writer, uid: &str, callsign: &str, at: Lla) -> Self {
        let now_ms = dronewatch_server::clock::now().0 / 1_000_000;
        let sa = Event {
            uid: uid.into(),
            cot_type: "a-f-G-U-C".into(),
            how: "m-g".into(),
            time_unix_ms: now_ms,
            start_unix_ms: now_ms,
            stale_unix_ms: now_ms + 120_000,
            point: Point {
                lat_deg: at.lat_deg,
                lon_deg: at.lon_deg,
                hae_m: at.h_m,
                ce_m: 5.0,
                le_m: 10.0,
            },
            detail: Detail {
                contact: Some(Contact {
                    callsign: callsign.into(),
                    endpoint: Some("*:-1:stcp".into()),
                }),
                group: Some(Group {
                    name: "Cyan".into(),
                    role: "Team Member".into(),
                }),
                takv: Some(Takv {
                    device: "test".into(),
                    platform: "ATAK-CIV".into(),
                    os: "34".into(),
                    version: "5.2".into(),
                }),
                ..Detail::default()
            },
            ..Event::default()
        };
        let mut a = Self {
            reader,
            writer,
            splitter: StreamSplitter::new(1 << 20),
            sa,
            seen: Vec::new(),
        };
        a.announce().await;
        a
    }

    async fn announce(&mut self) {
        let sa = self.sa.clone();
        self.send(&sa).await;
    }

    async fn send(&mut self, e: &Event) {
        let xml = dronewatch_cot::to_xml(e);
        self.writer.write_all(xml.as_bytes()).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    /// Reads for up to `d`; keeps what arrives.
    async fn read_for(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, self.reader.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            self.splitter.push(&buf[..n]);
            while let Some(ev) = self.splitter.next_event() {
                self.seen.push(ev.expect("taky sends CoT we read"));
            }
        }
    }

    /// Reads (announcing itself every 2 s, as ATAK does) until an event matches.
    async fn wait_for(&mut self, d: Duration, what: &str, f: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            if let Some(e) = self.seen.iter().find(|e| f(e)) {
                return e.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never saw {what}; saw types {:?}",
                self.sa.detail.contact.as_ref().unwrap().callsign,
                self.seen
                    .iter()
                    .map(|e| e.cot_type.as_str())
                    .collect::<Vec<_>>()
            );
            self.read_for(Duration::from_secs(2)).await;
            self.announce().await;
        }
    }
}

fn is_uav(e: &Event) -> bool {
    e.cot_type.ends_with("-A-M-H-Q") && e.uid.starts_with("dronewatch.sector-1.")
}

fn distance_m(e: &Event, p: Lla) -> f64 {
    let q = Lla::new(e.point.lat_deg, e.point.lon_deg, p.h_m);
    dronewatch_geo::geodesic_inverse(&p, &q).distance_m
}

#[tokio::test]
async fn tak_users_see_the_drone_the_agent_in_its_path_is_warned_alone_and_positions_come_back() {
    let Some(bin) = taky_bin() else { return };
    let taky = start_taky(&bin, None).await;
    let origin = LoadConfig::default().origin;
    let frame = EnuFrame::new(origin);
    let garcia_at = frame.to_lla(&[0.0, 0.0, 0.0]);
    let lee_at = frame.to_lla(&[3000.0, -3000.0, 0.0]);
    let mut garcia = Atak::connect(taky.port, "ANDROID-garcia", "BP ALPHA 1", garcia_at).await;
    let mut lee = Atak::connect(taky.port, "ANDROID-lee", "BP BRAVO 2", lee_at).await;

    let n = TestNode::start(&format!(
        "[[delivery.cot]]\nurl = \"tcp://127.0.0.1:{}\"\ntrack_interval_s = 1.0\n\
         [delivery.cot.agents]\n\"BP ALPHA 1\" = \"garcia\"\n\"BP BRAVO 2\" = \"lee\"\n",
        taky.port
    ))
    .await;
    let admin = n.admin().await;

    // The agents' TAK positions are their positions on the node.
    let agents = eventually(Duration::from_secs(20), "agents from TAK", || {
        let (n, admin) = (&n, admin.clone());
        async move {
            let a = n.get_json(&admin, "/api/v1/agents").await;
            (a.as_array().map_or(0, Vec::len) == 2).then_some(a)
        }
    })
    .await;
    // Keep announcing meanwhile, as ATAK does, so both are known to taky.
    garcia.read_for(Duration::from_millis(200)).await;
    let g = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == "garcia")
        .unwrap_or_else(|| panic!("{agents}"));
    assert!((g["position"]["lat_deg"].as_f64().unwrap() - garcia_at.lat_deg).abs() < 1e-6);
    assert!((g["position"]["lon_deg"].as_f64().unwrap() - garcia_at.lon_deg).abs() < 1e-6);

    // garcia drops a hostile drone marker in ATAK 300 m north-east (sent twice, as a TAK
    // server replays what it keeps): garcia's sighting, once, with bearing and distance.
    let marker_at = frame.to_lla(&[212.0, 212.0, 80.0]);
    let now_ms = dronewatch_server::clock::now().0 / 1_000_000;
    let mut marker = Event {
        uid: "marker-1".into(),
        cot_type: "a-h-A".into(),
        how: "h-g-i-g-o".into(),
        time_unix_ms: now_ms,
        start_unix_ms: now_ms,
        stale_unix_ms: now_ms + 600_000,
        point: Point {
            lat_deg: marker_at.lat_deg,
            lon_deg: marker_at.lon_deg,
            hae_m: marker_at.h_m,
            ce_m: dronewatch_cot::UNKNOWN,
            le_m: dronewatch_cot::UNKNOWN,
        },
        ..Event::default()
    };
    marker.detail.contact = Some(Contact {
        callsign: "drone 1".into(),
        endpoint: None,
    });
    marker.detail.push_element(
        "link",
        &[
            ("uid", "ANDROID-garcia"),
            ("type", "a-f-G-U-C"),
            ("relation", "p-p"),
        ],
        None,
    );
    marker
        .detail
        .push_element("remarks", &[], Some("quad over the wash"));
    for _ in 0..2 {
        garcia.send(&marker).await;
    }
    let sightings = eventually(Duration::from_secs(20), "the marker as a sighting", || {
        let (n, admin) = (&n, admin.clone());
        async move {
            let h = n
                .get_json(&admin, "/api/v1/history/events?kind=sighting")
                .await;
            let events = h["events"].as_array()?.clone();
            (!events.is_empty()).then_some(events)
        }
    })
    .await;
    lee.wait_for(Duration::from_secs(10), "the sighting", |e| {
        e.uid.starts_with("dronewatch.sighting.") && e.cot_type == "a-u-A"
    })
    .await;
    let sightings_now = n
        .get_json(&admin, "/api/v1/history/events?kind=sighting")
        .await;
    assert_eq!(
        sightings_now["events"].as_array().unwrap().len(),
        1,
        "stored once: {sightings_now}"
    );
    let report = &sightings[0]["body"];
    assert_eq!(report["reporter"], "garcia", "{report}");
    assert!(
        (report["bearing_deg"].as_f64().unwrap() - 45.0).abs() < 1.0,
        "{report}"
    );
    assert!(
        (report["distance_m"].as_f64().unwrap() - 300.0).abs() < 5.0,
        "{report}"
    );
    assert!(
        (report["height_m"].as_f64().unwrap() - 80.0).abs() < 1.0,
        "{report}"
    );
    assert!(
        report["note"]
            .as_str()
            .unwrap()
            .starts_with("quad over the wash"),
        "{report}"
    );

    // A drone 500 m north at 60 m, flying south at 15 m/s straight at garcia.
    let feeder = radar_flight(&n, frame, [3.0, 500.0, 60.0], -15.0, 25).await;

    let first = garcia
        .wait_for(Duration::from_secs(20), "a UAV track", is_uav)
        .await;
    assert_eq!(first.how, "m-f", "a fused track");
    assert!(distance_m(&first, garcia_at) < 700.0, "{first:?}");
    assert!(first.stale_unix_ms > first.time_unix_ms);
    assert!(first.detail.track.is_some(), "course and speed");

    let hostile = garcia
        .wait_for(Duration::from_secs(30), "the track hostile", |e| {
            is_uav(e) && e.cot_type.starts_with("a-h-")
        })
        .await;
    assert!(
        hostile
            .detail
            .remarks()
            .unwrap_or_default()
            .contains("alert"),
        "{hostile:?}"
    );
    let warning = garcia
        .wait_for(Duration::from_secs(30), "a personal warning", |e| {
            e.cot_type == "b-t-f" && e.uid.contains("ANDROID-garcia")
        })
        .await;
    let text = warning.detail.remarks().unwrap();
    assert!(text.contains("drone") && text.contains(" m "), "{text}");

    // lee sees the same track, and every chat lee gets is for everyone, none for garcia.
    lee.wait_for(Duration::from_secs(10), "the UAV track", is_uav)
        .await;
    lee.read_for(Duration::from_secs(2)).await;
    for e in lee.seen.iter().filter(|e| e.cot_type == "b-t-f") {
        assert!(
            e.uid.contains("All Chat Rooms"),
            "lee got someone's chat: {e:?}"
        );
    }
    feeder.await.unwrap();

    let status = n.get_json(&admin, "/api/v1/delivery").await;
    let cot: Vec<&Value> = status
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "cot")
        .collect();
    assert_eq!(cot.len(), 1, "{status}");
    assert!(cot[0]["delivered"].as_u64().unwrap() > 5, "{status}");
    assert_eq!(cot[0]["failing"], false, "{status}");

    // taky gone: the watch officer sees the channel failing.
    drop(taky);
    n.delivery_channel(
        &admin,
        "cot",
        Duration::from_secs(20),
        "the CoT channel failing",
        |c| c["failing"] == true,
    )
    .await;
    n.stop().await;
}

#[tokio::test]
async fn over_tls_with_client_certificates_as_a_tak_server_on_8089_wants() {
    let Some(bin) = taky_bin() else { return };
    let pki = pki();
    let taky = start_taky(&bin, Some(&pki)).await;
    let origin = LoadConfig::default().origin;
    let at = EnuFrame::new(origin).to_lla(&[100.0, 0.0, 0.0]);
    let (r, w) = tokio::io::split(tls_stream(taky.port, &pki).await);
    let mut atak = Atak::on(Box::new(r), Box::new(w), "ANDROID-tls", "BP TLS", at).await;

    let n = TestNode::start(&format!(
        "[[delivery.cot]]\nurl = \"ssl://127.0.0.1:{}\"\nserver_name = \"localhost\"\n\
         ca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}\n[delivery.cot.agents]\n\"BP TLS\" = \"garcia\"\n",
        taky.port,
        pki.ca.display().to_string(),
        pki.node.0.display().to_string(),
        pki.node.1.display().to_string(),
    ))
    .await;
    let admin = n.admin().await;
    // Both ways through TLS: the node announces itself to the client, the client's
    // position reaches the node.
    atak.wait_for(Duration::from_secs(20), "the node's announcement", |e| {
        e.cot_type == "a-f-G-E-S" && e.uid.starts_with("dronewatch-")
    })
    .await;
    eventually(
        Duration::from_secs(20),
        "garcia's position over TLS",
        || {
            let (n, admin) = (&n, admin.clone());
            async move {
                let a = n.get_json(&admin, "/api/v1/agents").await;
                (a.as_array()?.iter().any(|a| a["agent_id"] == "garcia")).then_some(())
            }
        },
    )
    .await;
    let status = n.get_json(&admin, "/api/v1/delivery").await;
    assert_eq!(status[0]["failing"], false, "{status}");
    n.stop().await;

    // A node whose certificate the server's CA did not sign is refused, and shows it.
    let stranger = pki_stranger(&pki);
    let n = TestNode::start(&format!(
        "[[delivery.cot]]\nurl = \"ssl://127.0.0.1:{}\"\nserver_name = \"localhost\"\n\
         ca_file = {:?}\ncert_file = {:?}\nkey_file = {:?}\n",
        taky.port,
        pki.ca.display().to_string(),
        stranger.0.display().to_string(),
        stranger.1.display().to_string(),
    ))
    .await;
    let admin = n.admin().await;
    n.delivery_channel(
        &admin,
        "cot",
        Duration::from_secs(20),
        "the stranger failing",
        |c| c["failing"] == true && c["delivered"] == 0,
    )
    .await;
    n.stop().await;
}

/// A client certificate from another CA, in `pki`'s folder.
fn pki_stranger(pki: &Pki) -> (PathBuf, PathBuf) {
    let other = self::pki();
    let dir = pki.ca.parent().unwrap();
    let cert = dir.join("stranger.pem");
    let key = dir.join("stranger.key");
    std::fs::copy(&other.node.0, &cert).unwrap();
    std::fs::copy(&other.node.1, &key).unwrap();
    (cert, key)
}
