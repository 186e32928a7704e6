//! The gRPC client: Thrift methods over HTTP/2, as Kitex's streaming
//! clients call them.
//!
//! A generated `XxxClient` is what you call; it is a thin typed wrapper over
//! [`GrpcClient`], which carries every method by its path. It takes all
//! methods of a service: bidirectional, client and server streaming,
//! `unary`, and ping-pong methods carried over HTTP/2. Compared with a
//! tonic + prost client, three things differ on the wire, and all are
//! handled here:
//!
//! - the `content-type` is `application/grpc+thrift` (tonic always writes
//!   `application/grpc`, which a Kitex server reads as protobuf);
//! - streaming methods send the bare request struct per gRPC message, while
//!   `unary` and ping-pong methods send the method's Args struct and read
//!   its Result struct, as Kitex does;
//! - the `:authority` names the callee's service (with
//!   `XxxClient::connect`), as Kitex clients send it.
//!
//! # What a call goes through
//!
//! ```text
//!  client.echo_unary(request)               generated XxxClient
//!     │  path "/echo.TestService/EchoUnary", wire types Args / Result
//!     ▼
//!  GrpcClient ── deadline: CallOptions, else Request::set_timeout, else GrpcOptions::timeout
//!     │       ── middleware layers (GrpcOptions::layer), hooks, tracers
//!     ▼
//!  Thrift codec ── one Thrift Binary struct per gRPC message
//!     ▼
//!  transport ── content-type application/grpc+thrift, receive limit (4 MiB)
//!     │         tonic Channel, or balance::BalancedChannel,
//!     │         or ttstream::TtStreamChannel (streams with StreamTransport::TTHeaderStreaming)
//!     ▼
//!  HTTP/2 ──▶ server; the deadline travels as grpc-timeout
//!  (TTHeader Streaming ──▶ server; the deadline stays local, RST when it passes)
//! ```
//!
//! # Stream transport
//!
//! Streaming methods go over gRPC by default. With
//! [`GrpcOptions::stream_transport`]`(`[`StreamTransport::TTHeaderStreaming`]`)`,
//! a client made by the generated `connect_with` sends them over Kitex's
//! TTHeader Streaming instead, on a small pool of connections of its own,
//! and keeps `unary` and ping-pong methods on gRPC. The method signatures
//! do not change. See [`crate::ttstream`] for the frames and for using a
//! [`TtStreamChannel`](crate::ttstream::TtStreamChannel) directly.
//!
//! # Options
//!
//! [`GrpcOptions`] apply to every call of a client (like Kitex's
//! `streamclient.Option`): a deadline, the connect timeout, message size
//! limits, middleware, hooks and tracers. [`CallOptions`] apply to one call
//! (like Kitex's `streamcall.Option`) and win over the client's. A deadline
//! covers a stream from its creation to its end; [`recv_timeout`],
//! [`send_timeout`] and [`call_with_timeout`] bound one step of a stream
//! instead (like Kitex's `streaming.CallWithTimeout`).
//!
//! ```
//! use std::time::Duration;
//!
//! use futures_util::StreamExt;
//! use tonic::{Code, Request};
//! use tonic_thrift::grpc::{recv_timeout, CallOptions, GrpcOptions};
//! # use std::pin::Pin;
//! # use futures_util::Stream;
//! # use tonic::{Response, Status, Streaming};
//!
//! tonic_thrift::thrift_service!("docs/echo.thrift");
//! use echo::test_service_client::TestServiceClient;
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
//! #   async fn echo_server(&self, request: Request<echo::Request>)
//! #       -> Result<Response<Self::EchoStream>, Status> {
//! #       let m = request.into_inner().message;
//! #       let replies = futures_util::stream::iter(1..=3)
//! #           .map(move |i| Ok(echo::Response { message: format!("{m} #{i}").into() }));
//! #       Ok(Response::new(Box::pin(replies)))
//! #   }
//! #   async fn echo_unary(&self, request: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> {
//! #       let message = request.into_inner().message;
//! #       if message == "slow" { tokio::time::sleep(Duration::from_secs(5)).await; }
//! #       Ok(Response::new(echo::Response { message }))
//! #   }
//! #   async fn echo_ping_pong(&self, _: Request<echo::Request>)
//! #       -> Result<Response<echo::Response>, Status> { Err(Status::unimplemented("")) }
//! # }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let addr = listener.local_addr()?;
//! # tokio::spawn(tonic_thrift::Server::builder().add_service(TestServiceServer::new(Echo))
//! #     .serve_with_listener(listener, std::future::pending()));
//! // Every call of this client gets a 10 s deadline.
//! let options = GrpcOptions::default()
//!     .connect_timeout(Duration::from_millis(500))
//!     .timeout(Duration::from_secs(10));
//! let mut client = TestServiceClient::connect_with(format!("http://{addr}"), options).await?;
//!
//! // This call gets 100 ms; the handler takes longer.
//! let mut request = Request::new(echo::Request { message: "slow".into() });
//! CallOptions::new().timeout(Duration::from_millis(100)).apply(&mut request);
//! let status = client.echo_unary(request).await.unwrap_err();
//! assert_eq!(status.code(), Code::DeadlineExceeded);
//!
//! // A server stream, each message awaited for at most one second.
//! let request = echo::Request { message: "tick".into() };
//! let mut ticks = client.echo_server(request).await?.into_inner();
//! while let Some(tick) = recv_timeout(&mut ticks, Duration::from_secs(1)).await? {
//!     println!("{}", tick.message);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`GrpcClient`] can also be used directly, to call a method by path
//! without generated client code (see its example), and it runs over any
//! [`GrpcTransport`], such as a load-balanced
//! [`BalancedChannel`](crate::balance::BalancedChannel).

mod cancel;
mod channel;
mod client;
mod options;
mod step_timeout;

pub use client::{GrpcClient, GrpcTransport};
pub use options::{CallOptions, GrpcOptions, StreamTransport};
pub use step_timeout::{call_with_timeout, recv_timeout, send_timeout};
