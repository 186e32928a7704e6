//! gRPC compression: gzip and zstd both ways, negotiation, and the size
//! limit that holds while inflating (no zip bombs).

use tonic::codec::CompressionEncoding;

use crate::echo;
use crate::echo::test_service_client::TestServiceClient;
use crate::echo::test_service_server::TestServiceServer;
use crate::support::{serve, Echo};

async fn roundtrip(encoding: CompressionEncoding) {
    let svc = TestServiceServer::new(Echo)
        .accept_compressed(encoding)
        .send_compressed(encoding);
    let server = serve(tonic_thrift::Server::builder().add_service(svc)).await;
    let mut client = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
        .send_compressed(encoding)
        .accept_compressed(encoding);
    let text = "compressible ".repeat(10_000);
    let reply = client
        .echo_unary(echo::Request {
            message: text.clone().into(),
        })
        .await
        .expect("compressed call");
    assert_eq!(reply.into_inner().message, format!("{text}|none"));
    server.stop().await;
}

#[tokio::test]
async fn gzip_both_ways() {
    roundtrip(CompressionEncoding::Gzip).await;
}

#[tokio::test]
async fn zstd_both_ways() {
    roundtrip(CompressionEncoding::Zstd).await;
}

#[tokio::test]
async fn an_encoding_the_server_does_not_accept_is_unimplemented() {
    let svc = TestServiceServer::new(Echo).accept_compressed(CompressionEncoding::Zstd);
    let server = serve(tonic_thrift::Server::builder().add_service(svc)).await;
    let mut client = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    let status = client
        .echo_unary(echo::Request {
            message: "x".into(),
        })
        .await
        .expect_err("gzip is not accepted");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    assert!(status.message().contains("gzip"), "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_message_that_inflates_past_the_limit_is_refused() {
    let svc = TestServiceServer::new(Echo)
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(64 * 1024);
    let server = serve(tonic_thrift::Server::builder().add_service(svc)).await;
    let mut client = TestServiceClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
        .send_compressed(CompressionEncoding::Gzip);
    // 8 MiB of one letter: a few KiB compressed, far over the limit inflated.
    let bomb = "a".repeat(8 * 1024 * 1024);
    let status = client
        .echo_unary(echo::Request {
            message: bomb.into(),
        })
        .await
        .expect_err("refused");
    assert!(
        status.message().contains("limit"),
        "names the limit: {status:?}"
    );
    // The server is still there for a normal call.
    let reply = client
        .echo_unary(echo::Request {
            message: "ok".into(),
        })
        .await
        .expect("small call");
    assert_eq!(reply.into_inner().message, "ok|none");
    server.stop().await;
}
