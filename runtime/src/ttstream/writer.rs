//! A connection's write side: every stream encodes its frames straight
//! into one shared buffer ([`FrameSink`]), and one writer task
//! ([`write_frames`]) takes the whole buffer at a time and writes it.
//!
//! Frames ready together thus go out in one write, with no queue item,
//! allocation or copy per message: a DATA frame is its stream's header
//! template and its payload appended to the buffer. The writer swaps the
//! buffer for its own empty one, so the two allocations are reused for
//! the life of the connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tonic::Status;

use super::frame::{DataFrames, StreamFrame};

/// Bytes queued for the writer beyond which streams wait before adding
/// messages (frames that end or reset a stream never wait). One append
/// may go past it: a stream adds what its body yielded at once.
pub(crate) const WRITE_LIMIT: usize = 1024 * 1024;
/// Bytes gathered before the writer writes without first letting the
/// other tasks that are ready add their frames.
const WRITE_BATCH: usize = 64 * 1024;
/// Messages of at most this many bytes are copied into the buffer; larger
/// ones are queued as they are, behind their header.
const COPY_BYTES: usize = 16 * 1024;
/// A writer buffer grown past this is let go after a write of less than a
/// quarter of it (the burst that grew it is over).
const KEEP_CAPACITY: usize = 256 * 1024;

/// The connection's writer is gone: its connection is closed or closing.
#[derive(Debug)]
pub(crate) struct Closed;

/// Why [`send_messages`] stopped.
pub(crate) enum SendError {
    /// The writer is gone (the connection closed).
    Closed,
    /// The gRPC framing of the messages is unusable.
    Bad(Status),
}

/// Where the streams of one connection put their frames (cheap to clone).
/// When the last one is dropped, the writer writes what is queued, shuts
/// the connection's write side down and ends.
pub(crate) struct FrameSink {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer: notified when the queue goes from empty to not
    /// empty, and when the last sink is dropped.
    ready: Notify,
    /// Wakes streams waiting for room and for the writer's end.
    room: Notify,
    sinks: AtomicUsize,
}

/// The frames waiting for the writer, in order: `segments`, then `tail`.
#[derive(Default)]
pub(crate) struct Queue {
    /// Encoded frames cut off before a large payload, and large payloads
    /// with their headers, not copied.
    segments: VecDeque<Bytes>,
    /// Encoded frames since the last segment.
    tail: BytesMut,
    /// Bytes in `segments` and `tail`.
    queued: usize,
    /// The writer has ended.
    closed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Whether messages may be added without waiting: under
    /// [`WRITE_LIMIT`]; `Err` once the writer has ended.
    fn has_room(&self) -> Result<bool, Closed> {
        match self.closed {
            true => Err(Closed),
            false => Ok(self.queued < WRITE_LIMIT),
        }
    }

    /// Appends one frame, encoded.
    fn frame(&mut self, frame: &StreamFrame) {
        let before = self.tail.len();
        match frame.encode(&mut self.tail) {
            Ok(()) => self.queued += self.tail.len() - before,
            Err(e) => {
                tracing::warn!(stream = frame.stream_id, reason = %e, "ttstream frame cannot be encoded; dropped")
            }
        }
    }

    /// Appends a DATA frame of `frames` carrying `message`, copied.
    fn copy_message(&mut self, frames: &DataFrames, message: &[u8]) {
        let before = self.tail.len();
        if frames.put_head(&mut self.tail, message.len()) {
            self.tail.extend_from_slice(message);
            self.queued += self.tail.len() - before;
        }
    }

    /// Appends a DATA frame of `frames` carrying `message`, not copied.
    fn large_message(&mut self, frames: &DataFrames, message: Bytes) {
        let before = self.tail.len();
        if !frames.put_head(&mut self.tail, message.len()) {
            return;
        }
        self.queued += self.tail.len() - before + message.len();
        self.segments.push_back(self.tail.split().freeze());
        self.segments.push_back(message);
    }
}

/// A sink and the writer task that drains it into `wr`; a write that makes
/// no progress for `write_timeout` (a peer that reads nothing) ends the
/// writer, and with it the connection.
pub(crate) fn spawn_writer<W>(
    wr: W,
    write_timeout: Duration,
) -> (FrameSink, tokio::task::JoinHandle<()>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue::default()),
        ready: Notify::new(),
        room: Notify::new(),
        sinks: AtomicUsize::new(1),
    });
    let task = tokio::spawn(write_frames(wr, shared.clone(), write_timeout));
    (FrameSink { shared }, task)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `ready` says something of the queue (checked at once,
    /// with one lock, and again each time the writer takes the queue or
    /// ends).
    async fn wait_for<R>(&self, ready: impl Fn(&Queue) -> Option<R>) -> R {
        if let Some(r) = ready(&self.lock()) {
            return r;
        }
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(r) = ready(&self.lock()) {
                return r;
            }
            notified.await;
        }
    }
}

impl FrameSink {
    /// Runs `add` on the queue, and wakes the writer if it was empty.
    fn append<R>(&self, add: impl FnOnce(&mut Queue) -> R) -> Result<R, Closed> {
        let mut q = self.shared.lock();
        if q.closed {
            return Err(Closed);
        }
        let was_empty = q.is_empty();
        let r = add(&mut q);
        let wake = was_empty && !q.is_empty();
        drop(q);
        if wake {
            self.shared.ready.notify_one();
        }
        Ok(r)
    }

    /// Queues one frame at once, whatever is queued (HEADER, TRAILER, RST:
    /// small, and at most a few per stream).
    pub(crate) fn frame(&self, frame: &StreamFrame) -> Result<(), Closed> {
        self.append(|q| q.frame(frame))
    }

    /// Waits until the queue is under [`WRITE_LIMIT`].
    pub(crate) async fn room(&self) -> Result<(), Closed> {
        self.shared
            .wait_for(|q| match q.has_room() {
                Ok(false) => None,
                room => Some(room.map(|_| ())),
            })
            .await
    }

    /// Whether messages may be added now without waiting ([`room`]
    /// would complete at once with `Ok`); `Err` once the writer has ended.
    ///
    /// [`room`]: FrameSink::room
    pub(crate) fn has_room(&self) -> Result<bool, Closed> {
        self.shared.lock().has_room()
    }

    /// Whether the writer has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Completes when the writer has ended. The future holds no sink, so
    /// it does not keep the connection open.
    pub(crate) fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let shared = self.shared.clone();
        async move { shared.wait_for(|q| q.closed.then_some(())).await }
    }
}

impl Clone for FrameSink {
    fn clone(&self) -> Self {
        self.shared.sinks.fetch_add(1, Ordering::Relaxed);
        FrameSink {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for FrameSink {
    fn drop(&mut self) {
        if self.shared.sinks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.ready.notify_one();
        }
    }
}

/// Queues every complete gRPC message of `rest` followed by `chunk` as a
/// DATA frame of `frames`, after waiting for room; an incomplete message
/// at the end stays in `rest`. The messages before a bad prefix are queued
/// before it is reported.
pub(crate) async fn send_messages(
    chunk: Bytes,
    rest: &mut BytesMut,
    frames: &DataFrames,
    out: &FrameSink,
) -> Result<(), SendError> {
    out.room().await.map_err(|_| SendError::Closed)?;
    queue_messages(chunk, rest, frames, out)
}

/// [`send_messages`] without waiting for room: for a caller that has just
/// seen [`FrameSink::has_room`].
pub(crate) fn queue_messages(
    chunk: Bytes,
    rest: &mut BytesMut,
    frames: &DataFrames,
    out: &FrameSink,
) -> Result<(), SendError> {
    let data = if rest.is_empty() {
        chunk
    } else {
        rest.extend_from_slice(&chunk);
        rest.split().freeze()
    };
    let (pos, result) = out
        .append(|q| {
            let mut pos = 0;
            while let Some(&[flag, a, b, c, d]) = data.get(pos..pos + 5) {
                if flag != 0 {
                    return (
                        pos,
                        Err(SendError::Bad(Status::internal(
                            "compressed messages cannot be sent over ttstream",
                        ))),
                    );
                }
                let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
                let start = pos + 5;
                let Some(end) = start.checked_add(len).filter(|end| *end <= data.len()) else {
                    break;
                };
                pos = end;
                if len > COPY_BYTES {
                    q.large_message(frames, data.slice(start..end));
                } else {
                    q.copy_message(frames, &data[start..end]);
                }
            }
            (pos, Ok(()))
        })
        .map_err(|_| SendError::Closed)?;
    if result.is_ok() {
        rest.extend_from_slice(&data[pos..]);
    }
    result
}

/// The writer task: waits for frames, lets the other ready tasks add
/// theirs (once, while less than [`WRITE_BATCH`] is queued), takes the
/// whole queue and writes it. Ends when the last sink is dropped (after
/// writing what is queued) or a write fails or times out; either way the
/// sinks then see the queue closed.
async fn write_frames<W: AsyncWrite + Unpin>(
    mut wr: W,
    shared: Arc<Shared>,
    write_timeout: Duration,
) {
    let mut buf = BytesMut::new();
    let mut segments = VecDeque::new();
    loop {
        // Wait for frames (a permit from `notify_one` is never lost).
        let mut last = false;
        loop {
            let queued = shared.lock().queued;
            if queued > 0 {
                if queued < WRITE_BATCH {
                    let_ready_tasks_run().await;
                }
                break;
            }
            if shared.sinks.load(Ordering::Acquire) == 0 {
                last = true;
                break;
            }
            shared.ready.notified().await;
        }
        {
            let mut q = shared.lock();
            std::mem::swap(&mut q.tail, &mut buf);
            std::mem::swap(&mut q.segments, &mut segments);
            q.queued = 0;
        }
        shared.room.notify_waiters();
        let write = async {
            for segment in segments.drain(..) {
                wr.write_all(&segment).await?;
            }
            wr.write_all(&buf).await?;
            wr.flush().await
        };
        let ok = match tokio::time::timeout(write_timeout, write).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "ttstream connection write failed");
                false
            }
            Err(_) => {
                tracing::warn!(timeout = ?write_timeout, "ttstream peer reads nothing; closing the connection");
                false
            }
        };
        // A large buffer is kept while writes fill it (allocating one per
        // write costs fresh pages each time) and let go once they do not.
        let written = buf.len();
        buf.clear();
        if buf.capacity() > KEEP_CAPACITY && written < KEEP_CAPACITY / 4 {
            buf = BytesMut::new();
        }
        if !ok {
            break;
        }
        if last {
            let _ = wr.shutdown().await;
            break;
        }
    }
    let mut q = shared.lock();
    q.closed = true;
    q.segments.clear();
    q.tail = BytesMut::new();
    q.queued = 0;
    drop(q);
    shared.room.notify_waiters();
}

/// Lets the tasks already queued on this worker run before the caller
/// goes on: the task wakes itself and returns `Pending` once, which puts
/// it at the back of the worker's run queue. Unlike
/// [`tokio::task::yield_now`], this does not wait for the runtime to poll
/// its I/O driver first (a syscall per write).
fn let_ready_tasks_run() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ttstream::frame::FrameType;
    use tokio::io::AsyncReadExt;

    fn prefixed(messages: &[&[u8]]) -> Bytes {
        let mut out = BytesMut::new();
        for m in messages {
            out.extend_from_slice(&[0]);
            out.extend_from_slice(&(m.len() as u32).to_be_bytes());
            out.extend_from_slice(m);
        }
        out.freeze()
    }

    fn decode_all(mut wire: BytesMut) -> Vec<StreamFrame> {
        let mut frames = Vec::new();
        while let Some(f) = StreamFrame::decode(&mut wire, 1 << 24).unwrap() {
            frames.push(f);
        }
        assert!(wire.is_empty(), "{} bytes left", wire.len());
        frames
    }

    #[tokio::test]
    async fn frames_arrive_in_order_and_the_last_sink_closes_the_connection() {
        let (a, mut b) = tokio::io::duplex(1 << 20);
        let (sink, _) = spawn_writer(a, Duration::from_secs(5));
        let frames = DataFrames::new(3, "Echo");
        sink.frame(&StreamFrame::new(FrameType::Header, 3, "Echo"))
            .unwrap();
        let big = vec![7u8; COPY_BYTES + 1];
        let mut rest = BytesMut::new();
        send_messages(
            prefixed(&[b"one", &big, b"three"]),
            &mut rest,
            &frames,
            &sink,
        )
        .await
        .ok()
        .unwrap();
        // A message cut in two arrives whole once its end is sent.
        let split = prefixed(&[b"four"]);
        send_messages(split.slice(..6), &mut rest, &frames, &sink.clone())
            .await
            .ok()
            .unwrap();
        send_messages(split.slice(6..), &mut rest, &frames, &sink)
            .await
            .ok()
            .unwrap();
        sink.frame(&StreamFrame::new(FrameType::Trailer, 3, "Echo"))
            .unwrap();
        drop(sink);
        let mut wire = Vec::new();
        b.read_to_end(&mut wire).await.unwrap();
        let got = decode_all(BytesMut::from(&wire[..]));
        let kinds: Vec<_> = got.iter().map(|f| f.frame_type.unwrap()).collect();
        use FrameType::*;
        assert_eq!(kinds, [Header, Data, Data, Data, Data, Trailer]);
        let payloads: Vec<&[u8]> = got[1..5].iter().map(|f| &f.payload[..]).collect();
        assert_eq!(payloads, [&b"one"[..], &big[..], b"three", b"four"]);
        assert!(got.iter().all(|f| f.stream_id == 3));
    }

    #[tokio::test]
    async fn a_peer_that_reads_nothing_closes_the_sink_and_frees_waiters() {
        let (a, _b) = tokio::io::duplex(64);
        let (sink, _) = spawn_writer(a, Duration::from_millis(200));
        let frames = DataFrames::new(1, "Echo");
        let message = vec![1u8; 1000];
        let mut rest = BytesMut::new();
        // Fill past the limit: the writer is stuck on the first write, so
        // a later send waits for room until the timeout ends the writer.
        let mut outcome = Ok(());
        for _ in 0..(2 * WRITE_LIMIT / 1000) {
            outcome = send_messages(prefixed(&[&message]), &mut rest, &frames, &sink).await;
            if outcome.is_err() {
                break;
            }
        }
        assert!(matches!(outcome, Err(SendError::Closed)));
        tokio::time::timeout(Duration::from_secs(5), sink.closed())
            .await
            .expect("closed() completes");
        assert!(sink.is_closed());
        assert!(sink
            .frame(&StreamFrame::new(FrameType::Rst, 1, "Echo"))
            .is_err());
    }

    #[tokio::test]
    async fn has_room_says_whether_a_send_would_wait() {
        let (a, _b) = tokio::io::duplex(64);
        let (sink, _) = spawn_writer(a, Duration::from_millis(200));
        let frames = DataFrames::new(1, "Echo");
        let mut rest = BytesMut::new();
        assert!(matches!(sink.has_room(), Ok(true)));
        // The test runtime runs the writer only when this task waits, so
        // the whole message is still queued here.
        let message = vec![1u8; WRITE_LIMIT];
        queue_messages(prefixed(&[&message]), &mut rest, &frames, &sink)
            .ok()
            .unwrap();
        assert!(matches!(sink.has_room(), Ok(false)));
        tokio::time::timeout(Duration::from_secs(5), sink.closed())
            .await
            .expect("the stuck write times out");
        assert!(sink.has_room().is_err());
    }

    #[tokio::test]
    async fn a_compressed_message_is_refused_after_the_ones_before_it() {
        let (a, mut b) = tokio::io::duplex(1 << 16);
        let (sink, _) = spawn_writer(a, Duration::from_secs(5));
        let frames = DataFrames::new(5, "Echo");
        let mut chunk = BytesMut::from(&prefixed(&[b"ok"])[..]);
        chunk.extend_from_slice(&[1, 0, 0, 0, 1, b'z']);
        let mut rest = BytesMut::new();
        let r = send_messages(chunk.freeze(), &mut rest, &frames, &sink).await;
        assert!(matches!(r, Err(SendError::Bad(s)) if s.message().contains("compressed")));
        drop(sink);
        let mut wire = Vec::new();
        b.read_to_end(&mut wire).await.unwrap();
        let got = decode_all(BytesMut::from(&wire[..]));
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].payload[..], b"ok");
    }
}
