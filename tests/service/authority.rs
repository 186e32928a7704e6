//! Our stream client sends the callee's service name as `:authority`, as
//! Kitex clients do (PROTOCOL.md §2), while connecting to the given address.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

tonic_thrift::thrift_service!("idl/echo.thrift");

/// Records the authority of each request and answers UNIMPLEMENTED.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl tonic::server::NamedService for Recorder {
    const NAME: &'static str = "echo.TestService";
}

impl<B> tower::Service<http::Request<B>> for Recorder {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let authority = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        self.0.lock().unwrap().push(authority);
        std::future::ready(Ok(tonic::Status::unimplemented("recorded").into_http()))
    }
}

#[tokio::test]
async fn authority_is_the_service_name() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let seen = recorder.0.clone();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(recorder)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client =
        echo::test_service_client::TestServiceClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
    let err = client
        .echo_unary(echo::Request {
            message: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented, "{err:?}");
    assert_eq!(seen.lock().unwrap().as_slice(), ["TestService"]);
    server.abort();
}
