//! The TLS handshake of an accepted connection, before protocol detection
//! (feature `tls`; see [`crate::tls`]).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::connection::{read_preface, serve_detected, Shared};
use super::rewind::Rewind;
use crate::tls::server::TLS_HANDSHAKE_RECORD;
use crate::tls::TlsAcceptor;

/// Reads the first byte: a TLS handshake record is accepted (under the
/// handshake `deadline`) and the decrypted stream detected and served; any
/// other byte is a plaintext client, served only when the configuration
/// allows it.
pub(super) async fn serve_tls<IO>(
    mut io: IO,
    tls: TlsAcceptor,
    peer: Option<SocketAddr>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut buf = BytesMut::with_capacity(1024);
    if read_preface(&mut io, &mut buf, peer, deadline, &mut stop)
        .await
        .is_none()
    {
        return;
    }
    if buf[0] != TLS_HANDSHAKE_RECORD {
        if tls.allow_plaintext {
            serve_detected(io, buf, peer, None, shared, stop, deadline).await;
        } else {
            tracing::warn!(
                ?peer,
                first_byte = buf[0],
                "closing connection: plaintext client on a TLS port \
                 (its first byte is not a TLS handshake record; connect with TLS)"
            );
            if buf.starts_with(b"PRI") {
                refuse_plaintext_http2(io).await;
            } else {
                refuse_plaintext_pingpong(io, buf, deadline).await;
            }
        }
        return;
    }
    let accept = tls.accept(Rewind::new(buf.freeze(), io));
    let accepted = tokio::select! {
        r = tokio::time::timeout_at(deadline, accept) => r,
        _ = stop.wait_for(|s| *s) => return,
    };
    let (stream, certs) = match accepted {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            // What the client did wrong (unknown CA, no certificate, ALPN
            // mismatch) is in rustls' error text.
            tracing::warn!(?peer, error = %e, "closing connection: TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(
                ?peer,
                "closing connection: TLS handshake not done within the handshake timeout"
            );
            return;
        }
    };
    serve_detected(stream, BytesMut::new(), peer, certs, shared, stop, deadline).await;
}

/// Tells a plaintext ping-pong client (TTHeader, Framed or Buffered) why it
/// is refused: its first call is answered with a `TApplicationException`
/// saying the port requires TLS, then the connection closes. Anything that
/// is not a whole ping-pong frame by the handshake `deadline` is just closed.
async fn refuse_plaintext_pingpong<IO>(
    mut io: IO,
    mut buf: BytesMut,
    deadline: tokio::time::Instant,
) where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    use crate::pingpong::{ApplicationException, ExceptionKind};
    use crate::transport::{decode_frame, detect, Detected, FrameKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// A refusal needs only the message header: a larger first frame is
    /// not read whole.
    const MAX_FRAME: usize = 64 * 1024;
    let kind = match detect(&buf) {
        Ok(Some(Detected::TTHeader)) => FrameKind::TTHeader,
        Ok(Some(Detected::Framed)) => FrameKind::Framed,
        Ok(Some(Detected::Buffered)) => FrameKind::Buffered,
        _ => return,
    };
    let read = async {
        loop {
            match decode_frame(&mut buf, kind, MAX_FRAME) {
                Ok(Some(frame)) => return Some(frame),
                Ok(None) => {}
                Err(_) => return None,
            }
            match io.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    };
    let Ok(Some(frame)) = tokio::time::timeout_at(deadline, read).await else {
        return;
    };
    let e = ApplicationException::new(
        ExceptionKind::INTERNAL_ERROR,
        "this port requires TLS: connect with TLS",
    );
    if let Some(reply) = crate::pingpong::refusal(&frame, e) {
        let answer = async {
            io.write_all(&reply).await?;
            io.shutdown().await
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), answer).await;
    }
}

/// Tells a plaintext HTTP/2 client why it is refused, in terms its gRPC
/// library shows: an empty SETTINGS frame (the server preface), then
/// `GOAWAY(INADEQUATE_SECURITY)` with a reason, then the connection closes.
async fn refuse_plaintext_http2<IO>(mut io: IO)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const REASON: &[u8] = b"this port requires TLS: connect with https";
    const INADEQUATE_SECURITY: u32 = 0xc;
    let mut frames = Vec::with_capacity(9 + 9 + 8 + REASON.len());
    // SETTINGS: length 0, type 4, no flags, stream 0.
    frames.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // GOAWAY: type 7 on stream 0: last stream 0, the error code, the reason.
    let len = u32::try_from(8 + REASON.len()).unwrap_or(0).to_be_bytes();
    frames.extend_from_slice(&[len[1], len[2], len[3], 7, 0, 0, 0, 0, 0]);
    frames.extend_from_slice(&0u32.to_be_bytes());
    frames.extend_from_slice(&INADEQUATE_SECURITY.to_be_bytes());
    frames.extend_from_slice(REASON);
    let refuse = async {
        io.write_all(&frames).await?;
        io.shutdown().await?;
        // Read what the client still sends until it closes, so the close
        // is not a reset that could discard the GOAWAY.
        let mut sink = [0u8; 1024];
        while io.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), refuse).await;
}
