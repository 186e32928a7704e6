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
    if !crate::python_env::has("grpc", "grpcio") {
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
