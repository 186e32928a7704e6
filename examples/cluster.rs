//! A cluster found through etcd, in Kitex's registry layout: it starts an
//! etcd server, three server processes that register themselves under
//! `kitex/registry-etcd/echo/<host:port>`, and a client that balances over
//! whatever is registered (weighted random). Then it kills one server with
//! SIGKILL (its lease expires and it disappears from the client), starts a
//! fourth (it joins), and stops the rest with SIGTERM (they deregister).
//! It prints what happens, with the keys under `kitex/registry-etcd/`,
//! and at the end the client's `rpc_…` metric lines, scraped from its
//! Prometheus endpoint (`tonic-thrift-otel`).
//!
//! Needs etcd (Debian: `apt-get install etcd-server`; another binary
//! through `ETCD_BIN`). Run with `cargo run --example cluster`.
//!
//! The example is its own server: it runs itself again as
//! `cluster --serve <etcd endpoint> <name>` for each server process.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::balance::{
    BalanceOptions, BalancedChannel, Instance, Registration, Registry, WeightedRandom,
};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift_otel::{PrometheusMetrics, Telemetry};
use tonic_thrift_registry_etcd::{EtcdOptions, EtcdRegistry, LocalEtcd};

tonic_thrift::include_thrift!("echo");

use echo::test_service_client::TestServiceClient;
use echo::test_service_server::{TestService, TestServiceServer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// The service name servers register and the client looks up.
const SERVICE: &str = "echo";
/// The servers' lease TTL: short, so that a killed server goes quickly.
const TTL: Duration = Duration::from_secs(3);

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Runtime::new()?;
    match args.get(1).map(String::as_str) {
        Some("--serve") if args.len() == 4 => runtime.block_on(serve(&args[2], &args[3])),
        None => runtime.block_on(demo()),
        _ => Err("usage: cluster (the demo) | cluster --serve <etcd endpoint> <name>".into()),
    }
}

// ------------------------------------------------------------------ server

/// Answers `<server name>: <text>`.
struct Named(String);

#[tonic::async_trait]
impl TestService for Named {
    type EchoStream = EchoStream;
    type EchoServerStream = EchoStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<EchoStream>, Status> {
        let name = self.0.clone();
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
        Ok(Response::new(echo::Response {
            message: format!("{}: {}", self.0, request.into_inner().message).into(),
        }))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

/// One server process: listens, registers, serves until SIGTERM, and
/// deregisters before draining.
async fn serve(endpoint: &str, name: &str) -> Result<(), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let registry = EtcdRegistry::new(EtcdOptions::new([endpoint]).ttl(TTL));
    let me = Registration::new(
        SERVICE,
        Instance::new(&addr).with_weight(10).with_tag("name", name),
    );
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    registry.register(&me).await?;
    println!("READY {addr}");
    let shutdown = async {
        sigterm.recv().await;
        match registry.deregister(&me).await {
            Ok(()) => println!("DEREGISTERED"),
            Err(e) => eprintln!("{name}: deregistering failed: {e}"),
        }
    };
    tonic_thrift::Server::builder()
        .shutdown_grace_period(Duration::from_millis(200))
        .add_service(TestServiceServer::new(Named(name.to_string())))
        .serve_with_listener(listener, shutdown)
        .await?;
    Ok(())
}

// ------------------------------------------------------------------ demo

/// A server process of the demo.
struct ServerProcess {
    name: String,
    addr: String,
    child: Child,
    stdout: std::sync::mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Runs `cluster --serve` and waits for it to register.
    fn start(endpoint: &str, name: &str) -> Result<ServerProcess, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", endpoint, name])
            .stdout(Stdio::piped())
            .spawn()?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let (tx, stdout) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let line = stdout
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| format!("server {name} did not start"))?;
        let addr = line
            .strip_prefix("READY ")
            .ok_or_else(|| format!("server {name} said {line:?}"))?
            .to_string();
        println!(
            "  started {name} (pid {}) at {addr}, registered",
            child.id()
        );
        Ok(ServerProcess {
            name: name.to_string(),
            addr,
            child,
            stdout,
        })
    }

    /// SIGKILL: no chance to deregister.
    fn kill(mut self) -> Result<(), BoxError> {
        self.child.kill()?;
        self.child.wait()?;
        println!("  killed {} with SIGKILL", self.name);
        Ok(())
    }

    /// SIGTERM: deregisters, drains, exits.
    fn terminate(mut self) -> Result<(), BoxError> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -TERM {} failed", self.child.id()).into());
        }
        let said = self.stdout.recv_timeout(Duration::from_secs(10));
        let exit = self.child.wait()?;
        if said.as_deref() != Ok("DEREGISTERED") || !exit.success() {
            return Err(format!(
                "{} did not deregister and exit: {said:?}, {exit}",
                self.name
            )
            .into());
        }
        println!("  stopped {} with SIGTERM: deregistered, exited", self.name);
        Ok(())
    }
}

impl Drop for ServerProcess {
    /// A demo that fails half-way leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn print_keys(registry: &EtcdRegistry) -> Result<Vec<String>, BoxError> {
    let entries = registry.entries().await?;
    println!("  keys under kitex/registry-etcd/:");
    if entries.is_empty() {
        println!("    (none)");
    }
    for (key, value) in &entries {
        println!("    {key} = {value}");
    }
    Ok(entries.into_iter().map(|(k, _)| k).collect())
}

/// `n` calls; how many each server answered (and errors, by message).
async fn round(
    client: &mut TestServiceClient<BalancedChannel>,
    n: usize,
) -> BTreeMap<String, usize> {
    let mut answered = BTreeMap::new();
    for i in 0..n {
        let request = echo::Request {
            message: format!("call {i}").into(),
        };
        let who = match client.echo_unary(request).await {
            Ok(r) => {
                let message = r.into_inner().message;
                message.split(':').next().unwrap_or_default().to_string()
            }
            Err(s) => format!("error {:?}", s.code()),
        };
        *answered.entry(who).or_insert(0) += 1;
    }
    println!("  {n} calls answered by: {answered:?}");
    answered
}

/// Calls until the client's list satisfies `ok`; how long that took.
async fn until_listed(
    client: &mut TestServiceClient<BalancedChannel>,
    channel: &BalancedChannel,
    ok: impl Fn(&[String]) -> bool,
) -> Result<Duration, BoxError> {
    let start = Instant::now();
    while start.elapsed() < TTL + Duration::from_secs(10) {
        let _ = client
            .echo_unary(echo::Request {
                message: "probe".into(),
            })
            .await;
        let listed: Vec<String> = channel
            .status()
            .instances
            .iter()
            .map(|i| i.instance.addr.clone())
            .collect();
        if ok(&listed) {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the client's list did not change in time".into())
}

async fn demo() -> Result<(), BoxError> {
    println!("== a cluster through etcd, in Kitex's registry layout ==");
    let etcd = LocalEtcd::start().await?;
    let endpoint = etcd.endpoint();
    println!("-- etcd at {endpoint}");

    println!("-- three servers register (lease TTL {TTL:?}, weight 10)");
    let mut servers = Vec::new();
    for name in ["s1", "s2", "s3"] {
        servers.push(ServerProcess::start(&endpoint, name)?);
    }
    let registry = EtcdRegistry::new(EtcdOptions::new([endpoint.as_str()]));
    let keys = print_keys(&registry).await?;
    if keys.len() != 3 {
        return Err(format!("expected 3 keys, found {keys:?}").into());
    }

    // The client's RPC metrics (OpenTelemetry), on a Prometheus endpoint.
    let metrics = PrometheusMetrics::new()?;
    let telemetry = Telemetry::builder()
        .meter_provider(metrics.meter_provider())
        .build();
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let metrics_addr = metrics_listener.local_addr()?;
    tokio::spawn(metrics.clone().serve(metrics_listener));

    println!("-- a client balances over what etcd lists (weighted random)");
    let balance =
        BalanceOptions::new(registry.resolver(SERVICE)).load_balancer(WeightedRandom::new());
    let channel = BalancedChannel::new(balance);
    let options = telemetry.instrument_grpc(GrpcOptions::default());
    let mut client = TestServiceClient::with_options(channel.clone(), options);
    let answered = round(&mut client, 30).await;
    for s in &servers {
        if !answered.contains_key(&s.name) {
            return Err(format!("{} got no call", s.name).into());
        }
    }

    println!("-- s2 is killed with SIGKILL: its lease expires");
    let victim = servers.remove(1);
    let victim_addr = victim.addr.clone();
    victim.kill()?;
    let gone = until_listed(&mut client, &channel, |l| !l.contains(&victim_addr)).await?;
    println!("  s2 left the client's list {gone:.1?} after the kill (TTL {TTL:?})");
    print_keys(&registry).await?;
    let answered = round(&mut client, 20).await;
    if answered.keys().any(|k| k != "s1" && k != "s3") {
        return Err(format!("calls went elsewhere than s1 and s3: {answered:?}").into());
    }

    println!("-- s4 starts and registers: it joins");
    let s4 = ServerProcess::start(&endpoint, "s4")?;
    let s4_addr = s4.addr.clone();
    servers.push(s4);
    let joined = until_listed(&mut client, &channel, |l| l.contains(&s4_addr)).await?;
    println!("  s4 joined the client's list {joined:.1?} after registering");
    print_keys(&registry).await?;
    let answered = round(&mut client, 30).await;
    if !answered.contains_key("s4") || answered.keys().any(|k| k.starts_with("error")) {
        return Err(format!("s4 did not take calls, or calls failed: {answered:?}").into());
    }

    println!("-- the others stop gracefully (SIGTERM): they deregister");
    for s in servers {
        s.terminate()?;
    }
    let keys = print_keys(&registry).await?;
    if !keys.is_empty() {
        return Err(format!("keys left after deregistration: {keys:?}").into());
    }
    println!("-- the client's metrics, scraped from http://{metrics_addr}/metrics");
    let scrape = scrape(metrics_addr).await?;
    let lines: Vec<&str> = scrape
        .lines()
        .filter(|l| l.starts_with("rpc_client_duration_milliseconds_count"))
        .collect();
    if lines.is_empty() {
        return Err(format!("no rpc_client_duration lines in the scrape:\n{scrape}").into());
    }
    for line in lines {
        println!("  {line}");
    }
    println!("== done ==");
    Ok(())
}

/// `GET /metrics` from the Prometheus endpoint at `addr`: the body.
async fn scrape(addr: std::net::SocketAddr) -> Result<String, BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    conn.read_to_string(&mut response).await?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or(response))
}
