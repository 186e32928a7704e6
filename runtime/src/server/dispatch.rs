//! Serving one call of a generated service: the four gRPC shapes, with
//! Thrift framing, limits, content-type and the active-call count.
//!
//! Generated `XxxServer` types call these functions from their
//! `tower::Service::call`, one per method, passing a closure that calls the
//! user's handler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::Stream;
use http::header::{HeaderValue, CONTENT_TYPE};
use tonic::server::Grpc;
use tonic::{Request, Response, Status, Streaming};

use super::body::{CallGuard, GuardedBody, TimedBody};
use super::config::ServiceConfig;
use super::limits::StreamHold;
use super::lost::{ConnWatch, LostBody};
use crate::call::{invoke, invoke_unary, CallInfo, CallKind, Invoke, Transport};
use crate::codec::{encoded_size, LimitedBody, ThriftCodec, CONTENT_TYPE_THRIFT};
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::{CallObserver, Direction};
use crate::pingpong::service::echoed;
use crate::timeout::deadline_exceeded;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl ServiceConfig {
    fn grpc<E, D>(&self, observer: Option<Arc<CallObserver>>) -> Grpc<ThriftCodec<E, D>>
    where
        E: pilota::thrift::Message + 'static,
        D: pilota::thrift::Message + 'static,
    {
        // Our own limit (LimitedBody) answers first, with RESOURCE_EXHAUSTED,
        // for a message as sent; tonic's bounds a compressed one as it
        // inflates, so it never grows past the limit.
        let grpc = Grpc::new(ThriftCodec::observed_recv(observer))
            .max_decoding_message_size(self.max_decoding_message_size)
            .max_encoding_message_size(self.max_encoding_message_size);
        self.compression.server(grpc)
    }

    /// Starts a call: counts it, reads its headers, sets up its observer.
    #[allow(clippy::result_large_err)]
    fn begin<B>(
        &self,
        service: &'static str,
        method: &'static str,
        kind: CallKind,
        mut req: http::Request<B>,
    ) -> Result<Begun<B>, HttpResponse>
    where
        B: http_body::Body,
    {
        let hold = req.extensions_mut().remove::<StreamHold>();
        // Only calls whose request is one message have a bounded wait for
        // it; a streaming request may rightly stay open.
        let body_timeout = req
            .extensions_mut()
            .remove::<RequestBodyTimeout>()
            .filter(|_| matches!(kind, CallKind::Unary | CallKind::ServerStreaming));
        let (req, deadline) = match prepare(self, req, body_timeout) {
            Ok(p) => p,
            Err(resp) => return Err(finish(self.active.enter().holding(hold), None, resp)),
        };
        let transport = if req
            .extensions()
            .get::<crate::ttstream::TTHeaderStreaming>()
            .is_some()
        {
            Transport::TTHeaderStreaming
        } else {
            Transport::Grpc
        };
        let info = Arc::new(CallInfo {
            service,
            method,
            kind,
            transport,
            peer: req.extensions().get::<PeerAddr>().map(|p| p.0),
        });
        let (invoke, observer, guard) = self.start(info, deadline);
        let guard = guard.holding(hold);
        Ok(Begun {
            req,
            guard,
            observer,
            invoke,
            deadline,
        })
    }
}

/// How long the request of a unary or server-streaming call may take to
/// arrive; put in request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestBodyTimeout(pub(crate) std::time::Duration);

/// The peer address of a connection, put in request extensions by the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub(crate) std::net::SocketAddr);

struct Begun<B> {
    req: http::Request<TimedBody<LimitedBody<LostBody<B>>>>,
    guard: CallGuard,
    observer: Option<Arc<CallObserver>>,
    invoke: Invoke,
    deadline: Option<Instant>,
}

/// Reads what the headers say about the call: metainfo (into the request's
/// extensions) and the deadline (`grpc-timeout`); wraps the body in the
/// receive limit. A `grpc-timeout` that does not parse is answered with
/// INVALID_ARGUMENT naming the header. With a `body_timeout`, the body
/// fails with DEADLINE_EXCEEDED if it has not ended in time.
#[allow(clippy::result_large_err)]
fn prepare<B>(
    cfg: &ServiceConfig,
    mut req: http::Request<B>,
    body_timeout: Option<RequestBodyTimeout>,
) -> Result<Prepared<B>, HttpResponse>
where
    B: http_body::Body,
{
    let deadline = match crate::timeout::grpc_timeout(req.headers()) {
        None => None,
        Some(Ok(d)) => Some(Instant::now() + d),
        Some(Err(e)) => return Err(status_response(Status::invalid_argument(e))),
    };
    if let Some(m) = MetaInfo::from_http_headers(req.headers()) {
        req.extensions_mut().insert(m);
    }
    let limit = cfg.max_decoding_message_size;
    let watch = req.extensions_mut().remove::<ConnWatch>();
    let req = req.map(|b| {
        TimedBody::new(
            LimitedBody::new(LostBody::new(b, watch), limit),
            body_timeout.map(|t| t.0),
        )
    });
    Ok((req, deadline))
}

type HttpResponse = http::Response<tonic::body::Body>;

/// A request ready for tonic, and its deadline.
type Prepared<B> = (
    http::Request<TimedBody<LimitedBody<LostBody<B>>>>,
    Option<Instant>,
);

/// A handler's response stream as sent: it ends with DEADLINE_EXCEEDED when
/// the deadline passes, and shows each message to the send hooks before it
/// is encoded (a hook's error ends the stream with that status, after the
/// messages already sent).
pub(crate) struct DeadlineStream<S> {
    inner: Pin<Box<S>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    observer: Option<Arc<CallObserver>>,
    done: bool,
}

impl<S> DeadlineStream<S> {
    fn new(inner: S, deadline: Option<Instant>, observer: Option<Arc<CallObserver>>) -> Self {
        DeadlineStream {
            inner: Box::pin(inner),
            sleep: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            observer,
            done: false,
        }
    }
}

impl<S, T> Stream for DeadlineStream<S>
where
    S: Stream<Item = Result<T, Status>>,
    T: pilota::thrift::Message + 'static,
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
        let item = self.inner.as_mut().poll_next(cx);
        if let (Some(o), Poll::Ready(Some(Ok(message)))) = (&self.observer, &item) {
            if let Err(status) = o.message(Direction::Send, message, encoded_size(message)) {
                self.done = true;
                return Poll::Ready(Some(Err(status)));
            }
        }
        item
    }
}

/// Shows a single response to the send hooks before it is encoded.
fn observe_send<M: pilota::thrift::Message + 'static>(
    observer: &Option<Arc<CallObserver>>,
    result: Result<Response<M>, Status>,
) -> Result<Response<M>, Status> {
    let resp = result?;
    if let Some(o) = observer {
        let message = resp.get_ref();
        o.message(Direction::Send, message, encoded_size(message))?;
    }
    Ok(resp)
}

/// Sets our content-type and ties the active-call guard and the observer to
/// the body.
fn finish(
    guard: CallGuard,
    observer: Option<Arc<CallObserver>>,
    resp: HttpResponse,
) -> HttpResponse {
    if let Some(o) = &observer {
        // A trailers-only response carries its status in the headers.
        if let Some(status) = Status::from_header_map(resp.headers()) {
            o.set_status(status.code(), status.message());
        }
    }
    let mut resp = resp.map(|b| tonic::body::Body::new(GuardedBody::new(b, guard, observer)));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
    resp
}

/// A tower service that runs a handler closure once (tonic's `Grpc` takes
/// a service; each call gets its own).
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

/// Serves a `unary` or ping-pong method over gRPC: Args in, Result out.
pub async fn unary<A, R, B, H, F>(
    cfg: &ServiceConfig,
    service: &'static str,
    method: &'static str,
    req: http::Request<B>,
    handler: H,
) -> HttpResponse
where
    A: ThriftArgs,
    R: ThriftResult,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<A::Input>) -> F + Send + 'static,
    F: Future<Output = Result<Response<R::Ok>, R::Err>> + Send + 'static,
{
    let b = match cfg.begin(service, method, CallKind::Unary, req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (ctx, observer) = (b.invoke, b.observer.clone());
    let svc = Once(Some(move |r: Request<A>| async move {
        let result = invoke_unary::<A, R, H, F>(r.map(A::into_input), ctx, handler).await;
        observe_send(&observer, result)
    }));
    let resp = cfg.grpc::<R, A>(b.observer.clone()).unary(svc, b.req).await;
    finish(b.guard, b.observer, resp)
}

/// Serves a server-streaming method: one bare struct in, a stream out.
pub async fn server_streaming<Req, Resp, S, B, H, F>(
    cfg: &ServiceConfig,
    service: &'static str,
    method: &'static str,
    req: http::Request<B>,
    handler: H,
) -> HttpResponse
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Req>) -> F + Send + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let b = match cfg.begin(service, method, CallKind::ServerStreaming, req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (ctx, deadline, observer) = (b.invoke, b.deadline, b.observer.clone());
    let svc = Once(Some(move |r: Request<Req>| async move {
        invoke(r, ctx, handler)
            .await
            .map(|resp| resp.map(|s| DeadlineStream::new(s, deadline, observer)))
    }));
    let resp = cfg
        .grpc::<Resp, Req>(b.observer.clone())
        .server_streaming(svc, b.req)
        .await;
    finish(b.guard, b.observer, resp)
}

/// Serves a client-streaming method: a stream of bare structs in, one out.
pub async fn client_streaming<Req, Resp, B, H, F>(
    cfg: &ServiceConfig,
    service: &'static str,
    method: &'static str,
    req: http::Request<B>,
    handler: H,
) -> HttpResponse
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Streaming<Req>>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
{
    let b = match cfg.begin(service, method, CallKind::ClientStreaming, req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (ctx, observer) = (b.invoke, b.observer.clone());
    let svc = Once(Some(move |r| async move {
        let result = invoke(r, ctx, handler).await;
        observe_send(&observer, result)
    }));
    let resp = cfg
        .grpc::<Resp, Req>(b.observer.clone())
        .client_streaming(svc, b.req)
        .await;
    finish(b.guard, b.observer, resp)
}

/// Serves a bidirectional streaming method.
pub async fn streaming<Req, Resp, S, B, H, F>(
    cfg: &ServiceConfig,
    service: &'static str,
    method: &'static str,
    req: http::Request<B>,
    handler: H,
) -> HttpResponse
where
    Req: pilota::thrift::Message + 'static,
    Resp: pilota::thrift::Message + 'static,
    S: Stream<Item = Result<Resp, Status>> + Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
    H: FnOnce(Request<Streaming<Req>>) -> F + Send + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    let b = match cfg.begin(service, method, CallKind::Bidi, req) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (ctx, deadline, observer) = (b.invoke, b.deadline, b.observer.clone());
    let svc = Once(Some(move |r: Request<Streaming<Req>>| async move {
        invoke(r, ctx, handler)
            .await
            .map(|resp| resp.map(|s| DeadlineStream::new(s, deadline, observer)))
    }));
    let resp = cfg
        .grpc::<Resp, Req>(b.observer.clone())
        .streaming(svc, b.req)
        .await;
    finish(b.guard, b.observer, resp)
}

/// The answer for a method this service does not have: `UNIMPLEMENTED`,
/// quoting the method name once, cut to 128 bytes. An empty `method` (what
/// [`method_of`] gives for a malformed path) is answered as a malformed path.
pub fn unknown_method(service: &str, method: &str) -> http::Response<tonic::body::Body> {
    if method.is_empty() {
        return status_response(malformed_path());
    }
    status_response(Status::unimplemented(format!(
        "unknown method `{}` of service `{service}`",
        echoed(method)
    )))
}

/// The status for a path that is not `/[package.]Service/Method`.
pub(crate) fn malformed_path() -> Status {
    Status::unimplemented("malformed path: expected `/[package.]Service/Method`")
}

/// A trailers-only response carrying `status`, with our content-type.
pub fn status_response(status: Status) -> http::Response<tonic::body::Body> {
    let mut resp = status.into_http::<tonic::body::Body>();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
    resp
}

/// The method name of a gRPC path `/[package.]Service/Method`, or `""`
/// when the path does not have exactly those two non-empty segments (so it
/// matches no method: `/evil.TestService/Public/Echo` is not `Echo`).
pub fn method_of(path: &str) -> &str {
    split_path(path).map_or("", |(_, method)| method)
}

/// The service segment (`[package.]Service`) and the method of a gRPC
/// path; `None` unless the path is exactly `/<service>/<method>`, both
/// non-empty, the service with a non-empty name after its last `.`.
pub(crate) fn split_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let bare = service.rsplit('.').next().unwrap_or(service);
    if bare.is_empty() || method.is_empty() || method.contains('/') {
        return None;
    }
    Some((service, method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_have_exactly_two_segments() {
        assert_eq!(
            split_path("/echo.TestService/Echo"),
            Some(("echo.TestService", "Echo"))
        );
        assert_eq!(
            split_path("/TestService/Echo"),
            Some(("TestService", "Echo"))
        );
        assert_eq!(
            split_path("/a.b.c.TestService/Echo"),
            Some(("a.b.c.TestService", "Echo"))
        );
        for bad in [
            "/evil.TestService/Public/Echo",
            "/echo.TestService/",
            "/echo.TestService/Echo/",
            "echo.TestService/Echo",
            "//Echo",
            "/echo.TestService//Echo",
            "/echo./Echo",
            "/echo.TestService",
            "/",
            "",
        ] {
            assert_eq!(split_path(bad), None, "{bad}");
            assert_eq!(method_of(bad), "", "{bad}");
        }
    }
}
