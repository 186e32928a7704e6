//! A bounds-checked Thrift Compact protocol reader for untrusted input.
//!
//! The Compact protocol (Apache Thrift's `TCompactProtocol`) writes
//! integers as zigzag varints, field ids as deltas packed with the type in
//! one byte, bool fields inside their field header, and doubles
//! little-endian. [`CompactInput`] reads it with the same guarantees as
//! [`BinaryInput`](super::BinaryInput): every read checks the bytes left
//! first, every length and container size is checked against them before
//! anything is allocated, varints longer than their type allows are
//! errors, strings are checked for UTF-8, and nesting is bounded.
//!
//! ```text
//!  message   82 | (type << 5 | 1) | varint seqid | varint len, name
//!  field     (delta << 4 | type)                    delta 1..=15 from the last id
//!            type | zigzag varint id                 otherwise
//!  list/set  (size << 4 | elem)                     size < 15
//!            f0 | elem, varint size                  otherwise
//!  map       00                                      empty
//!            varint size, (key << 4 | value)         otherwise
//! ```

use bytes::{Buf, Bytes};
use faststr::FastStr;
use pilota::thrift::{
    new_protocol_exception, ProtocolExceptionKind, TFieldIdentifier, TInputProtocol,
    TListIdentifier, TMapIdentifier, TMessageIdentifier, TMessageType, TSetIdentifier,
    TStructIdentifier, TType, ThriftException,
};

use super::binary_input::InputBuf;
use super::compact_output::impl_compact_length_protocol;
use super::MAX_STRUCT_DEPTH;

/// First byte of every Compact message.
pub(crate) const PROTOCOL_ID: u8 = 0x82;
/// Compact protocol version (low 5 bits of the second byte).
pub(crate) const VERSION: u8 = 1;
/// Bits of the second byte that hold the version.
const VERSION_MASK: u8 = 0x1f;
/// Maximum nesting depth followed by `skip`.
const MAX_SKIP_DEPTH: i8 = 64;

/// Compact type ids (the low nibble of a field header or element byte).
pub(crate) mod ctype {
    pub(crate) const STOP: u8 = 0;
    pub(crate) const BOOL_TRUE: u8 = 1;
    pub(crate) const BOOL_FALSE: u8 = 2;
    pub(crate) const BYTE: u8 = 3;
    pub(crate) const I16: u8 = 4;
    pub(crate) const I32: u8 = 5;
    pub(crate) const I64: u8 = 6;
    pub(crate) const DOUBLE: u8 = 7;
    pub(crate) const BINARY: u8 = 8;
    pub(crate) const LIST: u8 = 9;
    pub(crate) const SET: u8 = 10;
    pub(crate) const MAP: u8 = 11;
    pub(crate) const STRUCT: u8 = 12;
    pub(crate) const UUID: u8 = 13;
}

/// The Thrift type of a Compact type id.
fn ttype_of(c: u8) -> Result<TType, ThriftException> {
    Ok(match c {
        ctype::STOP => TType::Stop,
        ctype::BOOL_TRUE | ctype::BOOL_FALSE => TType::Bool,
        ctype::BYTE => TType::I8,
        ctype::I16 => TType::I16,
        ctype::I32 => TType::I32,
        ctype::I64 => TType::I64,
        ctype::DOUBLE => TType::Double,
        ctype::BINARY => TType::Binary,
        ctype::LIST => TType::List,
        ctype::SET => TType::Set,
        ctype::MAP => TType::Map,
        ctype::STRUCT => TType::Struct,
        ctype::UUID => TType::Uuid,
        other => {
            return Err(invalid(format!("unknown compact type {other}")));
        }
    })
}

/// Fewest bytes one value of `ttype` takes as a container element.
fn min_element_size(ttype: TType) -> Option<usize> {
    match ttype {
        TType::Double => Some(8),
        TType::Uuid => Some(16),
        TType::Stop | TType::Void => None,
        // Every other value (a varint, a byte, a length, a stop byte, an
        // empty container header) takes at least one byte.
        _ => Some(1),
    }
}

#[cold]
fn invalid(message: String) -> ThriftException {
    new_protocol_exception(ProtocolExceptionKind::InvalidData, message)
}

#[cold]
fn truncated(what: &str, needed: usize, remaining: usize) -> ThriftException {
    invalid(format!(
        "unexpected end of input: {what} needs {needed} bytes but only {remaining} remain"
    ))
}

/// A Thrift Compact reader over a [`Bytes`] buffer (or a byte slice) that
/// never panics and never trusts lengths from the wire.
#[derive(Debug)]
pub struct CompactInput<'a, B = Bytes> {
    buf: &'a mut B,
    /// Id of the last field read in each open struct (innermost last).
    last_ids: Vec<i16>,
    last_id: i16,
    /// The value of a bool field, read with its header.
    pending_bool: Option<bool>,
    /// How many more bytes the last read that ran out of input needed.
    short_by: usize,
}

impl<'a, B: InputBuf> CompactInput<'a, B> {
    /// Creates a reader that consumes bytes from the front of `buf`.
    #[inline]
    pub fn new(buf: &'a mut B) -> Self {
        CompactInput {
            buf,
            last_ids: Vec::new(),
            last_id: 0,
            pending_bool: None,
            short_by: 0,
        }
    }

    /// After an error: how many more bytes of input the read needed, at
    /// least (0 when the input is invalid rather than short). Lets a caller
    /// that reads a stream tell "wait for more" from "give up".
    pub(crate) fn short_by(&self) -> usize {
        self.short_by
    }

    #[inline]
    fn need(&mut self, n: usize, what: &str) -> Result<(), ThriftException> {
        let remaining = self.buf.remaining();
        if remaining < n {
            self.short_by = n - remaining;
            return Err(truncated(what, n, remaining));
        }
        Ok(())
    }

    #[inline]
    fn u8(&mut self, what: &str) -> Result<u8, ThriftException> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    /// Reads an unsigned varint of at most `max_bytes` bytes.
    fn varint(&mut self, max_bytes: u32, what: &str) -> Result<u64, ThriftException> {
        let mut value = 0u64;
        for i in 0..max_bytes {
            let b = self.u8(what)?;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(invalid(format!(
            "{what} varint is longer than {max_bytes} bytes"
        )))
    }

    fn varint32(&mut self, what: &str) -> Result<u32, ThriftException> {
        let v = self.varint(5, what)?;
        u32::try_from(v).map_err(|_| invalid(format!("{what} varint {v} does not fit 32 bits")))
    }

    fn zigzag32(&mut self, what: &str) -> Result<i32, ThriftException> {
        let v = self.varint32(what)?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    fn zigzag64(&mut self, what: &str) -> Result<i64, ThriftException> {
        let v = self.varint(10, what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// Reads a varint length and checks it against the bytes left.
    fn read_len(&mut self, what: &str) -> Result<usize, ThriftException> {
        let len = self.varint32(what)?;
        let len = i32::try_from(len).map_err(|_| {
            new_protocol_exception(
                ProtocolExceptionKind::NegativeSize,
                format!("negative {what} length {}", len as i32),
            )
        })? as usize;
        let remaining = self.buf.remaining();
        if len > remaining {
            self.short_by = len - remaining;
            return Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("{what} length {len} exceeds the {remaining} bytes remaining"),
            ));
        }
        Ok(len)
    }

    /// Checks that `size` elements of at least `min_each` bytes fit.
    fn check_size(
        &mut self,
        what: &str,
        size: u32,
        min_each: usize,
    ) -> Result<usize, ThriftException> {
        let size = i32::try_from(size).map_err(|_| {
            new_protocol_exception(
                ProtocolExceptionKind::NegativeSize,
                format!("negative {what} size {}", size as i32),
            )
        })? as usize;
        let remaining = self.buf.remaining();
        match size.checked_mul(min_each) {
            Some(total) if total <= remaining => Ok(size),
            Some(total) => {
                self.short_by = total - remaining;
                Err(new_protocol_exception(
                    ProtocolExceptionKind::SizeLimit,
                    format!(
                        "{what} size {size} needs at least {total} bytes but only {remaining} remain"
                    ),
                ))
            }
            None => Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!(
                    "{what} size {size} needs at least {} bytes but only {remaining} remain",
                    size.saturating_mul(min_each)
                ),
            )),
        }
    }

    /// Element type of a container; `stop` is tolerated when it is empty.
    fn element(c: u8, what: &str, size: u32) -> Result<(TType, usize), ThriftException> {
        let t = ttype_of(c)?;
        match min_element_size(t) {
            Some(min) => Ok((t, min)),
            None if size == 0 => Ok((t, 0)),
            None => Err(invalid(format!("invalid {what} type {c}"))),
        }
    }

    fn list_header(&mut self, what: &str) -> Result<(TType, usize), ThriftException> {
        let b = self.u8(what)?;
        let short = u32::from(b >> 4);
        let size = if short == 15 {
            self.varint32(what)?
        } else {
            short
        };
        let (t, min) = Self::element(b & 0x0f, what, size)?;
        Ok((t, self.check_size(what, size, min)?))
    }

    fn skip_value(&mut self, ttype: TType, depth: i8) -> Result<(), ThriftException> {
        if depth <= 0 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::DepthLimit,
                "nesting deeper than the skip depth limit",
            ));
        }
        match ttype {
            TType::Bool => {
                self.read_bool()?;
            }
            TType::I8 => {
                self.u8("i8")?;
            }
            TType::I16 | TType::I32 => {
                self.varint32("integer")?;
            }
            TType::I64 => {
                self.varint(10, "i64")?;
            }
            TType::Double => {
                self.need(8, "double")?;
                self.buf.advance(8);
            }
            TType::Uuid => {
                self.need(16, "uuid")?;
                self.buf.advance(16);
            }
            TType::Binary => {
                let len = self.read_len("binary")?;
                self.buf.advance(len);
            }
            TType::Struct => {
                self.read_struct_begin()?;
                loop {
                    let f = self.read_field_begin()?;
                    if f.field_type == TType::Stop {
                        break;
                    }
                    self.skip_value(f.field_type, depth - 1)?;
                }
                self.read_struct_end()?;
            }
            TType::List | TType::Set => {
                let (t, size) = self.list_header("list")?;
                for _ in 0..size {
                    self.skip_value(t, depth - 1)?;
                }
            }
            TType::Map => {
                let m = self.read_map_begin()?;
                for _ in 0..m.size {
                    self.skip_value(m.key_type, depth - 1)?;
                    self.skip_value(m.value_type, depth - 1)?;
                }
            }
            TType::Stop | TType::Void => {
                return Err(invalid("cannot skip a stop or void value".to_owned()));
            }
        }
        Ok(())
    }
}

impl_compact_length_protocol!(impl['a, B] for CompactInput<'a, B>);

impl<B: InputBuf> TInputProtocol for CompactInput<'_, B> {
    type Buf = B;

    fn read_message_begin(&mut self) -> Result<TMessageIdentifier, ThriftException> {
        let id = self.u8("message header")?;
        if id != PROTOCOL_ID {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::BadVersion,
                format!("bad compact protocol id {id:#04x} (expected 0x82)"),
            ));
        }
        let b = self.u8("message header")?;
        if b & VERSION_MASK != VERSION {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::BadVersion,
                format!("bad compact protocol version {}", b & VERSION_MASK),
            ));
        }
        let message_type = match b >> 5 {
            1 => TMessageType::Call,
            2 => TMessageType::Reply,
            3 => TMessageType::Exception,
            4 => TMessageType::OneWay,
            other => return Err(invalid(format!("invalid message type {other}"))),
        };
        let seq = self.varint32("message sequence id")? as i32;
        let name = self.read_faststr()?;
        Ok(TMessageIdentifier::new(name, message_type, seq))
    }

    #[inline]
    fn read_message_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_struct_begin(&mut self) -> Result<Option<TStructIdentifier>, ThriftException> {
        if self.last_ids.len() >= MAX_STRUCT_DEPTH {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::DepthLimit,
                format!("structs are nested deeper than {MAX_STRUCT_DEPTH} levels"),
            ));
        }
        self.last_ids.push(self.last_id);
        self.last_id = 0;
        Ok(None)
    }

    fn read_struct_end(&mut self) -> Result<(), ThriftException> {
        self.last_id = self.last_ids.pop().unwrap_or(0);
        Ok(())
    }

    fn read_field_begin(&mut self) -> Result<TFieldIdentifier, ThriftException> {
        let b = self.u8("field header")?;
        let c = b & 0x0f;
        if c == ctype::STOP {
            return Ok(TFieldIdentifier::new(None, TType::Stop, None));
        }
        let ttype = ttype_of(c)?;
        let delta = b >> 4;
        let id = if delta == 0 {
            let id = self.zigzag32("field id")?;
            i16::try_from(id).map_err(|_| invalid(format!("field id {id} out of range")))?
        } else {
            self.last_id.wrapping_add(i16::from(delta))
        };
        self.last_id = id;
        if ttype == TType::Bool {
            self.pending_bool = Some(c == ctype::BOOL_TRUE);
        }
        Ok(TFieldIdentifier::new(None, ttype, id))
    }

    #[inline]
    fn read_field_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_bool(&mut self) -> Result<bool, ThriftException> {
        if let Some(b) = self.pending_bool.take() {
            return Ok(b);
        }
        // In containers: 1 is true; 2 (and 0 from old writers) false.
        Ok(self.u8("bool")? == ctype::BOOL_TRUE)
    }

    fn read_bytes(&mut self) -> Result<Bytes, ThriftException> {
        let len = self.read_len("binary")?;
        let out = Bytes::copy_from_slice(&self.buf[..len]);
        self.buf.advance(len);
        Ok(out)
    }

    fn read_uuid(&mut self) -> Result<[u8; 16], ThriftException> {
        self.need(16, "uuid")?;
        let mut u = [0u8; 16];
        self.buf.copy_to_slice(&mut u);
        Ok(u)
    }

    fn read_i8(&mut self) -> Result<i8, ThriftException> {
        Ok(self.u8("i8")? as i8)
    }

    fn read_i16(&mut self) -> Result<i16, ThriftException> {
        let v = self.zigzag32("i16")?;
        i16::try_from(v).map_err(|_| invalid(format!("i16 value {v} out of range")))
    }

    fn read_i32(&mut self) -> Result<i32, ThriftException> {
        self.zigzag32("i32")
    }

    fn read_i64(&mut self) -> Result<i64, ThriftException> {
        self.zigzag64("i64")
    }

    fn read_double(&mut self) -> Result<f64, ThriftException> {
        self.need(8, "double")?;
        Ok(self.buf.get_f64_le())
    }

    fn read_string(&mut self) -> Result<String, ThriftException> {
        let len = self.read_len("string")?;
        let s = super::utf8::check(&self.buf[..len])
            .map_err(|e| invalid(format!("invalid utf-8 in string field: {e}")))?
            .to_owned();
        self.buf.advance(len);
        Ok(s)
    }

    fn read_faststr(&mut self) -> Result<FastStr, ThriftException> {
        let len = self.read_len("string")?;
        let s = super::utf8::check(&self.buf[..len])
            .map_err(|e| invalid(format!("invalid utf-8 in string field: {e}")))?;
        let out = super::utf8::copied(s);
        self.buf.advance(len);
        Ok(out)
    }

    fn read_list_begin(&mut self) -> Result<TListIdentifier, ThriftException> {
        let (t, size) = self.list_header("list")?;
        Ok(TListIdentifier::new(t, size))
    }

    #[inline]
    fn read_list_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_set_begin(&mut self) -> Result<TSetIdentifier, ThriftException> {
        let (t, size) = self.list_header("set")?;
        Ok(TSetIdentifier::new(t, size))
    }

    #[inline]
    fn read_set_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_map_begin(&mut self) -> Result<TMapIdentifier, ThriftException> {
        let size = self.varint32("map size")?;
        if size == 0 {
            return Ok(TMapIdentifier::new(TType::Stop, TType::Stop, 0));
        }
        let kv = self.u8("map types")?;
        let (k, kmin) = Self::element(kv >> 4, "map key", size)?;
        let (v, vmin) = Self::element(kv & 0x0f, "map value", size)?;
        let size = self.check_size("map", size, kmin + vmin)?;
        Ok(TMapIdentifier::new(k, v, size))
    }

    #[inline]
    fn read_map_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn skip(&mut self, field_type: TType) -> Result<usize, ThriftException> {
        self.skip_till_depth(field_type, MAX_SKIP_DEPTH)
    }

    fn skip_till_depth(&mut self, field_type: TType, depth: i8) -> Result<usize, ThriftException> {
        let before = self.buf.remaining();
        self.skip_value(field_type, depth.min(MAX_SKIP_DEPTH))?;
        Ok(before - self.buf.remaining())
    }

    fn read_byte(&mut self) -> Result<u8, ThriftException> {
        self.u8("byte")
    }

    fn read_bytes_vec(&mut self) -> Result<Vec<u8>, ThriftException> {
        let len = self.read_len("binary")?;
        let v = self.buf[..len].to_vec();
        self.buf.advance(len);
        Ok(v)
    }

    fn get_bytes(&mut self, _ptr: Option<*const u8>, len: usize) -> Result<Bytes, ThriftException> {
        self.need(len, "bytes")?;
        Ok(self.buf.take_bytes(len))
    }

    #[inline]
    fn buf(&mut self) -> &mut Self::Buf {
        self.buf
    }
}
