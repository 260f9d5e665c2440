//! `dronewatch decode`: reads recorded sensor data (and CoT) and prints what it holds, one JSON object
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
    /// Cursor on Target: files of CoT XML events (one or many back to back, as a TAK
    /// stream carries them) or of TAK Protocol v1 stream frames, e.g. a capture of what a
    /// TAK server sent. `--mesh`: each file is one TAK v1 mesh datagram.
    Cot {
        /// Files to read.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Each file is one mesh datagram (`0xbf 0x01 0xbf` + protobuf).
        #[arg(long)]
        mesh: bool,
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
        DecodeCommand::Cot { files, mesh } => {
            for path in files {
                let file = path.display().to_string();
                let bytes = match std::fs::read(path) {
                    Ok(b) => b,
                    Err(e) => {
                        eprintln!("error: {file}: {e}");
                        failed += 1;
                        continue;
                    }
                };
                let mut events = Vec::new();
                if *mesh {
                    events.push(dronewatch_cot::tak::decode_mesh(&bytes));
                } else {
                    let mut splitter = dronewatch_cot::StreamSplitter::new(bytes.len().max(1));
                    splitter.push(&bytes);
                    events.extend(std::iter::from_fn(|| splitter.next_event()));
                }
                for event in events {
                    match event {
                        Ok(e) => {
                            let mut record = cot_json(&e);
                            record["file"] = file.clone().into();
                            serde_json::to_writer(&mut out, &record)?;
                            out.write_all(b"\n")?;
                        }
                        Err(e) => {
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

/// A CoT event as JSON: its attributes, point, the typed detail and the rest of it as XML,
/// with what dronewatch reads from the type (affiliation, 2525B code).
fn cot_json(e: &dronewatch_cot::Event) -> serde_json::Value {
    let d = &e.detail;
    serde_json::json!({
        "uid": e.uid,
        "type": e.cot_type,
        "how": e.how,
        "time_unix_ms": e.time_unix_ms,
        "start_unix_ms": e.start_unix_ms,
        "stale_unix_ms": e.stale_unix_ms,
        "access": e.access,
        "qos": e.qos,
        "opex": e.opex,
        "point": {
            "lat_deg": e.point.lat_deg,
            "lon_deg": e.point.lon_deg,
            "hae_m": e.point.hae_m,
            "ce_m": e.point.ce_m,
            "le_m": e.point.le_m,
        },
        "affiliation": dronewatch_cot::types::affiliation(&e.cot_type).map(|a| format!("{a:?}").to_lowercase()),
        "sidc_2525b": dronewatch_cot::types::sidc_2525b(&e.cot_type),
        "callsign": d.contact.as_ref().map(|c| &c.callsign),
        "endpoint": d.contact.as_ref().and_then(|c| c.endpoint.as_ref()),
        "group": d.group.as_ref().map(|g| serde_json::json!({"name": g.name, "role": g.role})),
        "track": d.track.as_ref().map(|t| serde_json::json!({"course_deg": t.course_deg, "speed_mps": t.speed_mps})),
        "battery": d.status.as_ref().map(|s| s.battery),
        "takv": d.takv.as_ref().map(|t| serde_json::json!({
            "device": t.device, "platform": t.platform, "os": t.os, "version": t.version})),
        "remarks": d.remarks(),
        "xml_detail": d.xml,
    })
}
