#!/usr/bin/env bash
# Runs the interop client scripts of tests/node against the REAL Node reference servers
# (npm engine.io 6.6, tests/node/reference-eio-server.mjs), to show the scripts themselves are
# right independently of our Rust server. Run after changing a script or bumping a client.
#
#   bash scripts/validate-node-clients.sh [IDLE_SECONDS]     (default 60)
#
# Everything binds and connects to 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dir="$root/tests/node"
idle_seconds="${1:-60}"

if [ ! -d "$node_dir/node_modules" ]; then
    echo "validate-node-clients: installing the npm packages (npm ci)"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

workdir="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$workdir"
}
trap cleanup EXIT

# start_server NAME [--v3]: starts a reference server on a free port, sets $port.
start_server() {
    local name="$1"
    shift
    node "$node_dir/reference-eio-server.mjs" 0 --lifetime $((idle_seconds + 300)) "$@" \
        >"$workdir/$name.out" 2>"$workdir/$name.err" &
    pids+=("$!")
    port=""
    for _ in $(seq 1 100); do
        if [ -s "$workdir/$name.out" ]; then
            port="$(sed -n 's/.*"listening":\([0-9]*\).*/\1/p' "$workdir/$name.out")"
            [ -n "$port" ] && return 0
        fi
        sleep 0.1
    done
    echo "validate-node-clients: reference server $name did not start" >&2
    cat "$workdir/$name.err" >&2
    exit 1
}

start_server v4
v4_url="http://127.0.0.1:$port"
start_server v3 --v3
v3_url="http://127.0.0.1:$port"

failures=0
check() {
    local expect="$1"
    shift
    echo "\$ node $*"
    local rc=0
    (cd "$node_dir" && node "$@") || rc=$?
    if { [ "$expect" = pass ] && [ "$rc" -ne 0 ]; } || { [ "$expect" = fail ] && [ "$rc" -eq 0 ]; }; then
        echo "validate-node-clients: UNEXPECTED exit code $rc (expected to $expect)" >&2
        failures=$((failures + 1))
    fi
}

for transports in polling websocket polling,websocket; do
    check pass eio-echo.mjs "$v4_url" --transports "$transports"
    check pass eio-echo.mjs "$v3_url" --transports "$transports" --v3
done
check pass eio-echo.mjs "$v4_url" --transports polling,websocket --upgrade false
# A v3 client must be refused by a server without allowEIO3: proves --v3 really speaks v3.
check fail eio-echo.mjs "$v4_url" --transports polling --v3 --timeout 5

# The idle sessions, v4 and v3 at the same time.
(cd "$node_dir" && node eio-idle.mjs "$v4_url" --seconds "$idle_seconds" --sessions polling,websocket,upgrade) \
    >"$workdir/idle-v4.out" 2>&1 &
idle_v4=$!
(cd "$node_dir" && node eio-idle.mjs "$v3_url" --seconds "$idle_seconds" --sessions polling,websocket,upgrade --v3) \
    >"$workdir/idle-v3.out" 2>&1 &
idle_v3=$!
echo "\$ node eio-idle.mjs (v4 and v3, 3 sessions each, $idle_seconds s)"
rc=0
wait "$idle_v4" || rc=$?
cat "$workdir/idle-v4.out"
[ "$rc" -eq 0 ] || failures=$((failures + 1))
rc=0
wait "$idle_v3" || rc=$?
cat "$workdir/idle-v3.out"
[ "$rc" -eq 0 ] || failures=$((failures + 1))

if [ "$failures" -ne 0 ]; then
    echo "validate-node-clients: $failures check(s) failed" >&2
    exit 1
fi
echo "validate-node-clients: all checks passed"
