//! Governance item 7: server limits — concurrent streams per connection
//! (advertised to HTTP/2 clients, which wait for a slot), concurrent streams
//! overall and a token-bucket rate limit per service and per method
//! (answered with RESOURCE_EXHAUSTED (gRPC) or a TApplicationException
//! (ping-pong) naming the limit), connections (closed at accept) — the
//! server staying healthy; and oversized header sets.

use std::time::Duration;

use crate::support::*;
use futures_util::StreamExt;
use tonic::{Code, Request, Status, Streaming};
use tonic_thrift::layer::RateLimitLayer;
use tonic_thrift::pingpong::{application_exception, PingPongOptions};

/// A bidi stream that stays open (no message, no half-close).
async fn open_stream(client: &mut TestServiceClient) -> Result<Streaming<echo::Response>, Status> {
    let out = futures_util::stream::pending::<echo::Request>();
    client.echo(out).await.map(|r| r.into_inner())
}

/// A gRPC client on a connection of its own.
async fn new_conn(server: &Running) -> TestServiceClient {
    server.grpc().await
}

async fn unary_ok(client: &mut TestServiceClient) {
    let r = client
        .echo_unary(req("ok"))
        .await
        .expect("the server keeps serving");
    assert_eq!(r.into_inner().message, "ok");
}

#[tokio::test]
async fn concurrent_streams_per_connection() {
    // The limit is advertised in SETTINGS_MAX_CONCURRENT_STREAMS, so the
    // client holds a third stream back until a slot is free, rather than
    // having it fail (tests/reliability/h2.rs shows a client that ignores
    // the limit getting REFUSED_STREAM).
    let server = serve(
        tonic_thrift::Server::builder()
            .max_concurrent_streams(2)
            .add_service(TestServiceServer::new(Gov::default())),
    )
    .await;
    let mut conn1 = new_conn(&server).await;
    let s1 = open_stream(&mut conn1).await.unwrap();
    let _s2 = open_stream(&mut conn1).await.unwrap();
    let third = {
        let mut c = conn1.clone();
        tokio::spawn(async move { open_stream(&mut c).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "a third stream waits for a slot");
    // Another connection is not affected.
    let mut conn2 = new_conn(&server).await;
    unary_ok(&mut conn2).await;
    let _s3 = open_stream(&mut conn2).await.unwrap();
    // A stream ending frees its slot: the waiting stream opens.
    drop(s1);
    let s4 = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("the waiting stream opens once a slot is free")
        .expect("task")
        .expect("the third stream");
    drop((_s2, _s3, s4));
    server.stop().await;
}

#[tokio::test]
async fn concurrent_streams_overall_grpc_and_pingpong() {
    let server = serve(
        tonic_thrift::Server::builder()
            .max_concurrent_streams_total(2)
            .add_service(TestServiceServer::new(Gov::default())),
    )
    .await;
    let mut conn1 = new_conn(&server).await;
    let s1 = open_stream(&mut conn1).await.unwrap();
    let mut conn2 = new_conn(&server).await;
    let s2 = open_stream(&mut conn2).await.unwrap();
    let mut conn3 = new_conn(&server).await;
    let err = open_stream(&mut conn3)
        .await
        .expect_err("over the server's limit");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("limit of 2 concurrent streams"),
        "{err:?}"
    );
    let pp = server.pingpong(PingPongOptions::default());
    let err = pp
        .echo_ping_pong(req("x"))
        .await
        .expect_err("over the server's limit");
    let ex =
        application_exception(&err).unwrap_or_else(|| panic!("a TApplicationException: {err:?}"));
    assert!(
        ex.message.contains("limit of 2 concurrent streams"),
        "{ex:?}"
    );
    drop((s1, s2));
    let mut ok = false;
    for _ in 0..100 {
        if conn3.echo_unary(req("ok")).await.is_ok() && pp.echo_ping_pong(req("ok")).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ok, "the server did not recover once the streams ended");
    server.stop().await;
}

#[tokio::test]
async fn max_connections_grpc_and_pingpong() {
    let server = serve(
        tonic_thrift::Server::builder()
            .max_connections(1)
            .add_service(TestServiceServer::new(Gov::default())),
    )
    .await;
    let mut first = new_conn(&server).await;
    unary_ok(&mut first).await;

    // A connection over the limit is closed at accept, before any byte is
    // read: its calls fail without an answer.
    let second = TestServiceClient::connect(server.url()).await;
    let failed = match second {
        Err(_) => true,
        Ok(mut c) => c.echo_unary(req("x")).await.is_err(),
    };
    assert!(failed, "a call on a second connection fails");

    let pp = server.pingpong(PingPongOptions::default());
    let err = pp
        .echo_ping_pong(req("x"))
        .await
        .expect_err("a second connection");
    assert!(
        application_exception(&err).is_none(),
        "closed at accept, not answered: {err:?}"
    );

    // The first connection keeps working; once it is gone, a new one is served.
    unary_ok(&mut first).await;
    drop(first);
    let mut ok = false;
    for _ in 0..100 {
        let pp = server.pingpong(PingPongOptions::default());
        if pp.echo_ping_pong(req("ok")).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ok, "no connection admitted after the first one closed");
    server.stop().await;
}

// ------------------------------------------------------------ rate limit

fn outcome(r: Result<(), Status>) -> Result<(), String> {
    r.map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

#[tokio::test]
async fn rate_limit_admits_exactly_the_burst_grpc() {
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).layer(RateLimitLayer::new(0.001, 5)))
            .await;
    let client = server.grpc().await;
    let calls = (0..10).map(|i| {
        let mut c = client.clone();
        async move { c.echo_unary(req(format!("c{i}"))).await.map(|_| ()) }
    });
    let results: Vec<_> = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok,
        5,
        "{:?}",
        results.into_iter().map(outcome).collect::<Vec<_>>()
    );
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), Code::ResourceExhausted, "{r:?}");
        assert!(r.message().contains("rate limit"), "{r:?}");
    }
    // Streams are limited at creation too, and the server answers promptly.
    let mut c = client.clone();
    let err = c
        .echo(futures_util::stream::iter([req("s")]))
        .await
        .expect_err("no token left");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_admits_exactly_the_burst_pingpong() {
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).layer(RateLimitLayer::new(0.001, 5)))
            .await;
    let pp = server.pingpong(PingPongOptions::default());
    let calls = (0..10).map(|i| {
        let pp = pp.clone();
        async move { pp.echo_ping_pong(req(format!("c{i}"))).await.map(|_| ()) }
    });
    let results: Vec<_> = futures_util::future::join_all(calls).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok,
        5,
        "{:?}",
        results.into_iter().map(outcome).collect::<Vec<_>>()
    );
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        let ex =
            application_exception(r).unwrap_or_else(|| panic!("a TApplicationException: {r:?}"));
        assert!(ex.message.contains("rate limit"), "{ex:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_buckets_per_method_are_independent() {
    let server = serve_svc(
        TestServiceServer::new(Gov::default()).layer(RateLimitLayer::per_method(0.001, 3)),
    )
    .await;
    let mut grpc = server.grpc().await;
    let admitted = |results: Vec<Result<(), Status>>| {
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.code(), Code::ResourceExhausted, "{r:?}");
            assert!(r.message().contains("rate limit"), "{r:?}");
        }
        results.iter().filter(|r| r.is_ok()).count()
    };
    let mut unary = Vec::new();
    for _ in 0..6 {
        unary.push(grpc.echo_unary(req("u")).await.map(|_| ()));
    }
    assert_eq!(admitted(unary), 3, "EchoUnary");
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(
            grpc.echo(futures_util::stream::iter([req("s")]))
                .await
                .map(|_| ()),
        );
    }
    assert_eq!(admitted(streams), 3, "Echo (bidi) has a bucket of its own");
    // EchoPingPong: one bucket, whichever transport carries the call.
    let mut pingpong = Vec::new();
    for _ in 0..2 {
        pingpong.push(grpc.echo_ping_pong(req("p")).await.map(|_| ()));
    }
    let pp = server.pingpong(PingPongOptions::default());
    let mut pp_results = Vec::new();
    for _ in 0..4 {
        pp_results.push(pp.echo_ping_pong(req("p")).await.map(|_| ()));
    }
    let pp_ok = pp_results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        admitted(pingpong) + pp_ok,
        3,
        "EchoPingPong over gRPC and ping-pong: {:?}",
        pp_results.into_iter().map(outcome).collect::<Vec<_>>()
    );
    server.stop().await;
}

// ------------------------------------------------------------ header size

#[tokio::test]
async fn an_oversized_header_set_fails_the_call_and_the_server_keeps_serving() {
    let server = serve(
        tonic_thrift::Server::builder()
            .max_header_list_size(1024)
            .add_service(TestServiceServer::new(Gov::default())),
    )
    .await;
    let mut grpc = server.grpc().await;
    unary_ok(&mut grpc).await;
    let mut r = Request::new(req("big"));
    r.metadata_mut()
        .insert("x-big", "a".repeat(4096).parse().unwrap());
    let res = tokio::time::timeout(Duration::from_secs(5), grpc.echo_unary(r))
        .await
        .expect("the oversized call must fail, not hang");
    assert!(res.is_err(), "a 4 KiB header passed a 1 KiB limit");
    // The server keeps serving, on a new connection and on the same client.
    let mut fresh = server.grpc().await;
    unary_ok(&mut fresh).await;
    let mut same_ok = false;
    for _ in 0..50 {
        if grpc.echo_unary(req("ok")).await.is_ok() {
            same_ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        same_ok,
        "the client that sent the big header cannot call again"
    );
    let pp = server.pingpong(PingPongOptions::default());
    assert_eq!(
        pp.echo_ping_pong(req("ok"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "ok"
    );
    // A stream with a big header fails too.
    let mut r = Request::new(futures_util::stream::iter([req("s")]));
    r.metadata_mut()
        .insert("x-big", "a".repeat(4096).parse().unwrap());
    let res = tokio::time::timeout(Duration::from_secs(5), async {
        match grpc.echo(r).await {
            Err(e) => Err(e),
            Ok(s) => s
                .into_inner()
                .next()
                .await
                .unwrap_or(Ok(echo::Response::default()))
                .map(|_| ()),
        }
    })
    .await
    .expect("must not hang");
    assert!(
        res.is_err(),
        "a stream with a 4 KiB header passed a 1 KiB limit"
    );
    server.stop().await;
}
