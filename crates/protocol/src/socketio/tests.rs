//! Tests for the Socket.IO codec: spec examples, Node parser test vectors, the reject list,
//! binary reassembly, msgpack wire vectors from the npm package, and property tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn dec(text: &str) -> Result<Option<Packet>, DecodeError> {
    Decoder::new(DEFAULT_MAX_ATTACHMENTS).decode_text(&Str::from(text))
}

/// Decodes a complete non-binary packet.
fn one(text: &str) -> Packet {
    match dec(text) {
        Ok(Some(p)) => p,
        other => panic!("{text:?}: {other:?}"),
    }
}

/// Decodes a binary packet and feeds it `attachments`.
fn with_attachments(text: &str, attachments: &[&[u8]]) -> Result<Packet, DecodeError> {
    let mut d = Decoder::new(DEFAULT_MAX_ATTACHMENTS);
    let mut out = d.decode_text(&Str::from(text))?;
    for a in attachments {
        assert!(out.is_none(), "{text:?} completed early");
        out = d.decode_binary(Bytes::copy_from_slice(a))?;
    }
    assert!(!d.is_reconstructing());
    Ok(out.expect("packet incomplete"))
}

fn packet(
    kind: PacketKind,
    nsp: &'static str,
    id: Option<u64>,
    data: Option<&'static str>,
) -> Packet {
    Packet {
        kind,
        nsp: Str::from_static(nsp),
        id,
        data: data.map(Str::from_static),
        attachments: Vec::new(),
    }
}

fn text_of(frame: Frame) -> String {
    match frame {
        Frame::Text(s) => s.to_string(),
        Frame::Binary(b) => panic!("binary frame {b:?}"),
    }
}

/// Encodes, checks the `4` prefix, and returns the Socket.IO text.
fn enc(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<&str>, n: usize) -> String {
    let text = text_of(encode(kind, nsp, id, data, n));
    let mut header = Vec::new();
    write_header(&mut header, kind, nsp, id, n);
    let header = String::from_utf8(header).unwrap();
    assert_eq!(text, format!("{header}{}", data.unwrap_or_default()));
    text.strip_prefix('4').unwrap().to_owned()
}

/// Checks `decode(encode(p)) == p`.
fn round_trip(p: &Packet) {
    let text = enc(p.kind, &p.nsp, p.id, p.data.as_deref(), p.attachments.len());
    let refs: Vec<&[u8]> = p.attachments.iter().map(|b| &b[..]).collect();
    let back = with_attachments(&text, &refs).unwrap();
    assert_eq!(&back, p, "{text}");
}

// ---------------------------------------------------------------------------------------------
// Spec (docs/socket.io-protocol/v5-current.md) and reference examples

#[test]
fn spec_examples_decode() {
    use PacketKind::*;
    let cases = [
        ("0", packet(Connect, "/", None, None)),
        (
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            packet(
                Connect,
                "/admin",
                None,
                Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
            ),
        ),
        (
            r#"4{"message":"Not authorized"}"#,
            packet(
                ConnectError,
                "/",
                None,
                Some(r#"{"message":"Not authorized"}"#),
            ),
        ),
        (r#"2["foo"]"#, packet(Event, "/", None, Some(r#"["foo"]"#))),
        (
            r#"2/admin,["bar"]"#,
            packet(Event, "/admin", None, Some(r#"["bar"]"#)),
        ),
        (
            r#"212["foo"]"#,
            packet(Event, "/", Some(12), Some(r#"["foo"]"#)),
        ),
        (
            r#"3/admin,13["bar"]"#,
            packet(Ack, "/admin", Some(13), Some(r#"["bar"]"#)),
        ),
        ("1", packet(Disconnect, "/", None, None)),
        ("1/admin,", packet(Disconnect, "/admin", None, None)),
        (
            r#"20["hello"]"#,
            packet(Event, "/", Some(0), Some(r#"["hello"]"#)),
        ),
        // Sample session of the spec.
        (
            r#"2["hey","Jude"]"#,
            packet(Event, "/", None, Some(r#"["hey","Jude"]"#)),
        ),
        // The v5 test suite's ack message.
        (
            r#"2456["message-with-ack",1,"2",{"3":[false]}]"#,
            packet(
                Event,
                "/",
                Some(456),
                Some(r#"["message-with-ack",1,"2",{"3":[false]}]"#),
            ),
        ),
        // Node quirk kept: the namespace runs to the end of the text without a comma.
        ("0/custom", packet(Connect, "/custom", None, None)),
        ("1/custom", packet(Disconnect, "/custom", None, None)),
        (
            r#"0/custom,{"token":"123"}"#,
            packet(Connect, "/custom", None, Some(r#"{"token":"123"}"#)),
        ),
        // An explicit main namespace.
        (r#"2/,["a"]"#, packet(Event, "/", None, Some(r#"["a"]"#))),
        // Escapes, unicode, whitespace inside the JSON, trailing whitespace.
        (
            r#"2/é,["\u00e9t\"é", { "a" : [ 1 , 2 ] } ] "#,
            packet(
                Event,
                "/é",
                None,
                Some(r#"["\u00e9t\"é", { "a" : [ 1 , 2 ] } ] "#),
            ),
        ),
        (
            r#"4"Unauthorized""#,
            packet(ConnectError, "/", None, Some(r#""Unauthorized""#)),
        ),
        ("3/x,1[]", packet(Ack, "/x", Some(1), Some("[]"))),
        (
            &format!("3{}[]", u64::MAX),
            packet(Ack, "/", Some(u64::MAX), Some("[]")),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(one(text), expected, "{text}");
    }
}

#[test]
fn spec_examples_encode() {
    use PacketKind::*;
    assert_eq!(enc(Connect, "/", None, None, 0), "0");
    assert_eq!(
        enc(
            Connect,
            "/admin",
            None,
            Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#),
            0
        ),
        r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
    );
    assert_eq!(
        enc(
            ConnectError,
            "/",
            None,
            Some(r#"{"message":"Not authorized"}"#),
            0
        ),
        r#"4{"message":"Not authorized"}"#
    );
    assert_eq!(enc(Event, "/", None, Some(r#"["foo"]"#), 0), r#"2["foo"]"#);
    assert_eq!(
        enc(Event, "/admin", None, Some(r#"["bar"]"#), 0),
        r#"2/admin,["bar"]"#
    );
    assert_eq!(
        enc(
            BinaryEvent,
            "/",
            None,
            Some(r#"["baz",{"_placeholder":true,"num":0}]"#),
            1
        ),
        r#"51-["baz",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(
        enc(
            BinaryEvent,
            "/admin",
            None,
            Some(r#"["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            2
        ),
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        enc(Event, "/", Some(12), Some(r#"["foo"]"#), 0),
        r#"212["foo"]"#
    );
    assert_eq!(
        enc(Ack, "/admin", Some(13), Some(r#"["bar"]"#), 0),
        r#"3/admin,13["bar"]"#
    );
    assert_eq!(
        enc(
            BinaryAck,
            "/",
            Some(15),
            Some(r#"["bar",{"_placeholder":true,"num":0}]"#),
            1
        ),
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(enc(Disconnect, "/", None, None, 0), "1");
    assert_eq!(enc(Disconnect, "/admin", None, None, 0), "1/admin,");
    assert_eq!(
        enc(Event, "/", Some(0), Some(r#"["hello"]"#), 0),
        r#"20["hello"]"#
    );
    // The brief's example, and edge cases of the header.
    assert_eq!(
        text_of(encode(Event, "/admin", Some(12), Some(r#"["a",1]"#), 0)),
        r#"42/admin,12["a",1]"#
    );
    assert_eq!(enc(Event, "", None, Some("[1]"), 0), "2[1]");
    assert_eq!(
        enc(Event, "/", None, Some("[1]"), 3),
        "2[1]",
        "count only on binary types"
    );
    assert_eq!(
        enc(BinaryAck, "/", Some(u64::MAX), Some("[]"), 10),
        format!("610-{}[]", u64::MAX)
    );
}

#[test]
fn spec_binary_examples() {
    let p = with_attachments(
        r#"51-["baz",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    )
    .unwrap();
    assert_eq!(p.kind, PacketKind::BinaryEvent);
    assert_eq!(p.attachments, [Bytes::from_static(&[1, 2, 3, 4])]);
    assert_eq!(
        p.data.as_deref(),
        Some(r#"["baz",{"_placeholder":true,"num":0}]"#)
    );

    let p = with_attachments(
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        &[&[1, 2], &[3, 4]],
    )
    .unwrap();
    assert_eq!(&*p.nsp, "/admin");
    assert_eq!(
        p.attachments,
        [Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])]
    );

    let p = with_attachments(
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    )
    .unwrap();
    assert_eq!((p.kind, p.id), (PacketKind::BinaryAck, Some(15)));

    // The sample session of the spec: `461-/admin,1[…]` and one binary message.
    let p = with_attachments(
        r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3]],
    )
    .unwrap();
    assert_eq!(
        (p.kind, &*p.nsp, p.id),
        (PacketKind::BinaryAck, "/admin", Some(1))
    );
}

// ---------------------------------------------------------------------------------------------
// Node's socket.io-parser tests (test/parser.js, buffer.js, arraybuffer.js)

#[test]
fn node_parser_round_trips() {
    use PacketKind::*;
    let cases = [
        packet(Connect, "/woot", None, Some(r#"{"token":"123"}"#)),
        packet(Disconnect, "/woot", None, None),
        packet(Event, "/", None, Some(r#"["a",1,{}]"#)),
        packet(Event, "/", None, Some(r#"[1,"a",{}]"#)),
        packet(Event, "/test", Some(1), Some(r#"["a",1,{}]"#)),
        packet(Ack, "/", Some(123), Some(r#"["a",1,{}]"#)),
        packet(ConnectError, "/", None, Some(r#""Unauthorized""#)),
        packet(
            ConnectError,
            "/",
            None,
            Some(r#"{"message":"Unauthorized"}"#),
        ),
        packet(Event, "/", None, Some(r#"["b",{"a":"val"}]"#)),
    ];
    for p in &cases {
        round_trip(p);
    }
}

#[test]
fn node_parser_binary_round_trips() {
    let binary = |kind, nsp: &'static str, id, data: &'static str, atts: &[&'static [u8]]| Packet {
        kind,
        nsp: Str::from_static(nsp),
        id,
        data: Some(Str::from_static(data)),
        attachments: atts.iter().map(|a| Bytes::from_static(a)).collect(),
    };
    use PacketKind::*;
    let cases = [
        // buffer.js
        binary(
            BinaryEvent,
            "/cool",
            Some(23),
            r#"["a",{"_placeholder":true,"num":0}]"#,
            &[b"abc"],
        ),
        binary(
            BinaryEvent,
            "/cool",
            Some(23),
            r#"["a",{"b":["c",{"_placeholder":true,"num":0}]}]"#,
            &[b"abc"],
        ),
        binary(
            BinaryAck,
            "/back",
            Some(127),
            r#"["a",{"_placeholder":true,"num":0},{}]"#,
            &[b"xxx"],
        ),
        // arraybuffer.js
        binary(
            BinaryEvent,
            "/",
            Some(0),
            r#"["a",{"_placeholder":true,"num":0}]"#,
            &[&[0, 0]],
        ),
        binary(
            BinaryEvent,
            "/",
            Some(0),
            r#"["a",{"array":{"_placeholder":true,"num":0}}]"#,
            &[&[0, 0]],
        ),
        binary(
            BinaryEvent,
            "/deep",
            Some(999),
            r#"["a",{"a":"hi","b":{"why":{"_placeholder":true,"num":0}},"c":{"a":"bye","b":{"a":{"_placeholder":true,"num":1}}}}]"#,
            &[&[0; 3], &[0; 6]],
        ),
        binary(
            BinaryEvent,
            "/",
            Some(600),
            r#"["a",{"a":"b","c":4,"e":{"g":null},"h":{"_placeholder":true,"num":0}}]"#,
            &[&[0; 9]],
        ),
        binary(
            BinaryEvent,
            "/",
            None,
            r#"["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
            &[&[1, 2, 3], &[4, 5, 6]],
        ),
        // Placeholders may come in any order, and empty attachments are fine.
        binary(
            BinaryEvent,
            "/",
            None,
            r#"["a",{"num":1,"_placeholder":true},[{"_placeholder":true,"num":0}]]"#,
            &[b"", b"x"],
        ),
    ];
    for p in &cases {
        round_trip(p);
    }
}

#[test]
fn node_parser_invalid_payloads() {
    // Node reads `42` as an ack id and then fails on the JSON; ack ids are checked first here.
    assert_eq!(dec(r#"442["some","data""#), Err(DecodeError::InvalidAckId));
    for text in [
        r#"4["some","data""#,
        r#"0/admin,"invalid""#,
        "0[]",
        "1/admin,{}",
        r#"2/admin,"invalid"#,
        "2/admin,{}",
        r#"2[{"toString":"foo"}]"#,
        r#"2[true,"foo"]"#,
        r#"2[null,"bar"]"#,
        r#"2["connect"]"#,
        r#"2["disconnect","123"]"#,
    ] {
        assert_eq!(dec(text), Err(DecodeError::InvalidPayload), "{text}");
    }
    for text in ["5", "51", "5a-", "51.23-"] {
        assert_eq!(dec(text), Err(DecodeError::IllegalAttachments), "{text}");
    }
    assert_eq!(dec("999"), Err(DecodeError::UnknownType));
}

#[test]
fn node_parser_too_many_attachments() {
    let mut d = Decoder::new(2);
    assert_eq!(
        d.decode_text(&Str::from(
            r#"53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#
        )),
        Err(DecodeError::TooManyAttachments)
    );
    assert!(!d.is_reconstructing());
    // Exactly the limit is fine.
    assert_eq!(
        d.decode_text(&Str::from(
            r#"52-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        )),
        Ok(None)
    );
}

#[test]
fn node_parser_buffer_errors() {
    // An invalid `num` is rejected on the text message already (Node: when the attachment
    // arrives).
    for text in [
        r#"51-["hello",{"_placeholder":true,"num":"splice"}]"#,
        r#"51-["hello",{"_placeholder":true,"num":1}]"#,
    ] {
        assert_eq!(dec(text), Err(DecodeError::IllegalAttachments), "{text}");
    }
    let mut d = Decoder::default();
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"world")),
        Err(DecodeError::UnexpectedBinary)
    );
    assert_eq!(
        d.decode_text(&Str::from(r#"51-["hello",{"_placeholder":true,"num":0}]"#)),
        Ok(None)
    );
    assert_eq!(
        d.decode_text(&Str::from(r#"2["hello"]"#)),
        Err(DecodeError::UnexpectedText)
    );
}

#[test]
fn reset_drops_the_pending_packet() {
    // Node's "should resume decoding after calling destroy()".
    let mut d = Decoder::default();
    assert_eq!(
        d.decode_text(&Str::from(r#"51-["hello",{"_placeholder":true,"num":0}]"#)),
        Ok(None)
    );
    d.reset();
    assert!(!d.is_reconstructing());
    let p = d.decode_text(&Str::from(r#"2["hello"]"#)).unwrap().unwrap();
    assert_eq!(p.data.as_deref(), Some(r#"["hello"]"#));
}

// ---------------------------------------------------------------------------------------------
// The reject list (reference §5.4, items 13–18)

#[test]
fn reject_list() {
    use DecodeError::*;
    let cases: &[(&str, DecodeError)] = &[
        // 13
        ("", UnknownType),
        ("abc", UnknownType),
        ("9", UnknownType),
        ("7", UnknownType),
        (" 2[\"a\"]", UnknownType),
        ("2{}", InvalidPayload),
        (r#"2"x""#, InvalidPayload),
        ("2", InvalidPayload),
        ("2[]", InvalidPayload),
        (r#"2[{"toString":"foo"}]"#, InvalidPayload),
        ("2[true]", InvalidPayload),
        (r#"2[null,"a"]"#, InvalidPayload),
        (r#"2[["a"]]"#, InvalidPayload),
        (r#"2["disconnect"]"#, InvalidPayload),
        (r#"2["connect"]"#, InvalidPayload),
        (r#"2["connect_error"]"#, InvalidPayload),
        (r#"2["disconnecting"]"#, InvalidPayload),
        (r#"2["newListener"]"#, InvalidPayload),
        (r#"2["removeListener"]"#, InvalidPayload),
        (r#"2["\u0063onnect"]"#, InvalidPayload),
        (r#"2["a",]"#, InvalidPayload),
        (r#"2["a"]x"#, InvalidPayload),
        (r#"2["a"]["b"]"#, InvalidPayload),
        ("2/admin,", InvalidPayload),
        ("2/admin", InvalidPayload),
        // 15: ack ids
        (r#"2abc["a"]"#, InvalidPayload),
        (r#"2 ["a"]"#, InvalidPayload),
        (r#"21 2["a"]"#, InvalidPayload),
        ("2\t[\"a\"]", InvalidPayload),
        (r#"299999999999999999999999["a"]"#, InvalidAckId),
        (r#"218446744073709551616["a"]"#, InvalidAckId),
        (r#"3["a"]"#, InvalidAckId),
        ("3", InvalidAckId),
        ("3/admin,[]", InvalidAckId),
        (r#"31 ["a"]"#, InvalidPayload),
        ("31", InvalidPayload),
        (r#"31{}"#, InvalidPayload),
        ("01", InvalidAckId),
        ("01{}", InvalidAckId),
        ("11", InvalidAckId),
        (r#"41{"message":"x"}"#, InvalidAckId),
        // 18: namespaces and per-type payloads
        (r#"0"str""#, InvalidPayload),
        ("0[1]", InvalidPayload),
        ("0 {}", InvalidPayload),
        ("0{", InvalidPayload),
        ("0null", InvalidPayload),
        (r#"0/nsp,"str""#, InvalidPayload),
        ("0/nsp,[1]", InvalidPayload),
        ("0,{}", InvalidPayload),
        ("1/admin,{}", InvalidPayload),
        ("1{}", InvalidPayload),
        ("1[]", InvalidPayload),
        ("4", InvalidPayload),
        ("41/a,", InvalidAckId),
        ("4/a,", InvalidPayload),
        ("4[]", InvalidPayload),
        ("41", InvalidAckId),
        ("4null", InvalidPayload),
        ("41/a", InvalidAckId),
        // 16: placeholders
        (
            r#"51-["a",{"_placeholder":true,"num":"splice"}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0.0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":1e0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":null}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":[0]}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":{"x":0}}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":18446744073709551615}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":184467440737095516160}]"#,
            IllegalAttachments,
        ),
        (r#"51-["a",{"_placeholder":true}]"#, IllegalAttachments),
        (
            r#"51-["a",{"_placeholder":"true","num":0}]"#,
            IllegalAttachments,
        ),
        (r#"51-["a",{"_placeholder":1,"num":0}]"#, IllegalAttachments),
        (
            r#"51-["a",{"_placeholder":false,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":null,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0,"x":1}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"_placeholder":true,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"\u005fplaceholder":true,"num":"splice"}]"#,
            IllegalAttachments,
        ),
        (r#"51-[{"_placeholder":true,"num":0}]"#, InvalidPayload),
        (r#"51-["a"]"#, IllegalAttachments),
        (
            r#"52-["a",{"_placeholder":true,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":0}}]"#,
            IllegalAttachments,
        ),
        (
            r#"51-["a",{"num":{"_placeholder":true,"num":3}},{"_placeholder":true,"num":0}]"#,
            IllegalAttachments,
        ),
        (
            r#"61-1["a",{"_placeholder":true,"num":2}]"#,
            IllegalAttachments,
        ),
        (r#"61-[{"_placeholder":true,"num":0}]"#, InvalidAckId),
        (r#"51-["a",{"_placeholder":true,"num":0}"#, InvalidPayload),
        (r#"51-{"_placeholder":true,"num":0}"#, InvalidPayload),
        // 17: attachment counts
        (r#"50-["a"]"#, IllegalAttachments),
        (r#"500-["a"]"#, IllegalAttachments),
        (r#"60-1["a"]"#, IllegalAttachments),
        (r#"5999999-["a"]"#, TooManyAttachments),
        (r#"511-["a"]"#, TooManyAttachments),
        (r#"545999999999-["a"]"#, TooManyAttachments),
        (r#"599999999999999999999999-["a"]"#, TooManyAttachments),
        (r#"5-1-["a"]"#, IllegalAttachments),
        (r#"5x-["a"]"#, IllegalAttachments),
        (r#"5 1-["a"]"#, IllegalAttachments),
        (r#"51 -["a"]"#, IllegalAttachments),
        (r#"5["a"]"#, IllegalAttachments),
        (r#"51["a"]"#, IllegalAttachments),
        ("5", IllegalAttachments),
        ("51-", InvalidPayload),
        // An attachment section on a type that takes none.
        (r#"21-["a"]"#, IllegalAttachments),
        (r#"31-1["a"]"#, IllegalAttachments),
        ("01-", IllegalAttachments),
        // The whole engine packet instead of its data.
        (r#"42["a"]"#, InvalidAckId),
    ];
    for (text, error) in cases {
        assert_eq!(dec(text), Err(error.clone()), "{text}");
    }
}

#[test]
fn valid_edge_cases_are_accepted() {
    // Reference §5.4 item 14: names that are dangerous in Node are ordinary here.
    for name in [
        "error",
        "__proto__",
        "constructor",
        "hasOwnProperty",
        "toString",
        "",
    ] {
        let text = format!(r#"2["{name}","x"]"#);
        assert!(dec(&text).unwrap().is_some(), "{text}");
    }
    for text in [
        "2[1.5,2]",
        "2[-1]",
        "2[0]",
        "2[1e5]",
        r#"2["a",null,true,{"_placeholder":true,"num":5}]"#, // no placeholder rules outside binary packets
        r#"0{"_placeholder":true}"#,
        "0{}",
        r#"0{"a":{"b":[1,{}]}}"#,
        "3/x,1[]",
        "31[[]]",
        r#"4{}"#,
        r#"4"""#,
        r#"2/a/b?c=d,["x"]"#,
        "0/",
        "0/,",
    ] {
        assert!(dec(text).unwrap().is_some(), "{text}");
    }
    // An object with `num` but no `_placeholder` is plain data.
    let p = with_attachments(
        r#"51-["a",{"num":"x"},{"_placeholder":true,"num":0}]"#,
        &[b"z"],
    )
    .unwrap();
    assert_eq!(p.attachments.len(), 1);
    // Leading zeros in an ack id.
    assert_eq!(one(r#"2007["a"]"#).id, Some(7));
}

#[test]
fn attachment_count_is_bounded_by_the_input() {
    // Even without a configured limit, a count needs as many placeholders in the text.
    let mut d = Decoder::new(usize::MAX);
    let huge = format!(r#"5{}-["a",{{"_placeholder":true,"num":0}}]"#, u64::MAX);
    assert_eq!(
        d.decode_text(&Str::from(huge)),
        Err(DecodeError::IllegalAttachments)
    );
    let two = r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(&Str::from(two)), Ok(None));
    assert_eq!(
        r#"{"_placeholder":true,"num":0}"#.len(),
        MIN_PLACEHOLDER_LEN
    );
}

#[test]
fn text_between_attachments() {
    let mut d = Decoder::default();
    let header = r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    assert_eq!(d.decode_text(&Str::from(header)), Ok(None));
    assert_eq!(d.decode_binary(Bytes::from_static(b"1")), Ok(None));
    assert!(d.is_reconstructing());
    assert_eq!(
        d.decode_text(&Str::from(r#"2["a"]"#)),
        Err(DecodeError::UnexpectedText)
    );
    // The pending packet is dropped: the next binary message is unexpected.
    assert!(!d.is_reconstructing());
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"2")),
        Err(DecodeError::UnexpectedBinary)
    );
}

#[test]
fn binary_after_completion_is_unexpected() {
    let mut d = Decoder::default();
    assert_eq!(
        d.decode_text(&Str::from(r#"51-["a",{"_placeholder":true,"num":0}]"#)),
        Ok(None)
    );
    assert!(d.decode_binary(Bytes::from_static(b"1")).unwrap().is_some());
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"1")),
        Err(DecodeError::UnexpectedBinary)
    );
    // A failed binary header leaves nothing pending.
    assert_eq!(
        d.decode_text(&Str::from(r#"51-["a"]"#)),
        Err(DecodeError::IllegalAttachments)
    );
    assert!(!d.is_reconstructing());
    // A zero-attachment packet never becomes pending (CVE-2026-69185).
    assert!(d.decode_text(&Str::from(r#"50-["a"]"#)).is_err());
    assert_eq!(
        d.decode_binary(Bytes::from_static(b"1")),
        Err(DecodeError::UnexpectedBinary)
    );
}

#[test]
fn huge_inputs_are_rejected_cheaply() {
    // A 1 MB namespace, with and without a comma.
    let name = "a".repeat(1 << 20);
    assert_eq!(
        dec(&format!("0/{name}")),
        Err(DecodeError::InvalidNamespace)
    );
    assert_eq!(
        dec(&format!(r#"2/{name},["a"]"#)),
        Err(DecodeError::InvalidNamespace)
    );
    // The longest namespace accepted.
    let max = format!("/{}", "b".repeat(MAX_NAMESPACE_LEN - 1));
    assert_eq!(&*one(&format!("0{max}")).nsp, max);
    assert_eq!(&*one(&format!("0{max},")).nsp, max);
    assert_eq!(
        dec(&format!("0{max}b,")),
        Err(DecodeError::InvalidNamespace)
    );
    // CVE-2020-36049: 10^6 digits of attachment count or ack id.
    let digits = "1".repeat(1_000_000);
    assert_eq!(
        dec(&format!("5{digits}-[]")),
        Err(DecodeError::TooManyAttachments)
    );
    let zeros = "0".repeat(1_000_000);
    assert_eq!(
        dec(&format!("5{zeros}1-[]")),
        Err(DecodeError::TooManyAttachments)
    );
    assert_eq!(
        dec(&format!("2{digits}[\"a\"]")),
        Err(DecodeError::InvalidAckId)
    );
    // Deep nesting is bounded by serde_json's recursion limit, not the stack.
    let deep = format!(r#"2["a",{}]"#, "[".repeat(100_000));
    assert_eq!(dec(&deep), Err(DecodeError::InvalidPayload));
    let deep = format!(
        r#"51-["a",{}{{"_placeholder":true,"num":0}}{}]"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(with_attachments(&deep, &[b"x"]).is_ok());
    let deep = format!(r#"51-["a",{}]"#, r#"{"x":"#.repeat(100_000));
    assert_eq!(dec(&deep), Err(DecodeError::InvalidPayload));
}

#[test]
fn decoded_fields_are_slices_of_the_input() {
    let text = Str::from(r#"2/admin,1["a",{"b":2}]"#);
    let p = Decoder::default().decode_text(&text).unwrap().unwrap();
    let range = text.as_bytes().as_ptr_range();
    let data = p.data.unwrap();
    assert!(range.contains(&data.as_ptr()));
    assert!(range.contains(&p.nsp.as_ptr()));
    assert_eq!(&*data, r#"["a",{"b":2}]"#);
}

#[test]
fn kinds() {
    for v in 0..=6u8 {
        let kind = PacketKind::from_u8(v).unwrap();
        assert_eq!(kind as u8, v);
        assert_eq!(PacketKind::from_char(kind.as_char()), Some(kind));
        assert_eq!(kind.is_binary(), v >= 5);
    }
    assert_eq!(PacketKind::from_u8(7), None);
    assert_eq!(PacketKind::from_char(b'/'), None);
    assert_eq!(PacketKind::from_char(0), None);
}

// ---------------------------------------------------------------------------------------------
// Property tests

/// JSON values without `_placeholder` keys.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value as J;
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::from),
        any::<u64>().prop_map(J::from),
        (-1e300f64..1e300).prop_map(J::from),
        "\\PC{0,8}".prop_map(J::String),
        "[\"\\\\\u{0}-\u{1f}]{0,3}".prop_map(J::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(J::Array),
            prop::collection::btree_map("[a-z]{0,5}", inner, 0..5)
                .prop_map(|m| J::Object(m.into_iter().collect())),
        ]
    })
}

fn placeholder(n: usize) -> serde_json::Value {
    serde_json::json!({ "_placeholder": true, "num": n })
}

/// Puts `value` somewhere inside `args` (top level, in a new array or in a new object).
fn bury(args: &mut Vec<serde_json::Value>, value: serde_json::Value, at: usize, how: u8) {
    let value = match how % 3 {
        0 => value,
        1 => serde_json::Value::Array(vec![serde_json::Value::Null, value]),
        _ => serde_json::json!({ "file": value, "n": 1 }),
    };
    let at = at % (args.len() + 1);
    args.insert(at, value);
}

/// A valid packet of any kind, with its attachments.
fn any_packet() -> impl Strategy<Value = Packet> {
    let nsp = prop_oneof![Just("/".to_owned()), "/[^,]{1,12}"];
    let id = prop::option::of(prop_oneof![0u64..1000, any::<u64>()]);
    let name = prop_oneof![
        "\\PC{0,10}"
            .prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
            .prop_map(serde_json::Value::String),
        any::<i32>().prop_map(serde_json::Value::from),
    ];
    let args = prop::collection::vec(json(), 0..4);
    let attachments = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..5)
        .prop_flat_map(|atts| {
            let n = atts.len();
            (
                Just(atts),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec((any::<usize>(), any::<u8>()), n),
            )
        });
    (0u8..7, nsp, id, name, args, attachments, any::<bool>()).prop_map(
        |(kind, nsp, id, name, mut args, (atts, order, spots), string_error)| {
            let kind = PacketKind::from_u8(kind).unwrap();
            let mut attachments = Vec::new();
            if kind.is_binary() {
                for (num, (at, how)) in order.into_iter().zip(spots) {
                    bury(&mut args, placeholder(num), at, how);
                }
                attachments = atts.into_iter().map(Bytes::from).collect();
            }
            let event = matches!(kind, PacketKind::Event | PacketKind::BinaryEvent);
            if event {
                args.insert(0, name);
            }
            let object = serde_json::json!({ "message": "x", "data": args.clone() });
            let data = match kind {
                PacketKind::Connect if args.is_empty() => None,
                PacketKind::Connect => Some(object.to_string()),
                PacketKind::Disconnect => None,
                PacketKind::ConnectError if string_error => Some(r#""refused""#.to_owned()),
                PacketKind::ConnectError => Some(object.to_string()),
                _ => Some(serde_json::Value::Array(args).to_string()),
            };
            let id = match kind {
                PacketKind::Ack | PacketKind::BinaryAck => Some(id.unwrap_or(0)),
                PacketKind::Event | PacketKind::BinaryEvent => id,
                _ => None,
            };
            Packet {
                kind,
                nsp: Str::from(nsp),
                id,
                data: data.map(Str::from),
                attachments,
            }
        },
    )
}

/// Text that looks like a packet, to reach the deeper parts of the decoder.
fn near_packet() -> impl Strategy<Value = String> {
    (
        "[0-7]?([0-9]{0,3}-)?(/[a-z,]{0,4},?)?[0-9 ]{0,3}",
        r#"[\[\]{}":,a-z0-9_. -]{0,48}"#,
        prop::option::of(prop_oneof![
            Just(r#"{"_placeholder":true,"num":0}"#),
            Just(r#"{"_placeholder":true,"num":1}"#),
            Just(r#"["a",{"_placeholder":true,"num":0}]"#),
            Just(r#"["disconnect"]"#),
        ]),
    )
        .prop_map(|(head, json, extra)| format!("{head}{json}{}", extra.unwrap_or_default()))
}

#[derive(Debug, Clone)]
enum Op {
    Text(String),
    Binary(Vec<u8>),
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn packets_round_trip(p in any_packet()) {
        let text = enc(p.kind, &p.nsp, p.id, p.data.as_deref(), p.attachments.len());
        let mut d = Decoder::default();
        let mut out = d.decode_text(&Str::from(text.clone()));
        for a in &p.attachments {
            prop_assert_eq!(&out, &Ok(None), "{}", text);
            out = d.decode_binary(a.clone());
        }
        prop_assert_eq!(out, Ok(Some(p)), "{}", text);
        prop_assert!(!d.is_reconstructing());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,64}") {
        let _ = Decoder::default().decode_text(&Str::from(s));
    }

    #[test]
    fn near_packets_never_panic(s in near_packet()) {
        let mut d = Decoder::new(2);
        if let Ok(Some(p)) = d.decode_text(&Str::from(s.clone())) {
            // Whatever is accepted re-encodes to something accepted again.
            let again = enc(p.kind, &p.nsp, p.id, p.data.as_deref(), 0);
            prop_assert_eq!(Decoder::new(2).decode_text(&Str::from(again)), Ok(Some(p)), "{}", s);
        }
    }

    #[test]
    fn message_sequences_never_panic(ops in prop::collection::vec(
        prop_oneof![
            near_packet().prop_map(Op::Text),
            prop::collection::vec(any::<u8>(), 0..4).prop_map(Op::Binary),
        ],
        0..12,
    )) {
        let mut d = Decoder::new(2);
        for op in ops {
            let was = d.is_reconstructing();
            let r = match op {
                Op::Text(t) => d.decode_text(&Str::from(t)),
                Op::Binary(b) => {
                    let r = d.decode_binary(Bytes::from(b));
                    prop_assert_eq!(r.is_err(), !was);
                    r
                }
            };
            if let Ok(Some(p)) = &r {
                prop_assert!(p.attachments.len() <= 2);
                prop_assert!(!d.is_reconstructing());
            }
            if r.is_err() {
                prop_assert!(!d.is_reconstructing());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// msgpack

#[cfg(feature = "msgpack")]
mod msgpack_tests {
    use rmpv::Value;

    use super::*;
    use crate::socketio::msgpack::{self, MsgpackPacket};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn bytes_of(frame: Frame) -> Bytes {
        match frame {
            Frame::Binary(b) => b,
            Frame::Text(t) => panic!("text frame {t:?}"),
        }
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (Value::from(*k), v.clone()))
                .collect(),
        )
    }

    fn mp(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<Value>) -> MsgpackPacket {
        MsgpackPacket {
            kind,
            nsp: Str::from(nsp),
            id,
            data,
        }
    }

    /// Byte strings printed by `socket.io-msgpack-parser` 3.0.2 (`new Encoder().encode(p)[0]`)
    /// for the given packet objects, keys in the order type, nsp, data, id.
    #[test]
    fn encode_matches_the_npm_package() {
        let mixed = Value::Array(vec![
            "bin".into(),
            Value::Binary(vec![1, 2, 3]),
            Value::from(-1),
            Value::from(-200),
            Value::from(300),
            Value::from(70000),
            Value::from(5_000_000_000u64),
            Value::F64(1.5),
            Value::Boolean(true),
            Value::Boolean(false),
            Value::Nil,
            Value::from("x".repeat(40)),
            Value::from("é"),
        ]);
        let cases = [
            (
                // {type:2, nsp:"/", data:["hello",{a:1}], id:3}
                mp(
                    PacketKind::Event,
                    "/",
                    Some(3),
                    Some(Value::Array(vec!["hello".into(), map(&[("a", 1.into())])])),
                ),
                "84a47479706502a36e7370a12fa46461746192a568656c6c6f81a16101a2696403",
            ),
            (
                // {type:0, nsp:"/", data:{sid:"abc"}}
                mp(
                    PacketKind::Connect,
                    "/",
                    None,
                    Some(map(&[("sid", "abc".into())])),
                ),
                "83a47479706500a36e7370a12fa46461746181a3736964a3616263",
            ),
            (
                // {type:1, nsp:"/admin"}
                mp(PacketKind::Disconnect, "/admin", None, None),
                "82a47479706501a36e7370a62f61646d696e",
            ),
            (
                // {type:4, nsp:"/", data:{message:"Invalid namespace"}}
                mp(
                    PacketKind::ConnectError,
                    "/",
                    None,
                    Some(map(&[("message", "Invalid namespace".into())])),
                ),
                "83a47479706504a36e7370a12fa46461746181a76d657373616765b1496e76616c6964206e616d657370616365",
            ),
            (
                // {type:2, nsp:"/chat", data:["bin", Buffer.from([1,2,3]), -1, -200, 300, 70000,
                //  5000000000, 1.5, true, false, null, "x".repeat(40), "é"]}
                mp(PacketKind::Event, "/chat", None, Some(mixed)),
                "83a47479706502a36e7370a52f63686174a4646174619da362696ec403010203ffd1ff38cd012cce00011170cf000000012a05f200cb3ff8000000000000c3c2c0d92878787878787878787878787878787878787878787878787878787878787878787878787878787878a2c3a9",
            ),
            (
                // {type:3, nsp:"/", data:[], id:4294967296}
                mp(
                    PacketKind::Ack,
                    "/",
                    Some(1 << 32),
                    Some(Value::Array(vec![])),
                ),
                "84a47479706503a36e7370a12fa46461746190a26964cf0000000100000000",
            ),
            (
                // {type:3, nsp:"/", data:[[1,{k:"v"}]], id:0}
                mp(
                    PacketKind::Ack,
                    "/",
                    Some(0),
                    Some(Value::Array(vec![Value::Array(vec![
                        1.into(),
                        map(&[("k", "v".into())]),
                    ])])),
                ),
                "84a47479706503a36e7370a12fa46461746191920181a16ba176a2696400",
            ),
        ];
        for (p, expected) in cases {
            let bytes = bytes_of(msgpack::encode(p.kind, &p.nsp, p.id, p.data.as_ref()));
            assert_eq!(hex(&bytes), expected, "{p:?}");
            assert_eq!(msgpack::decode(&bytes), Ok(p));
        }
        // {type:2, nsp:"/", data:["b", Buffer.alloc(300, 7)]}: bin 16.
        let data = Value::Array(vec!["b".into(), Value::Binary(vec![7; 300])]);
        let bytes = bytes_of(msgpack::encode(PacketKind::Event, "/", None, Some(&data)));
        let expected = format!(
            "83a47479706502a36e7370a12fa46461746192a162c5012c{}",
            "07".repeat(300)
        );
        assert_eq!(hex(&bytes), expected);
        // Binary types are written as their plain type.
        let a = msgpack::encode(PacketKind::BinaryEvent, "/", None, Some(&data));
        assert_eq!(bytes_of(a), bytes);
    }

    /// What the JS client (`socket.io-client` with `socket.io-msgpack-parser`) sends, as printed
    /// by the npm package for the same objects.
    #[test]
    fn decode_what_the_js_client_sends() {
        // {type:0, data:undefined, nsp:"/"}: CONNECT without auth.
        assert_eq!(
            msgpack::decode(&unhex("83a47479706500a464617461d40000a36e7370a12f")),
            Ok(mp(PacketKind::Connect, "/", None, None))
        );
        // {type:2, data:["up", ArrayBuffer [9,8]], options:{compress:true}, nsp:"/", id:7}
        assert_eq!(
            msgpack::decode(&unhex(
                "85a47479706502a46461746192a27570c702000908a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12fa2696407"
            )),
            Ok(mp(
                PacketKind::Event,
                "/",
                Some(7),
                Some(Value::Array(vec!["up".into(), Value::Binary(vec![9, 8])]))
            ))
        );
        // {type:2, data:["up", Uint8Array [5]], nsp:"/"}
        assert_eq!(
            msgpack::decode(&unhex(
                "83a47479706502a46461746192a27570c7010005a36e7370a12f"
            )),
            Ok(mp(
                PacketKind::Event,
                "/",
                None,
                Some(Value::Array(vec!["up".into(), Value::Binary(vec![5])]))
            ))
        );
        // {type:2, data:["d", new Date(0)], nsp:"/"}: a Date stays an extension value.
        assert_eq!(
            msgpack::decode(&unhex(
                "83a47479706502a46461746192a164d7000000000000000000a36e7370a12f"
            )),
            Ok(mp(
                PacketKind::Event,
                "/",
                None,
                Some(Value::Array(vec!["d".into(), Value::Ext(0, vec![0; 8])]))
            ))
        );
    }

    #[test]
    fn decode_what_python_socketio_sends() {
        // msgpack.dumps({'type': 0, 'data': None, 'nsp': '/'})
        let p = map(&[
            ("type", 0.into()),
            ("data", Value::Nil),
            ("nsp", "/".into()),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &p).unwrap();
        assert_eq!(
            msgpack::decode(&bytes),
            Ok(mp(PacketKind::Connect, "/", None, None))
        );
        // `id` as an integral float, `undefined` id.
        let p = map(&[
            ("type", 3.into()),
            ("nsp", "/".into()),
            ("data", Value::Array(vec![])),
            ("id", Value::F64(5.0)),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &p).unwrap();
        assert_eq!(msgpack::decode(&bytes).unwrap().id, Some(5));
    }

    #[test]
    fn msgpack_reject_list() {
        use DecodeError::*;
        let ev = || Value::Array(vec!["a".into()]);
        let cases: Vec<(Value, DecodeError)> = vec![
            (Value::Array(vec![2.into(), "/".into()]), UnknownType),
            (map(&[("nsp", "/".into()), ("data", ev())]), UnknownType),
            (
                map(&[("type", 5.into()), ("nsp", "/".into()), ("data", ev())]),
                UnknownType,
            ),
            (
                map(&[
                    ("type", 6.into()),
                    ("nsp", "/".into()),
                    ("data", ev()),
                    ("id", 1.into()),
                ]),
                UnknownType,
            ),
            (map(&[("type", 9.into()), ("nsp", "/".into())]), UnknownType),
            (
                map(&[("type", (-1).into()), ("nsp", "/".into())]),
                UnknownType,
            ),
            (
                map(&[("type", "2".into()), ("nsp", "/".into()), ("data", ev())]),
                UnknownType,
            ),
            (
                map(&[
                    ("type", Value::F64(2.5)),
                    ("nsp", "/".into()),
                    ("data", ev()),
                ]),
                UnknownType,
            ),
            (map(&[("type", 2.into()), ("data", ev())]), InvalidNamespace),
            (
                map(&[("type", 2.into()), ("nsp", Value::Nil), ("data", ev())]),
                InvalidNamespace,
            ),
            (
                map(&[("type", 2.into()), ("nsp", 1.into()), ("data", ev())]),
                InvalidNamespace,
            ),
            (
                map(&[("type", 2.into()), ("nsp", "admin".into()), ("data", ev())]),
                InvalidNamespace,
            ),
            (
                map(&[
                    ("type", 0.into()),
                    ("nsp", format!("/{}", "a".repeat(MAX_NAMESPACE_LEN)).into()),
                ]),
                InvalidNamespace,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", ev()),
                    ("id", (-1).into()),
                ]),
                InvalidAckId,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", ev()),
                    ("id", "1".into()),
                ]),
                InvalidAckId,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", ev()),
                    ("id", Value::F64(1.5)),
                ]),
                InvalidAckId,
            ),
            (
                map(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![])),
                ]),
                InvalidAckId,
            ),
            (
                map(&[("type", 0.into()), ("nsp", "/".into()), ("id", 1.into())]),
                InvalidAckId,
            ),
            (
                map(&[("type", 1.into()), ("nsp", "/".into()), ("id", 1.into())]),
                InvalidAckId,
            ),
            (
                map(&[
                    ("type", 0.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 0.into()),
                    ("nsp", "/".into()),
                    ("data", "str".into()),
                ]),
                InvalidPayload,
            ),
            (
                map(&[("type", 1.into()), ("nsp", "/".into()), ("data", map(&[]))]),
                InvalidPayload,
            ),
            (
                map(&[("type", 4.into()), ("nsp", "/".into())]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 4.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[("type", 2.into()), ("nsp", "/".into())]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Nil),
                ]),
                InvalidPayload,
            ),
            (
                map(&[("type", 2.into()), ("nsp", "/".into()), ("data", map(&[]))]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![true.into()])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![Value::Nil, "a".into()])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    (
                        "data",
                        Value::Array(vec![map(&[("toString", "foo".into())])]),
                    ),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec![Value::Binary(b"a".to_vec())])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec!["disconnect".into()])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Array(vec!["newListener".into()])),
                ]),
                InvalidPayload,
            ),
            (
                map(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", map(&[])),
                    ("id", 1.into()),
                ]),
                InvalidPayload,
            ),
        ];
        for (value, error) in cases {
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, &value).unwrap();
            assert_eq!(msgpack::decode(&bytes), Err(error), "{value}");
        }
    }

    #[test]
    fn msgpack_malformed_bytes() {
        let event = unhex("83a47479706502a36e7370a12fa46461746191a161");
        assert!(msgpack::decode(&event).is_ok());
        // Every truncation fails, and so does a trailing byte.
        for n in 0..event.len() {
            assert_eq!(
                msgpack::decode(&event[..n]),
                Err(DecodeError::InvalidPayload),
                "{n}"
            );
        }
        let mut trailing = event.clone();
        trailing.push(0xc0);
        assert_eq!(msgpack::decode(&trailing), Err(DecodeError::InvalidPayload));
        for bytes in [
            &[0xc1][..],
            // Lengths far beyond the input: no allocation of that size.
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0xa0],
            &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
            &[0xc6, 0xff, 0xff, 0xff, 0xff],
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x00],
            // Invalid UTF-8.
            &[0x81, 0xa1, 0xff, 0x00],
        ] {
            assert_eq!(
                msgpack::decode(bytes),
                Err(DecodeError::InvalidPayload),
                "{bytes:?}"
            );
        }
        // Nesting beyond the limit.
        let mut deep = unhex("83a47479706502a36e7370a12fa464617461");
        deep.extend(std::iter::repeat_n(0x91, 10_000));
        deep.push(0xc0);
        assert_eq!(msgpack::decode(&deep), Err(DecodeError::InvalidPayload));
        // Nesting at the limit.
        let mut ok = unhex("83a47479706502a36e7370a12fa46461746192a161");
        ok.extend(std::iter::repeat_n(0x91, msgpack::MAX_DEPTH - 2));
        ok.push(0xc0);
        assert!(msgpack::decode(&ok).is_ok());
    }

    /// msgpack values that survive the trip (no NaN, no extension type 0, which notepack uses
    /// for `undefined`, `ArrayBuffer` and `Date`).
    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e30f32..1e30).prop_map(Value::F32),
            (-1e300f64..1e300).prop_map(Value::F64),
            "\\PC{0,40}".prop_map(Value::from),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Binary),
            (1i8..=127, prop::collection::vec(any::<u8>(), 0..20))
                .prop_map(|(t, d)| Value::Ext(t, d)),
        ];
        leaf.prop_recursive(4, 64, 20, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
                prop::collection::vec((inner.clone(), inner), 0..18).prop_map(Value::Map),
            ]
        })
    }

    fn any_msgpack_packet() -> impl Strategy<Value = MsgpackPacket> {
        (
            0u8..5,
            prop_oneof![Just("/".to_owned()), "/\\PC{0,40}"],
            any::<u64>(),
            any::<bool>(),
            prop_oneof![
                "\\PC{0,10}"
                    .prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str()))
                    .prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("nan", |f| !f.is_nan())
                    .prop_map(Value::F64),
            ],
            prop::collection::vec(value(), 0..5),
            prop::collection::vec(("[a-z]{1,5}", value()), 0..5),
        )
            .prop_map(|(kind, nsp, id, with_id, name, mut args, entries)| {
                let kind = PacketKind::from_u8(kind).unwrap();
                let object = Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect());
                let (id, data) = match kind {
                    PacketKind::Connect => (None, with_id.then_some(object)),
                    PacketKind::Disconnect => (None, None),
                    PacketKind::ConnectError if with_id => (None, Some("no".into())),
                    PacketKind::ConnectError => (None, Some(object)),
                    PacketKind::Ack => (Some(id), Some(Value::Array(args))),
                    _ => {
                        args.insert(0, name);
                        (with_id.then_some(id), Some(Value::Array(args)))
                    }
                };
                MsgpackPacket {
                    kind,
                    nsp: Str::from(nsp),
                    id,
                    data,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn msgpack_round_trip(p in any_msgpack_packet()) {
            let bytes = bytes_of(msgpack::encode(p.kind, &p.nsp, p.id, p.data.as_ref()));
            prop_assert_eq!(msgpack::decode(&bytes), Ok(p));
        }

        #[test]
        fn msgpack_values_read_back(v in value()) {
            // The reader agrees with rmpv's writer on every value.
            let p = MsgpackPacket {
                kind: PacketKind::Ack,
                nsp: Str::from_static("/"),
                id: Some(1),
                data: Some(Value::Array(vec![v])),
            };
            let bytes = bytes_of(msgpack::encode(p.kind, &p.nsp, p.id, p.data.as_ref()));
            prop_assert_eq!(msgpack::decode(&bytes), Ok(p));
        }

        #[test]
        fn msgpack_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = msgpack::decode(&bytes);
        }

        #[test]
        fn msgpack_mutations_never_panic(
            p in any_msgpack_packet(),
            flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = bytes_of(msgpack::encode(p.kind, &p.nsp, p.id, p.data.as_ref())).to_vec();
            for (at, b) in flips {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            let _ = msgpack::decode(&bytes);
        }
    }
}
