//! What both parts share: the echo service, a handler, a server runner, and
//! the middleware, hook and tracer that print what they see.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::call::{Call, CallFuture, CallInfo, CallKind, CallResponse, CallService};
use tonic_thrift::observe::{CallEnd, MessageEvent, MessageHook, Tracer};

tonic_thrift::include_thrift!("echo");

pub use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
pub use echo::test_service_server::{TestService, TestServiceServer};

/// `Request { message }`.
pub fn req(message: impl Into<String>) -> echo::Request {
    echo::Request {
        message: message.into().into(),
    }
}

type EchoStream = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

/// Echoes; `sleep:MS` sleeps MS milliseconds first.
pub struct Demo;

async fn answer(text: String) -> Result<echo::Response, Status> {
    if let Some(ms) = text.strip_prefix("sleep:") {
        let ms = ms.parse().unwrap_or(1000);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(echo::Response {
        message: text.into(),
    })
}

#[tonic::async_trait]
impl TestService for Demo {
    type EchoStream = EchoStream;
    type EchoServerStream = EchoStream;

    async fn echo(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<EchoStream>, Status> {
        let replies = request
            .into_inner()
            .then(|m| async move { answer(m?.message.to_string()).await });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn echo_client(
        &self,
        request: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let mut inbound = request.into_inner();
        let mut words = Vec::new();
        while let Some(m) = inbound.next().await {
            words.push(m?.message.to_string());
        }
        Ok(Response::new(echo::Response {
            message: words.join(" ").into(),
        }))
    }

    async fn echo_server(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<EchoStream>, Status> {
        let one = answer(request.into_inner().message.to_string()).await;
        Ok(Response::new(Box::pin(futures_util::stream::iter([one]))))
    }

    async fn echo_unary(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        answer(request.into_inner().message.to_string())
            .await
            .map(Response::new)
    }

    async fn echo_ping_pong(
        &self,
        request: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        self.echo_unary(request).await
    }
}

/// A server running on 127.0.0.1 until `stop` is sent.
pub struct Running {
    pub addr: SocketAddr,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `router` on a random port of 127.0.0.1.
pub async fn serve(router: tonic_thrift::server::Router) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_listener(listener, async {
        let _ = stopped.await;
    }));
    Ok(Running { addr, stop, task })
}

/// `Ok` or `CODE: message`, short.
pub fn outcome<T>(r: &Result<T, Status>) -> String {
    match r {
        Ok(_) => "OK".to_string(),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    }
}

// ---------------------------------------------------------------------------
// A logging layer: one line when a call is created, one when it ends.

/// Logs every call with `side` as prefix (`client` / `server`).
#[derive(Clone)]
pub struct LogLayer {
    pub side: &'static str,
}

impl tower::Layer<CallService> for LogLayer {
    type Service = LogService;
    fn layer(&self, inner: CallService) -> LogService {
        LogService {
            side: self.side,
            inner,
        }
    }
}

/// The service of [`LogLayer`].
#[derive(Clone)]
pub struct LogService {
    side: &'static str,
    inner: CallService,
}

impl tower::Service<Call> for LogService {
    type Response = CallResponse;
    type Error = Status;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call) -> CallFuture {
        let info = call.info().clone();
        let side = self.side;
        // Unary and ping-pong calls carry their typed request.
        let request = call
            .message::<echo::Request>()
            .map(|r| format!(" {:?}", r.message.as_str()))
            .unwrap_or_default();
        let from = info.peer.map(|p| format!(" from {p}")).unwrap_or_default();
        println!(
            "  [{side} layer] -> {}.{} over {}{from}{request}",
            info.service, info.method, info.transport
        );
        let start = Instant::now();
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            let result = tower::Service::call(&mut inner, call).await;
            let what = match info.kind {
                CallKind::Unary | CallKind::Oneway => "call",
                _ => "stream created",
            };
            println!(
                "  [{side} layer] <- {}: {what} {} after {} ms",
                info.method,
                outcome(&result),
                start.elapsed().as_millis()
            );
            result
        })
    }
}

// ---------------------------------------------------------------------------
// A message hook and a tracer.

/// Prints every message with its encoded size.
pub struct PrintHook {
    pub side: &'static str,
}

impl MessageHook for PrintHook {
    fn on_recv(&self, info: &CallInfo, _: &dyn std::any::Any, size: usize) -> Result<(), Status> {
        println!("  [{} hook] {} received {size} B", self.side, info.method);
        Ok(())
    }
    fn on_send(&self, info: &CallInfo, _: &dyn std::any::Any, size: usize) -> Result<(), Status> {
        println!("  [{} hook] {} sent {size} B", self.side, info.method);
        Ok(())
    }
}

/// Prints how each call ended, with its statistics.
pub struct PrintTracer;

impl Tracer for PrintTracer {
    fn on_message(&self, _: &CallInfo, _: &MessageEvent) {}
    fn on_finish(&self, info: &CallInfo, end: &CallEnd) {
        println!(
            "  [tracer] {} finished: {:?}, {} sent / {} received, last sizes {} / {} B",
            info.method, end.code, end.sent, end.received, end.last_send_size, end.last_recv_size
        );
    }
}
