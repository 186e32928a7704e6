//! Thrift IDL services over [tonic], wire-compatible with CloudWeGo Kitex.
//!
//! `tonic-thrift` turns a `.thrift` file into plain Rust types, a handler
//! trait, servers and clients at compile time ([`thrift_service!`] or a
//! `build.rs` step with [`include_thrift!`]). Methods annotated
//! `streaming.mode = "bidirectional" | "client" | "server" | "unary"` are gRPC
//! methods over HTTP/2 with Thrift Binary payloads; methods without the
//! annotation are ordinary ping-pong Thrift methods over TTHeader, Framed or
//! Buffered. [`Server`] serves all of them on one port.
//!
//! ```ignore
//! tonic_thrift::thrift_service!("idl/echo.thrift");
//! use echo::test_service_server::{TestService, TestServiceServer};
//!
//! struct Echo;
//! #[tonic::async_trait]
//! impl TestService for Echo { /* one async fn per IDL method */ }
//!
//! tonic_thrift::Server::builder()
//!     .add_service(TestServiceServer::new(Echo))
//!     .serve("127.0.0.1:8888".parse()?)
//!     .await?;
//! ```
//!
//! # Map
//!
//! | module | what |
//! |---|---|
//! | [`codec`] | bounds-checked Thrift Binary protocols; the tonic codec |
//! | [`transport`] | ping-pong framings (TTHeader, Framed, Buffered) and protocol detection |
//! | [`server`] | [`Server`]: one port for gRPC and ping-pong, limits, graceful shutdown |
//! | [`grpc`] | [`GrpcClient`](grpc::GrpcClient) (methods by path, under generated `XxxClient`s), options, step timeouts |
//! | [`pingpong`] | [`PingPongClient`](pingpong::PingPongClient) (methods by name, under generated `XxxPingPongClient`s), its pool and retries; the server's ping-pong loop |
//! | [`call`] | middleware: tower layers over a call, one stack for both transports |
//! | [`observe`] | per-message hooks, tracers, `tracing` events |
//! | [`layer`] | ready-made layers (rate limit) |
//! | [`balance`] | discovery, load balancing, consistent hashing, circuit breakers, retries |
//! | [`metainfo`] | transient, persistent and backward values that cross the wire |
//! | [`parse_grpc_timeout`], [`format_grpc_timeout`] | the `grpc-timeout` header |
//! | [`BizStatusError`] | business status errors on every transport |
//!
//! Bad input never panics: every length read from the wire is checked
//! against what remains, strings are UTF-8 checked, nesting is bounded, and
//! malformed frames close only their own connection.

pub mod balance;
pub mod call;
pub mod codec;
#[doc(hidden)]
pub mod codegen;
pub mod grpc;
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

pub use bytes::Bytes;
pub use faststr::FastStr;
pub use grpc::CallOptions;
pub use method::{OneArg, ThriftArgs, ThriftResult, ValueResult, VoidResult, WholeArgs};
pub use ordered_float::OrderedFloat;
pub use pilota::thrift::Message;
pub use server::Server;
pub use status::BizStatusError;
pub use timeout::{format_grpc_timeout, parse_grpc_timeout};
pub use tonic;
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
