//! The connection pool of the ping-pong client, watched from the server
//! side: the test accepts connections itself, counts them, can kill them,
//! and hands them to the server with `Router::serve_with_incoming_shutdown`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tonic::{Code, Request, Status};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;

use crate::echo;

use echo::test_service_client::TestServicePingPongClient;
use echo::test_service_server::TestServiceServer;

use crate::support::Echo;

fn req(m: &str) -> echo::Request {
    echo::Request {
        message: m.to_string().into(),
    }
}

async fn echo(client: &TestServicePingPongClient, m: &str) -> Result<String, Status> {
    client
        .echo_ping_pong(req(m))
        .await
        .map(|r| r.into_inner().message.to_string())
}

// ---------------------------------------------------------------------------
// A counting, killable acceptor.

#[derive(Default, Debug)]
struct Counts {
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// Connections accepted and not yet dropped by the server.
    open: AtomicUsize,
    /// The most connections open at once.
    max_open: AtomicUsize,
}

impl Counts {
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
    fn max_open(&self) -> usize {
        self.max_open.load(Ordering::SeqCst)
    }
}

/// An accepted connection as the server sees it. Once killed, it reads as
/// closed by the peer and refuses writes, so the server drops (closes) it.
struct Counted {
    io: TcpStream,
    counts: Arc<Counts>,
    kill: Pin<Box<dyn Future<Output = ()> + Send>>,
    killed: bool,
}

impl Counted {
    fn poll_killed(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.killed && self.kill.as_mut().poll(cx).is_ready() {
            self.killed = true;
        }
        self.killed
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.counts.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.poll_killed(cx) {
            return Poll::Ready(Ok(())); // EOF
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.poll_killed(cx) {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A server on 127.0.0.1 fed by the counting acceptor.
struct Harness {
    addr: SocketAddr,
    counts: Arc<Counts>,
    /// Bumping the generation kills every connection accepted before.
    kill: watch::Sender<u64>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl Harness {
    async fn start(server: tonic_thrift::Server) -> Harness {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Harness::start_on(server, listener)
    }

    fn start_on(server: tonic_thrift::Server, listener: TcpListener) -> Harness {
        let addr = listener.local_addr().unwrap();
        let counts = Arc::new(Counts::default());
        let (kill, kill_rx) = watch::channel(0u64);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let state = (listener, counts.clone(), kill_rx);
        let incoming = futures_util::stream::unfold(state, |state| async move {
            let (listener, counts, kill_rx) = &state;
            let conn = listener.accept().await.map(|(io, _)| {
                let _ = io.set_nodelay(true);
                counts.accepted.fetch_add(1, Ordering::SeqCst);
                let open = counts.open.fetch_add(1, Ordering::SeqCst) + 1;
                counts.max_open.fetch_max(open, Ordering::SeqCst);
                let mut rx = kill_rx.clone();
                let generation = *rx.borrow();
                Counted {
                    io,
                    counts: counts.clone(),
                    kill: Box::pin(async move {
                        let _ = rx.wait_for(|g| *g > generation).await;
                    }),
                    killed: false,
                }
            });
            Some((conn, state))
        });
        let done = tokio::spawn(
            server
                .add_service(TestServiceServer::new(Echo))
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stop_rx.await;
                }),
        );
        Harness {
            addr,
            counts,
            kill,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// Kills every connection accepted so far and waits until the server
    /// has dropped them all.
    async fn kill_all(&self) {
        self.kill.send_modify(|g| *g += 1);
        wait_until("the server drops the killed connections", || {
            self.counts.open() == 0
        })
        .await;
    }

    /// Stops the server (its connections are closed) and waits for it.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        within(5, "server shutdown", self.done.take().unwrap())
            .await
            .unwrap()
            .unwrap();
    }
}

/// Fails the test when `fut` takes longer than `secs` seconds.
async fn within<F: Future>(secs: u64, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {secs} s"),
    }
}

/// Waits (up to 3 s) until `cond` holds.
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_stays_within_max_connections_under_64_callers() {
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::Framed,
    ] {
        let h = Harness::start(tonic_thrift::Server::builder()).await;
        let client = TestServicePingPongClient::with_options(
            h.addr.to_string(),
            PingPongOptions::default()
                .framing(framing)
                .max_connections(8),
        );
        let mut tasks = Vec::new();
        for t in 0..64 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..100 {
                    // Some calls take a while, so that callers really wait
                    // for a connection.
                    let m = if i % 10 == 0 {
                        format!("t{t}-{i}|2")
                    } else {
                        format!("t{t}-{i}")
                    };
                    assert_eq!(echo(&client, &m).await.unwrap(), m);
                }
            }));
        }
        within(120, "64 x 100 calls", async {
            for t in tasks {
                t.await.unwrap();
            }
        })
        .await;
        assert!(
            h.counts.max_open() <= 8,
            "{framing:?}: {} connections open at once with max_connections(8)",
            h.counts.max_open()
        );
        assert!(
            h.counts.accepted() <= 8,
            "{framing:?}: {} connections made in all: healthy idle connections should be reused",
            h.counts.accepted()
        );
        assert!(client.idle_connections() <= 8);
        assert_eq!(client.idle_connections(), h.counts.open());
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let h = Harness::start(tonic_thrift::Server::builder()).await;
    let client = TestServicePingPongClient::with_options(
        h.addr.to_string(),
        PingPongOptions::default().idle_timeout(Duration::from_millis(100)),
    );
    // Calls closer together than the timeout reuse one connection.
    for i in 0..8 {
        assert_eq!(
            echo(&client, &format!("a{i}")).await.unwrap(),
            format!("a{i}")
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(h.counts.accepted(), 1);
    // After a longer pause the next call opens a new connection, and the
    // old one is closed.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(echo(&client, "b").await.unwrap(), "b");
    assert_eq!(
        h.counts.accepted(),
        2,
        "a connection idle past the timeout was reused"
    );
    wait_until("the old connection is closed", || h.counts.open() == 1).await;
    assert_eq!(client.idle_connections(), 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_connections_are_replaced() {
    let h = Harness::start(tonic_thrift::Server::builder()).await;
    let client =
        TestServicePingPongClient::with_options(h.addr.to_string(), PingPongOptions::default());
    // Four connections in the pool.
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { echo(&client, &format!("c{i}|150")).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(h.counts.accepted(), 4);
    assert_eq!(client.idle_connections(), 4);

    // The server closes all of them: the next call goes over a fresh one.
    h.kill_all().await;
    tokio::time::sleep(Duration::from_millis(20)).await; // let the FINs arrive
    assert_eq!(echo(&client, "after kill").await.unwrap(), "after kill");
    assert_eq!(h.counts.accepted(), 5);
    for i in 0..5 {
        assert_eq!(
            echo(&client, &format!("d{i}")).await.unwrap(),
            format!("d{i}")
        );
    }
    assert_eq!(h.counts.accepted(), 5, "the fresh connection is reused");
    assert_eq!(
        client.idle_connections(),
        1,
        "the dead connections left the pool"
    );

    // The server restarts on the same port.
    let addr = h.addr;
    h.stop().await;
    let listener = TcpListener::bind(addr).await.unwrap();
    let h = Harness::start_on(tonic_thrift::Server::builder(), listener);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        echo(&client, "after restart").await.unwrap(),
        "after restart"
    );
    assert_eq!(h.counts.accepted(), 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_idle_timeout_shorter_than_the_pools() {
    // The server closes connections idle for 100 ms; the client would keep
    // them 60 s. A call after a pause must not fail on the closed one.
    let h =
        Harness::start(tonic_thrift::Server::builder().idle_timeout(Duration::from_millis(100)))
            .await;
    let client =
        TestServicePingPongClient::with_options(h.addr.to_string(), PingPongOptions::default());
    for round in 0..3 {
        assert_eq!(echo(&client, "x").await.unwrap(), "x");
        wait_until("the server closes the idle connection", || {
            h.counts.open() == 0
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            echo(&client, "y").await.unwrap(),
            "y",
            "round {round}: call after the server closed the pooled connection"
        );
    }
    // One connection at first, then one more after each server-side close.
    assert_eq!(h.counts.accepted(), 4);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_gives_unavailable() {
    // A listener that never accepts, with its accept queue full: further
    // connection attempts get no answer at all.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => queued.push(s),
            Ok(Err(e)) => panic!("filling the accept queue: {e}"),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(
        full,
        "could not fill the accept queue of a listen(0) socket"
    );

    let connect_timeout = Duration::from_millis(300);
    let client = TestServicePingPongClient::with_options(
        addr.to_string(),
        PingPongOptions::default().connect_timeout(connect_timeout),
    );
    for _ in 0..2 {
        let start = Instant::now();
        let err = within(
            5,
            "call to a listener that never accepts",
            echo(&client, "x"),
        )
        .await
        .unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.code(), Code::Unavailable, "{err}");
        assert!(
            took >= connect_timeout - Duration::from_millis(20)
                && took < connect_timeout + Duration::from_millis(700),
            "failed after {took:?} with a connect timeout of {connect_timeout:?}: {err}"
        );
    }

    // Nothing listening at all: UNAVAILABLE at once.
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let client = TestServicePingPongClient::with_options(
        free.to_string(),
        PingPongOptions::default().connect_timeout(Duration::from_secs(5)),
    );
    let start = Instant::now();
    let err = echo(&client, "x").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(queued);
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_gives_deadline_exceeded_and_the_pool_stays_usable() {
    // Codes other than DEADLINE_EXCEEDED for timed-out calls, reported at the
    // end so that the pool checks run regardless (see
    // `call_timeout_is_deadline_exceeded_even_when_the_servers_deadline_fires_first`).
    let mut wrong_codes: Vec<String> = Vec::new();
    let mut check_code = |framing: Framing, what: &str, code: Code| {
        if code != Code::DeadlineExceeded {
            wrong_codes.push(format!("{framing:?} {what}: {code:?}"));
        }
    };
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::Framed,
        Framing::Buffered,
    ] {
        let h = Harness::start(tonic_thrift::Server::builder()).await;
        let client = TestServicePingPongClient::with_options(
            h.addr.to_string(),
            PingPongOptions::default()
                .framing(framing)
                .max_connections(1)
                .timeout(Duration::from_millis(100)),
        );
        assert_eq!(echo(&client, "warm").await.unwrap(), "warm");
        let start = Instant::now();
        let err = echo(&client, "slow|1000").await.unwrap_err();
        let took = start.elapsed();
        check_code(framing, "slow call", err.code());
        assert!(
            took < Duration::from_millis(600),
            "{framing:?}: took {took:?}"
        );

        // The next calls get their own replies, not the late reply of the
        // timed-out call.
        assert_eq!(echo(&client, "next").await.unwrap(), "next", "{framing:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        for i in 0..5 {
            let m = format!("n{i}");
            assert_eq!(echo(&client, &m).await.unwrap(), m, "{framing:?}");
        }

        // Mixed slow and fast calls, concurrently, over one connection.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let m = if i % 3 == 0 {
                    format!("s{i}|400")
                } else {
                    format!("f{i}")
                };
                (i, echo(&client, &m).await.map_err(|e| e.code()), m)
            }));
        }
        for t in tasks {
            let (i, r, m) = within(30, "mixed calls", t).await.unwrap();
            // A fast call may also run out of time waiting for the
            // connection behind slow ones; if it succeeds, it gets its own
            // reply.
            match r {
                Ok(got) => {
                    assert!(i % 3 != 0, "{framing:?}: slow call {m} succeeded");
                    assert_eq!(got, m, "{framing:?}");
                }
                Err(code) => check_code(framing, &m, code),
            }
        }
        assert_eq!(echo(&client, "last").await.unwrap(), "last");
        assert!(client.idle_connections() <= 1);

        // A per-call deadline takes precedence over the client's.
        let long = TestServicePingPongClient::with_options(
            h.addr.to_string(),
            PingPongOptions::default()
                .framing(framing)
                .timeout(Duration::from_secs(10)),
        );
        let mut r = Request::new(req("slow|1000"));
        r.set_timeout(Duration::from_millis(50));
        let start = Instant::now();
        let err = long.echo_ping_pong(r).await.unwrap_err();
        check_code(framing, "per-call deadline", err.code());
        assert!(start.elapsed() < Duration::from_millis(600));
        h.stop().await;
    }
    assert!(
        wrong_codes.is_empty(),
        "timed-out calls that did not fail with DEADLINE_EXCEEDED: {wrong_codes:#?}"
    );
}

/// The server enforces the deadline it receives in the TTHeader (int key
/// 12) and answers a TApplicationException INTERNAL_ERROR "deadline
/// exceeded: ..." when it runs out. That reply races with the client's own
/// timer; when it wins, the caller sees `UNKNOWN` instead of
/// `DEADLINE_EXCEEDED` (about one call in five with a 20 ms timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_timeout_is_deadline_exceeded_even_when_the_servers_deadline_fires_first() {
    let h = Harness::start(tonic_thrift::Server::builder()).await;
    let client = TestServicePingPongClient::with_options(
        h.addr.to_string(),
        PingPongOptions::default()
            .max_connections(4)
            .timeout(Duration::from_millis(20)),
    );
    let mut wrong = Vec::new();
    for _ in 0..100 {
        let e = echo(&client, "slow|200").await.unwrap_err();
        if e.code() != Code::DeadlineExceeded {
            wrong.push(format!("{:?}: {}", e.code(), e.message()));
        }
    }
    h.stop().await;
    assert!(
        wrong.is_empty(),
        "{} of 100 timed-out calls did not fail with DEADLINE_EXCEEDED, e.g. {:?}",
        wrong.len(),
        wrong.first()
    );
}

/// With the client's idle timeout below the server's, a pooled connection
/// is never reused just as the server closes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_idle_timeout_below_the_servers_avoids_stale_connections() {
    let h =
        Harness::start(tonic_thrift::Server::builder().idle_timeout(Duration::from_millis(100)))
            .await;
    let client = TestServicePingPongClient::with_options(
        h.addr.to_string(),
        PingPongOptions::default().idle_timeout(Duration::from_millis(60)),
    );
    for i in 0..40u64 {
        let m = format!("i{i}");
        assert_eq!(echo(&client, &m).await.unwrap(), m, "call {i}");
        // Pauses on both sides of both timeouts.
        tokio::time::sleep(Duration::from_millis(40 + (i * 7) % 80)).await;
    }
    assert!(h.counts.accepted() > 1, "some connections idled out");
    h.stop().await;
}

/// `serve_with_shutdown` / `serve_with_incoming_shutdown` promise to let
/// calls in progress finish. gRPC calls do; ping-pong calls in progress are
/// cut off (the connection task is dropped on the signal).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_calls_in_progress_finish() {
    // gRPC.
    let h = Harness::start(tonic_thrift::Server::builder()).await;
    let mut grpc =
        echo::test_service_client::TestServiceClient::connect(format!("http://{}", h.addr))
            .await
            .unwrap();
    let call = tokio::spawn(async move {
        grpc.echo_unary(req("grpc|400"))
            .await
            .map(|r| r.into_inner().message.to_string())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.stop().await;
    assert_eq!(call.await.unwrap().unwrap(), "grpc|400");

    // Ping-pong, in every framing.
    for framing in [
        Framing::TTHeader {
            inner_framed: false,
        },
        Framing::TTHeader { inner_framed: true },
        Framing::Framed,
        Framing::Buffered,
    ] {
        let h = Harness::start(tonic_thrift::Server::builder()).await;
        let client = TestServicePingPongClient::with_options(
            h.addr.to_string(),
            PingPongOptions::default().framing(framing),
        );
        let c = client.clone();
        let call = tokio::spawn(async move { echo(&c, "pp|400").await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.stop().await;
        let r = call.await.unwrap();
        assert_eq!(
            r.as_deref().map_err(|e| e.to_string()),
            Ok("pp|400"),
            "{framing:?}: a ping-pong call in progress at shutdown"
        );
    }
}
