//! `dronewatch demo`: a node on the embedded default (SQLite, in-process bus) with the
//! sector simulator playing into it live through SAPIENT, SBS-1 and the field API, the web
//! UI at a printed address with printed credentials. Ctrl-C stops both.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dronewatch_server::config::{AdsbSection, ServerConfig};
use dronewatch_sim::sector::{Scene, SectorConfig, SectorRun, sensors_json};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::sim_live::{AGENT_PASSWORD, LiveConfig, SbsFeed, play};
use crate::simulate::SectorArgs;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub sector: SectorArgs,
    /// Where the web UI and API listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Keep the node's data here (default: a temporary folder removed at exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Stop after this many scenarios (default: until Ctrl-C).
    #[arg(long)]
    pub scenarios: Option<u64>,
    /// Also play the Remote ID receivers over MQTT through this broker (`HOST:PORT`, e.g. a
    /// local Mosquitto on 127.0.0.1:1883): the node subscribes, the receivers publish.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// Also put the picture on a TAK server or ATAK device (`tcp://HOST:8087`,
    /// `udp://239.2.3.1:6969`): tracks, warnings, alerts and sightings as CoT; ATAK users
    /// with callsign `agent-1` .. `agent-4` are those agents.
    #[arg(long)]
    pub tak: Option<String>,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let (data_dir, temporary) = match &args.data_dir {
        Some(d) => (d.clone(), false),
        None => {
            let d = std::env::temp_dir().join(format!("dronewatch-demo-{}", std::process::id()));
            (d, true)
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let result = run_in(args, &data_dir);
    if temporary && let Err(e) = std::fs::remove_dir_all(&data_dir) {
        eprintln!("could not remove {}: {e}", data_dir.display());
    }
    result
}

fn run_in(args: &DemoArgs, data_dir: &std::path::Path) -> Result<()> {
    let sector = args.sector.config()?;
    let scenario_dir = data_dir.join("scenario");
    std::fs::create_dir_all(&scenario_dir)?;
    // The tracker reads the sensors' detection probabilities and clutter from here.
    let layout = SectorRun::generate(
        SectorConfig {
            duration_s: 0.0,
            ..sector.clone()
        },
        Scene::border_sector(),
        dronewatch_server::clock::now(),
    );
    let sensors_file = scenario_dir.join("sensors.json");
    std::fs::write(
        &sensors_file,
        serde_json::to_string_pretty(&sensors_json(&layout))?,
    )?;

    let mut cfg = ServerConfig {
        data_dir: data_dir.to_path_buf(),
        ..ServerConfig::default()
    };
    cfg.http.bind = args.http;
    cfg.sources.sapient.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    cfg.fusion.origin = sector.origin;
    cfg.fusion.sensors_file = Some(sensors_file);
    let mqtt = args
        .mqtt
        .as_deref()
        .map(|addr| {
            // Its own prefix per run: a shared broker's retained or queued messages from
            // another demo never reach this one.
            let prefix = format!("dronewatch-demo-{}", std::process::id());
            crate::simulate::mqtt_target(addr, &prefix, &cfg.node.sector)
        })
        .transpose()?;
    if let Some(m) = &mqtt {
        cfg.sources.mqtt.enabled = true;
        cfg.sources.mqtt.host = m.host.clone();
        cfg.sources.mqtt.port = m.port;
        cfg.sources.mqtt.prefix = m.prefix.clone();
        cfg.sources.mqtt.client_id = format!("{}-node", m.prefix);
    }
    if let Some(url) = &args.tak {
        cfg.delivery
            .cot
            .push(dronewatch_server::delivery::CotConfig {
                url: url.clone(),
                callsign: "dronewatch demo".into(),
                agents: (1..=4)
                    .map(|i| (format!("agent-{i}"), format!("agent-{i}")))
                    .collect(),
                ..Default::default()
            });
    }
    crate::serve::init_logging(&cfg);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let sbs = SbsFeed::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        cfg.sources.adsb.push(AdsbSection {
            kind: "sbs".into(),
            address: sbs.local_addr()?.to_string(),
            sensor_id: "adsb-1".into(),
        });
        let env_password = std::env::var("DRONEWATCH_ADMIN_PASSWORD").ok();
        let node = dronewatch_server::node::start(cfg).await?;
        let Some(password) = node.generated_admin_password.clone().or(env_password) else {
            bail!(
                "{} already has users: set DRONEWATCH_ADMIN_PASSWORD to the admin's password",
                data_dir.display()
            );
        };
        let Some(sapient) = node.sapient_addr else {
            bail!("the demo needs the SAPIENT listener");
        };
        let url = format!("http://{}", node.http_addr);
        println!(
            "dronewatch demo: a simulated border sector at Nogales, Arizona, live.\n\n\
             \x20   ops center  {url}/\n\
             \x20   user        admin\n\
             \x20   password    {password}\n\n\
             \x20   field app   {url}/#/field   (agent-1 .. agent-4, password {AGENT_PASSWORD})\n\
             \x20   SAPIENT     {sapient}   (for `dronewatch simulate --live --exercise NAME`)\n\n\
             Tracks appear within seconds; the first alerts within a minute. Ctrl-C stops.",
        );
        let stop = node.shutdown_token();
        let cancel = CancellationToken::new();
        let sim_cancel = cancel.clone();
        let live = LiveConfig {
            http: node.http_addr,
            sapient,
            admin_user: "admin".into(),
            admin_password: password,
            sector,
            record_dir: Some(scenario_dir),
            scenarios: args.scenarios,
            exercise: None,
            mqtt,
        };
        let sim = tokio::spawn(async move {
            let result = play(live, sbs, sim_cancel).await;
            if let Err(e) = &result {
                warn!(error = %format!("{e:#}"), "the simulator stopped");
                eprintln!("the simulator stopped: {e:#}");
            }
            result
        });
        let node_stop = stop.clone();
        let cancel_on_signal = cancel.clone();
        tokio::spawn(async move {
            crate::serve::wait_for_signal().await;
            eprintln!("stopping...");
            cancel_on_signal.cancel();
            node_stop.cancel();
        });
        let sim_done = tokio::spawn(async move {
            let r = sim.await;
            // A finished simulator (--scenarios) ends the demo.
            stop.cancel();
            r
        });
        node.run_until_stopped(Duration::from_secs(10)).await;
        cancel.cancel();
        match sim_done.await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(e.into()),
        }
    })
}
