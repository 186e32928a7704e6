//! The quickstart: a server and a client in one process, every method mode
//! of `idl/echo.thrift` (bidirectional, client, server streaming, unary and
//! ping-pong), over gRPC with Thrift Binary payloads.
//!
//! Run with `cargo run --release --example quickstart`.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::CallOptions;

// The build.rs path: build.rs compiled idl/echo.thrift into $OUT_DIR/echo.rs.
tonic_thrift::include_thrift!("echo");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};
use echo::{Request as EchoRequest, Response as EchoResponse};

type ResponseStream = Pin<Box<dyn Stream<Item = Result<EchoResponse, Status>> + Send>>;

/// Echoes every message back.
struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = ResponseStream;
    type EchoServerStream = ResponseStream;

    async fn echo(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::EchoStream>, Status> {
        let replies = request
            .into_inner()
            .map(|msg| msg.map(|m| EchoResponse { message: m.message }));
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoResponse>, Status> {
        let mut stream = request.into_inner();
        let mut words = Vec::new();
        while let Some(msg) = stream.next().await {
            words.push(msg?.message.to_string());
        }
        Ok(Response::new(EchoResponse {
            message: words.join(" ").into(),
        }))
    }

    async fn echo_server(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<Self::EchoServerStream>, Status> {
        let message = request.into_inner().message;
        let replies = futures_util::stream::iter(1..=3).map(move |i| {
            Ok(EchoResponse {
                message: format!("{message} #{i}").into(),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_unary(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<EchoRequest>,
    ) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

fn request(message: &'static str) -> EchoRequest {
    EchoRequest {
        message: message.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(TestServiceServer::new(Echo))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    println!("server listening on {addr}");

    let mut client = TestServiceClient::connect(format!("http://{addr}")).await?;

    // Bidirectional: send three messages, read three echoes.
    let outbound = futures_util::stream::iter(["ping", "pong", "done"].map(request));
    let mut inbound = client.echo(outbound).await?.into_inner();
    while let Some(reply) = inbound.next().await {
        println!("bidirectional  <- {}", reply?.message);
    }

    // Client streaming: many in, one out.
    let outbound = futures_util::stream::iter(["thrift", "over", "grpc"].map(request));
    let reply = client.echo_client(outbound).await?.into_inner();
    println!("client stream  <- {}", reply.message);

    // Server streaming: one in, many out.
    let mut inbound = client.echo_server(request("tick")).await?.into_inner();
    while let Some(reply) = inbound.next().await {
        println!("server stream  <- {}", reply?.message);
    }

    // Unary (streaming.mode = "unary"): Args/Result framing.
    let reply = client
        .echo_unary(request("hello unary"))
        .await?
        .into_inner();
    println!("unary          <- {}", reply.message);

    // Ping-pong (no annotation), here carried over HTTP/2 as well.
    let reply = client
        .echo_ping_pong(request("hello ping-pong"))
        .await?
        .into_inner();
    println!("ping-pong      <- {}", reply.message);

    // The same ping-pong method over TTHeader, Kitex's default transport, on
    // the same port; per-call options (here a deadline) apply to any call.
    let pingpong = TestServicePingPongClient::new(addr.to_string());
    let mut call = Request::new(request("hello ttheader"));
    CallOptions::new()
        .timeout(Duration::from_secs(1))
        .apply(&mut call);
    let reply = pingpong.echo_ping_pong(call).await?.into_inner();
    println!("ttheader       <- {}", reply.message);

    let _ = stop.send(());
    server.await??;
    println!("done");
    Ok(())
}
