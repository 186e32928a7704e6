//! tonic + prost, the comparison system of the gRPC workloads. The messages
//! and the service are what tonic-prost-build would generate from this
//! `.proto` (written by hand so that no `protoc` is needed):
//!
//! ```proto
//! syntax = "proto3";
//! package echo;
//! message Request { string message = 1; }
//! message Response { string message = 1; }
//! service TestService {
//!   rpc Echo(stream Request) returns (stream Response);
//!   rpc EchoServer(Request) returns (stream Response);
//!   rpc EchoUnary(Request) returns (Response);
//! }
//! ```
//!
//! Served by a stock `tonic::transport::Server`, called through a stock
//! `tonic::client::Grpc` over a `tonic::transport::Channel`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use http::uri::PathAndQuery;
use tonic::body::Body;
use tonic::server::{NamedService, ServerStreamingService, StreamingService, UnaryService};
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};
use tonic_prost::ProstCodec;

use crate::common::{self, check_echo, BenchResult, Caller, Report};

/// `message Request { string message = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EchoRequest {
    #[prost(string, tag = "1")]
    pub(crate) message: String,
}

/// `message Response { string message = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EchoResponse {
    #[prost(string, tag = "1")]
    pub(crate) message: String,
}

type BoxStream = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

const ECHO: &str = "/echo.TestService/Echo";
const ECHO_SERVER: &str = "/echo.TestService/EchoServer";
const ECHO_UNARY: &str = "/echo.TestService/EchoUnary";

// ---------------------------------------------------------------------------
// Server, in the shape of tonic-build's output.

struct EchoSvc;

impl StreamingService<EchoRequest> for EchoSvc {
    type Response = EchoResponse;
    type ResponseStream = BoxStream;
    type Future = BoxFuture<Result<Response<BoxStream>, Status>>;

    fn call(&mut self, request: Request<Streaming<EchoRequest>>) -> Self::Future {
        Box::pin(async move {
            let replies = request
                .into_inner()
                .map(|m| m.map(|m| EchoResponse { message: m.message }));
            Ok(Response::new(Box::pin(replies) as BoxStream))
        })
    }
}

struct EchoServerSvc;

impl ServerStreamingService<EchoRequest> for EchoServerSvc {
    type Response = EchoResponse;
    type ResponseStream = BoxStream;
    type Future = BoxFuture<Result<Response<BoxStream>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            let (count, size) = crate::parse_count_size(&request.into_inner().message)
                .map_err(Status::invalid_argument)?;
            let payload = "x".repeat(size);
            let replies = futures_util::stream::iter(0..count).map(move |_| {
                Ok(EchoResponse {
                    message: payload.clone(),
                })
            });
            Ok(Response::new(Box::pin(replies) as BoxStream))
        })
    }
}

struct EchoUnarySvc;

impl UnaryService<EchoRequest> for EchoUnarySvc {
    type Response = EchoResponse;
    type Future = BoxFuture<Result<Response<EchoResponse>, Status>>;

    fn call(&mut self, request: Request<EchoRequest>) -> Self::Future {
        Box::pin(async move {
            Ok(Response::new(EchoResponse {
                message: request.into_inner().message,
            }))
        })
    }
}

/// The `echo.TestService` server.
#[derive(Clone)]
struct TestServiceServer;

impl NamedService for TestServiceServer {
    const NAME: &'static str = "echo.TestService";
}

impl<B> tower_service::Service<http::Request<B>> for TestServiceServer
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        match req.uri().path() {
            ECHO => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.streaming(EchoSvc, req).await)
            }),
            ECHO_SERVER => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.server_streaming(EchoServerSvc, req).await)
            }),
            ECHO_UNARY => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(EchoUnarySvc, req).await)
            }),
            _ => Box::pin(async move { Ok(Status::unimplemented("unknown method").into_http()) }),
        }
    }
}

/// Serves on `listener` until the process ends; `max_streams` raises the
/// HTTP/2 concurrent stream limit (idle-streams workload); over tonic's own
/// TLS (`tls-ring`) with the run's certificate when `tls`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    max_streams: Option<u32>,
    tls: bool,
) -> BenchResult<()> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut server = tonic::transport::Server::builder();
    if tls {
        let pems = crate::tls::pems()?;
        let identity = tonic::transport::Identity::from_pem(pems.cert, pems.key);
        server = server
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|e| e.to_string())?;
    }
    server
        .max_concurrent_streams(max_streams)
        .add_service(TestServiceServer)
        .serve_with_incoming(incoming)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

// ---------------------------------------------------------------------------
// Client, in the shape of tonic-build's output.

#[derive(Clone)]
struct TestServicePingPongClient {
    inner: tonic::client::Grpc<Channel>,
}

impl TestServicePingPongClient {
    /// A channel to `addr`, over tonic's own TLS (`tls-ring`) trusting the
    /// run's CA when `tls`.
    async fn connect(addr: SocketAddr, tls: bool) -> BenchResult<Self> {
        let scheme = if tls { "https" } else { "http" };
        let mut endpoint = tonic::transport::Endpoint::new(format!("{scheme}://{addr}"))
            .map_err(|e| e.to_string())?;
        if tls {
            let ca = tonic::transport::Certificate::from_pem(crate::tls::pems()?.ca);
            endpoint = endpoint
                .tls_config(tonic::transport::ClientTlsConfig::new().ca_certificate(ca))
                .map_err(|e| e.to_string())?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        Ok(TestServicePingPongClient {
            inner: tonic::client::Grpc::new(channel),
        })
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|e| Status::unknown(format!("service was not ready: {e}")))
    }

    async fn echo(
        &mut self,
        request: impl tonic::IntoStreamingRequest<Message = EchoRequest>,
    ) -> Result<Response<Streaming<EchoResponse>>, Status> {
        self.ready().await?;
        self.inner
            .streaming(
                request.into_streaming_request(),
                PathAndQuery::from_static(ECHO),
                ProstCodec::default(),
            )
            .await
    }

    async fn echo_server(
        &mut self,
        request: EchoRequest,
    ) -> Result<Response<Streaming<EchoResponse>>, Status> {
        self.ready().await?;
        self.inner
            .server_streaming(
                Request::new(request),
                PathAndQuery::from_static(ECHO_SERVER),
                ProstCodec::default(),
            )
            .await
    }

    async fn echo_unary(&mut self, request: EchoRequest) -> Result<Response<EchoResponse>, Status> {
        self.ready().await?;
        self.inner
            .unary(
                Request::new(request),
                PathAndQuery::from_static(ECHO_UNARY),
                ProstCodec::default(),
            )
            .await
    }
}

fn request(message: &str) -> EchoRequest {
    EchoRequest {
        message: message.to_owned(),
    }
}

async fn bidi_once(
    client: &mut TestServicePingPongClient,
    payload: &str,
    n: usize,
) -> BenchResult<Report> {
    let (go, gate) = tokio::sync::oneshot::channel::<()>();
    let msg = payload.to_owned();
    let first = futures_util::stream::once(std::future::ready(request(&msg)));
    let rest = futures_util::stream::once(gate).flat_map(move |_| {
        let msg = msg.clone();
        futures_util::stream::iter(0..n).map(move |_| request(&msg))
    });
    let mut inbound = client
        .echo(first.chain(rest))
        .await
        .map_err(|e| format!("opening the bidi stream: {e}"))?
        .into_inner();
    let want = payload.as_bytes();
    let m = inbound
        .message()
        .await
        .map_err(|e| format!("first echo: {e}"))?
        .ok_or("the stream ended before the first echo")?;
    check_echo(m.message.as_bytes(), want)?;
    let start = Instant::now();
    let _ = go.send(());
    for i in 0..n {
        let m = inbound
            .message()
            .await
            .map_err(|e| format!("echo {i}: {e}"))?
            .ok_or_else(|| format!("the stream ended after {i} of {n} echoes"))?;
        check_echo(m.message.as_bytes(), want)?;
    }
    let elapsed = start.elapsed();
    if let Some(_extra) = inbound.message().await.map_err(|e| format!("end: {e}"))? {
        return Err("more echoes than messages sent".into());
    }
    Ok(Report::throughput(n as u64, payload.len(), elapsed))
}

/// Pipelined bidi echo, over TLS with `tls`.
pub(crate) async fn bidi(
    addr: SocketAddr,
    size: usize,
    n: usize,
    tls: bool,
) -> BenchResult<Report> {
    let mut client = TestServicePingPongClient::connect(addr, tls).await?;
    let payload = common::payload(size);
    bidi_once(&mut client, &payload, (n / 10).max(1)).await?;
    bidi_once(&mut client, &payload, n).await
}

async fn server_stream_once(
    client: &mut TestServicePingPongClient,
    size: usize,
    n: usize,
) -> BenchResult<Report> {
    let want = "x".repeat(size);
    let start = Instant::now();
    let mut inbound = client
        .echo_server(EchoRequest {
            message: format!("{n}:{size}"),
        })
        .await
        .map_err(|e| format!("opening the server stream: {e}"))?
        .into_inner();
    let mut got = 0usize;
    while let Some(m) = inbound
        .message()
        .await
        .map_err(|e| format!("message {got}: {e}"))?
    {
        check_echo(m.message.as_bytes(), want.as_bytes())?;
        got += 1;
    }
    let elapsed = start.elapsed();
    if got != n {
        return Err(format!("{got} messages received, expected {n}"));
    }
    Ok(Report::throughput(n as u64, size, elapsed))
}

pub(crate) async fn server_stream(addr: SocketAddr, size: usize, n: usize) -> BenchResult<Report> {
    let mut client = TestServicePingPongClient::connect(addr, false).await?;
    server_stream_once(&mut client, size, (n / 10).max(1)).await?;
    server_stream_once(&mut client, size, n).await
}

struct UnaryCaller {
    client: TestServicePingPongClient,
    payload: String,
}

impl Caller for UnaryCaller {
    async fn call(&mut self) -> BenchResult<()> {
        let r = self
            .client
            .echo_unary(request(&self.payload))
            .await
            .map_err(|e| format!("unary call: {e}"))?;
        check_echo(r.get_ref().message.as_bytes(), self.payload.as_bytes())
    }
}

pub(crate) async fn unary(
    addr: SocketAddr,
    size: usize,
    callers: usize,
    n: usize,
    tls: bool,
) -> BenchResult<Report> {
    let client = TestServicePingPongClient::connect(addr, tls).await?;
    let payload = common::payload(size);
    common::warm_then_measure(callers, n, || UnaryCaller {
        client: client.clone(),
        payload: payload.clone(),
    })
    .await
}

/// The churn workload: a new connection per unary call.
pub(crate) async fn churn(addr: SocketAddr, conns: usize, server_pid: u32) -> BenchResult<Report> {
    let payload = common::payload(16);
    crate::churn::measure(addr, conns, server_pid, move |channel| {
        let payload = payload.clone();
        async move {
            let mut client = TestServicePingPongClient {
                inner: tonic::client::Grpc::new(channel),
            };
            let r = client
                .echo_unary(request(&payload))
                .await
                .map_err(|e| format!("unary call: {e}"))?;
            check_echo(r.get_ref().message.as_bytes(), payload.as_bytes())
        }
    })
    .await
}

pub(crate) async fn idle_streams(
    addr: SocketAddr,
    streams: usize,
    server_pid: u32,
) -> BenchResult<Report> {
    let client = TestServicePingPongClient::connect(addr, false).await?;
    let payload = common::payload(16);
    crate::idle::measure(streams, server_pid, move |release| {
        let mut client = client.clone();
        let payload = payload.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<EchoRequest>(1);
            let mut inbound = client
                .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map_err(|e| format!("opening a stream: {e}"))?
                .into_inner();
            tx.send(request(&payload))
                .await
                .map_err(|_| "the request stream closed")?;
            let m = inbound
                .message()
                .await
                .map_err(|e| format!("echo: {e}"))?
                .ok_or("the stream ended before its echo")?;
            check_echo(m.message.as_bytes(), payload.as_bytes())?;
            crate::idle::hold(release).await;
            drop(tx);
            match inbound.message().await {
                Ok(None) => Ok(()),
                Ok(Some(_)) => Err("an echo nobody asked for".to_string()),
                Err(e) => Err(format!("closing: {e}")),
            }
        }
    })
    .await
}
