#!/usr/bin/env bash
# The web UI in a real browser: builds the node (which builds and embeds ui/), starts it on
# a fresh SQLite data directory, and runs ui/tests/e2e.mjs (Playwright with the system
# Chromium) against it. scripts/test.sh runs it; CI installs Chromium first.
#
#   scripts/ui-test.sh
#   SCREENSHOT_DIR=docs/screenshots scripts/ui-test.sh     # also regenerates the screenshots
#
# Without Chromium it says so and stops (under CI it fails).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z "$chromium" ]]; then
    echo "ui-test: SKIPPED: no Chromium (apt-get install chromium)" >&2
    [[ -n "${CI:-}" ]] && exit 1
    exit 0
fi
if [[ ! -d ui/node_modules/playwright-core ]]; then
    (cd ui && npm ci --no-audit --no-fund)
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q -p dronewatch-cli
bin="$CARGO_TARGET_DIR/debug/dronewatch"

. scripts/lib/node.sh
. scripts/lib/venv.sh
export DRONEWATCH_ADMIN_PASSWORD="ui test admin password"
# A raster PMTiles basemap the map must read by range requests.
"$DRONEWATCH_BENCH_PYTHON" ui/tests/make-basemap.py "$work/basemap.pmtiles"
cat > "$work/dronewatch.toml" <<TOML
data_dir = "$work/data"
[ui]
pmtiles = "$work/basemap.pmtiles"
[http]
bind = "127.0.0.1:$port"
[sources.sapient]
enabled = false
[log]
filter = "warn"
TOML
node_start "$bin"
[[ -n "${SCREENSHOT_DIR:-}" ]] && SCREENSHOT_DIR=$(realpath -m "$SCREENSHOT_DIR")
status=0
(cd ui && DRONEWATCH_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" \
    SCREENSHOT_DIR="${SCREENSHOT_DIR:-}" node tests/e2e.mjs) || status=$?
if ((status)) && [[ -s "$work/serve.err" ]]; then
    echo "--- node log (last 30 lines) ---" >&2
    tail -30 "$work/serve.err" >&2
fi
exit $status
