//! A bounds-checked Thrift Binary protocol reader for untrusted input.
//!
//! pilota's own `TBinaryProtocol<&mut Bytes>` trusts the lengths it reads:
//! a truncated string or a negative length makes it call `split_to` past the
//! end of the buffer and panic, a container size is handed straight to
//! `Vec::with_capacity`, and `string` fields are not checked for UTF-8.
//! Request and response bodies arrive from the network, so this module
//! provides [`BinaryInput`], which implements the same pilota traits but:
//!
//! * checks `remaining()` before every read and returns a
//!   [`ThriftException`] instead of panicking;
//! * rejects negative lengths and sizes, and container sizes whose minimum
//!   encoded size exceeds the bytes left, so a caller pre-allocating
//!   `size` elements never allocates more than the input can justify;
//! * validates UTF-8 for `string` reads;
//! * skips unknown fields with its own depth-limited, bounds-checked
//!   implementation.
//!
//! The Thrift Binary size rules (`TLengthProtocol`) are defined once here in
//! `impl_binary_length_protocol!` and shared with the writer in
//! `binary_output.rs`.

use bytes::{Buf, Bytes};
use faststr::FastStr;
use pilota::thrift::{
    new_protocol_exception, ProtocolExceptionKind, TFieldIdentifier, TInputProtocol,
    TListIdentifier, TMapIdentifier, TMessageIdentifier, TMessageType, TSetIdentifier,
    TStructIdentifier, TType, ThriftException,
};

/// Maximum nesting depth followed by [`BinaryInput`]'s `skip`.
const MAX_SKIP_DEPTH: i8 = 64;

/// Version marker of a strict Thrift Binary message header (top 16 bits).
pub(crate) const VERSION_1: u32 = 0x8001_0000;
/// Mask selecting the version bits of a strict message header.
const VERSION_MASK: u32 = 0xffff_0000;

/// Encoded sizes of the Thrift Binary protocol, shared by reader and writer.
pub(crate) mod size {
    /// Field header: type byte + i16 id.
    pub(crate) const FIELD_BEGIN: usize = 3;
    /// Field stop marker.
    pub(crate) const FIELD_STOP: usize = 1;
    /// List / set header: element type byte + i32 size.
    pub(crate) const LIST_BEGIN: usize = 5;
    /// Map header: key type byte + value type byte + i32 size.
    pub(crate) const MAP_BEGIN: usize = 6;
    /// Length prefix of strings and binaries.
    pub(crate) const LEN_PREFIX: usize = 4;
    /// UUID payload.
    pub(crate) const UUID: usize = 16;
}

/// Implements `TLengthProtocol` with Thrift Binary sizes for a type.
///
/// Used by both [`BinaryInput`] and `BinaryOutput` so that the size rules
/// live in exactly one place. The invocation site must have this file's
/// `size` module in scope (`use super::binary_input::size;`).
macro_rules! impl_binary_length_protocol {
    (impl [$($gen:tt)*] for $ty:ty $(where $($bound:tt)*)?) => {
        impl<$($gen)*> ::pilota::thrift::TLengthProtocol for $ty $(where $($bound)*)? {
            #[inline]
            fn message_begin_len(
                &mut self,
                identifier: &::pilota::thrift::TMessageIdentifier,
            ) -> usize {
                4 + size::LEN_PREFIX + identifier.name.len() + 4
            }
            #[inline]
            fn message_end_len(&mut self) -> usize {
                0
            }
            #[inline]
            fn struct_begin_len(
                &mut self,
                _identifier: &::pilota::thrift::TStructIdentifier,
            ) -> usize {
                0
            }
            #[inline]
            fn struct_end_len(&mut self) -> usize {
                0
            }
            #[inline]
            fn field_begin_len(
                &mut self,
                _field_type: ::pilota::thrift::TType,
                _id: Option<i16>,
            ) -> usize {
                size::FIELD_BEGIN
            }
            #[inline]
            fn field_end_len(&mut self) -> usize {
                0
            }
            #[inline]
            fn field_stop_len(&mut self) -> usize {
                size::FIELD_STOP
            }
            #[inline]
            fn bool_len(&mut self, _b: bool) -> usize {
                1
            }
            #[inline]
            fn bytes_len(&mut self, b: &[u8]) -> usize {
                size::LEN_PREFIX + b.len()
            }
            #[inline]
            fn bytes_vec_len(&mut self, b: &[u8]) -> usize {
                size::LEN_PREFIX + b.len()
            }
            #[inline]
            fn byte_len(&mut self, _b: u8) -> usize {
                1
            }
            #[inline]
            fn uuid_len(&mut self, _u: [u8; 16]) -> usize {
                size::UUID
            }
            #[inline]
            fn i8_len(&mut self, _i: i8) -> usize {
                1
            }
            #[inline]
            fn i16_len(&mut self, _i: i16) -> usize {
                2
            }
            #[inline]
            fn i32_len(&mut self, _i: i32) -> usize {
                4
            }
            #[inline]
            fn i64_len(&mut self, _i: i64) -> usize {
                8
            }
            #[inline]
            fn double_len(&mut self, _d: f64) -> usize {
                8
            }
            #[inline]
            fn string_len(&mut self, s: &str) -> usize {
                size::LEN_PREFIX + s.len()
            }
            #[inline]
            fn faststr_len(&mut self, s: &::faststr::FastStr) -> usize {
                size::LEN_PREFIX + s.len()
            }
            #[inline]
            fn list_begin_len(&mut self, _identifier: ::pilota::thrift::TListIdentifier) -> usize {
                size::LIST_BEGIN
            }
            #[inline]
            fn list_end_len(&mut self) -> usize {
                0
            }
            #[inline]
            fn set_begin_len(&mut self, _identifier: ::pilota::thrift::TSetIdentifier) -> usize {
                size::LIST_BEGIN
            }
            #[inline]
            fn set_end_len(&mut self) -> usize {
                0
            }
            #[inline]
            fn map_begin_len(&mut self, _identifier: ::pilota::thrift::TMapIdentifier) -> usize {
                size::MAP_BEGIN
            }
            #[inline]
            fn map_end_len(&mut self) -> usize {
                0
            }
        }
    };
}
pub(crate) use impl_binary_length_protocol;

/// Minimum number of bytes one value of `ttype` occupies on the wire, or
/// `None` if `ttype` cannot be a container element (`stop`, `void`).
#[inline]
pub(crate) const fn min_encoded_size(ttype: TType) -> Option<usize> {
    match ttype {
        TType::Bool | TType::I8 => Some(1),
        TType::I16 => Some(2),
        TType::I32 => Some(4),
        TType::I64 | TType::Double => Some(8),
        TType::Binary => Some(size::LEN_PREFIX),
        // An empty struct is just its stop byte.
        TType::Struct => Some(size::FIELD_STOP),
        TType::List | TType::Set => Some(size::LIST_BEGIN),
        TType::Map => Some(size::MAP_BEGIN),
        TType::Uuid => Some(size::UUID),
        TType::Stop | TType::Void => None,
    }
}

/// Encoded size of values of `ttype` if it is a fixed-width type.
#[inline]
const fn fixed_size(ttype: TType) -> Option<usize> {
    match ttype {
        TType::Bool | TType::I8 => Some(1),
        TType::I16 => Some(2),
        TType::I32 => Some(4),
        TType::I64 | TType::Double => Some(8),
        TType::Uuid => Some(size::UUID),
        _ => None,
    }
}

/// Lower-case wire name of a type, for error messages.
fn ttype_name(ttype: TType) -> &'static str {
    match ttype {
        TType::Stop => "stop",
        TType::Void => "void",
        TType::Bool => "bool",
        TType::I8 => "i8",
        TType::Double => "double",
        TType::I16 => "i16",
        TType::I32 => "i32",
        TType::I64 => "i64",
        TType::Binary => "binary",
        TType::Struct => "struct",
        TType::Map => "map",
        TType::Set => "set",
        TType::List => "list",
        TType::Uuid => "uuid",
    }
}

/// Decodes a ttype byte, rejecting values that are not Thrift types.
#[inline]
fn decode_ttype(byte: u8, what: &str) -> Result<TType, ThriftException> {
    let ttype = match byte {
        0 => TType::Stop,
        1 => TType::Void,
        2 => TType::Bool,
        3 => TType::I8,
        4 => TType::Double,
        6 => TType::I16,
        8 => TType::I32,
        10 => TType::I64,
        11 => TType::Binary,
        12 => TType::Struct,
        13 => TType::Map,
        14 => TType::Set,
        15 => TType::List,
        16 => TType::Uuid,
        _ => {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::InvalidData,
                format!("unknown {what} type {byte}"),
            ))
        }
    };
    Ok(ttype)
}

/// What a [`BinaryInput`] reads from: contiguous bytes that can hand out
/// owned payloads. Implemented for [`Bytes`] (long payloads are split off
/// without copying) and for `&[u8]` (payloads are copied; no reference
/// counting at all, the fastest for small messages).
pub trait InputBuf: Buf + std::ops::Deref<Target = [u8]> {
    /// Takes the next `len` bytes (`len` is at most `remaining()`).
    fn take_bytes(&mut self, len: usize) -> Bytes;
}

impl InputBuf for Bytes {
    #[inline]
    fn take_bytes(&mut self, len: usize) -> Bytes {
        self.split_to(len)
    }
}

impl InputBuf for &[u8] {
    #[inline]
    fn take_bytes(&mut self, len: usize) -> Bytes {
        let out = Bytes::copy_from_slice(&self[..len]);
        self.advance(len);
        out
    }
}

/// A Thrift Binary (big-endian, strict header) reader over a [`Bytes`]
/// buffer (or a byte slice) that never panics and never trusts lengths from
/// the wire.
///
/// Every read checks the bytes remaining first and reports malformed or
/// truncated input as a [`ThriftException`]. Binary and string payloads of
/// [`ZERO_COPY_THRESHOLD`] bytes or more are split off a `Bytes` buffer
/// without copying, unless the buffer is more than [`ZERO_COPY_MAX_PIN`]
/// times their size (see there).
#[derive(Debug)]
pub struct BinaryInput<'a, B = Bytes> {
    buf: &'a mut B,
    /// Bytes in `buf` when reading started: what a payload split off it
    /// keeps alive.
    start_len: usize,
    /// Structs currently being read (nesting depth), bounded by
    /// [`MAX_STRUCT_DEPTH`] so that recursive types cannot exhaust the stack.
    depth: usize,
}

/// Strings and binaries at least this long are split off the input without
/// copying; shorter ones are copied.
pub const ZERO_COPY_THRESHOLD: usize = 4096;

/// A string or binary split off the input without copying keeps the whole
/// input buffer alive for as long as the value lives. So a payload is
/// shared only if the input (the bytes this [`BinaryInput`] started with)
/// is at most this many times its size; otherwise it is copied. A small
/// value kept from a large message (a 4 KiB id out of a 16 MiB request)
/// then pins 4 KiB, not 16 MiB, while a message that is mostly one large
/// value (the common case for big payloads) still decodes without a copy.
pub const ZERO_COPY_MAX_PIN: usize = 4;

/// How deeply structs may nest in one decoded value. Generated decoders
/// recurse once per level; this bound keeps hostile input (a self-recursive
/// struct nested thousands of times) from overflowing the stack.
pub const MAX_STRUCT_DEPTH: usize = 64;

impl<'a, B: InputBuf> BinaryInput<'a, B> {
    /// Creates a reader that consumes bytes from the front of `buf`.
    #[inline]
    pub fn new(buf: &'a mut B) -> Self {
        let start_len = buf.remaining();
        BinaryInput {
            buf,
            start_len,
            depth: 0,
        }
    }

    /// Whether a payload of `len` bytes is split off without copying: long
    /// enough to be worth it, and a large enough share of the input that it
    /// does not pin much more than itself ([`ZERO_COPY_MAX_PIN`]).
    #[inline]
    fn share(&self, len: usize) -> bool {
        len >= ZERO_COPY_THRESHOLD && len.saturating_mul(ZERO_COPY_MAX_PIN) >= self.start_len
    }

    /// Takes the next `len` bytes (checked by the caller), shared or copied
    /// as [`share`](Self::share) decides.
    #[inline]
    fn take_payload(&mut self, len: usize) -> Bytes {
        if self.share(len) {
            return self.buf.take_bytes(len);
        }
        let out = Bytes::copy_from_slice(&self.buf[..len]);
        self.buf.advance(len);
        out
    }

    /// Fails unless at least `n` bytes remain; `what` names the value read.
    #[inline]
    fn need(&self, n: usize, what: &str) -> Result<(), ThriftException> {
        let remaining = self.buf.remaining();
        if remaining < n {
            return Err(truncated(what, n, remaining));
        }
        Ok(())
    }

    /// Reads an i32 length prefix and checks it is non-negative and
    /// covered by the remaining bytes.
    #[inline]
    fn read_len(&mut self, what: &str) -> Result<usize, ThriftException> {
        self.need(4, what)?;
        let len = self.buf.get_i32();
        if len < 0 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::NegativeSize,
                format!("negative {what} length {len}"),
            ));
        }
        let len = len as usize;
        let remaining = self.buf.remaining();
        if len > remaining {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("{what} length {len} exceeds the {remaining} bytes remaining"),
            ));
        }
        Ok(len)
    }

    /// Reads a length-prefixed payload without copying.
    #[inline]
    fn read_payload(&mut self, what: &str) -> Result<Bytes, ThriftException> {
        let len = self.read_len(what)?;
        Ok(self.buf.take_bytes(len))
    }

    /// Checks a container size read from the wire: non-negative, and
    /// `size` elements of at least `min_each` bytes fit in what remains.
    #[inline]
    fn check_container_size(
        &self,
        what: &str,
        size: i32,
        min_each: usize,
    ) -> Result<usize, ThriftException> {
        if size < 0 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::NegativeSize,
                format!("negative {what} size {size}"),
            ));
        }
        let size = size as usize;
        let remaining = self.buf.remaining();
        match size.checked_mul(min_each) {
            Some(min_total) if min_total <= remaining => Ok(size),
            _ => Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!(
                    "{what} size {size} needs at least {} bytes but only {remaining} remain",
                    size.saturating_mul(min_each)
                ),
            )),
        }
    }

    /// Reads a container element type; `stop`/`void` are only tolerated
    /// for empty containers (some encoders write 0 there).
    #[inline]
    fn element_type(byte: u8, what: &str, size: i32) -> Result<(TType, usize), ThriftException> {
        let ttype = decode_ttype(byte, what)?;
        match min_encoded_size(ttype) {
            Some(min) => Ok((ttype, min)),
            None if size == 0 => Ok((ttype, 0)),
            None => Err(new_protocol_exception(
                ProtocolExceptionKind::InvalidData,
                format!("invalid {what} type {}", ttype_name(ttype)),
            )),
        }
    }

    /// Advances past `n` bytes after checking they exist.
    #[inline]
    fn skip_bytes(&mut self, n: usize, what: &str) -> Result<(), ThriftException> {
        self.need(n, what)?;
        self.buf.advance(n);
        Ok(())
    }

    /// Bounds-checked, depth-limited skip of one value of `ttype`.
    fn skip_value(&mut self, ttype: TType, depth: i8) -> Result<(), ThriftException> {
        if depth <= 0 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::DepthLimit,
                format!(
                    "nesting deeper than the skip depth limit at a {} value",
                    ttype_name(ttype)
                ),
            ));
        }
        if let Some(n) = fixed_size(ttype) {
            return self.skip_bytes(n, ttype_name(ttype));
        }
        match ttype {
            TType::Binary => {
                let len = self.read_len("binary")?;
                self.buf.advance(len);
            }
            TType::Struct => loop {
                // Every iteration consumes at least a 3-byte field header,
                // so the loop is bounded by the input length.
                let field = self.read_field_begin()?;
                if field.field_type == TType::Stop {
                    break;
                }
                self.skip_value(field.field_type, depth - 1)?;
            },
            TType::List | TType::Set => {
                let (element_type, size) = if ttype == TType::List {
                    let l = self.read_list_begin()?;
                    (l.element_type, l.size)
                } else {
                    let s = self.read_set_begin()?;
                    (s.element_type, s.size)
                };
                if let Some(n) = fixed_size(element_type) {
                    // Header check guarantees size * n <= remaining.
                    self.skip_bytes(size * n, ttype_name(ttype))?;
                } else {
                    for _ in 0..size {
                        self.skip_value(element_type, depth - 1)?;
                    }
                }
            }
            TType::Map => {
                let m = self.read_map_begin()?;
                match (fixed_size(m.key_type), fixed_size(m.value_type)) {
                    (Some(k), Some(v)) => self.skip_bytes(m.size * (k + v), "map")?,
                    _ => {
                        for _ in 0..m.size {
                            self.skip_value(m.key_type, depth - 1)?;
                            self.skip_value(m.value_type, depth - 1)?;
                        }
                    }
                }
            }
            other => {
                return Err(new_protocol_exception(
                    ProtocolExceptionKind::InvalidData,
                    format!("cannot skip a value of type {}", ttype_name(other)),
                ))
            }
        }
        Ok(())
    }
}

/// Error for a fixed-width read past the end of the input.
#[cold]
fn truncated(what: &str, needed: usize, remaining: usize) -> ThriftException {
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("unexpected end of input: {what} needs {needed} bytes but only {remaining} remain"),
    )
}

impl_binary_length_protocol!(impl['a, B] for BinaryInput<'a, B>);

impl<B: InputBuf> TInputProtocol for BinaryInput<'_, B> {
    type Buf = B;

    fn read_message_begin(&mut self) -> Result<TMessageIdentifier, ThriftException> {
        self.need(4, "message header")?;
        let word = self.buf.get_i32();
        if word >= 0 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::BadVersion,
                "non-strict thrift message header is not supported",
            ));
        }
        let word = word as u32;
        if word & VERSION_MASK != VERSION_1 {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::BadVersion,
                format!(
                    "bad thrift binary protocol version {:#06x} (expected 0x8001)",
                    word >> 16
                ),
            ));
        }
        let type_byte = (word & 0xff) as u8;
        let message_type = match type_byte {
            1 => TMessageType::Call,
            2 => TMessageType::Reply,
            3 => TMessageType::Exception,
            4 => TMessageType::OneWay,
            other => {
                return Err(new_protocol_exception(
                    ProtocolExceptionKind::InvalidData,
                    format!("invalid message type {other}"),
                ))
            }
        };
        let name = self.read_faststr()?;
        self.need(4, "message sequence id")?;
        let sequence_number = self.buf.get_i32();
        Ok(TMessageIdentifier::new(name, message_type, sequence_number))
    }

    #[inline]
    fn read_message_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn read_struct_begin(&mut self) -> Result<Option<TStructIdentifier>, ThriftException> {
        self.depth += 1;
        if self.depth > MAX_STRUCT_DEPTH {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::DepthLimit,
                format!("structs are nested deeper than {MAX_STRUCT_DEPTH} levels"),
            ));
        }
        Ok(None)
    }

    #[inline]
    fn read_struct_end(&mut self) -> Result<(), ThriftException> {
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    #[inline]
    fn read_field_begin(&mut self) -> Result<TFieldIdentifier, ThriftException> {
        self.need(1, "field header")?;
        let field_type = decode_ttype(self.buf.get_u8(), "field")?;
        if field_type == TType::Stop {
            return Ok(TFieldIdentifier::new(None, TType::Stop, None));
        }
        self.need(2, "field id")?;
        let id = self.buf.get_i16();
        Ok(TFieldIdentifier::new(None, field_type, id))
    }

    #[inline]
    fn read_field_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn read_bool(&mut self) -> Result<bool, ThriftException> {
        self.need(1, "bool")?;
        Ok(self.buf.get_u8() != 0)
    }

    #[inline]
    fn read_bytes(&mut self) -> Result<Bytes, ThriftException> {
        let len = self.read_len("binary")?;
        Ok(self.take_payload(len))
    }

    #[inline]
    fn read_uuid(&mut self) -> Result<[u8; 16], ThriftException> {
        self.need(size::UUID, "uuid")?;
        let mut uuid = [0u8; 16];
        self.buf.copy_to_slice(&mut uuid);
        Ok(uuid)
    }

    #[inline]
    fn read_i8(&mut self) -> Result<i8, ThriftException> {
        self.need(1, "i8")?;
        Ok(self.buf.get_i8())
    }

    #[inline]
    fn read_i16(&mut self) -> Result<i16, ThriftException> {
        self.need(2, "i16")?;
        Ok(self.buf.get_i16())
    }

    #[inline]
    fn read_i32(&mut self) -> Result<i32, ThriftException> {
        self.need(4, "i32")?;
        Ok(self.buf.get_i32())
    }

    #[inline]
    fn read_i64(&mut self) -> Result<i64, ThriftException> {
        self.need(8, "i64")?;
        Ok(self.buf.get_i64())
    }

    #[inline]
    fn read_double(&mut self) -> Result<f64, ThriftException> {
        self.need(8, "double")?;
        Ok(self.buf.get_f64())
    }

    fn read_string(&mut self) -> Result<String, ThriftException> {
        let payload = self.read_payload("string")?;
        match super::utf8::check(&payload) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(invalid_utf8(e)),
        }
    }

    fn read_faststr(&mut self) -> Result<FastStr, ThriftException> {
        let len = self.read_len("string")?;
        if !self.share(len) {
            // Short strings are copied (inline in the FastStr up to 30
            // bytes, else into one `Arc<str>`): cheaper than sharing the
            // buffer, and they do not keep the whole received message
            // alive; so are strings that are a small share of a large
            // message.
            let s = super::utf8::check(&self.buf[..len]).map_err(invalid_utf8)?;
            let out = super::utf8::copied(s);
            self.buf.advance(len);
            return Ok(out);
        }
        let bytes = self.buf.take_bytes(len);
        super::utf8::check(&bytes).map_err(invalid_utf8)?;
        // SAFETY: `bytes` was just checked to be valid UTF-8, and `Bytes`
        // is immutable.
        Ok(unsafe { FastStr::from_bytes_unchecked(bytes) })
    }

    fn read_list_begin(&mut self) -> Result<TListIdentifier, ThriftException> {
        self.need(size::LIST_BEGIN, "list header")?;
        let type_byte = self.buf.get_u8();
        let raw_size = self.buf.get_i32();
        let (element_type, min) = Self::element_type(type_byte, "list element", raw_size)?;
        let size = self.check_container_size("list", raw_size, min)?;
        Ok(TListIdentifier::new(element_type, size))
    }

    #[inline]
    fn read_list_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_set_begin(&mut self) -> Result<TSetIdentifier, ThriftException> {
        self.need(size::LIST_BEGIN, "set header")?;
        let type_byte = self.buf.get_u8();
        let raw_size = self.buf.get_i32();
        let (element_type, min) = Self::element_type(type_byte, "set element", raw_size)?;
        let size = self.check_container_size("set", raw_size, min)?;
        Ok(TSetIdentifier::new(element_type, size))
    }

    #[inline]
    fn read_set_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    fn read_map_begin(&mut self) -> Result<TMapIdentifier, ThriftException> {
        self.need(size::MAP_BEGIN, "map header")?;
        let key_byte = self.buf.get_u8();
        let value_byte = self.buf.get_u8();
        let raw_size = self.buf.get_i32();
        let (key_type, key_min) = Self::element_type(key_byte, "map key", raw_size)?;
        let (value_type, value_min) = Self::element_type(value_byte, "map value", raw_size)?;
        // Both minimums are at most 16, so the sum cannot overflow.
        let size = self.check_container_size("map", raw_size, key_min + value_min)?;
        Ok(TMapIdentifier::new(key_type, value_type, size))
    }

    #[inline]
    fn read_map_end(&mut self) -> Result<(), ThriftException> {
        Ok(())
    }

    #[inline]
    fn skip(&mut self, field_type: TType) -> Result<usize, ThriftException> {
        self.skip_till_depth(field_type, MAX_SKIP_DEPTH)
    }

    fn skip_till_depth(&mut self, field_type: TType, depth: i8) -> Result<usize, ThriftException> {
        let before = self.buf.remaining();
        self.skip_value(field_type, depth.min(MAX_SKIP_DEPTH))?;
        Ok(before - self.buf.remaining())
    }

    #[inline]
    fn read_byte(&mut self) -> Result<u8, ThriftException> {
        self.need(1, "byte")?;
        Ok(self.buf.get_u8())
    }

    fn read_bytes_vec(&mut self) -> Result<Vec<u8>, ThriftException> {
        let len = self.read_len("binary")?;
        let v = self.buf[..len].to_vec();
        self.buf.advance(len);
        Ok(v)
    }

    fn get_bytes(&mut self, _ptr: Option<*const u8>, len: usize) -> Result<Bytes, ThriftException> {
        let remaining = self.buf.remaining();
        if len > remaining {
            return Err(new_protocol_exception(
                ProtocolExceptionKind::SizeLimit,
                format!("requested {len} bytes but only {remaining} remain"),
            ));
        }
        Ok(self.take_payload(len))
    }

    #[inline]
    fn buf(&mut self) -> &mut Self::Buf {
        self.buf
    }
}

/// Error for a `string` payload that is not UTF-8.
#[cold]
fn invalid_utf8(e: impl std::fmt::Display) -> ThriftException {
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("invalid utf-8 in string field: {e}"),
    )
}
