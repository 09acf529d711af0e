#!/usr/bin/env bash
# Side-by-side benchmark: the bare WebSocket ceiling (benches/bare-ws), tower-socketio
# (examples/bench-server) and the Node socket.io 4.8 server (benches/node), optionally the
# socketioxide crate, each pinned to one core with the load generator on the other.
#
#   scripts/bench.sh                      # defaults below
#   REPEAT=1 DURATION=5 BCAST_CLIENTS=1000 scripts/bench.sh
#
# Environment (defaults):
#   CLIENTS=1000            sockets for connect, echo, room_bcast, polling echo
#   BCAST_CLIENTS="1000 10000"  socket counts for the bcast fan-out
#   DURATION=10             seconds per measured scenario
#   REPEAT=3                runs per scenario and server; the table shows medians
#   SCENARIOS="connect echo bcast room_bcast echo_polling"
#   SERVERS="bare ours node"    add "socketioxide" (or set BENCH_SOCKETIOXIDE=1) to build the
#                           socketioxide crate from crates.io in a scratch project outside the repo
#   ROOMS=10                rooms for room_bcast
#   RUNTIME=multi-thread    tokio runtime of bare and ours: multi-thread (#[tokio::main]'s
#                           default) or current-thread (one FIFO run queue: even service
#                           per socket, less throughput; see docs/performance.md)
#   SERVER_CPU=0 LOADGEN_CPU=1  cores for taskset
#   OUT=target/bench        where the raw JSON lines and the table go
#
# Prints a Markdown table (medians and ratios ours/other) for docs/performance.md, and keeps
# the raw results in $OUT/results-<time>.jsonl.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CLIENTS=${CLIENTS:-1000}
BCAST_CLIENTS=${BCAST_CLIENTS:-"1000 10000"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3}
SCENARIOS=${SCENARIOS:-"connect echo bcast room_bcast echo_polling"}
SERVERS=${SERVERS:-"bare ours node"}
ROOMS=${ROOMS:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
OUT=${OUT:-target/bench}
RUNTIME=${RUNTIME:-multi-thread}
case $RUNTIME in
  multi-thread) RT_ARGS=() ;;
  current-thread) RT_ARGS=(--current-thread) ;;
  *) echo "bench: RUNTIME must be multi-thread or current-thread" >&2; exit 2 ;;
esac
# Below the ephemeral range (32768-60999), so no client socket of an earlier run holds it.
PORT=${PORT:-21100}
if [[ ${BENCH_SOCKETIOXIDE:-0} == 1 && " $SERVERS " != *" socketioxide "* ]]; then
  SERVERS="$SERVERS socketioxide"
fi

log() { echo "bench: $*" >&2; }

log "building release binaries (bench-server, bare-ws, loadgen)"
cargo build --release --quiet -p bench-server -p bare-ws -p loadgen
BIN=$ROOT/target/release
LOADGEN=$BIN/loadgen

if [[ " $SERVERS " == *" node "* && ! -d benches/node/node_modules/socket.io ]]; then
  log "installing the Node server's dependencies (npm ci)"
  (cd benches/node && npm ci --no-audit --no-fund --silent)
fi

# socketioxide (crates.io), for comparison only: built in a scratch project outside this
# repository, never part of the workspace. The handlers below are ours.
build_socketioxide() {
  local dir=${SIOXIDE_DIR:-${TMPDIR:-/tmp}/tower-socketio-bench-socketioxide}
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<'TOML'
[package]
name = "sioxide-bench"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
socketioxide = "0.18"
axum = "0.8"
tokio = { version = "1", features = ["rt-multi-thread", "net", "macros"] }
serde_json = "1"

[workspace]
TOML
  cat >"$dir/src/main.rs" <<'RUST'
// The benchmark handlers on the socketioxide crate, for comparison only.
use socketioxide::{
    SocketIo,
    extract::{AckSender, Data, SocketRef},
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(3000);
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |s: SocketRef| {
        // The load generator sends one argument, so this acks exactly what it received.
        s.on("echo", async |Data(data): Data<serde_json::Value>, ack: AckSender| {
            ack.send(&data).ok();
        });
        s.on("bcast", async |io: SocketIo, Data(data): Data<serde_json::Value>| {
            io.emit("msg", &data).await.ok();
        });
        s.on("join", async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
            s.join(room);
            ack.send(&()).ok();
        });
        s.on(
            "room_bcast",
            async |io: SocketIo, Data((room, data)): Data<(String, serde_json::Value)>| {
                io.to(room).emit("msg", &data).await.ok();
            },
        );
    });
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    let listener = socket.listen(1024)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, axum::Router::new().layer(layer)).await
}
RUST
  (cd "$dir" && cargo build --release --quiet) >&2 || return 1
  echo "$dir/target/release/sioxide-bench"
}

SIOXIDE_BIN=""
if [[ " $SERVERS " == *" socketioxide "* ]]; then
  log "building socketioxide in a scratch project outside the repository"
  SIOXIDE_BIN=$(build_socketioxide) || {
    log "socketioxide could not be built; leaving it out"
    SERVERS=$(echo ${SERVERS//socketioxide/})
  }
fi

mkdir -p "$OUT"
RESULTS=$OUT/results-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RESULTS"

SERVER_PID=""
start_server() { # name port
  local name=$1 port=$2
  case $name in
    bare) taskset -c "$SERVER_CPU" "$BIN/bare-ws" "$port" "${RT_ARGS[@]}" 2>>"$OUT/servers.log" & ;;
    ours) taskset -c "$SERVER_CPU" "$BIN/bench-server" "$port" "${RT_ARGS[@]}" 2>>"$OUT/servers.log" & ;;
    node) taskset -c "$SERVER_CPU" node benches/node/server.mjs "$port" 2>>"$OUT/servers.log" & ;;
    socketioxide) taskset -c "$SERVER_CPU" "$SIOXIDE_BIN" "$port" 2>>"$OUT/servers.log" & ;;
    *) log "unknown server $name"; return 1 ;;
  esac
  SERVER_PID=$!
  if ! "$LOADGEN" wait-port --url "http://127.0.0.1:$port" --timeout 20; then
    log "$name did not start"
    stop_server
    return 1
  fi
}

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

run_one() { # server scenario clients [extra loadgen args...]
  local server=$1 scenario=$2 clients=$3
  shift 3
  PORT=$((PORT + 1))
  start_server "$server" "$PORT" || return 0
  local line
  if line=$(taskset -c "$LOADGEN_CPU" timeout $((DURATION * 4 + 120)) "$LOADGEN" "$scenario" \
      --url "http://127.0.0.1:$PORT" --clients "$clients" --duration "$DURATION" \
      --server-pid "$SERVER_PID" --label "$server" "$@"); then
    echo "$line" >>"$RESULTS"
    log "$line"
  else
    log "$server $scenario failed"
  fi
  stop_server
  sleep 0.5
}

log "servers: $SERVERS; scenarios: $SCENARIOS; $REPEAT repeat(s) of $DURATION s"
START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$REPEAT"); do
  for scenario in $SCENARIOS; do
    for server in $SERVERS; do
      case $scenario in
        connect) run_one "$server" connect "$CLIENTS" ;;
        echo) run_one "$server" echo "$CLIENTS" ;;
        echo_polling)
          # The bare server speaks WebSocket only.
          [[ $server == bare ]] || run_one "$server" echo "$CLIENTS" --transport polling ;;
        bcast) for n in $BCAST_CLIENTS; do run_one "$server" bcast "$n"; done ;;
        room_bcast) run_one "$server" room_bcast "$CLIENTS" --rooms "$ROOMS" ;;
        *) log "unknown scenario $scenario" ;;
      esac
    done
  done
done
ELAPSED=$(($(date +%s) - START))

SERVER_LIST=$(echo $SERVERS | tr ' ' ',')
TABLE=$OUT/table-$(basename "$RESULTS" .jsonl).md
{
  echo "Command: \`REPEAT=$REPEAT DURATION=$DURATION CLIENTS=$CLIENTS BCAST_CLIENTS=\"$BCAST_CLIENTS\" SCENARIOS=\"$SCENARIOS\" SERVERS=\"$SERVERS\" RUNTIME=$RUNTIME scripts/bench.sh\`"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average before the run: $LOAD_BEFORE; server on CPU $SERVER_CPU, load generator on CPU $LOADGEN_CPU; $(date -u +%Y-%m-%dT%H:%MZ); ${ELAPSED} s."
  echo
  "$LOADGEN" report "$RESULTS" --servers "$SERVER_LIST" --ours ours
  echo
  echo "Raw results: \`$RESULTS\`."
} | tee "$TABLE"
log "table written to $TABLE"
