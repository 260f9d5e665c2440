//! Locates `../shared` (the real captures and messages from public projects, and the tracking
//! benchmark) for tests. The files are read where they lie, never copied into the repository.
//!
//! When the folder is absent a test says so and passes over it; under CI (the `CI`
//! variable set) the folder must be there, so its absence is a failure.

use std::path::PathBuf;

/// `../shared/<rel>` beside the repository, or `None` after printing why the calling test
/// does nothing. Panics under CI when the path is missing.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("DRONEWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join(rel);
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "shared test data not found at {}: this test needs it (set DRONEWATCH_SHARED to the \
         shared folder)",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// `../shared/data/<rel>`: the conformance data.
pub fn data(rel: &str) -> Option<PathBuf> {
    shared(&format!("data/{rel}"))
}

#[cfg(feature = "nats")]
pub mod nats;

#[cfg(feature = "postgres")]
pub mod postgres;
