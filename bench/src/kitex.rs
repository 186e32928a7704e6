//! The Kitex peer (`../shared/kitex-peer/bin`): its server, and its client's
//! bench cases, whose one-line JSON results are turned into [`Report`]s.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{BenchResult, Report};
use crate::{PpFraming, Work};

/// The directory holding `kitex-peer-server` and `kitex-peer-client`, if
/// present: `$KITEX_PEER_BIN`, else `../shared/kitex-peer/bin` from the
/// workspace root.
pub(crate) fn bin_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("KITEX_PEER_BIN") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/kitex-peer/bin"
        )),
    };
    let ok = dir.join("kitex-peer-server").is_file() && dir.join("kitex-peer-client").is_file();
    ok.then(|| dir.canonicalize().unwrap_or(dir))
}

/// `kitex-peer-server -addr 127.0.0.1:0` (prints `LISTENING <addr>`).
pub(crate) fn server_command(dir: &std::path::Path) -> Command {
    let mut c = Command::new(dir.join("kitex-peer-server"));
    c.args(["-addr", "127.0.0.1:0"]);
    c
}

/// The `kitex-peer-client` bench case for `work`, `n` messages or calls.
pub(crate) fn client_command(
    dir: &std::path::Path,
    work: Work,
    addr: &str,
    n: usize,
) -> BenchResult<Command> {
    let mut c = Command::new(dir.join("kitex-peer-client"));
    c.args(["-addr", addr, "-n", &n.to_string(), "-timeout", "30s"]);
    match work {
        Work::Bidi { size } => c.args(["-case", "bench-bidi", "-size", &size.to_string()]),
        Work::ServerStream { size } => {
            c.args(["-case", "bench-server-stream", "-size", &size.to_string()])
        }
        Work::Unary { size, callers } => c.args([
            "-case",
            "bench-unary",
            "-size",
            &size.to_string(),
            "-c",
            &callers.to_string(),
        ]),
        Work::PingPong {
            framing: PpFraming::FramedCompact,
            ..
        } => return Err("the Kitex peer's ping-pong cases speak Thrift Binary only".into()),
        Work::PingPong {
            framing,
            size,
            callers,
        } => c.args([
            "-case",
            "bench-pingpong",
            "-size",
            &size.to_string(),
            "-c",
            &callers.to_string(),
            "-transport",
            match framing {
                // TTHeader with a Framed payload, as everywhere in this bench.
                PpFraming::TTHeader => "ttheader_framed",
                PpFraming::Framed | PpFraming::FramedCompact => "framed",
            },
        ]),
        Work::Idle { .. } => return Err("the Kitex peer has no idle-streams case".into()),
        Work::Churn { .. } => return Err("the Kitex peer has no churn case".into()),
        Work::SlowConsumer { .. } => return Err("the Kitex peer has no slow-consumer case".into()),
        // The stream latency cases run over TTHeader Streaming.
        Work::Lockstep { size, callers } => c.args([
            "-case",
            "bench-bidi-lockstep",
            "-stream-transport",
            "ttstream",
            "-size",
            &size.to_string(),
            "-c",
            &callers.to_string(),
        ]),
        Work::StreamOpen { size, callers } => c.args([
            "-case",
            "bench-stream-open",
            "-stream-transport",
            "ttstream",
            "-size",
            &size.to_string(),
            "-c",
            &callers.to_string(),
        ]),
    };
    Ok(c)
}

/// Turns the peer client's JSON line into a report (it checked every echo's
/// length itself; `ok` says whether all passed).
pub(crate) fn parse(work: Work, line: &str) -> BenchResult<Report> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad JSON from kitex-peer-client: {e}"))?;
    let detail = v.get("detail").and_then(|d| d.as_str()).unwrap_or("");
    if v.get("ok").and_then(|o| o.as_bool()) != Some(true) {
        return Err(format!("kitex-peer-client failed: {detail}"));
    }
    let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let rate = f("msgs_per_sec").ok_or("no msgs_per_sec in the Kitex result")?;
    let size = match work {
        Work::Bidi { size }
        | Work::ServerStream { size }
        | Work::Unary { size, .. }
        | Work::PingPong { size, .. }
        | Work::Lockstep { size, .. }
        | Work::StreamOpen { size, .. }
        | Work::SlowConsumer { size, .. } => size,
        Work::Idle { .. } | Work::Churn { .. } => 0,
    };
    let latencies = matches!(
        work,
        Work::Unary { .. }
            | Work::PingPong { .. }
            | Work::Lockstep { .. }
            | Work::StreamOpen { .. }
    );
    Ok(Report {
        count: v.get("n").and_then(serde_json::Value::as_u64).unwrap_or(0),
        secs: f("secs").unwrap_or(0.0),
        rate: Some(rate),
        mb_s: (!latencies).then_some(rate * size as f64 / 1e6),
        p50_us: if latencies { f("p50_us") } else { None },
        p99_us: if latencies { f("p99_us") } else { None },
        kib_per_stream: None,
    })
}
