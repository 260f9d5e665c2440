//! The docs' `--print-config` commands run and print what the node and the tracker read
//! back. (`doc_check` checks every command and flag the docs name exists, and that every
//! `toml` block in them is a configuration the node accepts; the other end-to-end tests
//! run what the commands do.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use dronewatch_fusion::TrackerConfig;
use dronewatch_server::config::ServerConfig;
use dronewatch_threat::WarnerConfig;

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
