//! Dead peers: a TCP proxy between client and server that stops forwarding
//! without closing either side (a dropped network path). HTTP/2 keepalive
//! PINGs go unanswered, and the open stream ends with `UNAVAILABLE` within
//! the keepalive interval plus timeout on both sides.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;
use tonic_thrift::grpc::GrpcOptions;

use crate::echo;
use crate::echo::test_service_client::TestServiceClient;
use crate::echo::test_service_server::TestServiceServer;
use crate::support::{inbound_watch, serve, Echo};

/// Forwards bytes until told to stop, then holds both sockets open and
/// silent.
struct BlackHoleProxy {
    addr: SocketAddr,
    forwarding: Arc<AtomicBool>,
}

impl BlackHoleProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let forwarding = Arc::new(AtomicBool::new(true));
        let on = forwarding.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (dr, dw) = down.into_split();
                let (ur, uw) = up.into_split();
                tokio::spawn(pipe(dr, uw, on.clone()));
                tokio::spawn(pipe(ur, dw, on.clone()));
            }
        });
        BlackHoleProxy { addr, forwarding }
    }

    fn black_hole(&self) {
        self.forwarding.store(false, Ordering::SeqCst);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    on: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = from.read(&mut buf).await;
        if !on.load(Ordering::SeqCst) {
            // Swallow everything from now on, even a close, never closing
            // the other side: the sockets live as long as this task, which
            // waits for ever.
            std::future::pending::<()>().await;
        }
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_black_holed_stream_ends_unavailable_on_both_sides() {
    let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(300));
    let server = serve(
        tonic_thrift::Server::builder()
            .http2_keepalive_interval(Some(interval))
            .http2_keepalive_timeout(Some(timeout))
            .add_service(TestServiceServer::new(Echo)),
    )
    .await;
    let proxy = BlackHoleProxy::start(server.addr).await;
    let options = GrpcOptions::default()
        .http2_keepalive_interval(interval)
        .http2_keepalive_timeout(timeout);
    let mut client = TestServiceClient::connect_with(format!("http://{}", proxy.addr), options)
        .await
        .expect("connect through the proxy");

    let key = "watch:dead-peer";
    let server_side = inbound_watch(key);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(echo::Request {
        message: key.into(),
    })
    .await
    .unwrap();
    let mut replies = client
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("open the stream")
        .into_inner();
    let first = replies.message().await.expect("first reply").expect("open");
    assert_eq!(first.message, key);

    proxy.black_hole();
    let started = Instant::now();
    // Generous bound for a loaded machine; far below any idle timeout.
    let bound = Duration::from_secs(5);
    let client_end = tokio::time::timeout(bound, replies.message())
        .await
        .expect("the client's stream ends within the keepalive timeout")
        .expect_err("the stream fails");
    assert_eq!(client_end.code(), Code::Unavailable, "{client_end:?}");
    let server_end = tokio::time::timeout(bound, server_side)
        .await
        .expect("the server's stream ends within the keepalive timeout")
        .expect("the handler reports its inbound stream")
        .expect_err("the inbound stream fails");
    assert_eq!(server_end.code(), Code::Unavailable, "{server_end:?}");
    println!("both sides ended after {:?}", started.elapsed());
    drop(tx);
    server.stop().await;
}
