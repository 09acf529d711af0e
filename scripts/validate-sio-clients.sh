#!/usr/bin/env bash
# Runs the Socket.IO client scenario scripts against the REAL Node reference app
# (npm socket.io 4.8, tests/node/reference-sio-server.mjs), to show the scripts themselves are
# right independently of our Rust server: tests/node/sio-client.mjs and sio-multi.mjs (socket.io-
# client 4.8, JSON and socket.io-msgpack-parser) and tests/python/sio_client.py (python-socketio),
# over every transport choice, RUNS times each. Run after changing a script or the app's spec,
# or bumping a client.
#
#   bash scripts/validate-sio-clients.sh [RUNS]     (default 3)
#
# Everything binds and connects to 127.0.0.1 only.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dir="$root/tests/node"
python_dir="$root/tests/python"
runs="${1:-3}"

if [ ! -d "$node_dir/node_modules" ]; then
    echo "validate-sio-clients: installing the npm packages (npm ci)"
    (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
python3 -c 'import socketio, websocket' 2>/dev/null || {
    echo "validate-sio-clients: the Python clients are missing: pip install -r tests/python/requirements.txt" >&2
    exit 1
}

workdir="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$workdir"
}
trap cleanup EXIT

# start_server NAME [--msgpack]: starts a reference app on a free port, sets $port.
start_server() {
    local name="$1"
    shift
    node "$node_dir/reference-sio-server.mjs" 0 --lifetime 3600 "$@" \
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
    echo "validate-sio-clients: reference server $name did not start" >&2
    cat "$workdir/$name.err" >&2
    exit 1
}

start_server json
json_url="http://127.0.0.1:$port"
start_server msgpack --msgpack
msgpack_url="http://127.0.0.1:$port"

# A one-line summary of a result line: script, transports, parser, scenarios, time.
summarize() {
    node -e '
        let line = require("fs").readFileSync(0, "utf8").trim().split("\n").pop() || "{}";
        let r; try { r = JSON.parse(line); } catch { console.log("  (no JSON result) " + line); process.exit(0); }
        if (!r.ok) { console.log("  error: " + r.error); process.exit(0); }
        const t = Array.isArray(r.transports) ? r.transports.join(",") : r.transports;
        console.log(`  ok ${r.script} [${t}] ${r.parser ?? r.client} ${r.scenarios.length} scenarios in ${r.elapsedMs} ms`);
    '
}

failures=0
checks=0
# check pass|fail DIR PROGRAM ARGS...: runs one script, compares its exit code with the expectation.
check() {
    local expect="$1" dir="$2"
    shift 2
    checks=$((checks + 1))
    echo "\$ $*"
    local rc=0
    (cd "$dir" && "$@") >"$workdir/last.out" 2>"$workdir/last.err" || rc=$?
    summarize <"$workdir/last.out"
    if { [ "$expect" = pass ] && [ "$rc" -ne 0 ]; } || { [ "$expect" = fail ] && [ "$rc" -eq 0 ]; }; then
        echo "validate-sio-clients: UNEXPECTED exit code $rc (expected to $expect)" >&2
        cat "$workdir/last.out" "$workdir/last.err" >&2
        failures=$((failures + 1))
    fi
}

for run in $(seq 1 "$runs"); do
    echo "=== run $run of $runs"
    for transports in polling websocket polling,websocket; do
        check pass "$node_dir" node sio-client.mjs "$json_url" --scenario all --transports "$transports"
        check pass "$node_dir" node sio-client.mjs "$msgpack_url" --scenario all --transports "$transports" --msgpack
        check pass "$python_dir" python3 sio_client.py "$json_url" --scenario all --transports "$transports"
    done
    for transports in polling websocket polling,websocket mixed; do
        check pass "$node_dir" node sio-multi.mjs "$json_url" --scenario all --transports "$transports"
        check pass "$node_dir" node sio-multi.mjs "$msgpack_url" --scenario all --transports "$transports" --msgpack
    done
done

# The parser really matters: a JSON client cannot talk to a msgpack server, and vice versa.
echo "=== parser mismatches must fail"
check fail "$node_dir" node sio-client.mjs "$msgpack_url" --scenario connect-auth --transports websocket --timeout 5
check fail "$node_dir" node sio-client.mjs "$json_url" --scenario connect-auth --transports polling --msgpack --timeout 5
check fail "$python_dir" python3 sio_client.py "$msgpack_url" --scenario connect-auth --transports polling --timeout 5

if [ "$failures" -ne 0 ]; then
    echo "validate-sio-clients: $failures of $checks check(s) failed" >&2
    exit 1
fi
echo "validate-sio-clients: all $checks checks passed"
