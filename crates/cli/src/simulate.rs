//! `dronewatch simulate`: the border-sector simulator, written as a benchmark scenario
//! folder (`--out DIR`) or played live into a running node (`--live`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use dronewatch_model::{Lla, TimeNs};
use dronewatch_sim::sector::{Scene, SectorConfig, SectorRun, write_dir};
use tokio_util::sync::CancellationToken;

use crate::sim_live::{LiveConfig, SbsFeed, play};

#[derive(Debug, Clone, clap::Args)]
pub struct SectorArgs {
    /// The sector's origin as `lat,lon,h` (degrees, degrees, metres above the WGS84
    /// ellipsoid); default: Nogales, Arizona, on the US-Mexico border.
    #[arg(long, value_parser = parse_lla)]
    pub origin: Option<Lla>,
    /// Turns the sector clockwise [deg]; 0 puts the hostile side of the border south.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub rotation_deg: f64,
    /// Seeds the sensor noise and clutter.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenario length [s].
    #[arg(long, default_value_t = 600.0)]
    pub duration_s: f64,
}

impl SectorArgs {
    pub fn config(&self) -> Result<SectorConfig> {
        if !self.rotation_deg.is_finite() {
            bail!("--rotation-deg: must be a finite number of degrees");
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 86_400.0) {
            bail!("--duration-s: above 0, at most a day (86400)");
        }
        let d = SectorConfig::default();
        Ok(SectorConfig {
            origin: self.origin.unwrap_or(d.origin),
            rotation_deg: self.rotation_deg,
            duration_s: self.duration_s,
            seed: self.seed,
        })
    }
}

pub(crate) fn parse_lla(s: &str) -> Result<Lla, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    let lla = match v[..] {
        [lat, lon] => Lla::new(lat, lon, 0.0),
        [lat, lon, h] => Lla::new(lat, lon, h),
        _ => return Err("expected lat,lon or lat,lon,h".into()),
    };
    if lla.is_valid() && (-180.0..=180.0).contains(&lla.lon_deg) {
        Ok(lla)
    } else {
        Err("latitude must be in [-90, 90] and longitude in [-180, 180]".into())
    }
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub sector: SectorArgs,
    /// Write the scenario here (benchmark format: sensors.json, detections.jsonl,
    /// truth.jsonl, agents.jsonl, zones.geojson, threat_truth.jsonl; and adsb.jsonl).
    #[arg(long, required_unless_present = "live")]
    pub out: Option<PathBuf>,
    /// Scenario time 0 (RFC 3339) for `--out`.
    #[arg(long, default_value = "2026-06-01T18:00:00Z")]
    pub epoch: String,
    /// Play live into a running node instead, scenario after scenario until Ctrl-C.
    #[arg(long, conflicts_with = "out")]
    pub live: bool,
    /// The node's HTTP address (`--live`).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// The node's SAPIENT listener (`--live`).
    #[arg(long, default_value = "127.0.0.1:5020")]
    pub sapient: SocketAddr,
    /// Where to serve the helicopter's SBS-1 feed (`--live`); point one of the node's
    /// `[[sources.adsb]]` (kind `sbs`) at it.
    #[arg(long, default_value = "127.0.0.1:30003")]
    pub sbs_listen: SocketAddr,
    /// With `--live`: play only the hostile drones as a training exercise of this name,
    /// through `EXERCISE-` sensors, marked as an exercise end to end; one scenario, then the
    /// exercise is ended and its after-action summary printed.
    #[arg(long, requires = "live")]
    pub exercise: Option<String>,
    /// With `--live`: the Remote ID receivers publish sensor JSON to this MQTT broker
    /// (`HOST:PORT`) instead of SAPIENT; the node's `[sources.mqtt]` must subscribe there.
    #[arg(long, requires = "live")]
    pub mqtt: Option<String>,
    /// The node's `[sources.mqtt] prefix` (`--mqtt`).
    #[arg(long, default_value = "dronewatch")]
    pub mqtt_prefix: String,
    /// The node's sector (`node.sector`), the topics' second level (`--mqtt`).
    #[arg(long, default_value = "sector-1")]
    pub mqtt_sector: String,
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// The admin's password (default: DRONEWATCH_ADMIN_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
}

pub fn run(args: &SimulateArgs) -> Result<()> {
    let cfg = args.sector.config()?;
    if let Some(out) = &args.out {
        let ts: jiff::Timestamp = args.epoch.parse().context("--epoch")?;
        let epoch = TimeNs(i64::try_from(ts.as_nanosecond()).context("--epoch")?);
        let run = SectorRun::generate(cfg, Scene::border_sector(), epoch);
        write_dir(&run, out).with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{}: {} detections, {} ADS-B reports, {} aircraft, {} agents, {} s",
            out.display(),
            run.detections.len(),
            run.adsb.len(),
            run.scene.aircraft.len(),
            run.scene.agents.len(),
            run.config.duration_s
        );
        return Ok(());
    }
    let Some(password) = args
        .password
        .clone()
        .or_else(|| std::env::var("DRONEWATCH_ADMIN_PASSWORD").ok())
    else {
        bail!("--live needs the admin's password: --password or DRONEWATCH_ADMIN_PASSWORD");
    };
    crate::serve::init_logging(&dronewatch_server::config::ServerConfig::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let sbs = SbsFeed::bind(args.sbs_listen).await?;
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
        let live = LiveConfig {
            http: args.http,
            sapient: args.sapient,
            admin_user: args.user.clone(),
            admin_password: password,
            sector: cfg,
            record_dir: None,
            scenarios: if args.exercise.is_some() {
                Some(1)
            } else {
                None
            },
            exercise: args.exercise.clone(),
            mqtt: args
                .mqtt
                .as_deref()
                .map(|addr| mqtt_target(addr, &args.mqtt_prefix, &args.mqtt_sector))
                .transpose()?,
        };
        play(live, sbs, cancel).await
    })
}

/// `HOST:PORT` of a broker, with the node's prefix and sector.
pub(crate) fn mqtt_target(
    addr: &str,
    prefix: &str,
    sector: &str,
) -> Result<crate::sim_live::MqttTarget> {
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .filter(|(h, _)| !h.is_empty())
        .with_context(|| format!("--mqtt {addr:?}: HOST:PORT expected"))?;
    Ok(crate::sim_live::MqttTarget {
        host: host.to_owned(),
        port,
        prefix: prefix.to_owned(),
        sector: sector.to_owned(),
    })
}
