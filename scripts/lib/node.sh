# Shared by the scripts that run a throwaway node (loadtest.sh, ui-test.sh, ui-fps.sh).
# Source it, write "$work/dronewatch.toml" (its data_dir under "$work", HTTP on "$port"),
# then `node_start BIN`. On exit the node and every pid added to `pids` are killed and
# "$work" is removed.

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# Starts `BIN serve` on "$work/dronewatch.toml" (logs in "$work/serve.out", ".err") and
# waits up to 30 s until it is ready.
node_start() {
    "$1" serve --config "$work/dronewatch.toml" > "$work/serve.out" 2> "$work/serve.err" &
    server=$!
    pids+=("$server")
    for _ in $(seq 150); do
        curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return 0
        sleep 0.2
    done
    echo "the node did not get ready on 127.0.0.1:$port; its log:" >&2
    tail -20 "$work/serve.err" >&2
    return 1
}
