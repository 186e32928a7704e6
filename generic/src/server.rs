//! [`GenericServer`]: serves any service of a [`Descriptor`], routing every
//! call to one [`Handler`] that takes and returns JSON.
//!
//! Like a generated `XxxServer`, it serves gRPC (every mode), TTHeader
//! Streaming and ping-pong (TTHeader, Framed, Buffered) on one port when
//! added to a [`tonic_thrift::Server`] with [`GenericServer::add_to`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tonic::{Response, Status, Streaming};
use tonic_thrift::codegen::{
    client_streaming, method_of, pingpong_call, pingpong_unknown_method_reply, server_streaming,
    streaming, unary, CallContext, MethodKind, PingPongService, ReplyFuture, ServiceConfig,
    StdError,
};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::RawStruct;
use tonic_thrift_build::descriptor::{Descriptor, MethodDescriptor, Mode};

use crate::intern::intern;
use crate::method::{self, Reply};

/// A stream of JSON messages.
pub type JsonStream = Pin<Box<dyn Stream<Item = Result<Value, Status>> + Send>>;

/// One call as a [`Handler`] sees it.
pub struct Request {
    /// The method called.
    pub method: Arc<MethodDescriptor>,
    /// The request's metadata (gRPC headers; empty for ping-pong).
    pub metadata: tonic::metadata::MetadataMap,
    /// The request's extensions: metainfo, the ping-pong framing, the
    /// TTHeader Streaming marker, as for generated handlers.
    pub extensions: tonic::Extensions,
    /// The request messages: exactly one for `unary`, ping-pong and
    /// server-streaming methods (the argument, or an object keyed by
    /// argument name when there are several), the client's stream for the
    /// other modes.
    pub messages: JsonStream,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method.name)
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl Request {
    /// The metainfo the caller sent, if any.
    pub fn metainfo(&self) -> Option<&MetaInfo> {
        self.extensions.get::<MetaInfo>()
    }
}

/// Why a handler failed.
#[derive(Debug)]
pub enum HandlerError {
    /// A status (business errors: [`tonic_thrift::BizStatusError`] into a
    /// status).
    Status(Status),
    /// One of the method's declared exceptions, by its `throws` field name.
    Exception {
        /// The `throws` field's name.
        field: String,
        /// The exception, as JSON.
        value: Value,
    },
}

impl From<Status> for HandlerError {
    fn from(s: Status) -> Self {
        HandlerError::Status(s)
    }
}

/// Answers every call of a [`GenericServer`].
///
/// Return the reply messages: one for `unary`, ping-pong and
/// client-streaming methods (only the first is used), any number for
/// server-streaming and bidirectional ones. A message is the method's
/// result as JSON (`null` for `void`).
#[tonic::async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Handles one call.
    async fn handle(&self, request: Request) -> Result<JsonStream, HandlerError>;
}

/// Answers every method with default values: the IDL defaults of the
/// result struct's fields, zero values for the rest (streams send one
/// message). For front-end and contract testing (`tonic-thrift serve --mock`).
#[derive(Debug, Clone)]
pub struct MockHandler {
    desc: Arc<Descriptor>,
}

impl MockHandler {
    /// A mock of the services of `desc`.
    pub fn new(desc: Arc<Descriptor>) -> Self {
        MockHandler { desc }
    }
}

#[tonic::async_trait]
impl Handler for MockHandler {
    async fn handle(&self, request: Request) -> Result<JsonStream, HandlerError> {
        // Drain the request so that a client stream completes.
        let mut messages = request.messages;
        while let Some(m) = messages.next().await {
            m?;
        }
        let value = match &request.method.result {
            Some(ty) => crate::mock::default_json(&self.desc, ty),
            None => Value::Null,
        };
        Ok(Box::pin(futures_util::stream::iter([Ok(value)])))
    }
}

struct Inner {
    desc: Arc<Descriptor>,
    /// The full name (`echo.TestService`) and the bare one.
    full_name: &'static str,
    name: &'static str,
    methods: HashMap<String, (&'static str, Arc<MethodDescriptor>)>,
    handler: Arc<dyn Handler>,
}

/// Serves one service of a [`Descriptor`] with a [`Handler`].
#[derive(Clone)]
pub struct GenericServer {
    inner: Arc<Inner>,
    config: ServiceConfig,
}

impl std::fmt::Debug for GenericServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericServer")
            .field("service", &self.inner.full_name)
            .finish()
    }
}

impl GenericServer {
    /// Serves `service` (found as [`Descriptor::service`] finds it) with
    /// `handler`; `None` if the descriptor has no such service.
    pub fn new(desc: Arc<Descriptor>, service: &str, handler: impl Handler) -> Option<Self> {
        Self::with_handler(desc, service, Arc::new(handler))
    }

    /// [`new`](Self::new) with a shared handler.
    pub fn with_handler(
        desc: Arc<Descriptor>,
        service: &str,
        handler: Arc<dyn Handler>,
    ) -> Option<Self> {
        let svc = desc.service(service)?;
        // Names the runtime keeps as `&'static str`: once per name.
        let methods = svc
            .methods
            .iter()
            .map(|m| (m.name.clone(), (intern(&m.name), Arc::new(m.clone()))))
            .collect();
        let inner = Inner {
            full_name: intern(&svc.full_name),
            name: intern(&svc.name),
            methods,
            handler,
            desc: desc.clone(),
        };
        Some(GenericServer {
            inner: Arc::new(inner),
            config: ServiceConfig::default(),
        })
    }

    /// The service's full gRPC name (`echo.TestService`).
    pub fn full_name(&self) -> &'static str {
        self.inner.full_name
    }

    /// Adds this service to a server builder.
    pub fn add_to(self, server: tonic_thrift::Server) -> tonic_thrift::server::Router {
        server.add_named_service(self.inner.full_name, self)
    }

    /// Adds this service to a router that already has others.
    pub fn add_to_router(
        self,
        router: tonic_thrift::server::Router,
    ) -> tonic_thrift::server::Router {
        router.add_named_service(self.inner.full_name, self)
    }

    fn method(&self, name: &str) -> Option<(&'static str, Arc<MethodDescriptor>)> {
        self.inner.methods.get(name).cloned()
    }
}

fn bad_request(e: crate::Error) -> Status {
    Status::invalid_argument(format!("request does not match the IDL: {e}"))
}

fn reply_status(e: crate::Error) -> Status {
    Status::internal(format!("handler reply does not match the IDL: {e}"))
}

/// Runs the handler for a one-message call and encodes its reply.
async fn call_one(
    inner: Arc<Inner>,
    m: Arc<MethodDescriptor>,
    req: tonic::Request<RawStruct>,
) -> Result<Response<RawStruct>, Status> {
    let (metadata, extensions, raw) = req.into_parts();
    let json = method::decode_request(&inner.desc, &m, &raw.0).map_err(bad_request)?;
    let request = Request {
        method: m.clone(),
        metadata,
        extensions,
        messages: Box::pin(futures_util::stream::iter([Ok(json)])),
    };
    let reply = match inner.handler.handle(request).await {
        Ok(mut replies) => match replies.next().await {
            Some(Ok(v)) => Reply::Success(v),
            Some(Err(s)) => return Err(s),
            None => Reply::Success(Value::Null),
        },
        Err(HandlerError::Status(s)) => return Err(s),
        Err(HandlerError::Exception { field, value }) => Reply::Exception {
            type_name: String::new(),
            field,
            value,
        },
    };
    let bytes = method::encode_reply(&inner.desc, &m, &reply).map_err(reply_status)?;
    Ok(Response::new(RawStruct(bytes)))
}

/// The client's stream of a streaming call, decoded to JSON.
fn json_in(inner: &Arc<Inner>, m: &Arc<MethodDescriptor>, s: Streaming<RawStruct>) -> JsonStream {
    let (desc, m) = (inner.desc.clone(), m.clone());
    Box::pin(s.map(move |r| {
        r.and_then(|raw| method::decode_request(&desc, &m, &raw.0).map_err(bad_request))
    }))
}

type RawReplies = Pin<Box<dyn Stream<Item = Result<RawStruct, Status>> + Send>>;

/// The handler's replies of a streaming call, encoded.
fn raw_out(inner: &Arc<Inner>, m: &Arc<MethodDescriptor>, s: JsonStream) -> RawReplies {
    let (desc, m) = (inner.desc.clone(), m.clone());
    Box::pin(s.map(move |r| {
        r.and_then(|v| {
            method::encode_reply(&desc, &m, &Reply::Success(v))
                .map(RawStruct)
                .map_err(reply_status)
        })
    }))
}

async fn run_stream(
    inner: Arc<Inner>,
    m: Arc<MethodDescriptor>,
    metadata: tonic::metadata::MetadataMap,
    extensions: tonic::Extensions,
    messages: JsonStream,
) -> Result<JsonStream, Status> {
    let request = Request {
        method: m,
        metadata,
        extensions,
        messages,
    };
    match inner.handler.handle(request).await {
        Ok(s) => Ok(s),
        Err(HandlerError::Status(s)) => Err(s),
        Err(HandlerError::Exception { field, .. }) => Err(Status::internal(format!(
            "streaming methods have no declared exceptions (`{field}`)"
        ))),
    }
}

impl PingPongService for GenericServer {
    fn service_name(&self) -> &'static str {
        self.inner.name
    }

    fn method_kind(&self, method: &str) -> Option<MethodKind> {
        let (_, m) = self.method(method)?;
        Some(if m.mode.is_streaming() {
            MethodKind::Streaming
        } else {
            MethodKind::Call
        })
    }

    fn call(&self, method: &str, args: Bytes, ctx: CallContext) -> ReplyFuture {
        let Some((name, m)) = self.method(method).filter(|(_, m)| !m.mode.is_streaming()) else {
            return pingpong_unknown_method_reply(self.inner.name, method);
        };
        let inner = self.inner.clone();
        pingpong_call::<RawStruct, RawStruct, _, _>(
            &self.config,
            self.inner.name,
            name,
            args,
            ctx,
            move |r| call_one(inner, m, r),
        )
    }
}

impl<B> tower_service::Service<http::Request<B>> for GenericServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let config = self.config.clone();
        let inner = self.inner.clone();
        let service = inner.name;
        let Some((name, m)) = self.method(method_of(req.uri().path())) else {
            let resp = tonic_thrift::codegen::unknown_method(service, method_of(req.uri().path()));
            return Box::pin(async move { Ok(resp) });
        };
        Box::pin(async move {
            Ok(match m.mode {
                Mode::Unary | Mode::PingPong => {
                    unary::<RawStruct, RawStruct, _, _, _>(&config, service, name, req, move |r| {
                        call_one(inner, m, r)
                    })
                    .await
                }
                Mode::ServerStreaming => {
                    server_streaming::<RawStruct, RawStruct, RawReplies, _, _, _>(
                        &config,
                        service,
                        name,
                        req,
                        move |r: tonic::Request<RawStruct>| async move {
                            let (metadata, extensions, raw) = r.into_parts();
                            let json = method::decode_request(&inner.desc, &m, &raw.0)
                                .map_err(bad_request)?;
                            let one: JsonStream = Box::pin(futures_util::stream::iter([Ok(json)]));
                            let out =
                                run_stream(inner.clone(), m.clone(), metadata, extensions, one)
                                    .await?;
                            Ok(Response::new(raw_out(&inner, &m, out)))
                        },
                    )
                    .await
                }
                Mode::ClientStreaming => {
                    client_streaming::<RawStruct, RawStruct, _, _, _>(
                        &config,
                        service,
                        name,
                        req,
                        move |r: tonic::Request<Streaming<RawStruct>>| async move {
                            let (metadata, extensions, s) = r.into_parts();
                            let input = json_in(&inner, &m, s);
                            let mut out =
                                run_stream(inner.clone(), m.clone(), metadata, extensions, input)
                                    .await?;
                            let v = match out.next().await {
                                Some(r) => r?,
                                None => Value::Null,
                            };
                            let bytes = method::encode_reply(&inner.desc, &m, &Reply::Success(v))
                                .map_err(reply_status)?;
                            Ok(Response::new(RawStruct(bytes)))
                        },
                    )
                    .await
                }
                Mode::Bidirectional => {
                    streaming::<RawStruct, RawStruct, RawReplies, _, _, _>(
                        &config,
                        service,
                        name,
                        req,
                        move |r: tonic::Request<Streaming<RawStruct>>| async move {
                            let (metadata, extensions, s) = r.into_parts();
                            let input = json_in(&inner, &m, s);
                            let out =
                                run_stream(inner.clone(), m.clone(), metadata, extensions, input)
                                    .await?;
                            Ok(Response::new(raw_out(&inner, &m, out)))
                        },
                    )
                    .await
                }
            })
        })
    }
}
