//! `dronewatch serve`: runs one node until Ctrl-C or SIGTERM; `dronewatch verify` checks
//! the event log's hash chains.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dronewatch_server::config::ServerConfig;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); without one the node runs on the embedded default.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite store, signing key, photos); overrides the file.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Store URL (`postgres://...` or a SQLite path); overrides the file.
    #[arg(long)]
    pub store: Option<String>,
    /// Bus URL (`nats://127.0.0.1:4222`); overrides the file.
    #[arg(long)]
    pub bus: Option<String>,
    /// HTTP listen address; overrides the file.
    #[arg(long)]
    pub http: Option<std::net::SocketAddr>,
    /// Print the configuration in effect as TOML and exit.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Configuration file naming the store.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Store URL or SQLite path (default: the configuration's).
    #[arg(long)]
    pub store: Option<String>,
    /// Data directory (for the default SQLite store).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

fn load(
    config: Option<&PathBuf>,
    data_dir: Option<&PathBuf>,
    store: Option<&String>,
) -> Result<ServerConfig> {
    let mut cfg = ServerConfig::load(config.map(|p| p.as_path()))?;
    if let Some(d) = data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(s) = store {
        cfg.store.url = s.clone();
    }
    Ok(cfg)
}

pub fn init_logging(cfg: &ServerConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(cfg.log.filter.clone()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = if cfg.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let mut cfg = load(
        args.config.as_ref(),
        args.data_dir.as_ref(),
        args.store.as_ref(),
    )?;
    if let Some(b) = &args.bus {
        cfg.bus.url = b.clone();
    }
    if let Some(h) = args.http {
        cfg.http.bind = h;
    }
    if args.print_config {
        print!(
            "{}",
            toml::to_string_pretty(&cfg).context("printing the configuration")?
        );
        return Ok(());
    }
    init_logging(&cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let node = dronewatch_server::node::start(cfg).await?;
        if let Some(p) = &node.generated_admin_password {
            println!(
                "First start: user `admin` created with password\n\n    {p}\n\n\
                 It is shown this once. Log in and change it, or set DRONEWATCH_ADMIN_PASSWORD \
                 before the first start."
            );
        }
        println!("dronewatch listening on http://{}", node.http_addr);
        if let Some(a) = node.sapient_addr {
            println!("SAPIENT fusion node on {a}");
        }
        let stop = node.shutdown_token();
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("stopping...");
            stop.cancel();
        });
        node.run_until_stopped(Duration::from_secs(10)).await;
        anyhow::Ok(())
    })
}

pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn verify(args: &VerifyArgs) -> Result<()> {
    let cfg = load(
        args.config.as_ref(),
        args.data_dir.as_ref(),
        args.store.as_ref(),
    )?;
    let url = cfg.store_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = rt.block_on(async {
        let store = dronewatch_store::Store::open(&url).await.with_context(|| {
            format!(
                "opening the store {}",
                dronewatch_server::node::redact(&url)
            )
        })?;
        anyhow::Ok(store.verify().await?)
    })?;
    for c in &report.chains {
        match &c.first_bad {
            None => println!(
                "{:<12} ok: {} events checked (seq {}..={}, anchor {}), head {}",
                c.chain.as_str(),
                c.events_checked,
                c.anchor_seq + u64::from(c.events_checked > 0),
                c.last_seq,
                c.anchor_seq,
                c.last_hash_hex
            ),
            Some((seq, why)) => println!("{:<12} BROKEN at seq {seq}: {why}", c.chain.as_str()),
        }
    }
    if !report.ok() {
        bail!("the event log does not verify");
    }
    Ok(())
}
