//! `engine_packet_v4`: see `tower_socketio_protocol::__fuzz::engine_packet_v4`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_socketio_protocol::__fuzz::engine_packet_v4(data));
