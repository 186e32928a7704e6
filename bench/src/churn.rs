//! The churn workload: connections opened, used for one unary call and
//! closed, `n` in all, from [`TASKS`] tasks. The server's settled RSS and
//! its open file descriptors are read before and after: a server that
//! leaked per connection would show it here.
//!
//! The client closes first, so its ports sit in TIME_WAIT. They are left to
//! `connect()` to choose: on loopback Linux reuses TIME_WAIT ports
//! (`net.ipv4.tcp_tw_reuse = 2`, the default), and 100,000 connections run
//! at a steady rate. Spreading the sources over 127.0.0.2–127.0.0.9 with
//! `bind()` was tried and dropped: a port chosen at `bind()` time must not
//! clash with any TIME_WAIT socket, the kernel's search grows with them,
//! and the rate fell from 5,000 to under 600 connections a second.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tonic::transport::{Channel, Endpoint};

use crate::common::{settled_rss, BenchResult, Report};

/// Connections being opened at once.
const TASKS: usize = 16;

/// The server's open file descriptors.
fn open_fds(pid: u32) -> BenchResult<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .map_err(|e| format!("reading /proc/{pid}/fd: {e}"))
}

/// Runs `n` connect + `call` + close rounds against `addr`; `call` gets the
/// new channel. Prints the server's RSS and descriptors before and after to
/// stderr, and fails if descriptors were left open.
pub(crate) async fn measure<F, Fut>(
    addr: SocketAddr,
    n: usize,
    server_pid: u32,
    call: F,
) -> BenchResult<Report>
where
    F: Fn(Channel) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = BenchResult<()>> + Send,
{
    let rss_before = settled_rss(server_pid).await?;
    let fds_before = open_fds(server_pid)?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let next = next.clone();
            let call = call.clone();
            tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        return Ok::<(), String>(());
                    }
                    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                        .map_err(|e| e.to_string())?;
                    let channel = endpoint
                        .connect()
                        .await
                        .map_err(|e| format!("connection {k}: {e}"))?;
                    call(channel).await?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let secs = start.elapsed().as_secs_f64();
    let rss_after = settled_rss(server_pid).await?;
    let mut fds_after = open_fds(server_pid)?;
    // Closed connections may take a moment to be noticed.
    for _ in 0..50 {
        if fds_after <= fds_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        fds_after = open_fds(server_pid)?;
    }
    eprintln!(
        "churn: {n} connections in {secs:.1} s; server RSS {} KiB before, {} KiB after; \
         open descriptors {fds_before} before, {fds_after} after",
        rss_before / 1024,
        rss_after / 1024
    );
    if fds_after > fds_before {
        return Err(format!(
            "the server holds {fds_after} descriptors after the churn, {fds_before} before"
        ));
    }
    Ok(Report {
        count: n as u64,
        secs,
        rate: Some(n as f64 / secs),
        mb_s: None,
        p50_us: None,
        p99_us: None,
        kib_per_stream: Some((rss_after as f64 - rss_before as f64) / 1024.0),
    })
}
