//! The docs' examples run: every `toml` block in the README and `docs/` is a configuration
//! the node accepts, and the `--print-config` commands they name print what the node and
//! the tracker read back. (`doc_check` checks every command and flag the docs name exists;
//! the other end-to-end tests run what the commands do.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};

use dronewatch_fusion::TrackerConfig;
use dronewatch_server::config::ServerConfig;
use dronewatch_threat::WarnerConfig;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and docs/*.md, by name.
fn markdown() -> Vec<(String, String)> {
    let mut paths = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The fenced blocks of `lang` in `text`, with the line each starts on.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            None if fence.strip_prefix("```").is_some_and(|l| l.trim() == lang) => {
                open = Some((i + 1, String::new()));
            }
            Some(_) if fence.starts_with("```") => out.extend(open.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_toml_block_in_the_docs_is_a_configuration_the_node_accepts() {
    let mut seen = 0;
    for (file, text) in markdown() {
        for (line, body) in blocks(&text, "toml") {
            if let Err(e) = ServerConfig::from_toml(&body) {
                panic!("{file}:{line}: the node refuses this configuration: {e}\n{body}");
            }
            seen += 1;
        }
    }
    // deployment.md (3), delivery.md (5), integrator-guide.md (5), threat.md (1) at least.
    assert!(seen >= 14, "only {seen} toml blocks found");
    // A stale key would be caught: the node refuses what it does not know.
    assert!(ServerConfig::from_toml("[http]\nbnd = \"127.0.0.1:8080\"\n").is_err());
}

/// What `dronewatch ARGS...` prints, after checking it succeeded.
fn stdout_of(args: &[&str]) -> String {
    let out = support::dronewatch().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "dronewatch {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_print_config_prints_a_configuration_that_reads_back_the_same() {
    let read = ServerConfig::from_toml(&stdout_of(&["serve", "--print-config"])).unwrap();
    assert_eq!(read, ServerConfig::default());
}

#[test]
fn replay_prints_the_tracker_and_warning_parameters_without_a_scenario() {
    let tracker: TrackerConfig =
        serde_json::from_str(&stdout_of(&["replay", "--print-config"])).unwrap();
    assert_eq!(tracker, TrackerConfig::default());
    let warner: WarnerConfig =
        serde_json::from_str(&stdout_of(&["replay", "--print-threat-config"])).unwrap();
    assert_eq!(warner, WarnerConfig::default());
    // A replay still needs its scenario and output.
    let out = support::dronewatch().arg("replay").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scenario"));
}
