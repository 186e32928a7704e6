//! Service registries: servers announce themselves in a shared store
//! ([`Registry`]), and clients follow the store's changes as they happen
//! ([`WatchResolver`]).
//!
//! A registry backend (etcd, for one, in the `tonic-thrift-registry-etcd`
//! crate) implements [`Registry`] for servers and builds a
//! [`WatchResolver`] for clients. The balancer only ever sees a
//! [`Resolver`], so a new backend needs no change here: it pushes each new
//! list of instances through a [`WatchPublisher`], or an error when the
//! store is out of reach (the balancer then keeps the last good list).
//!
//! ```text
//!  server ── register ──▶ store ── watch ──▶ WatchPublisher ─▶ WatchResolver ─▶ balancer
//!  (lease/keepalive)                        (backend task)      (Resolver)       (weights, tags)
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use super::breaker::lock;
use super::resolver::{Instance, ResolveError, Resolver};

/// What a server registers: the service it serves and the instance
/// (address, weight, tags) that clients should call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The service name clients look up (Kitex: the server's service name).
    pub service: String,
    /// Where to reach it, with its weight and tags.
    pub instance: Instance,
}

impl Registration {
    /// `instance` as an instance of `service`.
    pub fn new(service: impl Into<String>, instance: Instance) -> Self {
        Registration {
            service: service.into(),
            instance,
        }
    }
}

/// A registry that could not register or deregister an instance.
#[derive(Debug, Clone)]
pub struct RegistryError(String);

impl RegistryError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        RegistryError(message.into())
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegistryError {}

/// Where servers announce themselves. Implement it with
/// `#[tonic::async_trait]`.
///
/// A server registers once it listens, and deregisters when it shuts down
/// gracefully, before it stops taking calls (deregistering from the
/// shutdown future given to `serve_with_listener` does that). A server
/// that dies without deregistering must disappear by itself (etcd: its
/// lease expires).
#[tonic::async_trait]
pub trait Registry: Send + Sync + 'static {
    /// Announces `registration` and keeps it announced until
    /// [`deregister`](Self::deregister).
    async fn register(&self, registration: &Registration) -> Result<(), RegistryError>;

    /// Withdraws `registration`.
    async fn deregister(&self, registration: &Registration) -> Result<(), RegistryError>;
}

/// What a watched store said last.
#[derive(Debug, Clone, Default)]
struct Watched {
    answered: bool,
    error: Option<String>,
}

type Start = Box<dyn FnOnce(WatchPublisher) + Send>;

struct Shared {
    list: watch::Sender<Vec<Instance>>,
    error: watch::Sender<Option<ResolveError>>,
    state: watch::Sender<Watched>,
    start: Mutex<Option<Start>>,
    name: String,
}

/// A [`Resolver`] fed by a backend that watches a store and pushes every
/// change: no polling. Clones share one watch.
///
/// The backend's watch is started (by the function given to
/// [`new`](Self::new), inside the client's Tokio runtime) when a client
/// first needs the list, and should end once
/// [`WatchPublisher::closed`] completes (every client using the resolver
/// is gone).
///
/// [`resolve`](Resolver::resolve) waits for the backend's first answer;
/// then it gives the latest list, or the backend's error while the store
/// is out of reach (so the balancer keeps the last good list).
///
/// ```
/// use tonic_thrift::balance::{BalanceOptions, Instance, WatchResolver};
///
/// let resolver = WatchResolver::new("example", |publisher| {
///     // A real backend spawns a task that watches its store.
///     publisher.publish(vec![Instance::new("127.0.0.1:8888").with_weight(10)]);
/// });
/// let balance = BalanceOptions::new(resolver);
/// # let _ = balance;
/// ```
#[derive(Clone)]
pub struct WatchResolver {
    shared: Arc<Shared>,
    list: watch::Receiver<Vec<Instance>>,
    error: watch::Receiver<Option<ResolveError>>,
    state: watch::Receiver<Watched>,
}

impl fmt::Debug for WatchResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchResolver")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

impl WatchResolver {
    /// A resolver named `name` (for logs and errors) whose backend is
    /// started by `start`, once, with the publisher to push lists through.
    pub fn new(
        name: impl Into<String>,
        start: impl FnOnce(WatchPublisher) + Send + 'static,
    ) -> Self {
        let (list_tx, list) = watch::channel(Vec::new());
        let (state_tx, state) = watch::channel(Watched::default());
        let (error_tx, error) = watch::channel(None);
        WatchResolver {
            shared: Arc::new(Shared {
                list: list_tx,
                error: error_tx,
                state: state_tx,
                start: Mutex::new(Some(Box::new(start))),
                name: name.into(),
            }),
            list,
            error,
            state,
        }
    }

    fn ensure_started(&self) {
        let start = lock(&self.shared.start).take();
        if let Some(start) = start {
            start(WatchPublisher {
                shared: Arc::downgrade(&self.shared),
                list_closed: self.shared.list.clone(),
            });
        }
    }

    /// The latest list pushed (empty before the first).
    pub fn instances(&self) -> Vec<Instance> {
        self.list.borrow().clone()
    }
}

#[tonic::async_trait]
impl Resolver for WatchResolver {
    async fn resolve(&self) -> Result<Vec<Instance>, ResolveError> {
        self.ensure_started();
        let mut state = self.state.clone();
        let answered = state.wait_for(|s| s.answered).await.map(|s| s.clone());
        match answered {
            Ok(Watched { error: Some(e), .. }) => Err(ResolveError::new(e)),
            Ok(_) => Ok(self.instances()),
            Err(_) => Err(ResolveError::new(format!(
                "{}: the watch ended",
                self.shared.name
            ))),
        }
    }

    fn updates(&self) -> Option<watch::Receiver<Vec<Instance>>> {
        self.ensure_started();
        Some(self.list.clone())
    }

    fn errors(&self) -> Option<watch::Receiver<Option<ResolveError>>> {
        self.ensure_started();
        Some(self.error.clone())
    }

    fn name(&self) -> String {
        self.shared.name.clone()
    }
}

/// The backend's side of a [`WatchResolver`]: pushes lists and errors.
#[derive(Clone)]
pub struct WatchPublisher {
    shared: std::sync::Weak<Shared>,
    list_closed: watch::Sender<Vec<Instance>>,
}

impl fmt::Debug for WatchPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchPublisher").finish_non_exhaustive()
    }
}

impl WatchPublisher {
    /// The store's current instances: replaces the list (even when empty)
    /// and clears the last error.
    pub fn publish(&self, instances: Vec<Instance>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let recovered = shared.error.send_if_modified(|e| e.take().is_some());
        shared.state.send_if_modified(|s| {
            let changed = !s.answered || s.error.is_some();
            s.answered = true;
            s.error = None;
            changed
        });
        // After an error the list is pushed even if unchanged: it clears
        // the error in the balancer.
        shared.list.send_if_modified(|cur| {
            if *cur == instances && !recovered {
                return false;
            }
            *cur = instances;
            true
        });
    }

    /// The store is out of reach: clients keep the last list pushed, and
    /// report `error` (in `status()`, at once) until the next
    /// [`publish`](Self::publish).
    pub fn fail(&self, error: impl fmt::Display) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let error = error.to_string();
        shared.state.send_modify(|s| {
            s.answered = true;
            s.error = Some(error.clone());
        });
        shared.error.send_replace(Some(ResolveError::new(error)));
    }

    /// Whether every client using the resolver is gone.
    pub fn is_closed(&self) -> bool {
        self.list_closed.is_closed()
    }

    /// Completes when every client using the resolver is gone: the
    /// backend's watch should then stop.
    pub async fn closed(&self) {
        self.list_closed.closed().await;
    }
}
