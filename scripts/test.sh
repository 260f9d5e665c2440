#!/usr/bin/env bash
# The test suite, as CI runs it: makes sure the Python the benchmark tools need (numpy,
# scipy), the OpenAPI validator and the TAK server the CoT test talks to (taky) are there,
# runs every Rust test in the workspace, then the web UI's browser test (scripts/ui-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${DRONEWATCH_BENCH_VENV:-$HOME/.cache/dronewatch/test-venv}
if ! "$venv/bin/python" -c 'import numpy, scipy, openapi_spec_validator, taky' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy==2.4.6 scipy==1.17.1 \
        openapi-spec-validator==0.7.2 taky==0.10
fi
export DRONEWATCH_BENCH_PYTHON="$venv/bin/python"

# Library, binary and integration tests (doc tests hold no examples yet).
cargo test --workspace --lib --bins --tests "$@"

# The web UI in a real browser against a running node (Playwright + system Chromium).
scripts/ui-test.sh
