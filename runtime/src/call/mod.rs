//! The call as middleware sees it, on both sides and on every transport,
//! and (crate-private) the machinery that runs every call: starting it
//! with the installed layers, hooks and tracers (`middleware.rs`), and
//! running it through them with its deadline (`invoke.rs`).
//!
//! A middleware is a tower [`Layer`](tower_layer::Layer) over a
//! [`CallService`]: a service from [`Call`] to [`CallResponse`] with
//! [`tonic::Status`] errors. It runs once per call or stream, when it is
//! created, for gRPC and ping-pong alike (one stack for both), and sees:
//!
//! - [`CallInfo`]: service, method, kind of call, transport, peer;
//! - the request metadata and extensions (values a layer inserts are seen by
//!   later layers and by the handler, through `request.extensions()`);
//! - for `unary` and ping-pong calls, the request (the handler's input
//!   type) and the response (the method's wire Result type); streams carry
//!   their stream objects, which per-message hooks observe instead.
//!
//! ```
//! use std::task::{Context, Poll};
//! use tonic_thrift::call::{Call, CallResponse};
//!
//! /// Logs every call's method.
//! #[derive(Clone)]
//! struct Log<S>(S);
//!
//! impl<S> tower_service::Service<Call> for Log<S>
//! where
//!     S: tower_service::Service<Call, Response = CallResponse, Error = tonic::Status>,
//! {
//!     type Response = CallResponse;
//!     type Error = tonic::Status;
//!     type Future = S::Future;
//!
//!     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), tonic::Status>> {
//!         self.0.poll_ready(cx)
//!     }
//!
//!     fn call(&mut self, call: Call) -> Self::Future {
//!         println!("calling {}", call.info().method);
//!         self.0.call(call)
//!     }
//! }
//!
//! // The same layer on a gRPC client, a ping-pong client, or a generated
//! // server (`TestServiceServer::new(handler).layer(..)`).
//! let log = tower_layer::layer_fn(Log);
//! let grpc = tonic_thrift::grpc::GrpcOptions::default().layer(log);
//! let pingpong = tonic_thrift::pingpong::PingPongOptions::default().layer(log);
//! # let _ = (grpc, pingpong);
//! ```

mod invoke;
mod middleware;

pub(crate) use invoke::{current_persistent, invoke, invoke_unary, run_call, Invoke, ReadHook};
pub(crate) use middleware::Middleware;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tonic::metadata::MetadataMap;
use tonic::{Extensions, Status};
use tower::util::BoxCloneSyncService;

/// Which shape a call has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// One request, one response (`streaming.mode="unary"` or ping-pong).
    Unary,
    /// A stream of requests, one response.
    ClientStreaming,
    /// One request, a stream of responses.
    ServerStreaming,
    /// Streams both ways.
    Bidi,
    /// A `oneway` ping-pong call: no response.
    Oneway,
}

/// Which transport carries a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// gRPC over HTTP/2.
    Grpc,
    /// Ping-pong Thrift with this framing.
    PingPong(crate::transport::Framing),
    /// TTHeader Streaming (Kitex's `TTHeaderStreaming`).
    TTHeaderStreaming,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::transport::Framing;
        f.write_str(match self {
            Transport::Grpc => "GRPC",
            Transport::PingPong(Framing::TTHeader {
                inner_framed: false,
            }) => "TTHeader",
            Transport::PingPong(Framing::TTHeader { inner_framed: true }) => "TTHeader|Framed",
            Transport::PingPong(Framing::Framed) => "Framed",
            Transport::PingPong(Framing::Buffered) => "PurePayload",
            Transport::PingPong(Framing::THeader) => "THeader",
            Transport::TTHeaderStreaming => "TTHeaderStreaming",
        })
    }
}

/// What is known about a call when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The service name (IDL name, without package).
    pub service: &'static str,
    /// The method name (IDL name).
    pub method: &'static str,
    /// The call's shape.
    pub kind: CallKind,
    /// The transport carrying it.
    pub transport: Transport,
    /// The other side's address, when known.
    pub peer: Option<SocketAddr>,
}

/// A call entering the middleware stack.
pub struct Call {
    info: Arc<CallInfo>,
    metadata: MetadataMap,
    extensions: Extensions,
    message: Box<dyn Any + Send>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("info", &self.info)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// A call carrying `message`.
    pub fn new(
        info: Arc<CallInfo>,
        metadata: MetadataMap,
        extensions: Extensions,
        message: Box<dyn Any + Send>,
    ) -> Self {
        Call {
            info,
            metadata,
            extensions,
            message,
        }
    }

    /// Service, method, kind, transport and peer.
    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    /// The request metadata (HTTP/2 headers; empty for ping-pong).
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// The request metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// Request extensions: what a layer inserts here, later layers and the
    /// handler see (`request.extensions()`).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Request extensions, to change.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The request, when it is a `T`: the handler's input type for `unary`
    /// and ping-pong calls (e.g. `echo::Request`).
    pub fn message<T: 'static>(&self) -> Option<&T> {
        self.message.downcast_ref()
    }

    /// Takes the call apart.
    pub fn into_parts(self) -> (Arc<CallInfo>, MetadataMap, Extensions, Box<dyn Any + Send>) {
        (self.info, self.metadata, self.extensions, self.message)
    }
}

/// A call's response leaving the middleware stack.
pub struct CallResponse {
    metadata: MetadataMap,
    extensions: Extensions,
    message: Box<dyn Any + Send>,
}

impl fmt::Debug for CallResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallResponse")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

impl CallResponse {
    /// A response carrying `message`.
    pub fn new(
        metadata: MetadataMap,
        extensions: Extensions,
        message: Box<dyn Any + Send>,
    ) -> Self {
        CallResponse {
            metadata,
            extensions,
            message,
        }
    }

    /// Response metadata.
    pub fn metadata(&self) -> &MetadataMap {
        &self.metadata
    }

    /// Response metadata, to change.
    pub fn metadata_mut(&mut self) -> &mut MetadataMap {
        &mut self.metadata
    }

    /// Response extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Response extensions, to change.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The response, when it is a `T`: the method's wire Result type for
    /// `unary` and ping-pong calls (e.g. `echo::test_service::EchoUnaryResult`).
    pub fn message<T: 'static>(&self) -> Option<&T> {
        self.message.downcast_ref()
    }

    /// Takes the response apart.
    pub fn into_parts(self) -> (MetadataMap, Extensions, Box<dyn Any + Send>) {
        (self.metadata, self.extensions, self.message)
    }
}

/// The type-erased service a middleware stack wraps.
pub type CallService = BoxCloneSyncService<Call, CallResponse, Status>;

/// A boxed future of a call's response.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<CallResponse, Status>> + Send>>;

/// A middleware layer over a call: what `layer(...)` on servers and client
/// options accepts. Implemented for every tower `Layer` whose service is a
/// [`CallMiddleware`].
pub trait CallLayer:
    tower_layer::Layer<CallService, Service: CallMiddleware> + Send + Sync + 'static
{
}

impl<L> CallLayer for L where
    L: tower_layer::Layer<CallService, Service: CallMiddleware> + Send + Sync + 'static
{
}

/// A service that maps a [`Call`] to a [`CallResponse`] with [`Status`]
/// errors: what a [`CallLayer`] produces.
pub trait CallMiddleware:
    tower_service::Service<Call, Response = CallResponse, Error = Status, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> CallMiddleware for S where
    S: tower_service::Service<
            Call,
            Response = CallResponse,
            Error = Status,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}
