//! Ping-pong calls over TTHeader, Framed and Buffered, on the port that
//! also serves gRPC.

use std::time::Duration;

use tonic_thrift::pingpong::{application_exception, ExceptionKind, PingPongOptions};
use tonic_thrift::transport::Framing;

use crate::echo;
use crate::support::Echo;
use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::TestServiceServer;

async fn start() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(Echo))
            .serve_with_listener(listener, async {
                let _ = rx.await;
            }),
    );
    (addr, tx)
}

fn req(m: &str) -> echo::Request {
    echo::Request {
        message: m.to_string().into(),
    }
}

const FRAMINGS: [Framing; 4] = [
    Framing::TTHeader {
        inner_framed: false,
    },
    Framing::TTHeader { inner_framed: true },
    Framing::Framed,
    Framing::Buffered,
];

#[tokio::test]
async fn every_framing_round_trips_on_the_grpc_port() {
    let (addr, _stop) = start().await;
    for framing in FRAMINGS {
        let client = TestServicePingPongClient::with_options(
            addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        let r = client.echo_ping_pong(req("hello")).await.unwrap();
        assert_eq!(r.into_inner().message, "hello", "{framing:?}");
        let r = client.echo_ping_pong(req("transport")).await.unwrap();
        assert_eq!(r.into_inner().message, format!("Some({framing:?})"));
    }
    // gRPC on the same port still works.
    let mut grpc = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let r = grpc.echo_unary(req("over grpc")).await.unwrap();
    assert_eq!(r.into_inner().message, "over grpc");
}

#[tokio::test]
async fn handler_error_is_an_internal_error_exception() {
    let (addr, _stop) = start().await;
    for framing in FRAMINGS {
        let client = TestServicePingPongClient::with_options(
            addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        let err = client.echo_ping_pong(req("fail")).await.unwrap_err();
        let exc = application_exception(&err).expect("an application exception");
        assert_eq!(exc.kind, ExceptionKind::INTERNAL_ERROR, "{framing:?}");
        assert!(exc.message.contains("handler failed on purpose"), "{exc}");
        // The connection stays usable.
        let ok = client.echo_ping_pong(req("after")).await.unwrap();
        assert_eq!(ok.into_inner().message, "after");
    }
}

#[tokio::test]
async fn sequential_and_concurrent_calls() {
    let (addr, _stop) = start().await;
    let client = TestServicePingPongClient::new(addr.to_string());
    for i in 0..1000 {
        let m = format!("m{i}");
        let r = client.echo_ping_pong(req(&m)).await.unwrap();
        assert_eq!(r.into_inner().message, m);
    }
    let mut tasks = Vec::new();
    for t in 0..16 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1000 {
                let m = format!("t{t}-{i}");
                let r = client.echo_ping_pong(req(&m)).await.unwrap();
                assert_eq!(r.into_inner().message, m);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(client.idle_connections() <= 32);
}

#[tokio::test]
async fn the_call_timeout_reaches_the_server_and_fails_the_call() {
    let (addr, _stop) = start().await;
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default().timeout(Duration::from_millis(200)),
    );
    let err = client.echo_ping_pong(req("sleep")).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::DeadlineExceeded, "{err}");
}
