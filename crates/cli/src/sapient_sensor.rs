//! `dronewatch sapient-sensor`: a SAPIENT sensor node (ASM) for integrators. It connects to a
//! fusion node (dronewatch, Apex, or any DMM), registers one node per sensor of a benchmark
//! scenario, and sends their status and detection reports, so a setup can be tested end to
//! end without the real sensors.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use dronewatch_server::sapient_sensor::{Pace, SensorClientConfig, run};

#[derive(Debug, clap::Args)]
pub struct SapientSensorArgs {
    /// The fusion node's SAPIENT address.
    #[arg(long, default_value = "127.0.0.1:5020")]
    pub server: SocketAddr,
    /// Scenario folder with sensors.json and detections.jsonl (benchmark format).
    #[arg(long)]
    pub scenario: PathBuf,
    /// Replay speed: 1 = real time, 10 = ten times faster.
    #[arg(long, default_value_t = 1.0, conflicts_with = "as_fast_as_possible")]
    pub speed: f64,
    /// Send as fast as the connection takes them.
    #[arg(long)]
    pub as_fast_as_possible: bool,
    /// Stop after this many detection reports.
    #[arg(long)]
    pub max_detections: Option<u64>,
}

pub fn run_cmd(args: &SapientSensorArgs) -> Result<()> {
    let cfg = SensorClientConfig {
        server: args.server,
        scenario_dir: args.scenario.clone(),
        pace: if args.as_fast_as_possible {
            Pace::AsFastAsPossible
        } else {
            Pace::RealTime { speed: args.speed }
        },
        max_detections: args.max_detections,
        ..SensorClientConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let stats = runtime
        .block_on(run(cfg))
        .with_context(|| format!("SAPIENT sensor to {}", args.server))?;
    println!("{}", serde_json::to_string_pretty(&stats)?);
    Ok(())
}
