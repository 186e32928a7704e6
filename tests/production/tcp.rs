//! TCP options of accepted connections: keepalive probes armed when set
//! (read back from the kernel's socket table, /proc/net/tcp on Linux).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::echo::test_service_server::TestServiceServer;
use crate::support::{serve, Echo};

/// The kernel's timer field (`tr`) of the server side of the connection
/// from `client` to `server`: `2` means a keepalive timer is armed.
fn server_socket_timer(server: std::net::SocketAddr, client: std::net::SocketAddr) -> Option<u8> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want_local = format!("0100007F:{:04X}", server.port());
    let want_remote = format!("0100007F:{:04X}", client.port());
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.get(1) == Some(&want_local.as_str()) && cols.get(2) == Some(&want_remote.as_str()))
            .then(|| cols.get(5)?.split(':').next()?.parse().ok())
            .flatten()
    })
}

/// The server's keepalive timer for one connection that made a call.
async fn timer_with(keepalive: Option<Duration>) -> Option<u8> {
    let server = serve(
        tonic_thrift::Server::builder()
            .tcp_keepalive(keepalive)
            .add_service(TestServiceServer::new(Echo)),
    )
    .await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(&crate::tls::framed_ping_pong_call())
        .await
        .unwrap();
    let mut len = [0u8; 4];
    tcp.read_exact(&mut len).await.unwrap();
    let timer = server_socket_timer(server.addr, tcp.local_addr().unwrap());
    drop(tcp);
    server.stop().await;
    timer
}

#[tokio::test]
async fn tcp_keepalive_arms_the_kernel_timer_on_accepted_sockets() {
    if !std::path::Path::new("/proc/net/tcp").exists() {
        println!("skipped: no /proc/net/tcp (not Linux)");
        return;
    }
    assert_eq!(
        timer_with(Some(Duration::from_secs(30))).await,
        Some(2),
        "keepalive timer armed"
    );
    assert_eq!(timer_with(None).await, Some(0), "no timer by default");
}
