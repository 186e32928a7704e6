//! The client side of TTHeader Streaming: [`TtStreamChannel`], a tower
//! transport that carries each HTTP/2-shaped gRPC call of a
//! [`GrpcClient`](crate::grpc::GrpcClient) as one ttstream stream, over a
//! small pool of multiplexed connections.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use faststr::FastStr;
use http_body_util::BodyExt;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tonic::Status;

use super::frame::{DataFrames, Decoded, FrameClock, FrameType, KnownDataHeader, StreamFrame};
use super::inbox::{body_chunk, Batch, Inbound, StreamMap, COPY_MAX};
use super::server::{decode_exception, exception_payload, READ_SPARE};
use super::writer::{queue_messages, send_messages, spawn_writer, FrameSink};
use crate::grpc::GrpcOptions;
use crate::metainfo::MetaInfo;
use crate::pingpong::{ApplicationException, ExceptionKind};
use crate::status::BizStatusError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connections a [`TtStreamChannel`] opens to its address unless
/// [`GrpcOptions::ttstream_connections`] says otherwise; streams are spread
/// over them round-robin.
pub const DEFAULT_CONNECTIONS: usize = 2;
/// Batches queued per stream between the connection and the caller (a
/// batch is the stream's messages of one read). A full queue pauses
/// reading that connection (as on the server).
const RECV_QUEUE: usize = 16;
/// How long a full stream queue may pause its connection before that
/// stream alone is failed with `RESOURCE_EXHAUSTED`.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write may wait for a server that reads nothing.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes a frame may have beyond the message it carries (its header).
const FRAME_SLACK: usize = 64 * 1024;
/// Kitex's error code for a stream ended by its deadline (`exception.go`).
const CODE_STREAM_TIMEOUT: i32 = 12015;
/// Kitex's error code for a stream cancelled by the caller.
const CODE_BIZ_CANCEL: i32 = 12007;

/// Stream ids: one process-wide counter from 1, skipping 0, as Kitex's
/// `genStreamID`.
static NEXT_STREAM_ID: AtomicI32 = AtomicI32::new(1);

fn next_stream_id() -> i32 {
    loop {
        let id = NEXT_STREAM_ID.fetch_add(1, Ordering::Relaxed);
        if id != 0 {
            return id;
        }
    }
}

/// Marks a request whose method is `unary` or ping-pong: TTHeader Streaming
/// has no unary mode, so [`TtStreamChannel`] refuses it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnaryCall;

/// A gRPC transport that speaks TTHeader Streaming: each call becomes one
/// stream (HEADER, DATA per message, TRAILER), multiplexed over
/// [`GrpcOptions::ttstream_connections`] connections (default
/// [`DEFAULT_CONNECTIONS`]) opened on first use.
///
/// Only streaming methods (bidirectional, client and server) can go over
/// it; a `unary` or ping-pong method fails with `UNIMPLEMENTED`. A client
/// built with [`GrpcOptions::stream_transport`] and `connect_with` instead
/// sends those over gRPC.
///
/// ```no_run
/// use tonic_thrift::grpc::GrpcOptions;
/// use tonic_thrift::ttstream::TtStreamChannel;
///
/// tonic_thrift::thrift_service!("docs/echo.thrift", build_server = false);
/// use echo::test_service_client::TestServiceClient;
///
/// # async fn run() -> Result<(), tonic::Status> {
/// let options = GrpcOptions::default();
/// let channel = TtStreamChannel::connect_lazy("127.0.0.1:8888", &options);
/// let mut client = TestServiceClient::with_options(channel, options);
/// let request = echo::Request { message: "3".into() };
/// let mut replies = client.echo_server(request).await?.into_inner();
/// while let Some(reply) = replies.message().await? {
///     println!("{}", reply.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TtStreamChannel {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for TtStreamChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtStreamChannel")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

struct Shared {
    addr: String,
    slots: Vec<tokio::sync::Mutex<Option<Conn>>>,
    next: AtomicUsize,
    connect_timeout: Duration,
    max_frame: usize,
    /// Longest time from a frame's first byte to its last.
    frame_timeout: Duration,
    /// Why every stream is refused, if it is (an `https` URL).
    refuse: Option<String>,
    /// The TLS connector and server name, for an `https` URL (feature `tls`).
    #[cfg(feature = "tls")]
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    )>,
}

/// One open connection: its writer's queue and its streams' queues.
#[derive(Clone)]
struct Conn {
    out: FrameSink,
    streams: Streams,
    alive: Arc<AtomicBool>,
}

/// A connection's open streams: where each one's frames go.
type Streams = Arc<Mutex<StreamMap<mpsc::Sender<Inbound>>>>;

impl TtStreamChannel {
    /// A channel to `addr` (`host:port`); its
    /// [`ttstream_connections`](GrpcOptions::ttstream_connections)
    /// connections open on first use, within `options`' connect timeout, and
    /// accept frames as large as its receive limit.
    pub fn connect_lazy(addr: impl Into<String>, options: &GrpcOptions) -> Self {
        TtStreamChannel {
            shared: Arc::new(Shared {
                addr: addr.into(),
                slots: (0..options.ttstream_connections)
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
                next: AtomicUsize::new(0),
                connect_timeout: options.connect_timeout,
                max_frame: options
                    .max_decoding_message_size
                    .saturating_add(FRAME_SLACK),
                frame_timeout: options.ttstream_frame_timeout,
                refuse: None,
                #[cfg(feature = "tls")]
                tls: None,
            }),
        }
    }

    /// The channel a generated `connect_with` opens for `uri`: its host and
    /// port (80, or 443 for `https`). For an `https` URL it connects over
    /// TLS with `GrpcOptions::tls` (webpki roots when unset; no ALPN, as
    /// Kitex); without the `tls` feature every stream then fails with
    /// `UNAVAILABLE` saying so.
    pub(crate) fn for_uri(uri: &http::Uri, options: &GrpcOptions) -> Self {
        let host = uri.host().unwrap_or("127.0.0.1");
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let mut channel = Self::connect_lazy(format!("{host}:{port}"), options);
        if https {
            if let Some(shared) = Arc::get_mut(&mut channel.shared) {
                #[cfg(feature = "tls")]
                {
                    let config = options.tls.clone().unwrap_or_default();
                    match config
                        .connector()
                        .and_then(|c| Ok((c, config.server_name(host)?)))
                    {
                        Ok(tls) => shared.tls = Some(tls),
                        Err(e) => shared.refuse = Some(format!("TLS for `{uri}`: {e}")),
                    }
                }
                #[cfg(not(feature = "tls"))]
                {
                    shared.refuse = Some(format!(
                        "TTHeader Streaming over TLS needs the `tls` feature, so `{uri}` cannot \
                         carry it; enable it, or use the default stream transport (gRPC)"
                    ));
                }
            }
        }
        channel
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for TtStreamChannel {
    type Response = http::Response<TtStreamBody>;
    type Error = BoxError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let shared = self.shared.clone();
        // The deadline covers connecting and opening too.
        let deadline = crate::timeout::grpc_timeout(req.headers())
            .and_then(Result::ok)
            .map(|d| tokio::time::Instant::now() + d);
        Box::pin(async move {
            let open = shared.open(req, deadline);
            let opened = match deadline {
                Some(d) => tokio::time::timeout_at(d, open)
                    .await
                    .unwrap_or_else(|_| Err(crate::timeout::deadline_exceeded())),
                None => open.await,
            };
            opened.map_err(|s| Box::new(s) as BoxError)
        })
    }
}

impl Shared {
    /// A live connection, round-robin over the pool, connecting as needed.
    async fn conn(&self) -> Result<Conn, Status> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().await;
        if let Some(c) = slot.as_ref() {
            if c.alive.load(Ordering::Acquire) && !c.out.is_closed() {
                return Ok(c.clone());
            }
        }
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| {
                Status::unavailable(format!(
                    "connecting to {} timed out after {:?}",
                    self.addr, self.connect_timeout
                ))
            })?
            .map_err(|e| Status::unavailable(format!("cannot connect to {}: {e}", self.addr)))?;
        let _ = tcp.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some((connector, name)) = &self.tls {
            let tls =
                tokio::time::timeout(self.connect_timeout, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| {
                        Status::unavailable(format!(
                            "TLS handshake with {} timed out after {:?}",
                            self.addr, self.connect_timeout
                        ))
                    })?
                    .map_err(|e| {
                        Status::unavailable(format!("TLS handshake with {} failed: {e}", self.addr))
                    })?;
            let (rd, wr) = tokio::io::split(tls);
            let conn = self.start(rd, wr);
            *slot = Some(conn.clone());
            return Ok(conn);
        }
        let (rd, wr) = tcp.into_split();
        let conn = self.start(rd, wr);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Starts the reader and writer tasks of a new connection.
    fn start<R, W>(&self, rd: R, wr: W) -> Conn
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (out, _writer) = spawn_writer(wr, WRITE_TIMEOUT);
        let conn = Conn {
            out,
            streams: Arc::new(Mutex::new(StreamMap::default())),
            alive: Arc::new(AtomicBool::new(true)),
        };
        // The reader holds no sender of the write queue: once the channel
        // and its streams are gone, the writer closes the connection.
        tokio::spawn(read_frames(
            rd,
            conn.streams.clone(),
            conn.alive.clone(),
            self.max_frame,
            self.frame_timeout,
        ));
        conn
    }

    /// Opens one stream for `req` and answers at once; the response body
    /// yields the server's messages and ends with its status.
    async fn open(
        &self,
        req: http::Request<tonic::body::Body>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<http::Response<TtStreamBody>, Status> {
        if let Some(why) = &self.refuse {
            return Err(Status::unavailable(why.clone()));
        }
        if req.extensions().get::<UnaryCall>().is_some() {
            return Err(Status::unimplemented(format!(
                "`{}` is a unary or ping-pong method; TTHeader Streaming carries only streaming \
                 methods (call it over gRPC or the ping-pong client)",
                req.uri().path()
            )));
        }
        let (service, method) = {
            let mut parts = req.uri().path().trim_start_matches('/').splitn(2, '/');
            let service = parts.next().unwrap_or("");
            let service = service.rsplit('.').next().unwrap_or(service);
            (
                FastStr::new(service),
                FastStr::new(parts.next().unwrap_or("")),
            )
        };
        let conn = self.conn().await?;
        let id = next_stream_id();
        let meta = MetaInfo::outgoing(req.extensions().get::<MetaInfo>());
        let mut header = header_frame(id, &service, &method, meta.as_ref());
        if let Some(s) = req.extensions().get::<crate::metainfo::HeaderStrings>() {
            s.write_to(&mut header.header);
        }
        let (tx, rx) = mpsc::channel(RECV_QUEUE);
        lock(&conn.streams).insert(id, tx);
        let half_closed = Arc::new(AtomicBool::new(false));
        let mut guard = StreamGuard {
            id,
            method: method.clone(),
            conn: conn.clone(),
            pump: None,
            half_closed: half_closed.clone(),
            deadline,
            finished: false,
        };
        if conn.out.frame(&header).is_err() {
            guard.finished = true;
            return Err(Status::unavailable("the ttstream connection closed"));
        }
        let mut pump = RequestPump::new(req.into_body(), conn.out.clone(), id, method, half_closed);
        if !pump.send_ready() {
            guard.pump = Some(tokio::spawn(pump.run()).abort_handle());
        }
        let body = TtStreamBody {
            rx,
            guard,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            pending: None,
            done: false,
        };
        http::Response::builder()
            .header(
                http::header::CONTENT_TYPE,
                crate::codec::CONTENT_TYPE_THRIFT,
            )
            .body(body)
            .map_err(|e| Status::internal(format!("cannot build the response: {e}")))
    }
}

/// The client's HEADER: the service name as `isn` and the metainfo as
/// `RPC_TRANSIT_*` / `RPC_PERSIST_*` keys, as Kitex's client sends it.
fn header_frame(id: i32, service: &str, method: &str, meta: Option<&MetaInfo>) -> StreamFrame {
    let mut header = StreamFrame::new(FrameType::Header, id, method);
    header.header.set_string("isn", FastStr::new(service));
    if let Some(m) = meta {
        m.to_ttheader_request(&mut header.header);
    }
    header
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads a connection's frames and hands them to their streams: the DATA
/// payloads of one read as one batch per stream, other frames as they
/// come. When the connection ends, every open stream sees its queue close.
async fn read_frames<R: tokio::io::AsyncRead + Unpin>(
    mut rd: R,
    streams: Streams,
    alive: Arc<AtomicBool>,
    max_frame: usize,
    frame_timeout: Duration,
) {
    let mut buf = BytesMut::with_capacity(READ_SPARE);
    let mut frame_clock = FrameClock::new(frame_timeout);
    let mut known = KnownDataHeader::default();
    let mut reader = Reader {
        streams,
        batches: StreamMap::default(),
        stuck: VecDeque::new(),
        gone: Vec::new(),
    };
    'conn: loop {
        let before = buf.len();
        loop {
            // DATA, the common frame, is handled without awaiting.
            let decoded =
                Decoded::decode(&mut buf, max_frame, COPY_MAX, &mut known, |id, bytes| {
                    if let Some(full) = reader.batches.entry(id).or_default().copy(bytes) {
                        reader.deliver(id, full);
                    }
                });
            match decoded {
                Ok(Some(Decoded::Copied)) => {}
                Ok(Some(Decoded::Data { stream_id, payload })) => {
                    let (first, second) =
                        reader.batches.entry(stream_id).or_default().large(payload);
                    if let Some(first) = first {
                        reader.deliver(stream_id, first);
                    }
                    reader.deliver(stream_id, second);
                }
                Ok(Some(Decoded::Other(frame))) => {
                    let id = frame.stream_id;
                    if let Some(item) = reader.batches.get_mut(&id).and_then(Batch::take) {
                        reader.deliver(id, item);
                    }
                    reader.deliver(id, Inbound::Control(Box::new(frame)));
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(reason = %e, "closing ttstream client connection: bad frame");
                    break 'conn;
                }
            }
            if !reader.stuck.is_empty() {
                Box::pin(reader.unstick()).await;
            }
        }
        reader.flush_all();
        if !reader.stuck.is_empty() {
            Box::pin(reader.unstick()).await;
        }
        let frame_deadline = frame_clock.deadline(before, buf.len());
        if buf.capacity() - buf.len() < READ_SPARE / 2 {
            buf.reserve(READ_SPARE);
        }
        let read = rd.read_buf(&mut buf);
        let read = match frame_deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                Ok(read) => read,
                Err(_) => {
                    tracing::warn!(timeout = ?frame_timeout, bytes = buf.len(),
                        "closing ttstream client connection: a frame did not complete in time");
                    break;
                }
            },
            None => read.await,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    alive.store(false, Ordering::Release);
    lock(&reader.streams).clear();
}

/// A connection reader's view of its streams.
struct Reader {
    streams: Streams,
    /// The DATA payloads of the current read, per stream.
    batches: StreamMap<Batch>,
    /// Items that found their stream's queue full, with every item after
    /// them, in order: the connection reads nothing until they are queued.
    stuck: VecDeque<(i32, Inbound)>,
    /// Streams forgotten since the last [`Reader::flush_all`], whose
    /// batches it drops.
    gone: Vec<i32>,
}

impl Reader {
    /// Hands every stream's batch of this read over. The batches stay, so
    /// that the room left in each is used by the next read instead of a
    /// fresh allocation per stream per read. A stream's batch is dropped
    /// when its last frame comes, or when the reader finds its caller gone
    /// (and, for callers that left without a further frame, when batches
    /// outnumber open streams twice over).
    fn flush_all(&mut self) {
        let mut batches = std::mem::take(&mut self.batches);
        for (&id, batch) in batches.iter_mut() {
            if let Some(item) = batch.take() {
                self.deliver(id, item);
            }
        }
        for id in self.gone.drain(..) {
            batches.remove(&id);
        }
        if batches.len() > 16 {
            let streams = lock(&self.streams);
            if batches.len() > 2 * streams.len() {
                batches.retain(|id, _| streams.contains_key(id));
            }
        }
        self.batches = batches;
    }

    /// Queues `item` for stream `id` without waiting; a full queue sends it
    /// to `stuck`. The stream is forgotten after its last frame (TRAILER
    /// or RST), or when its caller is gone.
    fn deliver(&mut self, id: i32, item: Inbound) {
        if !self.stuck.is_empty() {
            self.stuck.push_back((id, item));
            return;
        }
        let last = is_last(&item);
        let mut streams = lock(&self.streams);
        let Some(tx) = streams.get(&id) else {
            tracing::debug!(stream = id, "ttstream frame for no open stream; dropped");
            self.gone.push(id);
            return;
        };
        match tx.try_send(item) {
            Ok(()) if !last => {}
            // Closed: the caller is gone; its guard removes the stream.
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {
                streams.remove(&id);
                self.gone.push(id);
            }
            Err(mpsc::error::TrySendError::Full(item)) => self.stuck.push_back((id, item)),
        }
    }

    /// Queues the stuck items, waiting for room (the connection is paused
    /// meanwhile). A stream whose caller leaves its queue full for
    /// [`STALL_TIMEOUT`] is ended alone.
    async fn unstick(&mut self) {
        while let Some((id, item)) = self.stuck.pop_front() {
            let last = is_last(&item);
            let Some(tx) = lock(&self.streams).get(&id).cloned() else {
                continue;
            };
            match tokio::time::timeout(STALL_TIMEOUT, tx.send(item)).await {
                Ok(Ok(())) if !last => continue,
                Ok(_) => {}
                Err(_) => tracing::warn!(
                    stream = id,
                    "ending a ttstream stream whose caller stopped reading"
                ),
            }
            lock(&self.streams).remove(&id);
            self.gone.push(id);
        }
    }
}

/// Whether `item` is its stream's last (TRAILER or RST).
fn is_last(item: &Inbound) -> bool {
    matches!(
        item,
        Inbound::Control(f) if matches!(f.frame_type, Some(FrameType::Trailer | FrameType::Rst))
    )
}

/// A request body on its way out: its gRPC messages become DATA frames
/// and its end a TRAILER (half-close).
struct RequestPump {
    body: tonic::body::Body,
    /// An incomplete gRPC message carried over from the last chunk.
    rest: BytesMut,
    frames: DataFrames,
    out: FrameSink,
    id: i32,
    method: FastStr,
    half_closed: Arc<AtomicBool>,
}

impl RequestPump {
    fn new(
        body: tonic::body::Body,
        out: FrameSink,
        id: i32,
        method: FastStr,
        half_closed: Arc<AtomicBool>,
    ) -> Self {
        RequestPump {
            body,
            rest: BytesMut::new(),
            frames: DataFrames::new(id, &method),
            out,
            id,
            method,
            half_closed,
        }
    }

    /// Sends what the body has ready now, without waiting for it or for
    /// room in the write queue; `true` when nothing is left to do. A body
    /// that is complete at once (a server-streaming call's one message, a
    /// short client stream) thus needs no task of its own.
    fn send_ready(&mut self) -> bool {
        // The body is polled again, with a real waker, by `run` if it is
        // not done here.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            match self.out.has_room() {
                Ok(true) => {}
                Ok(false) => return false,
                Err(_) => return true,
            }
            let frame = match http_body::Body::poll_frame(Pin::new(&mut self.body), &mut cx) {
                Poll::Pending => return false,
                Poll::Ready(frame) => frame,
            };
            let Some(frame) = frame else {
                self.half_close();
                return true;
            };
            let Ok(frame) = frame else { return true };
            if let Ok(data) = frame.into_data() {
                if queue_messages(data, &mut self.rest, &self.frames, &self.out).is_err() {
                    return true;
                }
            }
        }
    }

    /// Sends the rest of the body, waiting for its messages and for room.
    async fn run(mut self) {
        while let Some(frame) = self.body.frame().await {
            let Ok(frame) = frame else { return };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if send_messages(data, &mut self.rest, &self.frames, &self.out)
                .await
                .is_err()
            {
                return;
            }
        }
        self.half_close();
    }

    fn half_close(&self) {
        self.half_closed.store(true, Ordering::Release);
        let _ = self
            .out
            .frame(&StreamFrame::new(FrameType::Trailer, self.id, &self.method));
    }
}

/// Ends a stream on the wire when it is dropped before the server ended
/// it: RST (12015 past the deadline, else 12007), then the compat TRAILER
/// if the request had not half-closed, as Kitex's client does.
struct StreamGuard {
    id: i32,
    method: FastStr,
    conn: Conn,
    pump: Option<AbortHandle>,
    half_closed: Arc<AtomicBool>,
    deadline: Option<tokio::time::Instant>,
    finished: bool,
}

impl StreamGuard {
    fn send(&self, frame: StreamFrame) {
        let _ = self.conn.out.frame(&frame);
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if let Some(pump) = self.pump.take() {
            pump.abort();
        }
        lock(&self.conn.streams).remove(&self.id);
        if !self.finished {
            let expired = self
                .deadline
                .is_some_and(|d| tokio::time::Instant::now() >= d);
            let (code, text) = if expired {
                (CODE_STREAM_TIMEOUT, "stream timeout")
            } else {
                (CODE_BIZ_CANCEL, "stream cancelled by the client")
            };
            let e = ApplicationException::new(ExceptionKind(code), text);
            self.send(
                StreamFrame::new(FrameType::Rst, self.id, &self.method)
                    .with_payload(exception_payload(&e, self.id, &self.method)),
            );
        }
        if !self.half_closed.load(Ordering::Acquire) {
            self.send(StreamFrame::new(FrameType::Trailer, self.id, &self.method));
        }
    }
}

/// The response body of a ttstream call: the server's DATA payloads, each
/// behind a gRPC length prefix, then trailers (`grpc-status: 0`) or the
/// error status of its TRAILER or RST.
pub struct TtStreamBody {
    rx: mpsc::Receiver<Inbound>,
    guard: StreamGuard,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    pending: Option<Bytes>,
    done: bool,
}

impl std::fmt::Debug for TtStreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtStreamBody")
            .field("stream_id", &self.guard.id)
            .finish_non_exhaustive()
    }
}

impl TtStreamBody {
    fn finish(&mut self) {
        self.done = true;
        self.guard.finished = true;
    }
}

/// The status a server TRAILER carries.
fn trailer_status(frame: &StreamFrame) -> Option<Status> {
    if let Some(biz) = BizStatusError::from_ttheader(&frame.header) {
        return Some(biz.into_status());
    }
    if frame.payload.is_empty() {
        return None;
    }
    Some(match decode_exception(&frame.payload) {
        Some(e) => e.into_status(),
        None => Status::internal("the server's TRAILER carries an unreadable exception"),
    })
}

impl http_body::Body for TtStreamBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        if let Some(message) = self.pending.take() {
            return Poll::Ready(Some(Ok(http_body::Frame::data(message))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(d) = self.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                // Not finished: the guard sends RST 12015 when dropped.
                self.done = true;
                self.rx.close();
                let guard = &mut self.guard;
                guard.deadline = Some(tokio::time::Instant::now());
                return Poll::Ready(Some(Err(crate::timeout::deadline_exceeded())));
            }
        }
        loop {
            let frame = match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.finish();
                    return Poll::Ready(Some(Err(Status::unavailable(
                        "the ttstream connection closed before the stream ended (or the stream's \
                         receive queue stayed full for 10 s)",
                    ))));
                }
                Poll::Ready(Some(frame)) => frame,
            };
            let frame = match frame {
                Inbound::Control(frame) => *frame,
                data => {
                    let chunk = body_chunk(data, &mut self.pending);
                    return Poll::Ready(Some(chunk.map(http_body::Frame::data)));
                }
            };
            match frame.frame_type {
                Some(FrameType::Trailer) => {
                    self.finish();
                    return Poll::Ready(Some(match trailer_status(&frame) {
                        None => {
                            let mut trailers = http::HeaderMap::new();
                            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                            Ok(http_body::Frame::trailers(trailers))
                        }
                        Some(status) => Err(status),
                    }));
                }
                Some(FrameType::Rst) => {
                    self.finish();
                    let why = decode_exception(&frame.payload)
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    return Poll::Ready(Some(Err(Status::cancelled(format!(
                        "stream reset by the server {why}"
                    )))));
                }
                // HEADER (backward metainfo is not surfaced), META, unknown.
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pingpong::application_exception;
    use crate::transport::test_data::hex;

    /// tts_bidi_biz_error.txt, C->S HEADER (54 bytes).
    const KITEX_CLIENT_HEADER: &str = "00 00 00 32 10 00 00 02 00 00 00 01 00 0a 10 00
        01 00 01 00 03 69 73 6e 00 0b 54 65 73 74 53 65 72 76 69 63 65 10 00 02 00 09 00 04
        45 63 68 6f 00 1b 00 01 32 00";

    #[test]
    fn header_matches_kitex_client_bytes() {
        let mut out = BytesMut::new();
        header_frame(1, "TestService", "Echo", None)
            .encode(&mut out)
            .unwrap();
        assert_eq!(&out[..], &hex(KITEX_CLIENT_HEADER)[..]);

        let mut meta = MetaInfo::default();
        meta.set_transient("TEST_KEY", "v").unwrap();
        meta.set_persistent("TEST_PERSIST", "p").unwrap();
        let h = header_frame(2, "TestService", "Echo", Some(&meta));
        assert_eq!(h.header.string("RPC_TRANSIT_TEST_KEY"), Some("v"));
        assert_eq!(h.header.string("RPC_PERSIST_TEST_PERSIST"), Some("p"));
    }

    #[test]
    fn trailers_become_statuses() {
        let ok = StreamFrame::new(FrameType::Trailer, 1, "Echo");
        assert!(trailer_status(&ok).is_none());

        let mut biz = StreamFrame::new(FrameType::Trailer, 1, "Echo");
        BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .to_ttheader(&mut biz.header);
        let status = trailer_status(&biz).unwrap();
        let back = BizStatusError::from_status(&status).unwrap();
        assert_eq!((back.code(), back.message()), (1001, "biz error msg"));
        assert_eq!(back.extra().get("k").map(String::as_str), Some("v"));

        let e = ApplicationException::new(ExceptionKind::UNKNOWN_METHOD, "unknown method Missing");
        let t = StreamFrame::new(FrameType::Trailer, 1, "Missing")
            .with_payload(exception_payload(&e, 1, "Missing"));
        let status = trailer_status(&t).unwrap();
        assert_eq!(status.code(), tonic::Code::Unimplemented);
        assert!(status.message().contains("unknown method Missing"));
        assert_eq!(application_exception(&status), Some(&e));

        let junk = StreamFrame::new(FrameType::Trailer, 1, "Echo")
            .with_payload(Bytes::from_static(b"junk"));
        assert_eq!(trailer_status(&junk).unwrap().code(), tonic::Code::Internal);
    }

    #[test]
    fn stream_ids_skip_zero() {
        NEXT_STREAM_ID.store(-1, Ordering::Relaxed);
        assert_eq!(next_stream_id(), -1);
        assert_eq!(next_stream_id(), 1);
        assert!(next_stream_id() > 1);
    }

    #[test]
    fn addresses_from_urls() {
        let o = GrpcOptions::default();
        let c = TtStreamChannel::for_uri(&"http://127.0.0.1:8888".parse().unwrap(), &o);
        assert_eq!(
            (c.shared.addr.as_str(), c.shared.refuse.is_none()),
            ("127.0.0.1:8888", true)
        );
        let c = TtStreamChannel::for_uri(&"http://[::1]".parse().unwrap(), &o);
        assert_eq!(c.shared.addr, "[::1]:80");
        let c = TtStreamChannel::for_uri(&"https://example.com".parse().unwrap(), &o);
        assert_eq!(c.shared.addr, "example.com:443");
        #[cfg(feature = "tls")]
        assert!(c.shared.refuse.is_none() && c.shared.tls.is_some());
        #[cfg(not(feature = "tls"))]
        assert!(c
            .shared
            .refuse
            .as_deref()
            .unwrap()
            .contains("`tls` feature"));
    }
}
