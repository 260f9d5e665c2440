//! A node for tests: started in-process on a temporary data directory with ephemeral
//! ports, an admin password, and an HTTP client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use dronewatch_geo::{EnuFrame, enu_to_az_el_range};
use dronewatch_model::{
    IdentityHints, Lla, Measurement, Observation, ObservationId, SensorId, SensorKind, TimeNs,
};
use dronewatch_server::config::ServerConfig;
use dronewatch_server::node::{self, RunningNode};
use dronewatch_server::sapient_sensor::SapientLink;
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "test admin password";

pub struct TestNode {
    pub node: Option<RunningNode>,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// The configuration of a test node: ephemeral ports, loopback, everything else default,
/// then `extra` TOML on top.
pub fn config(dir: &std::path::Path, extra: &str) -> ServerConfig {
    let text = format!("data_dir = {:?}\n{extra}", dir.display().to_string());
    let mut cfg = ServerConfig::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let ephemeral = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.http.bind = ephemeral;
    cfg.sources.sapient.bind = ephemeral;
    cfg
}

impl TestNode {
    pub async fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra).await
    }

    pub async fn start_in(dir: tempfile::TempDir, extra: &str) -> Self {
        let cfg = config(dir.path(), extra);
        Self::start_with(dir, cfg).await
    }

    pub async fn start_with(dir: tempfile::TempDir, cfg: ServerConfig) -> Self {
        let node = node::start_with_admin_password(cfg, Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap_or_else(|e| panic!("node start: {e}"));
        let base = format!("http://{}", node.http_addr);
        Self {
            node: Some(node),
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            dir,
        }
    }

    pub fn node(&self) -> &RunningNode {
        self.node.as_ref().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn login(&self, user: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// A token for `user`, or panics.
    pub async fn token(&self, user: &str, password: &str) -> String {
        let r = self.login(user, password).await;
        assert_eq!(
            r.status(),
            200,
            "login {user}: {}",
            r.text().await.unwrap_or_default()
        );
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub async fn admin(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }

    /// Creates a user with `role` and returns its token.
    pub async fn user(&self, admin: &str, name: &str, role: &str) -> String {
        let password = format!("{name} password 123");
        let r = self
            .http
            .post(self.url("/api/v1/users"))
            .bearer_auth(admin)
            .json(&json!({ "name": name, "role": role, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "create {name}: {}",
            r.text().await.unwrap_or_default()
        );
        self.token(name, &password).await
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let r = self.get(token, path).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The status of delivery `channel` (`GET /api/v1/delivery`: `cot`, `mqtt`...) once
    /// `ok` accepts it; panics naming `what` after `timeout`.
    pub async fn delivery_channel(
        &self,
        admin: &str,
        channel: &str,
        timeout: Duration,
        what: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(timeout, what, || async {
            let all = self.get_json(admin, "/api/v1/delivery").await;
            let c = all
                .as_array()?
                .iter()
                .find(|c| c["channel"] == channel)?
                .clone();
            ok(&c).then_some(c)
        })
        .await
    }

    /// The `/metrics` text (an admin's token).
    pub async fn metrics(&self, admin: &str) -> String {
        let r = self.get(admin, "/metrics").await;
        assert_eq!(r.status(), 200, "/metrics");
        r.text().await.unwrap()
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(n) = self.node.take() {
            n.stop(Duration::from_secs(10)).await;
        }
        self.dir
    }
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A synthetic sky sent live over SAPIENT to a test node: observations stamped with the
/// wall time they are due at.
pub struct LiveSky {
    pub scene: dronewatch_sim::load::LoadScene,
    pub link: dronewatch_server::sapient_sensor::SapientLink,
    pub epoch: dronewatch_model::TimeNs,
    buf: Vec<dronewatch_model::Observation>,
}

impl LiveSky {
    /// Connects to the node's SAPIENT listener and registers the sky's sensors.
    pub async fn connect(n: &TestNode, cfg: dronewatch_sim::load::LoadConfig) -> Self {
        let epoch = dronewatch_server::clock::now();
        let scene = dronewatch_sim::load::LoadScene::new(cfg, epoch);
        let mut link = dronewatch_server::sapient_sensor::SapientLink::connect(
            n.node().sapient_addr.unwrap(),
            5.0,
        )
        .await
        .unwrap();
        let sensors: Vec<(String, dronewatch_model::SensorKind)> = scene
            .sensors()
            .into_iter()
            .map(|s| (s.id.0, s.kind))
            .collect();
        link.register(&sensors, epoch, Duration::from_secs(5))
            .await
            .unwrap();
        Self {
            scene,
            link,
            epoch,
            buf: Vec::new(),
        }
    }

    /// Seconds of the sky so far.
    pub fn t_s(&self) -> f64 {
        dronewatch_server::clock::now().secs_since(self.epoch)
    }

    /// Sends everything due by now.
    pub async fn step(&mut self) {
        self.buf.clear();
        let t_s = self.t_s();
        self.scene.step_until(t_s, &mut self.buf);
        for o in &self.buf {
            self.link.push(o).await.unwrap();
        }
        self.link.flush().await.unwrap();
    }

    /// Sends the sky live for `d`.
    pub async fn feed_for(&mut self, d: Duration) {
        let start = std::time::Instant::now();
        while start.elapsed() < d {
            self.step().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn finish(self) -> dronewatch_server::sapient_sensor::ClientStats {
        self.link
            .finish(dronewatch_server::clock::now())
            .await
            .unwrap()
    }
}

/// A port free on 127.0.0.1 now (for a peer the test starts).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A radar plot of `target` seen from `radar`.
pub fn plot(id: u64, t: TimeNs, radar: Lla, target: Lla) -> Observation {
    plot_by("radar-a", id, t, radar, target)
}

pub fn plot_by(sensor: &str, id: u64, t: TimeNs, radar: Lla, target: Lla) -> Observation {
    let rel = EnuFrame::new(radar).to_enu(&target);
    let (az, el, range) = enu_to_az_el_range(&rel);
    Observation {
        id: ObservationId(id),
        t,
        sensor_id: SensorId::new(sensor),
        sensor_kind: SensorKind::Radar,
        sensor_position: Some(radar),
        measurement: Measurement::RangeAzEl {
            range_m: range,
            az_deg: az,
            el_deg: el,
            sigma_range_m: 5.0,
            sigma_az_deg: 0.3,
            sigma_el_deg: 0.3,
        },
        velocity: None,
        identity: IdentityHints::default(),
    }
}

/// Radar `radar-a` (800 m east, 200 m north of the origin) sees a drone at 4 Hz over SAPIENT
/// for `secs`: from `from` (ENU of `frame`), flying north at `north_mps` (negative: south).
pub async fn radar_flight(
    n: &TestNode,
    frame: EnuFrame,
    from: [f64; 3],
    north_mps: f64,
    secs: u64,
) -> tokio::task::JoinHandle<dronewatch_server::sapient_sensor::ClientStats> {
    let radar = frame.to_lla(&[800.0, 200.0, 5.0]);
    let mut link = SapientLink::connect(n.node().sapient_addr.unwrap(), 5.0)
        .await
        .unwrap();
    link.register(
        &[("radar-a".into(), SensorKind::Radar)],
        dronewatch_server::clock::now(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    tokio::spawn(async move {
        let start = Instant::now();
        let mut k = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            let t_s = start.elapsed().as_secs_f64();
            let target = frame.to_lla(&[from[0], from[1] + north_mps * t_s, from[2]]);
            link.push(&plot(k, dronewatch_server::clock::now(), radar, target))
                .await
                .unwrap();
            link.flush().await.unwrap();
            k += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        link.finish(dronewatch_server::clock::now()).await.unwrap()
    })
}
