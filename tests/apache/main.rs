//! Interop with Apache Thrift itself: its cross-language test service
//! (`idl/thrift_test.thrift`, restated from Apache's `ThriftTest`), served
//! and called by Apache's Python library (PyPI `thrift`) with code that
//! Debian's `thrift-compiler` generates here, at test time.
//!
//! * `apache_client_calls_our_server`: Apache's Python client runs every case
//!   of the cross-test client (`testVoid` … `testMultiException`,
//!   `testOneway`) against our server;
//! * `our_client_calls_apache_server`: our generated ping-pong client runs
//!   the same cases against Apache's Python server;
//! * `thriftpy2_client_calls_our_server`, `our_client_calls_thriftpy2_server`:
//!   the same cases with thriftpy2, a second, independent implementation
//!   (binary and compact, framed and buffered);
//!
//! each for the Binary and Compact protocols over the Framed, Buffered and
//! (Apache) THeader transports, and multiplexed (`TMultiplexedProtocol` /
//! `TMultiplexedProcessor`) over each. Without `python3` + `thrift` +
//! `thrift` (the compiler) the tests print a skip notice, unless
//! `TONIC_THRIFT_REQUIRE_PYTHON=1` (CI) makes them fail.

tonic_thrift::thrift_service!("idl/thrift_test.thrift");

mod cases;
mod handler;
mod peer;
#[path = "../support/python.rs"]
mod python_env;

mod client;
mod server;
