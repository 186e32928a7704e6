//! The Thrift Binary codec: bounds-checked protocols over byte buffers, and
//! the tonic codec built on them.

pub(crate) mod async_decode;
mod binary_input;
mod binary_output;
mod grpc;
mod limit;

pub use binary_input::{
    BinaryInput, InputBuf, MAX_STRUCT_DEPTH, ZERO_COPY_MAX_PIN, ZERO_COPY_THRESHOLD,
};
pub use binary_output::BinaryOutput;
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
