//! The gRPC interop test server, restated for Thrift payloads: grpc's
//! `TestService` (`idl/interop.thrift`) with the server features of grpc's
//! `doc/interop-test-descriptions.md`, for `examples/interop_client.rs` and
//! `tests/python/grpc_interop_client.py`.
//!
//! Run it with
//!
//! ```sh
//! cargo run --example interop_server -- --addr 127.0.0.1:0
//! ```
//!
//! It prints `LISTENING <addr>` once it accepts connections and serves until
//! Ctrl-C. What it does, feature by feature:
//!
//! - **EmptyCall, UnaryCall, StreamingInputCall, StreamingOutputCall,
//!   FullDuplexCall, HalfDuplexCall** as grpc's servers do: payloads of zeros
//!   of the asked sizes, `interval_us` waited before each response.
//! - **UnimplementedCall** is declared in the IDL and answers UNIMPLEMENTED;
//!   `UnimplementedService` is not served at all (the router answers
//!   UNIMPLEMENTED for the unknown service).
//! - **Echo Status**: a request with `response_status` (code not 0) ends the
//!   call with that code and message; on streams, before that message's
//!   responses.
//! - **Echo Metadata**: `x-grpc-test-echo-initial` comes back in the response
//!   headers and `x-grpc-test-echo-trailing-bin` in the trailers, byte for
//!   byte. Handlers cannot set trailers (in tonic or here), so a tower
//!   wrapper ([`EchoMetadata`]) around the generated server does it, on
//!   every method. The wrapped service is added with
//!   `Server::add_grpc_service`: it is served over HTTP/2 at its full name,
//!   `/testing.TestService/...` (`namespace go testing`), with the generated
//!   server's limits and deadlines, but without the bare `/TestService/...`
//!   route and ping-pong, which no interop case uses.
//! - **CompressedRequest**: `expect_compressed` set and the request not sent
//!   with `grpc-encoding: gzip` is INVALID_ARGUMENT (tonic compresses every
//!   message of a call once the header is set, so the header says it).
//! - **CompressedResponse**: gzip replies to clients that accept it when
//!   `response_compressed` is true, plain ones otherwise (unary calls;
//!   tonic compresses a response stream whole or not at all).
//! - **Deadlines**: the runtime ends a stream with DEADLINE_EXCEEDED when the
//!   caller's `grpc-timeout` passes (timeout_on_sleeping_server).
//!
//! Bounded, as a server any client can reach must be: a payload is at most
//! [`MAX_PAYLOAD`] bytes (one shared buffer of zeros), a message asks for at
//! most [`MAX_RESPONSES`] responses, waits at most [`MAX_INTERVAL`] before
//! each, and HalfDuplexCall holds at most [`MAX_HELD`] messages. Over a
//! bound the call fails with INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming
//! it, and the server keeps serving.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::{Code, Request, Response, Status, Streaming};

tonic_thrift::thrift_service!("idl/interop.thrift");

use interop::test_service_server::{TestService, TestServiceServer};
use interop::{
    EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, SimpleResponse,
    StreamingInputCallRequest, StreamingInputCallResponse, StreamingOutputCallRequest,
    StreamingOutputCallResponse,
};

/// Largest payload body the server sends (bytes): well under the 4 MiB
/// receive limit of gRPC clients, and above every size the cases ask for.
const MAX_PAYLOAD: usize = 2 << 20;
/// Most responses one request message may ask for.
const MAX_RESPONSES: usize = 1000;
/// Longest wait before one response (`interval_us`).
const MAX_INTERVAL: Duration = Duration::from_secs(10);
/// Most messages HalfDuplexCall holds before answering.
const MAX_HELD: usize = 1000;

/// The initial metadata key echoed in the response headers.
const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
/// The metadata key echoed in the trailers.
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";

/// The bytes every payload is cut from (zeros, in the binary's zeroed data).
static ZEROS: [u8; MAX_PAYLOAD] = [0; MAX_PAYLOAD];

type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<StreamingOutputCallResponse, Status>> + Send>>;

/// A payload of `size` zeros, or why not.
fn payload(size: i32) -> Result<Payload, Status> {
    let size = usize::try_from(size).map_err(|_| {
        Status::invalid_argument(format!("a payload size must not be negative; got {size}"))
    })?;
    if size > MAX_PAYLOAD {
        return Err(Status::resource_exhausted(format!(
            "payload size {size} is over this server's cap of {MAX_PAYLOAD} bytes"
        )));
    }
    Ok(Payload {
        body: Bytes::from_static(&ZEROS[..size]),
    })
}

/// The status `response_status` asks for; `None` for none or code 0 (OK).
fn echo_status(status: &Option<EchoStatus>) -> Option<Status> {
    let s = status.as_ref().filter(|s| s.code != 0)?;
    Some(Status::new(Code::from(s.code), s.message.to_string()))
}

/// CompressedRequest: INVALID_ARGUMENT when the request had to come
/// compressed and did not.
fn check_compressed<T>(req: &Request<T>, expect: Option<bool>) -> Result<(), Status> {
    if expect != Some(true) {
        return Ok(());
    }
    let encoding = req
        .metadata()
        .get("grpc-encoding")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    if encoding == "identity" {
        return Err(Status::invalid_argument(
            "expect_compressed is set but the request was not compressed (no grpc-encoding)",
        ));
    }
    Ok(())
}

/// The responses one request message asks for, in order, each after its
/// `interval_us`; checked against the bounds before any is sent.
fn responses(params: Vec<ResponseParameters>) -> Result<ResponseStream, Status> {
    if params.len() > MAX_RESPONSES {
        return Err(Status::resource_exhausted(format!(
            "{} response_parameters is over this server's cap of {MAX_RESPONSES}",
            params.len()
        )));
    }
    let mut planned = Vec::with_capacity(params.len());
    for p in &params {
        let wait = u64::try_from(p.interval_us)
            .map(Duration::from_micros)
            .map_err(|_| {
                Status::invalid_argument(format!(
                    "interval_us must not be negative; got {}",
                    p.interval_us
                ))
            })?;
        if wait > MAX_INTERVAL {
            return Err(Status::invalid_argument(format!(
                "interval_us {} is over this server's cap of {} s",
                p.interval_us,
                MAX_INTERVAL.as_secs()
            )));
        }
        planned.push((wait, payload(p.size)?));
    }
    Ok(Box::pin(futures_util::stream::iter(planned).then(
        |(wait, payload)| async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok(StreamingOutputCallResponse {
                payload: Some(payload),
            })
        },
    )))
}

/// The responses to one message of a stream: its status if it asks for
/// one (ending the call), else its responses.
fn answer(m: StreamingOutputCallRequest) -> ResponseStream {
    if let Some(status) = echo_status(&m.response_status) {
        return Box::pin(futures_util::stream::once(async move { Err(status) }));
    }
    match responses(m.response_parameters) {
        Ok(s) => s,
        Err(status) => Box::pin(futures_util::stream::once(async move { Err(status) })),
    }
}

/// Ends `stream` at its first error (the call's final status).
fn until_error(stream: ResponseStream) -> ResponseStream {
    Box::pin(futures_util::stream::unfold(
        Some(stream),
        |state| async move {
            let mut stream = state?;
            let item = stream.next().await?;
            let next = item.is_ok().then_some(stream);
            Some((item, next))
        },
    ))
}

struct Interop;

#[tonic::async_trait]
impl TestService for Interop {
    type StreamingOutputCallStream = ResponseStream;
    type FullDuplexCallStream = ResponseStream;
    type HalfDuplexCallStream = ResponseStream;

    async fn empty_call(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        Ok(Response::new(Empty {}))
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        check_compressed(&request, request.get_ref().expect_compressed)?;
        let req = request.into_inner();
        if let Some(status) = echo_status(&req.response_status) {
            return Err(status);
        }
        let mut response = Response::new(SimpleResponse {
            payload: Some(payload(req.response_size)?),
        });
        if req.response_compressed != Some(true) {
            response.disable_compression();
        }
        Ok(response)
    }

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<Self::StreamingOutputCallStream>, Status> {
        let req = request.into_inner();
        if let Some(status) = echo_status(&req.response_status) {
            return Err(status);
        }
        Ok(Response::new(responses(req.response_parameters)?))
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let compressed = check_compressed(&request, Some(true)).is_ok();
        let mut inbound = request.into_inner();
        let mut total: u64 = 0;
        while let Some(m) = inbound.next().await {
            let m = m?;
            if m.expect_compressed == Some(true) && !compressed {
                return Err(Status::invalid_argument(
                    "expect_compressed is set but the request was not compressed (no grpc-encoding)",
                ));
            }
            total += m.payload.map_or(0, |p| p.body.len() as u64);
        }
        let aggregated_payload_size = i32::try_from(total).map_err(|_| {
            Status::resource_exhausted(format!(
                "the aggregated payload size {total} does not fit the i32 of the response"
            ))
        })?;
        Ok(Response::new(StreamingInputCallResponse {
            aggregated_payload_size,
        }))
    }

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Self::FullDuplexCallStream>, Status> {
        // Each message answered as it arrives, its responses before the
        // next message is read; the first error ends the call.
        let inbound = request.into_inner();
        let replies = inbound
            .map(|m| match m {
                Ok(m) => answer(m),
                Err(e) => Box::pin(futures_util::stream::once(async move { Err(e) })),
            })
            .flatten();
        Ok(Response::new(until_error(Box::pin(replies))))
    }

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<Self::HalfDuplexCallStream>, Status> {
        let mut inbound = request.into_inner();
        let mut held = Vec::new();
        while let Some(m) = inbound.next().await {
            if held.len() == MAX_HELD {
                return Err(Status::resource_exhausted(format!(
                    "HalfDuplexCall holds at most {MAX_HELD} messages before half-close"
                )));
            }
            held.push(m?);
        }
        let replies = futures_util::stream::iter(held).map(answer).flatten();
        Ok(Response::new(until_error(Box::pin(replies))))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "UnimplementedCall is declared by TestService and not implemented by this server",
        ))
    }
}

/// Echo Metadata around a gRPC service: copies `x-grpc-test-echo-initial`
/// from the request into the response headers and
/// `x-grpc-test-echo-trailing-bin` into the trailers (into the headers of
/// a trailers-only response).
#[derive(Clone)]
struct EchoMetadata<S>(S);

impl<S: NamedService> NamedService for EchoMetadata<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> tower::Service<http::Request<B>> for EchoMetadata<S>
where
    S: tower::Service<
        http::Request<B>,
        Response = http::Response<tonic::body::Body>,
        Error = Infallible,
    >,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let initial = req.headers().get(ECHO_INITIAL).cloned();
        let trailing = req.headers().get(ECHO_TRAILING).cloned();
        let fut = tower::Service::call(&mut self.0, req);
        Box::pin(async move {
            let mut resp = fut.await?;
            if let Some(v) = initial {
                resp.headers_mut()
                    .insert(HeaderName::from_static(ECHO_INITIAL), v);
            }
            let Some(v) = trailing else {
                return Ok(resp);
            };
            if resp.headers().contains_key("grpc-status") {
                // Trailers-only: these headers are the trailers.
                resp.headers_mut()
                    .insert(HeaderName::from_static(ECHO_TRAILING), v);
                return Ok(resp);
            }
            Ok(resp.map(|body| {
                tonic::body::Body::new(WithTrailer {
                    body,
                    extra: Some(v),
                })
            }))
        })
    }
}

/// A response body that adds `x-grpc-test-echo-trailing-bin` to its
/// trailers (sending trailers of its own if the body ends without any).
struct WithTrailer {
    body: tonic::body::Body,
    extra: Option<HeaderValue>,
}

impl http_body::Body for WithTrailer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(match frame.into_trailers() {
                Ok(mut trailers) => {
                    if let Some(v) = self.extra.take() {
                        trailers.insert(HeaderName::from_static(ECHO_TRAILING), v);
                    }
                    http_body::Frame::trailers(trailers)
                }
                Err(frame) => frame,
            }))),
            Poll::Ready(None) => Poll::Ready(self.extra.take().map(|v| {
                let mut trailers = HeaderMap::new();
                trailers.insert(HeaderName::from_static(ECHO_TRAILING), v);
                Ok(http_body::Frame::trailers(trailers))
            })),
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.extra.is_none() && self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

const USAGE: &str = "usage: interop_server [--addr HOST:PORT]

  --addr HOST:PORT   where to listen (default 127.0.0.1:0)

Serves testing.TestService (grpc's TestService in Thrift, idl/interop.thrift) for the gRPC interop
cases over Thrift payloads; prints `LISTENING <addr>` once listening.";

fn parse_args() -> Result<std::net::SocketAddr, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = "127.0.0.1:0".to_string();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--addr" | "-addr" => {
                addr = args
                    .next()
                    .ok_or(format!("--addr needs a value\n{USAGE}"))?
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    addr.parse()
        .map_err(|e| format!("invalid --addr `{addr}`: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let addr = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("interop_server: {e}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "LISTENING {}", listener.local_addr()?)?;
        out.flush()?;
    }
    let service = TestServiceServer::new(Interop)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    tonic_thrift::Server::builder()
        .add_grpc_service(EchoMetadata(service))
        .serve_with_listener(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
