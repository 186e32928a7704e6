//! The reference echo client: the 37 cases of the Kitex test peer's
//! `kitex-peer-client -case all` (`../shared/kitex-peer/src/cmd/kitex-peer-client`),
//! with the same names, the same requests and the same checks, written with
//! tonic-thrift against a server with the peer's echo semantics (the Kitex
//! `kitex-peer-server`, or `examples/echo_server.rs`).
//!
//! Run it with
//!
//! ```sh
//! cargo run --example echo_client -- --addr 127.0.0.1:PORT --case all
//! cargo run --example echo_client -- --addr 127.0.0.1:PORT --case bidi_echo
//! cargo run --example echo_client -- --case list
//! cargo run --example echo_client -- --addr 127.0.0.1:PORT --case streaming
//! cargo run --example echo_client -- --addr 127.0.0.1:PORT --stream-transport ttstream
//! ```
//!
//! It prints one JSON line per case, `{"case":..,"ok":..,"detail":..}`, and
//! exits with 1 if any case fails, 2 on bad arguments.
//!
//! `--case streaming` runs the peer's 16 stream cases: the 15 of the list
//! that open a stream, plus `transport_stream`. `--stream-transport
//! ttstream` (default `grpc`) sends those streams over TTHeader Streaming
//! (a client made by `connect_with` with
//! `GrpcOptions::stream_transport(StreamTransport::TTHeaderStreaming)`);
//! then `--case all` means `streaming`, and each line of the group carries
//! `"stream_transport"`, as the peer's `-stream-transport` does.
//!
//! Streaming and `unary` methods go over gRPC (`TestServiceClient` on a
//! tonic `Channel`); ping-pong methods over TTHeader, TTHeader+Framed, Framed
//! or Buffered (`TestServicePingPongClient`). Like the Go client, every case runs
//! under a 5 s deadline unless it sets its own, and a case that hangs is
//! failed by a watchdog after 15 s.

use std::future::Future;
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};
use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::pingpong::{application_exception, PingPongOptions};
use tonic_thrift::transport::Framing;
use tonic_thrift::BizStatusError;

// The build.rs path for the echo service ...
tonic_thrift::include_thrift!("echo");
// ... and the macro path for the methods the server does not have.
tonic_thrift::thrift_service!("idl/missing.thrift");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};

/// The deadline of every case that does not set its own (the Go client's `-timeout`).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The cases, in the order of `kitex-peer-client -case all`.
const CASES: [&str; 37] = [
    "bidi_echo",
    "bidi_empty",
    "client_stream",
    "server_stream",
    "unary",
    "transport_grpc",
    "pingpong_ttheader",
    "pingpong_ttheader_framed",
    "pingpong_framed",
    "pingpong_buffered",
    "biz_error_bidi",
    "biz_error_client_stream",
    "biz_error_server_stream",
    "biz_error_unary",
    "biz_error_pingpong_framed",
    "metainfo_transient_stream",
    "metainfo_persist_stream",
    "metainfo_transient_unary",
    "metainfo_persist_unary",
    "biz_error_pingpong_ttheader",
    "metainfo_transient_pingpong_ttheader",
    "metainfo_persist_pingpong_ttheader",
    "biz_error_pingpong_ttheader_framed",
    "metainfo_transient_pingpong_ttheader_framed",
    "metainfo_persist_pingpong_ttheader_framed",
    "deadline",
    "deadline_unary",
    "deadline_pingpong",
    "deadline_propagation_stream",
    "deadline_propagation_unary",
    "deadline_propagation_pingpong",
    "deadline_none_stream",
    "unimplemented_method_stream",
    "unimplemented_method_unary_pingpong",
    "large_message",
    "large_message_pingpong",
    "many_streams",
];

/// The `streaming` group: the cases above that open a stream (in that
/// order), then `transport_stream`.
const STREAMING: [&str; 16] = [
    "bidi_echo",
    "bidi_empty",
    "client_stream",
    "server_stream",
    "biz_error_bidi",
    "biz_error_client_stream",
    "biz_error_server_stream",
    "metainfo_transient_stream",
    "metainfo_persist_stream",
    "deadline",
    "deadline_propagation_stream",
    "deadline_none_stream",
    "unimplemented_method_stream",
    "large_message",
    "many_streams",
    "transport_stream",
];

/// The ping-pong transports, by the Go client's `-transport` names.
const TRANSPORTS: [(&str, Framing); 4] = [
    (
        "ttheader",
        Framing::TTHeader {
            inner_framed: false,
        },
    ),
    ("ttheader_framed", Framing::TTHeader { inner_framed: true }),
    ("framed", Framing::Framed),
    ("buffered", Framing::Buffered),
];

/// What the server reports for `transport` over each ping-pong transport.
fn transport_seen(tp: &str) -> &'static str {
    match tp {
        "ttheader" => "TTHeader",
        "ttheader_framed" => "TTHeader|Framed",
        "framed" => "Framed",
        _ => "PurePayload",
    }
}

// ------------------------------------------------------------------ clients

/// The clients every case shares (like the Go client's cached clients).
#[derive(Clone)]
struct Clients {
    grpc: TestServiceClient<Channel>,
    missing_grpc: missing::test_service_client::TestServiceClient<Channel>,
    pingpong: Vec<(&'static str, TestServicePingPongClient)>,
    missing_pingpong: missing::test_service_client::TestServicePingPongClient,
    /// Whether streams go over TTHeader Streaming.
    ttstream: bool,
}

impl Clients {
    /// The clients for `addr`; streams over TTHeader Streaming with
    /// `ttstream` (connecting now), else over gRPC (connecting on first use).
    async fn new(addr: &str, ttstream: bool) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("invalid --addr `{addr}`: {e}"))?;
        let (grpc, missing_grpc) = if ttstream {
            let options =
                GrpcOptions::default().stream_transport(StreamTransport::TTHeaderStreaming);
            let cannot = |e| format!("cannot connect to {addr}: {e}");
            (
                TestServiceClient::connect_with(endpoint.clone(), options.clone())
                    .await
                    .map_err(cannot)?,
                missing::test_service_client::TestServiceClient::connect_with(endpoint, options)
                    .await
                    .map_err(cannot)?,
            )
        } else {
            let channel = endpoint.connect_lazy();
            (
                TestServiceClient::new(channel.clone()),
                missing::test_service_client::TestServiceClient::new(channel),
            )
        };
        let options = || PingPongOptions::default().timeout(TIMEOUT);
        Ok(Clients {
            ttstream,
            grpc,
            missing_grpc,
            pingpong: TRANSPORTS
                .iter()
                .map(|&(name, framing)| {
                    (
                        name,
                        TestServicePingPongClient::with_options(addr, options().framing(framing)),
                    )
                })
                .collect(),
            // A stock Kitex client with WithTransportProtocol(TTHeader) sends TTHeader+Framed.
            missing_pingpong: missing::test_service_client::TestServicePingPongClient::with_options(
                addr,
                options().framing(Framing::TTHeader { inner_framed: true }),
            ),
        })
    }

    fn pingpong(&self, tp: &str) -> &TestServicePingPongClient {
        self.pingpong
            .iter()
            .find(|(name, _)| *name == tp)
            .map(|(_, c)| c)
            .unwrap_or(&self.pingpong[0].1)
    }
}

// ------------------------------------------------------------------ calls

/// How one call is made: its deadline and the metainfo it carries.
#[derive(Clone, Copy, Default)]
struct Call {
    timeout: Option<Duration>,
    transient: Option<(&'static str, &'static str)>,
    persistent: Option<(&'static str, &'static str)>,
}

impl Call {
    /// A call under the default 5 s deadline (the Go client's `withCtx`).
    fn ctx() -> Self {
        Call::with_timeout(TIMEOUT)
    }

    fn with_timeout(timeout: Duration) -> Self {
        Call {
            timeout: Some(timeout),
            ..Call::default()
        }
    }

    fn transient(mut self, key: &'static str, value: &'static str) -> Self {
        self.transient = Some((key, value));
        self
    }

    fn persistent(mut self, key: &'static str, value: &'static str) -> Self {
        self.persistent = Some((key, value));
        self
    }

    /// Wraps `message` in a request carrying this call's deadline
    /// (`grpc-timeout`, or the TTHeader RPC timeout) and metainfo.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(t) = self.timeout {
            request.set_timeout(t);
        }
        if let Some((k, v)) = self.transient {
            MetaInfo::attach(&mut request)
                .set_transient(k, v)
                .expect("valid metainfo key");
        }
        if let Some((k, v)) = self.persistent {
            MetaInfo::attach(&mut request)
                .set_persistent(k, v)
                .expect("valid metainfo key");
        }
        request
    }
}

/// Why a call failed: the status it ended with, or something else that
/// went wrong.
enum Failure {
    Status(Status),
    Other(String),
}

impl From<Status> for Failure {
    fn from(s: Status) -> Self {
        Failure::Status(s)
    }
}

impl Failure {
    fn status(&self) -> Option<&Status> {
        match self {
            Failure::Status(s) => Some(s),
            Failure::Other(_) => None,
        }
    }

    /// Like the Go client's `errDesc`: the error with its gRPC code and,
    /// when present, the business error or application exception in it.
    fn describe(&self) -> String {
        match self {
            Failure::Other(s) => s.clone(),
            Failure::Status(s) => describe_status(s),
        }
    }
}

fn describe_status(s: &Status) -> String {
    let mut d = format!(
        "status {:?} [grpc-code={}]: {:?}",
        s.code(),
        s.code() as i32,
        s.message()
    );
    if let Some(b) = BizStatusError::from_status(s) {
        d.push_str(&format!(
            " [biz code={} msg={:?} extra={:?}]",
            b.code(),
            b.message(),
            b.extra()
        ));
    }
    if let Some(e) = application_exception(s) {
        d.push_str(&format!(" [application exception type={}]", e.kind.0));
    }
    d
}

/// Runs `fut` under `timeout`: when it passes first, the call fails with
/// DEADLINE_EXCEEDED (tonic enforces `grpc-timeout` only until the response
/// headers arrive; the rest of a stream is bounded here).
async fn within<T>(
    timeout: Option<Duration>,
    fut: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    match timeout {
        Some(t) => tokio::time::timeout(t, fut).await.unwrap_or_else(|_| {
            Err(Failure::Status(Status::deadline_exceeded(format!(
                "client deadline of {} ms passed",
                t.as_millis()
            ))))
        }),
        None => fut.await,
    }
}

fn request(message: &str) -> echo::Request {
    echo::Request {
        message: message.to_string().into(),
    }
}

/// Sends each message and waits for its echo, then half-closes and expects
/// the stream to end cleanly (the Go client's `bidi`).
async fn bidi(c: &Clients, msgs: &[String], call: Call) -> Result<Vec<String>, Failure> {
    let mut client = c.grpc.clone();
    within(call.timeout, async move {
        let (tx, rx) = tokio::sync::mpsc::channel::<echo::Request>(4);
        let outbound =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
            );
        // tonic returns the stream once the response headers arrive, and a
        // Kitex server sends them with its first reply: queue the first
        // message (or half-close at once) before opening.
        let mut tx = Some(tx);
        match msgs.first() {
            Some(first) => send(&tx, first).await?,
            None => tx = None,
        }
        let mut inbound = client.echo(call.request(outbound)).await?.into_inner();
        let mut out = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            if i > 0 {
                send(&tx, m).await?;
            }
            match inbound.message().await? {
                Some(r) => out.push(r.message.to_string()),
                None => {
                    return Err(Failure::Other(format!(
                        "the stream ended after {} of {} echoes",
                        out.len(),
                        msgs.len()
                    )))
                }
            }
        }
        drop(tx);
        match inbound.message().await {
            Ok(None) => Ok(out),
            Ok(Some(r)) => Err(Failure::Other(format!(
                "expected EOF, got message {:?}",
                trunc(&r.message)
            ))),
            Err(s) => Err(Failure::Other(format!(
                "expected EOF, got {}",
                describe_status(&s)
            ))),
        }
    })
    .await
}

async fn send(
    tx: &Option<tokio::sync::mpsc::Sender<echo::Request>>,
    m: &str,
) -> Result<(), Failure> {
    let closed = || Failure::Other("send: the request stream is closed".to_string());
    tx.as_ref()
        .ok_or_else(closed)?
        .send(request(m))
        .await
        .map_err(|_| closed())
}

/// Sends the messages, half-closes and returns the single reply.
async fn client_stream(c: &Clients, msgs: &[&str], call: Call) -> Result<String, Failure> {
    let mut client = c.grpc.clone();
    let outbound = futures_util::stream::iter(msgs.iter().map(|m| request(m)).collect::<Vec<_>>());
    within(call.timeout, async move {
        Ok(client
            .echo_client(call.request(outbound))
            .await?
            .into_inner()
            .message
            .to_string())
    })
    .await
}

/// Sends one message and collects the replies until the stream ends.
async fn server_stream(c: &Clients, m: &str, call: Call) -> Result<Vec<String>, Failure> {
    let mut client = c.grpc.clone();
    within(call.timeout, async move {
        let mut inbound = client
            .echo_server(call.request(request(m)))
            .await?
            .into_inner();
        let mut out = Vec::new();
        while let Some(r) = inbound.message().await? {
            out.push(r.message.to_string());
        }
        Ok(out)
    })
    .await
}

/// `EchoUnary` (`streaming.mode="unary"`, over gRPC).
async fn unary(c: &Clients, m: &str, call: Call) -> Result<String, Failure> {
    let mut client = c.grpc.clone();
    within(call.timeout, async move {
        Ok(client
            .echo_unary(call.request(request(m)))
            .await?
            .into_inner()
            .message
            .to_string())
    })
    .await
}

/// `EchoPingPong` over transport `tp`. The deadline is the client's own
/// (its 5 s option, or the call's `set_timeout`), sent as the TTHeader RPC
/// timeout.
async fn pingpong(c: &Clients, tp: &str, m: &str, call: Call) -> Result<String, Failure> {
    Ok(c.pingpong(tp)
        .echo_ping_pong(call.request(request(m)))
        .await?
        .into_inner()
        .message
        .to_string())
}

// ------------------------------------------------------------------ checks

type Outcome = (bool, String);

fn trunc(s: &str) -> String {
    if s.len() > 40 {
        let mut end = 40;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...({} bytes)", &s[..end], s.len())
    } else {
        s.to_string()
    }
}

fn expect_eq(got: Result<String, Failure>, want: &str) -> Outcome {
    match got {
        Ok(got) => (
            got == want,
            format!("got {:?} want {:?}", trunc(&got), trunc(want)),
        ),
        Err(e) => (false, e.describe()),
    }
}

/// The business error 1001 "biz error msg" {"k":"v"} (the Go `checkBiz`).
fn check_biz<T>(r: Result<T, Failure>) -> Outcome {
    let e = match r {
        Ok(_) => return (false, "expected biz error, got success".to_string()),
        Err(e) => e,
    };
    let Some(biz) = e.status().and_then(BizStatusError::from_status) else {
        return (false, format!("not a business error: {}", e.describe()));
    };
    let ok = biz.code() == 1001
        && biz.message() == "biz error msg"
        && biz.extra().get("k").map(String::as_str) == Some("v");
    (
        ok,
        format!(
            "code={} msg={:?} extra={:?} ({})",
            biz.code(),
            biz.message(),
            biz.extra(),
            e.describe()
        ),
    )
}

/// A deadline error: DEADLINE_EXCEEDED, or tonic's own client-side timeout
/// (`CANCELLED: Timeout expired`, what tonic's `Channel` reports when the
/// `grpc-timeout` passes before the response headers; the Go client likewise
/// accepts its local context deadline. `tests/kitex/golden.rs`,
/// `client_deadline_before_response_headers_is_deadline_exceeded`, asks for
/// DEADLINE_EXCEEDED there too).
fn is_deadline<T>(r: &Result<T, Failure>) -> Outcome {
    match r {
        Ok(_) => (false, "expected deadline error, got success".to_string()),
        Err(e) => {
            let ok = e.status().is_some_and(|s| {
                s.code() == Code::DeadlineExceeded
                    || (s.code() == Code::Cancelled && s.message() == "Timeout expired")
            });
            (ok, e.describe())
        }
    }
}

/// The server saw a deadline in `(0, max_ms]` ms.
fn check_remaining(got: Result<String, Failure>, max_ms: i64) -> Outcome {
    let got = match got {
        Ok(g) => g,
        Err(e) => return (false, e.describe()),
    };
    match got.parse::<i64>() {
        Ok(ms) => (
            ms > 0 && ms <= max_ms,
            format!("server-side remaining deadline {ms}ms (client timeout {max_ms}ms)"),
        ),
        Err(_) => (false, format!("server reported {got:?} (no deadline seen)")),
    }
}

fn strings(msgs: &[&str]) -> Vec<String> {
    msgs.iter().map(|m| m.to_string()).collect()
}

/// A deadline case: the call fails with a deadline error within 2 s.
fn timed_deadline<T>(start: Instant, r: Result<T, Failure>) -> Outcome {
    let elapsed = start.elapsed();
    let (ok, d) = is_deadline(&r);
    (
        ok && elapsed < Duration::from_secs(2),
        format!("after {}ms: {d}", elapsed.as_millis()),
    )
}

// ------------------------------------------------------------------ cases

async fn run_case(name: &str, c: Clients) -> Outcome {
    // The transport-parameterised ping-pong cases.
    for (tp, _) in TRANSPORTS {
        if name == format!("pingpong_{tp}") {
            return pingpong_transport(&c, tp).await;
        }
        if name == format!("biz_error_pingpong_{tp}") && name != "biz_error_pingpong_framed" {
            return check_biz(pingpong(&c, tp, "biz-error", Call::ctx()).await);
        }
        if name == format!("metainfo_transient_pingpong_{tp}") {
            let call = Call::ctx().transient("TEST_KEY", "tv-pp");
            return expect_eq(pingpong(&c, tp, "metainfo", call).await, "tv-pp");
        }
        if name == format!("metainfo_persist_pingpong_{tp}") {
            let call = Call::ctx().persistent("TEST_PERSIST", "pv-pp");
            return expect_eq(pingpong(&c, tp, "persist", call).await, "pv-pp");
        }
    }
    match name {
        "bidi_echo" => match bidi(&c, &strings(&["a", "b", "c"]), Call::ctx()).await {
            Ok(out) => (out.join(",") == "a,b,c", format!("echoes {out:?} then EOF")),
            Err(e) => (false, e.describe()),
        },
        "bidi_empty" => match bidi(&c, &[], Call::ctx()).await {
            Ok(out) => (
                out.is_empty(),
                format!("half-closed immediately; {} msgs + clean EOF", out.len()),
            ),
            Err(e) => (false, e.describe()),
        },
        "client_stream" => expect_eq(
            client_stream(&c, &["a", "b", "c"], Call::ctx()).await,
            "a,b,c",
        ),
        "server_stream" => match server_stream(&c, "5", Call::ctx()).await {
            Ok(out) => (
                out.join(",") == "0,1,2,3,4",
                format!("got {out:?} then EOF"),
            ),
            Err(e) => (false, e.describe()),
        },
        "unary" => expect_eq(unary(&c, "hello", Call::ctx()).await, "hello"),
        "transport_grpc" => match unary(&c, "transport", Call::ctx()).await {
            Ok(got) => (got.contains("GRPC"), format!("server saw transport {got}")),
            Err(e) => (false, e.describe()),
        },
        "biz_error_bidi" => check_biz(bidi(&c, &strings(&["biz-error"]), Call::ctx()).await),
        "biz_error_client_stream" => {
            check_biz(client_stream(&c, &["biz-error"], Call::ctx()).await)
        }
        "biz_error_server_stream" => check_biz(server_stream(&c, "biz-error", Call::ctx()).await),
        "biz_error_unary" => check_biz(unary(&c, "biz-error", Call::ctx()).await),
        "biz_error_pingpong_framed" => {
            // Framed has no header for biz-status: a Kitex server replies
            // with an empty result struct, which must fail the call. (Ours
            // carries the business error in an application exception.)
            let r = pingpong(&c, "framed", "biz-error", Call::ctx()).await;
            if r.as_ref()
                .err()
                .and_then(Failure::status)
                .and_then(BizStatusError::from_status)
                .is_some()
            {
                let (ok, d) = check_biz(r);
                return (ok, format!("biz status carried over Framed: {d}"));
            }
            match r {
                Ok(got) => (
                    false,
                    format!(
                        "Framed has no header for biz-status, yet the call succeeded with {got:?}"
                    ),
                ),
                Err(e) => (
                    true,
                    format!(
                        "Framed has no header for biz-status: the call failed with {}",
                        e.describe()
                    ),
                ),
            }
        }
        "metainfo_transient_stream" => {
            let call = Call::ctx().transient("TEST_KEY", "tv-stream");
            match bidi(&c, &strings(&["metainfo"]), call).await {
                Ok(out) => (out == ["tv-stream"], format!("server saw TEST_KEY={out:?}")),
                Err(e) => (false, e.describe()),
            }
        }
        "metainfo_persist_stream" => {
            let call = Call::ctx().persistent("TEST_PERSIST", "pv-stream");
            match bidi(&c, &strings(&["persist"]), call).await {
                Ok(out) => (
                    out == ["pv-stream"],
                    format!("server saw TEST_PERSIST={out:?}"),
                ),
                Err(e) => (false, e.describe()),
            }
        }
        "metainfo_transient_unary" => {
            let call = Call::ctx().transient("TEST_KEY", "tv-unary");
            expect_eq(unary(&c, "metainfo", call).await, "tv-unary")
        }
        "metainfo_persist_unary" => {
            let call = Call::ctx().persistent("TEST_PERSIST", "pv-unary");
            expect_eq(unary(&c, "persist", call).await, "pv-unary")
        }
        "deadline" => {
            let start = Instant::now();
            let call = Call::with_timeout(Duration::from_millis(500));
            timed_deadline(start, bidi(&c, &strings(&["sleep"]), call).await)
        }
        "deadline_unary" => {
            let start = Instant::now();
            let call = Call::with_timeout(Duration::from_millis(500));
            timed_deadline(start, unary(&c, "sleep", call).await)
        }
        "deadline_pingpong" => {
            let start = Instant::now();
            let call = Call::with_timeout(Duration::from_millis(500));
            timed_deadline(start, pingpong(&c, "ttheader", "sleep", call).await)
        }
        "deadline_propagation_stream" => {
            let call = Call::with_timeout(Duration::from_secs(2));
            let r = bidi(&c, &strings(&["deadline"]), call)
                .await
                .and_then(|out| {
                    out.into_iter()
                        .next()
                        .ok_or_else(|| Failure::Other("no reply".to_string()))
                });
            if c.ttstream {
                // TTHeader Streaming carries no deadline: the server sees none.
                return match r {
                    Ok(got) => (
                        got == "none",
                        format!(
                            "ttstream sends no deadline: server saw {got:?} with a 2s client \
                             deadline (expected \"none\")"
                        ),
                    ),
                    Err(e) => (false, e.describe()),
                };
            }
            check_remaining(r, 2000)
        }
        "deadline_propagation_unary" => {
            let call = Call::with_timeout(Duration::from_secs(2));
            check_remaining(unary(&c, "deadline", call).await, 2000)
        }
        "deadline_propagation_pingpong" => {
            let call = Call::with_timeout(Duration::from_secs(2));
            check_remaining(pingpong(&c, "ttheader", "deadline", call).await, 2000)
        }
        "deadline_none_stream" => match bidi(&c, &strings(&["deadline"]), Call::default()).await {
            Ok(out) => (
                out == ["none"],
                format!("no client deadline -> server saw {out:?}"),
            ),
            Err(e) => (false, e.describe()),
        },
        "unimplemented_method_stream" => unimplemented_stream(&c).await,
        "unimplemented_method_unary_pingpong" => {
            let r = c
                .missing_pingpong
                .missing_ping_pong(Call::ctx().request(missing::Request {
                    message: "x".into(),
                }))
                .await;
            match r {
                Ok(_) => (false, "unexpected success".to_string()),
                Err(s) => (s.message().contains("unknown method"), describe_status(&s)),
            }
        }
        "large_message" => {
            let big = "0123456789abcdef".repeat(65536); // 1 MiB
            let msgs = vec![big.clone(), "after-large".to_string()];
            match bidi(&c, &msgs, Call::ctx()).await {
                Ok(out) => (
                    out.len() == 2 && out[0] == big && out[1] == "after-large",
                    format!(
                        "1 MiB echoed ({} bytes back), then small msg ok",
                        out.first().map_or(0, String::len)
                    ),
                ),
                Err(e) => (false, e.describe()),
            }
        }
        "large_message_pingpong" => {
            let big = "0123456789abcdef".repeat(65536);
            match pingpong(&c, "ttheader", &big, Call::ctx()).await {
                Ok(got) => (
                    got == big,
                    format!("1 MiB ping-pong echoed ({} bytes)", got.len()),
                ),
                Err(e) => (false, e.describe()),
            }
        }
        "many_streams" => many_streams(&c).await,
        "transport_stream" => {
            let want = if c.ttstream {
                "TTHeaderStreaming"
            } else {
                "GRPC"
            };
            match bidi(&c, &strings(&["transport"]), Call::ctx()).await {
                Ok(out) => (
                    out == [want],
                    format!("server saw stream transport {out:?} (want {want:?})"),
                ),
                Err(e) => (false, e.describe()),
            }
        }
        other => (false, format!("unknown case {other:?}")),
    }
}

/// Echo "hello", then ask which transport the server saw.
async fn pingpong_transport(c: &Clients, tp: &str) -> Outcome {
    let want = transport_seen(tp);
    let (ok, d) = expect_eq(pingpong(c, tp, "hello", Call::ctx()).await, "hello");
    if !ok {
        return (false, d);
    }
    match pingpong(c, tp, "transport", Call::ctx()).await {
        Ok(seen) => (
            seen == want,
            format!("echo ok; server saw transport {seen:?} (want {want:?})"),
        ),
        Err(e) => (false, e.describe()),
    }
}

/// A bidi call of `/echo.TestService/Missing`: the error names an unknown
/// method. A Kitex ttstream server sends no frame at all for it, so over
/// ttstream the call runs under 1 s and its deadline passes too (as the
/// peer client asserts, with `OBSERVED:`).
async fn unimplemented_stream(c: &Clients) -> Outcome {
    let mut client = c.missing_grpc.clone();
    let limit = if c.ttstream {
        Duration::from_secs(1)
    } else {
        TIMEOUT
    };
    let call = Call::with_timeout(limit);
    let start = Instant::now();
    let outbound = futures_util::stream::iter(vec![missing::Request {
        message: "x".into(),
    }]);
    let r = within(call.timeout, async move {
        let mut inbound = client.missing(call.request(outbound)).await?.into_inner();
        match inbound.message().await? {
            Some(r) => Err(Failure::Other(format!("unexpected reply {:?}", r.message))),
            None => Err(Failure::Other("unexpected clean EOF".to_string())),
        }
    })
    .await;
    match r {
        Ok(()) => (false, "unexpected success".to_string()),
        Err(e)
            if e.status()
                .is_some_and(|s| s.message().contains("unknown method")) =>
        {
            (true, e.describe())
        }
        Err(e) => {
            let (deadline, d) = is_deadline(&Err::<(), _>(e));
            if c.ttstream && deadline {
                return (
                    true,
                    format!(
                        "OBSERVED: no frame from the server for an unknown method; the client \
                         gave up at its {limit:?} deadline after {}ms: {d}",
                        start.elapsed().as_millis()
                    ),
                );
            }
            (false, d)
        }
    }
}

/// 100 concurrent bidi streams of 3 messages each.
async fn many_streams(c: &Clients) -> Outcome {
    const N: usize = 100;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let msgs: Vec<String> = ["a", "b", "c"]
                    .iter()
                    .map(|s| format!("s{i}-{s}"))
                    .collect();
                match bidi(&c, &msgs, Call::ctx()).await {
                    Ok(out) if out == msgs => Ok(()),
                    Ok(out) => Err(format!("stream {i}: got {out:?}")),
                    Err(e) => Err(e.describe()),
                }
            })
        })
        .collect();
    let mut fails = 0;
    let mut first_err = None;
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| Err(format!("task failed: {e}")));
        if let Err(e) = r {
            fails += 1;
            first_err.get_or_insert(e);
        }
    }
    let mut d = format!("{N} concurrent bidi streams, {fails} failed");
    if let Some(e) = first_err {
        d.push_str(&format!("; first error: {e}"));
    }
    (fails == 0, d)
}

// ------------------------------------------------------------------ output

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_line(case: &str, ok: bool, detail: &str, stream_transport: Option<&str>) -> String {
    let tp = stream_transport
        .map(|t| format!(",\"stream_transport\":{}", json_string(t)))
        .unwrap_or_default();
    format!(
        "{{\"case\":{},\"ok\":{ok},\"detail\":{}{tp}}}",
        json_string(case),
        json_string(detail)
    )
}

/// Runs one case in a task of its own: a panic or a hang fails the case
/// instead of the run (the Go client's `runCase`).
async fn run(name: &'static str, clients: &Clients) -> Outcome {
    let task = tokio::spawn(run_case(name, clients.clone()));
    let abort = task.abort_handle();
    match tokio::time::timeout(TIMEOUT + Duration::from_secs(10), task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "?".to_string());
            (false, format!("panic: {msg}"))
        }
        Ok(Err(e)) => (false, format!("task failed: {e}")),
        Err(_) => {
            abort.abort();
            (false, "case hung (watchdog)".to_string())
        }
    }
}

// ------------------------------------------------------------------ main

const USAGE: &str = "usage: echo_client [--addr HOST:PORT] [--case NAME|all|streaming|list] \
                     [--stream-transport grpc|ttstream]";

struct Args {
    addr: String,
    case: String,
    /// `grpc` or `ttstream`.
    stream_transport: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        addr: "127.0.0.1:8888".to_string(),
        case: "all".to_string(),
        stream_transport: "grpc".to_string(),
    };
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--addr" | "-addr" => parsed.addr = value("--addr")?,
            "--case" | "-case" => parsed.case = value("--case")?,
            "--stream-transport" | "-stream-transport" => {
                parsed.stream_transport = value("--stream-transport")?
            }
            "--help" | "-h" | "-help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    if !["grpc", "ttstream"].contains(&parsed.stream_transport.as_str()) {
        return Err(format!(
            "unknown --stream-transport `{}` (grpc|ttstream); {USAGE}",
            parsed.stream_transport
        ));
    }
    if !["all", "list", "streaming"].contains(&parsed.case.as_str())
        && !CASES.contains(&parsed.case.as_str())
        && !STREAMING.contains(&parsed.case.as_str())
    {
        return Err(format!(
            "unknown case `{}` (use --case list); {USAGE}",
            parsed.case
        ));
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args.case == "list" {
        for c in CASES {
            println!("{c}");
        }
        println!("transport_stream");
        return;
    }
    let ttstream = args.stream_transport == "ttstream";
    let clients = match Clients::new(&args.addr, ttstream).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // `all` over ttstream, like the peer's, is the streaming group.
    let group = args.case == "streaming" || (args.case == "all" && ttstream);
    let selected: Vec<&'static str> = if group {
        STREAMING.to_vec()
    } else {
        CASES
            .iter()
            .chain(["transport_stream"].iter())
            .copied()
            .filter(|c| args.case == "all" && *c != "transport_stream" || *c == args.case)
            .collect()
    };
    let mut failed = 0;
    for name in &selected {
        let (ok, detail) = run(name, &clients).await;
        if !ok {
            failed += 1;
        }
        // As the peer: stream cases name their transport when it is chosen.
        let tagged = group || *name == "transport_stream" || (ttstream && STREAMING.contains(name));
        let tp = tagged.then_some(args.stream_transport.as_str());
        println!("{}", json_line(name, ok, &detail, tp));
    }
    if failed > 0 {
        eprintln!("{failed}/{} cases failed", selected.len());
        std::process::exit(1);
    }
    eprintln!("all {} cases passed", selected.len());
}
