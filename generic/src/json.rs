//! JSON ⇄ Thrift Binary for one value of any IDL type.
//!
//! The JSON is the one Kitex's JSON generic call uses, so a payload that
//! works there works here:
//!
//! | Thrift | JSON in | JSON out |
//! |---|---|---|
//! | `bool` | `true` / `false` | the same |
//! | `byte`, `i16`, `i32` | a number, or its decimal string | a number |
//! | `i64` | a number, or its decimal string (JavaScript loses precision past 2^53) | a number |
//! | `double` | a number; `"NaN"`, `"Infinity"`, `"-Infinity"` | the same |
//! | `string` | a string | a string |
//! | `binary` | base64 (standard alphabet, padded) | base64 |
//! | `uuid` | `"8-4-4-4-12"` hex | the same |
//! | enum | its name (`"RED"`) or number | its name; the number for a value the IDL does not know |
//! | `list`, `set` | an array | an array |
//! | `map` | an object; keys that are not strings are spelled out (`"1"`, `"true"`, `"RED"`, base64 for binary, JSON text for structs and containers) | the same |
//! | struct, exception | an object keyed by IDL field name | the same, fields present on the wire only |
//! | union | an object with exactly one field | the same |
//!
//! On input, a missing field takes its IDL default (`5: i32 int32 = 42`), a
//! missing `required` field without one is an error, and `null` counts as
//! missing. Every error names the JSON path and the IDL field (see
//! [`Error`]).

use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tonic_thrift_build::descriptor::{Descriptor, Ty};

use crate::decode::Decoder;
use crate::encode::Encoder;
use crate::error::{Error, ErrorKind, Path};
use crate::wire::ttype;

/// Encodes `json` as a value of `ty` in Thrift Binary, without a field
/// header: for a struct, its fields and the stop byte, which is what
/// [`tonic_thrift::RawStruct`] carries.
///
/// ```
/// use std::path::Path;
/// use tonic_thrift_build::descriptor::{self, Ty};
///
/// let idl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl/echo.thrift");
/// let desc = descriptor::load(&idl, &[], None).unwrap();
/// let (id, _) = desc.type_by_name("Request").unwrap();
/// let bytes = tonic_thrift_generic::json::encode(&desc, &Ty::Named(id), &serde_json::json!({"message": "hi"})).unwrap();
/// // field 1, string, length 2, "hi", stop
/// assert_eq!(&bytes[..], b"\x0b\x00\x01\x00\x00\x00\x02hi\x00");
/// let back = tonic_thrift_generic::json::decode(&desc, &Ty::Named(id), &bytes).unwrap();
/// assert_eq!(back, serde_json::json!({"message": "hi"}));
/// ```
pub fn encode(desc: &Descriptor, ty: &Ty, json: &Value) -> Result<Bytes, Error> {
    let mut out = BytesMut::new();
    Encoder::new(desc).value(ty, json, &mut out)?;
    Ok(out.freeze())
}

/// Decodes one value of `ty` from Thrift Binary bytes (all of them) into
/// JSON.
pub fn decode(desc: &Descriptor, ty: &Ty, bytes: &[u8]) -> Result<Value, Error> {
    let mut d = Decoder::new(desc, bytes);
    let v = d.value(ty, ttype(desc, ty))?;
    if d.position() != bytes.len() {
        return Err(Error::new(
            ErrorKind::BadWire,
            &Path::default(),
            format!("{} bytes left over", bytes.len() - d.position()),
        ));
    }
    Ok(v)
}
