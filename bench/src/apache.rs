//! Apache Thrift's Python library as a ping-pong server, for reference rows
//! only (`apache-py-*`): `bench/python/apache_echo.py` serving
//! `idl/echo.thrift` with code that Debian's `thrift-compiler` generates
//! into a temporary directory when the server starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::BenchResult;
use crate::{PpFraming, Work};

const BENCH_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Why the Apache rows cannot run here, or `None` when `thrift` (the
/// compiler) and Python's `thrift` package are both present.
pub(crate) fn missing() -> Option<String> {
    let compiler = Command::new("thrift")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(compiler, Ok(s) if s.success()) {
        return Some("`thrift` (Debian's thrift-compiler) not found".into());
    }
    let library = Command::new("python3")
        .args(["-c", "import thrift.protocol.TCompactProtocol"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !matches!(library, Ok(s) if s.success()) {
        return Some("Python's `thrift` package not importable by python3".into());
    }
    None
}

/// Generates the Python code of `idl/echo.thrift` (once per process) and
/// returns the command that serves it with the protocol of `work`.
pub(crate) fn server_command(work: Work) -> BenchResult<Command> {
    let protocol = match work {
        Work::PingPong {
            framing: PpFraming::Framed,
            ..
        } => "binary",
        Work::PingPong {
            framing: PpFraming::FramedCompact,
            ..
        } => "compact",
        other => {
            return Err(format!(
                "the Apache Python server has only Framed ping-pong, not {other:?}"
            ))
        }
    };
    let gen = generate()?;
    let mut c = Command::new("python3");
    c.arg(Path::new(BENCH_DIR).join("python/apache_echo.py"))
        .arg(&gen)
        .arg(protocol);
    Ok(c)
}

fn generate() -> BenchResult<PathBuf> {
    let out = std::env::temp_dir().join(format!("tonic-thrift-bench-py-{}", std::process::id()));
    if out.join("echo").is_dir() {
        return Ok(out);
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let idl = Path::new(BENCH_DIR).join("idl/echo.thrift");
    let done = Command::new("thrift")
        .args(["--gen", "py", "-out"])
        .arg(&out)
        .arg(&idl)
        .output()
        .map_err(|e| format!("running thrift: {e}"))?;
    if !done.status.success() {
        return Err(format!(
            "thrift --gen py {} failed: {}",
            idl.display(),
            String::from_utf8_lossy(&done.stderr).trim()
        ));
    }
    Ok(out)
}
