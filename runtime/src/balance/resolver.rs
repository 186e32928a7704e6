//! Service discovery: where the instances of a service are.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::breaker::lock;

/// One instance of a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Instance {
    /// Where it listens: `host:port` (for gRPC, `http://` is added unless
    /// the address already has a scheme).
    pub addr: String,
    /// Its weight (default 1). Weighted random gives it new calls in
    /// proportion; **weight 0 excludes it** from every balancer (a way to
    /// drain it); other balancers ignore weights.
    pub weight: u32,
    /// Free-form tags (zone, version…), for custom balancers.
    pub tags: BTreeMap<String, String>,
}

impl Instance {
    /// An instance at `addr` (`host:port`) with weight 1 and no tags.
    pub fn new(addr: impl Into<String>) -> Self {
        Instance {
            addr: addr.into(),
            weight: 1,
            tags: BTreeMap::new(),
        }
    }

    /// With weight `weight` (0 excludes the instance).
    #[must_use]
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// With the tag `key=value`.
    #[must_use]
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// A resolver that could not answer. The balancer keeps the last list it
/// got and logs the error.
#[derive(Debug, Clone)]
pub struct ResolveError(String);

impl ResolveError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        ResolveError(message.into())
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResolveError {}

impl From<std::io::Error> for ResolveError {
    fn from(e: std::io::Error) -> Self {
        ResolveError(e.to_string())
    }
}

/// Finds the instances of a service. Implement it with
/// `#[tonic::async_trait]`.
///
/// A balanced client asks [`resolve`](Self::resolve) once when its first
/// call or stream is created (that call waits for the answer), then again
/// every [`refresh_interval`](Self::refresh_interval) and soon after an
/// instance fails to connect (at most once a second), in a task of its own.
/// A resolver that learns of changes by itself pushes them through
/// [`updates`](Self::updates), and its failures through
/// [`errors`](Self::errors) ([`WatchResolver`](super::WatchResolver) does
/// both for registry backends).
///
/// An answer replaces the list of instances, even when empty (then calls
/// fail with `UNAVAILABLE: no instances …`). An error keeps the last good
/// list.
#[tonic::async_trait]
pub trait Resolver: Send + Sync + 'static {
    /// The current instances.
    async fn resolve(&self) -> Result<Vec<Instance>, ResolveError>;

    /// How often to ask again (default: never; only after connection
    /// failures and on pushed updates).
    fn refresh_interval(&self) -> Option<Duration> {
        None
    }

    /// Lists pushed by the resolver itself, each replacing the current one
    /// (default none).
    fn updates(&self) -> Option<watch::Receiver<Vec<Instance>>> {
        None
    }

    /// Errors pushed by the resolver itself (default none): each `Some` is
    /// reported as a failed [`resolve`](Self::resolve) is (the last good
    /// list is kept) until the next list is pushed.
    fn errors(&self) -> Option<watch::Receiver<Option<ResolveError>>> {
        None
    }

    /// A name for logs and errors.
    fn name(&self) -> String {
        "resolver".to_string()
    }
}

/// A fixed list of instances, which can be replaced at any time with
/// [`set`](Self::set) (clones share the list): the new list reaches the
/// clients using it at once.
///
/// ```
/// use tonic_thrift::balance::{Instance, StaticResolver};
///
/// let resolver = StaticResolver::from_addrs(["10.0.0.1:8888", "10.0.0.2:8888"]);
/// resolver.set(vec![Instance::new("10.0.0.3:8888").with_weight(2)]);
/// ```
#[derive(Debug, Clone)]
pub struct StaticResolver {
    list: Arc<watch::Sender<Vec<Instance>>>,
}

impl StaticResolver {
    /// These instances.
    pub fn new(instances: impl IntoIterator<Item = Instance>) -> Self {
        StaticResolver {
            list: Arc::new(watch::Sender::new(instances.into_iter().collect())),
        }
    }

    /// Instances at these addresses, weight 1.
    pub fn from_addrs<A: Into<String>>(addrs: impl IntoIterator<Item = A>) -> Self {
        Self::new(addrs.into_iter().map(Instance::new))
    }

    /// Replaces the list.
    pub fn set(&self, instances: Vec<Instance>) {
        self.list.send_replace(instances);
    }

    /// The current list.
    pub fn instances(&self) -> Vec<Instance> {
        self.list.borrow().clone()
    }
}

#[tonic::async_trait]
impl Resolver for StaticResolver {
    async fn resolve(&self) -> Result<Vec<Instance>, ResolveError> {
        Ok(self.instances())
    }

    fn updates(&self) -> Option<watch::Receiver<Vec<Instance>>> {
        Some(self.list.subscribe())
    }

    fn name(&self) -> String {
        "static".to_string()
    }
}

/// A boxed future of a DNS answer.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

type LookupFn = Arc<dyn Fn(String) -> LookupFuture + Send + Sync>;

/// Instances from DNS: every address `host:port` resolves to (A and AAAA,
/// through the system resolver, `tokio::net::lookup_host`), weight 1,
/// tagged `dns=<host:port>`.
///
/// Asked again every 30 s (default, [`refresh_interval`](Self::refresh_interval))
/// and soon after an instance fails to connect. A failed lookup keeps the
/// last good answer; **an empty answer counts as a failed lookup** too (DNS
/// answering no address is more often a transient fault than a deliberate
/// drain). The lookup can be replaced ([`with_lookup`](Self::with_lookup)),
/// e.g. by a hosts-file stub in tests.
///
/// ```
/// use std::time::Duration;
/// use tonic_thrift::balance::DnsResolver;
///
/// let resolver = DnsResolver::new("echo.internal:8888").refresh_interval(Duration::from_secs(10));
/// # let _ = resolver;
/// ```
#[derive(Clone)]
pub struct DnsResolver {
    target: String,
    interval: Duration,
    lookup: LookupFn,
}

impl fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DnsResolver")
            .field("target", &self.target)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl DnsResolver {
    /// Resolves `target` (`host:port`) with the system resolver.
    pub fn new(target: impl Into<String>) -> Self {
        DnsResolver {
            target: target.into(),
            interval: Duration::from_secs(30),
            lookup: Arc::new(|target: String| {
                Box::pin(async move {
                    tokio::net::lookup_host(target)
                        .await
                        .map(|addrs| addrs.collect())
                }) as LookupFuture
            }),
        }
    }

    /// How often to resolve again (default 30 s).
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Looks names up with `lookup` (given `host:port`) instead of the
    /// system resolver.
    #[must_use]
    pub fn with_lookup<F, Fut>(mut self, lookup: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'static,
    {
        self.lookup = Arc::new(move |target| Box::pin(lookup(target)) as LookupFuture);
        self
    }
}

#[tonic::async_trait]
impl Resolver for DnsResolver {
    async fn resolve(&self) -> Result<Vec<Instance>, ResolveError> {
        let mut addrs = (self.lookup)(self.target.clone())
            .await
            .map_err(|e| ResolveError(format!("looking up {} failed: {e}", self.target)))?;
        if addrs.is_empty() {
            return Err(ResolveError(format!(
                "looking up {} gave no address",
                self.target
            )));
        }
        addrs.sort();
        addrs.dedup();
        Ok(addrs
            .into_iter()
            .map(|a| Instance::new(a.to_string()).with_tag("dns", self.target.clone()))
            .collect())
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }

    fn name(&self) -> String {
        format!("dns:{}", self.target)
    }
}

/// What a discovery task last learned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    /// Bumped when `instances` changes.
    pub(crate) version: u64,
    pub(crate) instances: Arc<[Instance]>,
    /// Whether the resolver has answered (with a list or an error) at least once.
    pub(crate) answered: bool,
    /// The last error, cleared by the next good answer.
    pub(crate) error: Option<Arc<str>>,
}

/// Runs a resolver for one client: the current list, kept fresh by a task
/// started on first use and stopped when the client is dropped.
pub(crate) struct Discovery {
    resolver: Arc<dyn Resolver>,
    name: String,
    rx: watch::Receiver<Resolved>,
    start: Mutex<Option<watch::Sender<Resolved>>>,
    refresh: Arc<Notify>,
    min_gap: Duration,
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("resolver", &self.name)
            .finish_non_exhaustive()
    }
}

impl Discovery {
    pub(crate) fn new(resolver: Arc<dyn Resolver>, min_gap: Duration) -> Self {
        let (tx, rx) = watch::channel(Resolved::default());
        Discovery {
            name: resolver.name(),
            resolver,
            rx,
            start: Mutex::new(Some(tx)),
            refresh: Arc::new(Notify::new()),
            min_gap,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Starts the task (once; needs a Tokio runtime).
    fn ensure_started(&self) {
        let Some(tx) = lock(&self.start).take() else {
            return;
        };
        tokio::spawn(run(
            self.resolver.clone(),
            tx,
            self.refresh.clone(),
            self.min_gap,
        ));
    }

    /// The latest list, waiting (at most `wait`) for the resolver's first
    /// answer.
    pub(crate) async fn current(&self, wait: Duration) -> Resolved {
        self.ensure_started();
        if !self.rx.borrow().answered {
            let mut rx = self.rx.clone();
            let _ = tokio::time::timeout(wait, rx.wait_for(|r| r.answered)).await;
        }
        self.rx.borrow().clone()
    }

    /// The latest list, without waiting.
    pub(crate) fn latest(&self) -> Resolved {
        self.rx.borrow().clone()
    }

    /// Asks the task to resolve again soon (an instance failed to connect).
    pub(crate) fn refresh(&self) {
        self.refresh.notify_one();
    }
}

fn publish(tx: &watch::Sender<Resolved>, name: &str, answer: Result<Vec<Instance>, ResolveError>) {
    tx.send_if_modified(|cur| match answer {
        Ok(mut list) => {
            // One entry per address (the first wins).
            let mut seen = std::collections::HashSet::new();
            list.retain(|i| seen.insert(i.addr.clone()));
            let changed = *cur.instances != *list;
            let was = (cur.answered, cur.error.is_some());
            if changed {
                tracing::info!(resolver = name, instances = list.len(), "instances changed");
                cur.instances = list.into();
                cur.version += 1;
            }
            cur.answered = true;
            cur.error = None;
            changed || was != (true, false)
        }
        Err(e) => {
            tracing::warn!(
                resolver = name,
                error = %e,
                kept = cur.instances.len(),
                "resolving failed; keeping the last good list"
            );
            cur.answered = true;
            cur.error = Some(e.to_string().into());
            true
        }
    });
}

enum Wake {
    Closed,
    Resolve,
    Refresh,
    Pushed(Option<Vec<Instance>>),
    Failed(Option<Option<ResolveError>>),
}

async fn run(
    resolver: Arc<dyn Resolver>,
    tx: watch::Sender<Resolved>,
    refresh: Arc<Notify>,
    min_gap: Duration,
) {
    let name = resolver.name();
    let interval = resolver.refresh_interval();
    let mut updates = resolver.updates();
    let mut errors = resolver.errors();
    loop {
        let answer = tokio::select! {
            a = resolver.resolve() => a,
            _ = tx.closed() => return,
        };
        let resolved_at = Instant::now();
        publish(&tx, &name, answer);
        let next = interval.and_then(|i| resolved_at.checked_add(i));
        loop {
            let wake = {
                let pushed = async {
                    match updates.as_mut() {
                        Some(u) => u.changed().await.map(|_| u.borrow_and_update().clone()),
                        None => std::future::pending().await,
                    }
                };
                let failed = async {
                    match errors.as_mut() {
                        Some(e) => e.changed().await.map(|_| e.borrow_and_update().clone()),
                        None => std::future::pending().await,
                    }
                };
                let tick = async {
                    match next {
                        Some(t) => tokio::time::sleep_until(t).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tx.closed() => Wake::Closed,
                    _ = tick => Wake::Resolve,
                    _ = refresh.notified() => Wake::Refresh,
                    list = pushed => Wake::Pushed(list.ok()),
                    error = failed => Wake::Failed(error.ok()),
                }
            };
            match wake {
                Wake::Closed => return,
                Wake::Resolve => break,
                Wake::Refresh => {
                    // At most one resolution per `min_gap` on failures.
                    tokio::select! {
                        _ = tx.closed() => return,
                        _ = tokio::time::sleep_until(resolved_at + min_gap) => {}
                    }
                    break;
                }
                Wake::Pushed(Some(list)) => publish(&tx, &name, Ok(list)),
                Wake::Pushed(None) => updates = None,
                Wake::Failed(Some(Some(e))) => publish(&tx, &name, Err(e)),
                // Cleared: the list pushed with it clears the error.
                Wake::Failed(Some(None)) => {}
                Wake::Failed(None) => errors = None,
            }
        }
    }
}
