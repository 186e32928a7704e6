//! Balancing, circuit breaking, unhealthy instances and retries end to
//! end, on both transports: gRPC through `BalancedChannel` under the
//! generated `TestServiceClient`, ping-pong (TTHeader) through the
//! generated `TestServicePingPongClient::with_balancer`. The test servers say who
//! answered and fail on command (see `support`).

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use support::{dead_addr, req, who, Mode, TestServer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tonic::{Code, Status};
use tonic_thrift::balance::{
    BalanceOptions, BalancedChannel, BreakerConfig, BreakerState, ConsistentHash, HashKey,
    Idempotent, Instance, RetryPolicy, StaticResolver,
};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::pingpong::{PingPongClient, PingPongOptions};
use tonic_thrift::BizStatusError;

type Grpc = TestServiceClient<BalancedChannel>;

fn grpc(balance: BalanceOptions) -> Grpc {
    TestServiceClient::with_options(BalancedChannel::new(balance), GrpcOptions::default())
}

fn pingpong(balance: BalanceOptions) -> TestServicePingPongClient {
    TestServicePingPongClient::with_balancer(balance, PingPongOptions::default())
}

/// A breaker that opens after 10 results at 50 % failures and probes after 300 ms.
fn small_breaker() -> BreakerConfig {
    BreakerConfig::new()
        .window(Duration::from_secs(10))
        .min_samples(10)
        .error_rate(0.5)
        .cool_down(Duration::from_millis(300))
        .half_open_probes(1)
}

/// One call over gRPC (`EchoUnary`) or ping-pong (`EchoPingPong`).
#[derive(Clone)]
enum Client {
    Grpc(Box<Grpc>),
    PingPong(TestServicePingPongClient),
}

impl Client {
    fn both(balance: BalanceOptions) -> [(&'static str, Client); 2] {
        [
            ("grpc", Client::Grpc(Box::new(grpc(balance.clone())))),
            ("pingpong", Client::PingPong(pingpong(balance))),
        ]
    }

    async fn call(&self, text: &str) -> Result<String, Status> {
        self.call_req(tonic::Request::new(req(text))).await
    }

    async fn call_req(&self, r: tonic::Request<support::echo::Request>) -> Result<String, Status> {
        let resp = match self {
            Client::Grpc(c) => (**c).clone().echo_unary(r).await?,
            Client::PingPong(c) => c.echo_ping_pong(r).await?,
        };
        Ok(resp.into_inner().message.to_string())
    }

    fn method(&self) -> &'static str {
        match self {
            Client::Grpc(_) => "EchoUnary",
            Client::PingPong(_) => "EchoPingPong",
        }
    }
}

/// Counts answers by server name over `n` sequential calls (errors as "err").
async fn spread(client: &Client, n: usize) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for i in 0..n {
        let key = match client.call(&format!("m{i}")).await {
            Ok(a) => who(&a).to_string(),
            Err(_) => "err".to_string(),
        };
        *m.entry(key).or_default() += 1;
    }
    m
}

fn breaker_of(
    status: &tonic_thrift::balance::ClusterStatus,
    addr: &str,
    method: &str,
) -> Option<BreakerState> {
    status
        .instances
        .iter()
        .find(|i| i.instance.addr == addr)?
        .breakers
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, s)| *s)
}

#[tokio::test]
async fn round_robin_over_two_servers_on_both_transports() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    for (name, client) in Client::both(BalanceOptions::from_addrs([a.addr(), b.addr()])) {
        let m = spread(&client, 100).await;
        assert_eq!(m.get("a"), Some(&50), "{name}: {m:?}");
        assert_eq!(m.get("b"), Some(&50), "{name}: {m:?}");
    }
}

#[tokio::test]
async fn pingpong_keeps_a_pool_per_instance() {
    type EchoPingPongArgs = tonic_thrift::OneArg<support::echo::Request, 1>;
    type EchoPingPongResult = tonic_thrift::ValueResult<support::echo::Response>;
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let client = PingPongClient::balanced(
        BalanceOptions::from_addrs([a.addr(), b.addr()]),
        "TestService",
        PingPongOptions::default().max_connections(3),
    );
    let call = |text: String| {
        let client = client.clone();
        async move {
            client
                .call::<EchoPingPongArgs, EchoPingPongResult>(
                    "EchoPingPong",
                    tonic::Request::new(req(&text)),
                    false,
                )
                .await
        }
    };
    // Sequential calls: one connection per instance, reused.
    for i in 0..10 {
        call(format!("{i}")).await.unwrap();
    }
    assert_eq!(client.idle_connections_to(&a.addr()), 1);
    assert_eq!(client.idle_connections_to(&b.addr()), 1);
    assert_eq!(client.idle_connections(), 2);
    // 20 concurrent calls: at most 3 connections per instance.
    let calls = (0..20).map(|i| call(format!("c{i}")));
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    for s in [&a, &b] {
        let idle = client.idle_connections_to(&s.addr());
        assert!((1..=3).contains(&idle), "{}: {idle} idle", s.name);
    }
    let status = client.status().unwrap();
    assert_eq!(status.instances.len(), 2);
    assert!(status.instances.iter().all(|i| i.skipped_for.is_none()));
}

#[tokio::test]
async fn grpc_streams_stay_on_the_instance_picked_at_creation() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let mut client = grpc(BalanceOptions::from_addrs([a.addr(), b.addr()]));
    let mut per_server = HashMap::new();
    for s in 0..10 {
        let msgs: Vec<_> = (0..3).map(|i| req(&format!("s{s}m{i}"))).collect();
        let mut stream = client
            .echo(futures_util::stream::iter(msgs))
            .await
            .unwrap()
            .into_inner();
        let mut servers = Vec::new();
        while let Some(m) = stream.message().await.unwrap() {
            servers.push(who(&m.message).to_string());
        }
        assert_eq!(servers.len(), 3);
        assert!(servers.iter().all(|x| *x == servers[0]), "{servers:?}");
        *per_server.entry(servers[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(per_server.get("a"), Some(&5), "{per_server:?}");
    assert_eq!(per_server.get("b"), Some(&5), "{per_server:?}");
}

#[tokio::test]
async fn consistent_hashing_keeps_a_key_on_one_instance() {
    let servers = [
        TestServer::start("a").await,
        TestServer::start("b").await,
        TestServer::start("c").await,
    ];
    let addrs: Vec<String> = servers.iter().map(|s| s.addr()).collect();
    // gRPC with the HashKey extension, ping-pong with a metainfo value.
    let by_ext = Client::Grpc(Box::new(grpc(
        BalanceOptions::from_addrs(addrs.clone()).load_balancer(ConsistentHash::new()),
    )));
    let by_meta = Client::PingPong(pingpong(
        BalanceOptions::from_addrs(addrs).load_balancer(ConsistentHash::by_metainfo("USER_ID")),
    ));
    let mut homes = HashMap::new();
    for user in 0..30 {
        let key = format!("user-{user}");
        let mut seen = Vec::new();
        for _ in 0..5 {
            let mut r = tonic::Request::new(req("x"));
            r.extensions_mut().insert(HashKey::new(key.clone()));
            seen.push(who(&by_ext.call_req(r).await.unwrap()).to_string());
            let mut r = tonic::Request::new(req("x"));
            MetaInfo::attach(&mut r)
                .set_transient("USER_ID", key.clone())
                .unwrap();
            seen.push(who(&by_meta.call_req(r).await.unwrap()).to_string());
        }
        // Same key, same instance, on both transports (the ring is the same).
        assert!(seen.iter().all(|s| *s == seen[0]), "{key}: {seen:?}");
        *homes.entry(seen[0].clone()).or_insert(0) += 1;
    }
    assert_eq!(homes.len(), 3, "30 keys use all 3 instances: {homes:?}");
    // Without a key: round robin.
    let m = spread(&by_ext, 30).await;
    assert_eq!(
        m.values().copied().collect::<Vec<_>>(),
        vec![10; 3],
        "{m:?}"
    );
}

/// Drives a breaker through closed → open → half-open → closed on one
/// transport, with `a` failing on command and `b` healthy.
async fn breaker_cycle(
    name: &str,
    client: Client,
    status: impl Fn() -> tonic_thrift::balance::ClusterStatus,
    a: &TestServer,
    b: &TestServer,
) {
    a.control.set(Mode::Unavailable);
    // Round robin: `a` fails its calls until its breaker has 10 results (all failures).
    let mut failures = 0;
    for i in 0..20 {
        if client.call(&format!("{i}")).await.is_err() {
            failures += 1;
        }
    }
    assert_eq!(failures, 10, "{name}");
    assert_eq!(a.control.hits(), 10, "{name}");
    assert_eq!(
        breaker_of(&status(), &a.addr(), client.method()),
        Some(BreakerState::Open),
        "{name}: {:?}",
        status()
    );
    // Open: `a` is skipped, nothing reaches it, every call succeeds on `b`.
    let m = spread(&client, 20).await;
    assert_eq!(m.get("b"), Some(&20), "{name}: {m:?}");
    assert_eq!(
        a.control.hits(),
        10,
        "{name}: an open breaker sends nothing"
    );
    // Still failing after the cool-down: the probe fails, open again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        breaker_of(&status(), &a.addr(), client.method()),
        Some(BreakerState::HalfOpen),
        "{name}"
    );
    let m = spread(&client, 10).await;
    assert_eq!(m.get("err"), Some(&1), "{name}: one probe: {m:?}");
    assert_eq!(a.control.hits(), 11, "{name}");
    assert_eq!(
        breaker_of(&status(), &a.addr(), client.method()),
        Some(BreakerState::Open),
        "{name}"
    );
    // Recovered: the next probe succeeds and closes the breaker.
    a.control.set(Mode::Ok);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let m = spread(&client, 20).await;
    assert_eq!(m.get("err"), None, "{name}: {m:?}");
    assert_eq!(
        breaker_of(&status(), &a.addr(), client.method()),
        Some(BreakerState::Closed),
        "{name}"
    );
    assert!(
        m.get("a").copied().unwrap_or(0) >= 9,
        "{name}: traffic is back on a: {m:?}"
    );
    // `b`'s breaker never opened.
    assert_eq!(
        breaker_of(&status(), &b.addr(), client.method()),
        Some(BreakerState::Closed),
        "{name}"
    );
}

#[tokio::test]
async fn grpc_breaker_opens_probes_and_closes() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let channel = BalancedChannel::new(
        BalanceOptions::from_addrs([a.addr(), b.addr()]).breaker(small_breaker()),
    );
    let client = Client::Grpc(Box::new(TestServiceClient::with_options(
        channel.clone(),
        GrpcOptions::default(),
    )));
    breaker_cycle("grpc", client, || channel.status(), &a, &b).await;
}

#[tokio::test]
async fn pingpong_breaker_opens_probes_and_closes() {
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let pp = pingpong(BalanceOptions::from_addrs([a.addr(), b.addr()]).breaker(small_breaker()));
    let client = Client::PingPong(pp.clone());
    breaker_cycle(
        "pingpong",
        client,
        move || pp.balance_status().unwrap(),
        &a,
        &b,
    )
    .await;
}

#[tokio::test]
async fn open_circuit_fails_fast_without_touching_the_network() {
    let a = TestServer::start("a").await;
    a.control.set(Mode::Unavailable);
    for (name, client) in
        Client::both(BalanceOptions::from_addrs([a.addr()]).breaker(small_breaker()))
    {
        let before = a.control.hits();
        for _ in 0..10 {
            let e = client.call("x").await.unwrap_err();
            assert_ne!(e.message(), "", "{name}");
        }
        assert_eq!(a.control.hits(), before + 10);
        let start = Instant::now();
        let e = client.call("x").await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{name}: {e:?}");
        assert!(e.message().contains("circuit open"), "{name}: {e:?}");
        assert!(e.message().contains(client.method()), "{name}: {e:?}");
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{name}: fails fast"
        );
        assert_eq!(a.control.hits(), before + 10, "{name}: nothing sent");
    }
}

#[tokio::test]
async fn breakers_are_per_method() {
    // Failing `EchoUnary` streams do not open the breaker of `Echo` (bidi).
    let a = TestServer::start("a").await;
    let channel =
        BalancedChannel::new(BalanceOptions::from_addrs([a.addr()]).breaker(small_breaker()));
    let mut client = TestServiceClient::with_options(channel.clone(), GrpcOptions::default());
    a.control.set(Mode::Unavailable);
    for _ in 0..10 {
        client.echo_unary(req("x")).await.unwrap_err();
    }
    a.control.set(Mode::Ok);
    let e = client.echo_unary(req("x")).await.unwrap_err();
    assert!(e.message().contains("circuit open"), "{e:?}");
    let mut stream = client
        .echo(futures_util::stream::iter([req("hi")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stream.message().await.unwrap().unwrap().message, "a:hi");
    let status = channel.status();
    assert_eq!(
        breaker_of(&status, &a.addr(), "EchoUnary"),
        Some(BreakerState::Open)
    );
    assert_eq!(
        breaker_of(&status, &a.addr(), "Echo"),
        Some(BreakerState::Closed)
    );
}

#[tokio::test]
async fn stream_creation_failures_feed_the_breaker() {
    // A bidi stream refused at creation (trailers-only UNAVAILABLE) counts;
    // RESOURCE_EXHAUSTED (a server limit) counts too.
    let a = TestServer::start("a").await;
    let channel =
        BalancedChannel::new(BalanceOptions::from_addrs([a.addr()]).breaker(small_breaker()));
    let mut client = TestServiceClient::with_options(channel.clone(), GrpcOptions::default());
    a.control.set(Mode::Exhausted);
    for _ in 0..10 {
        let e = match client.echo(futures_util::stream::iter([req("x")])).await {
            Err(e) => e,
            Ok(resp) => resp.into_inner().message().await.unwrap_err(),
        };
        assert_eq!(e.code(), Code::ResourceExhausted);
    }
    assert_eq!(
        breaker_of(&channel.status(), &a.addr(), "Echo"),
        Some(BreakerState::Open)
    );
    let e = client
        .echo(futures_util::stream::iter([req("x")]))
        .await
        .unwrap_err();
    assert!(e.message().contains("circuit open"), "{e:?}");
}

/// Sends 30 failing calls and says whether they all reached the server.
async fn all_sent(client: &Client, a: &TestServer) -> bool {
    let before = a.control.hits();
    for _ in 0..30 {
        let e = client.call("x").await.unwrap_err();
        if let Some(biz) = BizStatusError::from_status(&e) {
            assert_eq!(biz.code(), 1001);
        }
    }
    a.control.hits() == before + 30
}

#[tokio::test]
async fn business_errors_do_not_trip_the_breaker() {
    let a = TestServer::start("a").await;
    a.control.set(Mode::Biz);
    for (name, client) in
        Client::both(BalanceOptions::from_addrs([a.addr()]).breaker(small_breaker()))
    {
        assert!(
            all_sent(&client, &a).await,
            "{name}: the breaker stayed closed"
        );
    }
}

#[tokio::test]
async fn codes_outside_the_failure_codes_do_not_trip_the_breaker() {
    let a = TestServer::start("a").await;
    a.control.set(Mode::NotFound);
    let balance = BalanceOptions::from_addrs([a.addr()]).breaker(small_breaker());
    // gRPC: NOT_FOUND is not a failure code.
    assert!(all_sent(&Client::Grpc(Box::new(grpc(balance.clone()))), &a).await);
    // Ping-pong: the server's error reaches us as a TApplicationException,
    // without its code (UNKNOWN): a failure by default, as in Kitex ...
    let pp = pingpong(balance.clone());
    assert!(!all_sent(&Client::PingPong(pp.clone()), &a).await);
    assert_eq!(
        breaker_of(&pp.balance_status().unwrap(), &a.addr(), "EchoPingPong"),
        Some(BreakerState::Open)
    );
    // ... unless the failure codes say otherwise.
    let lenient = pingpong(balance.breaker(small_breaker().failure_codes([Code::Unavailable])));
    assert!(all_sent(&Client::PingPong(lenient), &a).await);
}

#[tokio::test]
async fn an_instance_that_fails_to_connect_is_skipped_until_it_recovers() {
    let a = TestServer::start("a").await;
    let mut b = TestServer::start("b").await;
    let b_addr = b.addr();
    b.stop().await;
    let balance = BalanceOptions::from_addrs([a.addr(), b_addr.clone()])
        .connect_backoff(Duration::from_millis(200), Duration::from_secs(1));
    let channel = BalancedChannel::new(balance.clone());
    let grpc_client = Client::Grpc(Box::new(TestServiceClient::with_options(
        channel.clone(),
        GrpcOptions::default(),
    )));
    let pp = pingpong(balance);
    let pp_client = Client::PingPong(pp.clone());
    for (name, client) in [("grpc", &grpc_client), ("pingpong", &pp_client)] {
        // At most the first call to `b` fails (no retries configured) ...
        let m = spread(client, 20).await;
        assert!(m.get("err").copied().unwrap_or(0) <= 1, "{name}: {m:?}");
        assert!(m.get("a").copied().unwrap_or(0) >= 19, "{name}: {m:?}");
        let status = match client {
            Client::Grpc(_) => channel.status(),
            Client::PingPong(_) => pp.balance_status().unwrap(),
        };
        let bs = status
            .instances
            .iter()
            .find(|i| i.instance.addr == b_addr)
            .unwrap();
        assert!(bs.skipped_for.is_some(), "{name}: {status:?}");
        // ... and the failure shows as UNAVAILABLE.
    }
    // `b` comes back: once its skip time is up, a probe finds it and it
    // takes its share again.
    b.restart().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (name, client) in [("grpc", &grpc_client), ("pingpong", &pp_client)] {
        let m = spread(client, 20).await;
        assert_eq!(m.get("err"), None, "{name}: {m:?}");
        assert!(m.get("b").copied().unwrap_or(0) >= 9, "{name}: {m:?}");
    }
}

#[tokio::test]
async fn all_instances_down_fails_fast_with_unavailable() {
    let addrs = [dead_addr().await, dead_addr().await];
    let balance = BalanceOptions::from_addrs(addrs.clone())
        .connect_backoff(Duration::from_secs(5), Duration::from_secs(5));
    for (name, client) in Client::both(balance) {
        // Each instance fails to connect once ...
        for _ in 0..2 {
            let e = client.call("x").await.unwrap_err();
            assert_eq!(e.code(), Code::Unavailable, "{name}: {e:?}");
        }
        // ... then both are skipped: the call fails at once, saying why.
        let start = Instant::now();
        let e = client.call("x").await.unwrap_err();
        assert!(start.elapsed() < Duration::from_millis(50), "{name}");
        assert_eq!(e.code(), Code::Unavailable, "{name}: {e:?}");
        assert!(
            e.message().contains("no available instance"),
            "{name}: {e:?}"
        );
        assert!(e.message().contains("2 failed to connect"), "{name}: {e:?}");
    }
}

#[tokio::test]
async fn no_instances_and_weights_of_zero() {
    let empty = BalanceOptions::new(StaticResolver::new(Vec::new()));
    for (name, client) in Client::both(empty) {
        let e = client.call("x").await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{name}");
        assert_eq!(
            e.message(),
            "no instances: static returned no instances",
            "{name}"
        );
    }
    let a = TestServer::start("a").await;
    let b = TestServer::start("b").await;
    let drained = BalanceOptions::new(StaticResolver::new([
        Instance::new(a.addr()).with_weight(0),
        Instance::new(b.addr()),
    ]));
    for (name, client) in Client::both(drained) {
        let m = spread(&client, 10).await;
        assert_eq!(
            m.get("b"),
            Some(&10),
            "{name}: weight 0 gets nothing: {m:?}"
        );
    }
    let all_zero =
        BalanceOptions::new(StaticResolver::new(
            [Instance::new(a.addr()).with_weight(0)],
        ));
    for (name, client) in Client::both(all_zero) {
        let e = client.call("x").await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable, "{name}");
        assert!(e.message().contains("weight 0"), "{name}: {e:?}");
    }
    assert_eq!(a.control.hits(), 0);
}

/// A ping-pong "server" that reads a request and closes the connection
/// without replying; counts the requests it saw.
async fn closer() -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if matches!(s.read(&mut buf).await, Ok(n) if n > 0) {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (addr, seen)
}

#[tokio::test]
async fn pingpong_retries_requests_that_were_not_sent() {
    let a = TestServer::start("a").await;
    let dead = dead_addr().await;
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([a.addr(), dead]),
        PingPongOptions::default().retry(RetryPolicy::new()),
    );
    // The connect failure is retried on `a`, even though the method is not
    // declared idempotent: nothing was sent.
    for i in 0..20 {
        let r = client.echo_ping_pong(req(&format!("{i}"))).await.unwrap();
        assert_eq!(who(&r.into_inner().message), "a");
    }
}

#[tokio::test]
async fn pingpong_retries_sent_requests_only_when_idempotent() {
    let a = TestServer::start("a").await;
    let (closer_addr, seen) = closer().await;
    let balance = BalanceOptions::from_addrs([closer_addr, a.addr()]).no_breaker();
    // Not idempotent: the calls the closer got fail (it may have acted on them).
    let plain = TestServicePingPongClient::with_balancer(
        balance.clone(),
        PingPongOptions::default().retry(RetryPolicy::new()),
    );
    let mut errors = 0;
    for i in 0..10 {
        if let Err(e) = plain.echo_ping_pong(req(&format!("{i}"))).await {
            assert_eq!(e.code(), Code::Unavailable, "{e:?}");
            assert!(e.message().contains("closed the connection"), "{e:?}");
            errors += 1;
        }
    }
    assert_eq!(errors, 5);
    assert_eq!(seen.load(Ordering::SeqCst), 5);
    // Declared idempotent (by method or per request): retried on `a`, so
    // every call succeeds (the closer still sees its first attempts).
    let by_method = TestServicePingPongClient::with_balancer(
        balance.clone(),
        PingPongOptions::default().retry(RetryPolicy::new().idempotent(["EchoPingPong"])),
    );
    let before = a.control.hits();
    for i in 0..10 {
        let r = by_method
            .echo_ping_pong(req(&format!("{i}")))
            .await
            .unwrap();
        assert_eq!(who(&r.into_inner().message), "a");
    }
    assert_eq!(a.control.hits() - before, 10);
    assert!(seen.load(Ordering::SeqCst) >= 10, "the closer got calls");
    let per_request = TestServicePingPongClient::with_balancer(
        balance,
        PingPongOptions::default().retry(RetryPolicy::new()),
    );
    for i in 0..10 {
        let mut r = tonic::Request::new(req(&format!("{i}")));
        r.extensions_mut().insert(Idempotent);
        per_request.echo_ping_pong(r).await.unwrap();
    }
}

#[tokio::test]
async fn pingpong_retry_budget_bounds_retries() {
    let (c1, seen1) = closer().await;
    let (c2, seen2) = closer().await;
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([c1, c2]).no_breaker(),
        PingPongOptions::default().retry(
            RetryPolicy::new()
                .all_idempotent()
                .max_attempts(5)
                .budget(0.5)
                .min_retries(0),
        ),
    );
    for i in 0..20 {
        client
            .echo_ping_pong(req(&format!("{i}")))
            .await
            .unwrap_err();
    }
    // 20 calls, and retries within 0.5 × calls: 10.
    let sent = seen1.load(Ordering::SeqCst) + seen2.load(Ordering::SeqCst);
    assert_eq!(sent, 30, "20 calls + 10 retries");
}

#[tokio::test]
async fn a_flapping_instance_does_not_fail_calls_and_comes_back() {
    let a = TestServer::start("a").await;
    let mut b = TestServer::start("b").await;
    let client = TestServicePingPongClient::with_balancer(
        BalanceOptions::from_addrs([a.addr(), b.addr()])
            .connect_backoff(Duration::from_millis(50), Duration::from_millis(200)),
        // Idempotent: a call caught by the server closing its connections
        // is retried too.
        PingPongOptions::default().retry(RetryPolicy::new().all_idempotent().max_attempts(3)),
    );
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let caller = {
        let client = client.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                client.echo_ping_pong(req(&format!("{n}"))).await.unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            n
        })
    };
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.stop().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        b.restart().await;
    }
    stop.store(true, Ordering::SeqCst);
    let calls = caller.await.expect("no call failed");
    assert!(calls > 20, "{calls}");
    // Up for good: after its skip time (≤ 200 ms) it takes calls again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = b.control.hits();
    for i in 0..20 {
        client.echo_ping_pong(req(&format!("{i}"))).await.unwrap();
    }
    assert!(b.control.hits() - before >= 9, "b is back");
}
