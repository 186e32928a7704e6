//! Ping-pong Thrift: ordinary (non-streaming) methods over TTHeader, Framed
//! and Buffered connections, served on the same port as gRPC.

mod client;
mod exception;
mod server;
mod service;

pub use client::{PingPongClient, PingPongOptions};
pub use exception::{application_exception, ApplicationException, ExceptionKind};
pub(crate) use server::{serve_connection, PingPongConfig, PingPongRoutes};
pub use service::{
    call, status_exception, unknown_method, CallContext, MethodKind, PingPongService, Reply,
    ReplyFuture,
};
