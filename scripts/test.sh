#!/usr/bin/env bash
# The test suite, as CI runs it: makes sure the Python the tests need is there
# (scripts/lib/venv.sh), runs every Rust test in the workspace, then the web UI's browser
# test (scripts/ui-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib/venv.sh

# Library, binary and integration tests (doc tests hold no examples yet).
cargo test --workspace --lib --bins --tests "$@"

# The web UI in a real browser against a running node (Playwright + system Chromium).
scripts/ui-test.sh
