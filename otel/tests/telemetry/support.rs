//! Shared by the telemetry tests: `idl/echo.thrift`, a handler that
//! forwards to another server through instrumented clients or reports the
//! trace headers it received, servers on 127.0.0.1:0, and an in-memory
//! span exporter.
//!
//! The handler [`Hop`], by request text (unary `EchoUnary` and ping-pong
//! `EchoPingPong` alike):
//! * `grpc:ADDR` / `pp:ADDR` / `tts:ADDR` — calls `EchoUnary("leaf")` over
//!   gRPC, `EchoPingPong("leaf")` over ping-pong TTHeader, or
//!   `EchoServer("2:leaf")` over TTHeader Streaming at ADDR, through
//!   clients instrumented with the handler's telemetry, and answers what
//!   it got;
//! * `headers` — answers the trace keys it received, one `key=value` per
//!   line, sorted: gRPC metadata whose name holds `traceparent`,
//!   `tracestate`, `baggage` or `service.`, and TTHeader string keys that
//!   start with `RPC_TRANSIT_`;
//! * `fail` — fails with `NOT_FOUND`;
//! * anything else — echoed.
//!
//! `Echo` (bidi) echoes each message; `EchoServer` answers `N:text` with
//! `text0`..`text{N-1}`; `EchoClient` joins its messages with spaces.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::TTHeader;
use tonic_thrift::ttstream::TtStreamChannel;
use tonic_thrift_otel::Telemetry;

tonic_thrift::thrift_service!("../idl/echo.thrift");

pub(crate) use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
pub(crate) use echo::test_service_server::{TestService, TestServiceServer};

type RespStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// `Request { message }`.
pub(crate) fn req(message: impl Into<String>) -> echo::Request {
    echo::Request {
        message: message.into().into(),
    }
}

fn resp(message: impl Into<String>) -> echo::Response {
    echo::Response {
        message: message.into().into(),
    }
}

/// The test handler (see the module docs).
#[derive(Clone)]
pub(crate) struct Hop {
    pub(crate) telemetry: Telemetry,
}

impl Hop {
    async fn answer(&self, request: Request<echo::Request>) -> Result<String, Status> {
        let message = request.get_ref().message.to_string();
        if message == "headers" {
            return Ok(trace_headers(&request));
        }
        if message == "fail" {
            return Err(Status::not_found("no such thing"));
        }
        if let Some(addr) = message.strip_prefix("grpc:") {
            let mut c = grpc_client(addr, &self.telemetry).await;
            let r = c.echo_unary(req("leaf")).await?;
            return Ok(r.into_inner().message.to_string());
        }
        if let Some(addr) = message.strip_prefix("pp:") {
            let c = pingpong_client(addr, &self.telemetry);
            let r = c.echo_ping_pong(req("leaf")).await?;
            return Ok(r.into_inner().message.to_string());
        }
        if let Some(addr) = message.strip_prefix("tts:") {
            let mut c = ttstream_client(addr, &self.telemetry);
            let mut s = c.echo_server(req("2:leaf")).await?.into_inner();
            let mut got = Vec::new();
            while let Some(m) = s.next().await {
                got.push(m?.message.to_string());
            }
            return Ok(got.join(" "));
        }
        Ok(message)
    }
}

/// The trace keys a request carried (see the module docs).
fn trace_headers<T>(request: &Request<T>) -> String {
    let mut lines = Vec::new();
    for (name, value) in request.metadata().clone().into_headers().iter() {
        let n = name.as_str();
        if ["traceparent", "tracestate", "baggage", "service."]
            .iter()
            .any(|k| n.contains(k))
        {
            lines.push(format!("{n}={}", value.to_str().unwrap_or("?")));
        }
    }
    if let Some(h) = request.extensions().get::<TTHeader>() {
        for (k, v) in &h.strings {
            if k.starts_with("RPC_TRANSIT_") {
                lines.push(format!("{k}={v}"));
            }
        }
    }
    lines.sort();
    lines.join("\n")
}

#[tonic::async_trait]
impl TestService for Hop {
    type EchoStream = RespStream;
    type EchoServerStream = RespStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<RespStream>, Status> {
        let inbound = request.into_inner();
        let out = inbound.map(|m| m.map(|m| resp(m.message.to_string())));
        Ok(Response::new(Box::pin(out)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let mut inbound = request.into_inner();
        let mut got = Vec::new();
        while let Some(m) = inbound.next().await {
            got.push(m?.message.to_string());
        }
        Ok(Response::new(resp(got.join(" "))))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<RespStream>, Status> {
        if request.get_ref().message == "headers" {
            let items = vec![Ok(resp(trace_headers(&request)))];
            return Ok(Response::new(Box::pin(futures_util::stream::iter(items))));
        }
        let message = request.into_inner().message.to_string();
        let (n, text) = message
            .split_once(':')
            .ok_or_else(|| Status::invalid_argument("expected N:text"))?;
        let n: usize = n
            .parse()
            .map_err(|_| Status::invalid_argument("N is not a number"))?;
        let items: Vec<_> = (0..n).map(|i| Ok(resp(format!("{text}{i}")))).collect();
        Ok(Response::new(Box::pin(futures_util::stream::iter(items))))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(resp(self.answer(request).await?)))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(resp(self.answer(request).await?)))
    }
}

/// A gRPC client to `addr`, instrumented with `telemetry`.
pub(crate) async fn grpc_client(addr: &str, telemetry: &Telemetry) -> TestServiceClient {
    TestServiceClient::connect_with(
        format!("http://{addr}"),
        telemetry.instrument_grpc(GrpcOptions::default()),
    )
    .await
    .expect("connect")
}

/// A ping-pong (TTHeader) client to `addr`, instrumented with `telemetry`.
pub(crate) fn pingpong_client(addr: &str, telemetry: &Telemetry) -> TestServicePingPongClient {
    TestServicePingPongClient::with_options(
        addr.to_string(),
        telemetry.instrument_pingpong(PingPongOptions::default()),
    )
}

/// A TTHeader Streaming client to `addr`, instrumented with `telemetry`.
pub(crate) fn ttstream_client(
    addr: &str,
    telemetry: &Telemetry,
) -> TestServiceClient<TtStreamChannel> {
    let options = telemetry.instrument_grpc(GrpcOptions::default());
    let channel = TtStreamChannel::connect_lazy(addr.to_string(), &options);
    TestServiceClient::with_options(channel, options)
}

/// A server on 127.0.0.1:0 running [`Hop`] with `telemetry`'s server side
/// installed; it stops when dropped.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// Starts a [`Running`] server.
pub(crate) async fn serve(telemetry: &Telemetry) -> Running {
    let side = telemetry.server();
    let svc = TestServiceServer::new(Hop {
        telemetry: telemetry.clone(),
    })
    .layer(side.clone())
    .tracer(side);
    serve_service(svc).await
}

/// Starts a [`Running`] server with `telemetry`'s server side installed
/// as a layer only (no tracer).
pub(crate) async fn serve_layer_only(telemetry: &Telemetry) -> Running {
    let svc = TestServiceServer::new(Hop {
        telemetry: telemetry.clone(),
    })
    .layer(telemetry.server());
    serve_service(svc).await
}

/// Serves `svc` on 127.0.0.1:0.
pub(crate) async fn serve_service(svc: TestServiceServer<Hop>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(svc)
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    Running { addr, _stop: stop }
}

/// A tracer provider exporting to memory, synchronously.
pub(crate) fn memory_tracing() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    (provider, exporter)
}

/// Waits (at most 5 s) until `exporter` holds `n` spans, and returns them.
pub(crate) async fn spans(exporter: &InMemorySpanExporter, n: usize) -> Vec<SpanData> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let got = exporter.get_finished_spans().expect("finished spans");
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            assert_eq!(
                got.len(),
                n,
                "spans: {:#?}",
                got.iter()
                    .map(|s| (&s.name, s.span_kind.clone()))
                    .collect::<Vec<_>>()
            );
            return got;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
