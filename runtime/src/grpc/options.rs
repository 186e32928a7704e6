//! Client options: for every call of a client ([`GrpcOptions`], like
//! Kitex's `streamclient.Option`; [`crate::pingpong::PingPongOptions`] for
//! ping-pong clients) and for one call ([`CallOptions`], like Kitex's
//! `streamcall.Option`, which takes precedence).

use std::time::Duration;

use crate::call::{CallLayer, Middleware};
use crate::observe::{MessageHook, Tracer};
use crate::server::DEFAULT_MAX_DECODING_MESSAGE_SIZE;

/// Options for every stream and call of a gRPC client.
///
/// Defaults: no deadline, connect timeout 1 s (used by `connect_with`),
/// receive limit 4 MiB, no send limit, no middleware, hooks or tracers.
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift::grpc::GrpcOptions;
///
/// let options = GrpcOptions::default()
///     .timeout(Duration::from_secs(5))
///     .connect_timeout(Duration::from_millis(500));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct GrpcOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_decoding_message_size: usize,
    pub(crate) max_encoding_message_size: usize,
    pub(crate) middleware: Middleware,
    pub(crate) stream_transport: StreamTransport,
    pub(crate) compression: crate::codec::Compression,
    pub(crate) keepalive: Keepalive,
    pub(crate) http2_max_frame_size: u32,
    pub(crate) ttstream_connections: usize,
    pub(crate) ttstream_frame_timeout: Duration,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::ClientTlsConfig>,
}

/// A client's keepalive settings (see [`GrpcOptions::http2_keepalive_interval`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keepalive {
    interval: Option<Duration>,
    timeout: Option<Duration>,
    while_idle: bool,
    tcp: Option<Duration>,
}

/// The transport of a gRPC client's streaming methods (see
/// [`GrpcOptions::stream_transport`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamTransport {
    /// gRPC over HTTP/2 (the default).
    #[default]
    Grpc,
    /// TTHeader Streaming (Kitex's `transport.TTHeaderStreaming`), over
    /// [`TtStreamChannel`](crate::ttstream::TtStreamChannel).
    TTHeaderStreaming,
}

impl Default for GrpcOptions {
    fn default() -> Self {
        GrpcOptions {
            timeout: None,
            connect_timeout: Duration::from_secs(1),
            max_decoding_message_size: DEFAULT_MAX_DECODING_MESSAGE_SIZE,
            max_encoding_message_size: usize::MAX,
            middleware: Middleware::default(),
            stream_transport: StreamTransport::Grpc,
            compression: Default::default(),
            keepalive: Keepalive::default(),
            http2_max_frame_size: crate::server::DEFAULT_HTTP2_MAX_FRAME_SIZE,
            ttstream_connections: crate::ttstream::DEFAULT_CONNECTIONS,
            ttstream_frame_timeout: crate::pingpong::DEFAULT_FRAME_TIMEOUT,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl GrpcOptions {
    /// The deadline of every stream and call, from its creation (sent as
    /// `grpc-timeout`, enforced by both sides). A call's own deadline
    /// ([`CallOptions::timeout`] or `Request::set_timeout`) wins.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The transport of streaming methods (bidirectional, client and
    /// server) on a client made by the generated `connect_with`: gRPC (the
    /// default), or TTHeader Streaming, which opens its own pool of
    /// [`ttstream_connections`](Self::ttstream_connections) connections to the same
    /// host and port (over TLS for an `https` URL, with the same
    /// `tls` settings). `unary` and ping-pong methods stay
    /// on gRPC either way (TTHeader Streaming has no unary mode; a Kitex
    /// server serves both on one port). A client made with `with_options`
    /// uses the transport it is given instead, such as a
    /// [`TtStreamChannel`](crate::ttstream::TtStreamChannel).
    ///
    /// ```no_run
    /// use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
    ///
    /// tonic_thrift::thrift_service!("docs/echo.thrift", build_server = false);
    /// use echo::test_service_client::TestServiceClient;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = GrpcOptions::default().stream_transport(StreamTransport::TTHeaderStreaming);
    /// let mut client = TestServiceClient::connect_with("http://127.0.0.1:8888", options).await?;
    /// let request = echo::Request { message: "3".into() };
    /// let mut replies = client.echo_server(request).await?.into_inner(); // over ttstream
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream_transport(mut self, transport: StreamTransport) -> Self {
        self.stream_transport = transport;
        self
    }

    /// How many connections a TTHeader Streaming client
    /// ([`StreamTransport::TTHeaderStreaming`], or a
    /// [`TtStreamChannel`](crate::ttstream::TtStreamChannel) made with these
    /// options) opens to its address, spreading its streams over them
    /// round-robin (default
    /// [`DEFAULT_CONNECTIONS`](crate::ttstream::DEFAULT_CONNECTIONS), at
    /// least 1). More connections spread a busy client over more of the
    /// server's threads; each one costs a socket and two tasks.
    pub fn ttstream_connections(mut self, connections: usize) -> Self {
        self.ttstream_connections = connections.max(1);
        self
    }

    /// The longest a TTHeader Streaming frame from the server may take from
    /// its first byte to its last (default 30 s, as the server's
    /// [`Server::frame_timeout`](crate::Server::frame_timeout)). A server
    /// that stalls inside a frame has its connection closed, and the
    /// streams on it fail with `UNAVAILABLE`, instead of waiting for their
    /// own deadlines (or for ever, without one).
    pub fn ttstream_frame_timeout(mut self, timeout: Duration) -> Self {
        self.ttstream_frame_timeout = timeout;
        self
    }

    /// Connects over TLS (feature `tls`) with these roots, server name and
    /// client certificate, for `https://` URLs given to `connect_with`
    /// (see [`crate::tls`]). An `https` URL without it trusts the webpki
    /// roots.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::ClientTlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Compresses every request message with `encoding` (features `gzip`,
    /// `zstd`; as tonic's `send_compressed`). The server must accept it.
    pub fn send_compressed(mut self, encoding: tonic::codec::CompressionEncoding) -> Self {
        self.compression.send(encoding);
        self
    }

    /// Accepts reply messages compressed with `encoding`, announced in
    /// `grpc-accept-encoding` (as tonic's `accept_compressed`); call it
    /// once per encoding.
    pub fn accept_compressed(mut self, encoding: tonic::codec::CompressionEncoding) -> Self {
        self.compression.accept(encoding);
        self
    }

    /// Sends an HTTP/2 PING after the connection has been silent this long
    /// (default: off, as in grpc), so streams whose server vanished without
    /// closing the connection end with `UNAVAILABLE` once the PING goes
    /// unanswered for [`http2_keepalive_timeout`](Self::http2_keepalive_timeout).
    pub fn http2_keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive.interval = Some(interval);
        self
    }

    /// How long a keepalive PING may go unanswered before the connection is
    /// closed (default 20 s, tonic's).
    pub fn http2_keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive.timeout = Some(timeout);
        self
    }

    /// Also sends keepalive PINGs while no stream is open (default: only
    /// with streams open).
    pub fn http2_keepalive_while_idle(mut self, enabled: bool) -> Self {
        self.keepalive.while_idle = enabled;
        self
    }

    /// The largest HTTP/2 frame the server may send (default
    /// [`DEFAULT_HTTP2_MAX_FRAME_SIZE`](crate::server::DEFAULT_HTTP2_MAX_FRAME_SIZE),
    /// which explains the trade-off); brought into HTTP/2's range of 16 KiB
    /// to 16 MiB − 1.
    pub fn http2_max_frame_size(mut self, bytes: u32) -> Self {
        self.http2_max_frame_size = crate::server::http2_frame_size_in_range(bytes);
        self
    }

    /// TCP keepalive probes after this much silence (default: off).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive.tcp = idle;
        self
    }

    /// How long `connect_with` waits for the connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest message accepted from the server (default 4 MiB).
    pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
        self.max_decoding_message_size = limit;
        self
    }

    /// The largest message sent (default unlimited).
    pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
        self.max_encoding_message_size = limit;
        self
    }

    /// Adds a middleware layer run when each call or stream is created (see
    /// [`crate::call`]); the first added runs outermost.
    pub fn layer<L: CallLayer>(mut self, layer: L) -> Self {
        self.middleware.push_layer(layer);
        self
    }

    /// Adds a hook that sees every message sent and received, with its size.
    pub fn message_hook(mut self, hook: impl MessageHook) -> Self {
        self.middleware.add_message_hook(hook);
        self
    }

    /// Adds a tracer.
    pub fn tracer(mut self, tracer: impl Tracer) -> Self {
        self.middleware.add_tracer(tracer);
        self
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Applies these options to a tonic endpoint: the connect timeout,
    /// keepalive settings, and
    /// HTTP/2 receive windows wide enough that a Go (Kitex) server sending
    /// one small DATA frame per message does not trip the HTTP/2 layer's
    /// guard against small-frame floods (see
    /// [`crate::server::DEFAULT_CONNECTION_WINDOW`]).
    pub fn configure_endpoint(
        &self,
        endpoint: tonic::transport::Endpoint,
    ) -> tonic::transport::Endpoint {
        let endpoint = endpoint
            .connect_timeout(self.connect_timeout)
            .initial_stream_window_size(crate::server::DEFAULT_STREAM_WINDOW)
            .initial_connection_window_size(crate::server::DEFAULT_CONNECTION_WINDOW)
            .max_frame_size(self.http2_max_frame_size)
            .tcp_nodelay(true)
            .tcp_keepalive(self.keepalive.tcp);
        let endpoint = match self.keepalive.interval {
            Some(interval) => endpoint
                .http2_keep_alive_interval(interval)
                .keep_alive_while_idle(self.keepalive.while_idle),
            None => endpoint,
        };
        match self.keepalive.timeout {
            Some(timeout) => endpoint.keep_alive_timeout(timeout),
            None => endpoint,
        }
    }

    /// Like [`configure_endpoint`](Self::configure_endpoint), and sends the
    /// callee's service name as `:authority`, as Kitex clients do.
    pub fn configure_endpoint_for(
        &self,
        endpoint: tonic::transport::Endpoint,
        service: &str,
    ) -> tonic::transport::Endpoint {
        let endpoint = self.configure_endpoint(endpoint);
        let scheme = endpoint.uri().scheme_str().unwrap_or("http").to_string();
        match format!("{scheme}://{service}").parse() {
            Ok(origin) => endpoint.origin(origin),
            Err(_) => endpoint,
        }
    }
}

/// Options for one call or stream, set on its request; they take
/// precedence over the client's options. A call's deadline is the first
/// of: [`CallOptions::timeout`], `tonic::Request::set_timeout`, the
/// client's `timeout` option; on both gRPC and ping-pong clients.
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift::grpc::CallOptions;
///
/// let mut request = tonic::Request::new(());
/// CallOptions::new().timeout(Duration::from_millis(200)).apply(&mut request);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
}

impl CallOptions {
    /// No per-call options.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// The deadline of this call or stream, from its creation.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets these options on `request`.
    pub fn apply<T>(self, request: &mut tonic::Request<T>) {
        request.extensions_mut().insert(self);
    }
}
