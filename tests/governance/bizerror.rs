//! Governance item 5: a handler's `BizStatusError` (code, message, extra)
//! comes back to the caller as the same `BizStatusError` on every transport:
//! gRPC unary, client streaming, server streaming and bidi (mid-stream),
//! TTHeader (both inner framings), Framed and Buffered.

use crate::support::*;
use futures_util::StreamExt;
use tonic::Code;
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::BizStatusError;

fn expect_biz(what: &str, status: &tonic::Status) {
    let got = BizStatusError::from_status(status)
        .unwrap_or_else(|| panic!("{what}: no business error in {status:?}"));
    assert_eq!(got, biz(), "{what}");
    assert_eq!(got.code(), 1001);
    assert_eq!(got.message(), "biz error msg");
    assert_eq!(got.extra().get("k").map(String::as_str), Some("v"));
}

#[tokio::test]
async fn grpc_unary_and_streams_carry_the_business_error() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server.grpc().await;

    let err = grpc.echo_unary(req("biz")).await.unwrap_err();
    expect_biz("unary", &err);
    assert_eq!(
        err.code(),
        Code::Internal,
        "carried as INTERNAL, as Kitex does"
    );

    let err = grpc
        .echo_client(futures_util::stream::iter(["a", "biz"].map(req)))
        .await
        .unwrap_err();
    expect_biz("client streaming", &err);

    let mut inbound = grpc.echo_server(req("biz")).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "first");
    let err = inbound.next().await.expect("an error").unwrap_err();
    expect_biz("server streaming, mid-stream", &err);

    let out = futures_util::stream::iter(["one", "two", "biz", "never"].map(req));
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "one");
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "two");
    let err = inbound.next().await.expect("an error").unwrap_err();
    expect_biz("bidi, mid-stream", &err);
    assert!(inbound.next().await.is_none());
    server.stop().await;
}

#[tokio::test]
async fn every_pingpong_framing_carries_the_business_error() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("biz")).await.unwrap_err();
        expect_biz(&format!("{framing:?}"), &err);
        // The connection stays usable.
        let ok = pp.echo_ping_pong(req("after")).await.unwrap();
        assert_eq!(ok.into_inner().message, "after", "{framing:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_plain_error_is_not_a_business_error() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let err = server
        .grpc()
        .await
        .echo_unary(req("fail"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(BizStatusError::from_status(&err), None);
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("fail")).await.unwrap_err();
        assert_eq!(BizStatusError::from_status(&err), None, "{framing:?}");
        assert!(
            err.message().contains("no such thing"),
            "{framing:?}: {err:?}"
        );
    }
    server.stop().await;
}
