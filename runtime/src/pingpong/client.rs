//! The ping-pong client under every generated `XxxPingPongClient`: one call
//! per connection at a time, over a bounded pool of connections
//! ([`pool`](super::pool)), with retries ([`retry`](super::retry)); each
//! attempt is one request/reply exchange ([`exchange`](super::exchange)).

use std::sync::atomic::AtomicI32;
use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::options::PingPongOptions;
use super::pool::Pool;
use crate::balance::{BalanceOptions, Cluster, ClusterStatus, RetryBudget};
use crate::call::{run_call, CallInfo, CallKind, Transport};
use crate::method::{ThriftArgs, ThriftResult};

/// Where calls go: one address, or the instances a balancer picks from.
pub(super) enum Target {
    Single(Arc<Pool>),
    Balanced(Arc<Cluster<Arc<Pool>>>),
}

pub(super) struct Inner {
    pub(super) service: &'static str,
    pub(super) options: PingPongOptions,
    pub(super) target: Target,
    pub(super) seq: AtomicI32,
    pub(super) budget: Option<RetryBudget>,
}

/// A ping-pong Thrift client for one service, at one address
/// ([`new`](Self::new)) or over the instances a balancer picks from
/// ([`balanced`](Self::balanced)).
#[derive(Clone)]
pub struct PingPongClient {
    pub(super) inner: Arc<Inner>,
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
        let pool = Pool::new(addr.into(), &options);
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
        let pool_options = options.clone();
        let cluster = Cluster::new(balance, move |instance| {
            Ok(Arc::new(Pool::new(instance.addr.clone(), &pool_options)))
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
        let timeout = crate::timeout::call_timeout(&request, self.inner.options.timeout);
        let options = &self.inner.options;
        let (invoke, observer) = match options.middleware.start_client(|| CallInfo {
            service: self.inner.service,
            method,
            kind: if oneway {
                CallKind::Oneway
            } else {
                CallKind::Unary
            },
            transport: Transport::PingPong(options.framing),
            peer: None,
        }) {
            Some((invoke, observer)) => (Some(invoke), observer),
            // Nothing to run or observe: the call goes straight out.
            None => (None, None),
        };
        let client = self.clone();
        let codec_observer = observer.clone();
        let start = Instant::now();
        // Each attempt stops at the deadline itself (so that the breaker
        // sees the timeout), just before the bound below would.
        let deadline = timeout.and_then(|t| tokio::time::Instant::from_std(start).checked_add(t));
        let attempt = run_call(request, invoke, move |r| async move {
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
}
