//! What crosses between servers: packet data as values, and packets encoded for this server's
//! clients.

use std::fmt;

use rmpv::Value;
use serde::{Deserialize, Serialize, de, ser::SerializeSeq};

use crate::{
    args::{self, Args, ArgsError},
    error::EmitError,
    packet::Frames,
};

/// The data array of a packet as it travels between servers: an event's name followed by its
/// arguments, or the arguments of an acknowledgement. Binary values stay binary.
///
/// Serializes as an array, binary values through `serialize_bytes` (msgpack `bin` with
/// `rmp-serde`), so an adapter embeds it in whatever message its wire format has.
/// Deserializing accepts what JavaScript peers send, and maps it onto what JavaScript would
/// see: msgpack timestamps (notepack's `Date`s) become ISO-8601 strings as `JSON.stringify`
/// writes them, other extension values become `null`, numbers JavaScript cannot tell from
/// integers become integers, and map keys become strings.
#[derive(Clone, Default, PartialEq)]
pub struct PacketData(Vec<Value>);

impl fmt::Debug for PacketData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl PacketData {
    /// The data of the event `event` with the arguments `data` (see the [argument
    /// rule](crate::args)).
    ///
    /// ```
    /// # use tower_socketio::adapter::PacketData;
    /// let data = PacketData::event("score", &("alice", 3)).unwrap();
    /// assert_eq!(data.event_name(), Some("score"));
    /// assert_eq!(data.len(), 3);
    /// assert_eq!(serde_json::to_string(&data).unwrap(), r#"["score","alice",3]"#);
    /// ```
    ///
    /// # Errors
    ///
    /// [`EmitError::Serialize`] when `data` does not serialize.
    pub fn event<T: Serialize + ?Sized>(event: &str, data: &T) -> Result<Self, EmitError> {
        crate::packet::event_values(event, data).map(PacketData)
    }

    /// The data of an acknowledgement: the received (or to be sent) arguments.
    ///
    /// # Errors
    ///
    /// [`ArgsError::Serialize`] for an argument that cannot be represented (an invalid
    /// attachment placeholder).
    pub fn from_args(args: &Args) -> Result<Self, ArgsError> {
        args::write_args_values(args).map(PacketData)
    }

    pub(crate) fn from_values(values: Vec<Value>) -> Self {
        PacketData(values)
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value, when it is a string: the event name of an event's data.
    pub fn event_name(&self) -> Option<&str> {
        self.0.first().and_then(Value::as_str)
    }

    /// Only the first value (what Node's adapters forward of an acknowledgement).
    #[must_use]
    pub fn first(mut self) -> Self {
        self.0.truncate(1);
        self
    }

    /// Every value as arguments (the data of an acknowledgement).
    pub fn into_args(self) -> Args {
        Args::from_msgpack_values(self.0)
    }

    /// The event name and the arguments of an event's data.
    pub(crate) fn into_event(self) -> Option<(String, Args)> {
        let (name, args) = Args::from_msgpack_event(Value::Array(self.0)).ok()?;
        Some((name, args))
    }
}

impl Serialize for PacketData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for value in &self.0 {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for PacketData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Vec::<Value>::deserialize(deserializer)?;
        let mut out = Vec::with_capacity(values.len());
        for value in values {
            out.push(javascript_value(value, 0).map_err(de::Error::custom)?);
        }
        Ok(PacketData(out))
    }
}

/// Deepest nesting accepted in data from another server (JavaScript's `JSON.stringify`
/// would overflow its stack long before).
const MAX_DEPTH: usize = 128;

/// The largest integer JavaScript represents exactly, plus one.
const JS_SAFE: f64 = 9_007_199_254_740_992.0;

/// `value` as JavaScript would have it (see [`PacketData`]).
fn javascript_value(value: Value, depth: usize) -> Result<Value, &'static str> {
    if depth > MAX_DEPTH {
        return Err("data nested too deeply");
    }
    Ok(match value {
        Value::F64(f) => integral(f).unwrap_or(Value::F64(f)),
        Value::F32(f) => integral(f64::from(f)).unwrap_or(Value::F64(f64::from(f))),
        Value::Ext(-1, bytes) => timestamp(&bytes).map_or(Value::Nil, Value::from),
        Value::Ext(..) => Value::Nil,
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| javascript_value(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| Ok::<_, &'static str>((map_key(k), javascript_value(v, depth + 1)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

fn integral(f: f64) -> Option<Value> {
    if f.fract() != 0.0 || !f.is_finite() || f.abs() >= JS_SAFE {
        return None;
    }
    // In range and integral: the conversion is exact.
    Some(if f < 0.0 {
        Value::from(f as i64)
    } else {
        Value::from(f as u64)
    })
}

fn map_key(key: Value) -> Value {
    match key {
        Value::String(_) => key,
        Value::Integer(i) => Value::from(i.to_string()),
        Value::Boolean(b) => Value::from(b.to_string()),
        Value::Nil => Value::from("null"),
        Value::F64(f) => Value::from(args::js_number_string(f)),
        Value::F32(f) => Value::from(args::js_number_string(f64::from(f))),
        other => Value::from(other.to_string()),
    }
}

/// A msgpack timestamp (extension type -1, 4, 8 or 12 bytes) as `Date#toJSON` writes it.
fn timestamp(bytes: &[u8]) -> Option<String> {
    let (secs, nanos): (i64, u32) = match bytes.len() {
        4 => (i64::from(u32::from_be_bytes(bytes.try_into().ok()?)), 0),
        8 => {
            let raw = u64::from_be_bytes(bytes.try_into().ok()?);
            ((raw & 0x3_ffff_ffff) as i64, (raw >> 34) as u32)
        }
        12 => {
            let nanos = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
            let secs = i64::from_be_bytes(bytes.get(4..)?.try_into().ok()?);
            (secs, nanos)
        }
        _ => return None,
    };
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?
        + time::Duration::nanoseconds(i64::from(nanos));
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).ok()
}

/// A packet encoded for this server's clients (with the namespace's parser): what connection
/// state recovery stores and sends again. Cheap to clone: the bytes are shared.
#[derive(Clone, Debug)]
pub struct EncodedPacket(Frames);

impl EncodedPacket {
    pub(crate) fn new(frames: Frames) -> Self {
        EncodedPacket(frames)
    }

    pub(crate) fn frames(&self) -> &Frames {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn javascript_values_from_msgpack() {
        // [3.0, 2.5, {1: ts}, bin, ext(5)]
        let ts = Value::Ext(-1, 1_700_000_000u32.to_be_bytes().to_vec());
        let input = Value::Array(vec![
            Value::F64(3.0),
            Value::F64(2.5),
            Value::Map(vec![(Value::from(1), ts)]),
            Value::Binary(vec![1, 2]),
            Value::Ext(5, vec![0]),
            Value::F64(-7.0),
        ]);
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, &input).unwrap();
        let data: PacketData =
            rmpv::ext::from_value(rmpv::decode::read_value(&mut &bytes[..]).unwrap()).unwrap();
        assert_eq!(
            data.0,
            vec![
                Value::from(3u64),
                Value::F64(2.5),
                Value::Map(vec![(
                    Value::from("1"),
                    Value::from("2023-11-14T22:13:20.000Z")
                )]),
                Value::Binary(vec![1, 2]),
                Value::Nil,
                Value::from(-7i64),
            ]
        );
        let json = serde_json::to_string(&data.clone().into_args()).unwrap();
        assert_eq!(
            json,
            r#"[3,2.5,{"1":"2023-11-14T22:13:20.000Z"},[1,2],null,-7]"#
        );
    }

    #[test]
    fn events_round_trip() {
        let data = PacketData::event("x", &(1, bytes::Bytes::from_static(b"ab"))).unwrap();
        let packed = rmpv::ext::to_value(&data).unwrap();
        assert_eq!(
            packed,
            Value::Array(vec![
                Value::from("x"),
                Value::from(1),
                Value::Binary(b"ab".to_vec())
            ])
        );
        let back: PacketData = rmpv::ext::from_value(packed).unwrap();
        assert_eq!(back, data);
        let (name, args) = back.into_event().unwrap();
        assert_eq!(name, "x");
        assert_eq!(args.get::<(u8, bytes::Bytes)>().unwrap().1, &b"ab"[..]);
    }
}
