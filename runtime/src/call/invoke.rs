//! Running one call through its middleware: on the server, the handler with
//! header hooks, the deadline, panics and the persistent metainfo it passes
//! on ([`invoke`]); on the client, the transport call ([`run_call`]).
//!
//! The same functions run gRPC calls and ping-pong calls, so middleware,
//! deadlines and panic handling behave alike on both transports.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::future::Either;
use futures_util::FutureExt;
use tokio::task::futures::TaskLocalFuture;
use tonic::metadata::MetadataMap;
use tonic::{Extensions, Request, Response, Status};
use tower::ServiceExt;

use super::middleware::LayerStack;
use super::{Call, CallFuture, CallInfo, CallResponse, CallService};
use crate::metainfo::{ForwardPolicy, MetaInfo, ReceivedHeader};
use crate::method::{ThriftArgs, ThriftResult};
use crate::timeout::deadline_exceeded;
use crate::transport::TTHeader;

/// A hook on a call's headers before the handler runs (like Kitex's
/// `remote.StreamingMetaHandler.OnReadStream`): it may read and change
/// metadata and extensions, or refuse the call.
pub(crate) type ReadHook =
    Arc<dyn Fn(&CallInfo, &mut MetadataMap, &mut Extensions) -> Result<(), Status> + Send + Sync>;

/// The read hooks of a call without any: shared, so no call allocates them.
pub(crate) fn no_read_hooks() -> Arc<[ReadHook]> {
    static NONE: std::sync::LazyLock<Arc<[ReadHook]>> =
        std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    NONE.clone()
}

/// Everything besides the handler that shapes one call.
pub(crate) struct Invoke {
    pub(crate) info: Arc<CallInfo>,
    pub(crate) layers: Option<LayerStack>,
    pub(crate) read_hooks: Arc<[ReadHook]>,
    pub(crate) deadline: Option<Instant>,
}

tokio::task_local! {
    /// The persistent metainfo of the call whose handler is running.
    static PERSISTENT: MetaInfo;
}

/// The persistent metainfo of the call the current task is handling, if
/// any: our clients send it on automatically.
pub(crate) fn current_persistent() -> Option<MetaInfo> {
    PERSISTENT.try_with(Clone::clone).ok()
}

/// The persistent values a handler passes on: those of the call in
/// progress on this task, overlaid with the ones its caller sent, within
/// the caps of the [`ForwardPolicy`] a layer set (the defaults otherwise);
/// `None` when there are none.
fn inherited_persistent(extensions: &Extensions) -> Option<MetaInfo> {
    let mut merged = MetaInfo::default();
    if let Some(up) = current_persistent() {
        for (k, v) in up.persistents() {
            let _ = merged.set_persistent(k, v);
        }
    }
    if let Some(own) = extensions.get::<MetaInfo>() {
        for (k, v) in own.persistents() {
            let _ = merged.set_persistent(k, v);
        }
    }
    merged.persistents().next()?;
    let policy = extensions
        .get::<ForwardPolicy>()
        .copied()
        .unwrap_or_default();
    merged.limit_persistent(policy.max_values, policy.max_bytes);
    Some(merged)
}

/// Wraps `handler` so that it runs with the persistent values it passes on
/// in scope. Computed at the innermost point, after the middleware, so
/// that a layer can change them (see `layer::PersistentMetaInfoLayer`).
fn with_persistent<In, Out, H, F>(
    handler: H,
) -> impl FnOnce(Request<In>) -> Either<TaskLocalFuture<MetaInfo, F>, F> + Send + 'static
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    move |request: Request<In>| match inherited_persistent(request.extensions()) {
        Some(p) => {
            // The handler starts inside the scope too (code before its
            // first await sees the values).
            let fut = PERSISTENT.sync_scope(p.clone(), || handler(request));
            Either::Left(PERSISTENT.scope(p, fut))
        }
        None => Either::Right(handler(request)),
    }
}

fn panicked(info: &CallInfo, payload: Box<dyn Any + Send>) -> Status {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_string());
    tracing::error!(
        service = info.service,
        method = info.method,
        panic = %what,
        "a handler or middleware panicked; the call fails with INTERNAL"
    );
    Status::internal(format!(
        "the server failed while handling `{}.{}`",
        info.service, info.method
    ))
}

/// Runs `handler` for `request` through the hooks and layers, bounded by the
/// deadline; a panic anywhere inside becomes INTERNAL.
pub(crate) async fn invoke<In, Out, H, F>(
    mut request: Request<In>,
    ctx: Invoke,
    handler: H,
) -> Result<Response<Out>, Status>
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    let info = ctx.info.clone();
    let span = crate::observe::call_span(&info);
    let read_hooks = ctx.read_hooks.clone();
    let run = async move {
        if !read_hooks.is_empty() {
            let (mut meta, mut ext, input) = request.into_parts();
            for hook in read_hooks.iter() {
                hook(&ctx.info, &mut meta, &mut ext)?;
            }
            request = Request::from_parts(meta, ext, input);
        }
        // The TTHeader the server received stays with this call: a client
        // call given these extensions does not resend it.
        if request.extensions().get::<TTHeader>().is_some() {
            request.extensions_mut().insert(ReceivedHeader);
        }
        // Persistent values pass on through every hop: the handler (and any
        // client it calls) sees the caller's values, plus its own.
        let handler = with_persistent(handler);
        match ctx.layers {
            None => handler(request).await,
            Some(stack) => through_layers(request, ctx.info, &stack, handler).await,
        }
    };
    let run = tracing::Instrument::instrument(run, span);
    let bounded = async move {
        match ctx.deadline {
            Some(d) => tokio::time::timeout_at(d.into(), run)
                .await
                .unwrap_or_else(|_| Err(deadline_exceeded())),
            None => run.await,
        }
    };
    match AssertUnwindSafe(bounded).catch_unwind().await {
        Ok(r) => r,
        Err(payload) => Err(panicked(&info, payload)),
    }
}

/// Runs a `unary` / ping-pong handler and maps its outcome to the wire Result
/// (declared exceptions are part of the Result, not errors).
pub(crate) async fn invoke_unary<A, R, H, F>(
    request: Request<A::Input>,
    ctx: Invoke,
    handler: H,
) -> Result<Response<R>, Status>
where
    A: ThriftArgs,
    R: ThriftResult,
    H: FnOnce(Request<A::Input>) -> F + Send + 'static,
    F: Future<Output = Result<Response<R::Ok>, R::Err>> + Send + 'static,
{
    let to_result = move |r: Request<A::Input>| async move {
        match handler(r).await {
            Ok(resp) => {
                let (meta, value, ext) = resp.into_parts();
                R::from_outcome(Ok(value)).map(|v| Response::from_parts(meta, v, ext))
            }
            Err(e) => R::from_outcome(Err(e)).map(Response::new),
        }
    };
    invoke(request, ctx, to_result).await
}

/// Runs a client call (gRPC or ping-pong) through the client's middleware,
/// if it has any.
pub(crate) async fn run_call<In, Out, H, F>(
    request: Request<In>,
    invoke: Option<Invoke>,
    call: H,
) -> Result<Response<Out>, Status>
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    // Boxed: the transport's call future is large, and boxing it once keeps
    // it from being copied through every layer of futures above.
    match invoke.and_then(|i| i.layers.map(|stack| (i.info, stack))) {
        None => Box::pin(call(request)).await,
        Some((info, stack)) => {
            // A middleware that panics fails the call with INTERNAL, and the
            // client stays usable.
            let run = through_layers(request, info.clone(), &stack, call);
            match AssertUnwindSafe(Box::pin(run)).catch_unwind().await {
                Ok(r) => r,
                Err(payload) => Err(panicked(&info, payload)),
            }
        }
    }
}

/// Runs `handler` as the innermost service of the middleware `stack`.
async fn through_layers<In, Out, H, F>(
    request: Request<In>,
    info: Arc<CallInfo>,
    stack: &LayerStack,
    handler: H,
) -> Result<Response<Out>, Status>
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    let inner = CallService::new(Innermost::<H, In, Out, F>::new(handler));
    let (meta, ext, input) = request.into_parts();
    let call = Call::new(info, meta, ext, Box::new(input));
    let resp = stack.wrap(inner).oneshot(call).await?;
    let (meta, ext, message) = resp.into_parts();
    let out = message
        .downcast::<Out>()
        .map_err(|_| Status::internal("a middleware replaced the response with another type"))?;
    Ok(Response::from_parts(meta, *out, ext))
}

/// The innermost service of a stack: calls the handler once.
struct Innermost<H, In, Out, F> {
    handler: Arc<Mutex<Option<H>>>,
    _types: PhantomData<fn(In) -> (Out, F)>,
}

impl<H, In, Out, F> Clone for Innermost<H, In, Out, F> {
    fn clone(&self) -> Self {
        Innermost {
            handler: self.handler.clone(),
            _types: PhantomData,
        }
    }
}

impl<H, In, Out, F> Innermost<H, In, Out, F> {
    fn new(handler: H) -> Self {
        Innermost {
            handler: Arc::new(Mutex::new(Some(handler))),
            _types: PhantomData,
        }
    }
}

impl<H, In, Out, F> tower_service::Service<Call> for Innermost<H, In, Out, F>
where
    In: Send + 'static,
    Out: Send + 'static,
    H: FnOnce(Request<In>) -> F + Send + 'static,
    F: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    type Response = CallResponse;
    type Error = Status;
    type Future = CallFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: Call) -> CallFuture {
        let handler = self.handler.lock().ok().and_then(|mut h| h.take());
        Box::pin(async move {
            let Some(handler) = handler else {
                return Err(Status::internal(
                    "a middleware called the handler more than once",
                ));
            };
            let (_info, meta, ext, message) = call.into_parts();
            let input = message.downcast::<In>().map_err(|_| {
                Status::internal("a middleware replaced the request with another type")
            })?;
            let resp = handler(Request::from_parts(meta, ext, *input)).await?;
            let (meta, out, ext) = resp.into_parts();
            Ok(CallResponse::new(meta, ext, Box::new(out)))
        })
    }
}
