//! The gRPC client: [`GrpcClient`] carries streaming, `unary` and
//! ping-pong-over-HTTP/2 methods, by path and with encoded Thrift structs;
//! generated `XxxClient`s are thin typed wrappers over it.
//!
//! [`GrpcOptions`] configure every call of a client (Kitex's
//! `streamclient.Option`), [`CallOptions`] one call (Kitex's
//! `streamcall.Option`, which wins); [`recv_timeout`], [`send_timeout`]
//! and [`call_with_timeout`] bound one step of a stream.

mod cancel;
mod channel;
mod client;
mod options;
mod step_timeout;

pub use client::{GrpcClient, GrpcTransport};
pub use options::{CallOptions, GrpcOptions};
pub use step_timeout::{call_with_timeout, recv_timeout, send_timeout};
