//! NATS for tests: the shared JetStream server check (SKIPPED, or a failure under CI), a
//! TCP proxy that a test cuts and restores (the bus unreachable, then back), a private
//! `nats-server` that a test kills and restarts on the same store, and stream clean-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

fn skip(msg: &str) {
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
}

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The shared server: 127.0.0.1:4222, or `DRONEWATCH_TEST_NATS` (`host:port`).
pub fn shared_addr() -> String {
    std::env::var("DRONEWATCH_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".into())
}

/// `nats://<shared_addr>` when a JetStream server answers there; else SKIPPED (or a
/// failure under CI) and `None`.
pub async fn shared_nats(test: &str) -> Option<String> {
    let addr = shared_addr();
    let url = format!("nats://{addr}");
    let up = match addr.parse::<SocketAddr>() {
        Ok(a) => StdStream::connect_timeout(&a, Duration::from_secs(2)).is_ok(),
        Err(_) => false,
    } && jetstream_answers(&url).await;
    if up {
        Some(url)
    } else {
        skip(&format!(
            "no NATS JetStream server at {addr} ({test}); start `nats-server -js -a \
             127.0.0.1 -p 4222` to run this test"
        ));
        None
    }
}

async fn jetstream_answers(url: &str) -> bool {
    // A stream lookup that JetStream answers (found or not) proves it is there; the
    // account info of a fresh 2.9 server does not parse in this client.
    let check = async {
        let client = async_nats::connect(url)
            .await
            .map_err(|e| eprintln!("connect {url}: {e}"))
            .ok()?;
        let js = async_nats::jetstream::new(client);
        // A stream that is never deleted: NATS 2.9 removes the account's stream directory
        // when its last stream goes, and a test creating a stream at that moment fails
        // with "could not create storage directory" (seen when parallel tests cleaned up).
        let _ = js
            .get_or_create_stream(async_nats::jetstream::stream::Config {
                name: "DW_tests-anchor".into(),
                subjects: vec!["dwtests.anchor".into()],
                max_messages: 1,
                ..Default::default()
            })
            .await;
        match js.get_stream("DW_probe-that-does-not-exist").await {
            Ok(_) => Some(()),
            Err(e) => match e.kind() {
                async_nats::jetstream::context::GetStreamErrorKind::JetStream(_) => Some(()),
                _ => {
                    eprintln!("JetStream at {url}: {e}");
                    None
                }
            },
        }
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), check).await,
        Ok(Some(_))
    )
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy on 127.0.0.1 in front of a NATS server, which the test cuts (listener
/// closed, live connections severed) and restores on the same port.
#[derive(Debug)]
pub struct Proxy {
    pub port: u16,
    upstream: SocketAddr,
    live: Mutex<Option<CancellationToken>>,
    /// Client-to-server bytes forwarded, and the count at which to cut by itself.
    forwarded: Arc<AtomicU64>,
    cut_at: Arc<AtomicU64>,
    pub cuts: Arc<AtomicU64>,
}

impl Proxy {
    /// Listening at once.
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Proxy::new(listener.local_addr().unwrap().port(), upstream);
        p.serve(listener);
        p
    }

    /// On a free port, not listening until `restore`: the bus is down from the start.
    pub fn down(upstream: &str) -> Proxy {
        Proxy::new(free_port(), upstream)
    }

    fn new(port: u16, upstream: &str) -> Proxy {
        Proxy {
            port,
            upstream: upstream.parse().unwrap(),
            live: Mutex::new(None),
            forwarded: Arc::new(AtomicU64::new(0)),
            cut_at: Arc::new(AtomicU64::new(u64::MAX)),
            cuts: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::SeqCst)
    }

    /// Cuts by itself once `more` further client bytes went through: in the middle of
    /// whatever the client is sending then.
    pub fn cut_after(&self, more: u64) {
        self.cut_at.store(self.forwarded() + more, Ordering::SeqCst);
    }

    fn serve(&self, listener: TcpListener) {
        let cancel = CancellationToken::new();
        *self.live.lock().unwrap() = Some(cancel.clone());
        let upstream = self.upstream;
        let (forwarded, cut_at, cuts) = (
            self.forwarded.clone(),
            self.cut_at.clone(),
            self.cuts.clone(),
        );
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((client, _)) = accepted else { continue };
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let c = Conn {
                    cancel: cancel.clone(),
                    forwarded: forwarded.clone(),
                    cut_at: cut_at.clone(),
                    cuts: cuts.clone(),
                };
                tokio::spawn(c.pump(client, server));
            }
            // The listener is dropped here: new connections are refused.
        });
    }

    /// Closes the listener and severs every connection.
    pub fn cut(&self) {
        if let Some(c) = self.live.lock().unwrap().take() {
            c.cancel();
            self.cuts.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub fn is_cut(&self) -> bool {
        self.live
            .lock()
            .unwrap()
            .as_ref()
            .is_none_or(|c| c.is_cancelled())
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        self.cut_at.store(u64::MAX, Ordering::SeqCst);
        self.cut();
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) => {
                    assert!(Instant::now() < deadline, "rebinding {}: {e}", self.port);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

struct Conn {
    cancel: CancellationToken,
    forwarded: Arc<AtomicU64>,
    cut_at: Arc<AtomicU64>,
    cuts: Arc<AtomicU64>,
}

impl Conn {
    async fn pump(self, client: TcpStream, server: TcpStream) {
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let up = async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                let total = self.forwarded.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                if total >= self.cut_at.load(Ordering::SeqCst) {
                    self.cut_at.store(u64::MAX, Ordering::SeqCst);
                    self.cuts.fetch_add(1, Ordering::SeqCst);
                    self.cancel.cancel();
                    break;
                }
            }
        };
        let down = tokio::io::copy(&mut sr, &mut cw);
        tokio::select! {
            _ = self.cancel.cancelled() => {}
            _ = up => {}
            _ = down => {}
        }
        // Dropping both halves of both sockets severs the connection.
    }
}

/// A private `nats-server -js` on a loopback port with its own store directory, killed
/// with SIGKILL and restarted on the same port and store.
#[derive(Debug)]
pub struct OwnServer {
    child: Option<Child>,
    pub port: u16,
    store: tempfile::TempDir,
}

/// `nats-server` on the PATH or in /usr/sbin, or `DRONEWATCH_NATS_SERVER`.
fn binary() -> Option<String> {
    let candidates = match std::env::var("DRONEWATCH_NATS_SERVER") {
        Ok(b) => vec![b],
        Err(_) => [
            "nats-server",
            "/usr/sbin/nats-server",
            "/usr/bin/nats-server",
        ]
        .map(String::from)
        .to_vec(),
    };
    candidates.into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

impl OwnServer {
    /// `None` (after SKIPPED, or a failure under CI) without the `nats-server` binary.
    pub async fn start(test: &str) -> Option<OwnServer> {
        if binary().is_none() {
            skip(&format!(
                "the nats-server binary is not installed ({test}); apt-get install \
                 nats-server to run this test"
            ));
            return None;
        }
        let mut s = OwnServer {
            child: None,
            port: free_port(),
            store: tempfile::tempdir().unwrap(),
        };
        s.restart().await;
        Some(s)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn store(&self) -> &Path {
        self.store.path()
    }

    /// SIGKILL: no shutdown, no flush beyond what the OS already has.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts (again) on the same port and store, and waits until it listens.
    pub async fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let child = Command::new(binary().unwrap())
            .args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "our nats-server did not listen on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            jetstream_answers(&self.url()).await,
            "JetStream is not up on {addr}"
        );
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Deletes the named streams when dropped (also when the test panics), so runs leave
/// nothing on the shared server.
#[derive(Debug)]
pub struct Cleanup {
    url: String,
    pub streams: Vec<String>,
}

impl Cleanup {
    pub fn new(url: &str, streams: &[String]) -> Cleanup {
        Cleanup {
            url: url.to_owned(),
            streams: streams.to_vec(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let url = self.url.clone();
        let streams = std::mem::take(&mut self.streams);
        // Its own thread and runtime: Drop cannot await, and may run inside a runtime.
        let t = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let go = async {
                    let client = async_nats::connect(&url).await.ok()?;
                    let js = async_nats::jetstream::new(client);
                    for name in &streams {
                        let _ = js.delete_stream(name).await;
                    }
                    Some(())
                };
                let _ = tokio::time::timeout(Duration::from_secs(10), go).await;
            });
        });
        let _ = t.join();
    }
}

/// Messages the stream holds now.
pub async fn stream_messages(url: &str, stream: &str) -> u64 {
    let client = async_nats::connect(url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut s = js.get_stream(stream).await.unwrap();
    s.info().await.unwrap().state.messages
}
