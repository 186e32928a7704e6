//! [`GenericClient`]: calls any method of a [`Descriptor`] with JSON.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tonic::transport::Endpoint;
use tonic::{Request, Status, Streaming};
use tonic_thrift::grpc::{GrpcClient, GrpcOptions, StreamTransport};
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::pingpong::{PingPongClient, PingPongOptions};
use tonic_thrift::transport::Framing;
use tonic_thrift::{BizStatusError, RawStruct};
use tonic_thrift_build::descriptor::{Descriptor, MethodDescriptor, Mode, ServiceDescriptor};

use crate::intern::intern;
use crate::method::{self, Reply};

/// How ping-pong methods are carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PingPongTransport {
    /// TTHeader (Kitex's default), the payload without its own length.
    #[default]
    TTHeader,
    /// TTHeader with a Framed length inside (what Kitex ≥ 0.13 sends).
    TTHeaderFramed,
    /// Framed Thrift.
    Framed,
    /// Buffered (unframed) Thrift.
    Buffered,
    /// Over gRPC (HTTP/2), as `unary` methods are.
    Grpc,
}

/// Options of a [`GenericClient`]. Defaults: gRPC for streams, TTHeader
/// for ping-pong, no timeout, connect timeout 1 s, no metainfo.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClientOptions {
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    stream_transport: StreamTransport,
    pingpong: PingPongTransport,
    transient: Vec<(String, String)>,
    persistent: Vec<(String, String)>,
}

impl ClientOptions {
    /// The deadline of each call (for streams: of the whole stream).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How long to wait for a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The transport of streaming methods: gRPC (default) or TTHeader
    /// Streaming. `unary` methods always go over gRPC.
    pub fn stream_transport(mut self, transport: StreamTransport) -> Self {
        self.stream_transport = transport;
        self
    }

    /// The transport of ping-pong methods (default TTHeader).
    pub fn pingpong_transport(mut self, transport: PingPongTransport) -> Self {
        self.pingpong = transport;
        self
    }

    /// Adds a transient metainfo value (`KEY` upper snake case), sent with
    /// every call.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.transient.push((key.into(), value.into()));
        self
    }

    /// Adds a persistent metainfo value, sent with every call.
    pub fn persistent(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.persistent.push((key.into(), value.into()));
        self
    }
}

/// Why a generic call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError {
    /// No such service or method, a method called in the wrong mode, or bad
    /// metainfo.
    Usage(String),
    /// The JSON did not fit the IDL, or the reply did not.
    Transcode(crate::Error),
    /// Could not connect.
    Connect(String),
    /// The method threw one of its declared exceptions.
    Exception {
        /// The `throws` field's name.
        field: String,
        /// The exception's IDL type.
        type_name: String,
        /// The exception, as JSON.
        value: Value,
    },
    /// The call failed with this status; a business error
    /// ([`BizStatusError::from_status`]) included.
    Status(Status),
}

impl CallError {
    /// The business error the status carries, if any.
    pub fn biz_error(&self) -> Option<BizStatusError> {
        match self {
            CallError::Status(s) => BizStatusError::from_status(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Usage(m) => write!(f, "{m}"),
            CallError::Transcode(e) => write!(f, "{e}"),
            CallError::Connect(m) => write!(f, "could not connect: {m}"),
            CallError::Exception {
                field,
                type_name,
                value,
            } => write!(f, "exception `{field}` ({type_name}): {value}"),
            CallError::Status(s) => match BizStatusError::from_status(s) {
                Some(b) => write!(f, "business error {}: {}", b.code(), b.message()),
                None => write!(f, "status {:?}: {}", s.code(), s.message()),
            },
        }
    }
}

impl std::error::Error for CallError {}

impl From<crate::Error> for CallError {
    fn from(e: crate::Error) -> Self {
        CallError::Transcode(e)
    }
}

/// A client that calls any method of a [`Descriptor`] at one address, with
/// JSON in and out (see [`crate::json`] for the mapping).
///
/// Connections are made on first use, per service, and reused.
#[derive(Clone)]
pub struct GenericClient {
    desc: Arc<Descriptor>,
    addr: String,
    options: ClientOptions,
    grpc: Arc<tokio::sync::Mutex<HashMap<String, GrpcClient<tonic::transport::Channel>>>>,
    pingpong: Arc<Mutex<HashMap<String, PingPongClient>>>,
}

impl std::fmt::Debug for GenericClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericClient")
            .field("addr", &self.addr)
            .field("options", &self.options)
            .finish()
    }
}

/// The replies of a server-streaming or bidirectional call, as JSON.
pub struct ReplyStream {
    desc: Arc<Descriptor>,
    method: MethodDescriptor,
    inner: Streaming<RawStruct>,
    send_error: Arc<Mutex<Option<crate::Error>>>,
}

impl std::fmt::Debug for ReplyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyStream")
            .field("method", &self.method.name)
            .finish()
    }
}

impl ReplyStream {
    /// The next reply; `None` once the server ends the stream with OK.
    pub async fn message(&mut self) -> Result<Option<Value>, CallError> {
        let next = self.inner.message().await;
        if let Some(e) = take(&self.send_error) {
            return Err(CallError::Transcode(e));
        }
        match next {
            Ok(Some(raw)) => match method::decode_reply(&self.desc, &self.method, &raw.0)? {
                Reply::Success(v) => Ok(Some(v)),
                Reply::Exception { .. } => Err(CallError::Usage("unexpected exception".into())),
            },
            Ok(None) => Ok(None),
            Err(s) => Err(CallError::Status(s)),
        }
    }
}

fn take(slot: &Arc<Mutex<Option<crate::Error>>>) -> Option<crate::Error> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

type RawStream = Pin<Box<dyn Stream<Item = RawStruct> + Send>>;

impl GenericClient {
    /// A client of the services of `desc` at `addr` (`host:port`).
    pub fn new(desc: Arc<Descriptor>, addr: impl Into<String>, options: ClientOptions) -> Self {
        GenericClient {
            desc,
            addr: addr.into(),
            options,
            grpc: Default::default(),
            pingpong: Default::default(),
        }
    }

    /// The descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.desc
    }

    /// Finds a service and method, or says what exists.
    pub fn find(
        &self,
        service: &str,
        method: &str,
    ) -> Result<(&ServiceDescriptor, &MethodDescriptor), CallError> {
        let Some(svc) = self.desc.service(service) else {
            let names: Vec<&str> = self
                .desc
                .services()
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(CallError::Usage(format!(
                "no service `{service}` in the IDL (services: {})",
                names.join(", ")
            )));
        };
        let Some(m) = svc.method(method) else {
            let names: Vec<&str> = svc.methods.iter().map(|m| m.name.as_str()).collect();
            return Err(CallError::Usage(format!(
                "service `{}` has no method `{method}` (methods: {})",
                svc.name,
                names.join(", ")
            )));
        };
        Ok((svc, m))
    }

    fn request<T>(&self, message: T) -> Result<Request<T>, CallError> {
        let mut r = Request::new(message);
        for (k, v) in &self.options.transient {
            MetaInfo::attach(&mut r)
                .set_transient(k.clone(), v.clone())
                .map_err(|e| CallError::Usage(format!("metainfo key: {e}")))?;
        }
        for (k, v) in &self.options.persistent {
            MetaInfo::attach(&mut r)
                .set_persistent(k.clone(), v.clone())
                .map_err(|e| CallError::Usage(format!("metainfo key: {e}")))?;
        }
        Ok(r)
    }

    async fn grpc(
        &self,
        svc: &ServiceDescriptor,
    ) -> Result<GrpcClient<tonic::transport::Channel>, CallError> {
        let mut clients = self.grpc.lock().await;
        if let Some(c) = clients.get(&svc.full_name) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{}", self.addr))
            .map_err(|e| CallError::Usage(format!("bad address `{}`: {e}", self.addr)))?;
        let mut options = GrpcOptions::default().stream_transport(self.options.stream_transport);
        if let Some(t) = self.options.timeout {
            options = options.timeout(t);
        }
        if let Some(t) = self.options.connect_timeout {
            options = options.connect_timeout(t);
        }
        let client = GrpcClient::connect(endpoint, options, &svc.name)
            .await
            .map_err(|e| CallError::Connect(format!("{}: {}", self.addr, source_chain(&e))))?;
        clients.insert(svc.full_name.clone(), client.clone());
        Ok(client)
    }

    fn pingpong_client(&self, svc: &ServiceDescriptor) -> PingPongClient {
        let mut clients = self.pingpong.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(svc.full_name.clone())
            .or_insert_with(|| {
                let framing = match self.options.pingpong {
                    PingPongTransport::TTHeader | PingPongTransport::Grpc => Framing::TTHeader {
                        inner_framed: false,
                    },
                    PingPongTransport::TTHeaderFramed => Framing::TTHeader { inner_framed: true },
                    PingPongTransport::Framed => Framing::Framed,
                    PingPongTransport::Buffered => Framing::Buffered,
                };
                let mut options = PingPongOptions::default().framing(framing);
                if let Some(t) = self.options.timeout {
                    options = options.timeout(t);
                }
                if let Some(t) = self.options.connect_timeout {
                    options = options.connect_timeout(t);
                }
                PingPongClient::new(self.addr.clone(), intern(&svc.name), options)
            })
            .clone()
    }

    /// Calls a `unary` or ping-pong method with its argument (or an object
    /// keyed by argument name when it has several) and returns its result
    /// (`null` for `void` and `oneway`).
    pub async fn call(
        &self,
        service: &str,
        method: &str,
        args: &Value,
    ) -> Result<Value, CallError> {
        let (svc, m) = self.find(service, method)?;
        if m.mode.is_streaming() {
            return Err(CallError::Usage(format!(
                "`{}` is a {:?} streaming method: use its streaming call",
                m.name, m.mode
            )));
        }
        let raw = RawStruct(method::encode_request(&self.desc, m, args)?);
        let over_grpc = m.mode == Mode::Unary || self.options.pingpong == PingPongTransport::Grpc;
        let reply = if over_grpc {
            let mut client = self.grpc(svc).await?;
            let path = intern(&format!("/{}/{}", svc.full_name, m.name));
            client
                .unary::<RawStruct, RawStruct>(self.request(raw)?, path)
                .await
                .map_err(status_error)?
                .into_inner()
        } else {
            let client = self.pingpong_client(svc);
            let reply = client
                .call::<RawStruct, RawStruct>(intern(&m.name), self.request(raw)?, m.oneway)
                .await
                .map_err(status_error)?
                .into_inner();
            if m.oneway {
                return Ok(Value::Null);
            }
            reply
        };
        match method::decode_reply(&self.desc, m, &reply.0)? {
            Reply::Success(v) => Ok(v),
            Reply::Exception {
                field,
                type_name,
                value,
            } => Err(CallError::Exception {
                field,
                type_name,
                value,
            }),
        }
    }

    fn check_mode(m: &MethodDescriptor, want: Mode) -> Result<(), CallError> {
        if m.mode == want {
            Ok(())
        } else {
            Err(CallError::Usage(format!(
                "`{}` is {:?}, not {want:?}",
                m.name, m.mode
            )))
        }
    }

    /// Encodes each JSON message as it is sent; the first that does not fit
    /// ends the stream and is reported by the call.
    fn encode_stream(
        &self,
        m: &MethodDescriptor,
        messages: impl Stream<Item = Value> + Send + 'static,
        slot: Arc<Mutex<Option<crate::Error>>>,
    ) -> RawStream {
        let desc = self.desc.clone();
        let m = m.clone();
        Box::pin(
            messages
                .map(move |v| method::encode_request(&desc, &m, &v))
                .take_while(move |r| {
                    let ok = match r {
                        Ok(_) => true,
                        Err(e) => {
                            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                            false
                        }
                    };
                    std::future::ready(ok)
                })
                .filter_map(|r| std::future::ready(r.ok().map(RawStruct))),
        )
    }

    /// Calls a server-streaming method with its request struct.
    pub async fn server_stream(
        &self,
        service: &str,
        method: &str,
        request: &Value,
    ) -> Result<ReplyStream, CallError> {
        let (svc, m) = self.find(service, method)?;
        Self::check_mode(m, Mode::ServerStreaming)?;
        let raw = RawStruct(method::encode_request(&self.desc, m, request)?);
        let mut client = self.grpc(svc).await?;
        let path = intern(&format!("/{}/{}", svc.full_name, m.name));
        let inner = client
            .server_streaming::<RawStruct, RawStruct>(self.request(raw)?, path)
            .await
            .map_err(CallError::Status)?
            .into_inner();
        Ok(ReplyStream {
            desc: self.desc.clone(),
            method: m.clone(),
            inner,
            send_error: Default::default(),
        })
    }

    /// Calls a client-streaming method: sends every message, then returns
    /// the one reply.
    pub async fn client_stream(
        &self,
        service: &str,
        method: &str,
        messages: impl Stream<Item = Value> + Send + 'static,
    ) -> Result<Value, CallError> {
        let (svc, m) = self.find(service, method)?;
        Self::check_mode(m, Mode::ClientStreaming)?;
        let slot = Arc::new(Mutex::new(None));
        let out = self.encode_stream(m, messages, slot.clone());
        let mut client = self.grpc(svc).await?;
        let path = intern(&format!("/{}/{}", svc.full_name, m.name));
        let reply = client
            .client_streaming::<_, RawStruct, RawStruct>(self.request(out)?, path)
            .await;
        if let Some(e) = take(&slot) {
            return Err(CallError::Transcode(e));
        }
        let raw = reply.map_err(CallError::Status)?.into_inner();
        match method::decode_reply(&self.desc, m, &raw.0)? {
            Reply::Success(v) => Ok(v),
            Reply::Exception { .. } => Err(CallError::Usage("unexpected exception".into())),
        }
    }

    /// Calls a bidirectional streaming method: sends the messages as the
    /// stream yields them and returns the replies as they come.
    pub async fn bidi(
        &self,
        service: &str,
        method: &str,
        messages: impl Stream<Item = Value> + Send + 'static,
    ) -> Result<ReplyStream, CallError> {
        let (svc, m) = self.find(service, method)?;
        Self::check_mode(m, Mode::Bidirectional)?;
        let slot = Arc::new(Mutex::new(None));
        let out = self.encode_stream(m, messages, slot.clone());
        let mut client = self.grpc(svc).await?;
        let path = intern(&format!("/{}/{}", svc.full_name, m.name));
        let inner = client
            .streaming::<_, RawStruct, RawStruct>(self.request(out)?, path)
            .await
            .map_err(CallError::Status)?
            .into_inner();
        Ok(ReplyStream {
            desc: self.desc.clone(),
            method: m.clone(),
            inner,
            send_error: slot,
        })
    }
}

/// A failed call's status; one that says the connection could not be made
/// becomes [`CallError::Connect`].
fn status_error(s: Status) -> CallError {
    let text = format!("{} {}", s.message(), source_chain_status(&s)).to_lowercase();
    if s.code() == tonic::Code::Unavailable
        && (text.contains("connect") || text.contains("refused"))
    {
        return CallError::Connect(s.message().to_string());
    }
    CallError::Status(s)
}

fn source_chain_status(s: &Status) -> String {
    use std::error::Error as _;
    let mut out = String::new();
    let mut cur = s.source();
    while let Some(e) = cur {
        out.push_str(&format!(": {e}"));
        cur = e.source();
    }
    out
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        out.push_str(&format!(": {inner}"));
        cur = inner.source();
    }
    out
}
