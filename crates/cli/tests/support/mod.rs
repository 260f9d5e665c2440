//! What the end-to-end tests share: running the binary, finding the shared benchmark, and
//! the Python its tools need.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn dronewatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dronewatch"))
}

/// `dronewatch replay --scenario SCEN --out OUT`, ready for more arguments.
pub fn replay(scen: &Path, out: &Path) -> Command {
    let mut cmd = dronewatch();
    cmd.arg("replay")
        .arg("--scenario")
        .arg(scen)
        .arg("--out")
        .arg(out);
    cmd
}

/// The shared benchmark folder (`../shared/bench` beside the repository), or `None` with a
/// clear message when it is absent. CI always has it, so there its absence is a failure.
pub fn bench_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench");
    if dir.join("gen_scenario.py").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "shared benchmark not found at {}: this test needs it",
        dir.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// Python with numpy and scipy: `DRONEWATCH_BENCH_PYTHON`, else `python3`.
pub fn python() -> Command {
    Command::new(std::env::var("DRONEWATCH_BENCH_PYTHON").unwrap_or_else(|_| "python3".into()))
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails with a clear message when the Python for the benchmark tools lacks numpy/scipy.
pub fn require_numpy() {
    let has_numpy = python()
        .args(["-c", "import numpy, scipy"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_numpy,
        "this test runs the benchmark's Python tools, which need numpy and scipy: run it \
         with scripts/test.sh, or point DRONEWATCH_BENCH_PYTHON at a Python that has them"
    );
}

/// A port nobody listens on now (the OS picks it), for a server the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
        .port()
}
