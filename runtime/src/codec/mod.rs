//! The Thrift Binary codec: bounds-checked protocols over byte buffers, and
//! the tonic codec built on them.

pub(crate) mod async_decode;
mod binary_input;
mod binary_output;
mod grpc;
mod limit;

pub use binary_input::{BinaryInput, InputBuf, MAX_STRUCT_DEPTH, ZERO_COPY_THRESHOLD};
pub use binary_output::BinaryOutput;
pub(crate) use grpc::{encoded_size, CONTENT_TYPE_THRIFT};
pub use grpc::{ThriftCodec, ThriftDecoder, ThriftEncoder};
pub(crate) use limit::LimitedBody;
