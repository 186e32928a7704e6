//! Client → server → client → server is one trace, each span the child of
//! the one before, on gRPC, ping-pong TTHeader and TTHeader Streaming.

use opentelemetry::trace::{FutureExt, SpanId, SpanKind, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::trace::SpanData;
use tonic_thrift_otel::Telemetry;

use crate::support::{
    grpc_client, memory_tracing, pingpong_client, req, serve, serve_layer_only, spans,
    TestServiceClient,
};

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// Follows the chain of children from `root`: each step names the span's
/// name, kind and `request.protocol`; all in one trace.
fn assert_chain(spans: &[SpanData], root: &SpanData, steps: &[(&str, SpanKind, &str)]) {
    let mut parent = root;
    for (name, kind, protocol) in steps {
        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_context.span_id())
            .collect();
        assert_eq!(
            children.len(),
            1,
            "one child of {} expected, got {children:#?}",
            parent.name
        );
        let child = children[0];
        assert_eq!(child.name, *name);
        assert_eq!(&child.span_kind, kind, "kind of {name}");
        assert_eq!(
            child.span_context.trace_id(),
            root.span_context.trace_id(),
            "{name} is in the root's trace"
        );
        assert_eq!(
            attr(child, "request.protocol").map(|v| v.as_str().to_string()),
            Some(protocol.to_string()),
            "protocol of {name}"
        );
        assert_eq!(
            child.parent_span_is_remote,
            *kind == SpanKind::Server,
            "a server span's parent is remote, a client span's local"
        );
        if *kind == SpanKind::Server {
            assert_eq!(
                attr(child, "peer.service").map(|v| v.as_str().to_string()),
                Some("gateway".to_string()),
                "the caller's service.name reached {name}"
            );
        }
        parent = child;
    }
}

fn root_of(spans: &[SpanData]) -> &SpanData {
    spans
        .iter()
        .find(|s| s.name == "root" && s.parent_span_id == SpanId::INVALID)
        .expect("the root span")
}

#[tokio::test]
async fn grpc_hop_is_one_trace() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder()
        .tracer_provider(&provider)
        .service_name("gateway")
        .build();
    let leaf = serve(&telemetry).await;
    let mid = serve(&telemetry).await;
    let cx = Context::current_with_span(provider.tracer("test").start("root"));
    let mut client = grpc_client(&mid.addr.to_string(), &telemetry).await;
    let reply = client
        .echo_unary(req(format!("grpc:{}", leaf.addr)))
        .with_context(cx.clone())
        .await
        .expect("call");
    assert_eq!(reply.into_inner().message, "leaf");
    cx.span().end();
    let spans = spans(&exporter, 5).await;
    let unary = "TestService/EchoUnary";
    assert_chain(
        &spans,
        root_of(&spans),
        &[
            (unary, SpanKind::Client, "GRPC"),
            (unary, SpanKind::Server, "GRPC"),
            (unary, SpanKind::Client, "GRPC"),
            (unary, SpanKind::Server, "GRPC"),
        ],
    );
}

#[tokio::test]
async fn pingpong_ttheader_hop_is_one_trace() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder()
        .tracer_provider(&provider)
        .service_name("gateway")
        .build();
    let leaf = serve(&telemetry).await;
    let mid = serve(&telemetry).await;
    let cx = Context::current_with_span(provider.tracer("test").start("root"));
    let client = pingpong_client(&mid.addr.to_string(), &telemetry);
    let reply = client
        .echo_ping_pong(req(format!("pp:{}", leaf.addr)))
        .with_context(cx.clone())
        .await
        .expect("call");
    assert_eq!(reply.into_inner().message, "leaf");
    cx.span().end();
    let spans = spans(&exporter, 5).await;
    let pp = "TestService/EchoPingPong";
    assert_chain(
        &spans,
        root_of(&spans),
        &[
            (pp, SpanKind::Client, "TTHeader"),
            (pp, SpanKind::Server, "TTHeader"),
            (pp, SpanKind::Client, "TTHeader"),
            (pp, SpanKind::Server, "TTHeader"),
        ],
    );
}

#[tokio::test]
async fn mixed_hop_through_ttheader_streaming_is_one_trace() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder()
        .tracer_provider(&provider)
        .service_name("gateway")
        .build();
    let leaf = serve(&telemetry).await;
    let mid = serve(&telemetry).await;
    let cx = Context::current_with_span(provider.tracer("test").start("root"));
    let client = pingpong_client(&mid.addr.to_string(), &telemetry);
    let reply = client
        .echo_ping_pong(req(format!("tts:{}", leaf.addr)))
        .with_context(cx.clone())
        .await
        .expect("call");
    assert_eq!(reply.into_inner().message, "leaf0 leaf1");
    cx.span().end();
    let spans = spans(&exporter, 5).await;
    let pp = "TestService/EchoPingPong";
    let server_stream = "TestService/EchoServer";
    assert_chain(
        &spans,
        root_of(&spans),
        &[
            (pp, SpanKind::Client, "TTHeader"),
            (pp, SpanKind::Server, "TTHeader"),
            (server_stream, SpanKind::Client, "TTHeaderStreaming"),
            (server_stream, SpanKind::Server, "TTHeaderStreaming"),
        ],
    );
}

#[tokio::test]
async fn a_failed_call_marks_both_spans_as_errors() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder().tracer_provider(&provider).build();
    let server = serve(&telemetry).await;
    let mut client = grpc_client(&server.addr.to_string(), &telemetry).await;
    let err = client.echo_unary(req("fail")).await.expect_err("fails");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let spans = spans(&exporter, 2).await;
    for s in &spans {
        match &s.status {
            opentelemetry::trace::Status::Error { description } => {
                assert!(description.contains("no such thing"), "{description}")
            }
            other => panic!("{} {:?}: status {other:?}", s.name, s.span_kind),
        }
        assert_eq!(
            attr(s, "rpc.grpc.status_code").and_then(|v| match v {
                Value::I64(n) => Some(*n),
                _ => None,
            }),
            Some(tonic::Code::NotFound as i64)
        );
    }
    // The client span is the server span's parent.
    let client_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("client");
    let server_span = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .expect("server");
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id()
    );
}

#[tokio::test]
async fn layers_installed_without_their_tracers_still_end_linked_spans() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder().tracer_provider(&provider).build();
    let server = serve_layer_only(&telemetry).await;
    let options = tonic_thrift::grpc::GrpcOptions::default().layer(telemetry.client());
    let mut client = TestServiceClient::connect_with(format!("http://{}", server.addr), options)
        .await
        .expect("connect");
    client.echo_unary(req("hi")).await.expect("call");
    let err = client.echo_unary(req("fail")).await.expect_err("fails");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let spans = spans(&exporter, 4).await;
    for client_span in spans.iter().filter(|s| s.span_kind == SpanKind::Client) {
        let children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == client_span.span_context.span_id())
            .collect();
        assert_eq!(children.len(), 1, "{spans:#?}");
        assert_eq!(children[0].span_kind, SpanKind::Server);
        assert_eq!(
            matches!(
                children[0].status,
                opentelemetry::trace::Status::Error { .. }
            ),
            matches!(
                client_span.status,
                opentelemetry::trace::Status::Error { .. }
            ),
        );
    }
    let errors = spans
        .iter()
        .filter(|s| matches!(s.status, opentelemetry::trace::Status::Error { .. }))
        .count();
    assert_eq!(errors, 2, "the failed call's two spans");
}

#[tokio::test]
async fn framed_calls_get_spans_but_no_header_carries_their_context() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder().tracer_provider(&provider).build();
    let server = serve(&telemetry).await;
    let options = telemetry.instrument_pingpong(
        tonic_thrift::pingpong::PingPongOptions::default()
            .framing(tonic_thrift::transport::Framing::Framed),
    );
    let client =
        crate::support::TestServicePingPongClient::with_options(server.addr.to_string(), options);
    client.echo_ping_pong(req("hi")).await.expect("call");
    let spans = spans(&exporter, 2).await;
    for s in &spans {
        assert_eq!(
            attr(s, "request.protocol").map(|v| v.as_str().to_string()),
            Some("Framed".to_string())
        );
        // Framed has no header: each side's span starts its own trace.
        assert_eq!(s.parent_span_id, SpanId::INVALID, "{s:#?}");
    }
    assert_ne!(
        spans[0].span_context.trace_id(),
        spans[1].span_context.trace_id()
    );
}
