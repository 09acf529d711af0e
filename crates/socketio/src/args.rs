//! Event and acknowledgement arguments: Rust values in, Rust values out.
//!
//! **Outgoing** (`emit(event, &data)`): a tuple is several arguments, `()` none, anything else
//! one argument. `bytes::Bytes` values (anything serialized with `serialize_bytes`) travel as
//! binary attachments, wherever they are nested.
//!
//! **Incoming** ([`Args`]): arguments stay as received (JSON text, or msgpack values) until a
//! handler asks for a type. [`Args::get`] gives the first argument, or all of them when the
//! type is a tuple.

use std::{fmt, io, ops::Range};

use bytes::Bytes;
use serde::{
    Deserializer, Serialize, Serializer,
    de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor},
    ser::{self, SerializeTuple},
};
use serde_json::value::RawValue;
use tower_socketio_protocol::Str;

/// Why arguments could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// The packet data is not an array of arguments.
    #[error("invalid packet data")]
    InvalidData,
    /// The event name is missing or not a string or number.
    #[error("invalid event name")]
    InvalidEventName,
    /// The arguments do not have the requested type.
    #[error("{0}")]
    Deserialize(String),
    /// The value could not be serialized.
    #[error("{0}")]
    Serialize(String),
}

impl de::Error for ArgsError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArgsError::Deserialize(msg.to_string())
    }
}

impl ser::Error for ArgsError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArgsError::Serialize(msg.to_string())
    }
}

/// The arguments of a received event or acknowledgement.
///
/// Cheap to clone. Re-emitting an `Args` sends exactly the same arguments:
/// `socket.emit("echo", &args)`.
#[derive(Clone)]
pub struct Args {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// The JSON array text, the byte range of each argument in it, and the attachments its
    /// placeholders refer to.
    Json {
        text: Str,
        spans: Vec<Range<usize>>,
        attachments: Vec<Bytes>,
    },
    /// Decoded values (msgpack, or binary JSON once resolved).
    Values(Vec<rmpv::Value>),
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } => {
                let args: Vec<&str> = spans.iter().filter_map(|r| text.get(r.clone())).collect();
                f.debug_struct("Args")
                    .field("json", &args)
                    .field("attachments", &attachments.len())
                    .finish()
            }
            Repr::Values(v) => f.debug_struct("Args").field("values", v).finish(),
        }
    }
}

/// The byte ranges of the elements of a JSON array text.
fn element_spans(text: &str) -> Result<Vec<Range<usize>>, ArgsError> {
    let elements: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|_| ArgsError::InvalidData)?;
    let base = text.as_ptr() as usize;
    Ok(elements
        .iter()
        .map(|raw| {
            let start = (raw.get().as_ptr() as usize).saturating_sub(base);
            start..start + raw.get().len()
        })
        .collect())
}

/// The event name as JavaScript's `String(name)` writes it.
fn event_name_json(raw: &str) -> Result<String, ArgsError> {
    if raw.starts_with('"') {
        return serde_json::from_str(raw).map_err(|_| ArgsError::InvalidEventName);
    }
    let n: serde_json::Number =
        serde_json::from_str(raw).map_err(|_| ArgsError::InvalidEventName)?;
    Ok(number_name(&n))
}

fn number_name(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

impl Args {
    /// Arguments from the data of an event packet (`["event", ...args]`); returns the event
    /// name too.
    pub(crate) fn from_event_json(
        data: Str,
        attachments: Vec<Bytes>,
    ) -> Result<(String, Args), ArgsError> {
        let mut spans = element_spans(&data)?;
        if spans.is_empty() {
            return Err(ArgsError::InvalidEventName);
        }
        let name_span = spans.remove(0);
        let name = event_name_json(data.get(name_span).ok_or(ArgsError::InvalidEventName)?)?;
        Ok((
            name,
            Args {
                repr: Repr::Json {
                    text: data,
                    spans,
                    attachments,
                },
            },
        ))
    }

    /// Arguments from the data of an acknowledgement packet (`[...args]`).
    pub(crate) fn from_ack_json(data: Str, attachments: Vec<Bytes>) -> Result<Args, ArgsError> {
        let spans = element_spans(&data)?;
        Ok(Args {
            repr: Repr::Json {
                text: data,
                spans,
                attachments,
            },
        })
    }

    /// Arguments from the data of a msgpack event packet; returns the event name too.
    #[cfg(feature = "msgpack")]
    pub(crate) fn from_msgpack_event(data: rmpv::Value) -> Result<(String, Args), ArgsError> {
        let rmpv::Value::Array(mut values) = data else {
            return Err(ArgsError::InvalidData);
        };
        if values.is_empty() {
            return Err(ArgsError::InvalidEventName);
        }
        let name = match values.remove(0) {
            rmpv::Value::String(s) => s.into_str().ok_or(ArgsError::InvalidEventName)?,
            rmpv::Value::Integer(i) => i.to_string(),
            rmpv::Value::F64(f) => {
                number_name(&serde_json::Number::from_f64(f).ok_or(ArgsError::InvalidEventName)?)
            }
            rmpv::Value::F32(f) => number_name(
                &serde_json::Number::from_f64(f64::from(f)).ok_or(ArgsError::InvalidEventName)?,
            ),
            _ => return Err(ArgsError::InvalidEventName),
        };
        Ok((
            name,
            Args {
                repr: Repr::Values(values),
            },
        ))
    }

    /// Arguments from the data of a msgpack acknowledgement packet.
    #[cfg(feature = "msgpack")]
    pub(crate) fn from_msgpack_ack(data: rmpv::Value) -> Result<Args, ArgsError> {
        match data {
            rmpv::Value::Array(values) => Ok(Args {
                repr: Repr::Values(values),
            }),
            _ => Err(ArgsError::InvalidData),
        }
    }

    /// Arguments from values (for tests and in-process senders).
    pub fn from_values(values: Vec<serde_json::Value>) -> Args {
        let values = values.into_iter().map(|v| json_to_value(v, &[])).collect();
        Args {
            repr: Repr::Values(values),
        }
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Json { spans, .. } => spans.len(),
            Repr::Values(v) => v.len(),
        }
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The arguments as `T`: the first argument (or `null` when there is none), or every
    /// argument when `T` is a tuple.
    ///
    /// ```
    /// use tower_socketio::Args;
    /// use serde_json::json;
    ///
    /// let args = Args::from_values(vec![json!("alice"), json!(42)]);
    /// assert_eq!(args.get::<String>().unwrap(), "alice");
    /// assert_eq!(args.get::<(String, u32)>().unwrap(), ("alice".to_owned(), 42));
    /// assert_eq!(Args::from_values(vec![]).get::<Option<u8>>().unwrap(), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        T::deserialize(AllArgs(self))
    }

    /// The argument at `index` as `T` (`null` when missing).
    pub fn arg<T: DeserializeOwned>(&self, index: usize) -> Result<T, ArgsError> {
        T::deserialize(OneArg { args: self, index })
    }

    /// The raw JSON text of argument `index`, when the arguments are JSON without binary.
    pub fn raw_json(&self, index: usize) -> Option<&str> {
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } if attachments.is_empty() => spans.get(index).and_then(|r| text.get(r.clone())),
            _ => None,
        }
    }

    /// Argument `index` as a value (binary as `rmpv::Value::Binary`).
    fn value(&self, index: usize) -> Result<rmpv::Value, ArgsError> {
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } => match spans.get(index).and_then(|r| text.get(r.clone())) {
                Some(raw) => {
                    // Parsed straight into a value: map keys keep their order.
                    let v: rmpv::Value =
                        serde_json::from_str(raw).map_err(|_| ArgsError::InvalidData)?;
                    Ok(resolve_placeholders(v, attachments))
                }
                None => Ok(rmpv::Value::Nil),
            },
            Repr::Values(v) => Ok(v.get(index).cloned().unwrap_or(rmpv::Value::Nil)),
        }
    }
}

/// Replaces placeholder objects with their attachments.
fn resolve_placeholders(v: rmpv::Value, attachments: &[Bytes]) -> rmpv::Value {
    match v {
        rmpv::Value::Array(a) => rmpv::Value::Array(
            a.into_iter()
                .map(|v| resolve_placeholders(v, attachments))
                .collect(),
        ),
        rmpv::Value::Map(entries) => {
            let is_placeholder = entries
                .iter()
                .any(|(k, v)| k.as_str() == Some("_placeholder") && v.as_bool() == Some(true));
            if is_placeholder {
                let bytes = entries
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("num"))
                    .and_then(|(_, v)| v.as_u64())
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| attachments.get(n));
                if let Some(bytes) = bytes {
                    return rmpv::Value::Binary(bytes.to_vec());
                }
            }
            rmpv::Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, resolve_placeholders(v, attachments)))
                    .collect(),
            )
        }
        other => other,
    }
}

/// Converts JSON to a value, turning placeholders into their attachments.
fn json_to_value(v: serde_json::Value, attachments: &[Bytes]) -> rmpv::Value {
    use serde_json::Value as J;
    match v {
        J::Null => rmpv::Value::Nil,
        J::Bool(b) => rmpv::Value::Boolean(b),
        J::Number(n) => {
            if let Some(u) = n.as_u64() {
                rmpv::Value::from(u)
            } else if let Some(i) = n.as_i64() {
                rmpv::Value::from(i)
            } else {
                rmpv::Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) => rmpv::Value::String(s.into()),
        J::Array(a) => rmpv::Value::Array(
            a.into_iter()
                .map(|v| json_to_value(v, attachments))
                .collect(),
        ),
        J::Object(o) => {
            if o.get("_placeholder") == Some(&J::Bool(true))
                && let Some(bytes) = o
                    .get("num")
                    .and_then(J::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| attachments.get(n))
            {
                return rmpv::Value::Binary(bytes.to_vec());
            }
            rmpv::Value::Map(
                o.into_iter()
                    .map(|(k, v)| (rmpv::Value::String(k.into()), json_to_value(v, attachments)))
                    .collect(),
            )
        }
    }
}

// -------------------------------------------------------------------------------------------
// Deserialization

/// Runs `$method` on the deserializer of one argument.
macro_rules! with_arg {
    ($self:ident, $method:ident ( $($arg:expr),* )) => {{
        match &$self.args.repr {
            Repr::Json { text, spans, attachments } if attachments.is_empty() => {
                match spans.get($self.index).and_then(|r| text.get(r.clone())) {
                    Some(raw) => {
                        let mut de = serde_json::Deserializer::from_str(raw);
                        let v = de.$method($($arg),*).map_err(de_error)?;
                        de.end().map_err(de_error)?;
                        Ok(v)
                    }
                    None => serde_json::Value::Null.$method($($arg),*).map_err(de_error),
                }
            }
            _ => $self.args.value($self.index)?.$method($($arg),*).map_err(de_error),
        }
    }};
}

fn de_error(e: impl fmt::Display) -> ArgsError {
    ArgsError::Deserialize(e.to_string())
}

/// One argument, as a deserializer.
struct OneArg<'a> {
    args: &'a Args,
    index: usize,
}

macro_rules! forward_one {
    ($($method:ident ( $($name:ident : $ty:ty),* )),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($name: $ty,)* visitor: V) -> Result<V::Value, ArgsError> {
                with_arg!(self, $method($($name,)* visitor))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for OneArg<'de> {
    type Error = ArgsError;

    forward_one! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_option(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize), deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
}

/// Every argument: a tuple takes them all, anything else the first.
struct AllArgs<'a>(&'a Args);

impl<'a> AllArgs<'a> {
    fn first(&self) -> OneArg<'a> {
        OneArg {
            args: self.0,
            index: 0,
        }
    }
}

struct ArgsSeq<'a> {
    args: &'a Args,
    index: usize,
}

impl<'de> SeqAccess<'de> for ArgsSeq<'de> {
    type Error = ArgsError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ArgsError> {
        if self.index >= self.args.len() {
            return Ok(None);
        }
        let arg = OneArg {
            args: self.args,
            index: self.index,
        };
        self.index += 1;
        seed.deserialize(arg).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.args.len().saturating_sub(self.index))
    }
}

macro_rules! forward_first {
    ($($method:ident ( $($name:ident : $ty:ty),* )),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($name: $ty,)* visitor: V) -> Result<V::Value, ArgsError> {
                self.first().$method($($name,)* visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for AllArgs<'de> {
    type Error = ArgsError;

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        visitor.visit_seq(ArgsSeq {
            args: self.0,
            index: 0,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ArgsError> {
        visitor.visit_seq(ArgsSeq {
            args: self.0,
            index: 0,
        })
    }

    forward_first! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_option(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(), deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    }
}

// -------------------------------------------------------------------------------------------
// Serialization

impl Serialize for Args {
    /// As a tuple of its arguments, so that emitting it sends the same arguments.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human = serializer.is_human_readable();
        let mut tuple = serializer.serialize_tuple(self.len())?;
        match &self.repr {
            // JSON text is copied verbatim into JSON output.
            Repr::Json {
                text,
                spans,
                attachments,
            } if attachments.is_empty() && human => {
                for span in spans {
                    let raw = text
                        .get(span.clone())
                        .and_then(|s| serde_json::from_str::<&RawValue>(s).ok())
                        .ok_or_else(|| ser::Error::custom("invalid argument"))?;
                    tuple.serialize_element(raw)?;
                }
            }
            _ => {
                for i in 0..self.len() {
                    let v = self.value(i).map_err(ser::Error::custom)?;
                    tuple.serialize_element(&v)?;
                }
            }
        }
        tuple.end()
    }
}

/// The shape of a value at the top level: how many arguments it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Unit,
    Tuple(usize),
    Single,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Shape {}

impl ser::Error for Shape {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Shape::Single
    }
}

/// A serializer that only records the first call the value makes: its top-level shape.
struct ShapeProbe;

macro_rules! probe_single {
    ($($method:ident ( $($ty:ty),* )),* $(,)?) => {
        $(
            fn $method(self, $(_: $ty),*) -> Result<(), Shape> {
                Err(Shape::Single)
            }
        )*
    };
}

impl Serializer for ShapeProbe {
    type Ok = ();
    type Error = Shape;
    type SerializeSeq = ser::Impossible<(), Shape>;
    type SerializeTuple = ser::Impossible<(), Shape>;
    type SerializeTupleStruct = ser::Impossible<(), Shape>;
    type SerializeTupleVariant = ser::Impossible<(), Shape>;
    type SerializeMap = ser::Impossible<(), Shape>;
    type SerializeStruct = ser::Impossible<(), Shape>;
    type SerializeStructVariant = ser::Impossible<(), Shape>;

    probe_single! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_none(), serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    }

    fn serialize_unit(self) -> Result<(), Shape> {
        Err(Shape::Unit)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Shape> {
        Err(Shape::Single)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Single)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Shape> {
        Err(Shape::Single)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Shape> {
        Err(Shape::Single)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Shape> {
        Err(Shape::Tuple(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Shape> {
        Err(Shape::Tuple(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Shape> {
        Err(Shape::Single)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Shape> {
        Err(Shape::Single)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Shape> {
        Err(Shape::Single)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Shape> {
        Err(Shape::Single)
    }
}

fn shape<T: Serialize + ?Sized>(value: &T) -> Shape {
    match value.serialize(ShapeProbe) {
        Ok(()) => Shape::Single,
        Err(s) => s,
    }
}

/// Writes byte strings as attachment placeholders and collects the bytes.
struct PlaceholderFormatter<'a> {
    attachments: &'a mut Vec<Bytes>,
}

impl serde_json::ser::Formatter for PlaceholderFormatter<'_> {
    fn write_byte_array<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        value: &[u8],
    ) -> io::Result<()> {
        let n = self.attachments.len();
        self.attachments.push(Bytes::copy_from_slice(value));
        write!(writer, r#"{{"_placeholder":true,"num":{n}}}"#)
    }
}

/// Appends the arguments `value` stands for to `buf` as comma-separated JSON values (binary
/// values as placeholders, their bytes pushed onto `attachments`). With `leading_comma`, each
/// argument, the first included, is preceded by a comma (for `["event",` prefixes). Returns
/// the number of arguments written.
pub(crate) fn write_args<T: Serialize + ?Sized>(
    value: &T,
    buf: &mut Vec<u8>,
    attachments: &mut Vec<Bytes>,
    leading_comma: bool,
) -> Result<usize, ArgsError> {
    let start = buf.len();
    let shape = shape(value);
    if shape == Shape::Unit {
        return Ok(0);
    }
    if shape == Shape::Single && leading_comma {
        buf.push(b',');
    }
    let at = buf.len();
    {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut *buf, PlaceholderFormatter { attachments });
        value
            .serialize(&mut ser)
            .map_err(|e| ArgsError::Serialize(e.to_string()))?;
    }
    match shape {
        Shape::Tuple(_) => {
            // The tuple was written as `[a,b]`: keep `a,b` (with `,a,b` for a leading comma).
            if buf.get(at) != Some(&b'[') || buf.last() != Some(&b']') {
                buf.truncate(start);
                return Err(ArgsError::Serialize(
                    "a tuple did not serialize as an array".into(),
                ));
            }
            buf.pop();
            let empty = buf.len() == at + 1;
            if empty {
                buf.truncate(start);
                return Ok(0);
            }
            if leading_comma {
                if let Some(b) = buf.get_mut(at) {
                    *b = b',';
                }
            } else {
                buf.remove(at);
            }
            // Count the top-level elements from what the probe said.
            Ok(match shape {
                Shape::Tuple(n) => n,
                _ => 1,
            })
        }
        _ => Ok(1),
    }
}

/// The arguments `value` stands for, as msgpack values (binary inline).
#[cfg(feature = "msgpack")]
pub(crate) fn write_args_msgpack<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Vec<rmpv::Value>, ArgsError> {
    match shape(value) {
        Shape::Unit => Ok(Vec::new()),
        Shape::Single => Ok(vec![
            rmpv::ext::to_value(value).map_err(|e| ArgsError::Serialize(e.to_string()))?,
        ]),
        Shape::Tuple(_) => {
            match rmpv::ext::to_value(value).map_err(|e| ArgsError::Serialize(e.to_string()))? {
                rmpv::Value::Array(values) => Ok(values),
                other => Ok(vec![other]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn write(value: &(impl Serialize + ?Sized), leading: bool) -> (String, usize, Vec<Bytes>) {
        let mut buf = Vec::new();
        let mut att = Vec::new();
        let n = write_args(value, &mut buf, &mut att, leading).unwrap();
        (String::from_utf8(buf).unwrap(), n, att)
    }

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct File {
        name: String,
        data: Bytes,
    }

    #[test]
    fn shapes() {
        assert_eq!(write(&(), true), (String::new(), 0, vec![]));
        assert_eq!(write("a", true), (r#","a""#.into(), 1, vec![]));
        assert_eq!(write("a", false), (r#""a""#.into(), 1, vec![]));
        assert_eq!(
            write(&(1, "b", true), true),
            (r#",1,"b",true"#.into(), 3, vec![])
        );
        assert_eq!(write(&(1, "b"), false), (r#"1,"b""#.into(), 2, vec![]));
        assert_eq!(write(&vec![1, 2], true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(write(&[1, 2], false), ("1,2".into(), 2, vec![]));
        assert_eq!(
            write(&json!({"a": [1]}), false),
            (r#"{"a":[1]}"#.into(), 1, vec![])
        );
        assert_eq!(
            write(&Option::<u8>::None, false),
            ("null".into(), 1, vec![])
        );
        assert_eq!(write(&(5,), false), ("5".into(), 1, vec![]));
        let empty: [u8; 0] = [];
        assert_eq!(write(&empty, true), (String::new(), 0, vec![]));
    }

    #[test]
    fn binary_becomes_placeholders() {
        let f = File {
            name: "x".into(),
            data: Bytes::from_static(&[1, 2]),
        };
        let (text, n, att) = write(
            &(Bytes::from_static(&[9]), &f, vec![Bytes::from_static(&[3])]),
            false,
        );
        assert_eq!(n, 3);
        assert_eq!(
            text,
            r#"{"_placeholder":true,"num":0},{"name":"x","data":{"_placeholder":true,"num":1}},[{"_placeholder":true,"num":2}]"#
        );
        assert_eq!(
            att,
            vec![
                Bytes::from_static(&[9]),
                Bytes::from_static(&[1, 2]),
                Bytes::from_static(&[3])
            ]
        );
    }

    fn event(text: &str, att: Vec<Bytes>) -> (String, Args) {
        Args::from_event_json(Str::from(text.to_owned()), att).unwrap()
    }

    #[test]
    fn get_rule() {
        let (name, args) = event(r#"["ev","alice",42,{"k":[true]}]"#, vec![]);
        assert_eq!(name, "ev");
        assert_eq!(args.len(), 3);
        assert_eq!(args.get::<String>().unwrap(), "alice");
        assert_eq!(args.get::<(String, u32)>().unwrap(), ("alice".into(), 42));
        assert_eq!(
            args.get::<(String, u32, serde_json::Value)>().unwrap().2,
            json!({"k": [true]})
        );
        assert!(
            args.get::<(String, u32, u8, u8)>().is_err(),
            "too few args for the tuple"
        );
        assert!(args.get::<u32>().is_err());
        assert_eq!(args.arg::<u32>(1).unwrap(), 42);
        assert_eq!(args.arg::<Option<u32>>(7).unwrap(), None);
        let (_, none) = event(r#"["ev"]"#, vec![]);
        assert_eq!(none.get::<Option<String>>().unwrap(), None);
        none.get::<()>().unwrap();
        let (name, _) = event("[12,1]", vec![]);
        assert_eq!(name, "12");
        let (name, _) = event("[1.5]", vec![]);
        assert_eq!(name, "1.5");
        let (name, _) = event("[1e3]", vec![]);
        assert_eq!(name, "1000");
        assert!(Args::from_event_json(Str::from("[]".to_owned()), vec![]).is_err());
        assert!(Args::from_event_json(Str::from("{}".to_owned()), vec![]).is_err());
    }

    #[test]
    fn binary_args() {
        let (_, args) = event(
            r#"["up",{"name":"x","data":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]"#,
            vec![Bytes::from_static(&[7]), Bytes::from_static(&[1, 2])],
        );
        let (file, raw): (File, Bytes) = args.get().unwrap();
        assert_eq!(file.data, Bytes::from_static(&[1, 2]));
        assert_eq!(raw, Bytes::from_static(&[7]));
        // Re-emitting keeps binary as binary, renumbered in order of appearance.
        let (text, n, att) = write(&args, true);
        assert_eq!(n, 2);
        assert_eq!(
            text,
            r#",{"name":"x","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}"#
        );
        assert_eq!(
            att,
            vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[7])]
        );
    }

    #[test]
    fn re_emit_is_verbatim() {
        let (_, args) = event(r#"["message",1,"2",{"3":[true]},null,"é€𝄞"]"#, vec![]);
        assert_eq!(write(&args, true).0, r#",1,"2",{"3":[true]},null,"é€𝄞""#);
        let (_, empty) = event(r#"["message"]"#, vec![]);
        assert_eq!(write(&empty, true), (String::new(), 0, vec![]));
        let ack = Args::from_ack_json(Str::from("[1,[2]]".to_owned()), vec![]).unwrap();
        assert_eq!(write(&ack, false).0, "1,[2]");
    }

    #[test]
    fn weird_args_do_not_panic() {
        let (_, args) = event(
            r#"["x",{"_placeholder":true,"num":5},{"_placeholder":true,"num":0}]"#,
            vec![Bytes::from_static(&[1])],
        );
        let _ = args.get::<(serde_json::Value, Bytes)>();
        let _ = args.get::<String>();
        let _ = write(&args, false);
    }
}
