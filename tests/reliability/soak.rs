//! Soak and faults, each printing the figure RELIABILITY.md quotes:
//!
//! * a client SIGKILLed with 64 bidi streams open: the server's active
//!   calls return to 0 and its RSS to where it was;
//! * graceful shutdown under load (unary, ping-pong and bidi callers at
//!   once): every message a handler answered reaches its caller;
//! * a server SIGKILLed mid-stream: its streams fail fast with
//!   `UNAVAILABLE`, those on the other server go on, and the balancer moves
//!   new calls to the live server;
//! * 10,000 concurrent bidi streams on one server, and the memory each
//!   costs;
//! * a slow producer: 100 client streams each announcing a 4 MiB message
//!   and dribbling it: the server holds what arrived, not what was
//!   announced.
//!
//! (1,000 pipelined ping-pong requests on one connection, in every framing,
//! are in `tests/pingpong/bad_input.rs`.)

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_thrift::balance::{BalanceOptions, BalancedChannel, StaticResolver};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::Server;

use crate::edge::EchoServerProcess;

tonic_thrift::include_thrift!("echo");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

type RespStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Echoes, and writes down every message it answers.
#[derive(Clone, Default)]
struct Recorder {
    answered: Arc<Mutex<HashSet<String>>>,
}

impl Recorder {
    fn answer(&self, message: tonic_thrift::FastStr) -> echo::Response {
        self.answered.lock().unwrap().insert(message.to_string());
        echo::Response { message }
    }
}

#[tonic::async_trait]
impl TestService for Recorder {
    type EchoStream = RespStream;
    type EchoServerStream = RespStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<RespStream>, Status> {
        let this = self.clone();
        let replies = request
            .into_inner()
            .map(move |m| m.map(|m| this.answer(m.message)));
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let mut inbound = request.into_inner();
        let mut last = tonic_thrift::FastStr::default();
        while let Some(m) = inbound.next().await {
            last = m?.message;
        }
        Ok(Response::new(self.answer(last)))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<RespStream>, Status> {
        let reply = self.answer(request.into_inner().message);
        Ok(Response::new(Box::pin(futures_util::stream::iter([Ok(
            reply,
        )]))))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(self.answer(request.into_inner().message)))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

fn req(message: impl Into<String>) -> echo::Request {
    echo::Request {
        message: message.into().into(),
    }
}

/// This process's resident memory, in KiB.
fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Waits up to `limit` for `check` to hold; returns how long it took.
async fn until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// Opens a bidi stream on `$client`, fed by a channel: its sender and its
/// replies.
macro_rules! open_stream {
    ($client:expr) => {{
        let (tx, rx) = mpsc::channel::<echo::Request>(64);
        let outbound =
            futures_util::stream::unfold(
                rx,
                |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
            );
        let inbound = $client.echo(outbound).await.expect("open a stream");
        (tx, inbound.into_inner())
    }};
}

/// Serves `svc` on a fresh port until the returned sender is used or dropped.
async fn serve(svc: TestServiceServer<Recorder>) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::builder()
            .add_service(svc)
            .serve_with_listener(listener, async move {
                let _ = stopped.await;
            }),
    );
    (addr, stop)
}

// ------------------------------------------------------------ a SIGKILLed client

const KILLED_CLIENT_STREAMS: usize = 64;

/// Not a test on its own: the client process that
/// `a_sigkilled_client_frees_its_streams_and_memory` starts (this test
/// binary again, with `SOAK_KILLED_CLIENT_OF` set) and then kills. It opens
/// its streams, leaves replies unread, says so and waits to die.
#[tokio::test]
#[ignore = "the client process of a_sigkilled_client_frees_its_streams_and_memory"]
async fn killed_client_process() {
    let Ok(addr) = std::env::var("SOAK_KILLED_CLIENT_OF") else {
        return;
    };
    let mut client = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let payload = "k".repeat(32 * 1024);
    let mut held = Vec::new();
    for _ in 0..KILLED_CLIENT_STREAMS {
        let (tx, mut inbound) = open_stream!(client);
        tx.send(req(payload.clone())).await.expect("send");
        inbound.next().await.expect("a reply").expect("an echo");
        for _ in 0..4 {
            tx.send(req(payload.clone())).await.expect("send");
        }
        held.push((tx, inbound));
    }
    println!("STREAMS OPEN");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_client_frees_its_streams_and_memory() {
    let svc = TestServiceServer::new(Recorder::default());
    let counter = svc.clone();
    let (addr, _stop) = serve(svc).await;
    // Warm up: the allocator and the runtime grow to their working size.
    let mut warm = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    for round in 0..2 {
        let mut streams = Vec::new();
        for i in 0..KILLED_CLIENT_STREAMS {
            let (tx, mut inbound) = open_stream!(warm);
            tx.send(req(format!("warm {round} {i}"))).await.unwrap();
            inbound.next().await.unwrap().unwrap();
            streams.push((tx, inbound));
        }
    }
    until(Duration::from_secs(10), "warm-up streams end", || {
        counter.active_calls() == 0
    })
    .await;
    let before = rss_kib();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "soak::killed_client_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SOAK_KILLED_CLIENT_OF", addr.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the client process");
    let stdout = child.stdout.take().unwrap();
    let opened = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("STREAMS OPEN"))
    });
    let opened = tokio::time::timeout(Duration::from_secs(60), opened)
        .await
        .expect("the client process opens its streams within 60 s")
        .unwrap();
    assert!(
        opened,
        "the client process ended before opening its streams"
    );
    assert_eq!(counter.active_calls(), KILLED_CLIENT_STREAMS);
    let peak = rss_kib();

    child.kill().expect("SIGKILL the client");
    child.wait().unwrap();
    let freed = until(
        Duration::from_secs(10),
        "the dead client's calls end",
        || counter.active_calls() == 0,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    eprintln!(
        "FIGURE sigkilled client: {KILLED_CLIENT_STREAMS} streams freed {freed:?} after the kill; \
         server RSS {before} KiB before, {peak} KiB with the streams, {after} KiB after"
    );
    let allowed = (before / 10).max(8 * 1024);
    assert!(
        after <= before + allowed,
        "RSS {after} KiB after the dead client, {before} KiB before (allowed +{allowed} KiB)"
    );
    // And the server goes on.
    let got = warm.echo_unary(req("still here")).await.unwrap();
    assert_eq!(got.into_inner().message, "still here");
}

// ------------------------------------------------------------ graceful shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_under_load_loses_nothing_a_handler_answered() {
    let recorder = Recorder::default();
    let (addr, stop) = serve(TestServiceServer::new(recorder.clone())).await;
    let received = Arc::new(Mutex::new(HashSet::<String>::new()));
    let grpc = TestServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut load = Vec::new();
    for task in 0..6 {
        let mut client = grpc.clone();
        let received = received.clone();
        load.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("unary {task} {n}");
                match client.echo_unary(req(id.clone())).await {
                    Ok(r) => {
                        assert_eq!(r.into_inner().message, id);
                        received.lock().unwrap().insert(id);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    for task in 0..4 {
        let client = TestServicePingPongClient::new(addr.to_string());
        let received = received.clone();
        load.push(tokio::spawn(async move {
            for n in 0.. {
                let id = format!("ping-pong {task} {n}");
                match client.echo_ping_pong(req(id.clone())).await {
                    Ok(r) => {
                        assert_eq!(r.into_inner().message, id);
                        received.lock().unwrap().insert(id);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    for task in 0..4 {
        let mut client = grpc.clone();
        let received = received.clone();
        load.push(tokio::spawn(async move {
            for n in 0.. {
                let sent: Vec<String> = (0..20).map(|i| format!("bidi {task} {n} {i}")).collect();
                let outbound = futures_util::stream::iter(sent.clone().into_iter().map(req));
                let Ok(inbound) = client.echo(outbound).await else {
                    return;
                };
                let mut inbound = inbound.into_inner();
                let mut i = 0;
                while let Some(item) = inbound.next().await {
                    match item {
                        Ok(r) => {
                            assert_eq!(r.message, sent[i]);
                            received.lock().unwrap().insert(sent[i].clone());
                            i += 1;
                        }
                        Err(_) => return,
                    }
                }
                if i < sent.len() {
                    return;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.send(()).unwrap();
    for task in load {
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every caller ends within 30 s of the shutdown")
            .expect("a caller's checks");
    }
    let answered = recorder.answered.lock().unwrap().clone();
    let received = received.lock().unwrap().clone();
    let lost: Vec<&String> = answered.difference(&received).collect();
    eprintln!(
        "FIGURE graceful shutdown under load: {} messages answered, {} received, {} lost",
        answered.len(),
        received.len(),
        lost.len()
    );
    assert!(
        received.len() > 100,
        "the load ran: {} messages",
        received.len()
    );
    assert!(
        lost.is_empty(),
        "{} answered messages never reached their caller, e.g. {:?}",
        lost.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
}

// ------------------------------------------------------------ a SIGKILLed server

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_server_fails_its_streams_fast_and_the_balancer_moves_on() {
    let mut doomed = EchoServerProcess::start();
    let mut live = EchoServerProcess::start();
    let resolver = StaticResolver::from_addrs([doomed.addr.to_string(), live.addr.to_string()]);
    let channel = BalancedChannel::new(BalanceOptions::new(resolver));
    let mut client = TestServiceClient::with_options(channel, GrpcOptions::default());
    let mut streams = Vec::new();
    for i in 0..8 {
        let (tx, mut inbound) = open_stream!(client);
        tx.send(req(format!("before {i}"))).await.unwrap();
        let first = tokio::time::timeout(Duration::from_secs(10), inbound.next()).await;
        assert!(matches!(first, Ok(Some(Ok(_)))), "stream {i}: {first:?}");
        streams.push((tx, inbound));
    }

    doomed.child.kill().expect("SIGKILL a server");
    doomed.child.wait().unwrap();
    let killed = Instant::now();
    let (mut failed, mut alive) = (0, 0);
    for (i, (tx, mut inbound)) in streams.into_iter().enumerate() {
        let _ = tx.send(req(format!("after {i}"))).await;
        let next = tokio::time::timeout(Duration::from_secs(5), inbound.next())
            .await
            .unwrap_or_else(|_| panic!("stream {i} neither answered nor failed within 5 s"));
        match next {
            Some(Ok(_)) => alive += 1,
            Some(Err(status)) => {
                assert_eq!(status.code(), Code::Unavailable, "stream {i}: {status:?}");
                failed += 1;
            }
            None => panic!("stream {i} ended without a status"),
        }
    }
    let settled = killed.elapsed();
    assert!(failed > 0 && alive > 0, "{failed} failed, {alive} alive");

    // New calls: the balancer stops picking the dead server.
    let (mut errors, mut in_a_row) = (0, 0);
    let start = Instant::now();
    while in_a_row < 20 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no 20 calls in a row succeeded within 10 s ({errors} failed)"
        );
        match client.echo_unary(req("hello")).await {
            Ok(_) => in_a_row += 1,
            Err(_) => {
                errors += 1;
                in_a_row = 0;
            }
        }
    }
    eprintln!(
        "FIGURE sigkilled server: {failed} of its streams failed (UNAVAILABLE) and {alive} on \
         the other server went on, all within {settled:?}; {errors} new calls failed before \
         20 in a row succeeded"
    );
    live.assert_alive();
}

// ------------------------------------------------------------ 10,000 streams

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_streams_on_one_server() {
    const STREAMS: usize = 10_000;
    // The server's default limit per connection is 200 streams.
    const CONNECTIONS: usize = 50;
    let svc = TestServiceServer::new(Recorder::default());
    let counter = svc.clone();
    let (addr, _stop) = serve(svc).await;
    let before = rss_kib();
    let mut opened = Vec::new();
    for c in 0..CONNECTIONS {
        let client = TestServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let per = STREAMS / CONNECTIONS;
        let tasks: Vec<_> = (0..per)
            .map(|i| {
                let mut client = client.clone();
                tokio::spawn(async move {
                    let (tx, mut inbound) = open_stream!(client);
                    let m = format!("s {c} {i}");
                    tx.send(req(m.clone())).await.unwrap();
                    let got = inbound.next().await.expect("a reply").expect("an echo");
                    assert_eq!(got.message, m);
                    (tx, inbound)
                })
            })
            .collect();
        for t in tasks {
            opened.push(
                tokio::time::timeout(Duration::from_secs(60), t)
                    .await
                    .expect("streams open within 60 s")
                    .unwrap(),
            );
        }
    }
    assert_eq!(counter.active_calls(), STREAMS);
    let held = rss_kib();
    // Every stream still answers.
    for (i, (tx, inbound)) in opened.iter_mut().enumerate().step_by(97) {
        tx.send(req(format!("again {i}"))).await.unwrap();
        let got = inbound.next().await.unwrap().unwrap();
        assert_eq!(got.message, format!("again {i}"));
    }
    drop(opened);
    let closed = until(Duration::from_secs(30), "10,000 streams end", || {
        counter.active_calls() == 0
    })
    .await;
    eprintln!(
        "FIGURE {STREAMS} streams on {CONNECTIONS} connections: RSS {before} KiB before, {held} KiB \
         held ({:.1} KiB per stream, client and server in one process); all ended {closed:?} after \
         the client let go",
        (held.saturating_sub(before)) as f64 / STREAMS as f64
    );
}

// ------------------------------------------------------------ a slow producer

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_producer_costs_what_it_sent_not_what_it_announced() {
    const STREAMS: usize = 100;
    const ANNOUNCED: u32 = 4 * 1024 * 1024 - 1;
    let svc = TestServiceServer::new(Recorder::default());
    let counter = svc.clone();
    let (addr, _stop) = serve(svc).await;
    let before = rss_kib();
    let mut h2 = crate::h2::h2_client(addr).await;
    let mut streams = Vec::new();
    for _ in 0..STREAMS {
        h2 = h2.ready().await.expect("h2 ready");
        let (response, mut send) = h2
            .send_request(
                crate::h2::grpc_request(addr, "/echo.TestService/EchoClient"),
                false,
            )
            .expect("send request");
        // The gRPC prefix announces a message just under the 4 MiB limit;
        // the first 16 KiB of it follow.
        let mut first = vec![0u8];
        first.extend_from_slice(&ANNOUNCED.to_be_bytes());
        first.extend(std::iter::repeat_n(b'x', 16 * 1024));
        send.send_data(first.into(), false).expect("data");
        streams.push((response, send));
    }
    let mut peak = rss_kib();
    // Then 1 KiB per stream every 20 ms, ten times.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (_, send) in streams.iter_mut() {
            send.send_data(vec![b'y'; 1024].into(), false)
                .expect("data");
        }
        peak = peak.max(rss_kib());
    }
    until(
        Duration::from_secs(10),
        "every stream reaches its handler",
        || counter.active_calls() == STREAMS,
    )
    .await;
    peak = peak.max(rss_kib());
    let sent_kib = STREAMS * (16 + 10);
    let announced_kib = STREAMS * (ANNOUNCED as usize + 1) / 1024;
    eprintln!(
        "FIGURE slow producer: {STREAMS} streams announced {announced_kib} KiB and sent \
         {sent_kib} KiB; process RSS {before} KiB before, peak {peak} KiB (+{} KiB)",
        peak.saturating_sub(before)
    );
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "RSS grew {} KiB for {sent_kib} KiB sent",
        peak - before
    );
    for (_, mut send) in streams {
        send.send_reset(h2::Reason::CANCEL);
    }
    until(Duration::from_secs(10), "the cancelled streams end", || {
        counter.active_calls() == 0
    })
    .await;
}
