//! Thrift IDL services over [tonic].
//!
//! `tonic-thrift` turns a Thrift IDL into plain Rust types, a server trait,
//! servers and clients at compile time, and carries them over gRPC (HTTP/2)
//! with a Thrift Binary payload, wire-compatible with CloudWeGo Kitex.
//!
//! ```ignore
//! tonic_thrift::thrift_service!("idl/echo.thrift");
//! ```
//!
//! See the README of the repository for the full tour.

pub mod call;
pub mod client;
pub mod codec;
#[doc(hidden)]
pub mod codegen;
pub mod layer;
pub mod metainfo;
mod method;
pub mod observe;
pub mod pingpong;
pub mod server;
mod status;
mod timeout;
pub mod transport;
mod value;

pub use faststr::FastStr;
pub use method::{ThriftArgs, ThriftResult};
pub use server::Server;
pub use status::BizStatusError;
pub use timeout::{format_grpc_timeout, parse_grpc_timeout};
pub use tonic_thrift_macros::thrift_service;
pub use value::ThriftValue;

/// Includes the Rust code that `tonic_thrift_build` generated for an IDL file
/// into the current module, like `tonic::include_proto!`.
///
/// The argument is the file stem of the IDL file given to
/// `tonic_thrift_build::configure().compile(..)` in `build.rs`.
///
/// ```ignore
/// tonic_thrift::include_thrift!("echo");
/// ```
#[macro_export]
macro_rules! include_thrift {
    ($name:tt) => {
        include!(concat!(env!("OUT_DIR"), concat!("/", $name, ".rs")));
    };
}
