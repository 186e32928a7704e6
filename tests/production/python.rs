//! Python grpcio (a gRPC implementation nobody here wrote) over TLS and
//! mTLS, with gzip, against our server (`tests/python/grpc_tls_client.py`).
//!
//! Without grpcio the tests print a notice and pass, unless
//! `TONIC_THRIFT_REQUIRE_PYTHON=1` is set (CI), where they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tonic::codec::CompressionEncoding;
use tonic_thrift::tls::ServerTlsConfig;

use crate::certs::pki;
use crate::echo::test_service_server::TestServiceServer;
use crate::support::{hex, serve, Echo};

/// True when `python3` can import every module in `modules`; otherwise a
/// skip notice, or a panic when `TONIC_THRIFT_REQUIRE_PYTHON` is set.
pub fn python_has(modules: &str, pip: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    if std::env::var("TONIC_THRIFT_REQUIRE_PYTHON").is_ok_and(|v| !v.is_empty() && v != "0") {
        panic!(
            "TONIC_THRIFT_REQUIRE_PYTHON is set but `import {modules}` failed: \
             install it with `python3 -m pip install {pip}`"
        );
    }
    println!("skipped: {pip} not installed");
    false
}

/// Runs a Python script with `args`; panics with its output on failure.
pub async fn run_python(script: &str, args: Vec<String>) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("start python3")
    });
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .expect("python finished within 120 s")
        .expect("python thread");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write PEM");
    path.to_string_lossy().into_owned()
}

async fn grpcio_over_tls(mtls: bool) {
    if !python_has("grpc", "grpcio") {
        return;
    }
    let pki = pki("grpcio");
    let dir = std::env::temp_dir().join(format!(
        "tonic-thrift-grpcio-tls-{}-{mtls}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = ServerTlsConfig::new(&pki.server.cert, &pki.server.key).unwrap();
    if mtls {
        config = config.client_ca(&pki.ca).unwrap();
    }
    let svc = TestServiceServer::new(Echo)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let server = serve(
        tonic_thrift::Server::builder()
            .tls_config(config)
            .unwrap()
            .add_service(svc),
    )
    .await;
    let mut args = vec![server.addr.to_string(), write(&dir, "ca.pem", &pki.ca)];
    if mtls {
        args.push(write(&dir, "client.pem", &pki.client.cert));
        args.push(write(&dir, "client.key", &pki.client.key));
    }
    let out = run_python("grpc_tls_client.py", args).await;
    let want = if mtls {
        hex(&pki.client.der)
    } else {
        "none".into()
    };
    assert!(out.contains(&format!("reply: |{want}")), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}

#[tokio::test]
async fn grpcio_over_tls_with_gzip() {
    grpcio_over_tls(false).await;
}

#[tokio::test]
async fn grpcio_over_mtls_with_gzip_sees_its_certificate_in_the_handler() {
    grpcio_over_tls(true).await;
}
