//! HTTP/2 and connection attacks against a server built with the library
//! (its defaults, or small limits so the tests stay short): many streams on
//! one connection, requests that never arrive, peers that vanish, slow or
//! silent handshakes, connections over the limit, loose paths, long names.
//!
//! Raw HTTP/2 comes from two clients: the `h2` crate where a well-formed
//! request is enough, and hand-written frames ([`RawH2`]) where the client
//! has to misbehave (open streams past the advertised limit, ignore PINGs).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::Server;

tonic_thrift::include_thrift!("echo");

use echo::test_service_client::TestServiceClient;
use echo::test_service_server::{TestService, TestServiceServer};

// ---------------------------------------------------------------- server

type RespStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Echoes; counts the calls that reach a handler.
#[derive(Clone, Default)]
struct Echo {
    calls: Arc<AtomicUsize>,
}

impl Echo {
    fn called(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn reply(message: tonic_thrift::FastStr) -> echo::Response {
    echo::Response { message }
}

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = RespStream;
    type EchoServerStream = RespStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<RespStream>, Status> {
        self.called();
        let s = request.into_inner().map(|m| m.map(|m| reply(m.message)));
        Ok(Response::new(Box::pin(s)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        self.called();
        let mut inbound = request.into_inner();
        let mut last = tonic_thrift::FastStr::default();
        while let Some(m) = inbound.next().await {
            last = m?.message;
        }
        Ok(Response::new(reply(last)))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<RespStream>, Status> {
        self.called();
        let m = request.into_inner().message;
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
            reply(m),
        )]))))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.called();
        Ok(Response::new(reply(request.into_inner().message)))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

/// A server on 127.0.0.1:0, stopped when dropped.
struct Running {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

impl Running {
    async fn grpc(&self) -> TestServiceClient {
        TestServiceClient::connect(format!("http://{}", self.addr))
            .await
            .expect("connect")
    }

    /// One unary call on a fresh connection succeeds.
    async fn serves(&self) {
        echoes(&mut self.grpc().await, "still here").await;
    }
}

/// A unary call on `client` echoes `text`.
async fn echoes(client: &mut TestServiceClient, text: &str) {
    let r = client
        .echo_unary(echo::Request {
            message: text.to_string().into(),
        })
        .await
        .unwrap_or_else(|e| panic!("`{text}` is echoed: {e:?}"));
    assert_eq!(r.into_inner().message, text);
}

async fn start(server: Server) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let echo = Echo::default();
    let calls = echo.calls.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        server
            .add_service(TestServiceServer::new(echo))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    Running {
        addr,
        calls,
        _stop: stop,
    }
}

/// Fails the test if `fut` takes longer than `secs`.
async fn within<T>(secs: u64, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs} s"))
}

/// Waits until the peer closes `io` (EOF or a reset), discarding what it
/// sends; panics after `secs`.
async fn closed_within(io: &mut TcpStream, secs: u64, what: &str) {
    within(secs, what, async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = io.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
}

// ------------------------------------------------------- raw HTTP/2 frames

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
const REFUSED_STREAM: u32 = 0x7;

#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), H bit clear.
fn hpack_len(out: &mut Vec<u8>, mut n: usize) {
    if n < 127 {
        out.push(n as u8);
        return;
    }
    out.push(127);
    n -= 127;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

/// A gRPC request header block: literal fields without indexing, no
/// Huffman coding (RFC 7541 §6.2.2).
fn request_headers(path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "localhost"),
        ("content-type", "application/grpc+thrift"),
        ("te", "trailers"),
    ] {
        out.push(0);
        hpack_len(&mut out, name.len());
        out.extend_from_slice(name.as_bytes());
        hpack_len(&mut out, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// A hand-driven HTTP/2 client connection: it does only what the test
/// tells it (it does not even answer PINGs).
struct RawH2 {
    io: TcpStream,
    buf: Vec<u8>,
}

enum Next {
    Frame(Frame),
    Closed,
    Quiet,
}

impl RawH2 {
    /// Connects and sends the preface with an empty SETTINGS frame.
    async fn connect(addr: SocketAddr) -> Self {
        let mut io = TcpStream::connect(addr).await.expect("connect");
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        io.write_all(&hello).await.expect("preface");
        RawH2 {
            io,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.expect("send");
    }

    /// The next frame, `Closed` at EOF or a reset, `Quiet` after `wait`
    /// without one.
    async fn next(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let f = Frame {
                        kind: self.buf[3],
                        flags: self.buf[4],
                        stream: u32::from_be_bytes([
                            self.buf[5],
                            self.buf[6],
                            self.buf[7],
                            self.buf[8],
                        ]) & 0x7fff_ffff,
                        payload: self.buf[9..9 + len].to_vec(),
                    };
                    self.buf.drain(..9 + len);
                    return Next::Frame(f);
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                Err(_) => return Next::Quiet,
                Ok(Ok(0)) | Ok(Err(_)) => return Next::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads up to the server's SETTINGS, acknowledges them, and returns
    /// their (id, value) pairs.
    async fn handshake(&mut self) -> Vec<(u16, u32)> {
        loop {
            match self.next(Duration::from_secs(5)).await {
                Next::Frame(f) if f.kind == SETTINGS && f.flags & ACK == 0 => {
                    self.send(&frame(SETTINGS, ACK, 0, &[])).await;
                    return f
                        .payload
                        .chunks_exact(6)
                        .map(|s| {
                            (
                                u16::from_be_bytes([s[0], s[1]]),
                                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
                            )
                        })
                        .collect();
                }
                Next::Frame(_) => {}
                Next::Closed => panic!("closed before its SETTINGS"),
                Next::Quiet => panic!("no SETTINGS from the server"),
            }
        }
    }

    /// Opens stream `id` on `path`; the request stays open unless
    /// `end_stream`.
    async fn open(&mut self, id: u32, path: &str, end_stream: bool) {
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        self.send(&frame(HEADERS, flags, id, &request_headers(path)))
            .await;
    }
}

// -------------------------------------------------- item 1: stream limits

#[tokio::test]
async fn streams_over_the_advertised_limit_are_refused_and_others_are_served() {
    // The defaults: no explicit stream limit.
    let server = start(Server::builder()).await;
    let mut raw = RawH2::connect(server.addr).await;
    let settings = raw.handshake().await;
    let advertised = settings
        .iter()
        .find(|(id, _)| *id == SETTINGS_MAX_CONCURRENT_STREAMS)
        .map(|(_, v)| *v);
    assert_eq!(
        advertised,
        Some(tonic_thrift::server::DEFAULT_MAX_CONCURRENT_STREAMS as u32),
        "the default stream limit is advertised in SETTINGS: {settings:?}"
    );
    let limit = advertised.unwrap_or_default();

    // Open 50 more bidi streams than allowed, none of which ever sends
    // DATA, in one write.
    let over = 50;
    let mut burst = Vec::new();
    for i in 0..limit + over {
        burst.extend(frame(
            HEADERS,
            END_HEADERS,
            2 * i + 1,
            &request_headers("/echo.TestService/Echo"),
        ));
    }
    raw.send(&burst).await;
    let mut refused = Vec::new();
    within(20, "refusals of the streams over the limit", async {
        while refused.len() < over as usize {
            match raw.next(Duration::from_secs(10)).await {
                Next::Frame(f) if f.kind == RST_STREAM => {
                    let code = u32::from_be_bytes([
                        f.payload[0],
                        f.payload[1],
                        f.payload[2],
                        f.payload[3],
                    ]);
                    assert_eq!(code, REFUSED_STREAM, "stream {} reset", f.stream);
                    refused.push(f.stream);
                }
                Next::Frame(_) => {}
                Next::Closed => panic!("the connection was closed"),
                Next::Quiet => panic!("only {} refusals", refused.len()),
            }
        }
    })
    .await;
    refused.sort_unstable();
    let want: Vec<u32> = (limit..limit + over).map(|i| 2 * i + 1).collect();
    assert_eq!(
        refused, want,
        "exactly the streams over the limit are refused"
    );
    within(10, "a handler for each admitted stream", async {
        while server.calls.load(Ordering::Relaxed) < limit as usize {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        server.calls.load(Ordering::Relaxed),
        limit as usize,
        "the refused streams never reach a handler"
    );
    // Other connections are served while these streams stay open.
    server.serves().await;
    drop(raw);
}

#[tokio::test]
async fn a_stream_limit_set_explicitly_is_advertised() {
    let server = start(Server::builder().max_concurrent_streams(3)).await;
    let mut raw = RawH2::connect(server.addr).await;
    let settings = raw.handshake().await;
    assert!(
        settings.contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, 3)),
        "{settings:?}"
    );
    // `None` lifts it: nothing is advertised.
    let unlimited = start(Server::builder().max_concurrent_streams(None)).await;
    let mut raw = RawH2::connect(unlimited.addr).await;
    let settings = raw.handshake().await;
    assert!(
        !settings
            .iter()
            .any(|(id, _)| *id == SETTINGS_MAX_CONCURRENT_STREAMS),
        "{settings:?}"
    );
}

#[tokio::test]
async fn the_largest_frame_accepted_is_advertised_and_kept_in_http2_range() {
    let advertised = |settings: Vec<(u16, u32)>| {
        settings
            .iter()
            .find(|(id, _)| *id == SETTINGS_MAX_FRAME_SIZE)
            .map(|(_, v)| *v)
    };
    let server = start(Server::builder()).await;
    let mut raw = RawH2::connect(server.addr).await;
    assert_eq!(
        advertised(raw.handshake().await),
        Some(tonic_thrift::server::DEFAULT_HTTP2_MAX_FRAME_SIZE)
    );
    // Out of HTTP/2's range either way: brought into it, not a panic.
    for (asked, expected) in [(1, 16 * 1024), (u32::MAX, (1 << 24) - 1)] {
        let server = start(Server::builder().http2_max_frame_size(asked)).await;
        let mut raw = RawH2::connect(server.addr).await;
        assert_eq!(advertised(raw.handshake().await), Some(expected), "{asked}");
        // A message larger than either limit still goes through.
        let big = "x".repeat(300 * 1024);
        let mut client = server.grpc().await;
        let r = client.echo_unary(echo::Request {
            message: big.clone().into(),
        });
        assert_eq!(r.await.expect("300 KiB echo").into_inner().message, big);
    }
}

// ------------------------------------------- item 1: request body timeout

/// An `h2` client connection to `addr`.
pub(crate) async fn h2_client(addr: SocketAddr) -> h2::client::SendRequest<bytes::Bytes> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

pub(crate) fn grpc_request(addr: SocketAddr, path: &str) -> http::Request<()> {
    http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc+thrift")
        .header("te", "trailers")
        .body(())
        .expect("request")
}

/// `grpc-status` and `grpc-message` (percent-decoded) of a trailers-only
/// response.
fn status_of(resp: &http::Response<h2::RecvStream>) -> (String, String) {
    let get = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| percent_decoded(v.as_bytes()))
            .unwrap_or_default()
    };
    (get("grpc-status"), get("grpc-message"))
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec).
fn percent_decoded(v: &[u8]) -> String {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let hex = v
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (v[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_request_that_never_arrives_fails_at_the_request_body_timeout() {
    let server = start(Server::builder().request_body_timeout(Duration::from_millis(500))).await;
    let mut client = h2_client(server.addr).await;
    for path in [
        "/echo.TestService/EchoUnary",
        "/echo.TestService/EchoServer",
    ] {
        // Headers, then never a DATA frame nor the end of the stream.
        let (resp, mut send) = client
            .send_request(grpc_request(server.addr, path), false)
            .expect("send");
        let resp = within(5, "the answer to a request that never came", resp)
            .await
            .expect("response");
        let (code, message) = status_of(&resp);
        assert_eq!(code, "4", "{path}: DEADLINE_EXCEEDED ({message})");
        assert!(
            message.contains("request body timeout"),
            "{path}: the message names the wait: {message}"
        );
        // The server is done with the stream: it resets the half the
        // client still holds open.
        let reset = within(
            5,
            "the stream reset",
            futures_util::future::poll_fn(|cx| send.poll_reset(cx)),
        )
        .await;
        assert!(reset.is_ok(), "{path}: {reset:?}");
    }
    assert_eq!(
        server.calls.load(Ordering::Relaxed),
        0,
        "no handler ran without its request"
    );
    // Streaming requests may rightly stay open: the timeout does not apply.
    let (resp, _send) = client
        .send_request(grpc_request(server.addr, "/echo.TestService/Echo"), false)
        .expect("send");
    let resp = within(5, "bidi response headers", resp)
        .await
        .expect("response");
    assert!(resp.headers().get("grpc-status").is_none(), "{resp:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut body = resp.into_body();
    let quiet = tokio::time::timeout(Duration::from_millis(200), body.data()).await;
    assert!(quiet.is_err(), "the bidi stream is still open: {quiet:?}");
    // Well-behaved calls are unaffected.
    server.serves().await;
}

// ---------------------------------------------------- item 1: keepalive

#[tokio::test]
async fn a_connection_that_stops_answering_pings_is_closed() {
    let server = start(
        Server::builder()
            .http2_keepalive_interval(Some(Duration::from_millis(300)))
            .http2_keepalive_timeout(Some(Duration::from_millis(500)))
            .idle_timeout(Duration::from_secs(3600)),
    )
    .await;
    // A peer that vanished mid-call: a bidi stream open, then silence.
    let mut dead = RawH2::connect(server.addr).await;
    dead.handshake().await;
    dead.open(1, "/echo.TestService/Echo", false).await;
    // A live peer with the same stream, answering PINGs.
    let mut live = RawH2::connect(server.addr).await;
    live.handshake().await;
    live.open(1, "/echo.TestService/Echo", false).await;

    let dead_side = async {
        let mut pinged = false;
        within(10, "closing the connection that ignores PINGs", async {
            loop {
                match dead.next(Duration::from_secs(10)).await {
                    Next::Frame(f) if f.kind == PING && f.flags & ACK == 0 => pinged = true,
                    Next::Frame(_) => {}
                    Next::Closed => break,
                    Next::Quiet => panic!("neither PING nor close"),
                }
            }
        })
        .await;
        assert!(pinged, "the server sent a keepalive PING first");
    };
    let live_side = async {
        let until = Instant::now() + Duration::from_secs(3);
        let mut pings = 0;
        while Instant::now() < until {
            match live.next(Duration::from_millis(200)).await {
                Next::Frame(f) if f.kind == PING && f.flags & ACK == 0 => {
                    pings += 1;
                    live.send(&frame(PING, ACK, 0, &f.payload)).await;
                }
                Next::Frame(_) | Next::Quiet => {}
                Next::Closed => panic!("a connection that answers PINGs was closed"),
            }
        }
        assert!(pings >= 2, "keepalive PINGs keep coming: {pings}");
    };
    tokio::join!(dead_side, live_side);
}

// ------------------------------------------------ item 4: slow handshakes

/// A server with a 1 s handshake timeout, and an idle timeout too long to
/// be what closes a connection in these tests.
fn quick_handshake() -> Server {
    Server::builder()
        .handshake_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(3600))
}

#[tokio::test]
async fn a_client_dribbling_its_first_bytes_is_closed_at_the_handshake_timeout() {
    let server = start(quick_handshake()).await;
    // The HTTP/2 preface and SETTINGS, and the first 8 bytes of a TTHeader
    // frame, one byte every 250 ms: each byte would restart a per-read
    // timer; the whole takes 8 s and 2 s.
    let mut http2 = PREFACE.to_vec();
    http2.extend(frame(SETTINGS, 0, 0, &[]));
    let ttheader = vec![0, 0, 0, 0x20, 0x10, 0x00, 0x00, 0x00];
    let mut checks = Vec::new();
    for (what, bytes) in [("http2", http2), ("ttheader", ttheader)] {
        let addr = server.addr;
        checks.push(tokio::spawn(async move {
            let io = TcpStream::connect(addr).await.expect("connect");
            let (mut rd, mut wr) = io.into_split();
            let dribble = tokio::spawn(async move {
                for b in bytes {
                    if wr.write_all(&[b]).await.is_err() {
                        return false;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                true
            });
            within(5, what, async {
                let mut buf = [0u8; 64];
                while let Ok(n) = rd.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
            if dribble.is_finished() {
                let wrote_all = dribble.await.expect("dribble task");
                assert!(!wrote_all, "{what}: closed only after the last byte");
            }
        }));
    }
    for c in checks {
        c.await.expect("check");
    }
    server.serves().await;
}

#[tokio::test]
async fn a_client_that_sends_the_preface_and_then_nothing_is_closed() {
    let server = start(quick_handshake()).await;
    // The magic only; and the magic with half a SETTINGS frame.
    let mut half = PREFACE.to_vec();
    half.extend(&frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 10])[..12]);
    for (what, bytes) in [
        ("preface only", PREFACE.to_vec()),
        ("half a SETTINGS", half),
    ] {
        let mut io = TcpStream::connect(server.addr).await.expect("connect");
        io.write_all(&bytes).await.expect("write");
        closed_within(&mut io, 5, what).await;
    }
    // A client that completes its handshake is served as usual.
    server.serves().await;
}

// ---------------------------------------- item 4: connections over the limit

#[tokio::test]
async fn a_connection_over_max_connections_is_closed_at_accept() {
    let server = start(
        Server::builder()
            .max_connections(1)
            .handshake_timeout(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(3600)),
    )
    .await;
    let mut first = server.grpc().await;
    echoes(&mut first, "first").await;
    // The second connection is closed without a byte sent or read.
    for _ in 0..3 {
        let mut io = TcpStream::connect(server.addr).await.expect("connect");
        closed_within(&mut io, 5, "a connection over the limit").await;
    }
    echoes(&mut first, "the first connection still works").await;
    // Once it is gone, a new connection is admitted.
    drop(first);
    within(10, "a new connection admitted", async {
        loop {
            if let Ok(mut c) = TestServiceClient::connect(format!("http://{}", server.addr)).await {
                let r = c
                    .echo_unary(echo::Request {
                        message: "x".into(),
                    })
                    .await;
                if r.is_ok() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

// --------------------------------------------------- item 9: strict paths

#[tokio::test]
async fn only_package_service_method_paths_are_routed() {
    let server = start(Server::builder()).await;
    let mut client = h2_client(server.addr).await;
    let bad = [
        "/evil.TestService/Public/EchoUnary",
        "/echo.TestService/Public/EchoUnary",
        "/echo.TestService/",
        "/echo.TestService/EchoUnary/",
        "//EchoUnary",
        "/echo.TestService//EchoUnary",
        "/echo./EchoUnary",
    ];
    for path in bad {
        let (resp, _send) = client
            .send_request(grpc_request(server.addr, path), true)
            .expect("send");
        let resp = within(5, path, resp).await.expect("response");
        let (code, message) = status_of(&resp);
        assert_eq!(code, "12", "{path}: UNIMPLEMENTED, got {message}");
    }
    // A path without its leading slash cannot be written with `http::Uri`:
    // send it as raw frames; it must not reach the handler.
    let mut raw = RawH2::connect(server.addr).await;
    raw.handshake().await;
    raw.open(1, "echo.TestService/EchoUnary", true).await;
    within(5, "the answer to a path without a leading slash", async {
        loop {
            match raw.next(Duration::from_secs(5)).await {
                Next::Frame(f) if f.stream == 1 && f.kind == 0x0 => {
                    panic!("a DATA frame: the call was served")
                }
                Next::Frame(f) if f.stream == 1 && f.flags & END_STREAM != 0 => break,
                Next::Frame(f) if f.stream == 1 && f.kind == RST_STREAM => break,
                Next::Frame(_) => {}
                Next::Closed | Next::Quiet => panic!("no answer on stream 1"),
            }
        }
    })
    .await;
    assert_eq!(
        server.calls.load(Ordering::Relaxed),
        0,
        "no bad path reached a handler"
    );
    // Good paths: with any package, or none.
    echoes(&mut server.grpc().await, "/echo.TestService/EchoUnary").await;
    for path in ["/TestService/EchoUnary", "/other.pkg.TestService/EchoUnary"] {
        let (resp, mut send) = client
            .send_request(grpc_request(server.addr, path), false)
            .expect("send");
        // Args {1: Request {1: "ok"}} as one gRPC message.
        let args = b"\x0c\x00\x01\x0b\x00\x01\x00\x00\x00\x02ok\x00\x00";
        let mut msg = vec![0u8];
        msg.extend_from_slice(&(args.len() as u32).to_be_bytes());
        msg.extend_from_slice(args);
        send.send_data(msg.into(), true).expect("data");
        let resp = within(5, path, resp).await.expect("response");
        assert!(
            resp.headers().get("grpc-status").is_none(),
            "{path}: {:?}",
            status_of(&resp)
        );
        let mut body = resp.into_body();
        let data = within(5, path, body.data())
            .await
            .expect("a response message")
            .expect("data");
        assert!(
            data.windows(2).any(|w| w == b"ok"),
            "{path}: the echo comes back"
        );
        let trailers = within(5, path, body.trailers())
            .await
            .expect("trailers")
            .expect("trailers present");
        assert_eq!(trailers["grpc-status"], "0", "{path}");
    }
}

// ------------------------------------------- item 12: long unknown names

#[tokio::test]
async fn unknown_names_are_quoted_once_and_cut_to_128_bytes() {
    let server = start(Server::builder()).await;
    let mut client = h2_client(server.addr).await;
    let long = "M".repeat(10_000);
    // What survives of the name in both cases (the service segment's cut
    // also holds `echo.`).
    let cut = "M".repeat(100);
    for path in [
        format!("/echo.TestService/{long}"),
        format!("/echo.{long}/EchoUnary"),
    ] {
        let (resp, _send) = client
            .send_request(grpc_request(server.addr, &path), true)
            .expect("send");
        let resp = within(5, "unknown name", resp).await.expect("response");
        let (code, message) = status_of(&resp);
        assert_eq!(code, "12", "UNIMPLEMENTED: {message}");
        assert!(message.contains("unknown"), "{message}");
        assert!(!message.contains(&"M".repeat(129)), "cut to 128 bytes");
        assert!(message.contains('…'), "the cut is marked: {message}");
        // Quoted once, across every header of the answer.
        let quoted: usize = resp
            .headers()
            .values()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).matches(&cut).count())
            .sum();
        assert_eq!(quoted, 1, "the name is quoted once: {:?}", resp.headers());
        let answer: usize = resp
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        assert!(answer < 1024, "the answer is small: {answer} bytes");
    }
}

// ----------------------------------- accept errors (out of file descriptors)

#[tokio::test]
async fn accept_errors_such_as_out_of_file_descriptors_do_not_stop_the_server() {
    // The accept loop sees EMFILE (too many open files) before every real
    // connection, as a server out of descriptors does until some close.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let incoming = futures_util::stream::unfold((listener, 0u32), |(l, n)| async move {
        if n % 20 != 19 {
            let emfile = std::io::Error::from_raw_os_error(24);
            return Some((Err(emfile), (l, n + 1)));
        }
        let next = l.accept().await.map(|(s, _)| s);
        Some((next, (l, n + 1)))
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        Server::builder()
            .add_service(TestServiceServer::new(Echo::default()))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            }),
    );
    for i in 0..3 {
        let mut c = within(
            10,
            "connect",
            TestServiceClient::connect(format!("http://{addr}")),
        )
        .await
        .expect("connect");
        within(
            10,
            "a call after accept errors",
            echoes(&mut c, &format!("call {i}")),
        )
        .await;
    }
    let _ = stop.send(());
    let ended = within(10, "shutdown", task).await.expect("server task");
    assert!(ended.is_ok(), "{ended:?}");
}
