//! Cancellation that reaches the server.
//!
//! Once response headers have arrived, hyper keeps sending the request body
//! even if the caller drops the response, and a dropped call can end with a
//! clean END_STREAM: the server would take a truncated request for a
//! complete one. Here the request body is tied to a guard held by the
//! response body: if the call future or the response is dropped before the
//! trailers arrive, the request body fails, which makes hyper reset the
//! stream (RST_STREAM CANCEL).
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::observe::CallObserver;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use http_body::{Body, Frame};
use tonic::Status;

#[derive(Default)]
struct State {
    cancelled: AtomicBool,
    waker: AtomicWaker,
}

/// Cancels the request body when dropped, unless disarmed first.
pub(crate) struct Guard(Option<Arc<State>>);
impl Guard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}
impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.cancelled.store(true, Ordering::Release);
            s.waker.wake();
        }
    }
}

struct ReqBody {
    inner: tonic::body::Body,
    state: Arc<State>,
}
impl Body for ReqBody {
    type Data = Bytes;
    type Error = Status;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.state.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(Some(Err(Status::cancelled("call cancelled by the client"))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Pending => {
                // Only a body that waits needs waking on cancel; check again
                // after registering so a cancel in between is not missed.
                self.state.waker.register(cx.waker());
                if self.state.cancelled.load(Ordering::Acquire) {
                    return Poll::Ready(Some(Err(Status::cancelled(
                        "call cancelled by the client",
                    ))));
                }
                Poll::Pending
            }
            ready => ready,
        }
    }
    fn is_end_stream(&self) -> bool {
        false
    }
}

/// Ties `req`'s body to the returned guard.
pub(crate) fn wrap_request(
    req: http::Request<tonic::body::Body>,
) -> (http::Request<tonic::body::Body>, Guard) {
    let state = Arc::new(State::default());
    let guard = Guard(Some(state.clone()));
    (
        req.map(|b| tonic::body::Body::new(ReqBody { inner: b, state })),
        guard,
    )
}

/// A response body that disarms the cancel guard once the call completes,
/// and fails the call with DEADLINE_EXCEEDED (cancelling it on the wire)
/// when its deadline passes first.
pub(crate) struct RespBody<B> {
    inner: Pin<Box<B>>,
    guard: Guard,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: bool,
    observer: Option<Arc<CallObserver>>,
}
impl<B> RespBody<B> {
    pub(crate) fn new(
        inner: B,
        guard: Guard,
        deadline: Option<tokio::time::Instant>,
        observer: Option<Arc<CallObserver>>,
    ) -> Self {
        RespBody {
            inner: Box::pin(inner),
            guard,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            expired: false,
            observer,
        }
    }
}
impl<B> Body for RespBody<B>
where
    B: Body,
    B::Error: From<Status>,
{
    type Data = B::Data;
    type Error = B::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Some(d) = self.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                self.expired = true;
                // Dropping the armed guard cancels the request: RST_STREAM.
                let guard = std::mem::replace(&mut self.guard, Guard(None));
                drop(guard);
                return Poll::Ready(Some(Err(crate::timeout::deadline_exceeded().into())));
            }
        }
        let r = self.inner.as_mut().poll_frame(cx);
        match &r {
            Poll::Ready(None) => self.guard.disarm(),
            Poll::Ready(Some(Ok(f))) if f.is_trailers() => {
                self.guard.disarm();
                if let (Some(o), Some(t)) = (&self.observer, f.trailers_ref()) {
                    if let Some(status) = Status::from_header_map(t) {
                        o.set_status(status.code(), status.message());
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => {
                // A send hook that refused a message made the transport
                // reset the stream: report the hook's status instead.
                if let Some(status) = self.observer.as_ref().and_then(|o| o.hook_error()) {
                    return Poll::Ready(Some(Err(status.into())));
                }
            }
            _ => {}
        }
        r
    }
    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }
}
