//! Engine.IO packets, WebSocket frames and long-polling payloads (protocol v4, and v3).
//!
//! * A WebSocket carries one packet per message: a text message is `<type digit>[<data>]`, a
//!   binary message is a binary `message` packet (v4: the raw data; v3: a type byte, then data).
//! * A long-polling body carries a *payload*, several packets at once. v4 joins text records
//!   with the record separator `0x1E` and writes binary packets as `b<base64>`. v3 prefixes
//!   every record with its length (`<len>:<packet>`), or uses a binary payload format.
//!
//! Outgoing packets are [`Frame`]s: encoded once, cheaply cloned, and shared by every recipient
//! of a broadcast.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{BufMut, Bytes, BytesMut};

use crate::Str;

#[cfg(test)]
mod tests;

/// The Engine.IO protocol revision a client speaks (the `EIO` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// Engine.IO v3 (Socket.IO v2 clients): client-driven heartbeat, length-prefixed payloads.
    V3 = 3,
    /// Engine.IO v4 (Socket.IO v3 and v4 clients).
    V4 = 4,
}

/// The seven Engine.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: handshake, server to client.
    Open = 0,
    /// `1`: close the session.
    Close = 1,
    /// `2`: ping (`2probe` during an upgrade).
    Ping = 2,
    /// `3`: pong (`3probe` during an upgrade).
    Pong = 3,
    /// `4`: application message; Socket.IO packets ride in these.
    Message = 4,
    /// `5`: completes a transport upgrade.
    Upgrade = 5,
    /// `6`: no-op, used to release a pending poll.
    Noop = 6,
}

impl PacketType {
    /// The type for a digit character `'0'..='6'`.
    pub fn from_char(c: u8) -> Option<Self> {
        Self::from_u8(c.wrapping_sub(b'0'))
    }

    /// The type for a value `0..=6`.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => PacketType::Open,
            1 => PacketType::Close,
            2 => PacketType::Ping,
            3 => PacketType::Pong,
            4 => PacketType::Message,
            5 => PacketType::Upgrade,
            6 => PacketType::Noop,
            _ => return None,
        })
    }

    /// The digit character of this type.
    pub fn as_char(self) -> u8 {
        b'0' + self as u8
    }
}

/// Data of a `message` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Str),
    /// A binary message.
    Binary(Bytes),
}

/// A decoded Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` with its JSON data.
    Open(Str),
    /// `1`.
    Close,
    /// `2` with its data (`"probe"` during an upgrade, usually empty).
    Ping(Str),
    /// `3` with its data.
    Pong(Str),
    /// `4`: an application message.
    Message(Message),
    /// `5`.
    Upgrade,
    /// `6`.
    Noop,
}

impl Packet {
    /// The type of this packet.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }
}

/// An encoded outgoing packet, ready for any transport.
///
/// `Text` holds the whole text form of the packet, type digit included (`"4hello"`, `"2"`,
/// `"3probe"`, `"6"`). `Binary` holds the data of a binary `message` packet. Cloning is a
/// reference-count increment, so one frame can be queued on many sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A packet in text form, type digit first.
    Text(Str),
    /// The data of a binary `message` packet.
    Binary(Bytes),
}

impl Frame {
    /// A text `message` frame: `4` followed by `data`.
    pub fn message(data: &str) -> Frame {
        let mut s = String::with_capacity(data.len() + 1);
        s.push('4');
        s.push_str(data);
        Frame::Text(Str::from(s))
    }

    /// A frame for a packet without data (`Ping`, `Pong`, `Close`, `Noop`, `Upgrade`), or with
    /// the given text data.
    pub fn control(ty: PacketType, data: &str) -> Frame {
        let mut s = String::with_capacity(data.len() + 1);
        s.push(ty.as_char() as char);
        s.push_str(data);
        Frame::Text(Str::from(s))
    }

    /// Encodes a decoded packet as a frame.
    pub fn from_packet(packet: &Packet) -> Frame {
        match packet {
            Packet::Message(Message::Binary(b)) => Frame::Binary(b.clone()),
            Packet::Message(Message::Text(t)) => Frame::message(t),
            Packet::Open(d) | Packet::Ping(d) | Packet::Pong(d) => {
                Frame::control(packet.packet_type(), d)
            }
            Packet::Close | Packet::Upgrade | Packet::Noop => {
                Frame::control(packet.packet_type(), "")
            }
        }
    }

    /// The size of the frame's data in bytes (text including its type digit).
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(s) => s.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the frame holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a v3 WebSocket binary message for this binary frame: the type byte `4`
    /// (as the value 4, not the digit) followed by the data. `None` for text frames.
    pub fn v3_ws_binary(&self) -> Option<Bytes> {
        match self {
            Frame::Text(_) => None,
            Frame::Binary(data) => {
                let mut out = BytesMut::with_capacity(data.len().saturating_add(1));
                out.put_u8(PacketType::Message as u8);
                out.extend_from_slice(data);
                Some(out.freeze())
            }
        }
    }
}

/// Why an Engine.IO packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet is empty.
    #[error("empty packet")]
    Empty,
    /// The type is not a digit `0`..=`6` (or a v3 type byte `0..=6`).
    #[error("unknown packet type")]
    UnknownType,
    /// A `b`-prefixed packet carries invalid base64.
    #[error("invalid base64 data")]
    Base64,
    /// A v3 payload has a malformed length prefix or a length past the end of the payload.
    #[error("invalid payload length")]
    Length,
    /// Text that should be UTF-8 is not.
    #[error("invalid UTF-8")]
    Utf8,
}

/// Decodes a text packet: a WebSocket text message, or one record of a v4 polling payload.
///
/// `"4hello"` is a text message, `"2probe"` a ping with data `probe`, `"1"` a close. A record
/// starting with `b` is a base64 binary message (`"bAQID"`, as used by polling and by
/// `b64=1` clients; for v3 the `b` is followed by the type digit: `"b4AQID"`, see
/// [`decode_text_v3`]).
pub fn decode_text(text: Str) -> Result<Packet, DecodeError> {
    decode_text_impl(text, false)
}

/// Like [`decode_text`], for v3 clients: a `b` record carries its type digit before the base64
/// data (`"b4AQID"`).
pub fn decode_text_v3(text: Str) -> Result<Packet, DecodeError> {
    decode_text_impl(text, true)
}

/// Decodes a v3 WebSocket binary message: type byte (`4`) then data. (A v4 binary WebSocket
/// message needs no decoding: it is `Packet::Message(Message::Binary(bytes))`.)
pub fn decode_binary_v3(data: Bytes) -> Result<Packet, DecodeError> {
    let &ty = data.first().ok_or(DecodeError::Empty)?;
    let ty = PacketType::from_u8(ty).ok_or(DecodeError::UnknownType)?;
    binary_packet(ty, data.slice(1..))
}

/// Base64 as written by Node's `Buffer#toString("base64")` (standard alphabet, padded).
///
/// Decoding accepts the standard alphabet with or without padding and non-zero trailing bits,
/// but, unlike Node's very forgiving `Buffer.from(s, "base64")`, rejects any other character.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The most digits accepted in a v3 payload length prefix. Twenty digits cover any `usize`;
/// longer prefixes (even all zeros) are rejected without looking further.
const MAX_LENGTH_DIGITS: usize = 20;

/// The packet for a type and its text data. Packets without data drop it (Node keeps it, but
/// never reads it).
fn text_packet(ty: PacketType, data: Str) -> Packet {
    match ty {
        PacketType::Open => Packet::Open(data),
        PacketType::Close => Packet::Close,
        PacketType::Ping => Packet::Ping(data),
        PacketType::Pong => Packet::Pong(data),
        PacketType::Message => Packet::Message(Message::Text(data)),
        PacketType::Upgrade => Packet::Upgrade,
        PacketType::Noop => Packet::Noop,
    }
}

/// The packet for a type and binary data (v3 binary frames and `b<type><base64>` records).
///
/// Only `message` carries binary data; a ping, pong or open carrying bytes gets them as text
/// (which must be UTF-8), the other types drop their data.
fn binary_packet(ty: PacketType, data: Bytes) -> Result<Packet, DecodeError> {
    match ty {
        PacketType::Message => Ok(Packet::Message(Message::Binary(data))),
        PacketType::Open | PacketType::Ping | PacketType::Pong => Str::try_from(data)
            .map(|text| text_packet(ty, text))
            .map_err(|_| DecodeError::Utf8),
        PacketType::Close | PacketType::Upgrade | PacketType::Noop => {
            Ok(text_packet(ty, Str::new()))
        }
    }
}

/// Decodes base64 data; the output is at most three quarters of the input.
fn decode_base64(data: &str) -> Result<Bytes, DecodeError> {
    BASE64
        .decode(data)
        .map(Bytes::from)
        .map_err(|_| DecodeError::Base64)
}

/// The length of the padded base64 encoding of `len` bytes.
fn base64_len(len: usize) -> usize {
    len.div_ceil(3).saturating_mul(4)
}

/// Appends the padded base64 encoding of `data` to `out`.
fn put_base64(out: &mut BytesMut, data: &[u8]) {
    let start = out.len();
    out.resize(start.saturating_add(base64_len(data.len())), 0);
    let written = match out.get_mut(start..) {
        Some(dst) => BASE64.encode_slice(data, dst).ok(),
        None => None,
    };
    // `encode_slice` only fails when the output is too small, which `base64_len` rules out.
    debug_assert!(written.is_some());
    out.truncate(start.saturating_add(written.unwrap_or(0)));
}

/// Appends the decimal digits of `n` to `out`, each as `zero + digit` (`b'0'` for text, `0`
/// for the digit values of the v3 binary payload format).
fn put_decimal(out: &mut BytesMut, n: usize, zero: u8) {
    let mut divisor = 1;
    while n / divisor >= 10 {
        divisor *= 10;
    }
    while divisor > 0 {
        // `n / divisor % 10` is below 10, so the cast is lossless.
        out.put_u8(zero + (n / divisor % 10) as u8);
        divisor /= 10;
    }
}

/// The length of `s` in UTF-16 code units, JavaScript's `String#length`.
fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Shared body of [`decode_text`] and [`decode_text_v3`].
fn decode_text_impl(text: Str, v3: bool) -> Result<Packet, DecodeError> {
    let Some(&first) = text.as_bytes().first() else {
        return Err(DecodeError::Empty);
    };
    if first == b'b' {
        // The first byte is ASCII, so index 1 is a character boundary.
        let rest = text.get(1..).ok_or(DecodeError::Base64)?;
        if !v3 {
            return decode_base64(rest).map(|data| Packet::Message(Message::Binary(data)));
        }
        let ty = rest
            .as_bytes()
            .first()
            .and_then(|&c| PacketType::from_char(c))
            .ok_or(DecodeError::UnknownType)?;
        let data = decode_base64(rest.get(1..).ok_or(DecodeError::Base64)?)?;
        return binary_packet(ty, data);
    }
    let ty = PacketType::from_char(first).ok_or(DecodeError::UnknownType)?;
    let data = text.get(1..).ok_or(DecodeError::UnknownType)?;
    Ok(text_packet(ty, text.slice_ref(data)))
}

/// Long-polling payloads.
pub mod payload {
    use super::*;

    /// The separator between the records of a v4 payload.
    pub const SEPARATOR: u8 = 0x1e;

    /// Decodes a v4 payload: records separated by `0x1E`, each decoded with [`decode_text`].
    ///
    /// Decoding stops at the first invalid record; the packets before it are returned with the
    /// error, so they can still be handled in order. An empty body is an error
    /// ([`DecodeError::Empty`]).
    #[must_use]
    pub fn decode_v4(body: Str) -> (Vec<Packet>, Option<DecodeError>) {
        let mut packets = Vec::new();
        if body.is_empty() {
            return (packets, Some(DecodeError::Empty));
        }
        for record in body.split(char::from(SEPARATOR)) {
            match decode_text(body.slice_ref(record)) {
                Ok(packet) => packets.push(packet),
                Err(err) => return (packets, Some(err)),
            }
        }
        (packets, None)
    }

    /// Appends a v4 payload for `frames` to `out`: text frames as they are, binary frames as
    /// `b<base64>`, joined by `0x1E`.
    pub fn encode_v4<'a>(frames: impl IntoIterator<Item = &'a Frame>, out: &mut BytesMut) {
        for (i, frame) in frames.into_iter().enumerate() {
            if i > 0 {
                out.put_u8(SEPARATOR);
            }
            match frame {
                Frame::Text(text) => out.extend_from_slice(text.as_bytes()),
                Frame::Binary(data) => {
                    out.reserve(base64_len(data.len()).saturating_add(1));
                    out.put_u8(b'b');
                    put_base64(out, data);
                }
            }
        }
    }

    /// The encoding a v3 payload was written in.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum V3Format {
        /// `<len>:<packet>` records, `Content-Type: text/plain; charset=UTF-8`. Binary packets
        /// become `b4<base64>` records.
        Text,
        /// The binary payload format, `Content-Type: application/octet-stream`.
        Binary,
    }

    /// Decodes a v3 text payload: `<len>:<packet>` records where `len` counts UTF-16 code
    /// units, e.g. `6:4hello2:4€`. `b4<base64>` records are binary messages.
    ///
    /// Like Node, an empty body is an error ([`DecodeError::Empty`]) and zero-length records
    /// (the empty payload `0:`) are skipped. Decoding stops at the first invalid record; the
    /// packets before it are returned with the error.
    #[must_use]
    pub fn decode_v3_text(body: Str) -> (Vec<Packet>, Option<DecodeError>) {
        let mut packets = Vec::new();
        if body.is_empty() {
            return (packets, Some(DecodeError::Empty));
        }
        let mut rest: &str = &body;
        while !rest.is_empty() {
            let (record, tail) = match split_v3_text_record(rest) {
                Ok(split) => split,
                Err(err) => return (packets, Some(err)),
            };
            rest = tail;
            if record.is_empty() {
                continue;
            }
            match decode_text_v3(body.slice_ref(record)) {
                Ok(packet) => packets.push(packet),
                Err(err) => return (packets, Some(err)),
            }
        }
        (packets, None)
    }

    /// Parses a decimal length prefix terminated by `end`, where `digit` maps a byte to its
    /// digit value. At most [`MAX_LENGTH_DIGITS`] digits are read, and a length above `limit`
    /// is rejected as soon as it is seen. Returns the length and the index of `end`.
    fn parse_length(
        bytes: &[u8],
        end: u8,
        limit: usize,
        digit: impl Fn(u8) -> Option<u8>,
    ) -> Result<(usize, usize), DecodeError> {
        let mut len: usize = 0;
        for (i, &byte) in bytes.iter().enumerate().take(MAX_LENGTH_DIGITS + 1) {
            if byte == end {
                return if i == 0 {
                    Err(DecodeError::Length)
                } else {
                    Ok((len, i))
                };
            }
            let d = digit(byte).ok_or(DecodeError::Length)?;
            len = len
                .checked_mul(10)
                .and_then(|len| len.checked_add(usize::from(d)))
                .filter(|&len| len <= limit)
                .ok_or(DecodeError::Length)?;
        }
        Err(DecodeError::Length)
    }

    /// Splits the first `<len>:<record>` off a v3 text payload, `len` counting UTF-16 code
    /// units. Returns the record and the rest of the payload.
    fn split_v3_text_record(s: &str) -> Result<(&str, &str), DecodeError> {
        // Every UTF-16 code unit takes at least one byte, so no valid length exceeds `s.len()`.
        let (units, colon) = parse_length(s.as_bytes(), b':', s.len(), |b| {
            b.is_ascii_digit().then(|| b - b'0')
        })?;
        let data = s.get(colon + 1..).ok_or(DecodeError::Length)?;
        let mut counted = 0;
        let mut end = 0;
        for c in data.chars() {
            if counted >= units {
                break;
            }
            counted += c.len_utf16();
            end += c.len_utf8();
        }
        // Fewer units: the record runs past the payload. More: the length splits a surrogate
        // pair, which a Rust string cannot hold.
        if counted != units {
            return Err(DecodeError::Length);
        }
        data.split_at_checked(end).ok_or(DecodeError::Length)
    }

    /// Splits the first record off a v3 binary payload:
    /// `<0 | 1><digit values 0..=9>...<0xFF><packet>`. Returns whether the packet is a string,
    /// the packet, and the rest of the payload.
    fn split_v3_binary_record(body: &Bytes) -> Result<(bool, Bytes, Bytes), DecodeError> {
        let is_string = match body.first() {
            Some(0) => true,
            Some(1) => false,
            _ => return Err(DecodeError::Length),
        };
        let header = body.get(1..).ok_or(DecodeError::Length)?;
        let (len, ff) = parse_length(header, 0xff, header.len(), |b| (b <= 9).then_some(b))?;
        let start = ff + 2;
        let end = start.checked_add(len).ok_or(DecodeError::Length)?;
        if end > body.len() {
            return Err(DecodeError::Length);
        }
        Ok((is_string, body.slice(start..end), body.slice(end..)))
    }

    /// Decodes a v3 binary payload (a body sent as `application/octet-stream`).
    ///
    /// String records hold the text form of a packet in UTF-8 and their length counts bytes;
    /// binary records hold a type byte then the data. Decoding stops at the first invalid record
    /// (including a zero-length one); the packets before it are returned with the error. An
    /// empty body decodes to no packets and no error, like Node.
    #[must_use]
    pub fn decode_v3_binary(body: Bytes) -> (Vec<Packet>, Option<DecodeError>) {
        let mut packets = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let (is_string, record, tail) = match split_v3_binary_record(&rest) {
                Ok(split) => split,
                Err(err) => return (packets, Some(err)),
            };
            rest = tail;
            let packet = if is_string {
                Str::try_from(record)
                    .map_err(|_| DecodeError::Utf8)
                    .and_then(decode_text_v3)
            } else {
                decode_binary_v3(record)
            };
            match packet {
                Ok(packet) => packets.push(packet),
                Err(err) => return (packets, Some(err)),
            }
        }
        (packets, None)
    }

    /// Encodes `frames` as a v3 payload, appended to `out`.
    ///
    /// When `supports_binary` is true and any frame is binary, the binary payload format is used;
    /// otherwise the text format, with binary frames as `b4<base64>` records. Returns the
    /// format written, which decides the response's `Content-Type`. An empty list encodes as
    /// the text payload `0:`.
    pub fn encode_v3<'a>(
        frames: impl IntoIterator<Item = &'a Frame> + Clone,
        supports_binary: bool,
        out: &mut BytesMut,
    ) -> V3Format {
        let binary = supports_binary
            && frames
                .clone()
                .into_iter()
                .any(|frame| matches!(frame, Frame::Binary(_)));
        if binary {
            for frame in frames {
                match frame {
                    Frame::Text(text) => {
                        out.put_u8(0);
                        put_decimal(out, text.len(), 0);
                        out.put_u8(0xff);
                        out.extend_from_slice(text.as_bytes());
                    }
                    Frame::Binary(data) => {
                        out.put_u8(1);
                        put_decimal(out, data.len().saturating_add(1), 0);
                        out.put_u8(0xff);
                        out.put_u8(PacketType::Message as u8);
                        out.extend_from_slice(data);
                    }
                }
            }
            return V3Format::Binary;
        }
        let mut empty = true;
        for frame in frames {
            empty = false;
            match frame {
                Frame::Text(text) => {
                    put_decimal(out, utf16_len(text), b'0');
                    out.put_u8(b':');
                    out.extend_from_slice(text.as_bytes());
                }
                Frame::Binary(data) => {
                    put_decimal(out, base64_len(data.len()).saturating_add(2), b'0');
                    out.extend_from_slice(b":b4");
                    put_base64(out, data);
                }
            }
        }
        if empty {
            out.extend_from_slice(b"0:");
        }
        V3Format::Text
    }
}
