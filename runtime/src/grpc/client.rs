//! The gRPC client under every generated `XxxClient`.

use std::future::Future;
use std::sync::Arc;

use futures_util::Stream;
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::{Request, Response, Status, Streaming};

use super::channel::{ObserverHandle, ThriftChannel};
use super::options::{GrpcOptions, StreamTransport};
use crate::call::{run_call, CallInfo, CallKind, Invoke, Transport};
use crate::codec::ThriftCodec;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::CallObserver;
use crate::ttstream::client::UnaryCall;
use crate::ttstream::TtStreamChannel;

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`GrpcClient`] can run on: any tower service taking HTTP/2
/// requests with a tonic body, such as [`tonic::transport::Channel`].
pub trait GrpcTransport:
    tower_service::Service<
        http::Request<tonic::body::Body>,
        Response = http::Response<Self::Body>,
        Error = Self::TransportError,
        Future = Self::Fut,
    > + Clone
    + Send
    + 'static
{
    /// The response body.
    type Body: http_body::Body<Error = Self::BodyError> + Send + 'static;
    /// The response body's error.
    type BodyError: Into<BoxError> + Send;
    /// The transport error.
    type TransportError: Into<BoxError>;
    /// The response future.
    type Fut: Future<Output = Result<http::Response<Self::Body>, Self::TransportError>> + Send;
}

impl<T, B> GrpcTransport for T
where
    T: tower_service::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    T::Error: Into<BoxError>,
    T::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Error: Into<BoxError> + Send,
{
    type Body = B;
    type BodyError = B::Error;
    type TransportError = T::Error;
    type Fut = T::Future;
}

/// A gRPC client for Thrift methods, over any [`GrpcTransport`].
///
/// Generated `XxxClient` types wrap one and call it with each
/// method's path and wire types. Use it directly to call a method without
/// generated client code: a streaming method takes and returns the bare
/// structs; a `unary` or ping-pong method names its wire Args and Result
/// types, for one argument with field id 1 returning a value
/// [`OneArg<T, 1>`](crate::OneArg) and [`ValueResult<T>`](crate::ValueResult).
///
/// ```no_run
/// use tonic_thrift::grpc::{GrpcClient, GrpcOptions};
/// use tonic_thrift::{OneArg, ValueResult};
///
/// tonic_thrift::thrift_service!("docs/echo.thrift", build_server = false);
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:8888")
///     .connect()
///     .await?;
/// let mut client = GrpcClient::with_options(channel, GrpcOptions::default());
///
/// // `Response EchoUnary (1: Request req) (streaming.mode="unary")`
/// let request = tonic::Request::new(echo::Request { message: "hi".into() });
/// let reply = client
///     .unary::<OneArg<echo::Request, 1>, ValueResult<echo::Response>>(
///         request,
///         "/echo.TestService/EchoUnary",
///     )
///     .await?;
/// println!("{}", reply.into_inner().message);
///
/// // `Response EchoServer (1: Request req) (streaming.mode="server")`
/// let request = tonic::Request::new(echo::Request { message: "hi".into() });
/// let mut replies = client
///     .server_streaming::<_, echo::Response>(request, "/echo.TestService/EchoServer")
///     .await?
///     .into_inner();
/// while let Some(reply) = replies.message().await? {
///     println!("{}", reply.message);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct GrpcClient<T> {
    transport: T,
    options: GrpcOptions,
    grpc: Grpc<ThriftChannel<T>>,
    /// Where streaming methods go instead, with
    /// [`StreamTransport::TTHeaderStreaming`].
    streams: Option<(TtStreamChannel, Grpc<ThriftChannel<TtStreamChannel>>)>,
}

/// A tonic client over `transport` with `options`' limits.
fn grpc_over<T: GrpcTransport>(transport: T, options: &GrpcOptions) -> Grpc<ThriftChannel<T>> {
    let channel = ThriftChannel::new(transport, options.max_decoding_message_size);
    // Our own limit (LimitedBody) answers first, with RESOURCE_EXHAUSTED,
    // for a message as sent; tonic's bounds a compressed one as it inflates.
    let grpc = Grpc::new(channel)
        .max_decoding_message_size(options.max_decoding_message_size)
        .max_encoding_message_size(options.max_encoding_message_size);
    options.compression.client(grpc)
}

impl GrpcClient<tonic::transport::Channel> {
    /// Connects to `endpoint` for `service` (the callee's bare name, sent
    /// as `:authority`) with `options`: what a generated `connect_with`
    /// calls. With [`StreamTransport::TTHeaderStreaming`], streaming
    /// methods go over a [`TtStreamChannel`] to the same host and port,
    /// and `unary` and ping-pong methods over the gRPC channel.
    pub async fn connect(
        endpoint: tonic::transport::Endpoint,
        options: GrpcOptions,
        service: &str,
    ) -> Result<Self, tonic::transport::Error> {
        let uri = endpoint.uri().clone();
        #[cfg(feature = "tls")]
        let endpoint = match &options.tls {
            Some(tls) => {
                let mut config = tls.to_tonic();
                // The origin becomes the service name (see
                // `configure_endpoint_for`); verify the URL's host instead.
                if tls.get_domain_name().is_none() {
                    if let Some(host) = uri.host() {
                        config = config.domain_name(host.to_string());
                    }
                }
                endpoint.tls_config(config)?
            }
            None => endpoint,
        };
        let channel = options
            .configure_endpoint_for(endpoint, service)
            .connect()
            .await?;
        let mut client = Self::with_options(channel, options);
        if client.options.stream_transport == StreamTransport::TTHeaderStreaming {
            let tts = TtStreamChannel::for_uri(&uri, &client.options);
            let grpc = grpc_over(tts.clone(), &client.options);
            client.streams = Some((tts, grpc));
        }
        Ok(client)
    }
}

/// `/pkg.Service/Method` → (`Service`, `Method`).
fn names(path: &'static str) -> (&'static str, &'static str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or("");
    let method = parts.next().unwrap_or("");
    (service.rsplit('.').next().unwrap_or(service), method)
}

impl<T: GrpcTransport> GrpcClient<T> {
    /// A client over `transport` with default options.
    pub fn new(transport: T) -> Self {
        Self::with_options(transport, GrpcOptions::default())
    }

    /// A client over `transport` with `options`.
    pub fn with_options(transport: T, options: GrpcOptions) -> Self {
        GrpcClient {
            grpc: grpc_over(transport.clone(), &options),
            transport,
            options,
            streams: None,
        }
    }

    /// Rebuilds the client for new `options`, keeping its transports.
    fn set_options(&mut self, options: GrpcOptions) {
        self.grpc = grpc_over(self.transport.clone(), &options);
        if let Some((tts, grpc)) = &mut self.streams {
            *grpc = grpc_over(tts.clone(), &options);
        }
        self.options = options;
    }

    /// The client's options.
    pub fn options(&self) -> &GrpcOptions {
        &self.options
    }

    /// Sets the largest message accepted from the server (default 4 MiB);
    /// a larger one fails the call with `RESOURCE_EXHAUSTED` before it is
    /// buffered.
    pub fn set_max_decoding_message_size(&mut self, limit: usize) {
        self.set_options(self.options.clone().max_decoding_message_size(limit));
    }

    /// Compresses requests with `encoding` (features `gzip`, `zstd`); the
    /// server must accept it.
    pub fn set_send_compressed(&mut self, encoding: tonic::codec::CompressionEncoding) {
        self.set_options(self.options.clone().send_compressed(encoding));
    }

    /// Accepts replies compressed with `encoding`, and says so in
    /// `grpc-accept-encoding`.
    pub fn set_accept_compressed(&mut self, encoding: tonic::codec::CompressionEncoding) {
        self.set_options(self.options.clone().accept_compressed(encoding));
    }

    /// Sets the largest message this client sends (default unlimited).
    pub fn set_max_encoding_message_size(&mut self, limit: usize) {
        self.set_options(self.options.clone().max_encoding_message_size(limit));
    }

    /// Applies the deadline (see [`crate::timeout`]) and returns what the
    /// call needs to run through the middleware.
    fn start<M>(
        &self,
        request: &mut Request<M>,
        path: &'static str,
        kind: CallKind,
        transport: Transport,
    ) -> (Option<Invoke>, Option<Arc<CallObserver>>) {
        crate::timeout::set_call_timeout(request, self.options.timeout);
        let Some((invoke, observer)) = self.options.middleware.start_client(|| {
            let (service, method) = names(path);
            CallInfo {
                service,
                method,
                kind,
                transport,
                peer: None,
            }
        }) else {
            // Nothing to run or observe: the call goes straight out.
            return (None, None);
        };
        if let Some(o) = &observer {
            // The response body reports the final status and replaces a
            // transport error caused by a failing send hook with its status.
            request.extensions_mut().insert(ObserverHandle(o.clone()));
        }
        (Some(invoke), observer)
    }

    /// Runs one call through the client's middleware, on a clone of the
    /// transport made ready for it.
    async fn call<U, In, Out, F, Fut>(
        &self,
        mut grpc: Grpc<ThriftChannel<U>>,
        mut request: Request<In>,
        path: &'static str,
        kind: CallKind,
        send: F,
    ) -> Result<Response<Out>, Status>
    where
        U: GrpcTransport,
        In: Send + 'static,
        Out: Send + 'static,
        F: FnOnce(
                Grpc<ThriftChannel<U>>,
                Request<In>,
                PathAndQuery,
                Option<Arc<CallObserver>>,
            ) -> Fut
            + Send
            + 'static,
        Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
    {
        // A client built on a `TtStreamChannel` alone is a ttstream client too.
        let transport = if std::any::TypeId::of::<U>() == std::any::TypeId::of::<TtStreamChannel>()
        {
            Transport::TTHeaderStreaming
        } else {
            Transport::Grpc
        };
        let (invoke, observer) = self.start(&mut request, path, kind, transport);
        let codec_observer = observer.clone();
        let resp = run_call(request, invoke, move |r| async move {
            ready(&mut grpc).await?;
            send(grpc, r, PathAndQuery::from_static(path), codec_observer).await
        })
        .await;
        record(&observer, &resp);
        resp
    }

    /// Calls a `unary` or ping-pong method: Args out, Result in.
    pub async fn unary<A: ThriftArgs, R: ThriftResult>(
        &mut self,
        request: Request<A::Input>,
        path: &'static str,
    ) -> Result<Response<R::Ok>, R::Err> {
        let mut request = request;
        request.extensions_mut().insert(UnaryCall);
        let resp = self
            .call(
                self.grpc.clone(),
                request,
                path,
                CallKind::Unary,
                |mut grpc, r, path, o| async move {
                    let codec = ThriftCodec::<A, R>::observed(o);
                    grpc.unary(r.map(A::from_input), path, codec).await
                },
            )
            .await;
        let (meta, result, ext) = resp?.into_parts();
        result
            .into_outcome()
            .map(|v| Response::from_parts(meta, v, ext))
    }

    /// Calls a server-streaming method.
    pub async fn server_streaming<Req, Resp>(
        &mut self,
        request: Request<Req>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status>
    where
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        match &self.streams {
            Some((_, tts)) => {
                let tts = tts.clone();
                self.call(
                    tts,
                    request,
                    path,
                    CallKind::ServerStreaming,
                    send_server_streaming::<_, Req, Resp>,
                )
                .await
            }
            None => {
                let grpc = self.grpc.clone();
                self.call(
                    grpc,
                    request,
                    path,
                    CallKind::ServerStreaming,
                    send_server_streaming::<_, Req, Resp>,
                )
                .await
            }
        }
    }

    /// Calls a client-streaming method.
    pub async fn client_streaming<S, Req, Resp>(
        &mut self,
        request: Request<S>,
        path: &'static str,
    ) -> Result<Response<Resp>, Status>
    where
        S: Stream<Item = Req> + Send + 'static,
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        match &self.streams {
            Some((_, tts)) => {
                let tts = tts.clone();
                self.call(
                    tts,
                    request,
                    path,
                    CallKind::ClientStreaming,
                    send_client_streaming::<_, S, Req, Resp>,
                )
                .await
            }
            None => {
                let grpc = self.grpc.clone();
                self.call(
                    grpc,
                    request,
                    path,
                    CallKind::ClientStreaming,
                    send_client_streaming::<_, S, Req, Resp>,
                )
                .await
            }
        }
    }

    /// Calls a bidirectional streaming method.
    pub async fn streaming<S, Req, Resp>(
        &mut self,
        request: Request<S>,
        path: &'static str,
    ) -> Result<Response<Streaming<Resp>>, Status>
    where
        S: Stream<Item = Req> + Send + 'static,
        Req: pilota::thrift::Message + Sync + 'static,
        Resp: pilota::thrift::Message + Sync + 'static,
    {
        match &self.streams {
            Some((_, tts)) => {
                let tts = tts.clone();
                self.call(
                    tts,
                    request,
                    path,
                    CallKind::Bidi,
                    send_streaming::<_, S, Req, Resp>,
                )
                .await
            }
            None => {
                let grpc = self.grpc.clone();
                self.call(
                    grpc,
                    request,
                    path,
                    CallKind::Bidi,
                    send_streaming::<_, S, Req, Resp>,
                )
                .await
            }
        }
    }
}

/// Sends a server-streaming call over either transport (a tonic `Grpc`
/// over HTTP/2 or over TTHeader Streaming).
async fn send_server_streaming<U, Req, Resp>(
    mut grpc: Grpc<ThriftChannel<U>>,
    request: Request<Req>,
    path: PathAndQuery,
    observer: Option<Arc<CallObserver>>,
) -> Result<Response<Streaming<Resp>>, Status>
where
    U: GrpcTransport,
    Req: pilota::thrift::Message + Sync + 'static,
    Resp: pilota::thrift::Message + Sync + 'static,
{
    let codec = ThriftCodec::<Req, Resp>::observed(observer);
    grpc.server_streaming(request, path, codec).await
}

/// Sends a client-streaming call over either transport.
async fn send_client_streaming<U, S, Req, Resp>(
    mut grpc: Grpc<ThriftChannel<U>>,
    request: Request<S>,
    path: PathAndQuery,
    observer: Option<Arc<CallObserver>>,
) -> Result<Response<Resp>, Status>
where
    U: GrpcTransport,
    S: Stream<Item = Req> + Send + 'static,
    Req: pilota::thrift::Message + Sync + 'static,
    Resp: pilota::thrift::Message + Sync + 'static,
{
    let codec = ThriftCodec::<Req, Resp>::observed(observer);
    grpc.client_streaming(request, path, codec).await
}

/// Sends a bidirectional streaming call over either transport.
async fn send_streaming<U, S, Req, Resp>(
    mut grpc: Grpc<ThriftChannel<U>>,
    request: Request<S>,
    path: PathAndQuery,
    observer: Option<Arc<CallObserver>>,
) -> Result<Response<Streaming<Resp>>, Status>
where
    U: GrpcTransport,
    S: Stream<Item = Req> + Send + 'static,
    Req: pilota::thrift::Message + Sync + 'static,
    Resp: pilota::thrift::Message + Sync + 'static,
{
    let codec = ThriftCodec::<Req, Resp>::observed(observer);
    grpc.streaming(request, path, codec).await
}

/// Waits until the transport takes a call (tower's contract: each clone
/// must be made ready before it is called).
async fn ready<T: GrpcTransport>(grpc: &mut Grpc<ThriftChannel<T>>) -> Result<(), Status> {
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("transport is not ready: {e}")))
}

/// Records a call that failed before its response arrived (the response
/// body records the final status of the others from the trailers).
fn record<T>(observer: &Option<Arc<CallObserver>>, result: &Result<T, Status>) {
    if let (Some(o), Err(s)) = (observer, result) {
        o.set_status(s.code(), s.message());
    }
}
