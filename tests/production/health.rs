//! `grpc.health.v1.Health` (tonic-health) on the Thrift server's port:
//! checked by grpcio-health-checking, Thrift ping-pong still detected
//! beside it, and NOT_SERVING reported first on graceful shutdown.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::echo::test_service_server::TestServiceServer;
use crate::python::run_python;
use crate::python_env;
use crate::support::{serve, Echo};

#[tokio::test]
async fn grpcio_health_checking_sees_the_thrift_services_serving() {
    if !python_env::has("grpc_health.v1.health_pb2", "grpcio-health-checking") {
        return;
    }
    let (router, _reporter) = tonic_thrift::Server::builder()
        .add_service(TestServiceServer::new(Echo))
        .add_health_service();
    let server = serve(router).await;
    let out = run_python("grpc_health_check.py", vec![server.addr.to_string()]).await;
    assert!(out.contains("<server> SERVING"), "{out}");
    assert!(out.contains("echo.TestService SERVING"), "{out}");
    assert!(out.contains("nope.Nope NOT_FOUND"), "{out}");
    server.stop().await;
}

#[tokio::test]
async fn ping_pong_is_still_detected_next_to_the_health_service() {
    let (router, _reporter) = tonic_thrift::Server::builder()
        .add_service(TestServiceServer::new(Echo))
        .add_health_service();
    let server = serve(router).await;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(&crate::tls::framed_ping_pong_call())
        .await
        .unwrap();
    let mut len = [0u8; 4];
    tcp.read_exact(&mut len).await.unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    tcp.read_exact(&mut reply).await.unwrap();
    assert!(reply.windows(7).any(|w| w == b"hi|none"), "{reply:?}");
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_reports_not_serving_first() {
    let (router, _reporter) = tonic_thrift::Server::builder()
        .shutdown_grace_period(Duration::from_secs(2))
        .add_service(TestServiceServer::new(Echo))
        .add_health_service();
    let server = serve(router).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "echo.TestService".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("first status").expect("open");
    assert_eq!(first.status(), ServingStatus::Serving);
    let stopping = tokio::spawn(server.stop());
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("a status change before the server is gone")
        .expect("status")
        .expect("stream still open");
    assert_eq!(next.status(), ServingStatus::NotServing);
    stopping.await.unwrap();
}
