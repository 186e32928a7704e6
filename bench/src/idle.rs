//! The idle-streams workload, shared by the gRPC systems: open many bidi
//! streams on one connection, each after one checked exchange, and read the
//! server's RSS before and after.

use std::future::Future;
use std::time::Instant;

use std::sync::Arc;

use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use crate::common::{settled_rss, BenchResult, Report};

/// Given to each stream task: say "open and checked", then wait for the
/// end of the measurement.
pub(crate) struct Release {
    established: mpsc::UnboundedSender<()>,
    go: watch::Receiver<bool>,
    opening: OwnedSemaphorePermit,
}

/// At most this many streams are being opened at once. Opening all 10 000
/// in one burst makes h2 (0.4.20, hyper's default windows) close the
/// connection with ENHANCE_YOUR_CALM `too_many_data_frames`: the first
/// small DATA frames of streams not yet accepted count against a budget of
/// half the connection window.
const OPENING_AT_ONCE: usize = 256;

/// Called by a stream task once its exchange is checked: holds the stream
/// open until the measurement is over.
pub(crate) async fn hold(release: Release) {
    let Release {
        established,
        mut go,
        opening,
    } = release;
    drop(opening);
    let _ = established.send(());
    let _ = go.wait_for(|go| *go).await;
}

async fn round<F, Fut>(streams: usize, open: &F) -> BenchResult<(watch::Sender<bool>, Tasks)>
where
    F: Fn(Release) -> Fut,
    Fut: Future<Output = BenchResult<()>> + Send + 'static,
{
    let (est_tx, mut est_rx) = mpsc::unbounded_channel();
    let (go_tx, go_rx) = watch::channel(false);
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let permit = opening
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        tasks.spawn(open(Release {
            established: est_tx.clone(),
            go: go_rx.clone(),
            opening: permit,
        }));
    }
    drop(est_tx);
    let mut open_now = 0;
    while open_now < streams {
        tokio::select! {
            got = est_rx.recv() => match got {
                Some(()) => open_now += 1,
                None => return Err(format!("only {open_now} of {streams} streams opened")),
            },
            // A task that ends before the release has failed.
            Some(done) = tasks.join_next() => {
                done.map_err(|e| format!("stream task: {e}"))??;
                return Err("a stream ended before the measurement".into());
            }
        }
    }
    Ok((go_tx, tasks))
}

type Tasks = tokio::task::JoinSet<BenchResult<()>>;

async fn finish(go: watch::Sender<bool>, mut tasks: Tasks) -> BenchResult<()> {
    let _ = go.send(true);
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| format!("stream task: {e}"))??;
    }
    Ok(())
}

/// Warms up with a few streams, then opens `streams` at once and reports
/// the growth of the server's RSS per stream, in KiB.
pub(crate) async fn measure<F, Fut>(streams: usize, server_pid: u32, open: F) -> BenchResult<Report>
where
    F: Fn(Release) -> Fut,
    Fut: Future<Output = BenchResult<()>> + Send + 'static,
{
    let (go, tasks) = round(10, &open).await?;
    finish(go, tasks).await?;
    let before = settled_rss(server_pid).await?;
    let start = Instant::now();
    let (go, tasks) = round(streams, &open).await?;
    let opened = start.elapsed();
    let after = settled_rss(server_pid).await?;
    finish(go, tasks).await?;
    let grown = after.saturating_sub(before) as f64;
    Ok(Report {
        count: streams as u64,
        secs: opened.as_secs_f64(),
        rate: Some(streams as f64 / opened.as_secs_f64()),
        kib_per_stream: Some(grown / streams as f64 / 1024.0),
        ..Report::default()
    })
}
