//! Client-side service discovery, load balancing, circuit breaking and
//! retries, on both transports.
//!
//! As in Kitex, all of it acts when a call or a stream is **created**: a
//! stream's messages all go to the instance chosen for it, and errors in the
//! middle of a stream do not feed the breakers. Streams are never retried.
//!
//! | Piece | Types | Defaults |
//! |---|---|---|
//! | Discovery | [`Resolver`]: [`StaticResolver`] (a list, replaceable at any time), [`DnsResolver`], [`WatchResolver`] (pushed by a registry backend such as `tonic-thrift-registry-etcd`; servers announce themselves through a [`Registry`]) | DNS: re-resolved every 30 s and after a connection failure (at most once a second); an error (or an empty DNS answer) keeps the last good list; the first call waits up to 5 s for the first answer |
//! | Load balancing | [`RoundRobin`], [`WeightedRandom`], [`ConsistentHash`] | round robin; weight 1; **weight 0 excludes an instance**; consistent hashing: 100 virtual nodes per instance, key from the [`HashKey`] extension, a request without a key is balanced round robin ([`MissingKey`]) |
//! | Circuit breaking | [`BreakerConfig`], [`BreakerState`] | one breaker per instance and method; window 10 s; 200 samples; error rate 50 %; cool-down 5 s; 3 half-open probes; failures: `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `UNKNOWN` (business errors and declared exceptions never) |
//! | Unhealthy instances | [`BalanceOptions::connect_backoff`] | an instance that fails to connect is skipped 1 s, doubling up to 10 s, then probed by one call |
//! | Retries (ping-pong only) | [`RetryPolicy`], [`Idempotent`] | off; when on: 2 attempts, budget 10 % of calls + 10 per 10 s, only requests not sent, or idempotent ones that failed with `UNAVAILABLE` |
//!
//! Errors: when nothing can be sent the call fails at once with
//! `UNAVAILABLE`, saying why: `no instances: …` (the resolver found none,
//! failed before ever answering, or every instance has weight 0),
//! `circuit open for `Service.Method` on every instance …`, or
//! `no available instance for … : N failed to connect recently …`.
//!
//! **gRPC**: a [`BalancedChannel`] is a transport for `GrpcClient` and the
//! generated `XxxClient`; one lazily-connected HTTP/2 connection per
//! instance.
//!
//! ```no_run
//! use tonic_thrift::balance::{BalanceOptions, BalancedChannel};
//! use tonic_thrift::grpc::{GrpcClient, GrpcOptions};
//!
//! # async fn f() {
//! let channel = BalancedChannel::new(BalanceOptions::from_addrs(["10.0.0.1:8888", "10.0.0.2:8888"]));
//! let client = GrpcClient::with_options(channel, GrpcOptions::default());
//! // generated: TestServiceClient::with_options(channel, options)
//! # let _ = client;
//! # }
//! ```
//!
//! **Ping-pong**: `XxxPingPongClient::with_balancer(balance, options)` (or
//! `PingPongClient::balanced`) keeps a connection pool per instance
//! (`PingPongOptions::max_connections` is per instance) and picks an
//! instance per call; `PingPongOptions::retry` turns retries on.
//!
//! ```no_run
//! use tonic_thrift::balance::{BalanceOptions, ConsistentHash, DnsResolver, RetryPolicy};
//! use tonic_thrift::pingpong::{PingPongClient, PingPongOptions};
//!
//! # async fn f() {
//! let balance = BalanceOptions::new(DnsResolver::new("echo.internal:8888"))
//!     .load_balancer(ConsistentHash::by_metainfo("USER_ID"));
//! let options = PingPongOptions::default().retry(RetryPolicy::new().idempotent(["Get"]));
//! let client = PingPongClient::balanced(balance, "TestService", options);
//! // generated: TestServicePingPongClient::with_balancer(balance, options)
//! # let _ = client;
//! # }
//! ```

mod breaker;
mod channel;
mod cluster;
mod lb;
mod registry;
mod resolver;
mod retry;

pub use breaker::{BreakerConfig, BreakerState};
pub use channel::BalancedChannel;
pub use cluster::{BalanceOptions, ClusterStatus, InstanceStatus};
pub use lb::{
    ConsistentHash, HashKey, LoadBalancer, MissingKey, PickRequest, Picker, RoundRobin,
    WeightedRandom,
};
pub use registry::{Registration, Registry, RegistryError, WatchPublisher, WatchResolver};
pub use resolver::{DnsResolver, Instance, LookupFuture, ResolveError, Resolver, StaticResolver};
pub use retry::{Idempotent, RetryPolicy};

pub(crate) use cluster::{Cluster, Outcome};
pub(crate) use retry::RetryBudget;
