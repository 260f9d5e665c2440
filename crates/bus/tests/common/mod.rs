//! Helpers for the bus tests: an in-memory outbox, unique names, and for the JetStream
//! tests the shared server check (SKIPPED, or a failure under CI), a cuttable TCP proxy,
//! a private `nats-server` that can be killed and restarted, and stream clean-up.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dronewatch_bus::{
    Bus, BusError, BusMessage, Delivery, Outbox, RelayStats, Subscription, relay,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const KINDS: [&str; 3] = ["observations", "tracks", "alerts"];

/// A name no other test run uses: `<tag>-<pid>-<counter><nanos>`, all `[A-Za-z0-9_-]`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{tag}-{}-{}{ns:09}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Prints why a test does nothing; under CI that is a failure instead.
pub fn skip(msg: &str) {
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
}

/// Message `seq` (1-based) of a sector's test feed: kinds in turn, a ~300-byte payload.
pub fn message(sector: &str, chain: &str, seq: u64) -> BusMessage {
    let kind = KINDS[(seq % 3) as usize];
    let mut payload = format!("{{\"sector\":\"{sector}\",\"seq\":{seq},\"pad\":\"");
    while payload.len() < 290 {
        payload.push('x');
    }
    payload.push_str("\"}");
    BusMessage::new(sector, kind, chain, seq, Bytes::from(payload)).unwrap()
}

/// The outbox of a test: messages in a vector (cursor = index + 1), commits recorded, and
/// failures to inject.
#[derive(Debug, Default)]
pub struct TestOutbox {
    msgs: Mutex<Vec<BusMessage>>,
    committed: AtomicU64,
    /// Fail this many commits from now on.
    pub fail_commits: AtomicU64,
    /// Fail every commit while set.
    pub refuse_commits: AtomicBool,
    /// Fail this many reads from now on.
    pub fail_reads: AtomicU64,
    pub commits: AtomicU64,
}

impl TestOutbox {
    pub fn new() -> Arc<TestOutbox> {
        Arc::new(TestOutbox::default())
    }

    /// The same messages, committed up to `committed`: a node restarted on its own log.
    pub fn reopened(&self, committed: u64) -> Arc<TestOutbox> {
        let o = TestOutbox::default();
        *o.msgs.lock().unwrap() = self.msgs.lock().unwrap().clone();
        o.committed.store(committed, Ordering::SeqCst);
        Arc::new(o)
    }

    pub fn push(&self, m: BusMessage) {
        self.msgs.lock().unwrap().push(m);
    }

    pub fn len(&self) -> u64 {
        self.msgs.lock().unwrap().len() as u64
    }

    pub fn ids(&self) -> Vec<String> {
        self.msgs
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.id.clone())
            .collect()
    }

    pub fn committed_now(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }
}

fn take_one(n: &AtomicU64) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl Outbox for TestOutbox {
    async fn read_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, BusMessage)>, BusError> {
        if take_one(&self.fail_reads) {
            return Err(BusError::Other("injected read failure".into()));
        }
        let msgs = self.msgs.lock().unwrap();
        let from = (cursor as usize).min(msgs.len());
        let to = (from + limit).min(msgs.len());
        Ok(msgs[from..to]
            .iter()
            .enumerate()
            .map(|(i, m)| ((from + i + 1) as u64, m.clone()))
            .collect())
    }

    async fn committed(&self) -> Result<u64, BusError> {
        Ok(self.committed.load(Ordering::SeqCst))
    }

    async fn commit(&self, cursor: u64) -> Result<(), BusError> {
        if self.refuse_commits.load(Ordering::SeqCst) || take_one(&self.fail_commits) {
            return Err(BusError::Other("injected commit failure".into()));
        }
        let before = self.committed.swap(cursor, Ordering::SeqCst);
        assert!(cursor > before, "commit {cursor} after {before}");
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Waits until `done()` holds, panicking with `what` after `within`.
pub async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A relay running in a task.
pub struct Running {
    pub stats: Arc<RelayStats>,
    pub wake: Arc<Notify>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

pub fn start(outbox: Arc<TestOutbox>, bus: &Bus) -> Running {
    let stats = Arc::new(RelayStats::default());
    let wake = Arc::new(Notify::new());
    let stop = CancellationToken::new();
    let task = tokio::spawn(relay(
        outbox,
        bus.clone(),
        wake.clone(),
        stats.clone(),
        stop.clone(),
    ));
    Running {
        stats,
        wake,
        stop,
        task,
    }
}

impl Running {
    /// Shuts it down; it must stop promptly whatever it was doing.
    pub async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the relay stops on shutdown")
            .unwrap();
    }
}

/// Appends `count` messages of the test feed after what the outbox holds, in chunks,
/// waking the relay after each: data keeps arriving whatever the bus does.
pub fn feed(
    outbox: Arc<TestOutbox>,
    wake: Arc<Notify>,
    sector: String,
    count: u64,
    chunk: u64,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut left = count;
        while left > 0 {
            let n = left.min(chunk);
            let next = outbox.len() + 1;
            for seq in next..next + n {
                outbox.push(message(&sector, "log", seq));
            }
            left -= n;
            wake.notify_one();
            tokio::time::sleep(every).await;
        }
    })
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// What a test keeps of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub id: String,
    pub sector: String,
    pub kind: String,
    pub stream_seq: u64,
    pub delivered: u64,
}

/// Takes `n` deliveries (acking each), then makes sure nothing more comes for `quiet`.
/// Transient errors are counted, not fatal.
pub async fn collect(
    sub: &mut Subscription,
    n: usize,
    within: Duration,
    quiet: Duration,
) -> (Vec<Got>, usize) {
    let deadline = tokio::time::Instant::now() + within;
    let mut got = Vec::with_capacity(n);
    let mut errors = 0;
    while got.len() < n {
        let next = tokio::time::timeout_at(deadline, sub.next()).await;
        match next {
            Err(_) => panic!("got {} of {n} deliveries in {within:?}", got.len()),
            Ok(None) => panic!("subscription ended after {} of {n}", got.len()),
            Ok(Some(Err(e))) => {
                eprintln!("transient: {e}");
                errors += 1;
            }
            Ok(Some(Ok(d))) => got.push(ack(d).await),
        }
    }
    // Nothing beyond: no duplicate, no stray.
    loop {
        match tokio::time::timeout(quiet, sub.next()).await {
            Err(_) => break,
            Ok(Some(Err(e))) => {
                eprintln!("transient: {e}");
                errors += 1;
            }
            Ok(Some(Ok(d))) => panic!("unexpected extra delivery {:?}", ack(d).await),
            Ok(None) => break,
        }
    }
    (got, errors)
}

async fn ack(d: Delivery) -> Got {
    let g = Got {
        id: d.id.clone(),
        sector: d.sector.clone(),
        kind: d.kind.clone(),
        stream_seq: d.stream_seq,
        delivered: d.delivered,
    };
    d.ack().await.unwrap();
    g
}

#[cfg(feature = "nats")]
#[allow(unused_imports)]
pub use self::nats::*;

#[cfg(feature = "nats")]
mod nats {
    use super::*;

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
            match async_nats::jetstream::new(client)
                .get_stream("DW_probe-that-does-not-exist")
                .await
            {
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

    /// Deletes the streams of `sectors` when dropped (also when the test panics), so runs
    /// leave nothing on the shared server.
    pub struct Cleanup {
        url: String,
        pub sectors: Vec<String>,
    }

    impl Cleanup {
        pub fn new(url: &str, sectors: &[String]) -> Cleanup {
            Cleanup {
                url: url.to_owned(),
                sectors: sectors.to_vec(),
            }
        }
    }

    impl Drop for Cleanup {
        fn drop(&mut self) {
            let url = self.url.clone();
            let sectors = std::mem::take(&mut self.sectors);
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
                        for s in &sectors {
                            let name = dronewatch_bus::stream_name(s).ok()?;
                            let _ = js.delete_stream(&name).await;
                        }
                        Some(())
                    };
                    let _ = tokio::time::timeout(Duration::from_secs(10), go).await;
                });
            });
            let _ = t.join();
        }
    }

    /// Messages the sector's stream holds now.
    pub async fn stream_messages(url: &str, sector: &str) -> u64 {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut s = js
            .get_stream(dronewatch_bus::stream_name(sector).unwrap())
            .await
            .unwrap();
        s.info().await.unwrap().state.messages
    }
}
