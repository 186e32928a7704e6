//! Clients: [`GrpcClient`] carries streaming and `unary` methods (and,
//! until the ping-pong transports land, ping-pong methods) over gRPC.

mod cancel;
mod options;
mod stream;
mod timeout;

pub use cancel::RespBody;
pub use options::{CallOptions, GrpcOptions};
pub(crate) use stream::run_call;
pub use stream::{GrpcClient, GrpcTransport, ThriftChannel};
pub use timeout::{call_with_timeout, recv_timeout, send_timeout};
