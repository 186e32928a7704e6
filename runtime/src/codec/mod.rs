//! The Thrift Binary codec: bounds-checked protocols over byte buffers, and
//! the tonic codec built on them.

mod binary_input;
mod binary_output;
mod grpc;

pub use binary_input::{BinaryInput, InputBuf, MAX_STRUCT_DEPTH, ZERO_COPY_THRESHOLD};
pub use binary_output::BinaryOutput;
pub use grpc::{encoded_size, ThriftCodec, ThriftDecoder, ThriftEncoder};
