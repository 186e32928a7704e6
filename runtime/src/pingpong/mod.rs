//! Ping-pong Thrift: ordinary (non-streaming) methods over TTHeader, Framed
//! and Buffered connections, served on the same port as gRPC.
//!
//! - Client side: [`PingPongClient`] calls a method by name with its Args
//!   and Result types (generated `XxxPingPongClient`s are thin typed
//!   wrappers over it), configured by [`PingPongOptions`]: framing, pool,
//!   timeouts, retries, middleware.
//! - Server side: the [`Server`](crate::Server) hands each ping-pong
//!   connection to a loop that reads frames, routes each call to its
//!   service and writes replies in request order.
//! - Failures that are not a declared exception or a business error travel
//!   as an [`ApplicationException`] (Thrift's `TApplicationException`); read
//!   it back from a status with [`application_exception`].

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
pub(crate) use server::{serve_connection, ConnectionLimits, PingPongConfig};
pub use server::{DEFAULT_FRAME_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_PENDING_REPLY_BYTES};
pub(crate) use service::PingPongService;
