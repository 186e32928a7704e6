//! Shared pieces of the client side: payloads, the measurement report,
//! concurrent callers with latencies, and server RSS.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A boxed error message; every check failure is one.
pub(crate) type BenchResult<T> = Result<T, String>;

/// `size` bytes of printable ASCII (valid UTF-8, so it fits a Thrift or
/// protobuf `string`), not all the same byte so that a shifted or truncated
/// echo does not compare equal.
pub(crate) fn payload(size: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..size)
        .map(|i| ALPHABET[i % ALPHABET.len()] as char)
        .collect()
}

/// Checks one echoed message against what was sent.
pub(crate) fn check_echo(got: &[u8], want: &[u8]) -> BenchResult<()> {
    if got.len() != want.len() {
        return Err(format!(
            "echo of {} bytes came back with {} bytes",
            want.len(),
            got.len()
        ));
    }
    if got != want {
        return Err(format!(
            "echo of {} bytes came back with different content",
            want.len()
        ));
    }
    Ok(())
}

/// What a client run measured; printed as one JSON line.
#[derive(Debug, Default, Clone)]
pub(crate) struct Report {
    /// Messages, calls or bytes counted (the measured phase only).
    pub(crate) count: u64,
    /// Length of the measured phase.
    pub(crate) secs: f64,
    /// Messages or calls per second.
    pub(crate) rate: Option<f64>,
    /// Bytes per second / 1e6.
    pub(crate) mb_s: Option<f64>,
    /// Median latency, microseconds.
    pub(crate) p50_us: Option<f64>,
    /// 99th percentile latency, microseconds.
    pub(crate) p99_us: Option<f64>,
    /// Server memory per stream, KiB.
    pub(crate) kib_per_stream: Option<f64>,
}

impl Report {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": true,
            "count": self.count,
            "secs": self.secs,
            "rate": self.rate,
            "mb_s": self.mb_s,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "kib_per_stream": self.kib_per_stream,
        })
    }

    pub(crate) fn from_json(v: &serde_json::Value) -> Report {
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        Report {
            count: v
                .get("count")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            secs: f("secs").unwrap_or(0.0),
            rate: f("rate"),
            mb_s: f("mb_s"),
            p50_us: f("p50_us"),
            p99_us: f("p99_us"),
            kib_per_stream: f("kib_per_stream"),
        }
    }

    /// A report of calls (or echoes) whose latencies, in nanoseconds, are
    /// `latencies`, done in `elapsed`: their rate, p50 and p99.
    pub(crate) fn calls(mut latencies: Vec<u64>, elapsed: Duration) -> Report {
        latencies.sort_unstable();
        let pct = |p: usize| {
            let i = (latencies.len() * p / 100).min(latencies.len().saturating_sub(1));
            latencies.get(i).map(|&ns| ns as f64 / 1e3)
        };
        let secs = elapsed.as_secs_f64();
        Report {
            count: latencies.len() as u64,
            secs,
            rate: Some(latencies.len() as f64 / secs),
            p50_us: pct(50),
            p99_us: pct(99),
            ..Report::default()
        }
    }

    /// A throughput report: `count` messages of `size` bytes in `elapsed`.
    pub(crate) fn throughput(count: u64, size: usize, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64();
        Report {
            count,
            secs,
            rate: Some(count as f64 / secs),
            mb_s: Some(count as f64 * size as f64 / secs / 1e6),
            ..Report::default()
        }
    }
}

/// One caller of a request-response workload: each `call` sends one request
/// and checks its answer.
pub(crate) trait Caller: Send + 'static {
    fn call(&mut self) -> impl Future<Output = BenchResult<()>> + Send + '_;
}

/// Runs `n` calls spread over `callers` concurrent tasks (each with its own
/// [`Caller`] from `make`), pulling call numbers from a shared counter like
/// the Kitex peer's bench does; returns calls/s and p50/p99.
pub(crate) async fn concurrent<C: Caller>(
    callers: usize,
    n: usize,
    make: impl Fn() -> C,
) -> BenchResult<Report> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(callers);
    for _ in 0..callers {
        let mut caller = make();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n / callers + 1);
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t0 = Instant::now();
                caller.call().await?;
                lat.push(t0.elapsed().as_nanos() as u64);
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await.map_err(|e| format!("caller task failed: {e}"))??);
    }
    let elapsed = start.elapsed();
    if all.len() != n {
        return Err(format!("{} calls completed, expected {n}", all.len()));
    }
    Ok(Report::calls(all, elapsed))
}

/// Warm-up (a tenth of the calls, at least ten per caller), then the
/// measured run.
pub(crate) async fn warm_then_measure<C: Caller>(
    callers: usize,
    n: usize,
    make: impl Fn() -> C,
) -> BenchResult<Report> {
    concurrent(callers, (n / 10).max(callers * 10), &make).await?;
    concurrent(callers, n, &make).await
}

/// The resident set size of process `pid`, in bytes (`VmRSS` of
/// `/proc/<pid>/status`).
pub(crate) fn rss_bytes(pid: u32) -> BenchResult<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or_else(|| format!("no VmRSS in {path}"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|e| format!("bad VmRSS line {line:?}: {e}"))?;
    Ok(kb * 1024)
}

/// Waits until the server's RSS stops growing (two readings 100 ms apart
/// within 64 KiB), at most 3 s; returns the last reading.
pub(crate) async fn settled_rss(pid: u32) -> BenchResult<u64> {
    let mut last = rss_bytes(pid)?;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = rss_bytes(pid)?;
        if now.abs_diff(last) < 64 * 1024 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
