//! One accepted connection: read its first bytes, pick the protocol
//! (HTTP/2 or a ping-pong framing), and serve it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::watch;

use super::http2::serve_http2;
use super::limits::Limits;
use super::rewind::Rewind;
use super::serve::HttpService;
use crate::pingpong::{serve_connection, PingPongConfig, PingPongRoutes};
use crate::transport::{detect, Detected, FrameKind};

/// What every connection task needs.
pub(super) struct Shared {
    pub(super) services: HashMap<String, HttpService>,
    pub(super) pingpong: Arc<PingPongRoutes>,
    pub(super) config: PingPongConfig,
    pub(super) limits: Arc<Limits>,
    pub(super) max_header_list_size: u32,
    pub(super) windows: (u32, u32),
}

/// Reads the first bytes, picks the protocol, and serves the connection.
pub(super) async fn handle_connection<IO>(
    mut io: IO,
    peer: Option<SocketAddr>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (_slot, refused) = shared.limits.connection();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let detected = loop {
        match detect(&buf) {
            // HTTP/2 is recognised from its first byte; wait for the whole
            // preface under the idle timeout too, so a client that stalls in
            // it cannot hold the connection open forever.
            Ok(Some(Detected::Http2)) if buf.len() < PREFACE.len() => {
                if !PREFACE.starts_with(&buf) {
                    tracing::warn!(?peer, "closing connection: malformed HTTP/2 preface");
                    return;
                }
            }
            Ok(Some(d)) => break d,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(reason = %e, "closing connection: unknown protocol");
                return;
            }
        }
        let read = tokio::select! {
            r = tokio::time::timeout(shared.config.idle_timeout, io.read_buf(&mut buf)) => r,
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
                tracing::warn!(?peer, timeout = ?shared.config.idle_timeout, "closing connection: its protocol was not known before the idle timeout");
                return;
            }
        }
    };
    let kind = match detected {
        Detected::Http2 => {
            serve_http2(Rewind::new(buf.freeze(), io), peer, refused, shared, stop).await;
            return;
        }
        Detected::TTHeaderStreaming => {
            tracing::warn!(
                "closing connection: TTHeader Streaming is not supported; use gRPC streaming"
            );
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
        refused,
        stop,
    )
    .await;
}
