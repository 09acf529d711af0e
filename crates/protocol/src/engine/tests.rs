//! Tests for the Engine.IO codec: spec examples, Node parser test vectors, error cases and
//! property tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::payload::{self, V3Format};
use super::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn text(s: &str) -> Packet {
    Packet::Message(Message::Text(Str::from(s)))
}

fn binary(b: &[u8]) -> Packet {
    Packet::Message(Message::Binary(Bytes::copy_from_slice(b)))
}

fn bin_frame(b: &[u8]) -> Frame {
    Frame::Binary(Bytes::copy_from_slice(b))
}

fn dec(s: &str) -> Result<Packet, DecodeError> {
    decode_text(Str::from(s))
}

fn dec3(s: &str) -> Result<Packet, DecodeError> {
    decode_text_v3(Str::from(s))
}

fn dec_v4(s: &str) -> (Vec<Packet>, Option<DecodeError>) {
    payload::decode_v4(Str::from(s))
}

fn dec_v3(s: &str) -> (Vec<Packet>, Option<DecodeError>) {
    payload::decode_v3_text(Str::from(s))
}

fn dec_v3b(b: &[u8]) -> (Vec<Packet>, Option<DecodeError>) {
    payload::decode_v3_binary(Bytes::copy_from_slice(b))
}

fn enc_v4(frames: &[Frame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    payload::encode_v4(frames, &mut out);
    out.to_vec()
}

fn enc_v3(frames: &[Frame], supports_binary: bool) -> (V3Format, Vec<u8>) {
    let mut out = BytesMut::new();
    let format = payload::encode_v3(frames, supports_binary, &mut out);
    (format, out.to_vec())
}

/// Whether `inner` points into `outer`'s memory (a slice, not a copy).
fn is_within(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    !inner.is_empty() && i >= o && i + inner.len() <= o + outer.len()
}

// ---------------------------------------------------------------------------------------------
// PacketType, Frame

#[test]
fn packet_type_chars_and_values() {
    for v in 0..=6u8 {
        let ty = PacketType::from_u8(v).unwrap();
        assert_eq!(ty as u8, v);
        assert_eq!(ty.as_char(), b'0' + v);
        assert_eq!(PacketType::from_char(b'0' + v), Some(ty));
    }
    assert_eq!(PacketType::from_u8(7), None);
    assert_eq!(PacketType::from_u8(255), None);
    assert_eq!(PacketType::from_char(b'7'), None);
    assert_eq!(PacketType::from_char(b'/'), None);
    assert_eq!(PacketType::from_char(0), None);
    assert_eq!(PacketType::from_char(b'b'), None);
}

#[test]
fn frame_constructors() {
    assert_eq!(Frame::message("hello"), Frame::Text(Str::from("4hello")));
    assert_eq!(
        Frame::control(PacketType::Ping, ""),
        Frame::Text(Str::from("2"))
    );
    assert_eq!(
        Frame::control(PacketType::Pong, "probe"),
        Frame::Text(Str::from("3probe"))
    );
    assert_eq!(
        Frame::control(PacketType::Noop, ""),
        Frame::Text(Str::from("6"))
    );
    assert_eq!(
        Frame::from_packet(&Packet::Close),
        Frame::Text(Str::from("1"))
    );
    assert_eq!(Frame::from_packet(&binary(&[1, 2])), bin_frame(&[1, 2]));
    assert_eq!(Frame::message("hi").len(), 3);
    assert!(!Frame::message("").is_empty());
    assert!(Frame::Binary(Bytes::new()).is_empty());
}

#[test]
fn v3_ws_binary_frame() {
    // v3 spec: `4|0|1|2|3|4|5`.
    let frame = bin_frame(&[0, 1, 2, 3, 4, 5]);
    assert_eq!(frame.v3_ws_binary().unwrap(), &[4u8, 0, 1, 2, 3, 4, 5][..]);
    assert_eq!(bin_frame(&[]).v3_ws_binary().unwrap(), &[4u8][..]);
    assert_eq!(Frame::message("x").v3_ws_binary(), None);
}

// ---------------------------------------------------------------------------------------------
// Single text packets (v4)

#[test]
fn decode_text_all_types() {
    assert_eq!(
        dec("0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}"),
        Ok(Packet::Open(Str::from(
            "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\"}"
        )))
    );
    assert_eq!(dec("0"), Ok(Packet::Open(Str::new())));
    assert_eq!(dec("1"), Ok(Packet::Close));
    assert_eq!(dec("2"), Ok(Packet::Ping(Str::new())));
    assert_eq!(dec("2probe"), Ok(Packet::Ping(Str::from("probe"))));
    assert_eq!(dec("3"), Ok(Packet::Pong(Str::new())));
    assert_eq!(dec("3probe"), Ok(Packet::Pong(Str::from("probe"))));
    assert_eq!(dec("4hello"), Ok(text("hello")));
    assert_eq!(dec("4test"), Ok(text("test")));
    assert_eq!(dec("4"), Ok(text("")));
    assert_eq!(dec("41€"), Ok(text("1€")));
    assert_eq!(dec("4😀\u{1e}x"), Ok(text("😀\u{1e}x")));
    assert_eq!(dec("5"), Ok(Packet::Upgrade));
    assert_eq!(dec("6"), Ok(Packet::Noop));
}

#[test]
fn decode_text_drops_data_of_dataless_types() {
    assert_eq!(dec("1bye"), Ok(Packet::Close));
    assert_eq!(dec("5x"), Ok(Packet::Upgrade));
    assert_eq!(dec("6abc"), Ok(Packet::Noop));
}

#[test]
fn decode_text_base64_binary() {
    // Node test vector: `bAQIDBA==` is <01 02 03 04>.
    assert_eq!(dec("bAQIDBA=="), Ok(binary(&[1, 2, 3, 4])));
    // Unpadded base64 and non-zero trailing bits are accepted.
    assert_eq!(dec("bAQIDBA"), Ok(binary(&[1, 2, 3, 4])));
    assert_eq!(dec("bAQIDBB=="), Ok(binary(&[1, 2, 3, 4])));
    assert_eq!(dec("bAQID"), Ok(binary(&[1, 2, 3])));
    assert_eq!(dec("b"), Ok(binary(&[])));
    assert_eq!(dec("b/w=="), Ok(binary(&[0xff])));
}

#[test]
fn decode_text_errors() {
    assert_eq!(dec(""), Err(DecodeError::Empty));
    assert_eq!(dec("abc"), Err(DecodeError::UnknownType));
    assert_eq!(dec("a123"), Err(DecodeError::UnknownType));
    assert_eq!(dec("7"), Err(DecodeError::UnknownType));
    assert_eq!(dec("9hello"), Err(DecodeError::UnknownType));
    assert_eq!(dec("{"), Err(DecodeError::UnknownType));
    assert_eq!(dec("€"), Err(DecodeError::UnknownType));
    assert_eq!(dec(" 4"), Err(DecodeError::UnknownType));
    assert_eq!(dec("\u{1e}"), Err(DecodeError::UnknownType));
    assert_eq!(dec("B"), Err(DecodeError::UnknownType));
    assert_eq!(dec("b!!!"), Err(DecodeError::Base64));
    assert_eq!(dec("bAQI DBA=="), Err(DecodeError::Base64));
    assert_eq!(dec("bAQIDBA==="), Err(DecodeError::Base64));
    assert_eq!(dec("bA"), Err(DecodeError::Base64));
    // URL-safe alphabet is not accepted.
    assert_eq!(dec("b_w=="), Err(DecodeError::Base64));
    // A v3 `b4` record is not valid v4 (`4AQID` is not valid base64).
    assert_eq!(dec("b4AQID"), Err(DecodeError::Base64));
}

#[test]
fn decode_text_slices_input() {
    let input = Str::from("4hello world, a longer message");
    let Ok(Packet::Message(Message::Text(data))) = decode_text(input.clone()) else {
        panic!("not a text message");
    };
    assert_eq!(data, "hello world, a longer message");
    assert!(is_within(input.as_bytes(), data.as_bytes()));
}

// ---------------------------------------------------------------------------------------------
// Single packets (v3)

#[test]
fn decode_text_v3_packets() {
    assert_eq!(dec3("4hello"), Ok(text("hello")));
    assert_eq!(dec3("2probe"), Ok(Packet::Ping(Str::from("probe"))));
    assert_eq!(dec3("2"), Ok(Packet::Ping(Str::new())));
    assert_eq!(dec3("b4AQIDBA=="), Ok(binary(&[1, 2, 3, 4])));
    assert_eq!(dec3("b4AQIDBA"), Ok(binary(&[1, 2, 3, 4])));
    assert_eq!(dec3("b4"), Ok(binary(&[])));
    // Other types carrying base64 data: text types get it as UTF-8 text, the others drop it.
    assert_eq!(dec3("b2cHJvYmU="), Ok(Packet::Ping(Str::from("probe"))));
    assert_eq!(dec3("b1AA=="), Ok(Packet::Close));
    assert_eq!(dec3("b6"), Ok(Packet::Noop));
}

#[test]
fn decode_text_v3_errors() {
    assert_eq!(dec3(""), Err(DecodeError::Empty));
    assert_eq!(dec3("abc"), Err(DecodeError::UnknownType));
    assert_eq!(dec3("7"), Err(DecodeError::UnknownType));
    assert_eq!(dec3("b"), Err(DecodeError::UnknownType));
    assert_eq!(dec3("b7AQ=="), Err(DecodeError::UnknownType));
    // A v4 `b` record has no type digit.
    assert_eq!(dec3("bAQIDBA=="), Err(DecodeError::UnknownType));
    assert_eq!(dec3("b!!!"), Err(DecodeError::UnknownType));
    assert_eq!(dec3("b4!!!"), Err(DecodeError::Base64));
    assert_eq!(dec3("b4€"), Err(DecodeError::Base64));
    // A ping whose base64 data is not UTF-8.
    assert_eq!(dec3("b2/w=="), Err(DecodeError::Utf8));
}

#[test]
fn decode_binary_v3_packets() {
    // v3 spec: `4|0|1|2|3|4|5` is a message with the bytes 0..=5.
    assert_eq!(
        decode_binary_v3(Bytes::from_static(&[4, 0, 1, 2, 3, 4, 5])),
        Ok(binary(&[0, 1, 2, 3, 4, 5]))
    );
    assert_eq!(decode_binary_v3(Bytes::from_static(&[4])), Ok(binary(&[])));
    assert_eq!(
        decode_binary_v3(Bytes::from_static(b"\x02probe")),
        Ok(Packet::Ping(Str::from("probe")))
    );
    assert_eq!(
        decode_binary_v3(Bytes::from_static(&[1, 9])),
        Ok(Packet::Close)
    );

    let input = Bytes::from(vec![4u8; 64]);
    let Ok(Packet::Message(Message::Binary(data))) = decode_binary_v3(input.clone()) else {
        panic!("not a binary message");
    };
    assert_eq!(data.len(), 63);
    assert!(is_within(&input, &data));
}

#[test]
fn decode_binary_v3_errors() {
    assert_eq!(decode_binary_v3(Bytes::new()), Err(DecodeError::Empty));
    assert_eq!(
        decode_binary_v3(Bytes::from_static(&[7])),
        Err(DecodeError::UnknownType)
    );
    assert_eq!(
        decode_binary_v3(Bytes::from_static(&[255, 1])),
        Err(DecodeError::UnknownType)
    );
    // The digit `'4'` (0x34) is not the type value 4.
    assert_eq!(
        decode_binary_v3(Bytes::from_static(b"4abc")),
        Err(DecodeError::UnknownType)
    );
    assert_eq!(
        decode_binary_v3(Bytes::from_static(&[2, 0xff])),
        Err(DecodeError::Utf8)
    );
}

// ---------------------------------------------------------------------------------------------
// v4 payloads

#[test]
fn decode_v4_spec_examples() {
    assert_eq!(
        dec_v4("4hello\x1e2\x1e4world"),
        (
            vec![text("hello"), Packet::Ping(Str::new()), text("world")],
            None
        )
    );
    assert_eq!(
        dec_v4("4hello\x1ebAQIDBA=="),
        (vec![text("hello"), binary(&[1, 2, 3, 4])], None)
    );
    assert_eq!(dec_v4("4hello"), (vec![text("hello")], None));
}

#[test]
fn decode_v4_node_vectors() {
    assert_eq!(
        dec_v4("0\x1e1\x1e2probe\x1e3probe\x1e4test"),
        (
            vec![
                Packet::Open(Str::new()),
                Packet::Close,
                Packet::Ping(Str::from("probe")),
                Packet::Pong(Str::from("probe")),
                text("test"),
            ],
            None
        )
    );
    assert_eq!(
        dec_v4("4test\x1ebAQIDBA=="),
        (vec![text("test"), binary(&[1, 2, 3, 4])], None)
    );
    assert_eq!(dec_v4("{"), (vec![], Some(DecodeError::UnknownType)));
    assert_eq!(dec_v4("{}"), (vec![], Some(DecodeError::UnknownType)));
    assert_eq!(
        dec_v4("[\"a123\", \"a456\"]"),
        (vec![], Some(DecodeError::UnknownType))
    );
}

#[test]
fn decode_v4_errors_keep_earlier_packets() {
    assert_eq!(dec_v4(""), (vec![], Some(DecodeError::Empty)));
    assert_eq!(dec_v4("\x1e\x1e"), (vec![], Some(DecodeError::Empty)));
    assert_eq!(dec_v4("\x1e4a"), (vec![], Some(DecodeError::Empty)));
    assert_eq!(
        dec_v4("4a\x1e"),
        (vec![text("a")], Some(DecodeError::Empty))
    );
    assert_eq!(
        dec_v4("4a\x1e\x1e4b"),
        (vec![text("a")], Some(DecodeError::Empty))
    );
    assert_eq!(
        dec_v4("4a\x1e7\x1e4b"),
        (vec![text("a")], Some(DecodeError::UnknownType))
    );
    assert_eq!(
        dec_v4("4a\x1e2\x1eb!!!\x1e4b"),
        (
            vec![text("a"), Packet::Ping(Str::new())],
            Some(DecodeError::Base64)
        )
    );
    assert_eq!(dec_v4("abc"), (vec![], Some(DecodeError::UnknownType)));
}

#[test]
fn decode_v4_slices_input() {
    let input = Str::from("4first message\x1e4second message");
    let (packets, err) = payload::decode_v4(input.clone());
    assert_eq!(err, None);
    for packet in &packets {
        let Packet::Message(Message::Text(data)) = packet else {
            panic!("not a text message");
        };
        assert!(is_within(input.as_bytes(), data.as_bytes()));
    }
}

#[test]
fn encode_v4_exact_bytes() {
    assert_eq!(
        enc_v4(&[
            Frame::message("hello"),
            Frame::control(PacketType::Ping, ""),
            Frame::message("world")
        ]),
        b"4hello\x1e2\x1e4world"
    );
    assert_eq!(
        enc_v4(&[Frame::message("hello"), bin_frame(&[1, 2, 3, 4])]),
        b"4hello\x1ebAQIDBA=="
    );
    assert_eq!(
        enc_v4(&[
            Frame::control(PacketType::Open, ""),
            Frame::control(PacketType::Close, ""),
            Frame::control(PacketType::Ping, "probe"),
            Frame::control(PacketType::Pong, "probe"),
            Frame::message("test"),
        ]),
        b"0\x1e1\x1e2probe\x1e3probe\x1e4test"
    );
    assert_eq!(enc_v4(&[bin_frame(&[1, 2, 3])]), b"bAQID");
    assert_eq!(enc_v4(&[bin_frame(&[1, 2])]), b"bAQI=");
    assert_eq!(enc_v4(&[bin_frame(&[])]), b"b");
    assert_eq!(enc_v4(&[Frame::message("€")]), "4€".as_bytes());
    assert_eq!(enc_v4(&[]), b"");
}

#[test]
fn encode_v4_appends() {
    let mut out = BytesMut::from(&b"xyz"[..]);
    payload::encode_v4(&[Frame::message("a"), bin_frame(&[0xff])], &mut out);
    assert_eq!(&out[..], b"xyz4a\x1eb/w==");
}

// ---------------------------------------------------------------------------------------------
// v3 text payloads

#[test]
fn decode_v3_text_spec_examples() {
    assert_eq!(
        dec_v3("6:4hello2:4€"),
        (vec![text("hello"), text("€")], None)
    );
    assert_eq!(
        dec_v3("2:4€10:b4AQIDBA=="),
        (vec![text("€"), binary(&[1, 2, 3, 4])], None)
    );
    // From the v3 spec's payload grammar example.
    assert_eq!(
        dec_v3("12:4hello world2:4€"),
        (vec![text("hello world"), text("€")], None)
    );
}

#[test]
fn decode_v3_text_counts_utf16_units() {
    // An astral character is two UTF-16 code units.
    assert_eq!(dec_v3("3:4😀"), (vec![text("😀")], None));
    assert_eq!(dec_v3("5:4€😀a"), (vec![text("€😀a")], None));
    // Counting bytes (`4:4€`) is wrong.
    assert_eq!(dec_v3("4:4€"), (vec![], Some(DecodeError::Length)));
    // A length that splits a surrogate pair cannot be represented.
    assert_eq!(dec_v3("2:4😀"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("2:4😀1:6"), (vec![], Some(DecodeError::Length)));
    // `:` inside the data is data.
    assert_eq!(dec_v3("4:4a:b1:6"), (vec![text("a:b"), Packet::Noop], None));
}

#[test]
fn decode_v3_text_empty_records() {
    // Node skips zero-length records: the empty payload `0:` decodes to nothing, without error.
    assert_eq!(dec_v3("0:"), (vec![], None));
    assert_eq!(dec_v3("0:0:"), (vec![], None));
    assert_eq!(dec_v3("0:6:4hello0:"), (vec![text("hello")], None));
    // Leading zeros are accepted, like Node's `Number("01")`.
    assert_eq!(dec_v3("01:6"), (vec![Packet::Noop], None));
    // An empty body is an error.
    assert_eq!(dec_v3(""), (vec![], Some(DecodeError::Empty)));
}

#[test]
fn decode_v3_text_errors() {
    assert_eq!(dec_v3("abc"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("4hello"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("7"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3(":4"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("-1:4"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3(" 1:4"), (vec![], Some(DecodeError::Length)));
    assert_eq!(
        dec_v3("1e1:4abcdefghi"),
        (vec![], Some(DecodeError::Length))
    );
    assert_eq!(dec_v3("0x2:4a"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("5:4hi"), (vec![], Some(DecodeError::Length)));
    assert_eq!(dec_v3("1:"), (vec![], Some(DecodeError::Length)));
    assert_eq!(
        dec_v3("99999999999999999999:4x"),
        (vec![], Some(DecodeError::Length))
    );
    assert_eq!(
        dec_v3("18446744073709551616:4x"),
        (vec![], Some(DecodeError::Length))
    );
    assert_eq!(
        dec_v3("000000000000000000001:4"),
        (vec![], Some(DecodeError::Length))
    );
    // Trailing digits without a record.
    assert_eq!(
        dec_v3("6:4hello2"),
        (vec![text("hello")], Some(DecodeError::Length))
    );
    // Invalid packets inside valid records.
    assert_eq!(dec_v3("2:7x"), (vec![], Some(DecodeError::UnknownType)));
    assert_eq!(dec_v3("3:abc"), (vec![], Some(DecodeError::UnknownType)));
    assert_eq!(
        dec_v3("6:4hello3:abc6:4hello"),
        (vec![text("hello")], Some(DecodeError::UnknownType))
    );
    assert_eq!(dec_v3("2:b!"), (vec![], Some(DecodeError::UnknownType)));
    assert_eq!(dec_v3("5:b4!!!"), (vec![], Some(DecodeError::Base64)));
    // A v4 payload is not a v3 payload.
    assert_eq!(dec_v3("4a\x1e4b"), (vec![], Some(DecodeError::Length)));
}

#[test]
fn decode_v3_text_is_linear_on_hostile_input() {
    // CVE-2020-36048: huge declared lengths and long digit runs must fail fast.
    let digits = "9".repeat(1_000_000);
    assert_eq!(dec_v3(&digits), (vec![], Some(DecodeError::Length)));
    let zeros = format!("{}:", "0".repeat(1_000_000));
    assert_eq!(dec_v3(&zeros), (vec![], Some(DecodeError::Length)));
    let huge = format!("{}:{}", "9".repeat(19), "4".repeat(1_000_000));
    assert_eq!(dec_v3(&huge), (vec![], Some(DecodeError::Length)));
    let short = format!("1000001:{}", "4".repeat(1_000_000));
    assert_eq!(dec_v3(&short), (vec![], Some(DecodeError::Length)));
    let many = "1:6".repeat(300_000);
    let (packets, err) = dec_v3(&many);
    assert_eq!((packets.len(), err), (300_000, None));
}

#[test]
fn decode_v3_text_slices_input() {
    let input = Str::from("15:4a long message");
    let (packets, err) = payload::decode_v3_text(input.clone());
    assert_eq!(err, None);
    let [Packet::Message(Message::Text(data))] = &packets[..] else {
        panic!("not one text message");
    };
    assert_eq!(data, "a long message");
    assert!(is_within(input.as_bytes(), data.as_bytes()));
}

#[test]
fn encode_v3_text_exact_bytes() {
    assert_eq!(
        enc_v3(&[Frame::message("hello"), Frame::message("€")], false),
        (V3Format::Text, "6:4hello2:4€".as_bytes().to_vec())
    );
    assert_eq!(
        enc_v3(&[Frame::message("€"), bin_frame(&[1, 2, 3, 4])], false),
        (V3Format::Text, "2:4€10:b4AQIDBA==".as_bytes().to_vec())
    );
    assert_eq!(
        enc_v3(&[Frame::message("😀")], true),
        (V3Format::Text, "3:4😀".as_bytes().to_vec())
    );
    assert_eq!(
        enc_v3(
            &[
                Frame::control(PacketType::Pong, "probe"),
                Frame::control(PacketType::Noop, "")
            ],
            true
        ),
        (V3Format::Text, b"6:3probe1:6".to_vec())
    );
    assert_eq!(
        enc_v3(&[Frame::message("0123456789")], false),
        (V3Format::Text, b"11:40123456789".to_vec())
    );
    assert_eq!(
        enc_v3(&[bin_frame(&[])], false),
        (V3Format::Text, b"2:b4".to_vec())
    );
}

#[test]
fn encode_v3_empty() {
    assert_eq!(enc_v3(&[], false), (V3Format::Text, b"0:".to_vec()));
    assert_eq!(enc_v3(&[], true), (V3Format::Text, b"0:".to_vec()));
}

// ---------------------------------------------------------------------------------------------
// v3 binary payloads

#[test]
fn encode_v3_binary_exact_bytes() {
    // The v3 spec example, with the `message` type byte the Node encoder writes before the data
    // of a binary packet (the spec's byte listing leaves it out).
    assert_eq!(
        enc_v3(&[Frame::message("€"), bin_frame(&[1, 2, 3, 4])], true),
        (
            V3Format::Binary,
            vec![
                0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 0x01, 0x02, 0x03,
                0x04
            ]
        )
    );
    // Node's `properly encodes a mixed payload`: string lengths count UTF-8 bytes (13).
    let (format, bytes) = enc_v3(&[Frame::message("€€€€"), bin_frame(&[1, 2, 3])], true);
    assert_eq!(format, V3Format::Binary);
    let mut expected = vec![0u8, 1, 3, 0xff];
    expected.extend_from_slice("4€€€€".as_bytes());
    expected.extend_from_slice(&[1, 4, 0xff, 4, 1, 2, 3]);
    assert_eq!(bytes, expected);
    assert_eq!(
        dec_v3b(&bytes),
        (vec![text("€€€€"), binary(&[1, 2, 3])], None)
    );
    // Only binary frames, one with a multi-digit length.
    let (format, bytes) = enc_v3(&[bin_frame(&[7; 11])], true);
    assert_eq!(format, V3Format::Binary);
    let mut expected = vec![1u8, 1, 2, 0xff, 4];
    expected.extend_from_slice(&[7; 11]);
    assert_eq!(bytes, expected);
    let (_, bytes) = enc_v3(&[bin_frame(&[0; 99])], true);
    assert_eq!(&bytes[..5], &[1, 1, 0, 0, 0xff]);
    assert_eq!(bytes.len(), 5 + 100);
}

#[test]
fn decode_v3_binary_records() {
    assert_eq!(
        dec_v3b(&[
            0x00, 0x04, 0xff, 0x34, 0xe2, 0x82, 0xac, 0x01, 0x05, 0xff, 0x04, 0x01, 0x02, 0x03,
            0x04
        ]),
        (vec![text("€"), binary(&[1, 2, 3, 4])], None)
    );
    assert_eq!(
        dec_v3b(b"\x00\x01\xff2\x00\x06\xff3probe"),
        (
            vec![Packet::Ping(Str::new()), Packet::Pong(Str::from("probe"))],
            None
        )
    );
    // A string record may itself be a `b4<base64>` packet.
    assert_eq!(
        dec_v3b(b"\x00\x06\xffb4AQID"),
        (vec![binary(&[1, 2, 3])], None)
    );
    // A binary record of type 4 without data.
    assert_eq!(dec_v3b(&[1, 1, 0xff, 4]), (vec![binary(&[])], None));
    // Leading zeros in the length.
    assert_eq!(dec_v3b(&[0, 0, 1, 0xff, b'6']), (vec![Packet::Noop], None));
    // Like Node, an empty body is no packets and no error.
    assert_eq!(dec_v3b(&[]), (vec![], None));
}

#[test]
fn decode_v3_binary_errors() {
    let hello = b"\x00\x06\xff4hello";
    let with = |tail: &[u8]| {
        let mut v = hello.to_vec();
        v.extend_from_slice(tail);
        dec_v3b(&v)
    };
    let hello = || vec![text("hello")];
    // Bad header byte.
    assert_eq!(with(&[2, 1, 0xff, 4]), (hello(), Some(DecodeError::Length)));
    assert_eq!(with(b"4"), (hello(), Some(DecodeError::Length)));
    // No 0xFF after the digits, or no digits.
    assert_eq!(with(&[0]), (hello(), Some(DecodeError::Length)));
    assert_eq!(with(&[0, 1]), (hello(), Some(DecodeError::Length)));
    assert_eq!(with(&[0, 0xff, b'6']), (hello(), Some(DecodeError::Length)));
    // A byte that is not a digit value.
    assert_eq!(
        with(&[1, 10, 0xff, 4]),
        (hello(), Some(DecodeError::Length))
    );
    assert_eq!(
        with(&[0, b'1', 0xff, b'6']),
        (hello(), Some(DecodeError::Length))
    );
    // Truncated records.
    assert_eq!(
        with(&[0, 5, 0xff, b'4', b'h']),
        (hello(), Some(DecodeError::Length))
    );
    assert_eq!(
        with(&[1, 4, 0xff, 4, 1, 2]),
        (hello(), Some(DecodeError::Length))
    );
    assert_eq!(with(&[1, 1, 0xff]), (hello(), Some(DecodeError::Length)));
    // Absurd lengths.
    assert_eq!(
        with(&[1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 0xff, 4]),
        (hello(), Some(DecodeError::Length))
    );
    let mut long = vec![1u8];
    long.extend_from_slice(&[0; 25]);
    long.extend_from_slice(&[1, 0xff, 4]);
    assert_eq!(with(&long), (hello(), Some(DecodeError::Length)));
    // Zero-length records are invalid packets.
    assert_eq!(with(&[0, 0, 0xff]), (hello(), Some(DecodeError::Empty)));
    assert_eq!(with(&[1, 0, 0xff]), (hello(), Some(DecodeError::Empty)));
    // Invalid packets in valid records.
    assert_eq!(
        with(&[0, 2, 0xff, 0xff, 0xfe]),
        (hello(), Some(DecodeError::Utf8))
    );
    assert_eq!(
        with(&[0, 1, 0xff, b'7']),
        (hello(), Some(DecodeError::UnknownType))
    );
    assert_eq!(
        with(&[1, 1, 0xff, 9]),
        (hello(), Some(DecodeError::UnknownType))
    );
    assert_eq!(
        with(&[0, 3, 0xff, b'b', b'4', b'!']),
        (hello(), Some(DecodeError::Base64))
    );
}

#[test]
fn decode_v3_binary_is_linear_on_hostile_input() {
    let mut digits = vec![1u8];
    digits.extend(std::iter::repeat_n(9u8, 1_000_000));
    assert_eq!(dec_v3b(&digits), (vec![], Some(DecodeError::Length)));
    let many: Vec<u8> = std::iter::repeat_n([1u8, 1, 0xff, 4], 300_000)
        .flatten()
        .collect();
    let (packets, err) = dec_v3b(&many);
    assert_eq!((packets.len(), err), (300_000, None));
}

#[test]
fn decode_v3_binary_slices_input() {
    let mut body = vec![0u8, 1, 5, 0xff];
    body.extend_from_slice(b"4a long message");
    body.extend_from_slice(&[1, 1, 1, 0xff, 4]);
    body.extend_from_slice(b"0123456789");
    let input = Bytes::from(body);
    let (packets, err) = payload::decode_v3_binary(input.clone());
    assert_eq!(err, None);
    let [
        Packet::Message(Message::Text(t)),
        Packet::Message(Message::Binary(b)),
    ] = &packets[..]
    else {
        panic!("unexpected packets {packets:?}");
    };
    assert_eq!(t, "a long message");
    assert_eq!(&b[..], b"0123456789");
    assert!(is_within(&input, t.as_bytes()));
    assert!(is_within(&input, b));
}

#[test]
fn encode_v3_chooses_format() {
    let text_only = [Frame::message("a")];
    let mixed = [Frame::message("a"), bin_frame(&[1])];
    assert_eq!(enc_v3(&text_only, true).0, V3Format::Text);
    assert_eq!(enc_v3(&text_only, false).0, V3Format::Text);
    assert_eq!(enc_v3(&mixed, true).0, V3Format::Binary);
    assert_eq!(
        enc_v3(&mixed, false),
        (V3Format::Text, b"2:4a6:b4AQ==".to_vec())
    );

    let mut out = BytesMut::from(&b"xyz"[..]);
    assert_eq!(payload::encode_v3(&mixed, true, &mut out), V3Format::Binary);
    assert_eq!(&out[..], b"xyz\x00\x02\xff4a\x01\x02\xff\x04\x01");
}

// ---------------------------------------------------------------------------------------------
// Private helpers

#[test]
fn helpers() {
    assert_eq!(utf16_len(""), 0);
    assert_eq!(utf16_len("a€😀"), 4);
    for n in [0usize, 1, 9, 10, 99, 100, 12345, usize::MAX] {
        let mut out = BytesMut::new();
        put_decimal(&mut out, n, b'0');
        assert_eq!(&out[..], n.to_string().as_bytes());
        let mut out = BytesMut::new();
        put_decimal(&mut out, n, 0);
        let digits: Vec<u8> = n.to_string().bytes().map(|b| b - b'0').collect();
        assert_eq!(&out[..], &digits[..]);
    }
    for len in 0..10 {
        let mut out = BytesMut::new();
        put_base64(&mut out, &vec![0xab; len]);
        assert_eq!(out.len(), base64_len(len));
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn any_str() -> impl Strategy<Value = Str> {
    any::<String>().prop_map(Str::from)
}

fn any_packet(text: BoxedStrategy<Str>) -> impl Strategy<Value = Packet> {
    prop_oneof![
        text.clone().prop_map(Packet::Open),
        Just(Packet::Close),
        text.clone().prop_map(Packet::Ping),
        text.clone().prop_map(Packet::Pong),
        text.prop_map(|s| Packet::Message(Message::Text(s))),
        any::<Vec<u8>>().prop_map(|b| Packet::Message(Message::Binary(Bytes::from(b)))),
        Just(Packet::Upgrade),
        Just(Packet::Noop),
    ]
}

/// Packets whose text has no record separator (v4 payloads cannot carry it).
fn v4_packets(min: usize) -> impl Strategy<Value = Vec<Packet>> {
    let text = any::<String>()
        .prop_map(|s| Str::from(s.replace('\u{1e}', "")))
        .boxed();
    proptest::collection::vec(any_packet(text), min..8)
}

fn v3_packets() -> impl Strategy<Value = Vec<Packet>> {
    proptest::collection::vec(any_packet(any_str().boxed()), 0..8)
}

fn frames_of(packets: &[Packet]) -> Vec<Frame> {
    packets.iter().map(Frame::from_packet).collect()
}

/// Bytes that look like v3 binary payloads: headers, digit values, separators, type bytes.
fn v3_binary_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(0u8),
            Just(1u8),
            0u8..10,
            Just(0xffu8),
            Just(b'4'),
            Just(b'b'),
            any::<u8>(),
        ],
        0..64,
    )
}

proptest! {
    #[test]
    fn v4_payload_round_trip(packets in v4_packets(1)) {
        let frames = frames_of(&packets);
        let mut out = BytesMut::new();
        payload::encode_v4(&frames, &mut out);
        let body = Str::try_from(out.freeze()).unwrap();
        prop_assert_eq!(payload::decode_v4(body), (packets, None));
    }

    #[test]
    fn v3_text_payload_round_trip(packets in v3_packets()) {
        let frames = frames_of(&packets);
        let mut out = BytesMut::new();
        prop_assert_eq!(payload::encode_v3(&frames, false, &mut out), V3Format::Text);
        let body = Str::try_from(out.freeze()).unwrap();
        prop_assert_eq!(payload::decode_v3_text(body), (packets, None));
    }

    #[test]
    fn v3_binary_payload_round_trip(packets in v3_packets()) {
        let frames = frames_of(&packets);
        let has_binary = frames.iter().any(|f| matches!(f, Frame::Binary(_)));
        let mut out = BytesMut::new();
        let format = payload::encode_v3(&frames, true, &mut out);
        let decoded = match format {
            V3Format::Binary => {
                prop_assert!(has_binary);
                payload::decode_v3_binary(out.freeze())
            }
            V3Format::Text => {
                prop_assert!(!has_binary);
                payload::decode_v3_text(Str::try_from(out.freeze()).unwrap())
            }
        };
        prop_assert_eq!(decoded, (packets, None));
    }

    #[test]
    fn websocket_round_trip(packets in v3_packets()) {
        for packet in packets {
            match Frame::from_packet(&packet) {
                Frame::Text(t) => {
                    prop_assert_eq!(decode_text(t.clone()), Ok(packet.clone()));
                    prop_assert_eq!(decode_text_v3(t), Ok(packet));
                }
                frame @ Frame::Binary(_) => {
                    let v3 = frame.v3_ws_binary().unwrap();
                    prop_assert_eq!(decode_binary_v3(v3), Ok(packet));
                }
            }
        }
    }

    #[test]
    fn v3_text_length_is_utf16(s in any::<String>()) {
        prop_assert_eq!(utf16_len(&s), s.encode_utf16().count());
    }

    #[test]
    fn text_decoders_never_panic(s in any::<String>()) {
        let input = Str::from(s);
        let _ = decode_text(input.clone());
        let _ = decode_text_v3(input.clone());
        let (packets, _) = payload::decode_v4(input.clone());
        prop_assert!(packets.len() <= input.len());
        let (packets, _) = payload::decode_v3_text(input.clone());
        prop_assert!(packets.len() <= input.len());
    }

    #[test]
    fn text_decoders_never_panic_on_near_misses(s in "[0-9:4b€😀\u{1e}A=!]{0,40}") {
        let input = Str::from(s);
        let _ = decode_text(input.clone());
        let _ = decode_text_v3(input.clone());
        let (packets, _) = payload::decode_v4(input.clone());
        prop_assert!(packets.len() <= input.len());
        let (packets, _) = payload::decode_v3_text(input.clone());
        prop_assert!(packets.len() <= input.len());
    }

    #[test]
    fn binary_decoders_never_panic(b in any::<Vec<u8>>()) {
        let input = Bytes::from(b);
        let _ = decode_binary_v3(input.clone());
        let (packets, _) = payload::decode_v3_binary(input.clone());
        prop_assert!(packets.len() <= input.len());
    }

    #[test]
    fn binary_decoders_never_panic_on_near_misses(b in v3_binary_like()) {
        let input = Bytes::from(b);
        let _ = decode_binary_v3(input.clone());
        let (packets, _) = payload::decode_v3_binary(input.clone());
        prop_assert!(packets.len() <= input.len());
    }

    #[test]
    fn base64_round_trip(b in any::<Vec<u8>>()) {
        let mut out = BytesMut::new();
        put_base64(&mut out, &b);
        prop_assert_eq!(out.len(), base64_len(b.len()));
        let encoded = std::str::from_utf8(&out).unwrap();
        prop_assert_eq!(decode_base64(encoded).unwrap(), Bytes::from(b));
    }
}
