//! Fuzzing entry points (feature `__fuzz`, not a stable API).
//!
//! Each function here is the body of one `cargo fuzz` target of `fuzz/` (same name), and is also
//! run over the committed corpora by `tests/fuzz_corpus.rs`, on stable. Every function takes
//! arbitrary bytes and must not panic on them: the decoders must only return errors. What was
//! decoded is then encoded again and decoded once more, and must come back unchanged, so a
//! decoder that accepts what its encoder cannot reproduce (or the reverse) fails too.
//!
//! Input layouts:
//!
//! * [`engine_packet_v4`], [`engine_packet_v3`]: one WebSocket message, tried both as a text
//!   message (when it is UTF-8) and as a binary message.
//! * [`engine_payload_v4`], [`engine_payload_v3`]: one long-polling request body (v3: tried as
//!   a text payload when it is UTF-8, and as a binary payload).
//! * [`socketio_json`]: a sequence of Engine.IO `message` data fed to one [`Decoder`], separated
//!   by [`FRAME_SEPARATOR`]; see the function.
//! * [`socketio_msgpack`] (feature `msgpack`): one binary message.

// A fuzz entry point reports a broken invariant by panicking.
#![allow(clippy::panic, clippy::expect_used)]

use bytes::{Bytes, BytesMut};

use crate::Str;
use crate::engine::payload::{self, V3Format};
use crate::engine::{self, Frame, Message, Packet};
use crate::socketio::{self, Decoder};

/// The byte separating the frames of a [`socketio_json`] input. UTF-8 text never contains it.
pub const FRAME_SEPARATOR: u8 = 0xff;

/// The attachment limit of the [`Decoder`] of [`socketio_json`]: small, so that the fuzzer
/// reaches the limit often.
pub const MAX_ATTACHMENTS: usize = 3;

/// The bytes as text, when they are UTF-8 (as every transport requires of text).
fn text(data: &Bytes) -> Option<Str> {
    Str::try_from(data.clone()).ok()
}

/// A payload the encoders wrote, which is always UTF-8.
fn encoded_text(out: BytesMut) -> Str {
    Str::try_from(out.freeze()).expect("an encoded text payload is UTF-8")
}

/// Target `engine_packet_v4`: one Engine.IO v4 WebSocket message.
///
/// As text it goes through [`engine::decode_text`] (a text message, or one record of a
/// polling payload, `b<base64>` included); as binary it is a binary `message` packet as it is,
/// as the v4 WebSocket transport treats it. Every packet must survive being sent again over
/// WebSocket and over polling.
pub fn engine_packet_v4(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(text) = text(&bytes)
        && let Ok(packet) = engine::decode_text(text)
    {
        check_v4(&packet);
    }
    check_v4(&Packet::Message(Message::Binary(bytes)));
}

/// Checks that the v4 transports carry `packet` unchanged.
fn check_v4(packet: &Packet) {
    let frame = Frame::from_packet(packet);
    let ws = match &frame {
        Frame::Text(text) => engine::decode_text(text.clone()),
        Frame::Binary(data) => Ok(Packet::Message(Message::Binary(data.clone()))),
    };
    assert_eq!(ws.as_ref(), Ok(packet), "WebSocket round trip");
    // A text message holding the record separator cannot travel alone in a v4 payload (Node
    // has the same limit); everything else can.
    if let Frame::Text(text) = &frame
        && text.as_bytes().contains(&payload::SEPARATOR)
    {
        return;
    }
    let mut out = BytesMut::new();
    payload::encode_v4([&frame], &mut out);
    assert_eq!(
        payload::decode_v4(encoded_text(out)),
        (vec![packet.clone()], None),
        "v4 payload round trip"
    );
}

/// Target `engine_packet_v3`: one Engine.IO v3 WebSocket message.
///
/// As text it goes through [`engine::decode_text_v3`] (`b4<base64>` included); as binary,
/// through [`engine::decode_binary_v3`] (type byte, then data). Every packet must survive being
/// sent again over WebSocket and in both v3 payload formats.
pub fn engine_packet_v3(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(text) = text(&bytes)
        && let Ok(packet) = engine::decode_text_v3(text)
    {
        check_v3(&packet);
    }
    if let Ok(packet) = engine::decode_binary_v3(bytes) {
        check_v3(&packet);
    }
}

/// Checks that the v3 transports carry `packet` unchanged.
fn check_v3(packet: &Packet) {
    let frame = Frame::from_packet(packet);
    let ws = match &frame {
        Frame::Text(text) => engine::decode_text_v3(text.clone()),
        Frame::Binary(_) => engine::decode_binary_v3(frame.v3_ws_binary().expect("a binary frame")),
    };
    assert_eq!(ws.as_ref(), Ok(packet), "WebSocket round trip");
    check_v3_payload(std::slice::from_ref(packet));
}

/// Checks that both v3 payload formats carry `packets` unchanged.
fn check_v3_payload(packets: &[Packet]) {
    let frames: Vec<Frame> = packets.iter().map(Frame::from_packet).collect();
    for supports_binary in [false, true] {
        let mut out = BytesMut::new();
        let decoded = match payload::encode_v3(&frames, supports_binary, &mut out) {
            V3Format::Text => payload::decode_v3_text(encoded_text(out)),
            V3Format::Binary => payload::decode_v3_binary(out.freeze()),
        };
        assert_eq!(
            decoded,
            (packets.to_vec(), None),
            "v3 payload round trip (supports_binary: {supports_binary})"
        );
    }
}

/// Target `engine_payload_v4`: one v4 long-polling body, through [`payload::decode_v4`]. The
/// packets decoded (before an error, if any) must survive being encoded again.
pub fn engine_payload_v4(data: &[u8]) {
    let Some(body) = text(&Bytes::copy_from_slice(data)) else {
        return;
    };
    let (packets, _error) = payload::decode_v4(body);
    if packets.is_empty() {
        // The empty body is an error, so there is nothing to encode.
        return;
    }
    let frames: Vec<Frame> = packets.iter().map(Frame::from_packet).collect();
    let mut out = BytesMut::new();
    payload::encode_v4(&frames, &mut out);
    assert_eq!(
        payload::decode_v4(encoded_text(out)),
        (packets, None),
        "v4 payload round trip"
    );
}

/// Target `engine_payload_v3`: one v3 long-polling body, through [`payload::decode_v3_text`]
/// (when it is UTF-8) and [`payload::decode_v3_binary`]. The packets decoded (before an error,
/// if any) must survive being encoded again in both formats.
pub fn engine_payload_v3(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    if let Some(body) = text(&bytes) {
        let (packets, _error) = payload::decode_v3_text(body);
        check_v3_payload(&packets);
    }
    let (packets, _error) = payload::decode_v3_binary(bytes);
    check_v3_payload(&packets);
}

/// Target `socketio_json`: the Socket.IO JSON parser and binary reassembly.
///
/// The input is a sequence of frames separated by [`FRAME_SEPARATOR`], all fed in order to one
/// [`Decoder`] accepting [`MAX_ATTACHMENTS`] attachments (decoding goes on after an error, to
/// reach the decoder in every state). A frame starting with `b` is a binary message (the bytes
/// after the `b`); one starting with `t` is a text message (the text after the `t`); any other
/// frame is a text message as it is. A text frame that is not UTF-8 is skipped (the transports
/// reject it). Every packet decoded must be encoded back to the same packet.
pub fn socketio_json(data: &[u8]) {
    let mut decoder = Decoder::new(MAX_ATTACHMENTS);
    for frame in data.split(|&b| b == FRAME_SEPARATOR) {
        let (is_binary, bytes) = match frame.split_first() {
            Some((b'b', binary)) => (true, binary),
            Some((b't', text)) => (false, text),
            _ => (false, frame),
        };
        let bytes = Bytes::copy_from_slice(bytes);
        let result = if is_binary {
            decoder.decode_binary(bytes)
        } else if let Some(text) = text(&bytes) {
            decoder.decode_text(&text)
        } else {
            continue;
        };
        let reconstructing = decoder.is_reconstructing();
        match result {
            Ok(Some(packet)) => {
                assert!(!reconstructing, "a complete packet leaves nothing pending");
                check_socketio(&packet);
            }
            Ok(None) => assert!(reconstructing, "an incomplete packet is pending"),
            Err(_) => assert!(!reconstructing, "an error leaves nothing pending"),
        }
    }
}

/// Checks that `packet` is within the limits and that encoding it gives it back.
fn check_socketio(packet: &socketio::Packet) {
    assert!(packet.attachments.len() <= MAX_ATTACHMENTS);
    assert_eq!(packet.kind.is_binary(), !packet.attachments.is_empty());
    let Frame::Text(frame) = socketio::encode(
        packet.kind,
        &packet.nsp,
        packet.id,
        packet.data.as_deref(),
        packet.attachments.len(),
    ) else {
        panic!("a Socket.IO JSON packet encodes as text");
    };
    // The decoder gets the Engine.IO message data, without the `4` of the message packet.
    let text = frame.slice_ref(frame.get(1..).expect("the frame starts with `4`"));
    let mut decoder = Decoder::new(MAX_ATTACHMENTS);
    let mut decoded = decoder.decode_text(&text);
    for attachment in &packet.attachments {
        assert_eq!(decoded, Ok(None), "{text:?} waits for its attachments");
        decoded = decoder.decode_binary(attachment.clone());
    }
    assert_eq!(decoded, Ok(Some(packet.clone())), "round trip of {text:?}");
}

/// Target `socketio_msgpack`: one binary message through [`socketio::msgpack::decode`]. A
/// decoded packet must encode to bytes that decode again, and re-encode identically.
#[cfg(feature = "msgpack")]
pub fn socketio_msgpack(data: &[u8]) {
    use crate::socketio::msgpack;

    fn encode(packet: &msgpack::MsgpackPacket) -> Bytes {
        match msgpack::encode(packet.kind, &packet.nsp, packet.id, packet.data.as_ref()) {
            Frame::Binary(bytes) => bytes,
            Frame::Text(_) => panic!("a msgpack packet encodes as binary"),
        }
    }

    let Ok(packet) = msgpack::decode(data) else {
        return;
    };
    let first = encode(&packet);
    let again = msgpack::decode(&first).expect("an encoded packet decodes");
    assert_eq!(
        (again.kind, &again.nsp, again.id),
        (packet.kind, &packet.nsp, packet.id)
    );
    // Values are compared through their encoding: NaN is not equal to itself.
    assert_eq!(encode(&again), first, "msgpack re-encoding");
}
