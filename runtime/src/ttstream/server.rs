//! Serving one TTHeader Streaming connection: a read loop that owns the
//! stream table, one task per stream that runs the generated service and
//! turns its HTTP response into frames, and one writer task that batches
//! every stream's frames onto the socket.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use faststr::FastStr;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use tonic::Status;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

use super::frame::DataFrames;
use super::frame::{Decoded, FrameClock, FrameType, KnownDataHeader, StreamFrame};
use super::inbox::{body_chunk, Batch, Inbound, Payload, StreamMap, COPY_MAX};
use super::writer::{send_messages, spawn_writer, FrameSink, SendError};
use super::TTHeaderStreaming;
use crate::metainfo::MetaInfo;
use crate::pingpong::service::MethodKind;
use crate::pingpong::{ApplicationException, ExceptionKind, PingPongService};
use crate::server::dispatch::PeerAddr;
use crate::server::limits::{Limits, StreamHold};
use crate::status::BizStatusError;
use crate::transport::{write_message_header, MessageHeader, MessageType};

/// Batches queued per stream between the connection and its handler (a
/// batch is the stream's messages of one read, see [`Inbound`]). A full
/// queue pauses reading the connection (see the module docs).
pub(crate) const STREAM_QUEUE: usize = 16;
/// How long a full stream queue may pause the connection before that
/// stream alone is ended (its handler stopped reading).
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Free buffer space kept for each read of the connection.
pub(crate) const READ_SPARE: usize = 32 * 1024;
/// Kitex's "unexpected header" error code (`exception.go`).
const CODE_UNEXPECTED_HEADER: i32 = 12002;

/// A generated service as ttstream calls it: an HTTP handler plus its
/// method table.
#[derive(Clone)]
pub(crate) struct StreamService {
    /// The full service name (`echo.TestService`), for the request path.
    pub(crate) name: &'static str,
    pub(crate) http: BoxCloneSyncService<
        http::Request<tonic::body::Body>,
        http::Response<tonic::body::Body>,
        Infallible,
    >,
    pub(crate) methods: Arc<dyn PingPongService>,
}

/// The services of a server, by bare name (what `isn` carries).
#[derive(Clone, Default)]
pub(crate) struct StreamRoutes {
    services: HashMap<&'static str, StreamService>,
}

impl StreamRoutes {
    pub(crate) fn add(&mut self, svc: StreamService) {
        let bare = svc.name.rsplit('.').next().unwrap_or(svc.name);
        self.services.insert(bare, svc);
    }

    /// The service named `isn` (bare or full) if it has `method`, else the
    /// one service that has it (Kitex's non-strict `SearchService`).
    fn find(&self, isn: &str, method: &str) -> Option<&StreamService> {
        let bare = isn.rsplit('.').next().unwrap_or(isn);
        if let Some(s) = self.services.get(bare) {
            if s.methods.method_kind(method).is_some() {
                return Some(s);
            }
        }
        let mut with = self
            .services
            .values()
            .filter(|s| s.methods.method_kind(method).is_some());
        match (with.next(), with.next()) {
            (Some(s), None) => Some(s),
            _ => None,
        }
    }
}

/// What a ttstream connection needs from the server.
pub(crate) struct ConnectionConfig {
    pub(crate) routes: Arc<StreamRoutes>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) max_frame: usize,
    pub(crate) max_streams: Option<usize>,
    pub(crate) idle_timeout: Duration,
    /// Longest time from a frame's first byte to its last.
    pub(crate) frame_timeout: Duration,
    pub(crate) peer: Option<SocketAddr>,
    /// The client's verified TLS certificates (mTLS), given to every stream.
    pub(crate) peer_certs: Option<crate::server::connection::PeerCerts>,
}

/// One open stream, as the read loop sees it.
struct OpenStream {
    /// Feeds the request body; `None` once the client half-closed.
    data: Option<mpsc::Sender<Inbound>>,
    /// Messages of the current read not yet handed to the handler.
    batch: Batch,
    method: FastStr,
    /// Set when the client reset the stream: its request body then fails
    /// instead of ending cleanly.
    reset: Arc<AtomicBool>,
    task: AbortHandle,
    generation: u64,
}

/// Serves a connection whose first bytes (`buf`) were detected as TTHeader
/// Streaming, until the peer closes it, its framing breaks, it stays idle
/// for `idle_timeout`, or `stop` fires and its streams are over.
pub(crate) async fn serve_connection<IO>(
    io: IO,
    mut buf: BytesMut,
    cfg: ConnectionConfig,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(io);
    let (out, writer) = spawn_writer(wr, conn_write_timeout(&cfg));
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(i32, u64)>();
    let mut conn = Connection {
        cfg,
        streams: StreamMap::default(),
        out,
        done: done_tx,
        generation: 0,
        counter: Arc::new(AtomicUsize::new(0)),
        stopping: false,
        dirty: Vec::new(),
        stuck: VecDeque::new(),
        refused: StreamMap::default(),
        refusals_due: Vec::new(),
    };
    let peer = conn.cfg.peer;
    // Made once: a fresh future per read would lock the queue each time.
    let writer_ended = conn.out.closed();
    tokio::pin!(writer_ended);
    let idle = conn.cfg.idle_timeout;
    let frame_timeout = conn.cfg.frame_timeout;
    let mut frame_clock = FrameClock::new(frame_timeout);
    let mut known = KnownDataHeader::default();
    'conn: loop {
        let before = buf.len();
        loop {
            // DATA, the common frame, is handled without awaiting; the
            // rest is boxed to keep this loop's future small.
            let max_frame = conn.cfg.max_frame;
            match Decoded::decode(&mut buf, max_frame, COPY_MAX, &mut known, |id, bytes| {
                conn.data(id, Payload::Copy(bytes))
            }) {
                Ok(Some(Decoded::Copied)) => {}
                Ok(Some(Decoded::Data { stream_id, payload })) => {
                    conn.data(stream_id, Payload::Large(payload))
                }
                Ok(Some(Decoded::Other(frame))) => Box::pin(conn.on_frame(frame)).await,
                Ok(None) => {
                    conn.flush_all();
                    if !conn.refusals_due.is_empty() {
                        conn.answer_refusals();
                    }
                    if !conn.stuck.is_empty() {
                        Box::pin(conn.unstick()).await;
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(?peer, reason = %e, "closing ttstream connection: bad frame");
                    break 'conn;
                }
            }
        }
        if conn.stopping && conn.streams.is_empty() {
            break;
        }
        let frame_deadline = frame_clock.deadline(before, buf.len());
        // Read the clock only when the idle timeout can apply.
        let idle_deadline = conn
            .streams
            .is_empty()
            .then(|| tokio::time::Instant::now() + idle);
        if buf.capacity() - buf.len() < READ_SPARE / 2 {
            buf.reserve(READ_SPARE);
        }
        tokio::select! {
            read = rd.read_buf(&mut buf) => match read {
                Ok(0) => {
                    if !buf.is_empty() {
                        tracing::debug!(?peer, bytes = buf.len(), "ttstream connection closed inside a frame");
                    }
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(?peer, error = %e, "ttstream connection read failed");
                    break;
                }
            },
            Some((id, generation)) = done_rx.recv() => {
                if conn.streams.get(&id).is_some_and(|s| s.generation == generation) {
                    conn.streams.remove(&id);
                }
            }
            _ = stop.wait_for(|s| *s), if !conn.stopping => conn.stopping = true,
            _ = &mut writer_ended => {
                tracing::debug!(?peer, "ttstream writer ended; closing the connection");
                break;
            }
            _ = sleep_until_opt(frame_deadline), if frame_deadline.is_some() => {
                tracing::warn!(?peer, timeout = ?frame_timeout, bytes = buf.len(),
                    "closing ttstream connection: a frame did not complete in time");
                break;
            }
            _ = sleep_until_opt(idle_deadline), if idle_deadline.is_some() => {
                tracing::debug!(?peer, "closing an idle ttstream connection");
                break;
            }
        }
    }
    // Handlers of streams still open lose their connection: stop them.
    for (_, s) in conn.streams.drain() {
        s.task.abort();
    }
    drop(conn);
    let _ = tokio::time::timeout(idle, writer).await;
}

/// Sleeps until `at`, or for ever without one.
async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How long one write may wait for a peer that does not read.
fn conn_write_timeout(cfg: &ConnectionConfig) -> Duration {
    cfg.idle_timeout
}

struct Connection {
    cfg: ConnectionConfig,
    streams: StreamMap<OpenStream>,
    out: FrameSink,
    done: mpsc::UnboundedSender<(i32, u64)>,
    generation: u64,
    counter: Arc<AtomicUsize>,
    stopping: bool,
    /// Streams whose batch holds messages of the current read.
    dirty: Vec<i32>,
    /// Batches that found their stream's queue full, with every batch
    /// after them, in order: the connection reads nothing until they are
    /// queued ([`Connection::unstick`]).
    stuck: VecDeque<(i32, Inbound)>,
    /// Streams of unknown (or non-streaming) methods, answered when the
    /// client sends its first message or half-closes (see
    /// [`Connection::refuse_later`]): at most [`REFUSALS_PENDING`].
    refused: StreamMap<(FastStr, Status)>,
    /// Refused streams whose first DATA arrived in the current read.
    refusals_due: Vec<i32>,
}

/// Refused streams a connection keeps waiting for their client's first
/// frame; beyond this, refusals are sent at once.
const REFUSALS_PENDING: usize = 64;

impl Connection {
    async fn on_frame(&mut self, frame: StreamFrame) {
        // Earlier batches first: a TRAILER or RST must not overtake them,
        // nor may a reused stream id receive them.
        if !self.stuck.is_empty() {
            self.unstick().await;
        }
        let id = frame.stream_id;
        let peer = self.cfg.peer;
        match frame.frame_type {
            None => tracing::warn!(
                ?peer,
                stream = id,
                frame_type = frame.header.int(super::frame::INT_KEY_FRAME_TYPE),
                "dropping a ttstream frame of unknown type"
            ),
            Some(FrameType::Meta) => {
                tracing::debug!(?peer, stream = id, "ignoring a ttstream META frame")
            }
            Some(FrameType::Header) => self.open(frame),
            Some(FrameType::Data) => self.data(id, Payload::Large(frame.payload)),
            Some(FrameType::Trailer) => {
                self.flush(id);
                if !self.stuck.is_empty() {
                    self.unstick().await;
                }
                if let Some((method, status)) = self.refused.remove(&id) {
                    return self.refuse(id, &method, status);
                }
                match self.streams.get_mut(&id) {
                    Some(s) => s.data = None,
                    None => {
                        tracing::debug!(?peer, stream = id, "TRAILER for no open stream; dropped")
                    }
                }
            }
            Some(FrameType::Rst) => match self.streams.remove(&id) {
                Some(s) => {
                    s.reset.store(true, Ordering::Release);
                    let why = decode_exception(&frame.payload)
                        .map(|e| format!("code {}: {}", e.kind.0, e.message))
                        .unwrap_or_else(|| "no readable exception".to_owned());
                    tracing::debug!(?peer, stream = id, %why, "stream reset by the client");
                    s.task.abort();
                }
                None => {
                    if self.refused.remove(&id).is_none() {
                        tracing::debug!(?peer, stream = id, "RST for no open stream; dropped")
                    }
                }
            },
        }
    }

    /// Adds a DATA payload to its stream's batch.
    fn data(&mut self, id: i32, payload: Payload<'_>) {
        let peer = self.cfg.peer;
        let Some(s) = self.streams.get_mut(&id) else {
            if self.refused.contains_key(&id) {
                self.refusals_due.push(id);
                return;
            }
            tracing::debug!(?peer, stream = id, "DATA for no open stream; dropped");
            return;
        };
        if s.data.is_none() {
            tracing::warn!(
                ?peer,
                stream = id,
                "DATA after the client's TRAILER; dropped"
            );
            return;
        }
        let was_empty = s.batch.is_empty();
        let (first, second) = match payload {
            Payload::Copy(bytes) => (s.batch.copy(bytes), None),
            Payload::Large(bytes) => {
                let (first, second) = s.batch.large(bytes);
                (first, Some(second))
            }
        };
        if was_empty && !s.batch.is_empty() {
            self.dirty.push(id);
        }
        // Not a loop over `[first, second]`: building that array per
        // message was a copy whose reload stalled (a tenth of the reader).
        if let Some(item) = first {
            self.deliver(id, item);
        }
        if let Some(item) = second {
            self.deliver(id, item);
        }
    }

    /// Hands the batch of every stream that got messages in this read to
    /// its handler.
    fn flush_all(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for id in dirty.drain(..) {
            self.flush(id);
        }
        self.dirty = dirty;
    }

    /// Hands stream `id`'s batch to its handler now.
    fn flush(&mut self, id: i32) {
        if let Some(item) = self.streams.get_mut(&id).and_then(|s| s.batch.take()) {
            self.deliver(id, item);
        }
    }

    /// Queues `item` for stream `id`'s handler without waiting. An item
    /// that finds the queue full goes to `stuck`, as does every item after
    /// it until [`Connection::unstick`] has run.
    fn deliver(&mut self, id: i32, item: Inbound) {
        if !self.stuck.is_empty() {
            self.stuck.push_back((id, item));
            return;
        }
        let Some(tx) = self.streams.get(&id).and_then(|s| s.data.as_ref()) else {
            return;
        };
        match tx.try_send(item) {
            // Closed: the handler is done reading; drop the messages.
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(item)) => self.stuck.push_back((id, item)),
        }
    }

    /// Queues the stuck batches, waiting for room (the connection is paused
    /// meanwhile). A stream whose queue stays full for [`STALL_TIMEOUT`] is
    /// ended alone.
    async fn unstick(&mut self) {
        let peer = self.cfg.peer;
        while let Some((id, item)) = self.stuck.pop_front() {
            let Some(s) = self.streams.get(&id) else {
                continue;
            };
            let Some(tx) = s.data.clone() else {
                continue;
            };
            let method = s.method.clone();
            tokio::select! {
                sent = tx.send(item) => {
                    // An error means the handler is done reading: drop the messages.
                    let _ = sent;
                }
                _ = tokio::time::sleep(STALL_TIMEOUT) => {
                    tracing::warn!(?peer, stream = id, timeout = ?STALL_TIMEOUT,
                        "ending a stream whose handler stopped reading its full queue");
                    if let Some(s) = self.streams.remove(&id) {
                        s.task.abort();
                    }
                    let status = Status::resource_exhausted(format!(
                        "the stream's receive queue of {STREAM_QUEUE} batches stayed full for {STALL_TIMEOUT:?}"
                    ));
                    self.send(trailer(&status, id, &method));
                }
            }
        }
    }

    fn send(&self, frame: StreamFrame) {
        let _ = self.out.frame(&frame);
    }

    /// Answers a stream that is not opened with a HEADER and a TRAILER
    /// carrying `status`.
    fn refuse(&self, id: i32, method: &str, status: Status) {
        tracing::debug!(peer = ?self.cfg.peer, stream = id, method, %status, "refusing a ttstream stream");
        self.send(StreamFrame::new(FrameType::Header, id, method));
        self.send(trailer(&status, id, method));
    }

    /// Refuses stream `id` once its client has sent a message or
    /// half-closed, not at once: Kitex's client reports an answer that
    /// arrives before its first `Send` as a failure of that `Send`, where
    /// gRPC clients (and its own tests) expect the error from `Recv`. A
    /// client that only waits to receive is answered nothing, as by Kitex's
    /// own server, until its deadline.
    fn refuse_later(&mut self, id: i32, method: &str, status: Status) {
        if self.refused.len() >= REFUSALS_PENDING {
            return self.refuse(id, method, status);
        }
        tracing::debug!(peer = ?self.cfg.peer, stream = id, method, %status,
            "refusing a ttstream stream after its first message");
        self.refused.insert(id, (FastStr::new(method), status));
    }

    /// Sends the refusals whose first DATA arrived in this read.
    fn answer_refusals(&mut self) {
        let mut due = std::mem::take(&mut self.refusals_due);
        for id in due.drain(..) {
            if let Some((method, status)) = self.refused.remove(&id) {
                self.refuse(id, &method, status);
            }
        }
        self.refusals_due = due;
    }

    fn open(&mut self, frame: StreamFrame) {
        let id = frame.stream_id;
        let method = frame.method().to_owned();
        self.refused.remove(&id);
        if let Some(old) = self.streams.remove(&id) {
            // Both the old stream and the new HEADER are unusable.
            tracing::warn!(peer = ?self.cfg.peer, stream = id, "HEADER for a stream id in use; ending that stream");
            old.task.abort();
            let e = ApplicationException::new(
                ExceptionKind(CODE_UNEXPECTED_HEADER),
                format!("stream id {id} is already in use"),
            );
            self.send(
                StreamFrame::new(FrameType::Trailer, id, &method)
                    .with_payload(exception_payload(&e, id, &method)),
            );
            return;
        }
        if self.stopping {
            return self.refuse(
                id,
                &method,
                Status::unavailable("the server is shutting down"),
            );
        }
        let isn = frame.header.string("isn").unwrap_or_default();
        let Some(svc) = self.cfg.routes.find(isn, &method) else {
            let status = Status::unimplemented(format!(
                "unknown method `{}` of service `{}`",
                crate::pingpong::service::echoed(&method),
                crate::pingpong::service::echoed(isn)
            ));
            return self.refuse_later(id, &method, status);
        };
        if svc.methods.method_kind(&method) != Some(MethodKind::Streaming) {
            let status = Status::unimplemented(format!(
                "method `{method}` is not a streaming method; TTHeader Streaming carries only \
                 streaming methods (call it over ping-pong or gRPC)"
            ));
            return self.refuse_later(id, &method, status);
        }
        if let Some(max) = self.cfg.max_streams {
            if self.streams.len() >= max {
                let status = Status::resource_exhausted(format!(
                    "the limit of {max} concurrent streams per connection is reached"
                ));
                return self.refuse(id, &method, status);
            }
        }
        let slot = match self.cfg.limits.stream(&self.counter) {
            Ok(slot) => slot,
            Err(why) => return self.refuse(id, &method, Status::resource_exhausted(why)),
        };
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        let reset = Arc::new(AtomicBool::new(false));
        let path = format!("/{}/{}", svc.name, method);
        let mut req = match http::Request::post(path)
            .header(
                http::header::CONTENT_TYPE,
                crate::codec::CONTENT_TYPE_THRIFT,
            )
            .body(tonic::body::Body::new(QueueBody {
                rx,
                pending: None,
                reset: reset.clone(),
            })) {
            Ok(req) => req,
            Err(e) => {
                let status = Status::invalid_argument(format!("bad method name: {e}"));
                return self.refuse(id, &method, status);
            }
        };
        let ext = req.extensions_mut();
        if let Some(p) = self.cfg.peer {
            ext.insert(PeerAddr(p));
        }
        if let Some(c) = crate::server::connection::certs_for_call(&self.cfg.peer_certs) {
            ext.insert(c);
        }
        ext.insert(StreamHold::new(slot));
        ext.insert(TTHeaderStreaming);
        if let Some(m) = MetaInfo::from_ttheader(&frame.header) {
            ext.insert(m);
        }
        ext.insert(frame.header);
        self.generation += 1;
        let generation = self.generation;
        let method = FastStr::new(method);
        let task = tokio::spawn(run_stream(
            svc.http.clone(),
            req,
            id,
            method.clone(),
            self.out.clone(),
            self.done.clone(),
            generation,
        ));
        self.streams.insert(
            id,
            OpenStream {
                data: Some(tx),
                batch: Batch::default(),
                method,
                reset,
                task: task.abort_handle(),
                generation,
            },
        );
    }
}

/// Runs one stream: calls the service, then sends its answer as HEADER,
/// DATA per message, and TRAILER.
async fn run_stream(
    svc: BoxCloneSyncService<
        http::Request<tonic::body::Body>,
        http::Response<tonic::body::Body>,
        Infallible,
    >,
    req: http::Request<tonic::body::Body>,
    id: i32,
    method: FastStr,
    out: FrameSink,
    done: mpsc::UnboundedSender<(i32, u64)>,
    generation: u64,
) {
    let resp = match svc.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    };
    let status = send_response(resp, id, &method, &out).await;
    let _ = out.frame(&trailer(&status, id, &method));
    let _ = done.send((id, generation));
}

/// Sends the HEADER and DATA frames of a response; returns its status.
async fn send_response(
    resp: http::Response<tonic::body::Body>,
    id: i32,
    method: &str,
    out: &FrameSink,
) -> Status {
    let (parts, mut body) = resp.into_parts();
    let mut header = StreamFrame::new(FrameType::Header, id, method);
    if let Some(m) = parts.extensions.get::<MetaInfo>() {
        m.to_ttheader_reply(&mut header.header);
    }
    if out.frame(&header).is_err() {
        return Status::cancelled("connection closed");
    }
    // A trailers-only response: the status is in the headers.
    if let Some(status) = Status::from_header_map(&parts.headers) {
        return status;
    }
    let mut rest = BytesMut::new();
    let frames = DataFrames::new(id, method);
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return Status::internal(format!("response body failed: {e}")),
        };
        let frame = match frame.into_data() {
            Ok(data) => match send_messages(data, &mut rest, &frames, out).await {
                Ok(()) => continue,
                Err(SendError::Closed) => return Status::cancelled("connection closed"),
                Err(SendError::Bad(status)) => return status,
            },
            Err(frame) => frame,
        };
        if let Ok(trailers) = frame.into_trailers() {
            return Status::from_header_map(&trailers)
                .unwrap_or_else(|| Status::internal("response trailers carry no grpc-status"));
        }
    }
    Status::internal("response ended without a status")
}

/// The server's TRAILER for `status`: empty for OK, the business-error
/// keys for a [`BizStatusError`], else a `TApplicationException` payload.
pub(crate) fn trailer(status: &Status, id: i32, method: &str) -> StreamFrame {
    let mut frame = StreamFrame::new(FrameType::Trailer, id, method);
    if status.code() == tonic::Code::Ok {
        return frame;
    }
    if let Some(biz) = BizStatusError::from_status(status) {
        biz.to_ttheader(&mut frame.header);
        return frame;
    }
    let e = match crate::pingpong::application_exception(status) {
        Some(e) => e.clone(),
        None => {
            let kind = match status.code() {
                tonic::Code::Unimplemented => ExceptionKind::UNKNOWN_METHOD,
                _ => ExceptionKind::INTERNAL_ERROR,
            };
            let message = match status.code() {
                tonic::Code::Unimplemented | tonic::Code::Unknown => status.message().to_owned(),
                code => format!("{code:?}: {}", status.message()),
            };
            ApplicationException::new(kind, message)
        }
    };
    frame.with_payload(exception_payload(&e, id, method))
}

/// A strict-binary TMessage EXCEPTION (name = method, seqid = stream id)
/// wrapping `e`, as Kitex's TRAILER and RST payloads are.
pub(crate) fn exception_payload(e: &ApplicationException, id: i32, method: &str) -> Bytes {
    let mut buf = BytesMut::new();
    write_message_header(
        &mut buf,
        &MessageHeader {
            name: FastStr::new(method),
            message_type: MessageType::Exception,
            seq_id: id,
        },
    );
    buf.extend_from_slice(&e.encode());
    buf.freeze()
}

/// Reads the exception of a TRAILER or RST payload.
pub(crate) fn decode_exception(payload: &[u8]) -> Option<ApplicationException> {
    let (header, body) =
        crate::transport::read_message_header(&Bytes::copy_from_slice(payload)).ok()?;
    if header.message_type != MessageType::Exception {
        return None;
    }
    ApplicationException::decode(body).ok()
}

/// The request body of a stream: the DATA payloads queued by the read
/// loop, each behind a gRPC length prefix, ending when the client
/// half-closes (its sender is dropped), or failing with CANCELLED when it
/// resets the stream.
struct QueueBody {
    rx: mpsc::Receiver<Inbound>,
    pending: Option<Bytes>,
    reset: Arc<AtomicBool>,
}

impl http_body::Body for QueueBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        if let Some(message) = self.pending.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(message))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(item)) => {
                let chunk = body_chunk(item, &mut self.pending);
                Poll::Ready(Some(chunk.map(http_body::Frame::data)))
            }
            Poll::Ready(None) if self.reset.load(Ordering::Acquire) => {
                Poll::Ready(Some(Err(Status::cancelled("the client reset the stream"))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::test_data::hex;

    /// tts_server_stream_handler_error.txt: the S->C TRAILER of a handler
    /// error (141 bytes).
    const HANDLER_ERROR_TRAILER: &str = "
        00 00 00 89 10 00 00 02 00 00 00 01 00 06 10 00
        10 00 02 00 1b 00 01 34 00 09 00 0a 45 63 68 6f
        53 65 72 76 65 72 80 01 00 03 00 00 00 0a 45 63
        68 6f 53 65 72 76 65 72 00 00 00 01 0b 00 01 00
        00 00 42 62 69 7a 20 65 72 72 6f 72 3a 20 45 63
        68 6f 53 65 72 76 65 72 20 65 78 70 65 63 74 73
        20 61 6e 20 69 6e 74 65 67 65 72 20 63 6f 75 6e
        74 2c 20 67 6f 74 20 22 6e 6f 74 2d 61 2d 6e 75
        6d 62 65 72 22 08 00 02 00 00 00 06 00";

    #[test]
    fn exception_trailer_matches_the_capture() {
        let e = ApplicationException::new(
            ExceptionKind::INTERNAL_ERROR,
            r#"biz error: EchoServer expects an integer count, got "not-a-number""#,
        );
        let mut f = StreamFrame::new(FrameType::Trailer, 1, "EchoServer")
            .with_payload(exception_payload(&e, 1, "EchoServer"));
        f.header.ints.reverse(); // FrameType first, as in this capture
        let mut out = BytesMut::new();
        f.encode(&mut out).unwrap();
        assert_eq!(&out[..], &hex(HANDLER_ERROR_TRAILER)[..]);
        assert_eq!(decode_exception(&f.payload), Some(e));
    }

    #[test]
    fn statuses_become_trailers() {
        let ok = trailer(&Status::ok(""), 3, "Echo");
        assert!(ok.payload.is_empty() && ok.header.strings.is_empty());

        let biz: Status = BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .into();
        let t = trailer(&biz, 3, "Echo");
        assert!(t.payload.is_empty());
        assert_eq!(t.header.string("biz-status"), Some("1001"));
        assert_eq!(t.header.string("biz-message"), Some("biz error msg"));
        assert_eq!(t.header.string("biz-extra"), Some(r#"{"k":"v"}"#));

        let t = trailer(&Status::unimplemented("unknown method `X`"), 3, "X");
        let e = decode_exception(&t.payload).unwrap();
        assert_eq!(e.kind, ExceptionKind::UNKNOWN_METHOD);
        assert_eq!(&e.message[..], "unknown method `X`");

        let t = trailer(&Status::internal("boom"), 3, "Echo");
        let e = decode_exception(&t.payload).unwrap();
        assert_eq!(e.kind, ExceptionKind::INTERNAL_ERROR);
        assert_eq!(&e.message[..], "Internal: boom");
    }
}
