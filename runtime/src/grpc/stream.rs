//! The gRPC client under every generated `XxxClient`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{FutureExt, Stream};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::{Request, Response, Status, Streaming};

use super::cancel;
use std::sync::Arc;

use super::options::{CallOptions, GrpcOptions};
use crate::call::{CallInfo, CallKind, Transport};
use crate::codec::ThriftCodec;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::CallObserver;
use crate::server::body::LimitedBody;
use crate::server::dispatch::CONTENT_TYPE_THRIFT;
use crate::server::invoke::Invoke;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`GrpcClient`] can run on: any tower service taking HTTP/2
/// requests with a tonic body, such as [`tonic::transport::Channel`].
pub trait GrpcTransport:
    tower_service::Service<
        http::Request<tonic::body::Body>,
        Response = http::Response<Self::Body>,
        Error = Self::TransportError,
        Future = Self::Fut,
    > + Clone
    + Send
    + 'static
{
    /// The response body.
    type Body: http_body::Body<Error = Self::BodyError> + Send + 'static;
    /// The response body's error.
    type BodyError: Into<BoxError> + Send;
    /// The transport error.
    type TransportError: Into<BoxError>;
    /// The response future.
    type Fut: Future<Output = Result<http::Response<Self::Body>, Self::TransportError>> + Send;
}

impl<T, B> GrpcTransport for T
where
    T: tower_service::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    T::Error: Into<BoxError>,
    T::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
{
    type Body = B;
    type BodyError = B::Error;
    type TransportError = T::Error;
    type Fut = T::Future;
}

/// A transport wrapper that speaks Thrift over gRPC: sets
/// `content-type: application/grpc+thrift` on every request (tonic's client
/// always writes `application/grpc`, which a Kitex server takes for
/// protobuf), and enforces the receive limit on response messages.
#[derive(Debug, Clone)]
pub struct ThriftChannel<T> {
    inner: T,
    max_decoding_message_size: usize,
}

impl<T: GrpcTransport> tower_service::Service<http::Request<tonic::body::Body>>
    for ThriftChannel<T>
{
    type Response = http::Response<cancel::RespBody<LimitedBody<T::Body>>>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
        if let Some(m) = MetaInfo::outgoing(req.extensions().get::<MetaInfo>()) {
            m.to_http_headers(req.headers_mut());
        }
        let limit = self.max_decoding_message_size;
        let deadline = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| crate::timeout::parse_grpc_timeout(v).ok())
            .map(|d| tokio::time::Instant::now() + d);
        let observer = req.extensions_mut().remove::<ObserverHandle>().map(|h| h.0);
        let (req, guard) = cancel::wrap_request(req);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let hook_observer = observer.clone();
            let resp = fut.await.map_err(|e| {
                if let Some(status) = hook_observer.as_ref().and_then(|o| o.hook_error()) {
                    return Box::new(status) as BoxError;
                }
                let e: BoxError = e.into();
                // tonic's channel reports its own expiry of the deadline as
                // TimeoutExpired, which tonic turns into CANCELLED; the
                // caller should see DEADLINE_EXCEEDED.
                if is_timeout(e.as_ref()) {
                    Box::new(Status::deadline_exceeded(
                        "deadline exceeded: no response before the call's deadline",
                    )) as BoxError
                } else {
                    e
                }
            })?;
            if let (Some(o), Some(status)) = (&observer, Status::from_header_map(resp.headers())) {
                o.set_status(status.code(), status.message());
            }
            Ok(resp.map(|b| {
                cancel::RespBody::new(LimitedBody::new(b, limit), guard, deadline, observer)
            }))
        })
    }
}

/// A gRPC client for Thrift methods, over any [`GrpcTransport`].
///
/// Generated `XxxClient` types wrap one and call it with each
/// method's path and wire types.
#[derive(Debug, Clone)]
pub struct GrpcClient<T> {
    transport: T,
    options: GrpcOptions,
    grpc: Grpc<ThriftChannel<T>>,
}

/// `/pkg.Service/Method` → (`Service`, `Method`).
fn names(path: &'static str) -> (&'static str, &'static str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or("");
    let method = parts.next().unwrap_or("");
    (service.rsplit('.').next().unwrap_or(service), method)
}

impl<T: GrpcTransport> GrpcClient<T> {
    /// A client over `transport` with default options.
    pub fn new(transport: T) -> Self {
        Self::with_options(transport, GrpcOptions::default())
    }

    /// A client over `transport` with `options`.
    pub fn with_options(transport: T, options: GrpcOptions) -> Self {
        let channel = ThriftChannel {
            inner: transport.clone(),
            max_decoding_message_size: options.max_decoding_message_size,
        };
        GrpcClient {
            transport,
            // Our own limit (LimitedBody) answers first, with RESOURCE_EXHAUSTED.
            grpc: Grpc::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(options.max_encoding_message_size),
            options,
        }
    }

    /// The client's options.
    pub fn options(&self) -> &GrpcOptions {
        &self.options
    }

    /// Sets the largest message accepted from the server (default 4 MiB);
    /// a larger one fails the call with `RESOURCE_EXHAUSTED` before it is
    /// buffered.
    pub fn set_max_decoding_message_size(&mut self, limit: usize) {
        let options = self.options.clone().max_decoding_message_size(limit);
        *self = Self::with_options(self.transport.clone(), options);
    }

    /// Sets the largest message this client sends (default unlimited).
    pub fn set_max_encoding_message_size(&mut self, limit: usize) {
        let options = self.options.clone().max_encoding_message_size(limit);
        *self = Self::with_options(self.transport.clone(), options);
    }

    /// Applies the deadline (call option, else client default) and returns
    /// what the call needs to run through the middleware.
    fn start<M>(
        &self,
        request: &mut Request<M>,
        path: &'static str,
        kind: CallKind,
    ) -> (Option<Invoke>, Option<Arc<CallObserver>>) {
        let call_opts = request.extensions().get::<CallOptions>().cloned();
        let timeout = call_opts
            .as_ref()
            .and_then(|o| o.timeout)
            .or(self.options.timeout);
        if let Some(t) = timeout {
            if request.metadata().get("grpc-timeout").is_none() {
                request.set_timeout(t);
            }
        }
        if self.options.layers.is_empty() && self.options.observers.is_idle() {
            // Nothing to run or observe: the call goes straight out.
            return (None, None);
        }
        let (service, method) = names(path);
        let info = Arc::new(CallInfo {
            service,
            method,
            kind,
            transport: Transport::Grpc,
            peer: None,
        });
        let observer = self.options.observers.start(info.clone());
        if let Some(o) = &observer {
            // The response body reports the final status and replaces a
            // transport error caused by a failing send hook with its status.
            request.extensions_mut().insert(ObserverHandle(o.clone()));
        }
        let invoke = (!self.options.layers.is_empty()).then(|| Invoke {
            info,
            layers: Some(self.options.layers.clone()),
            read_hooks: crate::server::invoke::no_read_hooks(),
            deadline: None,
        });
        (invoke, observer)
    }

    /// Runs one call through the client's middleware, on a clone of the
    /// transport made ready for it.
    async fn call<In, Out, F, Fut>(
        &mut self,
        mut request: Request<In>,
        path: &'static str,
        kind: CallKind,
        send: F,
    ) -> Result<Response<Out>, Status>
    where
        In: Send + 'static,
        Out: Send + 'static,
        F: FnOnce(
                Grpc<ThriftChannel<T>>,
                Request<In>,
                PathAndQuery,
                Option<Arc<CallObserver>>,
            ) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
    {
        let (invoke, observer) = self.start(&mut request, path, kind);
        let mut grpc = self.grpc.clone();
        let codec_observer = observer.clone();
        let resp = run_call(request, invoke, move |r| async move {
            ready(&mut grpc).await?;
            send(grpc, r, PathAndQuery::from_static(path), codec_observer).await
        })
        .await;
        record(&observer, &resp);
        resp
    }

    /// Calls a `unary` or ping-pong method: Args out, Result in.
    pub async fn unary<A: ThriftArgs, R: ThriftResult>(
        &mut self,
        request: Request<A::Input>,
        path: &'static str,
    ) -> Result<Response<R::Ok>, R::Err> {
        let resp = self
            .call(
                request,
                path,
                CallKind::Unary,
                |mut grpc, r, path, o| async move {
                    let codec = ThriftCodec::<A, R>::observed(o);
                    grpc.unary(r.map(A::from_input), path, codec).await
                },
            )
            .await;
        let (meta, result, ext) = resp?.into_parts();
        result
            .into_outcome()
            .map(|v| Response::from_parts(meta, v, ext))
    }

    /// Calls a server-streaming method.
    pub async fn server_streaming<Req, Resp>(
        &mut self,
        request: Request<Req>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status>
    where
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        self.call(
            request,
            path,
            CallKind::ServerStreaming,
            |mut grpc, r, path, o| async move {
                let codec = ThriftCodec::<Req, Resp>::observed(o);
                grpc.server_streaming(r, path, codec).await
            },
        )
        .await
    }

    /// Calls a client-streaming method.
    pub async fn client_streaming<S, Req, Resp>(
        &mut self,
        request: Request<S>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status>
    where
        S: Stream<Item = Req> + Send + 'static,
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        self.call(
            request,
            path,
            CallKind::ClientStreaming,
            |mut grpc, r, path, o| async move {
                let codec = ThriftCodec::<Req, Resp>::observed(o);
                grpc.client_streaming(r, path, codec).await
            },
        )
        .await
    }

    /// Calls a bidirectional streaming method.
    pub async fn streaming<S, Req, Resp>(
        &mut self,
        request: Request<S>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status>
    where
        S: Stream<Item = Req> + Send + 'static,
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        self.call(
            request,
            path,
            CallKind::Bidi,
            |mut grpc, r, path, o| async move {
                let codec = ThriftCodec::<Req, Resp>::observed(o);
                grpc.streaming(r, path, codec).await
            },
        )
        .await
    }
}

/// Whether an error is (or wraps) tonic's `TimeoutExpired`.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<tonic::TimeoutExpired>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// Waits until the transport takes a call (tower's contract: each clone
/// must be made ready before it is called).
async fn ready<T: GrpcTransport>(grpc: &mut Grpc<ThriftChannel<T>>) -> Result<(), Status> {
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("transport is not ready: {e}")))
}

/// Runs a client call (gRPC or ping-pong) through the client's middleware,
/// if it has any.
pub(crate) async fn run_call<In, Out, H, F>(
    request: Request<In>,
    invoke: Option<Invoke>,
    call: H,
) -> Result<Response<Out>, Status>
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    // Boxed: the transport's call future is large, and boxing it once keeps
    // it from being copied through every layer of futures above.
    match invoke.and_then(|i| i.layers.map(|stack| (i.info, stack))) {
        None => Box::pin(call(request)).await,
        Some((info, stack)) => {
            // A middleware that panics fails the call with INTERNAL, and the
            // client stays usable.
            let run = crate::server::invoke::through_layers(request, info.clone(), &stack, call);
            match std::panic::AssertUnwindSafe(Box::pin(run))
                .catch_unwind()
                .await
            {
                Ok(r) => r,
                Err(payload) => Err(crate::server::invoke::panicked(&info, payload)),
            }
        }
    }
}

/// Records a call that failed before its response arrived (the response
/// body records the final status of the others from the trailers).
fn record<T>(observer: &Option<Arc<CallObserver>>, result: &Result<T, Status>) {
    if let (Some(o), Err(s)) = (observer, result) {
        o.set_status(s.code(), s.message());
    }
}

/// Carries a call's observer from the client to its transport wrapper.
#[derive(Clone)]
struct ObserverHandle(Arc<CallObserver>);
