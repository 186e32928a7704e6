//! The echo handler of these tests and a server on 127.0.0.1:0.
//!
//! `EchoUnary` and `EchoPingPong` answer `message|peer`, where `peer` is
//! the hex DER of the client's verified TLS certificate from the request
//! extensions, or `none`; `Echo` (bidi) echoes each message and reports how
//! its inbound stream ended to an `inbound_watch` on its first message.

use std::net::SocketAddr;

use futures_util::StreamExt;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::tls::PeerCertificates;

use crate::echo;
use crate::echo::test_service_server::TestService;

type BoxStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn tagged<T>(request: Request<T>, message: impl FnOnce(T) -> String) -> echo::Response {
    let peer = request
        .extensions()
        .get::<PeerCertificates>()
        .map_or_else(|| "none".to_string(), |c| hex(c.end_entity()));
    let text = message(request.into_inner());
    echo::Response {
        message: format!("{text}|{peer}").into(),
    }
}

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
        // Read by a task of its own, so the inbound stream's end is seen
        // (and reported to an `inbound_watch`) even when nobody reads replies.
        let mut inbound = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            let mut watch = None;
            let end = loop {
                match inbound.next().await {
                    Some(Ok(m)) => {
                        if watch.is_none() {
                            watch = WATCHES.lock().unwrap().remove(m.message.as_str());
                        }
                        let _ = tx.send(Ok(echo::Response { message: m.message })).await;
                    }
                    Some(Err(status)) => break Err(status),
                    None => break Ok(()),
                }
            };
            if let Some(w) = watch {
                let _ = w.send(end);
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
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
        Ok(Response::new(tagged(request, |r| r.message.to_string())))
    }
    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        Ok(Response::new(tagged(request, |r| r.message.to_string())))
    }
}

type Watches =
    std::sync::Mutex<std::collections::HashMap<String, oneshot::Sender<Result<(), Status>>>>;

/// Streams to report the end of, by their first message.
static WATCHES: std::sync::LazyLock<Watches> = std::sync::LazyLock::new(Default::default);

/// Resolves with how the inbound stream of the `Echo` (bidi) call whose
/// first message is `first` ended: cleanly or with a status.
pub fn inbound_watch(first: &str) -> oneshot::Receiver<Result<(), Status>> {
    let (tx, rx) = oneshot::channel();
    WATCHES.lock().unwrap().insert(first.to_string(), tx);
    rx
}

/// A running server; stops when `stop` is called.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Graceful shutdown; panics if the server failed.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task)
            .await
            .expect("server task")
            .expect("server");
    }
}

/// Serves `router` on 127.0.0.1:0.
pub async fn serve(router: tonic_thrift::server::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_listener(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}
