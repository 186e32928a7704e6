//! What a `tonic_thrift::Server` answers to bad input, seen through a raw
//! gRPC client (tonic's `Grpc` with a pass-through bytes codec, sending
//! `content-type: application/grpc` like any generic gRPC client): unknown
//! methods and services, oversized messages (server and client limits),
//! payloads that are not Thrift; and that it routes with and without the
//! package, labels its responses `application/grpc+thrift`, and keeps
//! serving after all of it.

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use tokio::sync::mpsc;
use tonic::Code;

use crate::common::macro_path::{echo, req, Echo};
use crate::common::{
    content_type, raw_client, raw_streaming, raw_unary, serve, thrift_args, thrift_message_struct,
    thrift_result, Running,
};
use echo::test_service_client::TestServiceClient;
use echo::test_service_server::TestServiceServer;

const THRIFT: &str = "application/grpc+thrift";

async fn start() -> Running {
    serve(tonic_thrift::Server::builder().add_service(TestServiceServer::new(Echo::default())))
        .await
}

#[tokio::test]
async fn unknown_method_is_unimplemented_and_named() {
    let server = start().await;
    let mut grpc = raw_client(server.channel().await);
    let status = raw_unary(&mut grpc, "/echo.TestService/Nope", thrift_args("x"))
        .await
        .expect_err("an unknown method must fail");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("unknown method") && status.message().contains("Nope"),
        "message should say `unknown method` and name it: {:?}",
        status.message()
    );
    assert_eq!(content_type(status.metadata()).as_deref(), Some(THRIFT));

    // The same for a streaming call to an unknown method.
    let (replies, end) = raw_streaming(
        &mut grpc,
        "/echo.TestService/Nope",
        vec![thrift_message_struct("x").into()],
    )
    .await;
    assert!(replies.is_empty());
    let status = end.expect_err("an unknown method must fail");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(status.message().contains("Nope"), "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_service_is_unimplemented_and_named() {
    let server = start().await;
    let mut grpc = raw_client(server.channel().await);
    let status = raw_unary(&mut grpc, "/echo.Nope/Echo", thrift_args("x"))
        .await
        .expect_err("an unknown service must fail");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(
        status.message().contains("unknown service") && status.message().contains("Nope"),
        "message should say `unknown service` and name it: {:?}",
        status.message()
    );
    assert_eq!(content_type(status.metadata()).as_deref(), Some(THRIFT));
    server.stop().await;
}

/// `/TestService/EchoUnary` (no package) and `/echo.TestService/EchoUnary`
/// both reach the handler; the request carries plain
/// `content-type: application/grpc` and is still decoded as Thrift; the
/// reply is the exact Result bytes, labelled `application/grpc+thrift`.
#[tokio::test]
async fn routes_with_and_without_package_and_decodes_plain_application_grpc() {
    let server = start().await;
    let mut grpc = raw_client(server.channel().await);
    for path in ["/echo.TestService/EchoUnary", "/TestService/EchoUnary"] {
        let resp = raw_unary(&mut grpc, path, thrift_args("routed"))
            .await
            .unwrap_or_else(|s| panic!("{path}: {s:?}"));
        assert_eq!(
            content_type(resp.metadata()).as_deref(),
            Some(THRIFT),
            "{path}"
        );
        assert_eq!(
            resp.into_inner(),
            Bytes::from(thrift_result("routed")),
            "{path}"
        );
    }
    for path in [
        "/echo.TestService/EchoPingPong",
        "/TestService/EchoPingPong",
    ] {
        let resp = raw_unary(&mut grpc, path, thrift_args("pp"))
            .await
            .unwrap_or_else(|s| panic!("{path}: {s:?}"));
        assert_eq!(
            resp.into_inner(),
            Bytes::from(thrift_result("pp")),
            "{path}"
        );
    }
    // Streaming: bare structs both ways.
    for path in ["/echo.TestService/Echo", "/TestService/Echo"] {
        let sent: Vec<Bytes> = ["a", "bc"]
            .map(|t| Bytes::from(thrift_message_struct(t)))
            .to_vec();
        let (replies, end) = raw_streaming(&mut grpc, path, sent.clone()).await;
        end.unwrap_or_else(|s| panic!("{path}: {s:?}"));
        assert_eq!(replies, sent, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn server_limit_refuses_oversized_messages_with_resource_exhausted() {
    let server = serve(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(Echo::default()).max_decoding_message_size(1024)),
    )
    .await;
    let mut client = TestServiceClient::new(server.channel().await);
    let big = "x".repeat(2048);

    let status = client
        .echo_unary(req(big.clone()))
        .await
        .expect_err("2 KiB over a 1 KiB limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Bidirectional: a small message passes, the big one ends the stream.
    let outbound = futures_util::stream::iter([req("small"), req(big.clone())]);
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    let status = loop {
        match inbound.next().await {
            Some(Ok(r)) => got.push(r.message.to_string()),
            Some(Err(s)) => break s,
            None => panic!("the oversized message was accepted; got {got:?}"),
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        got.len() <= 1 && got.iter().all(|m| m == "small"),
        "{got:?}"
    );

    // Still serving, and messages under the limit pass.
    let reply = client
        .echo_unary(req("x".repeat(900)))
        .await
        .expect("under the limit");
    assert_eq!(reply.into_inner().message.len(), 900);
    server.stop().await;
}

#[tokio::test]
async fn client_limit_refuses_oversized_replies_with_resource_exhausted() {
    let server = start().await;
    let mut client = TestServiceClient::new(server.channel().await).max_decoding_message_size(1024);
    let big = "y".repeat(2048);

    let status = client
        .echo_unary(req(big.clone()))
        .await
        .expect_err("a 2 KiB reply over a 1 KiB client limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    let mut inbound = client
        .echo(futures_util::stream::iter([req(big.clone())]))
        .await
        .expect("echo")
        .into_inner();
    let status = inbound
        .next()
        .await
        .expect("an item")
        .expect_err("a 2 KiB reply over a 1 KiB client limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    let reply = client
        .echo_unary(req("small"))
        .await
        .expect("under the limit");
    assert_eq!(reply.into_inner().message, "small");
    server.stop().await;
}

fn assert_undecodable(status: &tonic::Status, what: &str) {
    assert!(
        matches!(status.code(), Code::Internal | Code::InvalidArgument),
        "{what}: {status:?}"
    );
    assert!(
        status.message().contains("decode"),
        "{what}: the message should say it could not be decoded: {:?}",
        status.message()
    );
}

#[tokio::test]
async fn payloads_that_are_not_thrift_fail_and_the_server_keeps_serving() {
    let server = start().await;

    // A bidirectional stream open across the bad calls, on its own connection.
    let mut streaming = TestServiceClient::new(server.channel().await);
    let (tx, rx) = mpsc::channel(4);
    let outbound =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
    let mut inbound = streaming.echo(outbound).await.expect("echo").into_inner();
    tx.send(req("before")).await.expect("send");
    assert_eq!(
        inbound.next().await.expect("reply").expect("ok").message,
        "before"
    );

    let channel = server.channel().await;
    let mut grpc = raw_client(channel.clone());
    let protobuf: Bytes = Bytes::from_static(&[0x0a, 0x03, 0x61, 0x62, 0x63]);
    let mut payloads = vec![("protobuf `0a 03 61 62 63`".to_string(), protobuf)];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7417);
    for i in 0..8 {
        let len = rng.random_range(1..200);
        let mut buf = vec![0u8; len];
        rng.fill(&mut buf[..]);
        payloads.push((format!("random #{i} ({len} bytes)"), Bytes::from(buf)));
    }

    for (what, payload) in &payloads {
        for path in [
            "/echo.TestService/EchoUnary",
            "/echo.TestService/EchoPingPong",
        ] {
            let status = raw_unary(&mut grpc, path, payload.clone())
                .await
                .expect_err("not Thrift");
            assert_undecodable(&status, &format!("{what} to {path}"));
        }
        for path in [
            "/echo.TestService/Echo",
            "/echo.TestService/EchoClient",
            "/echo.TestService/EchoServer",
        ] {
            let (replies, end) = raw_streaming(&mut grpc, path, vec![payload.clone()]).await;
            assert!(replies.is_empty(), "{what} to {path}: {replies:?}");
            let status = end.expect_err("not Thrift");
            assert_undecodable(&status, &format!("{what} to {path}"));
        }
    }

    // The open stream still works, and so do new calls on the same
    // connection as the bad ones.
    for t in ["after", "again"] {
        tx.send(req(t)).await.expect("send");
        let reply = tokio::time::timeout(Duration::from_secs(10), inbound.next())
            .await
            .expect("reply within 10 s")
            .expect("reply")
            .expect("ok");
        assert_eq!(reply.message, t);
    }
    drop(tx);
    assert!(inbound.next().await.is_none());
    let mut client = TestServiceClient::new(channel);
    let reply = client.echo_unary(req("normal")).await.expect("normal call");
    assert_eq!(reply.into_inner().message, "normal");
    server.stop().await;
}
