//! Every file of the `args` and `handshake_query` fuzz corpora and regression inputs
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the body of the fuzz target
//! (for `handshake_query`, its Socket.IO half), on stable. Run with `cargo test -p
//! tower-socketio --features __fuzz,msgpack --test fuzz_corpus` (CI's `--all-features`
//! includes it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/run_corpus.rs"]
mod run_corpus;

use run_corpus::run;
use tower_socketio::__fuzz;

#[test]
fn args() {
    run("args", __fuzz::args);
}

#[test]
fn handshake_query() {
    run("handshake_query", __fuzz::handshake_query);
}
