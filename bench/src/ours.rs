//! tonic-thrift: the echo server (`idl/echo.thrift` through the macro) and
//! the client side of every workload, gRPC (`TestServiceClient`) and
//! ping-pong (`TestServicePingPongClient`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::codec::Protocol;
use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::tls::{ClientTlsConfig, ServerTlsConfig};
use tonic_thrift::transport::Framing;
use tonic_thrift::FastStr;

use crate::common::{self, check_echo, BenchResult, Caller, Report};
use crate::PpFraming;

pub(crate) mod gen {
    // Generated items carry no docs of their own.
    #![allow(missing_docs, unreachable_pub)]
    tonic_thrift::thrift_service!("../idl/echo.thrift");
}

use gen::echo;
use gen::echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use gen::echo::test_service_server::{TestService, TestServiceServer};

type BoxStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Echoes every message; server streaming answers `N:S` with N messages of
/// S bytes (`x`), as the Kitex peer does.
struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        let replies = request
            .into_inner()
            .map(|m| m.map(|m| echo::Response { message: m.message }));
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let mut inbound = request.into_inner();
        let mut parts = Vec::new();
        if let Some(first) = inbound.next().await {
            let first = first?;
            if first.message.starts_with(SLOW) {
                return slow_consumer_handler(inbound).await;
            }
            parts.push(first.message.to_string());
        }
        while let Some(m) = inbound.next().await {
            parts.push(m?.message.to_string());
        }
        Ok(Response::new(echo::Response {
            message: parts.join(",").into(),
        }))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<BoxStream>, Status> {
        let (count, size) = crate::parse_count_size(&request.into_inner().message)
            .map_err(Status::invalid_argument)?;
        let payload = FastStr::from("x".repeat(size));
        let replies = futures_util::stream::iter(0..count).map(move |_| {
            Ok(echo::Response {
                message: payload.clone(),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(echo::Response {
            message: request.into_inner().message,
        }))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(echo::Response {
            message: request.into_inner().message,
        }))
    }
}

/// Serves gRPC and ping-pong on `listener` until the process ends;
/// `max_streams` raises the HTTP/2 concurrent stream limit (idle-streams
/// workload; otherwise the default, 200, applies); over TLS with the run's
/// certificate when `tls`.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    max_streams: Option<u32>,
    tls: bool,
) -> BenchResult<()> {
    let mut server = tonic_thrift::Server::builder();
    if let Some(n) = max_streams {
        server = server.max_concurrent_streams(n as usize);
    }
    if tls {
        let pems = crate::tls::pems()?;
        let config = ServerTlsConfig::new(&pems.cert, &pems.key).map_err(|e| e.to_string())?;
        server = server.tls_config(config).map_err(|e| e.to_string())?;
    }
    server
        .add_service(TestServiceServer::new(Echo))
        .serve_with_listener(listener, std::future::pending())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

async fn connect(addr: SocketAddr) -> BenchResult<TestServiceClient> {
    TestServiceClient::connect(format!("http://{addr}"))
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

/// A client whose streams go over TTHeader Streaming (`tt`) or gRPC.
async fn connect_streams(addr: SocketAddr, tt: bool) -> BenchResult<TestServiceClient> {
    if !tt {
        return connect(addr).await;
    }
    let options = GrpcOptions::default().stream_transport(StreamTransport::TTHeaderStreaming);
    TestServiceClient::connect_with(format!("http://{addr}"), options)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))
}

/// The client TLS settings of the `tls-*` rows: the run's CA.
fn client_tls() -> BenchResult<ClientTlsConfig> {
    ClientTlsConfig::new()
        .ca_certificate(crate::tls::pems()?.ca)
        .map_err(|e| e.to_string())
}

/// A gRPC client over TLS (`tls`) or plaintext.
async fn connect_tls(addr: SocketAddr, tls: bool) -> BenchResult<TestServiceClient> {
    if !tls {
        return connect(addr).await;
    }
    let options = GrpcOptions::default().tls(client_tls()?);
    TestServiceClient::connect_with(format!("https://{addr}"), options)
        .await
        .map_err(|e| format!("connecting to {addr} over TLS: {e}"))
}

fn request(message: &FastStr) -> echo::Request {
    echo::Request {
        message: message.clone(),
    }
}

/// One bidi stream: one exchange to open it, then (timed) `n` messages sent
/// by tonic's body task while this task receives and checks the echoes.
async fn bidi_once(
    client: &mut TestServiceClient,
    payload: &FastStr,
    n: usize,
) -> BenchResult<Report> {
    let (go, gate) = tokio::sync::oneshot::channel::<()>();
    let msg = payload.clone();
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

/// Pipelined bidi echo; streams over TTHeader Streaming with `tt`, or over
/// gRPC over TLS with `tls`.
pub(crate) async fn bidi(
    addr: SocketAddr,
    size: usize,
    n: usize,
    tt: bool,
    tls: bool,
) -> BenchResult<Report> {
    let mut client = if tls {
        connect_tls(addr, true).await?
    } else {
        connect_streams(addr, tt).await?
    };
    let payload = FastStr::from(common::payload(size));
    bidi_once(&mut client, &payload, (n / 10).max(1)).await?;
    bidi_once(&mut client, &payload, n).await
}

async fn server_stream_once(
    client: &mut TestServiceClient,
    size: usize,
    n: usize,
) -> BenchResult<Report> {
    let want = "x".repeat(size);
    let start = Instant::now();
    let mut inbound = client
        .echo_server(echo::Request {
            message: format!("{n}:{size}").into(),
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
    let mut client = connect(addr).await?;
    server_stream_once(&mut client, size, (n / 10).max(1)).await?;
    server_stream_once(&mut client, size, n).await
}

struct UnaryCaller {
    client: TestServiceClient,
    payload: FastStr,
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
    let client = connect_tls(addr, tls).await?;
    let payload = FastStr::from(common::payload(size));
    common::warm_then_measure(callers, n, || UnaryCaller {
        client: client.clone(),
        payload: payload.clone(),
    })
    .await
}

struct PingPongCaller {
    client: TestServicePingPongClient,
    payload: FastStr,
}

impl Caller for PingPongCaller {
    async fn call(&mut self) -> BenchResult<()> {
        let r = self
            .client
            .echo_ping_pong(request(&self.payload))
            .await
            .map_err(|e| format!("ping-pong call: {e}"))?;
        check_echo(r.get_ref().message.as_bytes(), self.payload.as_bytes())
    }
}

pub(crate) async fn ping_pong(
    addr: SocketAddr,
    framing: PpFraming,
    size: usize,
    callers: usize,
    n: usize,
    tls: bool,
) -> BenchResult<Report> {
    let (framing, protocol) = match framing {
        // The stock TTHeader of Kitex and volo: a Framed payload inside.
        PpFraming::TTHeader => (Framing::TTHeader { inner_framed: true }, Protocol::Binary),
        PpFraming::Framed => (Framing::Framed, Protocol::Binary),
        PpFraming::FramedCompact => (Framing::Framed, Protocol::Compact),
    };
    let mut options = PingPongOptions::default()
        .framing(framing)
        .protocol(protocol)
        .max_connections(callers.max(1));
    if tls {
        options = options.tls(client_tls()?);
    }
    let client = TestServicePingPongClient::with_options(addr.to_string(), options);
    let payload = FastStr::from(common::payload(size));
    common::warm_then_measure(callers, n, || PingPongCaller {
        client: client.clone(),
        payload: payload.clone(),
    })
    .await
}

/// The churn workload: a new connection per unary call.
pub(crate) async fn churn(addr: SocketAddr, conns: usize, server_pid: u32) -> BenchResult<Report> {
    let payload = FastStr::from(common::payload(16));
    crate::churn::measure(addr, conns, server_pid, move |channel| {
        let payload = payload.clone();
        async move {
            let mut client = TestServiceClient::with_options(channel, GrpcOptions::default());
            let r = client
                .echo_unary(request(&payload))
                .await
                .map_err(|e| format!("unary call: {e}"))?;
            check_echo(r.get_ref().message.as_bytes(), payload.as_bytes())
        }
    })
    .await
}

/// Opens `streams` bidi streams on one connection, each with one checked
/// exchange, and reports how much the server's RSS grew per stream.
pub(crate) async fn idle_streams(
    addr: SocketAddr,
    streams: usize,
    server_pid: u32,
) -> BenchResult<Report> {
    let client = connect(addr).await?;
    let payload = FastStr::from(common::payload(16));
    crate::idle::measure(streams, server_pid, move |release| {
        let mut client = client.clone();
        let payload = payload.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::channel::<echo::Request>(1);
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

/// The first message of a slow-consumer client stream.
const SLOW: &str = "slow-consumer";

/// Reads a client stream slowly (about 128 MB/s of 64 KiB messages) and
/// answers with the byte count.
async fn slow_consumer_handler(
    mut inbound: Streaming<echo::Request>,
) -> Result<Response<echo::Response>, Status> {
    let mut bytes = 0usize;
    let mut messages = 0usize;
    while let Some(m) = inbound.next().await {
        bytes += m?.message.len();
        messages += 1;
        if messages % 4 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    Ok(Response::new(echo::Response {
        message: bytes.to_string().into(),
    }))
}

/// A producer that sends `mib` MiB of `size`-byte messages on one client
/// stream as fast as the transport takes them, to a handler that reads
/// slowly, while the server's resident memory is sampled every 5 ms.
pub(crate) async fn slow_consumer(
    addr: SocketAddr,
    size: usize,
    mib: usize,
    server_pid: u32,
    tt: bool,
) -> BenchResult<Report> {
    let mut client = connect_streams(addr, tt).await?;
    let payload = FastStr::from(common::payload(size));
    let n = (mib << 20) / size.max(1);
    let base = common::rss_bytes(server_pid)?;
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(base));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(rss) = common::rss_bytes(server_pid) {
                    peak.fetch_max(rss, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let first = futures_util::stream::once(std::future::ready(echo::Request {
        message: SLOW.into(),
    }));
    let rest = futures_util::stream::iter(0..n).map(move |_| request(&payload));
    let start = Instant::now();
    let reply = client.echo_client(first.chain(rest)).await;
    let secs = start.elapsed().as_secs_f64();
    sampler.abort();
    let got: usize = reply
        .map_err(|e| format!("slow consumer: {e}"))?
        .into_inner()
        .message
        .parse()
        .map_err(|e| format!("slow consumer's count: {e}"))?;
    if got != n * size {
        return Err(format!("the handler read {got} bytes of {}", n * size));
    }
    let grown = peak
        .load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(base);
    Ok(Report {
        count: n as u64,
        secs,
        rate: Some(n as f64 / secs),
        mb_s: Some((n * size) as f64 / secs / 1e6),
        p50_us: None,
        p99_us: None,
        kib_per_stream: Some(grown as f64 / 1024.0),
    })
}

/// One open bidi stream, used in lock step: send one message, wait for its
/// echo.
struct LockstepStream {
    tx: tokio::sync::mpsc::Sender<echo::Request>,
    inbound: Streaming<echo::Response>,
}

impl LockstepStream {
    async fn exchange(&mut self, payload: &FastStr) -> BenchResult<()> {
        self.tx
            .send(request(payload))
            .await
            .map_err(|_| "the request stream closed")?;
        let m = self
            .inbound
            .message()
            .await
            .map_err(|e| format!("echo: {e}"))?
            .ok_or("the stream ended before its echo")?;
        check_echo(m.message.as_bytes(), payload.as_bytes())
    }

    /// Half-closes and checks that the stream ends cleanly.
    async fn close(self) -> BenchResult<()> {
        let LockstepStream { tx, mut inbound } = self;
        drop(tx);
        match inbound.message().await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("an echo nobody asked for".to_string()),
            Err(e) => Err(format!("closing: {e}")),
        }
    }
}

type StreamPool = std::sync::Arc<std::sync::Mutex<Vec<LockstepStream>>>;

/// A caller holding one stream, which it gives back to `back` when done
/// (so it is closed cleanly, not cancelled).
struct LockstepCaller {
    stream: Option<LockstepStream>,
    back: StreamPool,
    payload: FastStr,
}

impl Caller for LockstepCaller {
    async fn call(&mut self) -> BenchResult<()> {
        let payload = self.payload.clone();
        self.stream
            .as_mut()
            .ok_or("no stream")?
            .exchange(&payload)
            .await
    }
}

impl Drop for LockstepCaller {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            self.back.lock().expect("the stream pool").push(s);
        }
    }
}

/// Opens a bidi stream and checks one exchange on it.
async fn open_lockstep(
    client: &mut TestServiceClient,
    payload: &FastStr,
) -> BenchResult<LockstepStream> {
    let (tx, rx) = tokio::sync::mpsc::channel::<echo::Request>(1);
    let inbound = client
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(|e| format!("opening a stream: {e}"))?
        .into_inner();
    let mut stream = LockstepStream { tx, inbound };
    stream.exchange(payload).await?;
    Ok(stream)
}

/// Lock-step echo on `callers` bidi streams (opened, with one exchange
/// each, before the timed part, as the Kitex peer does); `n` echoes in all.
/// The streams are half-closed and checked to end cleanly afterwards.
pub(crate) async fn lockstep(
    addr: SocketAddr,
    size: usize,
    callers: usize,
    n: usize,
    tt: bool,
) -> BenchResult<Report> {
    let mut client = connect_streams(addr, tt).await?;
    let payload = FastStr::from(common::payload(size));
    let mut streams = Vec::with_capacity(callers);
    for _ in 0..callers {
        streams.push(open_lockstep(&mut client, &payload).await?);
    }
    // The warm-up's callers give their streams back for the measured run.
    let pool: StreamPool = std::sync::Arc::new(std::sync::Mutex::new(streams));
    let report = common::warm_then_measure(callers, n, || LockstepCaller {
        stream: pool.lock().expect("the stream pool").pop(),
        back: pool.clone(),
        payload: payload.clone(),
    })
    .await?;
    let streams = std::mem::take(&mut *pool.lock().expect("the stream pool"));
    for s in streams {
        s.close().await?;
    }
    Ok(report)
}

/// Opens a bidi stream, sends one message, checks its echo and the end.
struct StreamOpenCaller {
    client: TestServiceClient,
    payload: FastStr,
}

impl Caller for StreamOpenCaller {
    async fn call(&mut self) -> BenchResult<()> {
        let one = futures_util::stream::iter([request(&self.payload)]);
        let mut inbound = self
            .client
            .echo(one)
            .await
            .map_err(|e| format!("opening a stream: {e}"))?
            .into_inner();
        let m = inbound
            .message()
            .await
            .map_err(|e| format!("echo: {e}"))?
            .ok_or("the stream ended before its echo")?;
        check_echo(m.message.as_bytes(), self.payload.as_bytes())?;
        match inbound.message().await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("an echo nobody asked for".to_string()),
            Err(e) => Err(format!("closing: {e}")),
        }
    }
}

/// Whole short streams (open, one echo, close) from `callers` tasks.
pub(crate) async fn stream_open(
    addr: SocketAddr,
    size: usize,
    callers: usize,
    n: usize,
    tt: bool,
) -> BenchResult<Report> {
    let client = connect_streams(addr, tt).await?;
    let payload = FastStr::from(common::payload(size));
    common::warm_then_measure(callers, n, || StreamOpenCaller {
        client: client.clone(),
        payload: payload.clone(),
    })
    .await
}
