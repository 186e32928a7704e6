//! The Thrift Binary and Compact codecs: bounds-checked protocols over byte
//! buffers, and the tonic codec built on them.
//!
//! [`CompactInput`] and [`CompactOutput`] speak Apache Thrift's
//! `TCompactProtocol` through the same pilota traits, so the same generated
//! code encodes either; ping-pong picks one per call with [`Protocol`].
//!
//! Every generated type implements pilota's [`Message`](crate::Message):
//! `encode` writes it through a [`TOutputProtocol`], `decode` reads it back
//! through a [`TInputProtocol`]. This module provides the two protocols the
//! rest of the crate uses, both Thrift Binary (big-endian):
//!
//! - [`BinaryOutput`] writes into any [`BufMut`](bytes::BufMut), so a
//!   message goes straight into tonic's or a frame's buffer;
//! - [`BinaryInput`] reads from [`Bytes`](bytes::Bytes) without copying long
//!   strings and binaries, and never trusts the peer: every length is
//!   checked against the bytes that remain before anything is read or
//!   allocated, strings are checked for UTF-8, and nesting is bounded by
//!   [`MAX_STRUCT_DEPTH`]. pilota's own reader panics on a truncated
//!   string or a negative length; this one returns an error.
//!
//! # The bytes of a struct
//!
//! A struct is a sequence of fields, each a type byte, a 16-bit field id and
//! the value, closed by a stop byte. `Request { message: "hi" }` from
//! `struct Request { 1: required string message }` is ten bytes:
//!
//! ```text
//!  0b     00 01     00 00 00 02     68 69     00
//!  type   field id  length          "hi"      stop
//!  string 1
//! ```
//!
//! Decoding skips fields it does not know (a newer peer may send more) and
//! fails on a missing `required` field.
//!
//! # Where the bytes go
//!
//! ```text
//!  gRPC, streaming method     [flag, u32 length] Request              one gRPC message each
//!  gRPC, unary or ping-pong   [flag, u32 length] Args{1: Request}     Result{0: Response}
//!  ping-pong (TTHeader, ...)  frame [ message header | Args{1: Request} ]
//! ```
//!
//! [`ThriftCodec`] is the [`tonic::codec::Codec`] generated code gives tonic
//! for each method: it encodes the request struct (or Args) and decodes the
//! response struct (or Result). The Args and Result wrappers of the common
//! shapes are generic: [`OneArg`](crate::OneArg),
//! [`WholeArgs`](crate::WholeArgs), [`ValueResult`](crate::ValueResult) and
//! [`VoidResult`](crate::VoidResult). The ping-pong framings are in
//! [`transport`](crate::transport).
//!
//! # Example
//!
//! Encoding and decoding a generated type by hand, outside any call:
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use tonic_thrift::codec::{BinaryInput, BinaryOutput};
//! use tonic_thrift::{Message, OneArg};
//!
//! tonic_thrift::thrift_service!("docs/echo.thrift");
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let request = echo::Request { message: "hi".into() };
//!
//! let mut buf = BytesMut::new();
//! request.encode(&mut BinaryOutput::new(&mut buf))?;
//! assert_eq!(&buf[..], b"\x0b\x00\x01\x00\x00\x00\x02hi\x00");
//!
//! let mut bytes: Bytes = buf.freeze();
//! let decoded = echo::Request::decode(&mut BinaryInput::new(&mut bytes.clone()))?;
//! assert_eq!(decoded.message, "hi");
//!
//! // Truncated input is an error, never a panic.
//! let mut truncated = bytes.split_to(6);
//! assert!(echo::Request::decode(&mut BinaryInput::new(&mut truncated)).is_err());
//!
//! // So is a struct without its required field (just the stop byte).
//! let mut empty = Bytes::from_static(b"\x00");
//! assert!(echo::Request::decode(&mut BinaryInput::new(&mut empty)).is_err());
//!
//! // The Args struct of `EchoUnary(1: Request req)`, as a unary call sends
//! // it: field 1, of type struct (0x0c), holding the request.
//! let mut args = BytesMut::new();
//! OneArg::<_, 1>(request).encode(&mut BinaryOutput::new(&mut args))?;
//! assert_eq!(&args[..3], b"\x0c\x00\x01");
//! # Ok(())
//! # }
//! ```

pub(crate) mod async_decode;
mod binary_input;
mod binary_output;
mod compact_input;
pub(crate) mod compact_output;
mod compression;
mod grpc;
mod limit;
#[cfg(test)]
mod limit_fuzz;
mod protocol;
pub(crate) mod utf8;

pub use binary_input::{
    BinaryInput, InputBuf, MAX_STRUCT_DEPTH, ZERO_COPY_MAX_PIN, ZERO_COPY_THRESHOLD,
};
pub use binary_output::BinaryOutput;
pub use compact_input::CompactInput;
pub use compact_output::CompactOutput;
pub(crate) use compression::Compression;
pub(crate) use grpc::{encoded_size, CONTENT_TYPE_THRIFT};
pub use grpc::{ThriftCodec, ThriftDecoder, ThriftEncoder};
pub(crate) use limit::LimitedBody;
/// The protocol traits [`BinaryInput`] and [`BinaryOutput`] implement, and
/// the message-envelope types, from pilota (the Thrift library under
/// tonic-thrift), so that encoding and decoding by hand needs no direct
/// pilota dependency.
pub use pilota::thrift::{
    TAsyncBinaryProtocol, TAsyncInputProtocol, TInputProtocol, TLengthProtocol, TMessageIdentifier,
    TMessageType, TOutputProtocol, ThriftException,
};
pub use protocol::Protocol;
