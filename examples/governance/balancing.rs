//! Client-side load balancing and circuit breaking, printing what happens:
//! round robin over two servers on both transports; one server dies, its
//! circuit breaker opens and calls go to the other; with retries on,
//! ping-pong callers see no error at all; the server comes back, a probe
//! closes the breaker, and round robin resumes.
//!
//! The parameters are small so that it runs in a few seconds: a breaker
//! opens after 4 results at ≥ 50 % failures in 10 s and probes after
//! 500 ms, and an instance that fails to connect is skipped for only 20 ms
//! (so the breaker, not the skip, is what stops the calls here). The
//! defaults are 200 results, 50 %, 10 s, 5 s, and 1 s → 10 s.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::balance::{
    BalanceOptions, BalancedChannel, BreakerConfig, ClusterStatus, RetryPolicy, RoundRobin,
};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::pingpong::PingPongOptions;

tonic_thrift::include_thrift!("echo");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

type BoxError = Box<dyn std::error::Error>;
type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Answers `<server name>: <text>`.
struct Named(&'static str);

impl Named {
    fn answer(&self, text: &str) -> echo::Response {
        echo::Response {
            message: format!("{}: {text}", self.0).into(),
        }
    }
}

#[tonic::async_trait]
impl TestService for Named {
    type EchoStream = EchoStream;
    type EchoServerStream = EchoStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<EchoStream>, Status> {
        let name = self.0;
        let replies = request.into_inner().map(move |m| {
            m.map(|m| echo::Response {
                message: format!("{name}: {}", m.message).into(),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not in this demo"))
    }

    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<EchoStream>, Status> {
        Err(Status::unimplemented("not in this demo"))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(self.answer(&request.into_inner().message)))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

/// A server (gRPC and ping-pong on one port) until `stop` fires.
struct Running {
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(name: &'static str, listener: TcpListener) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            let served = tonic_thrift::Server::builder()
                .shutdown_grace_period(Duration::from_millis(100))
                .add_service(TestServiceServer::new(Named(name)))
                .serve_with_listener(listener, async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("server {name} failed: {e}");
            }
        });
        Running { stop, done }
    }

    async fn kill(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}

async fn bind() -> Result<(TcpListener, SocketAddr), BoxError> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

fn req(text: &str) -> echo::Request {
    echo::Request {
        message: text.to_string().into(),
    }
}

/// `ok a: x` or `error UNAVAILABLE: …`.
fn outcome(r: Result<Response<echo::Response>, Status>) -> String {
    match r {
        Ok(r) => format!("ok    {}", r.into_inner().message),
        Err(s) => format!("error {:?}: {}", s.code(), s.message()),
    }
}

fn print_status(label: &str, status: &ClusterStatus, names: &BTreeMap<String, &str>) {
    for i in &status.instances {
        let name = names.get(&i.instance.addr).copied().unwrap_or("?");
        let breakers: Vec<String> = i
            .breakers
            .iter()
            .map(|(method, state)| format!("{method}={state}"))
            .collect();
        let skipped = i
            .skipped_for
            .map(|d| format!(", skipped for {d:?}"))
            .unwrap_or_default();
        println!(
            "    [{label}] {name} ({}): breakers {}{skipped}",
            i.instance.addr,
            breakers.join(" ")
        );
    }
}

/// Runs the demo.
pub async fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("== balancing: round robin and circuit breaking over two servers ==");
    let (la, a_addr) = bind().await?;
    let (lb, b_addr) = bind().await?;
    let a = Running::start("a", la).await;
    let b = Running::start("b", lb).await;
    let names: BTreeMap<String, &str> =
        [(a_addr.to_string(), "a"), (b_addr.to_string(), "b")].into();

    let balance = BalanceOptions::from_addrs([a_addr.to_string(), b_addr.to_string()])
        .load_balancer(RoundRobin::new())
        .breaker(
            BreakerConfig::new()
                .window(Duration::from_secs(10))
                .min_samples(4)
                .error_rate(0.5)
                .cool_down(Duration::from_millis(500))
                .half_open_probes(1),
        )
        .connect_backoff(Duration::from_millis(20), Duration::from_millis(20));
    let channel = BalancedChannel::new(balance.clone());
    let mut grpc = TestServiceClient::with_options(channel.clone(), GrpcOptions::default());
    let pingpong =
        TestServicePingPongClient::with_balancer(balance.clone(), PingPongOptions::default());
    let retrying = TestServicePingPongClient::with_balancer(
        balance,
        PingPongOptions::default().retry(RetryPolicy::new()),
    );

    println!("-- both servers up: round robin");
    for i in 0..4 {
        let g = outcome(grpc.echo_unary(req(&format!("unary {i}"))).await);
        let p = outcome(pingpong.echo_ping_pong(req(&format!("ping {i}"))).await);
        println!("  gRPC {g:<40} ping-pong {p}");
    }
    // A stream stays on the server picked when it was created.
    let mut stream = grpc
        .echo(futures_util::stream::iter([
            req("s1"),
            req("s2"),
            req("s3"),
        ]))
        .await?
        .into_inner();
    let mut replies = Vec::new();
    while let Some(m) = stream.message().await? {
        replies.push(m.message.to_string());
    }
    println!("  a bidirectional stream: {}", replies.join(", "));

    println!("-- server b dies");
    b.kill().await;
    for i in 0..10 {
        let g = outcome(grpc.echo_unary(req(&format!("unary {i}"))).await);
        let p = outcome(pingpong.echo_ping_pong(req(&format!("ping {i}"))).await);
        println!("  gRPC {g}\n       ping-pong {p}");
        // Let b's skip time (20 ms) pass: the breaker is what stops the calls.
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    print_status("gRPC", &channel.status(), &names);
    if let Some(s) = pingpong.balance_status() {
        print_status("ping-pong", &s, &names);
    }
    let mut failed = 0;
    for i in 0..10 {
        if retrying
            .echo_ping_pong(req(&format!("retry {i}")))
            .await
            .is_err()
        {
            failed += 1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    println!(
        "  ping-pong with retries (connect failures retried on a): {failed} of 10 calls failed"
    );
    // A client of b alone: once its breaker is open, calls fail at once.
    let b_only = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([b_addr.to_string()])
            .breaker(BreakerConfig::new().min_samples(3))
            .connect_backoff(Duration::from_millis(20), Duration::from_millis(20)),
        PingPongOptions::default(),
    );
    println!("  a ping-pong client of b alone:");
    for i in 0..4 {
        let p = outcome(b_only.echo_ping_pong(req(&format!("only b {i}"))).await);
        println!("    {p}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    println!("-- server b is back; after the cool-down a probe closes its breaker");
    let lb = TcpListener::bind(b_addr).await?;
    let b = Running::start("b", lb).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    for i in 0..4 {
        let g = outcome(grpc.echo_unary(req(&format!("unary {i}"))).await);
        let p = outcome(pingpong.echo_ping_pong(req(&format!("ping {i}"))).await);
        println!("  gRPC {g:<40} ping-pong {p}");
    }
    print_status("gRPC", &channel.status(), &names);
    if let Some(s) = pingpong.balance_status() {
        print_status("ping-pong", &s, &names);
    }

    a.kill().await;
    b.kill().await;
    println!("== balancing: done ==");
    Ok(())
}
