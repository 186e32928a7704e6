//! The gRPC interop cases over Thrift payloads, end to end:
//! `examples/interop_server` against `examples/interop_client` (ours ↔ ours)
//! and against `tests/python/grpc_interop_client.py` (Python grpcio with
//! hand-encoded Thrift, a client nobody here built on our code).
//!
//! The examples are built by `cargo build --example` into this test's own
//! target directory and profile (a no-op under `cargo test --workspace`).
//! The grpcio test is skipped when `python3 -c "import grpc"` fails, unless
//! `TONIC_THRIFT_REQUIRE_PYTHON=1` (CI), where that is a failure.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every case both clients run, with grpc's names.
const CASES: [&str; 16] = [
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
];

/// How long one client run may take.
const RUN_LIMIT: Duration = Duration::from_secs(120);

#[path = "../support/examples.rs"]
mod examples;
#[path = "../support/listening.rs"]
mod listening;
#[path = "../support/python.rs"]
mod python_env;

/// Builds both examples once and returns their directory.
fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| examples::build(&["interop_server", "interop_client"]))
}

fn example(name: &str) -> PathBuf {
    examples::path(examples_dir(), name)
}

/// A running `interop_server`, killed and reaped on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(example("interop_server"))
            .args(["--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("interop_server starts");
        let addr = listening::addr(&mut child, "interop_server");
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` to the end within [`RUN_LIMIT`] (killed after it).
fn run(what: &str, cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pipe = |p: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = p {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(child.stdout.take().map(|p| Box::new(p) as _));
    let err = pipe(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        match child.try_wait().expect("wait for the client") {
            Some(status) => break status,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {RUN_LIMIT:?}");
            }
        }
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The client passed exactly `cases`, one `PASS <case>` line each, in
/// order, with no other case line, and exited 0.
fn assert_passed(what: &str, out: &Output, cases: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{what}:\n{stdout}");
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS ") || l.starts_with("FAIL "))
        .collect();
    let want: Vec<String> = cases.iter().map(|c| format!("PASS {c}")).collect();
    assert_eq!(lines, want, "{what}:\n{stdout}\n{stderr}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} exited with {}:\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn rust_client_passes_every_case() {
    let server = Server::start();
    let out = run(
        "interop_client --case all",
        Command::new(example("interop_client")).args(["--addr", &server.addr, "--case", "all"]),
    );
    assert_passed("interop_client --case all", &out, &CASES);
}

#[test]
fn rust_client_runs_one_named_case() {
    let server = Server::start();
    for case in ["large_unary", "custom_metadata"] {
        let out = run(
            case,
            Command::new(example("interop_client")).args(["--addr", &server.addr, "--case", case]),
        );
        assert_passed(&format!("interop_client --case {case}"), &out, &[case]);
    }
}

#[test]
fn rust_client_refuses_an_unknown_case() {
    let out = run(
        "interop_client --case no_such_case",
        Command::new(example("interop_client")).args([
            "--addr",
            "127.0.0.1:1",
            "--case",
            "no_such_case",
        ]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "no case ran");
    assert!(
        stderr.contains("unknown case `no_such_case`") && stderr.contains("empty_unary"),
        "the message names the case and the known ones: {stderr}"
    );
}

#[test]
fn rust_client_fails_every_case_without_a_server() {
    // A port nothing listens on: every case reports FAIL, the exit is 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = run(
        "interop_client against a closed port",
        Command::new(example("interop_client")).args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--case",
            "all",
        ]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for case in CASES {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("FAIL {case}: "))),
            "no FAIL line for {case}:\n{stdout}"
        );
    }
}

fn python_client() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/grpc_interop_client.py")
}

#[test]
fn grpcio_client_passes_every_case() {
    if !python_env::has("grpc", "grpcio") {
        return;
    }
    let server = Server::start();
    let out = run(
        "grpc_interop_client.py --case all",
        Command::new("python3").arg(python_client()).args([
            "--addr",
            &server.addr,
            "--case",
            "all",
        ]),
    );
    assert_passed("grpc_interop_client.py --case all", &out, &CASES);
}

#[test]
fn grpcio_client_runs_one_named_case_and_refuses_an_unknown_one() {
    if !python_env::has("grpc", "grpcio") {
        return;
    }
    let server = Server::start();
    let out = run(
        "grpc_interop_client.py --case ping_pong",
        Command::new("python3").arg(python_client()).args([
            "--addr",
            &server.addr,
            "--case",
            "ping_pong",
        ]),
    );
    assert_passed(
        "grpc_interop_client.py --case ping_pong",
        &out,
        &["ping_pong"],
    );
    let out = run(
        "grpc_interop_client.py --case no_such_case",
        Command::new("python3").arg(python_client()).args([
            "--addr",
            &server.addr,
            "--case",
            "no_such_case",
        ]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown case `no_such_case`"), "{stderr}");
}
