//! Ping-pong Thrift: ordinary (non-streaming) methods over TTHeader,
//! THeader, Framed and Buffered connections, in the Binary or Compact
//! protocol, served on the same port as gRPC.
//!
//! Most Thrift services in the field, Kitex's included, are called this way:
//! one request message, one reply message, on a plain TCP connection that
//! carries one call at a time. An IDL method without a `streaming.mode`
//! annotation is such a method. Its generated handler is an ordinary
//! `async fn`; its callers are Kitex and Apache Thrift clients, or the
//! generated `XxxPingPongClient` (a typed wrapper over [`PingPongClient`]).
//! The same method can also be called over HTTP/2 through the gRPC client
//! (see [`grpc`](crate::grpc)).
//!
//! # A call, end to end
//!
//! ```text
//!  client.echo_ping_pong(request)          generated XxxPingPongClient
//!     ▼
//!  PingPongClient ── deadline (CallOptions, Request::set_timeout, PingPongOptions::timeout)
//!     │            ── middleware layers, hooks, tracers; retries if enabled
//!     ▼
//!  pool ── an idle connection to the address, or a new one (at most max_connections)
//!     ▼
//!  CALL message: strict header (name, seq id) + Args struct, in a frame:
//!     TTHeader (service, deadline, metainfo) │ Framed (4-byte length) │ Buffered (bare)
//!     ▼                                          ─── TCP ───▶  Server: sniff, route,
//!  REPLY: Result struct ─▶ Ok(value), or a declared exception   handler, reply in order
//!  EXCEPTION: TApplicationException ─▶ Err(Status)
//! ```
//!
//! # Choosing a framing
//!
//! The [`Server`](crate::Server) accepts all of them on one port; a client
//! picks one with [`PingPongOptions::framing`]:
//!
//! - [`Framing::TTHeader`](crate::transport::Framing::TTHeader), the
//!   default and Kitex's: the header carries the service name (so several
//!   services can share a port), the deadline, metainfo and business
//!   errors. `inner_framed: true` adds a Framed length inside the header,
//!   which Kitex 0.13 and later send by default; both forms are accepted
//!   by either side.
//! - [`Framing::Framed`](crate::transport::Framing::Framed): Apache Thrift's
//!   `TFramedTransport`, a 4-byte length before each message.
//! - [`Framing::Buffered`](crate::transport::Framing::Buffered): the bare
//!   message, for the oldest peers.
//! - [`Framing::THeader`](crate::transport::Framing::THeader): Apache
//!   Thrift's `THeaderTransport`, TTHeader's sibling (string keys only).
//!
//! Framed and Buffered have no header: the deadline is enforced by the
//! client alone, and a method name that several services on the server
//! share goes to the server's default service, unless the caller names
//! the service Apache Thrift's way, `Service:method`
//! ([`PingPongOptions::multiplexed`]).
//!
//! # Choosing a protocol
//!
//! Independently of the framing, the messages are Thrift Binary (the
//! default, what Kitex speaks) or Thrift Compact (Apache Thrift's
//! `TCompactProtocol`), chosen with [`PingPongOptions::protocol`]. The
//! server answers each call in its caller's protocol.
//!
//! # TLS
//!
//! With the `tls` feature, `PingPongOptions::tls` takes a
//! `tls::ClientTlsConfig` (roots, server name, client certificate for
//! mTLS) and every connection of the pool, or of each instance's pool for
//! a balanced client, is TLS (rustls), in any framing and protocol; the
//! [`Server`](crate::Server) serves ping-pong over TLS on its one port. A
//! handshake that fails (unknown CA, name mismatch, a client certificate
//! missing or refused) fails the call with `UNAVAILABLE` saying which.
//! Without it, connections are plain TCP, with no extra cost.
//!
//! # Errors
//!
//! A method's declared exceptions come back typed (its `{Method}Error`),
//! and a [`BizStatusError`](crate::BizStatusError) comes back as a business
//! error on every framing. Any other failure travels as Thrift's
//! `TApplicationException`: an unknown method (`UNKNOWN_METHOD`), arguments
//! that do not decode (`PROTOCOL_ERROR`), or a handler that returned another
//! [`Status`](tonic::Status) (`INTERNAL_ERROR` with the status message). The
//! client turns it into a [`Status`](tonic::Status); [`application_exception`]
//! gives back the [`ApplicationException`] itself.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! use tonic::{Request, Response, Status};
//! use tonic_thrift::pingpong::{application_exception, ExceptionKind, PingPongOptions};
//! use tonic_thrift::transport::Framing;
//! # use std::pin::Pin;
//! # use futures_util::Stream;
//! # use tonic::Streaming;
//!
//! tonic_thrift::thrift_service!("docs/echo.thrift");
//! use echo::test_service_client::TestServicePingPongClient;
//! use echo::test_service_server::{TestService, TestServiceServer};
//!
//! struct Echo;
//!
//! #[tonic::async_trait]
//! impl TestService for Echo {
//!     async fn echo_ping_pong(
//!         &self,
//!         request: Request<echo::Request>,
//!     ) -> Result<Response<echo::Response>, Status> {
//!         let message = request.into_inner().message;
//!         if message.is_empty() {
//!             return Err(Status::invalid_argument("nothing to echo"));
//!         }
//!         Ok(Response::new(echo::Response { message }))
//!     }
//!     // ... the streaming methods of `TestService`.
//! #   type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;
//! #   type EchoServerStream = Self::EchoStream;
//! #   async fn echo(&self, _: Request<Streaming<echo::Request>>)
//! #       -> Result<Response<Self::EchoStream>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_client(&self, _: Request<Streaming<echo::Request>>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_server(&self, _: Request<echo::Request>)
//! #       -> Result<Response<Self::EchoStream>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_unary(&self, _: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(
//!     tonic_thrift::Server::builder()
//!         .add_service(TestServiceServer::new(Echo))
//!         .serve_with_listener(listener, std::future::pending()),
//! );
//!
//! // TTHeader as a Kitex 0.13+ client sends it, with a deadline on every
//! // call and at most 8 pooled connections.
//! let options = PingPongOptions::default()
//!     .framing(Framing::TTHeader { inner_framed: true })
//!     .timeout(Duration::from_secs(1))
//!     .max_connections(8);
//! let client = TestServicePingPongClient::with_options(addr.to_string(), options);
//! let reply = client.echo_ping_pong(echo::Request { message: "hi".into() }).await?;
//! assert_eq!(reply.into_inner().message, "hi");
//!
//! // Framed, as an Apache Thrift client calls. The handler's error comes
//! // back as a TApplicationException.
//! let framed = PingPongOptions::default().framing(Framing::Framed);
//! let client = TestServicePingPongClient::with_options(addr.to_string(), framed);
//! let status = client
//!     .echo_ping_pong(echo::Request { message: "".into() })
//!     .await
//!     .unwrap_err();
//! let exception = application_exception(&status).expect("a TApplicationException");
//! assert_eq!(exception.kind, ExceptionKind::INTERNAL_ERROR);
//! assert_eq!(exception.message, "nothing to echo");
//! # Ok(())
//! # }
//! ```
//!
//! # Server side
//!
//! The [`Server`](crate::Server) hands each ping-pong connection to a loop
//! that reads frames, routes each call to its service (by the TTHeader
//! service name, else by method name), runs up to several calls of the
//! connection at once and writes their replies in request order, as Thrift
//! clients expect. A frame over the server's `max_frame_size` or one that
//! cannot be parsed closes that connection only.

mod client;
mod exception;
mod exchange;
mod options;
mod pool;
mod retry;
mod routes;
mod server;
pub(crate) mod service;

pub use client::PingPongClient;
pub use exception::{application_exception, ApplicationException, ExceptionKind};
pub use options::{PingPongOptions, DEFAULT_READ_TIMEOUT, DEFAULT_WRITE_TIMEOUT};
pub(crate) use routes::PingPongRoutes;
#[cfg(feature = "tls")]
pub(crate) use server::refusal;
pub(crate) use server::{serve_connection, ConnectionLimits, PingPongConfig};
pub use server::{DEFAULT_FRAME_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PENDING_REPLY_BYTES};
pub(crate) use service::PingPongService;
