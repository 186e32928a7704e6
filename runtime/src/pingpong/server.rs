//! The server side of one ping-pong connection: read frames, route each
//! call to its service, write replies in request order.
//!
//! Calls on one connection run concurrently (up to a bound), and replies go
//! out in the order the requests came in, so pipelining clients that do not
//! look at sequence ids (Framed, Buffered) still match replies correctly.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use faststr::FastStr;
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use super::exception::{ApplicationException, ExceptionKind};
use super::routes::PingPongRoutes;
use super::service::{echoed, CallContext, MethodKind, Reply};
use crate::codec::Protocol;
use crate::server::limits::Limits;
use crate::transport::{
    encode_frame, read_any_header, write_compact_header, write_message_header, Frame, FrameDecoder,
    FrameKind, Framing, MessageHeader, MessageType, TTHeader, INT_KEY_MSG_TYPE,
    INT_KEY_RPC_TIMEOUT,
};

/// Settings of the ping-pong side of a server.
#[derive(Debug, Clone)]
pub(crate) struct PingPongConfig {
    pub(crate) max_frame_size: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) limits: Arc<Limits>,
    pub(crate) connection: ConnectionLimits,
    /// This connection's verified TLS client certificates (mTLS), given to
    /// each call; set per connection.
    pub(crate) peer_certs: Option<crate::server::connection::PeerCerts>,
}

/// Per-connection limits of the ping-pong side of a server, set with the
/// [`Server`](crate::Server) builder methods below.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Longest time from a frame's first byte to its last.
    pub(crate) frame_timeout: Duration,
    /// Calls in flight on one connection before the server stops reading.
    pub(crate) max_in_flight: usize,
    /// Reply bytes waiting to be written before the server stops reading.
    pub(crate) max_pending_reply_bytes: usize,
}

/// How long a ping-pong frame may take to arrive by default: 30 s.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// Calls in flight on one ping-pong connection by default: 64.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// Reply bytes waiting for a slow reader on one ping-pong connection, by
/// default, before the server stops reading its requests: 4 MiB.
pub const DEFAULT_MAX_PENDING_REPLY_BYTES: usize = 4 * 1024 * 1024;

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_pending_reply_bytes: DEFAULT_MAX_PENDING_REPLY_BYTES,
        }
    }
}

impl crate::Server {
    /// The longest a ping-pong frame (TTHeader, Framed or Buffered) may
    /// take from its first byte to its last (default 30 s, see
    /// [`DEFAULT_FRAME_TIMEOUT`]); a peer that sends one slower has its
    /// connection closed. The idle timeout alone would let a peer hold a
    /// connection with a byte now and then.
    #[must_use]
    pub fn frame_timeout(mut self, timeout: Duration) -> Self {
        self.pingpong.frame_timeout = timeout;
        self
    }

    /// The most ping-pong calls in progress on one connection (default 64,
    /// see [`DEFAULT_MAX_IN_FLIGHT`](crate::pingpong::DEFAULT_MAX_IN_FLIGHT)); the server reads no further requests
    /// from a connection at the limit until a call finishes. Replies still
    /// go out in request order.
    #[must_use]
    pub fn max_in_flight_per_connection(mut self, max: usize) -> Self {
        self.pingpong.max_in_flight = max.max(1);
        self
    }

    /// The most reply bytes waiting to be written on one ping-pong
    /// connection (default 4 MiB, see [`DEFAULT_MAX_PENDING_REPLY_BYTES`](crate::pingpong::DEFAULT_MAX_PENDING_REPLY_BYTES)):
    /// over it, the server reads no further requests from that connection
    /// until its peer reads enough replies. Calls already in progress still
    /// finish (and their deadlines still fire), so a connection holds at most
    /// this budget plus the replies of its calls in flight.
    #[must_use]
    pub fn max_pending_reply_bytes(mut self, bytes: usize) -> Self {
        self.pingpong.max_pending_reply_bytes = bytes.max(1);
        self
    }
}

/// One reply to write: framing of its request, header, and message.
struct Outgoing {
    framing: Framing,
    protocol: Protocol,
    header: Option<TTHeader>,
    message: MessageHeader,
    reply: Reply,
}

/// Serves one ping-pong connection whose first bytes (already read) are in
/// `buf`, until the peer closes it, it idles out, or it sends garbage.
///
/// Replies are written as they are ready while calls keep running, so a
/// peer that reads slowly delays only its own replies; while more than the
/// reply budget waits to be written, no further requests are read.
pub(crate) async fn serve_connection<IO>(
    io: IO,
    mut buf: BytesMut,
    kind: FrameKind,
    routes: Arc<PingPongRoutes>,
    config: PingPongConfig,
    peer: Option<SocketAddr>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let limits = config.connection;
    let mut decoder = FrameDecoder::new(kind, config.max_frame_size);
    let mut in_flight = FuturesOrdered::new();
    let mut out = BytesMut::new();
    let mut eof = false;
    let calls = Arc::new(AtomicUsize::new(0));
    // When the frame being received must be complete.
    let mut frame_deadline: Option<Instant> = None;
    // The idle and unread-replies limits share one timer, armed once and
    // moved only when it fires: a call costs a clock read, not a timer
    // registration and removal. It fires at `last_progress` + the idle
    // timeout (see `Watchdog`).
    let mut watchdog = Watchdog::new(config.idle_timeout);
    let mut stopping = std::pin::pin!(stopped(&mut stop));
    loop {
        let room = |in_flight: &FuturesOrdered<OutgoingFuture>, out: &BytesMut| {
            in_flight.len() < limits.max_in_flight && out.len() < limits.max_pending_reply_bytes
        };
        // Decode every complete frame already buffered.
        let mut decoded = false;
        while !eof && room(&in_flight, &out) {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    decoded = true;
                    match start_call(frame, &routes, peer, &config, &calls) {
                        Ok(fut) => in_flight.push_back(fut),
                        Err(reason) => {
                            tracing::warn!(?peer, %reason, "closing ping-pong connection");
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(?peer, reason = %e, "closing ping-pong connection: bad frame");
                    return;
                }
            }
        }
        if eof && in_flight.is_empty() && out.is_empty() {
            if !buf.is_empty() {
                tracing::warn!(
                    ?peer,
                    pending = buf.len(),
                    "ping-pong connection closed by the peer in the middle of a frame"
                );
            }
            return;
        }
        let reading = !eof && room(&in_flight, &out);
        // A frame's clock runs from its first byte, while the server reads;
        // a pause of the server's own making restarts it.
        if decoded || buf.is_empty() || !reading {
            frame_deadline = None;
        }
        if reading && !buf.is_empty() && frame_deadline.is_none() {
            frame_deadline = Some(Instant::now() + limits.frame_timeout);
        }
        // Waiting on the peer alone: for its next request (idle), or for it
        // to read our replies.
        let idle = in_flight.is_empty() && out.is_empty();
        let waiting_on_peer = idle || !out.is_empty();
        tokio::select! {
            // Fixed order: finished calls, then writing, then reading; the
            // timers only when nothing else is ready.
            biased;
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                let done: Outgoing = done;
                let was_empty = out.is_empty();
                if let Err(reason) = write_reply(&mut out, done) {
                    tracing::warn!(?peer, %reason, "could not encode a ping-pong reply");
                    return;
                }
                if was_empty && !out.is_empty() {
                    watchdog.progress();
                }
            }
            written = writer.write(&out), if !out.is_empty() => match written {
                Ok(0) => {
                    tracing::debug!(?peer, "ping-pong write failed: connection closed");
                    return;
                }
                Ok(n) => {
                    out.advance(n);
                    // A peer that stops reading cannot hold the connection forever.
                    watchdog.progress();
                }
                Err(e) => {
                    tracing::debug!(?peer, error = %e, "ping-pong write failed");
                    return;
                }
            },
            read = read_more(&mut reader, &mut buf), if reading => {
                match read {
                    Ok(0) => eof = true,
                    Ok(_) => watchdog.progress(),
                    Err(e) => {
                        tracing::debug!(?peer, reason = %e, "closing ping-pong connection");
                        return;
                    }
                }
            }
            // Graceful shutdown: stop reading; calls in progress still get their replies.
            _ = &mut stopping, if !eof => eof = true,
            _ = until(frame_deadline), if frame_deadline.is_some() => {
                tracing::warn!(
                    ?peer,
                    timeout = ?limits.frame_timeout,
                    pending = buf.len(),
                    "closing ping-pong connection: a frame took longer than the frame timeout to arrive"
                );
                return;
            }
            expired = watchdog.fired(), if waiting_on_peer => {
                if !expired {
                    continue;
                }
                if out.is_empty() {
                    tracing::debug!(?peer, timeout = ?config.idle_timeout, "closing an idle ping-pong connection");
                } else {
                    tracing::warn!(?peer, "closing ping-pong connection: the peer does not read its replies");
                }
                return;
            }
        }
    }
}

/// The idle timeout of a connection, and the time a peer has to read some
/// of its pending replies: both run from the last progress (a read, a
/// write, a reply becoming ready). Progress only records the time; the
/// timer is moved when it fires early, so a busy connection re-arms it
/// once per timeout instead of once per call.
struct Watchdog {
    timeout: Duration,
    last_progress: Instant,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl Watchdog {
    fn new(timeout: Duration) -> Self {
        let now = Instant::now();
        Watchdog {
            timeout,
            last_progress: now,
            timer: Box::pin(tokio::time::sleep_until(now + timeout)),
        }
    }

    fn progress(&mut self) {
        self.last_progress = Instant::now();
    }

    /// Waits for the timer; `true` if the timeout has passed since the
    /// last progress, else `false` with the timer moved to when it will.
    async fn fired(&mut self) -> bool {
        self.timer.as_mut().await;
        let due = self.last_progress + self.timeout;
        if Instant::now() >= due {
            return true;
        }
        self.timer.as_mut().reset(due);
        false
    }
}

/// Completes at `deadline`, or never when there is none.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Completes when the server's shutdown signal is raised.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn read_more<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    buf.reserve(8 * 1024);
    reader.read_buf(buf).await
}

type OutgoingFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Outgoing> + Send>>;

/// Reads the message header of a frame and starts its call. An error means
/// the connection must be closed (the frame is not a usable Thrift call).
fn start_call(
    frame: Frame,
    routes: &PingPongRoutes,
    peer: Option<SocketAddr>,
    config: &PingPongConfig,
    calls: &Arc<AtomicUsize>,
) -> Result<OutgoingFuture, String> {
    let limits = &config.limits;
    let (mut msg, protocol, body) = read_any_header(&frame.message).map_err(|e| e.to_string())?;
    // Apache Thrift's TMultiplexedProtocol names the service in the
    // method: `Service:method`. Route by it and answer, as Apache's
    // TMultiplexedProcessor does, with the bare method name.
    let mut multiplexed: Option<FastStr> = None;
    if let Some(at) = msg.name.find(':') {
        multiplexed = Some(msg.name.slice_ref(&msg.name[..at]));
        msg.name = msg.name.slice_ref(&msg.name[at + 1..]);
    }
    let reply_header = |h: &Option<TTHeader>| reply_header(h, protocol);
    let reply_to = MessageHeader {
        name: msg.name.clone(),
        message_type: MessageType::Reply,
        seq_id: msg.seq_id,
    };
    let immediate = |reply: Reply| -> OutgoingFuture {
        let out = Outgoing {
            framing: frame.framing,
            protocol,
            header: reply_header(&frame.header),
            message: reply_to.clone(),
            reply,
        };
        Box::pin(async move { out })
    };
    if !matches!(msg.message_type, MessageType::Call | MessageType::Oneway) {
        let e = ApplicationException::new(
            ExceptionKind::INVALID_MESSAGE_TYPE,
            format!(
                "expected a CALL or ONEWAY message, found {:?} for `{}`",
                msg.message_type,
                echoed(&msg.name)
            ),
        );
        return Ok(immediate(Reply::Exception(e)));
    }
    let service = multiplexed
        .as_deref()
        .or_else(|| frame.header.as_ref().and_then(|h| h.string("isn")));
    let (svc, kind) = match routes.route(service, &msg.name) {
        Ok(found) => found,
        Err(e) => return Ok(immediate(Reply::Exception(e))),
    };
    if kind == MethodKind::Streaming {
        return Ok(immediate(Reply::Exception(ApplicationException::new(
            ExceptionKind::UNKNOWN_METHOD,
            format!(
                "unknown method `{}` for ping-pong: it is a streaming method of `{}`; call it over gRPC",
                msg.name,
                svc.service_name()
            ),
        ))));
    }
    let slot = if limits.counts_streams() {
        match limits.stream(calls) {
            Ok(slot) => Some(slot),
            Err(why) => {
                return Ok(immediate(Reply::Exception(ApplicationException::new(
                    ExceptionKind::INTERNAL_ERROR,
                    why,
                ))))
            }
        }
    } else {
        None
    };
    let timeout = frame
        .header
        .as_ref()
        .and_then(|h| h.int(INT_KEY_RPC_TIMEOUT))
        .and_then(crate::timeout::from_rpc_timeout);
    let oneway = kind == MethodKind::Oneway || msg.message_type == MessageType::Oneway;
    let framing = frame.framing;
    let header = reply_header(&frame.header);
    let ctx = CallContext {
        header: frame.header,
        timeout,
        peer,
        peer_certs: crate::server::connection::certs_for_call(&config.peer_certs),
        framing: Some(framing),
        oneway,
        protocol,
    };
    let fut = svc.call(&msg.name, body, ctx);
    Ok(Box::pin(async move {
        let reply = fut.await;
        drop(slot);
        Outgoing {
            framing,
            protocol,
            header,
            message: reply_to,
            reply: if oneway { Reply::None } else { reply },
        }
    }))
}

/// The header of a reply to a request that came with header `h` (its
/// sequence id, and the reply's protocol).
fn reply_header(h: &Option<TTHeader>, protocol: Protocol) -> Option<TTHeader> {
    h.as_ref().map(|req| TTHeader {
        seq_id: req.seq_id,
        protocol_id: protocol.header_id(),
        ..TTHeader::default()
    })
}

/// The bytes that answer the call in `frame` with exception `e`, in the
/// frame's own framing and protocol, for a caller that must be told why
/// before its connection closes (a plaintext client on a TLS port).
/// `None` for a oneway call or a message that cannot be read.
#[cfg(feature = "tls")]
pub(crate) fn refusal(frame: &Frame, e: ApplicationException) -> Option<BytesMut> {
    let (msg, protocol, _) = read_any_header(&frame.message).ok()?;
    if msg.message_type == MessageType::Oneway {
        return None;
    }
    let out = Outgoing {
        framing: frame.framing,
        protocol,
        header: reply_header(&frame.header, protocol),
        message: MessageHeader {
            name: msg.name,
            message_type: MessageType::Reply,
            seq_id: msg.seq_id,
        },
        reply: Reply::Exception(e),
    };
    let mut bytes = BytesMut::new();
    write_reply(&mut bytes, out).ok()?;
    Some(bytes)
}

fn write_reply(out: &mut BytesMut, done: Outgoing) -> Result<(), String> {
    let mut header = done.header;
    let (message_type, body): (MessageType, Bytes) = match done.reply {
        Reply::None => return Ok(()),
        Reply::Result(b, backward) => {
            if let (Some(h), Some(m)) = (header.as_mut(), backward) {
                m.to_ttheader_reply(h);
            }
            (MessageType::Reply, b)
        }
        Reply::Biz(biz) => match header.as_mut() {
            // TTHeader: the error in the header, an empty Result struct as the body.
            Some(h) => {
                biz.to_ttheader(h);
                (MessageType::Reply, Bytes::from_static(&[0]))
            }
            None => (
                MessageType::Exception,
                ApplicationException::new(ExceptionKind::INTERNAL_ERROR, biz.to_framed_message())
                    .encode_in(done.protocol),
            ),
        },
        Reply::Exception(e) => (MessageType::Exception, e.encode_in(done.protocol)),
    };
    let mut message = BytesMut::with_capacity(body.len() + done.message.name.len() + 12);
    let reply_header = MessageHeader {
        message_type,
        ..done.message
    };
    match done.protocol {
        Protocol::Binary => write_message_header(&mut message, &reply_header),
        Protocol::Compact => write_compact_header(&mut message, &reply_header),
    }
    message.extend_from_slice(&body);
    if let Some(h) = header.as_mut() {
        h.set_int(INT_KEY_MSG_TYPE, message_type.digit());
    }
    encode_frame(out, done.framing, header.as_ref(), &message).map_err(|e| e.to_string())
}
