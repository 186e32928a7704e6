//! [`Router`]: a [`Server`] with its services: accepts connections, hands
//! each to its own task, and shuts down gracefully.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::util::BoxCloneSyncService;

use super::builder::{Http2Service, NamedThriftService, Server, ThriftService};
use super::connection::{handle_connection, Shared};
use super::http2::Http2Settings;
use super::limits::Limits;
use crate::pingpong::{PingPongConfig, PingPongRoutes};
use crate::ttstream::server::{StreamRoutes, StreamService};

pub(super) type HttpService =
    BoxCloneSyncService<http::Request<Incoming>, http::Response<tonic::body::Body>, Infallible>;

/// A [`Server`] with services, ready to serve.
pub struct Router {
    server: Server,
    /// Keyed by both the full name (`echo.TestService`) and the bare one (`TestService`).
    services: HashMap<String, HttpService>,
    pingpong: PingPongRoutes,
    ttstream: StreamRoutes,
    /// The full names of the Thrift services, for health reporting.
    thrift_names: Vec<&'static str>,
    #[cfg(feature = "health")]
    health: Option<super::health::Health>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        f.debug_struct("Router").field("services", &names).finish()
    }
}

impl Router {
    pub(super) fn new(server: Server) -> Self {
        let mut pingpong = PingPongRoutes::new();
        if let Some(d) = server.default_service {
            pingpong.set_default(d);
        }
        Router {
            server,
            services: HashMap::new(),
            pingpong,
            ttstream: StreamRoutes::default(),
            thrift_names: Vec::new(),
            #[cfg(feature = "health")]
            health: None,
        }
    }

    /// Adds another service.
    pub fn add_service<S: ThriftService>(self, svc: S) -> Self {
        self.add_named_service(S::NAME, svc)
    }

    /// Adds a service whose full name (`echo.TestService`) is known only at
    /// run time, such as a generic server built from an IDL read at start-up
    /// (`tonic-thrift-generic`). It is routed exactly as
    /// [`add_service`](Self::add_service) routes a generated one.
    pub fn add_named_service<S: NamedThriftService>(mut self, name: &'static str, svc: S) -> Self {
        self.pingpong.add(Arc::new(svc.clone()));
        self.ttstream.add(StreamService {
            name,
            http: BoxCloneSyncService::new(svc.clone()),
            methods: Arc::new(svc.clone()),
        });
        self.thrift_names.push(name);
        let boxed = BoxCloneSyncService::new(svc);
        let bare = super::http2::bare_service_name(name);
        self.services.insert(bare.to_string(), boxed.clone());
        self.services.insert(name.to_string(), boxed);
        self
    }

    /// Adds a tonic service, such as a prost-generated one, tonic-health's
    /// `grpc.health.v1.Health` or tonic reflection, beside the Thrift
    /// services on the same port. It is served over HTTP/2 (gRPC) only, at
    /// its full name ([`NamedService::NAME`](tonic::server::NamedService)),
    /// without the Thrift services' middleware and limits; ping-pong and
    /// TTHeader Streaming connections are still detected and served.
    pub fn add_grpc_service<S: tonic::server::NamedService + Http2Service>(
        mut self,
        svc: S,
    ) -> Self {
        self.services
            .insert(S::NAME.to_string(), BoxCloneSyncService::new(svc));
        self
    }

    /// Adds tonic-health's `grpc.health.v1.Health` service (feature
    /// `health`) and returns its reporter, to change statuses. Each Thrift
    /// service is reported `SERVING` under its full name (`echo.TestService`),
    /// and the server as a whole under `""`, once the server serves; a
    /// graceful shutdown reports them all `NOT_SERVING` first, so health
    /// checkers stop routing here before the server stops taking calls.
    #[cfg(feature = "health")]
    pub fn add_health_service(mut self) -> (Self, tonic_health::server::HealthReporter) {
        let (reporter, service) = tonic_health::server::health_reporter();
        self.health = Some(super::health::Health {
            reporter: reporter.clone(),
        });
        (self.add_grpc_service(service), reporter)
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
        let (nodelay, keepalive) = (self.server.tcp_nodelay, self.server.tcp_keepalive);
        let incoming = futures_util::stream::unfold(listener, move |l| async move {
            let conn = l.accept().await.map(|(s, peer)| {
                let _ = s.set_nodelay(nodelay);
                if let Some(idle) = keepalive {
                    let probes = socket2::TcpKeepalive::new().with_time(idle);
                    if let Err(e) = socket2::SockRef::from(&s).set_tcp_keepalive(&probes) {
                        tracing::debug!(error = %e, "could not set TCP keepalive");
                    }
                }
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
            ttstream: Arc::new(self.ttstream),
            config: PingPongConfig {
                max_frame_size: self.server.max_frame_size,
                idle_timeout: self.server.idle_timeout,
                limits: limits.clone(),
                connection: self.server.pingpong,
                peer_certs: None,
            },
            limits: limits.clone(),
            handshake_timeout: self.server.handshake_timeout,
            http2: Http2Settings {
                max_concurrent_streams: self
                    .server
                    .max_streams_per_connection
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                max_header_list_size: self.server.max_header_list_size,
                windows: (self.server.stream_window, self.server.connection_window),
                max_frame_size: self.server.http2_max_frame_size,
                keepalive_interval: self.server.http2_keepalive_interval,
                keepalive_timeout: self.server.http2_keepalive_timeout,
                request_body_timeout: self.server.request_body_timeout,
            },
            #[cfg(feature = "tls")]
            tls: self.server.tls.clone(),
        });
        #[cfg(feature = "health")]
        if let Some(h) = &self.health {
            h.report(&self.thrift_names, tonic_health::ServingStatus::Serving)
                .await;
        }
        let mut refusals = RefusalLog::default();
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
            // Over the connection limit: close at once, before reading a
            // byte, so the connection costs nothing but the accept.
            let slot = match limits.connection() {
                Ok(slot) => slot,
                Err(why) => {
                    drop(io);
                    refusals.refused(&why, peer);
                    continue;
                }
            };
            conns.spawn(handle_connection(
                io,
                peer,
                slot,
                shared.clone(),
                stop_rx.clone(),
            ));
        }
        // Graceful shutdown: stop accepting (dropping the listener refuses
        // new connections), connections stop taking new calls (GOAWAY for
        // HTTP/2, no more reads for ping-pong), calls in progress finish
        // within the grace period, then whatever is left is cancelled.
        drop(incoming);
        #[cfg(feature = "health")]
        if let Some(h) = &self.health {
            h.report(&self.thrift_names, tonic_health::ServingStatus::NotServing)
                .await;
        }
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

/// Logs refused connections at most once per [`RefusalLog::EVERY`], with
/// the number refused since the last line: a flood of connections over the
/// limit must not become a flood of log lines.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn refused(&mut self, why: &str, peer: Option<SocketAddr>) {
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Self::EVERY)
        {
            return;
        }
        tracing::warn!(
            ?peer,
            refused = self.unlogged,
            "closing new connections at accept: {why} (logged at most every {:?})",
            Self::EVERY
        );
        self.last = Some(now);
        self.unlogged = 0;
    }
}
