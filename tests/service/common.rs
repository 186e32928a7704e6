//! Shared by the service tests: an echo handler for `idl/echo.thrift` that
//! can report what its inbound streams yield, a server on 127.0.0.1:0 that
//! stops on a oneshot, a raw gRPC client with a pass-through bytes codec
//! (arbitrary paths, payloads and content-types), and hand-written Thrift
//! Binary encodings to compare wire bytes with.
//!
//! The handler's behaviour, by method:
//!
//! * `Echo` (bidirectional): echoes each message; on a message `"stop"` it
//!   ends the response with `ABORTED: stop`; an inbound error ends the
//!   response with that error. Its inbound stream is read by a
//!   task of its own, so it sees a client's cancel or disconnect even when
//!   nobody reads the responses.
//! * `EchoClient`: answers the messages joined with `" "`.
//! * `EchoServer`: for `"N:text"` answers `text0` .. `text{N-1}` (then
//!   `ABORTED: stop` when the text is `stop`); anything else is echoed once.
//! * `EchoUnary`, `EchoPingPong`: echo.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use tokio::sync::{mpsc, oneshot};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

/// What a handler's inbound stream yielded (reported only by handlers
/// built with `Echo::reporting()`).
#[derive(Debug)]
pub enum Event {
    /// A message arrived.
    Message(String),
    /// The inbound stream failed.
    Error(Status),
    /// The inbound stream ended cleanly (the client half-closed).
    End,
}

/// Expands the echo handler `Echo` for the module `echo` in scope at the
/// call site (the macro path or the build.rs path).
#[macro_export]
macro_rules! echo_handler {
    () => {
        use std::pin::Pin as __Pin;

        use futures_util::{Stream as __Stream, StreamExt as __StreamExt};
        use tokio::sync::mpsc as __mpsc;
        use tonic::{Request as __Request, Response as __Response, Status as __Status};

        use $crate::common::Event;

        /// Response streams of the echo handler.
        pub type ResponseStream =
            __Pin<Box<dyn __Stream<Item = Result<echo::Response, __Status>> + Send>>;

        /// The echo handler (see the module docs of `common`).
        #[derive(Default, Clone)]
        pub struct Echo {
            events: Option<__mpsc::UnboundedSender<Event>>,
        }

        #[allow(dead_code)]
        impl Echo {
            /// A handler that reports what its inbound streams yield.
            pub fn reporting() -> (Self, __mpsc::UnboundedReceiver<Event>) {
                let (tx, rx) = __mpsc::unbounded_channel();
                (Echo { events: Some(tx) }, rx)
            }

            fn report(&self, e: Event) {
                if let Some(tx) = &self.events {
                    let _ = tx.send(e);
                }
            }
        }

        /// `Request { message }`.
        #[allow(dead_code)]
        pub fn req(message: impl Into<String>) -> echo::Request {
            echo::Request {
                message: message.into().into(),
            }
        }

        #[tonic::async_trait]
        impl echo::test_service_server::TestService for Echo {
            type EchoStream = ResponseStream;
            type EchoServerStream = ResponseStream;

            async fn echo(
                &self,
                request: __Request<tonic::Streaming<echo::Request>>,
            ) -> Result<__Response<Self::EchoStream>, __Status> {
                let mut inbound = request.into_inner();
                let (tx, rx) = __mpsc::channel(16);
                let me = self.clone();
                tokio::spawn(async move {
                    // Keep reading after the response is gone: the inbound
                    // stream must still end (with an error on a cancel).
                    loop {
                        match inbound.next().await {
                            Some(Ok(m)) => {
                                let text = m.message.to_string();
                                me.report(Event::Message(text.clone()));
                                if text == "stop" {
                                    let _ = tx.send(Err(__Status::aborted("stop"))).await;
                                    return;
                                }
                                let _ = tx.send(Ok(echo::Response { message: m.message })).await;
                            }
                            Some(Err(s)) => {
                                me.report(Event::Error(s.clone()));
                                let _ = tx.send(Err(s)).await;
                                return;
                            }
                            None => {
                                me.report(Event::End);
                                return;
                            }
                        }
                    }
                });
                let out = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|item| (item, rx))
                });
                Ok(__Response::new(Box::pin(out)))
            }

            async fn echo_client(
                &self,
                request: __Request<tonic::Streaming<echo::Request>>,
            ) -> Result<__Response<echo::Response>, __Status> {
                let mut inbound = request.into_inner();
                let mut words = Vec::new();
                loop {
                    match inbound.next().await {
                        Some(Ok(m)) => {
                            self.report(Event::Message(m.message.to_string()));
                            words.push(m.message.to_string());
                        }
                        Some(Err(s)) => {
                            self.report(Event::Error(s.clone()));
                            return Err(s);
                        }
                        None => {
                            self.report(Event::End);
                            break;
                        }
                    }
                }
                Ok(__Response::new(echo::Response {
                    message: words.join(" ").into(),
                }))
            }

            async fn echo_server(
                &self,
                request: __Request<echo::Request>,
            ) -> Result<__Response<Self::EchoServerStream>, __Status> {
                let message = request.into_inner().message.to_string();
                let parsed = message
                    .split_once(':')
                    .and_then(|(n, text)| Some((n.parse::<usize>().ok()?, text.to_string())));
                let Some((n, text)) = parsed else {
                    let one = echo::Response {
                        message: message.into(),
                    };
                    return Ok(__Response::new(Box::pin(futures_util::stream::iter([Ok(
                        one,
                    )]))));
                };
                let abort = text == "stop";
                let replies = futures_util::stream::iter(0..n).map(move |i| {
                    Ok(echo::Response {
                        message: format!("{text}{i}").into(),
                    })
                });
                let tail =
                    futures_util::stream::iter(abort.then(|| Err(__Status::aborted("stop"))));
                Ok(__Response::new(Box::pin(replies.chain(tail))))
            }

            async fn echo_unary(
                &self,
                request: __Request<echo::Request>,
            ) -> Result<__Response<echo::Response>, __Status> {
                Ok(__Response::new(echo::Response {
                    message: request.into_inner().message,
                }))
            }

            async fn echo_ping_pong(
                &self,
                request: __Request<echo::Request>,
            ) -> Result<__Response<echo::Response>, __Status> {
                Ok(__Response::new(echo::Response {
                    message: request.into_inner().message,
                }))
            }
        }
    };
}

/// `idl/echo.thrift` through the macro path, with the echo handler.
pub mod macro_path {
    tonic_thrift::thrift_service!("idl/echo.thrift");
    crate::echo_handler!();
}

// ---------------------------------------------------------------------------
// Servers and clients

/// A server running on 127.0.0.1:0 until [`Running::stop`].
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A new connection (a tonic `Channel`) to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(self.url())
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    /// Asks the server to stop and waits (at most 10 s) for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server did not stop within 10 s")
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// Serves `router` (a `tonic_thrift::Server` with services) on 127.0.0.1:0.
pub async fn serve(router: tonic_thrift::server::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_listener(listener, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

/// Serves a plain `tonic::transport::Server` router on 127.0.0.1:0.
pub async fn serve_tonic(router: tonic::transport::server::Router) -> TonicRunning {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    TonicRunning {
        inner_addr: addr,
        stop,
        task,
    }
}

/// A plain tonic server running on 127.0.0.1:0.
pub struct TonicRunning {
    inner_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl TonicRunning {
    /// A new connection to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.inner_addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect")
    }

    /// Asks the server to stop and waits (at most 10 s) for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("server did not stop within 10 s")
            .expect("server task panicked")
            .expect("server failed");
    }
}

/// Polls `cond` until it holds; panics if it does not within `limit`.
pub async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let res = tokio::time::timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(res.is_ok(), "{what}: not within {limit:?}");
}

/// The next event that ends an inbound stream (`Error` or `End`), skipping
/// messages; panics if none comes within `limit`.
pub async fn stream_end(events: &mut mpsc::UnboundedReceiver<Event>, limit: Duration) -> Event {
    tokio::time::timeout(limit, async {
        loop {
            match events.recv().await {
                Some(Event::Message(_)) => continue,
                Some(e) => return e,
                None => panic!("the handler is gone"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the handler's inbound stream did not end within {limit:?}"))
}

/// The next event; panics if none comes within 10 s.
pub async fn next_event(events: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("no handler event within 10 s")
        .expect("the handler is gone")
}

// ---------------------------------------------------------------------------
// A raw gRPC client

/// A pass-through codec: the gRPC message payload is the bytes as given.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

/// Encoder/decoder half of [`BytesCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCoder;

impl Encoder for BytesCoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for BytesCoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCoder;
    type Decoder = BytesCoder;

    fn encoder(&mut self) -> BytesCoder {
        BytesCoder
    }

    fn decoder(&mut self) -> BytesCoder {
        BytesCoder
    }
}

/// A transport that sets the request's `content-type` (tonic's client
/// writes `application/grpc`; this makes the test say what is sent).
#[derive(Debug, Clone)]
pub struct WithContentType<S> {
    inner: S,
    content_type: &'static str,
}

impl<S> WithContentType<S> {
    /// Sends every request over `inner` with `content_type`.
    pub fn new(inner: S, content_type: &'static str) -> Self {
        WithContentType {
            inner,
            content_type,
        }
    }
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for WithContentType<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> S::Future {
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type),
        );
        self.inner.call(req)
    }
}

/// A raw gRPC client over `channel` sending `content-type: application/grpc`,
/// as a generic gRPC client does.
pub fn raw_client(channel: Channel) -> tonic::client::Grpc<WithContentType<Channel>> {
    tonic::client::Grpc::new(WithContentType::new(channel, "application/grpc"))
}

/// A raw unary call: `payload` to `path`; the reply's bytes and metadata.
pub async fn raw_unary(
    grpc: &mut tonic::client::Grpc<WithContentType<Channel>>,
    path: &str,
    payload: impl Into<Bytes>,
) -> Result<tonic::Response<Bytes>, Status> {
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("not ready: {e}")))?;
    let path = http::uri::PathAndQuery::try_from(path.to_string()).expect("path");
    grpc.unary(tonic::Request::new(payload.into()), path, BytesCodec)
        .await
}

/// A raw bidirectional call sending `payloads`; all replies, or the status
/// the call ended with (with the replies before it).
pub async fn raw_streaming(
    grpc: &mut tonic::client::Grpc<WithContentType<Channel>>,
    path: &str,
    payloads: Vec<Bytes>,
) -> (Vec<Bytes>, Result<(), Status>) {
    use futures_util::StreamExt;
    if let Err(e) = grpc.ready().await {
        return (
            Vec::new(),
            Err(Status::unavailable(format!("not ready: {e}"))),
        );
    }
    let path = http::uri::PathAndQuery::try_from(path.to_string()).expect("path");
    let resp = grpc
        .streaming(
            tonic::Request::new(futures_util::stream::iter(payloads)),
            path,
            BytesCodec,
        )
        .await;
    let mut inbound = match resp {
        Ok(r) => r.into_inner(),
        Err(s) => return (Vec::new(), Err(s)),
    };
    let mut out = Vec::new();
    while let Some(item) = inbound.next().await {
        match item {
            Ok(b) => out.push(b),
            Err(s) => return (out, Err(s)),
        }
    }
    (out, Ok(()))
}

// ---------------------------------------------------------------------------
// Thrift Binary by hand

/// `Request{1: text}` / `Response{1: text}`: `0b 0001 <len:i32> <bytes> 00`.
pub fn thrift_message_struct(text: &str) -> Vec<u8> {
    let mut out = vec![0x0b, 0x00, 0x01];
    out.extend_from_slice(&(text.len() as i32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.push(0x00);
    out
}

/// A struct holding `inner` as struct field `id`: `0c <id:i16> <inner> 00`.
pub fn thrift_wrap(id: i16, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0c];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(inner);
    out.push(0x00);
    out
}

/// The Args of `EchoUnary` / `EchoPingPong` carrying `Request{text}`.
pub fn thrift_args(text: &str) -> Vec<u8> {
    thrift_wrap(1, &thrift_message_struct(text))
}

/// The Result of `EchoUnary` / `EchoPingPong` carrying `Response{text}`.
pub fn thrift_result(text: &str) -> Vec<u8> {
    thrift_wrap(0, &thrift_message_struct(text))
}

/// The `content-type` of a response's (or a status's) metadata.
pub fn content_type(meta: &tonic::metadata::MetadataMap) -> Option<String> {
    meta.get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
