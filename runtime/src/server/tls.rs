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
