//! The instances of one balanced client: their connections, health and
//! breakers, and the choice of one per call.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tonic::Status;

use super::breaker::{self, lock, Breaker, BreakerConfig, BreakerState, Permit};
use super::lb::{LoadBalancer, PickRequest, Picker, RoundRobin};
use super::resolver::{Discovery, Instance, Resolved, Resolver, StaticResolver};

/// How a balanced client finds and chooses instances: the resolver, the
/// load balancer, the circuit breakers, and how long an instance that
/// failed to connect is skipped.
///
/// Defaults: [`RoundRobin`], breakers on with [`BreakerConfig::default`],
/// an instance that fails to connect skipped for 1 s, doubling on each
/// further failure up to 10 s, the first call waiting at most 5 s for the
/// resolver's first answer.
///
/// Give it to `BalancedChannel::new` (gRPC) or to a generated
/// `XxxPingPongClient::with_balancer` (ping-pong).
///
/// ```
/// use tonic_thrift::balance::{BalanceOptions, BreakerConfig, WeightedRandom};
///
/// let balance = BalanceOptions::from_addrs(["10.0.0.1:8888", "10.0.0.2:8888"])
///     .load_balancer(WeightedRandom::new())
///     .breaker(BreakerConfig::new().min_samples(50));
/// # let _ = balance;
/// ```
#[derive(Clone)]
#[must_use]
pub struct BalanceOptions {
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) load_balancer: Arc<dyn LoadBalancer>,
    pub(crate) breaker: Option<Arc<BreakerConfig>>,
    pub(crate) backoff: (Duration, Duration),
    pub(crate) resolve_timeout: Duration,
}

impl fmt::Debug for BalanceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalanceOptions")
            .field("resolver", &self.resolver.name())
            .field("load_balancer", &self.load_balancer)
            .field("breaker", &self.breaker)
            .field("backoff", &self.backoff)
            .field("resolve_timeout", &self.resolve_timeout)
            .finish()
    }
}

impl BalanceOptions {
    /// Instances from `resolver`, with the defaults.
    pub fn new(resolver: impl Resolver) -> Self {
        BalanceOptions {
            resolver: Arc::new(resolver),
            load_balancer: Arc::new(RoundRobin),
            breaker: Some(Arc::new(BreakerConfig::default())),
            backoff: (Duration::from_secs(1), Duration::from_secs(10)),
            resolve_timeout: Duration::from_secs(5),
        }
    }

    /// A fixed list of addresses (`host:port`), with the defaults.
    pub fn from_addrs<A: Into<String>>(addrs: impl IntoIterator<Item = A>) -> Self {
        Self::new(StaticResolver::from_addrs(addrs))
    }

    /// The load balancer (default [`RoundRobin`]).
    pub fn load_balancer(mut self, lb: impl LoadBalancer) -> Self {
        self.load_balancer = Arc::new(lb);
        self
    }

    /// The circuit breakers' parameters (default [`BreakerConfig::default`]).
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = Some(Arc::new(config));
        self
    }

    /// No circuit breakers.
    pub fn no_breaker(mut self) -> Self {
        self.breaker = None;
        self
    }

    /// How long an instance that failed to connect is skipped for new calls
    /// and streams: `initial` (default 1 s) after the first failure, doubled
    /// after each further one up to `max` (default 10 s). When that time
    /// is up, one call or stream tries it again (the others keep skipping it
    /// meanwhile); if it connects, the instance is back. A failure to
    /// connect also makes the resolver run again soon.
    pub fn connect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = (initial, max.max(initial));
        self
    }

    /// How long the first call waits for the resolver's first answer
    /// (default 5 s) before failing with `UNAVAILABLE: no instances`.
    pub fn resolve_timeout(mut self, timeout: Duration) -> Self {
        self.resolve_timeout = timeout;
        self
    }
}

/// What a balanced client knows of one instance (see `status()` on
/// `BalancedChannel` and `PingPongClient`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceStatus {
    /// The instance.
    pub instance: Instance,
    /// When it failed to connect, how long it is still skipped for.
    pub skipped_for: Option<Duration>,
    /// Its breakers: method (empty with one breaker per instance) and state.
    pub breakers: Vec<(String, BreakerState)>,
}

/// What a balanced client knows of its instances.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterStatus {
    /// The instances, as of the last call or stream created.
    pub instances: Vec<InstanceStatus>,
    /// The resolver's last error, when its last answer was one.
    pub resolver_error: Option<String>,
}

#[derive(Debug)]
struct Health {
    down_until: Option<Instant>,
    backoff: Duration,
}

/// One instance's connection state, kept while the resolver lists its
/// address.
pub(crate) struct InstanceState<C> {
    pub(crate) addr: String,
    pub(crate) conn: C,
    health: Mutex<Health>,
    breakers: Mutex<HashMap<String, Arc<Breaker>>>,
}

impl<C> fmt::Debug for InstanceState<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceState")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

struct Entry<C> {
    instance: Instance,
    state: Arc<InstanceState<C>>,
}

struct Snapshot<C> {
    version: u64,
    entries: Vec<Entry<C>>,
    picker: Box<dyn Picker>,
    /// Addresses that could not be used (and why).
    invalid: Vec<String>,
}

/// How an attempt ended, for the breaker and the health of its instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The instance answered (including business errors and exceptions).
    Success,
    /// A failure per the breaker's classification.
    Failure,
    /// The connection could not be made.
    ConnectFailure,
    /// Not counted (refused locally, cancelled).
    Neutral,
}

/// An instance chosen for one attempt.
pub(crate) struct Picked<C> {
    pub(crate) state: Arc<InstanceState<C>>,
    permit: Option<Permit>,
    /// Whether this attempt probes an instance that failed to connect.
    probe: bool,
}

type MakeConn<C> = Box<dyn Fn(&Instance) -> Result<C, String> + Send + Sync>;

/// The instances of a balanced client.
pub(crate) struct Cluster<C> {
    discovery: Discovery,
    options: BalanceOptions,
    make: MakeConn<C>,
    snapshot: RwLock<Arc<Snapshot<C>>>,
}

impl<C> fmt::Debug for Cluster<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

impl<C: Send + Sync + 'static> Cluster<C> {
    /// A cluster whose connections (a pool, a channel) are made by `make`
    /// when an address first appears.
    pub(crate) fn new(
        options: BalanceOptions,
        make: impl Fn(&Instance) -> Result<C, String> + Send + Sync + 'static,
    ) -> Self {
        let empty = Snapshot {
            version: 0,
            entries: Vec::new(),
            picker: options.load_balancer.build(&[]),
            invalid: Vec::new(),
        };
        Cluster {
            discovery: Discovery::new(options.resolver.clone(), Duration::from_secs(1)),
            options,
            make: Box::new(make),
            snapshot: RwLock::new(Arc::new(empty)),
        }
    }

    /// The options.
    pub(crate) fn options(&self) -> &BalanceOptions {
        &self.options
    }

    /// Whether `status` counts as a failure for the breakers.
    pub(crate) fn is_failure(&self, status: &Status) -> bool {
        match &self.options.breaker {
            Some(c) => c.is_failure(status),
            None => {
                breaker::DEFAULT_FAILURE_CODES.contains(&status.code())
                    && crate::BizStatusError::from_status(status).is_none()
            }
        }
    }

    /// The snapshot for `resolved`, rebuilt when the list changed.
    fn snapshot(&self, resolved: &Resolved) -> Arc<Snapshot<C>> {
        {
            let s = read(&self.snapshot);
            if s.version == resolved.version {
                return s.clone();
            }
        }
        let mut s = write(&self.snapshot);
        if s.version == resolved.version {
            return s.clone();
        }
        let mut old: HashMap<&str, &Arc<InstanceState<C>>> = s
            .entries
            .iter()
            .map(|e| (e.state.addr.as_str(), &e.state))
            .collect();
        let mut entries = Vec::with_capacity(resolved.instances.len());
        let mut invalid = Vec::new();
        for inst in resolved.instances.iter() {
            let state = match old.remove(inst.addr.as_str()) {
                Some(state) => state.clone(),
                None => match (self.make)(inst) {
                    Ok(conn) => Arc::new(InstanceState {
                        addr: inst.addr.clone(),
                        conn,
                        health: Mutex::new(Health {
                            down_until: None,
                            backoff: self.options.backoff.0,
                        }),
                        breakers: Mutex::new(HashMap::new()),
                    }),
                    Err(why) => {
                        tracing::warn!(addr = %inst.addr, error = %why, "instance skipped: unusable address");
                        invalid.push(format!("{}: {why}", inst.addr));
                        continue;
                    }
                },
            };
            entries.push(Entry {
                instance: inst.clone(),
                state,
            });
        }
        let instances: Vec<Instance> = entries.iter().map(|e| e.instance.clone()).collect();
        let picker = self.options.load_balancer.build(&instances);
        let snap = Arc::new(Snapshot {
            version: resolved.version,
            entries,
            picker,
            invalid,
        });
        *s = snap.clone();
        snap
    }

    /// Chooses an instance for a new call or stream, preferring instances
    /// not in `avoid` (those already tried by this call).
    pub(crate) async fn pick(
        &self,
        request: &PickRequest<'_>,
        avoid: &[Arc<InstanceState<C>>],
    ) -> Result<Picked<C>, Status> {
        let resolved = self.discovery.current(self.options.resolve_timeout).await;
        let snap = self.snapshot(&resolved);
        if snap.entries.is_empty() {
            return Err(self.no_instances(&resolved, &snap));
        }
        if snap.entries.iter().all(|e| e.instance.weight == 0) {
            return Err(Status::unavailable(format!(
                "no instances: all {} instances from {} have weight 0",
                snap.entries.len(),
                self.discovery.name()
            )));
        }
        let method = if self.options.breaker.as_ref().is_some_and(|c| c.per_method) {
            request.method()
        } else {
            ""
        };
        let now = Instant::now();
        if !avoid.is_empty() {
            let mut tally = Tally::default();
            if let Some(p) = self.try_pick(&snap, request, method, now, avoid, &mut tally)? {
                return Ok(p);
            }
        }
        let mut tally = Tally::default();
        match self.try_pick(&snap, request, method, now, &[], &mut tally)? {
            Some(p) => Ok(p),
            None => Err(self.none_eligible(request, &snap, &tally, now)),
        }
    }

    fn try_pick(
        &self,
        snap: &Snapshot<C>,
        request: &PickRequest<'_>,
        method: &str,
        now: Instant,
        avoid: &[Arc<InstanceState<C>>],
        tally: &mut Tally,
    ) -> Result<Option<Picked<C>>, Status> {
        let mut admitted: Option<(usize, Option<Permit>, bool)> = None;
        let chosen = snap.picker.pick(request, &mut |i| {
            let Some(entry) = snap.entries.get(i) else {
                return false;
            };
            let state = &entry.state;
            if entry.instance.weight == 0 || avoid.iter().any(|a| Arc::ptr_eq(a, state)) {
                return false;
            }
            if let Some(until) = lock(&state.health).down_until {
                if until > now {
                    tally.down += 1;
                    tally.next_probe =
                        Some(tally.next_probe.map_or(until, |t: Instant| t.min(until)));
                    return false;
                }
            }
            let permit = match &self.options.breaker {
                Some(config) => {
                    let b = state.breaker(method, config);
                    match b.try_acquire() {
                        Ok(p) => Some(p),
                        Err(r) => {
                            tally.open += 1;
                            tally.refusal = Some(r);
                            return false;
                        }
                    }
                }
                None => None,
            };
            // A down instance whose time is up: this call is its probe; the
            // others keep skipping it until the probe's result is known.
            let mut h = lock(&state.health);
            let mut probe = false;
            if let Some(until) = h.down_until {
                if until > now {
                    tally.down += 1;
                    return false; // another call took the probe
                }
                h.down_until = Some(later(now, h.backoff));
                probe = true;
            }
            admitted = Some((i, permit, probe));
            true
        })?;
        let Some(i) = chosen else { return Ok(None) };
        let Some(entry) = snap.entries.get(i) else {
            return Ok(None);
        };
        let (permit, probe) = match admitted {
            Some((j, permit, probe)) if j == i => (permit, probe),
            // A picker that broke the contract (returned an instance it did
            // not ask about last): ask again for the one it returned.
            _ => match &self.options.breaker {
                Some(config) => match entry.state.breaker(method, config).try_acquire() {
                    Ok(p) => (Some(p), false),
                    Err(_) => return Ok(None),
                },
                None => (None, false),
            },
        };
        tracing::debug!(addr = %entry.state.addr, method = request.method(), "instance picked");
        Ok(Some(Picked {
            state: entry.state.clone(),
            permit,
            probe,
        }))
    }

    fn no_instances(&self, resolved: &Resolved, snap: &Snapshot<C>) -> Status {
        let name = self.discovery.name();
        let why = if !resolved.answered {
            format!(
                "{name} has not answered within {:?}",
                self.options.resolve_timeout
            )
        } else if !snap.invalid.is_empty() {
            format!(
                "unusable addresses from {name}: {}",
                snap.invalid.join("; ")
            )
        } else if let Some(e) = &resolved.error {
            format!("{name} failed: {e}")
        } else {
            format!("{name} returned no instances")
        };
        Status::unavailable(format!("no instances: {why}"))
    }

    fn none_eligible(
        &self,
        request: &PickRequest<'_>,
        snap: &Snapshot<C>,
        tally: &Tally,
        now: Instant,
    ) -> Status {
        let target = format!("`{}.{}`", request.service(), request.method());
        let n = snap.entries.len();
        if tally.open > 0 && tally.down == 0 {
            let detail = match &tally.refusal {
                Some(r) if r.retry_in.is_zero() => {
                    " (half-open: its probes are in flight)".to_string()
                }
                Some(r) if r.samples > 0 => format!(
                    " (opened after {} failures in {} calls; probes again in {})",
                    r.failures,
                    r.samples,
                    human(r.retry_in)
                ),
                _ => String::new(),
            };
            return Status::unavailable(format!(
                "circuit open for {target} on every instance ({} of {n}){detail}; nothing was sent",
                tally.open
            ));
        }
        let next = tally
            .next_probe
            .map(|t| format!("; next try in {}", human(t.saturating_duration_since(now))))
            .unwrap_or_default();
        Status::unavailable(format!(
            "no available instance for {target}: {n} instances, {} failed to connect recently, {} with the circuit open{next}; nothing was sent",
            tally.down, tally.open
        ))
    }

    /// Reports how an attempt on `picked` ended.
    pub(crate) fn report(&self, picked: Picked<C>, outcome: Outcome) {
        let Picked {
            state,
            permit,
            probe,
        } = picked;
        match outcome {
            Outcome::ConnectFailure => {
                let mut h = lock(&state.health);
                if probe {
                    // The instance is still down: wait longer next time.
                    h.backoff = h.backoff.saturating_mul(2).min(self.options.backoff.1);
                } else if h.down_until.is_some() {
                    // Another call already marked it down.
                    drop(h);
                    if let Some(p) = permit {
                        p.record(true);
                    }
                    return;
                }
                let backoff = h.backoff;
                h.down_until = Some(later(Instant::now(), backoff));
                drop(h);
                tracing::warn!(addr = %state.addr, skipped_for = ?backoff, "instance failed to connect; skipped");
                self.discovery.refresh();
            }
            Outcome::Success | Outcome::Failure => {
                let mut h = lock(&state.health);
                if h.down_until.take().is_some() {
                    tracing::info!(addr = %state.addr, "instance connected again");
                }
                h.backoff = self.options.backoff.0;
            }
            Outcome::Neutral => {}
        }
        if let Some(p) = permit {
            match outcome {
                Outcome::Success => p.record(false),
                Outcome::Failure | Outcome::ConnectFailure => p.record(true),
                Outcome::Neutral => drop(p),
            }
        }
    }

    /// The connections of the current instances (as of the last pick).
    pub(crate) fn states(&self) -> Vec<Arc<InstanceState<C>>> {
        read(&self.snapshot)
            .entries
            .iter()
            .map(|e| e.state.clone())
            .collect()
    }

    /// What the cluster knows of its instances.
    pub(crate) fn status(&self) -> ClusterStatus {
        let snap = read(&self.snapshot).clone();
        let now = Instant::now();
        let instances = snap
            .entries
            .iter()
            .map(|e| {
                let skipped_for = lock(&e.state.health)
                    .down_until
                    .filter(|&t| t > now)
                    .map(|t| t - now);
                let mut breakers: Vec<(String, BreakerState)> = lock(&e.state.breakers)
                    .iter()
                    .map(|(m, b)| (m.clone(), b.state()))
                    .collect();
                breakers.sort_by(|a, b| a.0.cmp(&b.0));
                InstanceStatus {
                    instance: e.instance.clone(),
                    skipped_for,
                    breakers,
                }
            })
            .collect();
        ClusterStatus {
            instances,
            resolver_error: self.discovery.latest().error.map(|e| e.to_string()),
        }
    }
}

impl<C> InstanceState<C> {
    fn breaker(&self, method: &str, config: &Arc<BreakerConfig>) -> Arc<Breaker> {
        let mut map = lock(&self.breakers);
        if let Some(b) = map.get(method) {
            return b.clone();
        }
        let b = Arc::new(Breaker::new(config.clone()));
        map.insert(method.to_string(), b.clone());
        b
    }
}

/// `now + d`, or about a century ahead when that overflows.
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// `850ms`, `4.9s`.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[derive(Default)]
struct Tally {
    down: usize,
    open: usize,
    next_probe: Option<Instant>,
    refusal: Option<breaker::Refusal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_do_not_overflow() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now);
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        let opts =
            BalanceOptions::from_addrs(["a:1"]).connect_backoff(Duration::MAX, Duration::MAX);
        assert_eq!(opts.backoff, (Duration::MAX, Duration::MAX));
        assert_eq!(Duration::MAX.saturating_mul(2), Duration::MAX);
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(4_940)), "4.9s");
    }
}
