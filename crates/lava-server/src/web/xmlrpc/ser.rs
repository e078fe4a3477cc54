//! Typed XML-RPC replies: a serde `Serializer` whose output is a [`Value`], so a method's
//! reply is a `#[derive(Serialize)]` struct (the same one REST serves, where the shapes
//! agree) and its members keep the struct's field order on the wire.
//!
//! The mapping follows serde_json's: `None` and `()` are `<nil/>`, integers `<int>`, floats
//! `<double>`, sequences and tuples `<array>`, structs and maps `<struct>`, a unit enum
//! variant its name, any other variant a one-member struct named after it. Byte strings
//! (`serialize_bytes`) are `<base64>`, and [`DateTime`] is `<dateTime.iso8601>`: JSON has
//! neither, so they are why this is not a detour through `serde_json::Value`.

use std::fmt::Display;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde::ser;

use super::codec::Value;

/// A reply that cannot be written as XML-RPC (a map with a key that is not a string, an
/// integer past `i64`): a programming error, answered with a fault naming it.
#[derive(Debug, thiserror::Error)]
#[error("reply not encodable as XML-RPC: {0}")]
pub struct SerError(String);

impl ser::Error for SerError {
    fn custom<T: Display>(msg: T) -> SerError {
        SerError(msg.to_string())
    }
}

/// A time written as `<dateTime.iso8601>` (UTC without a zone, as LAVA sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub NaiveDateTime);

impl From<chrono::DateTime<chrono::Utc>> for DateTime {
    fn from(t: chrono::DateTime<chrono::Utc>) -> DateTime {
        DateTime(t.naive_utc())
    }
}

/// The newtype name [`DateTime`] serializes under; only [`to_value`] looks for it (other
/// serializers see a plain string).
const DATETIME: &str = "$lava::xmlrpc::DateTime";
/// Full precision, so the value round-trips exactly through the marker.
const DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

impl Serialize for DateTime {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(DATETIME, &self.0.format(DATETIME_FORMAT).to_string())
    }
}

/// `v` as an XML-RPC value.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<Value, SerError> {
    v.serialize(ToValue)
}

struct ToValue;

fn int(i: impl TryInto<i64> + Display + Copy) -> Result<Value, SerError> {
    i.try_into()
        .map(Value::Int)
        .map_err(|_| SerError(format!("integer {i} is out of range")))
}

fn variant(name: &str, v: Value) -> Value {
    Value::Struct(vec![(name.to_string(), v)])
}

/// The `Serializer` methods of the integer types, each an [`int`].
macro_rules! serialize_ints {
    ($($method:ident: $ty:ty),+ $(,)?) => {
        $(
            fn $method(self, v: $ty) -> Result<Value, SerError> {
                int(v)
            }
        )+
    };
}

impl ser::Serializer for ToValue {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Members;
    type SerializeStruct = Members;
    type SerializeStructVariant = Members;

    fn serialize_bool(self, v: bool) -> Result<Value, SerError> {
        Ok(Value::Bool(v))
    }
    serialize_ints! {
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerError> {
        Ok(Value::Double(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerError> {
        Ok(Value::Double(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerError> {
        Ok(Value::str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, SerError> {
        Ok(Value::Base64(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, SerError> {
        Ok(Value::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, SerError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, SerError> {
        Ok(Value::Nil)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, SerError> {
        Ok(Value::str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        let inner = v.serialize(self)?;
        if name != DATETIME {
            return Ok(inner);
        }
        match &inner {
            Value::Str(s) => NaiveDateTime::parse_from_str(s, DATETIME_FORMAT)
                .map(Value::DateTime)
                .map_err(|e| SerError(format!("time {s:?}: {e}"))),
            other => Err(SerError(format!("time marker around {other:?}"))),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        v: &T,
    ) -> Result<Value, SerError> {
        Ok(variant(name, v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, SerError> {
        Ok(Seq::new(None, len.unwrap_or(0)))
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, SerError> {
        Ok(Seq::new(None, len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Seq, SerError> {
        Ok(Seq::new(None, len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Seq, SerError> {
        Ok(Seq::new(Some(name), len))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Members, SerError> {
        Ok(Members::new(None, len.unwrap_or(0)))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Members, SerError> {
        Ok(Members::new(None, len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Members, SerError> {
        Ok(Members::new(Some(name), len))
    }
}

/// An `<array>` being built; `variant` names the enum variant that wraps it, if any.
struct Seq {
    variant: Option<&'static str>,
    items: Vec<Value>,
}

impl Seq {
    fn new(variant: Option<&'static str>, len: usize) -> Seq {
        Seq {
            variant,
            items: Vec::with_capacity(len),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        self.items.push(v.serialize(ToValue)?);
        Ok(())
    }

    fn done(self) -> Result<Value, SerError> {
        let array = Value::Array(self.items);
        Ok(match self.variant {
            Some(name) => variant(name, array),
            None => array,
        })
    }
}

/// The four array-like serde traits, for which [`Seq`] only pushes each element and
/// finishes with [`Seq::done`]; they differ in the name of the element method alone.
macro_rules! seq_impls {
    ($($tr:ident::$method:ident),+ $(,)?) => {
        $(
            impl ser::$tr for Seq {
                type Ok = Value;
                type Error = SerError;
                fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
                    self.push(v)
                }
                fn end(self) -> Result<Value, SerError> {
                    self.done()
                }
            }
        )+
    };
}

seq_impls! {
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
}

/// A `<struct>` being built, members in the order they come.
struct Members {
    variant: Option<&'static str>,
    members: Vec<(String, Value)>,
    /// A map's key, waiting for its value.
    key: Option<String>,
}

impl Members {
    fn new(variant: Option<&'static str>, len: usize) -> Members {
        Members {
            variant,
            members: Vec::with_capacity(len),
            key: None,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, name: String, v: &T) -> Result<(), SerError> {
        self.members.push((name, v.serialize(ToValue)?));
        Ok(())
    }

    fn done(self) -> Result<Value, SerError> {
        let s = Value::Struct(self.members);
        Ok(match self.variant {
            Some(name) => variant(name, s),
            None => s,
        })
    }
}

impl ser::SerializeMap for Members {
    type Ok = Value;
    type Error = SerError;
    /// XML-RPC member names are strings: a map key must serialize as one (a string, a
    /// string newtype, a unit enum variant), as serde_json requires too.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        match key.serialize(ToValue)? {
            Value::Str(name) => self.key = Some(name),
            other => {
                return Err(SerError(format!(
                    "a struct member name must be a string, not {other:?}"
                )));
            }
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerError("a map value without its key".into()))?;
        self.push(key, v)
    }
    fn end(self) -> Result<Value, SerError> {
        self.done()
    }
}

/// The two struct-like serde traits, for which [`Members`] pushes each named field and
/// finishes with [`Members::done`].
macro_rules! struct_impls {
    ($($tr:ident),+ $(,)?) => {
        $(
            impl ser::$tr for Members {
                type Ok = Value;
                type Error = SerError;
                fn serialize_field<T: Serialize + ?Sized>(
                    &mut self,
                    name: &'static str,
                    v: &T,
                ) -> Result<(), SerError> {
                    self.push(name.to_string(), v)
                }
                fn end(self) -> Result<Value, SerError> {
                    self.done()
                }
            }
        )+
    };
}

struct_impls!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
#[path = "ser_tests.rs"]
mod tests;
