//! The ping-pong client under every generated `XxxPingPongClient`: one call per
//! connection at a time, over a bounded pool of connections.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

use super::exception::ApplicationException;
use crate::balance::{
    BalanceOptions, Cluster, ClusterStatus, Idempotent, Outcome, RetryBudget, RetryPolicy,
};
use crate::call::{Call, CallInfo, CallKind, CallResponse, CallService, LayerStack, Transport};
use crate::codec::{BinaryInput, BinaryOutput};
use crate::grpc::CallOptions;
use crate::metainfo::MetaInfo;
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::{CallObserver, Direction, MessageHook, Observers, Tracer};
use crate::server::invoke::Invoke;
use crate::transport::{
    decode_frame, encode_frame, read_message_header, write_message_header, FrameKind, Framing,
    MessageHeader, MessageType, TTHeader, INT_KEY_MSG_TYPE, INT_KEY_RPC_TIMEOUT, INT_KEY_TO_METHOD,
    INT_KEY_TO_SERVICE,
};
use crate::BizStatusError;

/// Options of a ping-pong client. Defaults: TTHeader framing (payload not
/// framed inside), connect timeout 1 s, no call timeout, at most 32
/// connections (per instance for a balanced client), idle connections
/// closed after 60 s, frames up to 16 MiB, no retries.
#[derive(Debug, Clone)]
#[must_use]
pub struct PingPongOptions {
    retry: Option<RetryPolicy>,
    framing: Framing,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    max_connections: usize,
    idle_timeout: Duration,
    max_frame_size: usize,
    layers: LayerStack,
    observers: Arc<Observers>,
}

impl Default for PingPongOptions {
    fn default() -> Self {
        PingPongOptions {
            retry: None,
            framing: Framing::TTHeader {
                inner_framed: false,
            },
            connect_timeout: Duration::from_secs(1),
            timeout: None,
            max_connections: 32,
            idle_timeout: Duration::from_secs(60),
            max_frame_size: crate::server::DEFAULT_MAX_FRAME_SIZE,
            layers: LayerStack::default(),
            observers: Arc::new(Observers::default()),
        }
    }
}

impl PingPongOptions {
    /// How requests are framed: TTHeader (default), Framed or Buffered.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// How long to wait for a new connection (default 1 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of every call (default none); a call's own
    /// `tonic::Request::set_timeout` takes precedence. Sent to the server as
    /// the TTHeader RPC timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries of failed calls (default none): see [`RetryPolicy`] for which
    /// failures are retried and the budget that bounds them. For a balanced
    /// client ([`PingPongClient::balanced`]) a retry goes to another
    /// instance when there is one.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The most connections open at once (default 32), per instance for a
    /// balanced client; further calls wait.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Idle connections older than this are closed instead of reused (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The largest reply frame accepted (default 16 MiB).
    pub fn max_frame_size(mut self, limit: usize) -> Self {
        self.max_frame_size = limit;
        self
    }

    /// Adds a middleware layer run for each call (see [`crate::call`]);
    /// the first added runs outermost.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<CallService> + Send + Sync + 'static,
        L::Service: tower_service::Service<Call, Response = CallResponse, Error = Status>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<Call>>::Future: Send + 'static,
    {
        self.layers.push(layer);
        self
    }

    /// Adds a hook that sees every request sent and reply received, with its size.
    pub fn message_hook(mut self, hook: impl MessageHook) -> Self {
        Arc::make_mut(&mut self.observers).add_hook(hook);
        self
    }

    /// Adds a tracer.
    pub fn tracer(mut self, tracer: impl Tracer) -> Self {
        Arc::make_mut(&mut self.observers).add_tracer(tracer);
        self
    }
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// The connections to one address: at most `max_connections` in use at
/// once, idle ones kept for reuse.
pub(crate) struct Pool {
    addr: String,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Idle>>,
}

impl Pool {
    fn new(addr: String, max_connections: usize) -> Self {
        Pool {
            addr,
            permits: Arc::new(Semaphore::new(max_connections)),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// An idle connection that is still open, or a new one.
    async fn checkout(&self, options: &PingPongOptions) -> Result<Conn, Status> {
        loop {
            let candidate = self.idle.lock().ok().and_then(|mut v| v.pop());
            let Some(idle) = candidate else { break };
            if idle.since.elapsed() >= options.idle_timeout {
                continue; // too old: drop (close) it
            }
            // A closed or misbehaving connection is readable; a healthy idle one is not.
            let mut probe = [0u8; 1];
            match idle.conn.stream.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(idle.conn),
                _ => continue,
            }
        }
        let connect = TcpStream::connect(self.addr.as_str());
        let stream = tokio::time::timeout(options.connect_timeout, connect)
            .await
            .map_err(|_| {
                Status::unavailable(format!(
                    "connecting to {} timed out after {:?}",
                    self.addr, options.connect_timeout
                ))
            })?
            .map_err(|e| Status::unavailable(format!("connecting to {} failed: {e}", self.addr)))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream,
            buf: BytesMut::with_capacity(8 * 1024),
        })
    }

    fn checkin(&self, conn: Conn, idle_timeout: Duration) {
        if !conn.buf.is_empty() {
            return; // unexpected extra bytes: do not reuse
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|i| i.since.elapsed() < idle_timeout);
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }
}

/// Where calls go: one address, or the instances a balancer picks from.
enum Target {
    Single(Arc<Pool>),
    Balanced(Arc<Cluster<Arc<Pool>>>),
}

/// How far an attempt got before it failed: decides retries and what the
/// breaker and the instance's health learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Refused on this side (a hook): not retried, not counted.
    Local,
    /// The connection could not be made: nothing was sent.
    Connect,
    /// The request could not be written whole: the server cannot act on it.
    Write,
    /// The request was sent: the server may have acted on it.
    Sent,
}

struct Inner {
    service: &'static str,
    options: PingPongOptions,
    target: Target,
    seq: AtomicI32,
    budget: Option<RetryBudget>,
}

/// A ping-pong Thrift client for one service, at one address
/// ([`new`](Self::new)) or over the instances a balancer picks from
/// ([`balanced`](Self::balanced)).
#[derive(Clone)]
pub struct PingPongClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PingPongClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PingPongClient");
        match &self.inner.target {
            Target::Single(pool) => d.field("addr", &pool.addr),
            Target::Balanced(cluster) => d.field("balance", cluster.options()),
        };
        d.field("service", &self.inner.service)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl PingPongClient {
    /// A client of `service` at `addr` (`host:port`). Connections are made
    /// on demand. No balancing, circuit breaking or skipping of a failing
    /// address here (see [`balanced`](Self::balanced), which also takes a
    /// single address); retries ([`PingPongOptions::retry`]) apply, on the
    /// same address.
    pub fn new(addr: impl Into<String>, service: &'static str, options: PingPongOptions) -> Self {
        let pool = Pool::new(addr.into(), options.max_connections);
        Self::with_target(Target::Single(Arc::new(pool)), service, options)
    }

    /// A client of `service` over the instances `balance` finds: each call
    /// goes to the instance the load balancer picks, skipping instances
    /// whose circuit breaker (per instance and method) is open or that
    /// failed to connect recently; each instance has its own connection
    /// pool (`max_connections` per instance), kept while the resolver lists
    /// it. See [`crate::balance`].
    pub fn balanced(
        balance: BalanceOptions,
        service: &'static str,
        options: PingPongOptions,
    ) -> Self {
        let max = options.max_connections;
        let cluster = Cluster::new(balance, move |instance| {
            Ok(Arc::new(Pool::new(instance.addr.clone(), max)))
        });
        Self::with_target(Target::Balanced(Arc::new(cluster)), service, options)
    }

    fn with_target(target: Target, service: &'static str, options: PingPongOptions) -> Self {
        PingPongClient {
            inner: Arc::new(Inner {
                service,
                budget: options.retry.as_ref().map(RetryBudget::new),
                options,
                target,
                seq: AtomicI32::new(1),
            }),
        }
    }

    /// Connections currently open and idle in the pool (in all pools, for
    /// a balanced client).
    pub fn idle_connections(&self) -> usize {
        match &self.inner.target {
            Target::Single(pool) => pool.idle_count(),
            Target::Balanced(cluster) => cluster.states().iter().map(|s| s.conn.idle_count()).sum(),
        }
    }

    /// Connections currently open and idle in the pool of the instance at
    /// `addr` (0 for an address the client does not know).
    pub fn idle_connections_to(&self, addr: &str) -> usize {
        match &self.inner.target {
            Target::Single(pool) if pool.addr == addr => pool.idle_count(),
            Target::Single(_) => 0,
            Target::Balanced(cluster) => cluster
                .states()
                .iter()
                .filter(|s| s.addr == addr)
                .map(|s| s.conn.idle_count())
                .sum(),
        }
    }

    /// For a balanced client, its instances with their breakers and health,
    /// as of the last call; `None` for a client of one address.
    pub fn status(&self) -> Option<ClusterStatus> {
        match &self.inner.target {
            Target::Single(_) => None,
            Target::Balanced(cluster) => Some(cluster.status()),
        }
    }

    /// Calls `method` (its IDL name) with Args/Result framing. A `oneway`
    /// call returns once the request is written.
    pub async fn call<A: ThriftArgs, R: ThriftResult>(
        &self,
        method: &'static str,
        request: Request<A::Input>,
        oneway: bool,
    ) -> Result<Response<R::Ok>, R::Err> {
        let timeout = request
            .extensions()
            .get::<CallOptions>()
            .and_then(|o| o.timeout)
            .or_else(|| request_timeout(&request))
            .or(self.inner.options.timeout);
        let options = &self.inner.options;
        let (invoke, observer) = if options.layers.is_empty() && options.observers.is_idle() {
            // Nothing to run or observe: the call goes straight out.
            (None, None)
        } else {
            let info = Arc::new(CallInfo {
                service: self.inner.service,
                method,
                kind: if oneway {
                    CallKind::Oneway
                } else {
                    CallKind::Unary
                },
                transport: Transport::PingPong(options.framing),
                peer: None,
            });
            let observer = options.observers.start(info.clone());
            let invoke = (!options.layers.is_empty()).then(|| Invoke {
                info,
                layers: Some(options.layers.clone()),
                read_hooks: crate::server::invoke::no_read_hooks(),
                deadline: None,
            });
            (invoke, observer)
        };
        let client = self.clone();
        let codec_observer = observer.clone();
        let start = Instant::now();
        // Each attempt stops at the deadline itself (so that the breaker
        // sees the timeout), just before the bound below would.
        let deadline = timeout.and_then(|t| tokio::time::Instant::from_std(start).checked_add(t));
        let attempt = crate::grpc::run_call(request, invoke, move |r| async move {
            client
                .call_inner::<A, R>(method, r, oneway, timeout, deadline, codec_observer)
                .await
        });
        let late = move || {
            Status::deadline_exceeded(match timeout {
                Some(t) => format!("`{method}` did not complete within {t:?}"),
                None => "deadline exceeded".to_string(),
            })
        };
        let result = match timeout {
            Some(t) => match tokio::time::timeout(t, attempt).await {
                // The server's copy of the deadline (sent as the TTHeader RPC
                // timeout) may fire first: report the deadline, not the
                // server's error for it.
                Ok(Err(_)) if start.elapsed() >= t => Err(late()),
                Ok(r) => r,
                Err(_) => Err(late()),
            },
            None => attempt.await,
        };
        if let Some(o) = &observer {
            match &result {
                Ok(_) => o.set_status(tonic::Code::Ok, ""),
                Err(s) => o.set_status(s.code(), s.message()),
            }
        }
        let (meta, reply, ext) = result?.into_parts();
        reply
            .into_outcome()
            .map(|v| Response::from_parts(meta, v, ext))
    }

    /// The call after the middleware: the wire Result struct (with declared
    /// exceptions) or a status for everything else (transport, application
    /// exception, business error), after retries.
    #[allow(clippy::too_many_arguments)]
    async fn call_inner<A: ThriftArgs, R: ThriftResult>(
        &self,
        method: &'static str,
        request: Request<A::Input>,
        oneway: bool,
        timeout: Option<Duration>,
        deadline: Option<tokio::time::Instant>,
        observer: Option<Arc<CallObserver>>,
    ) -> Result<Response<R>, Status> {
        let inner = &self.inner;
        let seq_id = inner.seq.fetch_add(1, Ordering::Relaxed);
        let (meta, extensions, input) = request.into_parts();
        let args = A::from_input(input);
        let (frame, args_size) = self
            .encode_request::<A>(method, &args, seq_id, oneway, timeout, &extensions)
            .map_err(Status::internal)?;
        // The send hook sees the Args once per call, whatever the retries.
        if let Some(o) = &observer {
            o.message(Direction::Send, &args, args_size)?;
        }
        drop(args);
        let retry = inner.options.retry.as_ref();
        let idempotent = retry.is_some_and(|p| p.is_idempotent(method))
            || extensions.get::<Idempotent>().is_some();
        if let Some(b) = &inner.budget {
            b.deposit();
        }
        let mut tried = Vec::new();
        let mut attempts = 0u32;
        // The failure being retried: reported if the retry finds no instance.
        let mut last: Option<Status> = None;
        loop {
            attempts += 1;
            let (pool, picked) = match &inner.target {
                Target::Single(pool) => (pool.clone(), None),
                Target::Balanced(cluster) => {
                    let request = crate::balance::PickRequest::new(
                        inner.service,
                        method,
                        meta.as_ref(),
                        &extensions,
                    );
                    match cluster.pick(&request, &tried).await {
                        Ok(p) => (p.state.conn.clone(), Some(p)),
                        Err(s) => return Err(last.unwrap_or(s)),
                    }
                }
            };
            let result = self
                .attempt::<R>(
                    &pool,
                    &frame,
                    method,
                    seq_id,
                    oneway,
                    deadline,
                    observer.as_ref(),
                )
                .await;
            if let (Target::Balanced(cluster), Some(p)) = (&inner.target, picked) {
                let outcome = match &result {
                    Ok(_) => Outcome::Success,
                    Err((_, Stage::Local)) => Outcome::Neutral,
                    Err((_, Stage::Connect)) => Outcome::ConnectFailure,
                    Err((_, Stage::Write)) => Outcome::Failure,
                    Err((s, Stage::Sent)) if cluster.is_failure(s) => Outcome::Failure,
                    Err((_, Stage::Sent)) => Outcome::Success,
                };
                tried.push(p.state.clone());
                cluster.report(p, outcome);
            }
            let (status, stage) = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let Some(policy) = retry else {
                return Err(status);
            };
            let retryable = match stage {
                Stage::Local => false,
                Stage::Connect | Stage::Write => true,
                Stage::Sent => {
                    !oneway
                        && idempotent
                        && policy.codes.contains(&status.code())
                        && BizStatusError::from_status(&status).is_none()
                }
            };
            let in_time = deadline.is_none_or(|d| tokio::time::Instant::now() < d);
            if !(retryable
                && in_time
                && attempts < policy.max_attempts
                && inner.budget.as_ref().is_some_and(|b| b.try_withdraw()))
            {
                return Err(status);
            }
            tracing::debug!(
                method,
                attempt = attempts + 1,
                error = %status,
                "retrying a ping-pong call"
            );
            last = Some(status);
        }
    }

    /// One attempt on `pool`, bounded by the call's deadline.
    #[allow(clippy::too_many_arguments)]
    async fn attempt<R: ThriftResult>(
        &self,
        pool: &Pool,
        frame: &[u8],
        method: &'static str,
        seq_id: i32,
        oneway: bool,
        deadline: Option<tokio::time::Instant>,
        observer: Option<&Arc<CallObserver>>,
    ) -> Result<Response<R>, (Status, Stage)> {
        let attempt = self.attempt_inner::<R>(pool, frame, method, seq_id, oneway, observer);
        match deadline {
            Some(d) => tokio::time::timeout_at(d, attempt)
                .await
                .unwrap_or_else(|_| {
                    Err((
                        Status::deadline_exceeded(format!(
                            "`{method}` to {} passed its deadline",
                            pool.addr
                        )),
                        Stage::Sent,
                    ))
                }),
            None => attempt.await,
        }
    }

    async fn attempt_inner<R: ThriftResult>(
        &self,
        pool: &Pool,
        frame: &[u8],
        method: &'static str,
        seq_id: i32,
        oneway: bool,
        observer: Option<&Arc<CallObserver>>,
    ) -> Result<Response<R>, (Status, Stage)> {
        let options = &self.inner.options;
        let addr = pool.addr.as_str();
        let sent = |s: Status| (s, Stage::Sent);
        let _permit = pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| (Status::unavailable("the client is closed"), Stage::Local))?;
        let mut conn = pool
            .checkout(options)
            .await
            .map_err(|s| (s, Stage::Connect))?;
        conn.stream.write_all(frame).await.map_err(|e| {
            (
                Status::unavailable(format!("sending to {addr} failed: {e}")),
                Stage::Write,
            )
        })?;
        if oneway {
            pool.checkin(conn, options.idle_timeout);
            // A oneway method is `void`: an empty Result struct decodes to `()`.
            let mut empty = Bytes::from_static(&[0]);
            let r = R::decode(&mut BinaryInput::new(&mut empty))
                .map_err(|e| sent(Status::internal(e.to_string())))?;
            return Ok(Response::new(r));
        }
        let reply = read_reply(&mut conn, addr, options.max_frame_size)
            .await
            .map_err(sent)?;
        let (msg, mut body) = read_message_header(&reply.message)
            .map_err(|e| sent(Status::internal(format!("bad reply from {addr}: {e}"))))?;
        // Hooks see the size of the Result payload (as for gRPC).
        let reply_size = body.len();
        // The recv hook sees the decoded Result of a reply, `()` otherwise.
        let untyped_hook = || match observer {
            Some(o) => o
                .message(Direction::Recv, &(), reply_size)
                .map_err(|s| (s, Stage::Local)),
            None => Ok(()),
        };
        if msg.message_type == MessageType::Exception && (msg.seq_id == 0 || msg.name.is_empty()) {
            untyped_hook()?;
            // A server that could not read our request at all (Apache Thrift
            // servers answer PROTOCOL_ERROR with no name and seqid 0): report
            // its exception, and do not reuse the connection.
            let e = ApplicationException::decode(body).map_err(|e| {
                sent(Status::internal(format!(
                    "could not decode the exception from {addr}: {e}"
                )))
            })?;
            return Err(sent(e.into_status()));
        }
        if msg.seq_id != seq_id || msg.name != method {
            untyped_hook()?;
            // The connection is out of step: do not reuse it.
            return Err(sent(Status::internal(format!(
                "reply out of order from {addr}: expected `{method}` #{seq_id}, got `{}` #{}",
                msg.name, msg.seq_id
            ))));
        }
        pool.checkin(conn, options.idle_timeout);
        let mut response_ext = http::Extensions::new();
        if let Some(h) = reply.header {
            if let Some(biz) = BizStatusError::from_ttheader(&h) {
                untyped_hook()?;
                return Err(sent(biz.into_status()));
            }
            if let Some(m) = MetaInfo::from_ttheader(&h) {
                response_ext.insert(m);
            }
            response_ext.insert(h);
        }
        match msg.message_type {
            MessageType::Reply => {
                let result = R::decode(&mut BinaryInput::new(&mut body)).map_err(|e| {
                    sent(Status::internal(format!(
                        "could not decode the result of `{method}`: {e}"
                    )))
                })?;
                // The recv hook sees the Result (declared exceptions included).
                if let Some(o) = observer {
                    o.message(Direction::Recv, &result, reply_size)
                        .map_err(|s| (s, Stage::Local))?;
                }
                Ok(Response::from_parts(
                    tonic::metadata::MetadataMap::new(),
                    result,
                    response_ext,
                ))
            }
            MessageType::Exception => {
                untyped_hook()?;
                let e = ApplicationException::decode(body).map_err(|e| {
                    sent(Status::internal(format!(
                        "could not decode the exception of `{method}`: {e}"
                    )))
                })?;
                Err(sent(e.into_status()))
            }
            other => {
                untyped_hook()?;
                Err(sent(Status::internal(format!(
                    "unexpected {other:?} message in reply to `{method}`"
                ))))
            }
        }
    }

    fn encode_request<A: ThriftArgs>(
        &self,
        method: &'static str,
        args: &A,
        seq_id: i32,
        oneway: bool,
        timeout: Option<Duration>,
        extensions: &http::Extensions,
    ) -> Result<(BytesMut, usize), String> {
        let message_type = if oneway {
            MessageType::Oneway
        } else {
            MessageType::Call
        };
        let mut message = BytesMut::new();
        write_message_header(
            &mut message,
            &MessageHeader {
                name: method.into(),
                message_type,
                seq_id,
            },
        );
        let header_len = message.len();
        args.encode(&mut BinaryOutput::new(&mut message))
            .map_err(|e| format!("could not encode the arguments of `{method}`: {e}"))?;
        let header = match self.inner.options.framing {
            Framing::TTHeader { .. } => {
                let mut h = extensions.get::<TTHeader>().cloned().unwrap_or_default();
                if let Some(m) = MetaInfo::outgoing(extensions.get::<MetaInfo>()) {
                    m.to_ttheader_request(&mut h);
                }
                h.seq_id = seq_id;
                h.set_string("isn", self.inner.service);
                h.set_int(INT_KEY_TO_SERVICE, self.inner.service);
                h.set_int(INT_KEY_TO_METHOD, method);
                h.set_int(INT_KEY_MSG_TYPE, (message_type as u8).to_string());
                if let Some(t) = timeout {
                    h.set_int(
                        INT_KEY_RPC_TIMEOUT,
                        t.as_micros().div_ceil(1000).max(1).to_string(),
                    );
                }
                Some(h)
            }
            _ => None,
        };
        let mut frame = BytesMut::with_capacity(message.len() + 64);
        encode_frame(
            &mut frame,
            self.inner.options.framing,
            header.as_ref(),
            &message,
        )
        .map_err(|e| e.to_string())?;
        Ok((frame, message.len() - header_len))
    }
}

async fn read_reply(
    conn: &mut Conn,
    addr: &str,
    max_frame: usize,
) -> Result<crate::transport::Frame, Status> {
    let kind = FrameKind::TTHeader;
    loop {
        // The server answers in the framing of the request; detect it from
        // the reply's own first bytes.
        let kind = match crate::transport::detect(&conn.buf) {
            Ok(Some(crate::transport::Detected::Framed)) => FrameKind::Framed,
            Ok(Some(crate::transport::Detected::Buffered)) => FrameKind::Buffered,
            Ok(Some(_)) => kind,
            Ok(None) => {
                read_some(conn, addr).await?;
                continue;
            }
            Err(e) => return Err(Status::internal(format!("bad reply from {addr}: {e}"))),
        };
        match decode_frame(&mut conn.buf, kind, max_frame) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => read_some(conn, addr).await?,
            Err(e) => return Err(Status::internal(format!("bad reply from {addr}: {e}"))),
        }
    }
}

async fn read_some(conn: &mut Conn, addr: &str) -> Result<(), Status> {
    conn.buf.reserve(8 * 1024);
    match conn.stream.read_buf(&mut conn.buf).await {
        Ok(0) => Err(Status::unavailable(format!(
            "{addr} closed the connection before replying"
        ))),
        Ok(_) => Ok(()),
        Err(e) => Err(Status::unavailable(format!(
            "reading from {addr} failed: {e}"
        ))),
    }
}

/// The deadline a caller set with `tonic::Request::set_timeout`.
fn request_timeout<T>(request: &Request<T>) -> Option<Duration> {
    let value = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    crate::timeout::parse_grpc_timeout(value).ok()
}
