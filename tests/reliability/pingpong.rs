//! Reliability tests: see main.rs. Ping-pong (TTHeader, Framed, Buffered):
//! slow senders, slow readers, oversized arguments, long method names, a
//! server that never answers, and a Buffered message trickled in pieces.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_thrift::balance::{BalanceOptions, BreakerConfig, BreakerState};
use tonic_thrift::pingpong::{application_exception, ExceptionKind, PingPongOptions};
use tonic_thrift::transport::{
    encode_frame, read_message_header, write_message_header, Frame, FrameDecoder, FrameKind,
    Framing, MessageHeader, MessageType, TTHeader,
};

tonic_thrift::thrift_service!("idl/echo.thrift");

use echo::test_service_client::TestServicePingPongClient;
use echo::test_service_server::{TestService, TestServiceServer};

type BoxStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

/// What the handler saw: calls started, and calls dropped before finishing
/// (their deadline passed).
#[derive(Default)]
struct Counters {
    calls: AtomicUsize,
    cancelled: AtomicUsize,
}

/// Counts `cancelled` when dropped before `done`.
struct CancelGuard {
    counters: Arc<Counters>,
    done: bool,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if !self.done {
            self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// `EchoPingPong` answers its message, except `big:N` (a reply of N bytes)
/// and `hang` (never answers); every call is counted.
#[derive(Clone, Default)]
struct Handler {
    counters: Arc<Counters>,
}

#[tonic::async_trait]
impl TestService for Handler {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        _: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_client(
        &self,
        _: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_server(&self, _: Request<echo::Request>) -> Result<Response<BoxStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_ping_pong(request).await
    }
    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.counters.calls.fetch_add(1, Ordering::SeqCst);
        let message = request.into_inner().message;
        if let Some(n) = message.strip_prefix("big:") {
            let n: usize = n.parse().unwrap_or(0);
            return Ok(Response::new(echo::Response {
                message: "x".repeat(n).into(),
            }));
        }
        if &*message == "hang" {
            let mut guard = CancelGuard {
                counters: self.counters.clone(),
                done: false,
            };
            tokio::time::sleep(Duration::from_secs(60)).await;
            guard.done = true;
        }
        Ok(Response::new(echo::Response { message }))
    }
}

/// A server on a fresh port with `handler`, configured by `server`.
async fn start(
    server: tonic_thrift::Server,
    service: TestServiceServer<Handler>,
) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        server
            .add_service(service)
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

/// Thrift Binary of `{1: {1: message}}` (the Args of `EchoPingPong`),
/// followed by `extra` fields before the closing STOP.
fn args(message: &str, extra: &[u8]) -> Vec<u8> {
    let mut body = vec![0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01];
    body.put_u32(message.len() as u32);
    body.extend_from_slice(message.as_bytes());
    body.push(0);
    body.extend_from_slice(extra);
    body.push(0);
    body
}

/// One framed CALL of `method` with `body`, seq id `seq`.
fn call_frame(
    framing: Framing,
    header: Option<&TTHeader>,
    method: &str,
    seq: i32,
    body: &[u8],
) -> Vec<u8> {
    let mut message = BytesMut::new();
    write_message_header(
        &mut message,
        &MessageHeader {
            name: method.to_string().into(),
            message_type: MessageType::Call,
            seq_id: seq,
        },
    );
    message.extend_from_slice(body);
    let mut frame = BytesMut::new();
    encode_frame(&mut frame, framing, header, &message).unwrap();
    frame.to_vec()
}

/// Reads one reply frame of `kind` off `stream`, within 10 s.
async fn read_frame(stream: &mut TcpStream, kind: FrameKind) -> Frame {
    let mut decoder = FrameDecoder::new(kind, 64 << 20);
    let mut buf = BytesMut::new();
    let read = async {
        loop {
            if let Some(frame) = decoder.decode(&mut buf).unwrap() {
                return frame;
            }
            assert_ne!(
                stream.read_buf(&mut buf).await.unwrap(),
                0,
                "connection closed"
            );
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("no reply within 10 s")
}

/// Waits up to 10 s for `check` to hold.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `call` to completion within `limit`, else fails naming `what`.
async fn within<T>(limit: Duration, what: &str, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

#[tokio::test]
async fn trickled_large_buffered_message_round_trips() {
    // 1.6 MB of Args: the message, then an unknown field holding 320 000
    // one-byte strings (skipped by the decoder), sent 1 KiB at a time.
    let n = 320_000u32;
    let mut extra = vec![0x0f, 0x00, 0x02, 0x0b];
    extra.put_u32(n);
    for _ in 0..n {
        extra.extend_from_slice(&[0, 0, 0, 1, b'x']);
    }
    let frame = call_frame(
        Framing::Buffered,
        None,
        "EchoPingPong",
        7,
        &args("hi", &extra),
    );
    assert!(frame.len() > 1_600_000);
    let addr = start(
        tonic_thrift::Server::builder(),
        TestServiceServer::new(Handler::default()),
    )
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for (i, piece) in frame.chunks(1024).enumerate() {
        stream.write_all(piece).await.unwrap();
        if i % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let reply = read_frame(&mut stream, FrameKind::Buffered).await;
    let (head, body) = read_message_header(&reply.message).unwrap();
    assert_eq!(head.message_type, MessageType::Reply);
    assert_eq!(head.seq_id, 7);
    // Result {0: Response {1: "hi"}}.
    assert_eq!(
        &body[..],
        b"\x0c\x00\x00\x0b\x00\x01\x00\x00\x00\x02hi\x00\x00"
    );
}

#[tokio::test]
async fn slow_frame_sender_is_cut_off_and_other_clients_are_not() {
    let addr = start(
        tonic_thrift::Server::builder().frame_timeout(Duration::from_millis(500)),
        TestServiceServer::new(Handler::default()),
    )
    .await;
    // One Framed call, a byte every 150 ms: ~7 s for the frame, far over
    // the 500 ms frame timeout, while every byte restarts the idle timer.
    let frame = call_frame(Framing::Framed, None, "EchoPingPong", 1, &args("slow", &[]));
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut rx, mut tx) = stream.into_split();
    let sent = Arc::new(AtomicUsize::new(0));
    let sent_by_writer = sent.clone();
    tokio::spawn(async move {
        for b in frame {
            if tx.write_all(&[b]).await.is_err() {
                return;
            }
            sent_by_writer.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });
    // Meanwhile a normal client on another connection is served.
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default().framing(Framing::Framed),
    );
    let started = Instant::now();
    let closed = async {
        let mut sink = [0u8; 64];
        let read = rx.read(&mut sink).await;
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "the slow frame was answered"
        );
    };
    let normal = async {
        while started.elapsed() < Duration::from_secs(2) {
            let reply = client
                .echo_ping_pong(echo::Request {
                    message: "fast".into(),
                })
                .await
                .unwrap();
            assert_eq!(&*reply.get_ref().message, "fast");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let ((), ()) = within(
        Duration::from_secs(5),
        "closing the slow connection",
        futures_util::future::join(closed, normal),
    )
    .await;
    let frame_len = call_frame(Framing::Framed, None, "EchoPingPong", 1, &args("slow", &[])).len();
    assert!(
        sent.load(Ordering::SeqCst) < frame_len,
        "the whole frame was sent"
    );
}

#[tokio::test]
async fn replies_to_a_client_that_does_not_read_stay_within_the_budget() {
    // Each call answers 1 MiB; the connection may hold 1 MiB of replies
    // waiting and 4 calls in flight.
    let handler = Handler::default();
    let counters = handler.counters.clone();
    let addr = start(
        tonic_thrift::Server::builder()
            .max_pending_reply_bytes(1 << 20)
            .max_in_flight_per_connection(4),
        TestServiceServer::new(handler),
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    // 2 000 pipelined calls, never reading a reply.
    let (_rx, mut tx) = stream.into_split();
    let body = args(&format!("big:{}", 1 << 20), &[]);
    tokio::spawn(async move {
        for seq in 0..2_000 {
            let frame = call_frame(Framing::Framed, None, "EchoPingPong", seq, &body);
            if tx.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    // Let the server run until it stops starting calls.
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = counters.calls.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    // The kernel's socket buffers take a few replies (a few MiB on
    // loopback); past them, the server holds the 1 MiB budget and the
    // replies of its 4 calls in flight, and reads no more requests.
    assert!(last > 0);
    assert!(
        last <= 40,
        "{last} calls started for a client that reads nothing"
    );
}

#[tokio::test]
async fn handler_deadline_fires_while_a_reply_write_is_blocked() {
    let handler = Handler::default();
    let counters = handler.counters.clone();
    let addr = start(
        tonic_thrift::Server::builder(),
        TestServiceServer::new(handler),
    )
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(16 * 1024).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    // A 12 MiB reply the client never reads blocks the server's write; the
    // next call, pipelined behind it, has a 300 ms deadline (TTHeader RPC
    // timeout) and a handler that would wait a minute.
    let mut header = TTHeader::default();
    header.set_int(12, "300");
    let framing = Framing::TTHeader {
        inner_framed: false,
    };
    let mut wire = call_frame(
        framing,
        Some(&header),
        "EchoPingPong",
        1,
        &args(&format!("big:{}", 12 << 20), &[]),
    );
    wire.extend(call_frame(
        framing,
        Some(&header),
        "EchoPingPong",
        2,
        &args("hang", &[]),
    ));
    stream.write_all(&wire).await.unwrap();
    eventually("both calls started", || {
        counters.calls.load(Ordering::SeqCst) == 2
    })
    .await;
    eventually("the hanging handler was cancelled at its deadline", || {
        counters.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;
}

#[tokio::test]
async fn service_decoding_limit_applies_to_every_framing() {
    let addr = start(
        tonic_thrift::Server::builder(),
        TestServiceServer::new(Handler::default()).max_decoding_message_size(1024),
    )
    .await;
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::TTHeader { inner_framed: true },
        Framing::Framed,
        Framing::Buffered,
    ] {
        let client = TestServicePingPongClient::with_options(
            addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        let status = client
            .echo_ping_pong(echo::Request {
                message: "x".repeat(2000).into(),
            })
            .await
            .unwrap_err();
        let e = application_exception(&status).expect("a TApplicationException");
        assert_eq!(e.kind, ExceptionKind::PROTOCOL_ERROR, "{framing:?}: {e:?}");
        assert!(
            e.message.contains("limit of 1024 bytes"),
            "{framing:?}: {e:?}"
        );
        // Under the limit, the same client (and connection) still works.
        let ok = client
            .echo_ping_pong(echo::Request {
                message: "x".repeat(900).into(),
            })
            .await
            .unwrap();
        assert_eq!(ok.get_ref().message.len(), 900);
        assert_eq!(client.idle_connections(), 1, "{framing:?}");
    }
}

#[tokio::test]
async fn unknown_method_names_are_not_echoed_whole() {
    let addr = start(
        tonic_thrift::Server::builder(),
        TestServiceServer::new(Handler::default()),
    )
    .await;
    let name = "N".repeat(1 << 20);
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::Framed,
    ] {
        let mut header = TTHeader::default();
        header.set_string("isn", "TestService");
        let header = matches!(framing, Framing::TTHeader { .. }).then_some(header);
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let frame = call_frame(framing, header.as_ref(), &name, 3, &args("hi", &[]));
        stream.write_all(&frame).await.unwrap();
        let kind = match framing {
            Framing::Framed => FrameKind::Framed,
            _ => FrameKind::TTHeader,
        };
        let reply = read_frame(&mut stream, kind).await;
        let (head, body) = read_message_header(&reply.message).unwrap();
        assert_eq!(head.message_type, MessageType::Exception);
        let e = tonic_thrift::pingpong::ApplicationException::decode(body).unwrap();
        assert_eq!(e.kind, ExceptionKind::UNKNOWN_METHOD);
        assert!(e.message.len() < 300, "{} bytes", e.message.len());
        assert!(
            e.message.contains(&format!("{}…", "N".repeat(128))),
            "{}",
            e.message
        );
    }
}

/// A server that accepts connections and reads everything, answering nothing.
async fn silent_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = vec![0u8; 8192];
                while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
            });
        }
    });
    addr
}

fn hello() -> echo::Request {
    echo::Request {
        message: "hello".into(),
    }
}

#[tokio::test]
async fn silent_server_fails_calls_at_the_read_timeout_and_frees_the_pool() {
    let addr = silent_server().await;
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default()
            .read_timeout(Duration::from_millis(200))
            .max_connections(2),
    );
    // Three times the pool size, at once: all fail, none hangs.
    let calls = (0..6).map(|_| {
        let client = client.clone();
        async move { client.echo_ping_pong(hello()).await }
    });
    let results = within(
        Duration::from_secs(5),
        "six calls on a pool of two",
        futures_util::future::join_all(calls),
    )
    .await;
    for r in results {
        let status = r.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(status.message().contains("read timeout"), "{status:?}");
    }
    // The pool is usable afterwards.
    let status = within(
        Duration::from_secs(5),
        "a later call",
        client.echo_ping_pong(hello()),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

#[tokio::test]
async fn read_timeouts_open_the_circuit_breaker() {
    let addr = silent_server().await;
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([addr.to_string()]).breaker(
            BreakerConfig::new()
                .min_samples(5)
                .error_rate(0.5)
                .cool_down(Duration::from_secs(30)),
        ),
        PingPongOptions::default().read_timeout(Duration::from_millis(100)),
    );
    for _ in 0..5 {
        let status = client.echo_ping_pong(hello()).await.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    }
    let status = within(
        Duration::from_secs(1),
        "a call on an open circuit",
        client.echo_ping_pong(hello()),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("circuit open"), "{status:?}");
    let breakers = &client.balance_status().unwrap().instances[0].breakers;
    assert!(
        breakers.iter().any(|(_, s)| *s == BreakerState::Open),
        "{breakers:?}"
    );
}
