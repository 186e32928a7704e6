//! Interop tests between tonic-thrift and volo-thrift 0.12 (see `tests/`).
//!
//! This crate only holds the code volo-build generated for `idl/echo.thrift`
//! (the ping-pong-only copy of the workspace's echo IDL, see the comment in
//! that file): `volo_gen::echo` is used as a volo client and a volo server.

// The generated file is `pub mod volo_gen { #![allow(warnings, clippy::all)] .. }`.
include!(concat!(env!("OUT_DIR"), "/volo_gen.rs"));
