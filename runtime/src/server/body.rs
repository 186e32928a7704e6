//! The active-call count: a guard that counts a call as active until its
//! response body is gone; and the request body timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;

use super::limits::StreamHold;
use crate::observe::CallObserver;

/// Counts calls in progress; shared by the clones of one service.
#[derive(Debug, Default, Clone)]
pub(crate) struct ActiveCalls(Arc<AtomicUsize>);

impl ActiveCalls {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn enter(&self) -> CallGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        CallGuard {
            active: self.0.clone(),
            stream: None,
        }
    }
}

/// Decrements the active-call count when dropped.
pub(crate) struct CallGuard {
    active: Arc<AtomicUsize>,
    /// The server's stream slot, when stream limits are counted: released
    /// with the guard, when the response is over.
    stream: Option<StreamHold>,
}

impl CallGuard {
    /// Also holds the stream slot the connection admitted the call with.
    pub(crate) fn holding(mut self, stream: Option<StreamHold>) -> Self {
        self.stream = stream;
        self
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that holds a [`CallGuard`] until it is dropped: a
/// streaming call stays active while its response is being sent.
pub(crate) struct GuardedBody {
    inner: tonic::body::Body,
    _guard: CallGuard,
    /// Hears the final status from the trailers; reports the end when dropped.
    observer: Option<Arc<CallObserver>>,
}

impl GuardedBody {
    pub(crate) fn new(
        inner: tonic::body::Body,
        guard: CallGuard,
        observer: Option<Arc<CallObserver>>,
    ) -> Self {
        GuardedBody {
            inner,
            _guard: guard,
            observer,
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let (Some(o), Poll::Ready(Some(Ok(frame)))) = (&self.observer, &polled) {
            if let Some(trailers) = frame.trailers_ref() {
                if let Some(status) = Status::from_header_map(trailers) {
                    o.set_status(status.code(), status.message());
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body that must end within a time limit, counted from its
/// creation (not reset by each frame, so a client sending a byte at a
/// time gains nothing): past it, the body fails with `DEADLINE_EXCEEDED`
/// naming the timeout, and tonic answers the call with that status.
pub(crate) struct TimedBody<B> {
    inner: Pin<Box<B>>,
    /// The timer and its duration, until the body ends or fails.
    timer: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
    failed: bool,
}

impl<B> TimedBody<B> {
    pub(crate) fn new(inner: B, timeout: Option<Duration>) -> Self {
        TimedBody {
            inner: Box::pin(inner),
            timer: timeout.map(|t| (Box::pin(tokio::time::sleep(t)), t)),
            failed: false,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let polled = self.inner.as_mut().poll_frame(cx).map_err(Into::into);
        match &polled {
            Poll::Pending => {
                if let Some((sleep, timeout)) = self.timer.as_mut() {
                    if Future::poll(sleep.as_mut(), cx).is_ready() {
                        let timeout = *timeout;
                        self.timer = None;
                        self.failed = true;
                        return Poll::Ready(Some(Err(Box::new(Status::deadline_exceeded(
                            format!(
                                "the request did not arrive in full within the server's \
                                 request body timeout of {timeout:?}"
                            ),
                        )))));
                    }
                }
            }
            Poll::Ready(Some(Ok(_))) if !self.inner.is_end_stream() => {}
            // Ended, or failed on its own: no deadline any more.
            Poll::Ready(_) => self.timer = None,
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
