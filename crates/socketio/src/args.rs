//! Event arguments: the serde layer between Rust values and Socket.IO event arguments.
//!
//! # The argument rule
//!
//! A Socket.IO event carries any number of arguments (`socket.emit("ev", a, b, c)` in
//! JavaScript). A Rust value maps onto them with one rule, the same in both directions:
//!
//! - a **tuple** (serde's `tuple` and `tuple_struct`: `(a, b)`, `[T; N]`, `struct P(A, B)`)
//!   stands for several arguments, one per element;
//! - the **unit** value `()` stands for no argument at all;
//! - **anything else** (a struct, a string, a number, a `Vec`, a map, an `Option`...) is one
//!   argument.
//!
//! When reading ([`Args::get`]), a type that asks for a tuple receives all the arguments as a
//! sequence (extra ones ignored; a missing one reads as `null`, so an `Option` element becomes
//! `None` and any other type gives [`ArgsError::MissingArgument`]); `()` accepts any arguments;
//! any other type is read from the first argument, or from `null` when there is none.
//!
//! # Binary data
//!
//! Binary values go through serde's `bytes` type: send them as [`bytes::Bytes`] (or any type
//! that calls `serialize_bytes`, like `serde_bytes::ByteBuf`). With the JSON parser they become
//! attachments and the JSON text holds a placeholder `{"_placeholder":true,"num":N}`; with the
//! msgpack parser they are msgpack `bin` values. A `Vec<u8>` serializes as a sequence of numbers
//! in serde and so stays a JSON array of numbers. When reading, a received binary value can be
//! read as `Bytes`, as a `serde_bytes` type or as a `Vec<u8>`.
//!
//! # Data model of the msgpack parser
//!
//! The npm `socket.io-msgpack-parser` encodes JavaScript values, so msgpack arguments follow the
//! data model of JSON, not that of `rmp-serde`: structs are maps keyed by field name, enums are
//! externally tagged (`"Variant"` or `{"Variant": value}`), `()` and `None` are `nil`. The same
//! Rust types thus work unchanged with both parsers.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io;
use std::slice;

use bytes::Bytes;
use bytestring::ByteString;
use rmpv::Value;
use serde::de::value::BorrowedBytesDeserializer;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, SeqAccess, Unexpected, Visitor,
};
use serde::ser::{self, Serialize, SerializeMap as _, SerializeSeq as _, SerializeTuple as _};
use serde_json::ser::Compound;
use serde_json::value::RawValue;

/// The error type of the serializers and deserializers of this module.
type JsonError = serde_json::Error;

/// Name of the newtype struct through which a verbatim JSON fragment of received arguments is
/// serialized: `serde_json` serializes newtypes transparently (and then writes the fragment
/// verbatim as a `RawValue`), the msgpack value serializer of this module recognizes the name.
const RAW_JSON_TOKEN: &str = "$tower_socketio::private::RawJson";

/// Deepest nesting of arrays and objects accepted when scanning an argument for placeholders
/// (`serde_json` already refuses more than 128 levels when the packet is received).
const MAX_DEPTH: usize = 256;

/// Why the arguments of an event or an ack could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// The packet data is not what Socket.IO allows (not an array, an invalid attachment
    /// placeholder...).
    #[error("invalid event data: {0}")]
    InvalidData(String),
    /// The event name is missing, or is neither a string nor a number.
    #[error("invalid event name")]
    InvalidEventName,
    /// The requested type needs an argument the sender did not send.
    #[error("missing argument at index {index}")]
    MissingArgument {
        /// Index of the first missing argument (0 is the first argument after the event name).
        index: usize,
    },
    /// The arguments do not have the shape the requested type expects.
    #[error("cannot deserialize the arguments: {0}")]
    Deserialize(String),
    /// A value could not be serialized as arguments.
    #[error("cannot serialize the arguments: {0}")]
    Serialize(String),
}

impl ArgsError {
    /// An [`ArgsError::InvalidData`] with the given reason.
    fn invalid(reason: impl fmt::Display) -> Self {
        Self::InvalidData(reason.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Outgoing, JSON parser
// ---------------------------------------------------------------------------------------------

/// Serializes `value` as the arguments of an event or an ack, for the JSON parser, in a single
/// pass.
///
/// The arguments are appended to `out` as JSON values separated by commas, without surrounding
/// brackets; with `leading_comma`, every argument, the first one included, is preceded by a
/// comma. Each binary value (anything serialized through
/// `serialize_bytes`, such as [`Bytes`]) is written as the placeholder
/// `{"_placeholder":true,"num":N}` and its bytes are pushed to `attachments`, `N` being its index
/// in `attachments` (so binary values appended to an `attachments` list that already holds some
/// are numbered after them). The returned count is the number of arguments written; see the
/// [module documentation](self) for what counts as one.
///
/// Framing a packet without copying:
/// - an event: write `["event"`, call this function with `leading_comma`, write `]`: this gives
///   `["event"]` for no argument and `["event",1,2]` otherwise;
/// - an ack: write `[`, call this function without `leading_comma`, write `]`.
///
/// On success with a count of `0`, nothing was appended to `out` or `attachments`. On error,
/// `out` and `attachments` are truncated back to their length on entry.
///
/// # Errors
///
/// [`ArgsError::Serialize`] with whatever the `Serialize` implementation or `serde_json`
/// report (a map key that is not a string, a custom error...).
pub(crate) fn write_args<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    attachments: &mut Vec<Bytes>,
    leading_comma: bool,
) -> Result<usize, ArgsError> {
    let out_len = out.len();
    let attachments_len = attachments.len();
    let result = {
        let mut top = JsonTop {
            out: Some(&mut *out),
            attachments: Some(&mut *attachments),
            json: None,
            leading_comma,
            count: 0,
        };
        value.serialize(&mut top).map(|()| top.count)
    };
    result.map_err(|error| {
        out.truncate(out_len);
        attachments.truncate(attachments_len);
        ArgsError::Serialize(error.to_string())
    })
}

/// A `serde_json` formatter that writes binary values as Socket.IO attachment placeholders and
/// collects their bytes.
struct PlaceholderFormatter<'a> {
    /// The attachments of the packet being written; a placeholder's `num` indexes this list.
    attachments: &'a mut Vec<Bytes>,
}

impl serde_json::ser::Formatter for PlaceholderFormatter<'_> {
    fn write_byte_array<W>(&mut self, writer: &mut W, value: &[u8]) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let num = self.attachments.len();
        write!(writer, "{{\"_placeholder\":true,\"num\":{num}}}")?;
        self.attachments.push(Bytes::copy_from_slice(value));
        Ok(())
    }
}

/// The `serde_json` serializer used for one argument.
type JsonSer<'a> = serde_json::Serializer<&'a mut Vec<u8>, PlaceholderFormatter<'a>>;

/// The top-level serializer of [`write_args`]: it decides how many arguments a value is and
/// forwards each argument to a `serde_json` serializer.
struct JsonTop<'a> {
    /// The output buffer, until it is handed to `json` for a single argument.
    out: Option<&'a mut Vec<u8>>,
    /// The attachments, until they are handed to `json` for a single argument.
    attachments: Option<&'a mut Vec<Bytes>>,
    /// The serializer of a value that is a single argument.
    json: Option<JsonSer<'a>>,
    /// Whether the first argument is preceded by a comma too.
    leading_comma: bool,
    /// Number of arguments written so far.
    count: usize,
}

impl<'a> JsonTop<'a> {
    /// The serializer for a value that is exactly one argument.
    fn one(&mut self) -> Result<&mut JsonSer<'a>, JsonError> {
        let (Some(out), Some(attachments)) = (self.out.take(), self.attachments.take()) else {
            return Err(ser::Error::custom(
                "a value serialized more than one top-level item",
            ));
        };
        if self.leading_comma {
            out.push(b',');
        }
        self.count = 1;
        Ok(self.json.insert(serde_json::Serializer::with_formatter(
            out,
            PlaceholderFormatter { attachments },
        )))
    }

    /// The serializer for a value that is several arguments (a tuple).
    fn many(&mut self) -> Result<JsonTopTuple<'_, 'a>, JsonError> {
        if self.out.is_none() || self.attachments.is_none() {
            return Err(ser::Error::custom(
                "a value serialized more than one top-level item",
            ));
        }
        Ok(JsonTopTuple { top: self })
    }
}

/// The compound serializer of a single JSON argument.
type JsonCompound<'b, 'a> = Compound<'b, &'a mut Vec<u8>, PlaceholderFormatter<'a>>;

impl<'b, 'a> ser::Serializer for &'b mut JsonTop<'a> {
    type Ok = ();
    type Error = JsonError;
    type SerializeSeq = JsonCompound<'b, 'a>;
    type SerializeTuple = JsonTopTuple<'b, 'a>;
    type SerializeTupleStruct = JsonTopTuple<'b, 'a>;
    type SerializeTupleVariant = JsonCompound<'b, 'a>;
    type SerializeMap = JsonCompound<'b, 'a>;
    type SerializeStruct = JsonCompound<'b, 'a>;
    type SerializeStructVariant = JsonCompound<'b, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), JsonError> {
        self.one()?.serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), JsonError> {
        self.one()?.serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), JsonError> {
        self.one()?.serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), JsonError> {
        self.one()?.serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), JsonError> {
        self.one()?.serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), JsonError> {
        self.one()?.serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), JsonError> {
        self.one()?.serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), JsonError> {
        self.one()?.serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), JsonError> {
        self.one()?.serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), JsonError> {
        self.one()?.serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), JsonError> {
        self.one()?.serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), JsonError> {
        self.one()?.serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), JsonError> {
        self.one()?.serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Result<(), JsonError> {
        self.one()?.serialize_char(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), JsonError> {
        self.one()?.serialize_str(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), JsonError> {
        self.one()?.serialize_bytes(v)
    }
    fn serialize_none(self) -> Result<(), JsonError> {
        self.one()?.serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), JsonError> {
        self.one()?.serialize_some(value)
    }
    /// `()` is zero arguments.
    fn serialize_unit(self) -> Result<(), JsonError> {
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), JsonError> {
        self.one()?.serialize_unit_struct(name)
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<(), JsonError> {
        self.one()?.serialize_unit_variant(name, index, variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.one()?.serialize_newtype_struct(name, value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), JsonError> {
        self.one()?
            .serialize_newtype_variant(name, index, variant, value)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
        self.one()?.serialize_seq(len)
    }
    /// A tuple is several arguments.
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, JsonError> {
        self.many()
    }
    /// A tuple struct is several arguments, like a tuple.
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, JsonError> {
        self.many()
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, JsonError> {
        self.one()?
            .serialize_tuple_variant(name, index, variant, len)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
        self.one()?.serialize_map(len)
    }
    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, JsonError> {
        self.one()?.serialize_struct(name, len)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, JsonError> {
        self.one()?
            .serialize_struct_variant(name, index, variant, len)
    }
}

/// Writes the elements of a top-level tuple as separate arguments.
struct JsonTopTuple<'b, 'a> {
    /// The top-level serializer holding the output buffers and the count.
    top: &'b mut JsonTop<'a>,
}

impl JsonTopTuple<'_, '_> {
    /// Writes one element as one argument.
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        let top = &mut *self.top;
        let (Some(out), Some(attachments)) =
            (top.out.as_deref_mut(), top.attachments.as_deref_mut())
        else {
            return Err(ser::Error::custom("the output buffer is gone"));
        };
        if top.count > 0 || top.leading_comma {
            out.push(b',');
        }
        let mut json =
            serde_json::Serializer::with_formatter(out, PlaceholderFormatter { attachments });
        value.serialize(&mut json)?;
        top.count += 1;
        Ok(())
    }
}

impl ser::SerializeTuple for JsonTopTuple<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for JsonTopTuple<'_, '_> {
    type Ok = ();
    type Error = JsonError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        self.element(value)
    }
    fn end(self) -> Result<(), JsonError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Outgoing, msgpack parser
// ---------------------------------------------------------------------------------------------

/// The arguments as dynamic values (binary as `bin`), with the argument rule of
/// [`write_args`]: for the msgpack parser and for messages to other servers.
pub(crate) use to_msgpack::write_args_values;

/// Serialization to msgpack values.
mod to_msgpack {
    use rmpv::Value;
    use serde::ser::{self, Serialize};

    use super::{ArgsError, JsonError, RAW_JSON_TOKEN};

    /// Serializes `value` as the arguments of an event or an ack, for the msgpack parser: one
    /// [`rmpv::Value`] per argument (see the [module documentation](super) for the argument rule and
    /// the data model). Binary values become msgpack `bin` values.
    ///
    /// # Errors
    ///
    /// [`ArgsError::Serialize`] with whatever the `Serialize` implementation reports, or for an
    /// integer that fits in neither `i64` nor `u64`.
    pub(crate) fn write_args_values<T: Serialize + ?Sized>(
        value: &T,
    ) -> Result<Vec<Value>, ArgsError> {
        value
            .serialize(MsgpackTop)
            .map_err(|error| ArgsError::Serialize(error.to_string()))
    }

    /// Serializes a value into an [`rmpv::Value`] with the data model of JSON (see the
    /// [module documentation](super)).
    struct ValueSerializer;

    /// Builds a msgpack array.
    struct SeqBuilder {
        /// The elements so far.
        items: Vec<Value>,
    }

    /// Builds a msgpack map.
    struct MapBuilder {
        /// The entries so far.
        entries: Vec<(Value, Value)>,
        /// A key waiting for its value.
        key: Option<Value>,
    }

    /// Builds `{"variant": inner}` for tuple and struct variants.
    struct VariantBuilder<B> {
        /// The variant name.
        variant: &'static str,
        /// The builder of the variant's content.
        inner: B,
    }

    /// A capacity hint bounded so that a wrong `len` cannot allocate much.
    fn capacity(len: Option<usize>) -> usize {
        len.unwrap_or(0).min(1024)
    }

    /// Converts a received verbatim JSON fragment (see [`RAW_JSON_TOKEN`]) to a msgpack value.
    fn raw_json_to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, JsonError> {
        let text = serde_json::to_string(value)?;
        serde_json::from_str(&text)
    }

    /// Converts the `(tag, bytes)` pair of an msgpack extension to [`Value::Ext`].
    fn ext_to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, JsonError> {
        if let Value::Array(items) = value.serialize(ValueSerializer)? {
            let mut items = items.into_iter();
            if let (Some(Value::Integer(tag)), Some(Value::Binary(data)), None) =
                (items.next(), items.next(), items.next())
                && let Some(tag) = tag.as_i64().and_then(|tag| i8::try_from(tag).ok())
            {
                return Ok(Value::Ext(tag, data));
            }
        }
        Err(ser::Error::custom("invalid msgpack extension"))
    }

    impl ser::Serializer for ValueSerializer {
        type Ok = Value;
        type Error = JsonError;
        type SerializeSeq = SeqBuilder;
        type SerializeTuple = SeqBuilder;
        type SerializeTupleStruct = SeqBuilder;
        type SerializeTupleVariant = VariantBuilder<SeqBuilder>;
        type SerializeMap = MapBuilder;
        type SerializeStruct = MapBuilder;
        type SerializeStructVariant = VariantBuilder<MapBuilder>;

        fn serialize_bool(self, v: bool) -> Result<Value, JsonError> {
            Ok(Value::Boolean(v))
        }
        fn serialize_i8(self, v: i8) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_i16(self, v: i16) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_i32(self, v: i32) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_i64(self, v: i64) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_i128(self, v: i128) -> Result<Value, JsonError> {
            if let Ok(v) = i64::try_from(v) {
                Ok(Value::from(v))
            } else if let Ok(v) = u64::try_from(v) {
                Ok(Value::from(v))
            } else {
                Err(ser::Error::custom("integer out of the msgpack range"))
            }
        }
        fn serialize_u8(self, v: u8) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_u16(self, v: u16) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_u32(self, v: u32) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_u64(self, v: u64) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_u128(self, v: u128) -> Result<Value, JsonError> {
            u64::try_from(v)
                .map(Value::from)
                .map_err(|_| ser::Error::custom("integer out of the msgpack range"))
        }
        fn serialize_f32(self, v: f32) -> Result<Value, JsonError> {
            Ok(Value::F32(v))
        }
        fn serialize_f64(self, v: f64) -> Result<Value, JsonError> {
            Ok(Value::F64(v))
        }
        fn serialize_char(self, v: char) -> Result<Value, JsonError> {
            Ok(Value::from(v.to_string()))
        }
        fn serialize_str(self, v: &str) -> Result<Value, JsonError> {
            Ok(Value::from(v))
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<Value, JsonError> {
            Ok(Value::Binary(v.to_vec()))
        }
        fn serialize_none(self) -> Result<Value, JsonError> {
            Ok(Value::Nil)
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, JsonError> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<Value, JsonError> {
            Ok(Value::Nil)
        }
        fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, JsonError> {
            Ok(Value::Nil)
        }
        fn serialize_unit_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
        ) -> Result<Value, JsonError> {
            Ok(Value::from(variant))
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            value: &T,
        ) -> Result<Value, JsonError> {
            if name == RAW_JSON_TOKEN {
                raw_json_to_value(value)
            } else if name == rmpv::MSGPACK_EXT_STRUCT_NAME {
                ext_to_value(value)
            } else {
                value.serialize(self)
            }
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<Value, JsonError> {
            Ok(Value::Map(vec![(
                Value::from(variant),
                value.serialize(ValueSerializer)?,
            )]))
        }
        fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, JsonError> {
            Ok(SeqBuilder {
                items: Vec::with_capacity(capacity(len)),
            })
        }
        fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, JsonError> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            len: usize,
        ) -> Result<SeqBuilder, JsonError> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<VariantBuilder<SeqBuilder>, JsonError> {
            Ok(VariantBuilder {
                variant,
                inner: self.serialize_seq(Some(len))?,
            })
        }
        fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, JsonError> {
            Ok(MapBuilder {
                entries: Vec::with_capacity(capacity(len)),
                key: None,
            })
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            len: usize,
        ) -> Result<MapBuilder, JsonError> {
            self.serialize_map(Some(len))
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<VariantBuilder<MapBuilder>, JsonError> {
            Ok(VariantBuilder {
                variant,
                inner: self.serialize_map(Some(len))?,
            })
        }
    }

    impl ser::SerializeSeq for SeqBuilder {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.items.push(value.serialize(ValueSerializer)?);
            Ok(())
        }
        fn end(self) -> Result<Value, JsonError> {
            Ok(Value::Array(self.items))
        }
    }

    impl ser::SerializeTuple for SeqBuilder {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(self, value)
        }
        fn end(self) -> Result<Value, JsonError> {
            ser::SerializeSeq::end(self)
        }
    }

    impl ser::SerializeTupleStruct for SeqBuilder {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(self, value)
        }
        fn end(self) -> Result<Value, JsonError> {
            ser::SerializeSeq::end(self)
        }
    }

    impl ser::SerializeMap for MapBuilder {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
            self.key = Some(key.serialize(ValueSerializer)?);
            Ok(())
        }
        fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            let key = self
                .key
                .take()
                .ok_or_else(|| <JsonError as ser::Error>::custom("map value without a key"))?;
            self.entries.push((key, value.serialize(ValueSerializer)?));
            Ok(())
        }
        fn end(self) -> Result<Value, JsonError> {
            Ok(Value::Map(self.entries))
        }
    }

    impl ser::SerializeStruct for MapBuilder {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            self.entries
                .push((Value::from(key), value.serialize(ValueSerializer)?));
            Ok(())
        }
        fn end(self) -> Result<Value, JsonError> {
            Ok(Value::Map(self.entries))
        }
    }

    impl ser::SerializeTupleVariant for VariantBuilder<SeqBuilder> {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeSeq::serialize_element(&mut self.inner, value)
        }
        fn end(self) -> Result<Value, JsonError> {
            let inner = ser::SerializeSeq::end(self.inner)?;
            Ok(Value::Map(vec![(Value::from(self.variant), inner)]))
        }
    }

    impl ser::SerializeStructVariant for VariantBuilder<MapBuilder> {
        type Ok = Value;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
        }
        fn end(self) -> Result<Value, JsonError> {
            let inner = ser::SerializeStruct::end(self.inner)?;
            Ok(Value::Map(vec![(Value::from(self.variant), inner)]))
        }
    }

    /// The top-level serializer of [`write_args_values`]: applies the argument rule.
    struct MsgpackTop;

    /// Wraps the compound serializer of a value that is one argument.
    struct One<B>(B);

    /// Collects the elements of a top-level tuple: each one is an argument.
    struct ArgList(Vec<Value>);

    impl ser::Serializer for MsgpackTop {
        type Ok = Vec<Value>;
        type Error = JsonError;
        type SerializeSeq = One<SeqBuilder>;
        type SerializeTuple = ArgList;
        type SerializeTupleStruct = ArgList;
        type SerializeTupleVariant = One<VariantBuilder<SeqBuilder>>;
        type SerializeMap = One<MapBuilder>;
        type SerializeStruct = One<MapBuilder>;
        type SerializeStructVariant = One<VariantBuilder<MapBuilder>>;

        fn serialize_bool(self, v: bool) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_bool(v).map(|v| vec![v])
        }
        fn serialize_i8(self, v: i8) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_i8(v).map(|v| vec![v])
        }
        fn serialize_i16(self, v: i16) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_i16(v).map(|v| vec![v])
        }
        fn serialize_i32(self, v: i32) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_i32(v).map(|v| vec![v])
        }
        fn serialize_i64(self, v: i64) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_i64(v).map(|v| vec![v])
        }
        fn serialize_i128(self, v: i128) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_i128(v).map(|v| vec![v])
        }
        fn serialize_u8(self, v: u8) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_u8(v).map(|v| vec![v])
        }
        fn serialize_u16(self, v: u16) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_u16(v).map(|v| vec![v])
        }
        fn serialize_u32(self, v: u32) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_u32(v).map(|v| vec![v])
        }
        fn serialize_u64(self, v: u64) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_u64(v).map(|v| vec![v])
        }
        fn serialize_u128(self, v: u128) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_u128(v).map(|v| vec![v])
        }
        fn serialize_f32(self, v: f32) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_f32(v).map(|v| vec![v])
        }
        fn serialize_f64(self, v: f64) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_f64(v).map(|v| vec![v])
        }
        fn serialize_char(self, v: char) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_char(v).map(|v| vec![v])
        }
        fn serialize_str(self, v: &str) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_str(v).map(|v| vec![v])
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_bytes(v).map(|v| vec![v])
        }
        fn serialize_none(self) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_none().map(|v| vec![v])
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_some(value).map(|v| vec![v])
        }
        /// `()` is zero arguments.
        fn serialize_unit(self) -> Result<Vec<Value>, JsonError> {
            Ok(Vec::new())
        }
        fn serialize_unit_struct(self, name: &'static str) -> Result<Vec<Value>, JsonError> {
            ValueSerializer.serialize_unit_struct(name).map(|v| vec![v])
        }
        fn serialize_unit_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
        ) -> Result<Vec<Value>, JsonError> {
            ValueSerializer
                .serialize_unit_variant(name, index, variant)
                .map(|v| vec![v])
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            value: &T,
        ) -> Result<Vec<Value>, JsonError> {
            ValueSerializer
                .serialize_newtype_struct(name, value)
                .map(|v| vec![v])
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<Vec<Value>, JsonError> {
            ValueSerializer
                .serialize_newtype_variant(name, index, variant, value)
                .map(|v| vec![v])
        }
        fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, JsonError> {
            ValueSerializer.serialize_seq(len).map(One)
        }
        /// A tuple is several arguments: its elements.
        fn serialize_tuple(self, len: usize) -> Result<ArgList, JsonError> {
            Ok(ArgList(Vec::with_capacity(capacity(Some(len)))))
        }
        /// A tuple struct is several arguments, like a tuple.
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            len: usize,
        ) -> Result<ArgList, JsonError> {
            Ok(ArgList(Vec::with_capacity(capacity(Some(len)))))
        }
        fn serialize_tuple_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<Self::SerializeTupleVariant, JsonError> {
            ValueSerializer
                .serialize_tuple_variant(name, index, variant, len)
                .map(One)
        }
        fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, JsonError> {
            ValueSerializer.serialize_map(len).map(One)
        }
        fn serialize_struct(
            self,
            name: &'static str,
            len: usize,
        ) -> Result<Self::SerializeStruct, JsonError> {
            ValueSerializer.serialize_struct(name, len).map(One)
        }
        fn serialize_struct_variant(
            self,
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize,
        ) -> Result<Self::SerializeStructVariant, JsonError> {
            ValueSerializer
                .serialize_struct_variant(name, index, variant, len)
                .map(One)
        }
    }

    impl ser::SerializeTuple for ArgList {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.0.push(value.serialize(ValueSerializer)?);
            Ok(())
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            Ok(self.0)
        }
    }

    impl ser::SerializeTupleStruct for ArgList {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            ser::SerializeTuple::serialize_element(self, value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            Ok(self.0)
        }
    }

    impl<B: ser::SerializeSeq<Ok = Value, Error = JsonError>> ser::SerializeSeq for One<B> {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.0.serialize_element(value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            self.0.end().map(|v| vec![v])
        }
    }

    impl<B: ser::SerializeTupleVariant<Ok = Value, Error = JsonError>> ser::SerializeTupleVariant
        for One<B>
    {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.0.serialize_field(value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            self.0.end().map(|v| vec![v])
        }
    }

    impl<B: ser::SerializeMap<Ok = Value, Error = JsonError>> ser::SerializeMap for One<B> {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JsonError> {
            self.0.serialize_key(key)
        }
        fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
            self.0.serialize_value(value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            self.0.end().map(|v| vec![v])
        }
    }

    impl<B: ser::SerializeStruct<Ok = Value, Error = JsonError>> ser::SerializeStruct for One<B> {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            self.0.serialize_field(key, value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            self.0.end().map(|v| vec![v])
        }
    }

    impl<B: ser::SerializeStructVariant<Ok = Value, Error = JsonError>> ser::SerializeStructVariant
        for One<B>
    {
        type Ok = Vec<Value>;
        type Error = JsonError;
        fn serialize_field<T: Serialize + ?Sized>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), JsonError> {
            self.0.serialize_field(key, value)
        }
        fn end(self) -> Result<Vec<Value>, JsonError> {
            self.0.end().map(|v| vec![v])
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Incoming
// ---------------------------------------------------------------------------------------------

/// The received arguments of one event or ack, kept as received until a handler asks for a
/// type.
///
/// Read them with [`Args::get`] (all of them as a tuple, or the first one) or [`Args::arg`] (one
/// by index). `Args` also implements `Serialize` so that emitting it sends exactly the received
/// arguments again: the same count, the same JSON text for each argument, binary values as
/// binary.
///
/// ```
/// use serde_json::json;
/// use tower_socketio::Args;
///
/// # fn main() -> Result<(), tower_socketio::ArgsError> {
/// // What a handler of `socket.emit("move", 3, 4, "fast")` receives:
/// let args = Args::from_values(vec![json!(3), json!(4), json!("fast")]);
/// let (x, y): (i32, i32) = args.get()?; // a tuple takes all the arguments
/// let first: i32 = args.get()?; // anything else takes the first one
/// let speed: String = args.arg(2)?; // or pick one by index
/// assert_eq!((x, y, first, speed.as_str()), (3, 4, 3, "fast"));
/// // `socket.emit("echo", &args)` would send 3, 4, "fast" again.
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Args {
    /// The representation, by parser.
    repr: Repr,
}

/// How the arguments were received.
#[derive(Clone)]
enum Repr {
    /// From the JSON parser.
    Json {
        /// The text of the packet's data array (including the event name, if any).
        text: ByteString,
        /// The byte range of each argument in `text` (inline up to four: no allocation for
        /// the usual argument counts, and a clone is a copy).
        spans: Spans,
        /// The binary attachments that placeholders in the arguments refer to.
        attachments: Vec<Bytes>,
    },
    /// From the msgpack parser: one value per argument.
    Msgpack(Vec<Value>),
}

/// The spans of a packet's arguments.
type Spans = smallvec::SmallVec<[Span; 4]>;

/// A byte range of the data text holding one JSON value.
#[derive(Clone, Copy, Debug)]
struct Span {
    /// Offset of the first byte.
    start: usize,
    /// Offset just past the last byte.
    end: usize,
}

impl Args {
    /// Reads the data of an EVENT (or BINARY_EVENT) packet from the JSON parser: the text of the
    /// JSON array `["event", arg1, ...]` and the packet's attachments. Returns the event name
    /// and the arguments.
    ///
    /// A numeric event name is converted to text the way JavaScript's `String(n)` does. The
    /// whole text is validated here; placeholders are checked when the arguments are read or
    /// serialized (the codec is expected to have validated them already).
    ///
    /// # Errors
    ///
    /// [`ArgsError::InvalidData`] if the text is not a JSON array,
    /// [`ArgsError::InvalidEventName`] if its first element is missing or is neither a string
    /// nor a number.
    pub(crate) fn from_event_json(
        data: ByteString,
        attachments: Vec<Bytes>,
    ) -> Result<(ByteString, Self), ArgsError> {
        let mut spans = split_array(&data)?;
        if spans.is_empty() {
            return Err(ArgsError::InvalidEventName);
        }
        let name_span = spans.remove(0);
        let name = json_event_name(&data, name_span)?;
        let args = Self {
            repr: Repr::Json {
                text: data,
                spans,
                attachments,
            },
        };
        Ok((name, args))
    }

    /// Reads the data of an ACK (or BINARY_ACK) packet from the JSON parser: the text of the
    /// JSON array `[arg1, ...]` and the packet's attachments.
    ///
    /// # Errors
    ///
    /// [`ArgsError::InvalidData`] if the text is not a JSON array.
    pub(crate) fn from_ack_json(
        data: ByteString,
        attachments: Vec<Bytes>,
    ) -> Result<Self, ArgsError> {
        let spans = split_array(&data)?;
        Ok(Self {
            repr: Repr::Json {
                text: data,
                spans,
                attachments,
            },
        })
    }

    /// Reads the data of an EVENT packet from the msgpack parser: an array whose first element
    /// is the event name (a string, or a number converted like JavaScript's `String(n)`).
    ///
    /// # Errors
    ///
    /// [`ArgsError::InvalidData`] if the value is not an array,
    /// [`ArgsError::InvalidEventName`] if its first element is missing or is neither a string
    /// nor a number.
    pub(crate) fn from_msgpack_event(data: Value) -> Result<(String, Self), ArgsError> {
        let Value::Array(items) = data else {
            return Err(ArgsError::invalid("the event data is not an array"));
        };
        let mut items = items.into_iter();
        let name = match items.next() {
            Some(Value::String(name)) => name.into_str().ok_or(ArgsError::InvalidEventName)?,
            Some(Value::Integer(number)) => match (number.as_u64(), number.as_i64()) {
                // Exact below 2^53, like JavaScript.
                (Some(n), _) if n < 1 << 53 => n.to_string(),
                (None, Some(n)) if n > -(1 << 53) => n.to_string(),
                _ => js_number_string(number.as_f64().unwrap_or(f64::NAN)),
            },
            Some(Value::F32(number)) => js_number_string(f64::from(number)),
            Some(Value::F64(number)) => js_number_string(number),
            _ => return Err(ArgsError::InvalidEventName),
        };
        let args = Self {
            repr: Repr::Msgpack(items.collect()),
        };
        Ok((name, args))
    }

    /// Reads the data of an ACK packet from the msgpack parser: an array of arguments.
    ///
    /// # Errors
    ///
    /// [`ArgsError::InvalidData`] if the value is not an array.
    /// Arguments made of msgpack values (from another server).
    pub(crate) fn from_msgpack_values(values: Vec<Value>) -> Self {
        Self {
            repr: Repr::Msgpack(values),
        }
    }

    #[cfg(feature = "msgpack")]
    pub(crate) fn from_msgpack_ack(data: Value) -> Result<Self, ArgsError> {
        match data {
            Value::Array(items) => Ok(Self {
                repr: Repr::Msgpack(items),
            }),
            _ => Err(ArgsError::invalid("the ack data is not an array")),
        }
    }

    /// The number of arguments.
    ///
    /// ```
    /// # use tower_socketio::Args;
    /// let args = Args::from_values(vec![serde_json::json!(3), serde_json::json!(4)]);
    /// assert_eq!(args.len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Json { spans, .. } => spans.len(),
            Repr::Msgpack(values) => values.len(),
        }
    }

    /// About how many bytes the arguments took on the wire (attachments included), for the
    /// bounds on what a connection may make the server hold.
    pub(crate) fn wire_size(&self) -> usize {
        fn value_size(value: &Value) -> usize {
            match value {
                Value::String(s) => s.as_bytes().len() + 1,
                Value::Binary(b) => b.len() + 1,
                Value::Ext(_, b) => b.len() + 2,
                Value::Array(items) => 1 + items.iter().map(value_size).sum::<usize>(),
                Value::Map(entries) => {
                    1 + entries
                        .iter()
                        .map(|(k, v)| value_size(k) + value_size(v))
                        .sum::<usize>()
                }
                _ => 1,
            }
        }
        match &self.repr {
            Repr::Json {
                text, attachments, ..
            } => text.len() + attachments.iter().map(Bytes::len).sum::<usize>(),
            Repr::Msgpack(values) => values.iter().map(value_size).sum(),
        }
    }

    /// Whether there is no argument.
    ///
    /// ```
    /// # use tower_socketio::Args;
    /// assert!(Args::from_values(vec![]).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Deserializes the arguments as a `T`.
    ///
    /// If `T` is a tuple (it asks serde for a `tuple` or a `tuple_struct`: `(A, B)`, `[T; N]`,
    /// `struct P(A, B)`), it receives all the arguments in order; extra arguments are ignored
    /// and missing ones read as `null` (so a trailing `Option` element is `None`). If `T` is
    /// `()`, any arguments are accepted. Otherwise `T` is read from the first argument, or from
    /// `null` when there is none (so `Option<T>` gives `None`).
    ///
    /// JSON arguments without binary attachments are deserialized straight from the received
    /// text. Binary values (attachments, or msgpack `bin`) can be read as [`Bytes`], a
    /// `serde_bytes` type or a `Vec<u8>`.
    ///
    /// ```
    /// use serde_json::json;
    /// use tower_socketio::{Args, ArgsError};
    ///
    /// let args = Args::from_values(vec![json!(3), json!(4)]);
    /// assert_eq!(args.get::<(i32, i32)>(), Ok((3, 4)));
    /// assert_eq!(args.get::<i32>(), Ok(3));
    /// assert_eq!(args.get::<(i32, i32, Option<i32>)>(), Ok((3, 4, None)));
    /// assert_eq!(
    ///     args.get::<(i32, i32, i32)>(),
    ///     Err(ArgsError::MissingArgument { index: 2 })
    /// );
    /// assert_eq!(Args::from_values(vec![]).get::<Option<i32>>(), Ok(None));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgsError::MissingArgument`] when a required argument was not sent,
    /// [`ArgsError::Deserialize`] when an argument does not fit the type,
    /// [`ArgsError::InvalidData`] for an invalid attachment placeholder.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ArgsError> {
        let missing = Cell::new(None);
        let result = match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } if attachments.is_empty() => T::deserialize(TopDe {
                items: Items::Json(text, spans),
                missing: &missing,
            }),
            Repr::Json {
                text,
                spans,
                attachments,
            } => {
                let nodes = spans
                    .iter()
                    .map(|span| build_node(span_text(text, *span)?, attachments.len()))
                    .collect::<Result<Vec<_>, _>>()?;
                T::deserialize(TopDe {
                    items: Items::Nodes(&nodes, attachments),
                    missing: &missing,
                })
            }
            Repr::Msgpack(values) => T::deserialize(TopDe {
                items: Items::Values(values),
                missing: &missing,
            }),
        };
        result.map_err(|error| deserialize_error(&error, missing.get()))
    }

    /// Deserializes the argument at `index` (0 is the first argument after the event name) as a
    /// `T`. An argument that was not sent reads as `null`, so `Option<T>` gives `None`.
    ///
    /// ```
    /// # use tower_socketio::Args;
    /// let args = Args::from_values(vec![serde_json::json!(3), serde_json::json!(4)]);
    /// assert_eq!(args.arg::<i32>(1), Ok(4));
    /// assert_eq!(args.arg::<Option<i32>>(2), Ok(None));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgsError::MissingArgument`] when the argument was not sent and `T` cannot be `null`,
    /// [`ArgsError::Deserialize`] when the argument does not fit the type,
    /// [`ArgsError::InvalidData`] for an invalid attachment placeholder.
    pub fn arg<T: DeserializeOwned>(&self, index: usize) -> Result<T, ArgsError> {
        let result = match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } => match spans.get(index) {
                None => None,
                Some(span) if attachments.is_empty() => {
                    Some(T::deserialize(ArgDe::Json(span_text(text, *span)?)))
                }
                Some(span) => {
                    let node = build_node(span_text(text, *span)?, attachments.len())?;
                    Some(T::deserialize(ArgDe::node(&node, attachments)))
                }
            },
            Repr::Msgpack(values) => values
                .get(index)
                .map(|value| T::deserialize(ArgDe::Value(value))),
        };
        match result {
            Some(result) => result.map_err(|error| deserialize_error(&error, None)),
            None => T::deserialize(ArgDe::Json("null"))
                .map_err(|error| deserialize_error(&error, Some(index))),
        }
    }
}

impl Args {
    /// Arguments made of JSON values, as if received from the JSON parser (for tests and for
    /// in-process senders).
    ///
    /// ```
    /// # use tower_socketio::Args;
    /// let args = Args::from_values(vec![serde_json::json!({"name": "alice"}), 42.into()]);
    /// assert_eq!(args.len(), 2);
    /// assert_eq!(args.raw_json(0), Some(r#"{"name":"alice"}"#));
    /// ```
    #[must_use]
    pub fn from_values(values: Vec<serde_json::Value>) -> Self {
        let mut text = String::from("[");
        let mut spans = Spans::with_capacity(values.len());
        for (index, value) in values.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            let start = text.len();
            // `Value`'s `Display` is its compact JSON text.
            text.push_str(&value.to_string());
            spans.push(Span {
                start,
                end: text.len(),
            });
        }
        text.push(']');
        Self {
            repr: Repr::Json {
                text: ByteString::from(text),
                spans,
                attachments: Vec::new(),
            },
        }
    }

    /// The JSON text of the argument at `index` as received, when the arguments came from the
    /// JSON parser without binary attachments.
    ///
    /// ```
    /// # use tower_socketio::Args;
    /// let args = Args::from_values(vec![serde_json::json!([1, 2])]);
    /// assert_eq!(args.raw_json(0), Some("[1,2]"));
    /// assert_eq!(args.raw_json(1), None);
    /// ```
    #[must_use]
    pub fn raw_json(&self, index: usize) -> Option<&str> {
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } if attachments.is_empty() => {
                let span = spans.get(index)?;
                text.get(span.start..span.end)
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } => {
                let args: Vec<&str> = spans
                    .iter()
                    .filter_map(|span| text.get(span.start..span.end))
                    .collect();
                f.debug_struct("Args")
                    .field("json", &args)
                    .field("attachments", &attachments.len())
                    .finish()
            }
            Repr::Msgpack(values) => f.debug_struct("Args").field("msgpack", values).finish(),
        }
    }
}

/// The [`ArgsError`] for a deserialization error, given the index of the first argument that
/// was missing, if the error came from reading one as `null`.
fn deserialize_error(error: &JsonError, missing: Option<usize>) -> ArgsError {
    match missing {
        Some(index) => ArgsError::MissingArgument { index },
        None => ArgsError::Deserialize(error.to_string()),
    }
}

/// The text of one argument.
fn span_text(text: &str, span: Span) -> Result<&str, ArgsError> {
    text.get(span.start..span.end)
        .ok_or_else(|| ArgsError::invalid("argument out of the data text"))
}

/// Validates `text` as a JSON array and returns the byte range of each of its elements.
fn split_array(text: &str) -> Result<Spans, ArgsError> {
    /// Collects the spans of the elements of an array.
    struct SpansVisitor<'t> {
        /// The whole text, to compute offsets from.
        base: &'t str,
    }

    impl<'de> Visitor<'de> for SpansVisitor<'_> {
        type Value = Spans;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Spans, A::Error> {
            let base = self.base.as_ptr().addr();
            let mut spans = Spans::new();
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                let raw = raw.get();
                let start = raw.as_ptr().addr().wrapping_sub(base);
                let end = start.wrapping_add(raw.len());
                if self.base.get(start..end).map(str::as_ptr) != Some(raw.as_ptr()) {
                    return Err(de::Error::custom("element outside of the array text"));
                }
                spans.push(Span { start, end });
            }
            Ok(spans)
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let spans = de::Deserializer::deserialize_seq(&mut de, SpansVisitor { base: text })
        .and_then(|spans| de.end().map(|()| spans))
        .map_err(ArgsError::invalid)?;
    Ok(spans)
}

/// The event name at `span` of the JSON data `text`: a string, or a number (converted like
/// JavaScript's `String(n)`).
/// The event name: a slice of the packet's text when the JSON string has no escapes (the
/// usual case: no allocation), else the decoded string; a number is named as JavaScript's
/// `String(n)` would.
fn json_event_name(text: &ByteString, span: Span) -> Result<ByteString, ArgsError> {
    let raw = span_text(text, span).map_err(|_| ArgsError::InvalidEventName)?;
    match raw.as_bytes().first() {
        Some(b'"') => {
            let inner = raw
                .get(1..raw.len().saturating_sub(1))
                .filter(|_| raw.len() >= 2 && raw.ends_with('"'));
            match inner {
                // Validated JSON already (the array was split by serde_json): without a
                // backslash, the string's content is the text between the quotes.
                Some(inner) if !inner.contains('\\') => Ok(text.slice_ref(inner)),
                _ => serde_json::from_str::<String>(raw)
                    .map(ByteString::from)
                    .map_err(|_| ArgsError::InvalidEventName),
            }
        }
        Some(b'-' | b'0'..=b'9') => raw
            .parse::<f64>()
            .map(|n| ByteString::from(js_number_string(n)))
            .map_err(|_| ArgsError::InvalidEventName),
        _ => Err(ArgsError::InvalidEventName),
    }
}

/// Formats a number like JavaScript's `String(n)` (ECMAScript `Number::toString`).
pub(crate) fn js_number_string(number: f64) -> String {
    if number.is_nan() {
        return "NaN".to_owned();
    }
    if number.is_infinite() {
        return if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned();
    }
    if number == 0.0 {
        return "0".to_owned();
    }
    let sign = if number < 0.0 { "-" } else { "" };
    // Rust's shortest round-trip digits, as JavaScript's, in scientific form: "1.2345e3".
    let scientific = format!("{:e}", number.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return number.to_string();
    };
    let Ok(exponent) = exponent.parse::<i64>() else {
        return number.to_string();
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    // The decimal point is after `n` digits.
    let n = exponent + 1;
    let zeros = |count: i64| "0".repeat(usize::try_from(count).unwrap_or(0));
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", zeros(n - k))
    } else if 0 < n && n <= 21 {
        let split = usize::try_from(n).unwrap_or(0);
        match digits.split_at_checked(split) {
            Some((int, frac)) => format!("{int}.{frac}"),
            None => digits,
        }
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", zeros(-n))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { "+" } else { "-" };
        let e = e.abs();
        match digits.split_at_checked(1) {
            Some((first, rest)) if !rest.is_empty() => format!("{first}.{rest}e{e_sign}{e}"),
            _ => format!("{digits}e{e_sign}{e}"),
        }
    };
    format!("{sign}{body}")
}

// ---------------------------------------------------------------------------------------------
// JSON arguments with attachments: a tree down to the placeholders
// ---------------------------------------------------------------------------------------------

/// A JSON argument that contains attachment placeholders, parsed only as deep as needed: the
/// arrays and objects on the way to a placeholder are parsed, every other value stays text.
#[derive(Debug)]
enum Node<'a> {
    /// A JSON value without placeholder, as received.
    Raw(&'a str),
    /// A placeholder: the index of its attachment.
    Bin(usize),
    /// An array with a placeholder inside.
    Array(Vec<Node<'a>>),
    /// An object with a placeholder inside, members in the received order.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Parses one JSON argument into a [`Node`]; `attachments` is the number of attachments.
fn build_node(text: &str, attachments: usize) -> Result<Node<'_>, ArgsError> {
    let mut scanner = Scanner {
        text,
        pos: 0,
        attachments,
        depth: 0,
    };
    let node = scanner.value()?;
    scanner.skip_whitespace();
    if scanner.pos != text.len() {
        return Err(ArgsError::invalid("trailing characters after an argument"));
    }
    Ok(node)
}

/// A scanner over the text of one JSON value (already validated by `serde_json`, but every
/// step is checked anyway).
struct Scanner<'a> {
    /// The text.
    text: &'a str,
    /// The current byte offset.
    pos: usize,
    /// The number of attachments (placeholders must refer to one).
    attachments: usize,
    /// The current nesting depth.
    depth: usize,
}

impl<'a> Scanner<'a> {
    /// The byte at the current position.
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips JSON whitespace.
    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes the expected byte.
    fn expect(&mut self, byte: u8) -> Result<(), ArgsError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// The error for unexpected input.
    fn error(&self) -> ArgsError {
        ArgsError::invalid(format_args!("invalid JSON at offset {}", self.pos))
    }

    /// The text from `start` to the current position.
    fn slice(&self, start: usize) -> Result<&'a str, ArgsError> {
        self.text.get(start..self.pos).ok_or_else(|| self.error())
    }

    /// Parses a value.
    fn value(&mut self) -> Result<Node<'a>, ArgsError> {
        self.skip_whitespace();
        let start = self.pos;
        match self.peek() {
            Some(b'[') => self.nested(|scanner| scanner.array(start)),
            Some(b'{') => self.nested(|scanner| scanner.object(start)),
            Some(b'"') => {
                self.string()?;
                self.slice(start).map(Node::Raw)
            }
            Some(_) => {
                while let Some(byte) = self.peek() {
                    if matches!(
                        byte,
                        b',' | b']' | b'}' | b':' | b' ' | b'\t' | b'\n' | b'\r'
                    ) {
                        break;
                    }
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.error());
                }
                self.slice(start).map(Node::Raw)
            }
            None => Err(self.error()),
        }
    }

    /// Runs `parse` one nesting level deeper.
    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Node<'a>, ArgsError>,
    ) -> Result<Node<'a>, ArgsError> {
        if self.depth >= MAX_DEPTH {
            return Err(ArgsError::invalid("arguments nested too deeply"));
        }
        self.depth += 1;
        let node = parse(self);
        self.depth -= 1;
        node
    }

    /// Skips a string, escapes included.
    fn string(&mut self) -> Result<(), ArgsError> {
        self.expect(b'"')?;
        loop {
            match self.peek() {
                None => return Err(self.error()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
            }
        }
    }

    /// Parses an array starting at `start`.
    fn array(&mut self, start: usize) -> Result<Node<'a>, ArgsError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                items.push(self.value()?);
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error()),
                }
            }
        }
        if items.iter().all(|item| matches!(item, Node::Raw(_))) {
            self.slice(start).map(Node::Raw)
        } else {
            Ok(Node::Array(items))
        }
    }

    /// Parses an object starting at `start`; a placeholder becomes [`Node::Bin`].
    fn object(&mut self, start: usize) -> Result<Node<'a>, ArgsError> {
        self.expect(b'{')?;
        let mut members: Vec<(&'a str, Node<'a>)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.skip_whitespace();
                let key_start = self.pos;
                self.string()?;
                let key = self.slice(key_start)?;
                self.skip_whitespace();
                self.expect(b':')?;
                let value = self.value()?;
                members.push((key, value));
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error()),
                }
            }
        }
        // Like JavaScript's JSON.parse, the last occurrence of a key wins.
        let mut placeholder = false;
        let mut num = None;
        for (key, value) in &members {
            let key = unescape_key(key)?;
            if key == "_placeholder" {
                placeholder = matches!(value, Node::Raw("true"));
            } else if key == "num" {
                num = Some(value);
            }
        }
        if placeholder {
            return match num {
                Some(Node::Raw(num)) => match num.parse::<usize>() {
                    Ok(index) if index < self.attachments => Ok(Node::Bin(index)),
                    _ => Err(ArgsError::invalid("attachment placeholder out of range")),
                },
                _ => Err(ArgsError::invalid("invalid attachment placeholder")),
            };
        }
        if members
            .iter()
            .all(|(_, value)| matches!(value, Node::Raw(_)))
        {
            return self.slice(start).map(Node::Raw);
        }
        let members = members
            .into_iter()
            .map(|(key, value)| Ok((unescape_key(key)?, value)))
            .collect::<Result<_, ArgsError>>()?;
        Ok(Node::Object(members))
    }
}

/// The text of a JSON string literal `raw` (quotes included), borrowed when it has no escape.
fn unescape_key(raw: &str) -> Result<Cow<'_, str>, ArgsError> {
    let inner = raw
        .get(1..raw.len().saturating_sub(1))
        .ok_or_else(|| ArgsError::invalid("invalid object key"))?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .map_err(ArgsError::invalid)
    } else {
        Ok(Cow::Borrowed(inner))
    }
}

/// The attachment at `index`.
fn attachment(attachments: &[Bytes], index: usize) -> Result<&[u8], JsonError> {
    attachments
        .get(index)
        .map(|bytes| &bytes[..])
        .ok_or_else(|| de::Error::custom("attachment placeholder out of range"))
}

// ---------------------------------------------------------------------------------------------
// Deserialization
// ---------------------------------------------------------------------------------------------

/// Whether a msgpack extension is how `notepack.io` (the npm msgpack parser) encodes
/// JavaScript's `undefined`.
fn is_undefined(value: &Value) -> bool {
    matches!(value, Value::Ext(0, data) if data[..] == [0])
}

/// A deserializer for one argument (or one value inside one).
#[derive(Clone, Copy)]
enum ArgDe<'a> {
    /// JSON text without placeholder: handed to `serde_json`.
    Json(&'a str),
    /// A parsed JSON value with placeholders (never [`Node::Raw`], see [`ArgDe::node`]).
    Node(&'a Node<'a>, &'a [Bytes]),
    /// A msgpack value.
    Value(&'a Value),
}

impl<'a> ArgDe<'a> {
    /// The deserializer of a node.
    fn node(node: &'a Node<'a>, attachments: &'a [Bytes]) -> Self {
        match node {
            Node::Raw(text) => Self::Json(text),
            _ => Self::Node(node, attachments),
        }
    }

    /// What this value is, for error messages.
    fn unexpected(self) -> Unexpected<'a> {
        match self {
            Self::Json(_) => Unexpected::Other("JSON value"),
            Self::Node(Node::Raw(_), _) => Unexpected::Other("JSON value"),
            Self::Node(Node::Bin(_), _) => Unexpected::Other("binary data"),
            Self::Node(Node::Array(_), _) => Unexpected::Seq,
            Self::Node(Node::Object(_), _) => Unexpected::Map,
            Self::Value(value) => match value {
                Value::Nil => Unexpected::Unit,
                Value::Boolean(v) => Unexpected::Bool(*v),
                Value::Integer(v) => match (v.as_u64(), v.as_i64()) {
                    (Some(v), _) => Unexpected::Unsigned(v),
                    (None, Some(v)) => Unexpected::Signed(v),
                    (None, None) => Unexpected::Other("integer"),
                },
                Value::F32(v) => Unexpected::Float(f64::from(*v)),
                Value::F64(v) => Unexpected::Float(*v),
                Value::String(v) => match v.as_str() {
                    Some(v) => Unexpected::Str(v),
                    None => Unexpected::Bytes(v.as_bytes()),
                },
                Value::Binary(v) => Unexpected::Bytes(v),
                Value::Array(_) => Unexpected::Seq,
                Value::Map(_) => Unexpected::Map,
                Value::Ext(..) => Unexpected::Other("msgpack extension"),
            },
        }
    }

    /// The bytes of a binary value.
    fn binary(self) -> Option<Result<&'a [u8], JsonError>> {
        match self {
            Self::Node(Node::Bin(index), attachments) => Some(attachment(attachments, *index)),
            Self::Value(Value::Binary(bytes)) => Some(Ok(bytes)),
            _ => None,
        }
    }

    /// `deserialize_any` for values that are not JSON text.
    fn any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => de::Deserializer::deserialize_any(
                &mut serde_json::Deserializer::from_str(text),
                visitor,
            ),
            Self::Node(Node::Raw(text), _) => Self::Json(text).any(visitor),
            Self::Node(Node::Bin(index), attachments) => {
                visitor.visit_borrowed_bytes(attachment(attachments, *index)?)
            }
            Self::Node(Node::Array(items), attachments) => {
                visit_seq(SeqItems::Nodes(items.iter(), attachments), visitor)
            }
            Self::Node(Node::Object(members), attachments) => {
                visit_map(MapItems::Nodes(members.iter(), attachments, None), visitor)
            }
            Self::Value(value) => match value {
                Value::Nil => visitor.visit_unit(),
                Value::Boolean(v) => visitor.visit_bool(*v),
                Value::Integer(v) => match (v.as_u64(), v.as_i64()) {
                    (Some(v), _) => visitor.visit_u64(v),
                    (None, Some(v)) => visitor.visit_i64(v),
                    (None, None) => Err(de::Error::custom("integer out of range")),
                },
                Value::F32(v) => visitor.visit_f32(*v),
                Value::F64(v) => visitor.visit_f64(*v),
                Value::String(v) => match v.as_str() {
                    Some(v) => visitor.visit_borrowed_str(v),
                    None => visitor.visit_borrowed_bytes(v.as_bytes()),
                },
                Value::Binary(v) => visitor.visit_borrowed_bytes(v),
                Value::Array(items) => visit_seq(SeqItems::Values(items.iter()), visitor),
                Value::Map(entries) => visit_map(MapItems::Values(entries.iter(), None), visitor),
                Value::Ext(..) if is_undefined(value) => visitor.visit_unit(),
                Value::Ext(tag, data) => visit_seq(SeqItems::Ext(Some(*tag), Some(data)), visitor),
            },
        }
    }

    /// A sequence: binary values can be read as a sequence of bytes (for `Vec<u8>`).
    fn seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self.binary() {
            Some(bytes) => visit_seq(SeqItems::Bytes(bytes?.iter()), visitor),
            None => self.any(visitor),
        }
    }
}

/// Visits a sequence and checks that the visitor read all of it.
fn visit_seq<'a, V: Visitor<'a>>(items: SeqItems<'a>, visitor: V) -> Result<V::Value, JsonError> {
    let mut items = items;
    let total = items.remaining();
    let value = visitor.visit_seq(&mut items)?;
    if items.remaining() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(total, &"fewer elements in array"))
    }
}

/// Visits a map and checks that the visitor read all of it.
fn visit_map<'a, V: Visitor<'a>>(entries: MapItems<'a>, visitor: V) -> Result<V::Value, JsonError> {
    let mut entries = entries;
    let total = entries.remaining();
    let value = visitor.visit_map(&mut entries)?;
    if entries.remaining() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(total, &"fewer elements in map"))
    }
}

/// Forwards `deserialize_*` methods to `serde_json` for JSON text and to
/// [`ArgDe::any`] otherwise.
macro_rules! forward_arg_de {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'a>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, JsonError> {
            match self {
                Self::Json(text) => serde_json::Deserializer::from_str(text).$method($($arg,)* visitor),
                other => other.any(visitor),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for ArgDe<'a> {
    type Error = JsonError;

    forward_arg_de! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => {
                serde_json::Deserializer::from_str(text).deserialize_option(visitor)
            }
            Self::Value(Value::Nil) => visitor.visit_none(),
            Self::Value(value) if is_undefined(value) => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => {
                serde_json::Deserializer::from_str(text).deserialize_newtype_struct(name, visitor)
            }
            other => visitor.visit_newtype_struct(other),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => serde_json::Deserializer::from_str(text).deserialize_seq(visitor),
            other => other.seq(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => {
                serde_json::Deserializer::from_str(text).deserialize_tuple(len, visitor)
            }
            other => other.seq(visitor),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => serde_json::Deserializer::from_str(text)
                .deserialize_tuple_struct(name, len, visitor),
            other => other.seq(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        match self {
            Self::Json(text) => {
                serde_json::Deserializer::from_str(text).deserialize_enum(name, variants, visitor)
            }
            Self::Node(Node::Object(members), attachments) => match members.as_slice() {
                [(key, value)] => visitor.visit_enum(EnumDe {
                    key: EnumKey::Str(key),
                    value: ArgDe::node(value, attachments),
                }),
                _ => Err(de::Error::invalid_value(
                    Unexpected::Map,
                    &"a map with a single key",
                )),
            },
            Self::Value(Value::String(variant)) => match variant.as_str() {
                Some(variant) => visitor.visit_enum(BorrowedStrDeserializer::new(variant)),
                None => Err(de::Error::invalid_value(
                    Unexpected::Bytes(variant.as_bytes()),
                    &"a variant name",
                )),
            },
            Self::Value(Value::Map(entries)) => match entries.as_slice() {
                [(key, value)] => visitor.visit_enum(EnumDe {
                    key: match key.as_str() {
                        Some(key) => EnumKey::Str(key),
                        None => EnumKey::Value(key),
                    },
                    value: ArgDe::Value(value),
                }),
                _ => Err(de::Error::invalid_value(
                    Unexpected::Map,
                    &"a map with a single key",
                )),
            },
            other => Err(de::Error::invalid_type(
                other.unexpected(),
                &"a string or a map with a single key",
            )),
        }
    }
}

/// Deserializes a map key given as text, like `serde_json` does: numbers and booleans are
/// parsed from the text when the type asks for them.
#[derive(Clone, Copy)]
struct KeyDe<'a>(&'a str);

/// Deserializers of [`KeyDe`] for types parsed from the key text.
macro_rules! parse_key {
    ($($method:ident => $visit:ident: $ty:ty;)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
            match self.0.parse::<$ty>() {
                Ok(value) => visitor.$visit(value),
                Err(_) => visitor.visit_borrowed_str(self.0),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for KeyDe<'a> {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_borrowed_str(self.0)
    }

    parse_key! {
        deserialize_bool => visit_bool: bool;
        deserialize_i8 => visit_i8: i8;
        deserialize_i16 => visit_i16: i16;
        deserialize_i32 => visit_i32: i32;
        deserialize_i64 => visit_i64: i64;
        deserialize_i128 => visit_i128: i128;
        deserialize_u8 => visit_u8: u8;
        deserialize_u16 => visit_u16: u16;
        deserialize_u32 => visit_u32: u32;
        deserialize_u64 => visit_u64: u64;
        deserialize_u128 => visit_u128: u128;
        deserialize_f32 => visit_f32: f32;
        deserialize_f64 => visit_f64: f64;
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_enum(BorrowedStrDeserializer::new(self.0))
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// The elements of a sequence being deserialized.
enum SeqItems<'a> {
    /// Elements of a JSON array with placeholders.
    Nodes(slice::Iter<'a, Node<'a>>, &'a [Bytes]),
    /// Elements of a msgpack array.
    Values(slice::Iter<'a, Value>),
    /// The bytes of a binary value read as a sequence.
    Bytes(slice::Iter<'a, u8>),
    /// A msgpack extension read as `(tag, data)`.
    Ext(Option<i8>, Option<&'a [u8]>),
}

impl SeqItems<'_> {
    /// The number of elements not read yet.
    fn remaining(&self) -> usize {
        match self {
            Self::Nodes(iter, _) => iter.len(),
            Self::Values(iter) => iter.len(),
            Self::Bytes(iter) => iter.len(),
            Self::Ext(tag, data) => usize::from(tag.is_some()) + usize::from(data.is_some()),
        }
    }
}

impl<'a> SeqAccess<'a> for SeqItems<'a> {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        match self {
            Self::Nodes(iter, attachments) => iter
                .next()
                .map(|node| seed.deserialize(ArgDe::node(node, attachments)))
                .transpose(),
            Self::Values(iter) => iter
                .next()
                .map(|value| seed.deserialize(ArgDe::Value(value)))
                .transpose(),
            Self::Bytes(iter) => iter
                .next()
                .map(|byte| {
                    seed.deserialize(IntoDeserializer::<JsonError>::into_deserializer(*byte))
                })
                .transpose(),
            Self::Ext(tag, data) => {
                if let Some(tag) = tag.take() {
                    seed.deserialize(IntoDeserializer::<JsonError>::into_deserializer(tag))
                        .map(Some)
                } else if let Some(data) = data.take() {
                    seed.deserialize(BorrowedBytesDeserializer::new(data))
                        .map(Some)
                } else {
                    Ok(None)
                }
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining())
    }
}

/// The entries of a map being deserialized, with the value of the last key read.
enum MapItems<'a> {
    /// Members of a JSON object with placeholders.
    Nodes(
        slice::Iter<'a, (Cow<'a, str>, Node<'a>)>,
        &'a [Bytes],
        Option<&'a Node<'a>>,
    ),
    /// Entries of a msgpack map.
    Values(slice::Iter<'a, (Value, Value)>, Option<&'a Value>),
}

impl MapItems<'_> {
    /// The number of entries not read yet.
    fn remaining(&self) -> usize {
        match self {
            Self::Nodes(iter, ..) => iter.len(),
            Self::Values(iter, _) => iter.len(),
        }
    }
}

impl<'a> de::MapAccess<'a> for MapItems<'a> {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        match self {
            Self::Nodes(iter, _, pending) => match iter.next() {
                Some((key, value)) => {
                    *pending = Some(value);
                    seed.deserialize(KeyDe(key)).map(Some)
                }
                None => Ok(None),
            },
            Self::Values(iter, pending) => match iter.next() {
                Some((key, value)) => {
                    *pending = Some(value);
                    match key.as_str() {
                        Some(key) => seed.deserialize(KeyDe(key)).map(Some),
                        None => seed.deserialize(ArgDe::Value(key)).map(Some),
                    }
                }
                None => Ok(None),
            },
        }
    }

    fn next_value_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<T::Value, JsonError> {
        match self {
            Self::Nodes(_, attachments, pending) => match pending.take() {
                Some(node) => seed.deserialize(ArgDe::node(node, attachments)),
                None => Err(de::Error::custom("map value read before its key")),
            },
            Self::Values(_, pending) => match pending.take() {
                Some(value) => seed.deserialize(ArgDe::Value(value)),
                None => Err(de::Error::custom("map value read before its key")),
            },
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining())
    }
}

/// The variant name of an externally tagged enum.
enum EnumKey<'a> {
    /// A text key.
    Str(&'a str),
    /// A msgpack key that is not text.
    Value(&'a Value),
}

/// An externally tagged enum given as a map with a single entry.
struct EnumDe<'a> {
    /// The variant name.
    key: EnumKey<'a>,
    /// The variant content.
    value: ArgDe<'a>,
}

impl<'a> de::EnumAccess<'a> for EnumDe<'a> {
    type Error = JsonError;
    type Variant = ArgDe<'a>;

    fn variant_seed<V: DeserializeSeed<'a>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ArgDe<'a>), JsonError> {
        let variant = match self.key {
            EnumKey::Str(key) => seed.deserialize(KeyDe(key))?,
            EnumKey::Value(key) => seed.deserialize(ArgDe::Value(key))?,
        };
        Ok((variant, self.value))
    }
}

impl<'a> de::VariantAccess<'a> for ArgDe<'a> {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'a>>(self, seed: T) -> Result<T::Value, JsonError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'a>>(self, len: usize, visitor: V) -> Result<V::Value, JsonError> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }

    fn struct_variant<V: Visitor<'a>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

/// The arguments of an [`Args`], in a form that lends one deserializer per argument.
#[derive(Clone, Copy)]
enum Items<'a> {
    /// JSON without attachments: the data text and the argument spans.
    Json(&'a str, &'a [Span]),
    /// JSON with attachments: one parsed node per argument.
    Nodes(&'a [Node<'a>], &'a [Bytes]),
    /// Msgpack values.
    Values(&'a [Value]),
}

impl<'a> Items<'a> {
    /// The deserializer of the argument at `index`, if it was sent.
    fn get(self, index: usize) -> Option<ArgDe<'a>> {
        match self {
            Self::Json(text, spans) => {
                let span = spans.get(index)?;
                text.get(span.start..span.end).map(ArgDe::Json)
            }
            Self::Nodes(nodes, attachments) => {
                nodes.get(index).map(|node| ArgDe::node(node, attachments))
            }
            Self::Values(values) => values.get(index).map(ArgDe::Value),
        }
    }
}

/// The top-level deserializer of [`Args::get`]: applies the argument rule.
struct TopDe<'a> {
    /// The arguments.
    items: Items<'a>,
    /// Set to the index of the first argument that was missing and could not read as `null`.
    missing: &'a Cell<Option<usize>>,
}

/// Reads a missing argument as `null`, and records its index if that fails.
fn read_missing<'a, T>(
    missing: &Cell<Option<usize>>,
    index: usize,
    read: impl FnOnce(ArgDe<'a>) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    let result = read(ArgDe::Json("null"));
    if result.is_err() && missing.get().is_none() {
        missing.set(Some(index));
    }
    result
}

/// Forwards `deserialize_*` methods of [`TopDe`] to the first argument (or `null`).
macro_rules! forward_first_arg {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'a>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, JsonError> {
            match self.items.get(0) {
                Some(first) => first.$method($($arg,)* visitor),
                None => read_missing(self.missing, 0, |null| null.$method($($arg,)* visitor)),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for TopDe<'a> {
    type Error = JsonError;

    forward_first_arg! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    /// `()` is the tuple of no argument: it accepts any arguments.
    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_unit()
    }

    /// A tuple receives all the arguments.
    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_seq(TopSeq {
            items: self.items,
            missing: self.missing,
            index: 0,
            len,
        })
    }

    /// A tuple struct receives all the arguments, like a tuple.
    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        self.deserialize_tuple(len, visitor)
    }
}

/// The arguments read as the elements of a tuple of `len` elements.
struct TopSeq<'a> {
    /// The arguments.
    items: Items<'a>,
    /// See [`TopDe::missing`].
    missing: &'a Cell<Option<usize>>,
    /// The index of the next element.
    index: usize,
    /// The number of elements the tuple asked for.
    len: usize,
}

impl<'a> SeqAccess<'a> for TopSeq<'a> {
    type Error = JsonError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, JsonError> {
        if self.index >= self.len {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        match self.items.get(index) {
            Some(arg) => seed.deserialize(arg).map(Some),
            None => read_missing(self.missing, index, |null| seed.deserialize(null)).map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len.saturating_sub(self.index))
    }
}

// ---------------------------------------------------------------------------------------------
// Re-emitting received arguments
// ---------------------------------------------------------------------------------------------

/// Serializes as the received arguments: a tuple with one element per argument, so that
/// emitting an `Args` sends exactly the received arguments, with either parser. JSON
/// arguments are written verbatim, except that the attachment placeholders inside them are
/// renumbered for the packet being written (and object keys with escapes inside such arguments
/// are re-escaped); msgpack arguments are serialized as their values. Nested in another value,
/// `Args` serializes as an array of its arguments.
impl Serialize for Args {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.len())?;
        match &self.repr {
            Repr::Json {
                text,
                spans,
                attachments,
            } => {
                for span in spans {
                    let arg = span_text(text, *span).map_err(ser::Error::custom)?;
                    if attachments.is_empty() {
                        tuple.serialize_element(&RawJson(arg))?;
                    } else {
                        let node =
                            build_node(arg, attachments.len()).map_err(ser::Error::custom)?;
                        tuple.serialize_element(&NodeSer {
                            node: &node,
                            attachments,
                        })?;
                    }
                }
            }
            Repr::Msgpack(values) => {
                for value in values {
                    tuple.serialize_element(value)?;
                }
            }
        }
        tuple.end()
    }
}

/// A received JSON value without placeholder, serialized verbatim through `serde_json`'s
/// `RawValue` (see [`RAW_JSON_TOKEN`]).
struct RawJson<'a>(&'a str);

impl Serialize for RawJson<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The text itself, as a `RawValue`.
        struct Text<'a>(&'a str);

        impl Serialize for Text<'_> {
            fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let raw: &RawValue = serde_json::from_str(self.0).map_err(ser::Error::custom)?;
                raw.serialize(serializer)
            }
        }

        serializer.serialize_newtype_struct(RAW_JSON_TOKEN, &Text(self.0))
    }
}

/// A received JSON value with placeholders: placeholders serialize as bytes.
struct NodeSer<'a> {
    /// The value.
    node: &'a Node<'a>,
    /// The attachments the placeholders refer to.
    attachments: &'a [Bytes],
}

impl Serialize for NodeSer<'_> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.node {
            Node::Raw(text) => RawJson(text).serialize(serializer),
            Node::Bin(index) => {
                let bytes = self
                    .attachments
                    .get(*index)
                    .ok_or_else(|| ser::Error::custom("attachment placeholder out of range"))?;
                serializer.serialize_bytes(bytes)
            }
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for node in items {
                    seq.serialize_element(&NodeSer {
                        node,
                        attachments: self.attachments,
                    })?;
                }
                seq.end()
            }
            Node::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, node) in members {
                    map.serialize_entry(
                        &**key,
                        &NodeSer {
                            node,
                            attachments: self.attachments,
                        },
                    )?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(u32, String);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Marker;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Circle(u32),
        Line(Point, Point),
        Rect { w: u32, h: u32 },
        Blob(Bytes),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        name: String,
        data: Bytes,
        parts: Vec<Bytes>,
        index: BTreeMap<String, Bytes>,
        meta: serde_json::Value,
    }

    /// `write_args` into fresh buffers: (text, count, attachments).
    fn json<T: Serialize + ?Sized>(value: &T) -> (String, usize, Vec<Bytes>) {
        let mut out = Vec::new();
        let mut attachments = Vec::new();
        let count = write_args(value, &mut out, &mut attachments, false).unwrap();
        (String::from_utf8(out).unwrap(), count, attachments)
    }

    /// Frames an event the way `write_args` documents.
    fn event<T: Serialize + ?Sized>(name: &str, value: &T) -> (String, Vec<Bytes>) {
        let mut out = format!("[{}", serde_json::to_string(name).unwrap()).into_bytes();
        let mut attachments = Vec::new();
        write_args(value, &mut out, &mut attachments, true).unwrap();
        out.push(b']');
        (String::from_utf8(out).unwrap(), attachments)
    }

    /// Frames an ack the way `write_args` documents.
    fn ack<T: Serialize + ?Sized>(value: &T) -> (String, Vec<Bytes>) {
        let mut out = b"[".to_vec();
        let mut attachments = Vec::new();
        write_args(value, &mut out, &mut attachments, false).unwrap();
        out.push(b']');
        (String::from_utf8(out).unwrap(), attachments)
    }

    fn received(text: &str, attachments: Vec<Bytes>) -> (ByteString, Args) {
        Args::from_event_json(ByteString::from(text.to_owned()), attachments).unwrap()
    }

    fn args(text: &str) -> Args {
        received(text, Vec::new()).1
    }

    fn placeholder(num: usize) -> String {
        format!(r#"{{"_placeholder":true,"num":{num}}}"#)
    }

    fn bytes(data: &'static [u8]) -> Bytes {
        Bytes::from_static(data)
    }

    // --- outgoing, JSON -------------------------------------------------------------------

    #[test]
    fn one_argument_values() {
        assert_eq!(json("hi"), (r#""hi""#.to_owned(), 1, vec![]));
        assert_eq!(
            json(&String::from("a\"b")),
            (r#""a\"b""#.to_owned(), 1, vec![])
        );
        assert_eq!(json(&42u8), ("42".to_owned(), 1, vec![]));
        assert_eq!(json(&-7i64), ("-7".to_owned(), 1, vec![]));
        assert_eq!(json(&1.5f64), ("1.5".to_owned(), 1, vec![]));
        assert_eq!(json(&true), ("true".to_owned(), 1, vec![]));
        assert_eq!(json(&'c'), (r#""c""#.to_owned(), 1, vec![]));
        assert_eq!(
            json(&Point { x: 1, y: 2 }),
            (r#"{"x":1,"y":2}"#.to_owned(), 1, vec![])
        );
        assert_eq!(json(&Some(5)), ("5".to_owned(), 1, vec![]));
        assert_eq!(json(&None::<u8>), ("null".to_owned(), 1, vec![]));
        assert_eq!(json(&Marker), ("null".to_owned(), 1, vec![]));
        assert_eq!(json(&vec![1, 2, 3]), ("[1,2,3]".to_owned(), 1, vec![]));
        assert_eq!(json(&Vec::<u8>::new()), ("[]".to_owned(), 1, vec![]));
        assert_eq!(json(&vec![1u8, 2]), ("[1,2]".to_owned(), 1, vec![]));
        let map = BTreeMap::from([("a", 1), ("b", 2)]);
        assert_eq!(json(&map), (r#"{"a":1,"b":2}"#.to_owned(), 1, vec![]));
        assert_eq!(json(&Shape::Empty), (r#""Empty""#.to_owned(), 1, vec![]));
        assert_eq!(
            json(&Shape::Circle(3)),
            (r#"{"Circle":3}"#.to_owned(), 1, vec![])
        );
        assert_eq!(
            json(&Shape::Rect { w: 1, h: 2 }),
            (r#"{"Rect":{"w":1,"h":2}}"#.to_owned(), 1, vec![])
        );
        assert_eq!(
            json(&serde_json::json!({"nested": [1, {"deep": null}]})),
            (r#"{"nested":[1,{"deep":null}]}"#.to_owned(), 1, vec![])
        );
        // References and boxes are transparent.
        assert_eq!(json(&&Box::new("x")), (r#""x""#.to_owned(), 1, vec![]));
    }

    #[test]
    fn unit_is_zero_arguments() {
        assert_eq!(json(&()), (String::new(), 0, vec![]));
        assert_eq!(event("ev", &()), (r#"["ev"]"#.to_owned(), vec![]));
        assert_eq!(ack(&()), ("[]".to_owned(), vec![]));
    }

    #[test]
    fn tuples_of_zero_to_five_mixed_arguments() {
        assert_eq!(event("ev", &()).0, r#"["ev"]"#);
        assert_eq!(event("ev", &(1,)).0, r#"["ev",1]"#);
        assert_eq!(event("ev", &(1, "a")).0, r#"["ev",1,"a"]"#);
        assert_eq!(event("ev", &(1, "a", true)).0, r#"["ev",1,"a",true]"#);
        assert_eq!(
            event("ev", &(1, "a", true, None::<u8>)).0,
            r#"["ev",1,"a",true,null]"#
        );
        let (text, attachments) = event(
            "ev",
            &(
                1,
                "a",
                Point { x: 1, y: 2 },
                bytes(b"\x00\x01"),
                vec![(); 0],
            ),
        );
        assert_eq!(
            text,
            format!(r#"["ev",1,"a",{{"x":1,"y":2}},{},[]]"#, placeholder(0))
        );
        assert_eq!(attachments, vec![bytes(b"\x00\x01")]);
        assert_eq!(json(&(1, "a", true)).1, 3);
        // A unit inside a tuple is an argument (null).
        assert_eq!(json(&((), 1)), ("null,1".to_owned(), 2, vec![]));
        assert_eq!(ack(&(1, "a")).0, r#"[1,"a"]"#);
    }

    #[test]
    fn arrays_and_tuple_structs_are_several_arguments() {
        assert_eq!(json(&[1, 2]), ("1,2".to_owned(), 2, vec![]));
        assert_eq!(json(&[0u8; 0]), (String::new(), 0, vec![]));
        assert_eq!(event("ev", &["a", "b"]).0, r#"["ev","a","b"]"#);
        assert_eq!(
            json(&Pair(1, "x".into())),
            (r#"1,"x""#.to_owned(), 2, vec![])
        );
        // Nested, they are ordinary JSON arrays.
        assert_eq!(
            json(&([1, 2], (3, 4))),
            ("[1,2],[3,4]".to_owned(), 2, vec![])
        );
        // A slice or a Vec is one argument.
        assert_eq!(json(&[1, 2][..]), ("[1,2]".to_owned(), 1, vec![]));
    }

    #[test]
    fn bytes_at_top_level_become_an_attachment() {
        let (text, count, attachments) = json(&bytes(b"hello"));
        assert_eq!(text, placeholder(0));
        assert_eq!(count, 1);
        assert_eq!(attachments, vec![bytes(b"hello")]);
        let (text, attachments) = event("upload", &bytes(b""));
        assert_eq!(text, format!(r#"["upload",{}]"#, placeholder(0)));
        assert_eq!(attachments, vec![bytes(b"")]);
    }

    #[test]
    fn nested_bytes_are_numbered_in_order_of_appearance() {
        let file = File {
            name: "f".into(),
            data: bytes(b"one"),
            parts: vec![bytes(b"two"), bytes(b"three")],
            index: BTreeMap::from([("k".to_owned(), bytes(b"four"))]),
            meta: serde_json::json!({"size": 3}),
        };
        let (text, count, attachments) = json(&(bytes(b"zero"), &file, [bytes(b"five")]));
        assert_eq!(count, 3);
        assert_eq!(
            text,
            format!(
                r#"{},{{"name":"f","data":{},"parts":[{},{}],"index":{{"k":{}}},"meta":{{"size":3}}}},[{}]"#,
                placeholder(0),
                placeholder(1),
                placeholder(2),
                placeholder(3),
                placeholder(4),
                placeholder(5)
            )
        );
        assert_eq!(
            attachments,
            ["zero", "one", "two", "three", "four", "five"]
                .map(|s| Bytes::from(s.as_bytes().to_vec()))
                .to_vec()
        );
    }

    #[test]
    fn placeholders_count_from_existing_attachments() {
        let mut out = Vec::new();
        let mut attachments = vec![bytes(b"earlier")];
        let count = write_args(
            &(bytes(b"a"), bytes(b"b")),
            &mut out,
            &mut attachments,
            false,
        )
        .unwrap();
        assert_eq!(count, 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{},{}", placeholder(1), placeholder(2))
        );
        assert_eq!(
            attachments,
            vec![bytes(b"earlier"), bytes(b"a"), bytes(b"b")]
        );
    }

    #[test]
    fn errors_roll_back_the_buffers() {
        let bad_map = BTreeMap::from([((1, 2), 3)]);
        let mut out = b"[\"ev\"".to_vec();
        let mut attachments = vec![bytes(b"keep")];
        let result = write_args(
            &(bytes(b"x"), 1, &bad_map),
            &mut out,
            &mut attachments,
            true,
        );
        assert!(matches!(result, Err(ArgsError::Serialize(_))));
        assert_eq!(out, b"[\"ev\"");
        assert_eq!(attachments, vec![bytes(b"keep")]);
        // A single argument too.
        assert!(write_args(&bad_map, &mut out, &mut attachments, true).is_err());
        assert_eq!(out, b"[\"ev\"");
    }

    // --- incoming, JSON -------------------------------------------------------------------

    #[test]
    fn event_names() {
        let data = ByteString::from(r#"["chat message",1]"#.to_owned());
        let (name, args) = Args::from_event_json(data, Vec::new()).unwrap();
        assert_eq!(name, "chat message");
        assert_eq!(args.len(), 1);

        assert_eq!(&*received(r#"["a\"b\u00e9"]"#, vec![]).0, "a\"bé");
        assert_eq!(&*received(r#"[""]"#, vec![]).0, "");
        assert_eq!(&*received(r#"["a\\b\/c"]"#, vec![]).0, "a\\b/c");
        assert_eq!(&*received("[1]", vec![]).0, "1");
        assert_eq!(&*received("[1.0]", vec![]).0, "1");
        assert_eq!(&*received("[-1.5]", vec![]).0, "-1.5");
        assert_eq!(&*received("[1e21]", vec![]).0, "1e+21");
        assert_eq!(&*received("[-0]", vec![]).0, "0");
        assert_eq!(&*received(" [ \"ev\" , 2 ] ", vec![]).0, "ev");
        assert_eq!(
            &*received("[12345678901234567890]", vec![]).0,
            "12345678901234567000"
        );
    }

    #[test]
    fn invalid_json_data() {
        for text in ["[]", "[{}]", "[null]", "[true]", "[[\"ev\"]]"] {
            let result = Args::from_event_json(ByteString::from(text.to_owned()), Vec::new());
            assert!(
                matches!(result, Err(ArgsError::InvalidEventName)),
                "{text}: {result:?}"
            );
        }
        for text in [
            "",
            "{}",
            "1",
            "\"ev\"",
            "[\"ev\"",
            "[\"ev\",]",
            "[\"ev\"] x",
            "not json",
            "[\"ev\",01]",
        ] {
            let result = Args::from_event_json(ByteString::from(text.to_owned()), Vec::new());
            assert!(
                matches!(result, Err(ArgsError::InvalidData(_))),
                "{text}: {result:?}"
            );
        }
        for text in ["", "{}", "1", "[", "[1,]"] {
            let result = Args::from_ack_json(ByteString::from(text.to_owned()), Vec::new());
            assert!(matches!(result, Err(ArgsError::InvalidData(_))), "{text}");
        }
        let args = Args::from_ack_json(ByteString::from_static("[]"), Vec::new()).unwrap();
        assert!(args.is_empty());
        let args = Args::from_ack_json(ByteString::from_static(r#"[1, "a"]"#), Vec::new()).unwrap();
        assert_eq!(args.len(), 2);
        assert_eq!(args.get::<(u8, String)>().unwrap(), (1, "a".to_owned()));
    }

    #[test]
    fn get_takes_all_arguments_for_a_tuple_and_the_first_otherwise() {
        let args = args(r#"["ev", 1, "two", {"x": 3, "y": 4}]"#);
        assert_eq!(args.len(), 3);
        assert!(!args.is_empty());
        assert_eq!(args.get::<u32>().unwrap(), 1);
        assert_eq!(
            args.get::<serde_json::Value>().unwrap(),
            serde_json::json!(1)
        );
        assert_eq!(args.get::<Option<u32>>().unwrap(), Some(1));
        assert_eq!(args.get::<(u32,)>().unwrap(), (1,));
        assert_eq!(args.get::<(u32, String)>().unwrap(), (1, "two".to_owned()));
        assert_eq!(
            args.get::<(u32, String, Point)>().unwrap(),
            (1, "two".to_owned(), Point { x: 3, y: 4 })
        );
        assert_eq!(
            args.get::<(u32, String, Point, Option<u8>)>().unwrap(),
            (1, "two".to_owned(), Point { x: 3, y: 4 }, None)
        );
        assert_eq!(args.get::<Pair>().unwrap(), Pair(1, "two".into()));
        assert_eq!(
            args.get::<(serde_json::Value, serde_json::Value, serde_json::Value)>()
                .unwrap()
                .2,
            serde_json::json!({"x": 3, "y": 4})
        );
        args.get::<()>().unwrap();
        assert!(matches!(
            args.get::<(u32, String, Point, u8)>(),
            Err(ArgsError::MissingArgument { index: 3 })
        ));
        assert!(matches!(
            args.get::<(u32, String, Point, u8, u8)>(),
            Err(ArgsError::MissingArgument { index: 3 })
        ));
        assert!(matches!(
            args.get::<String>(),
            Err(ArgsError::Deserialize(_))
        ));
        assert!(matches!(
            args.get::<(u32, u32)>(),
            Err(ArgsError::Deserialize(_))
        ));
        assert!(matches!(
            args.get::<Point>(),
            Err(ArgsError::Deserialize(_))
        ));

        let args = self::args(r#"["ev",[1,2],[3,4]]"#);
        assert_eq!(
            args.get::<[Vec<u8>; 2]>().unwrap(),
            [vec![1, 2], vec![3, 4]]
        );
        assert_eq!(args.get::<Vec<u8>>().unwrap(), vec![1, 2]);
        assert!(matches!(
            args.get::<[u8; 2]>(),
            Err(ArgsError::Deserialize(_))
        ));
    }

    #[test]
    fn get_with_no_argument_reads_null() {
        let args = args(r#"["ping"]"#);
        assert!(args.is_empty());
        assert_eq!(args.get::<Option<u8>>().unwrap(), None);
        args.get::<()>().unwrap();
        assert_eq!(
            args.get::<serde_json::Value>().unwrap(),
            serde_json::Value::Null
        );
        assert_eq!(args.get::<(Option<String>,)>().unwrap(), (None,));
        assert_eq!(args.get::<Marker>().unwrap(), Marker);
        assert!(matches!(
            args.get::<String>(),
            Err(ArgsError::MissingArgument { index: 0 })
        ));
        assert!(matches!(
            args.get::<(u8,)>(),
            Err(ArgsError::MissingArgument { index: 0 })
        ));
        assert!(matches!(
            args.get::<Point>(),
            Err(ArgsError::MissingArgument { index: 0 })
        ));
    }

    #[test]
    fn arg_by_index() {
        let args = args(r#"["ev", 1, "two", {"x": 3, "y": 4}, null]"#);
        assert_eq!(args.arg::<u8>(0).unwrap(), 1);
        assert_eq!(args.arg::<String>(1).unwrap(), "two");
        assert_eq!(args.arg::<Point>(2).unwrap(), Point { x: 3, y: 4 });
        assert_eq!(args.arg::<Option<Point>>(3).unwrap(), None);
        assert_eq!(args.arg::<Option<u8>>(9).unwrap(), None);
        assert!(matches!(
            args.arg::<u8>(9),
            Err(ArgsError::MissingArgument { index: 9 })
        ));
        assert!(matches!(args.arg::<u8>(1), Err(ArgsError::Deserialize(_))));
        // A tuple at an index is an ordinary JSON array.
        assert!(matches!(
            args.arg::<(u8, String)>(0),
            Err(ArgsError::Deserialize(_))
        ));
    }

    #[test]
    fn json_enums_and_maps() {
        let args = args(
            r#"["ev","Empty",{"Circle":2},{"Line":[{"x":0,"y":0},{"x":1,"y":1}]},{"Rect":{"w":1,"h":2}},{"1":"a","2":"b"}]"#,
        );
        assert_eq!(args.arg::<Shape>(0).unwrap(), Shape::Empty);
        assert_eq!(args.arg::<Shape>(1).unwrap(), Shape::Circle(2));
        assert_eq!(
            args.arg::<Shape>(2).unwrap(),
            Shape::Line(Point { x: 0, y: 0 }, Point { x: 1, y: 1 })
        );
        assert_eq!(args.arg::<Shape>(3).unwrap(), Shape::Rect { w: 1, h: 2 });
        assert_eq!(
            args.arg::<HashMap<u32, String>>(4).unwrap(),
            HashMap::from([(1, "a".to_owned()), (2, "b".to_owned())])
        );
    }

    #[test]
    fn attachments_read_as_bytes() {
        let text = format!(
            r#"["upload",{p0},{{"name":"f","data":{p1},"parts":[{p0},{p2}],"index":{{"k":{p1}}},"meta":{{"size":[1,2.50]}}}},{{"Blob":{p2}}},[{p0},null]]"#,
            p0 = placeholder(0),
            p1 = placeholder(1),
            p2 = placeholder(2),
        );
        let attachments = vec![bytes(b"zero"), bytes(b"one"), bytes(b"two")];
        let (name, args) = received(&text, attachments.clone());
        assert_eq!(&*name, "upload");
        assert_eq!(args.len(), 4);
        assert_eq!(args.get::<Bytes>().unwrap(), bytes(b"zero"));
        assert_eq!(args.get::<Vec<u8>>().unwrap(), b"zero".to_vec());
        assert_eq!(args.get::<Option<Bytes>>().unwrap(), Some(bytes(b"zero")));
        let (first, file, shape, list) = args
            .get::<(Bytes, File, Shape, Vec<Option<Bytes>>)>()
            .unwrap();
        assert_eq!(first, bytes(b"zero"));
        assert_eq!(
            file,
            File {
                name: "f".into(),
                data: bytes(b"one"),
                parts: vec![bytes(b"zero"), bytes(b"two")],
                index: BTreeMap::from([("k".to_owned(), bytes(b"one"))]),
                meta: serde_json::json!({"size": [1, 2.5]}),
            }
        );
        assert_eq!(shape, Shape::Blob(bytes(b"two")));
        assert_eq!(list, vec![Some(bytes(b"zero")), None]);
        assert_eq!(args.arg::<Shape>(2).unwrap(), Shape::Blob(bytes(b"two")));
        assert_eq!(
            args.arg::<rmpv::Value>(3).unwrap(),
            Value::Array(vec![Value::Binary(b"zero".to_vec()), Value::Nil])
        );
        // A binary value is not a number (serde lets a String take UTF-8 bytes), and JSON
        // values have no binary type.
        assert!(matches!(args.get::<u32>(), Err(ArgsError::Deserialize(_))));
        assert_eq!(args.get::<String>().unwrap(), "zero");
        assert!(matches!(
            args.get::<serde_json::Value>(),
            Err(ArgsError::Deserialize(_))
        ));
        // Unknown fields (even binary ones) are skipped.
        #[derive(Debug, Deserialize)]
        struct NameOnly {
            name: String,
        }
        assert_eq!(args.arg::<NameOnly>(1).unwrap().name, "f");
    }

    #[test]
    fn placeholder_forms() {
        // Extra keys, any key order, whitespace and escaped keys are still placeholders.
        let (_, args) = received(
            r#"["ev",{ "num" : 0 , "_placeholder" : true , "x": 1 },{"\u005fplaceholder":true,"num":1}]"#,
            vec![bytes(b"a"), bytes(b"b")],
        );
        assert_eq!(
            args.get::<(Bytes, Bytes)>().unwrap(),
            (bytes(b"a"), bytes(b"b"))
        );
        // `_placeholder` other than `true` is an ordinary object.
        let (_, args) = received(
            r#"["ev",{"_placeholder":false,"num":0},{"_placeholder":"true","num":0}]"#,
            vec![bytes(b"a")],
        );
        assert_eq!(
            args.get::<(serde_json::Value, serde_json::Value)>()
                .unwrap()
                .0,
            serde_json::json!({"_placeholder": false, "num": 0})
        );
        // Without attachments, nothing is a placeholder (like socket.io-parser for EVENT).
        let args = self::args(&format!(r#"["ev",{}]"#, placeholder(0)));
        assert_eq!(
            args.get::<serde_json::Value>().unwrap(),
            serde_json::json!({"_placeholder": true, "num": 0})
        );
    }

    #[test]
    fn invalid_placeholders_are_errors() {
        for bad in [
            placeholder(1),
            placeholder(99_999_999_999),
            r#"{"_placeholder":true}"#.to_owned(),
            r#"{"_placeholder":true,"num":-1}"#.to_owned(),
            r#"{"_placeholder":true,"num":0.5}"#.to_owned(),
            r#"{"_placeholder":true,"num":"0"}"#.to_owned(),
            format!(r#"{{"a":[{}]}}"#, placeholder(7)),
        ] {
            let (_, args) = received(&format!(r#"["ev",{bad}]"#), vec![bytes(b"a")]);
            assert!(
                matches!(
                    args.get::<serde_json::Value>(),
                    Err(ArgsError::InvalidData(_))
                ),
                "{bad}"
            );
            assert!(matches!(
                args.arg::<Bytes>(0),
                Err(ArgsError::InvalidData(_))
            ));
            let mut out = Vec::new();
            assert!(write_args(&args, &mut out, &mut Vec::new(), true).is_err());
            assert!(out.is_empty());
            #[cfg(feature = "msgpack")]
            assert!(write_args_values(&args).is_err());
        }
    }

    // --- re-emitting ----------------------------------------------------------------------

    #[test]
    fn received_json_is_re_emitted_verbatim() {
        for text in [
            r#"["ev"]"#,
            r#"["ev",1]"#,
            r#"["ev",1,1.0,1e3,-0,12345678901234567890123,"\u00e9\n",{"b":1,"a":[true,null]},[],{}]"#,
        ] {
            let (name, args) = received(text, Vec::new());
            let (out, attachments) = event(&name, &args);
            assert_eq!(out, text);
            assert!(attachments.is_empty());
        }
        // Whitespace between arguments is not kept, the arguments themselves are.
        let (_, args) = received(r#"[ "ev" , { "a" : 1 } , 2 ]"#, Vec::new());
        assert_eq!(event("ev", &args).0, r#"["ev",{ "a" : 1 },2]"#);
        // Acks too.
        let args = Args::from_ack_json(ByteString::from_static(r#"[1,"a"]"#), vec![]).unwrap();
        assert_eq!(ack(&args).0, r#"[1,"a"]"#);
        let args = Args::from_ack_json(ByteString::from_static("[]"), vec![]).unwrap();
        assert_eq!(json(&args), (String::new(), 0, vec![]));
        assert_eq!(ack(&args).0, "[]");
    }

    #[test]
    fn received_binary_is_re_emitted_as_attachments() {
        let text = format!(
            r#"["ev",{},{{"b":[1.50,{}],"a":"x"}},3]"#,
            placeholder(0),
            placeholder(1)
        );
        let attachments = vec![bytes(b"first"), bytes(b"second")];
        let (name, args) = received(&text, attachments.clone());
        let (out, out_attachments) = event(&name, &args);
        assert_eq!(out, text);
        assert_eq!(out_attachments, attachments);

        // Placeholders that are not in order of appearance are renumbered.
        let text = format!(r#"["ev",{},{}]"#, placeholder(1), placeholder(0));
        let (_, args) = received(&text, attachments.clone());
        let (out, out_attachments) = event("ev", &args);
        assert_eq!(
            out,
            format!(r#"["ev",{},{}]"#, placeholder(0), placeholder(1))
        );
        assert_eq!(out_attachments, vec![bytes(b"second"), bytes(b"first")]);
    }

    #[test]
    fn nested_args_renumber_placeholders() {
        let text = format!(r#"["ev",{},[{}]]"#, placeholder(0), placeholder(1));
        let (_, args) = received(&text, vec![bytes(b"a"), bytes(b"b")]);
        let (out, count, attachments) = json(&(bytes(b"before"), &args, "after"));
        assert_eq!(count, 3);
        assert_eq!(
            out,
            format!(
                r#"{},[{},[{}]],"after""#,
                placeholder(0),
                placeholder(1),
                placeholder(2)
            )
        );
        assert_eq!(
            attachments,
            vec![bytes(b"before"), bytes(b"a"), bytes(b"b")]
        );
        // Args inside a struct is an array.
        #[derive(Serialize)]
        struct Wrapper<'a> {
            args: &'a Args,
        }
        let plain = self::args(r#"["ev",1,"x"]"#);
        assert_eq!(json(&Wrapper { args: &plain }).0, r#"{"args":[1,"x"]}"#);
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#"[1,"x"]"#);
    }

    // --- msgpack --------------------------------------------------------------------------

    #[cfg(feature = "msgpack")]
    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(key, value)| (Value::from(key), value))
                .collect(),
        )
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_outgoing_follows_the_same_rule() {
        let mp = |value: &dyn erased::Ser| erased::to_msgpack(value);
        assert_eq!(mp(&"hi"), vec![Value::from("hi")]);
        assert_eq!(mp(&()), vec![]);
        assert_eq!(mp(&(1,)), vec![Value::from(1)]);
        assert_eq!(
            mp(&(1, "a", true, None::<u8>, bytes(b"\x01"))),
            vec![
                Value::from(1),
                Value::from("a"),
                Value::from(true),
                Value::Nil,
                Value::Binary(vec![1])
            ]
        );
        assert_eq!(mp(&[1, 2]), vec![Value::from(1), Value::from(2)]);
        assert_eq!(
            mp(&Pair(1, "x".into())),
            vec![Value::from(1), Value::from("x")]
        );
        assert_eq!(
            mp(&vec![1u8, 2]),
            vec![Value::Array(vec![Value::from(1), Value::from(2)])]
        );
        assert_eq!(mp(&bytes(b"ab")), vec![Value::Binary(b"ab".to_vec())]);
        assert_eq!(mp(&Marker), vec![Value::Nil]);
        assert_eq!(mp(&Some(1.5f64)), vec![Value::F64(1.5)]);
        assert_eq!(
            mp(&Point { x: 1, y: 2 }),
            vec![map(vec![("x", Value::from(1)), ("y", Value::from(2))])]
        );
        assert_eq!(mp(&Shape::Empty), vec![Value::from("Empty")]);
        assert_eq!(
            mp(&Shape::Circle(2)),
            vec![map(vec![("Circle", Value::from(2))])]
        );
        assert_eq!(
            mp(&Shape::Line(Point { x: 0, y: 0 }, Point { x: 1, y: 1 })),
            vec![map(vec![(
                "Line",
                Value::Array(vec![
                    map(vec![("x", Value::from(0)), ("y", Value::from(0))]),
                    map(vec![("x", Value::from(1)), ("y", Value::from(1))]),
                ])
            )])]
        );
        assert_eq!(
            mp(&Shape::Rect { w: 1, h: 2 }),
            vec![map(vec![(
                "Rect",
                map(vec![("w", Value::from(1)), ("h", Value::from(2))])
            )])]
        );
        assert_eq!(
            mp(&BTreeMap::from([(1, "a")])),
            vec![Value::Map(vec![(Value::from(1), Value::from("a"))])]
        );
        assert_eq!(mp(&(i128::from(u64::MAX))), vec![Value::from(u64::MAX)]);
        assert!(write_args_values(&i128::MIN).is_err());
    }

    /// Object-safe serialization for the table-like tests above.
    #[cfg(feature = "msgpack")]
    mod erased {
        use super::*;

        pub(super) trait Ser {
            fn to_msgpack(&self) -> Vec<Value>;
        }

        impl<T: Serialize> Ser for T {
            fn to_msgpack(&self) -> Vec<Value> {
                write_args_values(self).unwrap()
            }
        }

        pub(super) fn to_msgpack(value: &dyn Ser) -> Vec<Value> {
            value.to_msgpack()
        }
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_incoming() {
        let data = Value::Array(vec![
            Value::from("ev"),
            Value::from(1),
            map(vec![("x", Value::from(3)), ("y", Value::from(-4))]),
            Value::Binary(b"bin".to_vec()),
            Value::from("Empty"),
            map(vec![(
                "Rect",
                map(vec![("w", Value::from(1)), ("h", Value::from(2))]),
            )]),
            map(vec![("1", Value::from("a"))]),
            Value::Ext(0, vec![0]),
            Value::F32(0.5),
        ]);
        let (name, args) = Args::from_msgpack_event(data).unwrap();
        assert_eq!(&*name, "ev");
        assert_eq!(args.len(), 8);
        assert_eq!(args.get::<u32>().unwrap(), 1);
        assert_eq!(
            args.get::<(u32, Point, Bytes)>().unwrap(),
            (1, Point { x: 3, y: -4 }, bytes(b"bin"))
        );
        assert_eq!(args.arg::<Vec<u8>>(2).unwrap(), b"bin".to_vec());
        assert_eq!(args.arg::<Shape>(3).unwrap(), Shape::Empty);
        assert_eq!(args.arg::<Shape>(4).unwrap(), Shape::Rect { w: 1, h: 2 });
        assert_eq!(
            args.arg::<HashMap<u8, String>>(5).unwrap(),
            HashMap::from([(1, "a".to_owned())])
        );
        assert_eq!(args.arg::<Option<u8>>(6).unwrap(), None);
        args.arg::<()>(6).unwrap();
        assert!((args.arg::<f64>(7).unwrap() - 0.5).abs() < f64::EPSILON);
        assert_eq!(args.arg::<Option<u8>>(8).unwrap(), None);
        assert!(matches!(
            args.arg::<u8>(8),
            Err(ArgsError::MissingArgument { index: 8 })
        ));
        assert!(matches!(
            args.arg::<String>(0),
            Err(ArgsError::Deserialize(_))
        ));
        assert!(matches!(
            args.get::<Point>(),
            Err(ArgsError::Deserialize(_))
        ));
        assert_eq!(
            args.arg::<serde_json::Value>(1).unwrap(),
            serde_json::json!({"x": 3, "y": -4})
        );
        args.get::<()>().unwrap();

        let (_, args) = Args::from_msgpack_event(Value::Array(vec![Value::from("e")])).unwrap();
        assert!(args.is_empty());
        assert_eq!(args.get::<Option<u8>>().unwrap(), None);
        assert!(matches!(
            args.get::<(u8,)>(),
            Err(ArgsError::MissingArgument { index: 0 })
        ));

        let name =
            |value: Value| Args::from_msgpack_event(Value::Array(vec![value])).map(|(n, _)| n);
        assert_eq!(&*name(Value::from(5)).unwrap(), "5");
        assert_eq!(&*name(Value::from(-5)).unwrap(), "-5");
        assert_eq!(&*name(Value::F64(1.5)).unwrap(), "1.5");
        assert!(name(Value::Nil).is_err());
        assert!(name(Value::Binary(vec![])).is_err());
        assert!(Args::from_msgpack_event(Value::Array(vec![])).is_err());
        assert!(Args::from_msgpack_event(Value::from("ev")).is_err());

        let args =
            Args::from_msgpack_ack(Value::Array(vec![Value::from(1), Value::from("a")])).unwrap();
        assert_eq!(args.get::<(u8, String)>().unwrap(), (1, "a".to_owned()));
        assert!(Args::from_msgpack_ack(Value::Nil).is_err());
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn msgpack_round_trip() {
        let values = vec![
            Value::from(1),
            Value::from(-1),
            Value::F32(0.25),
            Value::F64(1.5),
            Value::from("s"),
            Value::Binary(vec![0, 255]),
            Value::Array(vec![Value::Nil, Value::from(true)]),
            Value::Map(vec![
                (Value::from("b"), Value::from(1)),
                (Value::from(2), Value::Binary(vec![1])),
            ]),
            Value::Ext(0, vec![0]),
            Value::Ext(-1, vec![1, 2, 3, 4]),
        ];
        let args = Args::from_msgpack_ack(Value::Array(values.clone())).unwrap();
        assert_eq!(write_args_values(&args).unwrap(), values);
        let (_, empty) = Args::from_msgpack_event(Value::Array(vec![Value::from("e")])).unwrap();
        assert_eq!(write_args_values(&empty).unwrap(), vec![]);
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn cross_parser_re_emission() {
        // Received with JSON, sent with msgpack.
        let text = format!(r#"["ev",{{"b":[1,{}],"a":1.5}},"x",[]]"#, placeholder(0));
        let (_, args) = received(&text, vec![bytes(b"bin")]);
        assert_eq!(
            write_args_values(&args).unwrap(),
            vec![
                map(vec![
                    (
                        "b",
                        Value::Array(vec![Value::from(1), Value::Binary(b"bin".to_vec())])
                    ),
                    ("a", Value::F64(1.5)),
                ]),
                Value::from("x"),
                Value::Array(vec![]),
            ]
        );
        let args = self::args(r#"["ev",{"k":[1,"x"]}]"#);
        assert_eq!(
            write_args_values(&args).unwrap(),
            vec![map(vec![(
                "k",
                Value::Array(vec![Value::from(1), Value::from("x")])
            )])]
        );
        // Received with msgpack, sent with JSON.
        let args = Args::from_msgpack_ack(Value::Array(vec![
            Value::from(1),
            map(vec![("data", Value::Binary(b"b".to_vec()))]),
        ]))
        .unwrap();
        let (out, count, attachments) = json(&args);
        assert_eq!(count, 2);
        assert_eq!(out, format!(r#"1,{{"data":{}}}"#, placeholder(0)));
        assert_eq!(attachments, vec![bytes(b"b")]);
    }

    // --- helpers and robustness -----------------------------------------------------------

    #[test]
    fn args_are_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Args>();
        assert_send_sync::<ArgsError>();
        let (_, args) = received(&format!(r#"["ev",{}]"#, placeholder(0)), vec![bytes(b"a")]);
        let copy = args.clone();
        assert_eq!(copy.get::<Bytes>().unwrap(), bytes(b"a"));
        assert_eq!(
            format!("{copy:?}"),
            format!(
                r#"Args {{ json: ["{}"], attachments: 1 }}"#,
                placeholder(0).replace('"', "\\\"")
            )
        );
    }

    #[test]
    fn from_values_reads_like_received_json() {
        let args = Args::from_values(vec![
            serde_json::json!({"x": 1, "y": 2}),
            serde_json::json!("s"),
            serde_json::Value::Null,
        ]);
        assert_eq!(args.len(), 3);
        assert_eq!(args.get::<Point>().unwrap(), Point { x: 1, y: 2 });
        assert_eq!(args.raw_json(1), Some(r#""s""#));
        assert_eq!(ack(&args).0, r#"[{"x":1,"y":2},"s",null]"#);
        let empty = Args::from_values(vec![]);
        assert!(empty.is_empty());
        assert_eq!(event("ev", &empty).0, r#"["ev"]"#);
        // With attachments there is no raw text to give.
        let (_, args) = received(&format!(r#"["ev",{}]"#, placeholder(0)), vec![bytes(b"a")]);
        assert_eq!(args.raw_json(0), None);
    }

    #[test]
    fn javascript_number_strings() {
        for (number, text) in [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-3.0, "-3"),
            (1.5, "1.5"),
            (123.456, "123.456"),
            (0.1, "0.1"),
            (0.000_001, "0.000001"),
            (0.000_000_1, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.25e21, "1.25e+21"),
            (123_456_789_012.0, "123456789012"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(js_number_string(number), text, "{number}");
        }
    }

    /// Exercises every reader and writer on `args`; only panics matter.
    fn exercise(args: &Args) {
        let _ = args.get::<serde_json::Value>();
        let _ = args.get::<rmpv::Value>();
        let _ = args.get::<(Bytes, String, Option<Point>)>();
        let _ = args.get::<(File, Shape)>();
        let _ = args.get::<Vec<u8>>();
        let _ = args.get::<HashMap<u32, Bytes>>();
        let _ = args.get::<serde::de::IgnoredAny>();
        for index in 0..4 {
            let _ = args.arg::<serde_json::Value>(index);
            let _ = args.arg::<rmpv::Value>(index);
            let _ = args.arg::<Shape>(index);
            let _ = args.arg::<Bytes>(index);
        }
        let _ = write_args(args, &mut Vec::new(), &mut Vec::new(), false);
        #[cfg(feature = "msgpack")]
        let _ = write_args_values(args);
        let _ = format!("{args:?}");
    }

    #[test]
    fn no_panic_on_mutated_json() {
        let seeds = [
            format!(
                r#"["ev",{},{{"name":"f","data":{},"parts":[],"index":{{}},"meta":null}},{{"Blob":{}}}]"#,
                placeholder(0),
                placeholder(1),
                placeholder(0)
            ),
            r#"["ev",1,"two",{"x":3,"y":4},[1,[2,{"\u0041":"\\"}]],"Empty"]"#.to_owned(),
        ];
        let replacements = *br#"[]{}",:0 \-1tn_e."#;
        let mut tried = 0usize;
        for seed in &seeds {
            let seed = seed.as_bytes();
            let mut candidates: Vec<Vec<u8>> =
                (0..=seed.len()).map(|end| seed[..end].to_vec()).collect();
            for position in 0..seed.len() {
                for byte in replacements {
                    let mut text = seed.to_vec();
                    text[position] = byte;
                    candidates.push(text);
                }
                let mut text = seed.to_vec();
                text.remove(position);
                candidates.push(text);
            }
            for text in candidates {
                let Ok(text) = String::from_utf8(text) else {
                    continue;
                };
                for count in 0..3 {
                    let attachments = vec![bytes(b"a"); count];
                    let data = ByteString::from(text.clone());
                    if let Ok((_, args)) = Args::from_event_json(data.clone(), attachments.clone())
                    {
                        exercise(&args);
                        tried += 1;
                    }
                    if let Ok(args) = Args::from_ack_json(data, attachments) {
                        exercise(&args);
                        tried += 1;
                    }
                }
            }
        }
        assert!(tried > 100, "{tried}");
    }

    #[cfg(feature = "msgpack")]
    #[test]
    fn no_panic_on_odd_msgpack() {
        let odd = vec![
            Value::Ext(5, vec![]),
            Value::Ext(0, vec![]),
            Value::String(rmpv::Utf8String::from(String::new())),
            Value::Map(vec![
                (Value::Nil, Value::Nil),
                (Value::from(1), Value::Binary(vec![])),
            ]),
            Value::Map(vec![(Value::Binary(vec![0xff]), Value::Nil)]),
            Value::Array(vec![Value::Array(vec![Value::Map(vec![])])]),
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::F64(f64::NAN),
            Value::F32(f32::INFINITY),
        ];
        for value in &odd {
            let args =
                Args::from_msgpack_ack(Value::Array(vec![value.clone(), value.clone()])).unwrap();
            exercise(&args);
        }
        let args = Args::from_msgpack_ack(Value::Array(odd)).unwrap();
        exercise(&args);
        // Invalid UTF-8 strings read as bytes.
        let raw = rmpv::decode::read_value(&mut &[0xa2, 0xff, 0xfe][..]).unwrap();
        let args = Args::from_msgpack_ack(Value::Array(vec![raw])).unwrap();
        assert_eq!(args.get::<Bytes>().unwrap(), bytes(b"\xff\xfe"));
        assert!(args.get::<String>().is_err());
        exercise(&args);
    }
}
