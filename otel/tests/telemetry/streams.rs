//! Per-message span events on streams (Kitex's StreamSend / StreamRecv):
//! one `stream_send` / `stream_recv` event per message, numbered from 1,
//! with its size, on both sides, over gRPC and TTHeader Streaming.

use opentelemetry::trace::SpanKind;
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use tonic_thrift_otel::Telemetry;

use crate::support::{grpc_client, memory_tracing, req, serve, spans, ttstream_client};

/// (event name, message.id, message.type, message.uncompressed_size).
fn events(span: &SpanData) -> Vec<(String, i64, String, i64)> {
    span.events
        .iter()
        .map(|e| {
            let get = |k: &str| {
                e.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == k)
                    .map(|kv| kv.value.clone())
            };
            let int = |v: Option<Value>| match v {
                Some(Value::I64(n)) => n,
                other => panic!("not an integer: {other:?}"),
            };
            (
                e.name.to_string(),
                int(get("message.id")),
                get("message.type")
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default(),
                int(get("message.uncompressed_size")),
            )
        })
        .collect()
}

fn of_kind(spans: &[SpanData], kind: SpanKind) -> &SpanData {
    spans
        .iter()
        .find(|s| s.span_kind == kind)
        .expect("span of kind")
}

/// Three messages each way through bidi `Echo`, and the events they leave.
fn check_bidi(spans: &[SpanData], protocol: &str) {
    let server = of_kind(spans, SpanKind::Server);
    let client = of_kind(spans, SpanKind::Client);
    assert_eq!(server.name, "TestService/Echo");
    for (span, first, second) in [
        (server, "stream_recv", "stream_send"),
        (client, "stream_send", "stream_recv"),
    ] {
        let got = events(span);
        let kinds: Vec<_> = got.iter().map(|e| (e.0.as_str(), e.1)).collect();
        let mut sorted = kinds.clone();
        sorted.sort();
        let mut want = Vec::new();
        for i in 1..=3 {
            want.push((first, i));
            want.push((second, i));
        }
        want.sort();
        assert_eq!(sorted, want, "{protocol} {:?} events", span.span_kind);
        for e in &got {
            let t = if e.0 == "stream_send" {
                "SENT"
            } else {
                "RECEIVED"
            };
            assert_eq!(e.2, t);
            // A `Request`/`Response` holding "m<i>" is 10 bytes of Thrift (field header 3, length 4, text 2, stop 1).
            assert_eq!(e.3, 10, "{e:?}");
        }
        let kitex = |k: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(kitex("kitex.send_size"), Some(Value::I64(30)));
        assert_eq!(kitex("kitex.recv_size"), Some(Value::I64(30)));
    }
    // Events of a direction come in order.
    let ids: Vec<_> = events(server)
        .into_iter()
        .filter(|e| e.0 == "stream_recv")
        .map(|e| e.1)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[tokio::test]
async fn grpc_bidi_messages_are_span_events() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder().tracer_provider(&provider).build();
    let server = serve(&telemetry).await;
    let mut client = grpc_client(&server.addr.to_string(), &telemetry).await;
    let outbound = futures_util::stream::iter(["m1", "m2", "m3"].map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    while let Some(m) = futures_util::StreamExt::next(&mut inbound).await {
        got.push(m.expect("reply").message.to_string());
    }
    drop(inbound);
    assert_eq!(got, ["m1", "m2", "m3"]);
    check_bidi(&spans(&exporter, 2).await, "GRPC");
}

#[tokio::test]
async fn ttstream_bidi_messages_are_span_events() {
    let (provider, exporter) = memory_tracing();
    let telemetry = Telemetry::builder().tracer_provider(&provider).build();
    let server = serve(&telemetry).await;
    let mut client = ttstream_client(&server.addr.to_string(), &telemetry);
    let outbound = futures_util::stream::iter(["m1", "m2", "m3"].map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    while let Some(m) = futures_util::StreamExt::next(&mut inbound).await {
        got.push(m.expect("reply").message.to_string());
    }
    drop(inbound);
    assert_eq!(got, ["m1", "m2", "m3"]);
    check_bidi(&spans(&exporter, 2).await, "TTHeaderStreaming");
}
