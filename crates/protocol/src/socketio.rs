//! Socket.IO protocol v5 packets (the default JSON format), and binary attachment reassembly.
//!
//! ```text
//! packet = type [ attachments "-" ] [ nsp "," ] [ ack-id ] [ json ]
//! ```
//!
//! The decoder is strict: it rejects everything Node's parser rejects, and also what it
//! wrongly accepts (whitespace or non-digit ack ids, events without data, zero declared
//! attachments). The JSON payload is validated but kept as text, so event arguments are only
//! deserialized when a handler asks for a type.

use bytes::Bytes;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::Str;

/// The seven Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client), or its acceptance (server).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: an acknowledgement.
    Ack = 3,
    /// `4`: a refused namespace connection (server to client).
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// The type for a digit character.
    pub fn from_char(c: u8) -> Option<Self> {
        Some(match c {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// Whether packets of this type carry binary attachments.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

/// Event names a client may not send (they are reserved for the server's own events).
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The longest namespace name accepted, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 1024;

/// A decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The type.
    pub kind: PacketKind,
    /// The namespace (`/` when the packet names none).
    pub nsp: Str,
    /// The acknowledgement id.
    pub id: Option<u64>,
    /// The JSON payload, as received (validated).
    pub data: Option<Str>,
    /// The binary attachments, in order.
    pub attachments: Vec<Bytes>,
}

/// Why a packet was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The type is not a digit `0`..=`6`.
    #[error("unknown packet type")]
    UnknownType,
    /// A malformed attachment count, or an attachment count on a non-binary packet.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments than allowed.
    #[error("too many attachments")]
    TooManyAttachments,
    /// A namespace that is too long.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// A malformed or missing acknowledgement id, or one on a packet type that takes none.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The payload is not valid JSON, or not what the packet type requires.
    #[error("invalid payload")]
    InvalidPayload,
    /// A text packet arrived while binary attachments were awaited.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary frame arrived while no binary packet was pending.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
}

/// The per-connection decoder: parses text packets and collects the binary attachments of
/// binary packets.
#[derive(Debug)]
pub struct Decoder {
    max_attachments: usize,
    pending: Option<(Packet, usize)>,
}

impl Decoder {
    /// A decoder accepting at most `max_attachments` attachments per packet (Node: 10).
    pub fn new(max_attachments: usize) -> Self {
        Decoder {
            max_attachments,
            pending: None,
        }
    }

    /// Whether attachments are awaited.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// Decodes a text message (the Engine.IO `message` data, without its `4`). `Ok(None)`
    /// means the packet waits for its attachments.
    pub fn decode_text(&mut self, text: &Str) -> Result<Option<Packet>, DecodeError> {
        if self.pending.is_some() {
            self.pending = None;
            return Err(DecodeError::UnexpectedText);
        }
        let (packet, attachments) = parse(text, self.max_attachments)?;
        if attachments == 0 {
            return Ok(Some(packet));
        }
        self.pending = Some((packet, attachments));
        Ok(None)
    }

    /// Decodes a binary message: the next attachment of the pending packet.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some((mut packet, expected)) = self.pending.take() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        packet.attachments.push(data);
        if packet.attachments.len() == expected {
            return Ok(Some(packet));
        }
        self.pending = Some((packet, expected));
        Ok(None)
    }
}

/// Reads ASCII digits at `*pos` as a `u64` (at least one digit, no overflow).
fn digits(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let start = *pos;
    let mut n: u64 = 0;
    while let Some(&b) = bytes.get(*pos) {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        *pos += 1;
    }
    (*pos > start).then_some(n)
}

/// Parses a text packet; returns the packet and the number of attachments it awaits.
fn parse(text: &Str, max_attachments: usize) -> Result<(Packet, usize), DecodeError> {
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|&c| PacketKind::from_char(c))
        .ok_or(DecodeError::UnknownType)?;
    let mut pos = 1;

    let mut attachments = 0usize;
    if kind.is_binary() {
        let n = digits(bytes, &mut pos).ok_or(DecodeError::IllegalAttachments)?;
        if bytes.get(pos) != Some(&b'-') || n == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        pos += 1;
        attachments = usize::try_from(n).map_err(|_| DecodeError::TooManyAttachments)?;
        if attachments > max_attachments {
            return Err(DecodeError::TooManyAttachments);
        }
    }

    let mut nsp = Str::from_static("/");
    if bytes.get(pos) == Some(&b'/') {
        let end = bytes
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == b','))
            .map_or(bytes.len(), |i| pos + i);
        if end - pos > MAX_NAMESPACE_LEN {
            return Err(DecodeError::InvalidNamespace);
        }
        // `/` and `,` are ASCII, so both ends are char boundaries.
        nsp = text
            .get(pos..end)
            .map(|s| text.slice_ref(s))
            .ok_or(DecodeError::InvalidNamespace)?;
        pos = if end < bytes.len() { end + 1 } else { end };
    }

    let id = match bytes.get(pos) {
        Some(b) if b.is_ascii_digit() => {
            Some(digits(bytes, &mut pos).ok_or(DecodeError::InvalidAckId)?)
        }
        _ => None,
    };

    let data = match text.get(pos..) {
        Some("") => None,
        Some(rest) => Some(text.slice_ref(rest)),
        None => return Err(DecodeError::InvalidPayload),
    };

    match kind {
        PacketKind::Ack | PacketKind::BinaryAck if id.is_none() => {
            return Err(DecodeError::InvalidAckId);
        }
        PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError if id.is_some() => {
            return Err(DecodeError::InvalidAckId);
        }
        _ => {}
    }
    validate(kind, data.as_deref(), attachments)?;
    Ok((
        Packet {
            kind,
            nsp,
            id,
            data,
            attachments: Vec::with_capacity(attachments),
        },
        attachments,
    ))
}

/// Checks the payload against the rules of the packet type.
fn validate(kind: PacketKind, data: Option<&str>, attachments: usize) -> Result<(), DecodeError> {
    let invalid = DecodeError::InvalidPayload;
    // serde_json skips leading whitespace; the protocol has none (Node wrongly reads it as
    // part of the ack id).
    if data.is_some_and(|d| d.starts_with(|c: char| c.is_ascii_whitespace())) {
        return Err(invalid);
    }
    match kind {
        PacketKind::Connect => match data {
            None => Ok(()),
            Some(d) if d.starts_with('{') => serde_json::from_str::<IgnoredAny>(d)
                .map(drop)
                .map_err(|_| invalid),
            Some(_) => Err(invalid),
        },
        PacketKind::Disconnect => match data {
            None => Ok(()),
            Some(_) => Err(invalid),
        },
        PacketKind::ConnectError => match data {
            Some(d) if d.starts_with('{') || d.starts_with('"') => {
                serde_json::from_str::<IgnoredAny>(d)
                    .map(drop)
                    .map_err(|_| invalid)
            }
            _ => Err(invalid),
        },
        PacketKind::Event | PacketKind::BinaryEvent => {
            let d = data.ok_or(invalid.clone())?;
            let args: Vec<&RawValue> = serde_json::from_str(d).map_err(|_| invalid.clone())?;
            let name = args.first().ok_or(invalid.clone())?;
            let name = name.get();
            if name.starts_with('"') {
                let name: String = serde_json::from_str(name).map_err(|_| invalid.clone())?;
                if RESERVED_EVENTS.contains(&name.as_str()) {
                    return Err(invalid);
                }
            } else if serde_json::from_str::<f64>(name).is_err() {
                return Err(invalid);
            }
            check_placeholders(d, kind.is_binary(), attachments)
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let d = data.ok_or(invalid.clone())?;
            if !d.starts_with('[') {
                return Err(invalid);
            }
            check_placeholders(d, kind.is_binary(), attachments)
        }
    }
}

/// Validates the JSON and, for binary packets, every placeholder: an object with a
/// `_placeholder` key must be exactly `{"_placeholder":true,"num":N}` with an integer
/// `N < attachments` (CVE-2022-2421).
fn check_placeholders(data: &str, binary: bool, attachments: usize) -> Result<(), DecodeError> {
    if !binary {
        return serde_json::from_str::<IgnoredAny>(data)
            .map(drop)
            .map_err(|_| DecodeError::InvalidPayload);
    }
    let mut de = serde_json::Deserializer::from_str(data);
    de.deserialize_any(PlaceholderCheck { attachments })
        .and_then(|()| de.end())
        .map_err(|_| DecodeError::IllegalAttachments)
}

/// Walks JSON, failing on any invalid placeholder. Depth is bounded by serde_json's
/// recursion limit.
#[derive(Clone, Copy)]
struct PlaceholderCheck {
    attachments: usize,
}

impl<'de> de::DeserializeSeed<'de> for PlaceholderCheck {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlaceholderCheck {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut placeholder: Option<bool> = None;
        let mut num: Option<Option<u64>> = None;
        let mut other = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                "_placeholder" => {
                    let v: serde_json::Value = map.next_value()?;
                    placeholder = Some(v == serde_json::Value::Bool(true));
                }
                "num" => {
                    let v: serde_json::Value = map.next_value()?;
                    num = Some(v.as_u64());
                }
                _ => {
                    other = true;
                    map.next_value_seed(self)?;
                }
            }
        }
        match placeholder {
            None => Ok(()),
            Some(true) if !other => match num {
                Some(Some(n)) if usize::try_from(n).is_ok_and(|n| n < self.attachments) => Ok(()),
                _ => Err(de::Error::custom("illegal attachments")),
            },
            Some(_) => Err(de::Error::custom("illegal attachments")),
        }
    }
}

/// The msgpack format of the npm `socket.io-msgpack-parser`: each packet is one msgpack map
/// `{type, nsp, data, id}` sent as one binary message, binary values inline.
#[cfg(feature = "msgpack")]
pub mod msgpack {
    use rmpv::Value;

    use super::{DecodeError, MAX_NAMESPACE_LEN, PacketKind, RESERVED_EVENTS};
    use crate::{Str, engine::Frame};

    /// A decoded msgpack packet.
    #[derive(Debug, Clone, PartialEq)]
    pub struct MsgpackPacket {
        /// The type (never a binary type: msgpack carries binary inline).
        pub kind: PacketKind,
        /// The namespace.
        pub nsp: Str,
        /// The acknowledgement id.
        pub id: Option<u64>,
        /// The payload.
        pub data: Option<Value>,
    }

    /// Decodes a packet.
    pub fn decode(bytes: &[u8]) -> Result<MsgpackPacket, DecodeError> {
        let mut rd = bytes;
        let value = rmpv::decode::read_value_with_max_depth(&mut rd, 128)
            .map_err(|_| DecodeError::InvalidPayload)?;
        if !rd.is_empty() {
            return Err(DecodeError::InvalidPayload);
        }
        let Value::Map(entries) = value else {
            return Err(DecodeError::InvalidPayload);
        };
        let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
        for (k, v) in entries {
            match k.as_str() {
                Some("type") => {
                    kind = v
                        .as_u64()
                        .and_then(|t| u8::try_from(t).ok())
                        .and_then(|t| PacketKind::from_char(b'0'.saturating_add(t)))
                }
                Some("nsp") => nsp = v.as_str().map(str::to_owned),
                Some("id") => match v {
                    Value::Nil => {}
                    v => id = Some(v.as_u64().ok_or(DecodeError::InvalidAckId)?),
                },
                Some("data") => data = Some(v),
                _ => {}
            }
        }
        let kind = kind.ok_or(DecodeError::UnknownType)?;
        let nsp = nsp.unwrap_or_else(|| "/".to_owned());
        if !nsp.starts_with('/') || nsp.len() > MAX_NAMESPACE_LEN {
            return Err(DecodeError::InvalidNamespace);
        }
        let data = data.filter(|d| !d.is_nil());
        let invalid = DecodeError::InvalidPayload;
        match kind {
            PacketKind::Connect => {
                if data.as_ref().is_some_and(|d| !d.is_map()) {
                    return Err(invalid);
                }
            }
            PacketKind::Disconnect => {
                if data.is_some() {
                    return Err(invalid);
                }
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                let Some(Value::Array(args)) = &data else {
                    return Err(invalid);
                };
                match args.first() {
                    Some(Value::String(s)) => {
                        let name = s.as_str().ok_or(invalid.clone())?;
                        if RESERVED_EVENTS.contains(&name) {
                            return Err(invalid);
                        }
                    }
                    Some(v) if v.is_number() => {}
                    _ => return Err(invalid),
                }
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                if !matches!(data, Some(Value::Array(_))) {
                    return Err(invalid);
                }
                if id.is_none() {
                    return Err(DecodeError::InvalidAckId);
                }
            }
            PacketKind::ConnectError => {}
        }
        let kind = match kind {
            PacketKind::BinaryEvent => PacketKind::Event,
            PacketKind::BinaryAck => PacketKind::Ack,
            k => k,
        };
        Ok(MsgpackPacket {
            kind,
            nsp: Str::from(nsp),
            id,
            data,
        })
    }

    /// Encodes a packet as a binary frame, with the keys `socket.io-msgpack-parser` writes.
    pub fn encode(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<&Value>) -> Frame {
        let mut entries = vec![
            (Value::from("type"), Value::from(kind as u8)),
            (Value::from("nsp"), Value::from(nsp)),
        ];
        if let Some(d) = data {
            entries.push((Value::from("data"), d.clone()));
        }
        if let Some(id) = id {
            entries.push((Value::from("id"), Value::from(id)));
        }
        let mut out = Vec::with_capacity(32);
        // Writing into a Vec cannot fail.
        let _ = rmpv::encode::write_value(&mut out, &Value::Map(entries));
        Frame::Binary(out.into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    fn decode_one(text: &str) -> Result<Option<Packet>, DecodeError> {
        Decoder::new(10).decode_text(&Str::from(text.to_owned()))
    }

    #[test]
    fn spec_examples() {
        let p = decode_one("0").unwrap().unwrap();
        assert_eq!((p.kind, &*p.nsp, p.data), (PacketKind::Connect, "/", None));
        let p = decode_one(r#"0/admin,{"token":"123"}"#).unwrap().unwrap();
        assert_eq!(&*p.nsp, "/admin");
        assert_eq!(p.data.as_deref(), Some(r#"{"token":"123"}"#));
        // Type 4 is CONNECT_ERROR, whose data must be an object or a string.
        assert!(decode_one("40/custom").is_err());
        let p = decode_one("0/custom").unwrap().unwrap();
        assert_eq!((&*p.nsp, p.data), ("/custom", None));
        let p = decode_one(r#"2["foo"]"#).unwrap().unwrap();
        assert_eq!((p.kind, p.id), (PacketKind::Event, None));
        let p = decode_one(r#"212["foo"]"#).unwrap().unwrap();
        assert_eq!(p.id, Some(12));
        let p = decode_one(r#"3/admin,13["bar"]"#).unwrap().unwrap();
        assert_eq!(
            (p.kind, &*p.nsp, p.id),
            (PacketKind::Ack, "/admin", Some(13))
        );
        let p = decode_one("1/admin,").unwrap().unwrap();
        assert_eq!((p.kind, &*p.nsp), (PacketKind::Disconnect, "/admin"));
        let p = decode_one("1/custom").unwrap().unwrap();
        assert_eq!(&*p.nsp, "/custom");
        let p = decode_one(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.id, Some(456));
        let p = decode_one(r#"4{"message":"Not authorized"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(p.kind, PacketKind::ConnectError);
        let p = decode_one("2[42]").unwrap().unwrap();
        assert_eq!(p.data.as_deref(), Some("[42]"));
    }

    #[test]
    fn binary_reassembly() {
        let mut d = Decoder::new(10);
        let text = Str::from(
            r#"52-/admin,7["baz",{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]"#
                .to_owned(),
        );
        assert_eq!(d.decode_text(&text), Ok(None));
        assert!(d.is_reconstructing());
        assert_eq!(d.decode_binary(Bytes::from_static(&[1])), Ok(None));
        let p = d.decode_binary(Bytes::from_static(&[2])).unwrap().unwrap();
        assert_eq!(
            (p.kind, &*p.nsp, p.id),
            (PacketKind::BinaryEvent, "/admin", Some(7))
        );
        assert_eq!(
            p.attachments,
            vec![Bytes::from_static(&[1]), Bytes::from_static(&[2])]
        );
        assert!(!d.is_reconstructing());
        assert_eq!(
            d.decode_binary(Bytes::from_static(&[3])),
            Err(DecodeError::UnexpectedBinary)
        );
        // Text while reconstructing.
        let text = Str::from(r#"51-["a",{"_placeholder":true,"num":0}]"#.to_owned());
        assert_eq!(d.decode_text(&text), Ok(None));
        assert_eq!(
            d.decode_text(&Str::from(r#"2["a"]"#.to_owned())),
            Err(DecodeError::UnexpectedText)
        );
        let p = decode_one(r#"61-15["bar",{"_placeholder":true,"num":0}]"#);
        assert_eq!(p, Ok(None));
    }

    #[test]
    fn reject_list() {
        let bad = [
            "",
            "abc",
            "9",
            "7",
            "2{}",
            r#"2"x""#,
            "2[]",
            r#"2[{"toString":"foo"}]"#,
            "2[true]",
            r#"2[null,"a"]"#,
            r#"2["disconnect"]"#,
            r#"2["connect"]"#,
            r#"2["newListener"]"#,
            r#"2 ["a"]"#,
            r#"21 2["a"]"#,
            r#"2abc["a"]"#,
            r#"299999999999999999999999["a"]"#,
            r#"3["a"]"#,
            "3",
            r#"0"str""#,
            "0[1]",
            "1/admin,{}",
            "2",
            "2/admin,",
            r#"0 {}"#,
            r#"51-["a",{"_placeholder":true,"num":"splice"}]"#,
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            r#"51-["a",{"_placeholder":true,"num":null}]"#,
            r#"51-["a",{"_placeholder":"true","num":0}]"#,
            r#"51-["a",{"_placeholder":true}]"#,
            r#"51-["a",{"_placeholder":true,"num":0,"x":1}]"#,
            r#"50-["a"]"#,
            r#"5999999-["a"]"#,
            r#"5-1-["a"]"#,
            r#"5x-["a"]"#,
            r#"5["a"]"#,
            r#"511-["a"]"#,
            r#"21-["a"]"#,
            "4",
            "41/a,",
            "01",
            r#"31 ["a"]"#,
            r#"2["a",]"#,
            r#"42["a"]"#,
        ];
        for b in bad {
            let r = decode_one(b);
            assert!(r.is_err(), "{b:?} was accepted: {r:?}");
        }
        let long = format!("0/{}", "a".repeat(MAX_NAMESPACE_LEN + 1));
        assert_eq!(decode_one(&long), Err(DecodeError::InvalidNamespace));
        assert_eq!(
            decode_one(r#"511-["a"]"#),
            Err(DecodeError::TooManyAttachments)
        );
    }

    #[test]
    fn error_and_numeric_events_are_valid() {
        assert!(decode_one(r#"2["error","x"]"#).unwrap().is_some());
        assert!(decode_one(r#"2["__proto__"]"#).unwrap().is_some());
        assert!(decode_one("2[1.5,2]").unwrap().is_some());
        assert!(decode_one("3/x,1[]").unwrap().is_some());
    }

    fn encode(
        kind: PacketKind,
        nsp: &str,
        id: Option<u64>,
        data: Option<&str>,
        n: usize,
    ) -> String {
        let mut s = String::new();
        s.push((b'0' + kind as u8) as char);
        if n > 0 {
            s.push_str(&format!("{n}-"));
        }
        if nsp != "/" {
            s.push_str(nsp);
            s.push(',');
        }
        if let Some(id) = id {
            s.push_str(&id.to_string());
        }
        s.push_str(data.unwrap_or_default());
        s
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,64}") {
            let mut d = Decoder::new(10);
            let _ = d.decode_text(&Str::from(s));
            let _ = d.decode_binary(Bytes::from_static(b"x"));
        }

        #[test]
        fn near_valid_text_never_panics(prefix in "[0-6][0-9-]{0,4}(/[a-z,]{0,4})?[0-9 ]{0,3}", json in "[\\[\\]{}\":,a-z0-9_ ]{0,40}") {
            let _ = Decoder::new(10).decode_text(&Str::from(format!("{prefix}{json}")));
        }

        #[test]
        fn event_round_trip(nsp in "(/[a-z]{1,8})?", id in proptest::option::of(0u64..u64::MAX), name in "[a-z]{1,10}", arg in 0i64..1000, n in 0usize..4) {
            let nsp = if nsp.is_empty() { "/".to_owned() } else { nsp };
            let mut args = format!("[\"{name}\",{arg}");
            for i in 0..n {
                args.push_str(&format!(",{{\"_placeholder\":true,\"num\":{i}}}"));
            }
            args.push(']');
            let kind = if n > 0 { PacketKind::BinaryEvent } else { PacketKind::Event };
            let text = encode(kind, &nsp, id, Some(&args), n);
            let mut d = Decoder::new(10);
            let mut out = d.decode_text(&Str::from(text)).unwrap();
            for i in 0..n {
                prop_assert!(out.is_none());
                out = d.decode_binary(Bytes::from(vec![i as u8])).unwrap();
            }
            let p = out.unwrap();
            prop_assert_eq!(p.kind, kind);
            prop_assert_eq!(&*p.nsp, nsp.as_str());
            prop_assert_eq!(p.id, id);
            prop_assert_eq!(p.data.as_deref(), Some(args.as_str()));
            prop_assert_eq!(p.attachments.len(), n);
        }
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_wire_format() {
        use rmpv::Value;
        // socket.io-msgpack-parser 3.0.2: {type:2, nsp:"/", data:["hello",{a:1}], id:3}
        let frame = msgpack::encode(
            PacketKind::Event,
            "/",
            Some(3),
            Some(&Value::Array(vec![
                Value::from("hello"),
                Value::Map(vec![(Value::from("a"), Value::from(1))]),
            ])),
        );
        let crate::engine::Frame::Binary(bytes) = frame else {
            panic!()
        };
        assert_eq!(
            hex(&bytes),
            "84a47479706502a36e7370a12fa46461746192a568656c6c6f81a16101a26964 03".replace(' ', "")
        );
        let p = msgpack::decode(&bytes).unwrap();
        assert_eq!((p.kind, &*p.nsp, p.id), (PacketKind::Event, "/", Some(3)));
        assert!(msgpack::decode(&[0x93, 1, 2, 3]).is_err());
        assert!(msgpack::decode(&[]).is_err());
        assert!(msgpack::decode(&[0xc1]).is_err());
    }

    #[cfg(feature = "msgpack")]
    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
