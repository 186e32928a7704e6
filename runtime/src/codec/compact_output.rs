//! A Thrift Compact protocol writer over any [`BufMut`] (see
//! [`compact_input`](super::compact_input) for the format).

use bytes::{BufMut, Bytes};
use faststr::FastStr;
use pilota::thrift::{
    new_protocol_exception, ProtocolExceptionKind, TListIdentifier, TMapIdentifier,
    TMessageIdentifier, TOutputProtocol, TSetIdentifier, TStructIdentifier, TType, ThriftException,
};

use super::compact_input::{ctype, PROTOCOL_ID, VERSION};

/// Bytes of a varint holding `v`.
#[inline]
pub(crate) const fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

#[inline]
pub(crate) const fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline]
pub(crate) const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Implements `TLengthProtocol` with Compact sizes. Field headers count
/// their long form (type byte + zigzag id), so struct sizes are upper
/// bounds; everything else is exact.
macro_rules! impl_compact_length_protocol {
    (impl [$($gen:tt)*] for $ty:ty $(where $($bound:tt)*)?) => {
        impl<$($gen)*> ::pilota::thrift::TLengthProtocol for $ty $(where $($bound)*)? {
            fn message_begin_len(&mut self, identifier: &::pilota::thrift::TMessageIdentifier) -> usize {
                use $crate::codec::compact_output::{varint_len};
                2 + varint_len(identifier.sequence_number as u32 as u64)
                    + varint_len(identifier.name.len() as u64)
                    + identifier.name.len()
            }
            fn message_end_len(&mut self) -> usize { 0 }
            fn struct_begin_len(&mut self, _i: &::pilota::thrift::TStructIdentifier) -> usize { 0 }
            fn struct_end_len(&mut self) -> usize { 0 }
            fn field_begin_len(&mut self, _t: ::pilota::thrift::TType, id: Option<i16>) -> usize {
                use $crate::codec::compact_output::{varint_len, zigzag32};
                1 + id.map_or(0, |id| varint_len(u64::from(zigzag32(i32::from(id)))))
            }
            fn field_end_len(&mut self) -> usize { 0 }
            fn field_stop_len(&mut self) -> usize { 1 }
            fn bool_len(&mut self, _b: bool) -> usize { 1 }
            fn bytes_len(&mut self, b: &[u8]) -> usize {
                $crate::codec::compact_output::varint_len(b.len() as u64) + b.len()
            }
            fn bytes_vec_len(&mut self, b: &[u8]) -> usize {
                $crate::codec::compact_output::varint_len(b.len() as u64) + b.len()
            }
            fn byte_len(&mut self, _b: u8) -> usize { 1 }
            fn uuid_len(&mut self, _u: [u8; 16]) -> usize { 16 }
            fn i8_len(&mut self, _i: i8) -> usize { 1 }
            fn i16_len(&mut self, i: i16) -> usize {
                use $crate::codec::compact_output::{varint_len, zigzag32};
                varint_len(u64::from(zigzag32(i32::from(i))))
            }
            fn i32_len(&mut self, i: i32) -> usize {
                use $crate::codec::compact_output::{varint_len, zigzag32};
                varint_len(u64::from(zigzag32(i)))
            }
            fn i64_len(&mut self, i: i64) -> usize {
                use $crate::codec::compact_output::{varint_len, zigzag64};
                varint_len(zigzag64(i))
            }
            fn double_len(&mut self, _d: f64) -> usize { 8 }
            fn string_len(&mut self, s: &str) -> usize {
                $crate::codec::compact_output::varint_len(s.len() as u64) + s.len()
            }
            fn faststr_len(&mut self, s: &::faststr::FastStr) -> usize {
                $crate::codec::compact_output::varint_len(s.len() as u64) + s.len()
            }
            fn list_begin_len(&mut self, i: ::pilota::thrift::TListIdentifier) -> usize {
                if i.size < 15 { 1 } else { 1 + $crate::codec::compact_output::varint_len(i.size as u64) }
            }
            fn list_end_len(&mut self) -> usize { 0 }
            fn set_begin_len(&mut self, i: ::pilota::thrift::TSetIdentifier) -> usize {
                if i.size < 15 { 1 } else { 1 + $crate::codec::compact_output::varint_len(i.size as u64) }
            }
            fn set_end_len(&mut self) -> usize { 0 }
            fn map_begin_len(&mut self, i: ::pilota::thrift::TMapIdentifier) -> usize {
                if i.size == 0 { 1 } else { 1 + $crate::codec::compact_output::varint_len(i.size as u64) }
            }
            fn map_end_len(&mut self) -> usize { 0 }
        }
    };
}
pub(crate) use impl_compact_length_protocol;

/// The Compact type id of a Thrift type (bools as `BOOL_TRUE`, as Apache
/// Thrift writes container element types).
fn ctype_of(t: TType) -> Result<u8, ThriftException> {
    Ok(match t {
        TType::Stop => ctype::STOP,
        TType::Bool => ctype::BOOL_TRUE,
        TType::I8 => ctype::BYTE,
        TType::I16 => ctype::I16,
        TType::I32 => ctype::I32,
        TType::I64 => ctype::I64,
        TType::Double => ctype::DOUBLE,
        TType::Binary => ctype::BINARY,
        TType::List => ctype::LIST,
        TType::Set => ctype::SET,
        TType::Map => ctype::MAP,
        TType::Struct => ctype::STRUCT,
        TType::Uuid => ctype::UUID,
        TType::Void => {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::InvalidData,
                "void has no compact type",
            ))
        }
    })
}

/// A Thrift Compact writer into a [`BufMut`], such as `bytes::BytesMut`.
#[derive(Debug)]
pub struct CompactOutput<'a, B> {
    buf: &'a mut B,
    /// Id of the last field written in each open struct (innermost last).
    last_ids: Vec<i16>,
    last_id: i16,
    /// A bool field whose header waits for its value.
    pending_bool: Option<i16>,
}

impl<'a, B: BufMut> CompactOutput<'a, B> {
    /// Creates a writer that appends to `buf`.
    #[inline]
    pub fn new(buf: &'a mut B) -> Self {
        CompactOutput {
            buf,
            last_ids: Vec::new(),
            last_id: 0,
            pending_bool: None,
        }
    }

    fn reserve(&self, n: usize) -> Result<(), ThriftException> {
        let room = self.buf.remaining_mut();
        if room < n {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("output buffer full: need {n} bytes but only {room} fit"),
            ));
        }
        Ok(())
    }

    fn varint(&mut self, mut v: u64) -> Result<(), ThriftException> {
        self.reserve(varint_len(v))?;
        while v >= 0x80 {
            self.buf.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
        Ok(())
    }

    fn wire_len(len: usize, what: &str) -> Result<u64, ThriftException> {
        match i32::try_from(len) {
            Ok(_) => Ok(len as u64),
            Err(_) => Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("{what} length {len} does not fit in an i32"),
            )),
        }
    }

    fn put_prefixed(&mut self, bytes: &[u8], what: &str) -> Result<(), ThriftException> {
        let len = Self::wire_len(bytes.len(), what)?;
        self.varint(len)?;
        self.reserve(bytes.len())?;
        self.buf.put_slice(bytes);
        Ok(())
    }

    fn field_header(&mut self, c: u8, id: i16) -> Result<(), ThriftException> {
        let delta = i32::from(id) - i32::from(self.last_id);
        if (1..=15).contains(&delta) {
            self.reserve(1)?;
            self.buf.put_u8(((delta as u8) << 4) | c);
        } else {
            self.reserve(1)?;
            self.buf.put_u8(c);
            self.varint(u64::from(zigzag32(i32::from(id))))?;
        }
        self.last_id = id;
        Ok(())
    }

    fn list_header(&mut self, t: TType, size: usize, what: &str) -> Result<(), ThriftException> {
        let c = ctype_of(t)?;
        let size = Self::wire_len(size, what)?;
        self.reserve(1)?;
        if size < 15 {
            self.buf.put_u8(((size as u8) << 4) | c);
            Ok(())
        } else {
            self.buf.put_u8(0xf0 | c);
            self.varint(size)
        }
    }
}

impl_compact_length_protocol!(impl['a, B] for CompactOutput<'a, B> where B: BufMut);

impl<B: BufMut> TOutputProtocol for CompactOutput<'_, B> {
    type BufMut = B;

    fn write_message_begin(
        &mut self,
        identifier: &TMessageIdentifier,
    ) -> Result<(), ThriftException> {
        let t: u8 = identifier.message_type.into();
        self.reserve(2)?;
        self.buf.put_u8(PROTOCOL_ID);
        self.buf.put_u8((t << 5) | VERSION);
        self.varint(u64::from(identifier.sequence_number as u32))?;
        self.put_prefixed(identifier.name.as_bytes(), "message name")
    }

    fn write_message_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn write_struct_begin(&mut self, _i: &TStructIdentifier) -> Result<(), ThriftException> {
        self.last_ids.push(self.last_id);
        self.last_id = 0;
        Ok(())
    }

    fn write_struct_end(&mut self) -> Result<(), ThriftException> {
        self.last_id = self.last_ids.pop().unwrap_or(0);
        Ok(())
    }

    fn write_field_begin(&mut self, field_type: TType, id: i16) -> Result<(), ThriftException> {
        if field_type == TType::Bool {
            self.pending_bool = Some(id);
            return Ok(());
        }
        let c = ctype_of(field_type)?;
        self.field_header(c, id)
    }

    fn write_field_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn write_field_stop(&mut self) -> Result<(), ThriftException> {
        self.write_byte(ctype::STOP)
    }

    fn write_bool(&mut self, b: bool) -> Result<(), ThriftException> {
        let c = if b {
            ctype::BOOL_TRUE
        } else {
            ctype::BOOL_FALSE
        };
        match self.pending_bool.take() {
            Some(id) => self.field_header(c, id),
            None => self.write_byte(c),
        }
    }

    fn write_bytes(&mut self, b: Bytes) -> Result<(), ThriftException> {
        self.put_prefixed(&b, "binary")
    }

    fn write_bytes_without_len(&mut self, b: Bytes) -> Result<(), ThriftException> {
        self.reserve(b.len())?;
        self.buf.put_slice(&b);
        Ok(())
    }

    fn write_uuid(&mut self, u: [u8; 16]) -> Result<(), ThriftException> {
        self.reserve(16)?;
        self.buf.put_slice(&u);
        Ok(())
    }

    fn write_bytes_vec(&mut self, b: &[u8]) -> Result<(), ThriftException> {
        self.put_prefixed(b, "binary")
    }

    fn write_byte(&mut self, b: u8) -> Result<(), ThriftException> {
        self.reserve(1)?;
        self.buf.put_u8(b);
        Ok(())
    }

    fn write_i8(&mut self, i: i8) -> Result<(), ThriftException> {
        self.write_byte(i as u8)
    }

    fn write_i16(&mut self, i: i16) -> Result<(), ThriftException> {
        self.varint(u64::from(zigzag32(i32::from(i))))
    }

    fn write_i32(&mut self, i: i32) -> Result<(), ThriftException> {
        self.varint(u64::from(zigzag32(i)))
    }

    fn write_i64(&mut self, i: i64) -> Result<(), ThriftException> {
        self.varint(zigzag64(i))
    }

    fn write_double(&mut self, d: f64) -> Result<(), ThriftException> {
        self.reserve(8)?;
        self.buf.put_f64_le(d);
        Ok(())
    }

    fn write_string(&mut self, s: &str) -> Result<(), ThriftException> {
        self.put_prefixed(s.as_bytes(), "string")
    }

    fn write_faststr(&mut self, s: FastStr) -> Result<(), ThriftException> {
        self.put_prefixed(s.as_bytes(), "string")
    }

    fn write_list_begin(&mut self, i: TListIdentifier) -> Result<(), ThriftException> {
        self.list_header(i.element_type, i.size, "list")
    }

    fn write_list_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn write_set_begin(&mut self, i: TSetIdentifier) -> Result<(), ThriftException> {
        self.list_header(i.element_type, i.size, "set")
    }

    fn write_set_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn write_map_begin(&mut self, i: TMapIdentifier) -> Result<(), ThriftException> {
        let size = Self::wire_len(i.size, "map")?;
        if size == 0 {
            return self.write_byte(0);
        }
        let kv = (ctype_of(i.key_type)? << 4) | ctype_of(i.value_type)?;
        self.varint(size)?;
        self.write_byte(kv)
    }

    fn write_map_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn buf_mut(&mut self) -> &mut Self::BufMut {
        self.buf
    }
}
