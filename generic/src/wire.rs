//! Thrift Binary wire types, and the JSON form of IDL constants (used for
//! field defaults).

use base64::Engine as _;
use serde_json::{Map, Value};
use tonic_thrift_build::descriptor::{ConstValue, Descriptor, Ty, TypeKind};

pub(crate) const STOP: u8 = 0;
pub(crate) const BOOL: u8 = 2;
pub(crate) const BYTE: u8 = 3;
pub(crate) const DOUBLE: u8 = 4;
pub(crate) const I16: u8 = 6;
pub(crate) const I32: u8 = 8;
pub(crate) const I64: u8 = 10;
pub(crate) const STRING: u8 = 11;
pub(crate) const STRUCT: u8 = 12;
pub(crate) const MAP: u8 = 13;
pub(crate) const SET: u8 = 14;
pub(crate) const LIST: u8 = 15;
pub(crate) const UUID: u8 = 16;

/// How deep structs and containers may nest, in JSON and on the wire.
pub(crate) const MAX_DEPTH: usize = 64;

/// The wire type of `ty` (typedefs followed; enums are `i32`).
pub(crate) fn ttype(desc: &Descriptor, ty: &Ty) -> u8 {
    match desc.resolve(ty) {
        Ty::Bool => BOOL,
        Ty::I8 => BYTE,
        Ty::I16 => I16,
        Ty::I32 => I32,
        Ty::I64 => I64,
        Ty::Double => DOUBLE,
        Ty::String | Ty::Binary => STRING,
        Ty::Uuid => UUID,
        Ty::List(_) => LIST,
        Ty::Set(_) => SET,
        Ty::Map(..) => MAP,
        Ty::Named(id) => match &desc.type_def(*id).kind {
            TypeKind::Enum(_) => I32,
            _ => STRUCT,
        },
    }
}

/// The name of a wire type, for messages.
pub(crate) fn ttype_name(t: u8) -> &'static str {
    match t {
        BOOL => "bool",
        BYTE => "byte",
        DOUBLE => "double",
        I16 => "i16",
        I32 => "i32",
        I64 => "i64",
        STRING => "string/binary",
        STRUCT => "struct",
        MAP => "map",
        SET => "set",
        LIST => "list",
        UUID => "uuid",
        _ => "an unknown type",
    }
}

/// The base64 text of bytes (standard alphabet, padded), as Kitex writes
/// `binary` in JSON.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An IDL constant or default as the JSON the encoder accepts for `ty`.
pub(crate) fn const_to_json(desc: &Descriptor, ty: &Ty, v: &ConstValue) -> Value {
    let ty = desc.resolve(ty);
    match (ty, v) {
        (_, ConstValue::Bool(b)) => Value::Bool(*b),
        (_, ConstValue::Int(n)) => Value::from(*n),
        (_, ConstValue::Double(d)) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(d.to_string())),
        (Ty::Binary, ConstValue::String(s)) => Value::String(b64(s.as_bytes())),
        (_, ConstValue::String(s)) => Value::String(s.clone()),
        (_, ConstValue::Binary(b)) => Value::String(b64(b)),
        (Ty::List(e) | Ty::Set(e), ConstValue::List(items)) => {
            Value::Array(items.iter().map(|i| const_to_json(desc, e, i)).collect())
        }
        (Ty::Map(k, val), ConstValue::Map(entries)) => {
            let mut m = Map::new();
            for (key, value) in entries {
                let key = match const_to_json(desc, k, key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                m.insert(key, const_to_json(desc, val, value));
            }
            Value::Object(m)
        }
        (Ty::Named(id), ConstValue::Struct(fields)) => {
            let mut m = Map::new();
            if let TypeKind::Struct(s) = &desc.type_def(*id).kind {
                for (fid, value) in fields {
                    if let Some(f) = s.field_by_id(*fid) {
                        m.insert(f.name.clone(), const_to_json(desc, &f.ty, value));
                    }
                }
            }
            Value::Object(m)
        }
        // Unreachable for a checked IDL.
        _ => Value::Null,
    }
}

/// `Struct.field, type` for error messages.
pub(crate) fn field_label(desc: &Descriptor, owner: &str, name: &str, ty: &Ty) -> String {
    format!("{owner}.{name}, {}", desc.type_name(ty))
}
