//! Bad input at the ping-pong server, driven by hand over raw TCP
//! connections, and the protocol-level replies of the server (unknown
//! method, wrong message type, undecodable arguments, `oneway`, pipelining).
//!
//! For every kind of bad input the server must close (or answer and keep
//! serving) that one connection without panicking, and a well-behaved
//! connection opened before it (a gRPC client, a pooled ping-pong client and
//! a raw Framed connection) must still be answered afterwards, as must new
//! connections.

use std::net::SocketAddr;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use futures_util::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::pingpong::{ApplicationException, ExceptionKind, PingPongOptions};
use tonic_thrift::transport::{
    decode_frame, encode_frame, read_message_header, write_message_header, Frame, FrameKind,
    Framing, MessageHeader, MessageType, TTHeader,
};
use tonic_thrift::FastStr;

use crate::echo;
tonic_thrift::thrift_service!("idl/kitchen_sink.thrift");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::TestServiceServer;

// ---------------------------------------------------------------------------
// Panics inside the library (connection tasks are spawned: a panic there
// would not fail a test by itself).

static LIBRARY_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn watch_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|l| l.file().to_string());
            let in_tests = file.as_deref().is_some_and(|f| f.contains("tests/"));
            if !in_tests {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                if let Ok(mut v) = LIBRARY_PANICS.lock() {
                    v.push(format!("{}: {msg}", file.unwrap_or_default()));
                }
            }
            default(info);
        }));
    });
}

fn assert_no_library_panics() {
    let v = LIBRARY_PANICS.lock().unwrap();
    assert!(v.is_empty(), "panics outside the tests: {v:?}");
}

use crate::support::Echo;

async fn start_with(server: tonic_thrift::Server) -> SocketAddr {
    watch_panics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        server
            .add_service(TestServiceServer::new(Echo))
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

async fn start() -> SocketAddr {
    start_with(tonic_thrift::Server::builder()).await
}

fn req(m: &str) -> echo::Request {
    echo::Request {
        message: m.to_string().into(),
    }
}

/// Fails the test when `fut` takes longer than `secs` seconds.
async fn within<F: std::future::Future>(secs: u64, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {secs} s"),
    }
}

// ---------------------------------------------------------------------------
// Hand-built wire bytes.

/// Thrift Binary string: i32 length + bytes.
fn put_str(dst: &mut Vec<u8>, s: &[u8]) {
    dst.extend_from_slice(&(s.len() as i32).to_be_bytes());
    dst.extend_from_slice(s);
}

/// `{id: {1: string s}}` followed by the outer STOP.
fn struct_with_string(outer_id: i16, s: &str) -> Vec<u8> {
    let mut b = vec![0x0c];
    b.extend_from_slice(&outer_id.to_be_bytes());
    b.push(0x0b);
    b.extend_from_slice(&1i16.to_be_bytes());
    put_str(&mut b, s.as_bytes());
    b.push(0); // inner STOP
    b.push(0); // outer STOP
    b
}

/// `EchoPingPongArgs {1: Request {1: msg}}`.
fn echo_args(msg: &str) -> Vec<u8> {
    struct_with_string(1, msg)
}

/// `EchoPingPongResult {0: Response {1: msg}}`.
fn echo_result(msg: &str) -> Vec<u8> {
    struct_with_string(0, msg)
}

/// A strict Thrift message: header then `body`.
fn message(name: &str, message_type: MessageType, seq_id: i32, body: &[u8]) -> Vec<u8> {
    let mut m = BytesMut::new();
    write_message_header(
        &mut m,
        &MessageHeader {
            name: FastStr::new(name),
            message_type,
            seq_id,
        },
    );
    m.extend_from_slice(body);
    m.to_vec()
}

/// `message` framed as `framing`; TTHeader frames carry seq id `seq_id`
/// and, when given, the callee service name `isn`.
fn frame(framing: Framing, seq_id: i32, isn: Option<&str>, message: &[u8]) -> Vec<u8> {
    let header = match framing {
        Framing::TTHeader { .. } => {
            let mut h = TTHeader {
                seq_id,
                ..TTHeader::default()
            };
            if let Some(s) = isn {
                h.set_string("isn", s.to_string());
            }
            Some(h)
        }
        _ => None,
    };
    let mut out = BytesMut::new();
    encode_frame(&mut out, framing, header.as_ref(), message).unwrap();
    out.to_vec()
}

/// A whole `EchoPingPong` call.
fn echo_call(framing: Framing, seq_id: i32, msg: &str) -> Vec<u8> {
    frame(
        framing,
        seq_id,
        Some("TestService"),
        &message("EchoPingPong", MessageType::Call, seq_id, &echo_args(msg)),
    )
}

fn kind_of(framing: Framing) -> FrameKind {
    match framing {
        Framing::TTHeader { .. } | Framing::THeader => FrameKind::TTHeader,
        Framing::Framed => FrameKind::Framed,
        Framing::Buffered => FrameKind::Buffered,
    }
}

const FRAMINGS: [Framing; 4] = [
    Framing::TTHeader {
        inner_framed: false,
    },
    Framing::TTHeader { inner_framed: true },
    Framing::Framed,
    Framing::Buffered,
];

// ---------------------------------------------------------------------------
// A raw connection.

/// What a read from the server gave.
#[derive(Debug)]
enum Read {
    Frame(Frame),
    /// The server closed the connection (EOF or reset), with these bytes
    /// left over that were not a whole frame.
    Closed(usize),
    /// Nothing happened within the time given.
    Silent,
}

struct Raw {
    stream: TcpStream,
    buf: BytesMut,
    kind: FrameKind,
}

impl Raw {
    async fn connect(addr: SocketAddr, kind: FrameKind) -> Raw {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: BytesMut::new(),
            kind,
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Sends, tolerating a server that has already closed.
    async fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// The next frame, the connection's end, or silence for `wait`.
    async fn read(&mut self, wait: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match decode_frame(&mut self.buf, self.kind, 16 << 20) {
                Ok(Some(f)) => return Read::Frame(f),
                Ok(None) => {}
                Err(e) => panic!("the server sent an undecodable frame: {e}"),
            }
            self.buf.reserve(8192);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Err(_) => return Read::Silent,
                Ok(Ok(0)) | Ok(Err(_)) => return Read::Closed(self.buf.len()),
                Ok(Ok(_)) => {}
            }
        }
    }

    async fn frame(&mut self) -> Frame {
        match self.read(Duration::from_secs(5)).await {
            Read::Frame(f) => f,
            other => panic!("expected a reply frame, got {other:?}"),
        }
    }

    /// The server must close the connection within `secs` seconds without
    /// sending anything.
    async fn expect_closed(&mut self, secs: u64, what: &str) {
        let start = Instant::now();
        match self.read(Duration::from_secs(secs)).await {
            Read::Closed(0) => {}
            other => panic!(
                "{what}: expected the server to close the connection, got {other:?} after {:?}",
                start.elapsed()
            ),
        }
    }

    /// Sends an `EchoPingPong` call and checks its reply.
    async fn echo(&mut self, framing: Framing, seq_id: i32, msg: &str) {
        self.send(&echo_call(framing, seq_id, msg)).await;
        let f = self.frame().await;
        check_echo_reply(&f, framing, seq_id, msg);
    }
}

fn check_echo_reply(f: &Frame, framing: Framing, seq_id: i32, msg: &str) {
    assert_eq!(f.framing, framing, "reply framing");
    let (h, body) = read_message_header(&f.message).unwrap();
    assert_eq!(h.name, "EchoPingPong");
    assert_eq!(h.message_type, MessageType::Reply, "{h:?}");
    assert_eq!(h.seq_id, seq_id);
    if let Some(th) = &f.header {
        assert_eq!(th.seq_id, seq_id, "TTHeader seq id");
    }
    assert_eq!(&body[..], &echo_result(msg)[..], "reply body for {msg:?}");
}

/// An exception reply: its message header and decoded exception.
fn exception_of(f: &Frame) -> (MessageHeader, ApplicationException) {
    let (h, body) = read_message_header(&f.message).unwrap();
    assert_eq!(
        h.message_type,
        MessageType::Exception,
        "expected an EXCEPTION message, got {h:?}"
    );
    let e = ApplicationException::decode(body).expect("a TApplicationException body");
    (h, e)
}

// ---------------------------------------------------------------------------
// Well-behaved connections opened before the bad input.

struct Witnesses {
    addr: SocketAddr,
    grpc: TestServiceClient,
    pingpong: TestServicePingPongClient,
    raw: Raw,
    seq: i32,
}

impl Witnesses {
    async fn open(addr: SocketAddr) -> Witnesses {
        let mut grpc = TestServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let r = grpc.echo_unary(req("grpc before")).await.unwrap();
        assert_eq!(r.into_inner().message, "grpc before");
        let pingpong = TestServicePingPongClient::with_options(
            addr.to_string(),
            PingPongOptions::default().max_connections(1),
        );
        let r = pingpong.echo_ping_pong(req("pp before")).await.unwrap();
        assert_eq!(r.into_inner().message, "pp before");
        let mut raw = Raw::connect(addr, FrameKind::Framed).await;
        raw.echo(Framing::Framed, 1, "raw before").await;
        Witnesses {
            addr,
            grpc,
            pingpong,
            raw,
            seq: 1,
        }
    }

    /// Everything opened before still works, and new connections are served.
    async fn check(&mut self, what: &str) {
        within(10, what, async {
            let r = self.grpc.echo_unary(req("grpc after")).await;
            assert_eq!(r.unwrap().into_inner().message, "grpc after", "{what}");
            let r = self.pingpong.echo_ping_pong(req("pp after")).await;
            assert_eq!(r.unwrap().into_inner().message, "pp after", "{what}");
            self.seq += 1;
            self.raw.echo(Framing::Framed, self.seq, "raw after").await;
            for framing in FRAMINGS {
                let fresh = TestServicePingPongClient::with_options(
                    self.addr.to_string(),
                    PingPongOptions::default().framing(framing),
                );
                let r = fresh.echo_ping_pong(req("new")).await;
                assert_eq!(r.unwrap().into_inner().message, "new", "{what} {framing:?}");
            }
            let mut grpc = TestServiceClient::connect(format!("http://{}", self.addr))
                .await
                .unwrap();
            let r = grpc.echo_unary(req("new grpc")).await.unwrap();
            assert_eq!(r.into_inner().message, "new grpc", "{what}");
        })
        .await;
        assert_no_library_panics();
    }
}

// ---------------------------------------------------------------------------
// Bad input: the connection is closed, the others keep working.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..64 {
        let len = rng.random_range(1..600);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Steer some rounds into each detector branch.
        match round % 4 {
            1 => bytes.splice(0..2, [0x80, 0x01]).for_each(drop), // Buffered
            2 if len > 6 => {
                bytes[0] = 0;
                bytes.splice(4..6, [0x80, 0x01]).for_each(drop); // Framed
            }
            3 if len > 8 => {
                bytes[0] = 0;
                bytes.splice(4..8, [0x10, 0x00, 0x00, 0x00]).for_each(drop); // TTHeader
            }
            _ => {}
        }
        let mut raw = Raw::connect(addr, FrameKind::Framed).await;
        raw.send_lossy(&bytes).await;
        // Whatever the server made of them, after our half-close it must
        // close too (it may not answer garbage with a frame of ours).
        let _ = raw.stream.shutdown().await;
        let start = Instant::now();
        loop {
            let mut scratch = [0u8; 4096];
            match tokio::time::timeout(Duration::from_secs(5), raw.stream.read(&mut scratch)).await
            {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue,
                Err(_) => panic!(
                    "round {round}: the server kept the connection open {:?} after our half-close; input {:02x?}",
                    start.elapsed(),
                    &bytes[..bytes.len().min(16)]
                ),
            }
        }
    }
    // Not-Thrift, not-HTTP/2 bytes are refused at once, without waiting for
    // the client to close.
    let mut raw = Raw::connect(addr, FrameKind::Framed).await;
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    raw.expect_closed(2, "HTTP/1.1 request").await;
    w.check("after random bytes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frame_then_close() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    for framing in FRAMINGS {
        let call = echo_call(framing, 7, "truncated");
        for cut in [1, 5, 9, 14, call.len() / 2, call.len() - 1] {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            raw.send(&call[..cut]).await;
            drop(raw); // closed mid-frame
        }
        // A complete frame followed by a partial one and a half-close: the
        // complete one is answered, then the connection is closed.
        let mut raw = Raw::connect(addr, kind_of(framing)).await;
        let mut bytes = echo_call(framing, 8, "whole");
        bytes.extend_from_slice(&call[..call.len() - 3]);
        raw.send(&bytes).await;
        raw.stream.shutdown().await.unwrap();
        let f = raw.frame().await;
        check_echo_reply(&f, framing, 8, "whole");
        raw.expect_closed(2, &format!("{framing:?}: partial frame then EOF"))
            .await;
    }
    w.check("after truncated frames").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_length_above_the_limit_or_negative() {
    let addr = start_with(tonic_thrift::Server::builder().max_frame_size(1024)).await;
    let mut w = Witnesses::open(addr).await;

    // First frame of a connection announcing 2048 bytes: closed at once,
    // without waiting for the 2048 bytes.
    let framed_2048: &[u8] = &[0, 0, 0x08, 0, 0x80, 0x01, 0, 1];
    let ttheader_2048: &[u8] = &[0, 0, 0x08, 0, 0x10, 0x00, 0, 0, 0, 0, 0, 1, 0, 1];
    for (name, kind, bytes) in [
        ("Framed 2048", FrameKind::Framed, framed_2048),
        ("TTHeader 2048", FrameKind::TTHeader, ttheader_2048),
    ] {
        let mut raw = Raw::connect(addr, kind).await;
        raw.send(bytes).await;
        raw.expect_closed(2, name).await;
    }
    // A Buffered message whose name length alone exceeds the limit.
    let mut raw = Raw::connect(addr, FrameKind::Buffered).await;
    raw.send(&[0x80, 0x01, 0x00, 0x01, 0, 0, 0x08, 0]).await;
    raw.expect_closed(2, "Buffered name of 2048 bytes").await;

    // Negative lengths (top bit set) as the first frame.
    for bytes in [
        &[0xff, 0xff, 0xff, 0xfb, 0x80, 0x01, 0, 1][..],
        &[0x80, 0, 0, 0x10, 0x80, 0x01, 0, 1][..],
        &[0xff, 0xff, 0xff, 0xfb, 0x10, 0x00, 0, 0][..],
    ] {
        let mut raw = Raw::connect(addr, FrameKind::Framed).await;
        raw.send_lossy(bytes).await;
        raw.expect_closed(2, &format!("negative length {bytes:02x?}"))
            .await;
    }

    // The same after a good call on an established connection.
    for framing in [
        Framing::Framed,
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::TTHeader { inner_framed: true },
    ] {
        let is_tt = matches!(framing, Framing::TTHeader { .. });
        let too_long: Vec<u8> = if is_tt {
            ttheader_2048.to_vec()
        } else {
            framed_2048.to_vec()
        };
        let negative: Vec<u8> = if is_tt {
            vec![0xff, 0xff, 0xff, 0xfb, 0x10, 0x00, 0, 0, 0, 0, 0, 1, 0, 1]
        } else {
            vec![0xff, 0xff, 0xff, 0xfb, 0x80, 0x01, 0, 1]
        };
        for (name, bad) in [("2048", too_long), ("negative", negative)] {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            raw.echo(framing, 1, "first").await;
            raw.send(&bad).await;
            raw.expect_closed(2, &format!("{framing:?}: second frame {name}"))
                .await;
        }
        // A frame of exactly the limit is still accepted.
        let mut raw = Raw::connect(addr, kind_of(framing)).await;
        let overhead = echo_call(framing, 2, "").len();
        let fill = "x".repeat(1024 - overhead);
        let call = echo_call(framing, 2, &fill);
        assert_eq!(call.len(), 1024);
        raw.send(&call).await;
        let f = raw.frame().await;
        check_echo_reply(&f, framing, 2, &fill);
        // One byte more is not.
        let mut raw = Raw::connect(addr, kind_of(framing)).await;
        raw.send(&echo_call(framing, 3, &format!("{fill}x"))).await;
        raw.expect_closed(2, &format!("{framing:?}: 1025-byte frame"))
            .await;
    }
    w.check("after over-long and negative lengths").await;
}

/// A TTHeader frame (unframed payload) with `header` as its variable
/// header (`words` 4-byte words) and `payload` after it.
fn raw_ttheader(flags: u16, seq: u32, words: u16, header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let len = 10 + header.len() + payload.len();
    b.put_u32(len as u32);
    b.put_u16(0x1000);
    b.put_u16(flags);
    b.put_u32(seq);
    b.put_u16(words);
    b.extend_from_slice(header);
    b.extend_from_slice(payload);
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ttheaders() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    let payload = message("EchoPingPong", MessageType::Call, 5, &echo_args("tt"));
    // Sanity: the hand-built frame is answered when well-formed.
    let mut raw = Raw::connect(addr, FrameKind::TTHeader).await;
    raw.send(&raw_ttheader(0, 5, 1, &[0, 0, 0, 0], &payload))
        .await;
    check_echo_reply(
        &raw.frame().await,
        Framing::TTHeader {
            inner_framed: false,
        },
        5,
        "tt",
    );

    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "header size past the frame",
            raw_ttheader(0, 5, 200, &[0, 0, 0, 0], &payload),
        ),
        (
            "header size past a tiny frame",
            raw_ttheader(0, 5, 0xffff, &[], &[]),
        ),
        ("header size 0", raw_ttheader(0, 5, 0, &[], &payload)),
        (
            "protocol id 2 (compact) with a binary message",
            raw_ttheader(0, 5, 1, &[2, 0, 0, 0], &payload),
        ),
        (
            "unknown protocol id 3",
            raw_ttheader(0, 5, 1, &[3, 0, 0, 0], &payload),
        ),
        (
            "unknown protocol id 0xff",
            raw_ttheader(0, 5, 1, &[0xff, 0, 0, 0], &payload),
        ),
        (
            "unknown info id",
            raw_ttheader(0, 5, 1, &[0, 0, 0x7e, 0], &payload),
        ),
        (
            "string key/values running past the header",
            raw_ttheader(0, 5, 1, &[0, 0, 0x01, 0xff], &payload),
        ),
        (
            "payload that is no thrift message",
            raw_ttheader(0, 5, 1, &[0, 0, 0, 0], b"\x01\x02\x03\x04\x05\x06"),
        ),
        (
            "TTHeader streaming (flags 0x0002)",
            raw_ttheader(0x0002, 5, 1, &[0, 0, 0, 0], &payload),
        ),
        (
            "TTHeader streaming (flags 0x0003)",
            raw_ttheader(0x0003, 5, 1, &[0, 0, 0, 0], &payload),
        ),
    ];
    for (name, bytes) in &cases {
        // As the first frame of a connection.
        let mut raw = Raw::connect(addr, FrameKind::TTHeader).await;
        raw.send_lossy(bytes).await;
        raw.expect_closed(2, &format!("first frame: {name}")).await;
        // After a good call.
        let mut raw = Raw::connect(addr, FrameKind::TTHeader).await;
        raw.echo(
            Framing::TTHeader {
                inner_framed: false,
            },
            1,
            "ok",
        )
        .await;
        raw.send_lossy(bytes).await;
        raw.expect_closed(2, &format!("second frame: {name}")).await;
    }
    // TTHeader Streaming is detected from the first 8 bytes and served
    // (tests/kitex/ttstream_bad_input.rs); a frame with a zero header size
    // breaks its framing, and the server closes the connection.
    let mut raw = Raw::connect(addr, FrameKind::TTHeader).await;
    raw.send(&[0, 0, 0, 0x0a, 0x10, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0, 0])
        .await;
    raw.expect_closed(2, "TTHeader Streaming frame with header size 0")
        .await;
    w.check("after bad TTHeaders").await;
}

/// An old-style (non-strict) message: i32 name length (positive), name,
/// type byte, i32 seq id, body.
fn non_strict_message(name: &str, message_type: u8, seq: i32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    put_str(&mut m, name.as_bytes());
    m.push(message_type);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(body);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_strict_message_header() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    let old = non_strict_message("EchoPingPong", 1, 9, &echo_args("old"));
    for framing in [
        Framing::Framed,
        Framing::TTHeader {
            inner_framed: false,
        },
    ] {
        let bytes = match framing {
            Framing::Framed => {
                let mut b = (old.len() as u32).to_be_bytes().to_vec();
                b.extend_from_slice(&old);
                b
            }
            _ => raw_ttheader(0, 9, 1, &[0, 0, 0, 0], &old),
        };
        // First frame (in Framed, bytes 4..6 are then `00 00`: no protocol
        // matches) and after a good call.
        for first in [true, false] {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            if !first {
                raw.echo(framing, 1, "ok").await;
            }
            raw.send_lossy(&bytes).await;
            // Closing is expected; an EXCEPTION reply carrying the seq id
            // would be acceptable too, if the connection is then kept.
            match raw.read(Duration::from_secs(2)).await {
                Read::Closed(0) => {}
                Read::Frame(f) => {
                    let (h, e) = exception_of(&f);
                    assert_eq!(h.seq_id, 9, "{e}");
                    raw.echo(framing, 10, "still served").await;
                }
                other => panic!("{framing:?} first={first}: non-strict header gave {other:?}"),
            }
        }
    }
    w.check("after non-strict headers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_is_closed_after_the_idle_timeout() {
    let addr =
        start_with(tonic_thrift::Server::builder().idle_timeout(Duration::from_millis(200))).await;
    let mut w = Witnesses::open(addr).await;
    // Keep the raw witness busy: an active connection is not idle.
    let mut keep = Raw::connect(addr, FrameKind::Framed).await;
    keep.echo(Framing::Framed, 1, "k").await;
    let busy = tokio::spawn(async move {
        for i in 2..30 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            keep.echo(Framing::Framed, i, "busy").await;
        }
    });

    // Never sends anything.
    let start = Instant::now();
    let mut silent = Raw::connect(addr, FrameKind::Framed).await;
    silent.expect_closed(2, "silent client").await;
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(150),
        "closed too early: {took:?}"
    );

    // Sends a first byte only (protocol undecided), then nothing.
    let mut partial = Raw::connect(addr, FrameKind::Framed).await;
    partial.send(&[0x00]).await;
    partial.expect_closed(2, "one byte then silence").await;

    // Makes one call, then stays silent.
    for framing in FRAMINGS {
        let mut raw = Raw::connect(addr, kind_of(framing)).await;
        raw.echo(framing, 1, "then idle").await;
        let start = Instant::now();
        raw.expect_closed(2, &format!("{framing:?}: idle after a call"))
            .await;
        assert!(start.elapsed() >= Duration::from_millis(150));
    }

    // A call that takes longer than the idle timeout is not cut off.
    let mut raw = Raw::connect(addr, FrameKind::Framed).await;
    raw.echo(Framing::Framed, 1, "slow|500").await;

    within(10, "busy connection", busy).await.unwrap();
    // The pooled witness connection was closed by the server meanwhile: the
    // pool must notice and open another one.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The raw witness idled out too; replace it and check the rest.
    w.raw = Raw::connect(addr, FrameKind::Framed).await;
    w.check("after idle clients").await;
}

// ---------------------------------------------------------------------------
// Protocol-level replies.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_method_gets_an_unknown_method_exception() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    for framing in FRAMINGS {
        for isn in [Some("TestService"), None, Some("NoSuchService")] {
            if isn.is_some() && !matches!(framing, Framing::TTHeader { .. }) {
                continue;
            }
            let seq = 0x1234_5678;
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            let msg = message("Nope", MessageType::Call, seq, &echo_args("x"));
            raw.send(&frame(framing, seq, isn, &msg)).await;
            let f = raw.frame().await;
            assert_eq!(f.framing, framing, "reply framing ({isn:?})");
            let (h, e) = exception_of(&f);
            assert_eq!(h.name, "Nope");
            assert_eq!(h.seq_id, seq);
            assert_eq!(e.kind, ExceptionKind::UNKNOWN_METHOD, "{e}");
            assert!(e.message.contains("unknown method"), "{e}");
            assert!(e.message.contains("Nope"), "{e}");
            if let Some(th) = &f.header {
                // (The inner Framed length of the reply is checked byte by
                // byte in `ttheader_reply_mirrors_the_inner_framing_and_seq_id`.)
                assert_eq!(th.seq_id, seq, "TTHeader seq id");
                assert_eq!(th.int(22), Some("3"), "message type key in {th:?}");
            }
            // The connection keeps serving.
            raw.echo(framing, seq + 1, "after Nope").await;
        }
    }
    w.check("after unknown methods").await;
}

/// Reads one reply frame and also returns the raw bytes it came in,
/// re-reading nothing: the buffer is inspected before decoding.
async fn read_raw_frame(raw: &mut Raw) -> (Vec<u8>, Frame) {
    loop {
        let before = raw.buf.clone();
        match decode_frame(&mut raw.buf, raw.kind, 16 << 20).unwrap() {
            Some(f) => {
                let used = before.len() - raw.buf.len();
                return (before[..used].to_vec(), f);
            }
            None => {
                raw.buf.reserve(8192);
                let n = within(5, "reply", raw.stream.read_buf(&mut raw.buf))
                    .await
                    .unwrap();
                assert!(n > 0, "closed before replying");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttheader_reply_mirrors_the_inner_framing_and_seq_id() {
    let addr = start().await;
    for inner_framed in [false, true] {
        let framing = Framing::TTHeader { inner_framed };
        let mut raw = Raw::connect(addr, FrameKind::TTHeader).await;
        for (seq, method) in [(41, "Nope"), (42, "EchoPingPong")] {
            let msg = message(method, MessageType::Call, seq, &echo_args("m"));
            raw.send(&frame(framing, seq, Some("TestService"), &msg))
                .await;
            let (bytes, f) = read_raw_frame(&mut raw).await;
            assert_eq!(&bytes[4..6], &[0x10, 0x00], "TTHeader magic");
            assert_eq!(
                u32::from_be_bytes(bytes[8..12].try_into().unwrap()),
                seq as u32
            );
            let header_size = usize::from(u16::from_be_bytes([bytes[12], bytes[13]])) * 4;
            let payload = &bytes[14 + header_size..];
            if inner_framed {
                let inner = u32::from_be_bytes(payload[..4].try_into().unwrap()) as usize;
                assert_eq!(inner, payload.len() - 4, "inner Framed length");
                assert_eq!(&payload[4..6], &[0x80, 0x01]);
            } else {
                assert_eq!(&payload[..2], &[0x80, 0x01], "no inner Framed length");
            }
            assert_eq!(f.framing, framing);
            let (h, _) = read_message_header(&f.message).unwrap();
            assert_eq!(h.seq_id, seq);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_message_type_gets_an_invalid_message_type_exception() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    for framing in FRAMINGS {
        for wrong in [MessageType::Reply, MessageType::Exception] {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            let body = if wrong == MessageType::Reply {
                echo_result("r")
            } else {
                ApplicationException::new(ExceptionKind::UNKNOWN, "x")
                    .encode()
                    .to_vec()
            };
            let msg = message("EchoPingPong", wrong, 77, &body);
            raw.send(&frame(framing, 77, Some("TestService"), &msg))
                .await;
            let f = raw.frame().await;
            let (h, e) = exception_of(&f);
            assert_eq!(h.seq_id, 77);
            assert_eq!(h.name, "EchoPingPong");
            assert_eq!(
                e.kind,
                ExceptionKind::INVALID_MESSAGE_TYPE,
                "{framing:?} {wrong:?}: {e}"
            );
            if let Some(th) = &f.header {
                assert_eq!(th.seq_id, 77);
            }
            raw.echo(framing, 78, "after wrong type").await;
        }
    }
    w.check("after wrong message types").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_args_get_a_protocol_error_exception() {
    let addr = start().await;
    let mut w = Witnesses::open(addr).await;
    let garbage: [&[u8]; 4] = [
        // string length far beyond the frame
        b"\x0c\x00\x01\x0b\x00\x01\x7f\xff\xff\xff\x00\x00",
        // negative string length
        b"\x0c\x00\x01\x0b\x00\x01\xff\xff\xff\xfe\x00\x00",
        // field 1 of the wrong type, then garbage type id
        b"\x0c\x00\x01\x0b\x00\x01\x00\x00\x00\x02\xff\xfe\x00\x00",
        // required field `message` missing
        b"\x0c\x00\x01\x00\x00",
    ];
    for framing in [
        Framing::Framed,
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::TTHeader { inner_framed: true },
    ] {
        for (i, body) in garbage.iter().enumerate() {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            let seq = 100 + i as i32;
            let msg = message("EchoPingPong", MessageType::Call, seq, body);
            raw.send(&frame(framing, seq, Some("TestService"), &msg))
                .await;
            let f = raw.frame().await;
            let (h, e) = exception_of(&f);
            assert_eq!(h.seq_id, seq);
            assert_eq!(h.name, "EchoPingPong");
            assert_eq!(
                e.kind,
                ExceptionKind::PROTOCOL_ERROR,
                "{framing:?} garbage #{i}: {e}"
            );
            assert!(e.message.contains("EchoPingPong"), "{e}");
            // The frame was well delimited: the connection keeps serving.
            raw.echo(framing, seq + 1000, "after garbage").await;
        }
    }
    w.check("after undecodable args").await;
}

// ---------------------------------------------------------------------------
// oneway

use kitchen_sink::sink_client::SinkPingPongClient;
use kitchen_sink::sink_server as sink;
use kitchen_sink::sink_server::{Sink, SinkServer};

type SinkStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<kitchen_sink::AllTypes, Status>> + Send>,
>;

struct Recorder(mpsc::UnboundedSender<String>);

#[tonic::async_trait]
impl Sink for Recorder {
    type StreamStream = SinkStream;

    async fn ping(&self, _r: Request<sink::PingArgs>) -> Result<Response<FastStr>, Status> {
        Ok(Response::new(FastStr::from_static_str("pong")))
    }
    async fn nothing(&self, _r: Request<sink::NothingArgs>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn fire(&self, r: Request<FastStr>) -> Result<Response<()>, Status> {
        let event = r.into_inner().to_string();
        // A slow oneway handler must not hold back the next reply forever.
        if event.starts_with("slow") {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let _ = self.0.send(event);
        Ok(Response::new(()))
    }
    async fn add(&self, r: Request<sink::AddArgs>) -> Result<Response<i32>, Status> {
        let a = r.into_inner();
        Ok(Response::new(a.a + a.b))
    }
    async fn get(&self, _r: Request<i64>) -> Result<Response<shared::Item>, sink::GetError> {
        Err(Status::unimplemented("not here").into())
    }
    async fn stream(
        &self,
        _r: Request<Streaming<kitchen_sink::AllTypes>>,
    ) -> Result<Response<SinkStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn unary(
        &self,
        r: Request<kitchen_sink::Containers>,
    ) -> Result<Response<kitchen_sink::Containers>, Status> {
        Ok(Response::new(r.into_inner()))
    }
}

async fn start_sink() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    watch_panics();
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(SinkServer::new(Recorder(tx)))
            .serve_with_listener(listener, std::future::pending()),
    );
    (addr, rx)
}

/// `AddArgs {1: a, 2: b}`.
fn add_args(a: i32, b: i32) -> Vec<u8> {
    let mut v = vec![0x08, 0, 1];
    v.extend_from_slice(&a.to_be_bytes());
    v.extend_from_slice(&[0x08, 0, 2]);
    v.extend_from_slice(&b.to_be_bytes());
    v.push(0);
    v
}

/// `FireArgs {1: event}`.
fn fire_args(event: &str) -> Vec<u8> {
    let mut v = vec![0x0b, 0, 1];
    put_str(&mut v, event.as_bytes());
    v.push(0);
    v
}

fn check_add_reply(f: &Frame, seq: i32, sum: i32) {
    let (h, body) = read_message_header(&f.message).unwrap();
    assert_eq!(h.name, "Add");
    assert_eq!(h.message_type, MessageType::Reply, "{h:?}");
    assert_eq!(h.seq_id, seq);
    let mut want = vec![0x08, 0, 0];
    want.extend_from_slice(&sum.to_be_bytes());
    want.push(0);
    assert_eq!(&body[..], &want[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_gets_no_reply_but_runs() {
    let (addr, mut events) = start_sink().await;
    for framing in FRAMINGS {
        let mut raw = Raw::connect(addr, kind_of(framing)).await;
        // ONEWAY message, then a CALL on the same connection: the first
        // thing to come back is the reply to the CALL.
        let fire = message("Fire", MessageType::Oneway, 1, &fire_args("boom"));
        raw.send(&frame(framing, 1, Some("Sink"), &fire)).await;
        let ev = within(5, "oneway handler", events.recv()).await.unwrap();
        assert_eq!(ev, "boom");
        assert!(
            matches!(raw.read(Duration::from_millis(200)).await, Read::Silent),
            "{framing:?}: a oneway call must get no reply"
        );
        let add = message("Add", MessageType::Call, 2, &add_args(2, 3));
        raw.send(&frame(framing, 2, Some("Sink"), &add)).await;
        check_add_reply(&raw.frame().await, 2, 5);

        // Pipelined: a slow oneway then a call, written together.
        let mut bytes = frame(
            framing,
            3,
            Some("Sink"),
            &message("Fire", MessageType::Oneway, 3, &fire_args("slow one")),
        );
        bytes.extend(frame(
            framing,
            4,
            Some("Sink"),
            &message("Add", MessageType::Call, 4, &add_args(10, -3)),
        ));
        raw.send(&bytes).await;
        check_add_reply(&raw.frame().await, 4, 7);
        let ev = within(5, "oneway handler", events.recv()).await.unwrap();
        assert_eq!(ev, "slow one");

        // A CALL message to a oneway method: the method is oneway, so no
        // reply either (as in Apache Thrift and Kitex, which go by the method).
        let fire = message("Fire", MessageType::Call, 5, &fire_args("as call"));
        raw.send(&frame(framing, 5, Some("Sink"), &fire)).await;
        let ev = within(5, "oneway handler", events.recv()).await.unwrap();
        assert_eq!(ev, "as call");
        let add = message("Add", MessageType::Call, 6, &add_args(1, 1));
        raw.send(&frame(framing, 6, Some("Sink"), &add)).await;
        check_add_reply(&raw.frame().await, 6, 2);
    }

    // Through the generated client, on one pooled connection.
    for framing in FRAMINGS {
        let client = SinkPingPongClient::with_options(
            addr.to_string(),
            PingPongOptions::default()
                .framing(framing)
                .max_connections(1)
                .timeout(Duration::from_secs(5)),
        );
        client.fire(FastStr::new("via client")).await.unwrap();
        let ev = within(5, "oneway handler", events.recv()).await.unwrap();
        assert_eq!(ev, "via client");
        let r = client.add(sink::AddArgs { a: 20, b: 22 }).await.unwrap();
        assert_eq!(r.into_inner(), 42, "{framing:?}");
        for i in 0..5 {
            client.fire(FastStr::new(format!("e{i}"))).await.unwrap();
        }
        let r = client.add(sink::AddArgs { a: 1, b: 2 }).await.unwrap();
        assert_eq!(r.into_inner(), 3, "{framing:?}");
        // The handlers ran before the later call was answered (replies go
        // out in request order), in any order among themselves.
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(
                events
                    .try_recv()
                    .expect("every oneway handler ran before the next reply"),
            );
        }
        got.sort();
        assert_eq!(got, ["e0", "e1", "e2", "e3", "e4"]);
        assert_eq!(client.idle_connections(), 1);
    }
    assert_no_library_panics();
}

// ---------------------------------------------------------------------------
// Pipelining and mixed protocols.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let addr = start().await;
    for framing in FRAMINGS {
        for n in [50, 200, 1000] {
            let mut raw = Raw::connect(addr, kind_of(framing)).await;
            let mut bytes = Vec::new();
            let msgs: Vec<String> = (0..n)
                // Later requests finish first: replies must still come in order.
                .map(|i| format!("p{i}|{}", (n - i) % 13))
                .collect();
            for (i, m) in msgs.iter().enumerate() {
                bytes.extend(echo_call(framing, 1000 + i as i32, m));
            }
            raw.send(&bytes).await;
            for (i, m) in msgs.iter().enumerate() {
                let f = raw.frame().await;
                check_echo_reply(&f, framing, 1000 + i as i32, m);
            }
            assert!(
                matches!(raw.read(Duration::from_millis(50)).await, Read::Silent),
                "no extra replies"
            );
        }
    }
    assert_no_library_panics();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_and_pingpong_on_one_port_at_once() {
    let addr = start().await;
    let mut grpc = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel::<echo::Request>(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut inbound = grpc.echo(outbound).await.unwrap().into_inner();
    let bidi = tokio::spawn(async move {
        for i in 0..300 {
            let m = format!("bidi {i}");
            tx.send(req(&m)).await.unwrap();
            let got = inbound.next().await.unwrap().unwrap();
            assert_eq!(got.message, m);
        }
        drop(tx);
        assert!(
            inbound.next().await.is_none(),
            "the stream ends after the client's half-close"
        );
    });
    let mut callers = Vec::new();
    for t in 0..16 {
        let framing = FRAMINGS[t % FRAMINGS.len()];
        callers.push(tokio::spawn(async move {
            let client = TestServicePingPongClient::with_options(
                addr.to_string(),
                PingPongOptions::default().framing(framing),
            );
            for i in 0..100 {
                let m = format!("t{t}-{i}");
                let r = client.echo_ping_pong(req(&m)).await.unwrap();
                assert_eq!(r.into_inner().message, m);
            }
        }));
    }
    within(60, "ping-pong callers", async {
        for c in callers {
            c.await.unwrap();
        }
    })
    .await;
    within(60, "bidi stream", bidi).await.unwrap();
    assert_no_library_panics();
}

/// A connection whose first bytes start the HTTP/2 preface and then stop is
/// detected as HTTP/2 at once (one byte `P` suffices) and handed to hyper,
/// which waits for the rest of the handshake with no time limit: the
/// server's `idle_timeout` ("also bounds how long a new connection may take
/// to send its first bytes") never closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_http2_preface_is_closed_after_the_idle_timeout() {
    let addr =
        start_with(tonic_thrift::Server::builder().idle_timeout(Duration::from_millis(200))).await;
    let mut w = Witnesses::open(addr).await;
    let preface: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut failures = Vec::new();
    for (name, bytes) in [
        ("`P` only", &preface[..1]),
        ("half the preface", &preface[..12]),
        ("the preface without SETTINGS", preface),
    ] {
        let mut raw = Raw::connect(addr, FrameKind::Framed).await;
        raw.send(bytes).await;
        let start = Instant::now();
        // The server may write its own SETTINGS first: read until EOF.
        let outcome = loop {
            let mut scratch = [0u8; 1024];
            match tokio::time::timeout(Duration::from_secs(2), raw.stream.read(&mut scratch)).await
            {
                Ok(Ok(0)) | Ok(Err(_)) => break None,
                Ok(Ok(_)) => continue,
                Err(_) => break Some(start.elapsed()),
            }
        };
        if let Some(open_for) = outcome {
            failures.push(format!("{name}: still open after {open_for:?}"));
        }
    }
    w.raw = Raw::connect(addr, FrameKind::Framed).await;
    w.check("after incomplete HTTP/2 prefaces").await;
    assert!(
        failures.is_empty(),
        "with idle_timeout(200ms) these connections were not closed within 2 s: {failures:#?}"
    );
}
