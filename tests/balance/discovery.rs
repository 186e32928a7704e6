//! Discovery: DNS re-resolution against a hosts-style stub (on an interval,
//! after a connection failure, keeping the last good answer on errors and
//! empty answers), resolvers that return nothing, fail or never answer, and
//! lists pushed by a `StaticResolver`, on both transports.

use crate::support;

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic_thrift::{OneArg as EchoPingPongArgs0, ValueResult};
type EchoPingPongArgs = EchoPingPongArgs0<support::echo::Request, 1>;
type EchoPingPongResult = ValueResult<support::echo::Response>;
use support::echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use support::{dead_addr, req, who, TestServer};
use tonic::{Code, Status};
use tonic_thrift::balance::{
    BalanceOptions, BalancedChannel, ClusterStatus, DnsResolver, Instance, ResolveError, Resolver,
    StaticResolver,
};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::pingpong::{PingPongClient, PingPongOptions};

/// A hosts file: what the stub lookup answers, or an error.
#[derive(Clone)]
struct Hosts {
    answer: Arc<Mutex<Result<Vec<SocketAddr>, String>>>,
    lookups: Arc<AtomicUsize>,
}

impl Default for Hosts {
    fn default() -> Self {
        Hosts {
            answer: Arc::new(Mutex::new(Ok(Vec::new()))),
            lookups: Arc::default(),
        }
    }
}

impl Hosts {
    fn set(&self, addrs: &[&TestServer]) {
        *self.answer.lock().unwrap() = Ok(addrs.iter().map(|s| s.addr).collect());
    }

    fn set_addrs(&self, addrs: Vec<SocketAddr>) {
        *self.answer.lock().unwrap() = Ok(addrs);
    }

    fn fail(&self, why: &str) {
        *self.answer.lock().unwrap() = Err(why.to_string());
    }

    fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    /// A DNS resolver for `echo.test:8888` answered from this file.
    fn resolver(&self, interval: Duration) -> DnsResolver {
        let hosts = self.clone();
        DnsResolver::new("echo.test:8888")
            .refresh_interval(interval)
            .with_lookup(move |name: String| {
                assert_eq!(name, "echo.test:8888");
                hosts.lookups.fetch_add(1, Ordering::SeqCst);
                let answer = hosts.answer.lock().unwrap().clone();
                async move { answer.map_err(|e| io::Error::new(io::ErrorKind::NotFound, e)) }
            })
    }
}

/// Both transports over the same discovery settings.
struct Clients {
    grpc: TestServiceClient<BalancedChannel>,
    channel: BalancedChannel,
    pingpong: TestServicePingPongClient,
}

impl Clients {
    fn new(balance: BalanceOptions) -> Clients {
        let channel = BalancedChannel::new(balance.clone());
        Clients {
            grpc: TestServiceClient::with_options(channel.clone(), GrpcOptions::default()),
            channel,
            pingpong: TestServicePingPongClient::with_balancer(balance, PingPongOptions::default()),
        }
    }

    /// Who answers one call on each transport.
    async fn who(&self) -> [Result<String, Status>; 2] {
        let g = self.grpc.clone().echo_unary(req("x")).await;
        let p = self.pingpong.echo_ping_pong(req("x")).await;
        [g, p].map(|r| r.map(|r| who(&r.into_inner().message).to_string()))
    }

    fn statuses(&self) -> [ClusterStatus; 2] {
        [
            self.channel.status(),
            self.pingpong.balance_status().unwrap(),
        ]
    }
}

/// Calls until both transports answer from `name` (at most 3 s).
async fn until_served_by(clients: &Clients, name: &str) {
    let start = Instant::now();
    loop {
        let got = clients.who().await;
        if got.iter().all(|r| matches!(r, Ok(n) if n == name)) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "not served by {name}: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn dns_is_resolved_again_every_interval() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let hosts = Hosts::default();
    hosts.set(&[&a]);
    let clients = Clients::new(BalanceOptions::new(
        hosts.resolver(Duration::from_millis(100)),
    ));
    for _ in 0..5 {
        for r in clients.who().await {
            assert_eq!(r.unwrap(), "a");
        }
    }
    // The name now points at b (and a is gone).
    hosts.set(&[&b]);
    until_served_by(&clients, "b").await;
    for status in clients.statuses() {
        let addrs: Vec<_> = status
            .instances
            .iter()
            .map(|i| i.instance.addr.clone())
            .collect();
        assert_eq!(addrs, vec![b.addr()]);
        assert_eq!(
            status.instances[0].instance.tags.get("dns").unwrap(),
            "echo.test:8888"
        );
    }
    // Both: round robin over them.
    hosts.set(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut seen = HashSet::new();
    for _ in 0..4 {
        for r in clients.who().await {
            seen.insert(r.unwrap());
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Two clients, one task each, about 10 lookups a second each.
    assert!(hosts.lookups() >= 4, "{}", hosts.lookups());
}

#[tokio::test]
async fn dns_errors_and_empty_answers_keep_the_last_good_answer() {
    let a = TestServer::start("a").await;
    let hosts = Hosts::default();
    hosts.set(&[&a]);
    let clients = Clients::new(BalanceOptions::new(
        hosts.resolver(Duration::from_millis(50)),
    ));
    for r in clients.who().await {
        assert_eq!(r.unwrap(), "a");
    }
    hosts.fail("NXDOMAIN");
    let lookups = hosts.lookups();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hosts.lookups() > lookups, "asked again");
    for r in clients.who().await {
        assert_eq!(r.unwrap(), "a", "the last good answer is kept");
    }
    for status in clients.statuses() {
        let e = status.resolver_error.expect("the error is reported");
        assert!(
            e.contains("looking up echo.test:8888 failed: NXDOMAIN"),
            "{e}"
        );
    }
    // An empty DNS answer is taken as an error too.
    hosts.set_addrs(Vec::new());
    tokio::time::sleep(Duration::from_millis(300)).await;
    for r in clients.who().await {
        assert_eq!(r.unwrap(), "a");
    }
    for status in clients.statuses() {
        let e = status.resolver_error.expect("the error is reported");
        assert!(e.contains("gave no address"), "{e}");
    }
    // A good answer clears the error.
    hosts.set(&[&a]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for status in clients.statuses() {
        assert_eq!(status.resolver_error, None);
    }
}

#[tokio::test]
async fn dns_is_resolved_again_after_a_connection_failure() {
    let a = TestServer::start("a").await;
    let hosts = Hosts::default();
    let dead: SocketAddr = dead_addr().await.parse().unwrap();
    hosts.set_addrs(vec![dead]);
    // An interval of an hour: only the failure can make it look again.
    let clients = Clients::new(
        BalanceOptions::new(hosts.resolver(Duration::from_secs(3600)))
            .connect_backoff(Duration::from_secs(30), Duration::from_secs(30)),
    );
    for r in clients.who().await {
        let e = r.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    }
    assert_eq!(hosts.lookups(), 2, "one first lookup per client");
    // The service moved; the failure makes each client look again (at
    // most once a second), long before the interval.
    hosts.set(&[&a]);
    until_served_by(&clients, "a").await;
    assert_eq!(hosts.lookups(), 4);
}

#[tokio::test]
async fn dns_through_the_system_resolver() {
    // `localhost` resolves (to 127.0.0.1 and/or ::1) without a network.
    let a = TestServer::start("a").await;
    let resolver = DnsResolver::new(format!("localhost:{}", a.addr.port()));
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::new(resolver),
        PingPongOptions::default(),
    );
    let mut ok = 0;
    for _ in 0..4 {
        // ::1 may be listed but not listened on: at most one connect failure.
        if client.echo_ping_pong(req("x")).await.is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 3, "{ok}");
}

/// A resolver that fails, or never answers.
struct Broken {
    hang: bool,
}

#[tonic::async_trait]
impl Resolver for Broken {
    async fn resolve(&self) -> Result<Vec<Instance>, ResolveError> {
        if self.hang {
            std::future::pending::<()>().await;
        }
        Err(ResolveError::new("registry unreachable"))
    }

    fn name(&self) -> String {
        "registry".to_string()
    }
}

#[tokio::test]
async fn resolvers_that_fail_or_never_answer_give_a_clear_unavailable() {
    let failing = Clients::new(BalanceOptions::new(Broken { hang: false }));
    for r in failing.who().await {
        let e = r.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable);
        assert_eq!(
            e.message(),
            "no instances: registry failed: registry unreachable"
        );
    }
    let hanging = Clients::new(
        BalanceOptions::new(Broken { hang: true }).resolve_timeout(Duration::from_millis(200)),
    );
    let start = Instant::now();
    for r in hanging.who().await {
        let e = r.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable);
        assert_eq!(
            e.message(),
            "no instances: registry has not answered within 200ms"
        );
    }
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn pushed_lists_replace_instances_at_once_and_pools_follow() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let resolver = StaticResolver::from_addrs([a.addr()]);
    let client = PingPongClient::balanced(
        BalanceOptions::new(resolver.clone()),
        "TestService",
        PingPongOptions::default(),
    );
    let call = || async {
        client
            .call::<EchoPingPongArgs, EchoPingPongResult>(
                "EchoPingPong",
                tonic::Request::new(req("x")),
                false,
            )
            .await
            .map(|r| who(&r.into_inner().message).to_string())
    };
    assert_eq!(call().await.unwrap(), "a");
    assert_eq!(client.idle_connections_to(&a.addr()), 1);
    // Replace a with b: takes effect without any interval.
    resolver.set(vec![Instance::new(b.addr())]);
    let start = Instant::now();
    while call().await.unwrap() != "b" {
        assert!(start.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // a's pool went with it.
    assert_eq!(client.idle_connections_to(&a.addr()), 0);
    assert_eq!(client.idle_connections_to(&b.addr()), 1);
    // An empty list: no instances.
    resolver.set(Vec::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = call().await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert_eq!(e.message(), "no instances: static returned no instances");
    // Back.
    resolver.set(vec![Instance::new(a.addr()), Instance::new(a.addr())]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(call().await.unwrap(), "a");
    let status = client.status().unwrap();
    assert_eq!(status.instances.len(), 1, "duplicates are merged");
}
