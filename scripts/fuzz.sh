#!/usr/bin/env bash
# Runs every cargo-fuzz target of every decoder for SECONDS each (default 600: the
# 10-minute campaign), one after the other, and fails on the first crash.
#
#   scripts/fuzz.sh            # 10 minutes per target
#   scripts/fuzz.sh 20         # a smoke run (CI)
#   scripts/fuzz.sh 600 remoteid   # only crates/remoteid/fuzz
#   FUZZ_SANITIZER=none scripts/fuzz.sh 10   # faster builds, no AddressSanitizer (CI smoke)
#
# cargo-fuzz needs nightly flags; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
only=${2:-}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}
for dir in crates/*/fuzz; do
    crate=$(basename "$(dirname "$dir")")
    [[ -n "$only" && "$crate" != "$only" ]] && continue
    for target in $(cd "$dir" && cargo fuzz list); do
        echo "== $crate/$target: ${seconds} s"
        log=$(mktemp)
        if ! (cd "$dir" && cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-address}" "$target" -- \
                -max_total_time="$seconds" \
                -print_final_stats=1) >"$log" 2>&1; then
            tail -n 60 "$log" >&2
            echo "fuzz target $crate/$target failed (crash input in $dir/artifacts/$target)" >&2
            exit 1
        fi
        grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$log" || true
        rm -f "$log"
    done
done
