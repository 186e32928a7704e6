//! A method's messages as JSON: its request (Args struct, or the bare
//! struct of a streaming method) and its reply (Result struct, or bare).

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};
use tonic_thrift_build::descriptor::{Descriptor, FieldDescriptor, MethodDescriptor, StructKind};

use crate::decode::{Decoder, ResultBody};
use crate::encode::Encoder;
use crate::error::{Error, ErrorKind, Path};
use crate::json;
use crate::wire::ttype;

/// A method's reply, decoded from its Result struct.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The method returned this value (`null` for `void`).
    Success(Value),
    /// The method threw one of its declared exceptions.
    Exception {
        /// The `throws` field's name (`not_found`).
        field: String,
        /// The exception type's IDL name (`NotFound`).
        type_name: String,
        /// The exception, as JSON.
        value: Value,
    },
}

/// The message a streaming method sends or receives: its only argument's
/// struct for requests, its result struct for replies.
fn stream_arg(m: &MethodDescriptor) -> Result<&FieldDescriptor, Error> {
    m.args.first().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            &Path::default(),
            format!("streaming method {} has no argument", m.name),
        )
    })
}

/// The Args field list as JSON: the single argument itself, or an object
/// keyed by argument name when there are several (or none), as Kitex's
/// JSON generic call takes them.
fn args_object(m: &MethodDescriptor, json: &Value) -> Map<String, Value> {
    match (m.args.as_slice(), json) {
        ([one], v) => {
            let mut o = Map::new();
            o.insert(one.name.clone(), v.clone());
            o
        }
        (_, Value::Object(o)) => o.clone(),
        (_, _) => Map::new(),
    }
}

/// Encodes a request: for a streaming method the bare struct of its one
/// argument; otherwise the method's Args struct, from the single argument's
/// JSON, or an object keyed by argument name when there are several.
pub fn encode_request(
    desc: &Descriptor,
    m: &MethodDescriptor,
    json: &Value,
) -> Result<Bytes, Error> {
    if m.mode.is_streaming() {
        return json::encode(desc, &stream_arg(m)?.ty, json);
    }
    if m.args.len() != 1 && !json.is_object() && !json.is_null() {
        return Err(Error::new(
            ErrorKind::WrongType,
            &Path::default(),
            format!(
                "{} takes {} arguments: give an object keyed by argument name",
                m.name,
                m.args.len()
            ),
        ));
    }
    let owner = format!("{}Args", m.name);
    let mut out = BytesMut::new();
    if let ([arg], false) = (m.args.as_slice(), json.is_null()) {
        // The JSON is the argument itself: paths start at it.
        out.put_u8(ttype(desc, &arg.ty));
        out.put_i16(arg.id);
        Encoder::new(desc).value(&arg.ty, json, &mut out)?;
        out.put_u8(crate::wire::STOP);
        return Ok(out.freeze());
    }
    Encoder::new(desc).fields(
        &owner,
        StructKind::Struct,
        &m.args,
        &args_object(m, json),
        &mut out,
    )?;
    Ok(out.freeze())
}

/// Decodes a request (what a server receives) into the JSON
/// [`encode_request`] takes.
pub fn decode_request(
    desc: &Descriptor,
    m: &MethodDescriptor,
    bytes: &[u8],
) -> Result<Value, Error> {
    if m.mode.is_streaming() {
        return json::decode(desc, &stream_arg(m)?.ty, bytes);
    }
    let owner = format!("{}Args", m.name);
    let Value::Object(mut o) = Decoder::new(desc, bytes).fields(&owner, &m.args)? else {
        return Ok(Value::Null);
    };
    Ok(match m.args.as_slice() {
        [one] => o.remove(&one.name).unwrap_or(Value::Null),
        _ => Value::Object(o),
    })
}

/// Encodes a reply: for a streaming method the bare result struct;
/// otherwise the Result struct, holding the value or the exception.
pub fn encode_reply(
    desc: &Descriptor,
    m: &MethodDescriptor,
    reply: &Reply,
) -> Result<Bytes, Error> {
    if m.mode.is_streaming() {
        let Reply::Success(v) = reply else {
            return Err(Error::new(
                ErrorKind::WrongType,
                &Path::default(),
                "a streaming method cannot reply with a declared exception",
            ));
        };
        let ty = m.result.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                &Path::default(),
                "a streaming method returns a struct",
            )
        })?;
        return json::encode(desc, ty, v);
    }
    let owner = format!("{}Result", m.name);
    let mut out = BytesMut::new();
    let mut enc = Encoder::new(desc);
    match (reply, &m.result) {
        (Reply::Success(Value::Null), _) | (Reply::Success(_), None) => {}
        (Reply::Success(v), Some(ty)) => {
            let label = format!("{owner}.success, {}", desc.type_name(ty));
            enc.path.push_field("success", label);
            out.put_u8(ttype(desc, ty));
            out.put_i16(0);
            enc.value(ty, v, &mut out)?;
        }
        (Reply::Exception { field, value, .. }, _) => {
            let Some(f) = m.throws.iter().find(|f| &f.name == field) else {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    &Path::default(),
                    format!("{} declares no exception `{field}`", m.name),
                ));
            };
            enc.path.push_field(
                &f.name,
                format!("{owner}.{}, {}", f.name, desc.type_name(&f.ty)),
            );
            out.put_u8(ttype(desc, &f.ty));
            out.put_i16(f.id);
            enc.value(&f.ty, value, &mut out)?;
        }
    }
    out.put_u8(crate::wire::STOP);
    Ok(out.freeze())
}

/// Decodes a reply (what a client receives) into the value or the declared
/// exception it holds.
pub fn decode_reply(desc: &Descriptor, m: &MethodDescriptor, bytes: &[u8]) -> Result<Reply, Error> {
    if m.mode.is_streaming() {
        let ty = m.result.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                &Path::default(),
                "a streaming method returns a struct",
            )
        })?;
        return Ok(Reply::Success(json::decode(desc, ty, bytes)?));
    }
    let owner = format!("{}Result", m.name);
    let mut d = Decoder::new(desc, bytes);
    Ok(match d.result(&owner, m.result.as_ref(), &m.throws)? {
        ResultBody::Success(v) => Reply::Success(v.unwrap_or(Value::Null)),
        ResultBody::Exception(i, value) => Reply::Exception {
            field: m.throws[i].name.clone(),
            type_name: desc.type_name(&m.throws[i].ty),
            value,
        },
    })
}
