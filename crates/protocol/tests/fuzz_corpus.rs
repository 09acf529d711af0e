//! Every file of the fuzz corpora and regression inputs (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the body of its fuzz target, on stable: what the
//! fuzzer found once stays fixed. Run with `cargo test -p tower-socketio-protocol --features
//! __fuzz,msgpack --test fuzz_corpus` (CI's `--all-features` includes it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/run_corpus.rs"]
mod run_corpus;

use run_corpus::run;
use tower_socketio_protocol::__fuzz;

#[test]
fn engine_packet_v4() {
    run("engine_packet_v4", __fuzz::engine_packet_v4);
}

#[test]
fn engine_packet_v3() {
    run("engine_packet_v3", __fuzz::engine_packet_v3);
}

#[test]
fn engine_payload_v4() {
    run("engine_payload_v4", __fuzz::engine_payload_v4);
}

#[test]
fn engine_payload_v3() {
    run("engine_payload_v3", __fuzz::engine_payload_v3);
}

#[test]
fn socketio_json() {
    run("socketio_json", __fuzz::socketio_json);
}

#[cfg(feature = "msgpack")]
#[test]
fn socketio_msgpack() {
    run("socketio_msgpack", __fuzz::socketio_msgpack);
}
