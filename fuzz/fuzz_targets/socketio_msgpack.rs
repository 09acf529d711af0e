//! `socketio_msgpack`: see `tower_socketio_protocol::__fuzz::socketio_msgpack`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_socketio_protocol::__fuzz::socketio_msgpack(data));
