//! Ping-pong (TTHeader, Framed, Buffered) calls, the bad input a ping-pong
//! server must survive, and the client's connection pool.
//!
//! One test binary; each file is a module. `bad_input` and `pool` share
//! `idl/echo.thrift` (below) and the echo handler of `support`.

tonic_thrift::thrift_service!("idl/echo.thrift");

mod support;

mod bad_input;
mod calls;
mod pool;
mod protocols;
