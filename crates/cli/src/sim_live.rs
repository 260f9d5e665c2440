//! Plays the sector simulator live into a running node through the interfaces real
//! sensors and phones use: radar, RF, acoustic and Remote ID receivers as SAPIENT nodes
//! over TCP (or, given a broker, the Remote ID receivers publishing sensor JSON over MQTT,
//! as receivers that decode Remote ID themselves do); the helicopter's transponder as an SBS-1 (BaseStation) feed the node connects
//! to, as it would to dump1090; agents as field-app users posting their positions and
//! sightings over HTTP with device tokens. Zones and the allow-list are set through the
//! admin API. Scenario after scenario (a new seed each time) until cancelled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dronewatch_model::{Measurement, SensorKind, TimeNs};
use dronewatch_server::sapient_sensor::SapientLink;
use dronewatch_sim::sector::{AdsbReport, Scene, SectorConfig, SectorRun, write_dir};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Where to play and as whom.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The node's HTTP address.
    pub http: SocketAddr,
    /// The node's SAPIENT listener.
    pub sapient: SocketAddr,
    pub admin_user: String,
    pub admin_password: String,
    pub sector: SectorConfig,
    /// Each scenario's files (truth included) are written here before it is played.
    pub record_dir: Option<std::path::PathBuf>,
    /// Stop after this many scenarios (`None`: until cancelled).
    pub scenarios: Option<u64>,
    /// Play only the hostile drones, as a training incident of this name: through
    /// `EXERCISE-` sensors, inside an exercise started (and ended) through the API, so that
    /// everything they cause is marked as an exercise. No agents, zones or allow-list are
    /// touched: the real ones are warned and used.
    pub exercise: Option<String>,
    /// Publish the Remote ID receivers' detections to this MQTT broker instead of SAPIENT.
    pub mqtt: Option<MqttTarget>,
}

/// An MQTT broker the node's `[sources.mqtt]` subscribes to, and the node's topics there.
#[derive(Debug, Clone)]
pub struct MqttTarget {
    pub host: String,
    pub port: u16,
    pub prefix: String,
    /// The node's sector (`node.sector`): it takes only its own sector's topics.
    pub sector: String,
}

/// Remote ID receivers publishing sensor JSON (docs/sensor-json.md) with QoS 1.
struct MqttLink {
    client: rumqttc::AsyncClient,
    target: MqttTarget,
}

impl MqttLink {
    fn connect(target: &MqttTarget, cancel: &CancellationToken) -> Self {
        let id = format!("dronewatch-sim-{}", std::process::id());
        let mut opts = rumqttc::MqttOptions::new(id, target.host.clone(), target.port);
        opts.set_keep_alive(Duration::from_secs(10));
        let (client, mut events) = rumqttc::AsyncClient::new(opts, 1024);
        let cancel = cancel.clone();
        let broker = format!("{}:{}", target.host, target.port);
        tokio::spawn(async move {
            let mut warned = false;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    ev = events.poll() => match ev {
                        Ok(_) => warned = false,
                        Err(e) => {
                            if !warned {
                                warn!(%broker, error = %e, "simulated Remote ID receivers: MQTT broker unreachable; retrying");
                                warned = true;
                            }
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    },
                }
            }
        });
        Self {
            client,
            target: target.clone(),
        }
    }

    async fn publish(&self, obs: &dronewatch_model::Observation) -> Result<()> {
        let topic = format!(
            "{}/{}/sensors/{}/detections",
            self.target.prefix, self.target.sector, obs.sensor_id.0
        );
        let payload = serde_json::to_vec(&sensor_json(obs))?;
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .context("publishing a Remote ID detection")
    }
}

/// An observation as a sensor JSON detection message.
fn sensor_json(obs: &dronewatch_model::Observation) -> serde_json::Value {
    let mut v = json!({
        "v": 1,
        "t": obs.t.0,
        "sensor_id": obs.sensor_id.0,
        "sensor_kind": obs.sensor_kind,
        "seq": obs.id.0,
        "measurement": obs.measurement,
    });
    if let Some(p) = obs.sensor_position {
        v["sensor_position"] = json!(p);
    }
    if !obs.identity.is_empty() {
        v["identity"] = json!(obs.identity);
    }
    v
}

/// Agents' passwords on the node: only for the demo's own throwaway users.
pub const AGENT_PASSWORD: &str = "agent-demo-password";

/// The SBS-1 feed of the simulated transponders: bind it before the node starts, since
/// the node connects to it.
pub struct SbsFeed {
    listener: TcpListener,
}

impl SbsFeed {
    pub async fn bind(addr: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the SBS feed on {addr}"))?;
        Ok(Self { listener })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Accepts receivers and sends every line to each; returns the sender for lines.
    fn serve(self, cancel: CancellationToken) -> broadcast::Sender<Arc<str>> {
        let (tx, _) = broadcast::channel::<Arc<str>>(1024);
        let lines = tx.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, peer) = tokio::select! {
                    () = cancel.cancelled() => return,
                    accepted = self.listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            warn!(error = %e, "SBS feed: accept failed");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    },
                };
                info!(%peer, "SBS feed: receiver connected");
                let mut rx = lines.subscribe();
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    loop {
                        let line = tokio::select! {
                            () = cancel.cancelled() => return,
                            l = rx.recv() => l,
                        };
                        match line {
                            Ok(l) => {
                                if sock.write_all(l.as_bytes()).await.is_err() {
                                    return;
                                }
                            }
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                });
            }
        });
        tx
    }
}

/// BaseStation lines for one report: identity (callsign), airborne position, velocity.
pub fn sbs_lines(r: &AdsbReport, t: TimeNs) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(t.0)).unwrap_or_default();
    let date = ts.strftime("%Y/%m/%d").to_string();
    let time = ts.strftime("%H:%M:%S%.3f").to_string();
    let hex = format!("{:06X}", r.icao);
    let head = |msg: u8| format!("MSG,{msg},1,1,{hex},1,{date},{time},{date},{time}");
    // Pressure altitude stands in for height here: both are near enough for a track.
    let alt_ft = (r.position.h_m / 0.3048).round();
    let [ve, vn, vu] = r.vel_enu_mps;
    let gs_kt = ve.hypot(vn) / 0.514_444;
    let track_deg = ve.atan2(vn).to_degrees().rem_euclid(360.0);
    let vr_fpm = vu / 0.3048 * 60.0;
    format!(
        "{},{},,,,,,,,,,,\r\n{},,{alt_ft},,,{:.5},{:.5},,,0,0,0,0\r\n{},,,{gs_kt:.0},{track_deg:.0},,,{vr_fpm:.0},,,,,0\r\n",
        head(1),
        r.callsign,
        head(3),
        r.position.lat_deg,
        r.position.lon_deg,
        head(4),
    )
}

/// The node's HTTP API, as an admin and as the agents.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn login(&self, user: &str, password: &str) -> Result<String> {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("logging in as {user}: {}", r.status());
        }
        let v: serde_json::Value = r.json().await?;
        v["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("login answer without access_token")
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> Result<reqwest::Response> {
        Ok(self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?)
    }

    /// Creates the agent (if new) and returns a device token for its phone.
    async fn agent_token(&self, admin: &str, name: &str) -> Result<String> {
        let body = json!({"name": name, "role": "agent", "password": AGENT_PASSWORD});
        let r = self
            .send(reqwest::Method::POST, "/api/v1/users", admin, body)
            .await?;
        if !r.status().is_success() && r.status() != reqwest::StatusCode::CONFLICT {
            bail!("creating user {name}: {}", r.status());
        }
        let path = format!("/api/v1/users/{name}/device-tokens");
        let body = json!({"label": format!("simulated phone of {name}")});
        let r = self.send(reqwest::Method::POST, &path, admin, body).await?;
        if !r.status().is_success() {
            bail!("device token for {name}: {}", r.status());
        }
        let v: serde_json::Value = r.json().await?;
        v["token"]
            .as_str()
            .map(str::to_owned)
            .context("device token answer without token")
    }
}

/// One timed thing to send.
enum Due<'a> {
    Detection(&'a dronewatch_model::Observation),
    Adsb(&'a AdsbReport),
    Agent(usize),
}

/// Plays scenarios until `cancel` or `cfg.scenarios` runs out.
pub async fn play(cfg: LiveConfig, sbs: SbsFeed, cancel: CancellationToken) -> Result<()> {
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        base: format!("http://{}", cfg.http),
    };
    let admin = api.login(&cfg.admin_user, &cfg.admin_password).await?;
    let scene = Scene::border_sector();
    let mut tokens = Vec::new();
    if let Some(name) = &cfg.exercise {
        let r = api
            .send(
                reqwest::Method::POST,
                "/api/v1/exercise",
                &admin,
                json!({"name": name}),
            )
            .await?;
        if !r.status().is_success() {
            bail!(
                "starting the exercise: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        info!(name, "exercise started");
    } else {
        for a in &scene.agents {
            tokens.push(api.agent_token(&admin, &a.id).await?);
        }
    }
    let lines = sbs.serve(cancel.clone());
    let mqtt = cfg.mqtt.as_ref().map(|m| MqttLink::connect(m, &cancel));
    let mut link = SapientLink::connect(cfg.sapient, 10.0)
        .await
        .context("connecting to the SAPIENT listener")?;
    let mut registered = false;

    let mut k = 0u64;
    while cfg.scenarios.is_none_or(|n| k < n) && !cancel.is_cancelled() {
        let sector = SectorConfig {
            seed: cfg.sector.seed + k,
            ..cfg.sector.clone()
        };
        // A moment's lead so the first scan is not already late.
        let epoch = dronewatch_server::clock::now().plus_secs(1.0);
        let mut run = SectorRun::generate(sector, scene.clone(), epoch);
        if cfg.exercise.is_some() {
            exercise_only(&mut run);
        }
        if let Some(dir) = &cfg.record_dir {
            write_dir(&run, dir).with_context(|| format!("writing {}", dir.display()))?;
        }
        if k == 0 && cfg.exercise.is_none() {
            set_context(&api, &admin, &run).await?;
        }
        if !registered {
            let sensors: Vec<(String, SensorKind)> = run
                .sensors
                .iter()
                .filter(|s| s.kind != SensorKind::Adsb)
                .filter(|s| !(mqtt.is_some() && s.kind == SensorKind::RemoteId))
                .map(|s| (s.id.0.clone(), s.kind))
                .collect();
            link.register(&sensors, epoch, Duration::from_secs(10))
                .await
                .context("registering the simulated SAPIENT nodes")?;
            registered = true;
        }
        info!(scenario = k, seed = run.config.seed, "playing the sector");
        let links = Links {
            sapient: &mut link,
            mqtt: mqtt.as_ref(),
            sbs: &lines,
        };
        play_one(&api, &tokens, links, &run, &cancel).await?;
        k += 1;
    }
    let _ = link.finish(dronewatch_server::clock::now()).await;
    if cfg.exercise.is_some() {
        // The access token may have expired during a long exercise.
        let admin = api.login(&cfg.admin_user, &cfg.admin_password).await?;
        let r = api
            .send(
                reqwest::Method::DELETE,
                "/api/v1/exercise",
                &admin,
                json!({}),
            )
            .await?;
        if !r.status().is_success() {
            bail!(
                "ending the exercise: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
        }
        let report: serde_json::Value = r.json().await?;
        println!("{}", serde_json::to_string_pretty(&report["summary"])?);
    }
    Ok(())
}

/// Keeps what the hostile drones cause, through the sensors renamed `EXERCISE-...`: no
/// clutter, no agents' sightings, no friendly, benign or crewed aircraft (the real sensors
/// and people see the real ones).
fn exercise_only(run: &mut SectorRun) {
    let prefix = dronewatch_model::EXERCISE_PREFIX;
    let hostile: Vec<bool> = run
        .scene
        .aircraft
        .iter()
        .map(|a| a.role == dronewatch_sim::sector::Role::Hostile)
        .collect();
    run.detections.retain(|d| {
        d.target.is_some_and(|i| hostile[i]) && d.observation.sensor_kind != SensorKind::Agent
    });
    for d in &mut run.detections {
        d.observation.sensor_id.0 = format!("{prefix}{}", d.observation.sensor_id.0);
    }
    run.sensors.retain(|s| s.kind != SensorKind::Adsb);
    for s in &mut run.sensors {
        s.id.0 = format!("{prefix}{}", s.id.0);
    }
    run.adsb.clear();
    run.agents.clear();
}

/// Zones and the allow-list of the scene, through the admin API (audited like an
/// operator's change).
async fn set_context(api: &Api, admin: &str, run: &SectorRun) -> Result<()> {
    let zones: serde_json::Value =
        serde_json::from_str(&dronewatch_sim::sector::zones_geojson(run))?;
    let r = api
        .send(reqwest::Method::PUT, "/api/v1/zones", admin, zones)
        .await?;
    if !r.status().is_success() {
        bail!(
            "setting the zones: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    let allow = json!({"remote_id_serials": run.scene.allow_list});
    let r = api
        .send(reqwest::Method::PUT, "/api/v1/allow-list", admin, allow)
        .await?;
    if !r.status().is_success() {
        bail!(
            "setting the allow-list: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// The sensor interfaces a scenario plays through.
struct Links<'a> {
    sapient: &'a mut SapientLink,
    mqtt: Option<&'a MqttLink>,
    sbs: &'a broadcast::Sender<Arc<str>>,
}

async fn play_one(
    api: &Api,
    tokens: &[String],
    links: Links<'_>,
    run: &SectorRun,
    cancel: &CancellationToken,
) -> Result<()> {
    let Links {
        sapient: link,
        mqtt,
        sbs: lines,
    } = links;
    let mut due: Vec<(f64, Due<'_>)> = Vec::new();
    due.extend(
        run.detections
            .iter()
            .map(|d| (d.t_s, Due::Detection(&d.observation))),
    );
    due.extend(run.adsb.iter().map(|r| (r.t_s, Due::Adsb(r))));
    due.extend(
        run.agents
            .iter()
            .enumerate()
            .map(|(i, r)| (r.t_s, Due::Agent(i))),
    );
    due.sort_by(|a, b| a.0.total_cmp(&b.0));

    let started = tokio::time::Instant::now();
    let lead_s = run.epoch.secs_since(dronewatch_server::clock::now());
    for (t_s, item) in due {
        let at = started + Duration::from_secs_f64((lead_s + t_s).max(0.0));
        if at > tokio::time::Instant::now() {
            link.flush().await?;
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(at) => {}
            }
        }
        let t = run.epoch.plus_secs(t_s);
        match item {
            Due::Detection(obs) if obs.sensor_kind == SensorKind::Agent => {
                sighting(api, tokens, run, obs, t);
            }
            Due::Detection(obs) => match mqtt {
                Some(m) if obs.sensor_kind == SensorKind::RemoteId => m.publish(obs).await?,
                _ => link.push(obs).await?,
            },
            Due::Adsb(r) => {
                let _ = lines.send(Arc::from(sbs_lines(r, t)));
            }
            Due::Agent(i) => {
                let rec = &run.agents[i];
                let token = tokens[rec.agent].clone();
                let body = json!({
                    "position": {"lat_deg": rec.lla.lat_deg, "lon_deg": rec.lla.lon_deg, "h_m": rec.lla.h_m},
                    "t_unix_ns": t.0,
                });
                post_quietly(api, "/api/v1/agents/me/position", token, body);
            }
        }
    }
    link.flush().await?;
    Ok(())
}

/// An agent's sighting report, as the field app sends it.
fn sighting(
    api: &Api,
    tokens: &[String],
    run: &SectorRun,
    obs: &dronewatch_model::Observation,
    t: TimeNs,
) {
    let Some(agent) = run
        .scene
        .agents
        .iter()
        .position(|a| a.id == obs.sensor_id.0)
    else {
        return;
    };
    let Measurement::BearingDistance { az_deg, dist_m, .. } = obs.measurement else {
        return;
    };
    let Some(p) = obs.sensor_position else { return };
    let observed_at = jiff::Timestamp::from_nanosecond(i128::from(t.0))
        .unwrap_or_default()
        .to_string();
    let body = json!({
        "client_id": format!("sim-{}-{}", run.config.seed, obs.id.0),
        "observed_at": observed_at,
        "reporter_position": {"lat_deg": p.lat_deg, "lon_deg": p.lon_deg, "h_m": p.h_m},
        "bearing_deg": (az_deg * 10.0).round() / 10.0,
        "distance_m": (dist_m / 10.0).round() * 10.0,
        "note": "simulated sighting",
    });
    post_quietly(api, "/api/v1/sightings", tokens[agent].clone(), body);
}

/// Posts without holding up the timeline; a failure is logged.
fn post_quietly(api: &Api, path: &'static str, token: String, body: serde_json::Value) {
    let req = api
        .http
        .post(format!("{}{path}", api.base))
        .bearer_auth(token)
        .json(&body);
    tokio::spawn(async move {
        match req.send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => warn!(path, status = %r.status(), "simulated phone: refused"),
            Err(e) => warn!(path, error = %e, "simulated phone: not sent"),
        }
    });
}
