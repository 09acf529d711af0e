#!/usr/bin/env bash
# Runs the official protocol test suites of the socketio/socket.io repository against the
# conformance server, RUNS times each (default 5):
#
#   bash scripts/conformance.sh /path/to/socket.io-checkout [RUNS]
#
# The suites live in that repository (docs/engine.io-protocol/v4-test-suite,
# docs/engine.io-protocol/v3-test-suite, docs/socket.io-protocol/v5-test-suite); they are not
# part of this project. Each needs `npm ci` in its folder first. They expect the server on
# localhost:3000, so port 3000 must be free.
set -euo pipefail
checkout="${1:?usage: conformance.sh SOCKET_IO_CHECKOUT [RUNS]}"
runs="${2:-5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release -p conformance-server >/dev/null
server="$root/target/release/conformance-server"
status=0
for pair in "engineio engine.io-protocol/v4-test-suite" "engineio-v3 engine.io-protocol/v3-test-suite" "socketio socket.io-protocol/v5-test-suite"; do
    set -- $pair
    mode=$1
    suite="$checkout/docs/$2"
    [ -d "$suite/node_modules" ] || (cd "$suite" && npm ci --no-audit --no-fund >/dev/null)
    "$server" "$mode" 3000 >/dev/null 2>&1 &
    pid=$!
    sleep 0.5
    for i in $(seq 1 "$runs"); do
        out="$(cd "$suite" && timeout 120 npx mocha test-suite.js 2>&1 || true)"
        summary="$(grep -E "passing|failing|pending" <<<"$out" | tr -s ' ' | tr '\n' ' ')"
        echo "$mode run $i: $summary"
        grep -q failing <<<"$out" && { status=1; grep -A 20 failing <<<"$out"; }
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
done
exit $status
