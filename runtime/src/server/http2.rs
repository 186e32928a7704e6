//! Serving an HTTP/2 connection with hyper: stream limits, keepalive PINGs,
//! the idle timeout, graceful shutdown, and routing each stream to its
//! service.
//!
//! Kitex routes a gRPC call by the service name after the last `.` of the
//! first path segment and the method after the last `/`, ignoring the
//! package; so do we: `/echo.TestService/Echo` and `/TestService/Echo` both
//! reach `TestService`. A path must have exactly those two segments,
//! `/[package.]Service/Method`: `/evil.TestService/Public/Echo` is
//! `UNIMPLEMENTED`, so a gateway's path rules mean what they say. (A plain `tonic::transport::Server` routes by the
//! full `NamedService::NAME` only: there `/TestService/Echo` is answered
//! `UNIMPLEMENTED` by tonic.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tonic::Status;
use tower::ServiceExt;

use super::connection::{PeerCerts, Shared};
use super::dispatch::{malformed_path, split_path, status_response, PeerAddr, RequestBodyTimeout};
use super::limits::StreamHold;
use super::lost::ConnWatch;
use super::serve::HttpService;
use crate::pingpong::service::echoed;

/// The HTTP/2 settings of the server (see the [`Server`](super::Server)
/// builder for each one's default).
#[derive(Debug, Clone)]
pub(super) struct Http2Settings {
    pub(super) max_concurrent_streams: Option<u32>,
    pub(super) max_header_list_size: u32,
    /// Receive windows: per stream, per connection.
    pub(super) windows: (u32, u32),
    /// The largest frame the client may send.
    pub(super) max_frame_size: u32,
    pub(super) keepalive_interval: Option<Duration>,
    pub(super) keepalive_timeout: Duration,
    pub(super) request_body_timeout: Option<Duration>,
}

pub(super) async fn serve_http2<IO>(
    io: IO,
    peer: Option<SocketAddr>,
    certs: Option<PeerCerts>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (conn_watch, io, dead) = ConnWatch::new(io, shared.http2.keepalive_timeout);
    let streams = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicU64::new(0));
    let routes = shared.clone();
    let (svc_streams, svc_started) = (streams.clone(), started.clone());
    let body_timeout = shared.http2.request_body_timeout.map(RequestBodyTimeout);
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        let routes = routes.clone();
        let streams = svc_streams.clone();
        let certs = super::connection::certs_for_call(&certs);
        let conn_watch = conn_watch.clone();
        svc_started.fetch_add(1, Ordering::Relaxed);
        async move {
            let slot = match routes.limits.http2_stream(&streams) {
                Ok(slot) => slot,
                Err(why) => {
                    return Ok::<_, Infallible>(status_response(Status::resource_exhausted(why)))
                }
            };
            if let Some(p) = peer {
                req.extensions_mut().insert(PeerAddr(p));
            }
            if let Some(c) = certs {
                req.extensions_mut().insert(c);
            }
            req.extensions_mut().insert(conn_watch);
            if let Some(t) = body_timeout {
                req.extensions_mut().insert(t);
            }
            // Held by the call's response body (see `CallGuard`), so the
            // stream counts until its last frame is sent.
            req.extensions_mut().insert(StreamHold::new(slot));
            Ok(route(&routes.services, req).await)
        }
    });
    let settings = &shared.http2;
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.max_concurrent_streams)
        .max_header_list_size(settings.max_header_list_size)
        .initial_stream_window_size(settings.windows.0)
        .initial_connection_window_size(settings.windows.1)
        .max_frame_size(settings.max_frame_size)
        .keep_alive_interval(settings.keepalive_interval)
        .keep_alive_timeout(settings.keepalive_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    let mut conn = std::pin::pin!(conn);
    let idle = idle_watch(streams, started, shared.config.idle_timeout);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                // Its request bodies fail instead of ending (see `lost`).
                let _ = dead.send(true);
                tracing::debug!(?peer, error = %e, "HTTP/2 connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|s| *s) => {}
        _ = idle => {
            tracing::debug!(?peer, "closing an idle HTTP/2 connection");
        }
    }
    conn.as_mut().graceful_shutdown();
    // A peer that never reads cannot hold the connection past the idle
    // timeout either.
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
    let Some((service, _)) = split_path(req.uri().path()) else {
        return status_response(malformed_path());
    };
    let svc = services
        .get(service)
        .or_else(|| services.get(bare_service_name(service)));
    match svc {
        Some(svc) => match svc.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        },
        None => status_response(Status::unimplemented(format!(
            "unknown service `{}`",
            echoed(service)
        ))),
    }
}

/// `echo.TestService` → `TestService`.
pub(super) fn bare_service_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}
