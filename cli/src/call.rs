//! `tonic-thrift call`: one call of any mode, JSON in and out.

use std::io::Write as _;
use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tonic_thrift::grpc::StreamTransport;
use tonic_thrift_build::descriptor::{Descriptor, Mode};
use tonic_thrift_generic::{CallError, ClientOptions, GenericClient, PingPongTransport};

use crate::args::{CallArgs, StreamTransportArg, TransportArg};
use crate::Failure;

fn options(args: &CallArgs, mode: Mode) -> ClientOptions {
    let mut o = ClientOptions::default()
        .stream_transport(match args.stream_transport {
            Some(StreamTransportArg::Ttstream) => StreamTransport::TTHeaderStreaming,
            _ => StreamTransport::Grpc,
        })
        .pingpong_transport(match (args.stream_transport, args.transport) {
            // `--stream-transport grpc` sends a ping-pong method over HTTP/2.
            (Some(StreamTransportArg::Grpc), _) if mode == Mode::PingPong => {
                PingPongTransport::Grpc
            }
            (_, TransportArg::Ttheader) => PingPongTransport::TTHeader,
            (_, TransportArg::TtheaderFramed) => PingPongTransport::TTHeaderFramed,
            (_, TransportArg::Framed) => PingPongTransport::Framed,
            (_, TransportArg::Buffered) => PingPongTransport::Buffered,
        });
    if let Some(t) = args.timeout {
        o = o.timeout(t);
    }
    for (k, v) in &args.header {
        o = o.transient(k, v);
    }
    for (k, v) in &args.persist {
        o = o.persistent(k, v);
    }
    o
}

fn parse(text: &str, what: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|e| Failure::usage(format!("{what} is not JSON: {e}")))
}

fn print(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// The one request of a unary, ping-pong or server-streaming call: the
/// argument, or all of stdin.
async fn one_request(args: &CallArgs) -> Result<Value, Failure> {
    if let Some(r) = &args.request {
        return parse(r, "the request");
    }
    let mut text = String::new();
    tokio::io::stdin()
        .read_to_string(&mut text)
        .await
        .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    parse(&text, "stdin")
}

/// The messages of a client or bidi stream: the argument alone, or one
/// JSON value per non-empty stdin line, read as the stream is sent. A line
/// that is not JSON ends the stream and is reported.
fn stream_requests(
    args: &CallArgs,
    bad_line: Arc<std::sync::Mutex<Option<String>>>,
) -> futures_util::stream::BoxStream<'static, Value> {
    if let Some(r) = &args.request {
        let v = serde_json::from_str(r);
        return match v {
            Ok(v) => futures_util::stream::iter([v]).boxed(),
            Err(e) => {
                *bad_line.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("the request is not JSON: {e}"));
                futures_util::stream::empty().boxed()
            }
        };
    }
    let lines = BufReader::new(tokio::io::stdin()).lines();
    futures_util::stream::unfold((lines, 0usize), move |(mut lines, n)| {
        let bad_line = bad_line.clone();
        async move {
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(l)) => l,
                    _ => return None,
                };
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => return Some((v, (lines, n + 1))),
                    Err(e) => {
                        *bad_line.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(format!("stdin line {} is not JSON: {e}", n + 1));
                        return None;
                    }
                }
            }
        }
    })
    .boxed()
}

pub(crate) async fn call(desc: Descriptor, args: CallArgs) -> Result<(), Failure> {
    let Some((service, method)) = args.method.rsplit_once('.') else {
        return Err(Failure::usage(format!(
            "expected Service.Method, got {:?}",
            args.method
        )));
    };
    let desc = Arc::new(desc);
    let mode = {
        let probe = GenericClient::new(desc.clone(), &args.addr, ClientOptions::default());
        let (_, m) = probe.find(service, method).map_err(Failure::call)?;
        m.mode
    };
    let client = GenericClient::new(desc, &args.addr, options(&args, mode));
    let bad_line = Arc::new(std::sync::Mutex::new(None));
    let check_lines = |bad: &Arc<std::sync::Mutex<Option<String>>>| -> Result<(), Failure> {
        match bad.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(m) => Err(Failure::usage(m)),
            None => Ok(()),
        }
    };
    match mode {
        Mode::Unary | Mode::PingPong => {
            let request = one_request(&args).await?;
            let reply = client
                .call(service, method, &request)
                .await
                .map_err(Failure::call)?;
            print(&reply);
        }
        Mode::ServerStreaming => {
            let request = one_request(&args).await?;
            let mut replies = client
                .server_stream(service, method, &request)
                .await
                .map_err(Failure::call)?;
            while let Some(v) = replies.message().await.map_err(Failure::call)? {
                print(&v);
            }
        }
        Mode::ClientStreaming => {
            let messages = stream_requests(&args, bad_line.clone());
            let reply = client.client_stream(service, method, messages).await;
            check_lines(&bad_line)?;
            print(&reply.map_err(Failure::call)?);
        }
        Mode::Bidirectional => {
            let messages = stream_requests(&args, bad_line.clone());
            let mut replies = client
                .bidi(service, method, messages)
                .await
                .map_err(Failure::call)?;
            loop {
                match replies.message().await {
                    Ok(Some(v)) => print(&v),
                    Ok(None) => break,
                    Err(e) => {
                        check_lines(&bad_line)?;
                        return Err(Failure::call(e));
                    }
                }
            }
            check_lines(&bad_line)?;
        }
    }
    Ok(())
}

impl Failure {
    /// The exit code and message of a failed call.
    pub(crate) fn call(e: CallError) -> Failure {
        let code = match &e {
            CallError::Usage(_) | CallError::Transcode(_) => 1,
            CallError::Connect(_) => 2,
            CallError::Exception { .. } => 3,
            CallError::Status(_) if e.biz_error().is_some() => 3,
            CallError::Status(s) => 64 + s.code() as i32,
            _ => 64 + tonic::Code::Unknown as i32,
        };
        let message = match (&e, e.biz_error()) {
            (_, Some(b)) => {
                let extra: Vec<String> =
                    b.extra().iter().map(|(k, v)| format!("{k}={v}")).collect();
                if extra.is_empty() {
                    format!("business error {}: {}", b.code(), b.message())
                } else {
                    format!(
                        "business error {}: {} (extra: {})",
                        b.code(),
                        b.message(),
                        extra.join(", ")
                    )
                }
            }
            (CallError::Status(s), None) => {
                format!("call failed: status {:?}: {}", s.code(), s.message())
            }
            (CallError::Transcode(t), None) => format!("JSON does not match the IDL: {t}"),
            _ => e.to_string(),
        };
        Failure { code, message }
    }
}
