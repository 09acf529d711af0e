//! The msgpack format of the npm `socket.io-msgpack-parser` (3.x, built on `notepack.io`).
//!
//! Each packet is one msgpack map `{type, nsp, data, id}` sent as one binary Engine.IO message.
//! Binary values travel inline, so there are no attachments and no binary packet types: only
//! types `0`..=`4` exist. The same per-type rules as the JSON format apply.
//!
//! How `notepack.io` values map to [`rmpv::Value`]:
//!
//! * `bin` (Node `Buffer`) and `ext` 8/16/32 of type 0 (browser `ArrayBuffer` and typed arrays)
//!   decode to [`Value::Binary`]; [`Value::Binary`] encodes as `bin`.
//! * `fixext 1` of type 0 is JavaScript `undefined`: it decodes to [`Value::Nil`]. A `nil` or
//!   `undefined` `data` or `id` counts as absent (python-socketio sends `"data": nil`).
//! * Other extension values (e.g. a `Date`, `fixext 8` of type 0) stay [`Value::Ext`].
//!
//! ```
//! use rmpv::Value;
//! use tower_socketio_protocol::engine::Frame;
//! use tower_socketio_protocol::socketio::{PacketKind, msgpack};
//!
//! let data = Value::Array(vec!["hello".into(), Value::Binary(vec![1, 2])]);
//! let Frame::Binary(bytes) = msgpack::encode(PacketKind::Event, "/", Some(3), Some(&data)) else {
//!     unreachable!()
//! };
//! let packet = msgpack::decode(&bytes)?;
//! assert_eq!(packet.kind, PacketKind::Event);
//! assert_eq!(packet.id, Some(3));
//! assert_eq!(packet.data, Some(data));
//! # Ok::<(), tower_socketio_protocol::socketio::DecodeError>(())
//! ```

use bytes::Bytes;
use rmpv::{Integer, Value};

use super::{DecodeError, MAX_NAMESPACE_LEN, PacketKind, RESERVED_EVENTS};
use crate::{Str, engine::Frame};

/// The deepest nesting of arrays and maps accepted.
pub const MAX_DEPTH: usize = 128;

/// A decoded msgpack packet.
#[derive(Debug, Clone, PartialEq)]
pub struct MsgpackPacket {
    /// The type, never a binary type.
    pub kind: PacketKind,
    /// The namespace.
    pub nsp: Str,
    /// The acknowledgement id (present for `Ack`, optional for `Event`, absent otherwise).
    pub id: Option<u64>,
    /// The payload (validated for the type), `None` when absent, `nil` or `undefined`.
    pub data: Option<Value>,
}

/// Decodes one binary message.
///
/// Keys other than `type`, `nsp`, `data` and `id` are ignored (the JS client also sends
/// `options`); for a repeated key the last value wins, as in JavaScript.
pub fn decode(bytes: &[u8]) -> Result<MsgpackPacket, DecodeError> {
    let mut reader = Reader::new(bytes);
    let value = reader.value(0)?;
    if !reader.rest.is_empty() {
        return Err(DecodeError::InvalidPayload);
    }
    let Value::Map(entries) = value else {
        return Err(DecodeError::UnknownType);
    };
    let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
    for (key, value) in entries {
        match key.as_str() {
            Some("type") => kind = Some(value),
            Some("nsp") => nsp = Some(value),
            Some("id") => id = Some(value),
            Some("data") => data = Some(value),
            _ => {}
        }
    }

    let kind = kind
        .as_ref()
        .and_then(integer)
        .and_then(|t| u8::try_from(t).ok())
        .and_then(PacketKind::from_u8)
        .filter(|k| !k.is_binary())
        .ok_or(DecodeError::UnknownType)?;
    let nsp = match nsp {
        Some(Value::String(s)) => s
            .into_str()
            .filter(|s| s.starts_with('/') && s.len() <= MAX_NAMESPACE_LEN)
            .ok_or(DecodeError::InvalidNamespace)?,
        _ => return Err(DecodeError::InvalidNamespace),
    };
    let id = match id {
        None | Some(Value::Nil) => None,
        Some(v) => Some(integer(&v).ok_or(DecodeError::InvalidAckId)?),
    };
    let data = data.filter(|d| !d.is_nil());
    check(kind, id, data.as_ref())?;
    Ok(MsgpackPacket {
        kind,
        nsp: Str::from(nsp),
        id,
        data,
    })
}

/// Encodes a packet as a binary frame: the map `{type, nsp[, data][, id]}`, byte for byte what
/// `socket.io-msgpack-parser` writes for an object with the keys in that order. A binary type is
/// written as its plain type (msgpack carries binary inline).
pub fn encode(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<&Value>) -> Frame {
    let kind = match kind {
        PacketKind::BinaryEvent => PacketKind::Event,
        PacketKind::BinaryAck => PacketKind::Ack,
        k => k,
    };
    let mut out = Vec::with_capacity(32 + nsp.len());
    out.push(0x82 + u8::from(data.is_some()) + u8::from(id.is_some()));
    write_str(&mut out, "type");
    out.push(kind as u8);
    write_str(&mut out, "nsp");
    write_str(&mut out, nsp);
    if let Some(data) = data {
        write_str(&mut out, "data");
        // Writing into a `Vec` cannot fail.
        let _ = rmpv::encode::write_value(&mut out, data);
    }
    if let Some(id) = id {
        write_str(&mut out, "id");
        write_uint(&mut out, id);
    }
    Frame::Binary(Bytes::from(out))
}

/// Applies the per-type rules of the JSON format.
fn check(kind: PacketKind, id: Option<u64>, data: Option<&Value>) -> Result<(), DecodeError> {
    let invalid = Err(DecodeError::InvalidPayload);
    match kind {
        PacketKind::Ack | PacketKind::BinaryAck if id.is_none() => {
            return Err(DecodeError::InvalidAckId);
        }
        PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError if id.is_some() => {
            return Err(DecodeError::InvalidAckId);
        }
        _ => {}
    }
    match (kind, data) {
        (PacketKind::Connect | PacketKind::Disconnect, None)
        | (PacketKind::Connect, Some(Value::Map(_)))
        | (PacketKind::ConnectError, Some(Value::Map(_) | Value::String(_)))
        | (PacketKind::Ack | PacketKind::BinaryAck, Some(Value::Array(_))) => Ok(()),
        (PacketKind::Event | PacketKind::BinaryEvent, Some(Value::Array(args))) => {
            match args.first() {
                Some(Value::String(name)) => match name.as_str() {
                    Some(name) if !RESERVED_EVENTS.contains(&name) => Ok(()),
                    _ => invalid,
                },
                Some(v) if v.is_number() => Ok(()),
                _ => invalid,
            }
        }
        _ => invalid,
    }
}

/// A non-negative integer, also from an integral float (JavaScript has only doubles).
fn integer(v: &Value) -> Option<u64> {
    /// 2^53: above it, doubles are not all integers.
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0;
    let float = match *v {
        Value::Integer(n) => return n.as_u64(),
        Value::F32(f) => f64::from(f),
        Value::F64(f) => f,
        _ => return None,
    };
    // Checked range and integrality, so the cast is exact.
    ((0.0..=MAX_SAFE).contains(&float) && float.fract() == 0.0).then_some(float as u64)
}

/// Writes a msgpack string with the smallest header, as `notepack.io` does.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if let Ok(len) = u8::try_from(len) {
        out.extend_from_slice(&[0xd9, len]);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(0xda);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

/// Writes a msgpack unsigned integer with the smallest encoding, as `notepack.io` does.
fn write_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.extend_from_slice(&[0xcc, n]);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(0xcd);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(0xce);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// A msgpack reader over untrusted bytes: lengths are checked against the remaining input
/// before anything is allocated, and nesting is bounded by [`MAX_DEPTH`].
///
/// The length of an array or a map is the sender's claim, so the room reserved for elements
/// ahead of reading them is bounded twice: by the bytes left at that point (every element
/// takes at least one byte, every entry two), and, over the whole message, by the size of the
/// message. The first bound alone is not enough: each of 128 nested headers claiming 2^32
/// elements could reserve room for all the bytes left, a few hundred times the input.
/// A valid message never hits the second bound (each value is an element of at most one
/// array or map and takes at least one byte), so its arrays and maps are allocated once, at
/// their exact size.
struct Reader<'a> {
    rest: &'a [u8],
    /// The size of the whole message.
    size: usize,
    /// The room reserved so far, in items (an entry counts as two), at most `size`.
    reserved: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            size: bytes.len(),
            reserved: 0,
        }
    }

    /// The number of items to reserve room for, out of `len` claimed items of at least
    /// `item_size` bytes each.
    fn reserve(&mut self, len: usize, item_size: usize) -> usize {
        let left = self.size.saturating_sub(self.reserved);
        let n = len.min(self.rest.len() / item_size).min(left / item_size);
        self.reserved += n * item_size;
        n
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::InvalidPayload);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError::InvalidPayload)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        self.array::<1>().map(|[b]| b)
    }

    fn len(&mut self, width: usize) -> Result<usize, DecodeError> {
        let n = match width {
            1 => u32::from(self.u8()?),
            2 => u32::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?),
        };
        usize::try_from(n).map_err(|_| DecodeError::InvalidPayload)
    }

    fn string(&mut self, len: usize) -> Result<Value, DecodeError> {
        let bytes = self.take(len)?;
        let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidPayload)?;
        Ok(Value::from(s))
    }

    fn binary(&mut self, len: usize) -> Result<Value, DecodeError> {
        Ok(Value::Binary(self.take(len)?.to_vec()))
    }

    /// An `ext` value of `len` bytes; `ext` 8/16/32 of type 0 is an `ArrayBuffer`.
    fn ext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let ty = i8::from_be_bytes(self.array()?);
        let data = self.take(len)?.to_vec();
        Ok(if ty == 0 {
            Value::Binary(data)
        } else {
            Value::Ext(ty, data)
        })
    }

    /// A `fixext` value of `len` bytes; `fixext 1` of type 0 is `undefined`.
    fn fixext(&mut self, len: usize) -> Result<Value, DecodeError> {
        let ty = i8::from_be_bytes(self.array()?);
        let data = self.take(len)?;
        Ok(if ty == 0 && len == 1 {
            Value::Nil
        } else {
            Value::Ext(ty, data.to_vec())
        })
    }

    fn seq(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::InvalidPayload);
        }
        let mut items = Vec::with_capacity(self.reserve(len, 1));
        for _ in 0..len {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::InvalidPayload);
        }
        let mut entries = Vec::with_capacity(self.reserve(len, 2));
        for _ in 0..len {
            let key = self.value(depth + 1)?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Value::from(marker),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.seq(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f))?,
            0xc0 => Value::Nil,
            0xc1 => return Err(DecodeError::InvalidPayload),
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xc4 => {
                let len = self.len(1)?;
                self.binary(len)?
            }
            0xc5 => {
                let len = self.len(2)?;
                self.binary(len)?
            }
            0xc6 => {
                let len = self.len(4)?;
                self.binary(len)?
            }
            0xc7 => {
                let len = self.len(1)?;
                self.ext(len)?
            }
            0xc8 => {
                let len = self.len(2)?;
                self.ext(len)?
            }
            0xc9 => {
                let len = self.len(4)?;
                self.ext(len)?
            }
            0xca => Value::F32(f32::from_be_bytes(self.array()?)),
            0xcb => Value::F64(f64::from_be_bytes(self.array()?)),
            0xcc => Value::from(self.u8()?),
            0xcd => Value::from(u16::from_be_bytes(self.array()?)),
            0xce => Value::from(u32::from_be_bytes(self.array()?)),
            0xcf => Value::from(u64::from_be_bytes(self.array()?)),
            0xd0 => Value::from(i8::from_be_bytes(self.array()?)),
            0xd1 => Value::from(i16::from_be_bytes(self.array()?)),
            0xd2 => Value::from(i32::from_be_bytes(self.array()?)),
            0xd3 => Value::from(i64::from_be_bytes(self.array()?)),
            0xd4 => self.fixext(1)?,
            0xd5 => self.fixext(2)?,
            0xd6 => self.fixext(4)?,
            0xd7 => self.fixext(8)?,
            0xd8 => self.fixext(16)?,
            0xd9 => {
                let len = self.len(1)?;
                self.string(len)?
            }
            0xda => {
                let len = self.len(2)?;
                self.string(len)?
            }
            0xdb => {
                let len = self.len(4)?;
                self.string(len)?
            }
            0xdc => {
                let len = self.len(2)?;
                self.seq(len, depth)?
            }
            0xdd => {
                let len = self.len(4)?;
                self.seq(len, depth)?
            }
            0xde => {
                let len = self.len(2)?;
                self.map(len, depth)?
            }
            0xdf => {
                let len = self.len(4)?;
                self.map(len, depth)?
            }
            0xe0..=0xff => Value::Integer(Integer::from(i8::from_be_bytes([marker]))),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    /// The capacity of every array and map in `value`, and their number of items.
    fn reserved(value: &Value) -> (usize, usize) {
        match value {
            Value::Array(items) => items
                .iter()
                .map(reserved)
                .fold((items.capacity(), items.len()), |(c, l), (ci, li)| {
                    (c + ci, l + li)
                }),
            Value::Map(entries) => entries
                .iter()
                .flat_map(|(k, v)| [reserved(k), reserved(v)])
                .fold(
                    (2 * entries.capacity(), 2 * entries.len()),
                    |(c, l), (ci, li)| (c + ci, l + li),
                ),
            _ => (0, 0),
        }
    }

    #[test]
    fn hostile_lengths_reserve_at_most_the_input_size() {
        // Found by the `socketio_msgpack` fuzz target: nested headers claiming 2^32 items
        // (arrays, maps, and both) each reserved room for every byte left, about 4 000 times
        // the size of the input (16 MB for a 4 KB message, 4 GB for a 1 MB one).
        for header in [
            &b"\xdd\xff\xff\xff\xff"[..],
            b"\xdf\xff\xff\xff\xff",
            b"\xdd\xff\xff\xff\xff\xdf\xff\xff\xff\xff\xc0",
            b"\xdc\xff\xff",
            b"\xde\xff\xff\xa0",
        ] {
            let mut input = header.repeat(MAX_DEPTH - 1);
            input.resize(4000, 0xc0);
            let mut reader = Reader::new(&input);
            assert_eq!(reader.value(0), Err(DecodeError::InvalidPayload));
            assert!(reader.reserved <= input.len(), "{}", reader.reserved);
            assert_eq!(decode(&input), Err(DecodeError::InvalidPayload));
        }
    }

    #[test]
    fn valid_messages_are_reserved_exactly() {
        let nested = Value::Array(vec![
            Value::from("ev"),
            Value::Array((0..100).map(Value::from).collect()),
            Value::Map(vec![
                (Value::from("a"), Value::Array(vec![Value::Nil; 7])),
                (
                    Value::from(1),
                    Value::Map(vec![(Value::Nil, Value::Array(vec![]))]),
                ),
            ]),
            Value::Array(vec![Value::Array(vec![Value::Array(vec![Value::from(
                true,
            )])])]),
        ]);
        let Frame::Binary(bytes) = encode(PacketKind::Event, "/", None, Some(&nested)) else {
            panic!("binary");
        };
        let packet = decode(&bytes).unwrap();
        let data = packet.data.unwrap();
        assert_eq!(data, nested);
        let (capacity, len) = reserved(&data);
        assert_eq!(capacity, len);
        // Dense items use up exactly the whole size, which is still enough.
        let dense = Value::Array(vec![Value::Array(vec![Value::Nil; 200]); 20]);
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &dense).unwrap();
        let mut reader = Reader::new(&out);
        let value = reader.value(0).unwrap();
        let (capacity, len) = reserved(&value);
        assert_eq!((capacity, len), (20 * 201, 20 * 201));
    }
}
