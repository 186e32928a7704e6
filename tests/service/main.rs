//! `tonic_thrift::Server` and the generated gRPC clients end to end: every
//! method mode, bad input, hosting under plain tonic, `:authority`, and a
//! generic gRPC client written by nobody here (Python `grpcio`), and the
//! generated client over TTHeader Streaming.
//!
//! One test binary; each file is a module. `common` is their shared echo
//! handler, server and raw client.

mod common;

mod authority;
mod bad_input;
mod generic_grpc_client;
mod modes;
#[path = "../support/python.rs"]
mod python_env;
mod tonic_interop;
mod ttstream_client;
