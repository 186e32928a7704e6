//! The Thrift Binary codec: bounds-checked protocols over byte buffers.

mod binary_input;
mod binary_output;

pub use binary_input::BinaryInput;
pub use binary_output::BinaryOutput;
