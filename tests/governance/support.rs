//! Shared by the governance tests: `idl/echo.thrift` (build.rs path), a
//! handler whose behaviour is picked by the request text, drop guards that
//! report when a handler's future (or response stream) is cancelled, servers
//! on 127.0.0.1:0, and a closure-based middleware layer.
//!
//! The handler [`Gov`], by request text (unary `EchoUnary`, ping-pong
//! `EchoPingPong` alike):
//!
//! * `sleep:MS` — holds a guard named `unary`, sleeps MS ms, answers `slept`;
//! * `hang` — holds a guard named `unary` and never answers;
//! * `timeout` — answers the `grpc-timeout` the handler sees, or `none`;
//! * `meta` — answers the metainfo it sees: `t=[K=V,..];p=[K=V,..]`;
//! * `backward` — answers `backward`, setting backward metainfo `BACK_KEY=bv`;
//! * `ext` — answers the [`Tag`] found in the request extensions, or `none`;
//! * `biz` — fails with business error 1001 `biz error msg` `{"k":"v"}`;
//! * `fail` — fails with `NOT_FOUND: no such thing`;
//! * `panic` — panics;
//! * `forward-grpc:ADDR` / `forward-pp:ADDR` — calls `meta` at ADDR through
//!   our gRPC / ping-pong (TTHeader) client and answers what it got;
//!   `forward-grpc+:ADDR` / `forward-pp+:ADDR` do the same but set a
//!   persistent `A_KEY=av` of their own on the outgoing request;
//! * anything else — echoed.
//!
//! Bidirectional `Echo`: echoes each message; `hang` stops answering (the
//! response stream holds a guard named `bidi`), `biz` / `fail` end the stream
//! with that error, an inbound error ends it with that error. With request
//! metadata `x-hang: 1` the handler itself never returns (guard
//! `bidi-handler`).
//!
//! Server streaming `EchoServer`: `N:text` answers `text0`..`text{N-1}`;
//! `hang` answers `first` then nothing more (guard `server-stream`);
//! `biz` answers `first` then the business error.
//!
//! Client streaming `EchoClient`: joins the messages with `" "`; a message
//! `biz` fails with the business error.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::call::{Call, CallFuture, CallResponse, CallService};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::BizStatusError;

tonic_thrift::include_thrift!("echo");

pub use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
pub use echo::test_service_server::{TestService, TestServiceServer};

/// Response streams of the handler.
pub type RespStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// `Request { message }`.
pub fn req(message: impl Into<String>) -> echo::Request {
    echo::Request {
        message: message.into().into(),
    }
}

/// The business error the handler returns.
pub fn biz() -> BizStatusError {
    BizStatusError::new(1001, "biz error msg").with_extra("k", "v")
}

/// A value layers put in request extensions (see `ext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(pub String);

/// What guards report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardEvent {
    /// The guarded work started.
    Started(&'static str),
    /// The guarded work was dropped (finished or cancelled).
    Dropped(&'static str),
}

/// Reports `Dropped(name)` when dropped.
pub struct DropGuard {
    name: &'static str,
    tx: Option<mpsc::UnboundedSender<GuardEvent>>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(GuardEvent::Dropped(self.name));
        }
    }
}

/// The governance test handler (see the module docs).
#[derive(Clone, Default)]
pub struct Gov {
    guards: Option<mpsc::UnboundedSender<GuardEvent>>,
}

impl Gov {
    /// A handler whose guards report on the returned channel.
    pub fn with_guards() -> (Self, mpsc::UnboundedReceiver<GuardEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Gov { guards: Some(tx) }, rx)
    }

    fn guard(&self, name: &'static str) -> DropGuard {
        if let Some(tx) = &self.guards {
            let _ = tx.send(GuardEvent::Started(name));
        }
        DropGuard {
            name,
            tx: self.guards.clone(),
        }
    }

    async fn respond(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        let text = request.get_ref().message.to_string();
        let ok = |m: String| Ok(Response::new(echo::Response { message: m.into() }));
        if let Some(ms) = text.strip_prefix("sleep:") {
            let _g = self.guard("unary");
            let ms: u64 = ms.parse().unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            return ok("slept".into());
        }
        if let Some(rest) = text.strip_prefix("forward-") {
            return forward(&request, rest).await;
        }
        match text.as_str() {
            "hang" => {
                let _g = self.guard("unary");
                std::future::pending::<()>().await;
                unreachable!()
            }
            "timeout" => ok(request
                .metadata()
                .get("grpc-timeout")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_string()),
            "meta" => ok(describe_meta(MetaInfo::of(&request))),
            "backward" => {
                let mut resp = Response::new(echo::Response {
                    message: "backward".into(),
                });
                MetaInfo::attach(&mut resp)
                    .set_backward("BACK_KEY", "bv")
                    .expect("valid key");
                Ok(resp)
            }
            "ext" => ok(request
                .extensions()
                .get::<Tag>()
                .map(|t| t.0.clone())
                .unwrap_or_else(|| "none".into())),
            "biz" => Err(biz().into()),
            "fail" => Err(Status::not_found("no such thing")),
            "panic" => panic!("the handler panics on purpose"),
            _ => ok(text),
        }
    }
}

/// `t=[K=V,..];p=[K=V,..]` for the metainfo seen.
pub fn describe_meta(m: Option<&MetaInfo>) -> String {
    let list = |it: Vec<(&str, &str)>| {
        it.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    match m {
        None => "t=[];p=[]".into(),
        Some(m) => format!(
            "t=[{}];p=[{}]",
            list(m.transients().collect()),
            list(m.persistents().collect())
        ),
    }
}

/// `grpc:ADDR`, `pp:ADDR`, `grpc+:ADDR`, `pp+:ADDR`: calls `meta` at ADDR.
async fn forward(
    _incoming: &Request<echo::Request>,
    how: &str,
) -> Result<Response<echo::Response>, Status> {
    let (kind, addr) = how
        .split_once(':')
        .ok_or_else(|| Status::invalid_argument("forward-KIND:ADDR"))?;
    let (kind, own) = match kind.strip_suffix('+') {
        Some(k) => (k, true),
        None => (kind, false),
    };
    let mut out = Request::new(req("meta"));
    if own {
        MetaInfo::attach(&mut out)
            .set_persistent("A_KEY", "av")
            .expect("valid key");
    }
    let resp = match kind {
        "grpc" => {
            let mut c = TestServiceClient::connect(format!("http://{addr}"))
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            c.echo_unary(out).await?
        }
        "pp" => {
            TestServicePingPongClient::new(addr.to_string())
                .echo_ping_pong(out)
                .await?
        }
        other => {
            return Err(Status::invalid_argument(format!(
                "unknown forward kind {other}"
            )))
        }
    };
    Ok(Response::new(resp.into_inner()))
}

#[tonic::async_trait]
impl TestService for Gov {
    type EchoStream = RespStream;
    type EchoServerStream = RespStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<RespStream>, Status> {
        if request.metadata().get("x-hang").is_some() {
            let _g = self.guard("bidi-handler");
            std::future::pending::<()>().await;
        }
        let inbound = request.into_inner();
        let guard = self.guard("bidi");
        let s = futures_util::stream::unfold(
            (inbound, guard, false),
            |(mut inbound, guard, done)| async move {
                if done {
                    return None;
                }
                match inbound.next().await {
                    None => None,
                    Some(Err(e)) => Some((Err(e), (inbound, guard, true))),
                    Some(Ok(m)) => match m.message.as_str() {
                        "hang" => {
                            std::future::pending::<()>().await;
                            None
                        }
                        "biz" => Some((Err(biz().into()), (inbound, guard, true))),
                        "fail" => Some((
                            Err(Status::not_found("no such thing")),
                            (inbound, guard, true),
                        )),
                        _ => Some((
                            Ok(echo::Response { message: m.message }),
                            (inbound, guard, false),
                        )),
                    },
                }
            },
        );
        Ok(Response::new(Box::pin(s)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let mut inbound = request.into_inner();
        let mut words = Vec::new();
        while let Some(m) = inbound.next().await {
            let m = m?;
            if m.message == "biz" {
                return Err(biz().into());
            }
            words.push(m.message.to_string());
        }
        Ok(Response::new(echo::Response {
            message: words.join(" ").into(),
        }))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<RespStream>, Status> {
        let text = request.into_inner().message.to_string();
        let first = futures_util::stream::iter([Ok(echo::Response {
            message: "first".into(),
        })]);
        match text.as_str() {
            "hang" => {
                let guard = self.guard("server-stream");
                let rest = futures_util::stream::once(async move {
                    let _g = guard;
                    std::future::pending::<()>().await;
                    Err(Status::internal("unreachable"))
                });
                return Ok(Response::new(Box::pin(first.chain(rest))));
            }
            "biz" => {
                let rest = futures_util::stream::iter([Err(biz().into())]);
                return Ok(Response::new(Box::pin(first.chain(rest))));
            }
            _ => {}
        }
        let (n, t) = text
            .split_once(':')
            .and_then(|(n, t)| Some((n.parse::<usize>().ok()?, t.to_string())))
            .unwrap_or((1, text.clone()));
        let s = futures_util::stream::iter(0..n).map(move |i| {
            Ok(echo::Response {
                message: format!("{t}{i}").into(),
            })
        });
        Ok(Response::new(Box::pin(s)))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.respond(request).await
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.respond(request).await
    }
}

// ---------------------------------------------------------------------------
// Servers and clients

/// A server on 127.0.0.1:0.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A gRPC client with default options.
    pub async fn grpc(&self) -> TestServiceClient {
        TestServiceClient::connect(self.url())
            .await
            .expect("connect")
    }

    /// A gRPC client with `options`.
    pub async fn grpc_with(&self, options: tonic_thrift::grpc::GrpcOptions) -> TestServiceClient {
        TestServiceClient::connect_with(self.url(), options)
            .await
            .expect("connect")
    }

    /// A ping-pong client with `options`.
    pub fn pingpong(
        &self,
        options: tonic_thrift::pingpong::PingPongOptions,
    ) -> TestServicePingPongClient {
        TestServicePingPongClient::with_options(self.addr.to_string(), options)
    }

    /// Raises the shutdown signal (the serve future keeps running).
    pub fn signal(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Waits (at most `limit`) for the serve future to return.
    pub async fn join(&mut self, limit: Duration) -> Result<(), String> {
        let task = self.task.take().expect("joined twice");
        match tokio::time::timeout(limit, task).await {
            Err(_) => Err(format!("the server did not stop within {limit:?}")),
            Ok(Err(e)) => Err(format!("server task failed: {e}")),
            Ok(Ok(Err(e))) => Err(format!("server failed: {e}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }

    /// Signals and waits (at most 10 s).
    pub async fn stop(mut self) {
        self.signal();
        self.join(Duration::from_secs(10)).await.expect("stop");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Serves `router` on 127.0.0.1:0 until [`Running::signal`].
pub async fn serve(router: tonic_thrift::server::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_listener(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

/// Serves `svc` with a default `Server`.
pub async fn serve_svc(svc: TestServiceServer<Gov>) -> Running {
    serve(tonic_thrift::Server::builder().add_service(svc)).await
}

/// Waits (at most `limit`) for `want` on `rx`, skipping other events.
pub async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<GuardEvent>,
    want: GuardEvent,
    limit: Duration,
) -> Result<(), String> {
    tokio::time::timeout(limit, async {
        loop {
            match rx.recv().await {
                Some(e) if e == want => return Ok(()),
                Some(_) => continue,
                None => return Err("the handler is gone".to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("no {want:?} within {limit:?}")))
}

/// Polls `cond` until it holds; panics if it does not within `limit`.
pub async fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let res = tokio::time::timeout(limit, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(res.is_ok(), "{what}: not within {limit:?}");
}

/// The four ping-pong framings.
pub const FRAMINGS: [tonic_thrift::transport::Framing; 4] = [
    tonic_thrift::transport::Framing::TTHeader {
        inner_framed: false,
    },
    tonic_thrift::transport::Framing::TTHeader { inner_framed: true },
    tonic_thrift::transport::Framing::Framed,
    tonic_thrift::transport::Framing::Buffered,
];

// ---------------------------------------------------------------------------
// Middleware from a closure

/// A layer running `f(call, next)` for each call, where `next` is the rest
/// of the stack.
pub struct FnLayer<F>(Arc<F>);

impl<F> Clone for FnLayer<F> {
    fn clone(&self) -> Self {
        FnLayer(self.0.clone())
    }
}

/// A layer from a closure `Fn(Call, CallService) -> CallFuture`.
pub fn layer_fn<F>(f: F) -> FnLayer<F>
where
    F: Fn(Call, CallService) -> CallFuture + Send + Sync + 'static,
{
    FnLayer(Arc::new(f))
}

impl<F> tower::Layer<CallService> for FnLayer<F> {
    type Service = FnService<F>;
    fn layer(&self, inner: CallService) -> FnService<F> {
        FnService {
            f: self.0.clone(),
            inner,
        }
    }
}

/// The service of [`FnLayer`].
pub struct FnService<F> {
    f: Arc<F>,
    inner: CallService,
}

impl<F> Clone for FnService<F> {
    fn clone(&self) -> Self {
        FnService {
            f: self.f.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<F> tower::Service<Call> for FnService<F>
where
    F: Fn(Call, CallService) -> CallFuture + Send + Sync + 'static,
{
    type Response = CallResponse;
    type Error = Status;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call) -> CallFuture {
        let ready = self.inner.clone();
        let next = std::mem::replace(&mut self.inner, ready);
        (self.f)(call, next)
    }
}

/// Calls the rest of the stack (`next`) with `call`.
pub fn call_next(mut next: CallService, call: Call) -> CallFuture {
    use tower::Service;
    Box::pin(async move { next.call(call).await })
}
