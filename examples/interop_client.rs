//! The gRPC interop test client, restated for Thrift payloads: the cases of
//! grpc's `doc/interop-test-descriptions.md` with grpc's names, requests and
//! assertions, over `idl/interop.thrift` (grpc's `TestService` in Thrift),
//! against `examples/interop_server.rs` or any server with its features.
//!
//! Run it with
//!
//! ```sh
//! cargo run --example interop_server -- --addr 127.0.0.1:50051 &
//! cargo run --example interop_client -- --addr 127.0.0.1:50051 --case all
//! cargo run --example interop_client -- --addr 127.0.0.1:50051 --case large_unary
//! cargo run --example interop_client -- --case list
//! ```
//!
//! It prints one line per case, `PASS <case>` or `FAIL <case>: <why>`, and
//! exits 0 only if every case it ran passed (1 otherwise, 2 on bad
//! arguments such as an unknown case). A case that hangs fails after 20 s.
//!
//! Where tonic differs from grpc's own libraries, the case says how it is
//! restated:
//! - **cancel_after_begin / cancel_after_first_response**: tonic has no
//!   `cancel()`; a call is cancelled by dropping it, which resets the HTTP/2
//!   stream (RST_STREAM CANCEL). The case checks the call was still in
//!   progress when cancelled (CANCELLED is the client's own status, in grpc
//!   as here), then that the channel still serves a call.
//! - **Metadata and compression flags** are read off the wire: each case's
//!   client runs over a [`Probe`] transport that records the response
//!   headers, the trailers and the flag byte of every gRPC message, so
//!   custom_metadata checks initial and trailing metadata apart (tonic
//!   merges them for unary calls) and server_compressed_unary checks the
//!   compressed flag itself.
//! - **Not run**: client_compressed_streaming and server_compressed_streaming
//!   need a different compression for each message of one stream, which
//!   tonic cannot send (it compresses a whole stream or none of it).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use http::HeaderMap;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

tonic_thrift::thrift_service!("idl/interop.thrift");

use interop::test_service_client::TestServiceClient;
use interop::unimplemented_service_client::UnimplementedServiceClient;
use interop::{
    EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest, StreamingInputCallRequest,
    StreamingOutputCallRequest, StreamingOutputCallResponse,
};

/// Every case, in the order `--case all` runs them.
const CASES: [&str; 16] = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
];

/// A case that runs longer fails.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);
/// The deadline of each call of a case that does not set its own.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// large_unary's request payload and response size.
const LARGE_REQUEST: usize = 271_828;
const LARGE_RESPONSE: i32 = 314_159;
/// client_streaming's request payloads (and ping_pong's), summing to 74922.
const INPUT_SIZES: [usize; 4] = [27_182, 8, 1_828, 45_904];
/// server_streaming's response sizes (and ping_pong's).
const OUTPUT_SIZES: [i32; 4] = [31_415, 9, 2_653, 58_979];

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];

const STATUS_MESSAGE: &str = "test status message";
const SPECIAL_STATUS_MESSAGE: &str =
    "\t\ntest with whitespace\r\nand Unicode BMP \u{263A} and non-BMP \u{1F608}\t\n";

// ------------------------------------------------------------------ wire probe

/// What one call's response looked like on the wire.
#[derive(Default, Debug)]
struct Wire {
    headers: Option<HeaderMap>,
    trailers: Option<HeaderMap>,
    /// The flag byte of each gRPC message received (1: compressed).
    flags: Vec<u8>,
}

type WireLog = Arc<Mutex<Wire>>;

fn wire(log: &WireLog) -> std::sync::MutexGuard<'_, Wire> {
    // A poisoned lock only means another thread panicked while holding
    // it; the record is still readable.
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tonic [`Channel`] that records each response's headers, trailers and
/// message flags in a [`WireLog`].
#[derive(Clone)]
struct Probe {
    inner: Channel,
    log: WireLog,
}

impl tower::Service<http::Request<tonic::body::Body>> for Probe {
    type Response = http::Response<ProbeBody>;
    type Error = tonic::transport::Error;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let fut = self.inner.call(req);
        let log = self.log.clone();
        Box::pin(async move {
            let resp = fut.await?;
            wire(&log).headers = Some(resp.headers().clone());
            Ok(resp.map(|inner| ProbeBody {
                inner,
                log,
                header: Vec::with_capacity(5),
                remaining: 0,
            }))
        })
    }
}

/// A response body that passes everything through and records the gRPC
/// message flags (the first byte of each 5-byte message prefix) and the
/// trailers.
struct ProbeBody {
    inner: tonic::body::Body,
    log: WireLog,
    /// The bytes of a message prefix read so far.
    header: Vec<u8>,
    /// Bytes of the current message still to skip.
    remaining: usize,
}

impl ProbeBody {
    fn scan(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(data.len());
                data = &data[n..];
                self.remaining -= n;
                continue;
            }
            let n = (5 - self.header.len()).min(data.len());
            self.header.extend_from_slice(&data[..n]);
            data = &data[n..];
            if let [flag, a, b, c, d] = self.header[..] {
                wire(&self.log).flags.push(flag);
                self.remaining = u32::from_be_bytes([a, b, c, d]) as usize;
                self.header.clear();
            }
        }
    }
}

impl http_body::Body for ProbeBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let data = data.clone();
                self.scan(&data);
            } else if let Some(trailers) = frame.trailers_ref() {
                wire(&self.log).trailers = Some(trailers.clone());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

// ------------------------------------------------------------------ helpers

/// The server under test.
struct Target {
    channel: Channel,
}

impl Target {
    /// A fresh client with its own wire record.
    fn client(&self) -> (TestServiceClient<Probe>, WireLog) {
        let log = WireLog::default();
        let probe = Probe {
            inner: self.channel.clone(),
            log: log.clone(),
        };
        (TestServiceClient::new(probe), log)
    }
}

type CaseResult = Result<(), String>;

/// `request` under the default call deadline.
fn call<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(CALL_TIMEOUT);
    request
}

fn zeros(size: usize) -> Option<Payload> {
    Some(Payload {
        body: Bytes::from(vec![0u8; size]),
    })
}

fn describe(s: &Status) -> String {
    format!("{:?} ({}) {:?}", s.code(), s.code() as i32, s.message())
}

fn failed(what: &str) -> impl FnOnce(Status) -> String + '_ {
    move |s| format!("{what} failed: {}", describe(&s))
}

/// The payload has `size` bytes, all zero.
fn check_payload(what: &str, payload: &Option<Payload>, size: i32) -> CaseResult {
    let Some(p) = payload else {
        return Err(format!("{what}: the response has no payload"));
    };
    if p.body.len() as i64 != i64::from(size) {
        return Err(format!(
            "{what}: payload body is {} bytes, want {size}",
            p.body.len()
        ));
    }
    if let Some(i) = p.body.iter().position(|&b| b != 0) {
        return Err(format!("{what}: payload byte {i} is not zero"));
    }
    Ok(())
}

/// `result` failed with `code` (and `message`, when given).
fn expect_status<T>(
    what: &str,
    result: Result<T, Status>,
    code: Code,
    message: Option<&str>,
) -> CaseResult {
    match result {
        Ok(_) => Err(format!("{what} succeeded; want {code:?}")),
        Err(s) if s.code() != code => Err(format!("{what}: got {}, want {code:?}", describe(&s))),
        Err(s) => match message {
            Some(m) if s.message() != m => Err(format!(
                "{what}: status message is {:?}, want {m:?}",
                s.message()
            )),
            _ => Ok(()),
        },
    }
}

fn large_request() -> SimpleRequest {
    SimpleRequest {
        response_size: LARGE_RESPONSE,
        payload: zeros(LARGE_REQUEST),
        ..Default::default()
    }
}

fn output_request(size: i32, payload: Option<usize>) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: vec![ResponseParameters {
            size,
            ..Default::default()
        }],
        payload: payload.and_then(zeros),
        ..Default::default()
    }
}

fn echo_status(code: Code, message: &str) -> Option<EchoStatus> {
    Some(EchoStatus {
        code: code as i32,
        message: message.to_string().into(),
    })
}

type Outbound = Pin<Box<dyn Stream<Item = StreamingOutputCallRequest> + Send>>;

/// A request stream fed through a channel: the sender, and the stream.
fn outbound() -> (
    tokio::sync::mpsc::Sender<StreamingOutputCallRequest>,
    Outbound,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    (tx, Box::pin(stream))
}

/// Runs a FullDuplexCall that sends `messages` and half-closes, and
/// collects the responses until the call ends.
async fn full_duplex(
    client: &mut TestServiceClient<Probe>,
    request: Request<Outbound>,
) -> Result<Vec<StreamingOutputCallResponse>, Status> {
    let mut inbound = client.full_duplex_call(request).await?.into_inner();
    let mut out = Vec::new();
    while let Some(m) = inbound.message().await? {
        out.push(m);
    }
    Ok(out)
}

/// The channel still serves after a cancelled call.
async fn still_serves(target: &Target) -> CaseResult {
    let (mut c, _) = target.client();
    c.empty_call(call(Empty {}))
        .await
        .map(drop)
        .map_err(failed("EmptyCall after the cancelled call"))
}

// ------------------------------------------------------------------ cases

async fn empty_unary(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let _: Empty = c
        .empty_call(call(Empty {}))
        .await
        .map_err(failed("EmptyCall"))?
        .into_inner();
    Ok(())
}

async fn large_unary(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let r = c
        .unary_call(call(large_request()))
        .await
        .map_err(failed("UnaryCall"))?
        .into_inner();
    check_payload("UnaryCall", &r.payload, LARGE_RESPONSE)
}

async fn client_compressed_unary(t: &Target) -> CaseResult {
    let expecting = |expect| SimpleRequest {
        expect_compressed: Some(expect),
        ..large_request()
    };
    // The feature probe: uncompressed but claiming otherwise.
    let (mut plain, _) = t.client();
    expect_status(
        "the uncompressed probe with expect_compressed",
        plain.unary_call(call(expecting(true))).await,
        Code::InvalidArgument,
        None,
    )?;
    let (gzip, _) = t.client();
    let mut gzip = gzip.send_compressed(CompressionEncoding::Gzip);
    let r = gzip
        .unary_call(call(expecting(true)))
        .await
        .map_err(failed("the compressed UnaryCall"))?
        .into_inner();
    check_payload("the compressed UnaryCall", &r.payload, LARGE_RESPONSE)?;
    let r = plain
        .unary_call(call(expecting(false)))
        .await
        .map_err(failed("the uncompressed UnaryCall"))?
        .into_inner();
    check_payload("the uncompressed UnaryCall", &r.payload, LARGE_RESPONSE)
}

async fn server_compressed_unary(t: &Target) -> CaseResult {
    for compressed in [true, false] {
        let what = format!("UnaryCall with response_compressed={compressed}");
        let (c, log) = t.client();
        let mut c = c.accept_compressed(CompressionEncoding::Gzip);
        let r = c
            .unary_call(call(SimpleRequest {
                response_compressed: Some(compressed),
                ..large_request()
            }))
            .await
            .map_err(|s| format!("{what} failed: {}", describe(&s)))?
            .into_inner();
        check_payload(&what, &r.payload, LARGE_RESPONSE)?;
        let flags = wire(&log).flags.clone();
        if flags != [u8::from(compressed)] {
            return Err(format!(
                "{what}: message flags on the wire are {flags:?}, want [{}]",
                u8::from(compressed)
            ));
        }
    }
    Ok(())
}

async fn client_streaming(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let messages: Vec<_> = INPUT_SIZES
        .iter()
        .map(|&n| StreamingInputCallRequest {
            payload: zeros(n),
            ..Default::default()
        })
        .collect();
    let r = c
        .streaming_input_call(call(futures_util::stream::iter(messages)))
        .await
        .map_err(failed("StreamingInputCall"))?
        .into_inner();
    let want: usize = INPUT_SIZES.iter().sum();
    if r.aggregated_payload_size as i64 != want as i64 {
        return Err(format!(
            "aggregated_payload_size is {}, want {want}",
            r.aggregated_payload_size
        ));
    }
    Ok(())
}

async fn server_streaming(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let request = StreamingOutputCallRequest {
        response_parameters: OUTPUT_SIZES
            .iter()
            .map(|&size| ResponseParameters {
                size,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut inbound = c
        .streaming_output_call(call(request))
        .await
        .map_err(failed("StreamingOutputCall"))?
        .into_inner();
    let mut got = Vec::new();
    while let Some(m) = inbound
        .message()
        .await
        .map_err(failed("reading the responses"))?
    {
        got.push(m);
    }
    if got.len() != OUTPUT_SIZES.len() {
        return Err(format!(
            "{} responses, want {}",
            got.len(),
            OUTPUT_SIZES.len()
        ));
    }
    for (i, (m, &size)) in got.iter().zip(&OUTPUT_SIZES).enumerate() {
        check_payload(&format!("response {i}"), &m.payload, size)?;
    }
    Ok(())
}

async fn ping_pong(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let (tx, stream) = outbound();
    let message = |i: usize| output_request(OUTPUT_SIZES[i], Some(INPUT_SIZES[i]));
    let closed = |_| "the request stream closed early".to_string();
    // The first message is queued before the call opens.
    tx.send(message(0)).await.map_err(closed)?;
    let mut inbound = c
        .full_duplex_call(call(stream))
        .await
        .map_err(failed("FullDuplexCall"))?
        .into_inner();
    for (i, &size) in OUTPUT_SIZES.iter().enumerate() {
        if i > 0 {
            tx.send(message(i)).await.map_err(closed)?;
        }
        let m = inbound
            .message()
            .await
            .map_err(|s| format!("waiting for response {i}: {}", describe(&s)))?
            .ok_or_else(|| format!("the call ended after {i} responses, want 4"))?;
        check_payload(&format!("response {i}"), &m.payload, size)?;
    }
    drop(tx);
    match inbound.message().await {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err("a fifth response after half-close".into()),
        Err(s) => Err(format!("after half-close: {}", describe(&s))),
    }
}

async fn empty_stream(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let none: Outbound = Box::pin(futures_util::stream::empty());
    let got = full_duplex(&mut c, call(none))
        .await
        .map_err(failed("FullDuplexCall"))?;
    if !got.is_empty() {
        return Err(format!("{} responses, want 0", got.len()));
    }
    Ok(())
}

async fn timeout_on_sleeping_server(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let (tx, stream) = outbound();
    tx.send(StreamingOutputCallRequest {
        payload: zeros(27_182),
        ..Default::default()
    })
    .await
    .map_err(|_| "the request stream closed early".to_string())?;
    let mut request = Request::new(stream);
    request.set_timeout(Duration::from_millis(1));
    // The request stream stays open (tx lives) while the client waits.
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        let mut inbound = c.full_duplex_call(request).await?.into_inner();
        match inbound.message().await? {
            Some(m) => Err(Status::internal(format!(
                "unexpected response of {} bytes",
                m.payload.map_or(0, |p| p.body.len())
            ))),
            None => Ok(()),
        }
    })
    .await
    .map_err(|_| "no DEADLINE_EXCEEDED 10 s after a 1 ms deadline".to_string())?;
    drop(tx);
    expect_status(
        "FullDuplexCall with a 1 ms deadline",
        outcome,
        Code::DeadlineExceeded,
        None,
    )
}

async fn cancel_after_begin(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let (tx, rx) = tokio::sync::mpsc::channel::<StreamingInputCallRequest>(1);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    // Boxed, so that dropping it below cancels the call there and then.
    let mut call_future = Box::pin(c.streaming_input_call(call(stream)));
    // Begun: the call goes out and waits for a message; then the client
    // cancels it (drops it) without sending one.
    let outcome = tokio::select! {
        r = &mut call_future => r.map(drop).map_err(|s| {
            Status::new(s.code(), format!("the call ended before it was cancelled: {}", s.message()))
        }),
        _ = tokio::time::sleep(Duration::from_millis(200)) => {
            Err(Status::cancelled("cancelled by the client"))
        }
    };
    drop(call_future);
    drop(tx);
    expect_status(
        "StreamingInputCall cancelled after it began",
        outcome,
        Code::Cancelled,
        None,
    )?;
    still_serves(t).await
}

async fn cancel_after_first_response(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let (tx, stream) = outbound();
    tx.send(output_request(31_415, Some(27_182)))
        .await
        .map_err(|_| "the request stream closed early".to_string())?;
    let mut inbound = c
        .full_duplex_call(call(stream))
        .await
        .map_err(failed("FullDuplexCall"))?
        .into_inner();
    let first = inbound
        .message()
        .await
        .map_err(failed("waiting for the first response"))?
        .ok_or("the call ended without a response")?;
    check_payload("the first response", &first.payload, 31_415)?;
    // Cancelled: the response stream and the request stream dropped while
    // the call is open.
    drop(inbound);
    drop(tx);
    still_serves(t).await
}

/// The echoed metadata: initial in `headers`, trailing in `trailers`.
fn check_echoed(what: &str, log: &WireLog) -> CaseResult {
    let (headers, trailers) = {
        let w = wire(log);
        (w.headers.clone().unwrap_or_default(), w.trailers.clone())
    };
    let initial = headers.get(ECHO_INITIAL).and_then(|v| v.to_str().ok());
    if initial != Some(ECHO_INITIAL_VALUE) {
        return Err(format!(
            "{what}: initial metadata {ECHO_INITIAL} is {initial:?}, want {ECHO_INITIAL_VALUE:?}"
        ));
    }
    let Some(trailers) = trailers else {
        return Err(format!("{what}: no trailers"));
    };
    let trailing = MetadataMap::from_headers(trailers)
        .get_bin(ECHO_TRAILING)
        .and_then(|v| v.to_bytes().ok());
    if trailing.as_deref() != Some(&ECHO_TRAILING_VALUE[..]) {
        return Err(format!(
            "{what}: trailing metadata {ECHO_TRAILING} is {trailing:?}, want {ECHO_TRAILING_VALUE:?}"
        ));
    }
    Ok(())
}

fn with_echo_metadata<T>(request: &mut Request<T>) {
    request
        .metadata_mut()
        .insert(ECHO_INITIAL, MetadataValue::from_static(ECHO_INITIAL_VALUE));
    request.metadata_mut().insert_bin(
        ECHO_TRAILING,
        MetadataValue::from_bytes(&ECHO_TRAILING_VALUE),
    );
}

async fn custom_metadata(t: &Target) -> CaseResult {
    // UnaryCall.
    let (mut c, log) = t.client();
    let mut request = call(large_request());
    with_echo_metadata(&mut request);
    let r = c
        .unary_call(request)
        .await
        .map_err(failed("UnaryCall"))?
        .into_inner();
    check_payload("UnaryCall", &r.payload, LARGE_RESPONSE)?;
    check_echoed("UnaryCall", &log)?;

    // FullDuplexCall, one message then half-close.
    let (mut c, log) = t.client();
    let one: Outbound = Box::pin(futures_util::stream::iter([output_request(
        LARGE_RESPONSE,
        Some(LARGE_REQUEST),
    )]));
    let mut request = call(one);
    with_echo_metadata(&mut request);
    let response = c
        .full_duplex_call(request)
        .await
        .map_err(failed("FullDuplexCall"))?;
    let initial = response
        .metadata()
        .get(ECHO_INITIAL)
        .and_then(|v| v.to_str().ok());
    if initial != Some(ECHO_INITIAL_VALUE) {
        return Err(format!(
            "FullDuplexCall: tonic's initial metadata {ECHO_INITIAL} is {initial:?}"
        ));
    }
    let mut inbound = response.into_inner();
    let mut got = Vec::new();
    while let Some(m) = inbound
        .message()
        .await
        .map_err(failed("FullDuplexCall's responses"))?
    {
        got.push(m);
    }
    if got.len() != 1 {
        return Err(format!("FullDuplexCall: {} responses, want 1", got.len()));
    }
    check_payload("FullDuplexCall", &got[0].payload, LARGE_RESPONSE)?;
    let trailers = inbound
        .trailers()
        .await
        .map_err(failed("FullDuplexCall's trailers"))?
        .ok_or("FullDuplexCall: tonic saw no trailers")?;
    if trailers
        .get_bin(ECHO_TRAILING)
        .and_then(|v| v.to_bytes().ok())
        .as_deref()
        != Some(&ECHO_TRAILING_VALUE[..])
    {
        return Err(format!(
            "FullDuplexCall: tonic's trailers lack {ECHO_TRAILING}: {trailers:?}"
        ));
    }
    check_echoed("FullDuplexCall", &log)
}

/// UnaryCall and FullDuplexCall asked to end with UNKNOWN and `message`.
async fn echo_status_case(t: &Target, message: &str, duplex: bool) -> CaseResult {
    let (mut c, _) = t.client();
    let r = c
        .unary_call(call(SimpleRequest {
            response_status: echo_status(Code::Unknown, message),
            ..Default::default()
        }))
        .await;
    expect_status("UnaryCall", r, Code::Unknown, Some(message))?;
    if !duplex {
        return Ok(());
    }
    let one: Outbound = Box::pin(futures_util::stream::iter([StreamingOutputCallRequest {
        response_status: echo_status(Code::Unknown, message),
        ..Default::default()
    }]));
    let r = full_duplex(&mut c, call(one)).await;
    expect_status("FullDuplexCall", r, Code::Unknown, Some(message))
}

async fn unimplemented_method(t: &Target) -> CaseResult {
    let (mut c, _) = t.client();
    let r = c.unimplemented_call(call(Empty {})).await;
    expect_status(
        "TestService/UnimplementedCall",
        r,
        Code::Unimplemented,
        None,
    )
}

async fn unimplemented_service(t: &Target) -> CaseResult {
    let (_, log) = t.client();
    let mut c = UnimplementedServiceClient::new(Probe {
        inner: t.channel.clone(),
        log,
    });
    let r = c.unimplemented_call(call(Empty {})).await;
    expect_status(
        "UnimplementedService/UnimplementedCall",
        r,
        Code::Unimplemented,
        None,
    )
}

async fn run_case(name: &str, t: &Target) -> CaseResult {
    match name {
        "empty_unary" => empty_unary(t).await,
        "large_unary" => large_unary(t).await,
        "client_compressed_unary" => client_compressed_unary(t).await,
        "server_compressed_unary" => server_compressed_unary(t).await,
        "client_streaming" => client_streaming(t).await,
        "server_streaming" => server_streaming(t).await,
        "ping_pong" => ping_pong(t).await,
        "empty_stream" => empty_stream(t).await,
        "timeout_on_sleeping_server" => timeout_on_sleeping_server(t).await,
        "cancel_after_begin" => cancel_after_begin(t).await,
        "cancel_after_first_response" => cancel_after_first_response(t).await,
        "custom_metadata" => custom_metadata(t).await,
        "status_code_and_message" => echo_status_case(t, STATUS_MESSAGE, true).await,
        "special_status_message" => echo_status_case(t, SPECIAL_STATUS_MESSAGE, false).await,
        "unimplemented_method" => unimplemented_method(t).await,
        "unimplemented_service" => unimplemented_service(t).await,
        other => Err(format!("no case named `{other}`")),
    }
}

// ------------------------------------------------------------------ main

const USAGE: &str = "usage: interop_client --addr HOST:PORT [--case all|NAME]
       interop_client --case list

Runs the gRPC interop cases (grpc's doc/interop-test-descriptions.md) over
Thrift payloads (idl/interop.thrift) against an interop server; prints
`PASS <case>` or `FAIL <case>: <why>` per case and exits 0 only if all passed.";

struct Args {
    addr: Option<String>,
    case: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut addr, mut case) = (None, "all".to_string());
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--addr" | "-addr" => addr = Some(value("--addr")?),
            "--case" | "-case" => case = value("--case")?,
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if case != "all" && case != "list" && !CASES.contains(&case.as_str()) {
        return Err(format!(
            "unknown case `{case}`; the cases are: all, {}",
            CASES.join(", ")
        ));
    }
    if addr.is_none() && case != "list" {
        return Err(format!("--addr is required\n{USAGE}"));
    }
    Ok(Args { addr, case })
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("interop_client: {e}");
            std::process::exit(2);
        }
    };
    if args.case == "list" {
        for case in CASES {
            println!("{case}");
        }
        return;
    }
    let addr = args.addr.unwrap_or_default();
    let endpoint = match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(e) => e.connect_timeout(Duration::from_secs(5)),
        Err(e) => {
            eprintln!("interop_client: invalid --addr `{addr}`: {e}");
            std::process::exit(2);
        }
    };
    let target = Target {
        channel: endpoint.connect_lazy(),
    };
    let cases: Vec<&str> = if args.case == "all" {
        CASES.to_vec()
    } else {
        vec![args.case.as_str()]
    };
    let mut failures = 0;
    for case in cases {
        let outcome = tokio::time::timeout(CASE_TIMEOUT, run_case(case, &target))
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "did not finish within {} s",
                    CASE_TIMEOUT.as_secs()
                ))
            });
        match outcome {
            Ok(()) => println!("PASS {case}"),
            Err(why) => {
                failures += 1;
                println!("FAIL {case}: {why}");
            }
        }
    }
    if failures > 0 {
        std::process::exit(1);
    }
}
