//! Every method mode of `idl/echo.thrift` end to end through
//! `tonic_thrift::Server` and the generated client: empty, single and long
//! streams, sequential calls, 1 MiB messages, 100 concurrent streams on one
//! connection, a handler error mid-stream, and clients that cancel or
//! disconnect mid-stream (the handler sees its inbound stream fail, the
//! active-call count returns to zero).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tonic::Code;

use crate::common::macro_path::{echo, req, Echo};
use crate::common::{eventually, next_event, serve, stream_end, Event, Running};
use echo::test_service_client::TestServiceClient;
use echo::test_service_server::TestServiceServer;

/// The build.rs path: `build.rs` compiled `idl/echo.thrift` into `$OUT_DIR`.
mod build_path {
    tonic_thrift::include_thrift!("echo");
    crate::echo_handler!();
}

const ONE_SECOND: Duration = Duration::from_secs(1);

async fn start() -> (Running, TestServiceClient) {
    let server =
        serve(tonic_thrift::Server::builder().add_service(TestServiceServer::new(Echo::default())))
            .await;
    let client = TestServiceClient::new(server.channel().await);
    (server, client)
}

/// Messages `prefix0` .. `prefix{n-1}`.
fn texts(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

async fn bidi_roundtrip(client: &mut TestServiceClient, sent: Vec<String>) -> Vec<String> {
    let outbound = futures_util::stream::iter(sent.into_iter().map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    while let Some(reply) = inbound.next().await {
        got.push(reply.expect("echo reply").message.to_string());
    }
    got
}

#[tokio::test]
async fn bidirectional_with_0_1_and_10000_messages() {
    let (server, mut client) = start().await;
    for n in [0, 1, 10_000] {
        let sent = texts("bidi-", n);
        let got = bidi_roundtrip(&mut client, sent.clone()).await;
        assert_eq!(got.len(), n, "bidirectional with {n} messages");
        assert_eq!(got, sent, "bidirectional with {n} messages");
    }
    server.stop().await;
}

#[tokio::test]
async fn client_streaming_with_0_1_and_10000_messages() {
    let (server, mut client) = start().await;
    for n in [0, 1, 10_000] {
        let sent = texts("c", n);
        let reply = client
            .echo_client(futures_util::stream::iter(
                sent.clone().into_iter().map(req),
            ))
            .await
            .unwrap_or_else(|s| panic!("client streaming with {n} messages: {s:?}"))
            .into_inner();
        assert_eq!(
            reply.message.as_str(),
            sent.join(" "),
            "client streaming with {n} messages"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn server_streaming_with_0_1_and_10000_messages() {
    let (server, mut client) = start().await;
    for n in [0, 1, 10_000] {
        let mut inbound = client
            .echo_server(req(format!("{n}:s")))
            .await
            .expect("echo_server")
            .into_inner();
        let mut got = Vec::new();
        while let Some(reply) = inbound.next().await {
            got.push(reply.expect("server stream reply").message.to_string());
        }
        assert_eq!(got, texts("s", n), "server streaming with {n} messages");
    }
    server.stop().await;
}

#[tokio::test]
async fn unary_one_call_and_1000_sequential_calls() {
    let (server, mut client) = start().await;
    let reply = client.echo_unary(req("hello unary")).await.expect("unary");
    assert_eq!(reply.into_inner().message, "hello unary");
    for i in 0..1000 {
        let text = format!("unary {i}");
        let reply = client.echo_unary(req(text.clone())).await.expect("unary");
        assert_eq!(reply.into_inner().message.as_str(), text);
    }
    server.stop().await;
}

#[tokio::test]
async fn ping_pong_over_http2_one_call_and_1000_sequential_calls() {
    let (server, mut client) = start().await;
    let reply = client
        .echo_ping_pong(req("hello ping-pong"))
        .await
        .expect("ping-pong");
    assert_eq!(reply.into_inner().message, "hello ping-pong");
    for i in 0..1000 {
        let text = format!("ping-pong {i}");
        let reply = client
            .echo_ping_pong(req(text.clone()))
            .await
            .expect("ping-pong");
        assert_eq!(reply.into_inner().message.as_str(), text);
    }
    server.stop().await;
}

/// A 1 MiB text (well under the 4 MiB default limit), different per `seed`.
fn one_mib(seed: u8) -> String {
    (0..1024 * 1024)
        .map(|i| char::from(b'a' + ((i / 7 + seed as usize) % 26) as u8))
        .collect()
}

#[tokio::test]
async fn one_mib_messages_bidirectional_and_unary() {
    let (server, mut client) = start().await;

    let sent: Vec<String> = (0..4).map(one_mib).collect();
    let got = bidi_roundtrip(&mut client, sent.clone()).await;
    assert_eq!(got.len(), sent.len());
    assert!(got == sent, "1 MiB bidirectional echoes differ");

    let big = one_mib(9);
    let reply = client
        .echo_unary(req(big.clone()))
        .await
        .expect("1 MiB unary");
    assert!(
        reply.into_inner().message.as_str() == big,
        "1 MiB unary echo differs"
    );

    server.stop().await;
}

#[tokio::test]
async fn hundred_concurrent_bidi_streams_on_one_connection() {
    let (server, client) = start().await;
    let mut calls = tokio::task::JoinSet::new();
    for s in 0..100 {
        let mut client = client.clone();
        calls.spawn(async move {
            let sent = texts(&format!("stream{s}-"), 100);
            let got = bidi_roundtrip(&mut client, sent.clone()).await;
            assert_eq!(got, sent, "stream {s}");
            s
        });
    }
    let mut done = Vec::new();
    while let Some(r) = calls.join_next().await {
        done.push(r.expect("stream task"));
    }
    done.sort_unstable();
    assert_eq!(done, (0..100).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn handler_error_mid_stream_reaches_the_client_after_the_messages_sent() {
    let (server, mut client) = start().await;

    // Bidirectional: three echoes, then the handler yields ABORTED "stop".
    let outbound = futures_util::stream::iter(["a", "b", "c", "stop", "never"].map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    let status = loop {
        match inbound.next().await {
            Some(Ok(r)) => got.push(r.message.to_string()),
            Some(Err(s)) => break s,
            None => panic!("the stream ended without the handler's error; got {got:?}"),
        }
    };
    assert_eq!(got, ["a", "b", "c"]);
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(status.message(), "stop");
    assert!(inbound.next().await.is_none(), "nothing after the status");

    // Server streaming: the same after three replies.
    let mut inbound = client
        .echo_server(req("3:stop"))
        .await
        .expect("echo_server")
        .into_inner();
    let mut got = Vec::new();
    let status = loop {
        match inbound.next().await {
            Some(Ok(r)) => got.push(r.message.to_string()),
            Some(Err(s)) => break s,
            None => panic!("the stream ended without the handler's error; got {got:?}"),
        }
    };
    assert_eq!(got, ["stop0", "stop1", "stop2"]);
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(status.message(), "stop");

    server.stop().await;
}

/// The build.rs path (`include_thrift!`) serves and calls the streaming
/// modes just like the macro path.
#[tokio::test]
async fn build_rs_path_streaming() {
    use build_path::echo::test_service_client::TestServiceClient as BuiltClient;
    use build_path::echo::test_service_server::TestServiceServer as BuiltServer;

    let server = serve(
        tonic_thrift::Server::builder().add_service(BuiltServer::new(build_path::Echo::default())),
    )
    .await;
    let mut client = BuiltClient::new(server.channel().await);

    for n in [0, 1, 10_000] {
        let sent = texts("built-", n);
        let outbound = futures_util::stream::iter(sent.clone().into_iter().map(build_path::req));
        let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
        let mut got = Vec::new();
        while let Some(reply) = inbound.next().await {
            got.push(reply.expect("reply").message.to_string());
        }
        assert_eq!(got, sent, "build.rs path, bidirectional with {n} messages");
    }

    let reply = client
        .echo_client(futures_util::stream::iter(["x", "y"].map(build_path::req)))
        .await
        .expect("echo_client");
    assert_eq!(reply.into_inner().message, "x y");

    let mut inbound = client
        .echo_server(build_path::req("3:t"))
        .await
        .expect("echo_server")
        .into_inner();
    let mut got = Vec::new();
    while let Some(reply) = inbound.next().await {
        got.push(reply.expect("reply").message.to_string());
    }
    assert_eq!(got, ["t0", "t1", "t2"]);

    server.stop().await;
}

// ---------------------------------------------------------------------------
// Clients that cancel or disconnect mid-stream

/// A server whose handler reports its inbound streams, and a clone of the
/// service value to read the active-call count from.
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

fn assert_stream_failed(e: Event, what: &str) {
    match e {
        Event::Error(s) => println!("{what}: the handler's inbound stream failed with {s:?}"),
        other => panic!("{what}: the handler's inbound stream ended with {other:?}, not an error"),
    }
}

/// Opens a bidirectional stream with one message echoed; returns the sender
/// of further messages and the response stream.
async fn open_bidi(
    client: &mut TestServiceClient,
    events: &mut mpsc::UnboundedReceiver<Event>,
) -> (
    mpsc::Sender<echo::Request>,
    tonic::Streaming<echo::Response>,
) {
    let (tx, rx) = mpsc::channel(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    tx.send(req("first")).await.expect("send");
    let reply = inbound.next().await.expect("a reply").expect("an echo");
    assert_eq!(reply.message, "first");
    assert!(matches!(next_event(events).await, Event::Message(m) if m == "first"));
    (tx, inbound)
}

/// Cancel: the client drops the response stream (and then the sender of
/// its request stream) in the middle of a bidirectional call.
#[tokio::test]
async fn cancel_bidi_by_dropping_the_response_mid_stream() {
    let (server, counter, mut events) = start_reporting().await;
    let mut client = TestServiceClient::new(server.channel().await);

    let (tx, inbound) = open_bidi(&mut client, &mut events).await;
    assert_eq!(counter.active_calls(), 1, "one stream open");

    drop(inbound);
    drop(tx);
    let end = stream_end(&mut events, ONE_SECOND).await;
    assert_stream_failed(end, "response dropped mid-stream");
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;

    // The connection still serves.
    let reply = client
        .echo_unary(req("after"))
        .await
        .expect("unary after cancel");
    assert_eq!(reply.into_inner().message, "after");
    server.stop().await;
}

/// Cancel: the client drops the response stream but keeps its request
/// stream open (no half-close): the server must still learn of it.
#[tokio::test]
async fn cancel_bidi_by_dropping_the_response_while_the_request_stays_open() {
    let (server, counter, mut events) = start_reporting().await;
    let mut client = TestServiceClient::new(server.channel().await);

    let (tx, inbound) = open_bidi(&mut client, &mut events).await;
    drop(inbound);
    let end = stream_end(&mut events, ONE_SECOND).await;
    assert_stream_failed(end, "response dropped, request open");
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    drop(tx);
    server.stop().await;
}

/// Cancel: a client-streaming call whose future is dropped (e.g. a
/// caller's timeout) before the reply.
#[tokio::test]
async fn cancel_client_streaming_call_by_dropping_its_future() {
    let (server, counter, mut events) = start_reporting().await;
    let client = TestServiceClient::new(server.channel().await);

    let (tx, rx) = mpsc::channel(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut c = client.clone();
    let call = tokio::spawn(async move { c.echo_client(outbound).await });
    tx.send(req("partial")).await.expect("send");
    assert!(matches!(next_event(&mut events).await, Event::Message(m) if m == "partial"));
    assert_eq!(counter.active_calls(), 1, "one call open");

    call.abort();
    let _ = call.await;
    drop(tx);
    let end = stream_end(&mut events, ONE_SECOND).await;
    assert_stream_failed(end, "client-streaming call dropped");
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}

/// Runs `f` on a client runtime of its own, then drops that runtime (and
/// with it the client's TCP connection, abruptly) once `f` has returned.
async fn on_doomed_runtime<F, Fut, T>(f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    rt.spawn(async move {
        // Keep every handle `f` returns alive until the runtime goes away:
        // nothing is closed gracefully.
        let _handles = f().await;
        let _ = done_tx.send(());
        std::future::pending::<()>().await;
    });
    tokio::time::timeout(Duration::from_secs(10), done_rx)
        .await
        .expect("client side did not get going within 10 s")
        .expect("client side failed");
    rt.shutdown_background();
}

/// Disconnect: the client's connection goes away mid bidirectional stream.
#[tokio::test]
async fn disconnect_mid_bidi_stream() {
    let (server, counter, events) = start_reporting().await;
    let url = server.url();
    let events = std::sync::Arc::new(tokio::sync::Mutex::new(events));
    let ev = events.clone();
    on_doomed_runtime(move || async move {
        let mut client = TestServiceClient::connect(url).await.expect("connect");
        let mut events = ev.lock().await;
        let (tx, inbound) = open_bidi(&mut client, &mut events).await;
        (tx, inbound, client)
    })
    .await;
    let mut events = events.lock().await;
    let end = stream_end(&mut events, ONE_SECOND).await;
    assert_stream_failed(end, "connection dropped");
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}

/// Disconnect: the client's connection goes away mid server stream (a
/// stream far longer than the client reads).
#[tokio::test]
async fn disconnect_mid_server_stream() {
    let (server, counter, _events) = start_reporting().await;
    let url = server.url();
    on_doomed_runtime(move || async move {
        let mut client = TestServiceClient::connect(url).await.expect("connect");
        let mut inbound = client
            .echo_server(req("100000000:long"))
            .await
            .expect("echo_server")
            .into_inner();
        for i in 0..10 {
            let reply = inbound.next().await.expect("a reply").expect("ok");
            assert_eq!(reply.message.as_str(), format!("long{i}"));
        }
        (inbound, client)
    })
    .await;
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}

/// Cancel: the client drops a server stream it no longer wants.
#[tokio::test]
async fn cancel_server_stream_by_dropping_the_response() {
    let (server, counter, _events) = start_reporting().await;
    let mut client = TestServiceClient::new(server.channel().await);
    let mut inbound = client
        .echo_server(req("100000000:long"))
        .await
        .expect("echo_server")
        .into_inner();
    for i in 0..10 {
        let reply = inbound.next().await.expect("a reply").expect("ok");
        assert_eq!(reply.message.as_str(), format!("long{i}"));
    }
    assert_eq!(counter.active_calls(), 1);
    drop(inbound);
    eventually("active calls back to 0", ONE_SECOND, || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}
