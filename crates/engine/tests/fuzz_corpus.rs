//! Every file of the `handshake_query` fuzz corpus and regression inputs
//! (`fuzz/corpus/handshake_query/`, `fuzz/regressions/handshake_query/`) through the engine's
//! half of the fuzz target's body, on stable. Run with `cargo test -p tower-socketio-engine
//! --features __fuzz --test fuzz_corpus` (CI's `--all-features` includes it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/run_corpus.rs"]
mod run_corpus;

use run_corpus::run;
use tower_socketio_engine::__fuzz;

#[test]
fn handshake_query() {
    run("handshake_query", __fuzz::handshake_query);
}
