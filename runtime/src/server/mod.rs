//! Serving generated services: gRPC, TTHeader Streaming and ping-pong Thrift
//! on one port.
//!
//! A Kitex server takes every kind of call on a single port: its streaming
//! methods over HTTP/2 (gRPC with Thrift payloads) or TTHeader Streaming
//! (see [`ttstream`](crate::ttstream)), and its ordinary methods
//! over TTHeader, Framed or Buffered connections, which is what most Kitex
//! and Apache Thrift clients speak. A client picks one protocol per
//! connection. tonic's own server only understands HTTP/2, so [`Server`]
//! looks at the first bytes of each new connection and hands it to the
//! matching side; a generated `XxxServer` answers both.
//!
//! # How a connection is served
//!
//! ```text
//!                 ┌──────────────── tonic_thrift::Server ─────────────────┐
//!  TCP accept ──▶ │ sniff the first bytes                                 │
//!                 │  ├─ "PRI * HTTP/2.0"  ─▶ HTTP/2 (hyper), per stream:  │
//!                 │  │     route /pkg.Service/Method or /Service/Method   │
//!                 │  ├─ TTHeader, flag 2  ─▶ ttstream: per stream, an     │
//!                 │  │     HTTP request to the same XxxServer             │
//!                 │  └─ TTHeader, Framed  ─▶ ping-pong: read a frame,     │
//!                 │     or Buffered          route by service + method,   │
//!                 │                          reply in request order       │
//!                 │                  │                                    │
//!                 │                  ▼                                    │
//!                 │  XxxServer: middleware layers ─▶ deadline ─▶ handler  │
//!                 └───────────────────────────────────────────────────────┘
//! ```
//!
//! Routing follows Kitex, which ignores the IDL package: `/echo.TestService/Echo`
//! and `/TestService/Echo` reach the same handler; a path of any other shape
//! (`/evil.TestService/Public/Echo`, a trailing slash) is `UNIMPLEMENTED`. TTHeader requests name
//! their service; Framed and Buffered requests carry only a method name and
//! go to the one service that has it, or, when several do, to the one named
//! by [`Server::default_service`].
//!
//! # Serving on a port you learn at run time
//!
//! [`Router::serve`] binds an address you give it. To bind port 0 (tests,
//! examples, several servers on one machine) and learn which port the system
//! picked, bind a [`tokio::net::TcpListener`] yourself and hand it to
//! [`Router::serve_with_listener`], with a future that says when to stop:
//!
//! ```
//! # use std::pin::Pin;
//! # use futures_util::Stream;
//! # use tonic::{Request, Response, Status, Streaming};
//! tonic_thrift::thrift_service!("docs/echo.thrift");
//! use echo::test_service_client::TestServiceClient;
//! use echo::test_service_server::{TestService, TestServiceServer};
//!
//! struct Echo;
//!
//! #[tonic::async_trait]
//! impl TestService for Echo {
//!     async fn echo_unary(
//!         &self,
//!         request: Request<echo::Request>,
//!     ) -> Result<Response<echo::Response>, Status> {
//!         let message = request.into_inner().message;
//!         Ok(Response::new(echo::Response { message }))
//!     }
//!     // ... the other methods of `TestService`.
//! #   type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;
//! #   type EchoServerStream = Self::EchoStream;
//! #   async fn echo(&self, _: Request<Streaming<echo::Request>>)
//! #       -> Result<Response<Self::EchoStream>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_client(&self, _: Request<Streaming<echo::Request>>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_server(&self, _: Request<echo::Request>)
//! #       -> Result<Response<Self::EchoStream>, Status> { Err(Status::unimplemented("")) }
//! #   async fn echo_ping_pong(&self, _: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?; // the port the system picked
//!
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(
//!     tonic_thrift::Server::builder()
//!         .max_concurrent_streams(256)
//!         .shutdown_grace_period(std::time::Duration::from_secs(1))
//!         .add_service(TestServiceServer::new(Echo))
//!         .serve_with_listener(listener, async {
//!             let _ = stopped.await;
//!         }),
//! );
//!
//! let mut client = TestServiceClient::connect(format!("http://{addr}")).await?;
//! let reply = client.echo_unary(echo::Request { message: "hi".into() }).await?;
//! assert_eq!(reply.into_inner().message, "hi");
//!
//! let _ = stop.send(()); // graceful shutdown
//! server.await??;
//! # Ok(())
//! # }
//! ```
//!
//! When the stop future completes, the server stops accepting, sends
//! HTTP/2 GOAWAY, stops reading new ping-pong requests, lets calls in
//! progress finish within the grace period
//! ([`DEFAULT_SHUTDOWN_GRACE_PERIOD`] unless set), cancels what is left and
//! returns. [`Router::serve_with_incoming`] takes any stream of accepted
//! connections instead (Unix sockets, TLS streams).
//!
//! # Next to protobuf services
//!
//! A generated `XxxServer` is a plain tower service with a
//! [`NamedService`](tonic::server::NamedService) name
//! (`<namespace go>.<Service>`), so a `tonic::transport::Server` takes it
//! next to prost services. That server speaks only HTTP/2 and routes only
//! the full name (`/echo.TestService/...`); use [`Server`] for ping-pong
//! connections and for Kitex's package-less paths. The other way round,
//! [`Router::add_grpc_service`] puts any tonic `NamedService` (prost
//! services, tonic-health, reflection) on a [`Server`]'s port beside the
//! Thrift services, and `Router::add_health_service` (feature `health`)
//! adds `grpc.health.v1.Health` fed by them.
//!
//! # TLS
//!
//! With `Server::tls_config` (feature `tls`), every connection starts with
//! a TLS handshake and every protocol above is detected and served inside
//! it; see the `tls` module.
//!
//! ```no_run
//! # use std::pin::Pin;
//! # use futures_util::Stream;
//! # use tonic::{Request, Response, Status, Streaming};
//! # tonic_thrift::thrift_service!("docs/echo.thrift");
//! # use echo::test_service_server::{TestService, TestServiceServer};
//! # struct Echo;
//! # #[tonic::async_trait]
//! # impl TestService for Echo {
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
//! #   async fn echo_ping_pong(&self, _: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! # }
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! tonic::transport::Server::builder()
//!     // .add_service(my_prost_service)
//!     .add_service(TestServiceServer::new(Echo))
//!     .serve("127.0.0.1:8888".parse()?)
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Limits
//!
//! Every limit is a [`Server`] setting; over a limit a call is answered
//! `RESOURCE_EXHAUSTED` (gRPC) or a `TApplicationException` (ping-pong)
//! naming it, and malformed input closes only its own connection. Three
//! limits act below the call: HTTP/2 streams per connection are advertised
//! in SETTINGS and a stream over them is refused (`REFUSED_STREAM`), a
//! connection over [`Server::max_connections`] is closed at accept, and a
//! connection that misses a deadline (handshake, keepalive PING) is closed.
//!
//! | setting | default |
//! |---|---|
//! | HTTP/2 streams per connection ([`Server::max_concurrent_streams`]) | [`DEFAULT_MAX_CONCURRENT_STREAMS`] |
//! | [`Server::max_concurrent_streams_total`], [`Server::max_connections`] | no limit |
//! | protocol preface of a new connection ([`Server::handshake_timeout`]) | [`DEFAULT_HANDSHAKE_TIMEOUT`] |
//! | the request of a unary or server-streaming call ([`Server::request_body_timeout`]) | [`DEFAULT_REQUEST_BODY_TIMEOUT`] |
//! | keepalive PINGs ([`Server::http2_keepalive_interval`], [`Server::http2_keepalive_timeout`]) | [`DEFAULT_HTTP2_KEEPALIVE_INTERVAL`], [`DEFAULT_HTTP2_KEEPALIVE_TIMEOUT`] |
//! | one received gRPC message (`XxxServer::max_decoding_message_size`) | [`DEFAULT_MAX_DECODING_MESSAGE_SIZE`] |
//! | one ping-pong frame ([`Server::max_frame_size`]) | [`DEFAULT_MAX_FRAME_SIZE`] |
//! | one HTTP/2 header set ([`Server::max_header_list_size`]) | [`DEFAULT_MAX_HEADER_LIST_SIZE`] |
//! | HTTP/2 windows ([`Server::http2_windows`]) | [`DEFAULT_STREAM_WINDOW`], [`DEFAULT_CONNECTION_WINDOW`] |
//! | one HTTP/2 frame from the client ([`Server::http2_max_frame_size`]) | [`DEFAULT_HTTP2_MAX_FRAME_SIZE`] |
//! | a silent connection ([`Server::idle_timeout`]) | [`DEFAULT_IDLE_TIMEOUT`] |
//! | calls in progress at shutdown ([`Server::shutdown_grace_period`]) | [`DEFAULT_SHUTDOWN_GRACE_PERIOD`] |

// Where the code lives:
//   builder.rs     Server: settings and their defaults, ThriftService
//   serve.rs       Router: the accept loop and graceful shutdown
//   connection.rs  protocol detection of one connection, under the handshake timeout
//   rewind.rs      replays the sniffed bytes to the protocol that reads them
//   http2.rs       one HTTP/2 connection: stream limits, keepalive, idle timeout, routing
//   config.rs      the settings and middleware each generated XxxServer carries
//   dispatch.rs    one gRPC call of each shape, called by generated code
//   limits.rs, body.rs  connection and stream limits, the active-call count
//   lost.rs        request bodies of a connection that died fail UNAVAILABLE
//   tls.rs         the TLS handshake before detection (feature tls)
//   health.rs      grpc.health.v1 statuses of the services (feature health)

mod body;
mod builder;
pub(crate) mod config;
pub(crate) mod connection;
pub(crate) mod dispatch;
#[cfg(feature = "health")]
mod health;
mod http2;
pub(crate) mod limits;
mod lost;
mod rewind;
mod serve;
#[cfg(feature = "tls")]
mod tls;

pub(crate) use builder::http2_frame_size_in_range;
pub use builder::{
    Server, ThriftService, DEFAULT_CONNECTION_WINDOW, DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_HTTP2_KEEPALIVE_INTERVAL, DEFAULT_HTTP2_KEEPALIVE_TIMEOUT,
    DEFAULT_HTTP2_MAX_FRAME_SIZE, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_MAX_DECODING_MESSAGE_SIZE, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_HEADER_LIST_SIZE,
    DEFAULT_REQUEST_BODY_TIMEOUT, DEFAULT_SHUTDOWN_GRACE_PERIOD, DEFAULT_STREAM_WINDOW,
};
pub use serve::Router;
