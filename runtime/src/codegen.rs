//! Items that generated code refers to. Not a stable API for hand-written code.

pub use crate::value::{
    bad_union, field_len, missing_field, missing_result, read_field, read_field_async, write_field,
    ThriftValue,
};
pub use bytes::Bytes;
pub use faststr::FastStr;
pub use ordered_float::OrderedFloat;
pub use pilota;
pub use pilota::thrift::{
    Message, TAsyncInputProtocol, TInputProtocol, TLengthProtocol, TOutputProtocol,
    TStructIdentifier, TType, ThriftException,
};
pub use std::collections::{HashMap, HashSet};
pub use std::sync::LazyLock;

/// A boxed, `Send` future, as returned by generated async decoders.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
