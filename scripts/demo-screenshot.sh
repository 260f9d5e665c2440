#!/usr/bin/env bash
# The README's picture from the real demo: builds the binary, runs `dronewatch demo` on a
# throwaway data directory, lets the simulated sector play for 45 s, and saves the ops
# view with the most severe alert open (ui/tests/demo-shot.mjs, Playwright with the
# system Chromium).
#
#   scripts/demo-screenshot.sh                    # writes docs/screenshots/demo.png
#   OUT=/tmp/x.png WAIT_S=90 scripts/demo-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[[ -n "$chromium" ]] || { echo "demo-screenshot: no Chromium (apt-get install chromium)" >&2; exit 1; }
[[ -d ui/node_modules/playwright-core ]] || (cd ui && npm ci --no-audit --no-fund)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p dronewatch-cli
bin="$CARGO_TARGET_DIR/release/dronewatch"

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
trap 'kill "$demo" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
export DRONEWATCH_ADMIN_PASSWORD="demo screenshot admin password"
"$bin" demo --http "127.0.0.1:$port" --data-dir "$work/data" > "$work/demo.out" 2> "$work/demo.err" &
demo=$!
for _ in $(seq 150); do
    curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
    sleep 0.2
done
out=$(realpath -m "${OUT:-docs/screenshots/demo.png}")
(cd ui && DRONEWATCH_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" OUT="$out" \
    WAIT_S="${WAIT_S:-45}" node tests/demo-shot.mjs)
