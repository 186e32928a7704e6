//! A service registry on etcd for tonic-thrift, compatible with Kitex's
//! [kitex-contrib/registry-etcd]: Rust servers register where Kitex
//! clients look, and Rust clients find Kitex servers where they register.
//!
//! Layout ([`kitex`]): one key per instance,
//! `kitex/registry-etcd/<service>/<host:port>`, whose value is
//! `{"network":"tcp","address":"<host:port>","weight":<int>,"tags":{…}}`,
//! attached to the server's lease.
//!
//! - **Servers** register with [`EtcdRegistry`] (the runtime's
//!   [`Registry`](tonic_thrift::balance::Registry) trait): a lease of 60 s
//!   by default ([`EtcdOptions::ttl`]), kept alive every third of it, and a
//!   deregistration on graceful shutdown. A server that dies disappears
//!   when its lease expires.
//! - **Clients** balance over [`EtcdRegistry::resolver`]: it watches the
//!   service's prefix (no polling) and pushes each change to the balancer
//!   as it happens. The weight feeds `WeightedRandom`; tags reach
//!   balancers and `status()`. If etcd is unreachable the client keeps
//!   its last good list and reconnects.
//!
//! ```no_run
//! use tonic_thrift::balance::{BalanceOptions, BalancedChannel, Instance, Registration, Registry, WeightedRandom};
//! use tonic_thrift_registry_etcd::{EtcdOptions, EtcdRegistry};
//!
//! # async fn f(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
//! let registry = EtcdRegistry::new(EtcdOptions::new(["http://127.0.0.1:2379"]));
//!
//! // Server: register once listening, deregister before draining.
//! let me = Registration::new("echo", Instance::new(listener.local_addr()?.to_string()).with_weight(10));
//! registry.register(&me).await?;
//! let shutdown = {
//!     let registry = registry.clone();
//!     let me = me.clone();
//!     async move {
//!         let _ = tokio::signal::ctrl_c().await;
//!         let _ = registry.deregister(&me).await;
//!     }
//! };
//! // tonic_thrift::Server::builder().add_service(...).serve_with_listener(listener, shutdown).await?;
//! # drop(shutdown);
//!
//! // Client: balance over whatever is registered as "echo".
//! let channel = BalancedChannel::new(
//!     BalanceOptions::new(registry.resolver("echo")).load_balancer(WeightedRandom::new()),
//! );
//! # let _ = channel;
//! # Ok(()) }
//! ```
//!
//! [`LocalEtcd`] runs a throwaway etcd server for tests and demos.
//!
//! [kitex-contrib/registry-etcd]: https://github.com/kitex-contrib/registry-etcd

pub mod kitex;
mod local;
mod options;
mod registry;
mod resolver;

pub use local::LocalEtcd;
pub use options::EtcdOptions;
pub use registry::EtcdRegistry;
