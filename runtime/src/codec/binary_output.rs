//! A Thrift Binary protocol writer over any [`BufMut`].
//!
//! pilota only implements its output protocols for `&mut BytesMut` and
//! `&mut LinkedBytes`; tonic hands encoders an `EncodeBuf`, which is a
//! [`BufMut`] but neither of those. [`BinaryOutput`] writes strict Thrift
//! Binary (big-endian, versioned message header) into any `BufMut`, so
//! generated `Message::encode` can write straight into tonic's buffer.
//! Lengths that do not fit the protocol's `i32` size fields and writes past
//! the capacity of a bounded buffer are reported as errors, not panics.

use bytes::{BufMut, Bytes};
use faststr::FastStr;
use pilota::thrift::{
    new_protocol_exception, ProtocolExceptionKind, TListIdentifier, TMapIdentifier,
    TMessageIdentifier, TOutputProtocol, TSetIdentifier, TStructIdentifier, TType, ThriftException,
};

use super::binary_input::{impl_binary_length_protocol, size, VERSION_1};

/// A Thrift Binary (big-endian, strict header) writer into a [`BufMut`],
/// such as `bytes::BytesMut` or tonic's `EncodeBuf`.
///
/// Binary and string payloads are copied into the buffer.
#[derive(Debug)]
pub struct BinaryOutput<'a, B> {
    buf: &'a mut B,
}

impl<'a, B: BufMut> BinaryOutput<'a, B> {
    /// Creates a writer that appends to `buf`.
    #[inline]
    pub fn new(buf: &'a mut B) -> Self {
        BinaryOutput { buf }
    }

    /// Fails unless `n` more bytes fit in the buffer.
    #[inline]
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

    /// Converts a length or size to the protocol's `i32`.
    #[inline]
    fn wire_len(len: usize, what: &str) -> Result<i32, ThriftException> {
        i32::try_from(len).map_err(|_| {
            new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("{what} length {len} does not fit in an i32"),
            )
        })
    }

    /// Writes an i32 length prefix followed by `bytes`.
    #[inline]
    fn put_prefixed(&mut self, bytes: &[u8], what: &str) -> Result<(), ThriftException> {
        let len = Self::wire_len(bytes.len(), what)?;
        self.reserve(size::LEN_PREFIX + bytes.len())?;
        self.buf.put_i32(len);
        self.buf.put_slice(bytes);
        Ok(())
    }

    /// Writes a list or set header.
    #[inline]
    fn put_list_header(
        &mut self,
        element_type: TType,
        len: usize,
        what: &str,
    ) -> Result<(), ThriftException> {
        let len = Self::wire_len(len, what)?;
        self.reserve(size::LIST_BEGIN)?;
        self.buf.put_u8(element_type.into());
        self.buf.put_i32(len);
        Ok(())
    }
}

impl_binary_length_protocol!(impl['a, B] for BinaryOutput<'a, B> where B: BufMut);

impl<B: BufMut> TOutputProtocol for BinaryOutput<'_, B> {
    type BufMut = B;

    fn write_message_begin(
        &mut self,
        identifier: &TMessageIdentifier,
    ) -> Result<(), ThriftException> {
        self.reserve(4)?;
        let message_type: u8 = identifier.message_type.into();
        self.buf.put_u32(VERSION_1 | u32::from(message_type));
        self.put_prefixed(identifier.name.as_bytes(), "message name")?;
        self.write_i32(identifier.sequence_number)
    }

    #[inline]
    fn write_message_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_struct_begin(
        &mut self,
        _identifier: &TStructIdentifier,
    ) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_struct_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_field_begin(&mut self, field_type: TType, id: i16) -> Result<(), ThriftException> {
        self.reserve(size::FIELD_BEGIN)?;
        self.buf.put_u8(field_type.into());
        self.buf.put_i16(id);
        Ok(())
    }

    #[inline]
    fn write_field_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_field_stop(&mut self) -> Result<(), ThriftException> {
        self.write_byte(TType::Stop.into())
    }

    #[inline]
    fn write_bool(&mut self, b: bool) -> Result<(), ThriftException> {
        self.write_byte(u8::from(b))
    }

    #[inline]
    fn write_bytes(&mut self, b: Bytes) -> Result<(), ThriftException> {
        self.put_prefixed(&b, "binary")
    }

    #[inline]
    fn write_bytes_without_len(&mut self, b: Bytes) -> Result<(), ThriftException> {
        self.reserve(b.len())?;
        self.buf.put_slice(&b);
        Ok(())
    }

    #[inline]
    fn write_uuid(&mut self, u: [u8; 16]) -> Result<(), ThriftException> {
        self.reserve(size::UUID)?;
        self.buf.put_slice(&u);
        Ok(())
    }

    #[inline]
    fn write_bytes_vec(&mut self, b: &[u8]) -> Result<(), ThriftException> {
        self.put_prefixed(b, "binary")
    }

    #[inline]
    fn write_byte(&mut self, b: u8) -> Result<(), ThriftException> {
        self.reserve(1)?;
        self.buf.put_u8(b);
        Ok(())
    }

    #[inline]
    fn write_i8(&mut self, i: i8) -> Result<(), ThriftException> {
        self.reserve(1)?;
        self.buf.put_i8(i);
        Ok(())
    }

    #[inline]
    fn write_i16(&mut self, i: i16) -> Result<(), ThriftException> {
        self.reserve(2)?;
        self.buf.put_i16(i);
        Ok(())
    }

    #[inline]
    fn write_i32(&mut self, i: i32) -> Result<(), ThriftException> {
        self.reserve(4)?;
        self.buf.put_i32(i);
        Ok(())
    }

    #[inline]
    fn write_i64(&mut self, i: i64) -> Result<(), ThriftException> {
        self.reserve(8)?;
        self.buf.put_i64(i);
        Ok(())
    }

    #[inline]
    fn write_double(&mut self, d: f64) -> Result<(), ThriftException> {
        self.reserve(8)?;
        self.buf.put_f64(d);
        Ok(())
    }

    #[inline]
    fn write_string(&mut self, s: &str) -> Result<(), ThriftException> {
        self.put_prefixed(s.as_bytes(), "string")
    }

    #[inline]
    fn write_faststr(&mut self, s: FastStr) -> Result<(), ThriftException> {
        self.put_prefixed(s.as_bytes(), "string")
    }

    #[inline]
    fn write_list_begin(&mut self, identifier: TListIdentifier) -> Result<(), ThriftException> {
        self.put_list_header(identifier.element_type, identifier.size, "list")
    }

    #[inline]
    fn write_list_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_set_begin(&mut self, identifier: TSetIdentifier) -> Result<(), ThriftException> {
        self.put_list_header(identifier.element_type, identifier.size, "set")
    }

    #[inline]
    fn write_set_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn write_map_begin(&mut self, identifier: TMapIdentifier) -> Result<(), ThriftException> {
        let len = Self::wire_len(identifier.size, "map")?;
        self.reserve(size::MAP_BEGIN)?;
        self.buf.put_u8(identifier.key_type.into());
        self.buf.put_u8(identifier.value_type.into());
        self.buf.put_i32(len);
        Ok(())
    }

    #[inline]
    fn write_map_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn buf_mut(&mut self) -> &mut Self::BufMut {
        self.buf
    }
}
