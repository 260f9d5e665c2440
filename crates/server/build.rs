//! Builds the web UI (`ui/`, TypeScript + Vite) and embeds it in the binary, so one file
//! serves the map with no CDN and nothing else installed on the post's laptop.
//!
//! - `DRONEWATCH_UI_DIST=/path/to/dist` embeds a UI built elsewhere (packagers, CI caches).
//! - Otherwise `npm ci` (once, or when the lock file changes) and `npm run build` run in
//!   `ui/`, writing into `OUT_DIR`. Without Node.js the build still succeeds: the node
//!   then serves a page saying how to build the UI, and cargo prints a warning.

#![allow(clippy::expect_used)] // a build script reports what went wrong by panicking

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ui = manifest.join("../../ui");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-env-changed=DRONEWATCH_UI_DIST");
    for f in [
        "src",
        "public",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(f).display());
    }

    let dist = match env::var_os("DRONEWATCH_UI_DIST") {
        Some(d) => Ok(PathBuf::from(d)),
        None => build_ui(&ui, &out.join("ui")),
    };
    let files = match dist {
        Ok(dir) => collect(&dir),
        Err(why) => {
            println!(
                "cargo:warning=web UI not built ({why}); the node will serve a page saying so"
            );
            Vec::new()
        }
    };
    let mut code = String::from("pub static ASSETS: &[Asset] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(
            code,
            "    Asset {{ path: {rel:?}, bytes: include_bytes!({abs:?}) }},",
            abs = abs.display().to_string()
        );
    }
    code.push_str("];\n");
    fs::write(out.join("ui_assets.rs"), code).expect("OUT_DIR is writable");
}

fn build_ui(ui: &Path, out: &Path) -> Result<PathBuf, String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let lock = ui.join("package-lock.json");
    let installed = ui.join("node_modules/.package-lock.json");
    if modified(&installed) < modified(&lock) {
        run(Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(ui))?;
    }
    run(Command::new(npm)
        .args(["run", "build", "--", "--outDir"])
        .arg(out)
        .current_dir(ui))?;
    Ok(out.to_path_buf())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let what = format!("{cmd:?}");
    // npm's chatter goes to stderr: cargo reads a build script's stdout as directives.
    let status = cmd
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed: {status}"))
    }
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Every file under `dir`, with its path relative to it (`/`-separated).
fn collect(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                let rel = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.push((rel, p));
            }
        }
    }
    files.sort();
    files
}
