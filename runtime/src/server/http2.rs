//! Serving an HTTP/2 connection with hyper: per-stream limits, the idle
//! timeout, graceful shutdown, and routing each stream to its service.
//!
//! Kitex routes a gRPC call by the service name after the last `.` of the
//! first path segment and the method after the last `/`, ignoring the
//! package; so do we: `/echo.TestService/Echo` and `/TestService/Echo` both
//! reach `TestService`. (A plain `tonic::transport::Server` routes by the
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

use super::connection::Shared;
use super::dispatch::{status_response, PeerAddr};
use super::limits::StreamHold;
use super::serve::HttpService;

pub(super) async fn serve_http2<IO>(
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
pub(super) fn bare_service_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}
