//! Ping-pong calls over TTHeader, Framed and Buffered, on the port that
//! also serves gRPC.

use std::time::Duration;

use futures_util::StreamExt;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::pingpong::{application_exception, ExceptionKind, PingPongOptions};
use tonic_thrift::transport::Framing;

tonic_thrift::thrift_service!("idl/echo.thrift");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

type BoxStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        let s = request
            .into_inner()
            .map(|m| m.map(|m| echo::Response { message: m.message }));
        Ok(Response::new(Box::pin(s)))
    }
    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<BoxStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_ping_pong(request).await
    }
    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        let framing = request.extensions().get::<Framing>().copied();
        let msg = request.into_inner().message;
        match msg.as_str() {
            "fail" => Err(Status::internal("handler failed on purpose")),
            "transport" => Ok(Response::new(echo::Response {
                message: format!("{framing:?}").into(),
            })),
            "sleep" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(Response::new(echo::Response { message: msg }))
            }
            _ => Ok(Response::new(echo::Response { message: msg })),
        }
    }
}

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
