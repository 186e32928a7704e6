//! Default values as JSON, for mocks: IDL defaults where the IDL gives
//! them, zero values elsewhere.

use serde_json::{Map, Value};
use tonic_thrift_build::descriptor::{Descriptor, StructKind, Ty, TypeKind};

use crate::wire::const_to_json;

/// The default JSON value of `ty`.
pub(crate) fn default_json(desc: &Descriptor, ty: &Ty) -> Value {
    default_at(desc, ty, 0)
}

fn default_at(desc: &Descriptor, ty: &Ty, depth: usize) -> Value {
    match desc.resolve(ty) {
        Ty::Bool => Value::Bool(false),
        Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64 => Value::from(0),
        Ty::Double => Value::from(0.0),
        Ty::String | Ty::Binary => Value::String(String::new()),
        Ty::Uuid => Value::String("00000000-0000-0000-0000-000000000000".into()),
        Ty::List(_) | Ty::Set(_) => Value::Array(Vec::new()),
        Ty::Map(..) => Value::Object(Map::new()),
        Ty::Named(id) => match &desc.type_def(*id).kind {
            TypeKind::Enum(e) => e
                .values
                .first()
                .map(|v| Value::String(v.name.clone()))
                .unwrap_or(Value::from(0)),
            TypeKind::Struct(s) => {
                let mut m = Map::new();
                for f in &s.fields {
                    let v = match &f.default {
                        Some(d) => const_to_json(desc, &f.ty, d),
                        // Recursive types stop at a bound; optional fields
                        // and union members other than the first stay unset.
                        None if depth > 8 => continue,
                        None if f.requiredness
                            == tonic_thrift_build::descriptor::Requiredness::Optional =>
                        {
                            continue
                        }
                        None => default_at(desc, &f.ty, depth + 1),
                    };
                    m.insert(f.name.clone(), v);
                    if s.kind == StructKind::Union {
                        break;
                    }
                }
                Value::Object(m)
            }
            TypeKind::Typedef(_) => Value::Null,
        },
    }
}
