#!/usr/bin/env bash
# The one command that runs the whole test suite, on a fresh machine or an old one:
#
#   bash scripts/test.sh [EXTRA CARGO TEST ARGS...]
#
# Installs what the interop tests need when it is missing or stale (quick no-ops otherwise):
# - the npm clients of tests/node (`npm ci` when node_modules is missing or older than
#   package-lock.json; never downloads browsers),
# - redis-server (apt, only when not on the PATH), PostgreSQL (apt `postgresql`, only when no
#   initdb is found; the tests start their own servers and never use the machine's),
# - Debian's chromium for the browser tests (apt, only when /usr/bin/chromium is absent),
# - the Python clients of tests/python/requirements.txt (pip, only when not importable),
# then runs `cargo test --workspace --all-features "$@"`.
#
# TEST_SETUP_ONLY=1 does the set-up and stops before cargo.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'test.sh: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

# Run as root, or through sudo when there is one (apt needs root).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root to run: $*"
    fi
}

# --- system packages (apt), only what is missing ---------------------------------------------
apt_packages=()
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
# PostgreSQL's server programs (initdb, postgres): Debian keeps them in /usr/lib/postgresql/*/bin.
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    apt_packages+=(postgresql)
fi
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs npm)
command -v python3 >/dev/null 2>&1 || apt_packages+=(python3 python3-pip)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing ${apt_packages[*]} and no apt-get to install them"
    say "installing ${apt_packages[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# --- Chromium for the browser tests (Debian's package; playwright never downloads one) ------
if [ ! -x /usr/bin/chromium ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing /usr/bin/chromium and no apt-get to install it"
    say "installing chromium (apt)"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y chromium
fi

# --- Node.js and the npm clients ------------------------------------------------------------
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old: the interop tests need 20 or newer"

node_dir="tests/node"
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] ||
    [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    say "installing the npm clients in $node_dir (npm ci)"
    (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
else
    say "npm clients up to date"
fi

# --- Python clients ---------------------------------------------------------------------------
if ! python3 -c 'import socketio, websocket' >/dev/null 2>&1; then
    say "installing the Python clients (pip install -r tests/python/requirements.txt)"
    # PIP_BREAK_SYSTEM_PACKAGES: a distribution's Python refuses `pip install` otherwise (PEP 668).
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        python3 -m pip install -q -r tests/python/requirements.txt
    python3 -c 'import socketio, websocket' || die "the Python clients are still not importable"
else
    say "Python clients present"
fi

if [ "${TEST_SETUP_ONLY:-}" = 1 ]; then
    say "set-up done (TEST_SETUP_ONLY=1: not running cargo test)"
    exit 0
fi

# --- the tests --------------------------------------------------------------------------------
say "cargo test --workspace --all-features $*"
cargo test --workspace --all-features "$@"
