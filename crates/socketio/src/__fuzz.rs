//! Fuzzing entry points (feature `__fuzz`, not a stable API).
//!
//! Each function here is the body of one `cargo fuzz` target of `fuzz/` (for
//! `handshake_query`, its Socket.IO half; the engine's half is
//! `tower_socketio_engine::__fuzz::handshake_query`), and is also run over the committed
//! corpora by `tests/fuzz_corpus.rs`, on stable. Every function takes arbitrary bytes and must
//! not panic on them.

// A fuzz entry point reports a broken invariant by panicking.
#![allow(clippy::panic, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use tower_socketio_protocol::socketio::{Decoder, PacketKind};

use crate::args::{Args, write_args, write_args_values};
use crate::socket::Handshake;

/// The byte separating the JSON text from the attachments in an [`args`] input. UTF-8 text
/// never contains it.
pub const SEPARATOR: u8 = 0xff;

/// The most attachments an [`args`] input gives its arguments.
pub const MAX_ATTACHMENTS: usize = 8;

/// The deepest msgpack value an [`args`] input holds: the nesting limit of the protocol's
/// msgpack decoder (`tower_socketio_protocol::socketio::msgpack::MAX_DEPTH`).
pub const MSGPACK_DEPTH: usize = 128;

/// A small struct to read arguments into.
#[derive(Debug, Deserialize, Serialize)]
struct Small {
    name: String,
    count: Option<u32>,
    #[serde(default)]
    tags: Vec<String>,
    data: Option<Bytes>,
}

/// An enum to read arguments into (externally tagged, as JSON and msgpack arguments are).
#[derive(Debug, Deserialize, Serialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect { w: u32, h: u32 },
    Pair(i8, String),
}

/// Target `args`: the argument deserializer and serializer of [`Args`].
///
/// The first byte chooses how the rest is read; its two low bits:
///
/// * `0` (e.g. `'0'`, or `'4'` with bit 2): JSON event data, `["name", args...]`;
/// * `1` (e.g. `'1'`, `'5'`): JSON ack data, `[args...]`;
/// * `2` (e.g. `'2'`): a msgpack value, the data of an event;
/// * `3` (e.g. `'3'`): a msgpack value, the data of an ack.
///
/// For JSON, the rest is the text then up to [`MAX_ATTACHMENTS`] binary attachments, separated
/// by [`SEPARATOR`]. With bit 2 of the first byte set (`'4'`, `'5'`), the text is a whole
/// Socket.IO packet (`2["ev",1]`, `51-[...]`, `3/nsp,4[...]`) that goes through the protocol's
/// [`Decoder`] first, with the attachments as its binary messages, exactly as the server reads
/// a client's packets; otherwise the text and attachments go to [`Args`] as they are. Text that
/// is not UTF-8 is skipped.
///
/// The arguments are then read as many types, one by one, and their text and written back with
/// both writers: nothing may panic, and what is written must read back as the same number of
/// arguments and be written again identically.
pub fn args(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let args = match mode & 0b11 {
        0 | 1 => {
            let mut parts = rest.split(|&b| b == SEPARATOR);
            let Some(Ok(text)) = parts.next().map(std::str::from_utf8) else {
                return;
            };
            let attachments: Vec<Bytes> = parts
                .take(MAX_ATTACHMENTS)
                .map(Bytes::copy_from_slice)
                .collect();
            let event = mode & 0b11 == 0;
            if mode & 0b100 != 0 {
                decoded_json(text, attachments)
            } else if event {
                Args::from_event_json(ByteString::from(text), attachments).map(|(_, args)| args)
            } else {
                Args::from_ack_json(ByteString::from(text), attachments)
            }
        }
        kind => {
            // Nested no deeper than the protocol's msgpack decoder lets a client send. (Deeper
            // values, which only other servers or handlers can make, are written as JSON that
            // `Args` cannot read back when they hold binary data nested more than 256 levels
            // deep: see `fuzz/regressions/args/`.)
            let Ok(value) = rmpv::decode::read_value_with_max_depth(&mut &rest[..], MSGPACK_DEPTH)
            else {
                return;
            };
            if kind == 2 {
                Args::from_msgpack_event(value).map(|(_, args)| args)
            } else {
                msgpack_ack(value)
            }
        }
    };
    if let Ok(args) = args {
        exercise(&args);
    }
}

/// The arguments of a Socket.IO packet decoded by the protocol's [`Decoder`] (at Node's limit
/// of attachments), as the server builds them.
fn decoded_json(text: &str, attachments: Vec<Bytes>) -> Result<Args, crate::ArgsError> {
    let invalid = || crate::ArgsError::InvalidData("not a complete packet".to_owned());
    let mut decoder = Decoder::default();
    let mut packet = decoder.decode_text(&ByteString::from(text));
    for attachment in attachments {
        if !matches!(packet, Ok(None)) {
            break;
        }
        packet = decoder.decode_binary(attachment);
    }
    let packet = packet.ok().flatten().ok_or_else(invalid)?;
    let data = packet.data.ok_or_else(invalid)?;
    match packet.kind {
        PacketKind::Event | PacketKind::BinaryEvent => {
            Args::from_event_json(data, packet.attachments).map(|(_, args)| args)
        }
        PacketKind::Ack | PacketKind::BinaryAck => Args::from_ack_json(data, packet.attachments),
        _ => Err(invalid()),
    }
}

/// The arguments of a msgpack ack.
#[cfg(feature = "msgpack")]
fn msgpack_ack(value: rmpv::Value) -> Result<Args, crate::ArgsError> {
    Args::from_msgpack_ack(value)
}

/// The arguments of a msgpack ack (without the `msgpack` feature, from values as a remote
/// server sends them).
#[cfg(not(feature = "msgpack"))]
fn msgpack_ack(value: rmpv::Value) -> Result<Args, crate::ArgsError> {
    match value {
        rmpv::Value::Array(values) => Ok(Args::from_msgpack_values(values)),
        _ => Err(crate::ArgsError::InvalidData("not an array".to_owned())),
    }
}

/// Reads `args` in every way a handler can, and writes them back.
fn exercise(args: &Args) {
    let _ = args.get::<serde_json::Value>();
    let _ = args.get::<rmpv::Value>();
    let _ = args.get::<(String, i64)>();
    let _ = args.get::<Vec<Bytes>>();
    let _ = args.get::<Option<i32>>();
    let _ = args.get::<Small>();
    let _ = args.get::<(Small, Shape, Option<Bytes>)>();
    let _ = args.get::<Shape>();
    let _ = args.get::<Bytes>();
    let _ = args.get::<Vec<u8>>();
    let _ = args.get::<HashMap<String, serde_json::Value>>();
    let _ = args.get::<HashMap<u16, Bytes>>();
    let _ = args.get::<(f64, bool, char)>();
    let _ = args.get::<[Option<String>; 3]>();
    let _ = args.get::<()>();
    let _ = args.get::<serde::de::IgnoredAny>();
    for index in 0..=args.len().min(8) {
        let _ = args.arg::<serde_json::Value>(index);
        let _ = args.arg::<rmpv::Value>(index);
        let _ = args.arg::<Bytes>(index);
        let _ = args.arg::<Option<i32>>(index);
        let _ = args.arg::<Small>(index);
        let _ = args.arg::<Shape>(index);
        let _ = args.arg::<String>(index);
        if let Some(raw) = args.raw_json(index) {
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(raw).is_ok(),
                "raw_json({index}) is JSON: {raw:?}"
            );
        }
    }
    let _ = format!("{args:?}");
    let _ = args.is_empty();

    // JSON, as an ack (no leading comma) and as an event (after the name).
    let mut out = Vec::new();
    let mut attachments = Vec::new();
    if let Ok(count) = write_args(args, &mut out, &mut attachments, false) {
        assert_eq!(count, args.len(), "one JSON value per argument");
        let text = format!("[{}]", String::from_utf8(out).expect("JSON is UTF-8"));
        let again = Args::from_ack_json(ByteString::from(text.as_str()), attachments.clone())
            .expect("written arguments read back");
        assert_eq!(again.len(), args.len(), "{text}");
        let mut out_again = Vec::new();
        let mut attachments_again = Vec::new();
        let count = write_args(&again, &mut out_again, &mut attachments_again, false)
            .expect("written arguments are written again");
        assert_eq!(count, args.len());
        assert_eq!(format!("[{}]", String::from_utf8_lossy(&out_again)), text);
        assert_eq!(attachments_again, attachments);
    }
    let mut out = b"[\"ev\"".to_vec();
    let mut attachments = vec![Bytes::from_static(b"earlier")];
    if let Ok(count) = write_args(args, &mut out, &mut attachments, true) {
        assert_eq!(count, args.len());
        out.push(b']');
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        let (_, again) = Args::from_event_json(ByteString::from(text.as_str()), attachments)
            .expect("written event arguments read back");
        assert_eq!(again.len(), args.len(), "{text}");
    } else {
        assert_eq!(
            (out.as_slice(), attachments.len()),
            (&b"[\"ev\""[..], 1),
            "a failed write leaves its buffers as they were"
        );
    }

    // msgpack values (the msgpack parser, and messages to other servers).
    if let Ok(values) = write_args_values(args) {
        assert_eq!(values.len(), args.len(), "one msgpack value per argument");
        let again = Args::from_msgpack_values(values.clone());
        let values_again = write_args_values(&again).expect("written values are written again");
        let mut first = Vec::new();
        let mut second = Vec::new();
        for value in &values {
            let _ = rmpv::encode::write_value(&mut first, value);
        }
        for value in &values_again {
            let _ = rmpv::encode::write_value(&mut second, value);
        }
        // Compared as bytes: NaN is not equal to itself.
        assert_eq!(first, second, "msgpack values written again");
    }
}

/// Target `handshake_query`, Socket.IO side: the input is read as a JSON handshake (what
/// another server sends, [`Handshake`]'s `Deserialize`), and, as text (invalid UTF-8
/// replaced), as the query string of the handshake request a [`Handshake`] is built from.
/// Each handshake is serialized, read back and serialized again: nothing may panic and the two
/// serializations must be the same JSON.
pub fn handshake_query(data: &[u8]) {
    if let Ok(handshake) = serde_json::from_slice::<Handshake>(data) {
        check_handshake(&handshake);
    }
    let text = String::from_utf8_lossy(data);
    let request = http::Request::builder()
        .uri(format!("/socket.io/?{text}"))
        .header(http::header::ORIGIN, "https://example.com")
        .body(());
    if let Ok(request) = request {
        let (parts, ()) = request.into_parts();
        // The server always has an object here (`{}` when the client sent no auth).
        let auth = match serde_json::from_slice(data) {
            Ok(auth @ serde_json::Value::Object(_)) => auth,
            _ => serde_json::Value::Object(serde_json::Map::new()),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let handshake = Handshake::new(&parts, auth, now);
        check_handshake(&handshake);
    }
}

/// Checks that `handshake` serializes, reads back, and serializes again to the same JSON.
fn check_handshake(handshake: &Handshake) {
    let _ = format!("{handshake:?}");
    let json = serde_json::to_value(handshake).expect("a handshake serializes");
    let again: Handshake = serde_json::from_value(json.clone()).expect("and reads back");
    let json_again = serde_json::to_value(&again).expect("and serializes again");
    assert_eq!(json, json_again, "handshake round trip");
}
