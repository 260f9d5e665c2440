//! `dronewatch decode`: reads recorded sensor data and prints what it holds, one JSON object
//! per decoded message on stdout, so it can be piped into `jq` or compared with another
//! decoder. A broken file is reported on stderr and the next file is read.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Serialize;

#[derive(Debug, clap::Subcommand)]
pub enum DecodeCommand {
    /// Remote ID (ASTM F3411 / ASD-STAN EN 4709-002) in pcap or pcapng captures: Wi-Fi
    /// beacon and NaN (radiotap/802.11), Bluetooth legacy and long range (Nordic sniffer).
    RemoteId {
        /// Capture files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Serialize)]
struct WithFile<'a, T> {
    file: &'a str,
    #[serde(flatten)]
    record: T,
}

pub fn run(cmd: &DecodeCommand) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    match cmd {
        DecodeCommand::RemoteId { files } => {
            for path in files {
                let file = path.display().to_string();
                let records = match dronewatch_remoteid::decode_capture(path) {
                    Ok(records) => records,
                    Err(e) => {
                        // The error names the file.
                        eprintln!("error: {e}");
                        failed += 1;
                        continue;
                    }
                };
                for record in records {
                    match record {
                        Ok(record) => {
                            serde_json::to_writer(
                                &mut out,
                                &WithFile {
                                    file: &file,
                                    record,
                                },
                            )?;
                            out.write_all(b"\n")?;
                        }
                        Err(e) => {
                            // Everything before the break in the file has been printed.
                            eprintln!("error: {file}: {e}");
                            failed += 1;
                        }
                    }
                }
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        bail!("{failed} file error(s); see above");
    }
    Ok(())
}
