//! The generated client over TTHeader Streaming, against our server: every
//! streaming mode over a `TtStreamChannel` and over `connect_with` with
//! `StreamTransport::TTHeaderStreaming` (where `unary` falls back to gRPC,
//! while a bare `TtStreamChannel` refuses it), cancellation and deadlines
//! ending the server's stream (RST), and an unreachable address.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tonic::{Code, Request};
use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
use tonic_thrift::ttstream::TtStreamChannel;

use crate::common::macro_path::{echo, req, Echo};
use crate::common::{eventually, next_event, serve, stream_end, Event, Running};
use echo::test_service_client::TestServiceClient;
use echo::test_service_server::TestServiceServer;

const ONE_SECOND: Duration = Duration::from_secs(1);

async fn start_reporting() -> (
    Running,
    TestServiceServer<Echo>,
    mpsc::UnboundedReceiver<Event>,
) {
    let (handler, events) = Echo::reporting();
    let svc = TestServiceServer::new(handler);
    let counter = svc.clone();
    let server = serve(tonic_thrift::Server::builder().add_service(svc)).await;
    (server, counter, events)
}

fn ttstream_client(server: &Running) -> TestServiceClient<TtStreamChannel> {
    let options = GrpcOptions::default();
    let channel = TtStreamChannel::connect_lazy(server.addr.to_string(), &options);
    TestServiceClient::with_options(channel, options)
}

/// Bidi, client and server streaming; `c` is any client type.
macro_rules! every_streaming_mode {
    ($c:expr) => {{
        let sent: Vec<_> = (0..100).map(|i| format!("m{i}")).collect();
        let outbound = futures_util::stream::iter(sent.clone().into_iter().map(req));
        let mut inbound = $c.echo(outbound).await.expect("echo").into_inner();
        let mut got = Vec::new();
        while let Some(r) = inbound.next().await {
            got.push(r.expect("echo reply").message.to_string());
        }
        assert_eq!(got, sent, "bidi");

        let outbound = futures_util::stream::iter(["a", "b", "c"].map(req));
        let reply = $c.echo_client(outbound).await.expect("echo_client");
        assert_eq!(reply.into_inner().message, "a b c", "client streaming");

        let mut inbound = $c
            .echo_server(req("3:x"))
            .await
            .expect("echo_server")
            .into_inner();
        let mut got = Vec::new();
        while let Some(r) = inbound.next().await {
            got.push(r.expect("server reply").message.to_string());
        }
        assert_eq!(got, ["x0", "x1", "x2"], "server streaming");
    }};
}

#[tokio::test]
async fn every_streaming_mode_over_a_ttstream_channel() {
    let (server, counter, _events) = start_reporting().await;
    let mut client = ttstream_client(&server);
    every_streaming_mode!(client);

    // 50 streams at once share the pool's connections.
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let mut c = client.clone();
            tokio::spawn(async move {
                let m = format!("s{i}");
                let outbound = futures_util::stream::iter([req(m.clone())]);
                let mut inbound = c.echo(outbound).await.expect("echo").into_inner();
                let r = inbound.next().await.expect("a reply").expect("an echo");
                assert_eq!(r.message, m);
                assert!(inbound.next().await.is_none(), "clean end");
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("stream task");
    }
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn request_streams_go_out_whole_whether_ready_at_once_or_later() {
    let (server, _counter, _events) = start_reporting().await;
    let mut client = ttstream_client(&server);

    // A request stream fed while the call runs: the first message is ready
    // when the stream opens, the next only after its echo.
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(req("first")).expect("queued");
    let outbound = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let r = inbound.next().await.expect("a reply").expect("an echo");
    assert_eq!(r.message, "first");
    tx.send(req("second")).expect("queued");
    let r = inbound.next().await.expect("a reply").expect("an echo");
    assert_eq!(r.message, "second");
    drop(tx);
    assert!(inbound.next().await.is_none(), "clean end after half-close");

    // More ready at once than the connection's write queue holds (1 MiB):
    // what does not fit goes out as room comes, in order.
    let sent: Vec<_> = (0..300)
        .map(|i| format!("{i:04}{}", "x".repeat(8 * 1024)))
        .collect();
    let outbound = futures_util::stream::iter(sent.clone().into_iter().map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    while let Some(r) = inbound.next().await {
        got.push(r.expect("echo reply").message.to_string());
    }
    assert!(
        got == sent,
        "{} of {} echoes, in order",
        got.len(),
        sent.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn unary_over_a_ttstream_channel_is_refused() {
    let (server, _counter, _events) = start_reporting().await;
    let mut client = ttstream_client(&server);
    let status = client.echo_unary(req("x")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status
            .message()
            .contains("TTHeader Streaming carries only streaming methods"),
        "{status:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connect_with_stream_transport_sends_streams_over_ttstream_and_unary_over_grpc() {
    let (server, _counter, _events) = start_reporting().await;
    let options = GrpcOptions::default().stream_transport(StreamTransport::TTHeaderStreaming);
    let mut client = TestServiceClient::connect_with(server.url(), options)
        .await
        .expect("connect");
    every_streaming_mode!(client);
    let reply = client.echo_unary(req("u")).await.expect("unary over gRPC");
    assert_eq!(reply.into_inner().message, "u");
    // The limits still apply after the options change.
    let mut client = client.max_decoding_message_size(8);
    let mut inbound = client
        .echo_server(req("1:0123456789"))
        .await
        .expect("echo_server")
        .into_inner();
    let status = inbound.next().await.expect("an item").unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    server.stop().await;
}

/// Dropping the response mid-stream sends RST: the handler's inbound
/// stream fails and the call ends on the server.
#[tokio::test]
async fn dropping_the_response_resets_the_stream() {
    let (server, counter, mut events) = start_reporting().await;
    let mut client = ttstream_client(&server);
    let (tx, rx) = mpsc::channel(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    tx.send(req("first")).await.expect("send");
    let reply = inbound.next().await.expect("a reply").expect("an echo");
    assert_eq!(reply.message, "first");
    assert!(matches!(next_event(&mut events).await, Event::Message(m) if m == "first"));
    assert_eq!(counter.active_calls(), 1);

    drop(inbound);
    match stream_end(&mut events, ONE_SECOND).await {
        Event::Error(_) => {}
        other => panic!("the handler's inbound stream ended with {other:?}, not an error"),
    }
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    drop(tx);
    server.stop().await;
}

/// The deadline is enforced by the client (nothing travels on the wire):
/// DEADLINE_EXCEEDED on time, and RST ends the server's stream.
#[tokio::test]
async fn the_deadline_fails_the_call_and_resets_the_stream() {
    let (server, counter, mut events) = start_reporting().await;
    let mut client = ttstream_client(&server);
    let (tx, rx) = mpsc::channel::<echo::Request>(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut request = Request::new(outbound);
    request.set_timeout(Duration::from_millis(200));
    let start = std::time::Instant::now();
    let mut inbound = client.echo(request).await.expect("echo").into_inner();
    let status = inbound.next().await.expect("an item").unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() < ONE_SECOND, "after {:?}", start.elapsed());
    drop(inbound);
    match stream_end(&mut events, ONE_SECOND).await {
        Event::Error(_) => {}
        other => panic!("the handler's inbound stream ended with {other:?}, not an error"),
    }
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    drop(tx);
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_address_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let options = GrpcOptions::default();
    let channel = TtStreamChannel::connect_lazy(addr.to_string(), &options);
    let mut client = TestServiceClient::with_options(channel, options);
    let status = client.echo_server(req("1:x")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(status.message().contains("cannot connect"), "{status:?}");
}

/// A loopback proxy to `to` that counts the connections it accepts.
async fn counting_proxy(
    to: std::net::SocketAddr,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut outbound = tokio::net::TcpStream::connect(to).await.expect("connect");
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn streams_spread_over_the_configured_number_of_connections() {
    let (server, _counter, _events) = start_reporting().await;
    for (options, want) in [
        (
            GrpcOptions::default(),
            tonic_thrift::ttstream::DEFAULT_CONNECTIONS,
        ),
        (GrpcOptions::default().ttstream_connections(3), 3),
        (GrpcOptions::default().ttstream_connections(0), 1),
    ] {
        let (proxy, accepted) = counting_proxy(server.addr).await;
        let channel = TtStreamChannel::connect_lazy(proxy.to_string(), &options);
        let mut client = TestServiceClient::with_options(channel, options);
        for i in 0..9 {
            let mut inbound = client
                .echo_server(req(format!("1:c{i}")))
                .await
                .expect("echo_server")
                .into_inner();
            let reply = inbound.next().await.expect("a reply").expect("ok");
            assert_eq!(reply.message, format!("c{i}0"));
        }
        let opened = accepted.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(opened, want, "9 streams opened {opened} connections");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_server_stalled_inside_a_frame_fails_the_streams_at_the_frame_timeout() {
    // A "server" that reads what it gets and answers with the start of a
    // 100-byte frame, then nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut io, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 4096];
        let _ = tokio::io::AsyncReadExt::read(&mut io, &mut buf).await;
        let mut partial = 100u32.to_be_bytes().to_vec();
        partial.extend_from_slice(&[0x10, 0x00, 0x00, 0x00, 0x00, 0x00]);
        tokio::io::AsyncWriteExt::write_all(&mut io, &partial)
            .await
            .expect("write");
        std::future::pending::<()>().await;
    });
    let options = GrpcOptions::default().ttstream_frame_timeout(Duration::from_millis(200));
    let channel = TtStreamChannel::connect_lazy(addr.to_string(), &options);
    let mut client = TestServiceClient::with_options(channel, options);
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        let mut inbound = client.echo_server(req("1:x")).await?.into_inner();
        inbound.message().await
    })
    .await
    .expect("the stream must end within 5 s, not hang");
    let status = outcome.expect_err("a stalled frame cannot give a reply");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "failed before the frame timeout: {:?}",
        started.elapsed()
    );
}
