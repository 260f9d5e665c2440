#!/usr/bin/env bash
# The ops-center map's frame rate with 2,000 live tracks updating at 1 Hz, in headless
# Chromium on this machine (docs/performance.md, "The web UI"). Builds the release node,
# starts it with a synthetic sky from `dronewatch loadgen` over SAPIENT, and runs
# ui/tests/fps.mjs.
#
#   scripts/ui-fps.sh                 # TRACKS=2000 MEASURE_S=10
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CHROMIUM:-$(command -v chromium || true)}
[[ -n "$chromium" ]] || { echo "ui-fps: needs Chromium (apt-get install chromium)" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p dronewatch-cli
bin="$CARGO_TARGET_DIR/release/dronewatch"
tracks=${TRACKS:-2000}

. scripts/lib/node.sh
export DRONEWATCH_ADMIN_PASSWORD="ui fps admin password"
cat > "$work/dronewatch.toml" <<TOML
data_dir = "$work/data"
[http]
bind = "127.0.0.1:$port"
rate_per_s = 10000
rate_burst = 10000
[sources.sapient]
bind = "127.0.0.1:$((port + 1))"
[log]
filter = "warn"
TOML
node_start "$bin"
# Every drone seen once a second by one of two radars: tracks update at 1 Hz.
"$bin" loadgen --http "127.0.0.1:$port" --sapient "127.0.0.1:$((port + 1))" \
    --drones "$tracks" --radars 2 --radar-period-s 1 --duration-s 600 --warmup-s 5 \
    --ws-realtime 0 --ws-1hz 0 > "$work/loadgen.out" 2>&1 &
pids+=($!)
(cd ui && DRONEWATCH_URL="http://127.0.0.1:$port" CHROMIUM="$chromium" TRACKS="$tracks" node tests/fps.mjs)
