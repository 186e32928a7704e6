//! The connections of a ping-pong client to one address: at most
//! `max_connections` in use, idle ones reused while they stay fresh and
//! quiet, plain TCP or TLS over it, and reading one reply frame off a
//! connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tonic::Status;

use super::options::PingPongOptions;
use crate::transport::{detect, Detected, Frame, FrameDecoder, FrameKind};

/// One connection's byte stream: plain TCP, or TLS over it (feature
/// `tls`). An enum, so that the plaintext path stays a direct call.
pub(super) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    /// The TCP connection underneath.
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// What a pool needs to open TLS connections: the connector and the
/// server name to verify and send as SNI, or why they cannot be made.
#[cfg(feature = "tls")]
type TlsSetup = Result<
    (
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    ),
    String,
>;

pub(super) struct Conn {
    pub(super) stream: Stream,
    pub(super) buf: BytesMut,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// The connections to one address: at most `max_connections` in use at
/// once, idle ones kept for reuse.
pub(crate) struct Pool {
    pub(super) addr: String,
    pub(super) permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
    /// TLS over every connection, when the client has a TLS configuration.
    #[cfg(feature = "tls")]
    tls: Option<TlsSetup>,
}

impl Pool {
    /// The pool of `addr` (`host:port`) for a client with `options`.
    pub(super) fn new(addr: String, options: &PingPongOptions) -> Self {
        Pool {
            #[cfg(feature = "tls")]
            tls: options.tls.as_ref().map(|config| {
                let host = host_of(&addr);
                config
                    .connector()
                    .and_then(|c| Ok((c, config.server_name(host)?)))
                    .map_err(|e| e.to_string())
            }),
            permits: Arc::new(Semaphore::new(options.max_connections)),
            idle: Mutex::new(Vec::new()),
            addr,
        }
    }

    pub(super) fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// An idle connection that is still open, or a new one.
    pub(super) async fn checkout(&self, options: &PingPongOptions) -> Result<Conn, Status> {
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut v| v.pop());
            let Some(idle) = candidate else { break };
            if idle.since.elapsed() >= options.idle_timeout {
                continue; // too old: drop (close) it
            }
            // A closed or misbehaving connection is readable; a healthy idle one is not.
            let mut probe = [0u8; 1];
            // (Over TLS too: any bytes on an idle connection mean it is
            // closing or out of step, and it is dropped either way.)
            match idle.conn.stream.tcp().try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(idle.conn),
                _ => continue,
            }
        }
        let connect = TcpStream::connect(self.addr.as_str());
        let stream = tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| {
                Status::unavailable(format!(
                    "connecting to {} timed out after {:?}",
                    self.addr, options.connect_timeout
                ))
            })?
            .map_err(|e| Status::unavailable(format!("connecting to {} failed: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let stream = self.handshake(tls, stream, options).await?;
            return Ok(Conn {
                stream: Stream::Tls(Box::new(stream)),
                buf: BytesMut::with_capacity(8 * 1024),
            });
        }
        Ok(Conn {
            stream: Stream::Plain(stream),
            buf: BytesMut::with_capacity(8 * 1024),
        })
    }

    /// The TLS handshake on a new connection, within the connect timeout;
    /// its error says what failed (unknown CA, name mismatch, ...).
    #[cfg(feature = "tls")]
    async fn handshake(
        &self,
        tls: &TlsSetup,
        stream: TcpStream,
        options: &PingPongOptions,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Status> {
        let addr = &self.addr;
        let (connector, name) = tls
            .as_ref()
            .map_err(|e| Status::unavailable(format!("TLS to {addr}: {e}")))?;
        tokio::time::timeout(
            options.connect_timeout,
            connector.connect(name.clone(), stream),
        )
        .await
        .map_err(|_| {
            Status::unavailable(format!(
                "TLS handshake with {addr} timed out after {:?}",
                options.connect_timeout
            ))
        })?
        .map_err(|e| {
            Status::unavailable(format!(
                "TLS handshake with {addr} failed: {}",
                crate::tls::describe_client_error(&e)
            ))
        })
    }

    pub(super) fn checkin(&self, conn: Conn, idle_timeout: Duration) {
        if !conn.buf.is_empty() {
            return; // unexpected extra bytes: do not reuse
        }
        let now = Instant::now();
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|i| now.duration_since(i.since) < idle_timeout);
            idle.push(Idle { conn, since: now });
        }
    }
}

/// Reads one reply frame off `conn`.
pub(super) async fn read_reply(
    conn: &mut Conn,
    addr: &str,
    max_frame: usize,
) -> Result<Frame, Status> {
    // The server answers in the framing of the request; detect it from
    // the reply's own first bytes.
    let kind = loop {
        match detect(&conn.buf) {
            Ok(Some(Detected::Framed)) => break FrameKind::Framed,
            Ok(Some(Detected::Buffered)) => break FrameKind::Buffered,
            Ok(Some(_)) => break FrameKind::TTHeader,
            Ok(None) => read_some(conn, addr).await?,
            Err(e) => return Err(Status::internal(format!("bad reply from {addr}: {e}"))),
        }
    };
    let mut decoder = FrameDecoder::new(kind, max_frame);
    loop {
        match decoder.decode(&mut conn.buf) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => read_some(conn, addr).await?,
            Err(e) => return Err(Status::internal(format!("bad reply from {addr}: {e}"))),
        }
    }
}

async fn read_some(conn: &mut Conn, addr: &str) -> Result<(), Status> {
    conn.buf.reserve(8 * 1024);
    match conn.stream.read_buf(&mut conn.buf).await {
        Ok(0) => Err(Status::unavailable(format!(
            "{addr} closed the connection before replying"
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(Status::unavailable(format!(
            "reading from {addr} failed: {}",
            io_error_text(&e)
        ))),
    }
}

/// An I/O error of a connection, a TLS one in plain words (a server that
/// refuses our client certificate says so on the first read, in TLS 1.3).
#[cfg(feature = "tls")]
pub(super) fn io_error_text(e: &io::Error) -> String {
    crate::tls::describe_client_error(e)
}

/// An I/O error of a connection.
#[cfg(not(feature = "tls"))]
pub(super) fn io_error_text(e: &io::Error) -> String {
    e.to_string()
}

/// The host of `host:port` (`[::1]:port` gives `::1`), for SNI.
#[cfg(feature = "tls")]
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}
