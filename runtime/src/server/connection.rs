//! One accepted connection: read its first bytes, pick the protocol
//! (HTTP/2, TTHeader Streaming or a ping-pong framing), and serve it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::watch;

use super::http2::{serve_http2, Http2Settings};
use super::limits::{ConnectionSlot, Limits};
use super::rewind::Rewind;
use super::serve::HttpService;
use crate::pingpong::{serve_connection, PingPongConfig, PingPongRoutes};
use crate::transport::{detect, http2_preface_complete, Detected, FrameKind};
use crate::ttstream::server::{
    serve_connection as ttstream_connection, ConnectionConfig, StreamRoutes,
};

/// What every connection task needs.
pub(super) struct Shared {
    pub(super) services: HashMap<String, HttpService>,
    pub(super) pingpong: Arc<PingPongRoutes>,
    pub(super) ttstream: Arc<StreamRoutes>,
    pub(super) config: PingPongConfig,
    pub(super) limits: Arc<Limits>,
    /// How long a new connection has to show its protocol.
    pub(super) handshake_timeout: Duration,
    pub(super) http2: Http2Settings,
}

/// Reads the first bytes, picks the protocol, and serves the connection.
/// `_slot` counts the connection against `max_connections` until it ends.
pub(super) async fn handle_connection<IO>(
    mut io: IO,
    peer: Option<SocketAddr>,
    _slot: ConnectionSlot,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = BytesMut::with_capacity(8 * 1024);
    // One deadline for the whole sniff, however the bytes are spread: a
    // client that sends a byte at a time cannot hold the connection open.
    // A connection still sniffing has no call in progress, so a shorter
    // idle timeout applies too.
    let timeout = shared.handshake_timeout.min(shared.config.idle_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    let detected = loop {
        match detect(&buf) {
            // HTTP/2 is recognised from its first byte; wait for the whole
            // preface and the SETTINGS frame that must follow it (RFC 9113
            // §3.4) under the same deadline, so a client that sends the
            // preface and then nothing is not handed to hyper, where only
            // the idle timeout would end it.
            Ok(Some(Detected::Http2)) if !http2_preface_complete(&buf) => {}
            Ok(Some(d)) => break d,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(?peer, reason = %e, "closing connection: unknown protocol");
                return;
            }
        }
        let read = tokio::select! {
            r = tokio::time::timeout_at(deadline, io.read_buf(&mut buf)) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        match read {
            Ok(Ok(0)) => {
                if !buf.is_empty() {
                    tracing::debug!(
                        bytes = buf.len(),
                        "connection closed before its protocol was known"
                    );
                }
                return;
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "connection read failed");
                return;
            }
            Err(_) => {
                // Debug, not warn: a client can cause this at will.
                tracing::debug!(
                    ?peer,
                    ?timeout,
                    bytes = buf.len(),
                    "closing connection: no complete protocol preface within the handshake timeout"
                );
                return;
            }
        }
    };
    let kind = match detected {
        Detected::Http2 => {
            serve_http2(Rewind::new(buf.freeze(), io), peer, shared, stop).await;
            return;
        }
        Detected::TTHeaderStreaming => {
            let cfg = ConnectionConfig {
                routes: shared.ttstream.clone(),
                limits: shared.limits.clone(),
                max_frame: shared.config.max_frame_size,
                max_streams: shared
                    .http2
                    .max_concurrent_streams
                    .and_then(|n| usize::try_from(n).ok()),
                idle_timeout: shared.config.idle_timeout,
                frame_timeout: shared.config.connection.frame_timeout,
                peer,
            };
            ttstream_connection(io, buf, cfg, stop).await;
            return;
        }
        Detected::TTHeader => FrameKind::TTHeader,
        Detected::Framed => FrameKind::Framed,
        Detected::Buffered => FrameKind::Buffered,
    };
    serve_connection(
        io,
        buf,
        kind,
        shared.pingpong.clone(),
        shared.config.clone(),
        peer,
        stop,
    )
    .await;
}
