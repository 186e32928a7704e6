//! [`Server`]: an HTTP/2 server for generated services.
//!
//! Kitex routes a gRPC call by the service name after the last `.` of the
//! first path segment and the method after the last `/`, ignoring the
//! package; so do we: `/echo.TestService/Echo` and `/TestService/Echo` both
//! reach `TestService`. (A plain `tonic::transport::Server` routes by the
//! full `NamedService::NAME` only: there `/TestService/Echo` is answered
//! `UNIMPLEMENTED` by tonic.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{Stream, StreamExt};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::Status;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

use super::dispatch::status_response;
use super::dispatch::PeerAddr;
use super::limits::{Limits, StreamHold};
use super::rewind::Rewind;
use crate::pingpong::{serve_connection, PingPongConfig, PingPongRoutes, PingPongService};
use crate::transport::{detect, Detected, FrameKind};

type HttpService =
    BoxCloneSyncService<http::Request<Incoming>, http::Response<tonic::body::Body>, Infallible>;

/// What [`Server::add_service`] takes: a generated `XxxServer` — a named
/// HTTP/2 service that also answers ping-pong calls.
pub trait ThriftService:
    PingPongService
    + NamedService
    + tower_service::Service<
        http::Request<Incoming>,
        Response = http::Response<tonic::body::Body>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> ThriftService for S where
    S: PingPongService
        + NamedService
        + tower_service::Service<
            http::Request<Incoming>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Builder for a tonic-thrift server. Start with [`Server::builder`].
///
/// ```no_run
/// # async fn run<S>(svc: S) -> Result<(), Box<dyn std::error::Error>>
/// # where S: tonic_thrift::server::ThriftService {
/// tonic_thrift::Server::builder()
///     .add_service(svc)
///     .serve("127.0.0.1:8888".parse()?)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    max_streams_per_connection: Option<usize>,
    max_streams_total: Option<usize>,
    max_connections: Option<usize>,
    max_header_list_size: u32,
    stream_window: u32,
    connection_window: u32,
    max_frame_size: usize,
    idle_timeout: Duration,
    shutdown_grace_period: Duration,
    default_service: Option<&'static str>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            max_streams_per_connection: None,
            max_streams_total: None,
            max_connections: None,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            stream_window: DEFAULT_STREAM_WINDOW,
            connection_window: DEFAULT_CONNECTION_WINDOW,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            shutdown_grace_period: DEFAULT_SHUTDOWN_GRACE_PERIOD,
            default_service: None,
        }
    }
}

/// The largest set of HTTP/2 request headers accepted by default: 16 KiB.
pub const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// The HTTP/2 receive window of each stream by default: 512 KiB.
pub const DEFAULT_STREAM_WINDOW: u32 = 512 * 1024;

/// The HTTP/2 receive window of each connection by default: 16 MiB.
///
/// The HTTP/2 layer closes a connection whose peer leaves too many small
/// DATA frames unread (a guard against framing-overhead floods); its budget
/// is half the connection window. Go peers (Kitex) send one DATA frame per
/// message, so a wide connection window and a narrower stream window keep a
/// fast client streaming 16-byte messages from tripping it.
pub const DEFAULT_CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// How long a graceful shutdown waits for calls in progress by default: 10 s.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// The largest ping-pong frame accepted by default: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// How long a connection may stay silent (no request in progress) before the
/// server closes it, by default: 2 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl Server {
    /// A server with default settings: no limit on connections or
    /// concurrent streams (like tonic; hyper's own default of 200 streams
    /// per connection is lifted), HTTP/2 header sets up to 16 KiB, ping-pong
    /// frames up to 16 MiB, idle connections closed after 2 minutes, and a
    /// 10 s grace period on shutdown.
    #[must_use]
    pub fn builder() -> Self {
        Server::default()
    }

    /// Limits concurrent streams (gRPC) per connection; a stream over the
    /// limit is answered `RESOURCE_EXHAUSTED` naming the limit.
    #[must_use]
    pub fn max_concurrent_streams(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_streams_per_connection = max.into();
        self
    }

    /// Limits concurrent streams and ping-pong calls over all connections;
    /// over the limit: `RESOURCE_EXHAUSTED` (gRPC) or a `TApplicationException`
    /// (ping-pong) naming the limit.
    #[must_use]
    pub fn max_concurrent_streams_total(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_streams_total = max.into();
        self
    }

    /// Limits open connections. A connection over the limit has its first
    /// call answered with an error naming the limit, then is closed.
    #[must_use]
    pub fn max_connections(mut self, max: impl Into<Option<usize>>) -> Self {
        self.max_connections = max.into();
        self
    }

    /// Limits the size of one HTTP/2 header set (default 16 KiB); larger
    /// requests are refused by the HTTP/2 layer.
    #[must_use]
    pub fn max_header_list_size(mut self, bytes: u32) -> Self {
        self.max_header_list_size = bytes;
        self
    }

    /// The HTTP/2 receive windows: per stream (default 512 KiB) and per
    /// connection (default 16 MiB).
    #[must_use]
    pub fn http2_windows(mut self, stream: u32, connection: u32) -> Self {
        self.stream_window = stream;
        self.connection_window = connection;
        self
    }

    /// How long a graceful shutdown lets calls in progress finish before it
    /// cancels them (default 10 s).
    #[must_use]
    pub fn shutdown_grace_period(mut self, period: Duration) -> Self {
        self.shutdown_grace_period = period;
        self
    }

    /// Limits the size of one ping-pong frame (default 16 MiB); a peer that
    /// announces a larger frame has its connection closed.
    #[must_use]
    pub fn max_frame_size(mut self, limit: usize) -> Self {
        self.max_frame_size = limit;
        self
    }

    /// Closes connections that stay silent this long with no call in
    /// progress (default 2 minutes); also bounds how long a new connection
    /// may take to send its first bytes.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The service (by name, without package) that answers Framed and
    /// Buffered calls to a method name that several services share.
    #[must_use]
    pub fn default_service(mut self, name: &'static str) -> Self {
        self.default_service = Some(name);
        self
    }

    /// Adds a generated `XxxServer`.
    pub fn add_service<S: ThriftService>(self, svc: S) -> Router {
        let mut pingpong = PingPongRoutes::new();
        if let Some(d) = self.default_service {
            pingpong.set_default(d);
        }
        Router {
            server: self,
            services: HashMap::new(),
            pingpong,
        }
        .add_service(svc)
    }
}

/// A [`Server`] with services, ready to serve.
pub struct Router {
    server: Server,
    /// Keyed by both the full name (`echo.TestService`) and the bare one (`TestService`).
    services: HashMap<String, HttpService>,
    pingpong: PingPongRoutes,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        f.debug_struct("Router").field("services", &names).finish()
    }
}

impl Router {
    /// Adds another service.
    pub fn add_service<S: ThriftService>(mut self, svc: S) -> Self {
        self.pingpong.add(Arc::new(svc.clone()));
        let boxed = BoxCloneSyncService::new(svc);
        let bare = bare_service_name(S::NAME);
        self.services.insert(bare.to_string(), boxed.clone());
        self.services.insert(S::NAME.to_string(), boxed);
        self
    }

    /// Binds `addr` and serves until the process ends.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        self.serve_with_shutdown(addr, std::future::pending()).await
    }

    /// Binds `addr` and serves until `signal` completes, then stops
    /// accepting, lets calls in progress finish, and returns.
    pub async fn serve_with_shutdown(
        self,
        addr: SocketAddr,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_listener(listener, signal).await
    }

    /// Serves connections accepted from `listener` until `signal` completes.
    pub async fn serve_with_listener(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let incoming = futures_util::stream::unfold(listener, |l| async move {
            let conn = l.accept().await.map(|(s, peer)| {
                let _ = s.set_nodelay(true);
                (s, Some(peer))
            });
            Some((conn, l))
        });
        self.serve_inner(incoming, signal).await
    }

    /// Serves connections from a stream of accepted I/O objects until the
    /// stream ends.
    pub async fn serve_with_incoming<I, IO, E>(self, incoming: I) -> std::io::Result<()>
    where
        I: Stream<Item = Result<IO, E>> + Send,
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        E: std::fmt::Display,
    {
        self.serve_with_incoming_shutdown(incoming, std::future::pending())
            .await
    }

    /// Serves connections from `incoming` until it ends or `signal` completes.
    pub async fn serve_with_incoming_shutdown<I, IO, E>(
        self,
        incoming: I,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        I: Stream<Item = Result<IO, E>> + Send,
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        E: std::fmt::Display,
    {
        let incoming = incoming.map(|r| r.map(|io| (io, None)));
        self.serve_inner(incoming, signal).await
    }

    async fn serve_inner<I, IO, E>(
        self,
        incoming: I,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        I: Stream<Item = Result<(IO, Option<SocketAddr>), E>> + Send,
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        E: std::fmt::Display,
    {
        let limits = Arc::new(Limits::new(
            self.server.max_connections,
            self.server.max_streams_per_connection,
            self.server.max_streams_total,
        ));
        let shared = Arc::new(Shared {
            services: self.services,
            pingpong: Arc::new(self.pingpong),
            config: PingPongConfig {
                max_frame_size: self.server.max_frame_size,
                idle_timeout: self.server.idle_timeout,
                limits: limits.clone(),
            },
            limits,
            max_header_list_size: self.server.max_header_list_size,
            windows: (self.server.stream_window, self.server.connection_window),
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut incoming = Box::pin(incoming);
        let mut signal = std::pin::pin!(signal);
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let (io, peer) = tokio::select! {
                _ = &mut signal => break,
                next = incoming.next() => match next {
                    Some(Ok(io)) => io,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "accept failed");
                        // Do not spin on a persistent accept error (e.g. EMFILE).
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    None => break,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            };
            conns.spawn(handle_connection(io, peer, shared.clone(), stop_rx.clone()));
        }
        // Graceful shutdown: stop accepting (dropping the listener refuses
        // new connections), connections stop taking new calls (GOAWAY for
        // HTTP/2, no more reads for ping-pong), calls in progress finish
        // within the grace period, then whatever is left is cancelled.
        drop(incoming);
        let _ = stop_tx.send(true);
        let grace = self.server.shutdown_grace_period;
        let drained =
            tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                remaining = conns.len(),
                ?grace,
                "shutdown grace period over; cancelling the calls still in progress"
            );
            conns.abort_all();
            while conns.join_next().await.is_some() {}
        }
        Ok(())
    }
}

/// What every connection task needs.
struct Shared {
    services: HashMap<String, HttpService>,
    pingpong: Arc<PingPongRoutes>,
    config: PingPongConfig,
    limits: Arc<Limits>,
    max_header_list_size: u32,
    windows: (u32, u32),
}

/// Reads the first bytes, picks the protocol, and serves the connection.
async fn handle_connection<IO>(
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

async fn serve_http2<IO>(
    io: IO,
    peer: Option<SocketAddr>,
    refused: Option<String>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let streams = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let close = Arc::new(tokio::sync::Notify::new());
    let routes = shared.clone();
    let close_on_refuse = close.clone();
    let (svc_streams, svc_started) = (streams.clone(), started.clone());
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        let routes = routes.clone();
        let streams = svc_streams.clone();
        let refused = refused.clone();
        let close = close_on_refuse.clone();
        svc_started.fetch_add(1, Ordering::Relaxed);
        async move {
            if let Some(why) = refused {
                close.notify_one();
                return Ok::<_, Infallible>(status_response(Status::resource_exhausted(why)));
            }
            let slot = match routes.limits.stream(&streams) {
                Ok(slot) => slot,
                Err(why) => return Ok(status_response(Status::resource_exhausted(why))),
            };
            if let Some(p) = peer {
                req.extensions_mut().insert(PeerAddr(p));
            }
            // Held by the call's response body (see `CallGuard`), so the
            // stream counts until its last frame is sent.
            req.extensions_mut().insert(StreamHold::new(slot));
            Ok(route(&routes.services, req).await)
        }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(None)
        .max_header_list_size(shared.max_header_list_size)
        .initial_stream_window_size(shared.windows.0)
        .initial_connection_window_size(shared.windows.1);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    let mut conn = std::pin::pin!(conn);
    let idle = idle_watch(streams, started, shared.config.idle_timeout);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(error = %e, "HTTP/2 connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|s| *s) => {}
        _ = close.notified() => {
            tracing::warn!(?peer, "closing an HTTP/2 connection over the connection limit");
        }
        _ = idle => {
            tracing::debug!(?peer, "closing an idle HTTP/2 connection");
        }
    }
    conn.as_mut().graceful_shutdown();
    // A peer that never finishes the handshake or never reads cannot hold
    // the connection past the idle timeout either.
    match tokio::time::timeout(shared.config.idle_timeout, conn).await {
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "HTTP/2 connection ended with an error during shutdown")
        }
        Ok(Ok(())) => {}
        Err(_) => tracing::debug!(?peer, "HTTP/2 connection did not close in time; dropped"),
    }
}

/// Completes once the connection has had no stream in progress and none
/// started for a whole `idle` period.
async fn idle_watch(streams: Arc<AtomicUsize>, started: Arc<AtomicU64>, idle: Duration) {
    let mut seen = started.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(idle).await;
        let now = started.load(Ordering::Relaxed);
        if now == seen && streams.load(Ordering::Relaxed) == 0 {
            return;
        }
        seen = now;
    }
}

async fn route(
    services: &HashMap<String, HttpService>,
    req: http::Request<Incoming>,
) -> http::Response<tonic::body::Body> {
    let path = req.uri().path();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let svc = services
        .get(first)
        .or_else(|| services.get(bare_service_name(first)));
    match svc {
        Some(svc) => match svc.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        },
        None => status_response(Status::unimplemented(format!("unknown service `{first}`"))),
    }
}

/// `echo.TestService` → `TestService`.
fn bare_service_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}
