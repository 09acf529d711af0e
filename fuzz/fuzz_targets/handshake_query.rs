//! `handshake_query`: the engine's query parser and the Socket.IO handshake, see
//! `tower_socketio_engine::__fuzz::handshake_query` and `tower_socketio::__fuzz::handshake_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tower_socketio_engine::__fuzz::handshake_query(data);
    tower_socketio::__fuzz::handshake_query(data);
});
