//! `dronewatch`: the command-line entry point.

mod decode;
mod demo;
#[cfg(test)]
mod doc_check;
mod evaluate;
mod loadgen;
mod replay;
mod sapient_sensor;
mod serve;
mod sim_live;
mod simulate;
mod warnings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dronewatch",
    version,
    about = "Open counter-drone awareness: detect, track, identify, alert, record."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Track a recorded scenario (benchmark format) and write tracks.jsonl.
    Replay(ReplayArgs),
    /// Decode recorded sensor data and print one JSON object per message.
    #[command(subcommand)]
    Decode(decode::DecodeCommand),
    /// Act as SAPIENT sensor nodes: register with a fusion node and send a scenario's
    /// detections (for testing an integration end to end).
    SapientSensor(sapient_sensor::SapientSensorArgs),
    /// Run a node: sources, fusion, threat, the API and live stream, the event log.
    Serve(serve::ServeArgs),
    /// Check the event log's hash chains.
    Verify(serve::VerifyArgs),
    /// Run the demo: a node on the embedded default with a simulated border sector playing
    /// into it live; prints the web UI's address and credentials.
    Demo(demo::DemoArgs),
    /// The border-sector simulator: write a scenario (benchmark format) or play it live into
    /// a running node.
    Simulate(simulate::SimulateArgs),
    /// Score the threat stage's alerts over simulated border sectors (many seeds and
    /// places) against the simulator's truth; prints a table.
    Evaluate(evaluate::EvaluateArgs),
    /// Load a running node: a synthetic sky over SAPIENT and many WebSocket clients; prints
    /// throughput, latency and memory figures as JSON.
    Loadgen(LoadgenArgs),
}

#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// The node's HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: std::net::SocketAddr,
    /// The node's SAPIENT listener.
    #[arg(long, default_value = "127.0.0.1:5020")]
    pub sapient: std::net::SocketAddr,
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// The user's password (default: DRONEWATCH_ADMIN_PASSWORD).
    #[arg(long)]
    pub password: Option<String>,
    #[arg(long, default_value_t = 500)]
    pub drones: usize,
    #[arg(long, default_value_t = 10)]
    pub radars: usize,
    /// Seconds between a radar's scans.
    #[arg(long, default_value_t = 0.25)]
    pub radar_period_s: f64,
    #[arg(long, default_value_t = 600.0)]
    pub duration_s: f64,
    #[arg(long, default_value_t = 60.0)]
    pub warmup_s: f64,
    /// WebSocket clients taking every update (latency is measured on them).
    #[arg(long, default_value_t = 10)]
    pub ws_realtime: usize,
    /// WebSocket clients at 1 Hz.
    #[arg(long, default_value_t = 990)]
    pub ws_1hz: usize,
    /// Each 1 Hz client watches a square of this side around its own point [km] (a field
    /// phone); 0: the whole picture.
    #[arg(long, default_value_t = 2.0)]
    pub ws_1hz_box_km: f64,
    /// Also write the report here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Scenario folder with sensors.json and detections.jsonl.
    #[arg(long, required_unless_present_any = ["print_config", "print_threat_config"])]
    pub scenario: Option<PathBuf>,
    /// Where to write tracks.jsonl.
    #[arg(long, required_unless_present_any = ["print_config", "print_threat_config"])]
    pub out: Option<PathBuf>,
    /// Skip malformed detection lines (counted and reported) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_lines: bool,
    /// Stop after this scenario time [s].
    #[arg(long)]
    pub until: Option<f64>,
    /// Tracker parameters as JSON (any subset of the defaults; see `--print-config`).
    #[arg(long)]
    pub tracker_config: Option<PathBuf>,
    /// Print the tracker parameters in effect as JSON and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Also warn the scenario's agents (`agents.jsonl`, allow-list in `sensors.json`) and
    /// write the warnings here (`warnings.jsonl`, FORMAT.md "Agents, zones and warnings").
    #[arg(long)]
    pub warnings_out: Option<PathBuf>,
    /// Warning parameters as JSON (any subset of the defaults; see `--print-config`).
    #[arg(long)]
    pub threat_config: Option<PathBuf>,
    /// Print the warning parameters in effect as JSON and exit.
    #[arg(long)]
    pub print_threat_config: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    dronewatch_server::install_crypto_provider();
    let result = match cli.command {
        Command::Replay(args) => replay::run(&args),
        Command::Decode(cmd) => decode::run(&cmd),
        Command::SapientSensor(args) => sapient_sensor::run_cmd(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Verify(args) => serve::verify(&args),
        Command::Loadgen(args) => loadgen::run_cmd(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
