//! `kitex-peer-client` (a real Kitex v0.16.3 client) against
//! `examples/generic_echo_server.rs`: its 37 cases (streaming over gRPC,
//! unary, ping-pong over every framing) and its 16 streaming cases over
//! TTHeader Streaming, all answered by one JSON handler.
//!
//! Skips, saying why, where `../shared/kitex-peer/bin` is missing, unless
//! `TONIC_THRIFT_REQUIRE_KITEX` is set (CI), where that fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn peer_bin() -> Option<PathBuf> {
    let dir = match std::env::var_os("KITEX_PEER_BIN") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/kitex-peer/bin"),
    };
    if dir.join("kitex-peer-client").is_file() {
        return Some(dir);
    }
    let required =
        std::env::var("TONIC_THRIFT_REQUIRE_KITEX").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "TONIC_THRIFT_REQUIRE_KITEX is set but {} has no kitex-peer-client",
        dir.display()
    );
    eprintln!("skipped: {} has no kitex-peer-client", dir.display());
    None
}

/// Builds `examples/generic_echo_server.rs` into this test's target
/// directory and returns its path.
fn generic_echo_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target = profile.parent().unwrap();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--example", "generic_echo_server", "--target-dir"])
        .arg(target);
    if profile.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build --example generic_echo_server failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile.join("examples/generic_echo_server")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_cases(bin: &Path, addr: &str, extra: &[&str]) -> (bool, String) {
    let mut child = Command::new(bin.join("kitex-peer-client"))
        .args(["-addr", addr])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kitex-peer-client starts");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    (status.success(), out)
}

#[test]
fn the_kitex_client_passes_every_case_against_the_generic_echo_server() {
    let Some(bin) = peer_bin() else { return };
    let server = generic_echo_server();
    let mut child = Command::new(server)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("generic_echo_server starts");
    let addr = crate::listening::addr(&mut child, "generic_echo_server");
    let _guard = Killed(child);
    std::thread::sleep(Duration::from_millis(50));
    let (ok, out) = run_cases(&bin, &addr, &["-case", "all"]);
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("\"ok\":false")).collect();
    assert!(ok && failed.is_empty(), "-case all:\n{}", failed.join("\n"));
    assert_eq!(
        out.lines().filter(|l| l.contains("\"ok\":true")).count(),
        37,
        "{out}"
    );
    let (ok, out) = run_cases(
        &bin,
        &addr,
        &["-stream-transport", "ttstream", "-case", "streaming"],
    );
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("\"ok\":false")).collect();
    assert!(
        ok && failed.is_empty(),
        "ttstream streaming:\n{}",
        failed.join("\n")
    );
    assert_eq!(
        out.lines().filter(|l| l.contains("\"ok\":true")).count(),
        16,
        "{out}"
    );
}
