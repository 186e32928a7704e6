//! [`Server`]: the builder of a server for generated services, its
//! settings and their defaults.

use std::convert::Infallible;
use std::time::Duration;

use hyper::body::Incoming;
use tonic::server::NamedService;

use super::serve::Router;
use crate::pingpong::PingPongService;

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
    pub(super) max_streams_per_connection: Option<usize>,
    pub(super) max_streams_total: Option<usize>,
    pub(super) max_connections: Option<usize>,
    pub(super) max_header_list_size: u32,
    pub(super) stream_window: u32,
    pub(super) connection_window: u32,
    pub(super) max_frame_size: usize,
    pub(super) idle_timeout: Duration,
    pub(super) shutdown_grace_period: Duration,
    pub(super) default_service: Option<&'static str>,
    pub(crate) pingpong: crate::pingpong::ConnectionLimits,
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
            pingpong: Default::default(),
        }
    }
}

/// The receive limit for one gRPC message by default, as in gRPC: 4 MiB.
pub const DEFAULT_MAX_DECODING_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

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
        Router::new(self).add_service(svc)
    }
}
