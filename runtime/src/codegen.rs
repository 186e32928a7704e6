//! Items that generated code refers to. Not a stable API for hand-written code.

pub use crate::method::{OneArg, ValueResult, VoidResult, WholeArgs};
pub use crate::value::{
    bad_union, field_len, missing_field, missing_result, read_field, read_into, read_struct,
    required, skip, struct_len, write_field, write_struct, ThriftStruct, ThriftValue, UnionSlot,
};
// Prelude names, so that an IDL type called `Result` or `Option` cannot
// shadow them inside generated impls (which glob-import this module).
pub use bytes::Bytes;
pub use core::option::Option::{self, None, Some};
pub use core::result::Result::{self, Err, Ok};
pub use faststr::FastStr;
pub use ordered_float::OrderedFloat;
pub use pilota;
pub use pilota::thrift::{
    Message, TAsyncInputProtocol, TInputProtocol, TLengthProtocol, TOutputProtocol,
    TStructIdentifier, TType, ThriftException,
};
pub use std::collections::{HashMap, HashSet};
pub use std::sync::LazyLock;
pub use tonic::codec::CompressionEncoding;
pub use tonic::transport::{Channel, Endpoint};
pub use tonic::{IntoRequest, IntoStreamingRequest, Request, Response, Status, Streaming};

/// A boxed, `Send` future, as returned by generated async decoders.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

pub use crate::call::{Call, CallInfo, CallLayer, CallResponse, CallService};
pub use crate::grpc::{GrpcClient, GrpcOptions, GrpcTransport};
pub use crate::method::{ThriftArgs, ThriftResult};
pub use crate::observe::{MessageHook, Tracer};
pub use crate::pingpong::service::{
    call as pingpong_call, unknown_method as pingpong_unknown_method, CallContext, MethodKind,
    PingPongService, Reply, ReplyFuture,
};
pub use crate::pingpong::{PingPongClient, PingPongOptions};
pub use crate::server::config::ServiceConfig;
pub use crate::server::dispatch::{
    client_streaming, method_of, server_streaming, status_response, streaming, unary,
    unknown_method,
};
pub use futures_util::Stream;
pub use http;
pub use http_body;
pub use std::convert::Infallible;
pub use std::future::Future;
pub use std::pin::Pin;
pub use std::sync::Arc;
pub use std::task::{Context, Poll};
pub use tonic;
pub use tonic::async_trait;
pub use tonic::body::Body;
pub use tonic::server::NamedService;
pub use tower_layer::Layer;
pub use tower_service::Service;

/// The error type of boxed errors in generated bounds.
pub type StdError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub use crate::balance::{BalanceOptions, ClusterStatus};

pub use crate::codec::async_decode::decode_async_via_binary;

/// The reply to a ping-pong call of a method `service` does not have.
pub fn pingpong_unknown_method_reply(service: &str, method: &str) -> ReplyFuture {
    let e = pingpong_unknown_method(service, method);
    Box::pin(async move { Reply::Exception(e) })
}
