//! The exact keys the trace context travels under, as Kitex's
//! obs-opentelemetry writes and reads them: `rpc-transit-<key>` (and the
//! bare key, Kitex's `WithEnableGRPCMetadata`) on gRPC, `RPC_TRANSIT_<key>`
//! on TTHeader and TTHeader Streaming, the key being the propagator's
//! (`traceparent`) or the caller's identity (`service.name`).

use futures_util::StreamExt;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{FutureExt, SpanKind};
use opentelemetry::Context;
use opentelemetry_sdk::trace::SpanData;
use tonic::Request;
use tonic_thrift::transport::TTHeader;
use tonic_thrift_otel::Telemetry;

use crate::support::{
    grpc_client, memory_tracing, pingpong_client, req, serve, spans, ttstream_client,
    TestServiceClient, TestServicePingPongClient,
};

/// `traceparent` of a sampled span.
fn traceparent(span: &SpanData) -> String {
    format!(
        "00-{}-{}-01",
        span.span_context.trace_id(),
        span.span_context.span_id()
    )
}

fn client_span(spans: &[SpanData]) -> &SpanData {
    spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("a client span")
}

fn telemetry_with(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> Telemetry {
    Telemetry::builder()
        .tracer_provider(provider)
        .service_name("gateway")
        .build()
}

#[tokio::test]
async fn grpc_client_sends_rpc_transit_headers_and_plain_metadata() {
    let (provider, exporter) = memory_tracing();
    let telemetry = telemetry_with(&provider);
    let server = serve(&Telemetry::builder().build()).await;
    let mut client = grpc_client(&server.addr.to_string(), &telemetry).await;
    let got = client.echo_unary(req("headers")).await.expect("call");
    let spans = spans(&exporter, 1).await;
    let tp = traceparent(client_span(&spans));
    assert_eq!(
        got.into_inner().message,
        format!(
            "rpc-transit-service.name=gateway\n\
             rpc-transit-traceparent={tp}\n\
             service.name=gateway\n\
             traceparent={tp}"
        )
    );
}

#[tokio::test]
async fn grpc_client_without_plain_metadata_sends_only_rpc_transit_headers() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder()
        .tracer_provider(&provider)
        .grpc_metadata(false)
        .build();
    let server = serve(&Telemetry::builder().build()).await;
    let mut client = grpc_client(&server.addr.to_string(), &telemetry).await;
    let got = client.echo_unary(req("headers")).await.expect("call");
    let spans = spans(&exporter, 1).await;
    let tp = traceparent(client_span(&spans));
    assert_eq!(
        got.into_inner().message,
        format!("rpc-transit-traceparent={tp}")
    );
}

#[tokio::test]
async fn grpc_client_sends_baggage_under_rpc_transit_baggage() {
    let (provider, _exporter) = memory_tracing();
    let telemetry = Telemetry::builder()
        .tracer_provider(&provider)
        .grpc_metadata(false)
        .build();
    let server = serve(&Telemetry::builder().build()).await;
    let mut client = grpc_client(&server.addr.to_string(), &telemetry).await;
    let cx = Context::current_with_baggage([opentelemetry::KeyValue::new("tenant", "t1")]);
    let got = client
        .echo_unary(req("headers"))
        .with_context(cx)
        .await
        .expect("call")
        .into_inner()
        .message
        .to_string();
    let lines: Vec<_> = got.lines().collect();
    assert_eq!(lines.len(), 2, "{got}");
    assert_eq!(lines[0], "rpc-transit-baggage=tenant=t1");
    assert!(lines[1].starts_with("rpc-transit-traceparent=00-"), "{got}");
}

#[tokio::test]
async fn pingpong_client_sends_rpc_transit_ttheader_keys() {
    let (provider, exporter) = memory_tracing();
    let telemetry = telemetry_with(&provider);
    let server = serve(&Telemetry::builder().build()).await;
    let client = pingpong_client(&server.addr.to_string(), &telemetry);
    let got = client.echo_ping_pong(req("headers")).await.expect("call");
    let spans = spans(&exporter, 1).await;
    let tp = traceparent(client_span(&spans));
    assert_eq!(
        got.into_inner().message,
        format!(
            "RPC_TRANSIT_service.name=gateway\n\
             RPC_TRANSIT_traceparent={tp}"
        )
    );
}

#[tokio::test]
async fn ttstream_client_sends_rpc_transit_keys_in_its_header_frame() {
    let (provider, exporter) = memory_tracing();
    let telemetry = telemetry_with(&provider);
    let server = serve(&Telemetry::builder().build()).await;
    let mut client = ttstream_client(&server.addr.to_string(), &telemetry);
    let mut stream = client
        .echo_server(req("headers"))
        .await
        .expect("call")
        .into_inner();
    let got = stream.next().await.expect("one item").expect("ok");
    assert!(stream.next().await.is_none());
    drop(stream);
    let spans = spans(&exporter, 1).await;
    let tp = traceparent(client_span(&spans));
    assert_eq!(
        got.message,
        format!(
            "RPC_TRANSIT_service.name=gateway\n\
             RPC_TRANSIT_traceparent={tp}"
        )
    );
}

const KITEX_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const KITEX_SPAN: &str = "b7ad6b7169203331";
const OTHER_SPAN: &str = "00f067aa0ba902b7";

fn kitex_traceparent(span: &str) -> String {
    format!("00-{KITEX_TRACE}-{span}-01")
}

/// The one server span: its parent is the caller's span, remote, and the
/// caller's `service.name` is its `peer.service`.
fn assert_continues(spans: &[SpanData], parent_span: &str, peer: Option<&str>) {
    let s = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("a server span");
    assert_eq!(s.span_context.trace_id().to_string(), KITEX_TRACE);
    assert_eq!(s.parent_span_id.to_string(), parent_span);
    assert!(s.parent_span_is_remote);
    let got_peer = s
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "peer.service")
        .map(|kv| kv.value.as_str().to_string());
    assert_eq!(got_peer.as_deref(), peer);
}

async fn plain_grpc(addr: std::net::SocketAddr) -> TestServiceClient {
    TestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect")
}

#[tokio::test]
async fn grpc_server_continues_a_kitex_rpc_transit_trace() {
    let (provider, exporter) = memory_tracing();
    let server = serve(&telemetry_with(&provider)).await;
    let mut request = Request::new(req("hi"));
    let md = request.metadata_mut();
    md.insert(
        "rpc-transit-traceparent",
        kitex_traceparent(KITEX_SPAN).parse().expect("value"),
    );
    md.insert(
        "rpc-transit-service.name",
        "kitex-caller".parse().expect("value"),
    );
    plain_grpc(server.addr)
        .await
        .echo_unary(request)
        .await
        .expect("call");
    assert_continues(&spans(&exporter, 1).await, KITEX_SPAN, Some("kitex-caller"));
}

#[tokio::test]
async fn grpc_server_continues_a_plain_metadata_trace_and_prefers_metainfo() {
    let (provider, exporter) = memory_tracing();
    let server = serve(&telemetry_with(&provider)).await;
    let mut request = Request::new(req("hi"));
    request.metadata_mut().insert(
        "traceparent",
        kitex_traceparent(OTHER_SPAN).parse().expect("value"),
    );
    plain_grpc(server.addr)
        .await
        .echo_unary(request)
        .await
        .expect("call");
    assert_continues(&spans(&exporter, 1).await, OTHER_SPAN, None);
    exporter.reset();

    // Both forms: the metainfo one wins, as in Kitex's server middleware.
    let mut request = Request::new(req("hi"));
    let md = request.metadata_mut();
    md.insert(
        "traceparent",
        kitex_traceparent(OTHER_SPAN).parse().expect("value"),
    );
    md.insert(
        "rpc-transit-traceparent",
        kitex_traceparent(KITEX_SPAN).parse().expect("value"),
    );
    plain_grpc(server.addr)
        .await
        .echo_unary(request)
        .await
        .expect("call");
    assert_continues(&spans(&exporter, 1).await, KITEX_SPAN, None);
}

#[tokio::test]
async fn ttheader_server_continues_a_kitex_rpc_transit_trace() {
    let (provider, exporter) = memory_tracing();
    let server = serve(&telemetry_with(&provider)).await;
    let mut request = Request::new(req("hi"));
    let mut header = TTHeader::default();
    header.set_string("RPC_TRANSIT_traceparent", kitex_traceparent(KITEX_SPAN));
    header.set_string("RPC_TRANSIT_service.name", "kitex-caller");
    request.extensions_mut().insert(header);
    TestServicePingPongClient::new(server.addr.to_string())
        .echo_ping_pong(request)
        .await
        .expect("call");
    assert_continues(&spans(&exporter, 1).await, KITEX_SPAN, Some("kitex-caller"));
}

#[tokio::test]
async fn an_uninstrumented_call_gets_a_root_server_span() {
    let (provider, exporter) = memory_tracing();
    let server = serve(&telemetry_with(&provider)).await;
    plain_grpc(server.addr)
        .await
        .echo_unary(req("hi"))
        .await
        .expect("call");
    let spans = spans(&exporter, 1).await;
    assert_eq!(
        spans[0].parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
}
