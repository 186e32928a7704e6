//! The client side: deadlines (client default, per call), a logging layer
//! and message hooks on both sides, over gRPC and ping-pong.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tonic::Request;
use tonic_thrift::grpc::{CallOptions, GrpcOptions};
use tonic_thrift::pingpong::PingPongOptions;

use crate::demo::{
    outcome, req, serve, Demo, LogLayer, PrintHook, TestServiceClient, TestServicePingPongClient,
    TestServiceServer,
};

/// Runs the client-side part.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("== client side: deadlines, logging layers, message hooks ==");
    let server = serve(
        tonic_thrift::Server::builder().add_service(
            TestServiceServer::new(Demo)
                .layer(LogLayer { side: "server" })
                .message_hook(PrintHook { side: "server" }),
        ),
    )
    .await?;
    println!("server listening on {}", server.addr);

    // Every call of this client has a 1 s deadline unless it sets its own.
    let options = GrpcOptions::default()
        .timeout(Duration::from_secs(1))
        .connect_timeout(Duration::from_millis(500))
        .layer(LogLayer { side: "client" })
        .message_hook(PrintHook { side: "client" });
    let mut grpc =
        TestServiceClient::connect_with(format!("http://{}", server.addr), options).await?;

    println!("\n-- a unary call within the client's 1 s deadline");
    let r = grpc.echo_unary(req("hello")).await;
    println!("result: {}", outcome(&r));

    println!(
        "\n-- a per-call deadline of 200 ms wins over the client's 1 s (the handler sleeps 2 s)"
    );
    let mut call = Request::new(req("sleep:2000"));
    CallOptions::new()
        .timeout(Duration::from_millis(200))
        .apply(&mut call);
    let start = Instant::now();
    let r = grpc.echo_unary(call).await;
    println!(
        "result after ~{} ms: {}",
        start.elapsed().as_millis() / 100 * 100,
        outcome(&r)
    );

    println!("\n-- a bidirectional stream of 2 messages: hooks see each one with its size");
    let out = futures_util::stream::iter([req("abc"), req("de")]);
    let mut inbound = grpc.echo(out).await?.into_inner();
    while let Some(reply) = inbound.next().await {
        println!("reply: {:?}", reply?.message.as_str());
    }

    println!("\n-- a ping-pong (TTHeader) call through the same kind of layer, 200 ms deadline");
    let pp = TestServicePingPongClient::with_options(
        server.addr.to_string(),
        PingPongOptions::default()
            .timeout(Duration::from_millis(200))
            .layer(LogLayer { side: "client" }),
    );
    let r = pp.echo_ping_pong(req("over ttheader")).await;
    println!("result: {}", outcome(&r));
    let r = pp.echo_ping_pong(req("sleep:1000")).await;
    println!("result: {}", outcome(&r));

    drop((grpc, pp));
    let _ = server.stop.send(());
    server.task.await??;
    println!();
    Ok(())
}
