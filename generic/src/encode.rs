//! JSON → Thrift Binary, driven by a [`Descriptor`].

use base64::Engine as _;
use bytes::{BufMut, BytesMut};
use serde_json::{Map, Value};
use tonic_thrift_build::descriptor::{
    Descriptor, EnumDescriptor, FieldDescriptor, Requiredness, StructKind, Ty, TypeKind,
};

use crate::error::{Error, ErrorKind, Path};
use crate::wire::{self, const_to_json, field_label, ttype, MAX_DEPTH};

/// Writes JSON values as Thrift Binary.
pub(crate) struct Encoder<'d> {
    pub(crate) desc: &'d Descriptor,
    pub(crate) path: Path,
}

/// The JSON type of a value, for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'d> Encoder<'d> {
    pub(crate) fn new(desc: &'d Descriptor) -> Self {
        Encoder {
            desc,
            path: Path::default(),
        }
    }

    fn err(&self, kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error::new(kind, &self.path, msg)
    }

    fn wrong(&self, expected: &str, v: &Value) -> Error {
        self.err(
            ErrorKind::WrongType,
            format!("expected {expected}, found {}", json_kind(v)),
        )
    }

    /// Writes `v` as a value of type `ty` (no field header).
    pub(crate) fn value(&mut self, ty: &Ty, v: &Value, out: &mut BytesMut) -> Result<(), Error> {
        if self.path.depth() > MAX_DEPTH {
            return Err(self.err(ErrorKind::WrongType, "nested too deeply"));
        }
        let desc = self.desc;
        match desc.resolve(ty) {
            Ty::Bool => match v {
                Value::Bool(b) => out.put_u8(u8::from(*b)),
                _ => return Err(self.wrong("a boolean", v)),
            },
            Ty::I8 => out.put_i8(self.int(v, "i8", i8::MIN as i64, i8::MAX as i64)? as i8),
            Ty::I16 => out.put_i16(self.int(v, "i16", i16::MIN as i64, i16::MAX as i64)? as i16),
            Ty::I32 => out.put_i32(self.int(v, "i32", i32::MIN as i64, i32::MAX as i64)? as i32),
            Ty::I64 => out.put_i64(self.int(v, "i64", i64::MIN, i64::MAX)?),
            Ty::Double => out.put_f64(self.double(v)?),
            Ty::String => match v {
                Value::String(s) => put_bytes(out, s.as_bytes()),
                _ => return Err(self.wrong("a string", v)),
            },
            Ty::Binary => {
                let bytes = self.binary(v)?;
                put_bytes(out, &bytes);
            }
            Ty::Uuid => match v {
                Value::String(s) => match s.parse::<tonic_thrift::Uuid>() {
                    Ok(u) => out.put_slice(u.as_bytes()),
                    Err(_) => {
                        return Err(self.err(
                            ErrorKind::WrongType,
                            format!("{s:?} is not a uuid (8-4-4-4-12 hex digits)"),
                        ))
                    }
                },
                _ => return Err(self.wrong("a uuid string", v)),
            },
            Ty::List(e) | Ty::Set(e) => {
                let Value::Array(items) = v else {
                    return Err(self.wrong("an array", v));
                };
                out.put_u8(ttype(desc, e));
                out.put_i32(len_i32(items.len()));
                for (i, item) in items.iter().enumerate() {
                    self.path.push_index(i);
                    self.value(e, item, out)?;
                    self.path.pop();
                }
            }
            Ty::Map(k, val) => {
                let Value::Object(entries) = v else {
                    return Err(self.wrong("an object", v));
                };
                out.put_u8(ttype(desc, k));
                out.put_u8(ttype(desc, val));
                out.put_i32(len_i32(entries.len()));
                for (key, value) in entries {
                    self.path.push_key(format!("{key:?}"));
                    let key = self.map_key(k, key)?;
                    self.value(k, &key, out)?;
                    self.value(val, value, out)?;
                    self.path.pop();
                }
            }
            Ty::Named(id) => match &desc.type_def(*id).kind {
                TypeKind::Struct(s) => {
                    let name = desc.type_def(*id).name.clone();
                    let Value::Object(obj) = v else {
                        return Err(self.wrong(&format!("an object for {name}"), v));
                    };
                    self.fields(&name, s.kind, &s.fields, obj, out)?;
                }
                TypeKind::Enum(e) => {
                    let name = desc.type_def(*id).name.clone();
                    out.put_i32(self.enum_value(&name, e, v)?);
                }
                // `resolve` follows typedefs.
                TypeKind::Typedef(_) => return Err(self.err(ErrorKind::NotFound, "bad typedef")),
            },
        }
        Ok(())
    }

    /// Writes the fields of a struct, union or exception, then its stop byte.
    pub(crate) fn fields(
        &mut self,
        owner: &str,
        kind: StructKind,
        fields: &[FieldDescriptor],
        obj: &Map<String, Value>,
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        if let Some(key) = obj.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
            self.path.push_name(key);
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            let e = self.err(
                ErrorKind::UnknownField,
                format!(
                    "{owner} has no field `{key}` (its fields: {})",
                    known.join(", ")
                ),
            );
            return Err(e);
        }
        let mut set = 0;
        for f in fields {
            let given = obj.get(&f.name).filter(|v| !v.is_null());
            let default;
            let v = match given {
                Some(v) => v,
                None if kind == StructKind::Union => continue,
                None => match (&f.default, f.requiredness) {
                    (_, Requiredness::Required) => {
                        let label = field_label(self.desc, owner, &f.name, &f.ty);
                        self.path.push_field(&f.name, label);
                        let e = self.err(
                            ErrorKind::MissingField,
                            format!("required field `{}` of {owner} is missing", f.name),
                        );
                        return Err(e);
                    }
                    (Some(d), _) => {
                        default = const_to_json(self.desc, &f.ty, d);
                        &default
                    }
                    (None, _) => continue,
                },
            };
            set += 1;
            self.path
                .push_field(&f.name, field_label(self.desc, owner, &f.name, &f.ty));
            out.put_u8(ttype(self.desc, &f.ty));
            out.put_i16(f.id);
            self.value(&f.ty, v, out)?;
            self.path.pop();
        }
        if kind == StructKind::Union && set != 1 {
            return Err(self.err(
                ErrorKind::BadUnion,
                format!("union {owner} needs exactly one field set, found {set}"),
            ));
        }
        out.put_u8(wire::STOP);
        Ok(())
    }

    fn int(&self, v: &Value, ty: &str, min: i64, max: i64) -> Result<i64, Error> {
        let n: i128 = match v {
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => i as i128,
                (None, Some(u)) => u as i128,
                _ => {
                    return Err(self.err(
                        ErrorKind::WrongType,
                        format!("expected an integer for {ty}, found {n}"),
                    ))
                }
            },
            Value::String(s) => s.trim().parse::<i128>().map_err(|_| {
                self.err(
                    ErrorKind::WrongType,
                    format!("expected an integer for {ty}, found the string {s:?}"),
                )
            })?,
            _ => return Err(self.wrong(&format!("an integer for {ty}"), v)),
        };
        if n < min as i128 || n > max as i128 {
            return Err(self.err(
                ErrorKind::OutOfRange,
                format!("{n} is out of range for {ty} ({min}..={max})"),
            ));
        }
        Ok(n as i64)
    }

    fn double(&self, v: &Value) -> Result<f64, Error> {
        match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| self.wrong("a number", v)),
            Value::String(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other.parse().map_err(|_| {
                    self.err(
                        ErrorKind::WrongType,
                        format!("expected a number for double, found the string {other:?}"),
                    )
                }),
            },
            _ => Err(self.wrong("a number", v)),
        }
    }

    fn binary(&self, v: &Value) -> Result<Vec<u8>, Error> {
        let Value::String(s) = v else {
            return Err(self.wrong("a base64 string", v));
        };
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| self.err(ErrorKind::WrongType, format!("invalid base64: {e}")))
    }

    fn enum_value(&self, name: &str, e: &EnumDescriptor, v: &Value) -> Result<i32, Error> {
        let names = || {
            let all: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
            all.join(", ")
        };
        match v {
            Value::String(s) => match e.by_name(s) {
                Some(val) => Ok(val.number),
                None => match s.parse::<i32>() {
                    Ok(n) => Ok(n),
                    Err(_) => Err(self.err(
                        ErrorKind::UnknownEnumValue,
                        format!("{s:?} is not a value of enum {name} ({})", names()),
                    )),
                },
            },
            Value::Number(_) => {
                // Numbers pass as they are, like Kitex: a newer peer may
                // know values this IDL does not.
                Ok(self.int(v, "i32", i32::MIN as i64, i32::MAX as i64)? as i32)
            }
            _ => Err(self.wrong(&format!("a name or number of enum {name}"), v)),
        }
    }

    /// A JSON object key read as a value of the map's key type: text for
    /// strings, base64 for binary, numbers and booleans spelled out, enum
    /// names or numbers, and JSON text for anything else.
    fn map_key(&self, k: &Ty, key: &str) -> Result<Value, Error> {
        let desc = self.desc;
        Ok(match desc.resolve(k) {
            Ty::String | Ty::Binary | Ty::Uuid => Value::String(key.to_string()),
            Ty::Named(id) if matches!(desc.type_def(*id).kind, TypeKind::Enum(_)) => {
                Value::String(key.to_string())
            }
            Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64 => Value::String(key.to_string()),
            Ty::Double => Value::String(key.to_string()),
            Ty::Bool => match key {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(self.err(
                        ErrorKind::WrongType,
                        format!("map key {key:?} is not `true` or `false`"),
                    ))
                }
            },
            _ => serde_json::from_str(key).map_err(|e| {
                self.err(
                    ErrorKind::WrongType,
                    format!(
                        "map key {key:?} must be the JSON text of a {}: {e}",
                        desc.type_name(k)
                    ),
                )
            })?,
        })
    }
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn put_bytes(out: &mut BytesMut, b: &[u8]) {
    out.put_i32(len_i32(b.len()));
    out.put_slice(b);
}
