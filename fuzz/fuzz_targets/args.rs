//! `args`: see `tower_socketio::__fuzz::args`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tower_socketio::__fuzz::args(data));
