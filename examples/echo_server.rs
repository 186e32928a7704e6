//! The reference echo server: `idl/echo.thrift` served with the behaviour of
//! the Kitex test peer (`../shared/kitex-peer`), gRPC streaming, TTHeader
//! Streaming and ping-pong (TTHeader, Framed, Buffered) on one port.
//!
//! Run with `cargo run --release --example echo_server -- --addr 127.0.0.1:0`;
//! it prints `LISTENING <addr>` once it accepts connections. With
//! `--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]` it serves everything
//! over TLS (mTLS with a client CA); see `--help`. gRPC requests compressed
//! with gzip or zstd are accepted, and `grpc.health.v1.Health` is served on
//! the same port.
//!
//! Special request messages (the same as the Kitex peer's):
//! - `biz-error`: fails with business error 1001 `biz error msg`, extra `{"k":"v"}`;
//! - `metainfo` / `persist`: answers the transient `TEST_KEY` / persistent
//!   `TEST_PERSIST` metainfo value the caller sent;
//! - `sleep`: sleeps 3 s ignoring the deadline; `sleep-ctx`: sleeps 3 s or
//!   fails with DEADLINE_EXCEEDED when the caller's deadline passes first;
//! - `deadline`: answers the milliseconds left until the caller's deadline, or `none`;
//! - `transport`: answers `GRPC`, `TTHeaderStreaming`, `TTHeader`,
//!   `TTHeader|Framed`, `Framed` or `PurePayload` (Buffered);
//! - server streaming: `N` sends `0`..`N-1`; `N:S` sends N messages of S bytes.
//!
//! Bounded, as a server exposed to any client must be (copy these bounds
//! with the example): a server stream sends at most [`MAX_STREAM_COUNT`]
//! messages of at most [`MAX_PAYLOAD`] bytes, one shared buffer for all of
//! them, produced as the client reads; a client stream keeps at most
//! [`MAX_JOINED`] bytes of joined reply, not the messages. Over a bound the
//! call fails with RESOURCE_EXHAUSTED naming it (INVALID_ARGUMENT for a
//! request that is not a number), and the server keeps serving.

use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::transport::Framing;
use tonic_thrift::ttstream::TTHeaderStreaming;
use tonic_thrift::BizStatusError;

tonic_thrift::include_thrift!("echo");

use echo::test_service_server::{TestService, TestServiceServer};
use echo::{Request as EchoRequest, Response as EchoResponse};

/// Most messages one server-streaming call sends (`N`).
const MAX_STREAM_COUNT: u64 = 1_000_000;
/// Largest message a server-streaming call sends (`S`, bytes): 1 MiB, the
/// largest message the Kitex peer sends, a quarter of the default 4 MiB
/// receive limit.
const MAX_PAYLOAD: u64 = 1 << 20;
/// Largest joined reply of a client-streaming call (bytes).
const MAX_JOINED: usize = 1 << 20;

type ResponseStream = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

/// What a handler knows about its call.
#[derive(Clone)]
struct CallInfo {
    deadline: Option<Instant>,
    framing: Option<Framing>,
    /// The call came over TTHeader Streaming.
    ttstream: bool,
    meta: MetaInfo,
}

impl CallInfo {
    fn of<T>(req: &Request<T>) -> Self {
        let deadline = req
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| tonic_thrift::parse_grpc_timeout(v).ok())
            .map(|d| Instant::now() + d);
        CallInfo {
            deadline,
            framing: req.extensions().get::<Framing>().copied(),
            ttstream: req.extensions().get::<TTHeaderStreaming>().is_some(),
            meta: MetaInfo::of(req).cloned().unwrap_or_default(),
        }
    }
}

fn response(message: impl Into<String>) -> EchoResponse {
    EchoResponse {
        message: message.into().into(),
    }
}

/// The Kitex peer's special messages; `None` means "plain echo".
async fn special(info: &CallInfo, msg: &str) -> Option<Result<EchoResponse, Status>> {
    Some(match msg {
        "biz-error" => Err(BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .into()),
        "metainfo" => Ok(response(
            info.meta.transient("TEST_KEY").unwrap_or_default(),
        )),
        "persist" => Ok(response(
            info.meta.persistent("TEST_PERSIST").unwrap_or_default(),
        )),
        "sleep" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(response(msg))
        }
        "sleep-ctx" => {
            let sleep = tokio::time::sleep(Duration::from_secs(3));
            match info.deadline {
                Some(d) => tokio::select! {
                    _ = sleep => Ok(response(msg)),
                    _ = tokio::time::sleep_until(d.into()) => {
                        Err(Status::deadline_exceeded("context deadline exceeded"))
                    }
                },
                None => {
                    sleep.await;
                    Ok(response(msg))
                }
            }
        }
        "deadline" => Ok(response(match info.deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .as_millis()
                .to_string(),
            None => "none".to_string(),
        })),
        "transport" => Ok(response(match info.framing {
            None if info.ttstream => "TTHeaderStreaming",
            None => "GRPC",
            Some(Framing::TTHeader {
                inner_framed: false,
            }) => "TTHeader",
            Some(Framing::TTHeader { inner_framed: true }) => "TTHeader|Framed",
            Some(Framing::Framed) => "Framed",
            Some(Framing::Buffered) => "PurePayload",
            Some(Framing::THeader) => "THeader",
        })),
        _ => return None,
    })
}

async fn reply(info: &CallInfo, msg: EchoRequest) -> Result<EchoResponse, Status> {
    match special(info, &msg.message).await {
        Some(r) => r,
        None => Ok(EchoResponse {
            message: msg.message,
        }),
    }
}

struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = ResponseStream;
    type EchoServerStream = ResponseStream;

    async fn echo(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::EchoStream>, Status> {
        let info = CallInfo::of(&request);
        let inbound = request.into_inner();
        // Answer each message in turn; stop at the first error.
        let replies = futures_util::stream::unfold(Some(inbound), move |state| {
            let info = info.clone();
            async move {
                let mut inbound = state?;
                let item = match inbound.next().await? {
                    Ok(m) => reply(&info, m).await,
                    Err(e) => Err(e),
                };
                let next = item.is_ok().then_some(inbound);
                Some((item, next))
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoResponse>, Status> {
        let info = CallInfo::of(&request);
        let mut inbound = request.into_inner();
        // Kept as the messages arrive, not the messages themselves: the
        // first one (a single message is answered like a unary call),
        // whether one asked for a business error, and the joined text.
        let mut first = None;
        let mut count = 0usize;
        let mut biz = false;
        let mut joined = String::new();
        while let Some(m) = inbound.next().await {
            let m = m?;
            count += 1;
            biz |= m.message == "biz-error";
            if joined.len() + 1 + m.message.len() > MAX_JOINED {
                return Err(Status::resource_exhausted(format!(
                    "EchoClient joins at most {MAX_JOINED} bytes of messages; message {count} goes past it"
                )));
            }
            if count > 1 {
                joined.push(',');
            }
            joined.push_str(&m.message);
            if count == 1 {
                first = Some(m);
            }
        }
        match first {
            Some(only) if count == 1 => reply(&info, only).await.map(Response::new),
            _ if biz => reply(
                &info,
                EchoRequest {
                    message: "biz-error".into(),
                },
            )
            .await
            .map(Response::new),
            _ => Ok(Response::new(response(joined))),
        }
    }

    async fn echo_server(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<Self::EchoServerStream>, Status> {
        let info = CallInfo::of(&request);
        let msg = request.into_inner().message;
        if let Some(r) = special(&info, &msg).await {
            let one = r?;
            return Ok(Response::new(Box::pin(futures_util::stream::once(
                async move { Ok(one) },
            ))));
        }
        let (count, size) = match msg.split_once(':') {
            Some((n, s)) => (n, Some(s)),
            None => (msg.as_str(), None),
        };
        let count = bounded(count, MAX_STREAM_COUNT, "count")?;
        let size = match size {
            Some(s) => Some(bounded(s, MAX_PAYLOAD, "message size")? as usize),
            None => None,
        };
        // One buffer, shared by every message; messages made as the client reads.
        let payload = size.map(|s| tonic_thrift::FastStr::from("x".repeat(s)));
        let replies = futures_util::stream::iter(0..count).map(move |i| {
            Ok(EchoResponse {
                message: match &payload {
                    Some(p) => p.clone(),
                    None => i.to_string().into(),
                },
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_unary(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let info = CallInfo::of(&request);
        reply(&info, request.into_inner()).await.map(Response::new)
    }

    async fn echo_ping_pong(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        let info = CallInfo::of(&request);
        reply(&info, request.into_inner()).await.map(Response::new)
    }
}

/// Parses the `what` of an EchoServer request (`N` or `S` in `N:S`): a
/// number up to `max`, else INVALID_ARGUMENT (not a number) or
/// RESOURCE_EXHAUSTED (over the cap, which the message names). The
/// request's text is not echoed back whole: it may be megabytes long.
fn bounded(text: &str, max: u64, what: &str) -> Result<u64, Status> {
    let n: u64 = text.parse().map_err(|_| {
        let preview: String = text.chars().take(32).collect();
        Status::invalid_argument(format!(
            "EchoServer expects `N` or `N:S` with integer N and S; {what} {preview:?} is not one"
        ))
    })?;
    if n > max {
        return Err(Status::resource_exhausted(format!(
            "EchoServer {what} {n} is over this server's cap of {max}"
        )));
    }
    Ok(n)
}

const USAGE: &str = "usage: echo_server [--addr HOST:PORT] \
[--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

  --addr HOST:PORT       where to listen (default 127.0.0.1:0)
  --tls-cert PEM         serve everything over TLS with this certificate chain
  --tls-key PEM          and this private key
  --tls-client-ca PEM    require client certificates signed by this CA (mTLS)

gRPC requests compressed with gzip or zstd are accepted; grpc.health.v1.Health
is served on the same port.";

/// The command line.
struct Args {
    addr: std::net::SocketAddr,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    tls_client_ca: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:0".to_string();
    let (mut tls_cert, mut tls_key, mut tls_client_ca) = (None, None, None);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--addr" | "-addr" => addr = value("--addr")?,
            "--tls-cert" => tls_cert = Some(value("--tls-cert")?),
            "--tls-key" => tls_key = Some(value("--tls-key")?),
            "--tls-client-ca" => tls_client_ca = Some(value("--tls-client-ca")?),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if tls_cert.is_some() != tls_key.is_some() {
        return Err(format!("--tls-cert and --tls-key go together\n{USAGE}"));
    }
    if tls_client_ca.is_some() && tls_cert.is_none() {
        return Err(format!(
            "--tls-client-ca needs --tls-cert and --tls-key\n{USAGE}"
        ));
    }
    let addr = addr
        .parse()
        .map_err(|e| format!("invalid --addr `{addr}`: {e}"))?;
    Ok(Args {
        addr,
        tls_cert,
        tls_key,
        tls_client_ca,
    })
}

/// The server, over TLS when the command line asks for it.
fn server(args: &Args) -> Result<tonic_thrift::Server, Box<dyn std::error::Error>> {
    let server = tonic_thrift::Server::builder();
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(server);
    };
    let read = |path: &str| std::fs::read(path).map_err(|e| format!("cannot read `{path}`: {e}"));
    let mut tls = tonic_thrift::tls::ServerTlsConfig::new(read(cert)?, read(key)?)?;
    if let Some(ca) = &args.tls_client_ca {
        tls = tls.client_ca(read(ca)?)?;
    }
    Ok(server.tls_config(tls)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let server = match server(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("echo_server: {e}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("LISTENING {}", listener.local_addr()?);
    let echo = TestServiceServer::new(Echo)
        .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
        .accept_compressed(tonic::codec::CompressionEncoding::Zstd);
    // grpc.health.v1.Health on the same port; NOT_SERVING on Ctrl-C.
    let (router, _health) = server.add_service(echo).add_health_service();
    router
        .serve_with_listener(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
