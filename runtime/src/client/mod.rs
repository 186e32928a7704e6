//! Clients: [`StreamClient`] carries streaming and `unary` methods (and,
//! until the ping-pong transports land, ping-pong methods) over gRPC.

mod cancel;
mod stream;

pub use cancel::RespBody;
pub use stream::{GrpcTransport, StreamClient, ThriftChannel};
