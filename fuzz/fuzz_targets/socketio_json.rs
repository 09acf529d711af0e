//! `socketio_json`: see `tower_socketio_protocol::__fuzz::socketio_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_socketio_protocol::__fuzz::socketio_json(data));
