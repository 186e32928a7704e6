//! The echo server of `examples/echo_server.rs`, without generated code:
//! `idl/echo.thrift` is read at start-up and every call goes to one JSON
//! handler ([`tonic_thrift_generic::Handler`]). gRPC (every mode), TTHeader
//! Streaming and ping-pong (TTHeader, Framed, Buffered) on one port.
//!
//! Run with `cargo run --example generic_echo_server -- --addr 127.0.0.1:0
//! [--idl idl/echo.thrift]`; it prints `LISTENING <addr>` once bound.
//!
//! Echo semantics (those of the Kitex test peer, `../shared/kitex-peer`):
//! `Echo` answers each message, `EchoClient` joins the messages with `,`,
//! `EchoServer` sends `0`..`N-1` for `N` (N messages of S bytes for `N:S`),
//! `EchoUnary` and `EchoPingPong` echo. The special messages `biz-error`,
//! `metainfo`, `persist`, `sleep`, `sleep-ctx`, `deadline` and `transport`
//! work in every mode.
//! Bounded: at most 1,000,000 server-stream messages of at most 1 MiB, a
//! joined reply of at most 1 MiB.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tonic::Status;
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::transport::Framing;
use tonic_thrift::ttstream::TTHeaderStreaming;
use tonic_thrift::BizStatusError;
use tonic_thrift_generic::{GenericServer, Handler, HandlerError, JsonStream, Request};

const MAX_STREAM_COUNT: u64 = 1_000_000;
const MAX_PAYLOAD: u64 = 1 << 20;
const MAX_JOINED: usize = 1 << 20;

/// What the handler knows about a call besides its messages.
#[derive(Clone)]
struct Info {
    deadline: Option<Instant>,
    framing: Option<Framing>,
    ttstream: bool,
    meta: MetaInfo,
}

impl Info {
    fn of(r: &Request) -> Self {
        Info {
            deadline: r
                .metadata
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| tonic_thrift::parse_grpc_timeout(v).ok())
                .map(|d| Instant::now() + d),
            framing: r.extensions.get::<Framing>().copied(),
            ttstream: r.extensions.get::<TTHeaderStreaming>().is_some(),
            meta: r.metainfo().cloned().unwrap_or_default(),
        }
    }
}

fn message(v: &Value) -> String {
    v.get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn reply(text: impl Into<String>) -> Value {
    json!({ "message": text.into() })
}

/// The special messages; `None` means plain echo.
async fn special(info: &Info, msg: &str) -> Option<Result<Value, Status>> {
    Some(match msg {
        "biz-error" => Err(BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .into()),
        "metainfo" => Ok(reply(info.meta.transient("TEST_KEY").unwrap_or_default())),
        "persist" => Ok(reply(
            info.meta.persistent("TEST_PERSIST").unwrap_or_default(),
        )),
        "sleep" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(reply(msg))
        }
        "sleep-ctx" => {
            let sleep = tokio::time::sleep(Duration::from_secs(3));
            match info.deadline {
                Some(d) => tokio::select! {
                    _ = sleep => Ok(reply(msg)),
                    _ = tokio::time::sleep_until(d.into()) => {
                        Err(Status::deadline_exceeded("context deadline exceeded"))
                    }
                },
                None => {
                    sleep.await;
                    Ok(reply(msg))
                }
            }
        }
        "deadline" => Ok(reply(match info.deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .as_millis()
                .to_string(),
            None => "none".to_string(),
        })),
        "transport" => Ok(reply(match info.framing {
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

async fn echo(info: &Info, v: Value) -> Result<Value, Status> {
    special(info, &message(&v)).await.unwrap_or(Ok(v))
}

fn one(r: Result<Value, Status>) -> Result<JsonStream, HandlerError> {
    Ok(Box::pin(futures_util::stream::iter([r])))
}

fn bounded(text: &str, max: u64, what: &str) -> Result<u64, Status> {
    let n: u64 = text.parse().map_err(|_| {
        let preview: String = text.chars().take(32).collect();
        Status::invalid_argument(format!(
            "EchoServer expects `N` or `N:S`; {what} {preview:?} is not a number"
        ))
    })?;
    if n > max {
        return Err(Status::resource_exhausted(format!(
            "EchoServer {what} {n} is over this server's cap of {max}"
        )));
    }
    Ok(n)
}

struct EchoHandler;

#[tonic::async_trait]
impl Handler for EchoHandler {
    async fn handle(&self, mut r: Request) -> Result<JsonStream, HandlerError> {
        let info = Info::of(&r);
        match r.method.name.as_str() {
            "Echo" => {
                let replies = r.messages.then(move |m| {
                    let info = info.clone();
                    async move { echo(&info, m?).await }
                });
                Ok(Box::pin(replies))
            }
            "EchoClient" => {
                let (mut count, mut biz, mut joined, mut first) =
                    (0usize, false, String::new(), None);
                while let Some(m) = r.messages.next().await {
                    let m = m?;
                    let text = message(&m);
                    count += 1;
                    biz |= text == "biz-error";
                    if joined.len() + 1 + text.len() > MAX_JOINED {
                        return Err(
                            Status::resource_exhausted("EchoClient joins at most 1 MiB").into()
                        );
                    }
                    if count > 1 {
                        joined.push(',');
                    }
                    joined.push_str(&text);
                    first.get_or_insert(m);
                }
                match first {
                    Some(only) if count == 1 => one(echo(&info, only).await),
                    _ if biz => one(echo(&info, reply("biz-error")).await),
                    _ => one(Ok(reply(joined))),
                }
            }
            "EchoServer" => {
                let req = match r.messages.next().await {
                    Some(m) => m?,
                    None => return Err(Status::invalid_argument("no request").into()),
                };
                let msg = message(&req);
                if let Some(s) = special(&info, &msg).await {
                    return one(s);
                }
                let (count, size) = match msg.split_once(':') {
                    Some((n, s)) => (n, Some(s)),
                    None => (msg.as_str(), None),
                };
                let count = bounded(count, MAX_STREAM_COUNT, "count")?;
                let payload = match size {
                    Some(s) => Some(Arc::new(
                        "x".repeat(bounded(s, MAX_PAYLOAD, "size")? as usize),
                    )),
                    None => None,
                };
                Ok(Box::pin(futures_util::stream::iter(0..count).map(
                    move |i| {
                        Ok(match &payload {
                            Some(p) => reply(p.as_str()),
                            None => reply(i.to_string()),
                        })
                    },
                )))
            }
            // EchoUnary, EchoPingPong.
            _ => match r.messages.next().await {
                Some(m) => one(echo(&info, m?).await),
                None => Err(Status::invalid_argument("no request").into()),
            },
        }
    }
}

fn parse_args() -> Result<(std::net::SocketAddr, PathBuf), String> {
    let usage = "usage: generic_echo_server [--addr HOST:PORT] [--idl PATH]";
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:0".to_string();
    let mut idl = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("idl/echo.thrift");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" | "-addr" => addr = args.next().ok_or("--addr needs a value")?,
            "--idl" => idl = args.next().ok_or("--idl needs a value")?.into(),
            other => return Err(format!("unknown argument `{other}`; {usage}")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|e| format!("invalid --addr `{addr}`: {e}"))?;
    Ok((addr, idl))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, idl) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let desc = Arc::new(tonic_thrift_build::descriptor::load(&idl, &[], None)?);
    let server = GenericServer::new(desc, "TestService", EchoHandler)
        .ok_or("the IDL has no service TestService")?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("LISTENING {}", listener.local_addr()?);
    server
        .add_to(tonic_thrift::Server::builder())
        .serve_with_listener(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
