//! Thrift IDL services over [tonic], wire-compatible with CloudWeGo Kitex.
//!
//! `tonic-thrift` turns a `.thrift` file into plain Rust types, a handler
//! trait, servers and clients at compile time, with [`thrift_service!`] (no
//! build script) or a `build.rs` step and [`include_thrift!`]. Methods
//! annotated `streaming.mode = "bidirectional" | "client" | "server" |
//! "unary"` are gRPC methods: HTTP/2, with one Thrift Binary struct per gRPC
//! message. Methods without the annotation are ordinary ping-pong Thrift
//! methods, which Kitex calls over TTHeader, Framed or Buffered connections.
//! [`Server`] serves both kinds on one port, as a Kitex server does.
//!
//! # Example
//!
//! The example below expands an IDL with one method per mode (`Echo`
//! bidirectional, `EchoClient` client streaming, `EchoServer` server
//! streaming, `EchoUnary` unary, `EchoPingPong` ping-pong), serves it on a
//! free port, and calls it with both generated clients:
//!
//! ```
//! use std::pin::Pin;
//!
//! use futures_util::{Stream, StreamExt};
//! use tonic::{Request, Response, Status, Streaming};
//!
//! // One `pub mod` per IDL file: `echo::Request`, `echo::Response`, and a
//! // server and a client module per service.
//! tonic_thrift::thrift_service!("docs/echo.thrift");
//!
//! use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
//! use echo::test_service_server::{TestService, TestServiceServer};
//!
//! type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;
//!
//! struct Echo;
//!
//! #[tonic::async_trait]
//! impl TestService for Echo {
//!     type EchoStream = EchoStream;
//!
//!     // Bidirectional streaming: one reply per request message.
//!     async fn echo(
//!         &self,
//!         request: Request<Streaming<echo::Request>>,
//!     ) -> Result<Response<EchoStream>, Status> {
//!         let replies = request
//!             .into_inner()
//!             .map(|m| m.map(|m| echo::Response { message: m.message }));
//!         Ok(Response::new(Box::pin(replies)))
//!     }
//!
//!     // A ping-pong method: one request, one reply.
//!     async fn echo_ping_pong(
//!         &self,
//!         request: Request<echo::Request>,
//!     ) -> Result<Response<echo::Response>, Status> {
//!         let message = request.into_inner().message;
//!         Ok(Response::new(echo::Response { message }))
//!     }
//!
//!     // ... `echo_client`, `echo_server` and `echo_unary` alike.
//! #   type EchoServerStream = EchoStream;
//! #   async fn echo_client(&self, _: Request<Streaming<echo::Request>>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_server(&self, _: Request<echo::Request>)
//! #       -> Result<Response<EchoStream>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_unary(&self, _: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Bind port 0 and learn the port the system picked.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//!
//! // Serve gRPC and ping-pong on that one port until `stop` fires.
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(
//!     tonic_thrift::Server::builder()
//!         .add_service(TestServiceServer::new(Echo))
//!         .serve_with_listener(listener, async {
//!             let _ = stopped.await;
//!         }),
//! );
//!
//! // The gRPC client: every method, streaming ones included.
//! let mut grpc = TestServiceClient::connect(format!("http://{addr}")).await?;
//! let words = ["thrift", "over", "grpc"].map(|w| echo::Request { message: w.into() });
//! let mut replies = grpc.echo(futures_util::stream::iter(words)).await?.into_inner();
//! while let Some(reply) = replies.next().await {
//!     println!("bidirectional: {}", reply?.message);
//! }
//!
//! // The ping-pong client: plain Thrift over TTHeader, as Kitex clients call.
//! let pingpong = TestServicePingPongClient::new(addr.to_string());
//! let reply = pingpong
//!     .echo_ping_pong(echo::Request { message: "hello".into() })
//!     .await?;
//! assert_eq!(reply.get_ref().message, "hello");
//!
//! // Stop accepting, let calls in progress finish, and wait for the server.
//! let _ = stop.send(());
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! More on each part in its module: [`server`] (the one port, limits,
//! shutdown), [`grpc`] (the gRPC client, options, per-call options),
//! [`pingpong`] (the ping-pong client, framings, exceptions) and [`codec`]
//! (encoding generated types by hand).
//!
//! # What the generated code holds
//!
//! For each IDL file a `pub mod` named by `namespace rs`, or else the file
//! stem, with the file's types, constants and typedefs under their IDL
//! names. For each service in it, two modules named as tonic-build names
//! them, here for `service TestService`:
//!
//! - `test_service_server`: the handler trait `TestService` (one `async fn`
//!   per IDL method, snake_case) and `TestServiceServer<T>`, a tower service
//!   for [`Server`] or for a plain `tonic::transport::Server`;
//! - `test_service_client`: `TestServiceClient`, the gRPC client (every
//!   method, over a tonic `Channel`), and `TestServicePingPongClient`, the
//!   ping-pong client (TTHeader, Framed or Buffered, with a pool).
//!
//! Every generated struct implements [`Message`], so it can be encoded and
//! decoded without a call around it (see [`codec`]).
//!
//! # Map
//!
//! | module | what |
//! |---|---|
//! | [`codec`] | bounds-checked Thrift Binary protocols; the tonic codec |
//! | [`transport`] | ping-pong framings (TTHeader, Framed, Buffered) and protocol detection |
//! | [`server`] | [`Server`]: one port for gRPC and ping-pong, limits, graceful shutdown |
//! | [`grpc`] | [`GrpcClient`](grpc::GrpcClient) (methods by path, under generated `XxxClient`s), options, step timeouts |
//! | [`ttstream`] | TTHeader Streaming: the server side, and [`TtStreamChannel`](ttstream::TtStreamChannel) for clients (`GrpcOptions::stream_transport`) |
//! | [`pingpong`] | [`PingPongClient`](pingpong::PingPongClient) (methods by name, under generated `XxxPingPongClient`s), its options; [`ApplicationException`](pingpong::ApplicationException) |
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
#[cfg(test)]
#[path = "../tests/fuzz_support/mod.rs"]
mod fuzz_support;
pub mod grpc;
mod hashable;
pub mod layer;
pub mod metainfo;
mod method;
pub mod observe;
pub mod pingpong;
mod raw;
pub mod server;
mod status;
mod timeout;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;
pub mod ttstream;
mod uuid;
mod value;

pub use bytes::Bytes;
pub use faststr::FastStr;
pub use grpc::CallOptions;
pub use hashable::{HashableMap, HashableSet};
pub use method::{OneArg, ThriftArgs, ThriftResult, ValueResult, VoidResult, WholeArgs};
pub use ordered_float::OrderedFloat;
pub use pilota::thrift::Message;
pub use raw::RawStruct;
pub use server::Server;
pub use status::BizStatusError;
pub use timeout::{format_grpc_timeout, parse_grpc_timeout};
pub use tonic;
pub use tonic_thrift_macros::thrift_service;
pub use uuid::{ParseUuidError, Uuid};
pub use value::ThriftValue;

/// Includes the Rust code that `tonic_thrift_build` generated for an IDL file
/// into the current module, like `tonic::include_proto!`.
///
/// The argument is the file stem of the IDL file given to
/// `tonic_thrift_build::configure().compile(..)` in `build.rs`. The included
/// code is the same as [`thrift_service!`] expands to for that file.
///
/// ```ignore
/// // build.rs (with tonic-thrift-build in [build-dependencies]):
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     tonic_thrift_build::configure().compile(&["idl/echo.thrift"], &["idl"])?;
///     Ok(())
/// }
///
/// // src/lib.rs:
/// tonic_thrift::include_thrift!("echo");
/// let request = echo::Request { message: "hi".into() };
/// ```
///
/// (Not compiled as a test: it needs the `OUT_DIR` that a build script
/// fills, which documentation tests do not have.)
#[macro_export]
macro_rules! include_thrift {
    ($name:tt) => {
        include!(concat!(env!("OUT_DIR"), concat!("/", $name, ".rs")));
    };
}
