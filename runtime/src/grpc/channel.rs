//! The transport under a [`GrpcClient`](super::GrpcClient): Thrift's
//! content-type, outgoing metainfo, the receive limit, the deadline and
//! cancellation on every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderValue, CONTENT_TYPE};
use tonic::Status;

use super::cancel;
use super::client::{BoxError, GrpcTransport};
use crate::codec::{LimitedBody, CONTENT_TYPE_THRIFT};
use crate::metainfo::MetaInfo;
use crate::observe::CallObserver;

/// A transport wrapper that speaks Thrift over gRPC: sets
/// `content-type: application/grpc+thrift` on every request (tonic's client
/// always writes `application/grpc`, which a Kitex server takes for
/// protobuf), and enforces the receive limit on response messages.
#[derive(Debug, Clone)]
pub(crate) struct ThriftChannel<T> {
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
        let deadline = crate::timeout::grpc_timeout(req.headers())
            .and_then(Result::ok)
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
                    Box::new(crate::timeout::deadline_exceeded()) as BoxError
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

impl<T> ThriftChannel<T> {
    pub(crate) fn new(inner: T, max_decoding_message_size: usize) -> Self {
        ThriftChannel {
            inner,
            max_decoding_message_size,
        }
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

/// Carries a call's observer from the client to its transport wrapper.
#[derive(Clone)]
pub(super) struct ObserverHandle(pub(super) Arc<CallObserver>);
