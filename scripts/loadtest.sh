#!/usr/bin/env bash
# The live server's load test (docs/performance.md, "The live server"): builds the release
# binary, starts a node on a fresh SQLite data directory, and runs `dronewatch loadgen`
# against it: a synthetic sky over SAPIENT and WebSocket clients, then prints the report.
#
#   scripts/loadtest.sh                      # 20,000 obs/s, 500 drones, 1,000 clients, 10 min
#   DURATION_S=120 WS_1HZ=200 scripts/loadtest.sh
#
# Variables: DRONES (500), RADARS (10), RADAR_PERIOD_S (0.25), DURATION_S (600),
# WARMUP_S (60), WS_REALTIME (10), WS_1HZ (990), OUT (report path), STORE (store URL).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p dronewatch-cli
bin="$CARGO_TARGET_DIR/release/dronewatch"

. scripts/lib/node.sh
http_port=$port
sapient_port=$((port + 1))
export DRONEWATCH_ADMIN_PASSWORD="load test admin password"
cat > "$work/dronewatch.toml" <<TOML
data_dir = "$work/data"
[store]
url = "${STORE:-}"
[http]
bind = "127.0.0.1:$http_port"
# One token opens every test client: let it.
rate_per_s = 100000
rate_burst = 100000
max_ws_clients = 5000
[sources.sapient]
bind = "127.0.0.1:$sapient_port"
[log]
filter = "warn"
TOML
node_start "$bin"
echo "node pid $server on 127.0.0.1:$http_port (SAPIENT $sapient_port); $(nproc) cores" >&2
"$bin" loadgen --http "127.0.0.1:$http_port" --sapient "127.0.0.1:$sapient_port" \
    --drones "${DRONES:-500}" --radars "${RADARS:-10}" --radar-period-s "${RADAR_PERIOD_S:-0.25}" \
    --duration-s "${DURATION_S:-600}" --warmup-s "${WARMUP_S:-60}" \
    --ws-realtime "${WS_REALTIME:-10}" --ws-1hz "${WS_1HZ:-990}" \
    ${OUT:+--out "$OUT"}
if [[ -s "$work/serve.err" ]]; then
    echo "--- node warnings (last 20 lines) ---" >&2
    tail -20 "$work/serve.err" >&2
fi
