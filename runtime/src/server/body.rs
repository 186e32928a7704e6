//! The active-call count: a guard that counts a call as active until its
//! response body is gone.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

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
