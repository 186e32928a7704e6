//! A generic gRPC client that nobody in this project wrote — Python
//! `grpcio` with identity serializers, sending hand-encoded Thrift Binary
//! with `content-type: application/grpc` — against our echo server, every
//! method mode (`tests/python/grpc_generic_client.py`).
//!
//! Without grpcio (`pip install grpcio`) the test prints a notice and
//! passes, unless `TONIC_THRIFT_REQUIRE_PYTHON=1` is set (CI), where it
//! fails.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::macro_path::{echo, Echo};
use crate::common::serve;
use echo::test_service_server::TestServiceServer;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/grpc_generic_client.py")
}

/// True when `python3` with grpcio is available. Otherwise prints a skip
/// notice, or panics when `TONIC_THRIFT_REQUIRE_PYTHON` is set (not `0`).
fn grpcio_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import grpc"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let required =
        std::env::var("TONIC_THRIFT_REQUIRE_PYTHON").is_ok_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!(
            "TONIC_THRIFT_REQUIRE_PYTHON is set but `python3 -c \"import grpc\"` failed: \
             install it with `python3 -m pip install grpcio`"
        );
    }
    println!("skipped: grpcio not installed (pip install grpcio)");
    eprintln!("skipped: grpcio not installed (pip install grpcio)");
    false
}

#[tokio::test]
async fn python_grpcio_client_with_raw_thrift_bytes() {
    if !grpcio_available() {
        return;
    }
    let server =
        serve(tonic_thrift::Server::builder().add_service(TestServiceServer::new(Echo::default())))
            .await;
    let addr = server.addr.to_string();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script())
            .arg(addr)
            .stdin(Stdio::null())
            .output()
            .expect("failed to start python3")
    });
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Python client did not finish within 120 s")
        .expect("the Python client's thread");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    assert!(
        out.status.success(),
        "the Python gRPC client failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");
    server.stop().await;
}
