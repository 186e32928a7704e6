//! A generated `TestServiceServer` hosted by a plain `tonic::transport::Server`
//! (no `tonic_thrift::Server`), next to a hand-written tower service: every
//! mode works through the generated client at `/echo.TestService/...`.
//!
//! Routing under plain tonic is tonic's: by the full `NamedService::NAME`
//! (`echo.TestService`) only. `/TestService/Echo` (no package), which
//! `tonic_thrift::Server` accepts as Kitex does, is answered `UNIMPLEMENTED`
//! by tonic's router; it never reaches our service.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tonic::server::NamedService;
use tonic::Code;

use crate::common::macro_path::{echo, req, Echo};
use crate::common::{
    content_type, eventually, raw_client, raw_streaming, raw_unary, serve_tonic, thrift_args,
    thrift_message_struct, thrift_result, BytesCodec,
};
use echo::test_service_client::TestServiceClient;
use echo::test_service_server::TestServiceServer;

/// A hand-written gRPC service `other.Other`: every method answers the
/// fixed message `b"other"` (through tonic's own `Grpc` server helper and a
/// `tower::service_fn`).
#[derive(Clone, Default)]
struct Other;

impl NamedService for Other {
    const NAME: &'static str = "other.Other";
}

impl tower::Service<http::Request<tonic::body::Body>> for Other {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let fixed = tower::service_fn(|_req: tonic::Request<Bytes>| async {
                Ok::<_, tonic::Status>(tonic::Response::new(Bytes::from_static(b"other")))
            });
            Ok(tonic::server::Grpc::new(BytesCodec).unary(fixed, req).await)
        })
    }
}

#[tokio::test]
async fn plain_tonic_server_hosts_our_service_next_to_another() {
    let svc = TestServiceServer::new(Echo::default());
    let counter = svc.clone();
    let routes = tonic::service::Routes::new(svc).add_service(Other);
    let server = serve_tonic(tonic::transport::Server::builder().add_routes(routes)).await;
    let channel = server.channel().await;
    let mut client = TestServiceClient::new(channel.clone());

    // Bidirectional.
    let outbound = futures_util::stream::iter(["a", "b", "c"].map(req));
    let mut inbound = client.echo(outbound).await.expect("echo").into_inner();
    let mut got = Vec::new();
    while let Some(r) = inbound.next().await {
        got.push(r.expect("reply").message.to_string());
    }
    assert_eq!(got, ["a", "b", "c"]);

    // Client streaming.
    let reply = client
        .echo_client(futures_util::stream::iter(["x", "y", "z"].map(req)))
        .await
        .expect("echo_client");
    assert_eq!(reply.into_inner().message, "x y z");

    // Server streaming.
    let mut inbound = client
        .echo_server(req("3:s"))
        .await
        .expect("echo_server")
        .into_inner();
    let mut got = Vec::new();
    while let Some(r) = inbound.next().await {
        got.push(r.expect("reply").message.to_string());
    }
    assert_eq!(got, ["s0", "s1", "s2"]);

    // Unary and ping-pong (over HTTP/2).
    let reply = client.echo_unary(req("u")).await.expect("unary");
    assert_eq!(
        content_type(reply.metadata()).as_deref(),
        Some("application/grpc+thrift")
    );
    assert_eq!(reply.into_inner().message, "u");
    let reply = client.echo_ping_pong(req("p")).await.expect("ping-pong");
    assert_eq!(reply.into_inner().message, "p");

    // The hand-written service answers its fixed message, labelled as
    // tonic labels it.
    let mut grpc = raw_client(channel.clone());
    let resp = raw_unary(&mut grpc, "/other.Other/Anything", Bytes::from_static(b"?"))
        .await
        .expect("other.Other");
    assert_eq!(
        content_type(resp.metadata()).as_deref(),
        Some("application/grpc")
    );
    assert_eq!(resp.into_inner(), Bytes::from_static(b"other"));

    // Raw Thrift bytes to our service through tonic's router.
    let resp = raw_unary(&mut grpc, "/echo.TestService/EchoUnary", thrift_args("raw"))
        .await
        .expect("raw unary");
    assert_eq!(resp.into_inner(), Bytes::from(thrift_result("raw")));
    let (replies, end) = raw_streaming(
        &mut grpc,
        "/echo.TestService/Echo",
        vec![thrift_message_struct("raw").into()],
    )
    .await;
    end.expect("raw bidi");
    assert_eq!(replies, [Bytes::from(thrift_message_struct("raw"))]);

    // Without the package: tonic routes by the full name only, so this is
    // UNIMPLEMENTED (from tonic's router, not from our service).
    for path in ["/TestService/Echo", "/TestService/EchoUnary"] {
        let status = raw_unary(&mut grpc, path, thrift_args("no package"))
            .await
            .expect_err("no package under plain tonic");
        assert_eq!(status.code(), Code::Unimplemented, "{path}: {status:?}");
    }

    // Our unknown-method answer still comes from our service.
    let status = raw_unary(&mut grpc, "/echo.TestService/Nope", thrift_args("x"))
        .await
        .expect_err("unknown method");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    assert!(status.message().contains("Nope"), "{status:?}");

    drop(grpc);
    drop(client);
    eventually("all calls done", Duration::from_secs(1), || {
        counter.active_calls() == 0
    })
    .await;
    server.stop().await;
}
