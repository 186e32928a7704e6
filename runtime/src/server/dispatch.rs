//! Serving one call of a generated service: the four gRPC shapes, with
//! Thrift framing, limits, content-type and the active-call count.
//!
//! Generated `XxxServer` types call these functions from their
//! `tower::Service::call`, one per method, passing a closure that calls the
//! user's handler.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::Stream;
use http::header::{HeaderValue, CONTENT_TYPE};
use tonic::server::Grpc;
use tonic::{Request, Response, Status, Streaming};

use super::body::{ActiveCalls, GuardedBody, LimitedBody};
use crate::codec::ThriftCodec;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The content-type of Thrift over gRPC, as Kitex sends and expects it.
pub const CONTENT_TYPE_THRIFT: &str = "application/grpc+thrift";

/// The receive limit for one message, as in gRPC: 4 MiB.
pub const DEFAULT_MAX_DECODING_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Settings and counters of one generated server (shared by its clones).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    max_decoding_message_size: usize,
    max_encoding_message_size: usize,
    active: ActiveCalls,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_decoding_message_size: DEFAULT_MAX_DECODING_MESSAGE_SIZE,
            max_encoding_message_size: usize::MAX,
            active: ActiveCalls::default(),
        }
    }
}

impl ServiceConfig {
    /// Sets the largest message the server accepts (default 4 MiB); larger
    /// ones are refused with `RESOURCE_EXHAUSTED` before being buffered.
    pub fn set_max_decoding_message_size(&mut self, limit: usize) {
        self.max_decoding_message_size = limit;
    }

    /// Sets the largest message the server sends (default unlimited).
    pub fn set_max_encoding_message_size(&mut self, limit: usize) {
        self.max_encoding_message_size = limit;
    }

    /// Calls and streams in progress: counted from the moment the request
    /// arrives until the response (for streams, the last message and
    /// trailers, or a reset) is gone.
    pub fn active_calls(&self) -> usize {
        self.active.get()
    }

    fn grpc<E, D>(&self) -> Grpc<ThriftCodec<E, D>>
    where
        E: pilota::thrift::Message + 'static,
        D: pilota::thrift::Message + 'static,
    {
        // Our own limit (LimitedBody) answers first, with RESOURCE_EXHAUSTED.
        Grpc::new(ThriftCodec::default())
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(self.max_encoding_message_size)
    }
}

/// Reads what the headers say about the call: metainfo (into the request's
/// extensions) and the deadline (`grpc-timeout`); wraps the body in the
/// receive limit. A `grpc-timeout` that does not parse is answered with
/// INVALID_ARGUMENT naming the header.
#[allow(clippy::result_large_err)]
fn prepare<B>(cfg: &ServiceConfig, mut req: http::Request<B>) -> Result<Prepared<B>, HttpResponse>
where
    B: http_body::Body,
{
    let deadline = match req.headers().get("grpc-timeout") {
        None => None,
        Some(v) => {
            let parsed = v
                .to_str()
                .map_err(|_| "invalid grpc-timeout header: not text".to_string())
                .and_then(crate::timeout::parse_grpc_timeout);
            match parsed {
                Ok(d) => Some(Instant::now() + d),
                Err(e) => return Err(status_response(Status::invalid_argument(e))),
            }
        }
    };
    if let Some(m) = MetaInfo::from_http_headers(req.headers()) {
        req.extensions_mut().insert(m);
    }
    let limit = cfg.max_decoding_message_size;
    Ok((req.map(|b| LimitedBody::new(b, limit)), deadline))
}

type HttpResponse = http::Response<tonic::body::Body>;

/// A request ready for tonic, and its deadline.
type Prepared<B> = (http::Request<LimitedBody<B>>, Option<Instant>);

fn deadline_exceeded() -> Status {
    Status::deadline_exceeded("deadline exceeded: the call's grpc-timeout passed")
}

/// Bounds a handler future by the call's deadline.
async fn bounded<T, E: From<Status>>(
    deadline: Option<Instant>,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    match deadline {
        Some(d) => match tokio::time::timeout_at(d.into(), fut).await {
            Ok(r) => r,
            Err(_) => Err(deadline_exceeded().into()),
        },
        None => fut.await,
    }
}

/// A response stream that ends with DEADLINE_EXCEEDED when the deadline passes.
pub(crate) struct DeadlineStream<S> {
    inner: Pin<Box<S>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl<S> DeadlineStream<S> {
    fn new(inner: S, deadline: Option<Instant>) -> Self {
        DeadlineStream {
            inner: Box::pin(inner),
            sleep: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            done: false,
        }
    }
}

impl<S, T> Stream for DeadlineStream<S>
where
    S: Stream<Item = Result<T, Status>>,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                self.done = true;
                return Poll::Ready(Some(Err(deadline_exceeded())));
            }
        }
        self.inner.as_mut().poll_next(cx)
    }
}

/// Sets our content-type and ties the active-call guard to the body.
fn finish(
    cfg: &ServiceConfig,
    guard: super::body::CallGuard,
    resp: http::Response<tonic::body::Body>,
) -> http::Response<tonic::body::Body> {
    let _ = cfg;
    let mut resp = resp.map(|b| tonic::body::Body::new(GuardedBody::new(b, guard)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
    resp
}

/// The answer for a method this service does not have: `UNIMPLEMENTED`.
pub fn unknown_method(service: &str, method: &str) -> http::Response<tonic::body::Body> {
    status_response(Status::unimplemented(format!(
        "unknown method `{method}` of service `{service}`"
    )))
}

/// A trailers-only response carrying `status`, with our content-type.
pub fn status_response(status: Status) -> http::Response<tonic::body::Body> {
    let mut resp = status.into_http::<tonic::body::Body>();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
    resp
}

/// A tower service that runs a handler closure once.
struct Once<H>(Option<H>);

impl<H, Req, Resp, F> tower_service::Service<Request<Req>> for Once<H>
where
    H: FnOnce(Request<Req>) -> F + Send,
    F: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
{
    type Response = Response<Resp>;
    type Error = Status;
    type Future = BoxFuture<Result<Response<Resp>, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Req>) -> Self::Future {
        match self.0.take() {
            Some(h) => Box::pin(h(req)),
            None => Box::pin(async { Err(Status::internal("handler called twice")) }),
        }
    }
}

/// Serves a `unary` or ping-pong method: Args in, Result out.
pub async fn unary<A, R, B, H, F>(
    cfg: &ServiceConfig,
    req: http::Request<B>,
    handler: H,
) -> http::Response<tonic::body::Body>
where
    A: ThriftArgs,
    R: ThriftResult,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<A::Input>) -> F + Send + 'static,
    F: Future<Output = Result<Response<R::Ok>, R::Err>> + Send + 'static,
{
    let guard = cfg.active.enter();
    let (req, deadline) = match prepare(cfg, req) {
        Ok(p) => p,
        Err(resp) => return finish(cfg, guard, resp),
    };
    let svc = Once(Some(move |r: Request<A>| async move {
        match bounded(deadline, handler(r.map(A::into_input))).await {
            Ok(resp) => {
                let (meta, value, ext) = resp.into_parts();
                R::from_outcome(Ok(value)).map(|v| Response::from_parts(meta, v, ext))
            }
            Err(e) => R::from_outcome(Err(e)).map(Response::new),
        }
    }));
    let resp = cfg.grpc::<R, A>().unary(svc, req).await;
    finish(cfg, guard, resp)
}

/// Serves a server-streaming method: one bare struct in, a stream out.
pub async fn server_streaming<Req, Resp, S, B, H, F>(
    cfg: &ServiceConfig,
    req: http::Request<B>,
    handler: H,
) -> http::Response<tonic::body::Body>
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Req>) -> F + Send + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let guard = cfg.active.enter();
    let (req, deadline) = match prepare(cfg, req) {
        Ok(p) => p,
        Err(resp) => return finish(cfg, guard, resp),
    };
    let handler = move |r| async move {
        bounded(deadline, handler(r))
            .await
            .map(|resp| resp.map(|s| DeadlineStream::new(s, deadline)))
    };
    let resp = cfg
        .grpc::<Resp, Req>()
        .server_streaming(Once(Some(handler)), req)
        .await;
    finish(cfg, guard, resp)
}

/// Serves a client-streaming method: a stream of bare structs in, one out.
pub async fn client_streaming<Req, Resp, B, H, F>(
    cfg: &ServiceConfig,
    req: http::Request<B>,
    handler: H,
) -> http::Response<tonic::body::Body>
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Streaming<Req>>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
{
    let guard = cfg.active.enter();
    let (req, deadline) = match prepare(cfg, req) {
        Ok(p) => p,
        Err(resp) => return finish(cfg, guard, resp),
    };
    let handler = move |r| bounded(deadline, handler(r));
    let resp = cfg
        .grpc::<Resp, Req>()
        .client_streaming(Once(Some(handler)), req)
        .await;
    finish(cfg, guard, resp)
}

/// Serves a bidirectional streaming method.
pub async fn streaming<Req, Resp, S, B, H, F>(
    cfg: &ServiceConfig,
    req: http::Request<B>,
    handler: H,
) -> http::Response<tonic::body::Body>
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Streaming<Req>>) -> F + Send + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let guard = cfg.active.enter();
    let (req, deadline) = match prepare(cfg, req) {
        Ok(p) => p,
        Err(resp) => return finish(cfg, guard, resp),
    };
    let handler = move |r| async move {
        bounded(deadline, handler(r))
            .await
            .map(|resp| resp.map(|s| DeadlineStream::new(s, deadline)))
    };
    let resp = cfg
        .grpc::<Resp, Req>()
        .streaming(Once(Some(handler)), req)
        .await;
    finish(cfg, guard, resp)
}

/// The method name of a gRPC path: what follows the last `/`.
pub fn method_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}
