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

use bytes::{Bytes, BytesMut};
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use super::exception::{ApplicationException, ExceptionKind};
use super::routes::PingPongRoutes;
use super::service::{echoed, CallContext, MethodKind, Reply};
use crate::server::limits::Limits;
use crate::transport::{
    decode_frame, encode_frame, read_message_header, write_message_header, Frame, FrameKind,
    Framing, MessageHeader, MessageType, TTHeader, INT_KEY_MSG_TYPE, INT_KEY_RPC_TIMEOUT,
};

/// Calls in flight on one connection before the server stops reading more.
const MAX_IN_FLIGHT: usize = 64;

/// Settings of the ping-pong side of a server.
#[derive(Debug, Clone)]
pub(crate) struct PingPongConfig {
    pub(crate) max_frame_size: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) limits: Arc<Limits>,
}

/// One reply to write: framing of its request, header, and message.
struct Outgoing {
    framing: Framing,
    header: Option<TTHeader>,
    message: MessageHeader,
    reply: Reply,
}

/// Serves one ping-pong connection whose first bytes (already read) are in
/// `buf`, until the peer closes it, it idles out, or it sends garbage.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn serve_connection<IO>(
    io: IO,
    mut buf: BytesMut,
    kind: FrameKind,
    routes: Arc<PingPongRoutes>,
    config: PingPongConfig,
    peer: Option<SocketAddr>,
    refused: Option<String>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(io);
    let mut in_flight = FuturesOrdered::new();
    let mut out = BytesMut::new();
    let mut eof = false;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut refused = refused;
    loop {
        // Decode every complete frame already buffered.
        while !eof && in_flight.len() < MAX_IN_FLIGHT {
            match decode_frame(&mut buf, kind, config.max_frame_size) {
                Ok(Some(frame)) => {
                    match start_call(frame, &routes, peer, &config.limits, &calls, refused.take()) {
                        Ok((fut, last)) => {
                            in_flight.push_back(fut);
                            if last {
                                eof = true; // refused connection: answer, then close
                            }
                        }
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
        if eof && in_flight.is_empty() {
            if !buf.is_empty() {
                tracing::warn!(
                    ?peer,
                    pending = buf.len(),
                    "ping-pong connection closed by the peer in the middle of a frame"
                );
            }
            return;
        }
        let idle = in_flight.is_empty();
        tokio::select! {
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                let done: Outgoing = done;
                if let Err(reason) = write_reply(&mut out, done) {
                    tracing::warn!(?peer, %reason, "could not encode a ping-pong reply");
                    return;
                }
                if !out.is_empty() {
                    // A peer that stops reading cannot hold the connection forever.
                    match tokio::time::timeout(config.idle_timeout, writer.write_all(&out)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::debug!(?peer, error = %e, "ping-pong write failed");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!(?peer, "closing ping-pong connection: the peer does not read its replies");
                            return;
                        }
                    }
                    out.clear();
                }
            }
            // Graceful shutdown: stop reading; calls in progress still get their replies.
            _ = stopped(&mut stop), if !eof => eof = true,
            read = read_more(&mut reader, &mut buf, idle, config.idle_timeout), if !eof && in_flight.len() < MAX_IN_FLIGHT => {
                match read {
                    Ok(0) => eof = true,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(?peer, reason = %e, "closing ping-pong connection");
                        return;
                    }
                }
            }
        }
    }
}

/// Completes when the server's shutdown signal is raised.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn read_more<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    idle: bool,
    idle_timeout: Duration,
) -> std::io::Result<usize> {
    buf.reserve(8 * 1024);
    if idle {
        match tokio::time::timeout(idle_timeout, reader.read_buf(buf)).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("idle for {idle_timeout:?}"),
            )),
        }
    } else {
        reader.read_buf(buf).await
    }
}

type OutgoingFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Outgoing> + Send>>;

/// Reads the message header of a frame and starts its call. An error means
/// the connection must be closed (the frame is not a usable Thrift call).
/// Reads the message header of a frame and starts its call; `true` means
/// the connection closes after this reply.
fn start_call(
    frame: Frame,
    routes: &PingPongRoutes,
    peer: Option<SocketAddr>,
    limits: &Limits,
    calls: &Arc<AtomicUsize>,
    refused: Option<String>,
) -> Result<(OutgoingFuture, bool), String> {
    let (msg, body) = read_message_header(&frame.message).map_err(|e| e.to_string())?;
    let reply_header = |h: &Option<TTHeader>| {
        h.as_ref().map(|req| TTHeader {
            seq_id: req.seq_id,
            ..TTHeader::default()
        })
    };
    let reply_to = MessageHeader {
        name: msg.name.clone(),
        message_type: MessageType::Reply,
        seq_id: msg.seq_id,
    };
    let immediate = |reply: Reply| -> OutgoingFuture {
        let out = Outgoing {
            framing: frame.framing,
            header: reply_header(&frame.header),
            message: reply_to.clone(),
            reply,
        };
        Box::pin(async move { out })
    };
    if let Some(why) = refused {
        return Ok((
            immediate(Reply::Exception(ApplicationException::new(
                ExceptionKind::INTERNAL_ERROR,
                why,
            ))),
            true,
        ));
    }
    if !matches!(msg.message_type, MessageType::Call | MessageType::Oneway) {
        let e = ApplicationException::new(
            ExceptionKind::INVALID_MESSAGE_TYPE,
            format!(
                "expected a CALL or ONEWAY message, found {:?} for `{}`",
                msg.message_type,
                echoed(&msg.name)
            ),
        );
        return Ok((immediate(Reply::Exception(e)), false));
    }
    let service = frame.header.as_ref().and_then(|h| h.string("isn"));
    let (svc, kind) = match routes.route(service, &msg.name) {
        Ok(found) => found,
        Err(e) => return Ok((immediate(Reply::Exception(e)), false)),
    };
    if kind == MethodKind::Streaming {
        return Ok((
            immediate(Reply::Exception(ApplicationException::new(
                ExceptionKind::UNKNOWN_METHOD,
                format!(
                    "unknown method `{}` for ping-pong: it is a streaming method of `{}`; call it over gRPC",
                    msg.name,
                    svc.service_name()
                ),
            ))),
            false,
        ));
    }
    let slot = if limits.counts_streams() {
        match limits.stream(calls) {
            Ok(slot) => Some(slot),
            Err(why) => {
                return Ok((
                    immediate(Reply::Exception(ApplicationException::new(
                        ExceptionKind::INTERNAL_ERROR,
                        why,
                    ))),
                    false,
                ))
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
    let ctx = CallContext {
        header: frame.header.clone(),
        timeout,
        peer,
        framing: Some(frame.framing),
        oneway,
    };
    let fut = svc.call(&msg.name, body, ctx);
    let framing = frame.framing;
    let header = reply_header(&frame.header);
    Ok((
        Box::pin(async move {
            let reply = fut.await;
            drop(slot);
            Outgoing {
                framing,
                header,
                message: reply_to,
                reply: if oneway { Reply::None } else { reply },
            }
        }),
        false,
    ))
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
                    .encode(),
            ),
        },
        Reply::Exception(e) => (MessageType::Exception, e.encode()),
    };
    let mut message = BytesMut::with_capacity(body.len() + done.message.name.len() + 12);
    write_message_header(
        &mut message,
        &MessageHeader {
            message_type,
            ..done.message
        },
    );
    message.extend_from_slice(&body);
    if let Some(h) = header.as_mut() {
        h.set_int(INT_KEY_MSG_TYPE, (message_type as u8).to_string());
    }
    encode_frame(out, done.framing, header.as_ref(), &message).map_err(|e| e.to_string())
}
