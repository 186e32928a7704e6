//! The echo handler shared by the ping-pong tests, for the `echo` module of
//! `main.rs`: `EchoPingPong` answers its message; a message `text|N` is
//! answered after N ms, `sleep` after 5 s; `fail` fails with INTERNAL;
//! `transport` answers the framing the call came on; `Echo` (bidi) echoes;
//! the other streaming methods are not served.

use std::time::Duration;

use futures_util::StreamExt;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::transport::Framing;

use crate::echo;
use crate::echo::test_service_server::TestService;

type BoxStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

/// The echo handler.
pub struct Echo;

#[tonic::async_trait]
impl TestService for Echo {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        let s = request
            .into_inner()
            .map(|m| m.map(|m| echo::Response { message: m.message }));
        Ok(Response::new(Box::pin(s)))
    }
    async fn echo_client(
        &self,
        _request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_server(
        &self,
        _request: Request<echo::Request>,
    ) -> Result<Response<BoxStream>, Status> {
        Err(Status::unimplemented("not here"))
    }
    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_ping_pong(request).await
    }
    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        let framing = request.extensions().get::<Framing>().copied();
        let msg = request.into_inner().message;
        match msg.as_str() {
            "fail" => return Err(Status::internal("handler failed on purpose")),
            "transport" => {
                let message = format!("{framing:?}").into();
                return Ok(Response::new(echo::Response { message }));
            }
            "sleep" => tokio::time::sleep(Duration::from_secs(5)).await,
            _ => {}
        }
        if let Some((_, ms)) = msg.rsplit_once('|') {
            if let Ok(ms) = ms.parse::<u64>() {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        Ok(Response::new(echo::Response { message: msg }))
    }
}
