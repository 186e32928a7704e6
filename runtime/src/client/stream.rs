//! The gRPC client under every generated `XxxStreamClient`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::uri::PathAndQuery;
use tonic::client::Grpc;
use tonic::{Request, Response, Status, Streaming};

use super::cancel;
use crate::codec::ThriftCodec;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::server::body::LimitedBody;
use crate::server::dispatch::{CONTENT_TYPE_THRIFT, DEFAULT_MAX_DECODING_MESSAGE_SIZE};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`StreamClient`] can run on: any tower service taking HTTP/2
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

/// A transport wrapper that speaks Thrift over gRPC: sets
/// `content-type: application/grpc+thrift` on every request (tonic's client
/// always writes `application/grpc`, which a Kitex server takes for
/// protobuf), and enforces the receive limit on response messages.
#[derive(Debug, Clone)]
pub struct ThriftChannel<T> {
    inner: T,
    max_decoding_message_size: usize,
}

impl<T: GrpcTransport> tower_service::Service<http::Request<tonic::body::Body>>
    for ThriftChannel<T>
{
    type Response = http::Response<cancel::RespBody<LimitedBody<T::Body>>>;
    type Error = T::TransportError;
    type Future =
        Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_THRIFT));
        if let Some(m) = MetaInfo::outgoing(req.extensions().get::<MetaInfo>()) {
            m.to_http_headers(req.headers_mut());
        }
        let limit = self.max_decoding_message_size;
        let (req, guard) = cancel::wrap_request(req);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            Ok(resp.map(|b| cancel::RespBody::new(LimitedBody::new(b, limit), guard)))
        })
    }
}

/// A gRPC client for Thrift methods, over any [`GrpcTransport`].
///
/// Generated `XxxStreamClient` types wrap one and call it with each
/// method's path and wire types.
#[derive(Debug, Clone)]
pub struct StreamClient<T> {
    transport: T,
    max_decoding_message_size: usize,
    max_encoding_message_size: usize,
    grpc: Grpc<ThriftChannel<T>>,
}

impl<T: GrpcTransport> StreamClient<T> {
    /// A client over `transport` with the default 4 MiB receive limit.
    pub fn new(transport: T) -> Self {
        Self::build(transport, DEFAULT_MAX_DECODING_MESSAGE_SIZE, usize::MAX)
    }

    fn build(transport: T, max_decoding: usize, max_encoding: usize) -> Self {
        let channel = ThriftChannel {
            inner: transport.clone(),
            max_decoding_message_size: max_decoding,
        };
        StreamClient {
            transport,
            max_decoding_message_size: max_decoding,
            max_encoding_message_size: max_encoding,
            // Our own limit (LimitedBody) answers first, with RESOURCE_EXHAUSTED.
            grpc: Grpc::new(channel)
                .max_decoding_message_size(usize::MAX)
                .max_encoding_message_size(max_encoding),
        }
    }

    /// Sets the largest message accepted from the server (default 4 MiB);
    /// a larger one fails the call with `RESOURCE_EXHAUSTED` before it is
    /// buffered.
    pub fn set_max_decoding_message_size(&mut self, limit: usize) {
        *self = Self::build(
            self.transport.clone(),
            limit,
            self.max_encoding_message_size,
        );
    }

    /// Sets the largest message this client sends (default unlimited).
    pub fn set_max_encoding_message_size(&mut self, limit: usize) {
        *self = Self::build(
            self.transport.clone(),
            self.max_decoding_message_size,
            limit,
        );
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.grpc.ready().await.map_err(|e| {
            let e: BoxError = e.into();
            Status::unavailable(format!("transport is not ready: {e}"))
        })
    }

    /// Calls a `unary` or ping-pong method: Args out, Result in.
    pub async fn unary<A: ThriftArgs, R: ThriftResult>(
        &mut self,
        request: Request<A::Input>,
        path: &'static str,
    ) -> Result<Response<R::Ok>, R::Err> {
        self.ready().await?;
        let resp = self
            .grpc
            .unary(
                request.map(A::from_input),
                PathAndQuery::from_static(path),
                ThriftCodec::<A, R>::default(),
            )
            .await?;
        let (meta, result, ext) = resp.into_parts();
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
        self.ready().await?;
        self.grpc
            .server_streaming(
                request,
                PathAndQuery::from_static(path),
                ThriftCodec::<Req, Resp>::default(),
            )
            .await
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
        self.ready().await?;
        self.grpc
            .client_streaming(
                request,
                PathAndQuery::from_static(path),
                ThriftCodec::<Req, Resp>::default(),
            )
            .await
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
        self.ready().await?;
        self.grpc
            .streaming(
                request,
                PathAndQuery::from_static(path),
                ThriftCodec::<Req, Resp>::default(),
            )
            .await
    }
}
