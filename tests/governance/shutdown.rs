//! Governance item 8: graceful shutdown — after the signal the server stops
//! accepting (new connections refused), closes idle connections, lets
//! running streams and calls finish within the grace period (a bidi stream
//! in progress completes all its messages, a ping-pong call in progress gets
//! its reply), then cancels what is left; nothing acknowledged is lost.

use std::time::{Duration, Instant};

use crate::support::*;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Request;
use tonic_thrift::pingpong::PingPongOptions;

fn server_with_grace(grace: Duration, gov: Gov) -> tonic_thrift::server::Router {
    tonic_thrift::Server::builder()
        .shutdown_grace_period(grace)
        .add_service(TestServiceServer::new(gov))
}

/// A Framed `EchoPingPong` CALL carrying `Request{text}`, by hand.
fn framed_call(text: &str, seq: i32) -> Vec<u8> {
    let mut msg = vec![0x80, 0x01, 0x00, 0x01];
    let name = b"EchoPingPong";
    msg.extend_from_slice(&(name.len() as i32).to_be_bytes());
    msg.extend_from_slice(name);
    msg.extend_from_slice(&seq.to_be_bytes());
    // Args { 1: Request { 1: text } }
    msg.extend_from_slice(&[0x0c, 0x00, 0x01, 0x0b, 0x00, 0x01]);
    msg.extend_from_slice(&(text.len() as i32).to_be_bytes());
    msg.extend_from_slice(text.as_bytes());
    msg.extend_from_slice(&[0x00, 0x00]);
    let mut frame = (msg.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&msg);
    frame
}

/// Reads one Framed reply; returns its message bytes.
async fn read_framed(conn: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    conn.read_exact(&mut len).await.expect("a reply");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    conn.read_exact(&mut body).await.expect("a whole reply");
    body
}

/// Whether the peer closed `conn` within `limit` (read returns 0 or fails).
async fn closed_within(conn: &mut tokio::net::TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(limit, conn.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn new_connections_are_refused_after_the_signal() {
    let mut server = serve(server_with_grace(Duration::from_secs(5), Gov::default())).await;
    // Keep the server busy so that it is still shutting down.
    let mut grpc = server.grpc().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(req("a")).await.unwrap();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "a");

    server.signal();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let connect = tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(server.addr),
    )
    .await;
    let refused = matches!(connect, Ok(Err(_)));
    // Even if the kernel completes the handshake, nothing may be served on it.
    let served = match connect {
        Ok(Ok(_)) => {
            let pp = server.pingpong(
                PingPongOptions::default()
                    .timeout(Duration::from_millis(300))
                    .connect_timeout(Duration::from_millis(300)),
            );
            pp.echo_ping_pong(req("late")).await.is_ok()
        }
        _ => false,
    };
    assert!(!served, "a connection made after the signal was served");
    drop(tx);
    assert!(inbound.next().await.is_none());
    server.join(Duration::from_secs(3)).await.unwrap();
    assert!(
        refused,
        "a new connection was accepted by the kernel after the shutdown signal \
         (the listener stays bound during the grace period): {connect:?}"
    );
}

#[tokio::test]
async fn running_streams_and_calls_finish_within_the_grace_period() {
    let (gov, mut guards) = Gov::with_guards();
    let mut server = serve(server_with_grace(Duration::from_secs(5), gov)).await;

    // A bidi stream in progress.
    let mut grpc = server.grpc().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(req("m0")).await.unwrap();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "m0");

    // A ping-pong call and a gRPC unary call in progress.
    let pp = server.pingpong(PingPongOptions::default());
    let pp_call = tokio::spawn(async move { pp.echo_ping_pong(req("sleep:500")).await });
    let mut grpc2 = server.grpc().await;
    let unary_call = tokio::spawn(async move { grpc2.echo_unary(req("sleep:500")).await });
    for _ in 0..2 {
        wait_for(
            &mut guards,
            GuardEvent::Started("unary"),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    }
    // A client-streaming call in progress, acknowledged at the end.
    let mut grpc3 = server.grpc().await;
    let (ctx, crx) = tokio::sync::mpsc::channel(200);
    ctx.send(req("c0")).await.unwrap();
    let client_call = tokio::spawn(async move {
        grpc3
            .echo_client(tokio_stream::wrappers::ReceiverStream::new(crx))
            .await
    });
    // An idle ping-pong connection, and a connection that never said anything.
    let mut idle_pp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    idle_pp.write_all(&framed_call("idle", 1)).await.unwrap();
    let reply = read_framed(&mut idle_pp).await;
    assert!(reply.windows(4).any(|w| w == b"idle"));
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let signalled = Instant::now();
    server.signal();
    tokio::time::sleep(Duration::from_millis(50)).await;

    // Idle connections are closed.
    assert!(
        closed_within(&mut idle_pp, Duration::from_secs(1)).await,
        "idle ping-pong connection left open"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(1)).await,
        "silent connection left open"
    );

    // The bidi stream completes all its messages.
    for i in 1..=20 {
        tx.send(req(format!("m{i}"))).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), inbound.next())
            .await
            .expect("a reply during the grace period")
            .expect("the stream is still open")
            .unwrap_or_else(|e| panic!("m{i}: {e:?}"));
        assert_eq!(got.message, format!("m{i}"));
    }
    drop(tx);
    assert!(inbound.next().await.is_none(), "the stream ends cleanly");

    // The client-streaming call: everything sent is in the reply.
    for i in 1..100 {
        ctx.send(req(format!("c{i}"))).await.unwrap();
    }
    drop(ctx);
    let joined = client_call
        .await
        .unwrap()
        .expect("client streaming during shutdown")
        .into_inner();
    let want: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    assert_eq!(joined.message, want.join(" "));

    // The calls in progress get their replies.
    let r = pp_call
        .await
        .unwrap()
        .expect("the ping-pong call in progress");
    assert_eq!(r.into_inner().message, "slept");
    let r = unary_call
        .await
        .unwrap()
        .expect("the gRPC call in progress");
    assert_eq!(r.into_inner().message, "slept");

    // Then the server returns, well before the grace period ends.
    server.join(Duration::from_secs(3)).await.unwrap();
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "{:?}",
        signalled.elapsed()
    );
}

#[tokio::test]
async fn what_is_left_is_cancelled_after_the_grace_period() {
    let (gov, mut guards) = Gov::with_guards();
    let mut server = serve(server_with_grace(Duration::from_millis(300), gov)).await;

    let mut grpc = server.grpc().await;
    let mut g1 = grpc.clone();
    let unary = tokio::spawn(async move { g1.echo_unary(req("hang")).await.map(|_| ()) });
    wait_for(
        &mut guards,
        GuardEvent::Started("unary"),
        Duration::from_secs(2),
    )
    .await
    .unwrap();

    let mut server_stream = grpc.echo_server(req("hang")).await.unwrap().into_inner();
    assert_eq!(
        server_stream.next().await.unwrap().unwrap().message,
        "first"
    );

    let out = futures_util::stream::iter([req("one"), req("hang")])
        .chain(futures_util::stream::pending());
    let mut bidi = grpc.echo(Request::new(out)).await.unwrap().into_inner();
    assert_eq!(bidi.next().await.unwrap().unwrap().message, "one");

    let pp = server.pingpong(PingPongOptions::default());
    let pp_call = tokio::spawn(async move { pp.echo_ping_pong(req("hang")).await.map(|_| ()) });
    wait_for(
        &mut guards,
        GuardEvent::Started("unary"),
        Duration::from_secs(2),
    )
    .await
    .unwrap();

    let signalled = Instant::now();
    server.signal();
    server
        .join(Duration::from_secs(1))
        .await
        .expect("the serve future must return soon after the 300 ms grace period");

    // Every handler was cancelled.
    let mut dropped = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while dropped.len() < 4 {
            match guards.recv().await {
                Some(GuardEvent::Dropped(n)) => dropped.push(n),
                Some(_) => {}
                None => break,
            }
        }
    })
    .await;
    dropped.sort();
    assert_eq!(
        dropped,
        ["bidi", "server-stream", "unary", "unary"],
        "handlers cancelled after the grace period"
    );

    // And every caller hears about it instead of hanging.
    let limit = Duration::from_secs(1);
    let r = tokio::time::timeout(limit, unary)
        .await
        .expect("unary caller left hanging")
        .unwrap();
    assert!(r.is_err());
    let r = tokio::time::timeout(limit, pp_call)
        .await
        .expect("ping-pong caller left hanging")
        .unwrap();
    assert!(r.is_err());
    let r = tokio::time::timeout(limit, server_stream.next())
        .await
        .expect("server-stream caller left hanging");
    assert!(!matches!(r, Some(Ok(_))), "{r:?}");
    let r = tokio::time::timeout(limit, bidi.next())
        .await
        .expect("bidi caller left hanging");
    assert!(!matches!(r, Some(Ok(_))), "{r:?}");
    assert!(signalled.elapsed() < Duration::from_secs(3));
}
