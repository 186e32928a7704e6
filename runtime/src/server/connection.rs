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
    /// The TLS acceptor, when the server has TLS.
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::tls::TlsAcceptor>,
}

/// The verified client certificates of a TLS connection (mTLS), put in
/// each call's request extensions.
#[cfg(feature = "tls")]
pub(crate) type PeerCerts = crate::tls::PeerCertificates;
/// Without the `tls` feature there are never any.
#[cfg(not(feature = "tls"))]
pub(crate) type PeerCerts = std::convert::Infallible;

/// A copy of a connection's certificates for one call. (Without the `tls`
/// feature the type is `Infallible`, which is `Copy`.)
#[allow(clippy::clone_on_copy)]
pub(crate) fn certs_for_call(certs: &Option<PeerCerts>) -> Option<PeerCerts> {
    certs.clone()
}

/// Serves one accepted connection: the TLS handshake first when the server
/// has TLS, then protocol detection. `_slot` counts the connection against
/// `max_connections` until it ends.
pub(super) async fn handle_connection<IO>(
    io: IO,
    peer: Option<SocketAddr>,
    _slot: ConnectionSlot,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // One deadline for the TLS handshake and the sniff together, however
    // the bytes are spread: a client that sends a byte at a time cannot
    // hold the connection open. A connection still sniffing has no call in
    // progress, so a shorter idle timeout applies too.
    let timeout = shared.handshake_timeout.min(shared.config.idle_timeout);
    let deadline = tokio::time::Instant::now() + timeout;
    #[cfg(feature = "tls")]
    if let Some(tls) = shared.tls.clone() {
        super::tls::serve_tls(io, tls, peer, shared, stop, deadline).await;
        return;
    }
    serve_detected(io, BytesMut::new(), peer, None, shared, stop, deadline).await;
}

/// Reads more of a connection that is still showing its protocol into
/// `buf`, until `deadline`. `None`: the connection is over (closed, failed,
/// too slow, or the server is stopping); the reason is logged.
pub(super) async fn read_preface<IO: AsyncRead + Unpin>(
    io: &mut IO,
    buf: &mut BytesMut,
    peer: Option<SocketAddr>,
    deadline: tokio::time::Instant,
    stop: &mut watch::Receiver<bool>,
) -> Option<()> {
    let read = tokio::select! {
        r = tokio::time::timeout_at(deadline, io.read_buf(buf)) => r,
        _ = stop.wait_for(|s| *s) => return None,
    };
    match read {
        Ok(Ok(0)) => {
            if !buf.is_empty() {
                tracing::debug!(
                    bytes = buf.len(),
                    "connection closed before its protocol was known"
                );
            }
            None
        }
        Ok(Ok(_)) => Some(()),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "connection read failed");
            None
        }
        Err(_) => {
            // Debug, not warn: a client can cause this at will.
            tracing::debug!(
                ?peer,
                bytes = buf.len(),
                "closing connection: no complete protocol preface within the handshake timeout"
            );
            None
        }
    }
}

/// Reads the first bytes (after any already in `buf`), picks the protocol,
/// and serves the connection.
pub(super) async fn serve_detected<IO>(
    mut io: IO,
    mut buf: BytesMut,
    peer: Option<SocketAddr>,
    certs: Option<PeerCerts>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    buf.reserve(8 * 1024);
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
        if read_preface(&mut io, &mut buf, peer, deadline, &mut stop)
            .await
            .is_none()
        {
            return;
        }
    };
    let kind = match detected {
        Detected::Http2 => {
            serve_http2(Rewind::new(buf.freeze(), io), peer, certs, shared, stop).await;
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
                peer_certs: certs,
            };
            ttstream_connection(io, buf, cfg, stop).await;
            return;
        }
        Detected::TTHeader => FrameKind::TTHeader,
        Detected::Framed => FrameKind::Framed,
        Detected::Buffered => FrameKind::Buffered,
    };
    let mut config = shared.config.clone();
    config.peer_certs = certs;
    serve_connection(io, buf, kind, shared.pingpong.clone(), config, peer, stop).await;
}
