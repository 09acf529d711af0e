#!/usr/bin/env bash
# Cross-node broadcasts in a two-node cluster over Redis, ours against an all-Node cluster,
# on one private redis-server, in one run:
#
#   ours: two examples/bench-server processes with REDIS_URL (tower-socketio-redis, classic)
#   node: two benches/node/server.mjs processes with REDIS_URL (@socket.io/redis-adapter 8.3)
#
# One socket on node A emits `bcast`; node A broadcasts to the whole namespace, so the
# RECEIVERS sockets on node B get every message through Redis (plus the sender's own copy on
# A: one delivery in RECEIVERS+1). Both nodes share SERVER_CPU; redis-server and the load
# generator share LOADGEN_CPU.
#
#   scripts/bench-cluster.sh                   # defaults below
#   REPEAT=1 DURATION=5 scripts/bench-cluster.sh
#
# Environment (defaults):
#   RECEIVERS=1000     sockets on node B
#   DURATION=10        seconds per measurement
#   REPEAT=3           rounds; servers alternate within a round; the table shows medians
#   RATE=50            broadcasts per second of the latency measurement (open loop)
#   WINDOW=8           broadcasts in flight of the throughput measurement (closed loop)
#   SERVERS="ours node"
#   SERVER_CPU=0 LOADGEN_CPU=1
#   OUT=target/bench
#
# Prints one JSON line per measurement (kept in $OUT/cluster-<time>.jsonl) and a Markdown
# table of medians for docs/performance.md.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RECEIVERS=${RECEIVERS:-1000}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
RATE=${RATE:-50}
WINDOW=${WINDOW:-8}
SERVERS=${SERVERS:-"ours node"}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
OUT=${OUT:-target/bench}
# Below the ephemeral range, so no client socket of an earlier run holds them.
PORT=${PORT:-21500}
REDIS_PORT=${REDIS_PORT:-21499}

log() { echo "bench-cluster: $*" >&2; }

command -v redis-server >/dev/null || { log "redis-server is not installed"; exit 1; }
log "building release binaries (bench-server, loadgen)"
cargo build --release --quiet -p bench-server -p loadgen
BIN=$ROOT/target/release
LOADGEN=$BIN/loadgen
if [[ " $SERVERS " == *" node "* && ! -d benches/node/node_modules/@socket.io/redis-adapter ]]; then
  log "installing the Node server's dependencies (npm ci)"
  (cd benches/node && npm ci --no-audit --no-fund --silent)
fi

mkdir -p "$OUT"
RESULTS=$OUT/cluster-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RESULTS"
REDIS_DIR=$(mktemp -d)
PIDS=()
REDIS_PID=""

cleanup() {
  for pid in "${PIDS[@]}" $REDIS_PID; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  rm -rf "$REDIS_DIR"
}
trap cleanup EXIT

taskset -c "$LOADGEN_CPU" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
  --appendonly no --dir "$REDIS_DIR" --loglevel warning &
REDIS_PID=$!
REDIS_URL=redis://127.0.0.1:$REDIS_PORT
for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

start_node() { # server port
  case $1 in
    ours) REDIS_URL=$REDIS_URL taskset -c "$SERVER_CPU" "$BIN/bench-server" "$2" 2>>"$OUT/servers.log" & ;;
    node) REDIS_URL=$REDIS_URL taskset -c "$SERVER_CPU" node benches/node/server.mjs "$2" 2>>"$OUT/servers.log" & ;;
    *) log "unknown server $1"; return 1 ;;
  esac
  PIDS+=($!)
  "$LOADGEN" wait-port --url "http://127.0.0.1:$2" --timeout 20
}

stop_nodes() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

run_one() { # server mode [loadgen args...]
  local server=$1 mode=$2
  shift 2
  local a=$((PORT + 1)) b=$((PORT + 2))
  PORT=$((PORT + 2))
  start_node "$server" "$a" && start_node "$server" "$b" || { stop_nodes; return 0; }
  sleep 1 # both nodes subscribed
  local line
  if line=$(taskset -c "$LOADGEN_CPU" timeout $((DURATION * 4 + 120)) "$LOADGEN" bcast \
      --url "http://127.0.0.1:$a" --receivers-url "http://127.0.0.1:$b" \
      --clients $((RECEIVERS + 1)) --duration "$DURATION" \
      --server-pid "${PIDS[0]},${PIDS[1]}" --label "$server $mode" "$@"); then
    echo "$line" >>"$RESULTS"
    log "$line"
  else
    log "$server $mode failed"
  fi
  stop_nodes
  sleep 0.5
}

log "servers: $SERVERS; $REPEAT round(s) of $DURATION s; $RECEIVERS receivers on node B"
for r in $(seq 1 "$REPEAT"); do
  for server in $SERVERS; do
    run_one "$server" latency --rate "$RATE"
    run_one "$server" throughput --window "$WINDOW"
  done
done

# Medians per server and mode.
python3 - "$RESULTS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["server"], []).append(r)
def med(rs, key):
    vals = [r[key] for r in rs if key in r]
    return statistics.median(vals) if vals else float("nan")
print("| cluster, measurement | deliveries/s | per server CPU-s | server CPU util | delivery p50 | delivery p99 | lost |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name in sorted(by):
    rs = by[name]
    print(f"| {name} ({len(rs)} runs) | {med(rs,'deliveries_per_s'):,.0f} | {med(rs,'deliveries_per_server_cpu_s'):,.0f} | "
          f"{med(rs,'server_cpu_util'):.2f} | {med(rs,'delivery_p50_us')/1000:.2f} ms | {med(rs,'delivery_p99_us')/1000:.2f} ms | {med(rs,'lost'):.0f} |")
PY
log "raw results in $RESULTS"
