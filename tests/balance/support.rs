//! Shared by the `balance_*` tests: `idl/echo.thrift` (build.rs path) and
//! test servers on 127.0.0.1 that say who they are and fail on command.
//!
//! Every answer of the handler [`Named`] (ping-pong `EchoPingPong`, gRPC
//! `EchoUnary`, each message of the bidirectional `Echo`) is
//! `<server name>:<request text>`. Its [`Control`] decides how calls and
//! stream creations end: [`Mode::Ok`], or failing with `UNAVAILABLE`,
//! `RESOURCE_EXHAUSTED`, `NOT_FOUND` or a business error; `hits` counts the
//! calls and streams that reached the handler.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::BizStatusError;

tonic_thrift::include_thrift!("echo");

use echo::test_service_server::{TestService, TestServiceServer};

/// How the handler ends calls and stream creations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Answers.
    Ok = 0,
    /// Fails with `UNAVAILABLE`.
    Unavailable = 1,
    /// Fails with a business error (code 1001).
    Biz = 2,
    /// Fails with `RESOURCE_EXHAUSTED`.
    Exhausted = 3,
    /// Fails with `NOT_FOUND` (not a breaker failure by default).
    NotFound = 4,
}

/// Commands and counters shared with a running handler.
#[derive(Debug, Default)]
pub struct Control {
    mode: AtomicU8,
    hits: AtomicUsize,
}

impl Control {
    /// Sets how calls end from now on.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Calls and streams that reached the handler.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), Status> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            1 => Err(Status::unavailable("told to fail")),
            2 => Err(BizStatusError::new(1001, "biz error").into()),
            3 => Err(Status::resource_exhausted("told to refuse")),
            4 => Err(Status::not_found("no such thing")),
            _ => Ok(()),
        }
    }
}

type BoxStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// The handler: answers `<name>:<text>`.
#[derive(Clone)]
pub struct Named {
    name: &'static str,
    control: Arc<Control>,
}

impl Named {
    fn answer(&self, text: &str) -> echo::Response {
        echo::Response {
            message: format!("{}:{text}", self.name).into(),
        }
    }
}

#[tonic::async_trait]
impl TestService for Named {
    type EchoStream = BoxStream;
    type EchoServerStream = BoxStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<BoxStream>, Status> {
        self.control.check()?;
        let me = self.clone();
        let out = request
            .into_inner()
            .map(move |m| m.map(|m| me.answer(&m.message)));
        Ok(Response::new(Box::pin(out)))
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
        self.control.check()?;
        Ok(Response::new(self.answer(&request.into_inner().message)))
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

/// A running test server (gRPC and ping-pong on one port).
pub struct TestServer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its name, the prefix of its answers.
    pub name: &'static str,
    /// Its handler's commands and counters (kept across restarts).
    pub control: Arc<Control>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts `name` on a free port.
    pub async fn start(name: &'static str) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(name, listener, Arc::new(Control::default()))
    }

    fn serve(name: &'static str, listener: TcpListener, control: Arc<Control>) -> TestServer {
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let handler = Named {
            name,
            control: control.clone(),
        };
        let done = tokio::spawn(async move {
            let _ = tonic_thrift::Server::builder()
                .shutdown_grace_period(Duration::from_millis(100))
                .add_service(TestServiceServer::new(handler))
                .serve_with_listener(listener, async {
                    let _ = stopped.await;
                })
                .await;
        });
        TestServer {
            addr,
            name,
            control,
            stop: Some(stop),
            done: Some(done),
        }
    }

    /// Its address as `host:port`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Stops it (the port is closed: new connections are refused).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr).await.unwrap();
        *self = Self::serve(self.name, listener, self.control.clone());
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An address nothing listens on.
pub async fn dead_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

/// `Request { message }`.
pub fn req(message: &str) -> echo::Request {
    echo::Request {
        message: message.to_string().into(),
    }
}

/// The server-name prefix of an answer.
pub fn who(answer: &str) -> &str {
    answer.split(':').next().unwrap_or("")
}
