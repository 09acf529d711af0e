//! `engine_packet_v3`: see `tower_socketio_protocol::__fuzz::engine_packet_v3`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_socketio_protocol::__fuzz::engine_packet_v3(data));
