//! Governance items 1 and 2: client-level vs per-call options, connect
//! timeouts, deadlines sent as `grpc-timeout` (TTHeader: RPC timeout) and
//! enforced on both sides with the handler cancelled, and the one-step
//! helpers `recv_timeout` / `send_timeout` / `call_with_timeout`.
//!
//! A malformed `grpc-timeout` is covered by `tests/kitex/golden.rs`
//! (`bad input: grpc-timeout`). Timing is only checked with generous upper
//! bounds.

use std::time::{Duration, Instant};

use crate::support::*;
use futures_util::StreamExt;
use tonic::{Code, Request};
use tonic_thrift::grpc::{call_with_timeout, recv_timeout, send_timeout, CallOptions, GrpcOptions};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;

const TTHEADER: Framing = Framing::TTHeader {
    inner_framed: false,
};

fn with_timeout(text: &str, t: Duration) -> Request<echo::Request> {
    let mut r = Request::new(req(text));
    CallOptions::new().timeout(t).apply(&mut r);
    r
}

async fn gov_server() -> (Running, tokio::sync::mpsc::UnboundedReceiver<GuardEvent>) {
    let (gov, guards) = Gov::with_guards();
    (serve_svc(TestServiceServer::new(gov)).await, guards)
}

// ------------------------------------------------------------ 1. options

#[tokio::test]
async fn per_call_timeout_wins_over_the_client_timeout_grpc() {
    let (server, mut guards) = gov_server().await;
    let mut client = server
        .grpc_with(GrpcOptions::default().timeout(Duration::from_secs(5)))
        .await;
    let start = Instant::now();
    let err = client
        .echo_unary(with_timeout("sleep:3000", Duration::from_millis(100)))
        .await
        .expect_err("the call must time out");
    let took = start.elapsed();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        took < Duration::from_secs(1),
        "took {took:?}: the 100 ms per-call timeout did not win"
    );
    wait_for(
        &mut guards,
        GuardEvent::Dropped("unary"),
        Duration::from_secs(1),
    )
    .await
    .expect("the handler was not cancelled");
    server.stop().await;
}

#[tokio::test]
async fn per_call_timeout_wins_over_the_client_timeout_pingpong() {
    let (server, _guards) = gov_server().await;
    for framing in FRAMINGS {
        let client = server.pingpong(
            PingPongOptions::default()
                .framing(framing)
                .timeout(Duration::from_secs(5)),
        );
        let start = Instant::now();
        let err = client
            .echo_ping_pong(with_timeout("sleep:3000", Duration::from_millis(100)))
            .await
            .expect_err("the call must time out");
        let took = start.elapsed();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{framing:?}: {err:?}");
        assert!(took < Duration::from_secs(1), "{framing:?}: took {took:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn client_level_timeout_applies_when_the_call_sets_none() {
    let (server, _guards) = gov_server().await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().timeout(Duration::from_millis(150)))
        .await;
    let start = Instant::now();
    let err = grpc.echo_unary(req("sleep:3000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    // The client's default reaches the handler as grpc-timeout.
    let seen = grpc.echo_unary(req("timeout")).await.unwrap().into_inner();
    let d = tonic_thrift::parse_grpc_timeout(&seen.message).expect("a grpc-timeout");
    assert!(d <= Duration::from_millis(150), "{d:?}");

    let pp = server.pingpong(PingPongOptions::default().timeout(Duration::from_millis(150)));
    let start = Instant::now();
    let err = pp.echo_ping_pong(req("sleep:3000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    server.stop().await;
}

#[tokio::test]
async fn defaults_no_deadline_and_a_one_second_connect_timeout() {
    let (server, _guards) = gov_server().await;
    assert_eq!(
        GrpcOptions::default().get_connect_timeout(),
        Duration::from_secs(1)
    );
    let mut grpc = server.grpc().await;
    let seen = grpc.echo_unary(req("timeout")).await.unwrap().into_inner();
    assert_eq!(seen.message, "none", "no deadline by default over gRPC");
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let seen = pp
            .echo_ping_pong(req("timeout"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            seen.message, "none",
            "no deadline by default over {framing:?}"
        );
    }
    server.stop().await;
}

// ------------------------------------------------------------ 2. deadlines

#[tokio::test]
async fn the_deadline_reaches_the_handler_on_both_transports() {
    let (server, _guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    let seen = grpc
        .echo_unary(with_timeout("timeout", Duration::from_secs(2)))
        .await
        .unwrap()
        .into_inner();
    let d = tonic_thrift::parse_grpc_timeout(&seen.message).expect("grpc-timeout over gRPC");
    assert!(
        d > Duration::from_secs(1) && d <= Duration::from_secs(2),
        "{d:?}"
    );

    // TTHeader carries it as the RPC timeout (int key 12); the server shows
    // it to the handler as grpc-timeout.
    for framing in [TTHEADER, Framing::TTHeader { inner_framed: true }] {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let seen = pp
            .echo_ping_pong(with_timeout("timeout", Duration::from_secs(2)))
            .await
            .unwrap()
            .into_inner();
        let d = tonic_thrift::parse_grpc_timeout(&seen.message)
            .unwrap_or_else(|e| panic!("{framing:?}: {e}: {:?}", seen.message));
        assert!(
            d > Duration::from_secs(1) && d <= Duration::from_secs(2),
            "{framing:?}: {d:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn deadline_cancels_the_unary_handler_grpc() {
    let (server, mut guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    let err = grpc
        .echo_unary(with_timeout("hang", Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    wait_for(
        &mut guards,
        GuardEvent::Started("unary"),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    wait_for(
        &mut guards,
        GuardEvent::Dropped("unary"),
        Duration::from_secs(1),
    )
    .await
    .expect("the unary handler was not cancelled after its deadline");
    server.stop().await;
}

#[tokio::test]
async fn deadline_cancels_the_server_streaming_handler_grpc() {
    let (server, mut guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    let mut inbound = grpc
        .echo_server(with_timeout("hang", Duration::from_millis(300)))
        .await
        .expect("stream created")
        .into_inner();
    let first = inbound.next().await.expect("a first message").unwrap();
    assert_eq!(first.message, "first");
    let end = tokio::time::timeout(Duration::from_secs(2), inbound.next())
        .await
        .expect("the stream must end at its deadline");
    let err = end.expect("an error, not a clean end").unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    wait_for(
        &mut guards,
        GuardEvent::Dropped("server-stream"),
        Duration::from_secs(1),
    )
    .await
    .expect("the server-streaming response was not cancelled after its deadline");
    server.stop().await;
}

#[tokio::test]
async fn deadline_cancels_the_bidi_handler_grpc() {
    let (server, mut guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    // The response stream hangs.
    let out = futures_util::stream::iter([req("one"), req("hang")])
        .chain(futures_util::stream::pending());
    let mut r = Request::new(out);
    CallOptions::new()
        .timeout(Duration::from_millis(300))
        .apply(&mut r);
    let mut inbound = grpc.echo(r).await.expect("stream created").into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "one");
    let err = tokio::time::timeout(Duration::from_secs(2), inbound.next())
        .await
        .expect("the stream must end at its deadline")
        .expect("an error, not a clean end")
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    wait_for(
        &mut guards,
        GuardEvent::Dropped("bidi"),
        Duration::from_secs(1),
    )
    .await
    .expect("the bidi response stream was not cancelled after its deadline");

    // The handler itself never returns the stream.
    let mut r = Request::new(futures_util::stream::pending::<echo::Request>());
    r.metadata_mut().insert("x-hang", "1".parse().unwrap());
    CallOptions::new()
        .timeout(Duration::from_millis(300))
        .apply(&mut r);
    let start = Instant::now();
    let res = grpc.echo(r).await;
    let err = match res {
        Err(e) => e,
        Ok(resp) => resp
            .into_inner()
            .next()
            .await
            .expect("an error")
            .unwrap_err(),
    };
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    wait_for(
        &mut guards,
        GuardEvent::Dropped("bidi-handler"),
        Duration::from_secs(1),
    )
    .await
    .expect("the bidi handler future was not cancelled after its deadline");
    server.stop().await;
}

#[tokio::test]
async fn deadline_cancels_the_pingpong_handler() {
    let (server, mut guards) = gov_server().await;
    for framing in [TTHEADER, Framing::TTHeader { inner_framed: true }] {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp
            .echo_ping_pong(with_timeout("hang", Duration::from_millis(200)))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{framing:?}: {err:?}");
        wait_for(
            &mut guards,
            GuardEvent::Started("unary"),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        wait_for(
            &mut guards,
            GuardEvent::Dropped("unary"),
            Duration::from_secs(1),
        )
        .await
        .unwrap_or_else(|e| panic!("{framing:?}: the handler was not cancelled: {e}"));
    }
    server.stop().await;
}

/// A transport that adds a `grpc-timeout` header below our client, so only
/// the server knows the deadline: the server alone must enforce it.
#[derive(Clone)]
struct ServerOnlyDeadline {
    inner: tonic::transport::Channel,
    value: &'static str,
}

impl tower::Service<http::Request<tonic::body::Body>> for ServerOnlyDeadline {
    type Response =
        <tonic::transport::Channel as tower::Service<http::Request<tonic::body::Body>>>::Response;
    type Error =
        <tonic::transport::Channel as tower::Service<http::Request<tonic::body::Body>>>::Error;
    type Future =
        <tonic::transport::Channel as tower::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        req.headers_mut()
            .insert("grpc-timeout", http::HeaderValue::from_static(self.value));
        self.inner.call(req)
    }
}

#[tokio::test]
async fn the_server_enforces_the_deadline_on_its_own() {
    let (server, mut guards) = gov_server().await;
    let channel = tonic::transport::Endpoint::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = TestServiceClient::new(ServerOnlyDeadline {
        inner: channel,
        value: "300m",
    });

    let mut inbound = grpc.echo_server(req("hang")).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "first");
    let err = tokio::time::timeout(Duration::from_secs(2), inbound.next())
        .await
        .expect("the server must end the stream at the deadline")
        .expect("an error")
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::DeadlineExceeded,
        "server streaming: {err:?}"
    );
    wait_for(
        &mut guards,
        GuardEvent::Dropped("server-stream"),
        Duration::from_secs(1),
    )
    .await
    .expect("server streaming: not cancelled by the server's deadline");

    let out = futures_util::stream::iter([req("one"), req("hang")])
        .chain(futures_util::stream::pending());
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "one");
    let err = tokio::time::timeout(Duration::from_secs(2), inbound.next())
        .await
        .expect("the server must end the stream at the deadline")
        .expect("an error")
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "bidi: {err:?}");
    wait_for(
        &mut guards,
        GuardEvent::Dropped("bidi"),
        Duration::from_secs(1),
    )
    .await
    .expect("bidi: not cancelled by the server's deadline");
    server.stop().await;
}

// ------------------------------------------------------------ connect timeout

/// A listener with a backlog of 1 that never accepts, its queue filled:
/// further connects hang in SYN retransmission.
async fn black_hole() -> (
    std::net::SocketAddr,
    Vec<tokio::net::TcpStream>,
    tokio::net::TcpListener,
) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(1).unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    (addr, held, listener)
}

#[tokio::test]
async fn connect_timeout_bounds_connecting_grpc() {
    let (addr, _held, _listener) = black_hole().await;
    let start = Instant::now();
    let res = TestServiceClient::connect_with(
        format!("http://{addr}"),
        GrpcOptions::default().connect_timeout(Duration::from_millis(200)),
    )
    .await;
    let took = start.elapsed();
    assert!(
        res.is_err(),
        "connecting to a listener that never accepts must fail"
    );
    assert!(took < Duration::from_millis(1500), "took {took:?}");

    // A closed port fails too, within the bound.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let start = Instant::now();
    let res = TestServiceClient::connect_with(
        format!("http://{closed}"),
        GrpcOptions::default().connect_timeout(Duration::from_millis(200)),
    )
    .await;
    assert!(res.is_err());
    assert!(start.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn connect_timeout_bounds_connecting_pingpong() {
    let (addr, _held, _listener) = black_hole().await;
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default().connect_timeout(Duration::from_millis(200)),
    );
    let start = Instant::now();
    let err = client.echo_ping_pong(req("x")).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("timed out"), "{err:?}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

// ------------------------------------------------------------ one step

#[tokio::test]
async fn recv_timeout_ends_the_step_with_deadline_exceeded() {
    let (server, mut guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let out = tokio_stream::wrappers::ReceiverStream::new(rx);
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    tx.send(req("one")).await.unwrap();
    let got = recv_timeout(&mut inbound, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(got.unwrap().message, "one");
    tx.send(req("hang")).await.unwrap();
    let start = Instant::now();
    let err = recv_timeout(&mut inbound, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("recv timed out"), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(1));
    // Dropping the stream cancels it on the server.
    drop(inbound);
    drop(tx);
    wait_for(
        &mut guards,
        GuardEvent::Dropped("bidi"),
        Duration::from_secs(1),
    )
    .await
    .expect("the server did not see the cancel");
    server.stop().await;
}

#[tokio::test]
async fn call_with_timeout_bounds_a_step() {
    let (server, _guards) = gov_server().await;
    let mut grpc = server.grpc().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(req("a")).await.unwrap();
    let got = call_with_timeout(Duration::from_secs(2), inbound.message())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message, "a");
    tx.send(req("hang")).await.unwrap();
    let err = call_with_timeout(Duration::from_millis(200), inbound.message())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("timed out after"), "{err:?}");

    // send_timeout: a request channel that stays full.
    let (full_tx, _full_rx) = tokio::sync::mpsc::channel(1);
    full_tx.send(req("fills the channel")).await.unwrap();
    let err = send_timeout(&full_tx, req("x"), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("send timed out"), "{err:?}");
    drop((inbound, tx));
    server.stop().await;
}
