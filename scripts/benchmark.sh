#!/usr/bin/env bash
# Tracking benchmark: dronewatch vs the Stone Soup reference (GNN, EKF, radar + Remote ID) on the
# shared benchmark's scenarios, scored by its GOSPA scorer; prints a Markdown table at the end.
#
#   scripts/benchmark.sh                       # everything (~25 min for the Stone Soup runs when new)
#   SCENARIOS="small-1 medium-1" scripts/benchmark.sh
#
# Env: OUT (work dir, default /tmp/dronewatch-bench), DRONEWATCH_BENCH_DIR (default ../shared/bench
# next to the repo), DRONEWATCH_BENCH_VENV (Python venv, created if missing), SCENARIOS,
# SKIP_STONESOUP=1, LARGE=0 (skip large-1), CARGO_TARGET_DIR. large-1 is also run as large-1-120s
# (its first 120 s), where Stone Soup is compared: it takes ~20 min on all of large.
# Layout: $OUT/NAME/{sensors.json,detections.jsonl,truth.jsonl}, $OUT/NAME/dw/ and
# $OUT/NAME/ss-gnn-rid/ with tracks.jsonl, run.json, score.json. Scenarios and Stone Soup results
# are reused when present; dronewatch is always re-run and re-scored.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$(realpath -m "${DRONEWATCH_BENCH_DIR:-$REPO/../shared/bench}")
VENV=$(realpath -m "${DRONEWATCH_BENCH_VENV:-$HOME/.cache/dronewatch/bench-venv}")
OUT=$(realpath -m "${OUT:-/tmp/dronewatch-bench}")
export CARGO_TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$REPO/target}")
DW=$CARGO_TARGET_DIR/release/dronewatch
PY=$VENV/bin/python
EVAL="small-1 medium-1 small-2 small-3 medium-2 medium-3 small-7-syd medium-5-clut40 medium-9-north"
DEV="small-101 medium-101 medium-102"
[ "${LARGE:-1}" = 0 ] && LARGE_SET="" || LARGE_SET="large-1"
SCENARIOS=${SCENARIOS:-$EVAL $DEV $LARGE_SET}
[ -z "$LARGE_SET" ] && SCENARIOS=$(tr ' ' '\n' <<<"$SCENARIOS" | { grep -v '^large-' || true; } | xargs)

log() { echo "[$(date +%T)] $*" >&2; }

gen_opts() {  # scenario name -> gen_scenario.py options
  case $1 in
    small-7-syd) echo --scale small --seed 7 --ref -33.9 151.2 50 ;;
    medium-5-clut40) echo --scale medium --seed 5 --clutter-rate 40 ;;
    medium-9-north) echo --scale medium --seed 9 --ref 69.6 179.9 20 ;;
    *-*) echo --scale "${1%-*}" --seed "${1##*-}" ;;
    *) echo "unknown scenario name: $1" >&2; return 1 ;;
  esac
}

gen() {  # gen NAME: generate the scenario unless present
  [ -s "$OUT/$1/detections.jsonl" ] && return
  local opts; opts=$(gen_opts "$1")
  log "generate $1: $opts"
  "$PY" "$BENCH/gen_scenario.py" $opts --out "$OUT/$1" >/dev/null
}

until_opt() {  # until_opt NAME: "--until S" for a scenario cut short (see first_seconds), else nothing
  [ -s "$OUT/$1/until_s" ] && echo --until "$(cat "$OUT/$1/until_s")" || true
}

first_seconds() {  # first_seconds NAME S: NAME-Ss, the first S seconds of NAME (files linked)
  local d=$OUT/$1-$2s
  mkdir -p "$d"
  for f in sensors.json detections.jsonl truth.jsonl; do ln -sf "$OUT/$1/$f" "$d/$f"; done
  echo "$2" >"$d/until_s"
}

score() {  # score NAME RUNDIR
  "$PY" "$BENCH/score.py" --scenario "$OUT/$1" --tracks "$2/tracks.jsonl" --json "$2/score.json" \
    $(until_opt "$1") >"$2/score.txt"
  log "$1 $(basename "$2"): GOSPA $(awk '$1 == "gospa" {print $2}' "$2/score.txt")"
}

run_dw() {  # run_dw NAME: timed replay + run.json + score
  local d=$OUT/$1/dw
  mkdir -p "$d"
  /usr/bin/time -f '%e %M' -o "$d/time.txt" \
    "$DW" replay --quiet --scenario "$OUT/$1" --out "$d/tracks.jsonl" $(until_opt "$1")
  read -r wall rss_kb <"$d/time.txt"
  local until=1e300; [ -s "$OUT/$1/until_s" ] && until=$(cat "$OUT/$1/until_s")
  local dets; dets=$(awk -v u="$until" -F'"t": ' '{split($2, a, ","); if (a[1] + 0 <= u) n++} END {print n + 0}' \
    "$OUT/$1/detections.jsonl")
  printf '{"wall_s": %s, "peak_rss_mb": %.1f, "detections": %d}\n' \
    "$wall" "$(awk "BEGIN {print $rss_kb / 1024}")" "$dets" >"$d/run.json"
  log "$1 dw: ${wall} s, $((rss_kb / 1024)) MB"
  score "$1" "$d"
}

run_ss() {  # run_ss NAME: Stone Soup reference + score, unless already scored
  local d=$OUT/$1/ss-gnn-rid
  [ -s "$d/score.json" ] && return
  if [ ! -s "$d/tracks.jsonl" ]; then
    log "$1 Stone Soup (slow: ~5 s small, ~2-4 min medium)"
    "$PY" "$BENCH/stonesoup_ref.py" --scenario "$OUT/$1" --out "$d" --assoc gnn --rid $(until_opt "$1") \
      >"$OUT/$1/ss.stdout"
  fi
  score "$1" "$d"
}

if [ ! -x "$PY" ]; then
  log "create venv $VENV"
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$BENCH/requirements.txt"
fi
log "build $DW"
cargo build --release -q -p dronewatch-cli --manifest-path "$REPO/Cargo.toml"

mkdir -p "$OUT"
for s in $SCENARIOS; do gen "$s"; done

for s in $SCENARIOS; do
  run_dw "$s"
  if [[ $s == large-* ]]; then
    # Stone Soup takes ~20 min on all of large; compare on its first 120 s, as REFERENCE.md does.
    first_seconds "$s" 120
    run_dw "$s-120s"
    [ "${SKIP_STONESOUP:-0}" = 1 ] || run_ss "$s-120s"
  else
    [ "${SKIP_STONESOUP:-0}" = 1 ] || run_ss "$s"
  fi
done

gen small-1
det_ok=1
for i in 1 2; do "$DW" replay --quiet --scenario "$OUT/small-1" --out "$OUT/small-1/determinism-$i.jsonl"; done
if cmp "$OUT/small-1/determinism-1.jsonl" "$OUT/small-1/determinism-2.jsonl"; then
  log "determinism: two runs on small-1 are byte-identical"
else
  log "determinism: FAILED, two runs on small-1 differ"; det_ok=0
fi

python3 "$REPO/scripts/bench_table.py" "$OUT" --eval "$EVAL" --dev "$DEV"
[ "$det_ok" = 1 ]
