//! Socket.IO protocol v5 packets in the default (JSON) format, binary attachment reassembly,
//! and (feature `msgpack`) the format of the npm `socket.io-msgpack-parser`.
//!
//! A Socket.IO packet travels in an Engine.IO `message` packet. Its text form is
//!
//! ```text
//! packet = type [ attachments "-" ] [ nsp "," ] [ ack-id ] [ json ]
//! ```
//!
//! followed, for the binary types `5` and `6`, by `attachments` binary messages.
//!
//! The [`Decoder`] is strict: it rejects everything Node's `socket.io-parser` rejects, and also
//! what Node wrongly accepts (whitespace or non-digit ack ids, events without data, binary
//! packets declaring zero attachments, malformed placeholders). Any error means the peer is
//! broken or hostile; the caller closes the connection. The JSON payload is validated but kept
//! as text, a slice of the received message, so event arguments are only deserialized when a
//! handler asks for a type.
//!
//! ```
//! use tower_socketio_protocol::Str;
//! use tower_socketio_protocol::engine::Frame;
//! use tower_socketio_protocol::socketio::{Decoder, PacketKind, encode};
//!
//! // Incoming: the Engine.IO layer has already removed the `4` of the message packet.
//! let mut decoder = Decoder::new(10);
//! let packet = decoder.decode_text(&Str::from_static(r#"2/chat,7["hello",1]"#))?.unwrap();
//! assert_eq!(packet.kind, PacketKind::Event);
//! assert_eq!(&*packet.nsp, "/chat");
//! assert_eq!(packet.id, Some(7));
//! assert_eq!(packet.data.as_deref(), Some(r#"["hello",1]"#));
//!
//! // Outgoing: the whole Engine.IO text frame, `4` included.
//! let frame = encode(PacketKind::Ack, "/chat", Some(7), Some(r#"["ok"]"#), 0);
//! assert_eq!(frame, Frame::Text(Str::from_static(r#"43/chat,7["ok"]"#)));
//! # Ok::<(), tower_socketio_protocol::socketio::DecodeError>(())
//! ```

use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::Str;
use crate::engine::Frame;

#[cfg(feature = "msgpack")]
pub mod msgpack;
#[cfg(test)]
mod tests;

/// The seven Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client, with an optional auth object), or its acceptance
    /// (server, with `{"sid":…}`).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event, `["name", args…]`.
    Event = 2,
    /// `3`: an acknowledgement, `[args…]`.
    Ack = 3,
    /// `4`: a refused namespace connection (server to client).
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck = 6,
}

impl PacketKind {
    /// The type for a digit character `'0'..='6'`.
    ///
    /// ```
    /// # use tower_socketio_protocol::socketio::PacketKind;
    /// assert_eq!(PacketKind::from_char(b'5'), Some(PacketKind::BinaryEvent));
    /// assert_eq!(PacketKind::from_char(b'7'), None);
    /// ```
    pub fn from_char(c: u8) -> Option<Self> {
        Self::from_u8(c.wrapping_sub(b'0'))
    }

    /// The type for a value `0..=6`.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => PacketKind::Connect,
            1 => PacketKind::Disconnect,
            2 => PacketKind::Event,
            3 => PacketKind::Ack,
            4 => PacketKind::ConnectError,
            5 => PacketKind::BinaryEvent,
            6 => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// The digit character of this type.
    pub fn as_char(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether packets of this type carry binary attachments (`BinaryEvent`, `BinaryAck`).
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }
}

/// Event names a client may not send: they name the server's own events (`newListener` and
/// `removeListener` are Node `EventEmitter` internals).
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The longest namespace name accepted, in bytes, including its leading `/`.
pub const MAX_NAMESPACE_LEN: usize = 1024;

/// Node's default limit on the attachments of one binary packet (`maxAttachments`).
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// The length of the shortest placeholder, `{"_placeholder":true,"num":0}`.
const MIN_PLACEHOLDER_LEN: usize = 29;

/// The most digits read for an attachment count or an ack id (`u64::MAX` has 20).
const MAX_DIGITS: usize = 20;

/// A decoded packet.
///
/// `nsp` and `data` are slices of the received text (no copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The type. Binary packets keep their binary type (`BinaryEvent`, `BinaryAck`).
    pub kind: PacketKind,
    /// The namespace, `/` when the packet names none.
    pub nsp: Str,
    /// The acknowledgement id: always present for `Ack`/`BinaryAck`, optional for
    /// `Event`/`BinaryEvent`, never present for the other types.
    pub id: Option<u64>,
    /// The JSON payload, exactly as received (validated), or `None`. In binary packets it still
    /// holds the placeholders `{"_placeholder":true,"num":N}`; `N` indexes `attachments`.
    pub data: Option<Str>,
    /// The binary attachments, in order. Empty unless `kind` is a binary type.
    pub attachments: Vec<Bytes>,
}

/// Why a packet was rejected. Every error means the peer is broken or hostile; the connection
/// should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Empty, or the type is not a digit `0`..=`6` (msgpack: not an integer `0`..=`4`).
    #[error("unknown packet type")]
    UnknownType,
    /// A malformed or zero attachment count, an attachment section on a type that takes none,
    /// or an invalid placeholder (wrong `_placeholder`/`num`, out of range, used twice, or an
    /// attachment never referenced).
    #[error("illegal attachments")]
    IllegalAttachments,
    /// More attachments than allowed.
    #[error("too many attachments")]
    TooManyAttachments,
    /// A namespace that is too long (or, in msgpack, missing or not starting with `/`).
    #[error("invalid namespace")]
    InvalidNamespace,
    /// A malformed, overflowing or missing acknowledgement id, or one on a type that takes none.
    #[error("invalid ack id")]
    InvalidAckId,
    /// The payload is not valid JSON (msgpack), or not what the packet type requires.
    #[error("invalid payload")]
    InvalidPayload,
    /// A text packet arrived while binary attachments were awaited.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary message arrived while no binary packet was waiting for attachments.
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
}

/// The per-connection decoder: parses text packets and collects the binary attachments of
/// binary packets.
///
/// ```
/// use bytes::Bytes;
/// use tower_socketio_protocol::Str;
/// use tower_socketio_protocol::socketio::{Decoder, PacketKind};
///
/// let mut decoder = Decoder::new(10);
/// let header = Str::from_static(r#"51-["upload",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(decoder.decode_text(&header)?, None); // waits for one attachment
/// assert!(decoder.is_reconstructing());
/// let packet = decoder.decode_binary(Bytes::from_static(b"\x01\x02"))?.unwrap();
/// assert_eq!(packet.kind, PacketKind::BinaryEvent);
/// assert_eq!(packet.attachments, [Bytes::from_static(b"\x01\x02")]);
/// # Ok::<(), tower_socketio_protocol::socketio::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    max_attachments: usize,
    pending: Option<Pending>,
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
}

impl Default for Decoder {
    /// A decoder with Node's limit of [`DEFAULT_MAX_ATTACHMENTS`] attachments.
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_ATTACHMENTS)
    }
}

impl Decoder {
    /// A decoder accepting at most `max_attachments` attachments per packet (Node: 10).
    pub fn new(max_attachments: usize) -> Self {
        Decoder {
            max_attachments,
            pending: None,
        }
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops a binary packet waiting for attachments, if any (Node's `destroy`).
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Decodes a text message: the Engine.IO `message` data, without its `4`.
    ///
    /// `Ok(None)` means the packet is binary and waits for its attachments, which come through
    /// [`decode_binary`](Self::decode_binary).
    pub fn decode_text(&mut self, text: &Str) -> Result<Option<Packet>, DecodeError> {
        if self.pending.take().is_some() {
            return Err(DecodeError::UnexpectedText);
        }
        let (packet, expected) = parse(text, self.max_attachments)?;
        if expected == 0 {
            return Ok(Some(packet));
        }
        self.pending = Some(Pending { packet, expected });
        Ok(None)
    }

    /// Decodes a binary message: the next attachment of the waiting packet. Returns the packet
    /// once its last attachment arrived.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        let Some(mut pending) = self.pending.take() else {
            return Err(DecodeError::UnexpectedBinary);
        };
        pending.packet.attachments.push(data);
        if pending.packet.attachments.len() >= pending.expected {
            return Ok(Some(pending.packet));
        }
        self.pending = Some(pending);
        Ok(None)
    }
}

/// Writes the header of a text frame, Engine.IO `message` digit included:
/// `4<type>[<attachments>-][<nsp>,][<id>]`. The JSON data goes right after it.
///
/// The attachment count is written for `BinaryEvent`/`BinaryAck` when it is not zero (a binary
/// packet needs at least one attachment), and ignored for the other types. The namespace is
/// omitted when it is `/` (or empty).
///
/// ```
/// # use tower_socketio_protocol::socketio::{PacketKind, write_header};
/// let mut out = Vec::new();
/// write_header(&mut out, PacketKind::BinaryEvent, "/admin", Some(3), 2);
/// out.extend_from_slice(br#"["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
/// assert_eq!(out, br#"452-/admin,3["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
/// ```
///
/// It writes bytes (ASCII, and the namespace's UTF-8) so that the JSON data can be serialized
/// right after it into the same buffer.
pub fn write_header(
    out: &mut Vec<u8>,
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    attachments: usize,
) {
    out.push(b'4');
    out.push(kind.as_char());
    if kind.is_binary() && attachments > 0 {
        push_u64(out, u64::try_from(attachments).unwrap_or(u64::MAX));
        out.push(b'-');
    }
    if !nsp.is_empty() && nsp != "/" {
        out.extend_from_slice(nsp.as_bytes());
        out.push(b',');
    }
    if let Some(id) = id {
        push_u64(out, id);
    }
}

/// Encodes a packet as one text frame: the header of [`write_header`] followed by `data`, which
/// must already be JSON (the encoder does not check it). The binary attachments of a binary
/// packet are sent after it as [`Frame::Binary`] frames.
///
/// ```
/// # use tower_socketio_protocol::{Str, engine::Frame, socketio::{PacketKind, encode}};
/// let frame = encode(PacketKind::Event, "/admin", Some(12), Some(r#"["a",1]"#), 0);
/// assert_eq!(frame, Frame::Text(Str::from_static(r#"42/admin,12["a",1]"#)));
/// let frame = encode(PacketKind::Connect, "/", None, Some(r#"{"sid":"x"}"#), 0);
/// assert_eq!(frame, Frame::Text(Str::from_static(r#"40{"sid":"x"}"#)));
/// ```
pub fn encode(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    attachments: usize,
) -> Frame {
    let data = data.unwrap_or_default();
    // `4`, type, count and `-`, `,`, id.
    let header = 2 + (MAX_DIGITS + 1) + 1 + MAX_DIGITS;
    let mut out = Vec::with_capacity(header + nsp.len() + data.len());
    write_header(&mut out, kind, nsp, id, attachments);
    out.extend_from_slice(data.as_bytes());
    // An ASCII header, a `&str` namespace and `&str` data: always UTF-8.
    Frame::Text(Str::try_from(out).unwrap_or_default())
}

/// Appends the decimal digits of `n`.
fn push_u64(out: &mut Vec<u8>, n: u64) {
    use std::io::Write as _;
    // Writing into a `Vec` cannot fail.
    let _ = write!(out, "{n}");
}

/// Reads ASCII digits at `*pos`: `Ok(None)` when there are none, `Err(())` beyond
/// [`MAX_DIGITS`] digits or on `u64` overflow.
fn read_digits(bytes: &[u8], pos: &mut usize) -> Result<Option<u64>, ()> {
    let start = *pos;
    let mut n: u64 = 0;
    while let Some(&b) = bytes.get(*pos) {
        if !b.is_ascii_digit() {
            break;
        }
        if *pos - start == MAX_DIGITS {
            return Err(());
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(())?;
        *pos += 1;
    }
    Ok((*pos > start).then_some(n))
}

/// Parses a text packet; returns the packet and the number of attachments it waits for.
fn parse(text: &Str, max_attachments: usize) -> Result<(Packet, usize), DecodeError> {
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|&c| PacketKind::from_char(c))
        .ok_or(DecodeError::UnknownType)?;
    let mut pos = 1;

    // Attachment count: `<digits>-`, at least 1 (a zero count is CVE-2026-69185).
    let mut attachments = 0;
    if kind.is_binary() {
        let n = read_digits(bytes, &mut pos)
            .map_err(|()| DecodeError::TooManyAttachments)?
            .ok_or(DecodeError::IllegalAttachments)?;
        if bytes.get(pos) != Some(&b'-') || n == 0 {
            return Err(DecodeError::IllegalAttachments);
        }
        pos += 1;
        attachments = usize::try_from(n)
            .ok()
            .filter(|&n| n <= max_attachments)
            .ok_or(DecodeError::TooManyAttachments)?;
    }

    // Namespace: from `/` up to `,` or the end of the text (Node reads `0/admin` as a CONNECT
    // to `/admin`). Only the first `MAX_NAMESPACE_LEN + 1` bytes are searched.
    let mut nsp = Str::from_static("/");
    if bytes.get(pos) == Some(&b'/') {
        let rest = bytes.get(pos..).unwrap_or_default();
        let window = rest.len().min(MAX_NAMESPACE_LEN + 1);
        let len = rest
            .get(..window)
            .and_then(|w| w.iter().position(|&b| b == b','))
            .unwrap_or(window);
        if len > MAX_NAMESPACE_LEN {
            return Err(DecodeError::InvalidNamespace);
        }
        // `/` and `,` are ASCII, so both ends are char boundaries.
        nsp = text
            .get(pos..pos + len)
            .map(|s| text.slice_ref(s))
            .ok_or(DecodeError::InvalidNamespace)?;
        pos += len;
        if bytes.get(pos) == Some(&b',') {
            pos += 1;
        }
    }

    // Ack id: ASCII digits only (Node also takes whitespace, and makes floats of huge ids).
    let id = read_digits(bytes, &mut pos).map_err(|()| DecodeError::InvalidAckId)?;
    if id.is_some() && bytes.get(pos) == Some(&b'-') {
        // `21-[…]`: an attachment count on a type that takes none. (No valid payload starts
        // with `-`.)
        return Err(DecodeError::IllegalAttachments);
    }
    match kind {
        PacketKind::Ack | PacketKind::BinaryAck if id.is_none() => {
            return Err(DecodeError::InvalidAckId);
        }
        PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError if id.is_some() => {
            return Err(DecodeError::InvalidAckId);
        }
        _ => {}
    }

    let data = match text.get(pos..) {
        Some("") => None,
        Some(rest) => Some(text.slice_ref(rest)),
        None => return Err(DecodeError::InvalidPayload),
    };
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

/// Checks the payload against the rules of the packet type. The first byte decides the JSON
/// type, which also rejects leading whitespace (Node wrongly reads `2 ["a"]` as ack id 0).
fn validate(kind: PacketKind, data: Option<&str>, attachments: usize) -> Result<(), DecodeError> {
    let first = data.and_then(|d| d.as_bytes().first().copied());
    match (kind, data, first) {
        (PacketKind::Connect | PacketKind::Disconnect, None, _) => Ok(()),
        (PacketKind::Connect, Some(d), Some(b'{'))
        | (PacketKind::ConnectError, Some(d), Some(b'{' | b'"')) => {
            serde_json::from_str::<IgnoredAny>(d)
                .map(drop)
                .map_err(|_| DecodeError::InvalidPayload)
        }
        (
            PacketKind::Event | PacketKind::BinaryEvent | PacketKind::Ack | PacketKind::BinaryAck,
            Some(d),
            Some(b'['),
        ) => check_array(d, kind, attachments),
        _ => Err(DecodeError::InvalidPayload),
    }
}

/// Validates the JSON array of an event or ack in one pass: the event name, and for binary
/// packets every placeholder (each attachment referenced exactly once).
fn check_array(data: &str, kind: PacketKind, attachments: usize) -> Result<(), DecodeError> {
    let binary = kind.is_binary();
    // Each attachment needs its own placeholder, so the count is bounded by the input
    // (whatever `max_attachments` is) before anything is allocated for it.
    if binary && attachments > data.len() / MIN_PLACEHOLDER_LEN {
        return Err(DecodeError::IllegalAttachments);
    }
    let ctx = Ctx {
        used: (0..if binary { attachments } else { 0 })
            .map(|_| Cell::new(false))
            .collect(),
        error: Cell::new(None),
    };
    let visitor = ArgsVisitor {
        ctx: &ctx,
        event: matches!(kind, PacketKind::Event | PacketKind::BinaryEvent),
        binary,
    };
    let mut de = serde_json::Deserializer::from_str(data);
    de.deserialize_seq(visitor)
        .and_then(|()| de.end())
        .map_err(|_| ctx.error.take().unwrap_or(DecodeError::InvalidPayload))?;
    if ctx.used.iter().all(Cell::get) {
        Ok(())
    } else {
        Err(DecodeError::IllegalAttachments)
    }
}

/// State shared by the visitors of one payload.
struct Ctx {
    /// For binary packets: whether each attachment has been referenced.
    used: Vec<Cell<bool>>,
    /// The reason of the first failure (serde errors only carry text).
    error: Cell<Option<DecodeError>>,
}

impl Ctx {
    fn fail<T, E: de::Error>(&self, error: DecodeError) -> Result<T, E> {
        let msg = error.to_string();
        self.error.set(Some(error));
        Err(E::custom(msg))
    }
}

/// Visits the top-level array of an EVENT or ACK payload.
struct ArgsVisitor<'a> {
    ctx: &'a Ctx,
    event: bool,
    binary: bool,
}

impl<'de> Visitor<'de> for ArgsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.event && seq.next_element_seed(EventName(self.ctx))?.is_none() {
            return self.ctx.fail(DecodeError::InvalidPayload);
        }
        if self.binary {
            while seq.next_element_seed(Walk(self.ctx))?.is_some() {}
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
}

/// The first element of an EVENT: a number, or a string that is not a reserved name.
struct EventName<'a>(&'a Ctx);

impl<'de> DeserializeSeed<'de> for EventName<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventName<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name (a string or a number)")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<(), E> {
        if RESERVED_EVENTS.contains(&name) {
            return self.0.fail(DecodeError::InvalidPayload);
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
}

/// What a JSON value is, as far as placeholders care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    True,
    UInt(u64),
    Other,
}

/// Walks a JSON value of a binary packet, checking every placeholder: an object with a
/// `_placeholder` key must be exactly `{"_placeholder":true,"num":N}` with an integer
/// `0 <= N < attachments` not used before (CVE-2022-2421). Depth is bounded by serde_json's
/// recursion limit.
#[derive(Clone, Copy)]
struct Walk<'a>(&'a Ctx);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Shape;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Shape, E> {
        Ok(if v { Shape::True } else { Shape::Other })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Shape, E> {
        Ok(Shape::UInt(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(Shape::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut placeholder = None;
        let mut num = None;
        // Another key, or `_placeholder`/`num` twice.
        let mut extra = false;
        while let Some(key) = map.next_key_seed(KeyKind)? {
            let value = map.next_value_seed(self)?;
            match key {
                Key::Placeholder => extra |= placeholder.replace(value).is_some(),
                Key::Num => extra |= num.replace(value).is_some(),
                Key::Other => extra = true,
            }
        }
        let Some(placeholder) = placeholder else {
            return Ok(Shape::Other);
        };
        if placeholder == Shape::True
            && !extra
            && let Some(Shape::UInt(n)) = num
        {
            let slot = usize::try_from(n).ok().and_then(|n| self.0.used.get(n));
            if slot.is_some_and(|used| !used.replace(true)) {
                return Ok(Shape::Other);
            }
        }
        self.0.fail(DecodeError::IllegalAttachments)
    }
}

/// The object keys that matter for placeholders.
enum Key {
    Placeholder,
    Num,
    Other,
}

/// Classifies an object key without allocating.
struct KeyKind;

impl<'de> DeserializeSeed<'de> for KeyKind {
    type Value = Key;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyKind {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "_placeholder" => Key::Placeholder,
            "num" => Key::Num,
            _ => Key::Other,
        })
    }
}
