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

#[tokio::test]
async fn python_grpcio_client_with_raw_thrift_bytes() {
    if !crate::python_env::has("grpc", "grpcio") {
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
