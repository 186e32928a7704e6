//! The server side: a token-bucket rate limit, a tracer, and a graceful
//! shutdown that lets a running stream finish.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tonic_thrift::layer::RateLimitLayer;
use tonic_thrift::pingpong::PingPongOptions;

use crate::demo::{
    outcome, req, serve, Demo, PrintTracer, TestServiceClient, TestServicePingPongClient,
    TestServiceServer,
};

/// Runs the server-side part.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("== server side: rate limit, tracer, graceful shutdown ==");
    // Bursts of 3 calls per method, refilled at 1 call per second.
    let server = serve(
        tonic_thrift::Server::builder()
            .shutdown_grace_period(Duration::from_secs(2))
            .add_service(
                TestServiceServer::new(Demo)
                    .layer(RateLimitLayer::per_method(1.0, 3))
                    .tracer(PrintTracer),
            ),
    )
    .await?;
    println!(
        "server listening on {} (rate limit: burst 3 per method, 1/s)",
        server.addr
    );
    let mut grpc = TestServiceClient::connect(format!("http://{}", server.addr)).await?;

    println!("\n-- 5 gRPC calls at once to EchoUnary");
    let calls = (0..5).map(|i| {
        let mut c = grpc.clone();
        async move { c.echo_unary(req(format!("call {i}"))).await }
    });
    for (i, r) in futures_util::future::join_all(calls)
        .await
        .iter()
        .enumerate()
    {
        println!("call {i}: {}", outcome(r));
    }

    println!("\n-- 4 ping-pong calls to EchoPingPong (a bucket of its own)");
    let pp = TestServicePingPongClient::with_options(
        server.addr.to_string(),
        PingPongOptions::default(),
    );
    for i in 0..4 {
        let r = pp.echo_ping_pong(req(format!("pp {i}"))).await;
        println!("ping-pong {i}: {}", outcome(&r));
    }

    println!("\n-- graceful shutdown with a stream in progress");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?
        .into_inner();
    tx.send(req("before the signal")).await?;
    println!(
        "reply: {:?}",
        inbound.next().await.transpose()?.map(|r| r.message)
    );
    let start = Instant::now();
    let _ = server.stop.send(());
    println!("shutdown signalled: no new connections; the stream may finish");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let late = TestServicePingPongClient::with_options(
        server.addr.to_string(),
        PingPongOptions::default()
            .timeout(Duration::from_millis(300))
            .connect_timeout(Duration::from_millis(300)),
    );
    println!(
        "a new call after the signal: {}",
        outcome(&late.echo_ping_pong(req("late")).await)
    );
    tx.send(req("after the signal")).await?;
    println!(
        "reply: {:?}",
        inbound.next().await.transpose()?.map(|r| r.message)
    );
    drop(tx);
    while let Some(r) = inbound.next().await {
        r?;
    }
    println!("the stream ended cleanly");
    server.task.await??;
    println!(
        "server stopped after {} ms (grace period 2 s)",
        start.elapsed().as_millis() / 100 * 100
    );
    drop((grpc, pp));
    Ok(())
}
