//! The connections of a ping-pong client to one address: at most
//! `max_connections` in use, idle ones reused while they stay fresh and
//! quiet, and reading one reply frame off a connection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tonic::Status;

use super::options::PingPongOptions;
use crate::transport::{detect, Detected, Frame, FrameDecoder, FrameKind};

pub(super) struct Conn {
    pub(super) stream: TcpStream,
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
}

impl Pool {
    pub(super) fn new(addr: String, max_connections: usize) -> Self {
        Pool {
            addr,
            permits: Arc::new(Semaphore::new(max_connections)),
            idle: Mutex::new(Vec::new()),
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
            match idle.conn.stream.try_read(&mut probe) {
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
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        })
    }

    pub(super) fn checkin(&self, conn: Conn, idle_timeout: Duration) {
        if !conn.buf.is_empty() {
            return; // unexpected extra bytes: do not reuse
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|i| i.since.elapsed() < idle_timeout);
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
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
            "reading from {addr} failed: {e}"
        ))),
    }
}
