//! Generic Thrift calls, without generated code: an IDL read at run time,
//! JSON in and out.
//!
//! The code generator (`tonic-thrift-build`) turns an IDL into Rust types at
//! compile time. This crate does the same work at run time, for gateways,
//! mocks and command-line tools (the `tonic-thrift` CLI is built on it):
//!
//! - [`json`]: JSON ⇄ Thrift Binary for any IDL type, driven by a
//!   [`Descriptor`] from [`tonic_thrift_build::descriptor::load`] (the same
//!   parser, resolver and checker as the code generator). The JSON is the
//!   one Kitex's JSON generic call uses.
//! - [`method`]: a method's request and reply as JSON: Args and Result
//!   structs for `unary` and ping-pong methods, bare structs for streams.
//! - [`GenericClient`]: calls any method of any service: unary, the three
//!   streaming modes over gRPC or TTHeader Streaming, ping-pong over
//!   TTHeader, TTHeader+Framed, Framed or Buffered.
//! - [`GenericServer`]: serves any service of a descriptor, routing each
//!   call to one [`Handler`] that takes and returns JSON.
//!
//! The runtime (`tonic-thrift`) carries the bytes: a generic call's
//! messages are [`tonic_thrift::RawStruct`]s, so the runtime never sees the
//! IDL parser.
//!
//! ```no_run
//! use std::path::Path;
//! use tonic_thrift_generic::{GenericClient, ClientOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let desc = tonic_thrift_build::descriptor::load(Path::new("idl/echo.thrift"), &[], None)?;
//! let client = GenericClient::new(desc.into(), "127.0.0.1:8888", ClientOptions::default());
//! let reply = client
//!     .call("TestService", "EchoPingPong", &serde_json::json!({"message": "hi"}))
//!     .await?;
//! assert_eq!(reply, serde_json::json!({"message": "hi"}));
//! # Ok(())
//! # }
//! ```

mod client;
mod decode;
mod encode;
mod error;
mod intern;
pub mod json;
pub mod method;
mod mock;
mod server;
mod wire;

pub use client::{CallError, ClientOptions, GenericClient, PingPongTransport, ReplyStream};
pub use error::{Error, ErrorKind};
pub use server::{GenericServer, Handler, HandlerError, JsonStream, MockHandler, Request};
pub use tonic_thrift_build::descriptor::Descriptor;
