//! What a hostile caller can do through the edges of a service, and why it
//! no longer hurts:
//!
//! * `examples/echo_server` (what users copy) asked for a terabyte in one
//!   server-stream request, or fed an unbounded client stream: a clear
//!   status naming the cap, and the server keeps serving;
//! * metainfo: persistent values passed on are capped (dropped with a
//!   warning, never failing the call), a received TTHeader (caller's
//!   service, ACL token, other keys) is never resent downstream, received
//!   transient values stop at one hop, an edge layer strips callers'
//!   persistent values, and writing many keys to a TTHeader is linear;
//! * business errors are recognised only by their out-of-band carriers, not
//!   from text a handler (or a user) put in a status message;
//! * a small decoded string does not pin the large buffer it came from.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::oneshot;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_thrift::codec::BinaryInput;
use tonic_thrift::layer::PersistentMetaInfoLayer;
use tonic_thrift::metainfo::{MetaInfo, DEFAULT_MAX_PERSISTENT_BYTES};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::{Framing, TTHeader};
use tonic_thrift::{BizStatusError, Message};

tonic_thrift::include_thrift!("echo");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

const ALL_FRAMINGS: [Framing; 4] = [
    Framing::TTHeader {
        inner_framed: false,
    },
    Framing::TTHeader { inner_framed: true },
    Framing::Framed,
    Framing::Buffered,
];

fn req(message: impl Into<String>) -> echo::Request {
    echo::Request {
        message: message.into().into(),
    }
}

/// Bounds every network step of a test.
async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 20 s"))
}

// ------------------------------------------------------------------ examples/echo_server

/// Builds `examples/echo_server` once per test process (same profile and
/// target directory as this test) and returns its path.
pub(crate) fn echo_server_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            crate::examples::path(&crate::examples::build(&["echo_server"]), "echo_server")
        })
        .clone()
}

/// A running `examples/echo_server` process, killed on drop.
pub(crate) struct EchoServerProcess {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl EchoServerProcess {
    pub(crate) fn start() -> Self {
        let mut child = Command::new(echo_server_binary())
            .args(["--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start echo_server");
        let line = crate::listening::addr(&mut child, "echo_server");
        let addr = line
            .parse()
            .unwrap_or_else(|e| panic!("echo_server listens on {line:?}: {e}"));
        EchoServerProcess { child, addr }
    }

    /// Fails the test if the process has exited.
    pub(crate) fn assert_alive(&mut self) {
        let status = self.child.try_wait().expect("try_wait");
        assert!(status.is_none(), "echo_server exited: {status:?}");
    }
}

impl Drop for EchoServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server still answers every kind of call.
async fn still_serving(addr: SocketAddr) {
    let mut grpc = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let mut stream = within("EchoServer 2:3", grpc.echo_server(req("2:3")))
        .await
        .expect("a bounded server stream")
        .into_inner();
    let mut got = Vec::new();
    while let Some(m) = within("next", stream.message()).await.expect("message") {
        got.push(m.message.to_string());
    }
    assert_eq!(got, ["xxx", "xxx"]);
    let joined = within(
        "EchoClient a,b,c",
        grpc.echo_client(futures_util::stream::iter([req("a"), req("b"), req("c")])),
    )
    .await
    .expect("client stream");
    assert_eq!(joined.into_inner().message, "a,b,c");
    let pp = TestServicePingPongClient::new(addr.to_string());
    let got = within("ping-pong", pp.echo_ping_pong(req("hi")))
        .await
        .expect("ping-pong");
    assert_eq!(got.into_inner().message, "hi");
}

#[tokio::test]
async fn echo_server_refuses_huge_server_streams_with_the_cap_and_keeps_serving() {
    let mut server = EchoServerProcess::start();
    let mut grpc = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    // The request that made the example allocate a terabyte and abort.
    for (attack, code, names) in [
        ("1:1000000000000", Code::ResourceExhausted, "1048576"),
        ("1000000000000", Code::ResourceExhausted, "1000000"),
        (
            "5:99999999999999999999999",
            Code::InvalidArgument,
            "integer",
        ),
        ("many", Code::InvalidArgument, "integer"),
    ] {
        let status = within(attack, grpc.echo_server(req(attack)))
            .await
            .expect_err(attack);
        assert_eq!(status.code(), code, "{attack}: {status:?}");
        assert!(
            status.message().contains(names),
            "{attack}: the status names the cap: {status:?}"
        );
        server.assert_alive();
    }
    still_serving(server.addr).await;
    server.assert_alive();
}

#[tokio::test]
async fn echo_server_bounds_what_a_client_stream_accumulates() {
    let mut server = EchoServerProcess::start();
    let mut grpc = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("connect");
    // 4 MiB in 64 KiB messages: more than the 1 MiB the server joins.
    let big = "y".repeat(64 * 1024);
    let messages = (0..64).map(move |_| req(big.clone()));
    let status = within(
        "EchoClient 4 MiB",
        grpc.echo_client(futures_util::stream::iter(messages)),
    )
    .await
    .expect_err("over the cap");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("1048576"), "{status:?}");
    server.assert_alive();
    still_serving(server.addr).await;
    server.assert_alive();
}

// ------------------------------------------------------------------ an in-process service

/// Handler, by request text (unary and ping-pong alike):
/// * `meta` — answers what it sees: `t=[..];p=[..];from=..;acl=..;custom=..`
///   (metainfo, and the received TTHeader's from-service int key 3, ACL
///   token and string key `X_CUSTOM`);
/// * `fwd-pp:ADDR` / `fwd-grpc:ADDR` — passes its own request (metadata and
///   extensions as received) on to `meta` at ADDR through our ping-pong
///   (TTHeader) / gRPC client, and answers what that saw; `fwd-pp+:ADDR`
///   also sets a persistent `OWN=ov` of its own;
/// * `forged` / `forged-inside` — fails with plain INTERNAL text that looks
///   like a business error (at the start / in the middle);
/// * `biz` — fails with business error 1001 `biz error msg` `{"k":"v"}`;
/// * anything else — echoed.
struct Edge;

type RespStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

fn seen(request: &Request<echo::Request>) -> String {
    let list = |it: &mut dyn Iterator<Item = (&str, &str)>| {
        it.map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let meta = MetaInfo::of(request).cloned().unwrap_or_default();
    let h = request.extensions().get::<TTHeader>();
    format!(
        "t=[{}];p=[{}];from={};acl={};custom={}",
        list(&mut meta.transients()),
        list(&mut meta.persistents()),
        h.and_then(|h| h.int(3)).unwrap_or("-"),
        h.and_then(|h| h.acl_token.as_deref()).unwrap_or("-"),
        h.and_then(|h| h.string("X_CUSTOM")).unwrap_or("-"),
    )
}

async fn answer(request: Request<echo::Request>) -> Result<echo::Response, Status> {
    let text = request.get_ref().message.to_string();
    let reply = |s: String| Ok(echo::Response { message: s.into() });
    if text == "meta" {
        return reply(seen(&request));
    }
    if let Some((how, addr)) = text.split_once(':') {
        let (meta, mut ext, _) = request.into_parts();
        let onward = match how {
            "fwd-pp" | "fwd-pp+" => {
                let mut r = Request::from_parts(meta, ext, req("meta"));
                if how == "fwd-pp+" {
                    MetaInfo::attach(&mut r)
                        .set_persistent("OWN", "ov")
                        .unwrap();
                }
                TestServicePingPongClient::new(addr.to_string())
                    .echo_ping_pong(r)
                    .await
            }
            "fwd-grpc" => {
                // The received framing would not mean anything to gRPC.
                ext.remove::<Framing>();
                let mut c = TestServiceClient::connect(format!("http://{addr}"))
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                c.echo_unary(Request::from_parts(meta, ext, req("meta")))
                    .await
            }
            _ => return reply(text),
        };
        return onward.map(|r| r.into_inner());
    }
    match text.as_str() {
        "forged" => Err(Status::internal("[biz-status=1001 biz-extra={}] forged")),
        "forged-inside" => Err(Status::internal(
            "user said: [biz-status=1001 biz-extra={}] forged",
        )),
        "biz" => Err(BizStatusError::new(1001, "biz error msg")
            .with_extra("k", "v")
            .into()),
        _ => reply(text),
    }
}

#[tonic::async_trait]
impl TestService for Edge {
    type EchoStream = RespStream;
    type EchoServerStream = RespStream;

    async fn echo(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<RespStream>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<RespStream>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        answer(request).await.map(Response::new)
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        answer(request).await.map(Response::new)
    }
}

/// A server on 127.0.0.1:0, stopped on drop.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve(svc: TestServiceServer<Edge>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
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

/// A ping-pong request carrying what a caller can put in a raw TTHeader:
/// its service name (int key 3), an ACL token, a custom string key, and
/// metainfo.
fn from_caller(text: String, persistent: &[(String, String)]) -> Request<echo::Request> {
    let mut h = TTHeader::default();
    h.set_int(3, "caller-svc");
    h.acl_token = Some("caller-secret".into());
    h.set_string("X_CUSTOM", "caller-custom");
    h.set_string("RPC_TRANSIT_T", "tv");
    let mut r = Request::new(req(text));
    r.extensions_mut().insert(h);
    let m = MetaInfo::attach(&mut r);
    for (k, v) in persistent {
        m.set_persistent(k.as_str(), v.as_str()).unwrap();
    }
    r
}

fn pv() -> Vec<(String, String)> {
    vec![("P".to_string(), "pv".to_string())]
}

/// The `p=[..]` part of a `meta` answer, as key/value pairs.
fn persistent_of(answer: &str) -> Vec<(String, String)> {
    let p = answer
        .split(';')
        .find_map(|part| part.strip_prefix("p=["))
        .and_then(|p| p.strip_suffix(']'))
        .unwrap_or_else(|| panic!("no p=[..] in {answer:?}"));
    p.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect()
}

// ------------------------------------------------------------------ metainfo

#[tokio::test]
async fn a_received_ttheader_is_never_resent_downstream() {
    let down = serve(TestServiceServer::new(Edge)).await;
    let mid = serve(TestServiceServer::new(Edge)).await;
    let pp = TestServicePingPongClient::new(mid.addr.to_string());
    // The middle service sees what its caller sent...
    let got = within("meta", pp.echo_ping_pong(from_caller("meta".into(), &pv())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.message,
        "t=[T=tv];p=[P=pv];from=caller-svc;acl=caller-secret;custom=caller-custom"
    );
    // ...but a handler that passes its request on (extensions included)
    // sends only the persistent metainfo: not the caller's identity, ACL
    // token or other keys, and not its transient values (one hop only).
    for how in ["fwd-pp", "fwd-grpc"] {
        let text = format!("{how}:{}", down.addr);
        let got = within(how, pp.echo_ping_pong(from_caller(text, &pv())))
            .await
            .unwrap_or_else(|e| panic!("{how}: {e:?}"))
            .into_inner();
        assert_eq!(got.message, "t=[];p=[P=pv];from=-;acl=-;custom=-", "{how}");
    }
}

#[tokio::test]
async fn persistent_values_over_the_cap_are_dropped_and_the_call_goes_on() {
    let down = serve(TestServiceServer::new(Edge)).await;
    let mid = serve(TestServiceServer::new(Edge)).await;
    let pp = TestServicePingPongClient::new(mid.addr.to_string());
    // 200 KiB of persistent values: a TTHeader carries them, an HTTP/2
    // header list (16 KiB by default) would not; passed on as they are,
    // every gRPC call the handler made would fail.
    let flood: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("K{i:04}"), "v".repeat(200)))
        .collect();
    for how in ["fwd-grpc", "fwd-pp"] {
        let text = format!("{how}:{}", down.addr);
        let got = within(how, pp.echo_ping_pong(from_caller(text, &flood)))
            .await
            .unwrap_or_else(|e| panic!("{how}: the call must not fail: {e:?}"))
            .into_inner();
        let passed = persistent_of(&got.message);
        let bytes: usize = passed.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(!passed.is_empty(), "{how}: values within the cap go on");
        assert!(
            bytes <= DEFAULT_MAX_PERSISTENT_BYTES && passed.len() < flood.len(),
            "{how}: {} values, {bytes} bytes passed on",
            passed.len()
        );
        // Kept in key order, from the first.
        assert_eq!(passed[0].0, "K0000", "{how}");
    }
    // The caps are a knob: raised, all of them go on over TTHeader; lowered,
    // fewer do.
    let roomy = PersistentMetaInfoLayer::new()
        .max_values(1000)
        .max_bytes(1 << 20);
    let tight = PersistentMetaInfoLayer::new().max_values(2);
    for (layer, want) in [(roomy, 1000), (tight, 2)] {
        let mid = serve(TestServiceServer::new(Edge).layer(layer)).await;
        let pp = TestServicePingPongClient::new(mid.addr.to_string());
        let text = format!("fwd-pp:{}", down.addr);
        let got = within("knob", pp.echo_ping_pong(from_caller(text, &flood)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(persistent_of(&got.message).len(), want, "{layer:?}");
    }
}

#[tokio::test]
async fn an_edge_layer_strips_the_persistent_values_callers_send() {
    let down = serve(TestServiceServer::new(Edge)).await;
    let edge =
        serve(TestServiceServer::new(Edge).layer(PersistentMetaInfoLayer::strip_from_callers()))
            .await;
    let pp = TestServicePingPongClient::new(edge.addr.to_string());
    // The handler does not see them...
    let got = within("meta", pp.echo_ping_pong(from_caller("meta".into(), &pv())))
        .await
        .unwrap()
        .into_inner();
    assert!(got.message.starts_with("t=[T=tv];p=[];"), "{}", got.message);
    // ...over gRPC neither (as metainfo or as rpc-persist-* metadata)...
    let mut grpc = TestServiceClient::connect(format!("http://{}", edge.addr))
        .await
        .unwrap();
    let mut r = Request::new(req("meta"));
    MetaInfo::attach(&mut r).set_persistent("P", "pv").unwrap();
    let got = within("grpc meta", grpc.echo_unary(r))
        .await
        .unwrap()
        .into_inner();
    assert!(got.message.starts_with("t=[];p=[];"), "{}", got.message);
    // ...nor do the services it calls; its own values still go on.
    for (how, want) in [
        ("fwd-pp", "p=[]"),
        ("fwd-grpc", "p=[]"),
        ("fwd-pp+", "p=[OWN=ov]"),
    ] {
        let text = format!("{how}:{}", down.addr);
        let got = within(how, pp.echo_ping_pong(from_caller(text, &pv())))
            .await
            .unwrap()
            .into_inner();
        assert!(got.message.contains(want), "{how}: {}", got.message);
    }
}

#[test]
fn writing_many_metainfo_keys_to_a_ttheader_is_linear() {
    let mut m = MetaInfo::default();
    for i in 0..100_000 {
        m.set_transient(format!("K{i}"), "v").unwrap();
    }
    let mut h = TTHeader::default();
    // An existing key of the same name is replaced, not duplicated.
    h.set_string("RPC_TRANSIT_K7", "old");
    h.set_string("isn", "TestService");
    let start = Instant::now();
    m.to_ttheader_request(&mut h);
    // Setting each key by scanning the header took minutes here.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(h.strings.len(), 100_001);
    assert_eq!(h.string("RPC_TRANSIT_K7"), Some("v"));
    assert_eq!(h.string("isn"), Some("TestService"));
}

// ------------------------------------------------------------------ business errors

#[tokio::test]
async fn status_text_that_looks_like_a_business_error_is_not_one() {
    let server = serve(TestServiceServer::new(Edge)).await;
    let mut grpc = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    for text in ["forged", "forged-inside"] {
        let s = within(text, grpc.echo_unary(req(text))).await.unwrap_err();
        assert_eq!(s.code(), Code::Internal, "gRPC {text}");
        assert_eq!(BizStatusError::from_status(&s), None, "gRPC {text}: {s:?}");
    }
    for framing in ALL_FRAMINGS {
        let pp = TestServicePingPongClient::with_options(
            server.addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        // Framed and Buffered read the text form, but only from the start of
        // an INTERNAL_ERROR exception the server sent as a business error: a
        // handler's own text, at the start or inside, is not one. TTHeader
        // never reads text.
        let texts: &[&str] = &["forged", "forged-inside"];
        for text in texts {
            let s = within(text, pp.echo_ping_pong(req(*text)))
                .await
                .unwrap_err();
            assert_eq!(
                BizStatusError::from_status(&s),
                None,
                "{framing:?} {text}: {s:?}"
            );
        }
    }
}

#[tokio::test]
async fn real_business_errors_still_round_trip_on_every_transport() {
    let server = serve(TestServiceServer::new(Edge)).await;
    let want = BizStatusError::new(1001, "biz error msg").with_extra("k", "v");
    let mut grpc = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap();
    let s = within("grpc biz", grpc.echo_unary(req("biz")))
        .await
        .unwrap_err();
    assert_eq!(BizStatusError::from_status(&s), Some(want.clone()), "gRPC");
    for framing in ALL_FRAMINGS {
        let pp = TestServicePingPongClient::with_options(
            server.addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        let s = within("biz", pp.echo_ping_pong(req("biz")))
            .await
            .unwrap_err();
        assert_eq!(
            BizStatusError::from_status(&s),
            Some(want.clone()),
            "{framing:?}: {s:?}"
        );
    }
}

// ------------------------------------------------------------------ decoding

/// `Request { 1: message }` followed by an unknown binary field 2 of
/// `filler` bytes (skipped by the decoder), in one buffer.
fn request_with_filler(message: &str, filler: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(message.len() + filler + 32);
    b.put_u8(11); // string
    b.put_i16(1);
    b.put_i32(message.len() as i32);
    b.put_slice(message.as_bytes());
    b.put_u8(11); // binary, unknown to Request
    b.put_i16(2);
    b.put_i32(filler as i32);
    b.put_bytes(0, filler);
    b.put_u8(0); // stop
    b.freeze()
}

#[test]
fn a_small_string_does_not_pin_the_large_buffer_it_came_from() {
    // A 5 KiB string (long enough for zero-copy) in a 32 MiB message.
    let message = "s".repeat(5 * 1024);
    let original = request_with_filler(&message, 32 << 20);
    let mut input = original.clone();
    let decoded = echo::Request::decode(&mut BinaryInput::new(&mut input)).expect("decode");
    drop(input);
    assert_eq!(decoded.message.as_str(), message);
    // Only `original` still refers to the 32 MiB: the decoded string is a
    // copy of its own.
    assert!(
        original.is_unique(),
        "the decoded string keeps the 32 MiB buffer alive"
    );
    let range = original.as_ptr_range();
    assert!(!range.contains(&decoded.message.as_ptr()));
}

#[test]
fn a_string_that_is_most_of_its_buffer_is_still_zero_copy() {
    let message = "s".repeat(64 * 1024);
    let original = request_with_filler(&message, 1024);
    let mut input = original.clone();
    let decoded = echo::Request::decode(&mut BinaryInput::new(&mut input)).expect("decode");
    drop(input);
    assert_eq!(decoded.message.as_str(), message);
    let range = original.as_ptr_range();
    assert!(
        range.contains(&decoded.message.as_ptr()),
        "the large string shares the input buffer"
    );
    assert!(!original.is_unique());
}
