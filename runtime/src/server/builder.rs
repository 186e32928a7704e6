//! [`Server`]: the builder of a server for generated services, its
//! settings and their defaults.

use std::convert::Infallible;
use std::time::Duration;

use hyper::body::Incoming;
use tonic::server::NamedService;

use super::serve::Router;
use crate::pingpong::PingPongService;

/// What [`Server::add_service`] takes: a generated `XxxServer` — a named
/// HTTP/2 service that also answers ping-pong calls. It serves requests
/// with a hyper body (HTTP/2) and with a [`tonic::body::Body`] (each
/// TTHeader Streaming stream becomes such a request; see
/// [`ttstream`](crate::ttstream)); generated servers serve any body.
pub trait ThriftService: NamedThriftService + NamedService {}

impl<S> ThriftService for S where S: NamedThriftService + NamedService {}

/// What [`Server::add_named_service`] takes: a [`ThriftService`] without a
/// compile-time [`NamedService`] name (its name is given with it).
pub trait NamedThriftService:
    PingPongService
    + Http2Service
    + tower_service::Service<
        http::Request<tonic::body::Body>,
        Response = http::Response<tonic::body::Body>,
        Error = Infallible,
        Future: Send + 'static,
    >
{
}

impl<S> NamedThriftService for S where
    S: PingPongService
        + Http2Service
        + tower_service::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
            Future: Send + 'static,
        >
{
}

/// A tower service that answers HTTP/2 requests: what
/// [`Server::add_grpc_service`] takes (with a [`NamedService`] name), and
/// part of every [`ThriftService`].
pub trait Http2Service:
    tower_service::Service<
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

impl<S> Http2Service for S where
    S: tower_service::Service<
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
    pub(super) http2_max_frame_size: u32,
    pub(super) max_frame_size: usize,
    pub(super) idle_timeout: Duration,
    pub(super) handshake_timeout: Duration,
    pub(super) request_body_timeout: Option<Duration>,
    pub(super) http2_keepalive_interval: Option<Duration>,
    pub(super) http2_keepalive_timeout: Duration,
    pub(super) tcp_nodelay: bool,
    pub(super) tcp_keepalive: Option<Duration>,
    pub(super) shutdown_grace_period: Duration,
    pub(super) default_service: Option<&'static str>,
    pub(crate) pingpong: crate::pingpong::ConnectionLimits,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::tls::TlsAcceptor>,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            max_streams_per_connection: Some(DEFAULT_MAX_CONCURRENT_STREAMS),
            max_streams_total: None,
            max_connections: None,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            stream_window: DEFAULT_STREAM_WINDOW,
            connection_window: DEFAULT_CONNECTION_WINDOW,
            http2_max_frame_size: DEFAULT_HTTP2_MAX_FRAME_SIZE,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            request_body_timeout: Some(DEFAULT_REQUEST_BODY_TIMEOUT),
            http2_keepalive_interval: Some(DEFAULT_HTTP2_KEEPALIVE_INTERVAL),
            http2_keepalive_timeout: DEFAULT_HTTP2_KEEPALIVE_TIMEOUT,
            tcp_nodelay: true,
            tcp_keepalive: None,
            shutdown_grace_period: DEFAULT_SHUTDOWN_GRACE_PERIOD,
            default_service: None,
            pingpong: Default::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// Concurrent HTTP/2 streams per connection by default: 200 (hyper's own
/// default). Advertised to the client in `SETTINGS_MAX_CONCURRENT_STREAMS`.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: usize = 200;

/// How long a new connection has, by default, to show its protocol: 10 s
/// for the whole HTTP/2 client preface with its first SETTINGS frame, or
/// for the first bytes of a ping-pong frame.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the request of a unary or server-streaming gRPC call (its one
/// message and the end of the stream) may take to arrive, by default: 30 s.
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an HTTP/2 connection may stay silent before the server sends a
/// keepalive PING, by default: 60 s.
pub const DEFAULT_HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// How long the server waits for the answer to a keepalive PING before it
/// closes the connection, by default: 20 s (as tonic, hyper and grpc-go).
pub const DEFAULT_HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

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

/// The largest HTTP/2 frame the server and the gRPC client let their peer
/// send, by default: 256 KiB (HTTP/2's own default is 16 KiB).
///
/// The HTTP/2 layer hands each DATA frame to the stream's reader on its
/// own, waking it once per frame; at 16 KiB a 1 MiB message costs 64
/// wake-ups and hand-offs. Measured on loopback (bench rows `bidi-65536` and
/// `sstream-1m`, ours ÷ tonic+prost): 0.76–0.80× and 1.05× at 16 KiB,
/// 1.16–1.24× and 1.37–1.57× at 128–256 KiB. The price is that a stream
/// sending large messages can hold the connection for one such frame
/// before another stream's frame goes out (256 KiB is 0.2 ms at 10 Gbit/s),
/// and that a frame is buffered whole before it is delivered. Small
/// messages are unaffected: they travel in small frames.
pub const DEFAULT_HTTP2_MAX_FRAME_SIZE: u32 = 256 * 1024;

/// Brings a requested HTTP/2 frame size limit into the range HTTP/2
/// allows: 16 KiB to 16 MiB − 1 (RFC 9113, section 6.5.2).
pub(crate) fn http2_frame_size_in_range(bytes: u32) -> u32 {
    bytes.clamp(16 * 1024, (1 << 24) - 1)
}

/// How long a graceful shutdown waits for calls in progress by default: 10 s.
pub const DEFAULT_SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// The largest ping-pong frame accepted by default: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// How long a connection may stay silent (no request in progress) before the
/// server closes it, by default: 2 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

impl Server {
    /// A server with default settings: at most 200 concurrent streams per
    /// HTTP/2 connection (hyper's default), no limit on connections or on
    /// streams overall (the process's file-descriptor limit bounds
    /// connections), HTTP/2 header sets up to 16 KiB, 10 s for a new
    /// connection to show its protocol, 30 s for the request of a unary or
    /// server-streaming call to arrive, a keepalive PING after 60 s of
    /// silence answered within 20 s, ping-pong frames up to 16 MiB, idle
    /// connections closed after 2 minutes, and a 10 s grace period on
    /// shutdown.
    #[must_use]
    pub fn builder() -> Self {
        Server::default()
    }

    /// Limits concurrent streams per connection (default 200, as hyper;
    /// `None` lifts the limit). The limit is advertised to HTTP/2 clients in
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`, so a well-behaved client queues
    /// its streams; a stream opened over it anyway is refused with
    /// `RST_STREAM(REFUSED_STREAM)`, which a client may retry. On a
    /// ping-pong connection it bounds the calls in progress (a call over
    /// it gets a `TApplicationException` naming the limit).
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

    /// Limits open connections (default: no limit; the process's
    /// file-descriptor limit bounds them). A connection over the limit is
    /// closed as soon as it is accepted, before any byte is read; the
    /// refusals are logged at most once every 10 s.
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

    /// The largest HTTP/2 frame a client may send (default
    /// [`DEFAULT_HTTP2_MAX_FRAME_SIZE`]); brought into HTTP/2's range of
    /// 16 KiB to 16 MiB − 1. Unrelated to
    /// [`max_frame_size`](Self::max_frame_size), which bounds a ping-pong
    /// frame.
    #[must_use]
    pub fn http2_max_frame_size(mut self, bytes: u32) -> Self {
        self.http2_max_frame_size = http2_frame_size_in_range(bytes);
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
    /// progress (default 2 minutes).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a new connection has to show its protocol (default 10 s),
    /// counted from accept, however the bytes are spread: for HTTP/2 the
    /// whole client preface and the SETTINGS frame that must follow it, for
    /// ping-pong the first bytes that tell the framing. A connection that
    /// has not shown it in time is closed (within the idle timeout, if that
    /// is shorter: such a connection has no call in progress).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long the request of a unary or server-streaming gRPC call (its
    /// one message and the end of the stream) may take to arrive, counted
    /// from the request headers (default 30 s; `None`: no limit). Past it,
    /// the call fails with `DEADLINE_EXCEEDED` naming this timeout, before
    /// the handler runs, and the stream is reset. Client- and
    /// bidirectional-streaming calls are not bounded (their requests may
    /// rightly stay open); a call's own deadline (`grpc-timeout`) applies
    /// too. Unlike tonic's `Server::timeout`, it does not bound the handler.
    #[must_use]
    pub fn request_body_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.request_body_timeout = timeout.into();
        self
    }

    /// Sends an HTTP/2 PING after the connection has been silent this long
    /// (default 60 s; `None` disables keepalive), so a connection whose
    /// peer vanished is closed (see [`Server::http2_keepalive_timeout`]).
    #[must_use]
    pub fn http2_keepalive_interval(mut self, interval: Option<Duration>) -> Self {
        self.http2_keepalive_interval = interval;
        self
    }

    /// How long a keepalive PING may go unanswered before the connection
    /// is closed (default 20 s; `None` keeps the current value, as in
    /// tonic). Does nothing when the keepalive interval is `None`.
    #[must_use]
    pub fn http2_keepalive_timeout(mut self, timeout: Option<Duration>) -> Self {
        if let Some(t) = timeout {
            self.http2_keepalive_timeout = t;
        }
        self
    }

    /// Sets `TCP_NODELAY` on accepted connections (default `true`: replies
    /// go out at once instead of waiting to fill a segment). Applies to
    /// [`Router::serve`], `serve_with_shutdown` and `serve_with_listener`.
    #[must_use]
    pub fn tcp_nodelay(mut self, enabled: bool) -> Self {
        self.tcp_nodelay = enabled;
        self
    }

    /// Sends TCP keepalive probes on accepted connections after this much
    /// silence (default: off; HTTP/2 keepalive PINGs find dead peers of
    /// gRPC connections). Applies where [`tcp_nodelay`](Self::tcp_nodelay)
    /// does.
    #[must_use]
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// The service (by name, without package) that answers Framed and
    /// Buffered calls to a method name that several services share.
    #[must_use]
    pub fn default_service(mut self, name: &'static str) -> Self {
        self.default_service = Some(name);
        self
    }

    /// Serves every connection over TLS (feature `tls`): gRPC, TTHeader
    /// Streaming and ping-pong alike, on the one port, with optional mTLS
    /// (see [`crate::tls`]). The TLS handshake counts against the
    /// [handshake timeout](Self::handshake_timeout).
    ///
    /// ```no_run
    /// use tonic_thrift::tls::ServerTlsConfig;
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = ServerTlsConfig::new(std::fs::read("cert.pem")?, std::fs::read("key.pem")?)?;
    /// let server = tonic_thrift::Server::builder().tls_config(tls)?;
    /// # let _ = server; Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_config(
        mut self,
        config: crate::tls::ServerTlsConfig,
    ) -> Result<Self, crate::tls::TlsError> {
        self.tls = Some(config.acceptor()?);
        Ok(self)
    }

    /// Adds a generated `XxxServer`.
    pub fn add_service<S: ThriftService>(self, svc: S) -> Router {
        Router::new(self).add_service(svc)
    }

    /// Adds a service named at run time (see [`Router::add_named_service`]).
    pub fn add_named_service<S: NamedThriftService>(self, name: &'static str, svc: S) -> Router {
        Router::new(self).add_named_service(name, svc)
    }

    /// Adds a tonic service (see [`Router::add_grpc_service`]): a server can
    /// start with one, for example a generated server wrapped in a tower
    /// service of the caller's that edits responses (HTTP/2 only, at its
    /// full name).
    pub fn add_grpc_service<S: NamedService + Http2Service>(self, svc: S) -> Router {
        Router::new(self).add_grpc_service(svc)
    }
}
