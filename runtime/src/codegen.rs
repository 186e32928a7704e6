//! Items that generated code refers to. Not a stable API for hand-written code.

pub use crate::value::{
    bad_union, field_len, missing_field, missing_result, read_field, write_field, ThriftValue,
};
pub use bytes::Bytes;
pub use faststr::FastStr;
pub use ordered_float::OrderedFloat;
pub use pilota;
pub use pilota::thrift::{
    Message, TAsyncInputProtocol, TInputProtocol, TLengthProtocol, TOutputProtocol,
    TStructIdentifier, TType, ThriftException,
};
pub use std::collections::{HashMap, HashSet};
pub use std::sync::LazyLock;

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
