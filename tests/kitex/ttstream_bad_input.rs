//! TTHeader Streaming: bad input at the server, driven by hand over raw TCP
//! connections with the public frame codec (`tonic_thrift::ttstream`).
//!
//! Each case closes only what it must (the connection when its framing is
//! lost, else nothing or the one stream), never panics, and a well-behaved
//! stream, on the same connection where it survives and on another
//! connection opened before the bad input, is still answered.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::pingpong::ApplicationException;
use tonic_thrift::transport::{read_message_header, MessageType};
use tonic_thrift::ttstream::{FrameType, StreamFrame, INT_KEY_FRAME_TYPE};

tonic_thrift::thrift_service!("idl/echo.thrift");

use echo::test_service_server::{TestService, TestServiceServer};

type BoxStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

/// `Echo` echoes each message, except that a first message `stall...` makes
/// it stop reading (and never end; `stall-counted` counts when the call is
/// dropped); `metainfo` answers the transient `TEST_KEY` and sets backward
/// `BACK_KEY`. The other methods are not served.
struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        let meta = MetaInfo::of(&request).cloned();
        let mut inbound = request.into_inner();
        let first = match inbound.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => return Err(e),
            None => return Ok(Response::new(Box::pin(futures_util::stream::empty()))),
        };
        if first.message.starts_with("stall") {
            // Holds the request stream and a drop counter until the call ends.
            let guard = (inbound, Stalled(first.message == "stall-counted"));
            let pending = futures_util::stream::pending().map(move |m| {
                let _ = &guard;
                m
            });
            return Ok(Response::new(Box::pin(pending)));
        }
        if first.message == "metainfo" {
            let seen = meta
                .as_ref()
                .and_then(|m| m.transient("TEST_KEY"))
                .unwrap_or("none")
                .to_owned();
            let reply = futures_util::stream::iter([Ok(echo::Response {
                message: seen.into(),
            })]);
            let mut resp = Response::new(Box::pin(reply) as BoxStream);
            MetaInfo::attach(&mut resp)
                .set_backward("BACK_KEY", "bv")
                .unwrap();
            return Ok(resp);
        }
        let rest = inbound.map(|m| m.map(|m| echo::Response { message: m.message }));
        let first = futures_util::stream::once(async move {
            Ok(echo::Response {
                message: first.message,
            })
        });
        Ok(Response::new(Box::pin(first.chain(rest))))
    }
    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<BoxStream>, Status> {
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
        Ok(Response::new(echo::Response {
            message: request.into_inner().message,
        }))
    }
}

/// Counts the stalled calls whose handler state was dropped.
static STALLED_DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Dropped with a stalled call's response stream; counts when `.0`.
struct Stalled(bool);

impl Drop for Stalled {
    fn drop(&mut self) {
        if self.0 {
            STALLED_DROPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The server's frame limit in these tests.
const MAX_FRAME: usize = 64 * 1024;

/// How long a frame may take to arrive in these tests.
const FRAME_TIMEOUT: Duration = Duration::from_millis(300);

async fn start() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .max_frame_size(MAX_FRAME)
            .frame_timeout(FRAME_TIMEOUT)
            .add_service(TestServiceServer::new(Echo))
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

/// A bare struct `{1: string msg}` (both `Request` and `Response`).
fn message(msg: &str) -> Bytes {
    let mut b = BytesMut::new();
    b.put_slice(&[0x0b, 0x00, 0x01]);
    b.put_u32(msg.len() as u32);
    b.put_slice(msg.as_bytes());
    b.put_u8(0);
    b.freeze()
}

fn header(sid: i32, method: &str) -> StreamFrame {
    let mut f = StreamFrame::new(FrameType::Header, sid, method);
    f.header.set_string("isn", "TestService");
    f
}

fn data(sid: i32, msg: &str) -> StreamFrame {
    StreamFrame::new(FrameType::Data, sid, "Echo").with_payload(message(msg))
}

fn trailer(sid: i32) -> StreamFrame {
    StreamFrame::new(FrameType::Trailer, sid, "Echo")
}

fn wire(frames: &[StreamFrame]) -> Vec<u8> {
    let mut b = BytesMut::new();
    for f in frames {
        f.encode(&mut b).unwrap();
    }
    b.to_vec()
}

struct Conn {
    io: TcpStream,
    buf: BytesMut,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        Conn {
            io: TcpStream::connect(addr).await.unwrap(),
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, frames: &[StreamFrame]) {
        self.io.write_all(&wire(frames)).await.unwrap();
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// The next frame, or `None` when the server closed the connection;
    /// panics after 5 s.
    async fn recv(&mut self) -> Option<StreamFrame> {
        tokio::time::timeout(Duration::from_secs(5), self.recv_patient())
            .await
            .expect("no frame and no close within 5 s")
    }

    /// [`Conn::recv`] without its time limit.
    async fn recv_patient(&mut self) -> Option<StreamFrame> {
        loop {
            if let Some(f) = StreamFrame::decode(&mut self.buf, 16 << 20).unwrap() {
                return Some(f);
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn expect_closed(&mut self) {
        assert_eq!(self.recv().await, None, "connection still open");
    }

    /// A whole bidi stream `sid`: one message echoed, then OK.
    async fn echo_round(&mut self, sid: i32, msg: &str) {
        self.send(&[header(sid, "Echo"), data(sid, msg), trailer(sid)])
            .await;
        let h = self.recv().await.expect("server HEADER");
        assert_eq!((h.frame_type, h.stream_id), (Some(FrameType::Header), sid));
        let d = self.recv().await.expect("server DATA");
        assert_eq!((d.frame_type, d.stream_id), (Some(FrameType::Data), sid));
        assert_eq!(d.payload, message(msg));
        let t = self.recv().await.expect("server TRAILER");
        assert_eq!((t.frame_type, t.stream_id), (Some(FrameType::Trailer), sid));
        assert!(t.payload.is_empty(), "trailer carries an error");
        assert_eq!(t.header.string("biz-status"), None);
    }

    /// HEADER then a TRAILER with an exception; returns the exception.
    async fn expect_refusal(&mut self, sid: i32) -> ApplicationException {
        let h = self.recv().await.expect("server HEADER");
        assert_eq!((h.frame_type, h.stream_id), (Some(FrameType::Header), sid));
        self.expect_exception_trailer(sid).await
    }

    async fn expect_exception_trailer(&mut self, sid: i32) -> ApplicationException {
        let t = self.recv().await.expect("server TRAILER");
        assert_eq!((t.frame_type, t.stream_id), (Some(FrameType::Trailer), sid));
        let (h, body) = read_message_header(&t.payload).unwrap();
        assert_eq!(h.message_type, MessageType::Exception);
        assert_eq!(h.seq_id, sid);
        ApplicationException::decode(body).unwrap()
    }
}

/// A connection opened (and used) before the bad input; see [`still_served`].
async fn bystanders_survive(addr: SocketAddr) -> Conn {
    let mut bystander = Conn::open(addr).await;
    bystander.echo_round(100, "before").await;
    bystander
}

/// After the bad input: the bystander and a new connection still work.
async fn still_served(addr: SocketAddr, mut bystander: Conn) {
    bystander.echo_round(101, "after").await;
    Conn::open(addr).await.echo_round(1, "new").await;
}

#[tokio::test]
async fn a_good_stream_round_trips() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.echo_round(1, "a").await;
    c.echo_round(-7, "negative ids are fine").await;
}

#[tokio::test]
async fn metainfo_arrives_and_backward_metainfo_returns() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    let mut h = header(1, "Echo");
    h.header.set_string("RPC_TRANSIT_TEST_KEY", "tv");
    c.send(&[h, data(1, "metainfo"), trailer(1)]).await;
    let h = c.recv().await.unwrap();
    assert_eq!(h.frame_type, Some(FrameType::Header));
    assert_eq!(h.header.string("RPC_BACKWARD_BACK_KEY"), Some("bv"));
    assert_eq!(c.recv().await.unwrap().payload, message("tv"));
    let t = c.recv().await.unwrap();
    assert_eq!(
        (t.frame_type, t.payload.len()),
        (Some(FrameType::Trailer), 0)
    );
}

#[tokio::test]
async fn truncated_frame_closes_only_its_connection() {
    let addr = start().await;
    let bystander = bystanders_survive(addr).await;
    let mut c = Conn::open(addr).await;
    let w = wire(&[header(1, "Echo")]);
    c.send_raw(&w[..w.len() - 3]).await;
    c.io.shutdown().await.unwrap();
    c.expect_closed().await;
    still_served(addr, bystander).await;
}

#[tokio::test]
async fn a_frame_that_never_completes_closes_its_connection() {
    let addr = start().await;
    let bystander = bystanders_survive(addr).await;
    let mut c = Conn::open(addr).await;
    c.echo_round(1, "ok").await;
    let w = wire(&[header(2, "Echo")]);
    c.send_raw(&w[..10]).await;
    let started = std::time::Instant::now();
    c.expect_closed().await;
    assert!(started.elapsed() >= FRAME_TIMEOUT / 2);
    still_served(addr, bystander).await;
}

#[tokio::test]
async fn broken_framing_closes_the_connection() {
    let addr = start().await;
    let bystander = bystanders_survive(addr).await;
    // The first frame is fine; the second has no STREAMING flag.
    let mut c = Conn::open(addr).await;
    c.echo_round(1, "ok").await;
    let mut w = wire(&[data(1, "x")]);
    w[7] = 0;
    c.send_raw(&w).await;
    c.expect_closed().await;
    // A bad magic.
    let mut c = Conn::open(addr).await;
    c.echo_round(1, "ok").await;
    let mut w = wire(&[data(1, "x")]);
    w[4] = 0x20;
    c.send_raw(&w).await;
    c.expect_closed().await;
    still_served(addr, bystander).await;
}

#[tokio::test]
async fn unknown_frame_type_is_dropped() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    let mut odd = data(1, "odd");
    odd.header.set_int(INT_KEY_FRAME_TYPE, "9");
    let mut none = data(1, "none");
    none.header.ints.retain(|(k, _)| *k != INT_KEY_FRAME_TYPE);
    c.send(&[header(1, "Echo"), odd, none, data(1, "kept"), trailer(1)])
        .await;
    let h = c.recv().await.unwrap();
    assert_eq!(h.frame_type, Some(FrameType::Header));
    let d = c.recv().await.unwrap();
    assert_eq!(d.payload, message("kept"));
    let t = c.recv().await.unwrap();
    assert_eq!(
        (t.frame_type, t.payload.len()),
        (Some(FrameType::Trailer), 0)
    );
    c.echo_round(2, "still here").await;
}

#[tokio::test]
async fn reused_stream_id_ends_that_stream_only() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    // Stream 2 stays open across the bad input on stream 1.
    c.send(&[header(2, "Echo"), data(2, "two")]).await;
    let h = c.recv().await.unwrap();
    assert_eq!((h.frame_type, h.stream_id), (Some(FrameType::Header), 2));
    assert_eq!(c.recv().await.unwrap().payload, message("two"));

    c.send(&[header(1, "Echo"), data(1, "one")]).await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    assert_eq!(c.recv().await.unwrap().payload, message("one"));
    c.send(&[header(1, "Echo")]).await;
    let e = c.expect_exception_trailer(1).await;
    assert_eq!(e.kind.0, 12002);
    assert!(e.message.contains("already in use"), "{}", e.message);

    c.send(&[data(2, "two again"), trailer(2)]).await;
    assert_eq!(c.recv().await.unwrap().payload, message("two again"));
    let t = c.recv().await.unwrap();
    assert_eq!((t.frame_type, t.stream_id), (Some(FrameType::Trailer), 2));
    // The id is free again.
    c.echo_round(1, "reopened").await;
}

#[tokio::test]
async fn data_trailer_and_rst_for_no_stream_are_dropped() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    let rst = StreamFrame::new(FrameType::Rst, 9, "Echo");
    c.send(&[data(7, "early"), trailer(8), rst]).await;
    // The data never became a stream: the same id opens normally.
    c.echo_round(7, "normal").await;
}

#[tokio::test]
async fn data_after_half_close_is_dropped() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo"), trailer(1), data(1, "late")])
        .await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    let t = c.recv().await.unwrap();
    assert_eq!(
        (t.frame_type, t.payload.len()),
        (Some(FrameType::Trailer), 0)
    );
    c.echo_round(2, "fine").await;
}

#[tokio::test]
async fn rst_cancels_the_stream() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo"), data(1, "stall-counted")]).await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    let dropped = STALLED_DROPPED.load(std::sync::atomic::Ordering::SeqCst);
    c.send(&[StreamFrame::new(FrameType::Rst, 1, "Echo")]).await;
    // Nothing more for stream 1; the connection goes on.
    c.echo_round(2, "after rst").await;
    // The RST stopped the call: its handler state is gone.
    tokio::time::timeout(Duration::from_secs(5), async {
        while STALLED_DROPPED.load(std::sync::atomic::Ordering::SeqCst) == dropped {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the reset call was not dropped");
    c.echo_round(1, "id 1 reusable").await;
}

#[tokio::test]
async fn oversized_frame_closes_the_connection() {
    let addr = start().await;
    let bystander = bystanders_survive(addr).await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo")]).await;
    // Only the length prefix is sent: the server must not wait for the rest.
    c.send_raw(&((MAX_FRAME as u32) + 1).to_be_bytes()).await;
    c.expect_closed().await;
    still_served(addr, bystander).await;
}

#[tokio::test]
async fn unknown_method_is_answered_with_its_name() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Missing"), trailer(1)]).await;
    let e = c.expect_refusal(1).await;
    assert_eq!(e.kind.0, 1, "UNKNOWN_METHOD");
    assert!(
        e.message.contains("unknown method `Missing`"),
        "{}",
        e.message
    );
    c.echo_round(2, "next").await;
}

#[tokio::test]
async fn an_unknown_method_is_answered_at_the_first_message_not_before() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Missing")]).await;
    // Nothing yet: Kitex's client would report an answer that beats its
    // first Send as a failure of that Send.
    let early = tokio::time::timeout(Duration::from_millis(300), c.recv_patient()).await;
    assert!(early.is_err(), "answered before any message: {early:?}");
    c.send(&[data(1, "x")]).await;
    let e = c.expect_refusal(1).await;
    assert!(
        e.message.contains("unknown method `Missing`"),
        "{}",
        e.message
    );
    // Later DATA, TRAILER and RST of the refused stream are dropped.
    c.send(&[data(1, "y"), trailer(1)]).await;
    c.echo_round(3, "next").await;
}

#[tokio::test]
async fn non_streaming_method_is_refused_clearly() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "EchoPingPong"), trailer(1)]).await;
    let e = c.expect_refusal(1).await;
    assert!(
        e.message
            .contains("`EchoPingPong` is not a streaming method"),
        "{}",
        e.message
    );
    c.echo_round(2, "next").await;
}

/// A message too large to share a batch (over 4 KiB): each takes a slot
/// of its stream's queue.
fn big(i: usize) -> String {
    format!("m{i}-{}", "x".repeat(8 * 1024))
}

#[tokio::test]
async fn a_stalled_stream_does_not_stall_other_connections() {
    let addr = start().await;
    let bystander = bystanders_survive(addr).await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo"), data(1, "stall")]).await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    // Far more than the queue holds: this connection stops being read.
    // (Messages over 4 KiB are queued one by one, not batched per read.)
    let flood: Vec<StreamFrame> = (0..200).map(|i| data(1, &big(i))).collect();
    c.send(&flood).await;
    still_served(addr, bystander).await;
}

#[tokio::test]
async fn a_stream_whose_handler_stops_reading_is_ended_alone() {
    let addr = start().await;
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo"), data(1, "stall")]).await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    // More than the stream's queue holds: the connection pauses, and after
    // the stall timeout (10 s) stream 1 alone is ended.
    let flood: Vec<StreamFrame> = (0..40).map(|i| data(1, &big(i))).collect();
    c.send(&flood).await;
    c.send(&[header(2, "Echo"), data(2, "waits"), trailer(2)])
        .await;
    let t = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let f = c.recv_patient().await.expect("connection closed");
            if f.stream_id == 1 && f.frame_type == Some(FrameType::Trailer) {
                return f;
            }
        }
    })
    .await
    .expect("stream 1 not ended within 20 s");
    let (_, body) = read_message_header(&t.payload).unwrap();
    let e = ApplicationException::decode(body).unwrap();
    assert!(e.message.contains("receive queue"), "{}", e.message);
    // Stream 2, queued behind it, is answered; the connection goes on.
    let mut got = Vec::new();
    while got.len() < 3 {
        let f = c.recv().await.expect("stream 2 frames");
        if f.stream_id == 2 {
            got.push(f.frame_type);
        }
    }
    assert_eq!(
        got,
        [
            Some(FrameType::Header),
            Some(FrameType::Data),
            Some(FrameType::Trailer)
        ]
    );
    c.echo_round(3, "later").await;
}

#[tokio::test]
async fn shutdown_finishes_open_streams_and_refuses_new_ones() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(Echo))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let mut c = Conn::open(addr).await;
    c.send(&[header(1, "Echo"), data(1, "a")]).await;
    assert_eq!(c.recv().await.unwrap().frame_type, Some(FrameType::Header));
    assert_eq!(c.recv().await.unwrap().payload, message("a"));
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    c.send(&[header(2, "Echo")]).await;
    let e = c.expect_refusal(2).await;
    assert!(e.message.contains("shutting down"), "{}", e.message);
    // Stream 1 still works and ends normally; then the connection closes.
    c.send(&[data(1, "b"), trailer(1)]).await;
    assert_eq!(c.recv().await.unwrap().payload, message("b"));
    let t = c.recv().await.unwrap();
    assert_eq!((t.frame_type, t.stream_id), (Some(FrameType::Trailer), 1));
    c.expect_closed().await;
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server did not stop")
        .unwrap()
        .unwrap();
}

/// Middleware on a generated server sees ttstream calls as such: the same
/// `Call` as over gRPC, with `Transport::TTHeaderStreaming`.
#[tokio::test]
async fn middleware_sees_the_ttstream_transport() {
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};
    use tonic_thrift::call::{Call, CallResponse, Transport};

    #[derive(Clone)]
    struct Record<S> {
        inner: S,
        seen: Arc<Mutex<Vec<(Transport, String)>>>,
    }
    impl<S> tower::Service<Call> for Record<S>
    where
        S: tower::Service<Call, Response = CallResponse, Error = Status>,
    {
        type Response = CallResponse;
        type Error = Status;
        type Future = S::Future;
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
            self.inner.poll_ready(cx)
        }
        fn call(&mut self, call: Call) -> S::Future {
            let info = call.info();
            self.seen
                .lock()
                .unwrap()
                .push((info.transport, info.method.to_string()));
            self.inner.call(call)
        }
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = seen.clone();
    let layer = tower::layer::layer_fn(move |inner| Record {
        inner,
        seen: recorder.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(Echo).layer(layer))
            .serve_with_listener(listener, std::future::pending()),
    );
    Conn::open(addr).await.echo_round(1, "seen").await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [(Transport::TTHeaderStreaming, "Echo".to_string())]);
}
