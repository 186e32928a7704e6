//! Golden tests against what a real Kitex v0.16.3 client and server put on
//! the wire (`../shared/kitex-peer/traces/decoded/*.txt`), and the bad inputs
//! around the same features.
//!
//! The Kitex bytes and header values used here are embedded below, so the
//! tests run anywhere; `embedded_values_match_the_kitex_traces` checks them
//! against the decoded traces where those are present.
//!
//! * gRPC: our client's request headers and message bytes for a bidi call
//!   with metainfo equal Kitex's (`bidi_2msgs_metainfo`); our decoder reads
//!   Kitex's messages; our server's replies carry Kitex's bytes.
//! * Business errors: Kitex's trailer block is read as the business error;
//!   our server's trailers for one hold the same keys and values
//!   (`unary_biz_error`, `bidi_biz_error`).
//! * TTHeader: Kitex's request decodes; our client's request for the same
//!   call carries the same keys and payload; our server answers Kitex's exact
//!   request bytes as Kitex does, and the handler sees the metainfo
//!   (`pingpong_ttheader`).
//! * Bad input: malformed metainfo keys (HTTP/2 and TTHeader) are dropped;
//!   a `biz-extra` that is not JSON still gives the business error; a
//!   `grpc-timeout` that does not parse is INVALID_ARGUMENT naming it.
//!
//! The client's wire output is captured by running the generated client on
//! a tower `service_fn` transport that records the `http::Request`, or on a
//! raw `TcpListener`; our server's raw output by a transport that forwards
//! to a tonic `Channel` and records the `http::Response` (head, data and
//! trailers) before the client decodes it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::codegen::Body as _;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::{
    decode_frame, encode_frame, read_message_header, write_message_header, Frame, FrameKind,
    Framing, MessageHeader, MessageType, TTHeader,
};
use tonic_thrift::BizStatusError;
use tonic_thrift::Message;

tonic_thrift::include_thrift!("echo");

use tonic_thrift::{OneArg, ValueResult};

/// The wire wrappers of `EchoPingPong`: one argument (field 1), a value result.
type EchoPingPongArgs = OneArg<echo::Request, 1>;
type EchoPingPongResult = ValueResult<echo::Response>;
use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ------------------------------------------------------------------ Kitex's bytes

/// `bidi_2msgs_metainfo`: the request headers that matter (the trace also
/// has `:method`, `:scheme`, `:authority`, `user-agent`, `grpc-timeout` and
/// Kitex's `destination-*`/`source-*` headers).
const KITEX_BIDI_HEADERS: [(&str, &str); 5] = [
    (":path", "/echo.TestService/Echo"),
    ("content-type", "application/grpc+thrift"),
    ("te", "trailers"),
    ("rpc-transit-test-key", "tv1"),
    ("rpc-persist-test-persist", "pv1"),
];
/// `bidi_2msgs_metainfo`: the client's two DATA frames (`Request{1:"a"}`,
/// `Request{1:"b"}`); the server echoes the same bytes.
const KITEX_DATA_A: &str = "00 00000009 0b 0001 00000001 61 00";
const KITEX_DATA_B: &str = "00 00000009 0b 0001 00000001 62 00";
/// `bidi_biz_error`: the client's `Request{1:"ok1"}` and the echo.
const KITEX_DATA_OK1: &str = "00 0000000b 0b 0001 00000003 6f6b31 00";
/// `unary_biz_error` (Trailers-Only) and `bidi_biz_error` (trailers): the
/// business error block.
const KITEX_BIZ_TRAILERS: [(&str, &str); 4] = [
    ("grpc-status", "13"),
    ("grpc-message", "biz error msg"),
    ("biz-status", "1001"),
    ("biz-extra", r#"{"k":"v"}"#),
];
/// `pingpong_ttheader`: the CALL `EchoPingPong(seq 1, {1: {1: "hello"}})`,
/// TTHeader with an unframed payload, 3 string keys and 7 int keys.
const KITEX_TTHEADER_CALL: &str = "000000c710000000000000010025000001000300185250435f504552534953545f544553545f504552534953540003707631000369736e000b546573745365727669636500145250435f5452414e5349545f544553545f4b4559000374763110000700030000001400000006000b54657374536572766963650009000c4563686f50696e67506f6e67001600013100010008756e6672616d6564000c000435303030800100010000000c4563686f50696e67506f6e67000000010c00010b00010000000568656c6c6f0000";
/// `pingpong_ttheader`: the REPLY `{0: {1: "hello"}}`, int key 22 = "2".
const KITEX_TTHEADER_REPLY: &str = "0000003f10000000000000010003000010000100160001320000800100020000000c4563686f50696e67506f6e67000000010c00000b00010000000568656c6c6f0000";
/// The string keys of `KITEX_TTHEADER_CALL`.
const KITEX_TTHEADER_STRINGS: [(&str, &str); 3] = [
    ("RPC_TRANSIT_TEST_KEY", "tv1"),
    ("RPC_PERSIST_TEST_PERSIST", "pv1"),
    ("isn", "TestService"),
];
/// The int keys of `KITEX_TTHEADER_CALL`.
const KITEX_TTHEADER_INTS: [(u16, &str); 7] = [
    (1, "unframed"),
    (3, ""),
    (6, "TestService"),
    (9, "EchoPingPong"),
    (12, "5000"),
    (20, ""),
    (22, "1"),
];
/// Int keys a Kitex client sends that the Kitex server does not need:
/// transport type, from-service, from-method.
const OPTIONAL_INT_KEYS: [u16; 3] = [1, 3, 20];

/// Hex with optional spaces to bytes.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd hex {s:?}");
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

// ------------------------------------------------------------------ the traces

/// One frame of a decoded trace: direction, title line, hex-dumped bytes,
/// and decoded header fields.
#[derive(Debug, Default)]
struct Event {
    dir: String,
    title: String,
    bytes: Vec<u8>,
    headers: Vec<(String, String)>,
}

/// Parses a `decode.py` output file into its frames.
fn parse_trace(text: &str) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    let mut in_headers = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((_, after)) = rest.split_once(']') {
                let after = after.trim_start();
                if let Some((dir, title)) = after.split_once("  ") {
                    if dir == "C->S" || dir == "S->C" {
                        events.push(Event {
                            dir: dir.to_string(),
                            title: title.trim().to_string(),
                            ..Event::default()
                        });
                        in_headers = false;
                        continue;
                    }
                }
            }
        }
        let Some(ev) = events.last_mut() else {
            continue;
        };
        let trimmed = line.trim();
        if [
            "request headers:",
            "response headers/trailers:",
            "TRAILERS:",
            "TRAILERS-ONLY response:",
        ]
        .contains(&trimmed)
        {
            in_headers = true;
            continue;
        }
        if in_headers {
            if let Some(field) = line.strip_prefix("        ") {
                if !field.is_empty() && !field.starts_with(' ') {
                    let split = field[1..].find(": ").map(|i| i + 1);
                    let (name, value) = match split {
                        Some(i) => (&field[..i], &field[i + 2..]),
                        None => (field.trim_end().trim_end_matches(':'), ""),
                    };
                    ev.headers.push((name.to_string(), value.to_string()));
                    continue;
                }
            }
            in_headers = false;
        }
        // Hex dump lines: `<indent>OOOO  xx xx ... (16 bytes, 47 columns)  ascii`.
        let indent = line.len() - line.trim_start().len();
        let body = &line[indent..];
        if body.len() > 6
            && body.as_bytes()[..4].iter().all(u8::is_ascii_hexdigit)
            && &body[4..6] == "  "
        {
            let region = &body[6..body.len().min(6 + 47)];
            for tok in region.split_whitespace() {
                if let Ok(b) = u8::from_str_radix(tok, 16) {
                    if tok.len() == 2 {
                        ev.bytes.push(b);
                    }
                }
            }
        }
    }
    events
}

fn traces_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/kitex-peer/traces/decoded")
}

fn header<'a>(ev: &'a Event, name: &str) -> Option<&'a str> {
    ev.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn embedded_values_match_the_kitex_traces() {
    let dir = traces_dir();
    if !dir.is_dir() {
        println!(
            "skipped: {} not found; the embedded Kitex values are used as they are",
            dir.display()
        );
        return;
    }
    let read = |name: &str| {
        let path = dir.join(name);
        parse_trace(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
    };

    // bidi_2msgs_metainfo: request headers, the two messages, the echoes.
    let ev = read("bidi_2msgs_metainfo.txt");
    let req = ev
        .iter()
        .find(|e| e.dir == "C->S" && e.title.starts_with("HEADERS"))
        .expect("request HEADERS");
    for (name, value) in KITEX_BIDI_HEADERS {
        assert_eq!(header(req, name), Some(value), "request header {name}");
    }
    let data = |dir: &str| -> Vec<String> {
        ev.iter()
            .filter(|e| e.dir == dir && e.title.starts_with("DATA") && !e.bytes.is_empty())
            .map(|e| to_hex(&e.bytes))
            .collect()
    };
    let msgs = vec![to_hex(&hex(KITEX_DATA_A)), to_hex(&hex(KITEX_DATA_B))];
    assert_eq!(data("C->S"), msgs, "client DATA");
    assert_eq!(data("S->C"), msgs, "server DATA");

    // Business error trailers: Trailers-Only (unary) and after a message (bidi).
    let ev = read("unary_biz_error.txt");
    let only = ev
        .iter()
        .find(|e| e.dir == "S->C" && header(e, "grpc-status").is_some())
        .expect("trailers-only response");
    assert_eq!(header(only, ":status"), Some("200"));
    assert_eq!(
        header(only, "content-type"),
        Some("application/grpc+thrift")
    );
    for (name, value) in KITEX_BIZ_TRAILERS {
        assert_eq!(header(only, name), Some(value), "unary trailer {name}");
    }
    let ev = read("bidi_biz_error.txt");
    let trailers = ev
        .iter()
        .find(|e| e.dir == "S->C" && header(e, "grpc-status").is_some())
        .expect("trailers");
    for (name, value) in KITEX_BIZ_TRAILERS {
        assert_eq!(header(trailers, name), Some(value), "bidi trailer {name}");
    }
    assert_eq!(header(trailers, ":status"), None, "bidi: real trailers");
    assert!(
        ev.iter().any(|e| e.dir == "S->C"
            && e.title.starts_with("DATA")
            && e.bytes == hex(KITEX_DATA_OK1)),
        "bidi_biz_error: the echo of ok1"
    );

    // pingpong_ttheader: the exact frames.
    let ev = read("pingpong_ttheader.txt");
    let frames: Vec<(&str, String)> = ev
        .iter()
        .filter(|e| e.title.starts_with("TTHeader"))
        .map(|e| (e.dir.as_str(), to_hex(&e.bytes)))
        .collect();
    assert_eq!(
        frames,
        vec![
            ("C->S", KITEX_TTHEADER_CALL.to_string()),
            ("S->C", KITEX_TTHEADER_REPLY.to_string())
        ]
    );
}

// ------------------------------------------------------------------ a probe server

/// What a handler saw of one call.
#[derive(Debug, Clone)]
struct Seen {
    method: &'static str,
    meta: Option<MetaInfo>,
    timeout: Option<Duration>,
}

/// Our server's handler for these tests. By message: `biz-error` fails with
/// business error 1001 "biz error msg" {"k":"v"}; `biz-not-json` fails with
/// a status carrying `biz-status: 1001` and `biz-extra: not json`; `meta`
/// answers the metainfo it received (`dump`); anything else is echoed.
#[derive(Clone, Default)]
struct Probe {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Probe {
    fn record<T>(&self, method: &'static str, request: &Request<T>) {
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| tonic_thrift::parse_grpc_timeout(v).ok());
        self.seen.lock().unwrap().push(Seen {
            method,
            meta: MetaInfo::of(request).cloned(),
            timeout,
        });
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The metainfo as `T:KEY=V;...;P:KEY=V;...` (transient, then persistent).
fn dump(meta: Option<&MetaInfo>) -> String {
    let Some(m) = meta else {
        return String::new();
    };
    let t = m.transients().map(|(k, v)| format!("T:{k}={v}"));
    let p = m.persistents().map(|(k, v)| format!("P:{k}={v}"));
    t.chain(p).collect::<Vec<_>>().join(";")
}

fn answer(meta: Option<&MetaInfo>, msg: &str) -> Result<echo::Response, Status> {
    match msg {
        "biz-error" => Err(BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .into()),
        "biz-not-json" => {
            let mut s = Status::internal("biz error msg");
            s.metadata_mut()
                .insert("biz-status", "1001".parse().unwrap());
            s.metadata_mut()
                .insert("biz-extra", "not json".parse().unwrap());
            Err(s)
        }
        "meta" => Ok(echo::Response {
            message: dump(meta).into(),
        }),
        other => Ok(echo::Response {
            message: other.to_string().into(),
        }),
    }
}

type ResponseStream =
    Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

#[tonic::async_trait]
impl TestService for Probe {
    type EchoStream = ResponseStream;
    type EchoServerStream = ResponseStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<ResponseStream>, Status> {
        self.record("Echo", &request);
        let meta = MetaInfo::of(&request).cloned();
        let replies = request
            .into_inner()
            .map(move |m| m.and_then(|m| answer(meta.as_ref(), &m.message)));
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<ResponseStream>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.record("EchoUnary", &request);
        let meta = MetaInfo::of(&request).cloned();
        answer(meta.as_ref(), &request.into_inner().message).map(Response::new)
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.record("EchoPingPong", &request);
        let meta = MetaInfo::of(&request).cloned();
        answer(meta.as_ref(), &request.into_inner().message).map(Response::new)
    }
}

/// Our server with a fresh `Probe` on 127.0.0.1:0; it stops when the
/// returned sender is dropped.
async fn start() -> (SocketAddr, Probe, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let probe = Probe::default();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(probe.clone()))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    (addr, probe, stop)
}

fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

fn req(m: &str) -> echo::Request {
    echo::Request {
        message: m.to_string().into(),
    }
}

/// Bounds every network wait of these tests.
async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within 10 s"))
}

// ------------------------------------------------------------------ recording transports

/// All data frames of a body, and its trailers.
async fn collect(mut body: tonic::body::Body) -> Result<(Vec<u8>, Option<HeaderMap>), Status> {
    let mut data = Vec::new();
    let mut trailers = None;
    while let Some(frame) =
        futures_util::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        match frame?.into_data() {
            Ok(d) => data.extend_from_slice(&d),
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    Ok((data, trailers))
}

/// A request as the client handed it to its transport.
#[derive(Debug, Clone)]
struct SentRequest {
    method: http::Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A transport that records each request (reading its body to the end) and
/// answers Trailers-Only `grpc-status: 0`.
fn request_recorder(
    log: Arc<Mutex<Vec<SentRequest>>>,
) -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = BoxError,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |req: http::Request<tonic::body::Body>| {
        let log = log.clone();
        async move {
            let (parts, body) = req.into_parts();
            let (body, _) = collect(body).await?;
            log.lock().unwrap().push(SentRequest {
                method: parts.method,
                path: parts.uri.path().to_string(),
                headers: parts.headers,
                body,
            });
            let resp = http::Response::builder()
                .status(200)
                .header("content-type", "application/grpc+thrift")
                .header("grpc-status", "0")
                .body(tonic::body::Body::empty())?;
            Ok::<_, BoxError>(resp)
        }
    })
}

/// A response as our server sent it.
#[derive(Debug, Clone)]
struct Received {
    status: http::StatusCode,
    headers: HeaderMap,
    data: Vec<u8>,
    trailers: Option<HeaderMap>,
}

impl Received {
    /// The value of `name` in the trailers, or in the head when the
    /// response is Trailers-Only.
    fn field(&self, name: &str) -> Option<&str> {
        self.trailers
            .as_ref()
            .and_then(|t| t.get(name))
            .or_else(|| self.headers.get(name))
            .and_then(|v| v.to_str().ok())
    }

    fn trailers_only(&self) -> bool {
        self.headers.contains_key("grpc-status")
    }
}

/// A transport over `channel` that records each response (head, data,
/// trailers) and hands the client the head with an empty body.
fn response_recorder(
    channel: Channel,
    log: Arc<Mutex<Vec<Received>>>,
) -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = BoxError,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |req: http::Request<tonic::body::Body>| {
        let channel = channel.clone();
        let log = log.clone();
        async move {
            let resp = tower::ServiceExt::oneshot(channel, req).await?;
            let (parts, body) = resp.into_parts();
            let (data, trailers) = collect(body).await?;
            log.lock().unwrap().push(Received {
                status: parts.status,
                headers: parts.headers.clone(),
                data,
                trailers,
            });
            Ok::<_, BoxError>(http::Response::from_parts(
                parts,
                tonic::body::Body::empty(),
            ))
        }
    })
}

/// A transport over `channel` that adds raw headers to every request (after
/// the client has written its own).
fn with_headers(
    channel: Channel,
    extra: Vec<(&'static str, &'static str)>,
) -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = tonic::transport::Error,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(move |mut req: http::Request<tonic::body::Body>| {
        for (k, v) in &extra {
            req.headers_mut().insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_static(v),
            );
        }
        tower::ServiceExt::oneshot(channel.clone(), req)
    })
}

// ------------------------------------------------------------------ (a) gRPC request and messages

#[tokio::test]
async fn bidi_request_with_metainfo_is_what_kitex_sends() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut client = TestServiceClient::new(request_recorder(log.clone()));
    let mut request = Request::new(futures_util::stream::iter(vec![req("a"), req("b")]));
    request.set_timeout(Duration::from_secs(5));
    MetaInfo::attach(&mut request)
        .set_transient("TEST_KEY", "tv1")
        .unwrap()
        .set_persistent("TEST_PERSIST", "pv1")
        .unwrap();
    let mut inbound = within("bidi call", client.echo(request))
        .await
        .unwrap()
        .into_inner();
    assert!(within("end of stream", inbound.message())
        .await
        .unwrap()
        .is_none());

    let sent = log.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let sent = &sent[0];
    assert_eq!(sent.method, http::Method::POST);
    for (name, want) in KITEX_BIDI_HEADERS {
        let got = if name == ":path" {
            Some(sent.path.as_str())
        } else {
            sent.headers.get(name).and_then(|v| v.to_str().ok())
        };
        assert_eq!(got, Some(want), "header {name} (all: {:?})", sent.headers);
    }
    // Kitex writes `4998623u`; any unit is valid, the value must be the deadline.
    let timeout = sent
        .headers
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .map(|v| tonic_thrift::parse_grpc_timeout(v).unwrap())
        .expect("grpc-timeout header");
    assert!(
        timeout <= Duration::from_secs(5) && timeout > Duration::from_secs(4),
        "grpc-timeout {timeout:?}"
    );
    for absent in ["grpc-encoding", "grpc-accept-encoding"] {
        assert!(
            !sent.headers.contains_key(absent),
            "Kitex sends no {absent}, we sent {:?}",
            sent.headers.get(absent)
        );
    }
    let mut want = hex(KITEX_DATA_A);
    want.extend(hex(KITEX_DATA_B));
    assert_eq!(
        to_hex(&sent.body),
        to_hex(&want),
        "gRPC messages (left: ours, right: Kitex's)"
    );
}

/// Strips the 5-byte gRPC prefix, checking it.
fn grpc_payload(framed: &[u8]) -> Bytes {
    assert_eq!(framed[0], 0, "compressed flag");
    let len = u32::from_be_bytes(framed[1..5].try_into().unwrap()) as usize;
    assert_eq!(len, framed.len() - 5, "gRPC length prefix");
    Bytes::copy_from_slice(&framed[5..])
}

#[test]
fn kitex_messages_decode() {
    for (data, want) in [
        (KITEX_DATA_A, "a"),
        (KITEX_DATA_B, "b"),
        (KITEX_DATA_OK1, "ok1"),
    ] {
        let mut payload = grpc_payload(&hex(data));
        let r = echo::Request::decode(&mut BinaryInput::new(&mut payload)).unwrap();
        assert_eq!(r.message, want);
        assert!(payload.is_empty());
        // The server's echo is the same struct, read as a Response.
        let mut payload = grpc_payload(&hex(data));
        let r = echo::Response::decode(&mut BinaryInput::new(&mut payload)).unwrap();
        assert_eq!(r.message, want);
        // And our encoder writes exactly these bytes.
        let mut out = BytesMut::new();
        req(want).encode(&mut BinaryOutput::new(&mut out)).unwrap();
        assert_eq!(to_hex(&out), to_hex(&hex(data)[5..]));
    }
}

#[tokio::test]
async fn our_server_echoes_kitex_bytes_with_kitex_headers() {
    let (addr, probe, _stop) = start().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut client = TestServiceClient::new(response_recorder(channel(addr), log.clone()));
    let mut request = Request::new(futures_util::stream::iter(vec![req("a"), req("b")]));
    MetaInfo::attach(&mut request)
        .set_transient("TEST_KEY", "tv1")
        .unwrap()
        .set_persistent("TEST_PERSIST", "pv1")
        .unwrap();
    let _ = within("bidi call", client.echo(request)).await;
    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let got = &got[0];
    assert_eq!(got.status, 200);
    assert_eq!(
        got.headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/grpc+thrift")
    );
    let mut want = hex(KITEX_DATA_A);
    want.extend(hex(KITEX_DATA_B));
    assert_eq!(to_hex(&got.data), to_hex(&want), "echoed messages");
    assert_eq!(got.field("grpc-status"), Some("0"));
    let seen = probe.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        dump(seen[0].meta.as_ref()),
        "T:TEST_KEY=tv1;P:TEST_PERSIST=pv1"
    );
}

// ------------------------------------------------------------------ (b) business error trailers

fn header_map(fields: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in fields {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

#[test]
fn kitex_biz_trailers_give_the_business_error() {
    let status = Status::from_header_map(&header_map(&KITEX_BIZ_TRAILERS))
        .expect("a status from grpc-status");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(status.message(), "biz error msg");
    let biz = BizStatusError::from_status(&status).expect("a business error");
    assert_eq!(biz.code(), 1001);
    assert_eq!(biz.message(), "biz error msg");
    assert_eq!(
        biz.extra(),
        &BTreeMap::from([("k".to_string(), "v".to_string())])
    );
}

/// Decodes `%XX` escapes (a `grpc-message` is percent-encoded on the wire).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Our server's business error block holds Kitex's keys and values, and no
/// `biz-message` (Kitex sends the message in `grpc-message` only).
/// `grpc-message` is compared decoded: Kitex writes `biz error msg`, tonic
/// `biz%20error%20msg`; both read as the same text (gRPC over HTTP/2 spec).
fn assert_kitex_biz_block(got: &Received, what: &str) {
    for (name, want) in KITEX_BIZ_TRAILERS {
        let value = got.field(name).map(|v| match name {
            "grpc-message" => percent_decode(v),
            _ => v.to_string(),
        });
        assert_eq!(value.as_deref(), Some(want), "{what}: {name} in {got:?}");
    }
    assert_eq!(got.field("biz-message"), None, "{what}: biz-message");
    assert_eq!(got.status, 200, "{what}: :status");
    assert_eq!(
        got.headers.get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/grpc+thrift"),
        "{what}: content-type"
    );
}

#[tokio::test]
async fn our_server_sends_kitex_biz_trailers() {
    let (addr, _probe, _stop) = start().await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut client = TestServiceClient::new(response_recorder(channel(addr), log.clone()));

    // Unary: Kitex answers Trailers-Only (unary_biz_error).
    let _ = within("unary call", client.echo_unary(req("biz-error"))).await;
    let unary = log.lock().unwrap().pop().expect("a unary response");
    assert_kitex_biz_block(&unary, "unary");
    assert!(
        unary.trailers_only(),
        "unary: Trailers-Only like Kitex: {unary:?}"
    );
    assert!(unary.data.is_empty());

    // Bidi: one echo, then the block in real trailers (bidi_biz_error).
    let outbound = futures_util::stream::iter(vec![req("ok1"), req("biz-error")]);
    let _ = within("bidi call", client.echo(outbound)).await;
    let bidi = log.lock().unwrap().pop().expect("a bidi response");
    assert_kitex_biz_block(&bidi, "bidi");
    assert!(
        !bidi.trailers_only(),
        "bidi: headers, DATA, trailers: {bidi:?}"
    );
    assert_eq!(to_hex(&bidi.data), to_hex(&hex(KITEX_DATA_OK1)));

    // And our client reads them back as the business error.
    let mut plain = TestServiceClient::new(channel(addr));
    let status = within("unary call", plain.echo_unary(req("biz-error")))
        .await
        .unwrap_err();
    let biz = BizStatusError::from_status(&status).expect("a business error");
    assert_eq!((biz.code(), biz.message()), (1001, "biz error msg"));
    assert_eq!(biz.extra().get("k").map(String::as_str), Some("v"));
}

// ------------------------------------------------------------------ (c) TTHeader

fn decode_one(bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    let frame = decode_frame(&mut buf, FrameKind::TTHeader, 16 << 20)
        .expect("a valid frame")
        .expect("a whole frame");
    assert!(buf.is_empty(), "{} bytes after the frame", buf.len());
    frame
}

fn strings_of(h: &TTHeader) -> BTreeSet<(String, String)> {
    h.strings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ints_of(h: &TTHeader) -> BTreeMap<u16, String> {
    h.ints.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn kitex_strings() -> BTreeSet<(String, String)> {
    KITEX_TTHEADER_STRINGS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn kitex_ints() -> BTreeMap<u16, String> {
    KITEX_TTHEADER_INTS
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect()
}

#[test]
fn kitex_ttheader_call_decodes() {
    let frame = decode_one(&hex(KITEX_TTHEADER_CALL));
    assert_eq!(
        frame.framing,
        Framing::TTHeader {
            inner_framed: false
        }
    );
    let h = frame.header.as_ref().expect("a TTHeader");
    assert_eq!(h.seq_id, 1);
    assert_eq!((h.flags, h.protocol_id), (0, 0));
    assert_eq!(strings_of(h), kitex_strings());
    assert_eq!(ints_of(h), kitex_ints());
    let meta = MetaInfo::from_ttheader(h).expect("metainfo");
    assert_eq!(dump(Some(&meta)), "T:TEST_KEY=tv1;P:TEST_PERSIST=pv1");

    let (msg, mut body) = read_message_header(&frame.message).unwrap();
    assert_eq!(
        (msg.name.as_str(), msg.message_type, msg.seq_id),
        ("EchoPingPong", MessageType::Call, 1)
    );
    let args = EchoPingPongArgs::decode(&mut BinaryInput::new(&mut body)).unwrap();
    assert_eq!(args.0.message, "hello");
    assert!(body.is_empty());

    let reply = decode_one(&hex(KITEX_TTHEADER_REPLY));
    let h = reply.header.as_ref().unwrap();
    assert_eq!((h.seq_id, h.int(22)), (1, Some("2")));
    let (msg, mut body) = read_message_header(&reply.message).unwrap();
    assert_eq!(
        (msg.name.as_str(), msg.message_type, msg.seq_id),
        ("EchoPingPong", MessageType::Reply, 1)
    );
    match EchoPingPongResult::decode(&mut BinaryInput::new(&mut body)).unwrap() {
        ValueResult(r) => assert_eq!(r.message, "hello"),
        #[allow(unreachable_patterns)]
        other => panic!("not a success: {other:?}"),
    }
}

/// Reads one TTHeader frame off `sock`, returning its raw bytes too.
async fn read_frame(sock: &mut TcpStream) -> (Vec<u8>, Frame) {
    let mut buf = BytesMut::new();
    loop {
        let before = buf.clone();
        if let Some(frame) = decode_frame(&mut buf, FrameKind::TTHeader, 16 << 20).unwrap() {
            let used = before.len() - buf.len();
            return (before[..used].to_vec(), frame);
        }
        let n = within("a frame", sock.read_buf(&mut buf)).await.unwrap();
        assert!(
            n > 0,
            "connection closed inside a frame ({} bytes)",
            buf.len()
        );
    }
}

#[tokio::test]
async fn our_ttheader_call_is_what_kitex_sends() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default().timeout(Duration::from_secs(5)),
    );
    let mut request = Request::new(req("hello"));
    MetaInfo::attach(&mut request)
        .set_transient("TEST_KEY", "tv1")
        .unwrap()
        .set_persistent("TEST_PERSIST", "pv1")
        .unwrap();
    let call = tokio::spawn(async move { client.echo_ping_pong(request).await });
    let (mut sock, _) = within("accept", listener.accept()).await.unwrap();
    let (_raw, frame) = read_frame(&mut sock).await;
    // Answer with Kitex's reply (our client's first call has seq id 1 too).
    sock.write_all(&hex(KITEX_TTHEADER_REPLY)).await.unwrap();
    let reply = within("the call", call).await.unwrap().expect("the call");
    assert_eq!(reply.into_inner().message, "hello");

    let kitex = decode_one(&hex(KITEX_TTHEADER_CALL));
    let (ours_h, kitex_h) = (
        frame.header.as_ref().unwrap(),
        kitex.header.as_ref().unwrap(),
    );
    assert_eq!(frame.framing, kitex.framing, "framing");
    assert_eq!(ours_h.seq_id, 1, "seq id");
    assert_eq!((ours_h.flags, ours_h.protocol_id), (0, 0));
    assert_eq!(strings_of(ours_h), kitex_strings(), "string keys (as sets)");
    let (ours_i, kitex_i) = (ints_of(ours_h), ints_of(kitex_h));
    for (k, v) in &ours_i {
        assert_eq!(
            kitex_i.get(k),
            Some(v),
            "int key {k}: ours {v:?}, Kitex {:?}",
            kitex_i.get(k)
        );
    }
    let missing: Vec<u16> = kitex_i
        .keys()
        .filter(|k| !ours_i.contains_key(k))
        .copied()
        .collect();
    assert!(
        missing.iter().all(|k| OPTIONAL_INT_KEYS.contains(k)),
        "int keys Kitex sends and we do not: {missing:?} (ours {ours_i:?})"
    );
    if !missing.is_empty() {
        println!("note: optional int keys Kitex sends and we do not: {missing:?}");
    }
    assert_eq!(
        to_hex(&frame.message),
        to_hex(&kitex.message),
        "thrift message (left: ours, right: Kitex's)"
    );
}

#[tokio::test]
async fn our_server_answers_kitex_ttheader_call_as_kitex_does() {
    let (addr, probe, _stop) = start().await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(&hex(KITEX_TTHEADER_CALL)).await.unwrap();
    let (raw, frame) = read_frame(&mut sock).await;
    let kitex = decode_one(&hex(KITEX_TTHEADER_REPLY));

    assert_eq!(frame.framing, kitex.framing, "framing mirrors the request");
    let h = frame.header.as_ref().unwrap();
    assert_eq!(h.seq_id, 1, "seq id");
    assert_eq!(h.int(22), Some("2"), "int key 22 (message type REPLY)");
    let (msg, _) = read_message_header(&frame.message).unwrap();
    assert_eq!(
        (msg.name.as_str(), msg.message_type, msg.seq_id),
        ("EchoPingPong", MessageType::Reply, 1)
    );
    assert_eq!(
        to_hex(&frame.message),
        to_hex(&kitex.message),
        "REPLY {{0: {{1: \"hello\"}}}} (left: ours, right: Kitex's)"
    );
    if to_hex(&raw) != KITEX_TTHEADER_REPLY {
        println!(
            "note: reply frame differs from Kitex's byte for byte (header keys {:?} {:?})",
            h.strings, h.ints
        );
    }

    let seen = probe.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "EchoPingPong");
    assert_eq!(
        dump(seen[0].meta.as_ref()),
        "T:TEST_KEY=tv1;P:TEST_PERSIST=pv1",
        "metainfo the handler saw"
    );
    let t = seen[0]
        .timeout
        .expect("the RPC timeout (int key 12) as the deadline");
    assert!(
        t <= Duration::from_secs(5) && t > Duration::from_secs(4),
        "{t:?}"
    );
}

// ------------------------------------------------------------------ bad input: metainfo keys

#[tokio::test]
async fn malformed_http2_metainfo_keys_are_dropped() {
    let (addr, probe, _stop) = start().await;
    let bad = vec![
        ("rpc-transit-bad.key", "x"),
        ("rpc-transit-", "empty key"),
        ("rpc-persist-bad%key", "y"),
        ("rpc-persist-", "empty key"),
    ];
    let mut client = TestServiceClient::new(with_headers(channel(addr), bad));
    fn meta<T>(r: &mut Request<T>) {
        MetaInfo::attach(r)
            .set_transient("TEST_KEY", "tv1")
            .unwrap()
            .set_persistent("TEST_PERSIST", "pv1")
            .unwrap();
    }
    let want = "T:TEST_KEY=tv1;P:TEST_PERSIST=pv1";

    let mut request = Request::new(req("meta"));
    meta(&mut request);
    let reply = within("unary", client.echo_unary(request)).await.unwrap();
    assert_eq!(reply.into_inner().message, want, "unary");

    let mut request = Request::new(futures_util::stream::iter(vec![req("meta")]));
    meta(&mut request);
    let mut inbound = within("bidi", client.echo(request))
        .await
        .unwrap()
        .into_inner();
    let reply = within("bidi reply", inbound.message()).await.unwrap();
    assert_eq!(
        reply.map(|r| r.message.to_string()).as_deref(),
        Some(want),
        "bidi"
    );
    assert_eq!(probe.seen().len(), 2);
}

/// A ping-pong CALL of `EchoPingPong(msg)` in TTHeader framing with `strings`.
fn ttheader_call(seq_id: i32, strings: &[(&str, &str)], msg: &str) -> Vec<u8> {
    let mut message = BytesMut::new();
    write_message_header(
        &mut message,
        &MessageHeader {
            name: "EchoPingPong".into(),
            message_type: MessageType::Call,
            seq_id,
        },
    );
    OneArg::<_, 1>(req(msg))
        .encode(&mut BinaryOutput::new(&mut message))
        .unwrap();
    let mut header = TTHeader {
        seq_id,
        ..TTHeader::default()
    };
    for (k, v) in strings {
        header.set_string(k.to_string(), v.to_string());
    }
    header.set_int(9, "EchoPingPong");
    header.set_int(22, "1");
    let mut frame = BytesMut::new();
    encode_frame(
        &mut frame,
        Framing::TTHeader {
            inner_framed: false,
        },
        Some(&header),
        &message,
    )
    .unwrap();
    frame.to_vec()
}

/// The success value (or what else came back) of an `EchoPingPong` reply.
fn pingpong_reply(frame: &Frame) -> Result<String, String> {
    let (msg, mut body) = read_message_header(&frame.message).map_err(|e| e.to_string())?;
    if msg.message_type != MessageType::Reply {
        return Err(format!("{:?}: {:?}", msg.message_type, body));
    }
    match EchoPingPongResult::decode(&mut BinaryInput::new(&mut body)) {
        Ok(ValueResult(r)) => Ok(r.message.to_string()),
        #[allow(unreachable_patterns)]
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(format!("{e} (header {:?})", frame.header)),
    }
}

#[tokio::test]
async fn malformed_ttheader_metainfo_keys_are_dropped() {
    let (addr, probe, _stop) = start().await;
    let mut sock = TcpStream::connect(addr).await.unwrap();
    let call = ttheader_call(
        7,
        &[
            ("RPC_TRANSIT_bad-key", "x"),
            ("RPC_TRANSIT_", "empty key"),
            ("RPC_PERSIST_lower", "y"),
            ("RPC_PERSIST_BAD KEY", "z"),
            ("RPC_TRANSIT_TEST_KEY", "tv1"),
            ("RPC_PERSIST_TEST_PERSIST", "pv1"),
            ("isn", "TestService"),
        ],
        "meta",
    );
    sock.write_all(&call).await.unwrap();
    let (_, frame) = read_frame(&mut sock).await;
    assert_eq!(
        pingpong_reply(&frame).as_deref(),
        Ok("T:TEST_KEY=tv1;P:TEST_PERSIST=pv1")
    );
    let seen = probe.seen();
    assert_eq!(
        dump(seen[0].meta.as_ref()),
        "T:TEST_KEY=tv1;P:TEST_PERSIST=pv1"
    );
}

// ------------------------------------------------------------------ bad input: biz-extra

fn assert_biz_without_extra(status: &Status, what: &str) {
    let biz = BizStatusError::from_status(status)
        .unwrap_or_else(|| panic!("{what}: no business error in {status:?}"));
    assert_eq!(
        (biz.code(), biz.message(), biz.extra().len()),
        (1001, "biz error msg", 0),
        "{what}"
    );
}

/// A transport that answers every call Trailers-Only with a business error
/// whose `biz-extra` is not JSON.
fn non_json_biz_transport() -> impl tower::Service<
    http::Request<tonic::body::Body>,
    Response = http::Response<tonic::body::Body>,
    Error = BoxError,
    Future = impl Send,
> + Clone
       + Send
       + 'static {
    tower::service_fn(|_req: http::Request<tonic::body::Body>| async {
        let resp = http::Response::builder()
            .status(200)
            .header("content-type", "application/grpc+thrift")
            .header("grpc-status", "13")
            .header("grpc-message", "biz error msg")
            .header("biz-status", "1001")
            .header("biz-extra", "not json")
            .body(tonic::body::Body::empty())?;
        Ok::<_, BoxError>(resp)
    })
}

#[tokio::test]
async fn biz_extra_that_is_not_json_still_gives_the_business_error() {
    // gRPC, from the wire (Trailers-Only).
    let mut client = TestServiceClient::new(non_json_biz_transport());
    let s = within("unary", client.echo_unary(req("x")))
        .await
        .unwrap_err();
    assert_biz_without_extra(&s, "gRPC unary");
    let s = within(
        "bidi",
        client.echo(futures_util::stream::iter(vec![req("x")])),
    )
    .await
    .unwrap_err();
    assert_biz_without_extra(&s, "gRPC bidi");

    // gRPC, through our server (a handler status with `biz-extra: not json`).
    let (addr, _probe, _stop) = start().await;
    let mut client = TestServiceClient::new(channel(addr));
    let s = within("unary", client.echo_unary(req("biz-not-json")))
        .await
        .unwrap_err();
    assert_biz_without_extra(&s, "gRPC unary through our server");

    // TTHeader, from the wire: a REPLY with an empty result struct and the
    // string keys biz-status / biz-message / biz-extra.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = listener.local_addr().unwrap();
    let client = TestServicePingPongClient::new(fake.to_string());
    let call = tokio::spawn(async move { client.echo_ping_pong(req("x")).await });
    let (mut sock, _) = within("accept", listener.accept()).await.unwrap();
    let (_, frame) = read_frame(&mut sock).await;
    let (msg, _) = read_message_header(&frame.message).unwrap();
    let mut reply = BytesMut::new();
    write_message_header(
        &mut reply,
        &MessageHeader {
            name: msg.name.clone(),
            message_type: MessageType::Reply,
            seq_id: msg.seq_id,
        },
    );
    reply.extend_from_slice(&[0]); // empty result struct
    let mut header = TTHeader {
        seq_id: msg.seq_id,
        ..TTHeader::default()
    };
    header.set_string("biz-status", "1001");
    header.set_string("biz-message", "biz error msg");
    header.set_string("biz-extra", "not json");
    header.set_int(22, "2");
    let mut out = BytesMut::new();
    encode_frame(&mut out, frame.framing, Some(&header), &reply).unwrap();
    sock.write_all(&out).await.unwrap();
    let s = within("the call", call).await.unwrap().unwrap_err();
    assert_biz_without_extra(&s, "TTHeader");
}

// ------------------------------------------------------------------ bad input: grpc-timeout

#[tokio::test]
async fn unparsable_grpc_timeout_is_invalid_argument() {
    let (addr, probe, _stop) = start().await;
    for bad in ["abc", "123456789S", "5", "1.5S", "-1S", "5s"] {
        let mut client =
            TestServiceClient::new(with_headers(channel(addr), vec![("grpc-timeout", bad)]));
        let s = within("unary", client.echo_unary(req("x")))
            .await
            .unwrap_err();
        assert_eq!(
            s.code(),
            Code::InvalidArgument,
            "unary, grpc-timeout {bad:?}: {s:?}"
        );
        assert!(
            s.message().contains("grpc-timeout"),
            "unary, grpc-timeout {bad:?}: the message names the header: {s:?}"
        );

        let r = within(
            "bidi",
            client.echo(futures_util::stream::iter(vec![req("x")])),
        )
        .await;
        let s = match r {
            Err(s) => s,
            Ok(resp) => within("bidi reply", resp.into_inner().message())
                .await
                .expect_err("an error"),
        };
        assert_eq!(
            s.code(),
            Code::InvalidArgument,
            "bidi, grpc-timeout {bad:?}: {s:?}"
        );
        assert!(s.message().contains("grpc-timeout"), "bidi {bad:?}: {s:?}");
    }
    assert!(
        probe.seen().is_empty(),
        "no handler ran: {:?}",
        probe.seen()
    );

    // A valid one still works through the same path.
    let mut client =
        TestServiceClient::new(with_headers(channel(addr), vec![("grpc-timeout", "5S")]));
    let r = within("unary", client.echo_unary(req("x"))).await.unwrap();
    assert_eq!(r.into_inner().message, "x");
}

// ------------------------------------------------------------------ client deadlines

/// A client deadline that passes before the server has answered anything
/// must fail the call with DEADLINE_EXCEEDED, as when it passes later (and
/// as a Kitex client reports it: `status.Error` code 4). The server here
/// accepts the connection and never answers, as a Kitex server whose
/// handler ignores its deadline sends nothing until it is done.
#[tokio::test]
async fn client_deadline_before_response_headers_is_deadline_exceeded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            // Read (and drop) what the client sends; answer nothing.
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while matches!(sock.read(&mut buf).await, Ok(n) if n > 0) {}
            });
        }
    });
    let mut client = TestServiceClient::new(channel(addr));
    let timeout = 300u64;
    for what in ["unary", "bidi"] {
        let start = std::time::Instant::now();
        let status = if what == "unary" {
            let mut request = Request::new(req("x"));
            request.set_timeout(Duration::from_millis(timeout));
            within(what, client.echo_unary(request)).await.unwrap_err()
        } else {
            let mut request = Request::new(futures_util::stream::iter(vec![req("x")]));
            request.set_timeout(Duration::from_millis(timeout));
            within(what, client.echo(request)).await.unwrap_err()
        };
        let elapsed = start.elapsed();
        assert!(
            elapsed < Duration::from_secs(2),
            "{what}: gave up after {elapsed:?}"
        );
        assert_eq!(
            status.code(),
            Code::DeadlineExceeded,
            "{what}: a {timeout} ms deadline that passed before the response headers: {status:?}"
        );
    }
    silent.abort();
}
