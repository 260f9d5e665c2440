//! `dronewatch replay`: streams a scenario's detections through the tracker and writes the
//! confirmed tracks at every report time, predicted to that time (FORMAT.md contract).

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use dronewatch_fusion::{Tracker, TrackerConfig};
use dronewatch_sim::scenario::{
    DetectionReader, FormatError, TrackRecord, TrackWriter, read_scenario_dir,
};
use dronewatch_threat::WarnerConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ReplayArgs;
use crate::warnings::WarningsOut;

pub fn run(args: &ReplayArgs) -> Result<()> {
    let started = Instant::now();
    let cfg = match &args.tracker_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<TrackerConfig>(&text)
                .with_context(|| format!("tracker parameters in {}", path.display()))?
        }
        None => TrackerConfig::default(),
    };
    let threat_cfg = match &args.threat_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<WarnerConfig>(&text)
                .with_context(|| format!("warning parameters in {}", path.display()))?
        }
        None => WarnerConfig::default(),
    };
    if args.print_config {
        println!("{}", serde_json::to_string_pretty(&cfg)?);
        return Ok(());
    }
    if args.print_threat_config {
        println!("{}", serde_json::to_string_pretty(&threat_cfg)?);
        return Ok(());
    }
    // clap requires both unless a config is printed.
    let (Some(scenario_dir), Some(out_path)) = (&args.scenario, &args.out) else {
        anyhow::bail!("--scenario and --out are required");
    };
    let scenario = read_scenario_dir(scenario_dir)?;
    let meta = &scenario.meta;
    let mut tracker = Tracker::new(cfg, meta.ref_lla, meta.epoch, &scenario.sensors);

    let det_path = scenario_dir.join("detections.jsonl");
    let file = File::open(&det_path).with_context(|| format!("opening {}", det_path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(size, args.quiet);
    let reader = DetectionReader::new(
        BufReader::with_capacity(1 << 18, bar.wrap_read(file)),
        meta.epoch,
    );

    let out = File::create(out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let mut writer = TrackWriter::new(out);
    let mut warnings = match &args.warnings_out {
        Some(path) => Some(WarningsOut::open(
            scenario_dir,
            &scenario,
            threat_cfg,
            path,
        )?),
        None => None,
    };
    let final_report = meta.report_count() - 1;
    let last_report = args.until.map_or(final_report, |until| {
        ((until / meta.report_period_s).floor() as u64).min(final_report)
    });
    let mut next_report = 0u64;
    let emit = |tracker: &mut Tracker,
                k: u64,
                writer: &mut TrackWriter<File>,
                warnings: &mut Option<WarningsOut>|
     -> Result<()> {
        let t = meta.time_at(meta.report_time_s(k));
        tracker.advance_to(t);
        let tracks = tracker.tracks_at(t);
        if let Some(w) = warnings {
            w.at_report(meta.report_time_s(k), t, &tracks)?;
        }
        for track in tracks {
            writer.write(&TrackRecord {
                t_s: meta.report_time_s(k),
                track_id: track.id.0,
                enu: track.enu_m,
                vel_enu: track.vel_enu_mps,
                cov_enu: track.cov_enu_m2,
                lla: track.position,
            })?;
        }
        Ok(())
    };

    let (mut detections, mut bad_lines, mut late) = (0u64, 0u64, 0u64);
    let mut failure = None;
    for (line_no, item) in reader {
        let obs = match item {
            Ok(obs) => obs,
            // A malformed line may be skipped; a read error never is: it ends the stream.
            Err(e @ FormatError::Line { .. }) if args.skip_bad_lines => {
                bad_lines += 1;
                if bad_lines <= 10 {
                    bar.suspend(|| eprintln!("warning: skipped {e}"));
                }
                continue;
            }
            Err(e) => {
                failure = Some(anyhow!("{}: {e}", det_path.display()));
                break;
            }
        };
        // Every report time before this detection gets its tracks now: the contract is
        // "all detections with time <= t", and the file is sorted by time.
        while next_report <= last_report && obs.t > meta.time_at(meta.report_time_s(next_report)) {
            emit(&mut tracker, next_report, &mut writer, &mut warnings)?;
            next_report += 1;
        }
        if next_report > last_report {
            break;
        }
        match tracker.ingest(obs) {
            Ok(()) => detections += 1,
            Err(e) if args.skip_bad_lines => {
                late += 1;
                bad_lines += 1;
                if bad_lines <= 10 {
                    bar.suspend(|| eprintln!("warning: skipped line {line_no}: {e}"));
                }
            }
            Err(e) => {
                failure = Some(anyhow!("{}: line {line_no}: {e}", det_path.display()));
                break;
            }
        }
    }
    if let Some(error) = failure {
        // Keep what is complete: every report written so far used all its detections.
        writer.finish()?;
        bar.finish_and_clear();
        let written = match next_report {
            0 => "no reports".to_string(),
            k => format!("the reports up to t = {} s", meta.report_time_s(k - 1)),
        };
        return Err(error.context(format!("stopped; {} holds {written}", out_path.display())));
    }
    while next_report <= last_report {
        emit(&mut tracker, next_report, &mut writer, &mut warnings)?;
        next_report += 1;
    }
    let lines = writer.lines_written();
    writer.finish()?;
    let warning_lines = warnings.map(WarningsOut::finish).transpose()?;
    bar.finish_and_clear();

    let stats = tracker.stats();
    eprintln!(
        "replay: {detections} detections, {} track lines, {} tracks confirmed, {} s in {:.2} s{}",
        lines,
        stats.tracks_confirmed,
        meta.report_time_s(last_report),
        started.elapsed().as_secs_f64(),
        if bad_lines > 0 {
            format!(", {bad_lines} bad lines skipped ({late} rejected by the tracker)")
        } else {
            String::new()
        }
    );
    if let Some(n) = warning_lines {
        eprintln!("replay: {n} warning lines");
    }
    Ok(())
}

fn progress_bar(bytes: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar
}
