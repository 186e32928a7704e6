//! How one Rust value of a Thrift type goes on the wire.
//!
//! Generated structs encode each field through [`ThriftValue`], so nested
//! containers (`map<string, list<set<i32>>>`) need no generated code of their
//! own: the impls below for `Vec`, `HashSet`, `HashMap` and `Box` recurse into
//! their element types. Every struct, union, exception and enum the code
//! generator emits implements this trait too.
//!
//! Decoding never trusts a length: container sizes are checked by the input
//! protocol (see [`crate::codec::BinaryInput`]) before anything is allocated,
//! and element types on the wire must match the declared ones.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;

use bytes::Bytes;
use faststr::FastStr;
use ordered_float::OrderedFloat;
use pilota::thrift::{
    new_protocol_exception, Message, ProtocolExceptionKind, TAsyncInputProtocol, TInputProtocol,
    TLengthProtocol, TListIdentifier, TMapIdentifier, TOutputProtocol, TSetIdentifier,
    TStructIdentifier, TType, ThriftException,
};

/// A Rust value that has a Thrift wire form.
///
/// Implemented for the Rust types that Thrift base types map to (`bool`, `i8`,
/// `i16`, `i32`, `i64`, `f64`, [`FastStr`] for `string`, [`Bytes`] for
/// `binary`, [`Uuid`](crate::Uuid) for `uuid`), for containers of such values, and by generated code for every
/// struct, union, exception and enum.
pub trait ThriftValue: Sized + Send {
    /// The Thrift type tag written before this value in a field or container.
    const TTYPE: TType;

    /// Writes the value (without a field header).
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException>;

    /// Reads one value (without a field header).
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException>;

    /// Reads one value from an async protocol.
    fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> impl Future<Output = Result<Self, ThriftException>> + Send;

    /// The encoded size of the value (without a field header).
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize;
}

macro_rules! scalar {
    ($ty:ty, $tt:expr, $write:ident, $read:ident, $len:ident) => {
        impl ThriftValue for $ty {
            const TTYPE: TType = $tt;

            #[inline]
            fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
                p.$write(*self)
            }

            #[inline]
            fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
                p.$read()
            }

            #[inline]
            async fn decode_value_async<P: TAsyncInputProtocol>(
                p: &mut P,
            ) -> Result<Self, ThriftException> {
                p.$read().await
            }

            #[inline]
            fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
                p.$len(*self)
            }
        }
    };
}

scalar!(bool, TType::Bool, write_bool, read_bool, bool_len);
scalar!(i8, TType::I8, write_i8, read_i8, i8_len);
scalar!(i16, TType::I16, write_i16, read_i16, i16_len);
scalar!(i32, TType::I32, write_i32, read_i32, i32_len);
scalar!(i64, TType::I64, write_i64, read_i64, i64_len);
scalar!(f64, TType::Double, write_double, read_double, double_len);

impl ThriftValue for OrderedFloat<f64> {
    const TTYPE: TType = TType::Double;

    #[inline]
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_double(self.0)
    }

    #[inline]
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        p.read_double().map(OrderedFloat)
    }

    #[inline]
    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        p.read_double().await.map(OrderedFloat)
    }

    #[inline]
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.double_len(self.0)
    }
}

impl ThriftValue for FastStr {
    const TTYPE: TType = TType::Binary;

    #[inline]
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        // By reference: no reference-count traffic per message.
        p.write_string(self.as_str())
    }

    #[inline]
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        p.read_faststr()
    }

    #[inline]
    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        p.read_faststr().await
    }

    #[inline]
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.faststr_len(self)
    }
}

impl ThriftValue for Bytes {
    const TTYPE: TType = TType::Binary;

    #[inline]
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_bytes_vec(self)
    }

    #[inline]
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        p.read_bytes()
    }

    #[inline]
    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        p.read_bytes().await
    }

    #[inline]
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.bytes_len(self)
    }
}

impl ThriftValue for crate::Uuid {
    const TTYPE: TType = TType::Uuid;

    #[inline]
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_uuid(self.0)
    }

    #[inline]
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        p.read_uuid().map(crate::Uuid)
    }

    #[inline]
    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        p.read_uuid().await.map(crate::Uuid)
    }

    #[inline]
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.uuid_len(self.0)
    }
}

/// [`HashableSet`](crate::HashableSet) and [`HashableMap`](crate::HashableMap)
/// are on the wire exactly what the `std` collection inside them is.
macro_rules! delegate {
    ($outer:ty, $inner:ty, [$($bounds:tt)*]) => {
        impl<$($bounds)*> ThriftValue for $outer {
            const TTYPE: TType = <$inner as ThriftValue>::TTYPE;

            #[inline]
            fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
                self.0.encode_value(p)
            }

            #[inline]
            fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
                <$inner>::decode_value(p).map(Self)
            }

            #[inline]
            async fn decode_value_async<P: TAsyncInputProtocol>(
                p: &mut P,
            ) -> Result<Self, ThriftException> {
                <$inner>::decode_value_async(p).await.map(Self)
            }

            #[inline]
            fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
                self.0.value_len(p)
            }
        }
    };
}

delegate!(crate::HashableSet<T>, HashSet<T>, [T: ThriftValue + Eq + Hash + Sync]);
delegate!(
    crate::HashableMap<K, V>,
    HashMap<K, V>,
    [K: ThriftValue + Eq + Hash + Sync, V: ThriftValue + Sync]
);

/// A generated struct, union or exception: its value encoding is its
/// [`Message`] encoding, tagged [`TType::Struct`].
///
/// Generated code implements this marker (one line per type) instead of
/// writing a `ThriftValue` impl of its own; `Box<T>` (used for recursive
/// fields) is a struct value whenever `T` is.
pub trait ThriftStruct: Message + Sync + 'static {}

impl<T: ThriftStruct> ThriftStruct for Box<T> {}

impl<T: ThriftStruct> ThriftValue for T {
    const TTYPE: TType = TType::Struct;

    #[inline]
    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        self.encode(p)
    }

    #[inline]
    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        T::decode(p)
    }

    #[inline]
    fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> impl Future<Output = Result<Self, ThriftException>> + Send {
        // Generated types return a boxed future here, so recursive types
        // (a struct holding a `Box` of itself) get a future of finite size.
        T::decode_async(p)
    }

    #[inline]
    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        self.size(p)
    }
}

/// At most this many bytes are reserved up front for a decoded container:
/// the input bounds the element count, but an element can be far larger in
/// memory than its smallest encoding (an empty struct is one byte on the
/// wire), so larger containers grow as their elements actually arrive.
const MAX_PREALLOC_BYTES: usize = 256 * 1024;

fn prealloc<T>(size: usize) -> usize {
    size.min(MAX_PREALLOC_BYTES / std::mem::size_of::<T>().max(1))
}

fn element_mismatch(container: &str, expected: TType, found: TType) -> ThriftException {
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("{container} element type mismatch: expected {expected:?}, found {found:?}"),
    )
}

/// Checks that a container header's element type matches the declared one.
/// An empty container may carry any element type (some encoders write 0).
#[inline]
fn check_element(
    container: &str,
    expected: TType,
    found: TType,
    size: usize,
) -> Result<(), ThriftException> {
    if size == 0 || expected == found {
        Ok(())
    } else {
        Err(element_mismatch(container, expected, found))
    }
}

impl<T: ThriftValue + Sync> ThriftValue for Vec<T> {
    const TTYPE: TType = TType::List;

    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_list_begin(TListIdentifier::new(T::TTYPE, self.len()))?;
        for v in self {
            v.encode_value(p)?;
        }
        p.write_list_end()
    }

    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        let ident = p.read_list_begin()?;
        check_element("list", T::TTYPE, ident.element_type, ident.size)?;
        let mut out = Vec::with_capacity(prealloc::<T>(ident.size));
        for _ in 0..ident.size {
            out.push(T::decode_value(p)?);
        }
        p.read_list_end()?;
        Ok(out)
    }

    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        let ident = p.read_list_begin().await?;
        check_element("list", T::TTYPE, ident.element_type, ident.size)?;
        // An async source cannot tell how much input remains: grow as we read.
        let mut out = Vec::new();
        for _ in 0..ident.size {
            out.push(T::decode_value_async(p).await?);
        }
        p.read_list_end().await?;
        Ok(out)
    }

    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.list_begin_len(TListIdentifier::new(T::TTYPE, self.len()))
            + self.iter().map(|v| v.value_len(p)).sum::<usize>()
            + p.list_end_len()
    }
}

impl<T: ThriftValue + Eq + Hash + Sync> ThriftValue for HashSet<T> {
    const TTYPE: TType = TType::Set;

    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_set_begin(TSetIdentifier::new(T::TTYPE, self.len()))?;
        for v in self {
            v.encode_value(p)?;
        }
        p.write_set_end()
    }

    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        let ident = p.read_set_begin()?;
        check_element("set", T::TTYPE, ident.element_type, ident.size)?;
        let mut out = HashSet::with_capacity(prealloc::<T>(ident.size));
        for _ in 0..ident.size {
            out.insert(T::decode_value(p)?);
        }
        p.read_set_end()?;
        Ok(out)
    }

    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        let ident = p.read_set_begin().await?;
        check_element("set", T::TTYPE, ident.element_type, ident.size)?;
        let mut out = HashSet::new();
        for _ in 0..ident.size {
            out.insert(T::decode_value_async(p).await?);
        }
        p.read_set_end().await?;
        Ok(out)
    }

    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.set_begin_len(TSetIdentifier::new(T::TTYPE, self.len()))
            + self.iter().map(|v| v.value_len(p)).sum::<usize>()
            + p.set_end_len()
    }
}

impl<K, V> ThriftValue for HashMap<K, V>
where
    K: ThriftValue + Eq + Hash + Sync,
    V: ThriftValue + Sync,
{
    const TTYPE: TType = TType::Map;

    fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
        p.write_map_begin(TMapIdentifier::new(K::TTYPE, V::TTYPE, self.len()))?;
        for (k, v) in self {
            k.encode_value(p)?;
            v.encode_value(p)?;
        }
        p.write_map_end()
    }

    fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
        let ident = p.read_map_begin()?;
        check_element("map key", K::TTYPE, ident.key_type, ident.size)?;
        check_element("map value", V::TTYPE, ident.value_type, ident.size)?;
        let mut out = HashMap::with_capacity(prealloc::<(K, V)>(ident.size));
        for _ in 0..ident.size {
            let k = K::decode_value(p)?;
            let v = V::decode_value(p)?;
            out.insert(k, v);
        }
        p.read_map_end()?;
        Ok(out)
    }

    async fn decode_value_async<P: TAsyncInputProtocol>(
        p: &mut P,
    ) -> Result<Self, ThriftException> {
        let ident = p.read_map_begin().await?;
        check_element("map key", K::TTYPE, ident.key_type, ident.size)?;
        check_element("map value", V::TTYPE, ident.value_type, ident.size)?;
        let mut out = HashMap::new();
        for _ in 0..ident.size {
            let k = K::decode_value_async(p).await?;
            let v = V::decode_value_async(p).await?;
            out.insert(k, v);
        }
        p.read_map_end().await?;
        Ok(out)
    }

    fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
        p.map_begin_len(TMapIdentifier::new(K::TTYPE, V::TTYPE, self.len()))
            + self
                .iter()
                .map(|(k, v)| k.value_len(p) + v.value_len(p))
                .sum::<usize>()
            + p.map_end_len()
    }
}

/// Writes field `id` holding `value` (field header, value, field end).
#[inline]
pub fn write_field<V: ThriftValue, P: TOutputProtocol>(
    p: &mut P,
    id: i16,
    value: &V,
) -> Result<(), ThriftException> {
    p.write_field_begin(V::TTYPE, id)?;
    value.encode_value(p)?;
    p.write_field_end()
}

/// The encoded size of field `id` holding `value`.
#[inline]
pub fn field_len<V: ThriftValue, P: TLengthProtocol>(p: &mut P, id: i16, value: &V) -> usize {
    p.field_begin_len(V::TTYPE, Some(id)) + value.value_len(p) + p.field_end_len()
}

/// Reads one field's value, naming the struct and field in the error on failure.
#[inline]
pub fn read_field<V: ThriftValue, P: TInputProtocol>(
    p: &mut P,
    owner: &'static str,
    field: &'static str,
) -> Result<V, ThriftException> {
    V::decode_value(p).map_err(|e| in_field(e, owner, field))
}

fn in_field(mut e: ThriftException, owner: &str, field: &str) -> ThriftException {
    e.prepend_msg(&format!("{owner}.{field}: "));
    e
}

/// The error for a `required` field absent from the input.
#[cold]
pub fn missing_field(owner: &'static str, field: &'static str) -> ThriftException {
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("{owner}: required field `{field}` is missing"),
    )
}

/// The error for a union that has no field set, or more than one.
#[cold]
pub fn bad_union(owner: &'static str, set: usize) -> ThriftException {
    let what = if set == 0 {
        "no field is set".to_string()
    } else {
        format!("{set} fields are set, expected exactly one")
    };
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("union {owner}: {what}"),
    )
}

/// The error for a Result struct that holds neither a success value nor a
/// declared exception.
#[cold]
pub fn missing_result(method: &'static str) -> ThriftException {
    new_protocol_exception(
        ProtocolExceptionKind::InvalidData,
        format!("{method}: the result holds neither a value nor a declared exception"),
    )
}

/// Writes a struct: its header, the fields `fields` writes, the stop byte.
#[inline]
pub fn write_struct<P: TOutputProtocol>(
    p: &mut P,
    name: &'static str,
    fields: impl FnOnce(&mut P) -> Result<(), ThriftException>,
) -> Result<(), ThriftException> {
    p.write_struct_begin(&TStructIdentifier { name })?;
    fields(p)?;
    p.write_field_stop()?;
    p.write_struct_end()
}

/// The encoded size of a struct whose fields `fields` measures.
#[inline]
pub fn struct_len<P: TLengthProtocol>(
    p: &mut P,
    name: &'static str,
    fields: impl FnOnce(&mut P) -> usize,
) -> usize {
    let begin = p.struct_begin_len(&TStructIdentifier { name });
    begin + fields(p) + p.field_stop_len() + p.struct_end_len()
}

/// Reads a struct: calls `field` with the id and type of every field until
/// the stop byte. `field` reads the value (or skips it); fields without an
/// id are skipped here.
#[inline]
pub fn read_struct<P: TInputProtocol>(
    p: &mut P,
    mut field: impl FnMut(&mut P, i16, TType) -> Result<(), ThriftException>,
) -> Result<(), ThriftException> {
    p.read_struct_begin()?;
    loop {
        let header = p.read_field_begin()?;
        if header.field_type == TType::Stop {
            break;
        }
        match header.id {
            Some(id) => field(p, id, header.field_type)?,
            None => skip(p, header.field_type)?,
        }
        p.read_field_end()?;
    }
    p.read_struct_end()
}

/// Reads one field into `slot` when its wire type is the declared one, and
/// skips it otherwise (a peer with another IDL version), naming the struct
/// and field in the error on failure.
#[inline]
pub fn read_into<V: ThriftValue, P: TInputProtocol>(
    p: &mut P,
    ttype: TType,
    slot: &mut Option<V>,
    owner: &'static str,
    field: &'static str,
) -> Result<(), ThriftException> {
    if ttype == V::TTYPE {
        *slot = Some(read_field(p, owner, field)?);
        Ok(())
    } else {
        skip(p, ttype)
    }
}

/// Skips one value of `ttype` (an unknown field).
#[inline]
pub fn skip<P: TInputProtocol>(p: &mut P, ttype: TType) -> Result<(), ThriftException> {
    p.skip(ttype).map(drop)
}

/// The value of a `required` field, or the error naming it when it is absent.
#[inline]
pub fn required<V>(
    value: Option<V>,
    owner: &'static str,
    field: &'static str,
) -> Result<V, ThriftException> {
    value.ok_or_else(|| missing_field(owner, field))
}

/// Collects the one field of a union (or of a method's Result struct) while
/// it is decoded.
#[derive(Debug)]
pub struct UnionSlot<U> {
    value: Option<U>,
    set: usize,
}

impl<U> Default for UnionSlot<U> {
    fn default() -> Self {
        UnionSlot {
            value: None,
            set: 0,
        }
    }
}

impl<U> UnionSlot<U> {
    /// Reads the field's value and keeps it as the variant `wrap` makes;
    /// a field of another wire type is skipped.
    #[inline]
    pub fn read<V: ThriftValue, P: TInputProtocol>(
        &mut self,
        p: &mut P,
        ttype: TType,
        wrap: impl FnOnce(V) -> U,
        owner: &'static str,
        field: &'static str,
    ) -> Result<(), ThriftException> {
        if ttype != V::TTYPE {
            return skip(p, ttype);
        }
        let value = read_field(p, owner, field)?;
        self.value = Some(wrap(value));
        self.set += 1;
        Ok(())
    }

    /// The union's value: exactly one field must have been set.
    pub fn finish(self, owner: &'static str) -> Result<U, ThriftException> {
        match self.value {
            Some(v) if self.set == 1 => Ok(v),
            _ => Err(bad_union(owner, self.set)),
        }
    }

    /// The last field read, if any (for Result structs).
    pub fn into_value(self) -> Option<U> {
        self.value
    }
}
