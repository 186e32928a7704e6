//! [`PingPongOptions`]: how a ping-pong client frames, connects, times out,
//! pools, retries and observes its calls.

use std::time::Duration;

use crate::balance::RetryPolicy;
use crate::call::{CallLayer, Middleware};
use crate::codec::Protocol;
use crate::observe::{MessageHook, Tracer};
use crate::transport::Framing;

/// Options of a ping-pong client. Defaults: TTHeader framing (payload not
/// framed inside), connect timeout 1 s, write timeout 10 s, read timeout
/// 30 s, no call timeout, at most 32 connections (per instance for a
/// balanced client), idle connections closed after 60 s, frames up to
/// 16 MiB, no retries.
#[derive(Debug, Clone)]
#[must_use]
pub struct PingPongOptions {
    pub(super) retry: Option<RetryPolicy>,
    pub(super) framing: Framing,
    pub(super) protocol: Protocol,
    pub(super) multiplexed: bool,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Option<Duration>,
    pub(super) read_timeout: Duration,
    pub(super) write_timeout: Duration,
    pub(super) max_connections: usize,
    pub(super) idle_timeout: Duration,
    pub(super) max_frame_size: usize,
    pub(super) middleware: Middleware,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::tls::ClientTlsConfig>,
}

/// How long a ping-pong client waits for a reply by default: 30 s.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a ping-pong client waits to send a request by default: 10 s.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PingPongOptions {
    fn default() -> Self {
        PingPongOptions {
            retry: None,
            framing: Framing::TTHeader {
                inner_framed: false,
            },
            protocol: Protocol::Binary,
            multiplexed: false,
            connect_timeout: Duration::from_secs(1),
            timeout: None,
            read_timeout: DEFAULT_READ_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            max_connections: 32,
            idle_timeout: Duration::from_secs(60),
            max_frame_size: crate::server::DEFAULT_MAX_FRAME_SIZE,
            middleware: Middleware::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl PingPongOptions {
    /// How requests are framed: TTHeader (default), Framed or Buffered.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// The Thrift protocol of requests: [`Protocol::Binary`] (default, what
    /// Kitex speaks) or [`Protocol::Compact`] (Apache Thrift's
    /// `TCompactProtocol`), in any framing. Replies are read in whichever
    /// protocol the server answers.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sends method names as `Service:method`, as Apache Thrift's
    /// `TMultiplexedProtocol` does, so that a server hosting several
    /// services on one port (a `TMultiplexedProcessor`, or a tonic-thrift
    /// server) routes the call to this client's service (default off).
    pub fn multiplexed(mut self, multiplexed: bool) -> Self {
        self.multiplexed = multiplexed;
        self
    }

    /// Connects over TLS (feature `tls`) with these roots, server name and
    /// client certificate (see [`crate::tls`]), as
    /// [`GrpcOptions::tls`](crate::grpc::GrpcOptions::tls) does for gRPC:
    /// every pooled connection starts with a TLS handshake (no ALPN, as
    /// Thrift clients send none), verifying the server's certificate
    /// against the roots and the name of
    /// [`ClientTlsConfig::domain_name`](crate::tls::ClientTlsConfig::domain_name),
    /// else the host of the address, which is also sent as SNI. No roots
    /// configured means the webpki roots. The handshake counts against the
    /// connect timeout, and its failure (unknown CA, a certificate not
    /// valid for the name, a client certificate the server refuses) is
    /// the call's `UNAVAILABLE` error, saying which. A balanced client
    /// ([`PingPongClient::balanced`](super::PingPongClient::balanced))
    /// speaks TLS to every instance, each verified against its own host
    /// unless a domain name is set.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::ClientTlsConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// How long to wait for a new connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of every call (default none); a call's own
    /// ([`CallOptions::timeout`](crate::grpc::CallOptions::timeout) or
    /// `tonic::Request::set_timeout`) takes precedence. Sent to the server as
    /// the TTHeader RPC timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for the whole reply once the request is sent
    /// (default 30 s, [`DEFAULT_READ_TIMEOUT`]), whatever the call's
    /// deadline: a server that accepts a call and never answers fails it with
    /// `DEADLINE_EXCEEDED` naming the read timeout, the connection is closed
    /// and its pool slot freed, and a balanced client's circuit breaker
    /// counts it as a failure. A shorter call deadline wins.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How long to wait for a request to be written to the connection
    /// (default 10 s, [`DEFAULT_WRITE_TIMEOUT`]): a server that stops
    /// reading fails the call with `DEADLINE_EXCEEDED` naming the write
    /// timeout, and the connection is closed.
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Retries of failed calls (default none): see [`RetryPolicy`] for which
    /// failures are retried and the budget that bounds them. For a balanced
    /// client ([`PingPongClient::balanced`](super::PingPongClient::balanced)) a retry goes to another
    /// instance when there is one.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The most connections open at once (default 32), per instance for a
    /// balanced client; further calls wait.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Idle connections older than this are closed instead of reused (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The largest reply frame accepted (default 16 MiB).
    pub fn max_frame_size(mut self, limit: usize) -> Self {
        self.max_frame_size = limit;
        self
    }

    /// Adds a middleware layer run for each call (see [`crate::call`]);
    /// the first added runs outermost.
    pub fn layer<L: CallLayer>(mut self, layer: L) -> Self {
        self.middleware.push_layer(layer);
        self
    }

    /// Adds a hook that sees every request sent and reply received, with its size.
    pub fn message_hook(mut self, hook: impl MessageHook) -> Self {
        self.middleware.add_message_hook(hook);
        self
    }

    /// Adds a tracer.
    pub fn tracer(mut self, tracer: impl Tracer) -> Self {
        self.middleware.add_tracer(tracer);
        self
    }
}
