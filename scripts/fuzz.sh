#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (every decoder) and prints a summary per target.
#
#   bash scripts/fuzz.sh [TARGET...]
#
# With no TARGET, runs every target of fuzz/Cargo.toml, one after the other:
#   engine_packet_v4 engine_packet_v3 engine_payload_v4 engine_payload_v3
#   socketio_json socketio_msgpack args handshake_query
#
# Installs cargo-fuzz when it is missing (`cargo install cargo-fuzz --locked`), builds with
# `cargo +nightly fuzz build` (the nightly toolchain must be installed; fuzz/ has its own
# target dir, fuzz/target), then runs each target for SECONDS_PER_TARGET seconds (default 600)
# with libFuzzer's -max_total_time, under `nice -n 19`, one job, on its corpus fuzz/corpus/<T>/
# (new inputs are added there). Minimize it afterwards before committing it, keeping the
# hand-written seeds (the files with readable names):
#   cargo +nightly fuzz cmin <T> -- -set_cover_merge=1 -use_counters=0
#   git checkout HEAD -- fuzz/corpus/<T>      # brings back deleted committed files
# A crash stops that target: libFuzzer writes the input to fuzz/artifacts/<T>/; minimize it with
# `cargo +nightly fuzz tmin <T> <file>`, add it to fuzz/regressions/<T>/ and fix the bug (the
# stable test crates/*/tests/fuzz_corpus.rs runs every corpus and regression file).
#
# Then prints one table row per target: executions, exec/s, coverage (cov: edges) and features
# (ft), corpus size (inputs in fuzz/corpus/<T>/) and crashes (new files in fuzz/artifacts/<T>/).
# All the output of the build and of libFuzzer is appended to a log file under target/fuzz/
# (override with FUZZ_LOG=path), whose path is printed first and last.
#
# Environment:
#   SECONDS_PER_TARGET  seconds per target (default 600)
#   FUZZ_LOG            log file (default target/fuzz/fuzz-<date>.log)
#   FUZZ_ARGS           extra libFuzzer arguments (e.g. "-max_len=8192")
#   ASAN_OPTIONS        default malloc_context_size=4: AddressSanitizer keeps the stack of
#                       every allocation forever, and the recursive decoders (msgpack, JSON)
#                       make endless distinct deep stacks, which grew socketio_msgpack past
#                       libFuzzer's 2 GB RSS limit in 10 minutes with 31 MB of live heap; 4
#                       frames keep reports useful and memory flat
#
# Example: SECONDS_PER_TARGET=60 bash scripts/fuzz.sh socketio_json args
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf 'fuzz.sh: %s\n' "$*" >&2; }
die() {
    say "error: $*"
    exit 1
}

seconds="${SECONDS_PER_TARGET:-600}"
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS_PER_TARGET must be a number of seconds"
mkdir -p target/fuzz
log="${FUZZ_LOG:-$root/target/fuzz/fuzz-$(date -u +%Y%m%dT%H%M%SZ).log}"
mkdir -p "$(dirname "$log")"
touch "$log"
say "log: $log"

all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^tower-socketio-fuzz$')
if [ "$#" -gt 0 ]; then
    targets=("$@")
    for t in "${targets[@]}"; do
        grep -qx -- "$t" <<<"$all_targets" || die "unknown target $t (known: $(echo $all_targets))"
    done
else
    mapfile -t targets <<<"$all_targets"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    nice -n 19 cargo install cargo-fuzz --locked >>"$log" 2>&1 || die "cargo install cargo-fuzz failed, see $log"
fi
rustup run nightly rustc --version >/dev/null 2>&1 || die "the nightly toolchain is missing (rustup toolchain install nightly)"

say "building ${targets[*]}"
for t in "${targets[@]}"; do
    nice -n 19 cargo +nightly fuzz build "$t" >>"$log" 2>&1 || die "build of $t failed, see $log"
done

# The last libFuzzer status line of a run holds its figures.
field() { sed -n "s/.*[[:space:]]$1: \([0-9][0-9]*[kMG]*\).*/\1/p" <<<"$2" | tail -n 1; }
rows=()
export ASAN_OPTIONS="${ASAN_OPTIONS:-malloc_context_size=4}"
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    crashes_before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    say "running $t for ${seconds}s"
    run_log=$(mktemp)
    {
        printf '\n===== %s %s for %ss\n' "$(date -u +%FT%TZ)" "$t" "$seconds"
    } >>"$log"
    status=0
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of arguments
    nice -n 19 cargo +nightly fuzz run "$t" -j1 -- \
        -max_total_time="$seconds" -print_final_stats=1 ${FUZZ_ARGS:-} >"$run_log" 2>&1 || status=$?
    cat "$run_log" >>"$log"
    output=$(cat "$run_log")
    rm -f "$run_log"
    last=$(grep -E '^#[0-9]+' <<<"$output" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' <<<"$output" | tail -n 1)
    execs=${execs:-$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")}
    rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\)/\1/p' <<<"$output" | tail -n 1)
    rate=${rate:-$(field 'exec/s' "$last")}
    cov=$(field cov "$last")
    ft=$(field ft "$last")
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    crashes=$(($(find "fuzz/artifacts/$t" -type f | wc -l) - crashes_before))
    [ "$status" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes="exit $status"
    rows+=("$(printf '%-18s %12s %8s %6s %7s %7s %8s' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "$corpus" "$crashes")")
done

summary=$(
    printf '%-18s %12s %8s %6s %7s %7s %8s\n' target executions exec/s cov ft corpus crashes
    printf '%s\n' "${rows[@]}"
)
printf '\n===== summary (%ss per target)\n%s\n' "$seconds" "$summary" >>"$log"
printf '%s\n' "$summary"
say "log: $log"
