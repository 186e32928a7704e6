//! Thrift Binary → JSON, driven by a [`Descriptor`]. Bounded: every length
//! is checked against the bytes that remain, nesting is limited, and bad
//! input is an error, never a panic.

use serde_json::{Map, Number, Value};
use tonic_thrift_build::descriptor::{Descriptor, FieldDescriptor, Requiredness, Ty, TypeKind};

use crate::error::{Error, ErrorKind, Path};
use crate::wire::{self, b64, field_label, ttype, ttype_name, MAX_DEPTH};

/// Reads Thrift Binary values into JSON.
pub(crate) struct Decoder<'d, 'b> {
    desc: &'d Descriptor,
    buf: &'b [u8],
    pos: usize,
    path: Path,
}

impl<'d, 'b> Decoder<'d, 'b> {
    pub(crate) fn new(desc: &'d Descriptor, buf: &'b [u8]) -> Self {
        Decoder {
            desc,
            buf,
            pos: 0,
            path: Path::default(),
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn err(&self, kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error::new(kind, &self.path, msg)
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8], Error> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(
                ErrorKind::BadWire,
                format!(
                    "truncated: {n} bytes needed at offset {}, {} left",
                    self.pos,
                    self.buf.len() - self.pos
                ),
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn i16(&mut self) -> Result<i16, Error> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, Error> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> Result<i64, Error> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A length, checked to be non-negative and at most the bytes left
    /// (each element takes at least one byte).
    fn len(&mut self) -> Result<usize, Error> {
        let n = self.i32()?;
        let left = self.buf.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(self.err(
                ErrorKind::BadWire,
                format!("length {n} is negative or larger than the {left} bytes left"),
            )),
        }
    }

    fn bytes(&mut self) -> Result<&'b [u8], Error> {
        let n = self.len()?;
        self.take(n)
    }

    fn expect(&self, want: u8, got: u8) -> Result<(), Error> {
        if want == got {
            Ok(())
        } else {
            Err(self.err(
                ErrorKind::BadWire,
                format!(
                    "wire type {} where the IDL says {}",
                    ttype_name(got),
                    ttype_name(want)
                ),
            ))
        }
    }

    /// Reads one value of `ty` whose wire type `got` was already read.
    pub(crate) fn value(&mut self, ty: &Ty, got: u8) -> Result<Value, Error> {
        let desc = self.desc;
        self.expect(ttype(desc, ty), got)?;
        if self.path.depth() > MAX_DEPTH {
            return Err(self.err(ErrorKind::BadWire, "nested too deeply"));
        }
        Ok(match desc.resolve(ty) {
            Ty::Bool => Value::Bool(self.u8()? != 0),
            Ty::I8 => Value::from(self.u8()? as i8),
            Ty::I16 => Value::from(self.i16()?),
            Ty::I32 => Value::from(self.i32()?),
            Ty::I64 => Value::from(self.i64()?),
            Ty::Double => {
                let d = f64::from_bits(self.i64()? as u64);
                match Number::from_f64(d) {
                    Some(n) => Value::Number(n),
                    None if d.is_nan() => Value::String("NaN".into()),
                    None if d > 0.0 => Value::String("Infinity".into()),
                    None => Value::String("-Infinity".into()),
                }
            }
            Ty::String => {
                let b = self.bytes()?;
                match std::str::from_utf8(b) {
                    Ok(s) => Value::String(s.to_string()),
                    Err(_) => return Err(self.err(ErrorKind::BadWire, "a string is not UTF-8")),
                }
            }
            Ty::Binary => Value::String(b64(self.bytes()?)),
            Ty::Uuid => {
                let b = self.take(16)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Value::String(tonic_thrift::Uuid::from_bytes(a).to_string())
            }
            Ty::List(e) | Ty::Set(e) => {
                let et = self.u8()?;
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for i in 0..n {
                    self.path.push_index(i);
                    items.push(self.value(e, et)?);
                    self.path.pop();
                }
                Value::Array(items)
            }
            Ty::Map(k, v) => {
                let kt = self.u8()?;
                let vt = self.u8()?;
                let n = self.len()?;
                let mut m = Map::new();
                for _ in 0..n {
                    self.path.push_key(format!("#{}", m.len()));
                    let key = match self.value(k, kt)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.path.pop();
                    self.path.push_key(format!("{key:?}"));
                    let value = self.value(v, vt)?;
                    self.path.pop();
                    m.insert(key, value);
                }
                Value::Object(m)
            }
            Ty::Named(id) => {
                let t = desc.type_def(*id);
                match &t.kind {
                    TypeKind::Struct(s) => self.fields(&t.name, &s.fields)?,
                    TypeKind::Enum(e) => {
                        let n = self.i32()?;
                        match e.by_number(n) {
                            Some(v) => Value::String(v.name.clone()),
                            // A value a newer peer knows: kept as its number.
                            None => Value::from(n),
                        }
                    }
                    TypeKind::Typedef(_) => Value::Null,
                }
            }
        })
    }

    /// Reads a struct body (fields up to the stop byte) as a JSON object
    /// keyed by field name. Unknown fields are skipped.
    pub(crate) fn fields(
        &mut self,
        owner: &str,
        fields: &[FieldDescriptor],
    ) -> Result<Value, Error> {
        let mut obj = Map::new();
        loop {
            let t = self.u8()?;
            if t == wire::STOP {
                break;
            }
            let id = self.i16()?;
            match fields.iter().find(|f| f.id == id) {
                Some(f) if ttype(self.desc, &f.ty) == t => {
                    self.path
                        .push_field(&f.name, field_label(self.desc, owner, &f.name, &f.ty));
                    let v = self.value(&f.ty, t)?;
                    self.path.pop();
                    obj.insert(f.name.clone(), v);
                }
                _ => self.skip(t, 0)?,
            }
        }
        for f in fields {
            if f.requiredness == Requiredness::Required && !obj.contains_key(&f.name) {
                self.path
                    .push_field(&f.name, field_label(self.desc, owner, &f.name, &f.ty));
                let e = self.err(
                    ErrorKind::MissingField,
                    format!("required field `{}` of {owner} is missing", f.name),
                );
                return Err(e);
            }
        }
        Ok(Value::Object(obj))
    }

    /// Skips one value of wire type `t`.
    pub(crate) fn skip(&mut self, t: u8, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(self.err(ErrorKind::BadWire, "nested too deeply"));
        }
        match t {
            wire::BOOL | wire::BYTE => drop(self.take(1)?),
            wire::I16 => drop(self.take(2)?),
            wire::I32 => drop(self.take(4)?),
            wire::I64 | wire::DOUBLE => drop(self.take(8)?),
            wire::UUID => drop(self.take(16)?),
            wire::STRING => drop(self.bytes()?),
            wire::STRUCT => loop {
                let ft = self.u8()?;
                if ft == wire::STOP {
                    break;
                }
                self.i16()?;
                self.skip(ft, depth + 1)?;
            },
            wire::MAP => {
                let kt = self.u8()?;
                let vt = self.u8()?;
                let n = self.len()?;
                for _ in 0..n {
                    self.skip(kt, depth + 1)?;
                    self.skip(vt, depth + 1)?;
                }
            }
            wire::SET | wire::LIST => {
                let et = self.u8()?;
                let n = self.len()?;
                for _ in 0..n {
                    self.skip(et, depth + 1)?;
                }
            }
            other => {
                return Err(self.err(
                    ErrorKind::BadWire,
                    format!("unknown wire type {other} at offset {}", self.pos - 1),
                ))
            }
        }
        Ok(())
    }
}

/// What a Result struct held.
pub(crate) enum ResultBody {
    /// Field 0 (absent for `void`).
    Success(Option<Value>),
    /// The declared exception at this index of `throws`.
    Exception(usize, Value),
}

impl Decoder<'_, '_> {
    /// Reads a method's Result struct: `0: success` of type `success`, and
    /// its declared exceptions `throws`.
    pub(crate) fn result(
        &mut self,
        owner: &str,
        success: Option<&Ty>,
        throws: &[FieldDescriptor],
    ) -> Result<ResultBody, Error> {
        let mut body = ResultBody::Success(None);
        loop {
            let t = self.u8()?;
            if t == wire::STOP {
                break;
            }
            let id = self.i16()?;
            match (id, success) {
                (0, Some(ty)) if ttype(self.desc, ty) == t => {
                    let label = format!("{owner}.success, {}", self.desc.type_name(ty));
                    self.path.push_field("success", label);
                    let v = self.value(ty, t)?;
                    self.path.pop();
                    body = ResultBody::Success(Some(v));
                }
                _ => match throws.iter().position(|f| f.id == id) {
                    Some(i) if ttype(self.desc, &throws[i].ty) == t => {
                        let f = &throws[i];
                        self.path
                            .push_field(&f.name, field_label(self.desc, owner, &f.name, &f.ty));
                        let v = self.value(&f.ty, t)?;
                        self.path.pop();
                        body = ResultBody::Exception(i, v);
                    }
                    _ => self.skip(t, 0)?,
                },
            }
        }
        Ok(body)
    }
}
