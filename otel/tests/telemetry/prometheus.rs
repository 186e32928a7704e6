//! The Prometheus endpoint after known traffic: request counts by service,
//! method, transport and status; message counts and sizes; active streams.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_thrift_otel::{PrometheusMetrics, Telemetry};

use crate::support::{grpc_client, memory_tracing, pingpong_client, req, serve, ttstream_client};

/// GET `path` from the endpoint at `addr`: (status line, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut raw = String::new();
    conn.read_to_string(&mut raw).await.expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

/// One sample line: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").expect("label");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            (name.to_string(), labels, value.parse().expect("number"))
        })
        .collect()
}

/// The value of the one sample of `name` whose labels include `want`.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    let hits: Vec<_> = samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(hits.len(), 1, "one `{name}` with {want:?}: {hits:#?}");
    hits[0].2
}

#[tokio::test]
async fn a_scrape_counts_known_traffic() {
    let metrics = PrometheusMetrics::new().expect("exporter");
    // Tracing on too: clients then send their `service.name`, which the
    // server's series carry as `peer_service`.
    let (provider, _spans) = memory_tracing();
    let telemetry = Telemetry::builder()
        .meter_provider(metrics.meter_provider())
        .tracer_provider(&provider)
        .service_name("gateway")
        .build();
    assert!(telemetry.is_enabled());
    let server = serve(&telemetry).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = listener.local_addr().expect("addr");
    tokio::spawn(metrics.clone().serve(listener));

    let addr = server.addr.to_string();
    let mut grpc = grpc_client(&addr, &telemetry).await;
    for _ in 0..3 {
        grpc.echo_unary(req("hi")).await.expect("unary");
    }
    assert!(grpc.echo_unary(req("fail")).await.is_err());
    let pp = pingpong_client(&addr, &telemetry);
    for _ in 0..2 {
        pp.echo_ping_pong(req("hi")).await.expect("ping-pong");
    }
    // A bidi stream over TTHeader Streaming: open while scraped once.
    let mut tts = ttstream_client(&addr, &telemetry);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = tts
        .echo(tokio_stream_from(rx))
        .await
        .expect("echo")
        .into_inner();
    for m in ["m1", "m2"] {
        tx.send(req(m)).await.expect("send");
        inbound.next().await.expect("reply").expect("ok");
    }
    let (status, body) = get(endpoint, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let s = parse(&body);
    let stream = [
        ("rpc_method", "Echo"),
        ("request_protocol", "TTHeaderStreaming"),
    ];
    assert_eq!(
        value(&s, "rpc_server_active_streams", &stream),
        1.0,
        "{body}"
    );
    assert_eq!(value(&s, "rpc_client_active_streams", &stream), 1.0);
    tx.send(req("m3")).await.expect("send");
    drop(tx);
    while let Some(m) = inbound.next().await {
        m.expect("ok");
    }
    drop(inbound);

    // Everything has ended once the server's and client's stream gauges
    // read 0 (the server reports its end just after the client's).
    let mut s = Vec::new();
    for _ in 0..200 {
        s = parse(&get(endpoint, "/metrics").await.1);
        if value(&s, "rpc_server_active_streams", &stream) == 0.0
            && value(&s, "rpc_client_active_streams", &stream) == 0.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(value(&s, "rpc_server_active_streams", &stream), 0.0);

    for side in ["server", "client"] {
        let count = format!("rpc_{side}_duration_milliseconds_count");
        let ok = |method: &'static str, protocol: &'static str| {
            [
                ("rpc_service", "TestService"),
                ("rpc_method", method),
                ("request_protocol", protocol),
                ("rpc_system", "kitex"),
                ("status_code", "Unset"),
                ("rpc_grpc_status_code", "0"),
            ]
        };
        assert_eq!(value(&s, &count, &ok("EchoUnary", "GRPC")), 3.0, "{side}");
        assert_eq!(
            value(&s, &count, &ok("EchoPingPong", "TTHeader")),
            2.0,
            "{side}"
        );
        assert_eq!(
            value(&s, &count, &ok("Echo", "TTHeaderStreaming")),
            1.0,
            "{side}"
        );
        let failed = [
            ("rpc_method", "EchoUnary"),
            ("status_code", "Error"),
            ("rpc_grpc_status_code", "5"),
        ];
        assert_eq!(value(&s, &count, &failed), 1.0, "{side}");
        let peer = [("rpc_method", "EchoPingPong"), ("peer_service", "gateway")];
        let with_peer = s.iter().filter(|(n, l, _)| {
            *n == count
                && peer
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        });
        assert_eq!(
            with_peer.count(),
            usize::from(side == "server"),
            "{side}: peer_service"
        );

        // Messages per stream: 3 each way on the one bidi stream.
        for dir in ["requests", "responses"] {
            let name = format!("rpc_{side}_{dir}_per_rpc_sum");
            assert_eq!(
                value(&s, &name, &ok("Echo", "TTHeaderStreaming")),
                3.0,
                "{name}"
            );
        }
        // Bytes: 3 request messages of 10 bytes on the stream; one per
        // unary call ("hi": 10 bytes) and ping-pong call (the Args struct
        // around it: 12 bytes).
        let size = format!("rpc_{side}_request_size_bytes_sum");
        let base = |m: &'static str, p: &'static str| [("rpc_method", m), ("request_protocol", p)];
        assert_eq!(
            value(&s, &size, &base("Echo", "TTHeaderStreaming")),
            30.0,
            "{size}"
        );
        // Bytes per stream: the 3 messages each way of the one stream.
        for dir in ["request", "response"] {
            let name = format!("rpc_{side}_{dir}_size_per_rpc_bytes_sum");
            let stream = ok("Echo", "TTHeaderStreaming");
            assert_eq!(value(&s, &name, &stream), 30.0, "{name}");
            let name = format!("rpc_{side}_{dir}_size_per_rpc_bytes_count");
            assert_eq!(value(&s, &name, &stream), 1.0, "{name}");
        }
        let count = format!("rpc_{side}_request_size_bytes_count");
        assert_eq!(
            value(&s, &count, &base("EchoUnary", "GRPC")),
            4.0,
            "{count}"
        );
        assert_eq!(
            value(&s, &count, &base("EchoPingPong", "TTHeader")),
            2.0,
            "{count}"
        );
    }

    let (status, _) = get(endpoint, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

/// `rx` as a stream.
fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
