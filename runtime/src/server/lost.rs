//! Telling a request stream that ended from one whose connection died.
//!
//! When an HTTP/2 keepalive PING goes unanswered, hyper closes the
//! connection with `GOAWAY(NO_ERROR)`, and the request bodies of its open
//! streams then simply end, as if the client had finished sending: a
//! handler would take a truncated stream for a complete one. Here the
//! connection records when it last read a byte and whether it died; a
//! request body that ends while its connection has been silent for the
//! keepalive timeout waits (briefly) for the verdict, and fails with
//! `UNAVAILABLE` when the connection died.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tonic::Status;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long an ending body waits for its connection's verdict.
const VERDICT_WAIT: Duration = Duration::from_millis(100);

/// What one HTTP/2 connection tells its request bodies (in each request's
/// extensions).
#[derive(Clone)]
pub(crate) struct ConnWatch {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the last read of at least one byte.
    last_read: Arc<AtomicU64>,
    /// Silence that can only mean a failed keepalive (its timeout).
    silence: Duration,
    dead: watch::Receiver<bool>,
}

impl ConnWatch {
    /// A watch for a connection whose keepalive gives up after
    /// `keepalive_timeout` unanswered, the I/O that feeds it, and the
    /// sender that declares the connection dead.
    pub(crate) fn new<IO>(
        io: IO,
        keepalive_timeout: Duration,
    ) -> (Self, ReadClock<IO>, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let epoch = Instant::now();
        let last_read = Arc::new(AtomicU64::new(0));
        let clock = ReadClock {
            inner: io,
            epoch,
            last_read: last_read.clone(),
        };
        let w = ConnWatch {
            epoch,
            last_read,
            silence: keepalive_timeout,
            dead: rx,
        };
        (w, clock, tx)
    }

    fn silent_for(&self) -> Duration {
        let last = Duration::from_nanos(self.last_read.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

/// The connection's I/O, noting the time of each read.
pub(crate) struct ReadClock<IO> {
    inner: IO,
    epoch: Instant,
    last_read: Arc<AtomicU64>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for ReadClock<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.last_read.store(now, Ordering::Relaxed);
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ReadClock<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

type Verdict = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A request body that fails with `UNAVAILABLE` instead of ending when its
/// connection died (see the module docs).
pub(crate) struct LostBody<B> {
    inner: Pin<Box<B>>,
    watch: Option<ConnWatch>,
    verdict: Option<Verdict>,
}

impl<B> LostBody<B> {
    pub(crate) fn new(inner: B, watch: Option<ConnWatch>) -> Self {
        LostBody {
            inner: Box::pin(inner),
            watch,
            verdict: None,
        }
    }

    /// `None` (ended) or `UNAVAILABLE`, by the connection's verdict.
    fn judged<D>(&self) -> Poll<Option<Result<Frame<D>, BoxError>>> {
        match &self.watch {
            Some(w) if *w.dead.borrow() => Poll::Ready(Some(Err(Box::new(Status::unavailable(
                "connection lost: the client stopped answering keepalive PINGs",
            ))))),
            _ => Poll::Ready(None),
        }
    }
}

impl<B> Body for LostBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        if let Some(v) = self.verdict.as_mut() {
            ready!(v.as_mut().poll(cx));
            self.verdict = None;
            return self.judged();
        }
        match ready!(self.inner.as_mut().poll_frame(cx)) {
            Some(r) => Poll::Ready(Some(r.map_err(Into::into))),
            None => {
                let Some(w) = &self.watch else {
                    return Poll::Ready(None);
                };
                if *w.dead.borrow() || w.silent_for() < w.silence {
                    return self.judged();
                }
                // Silent as long as a failed keepalive: the connection is
                // most likely being closed right now; wait for its verdict.
                let mut dead = w.dead.clone();
                let mut v: Verdict = Box::pin(async move {
                    let _ = tokio::time::timeout(VERDICT_WAIT, dead.wait_for(|d| *d)).await;
                });
                if v.as_mut().poll(cx).is_ready() {
                    return self.judged();
                }
                self.verdict = Some(v);
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.verdict.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
