//! Production transport: TLS and mTLS on the server's one port (gRPC and
//! ping-pong), the gRPC client over TLS, interop with tonic's own TLS
//! client and server, and Python grpcio over TLS and mTLS.
//!
//! Certificates are generated per test run with rcgen (`certs`); none are
//! committed. One test binary; each file is a module.

tonic_thrift::thrift_service!("idl/echo.thrift");

mod certs;
mod support;

mod compression;
mod dead_peer;
mod health;
mod python;
#[path = "../support/python.rs"]
mod python_env;
mod tcp;
mod tls;
mod tls_pingpong;
