//! Load balancers: which instance gets a new call or stream.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tonic::Status;

use super::resolver::Instance;
use crate::metainfo::MetaInfo;

/// What a balancer sees of a call or stream being created: its service and
/// method, its request headers (gRPC headers, or the request metadata of a
/// ping-pong call) and its request extensions (where [`MetaInfo`] and
/// [`HashKey`] live).
#[derive(Debug, Clone, Copy)]
pub struct PickRequest<'a> {
    service: &'a str,
    method: &'a str,
    headers: &'a http::HeaderMap,
    extensions: &'a http::Extensions,
}

impl<'a> PickRequest<'a> {
    /// A request for `service.method` with these headers and extensions.
    pub fn new(
        service: &'a str,
        method: &'a str,
        headers: &'a http::HeaderMap,
        extensions: &'a http::Extensions,
    ) -> Self {
        PickRequest {
            service,
            method,
            headers,
            extensions,
        }
    }

    /// The service name (IDL name, without package).
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The method name (IDL name).
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request headers / metadata.
    pub fn headers(&self) -> &'a http::HeaderMap {
        self.headers
    }

    /// The request extensions.
    pub fn extensions(&self) -> &'a http::Extensions {
        self.extensions
    }

    /// A metainfo value of the request: its transient value `key`, else its
    /// persistent value `key`, else the persistent value the call being
    /// handled by the current task passes on.
    pub fn metainfo(&self, key: &str) -> Option<String> {
        if let Some(m) = self.extensions.get::<MetaInfo>() {
            if let Some(v) = m.transient(key).or_else(|| m.persistent(key)) {
                return Some(v.to_string());
            }
        }
        crate::call::current_persistent().and_then(|m| m.persistent(key).map(str::to_string))
    }
}

/// A balancer's choice for one request, over the instances it was built
/// for.
///
/// `eligible(i)` says whether instance `i` may take the request now (its
/// weight is not 0, its circuit breaker admits the call, it has not failed
/// to connect recently). Because asking may reserve a slot (a half-open
/// breaker's probe), a picker must return the **first** instance for which
/// it answered `true`, and ask about each instance at most once per pick.
pub trait Picker: Send + Sync {
    /// The index of the chosen instance; `Ok(None)` when no instance is
    /// eligible; `Err` to refuse the request (e.g. a missing hash key under
    /// [`MissingKey::Reject`]).
    fn pick(
        &self,
        request: &PickRequest<'_>,
        eligible: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<usize>, Status>;
}

/// Builds [`Picker`]s: a load-balancing policy. A picker is built again
/// each time the resolver's list of instances changes.
///
/// Every balancer here excludes instances of weight 0 (a way to drain an
/// instance): they get no new calls or streams.
pub trait LoadBalancer: Send + Sync + fmt::Debug + 'static {
    /// A picker over `instances` (indexes refer to this slice).
    fn build(&self, instances: &[Instance]) -> Box<dyn Picker>;
}

/// A fast, thread-safe pseudo-random generator (SplitMix64), seeded from
/// the process's random hash keys.
#[derive(Debug)]
pub(crate) struct Rng(AtomicU64);

impl Rng {
    pub(crate) fn new() -> Self {
        Rng(AtomicU64::new(RandomState::new().hash_one(0x5eed_u64)))
    }

    pub(crate) fn next_u64(&self) -> u64 {
        let z = self
            .0
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        fmix64(z)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// Round robin: each new call or stream goes to the next instance in turn.
/// Weights other than 0 are ignored (weight 0 excludes an instance). An
/// instance that is not eligible is passed over, so the remaining ones
/// share its turns evenly. Each client starts at a random position.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundRobin;

impl RoundRobin {
    /// Round robin.
    pub fn new() -> Self {
        RoundRobin
    }
}

struct RoundRobinPicker {
    members: Vec<usize>,
    next: AtomicUsize,
}

impl RoundRobinPicker {
    fn new(instances: &[Instance]) -> Self {
        let members: Vec<usize> = (0..instances.len())
            .filter(|&i| instances[i].weight > 0)
            .collect();
        let start = if members.is_empty() {
            0
        } else {
            Rng::new().below(members.len() as u64) as usize
        };
        RoundRobinPicker {
            members,
            next: AtomicUsize::new(start),
        }
    }

    fn pick(&self, eligible: &mut dyn FnMut(usize) -> bool) -> Option<usize> {
        let n = self.members.len();
        for _ in 0..n {
            let i = self.members[self.next.fetch_add(1, Ordering::Relaxed) % n];
            if eligible(i) {
                return Some(i);
            }
        }
        None
    }
}

impl Picker for RoundRobinPicker {
    fn pick(
        &self,
        _request: &PickRequest<'_>,
        eligible: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<usize>, Status> {
        Ok(RoundRobinPicker::pick(self, eligible))
    }
}

impl LoadBalancer for RoundRobin {
    fn build(&self, instances: &[Instance]) -> Box<dyn Picker> {
        Box::new(RoundRobinPicker::new(instances))
    }
}

/// Weighted random: each new call or stream goes to an instance drawn at
/// random with probability proportional to its weight (weight 0: never).
/// When the drawn instance is not eligible, the draw is repeated among the
/// others, in proportion to their weights.
#[derive(Debug, Clone, Copy, Default)]
pub struct WeightedRandom;

impl WeightedRandom {
    /// Weighted random.
    pub fn new() -> Self {
        WeightedRandom
    }
}

struct WeightedRandomPicker {
    weights: Vec<u64>,
    total: u64,
    rng: Rng,
}

impl Picker for WeightedRandomPicker {
    fn pick(
        &self,
        _request: &PickRequest<'_>,
        eligible: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<usize>, Status> {
        let mut excluded: Vec<usize> = Vec::new();
        let mut left = self.total;
        while left > 0 {
            let mut r = self.rng.below(left);
            let mut chosen = None;
            for (i, &w) in self.weights.iter().enumerate() {
                if w == 0 || excluded.contains(&i) {
                    continue;
                }
                if r < w {
                    chosen = Some(i);
                    break;
                }
                r -= w;
            }
            let Some(i) = chosen else { break };
            if eligible(i) {
                return Ok(Some(i));
            }
            excluded.push(i);
            left -= self.weights[i];
        }
        Ok(None)
    }
}

impl LoadBalancer for WeightedRandom {
    fn build(&self, instances: &[Instance]) -> Box<dyn Picker> {
        let weights: Vec<u64> = instances.iter().map(|i| u64::from(i.weight)).collect();
        Box::new(WeightedRandomPicker {
            total: weights.iter().sum(),
            weights,
            rng: Rng::new(),
        })
    }
}

/// The hash key of a request for [`ConsistentHash`], set as a request
/// extension before the call or stream is created: compute the key first,
/// then carry it with the call, as Kitex's `loadbalance.ConsistentHashOption`
/// `GetKey` reads it from the call's context:
///
/// ```
/// use tonic_thrift::balance::HashKey;
///
/// let mut request = tonic::Request::new(());
/// request.extensions_mut().insert(HashKey::new("user-42"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HashKey(pub String);

impl HashKey {
    /// The key `key`.
    pub fn new(key: impl Into<String>) -> Self {
        HashKey(key.into())
    }
}

/// What [`ConsistentHash`] does with a request that carries no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Round robin over the eligible instances (the default): the request
    /// is served, without affinity.
    #[default]
    RoundRobin,
    /// Refuse the request with `INVALID_ARGUMENT` (nothing is sent).
    Reject,
}

type KeyFn = Arc<dyn Fn(&PickRequest<'_>) -> Option<String> + Send + Sync>;

/// Consistent hashing: requests with the same key go to the same instance,
/// as long as it is eligible.
///
/// The key comes from the request through a function (by default the
/// [`HashKey`] request extension; see [`by_metainfo`](Self::by_metainfo)
/// and [`by_key`](Self::by_key)). Each instance of weight > 0 is placed on
/// a hash ring at [`virtual_nodes`](Self::virtual_nodes) points (default
/// 100; weights other than 0 do not change the count); a key goes to the
/// first point at or after its hash. Removing one of N instances moves only
/// the keys it held (about 1/N of them); adding one moves about 1/(N+1).
/// When the key's instance is not eligible (circuit open, failed to
/// connect), the next instance along the ring takes the request.
///
/// Hashing is FNV-1a with a 64-bit finaliser over the instance address and
/// point number, and over the key: the ring is the same in every process,
/// so separate clients agree on where a key goes.
///
/// A request without a key is handled per [`MissingKey`] (default: round
/// robin).
#[derive(Clone)]
pub struct ConsistentHash {
    key: KeyFn,
    virtual_nodes: usize,
    missing: MissingKey,
}

impl fmt::Debug for ConsistentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsistentHash")
            .field("virtual_nodes", &self.virtual_nodes)
            .field("missing", &self.missing)
            .finish_non_exhaustive()
    }
}

impl Default for ConsistentHash {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsistentHash {
    /// Hashing on the [`HashKey`] request extension, 100 virtual nodes per
    /// instance, round robin for requests without a key.
    pub fn new() -> Self {
        Self::by_key(|r| r.extensions().get::<HashKey>().map(|k| k.0.clone()))
    }

    /// Hashing on the metainfo value `key` (transient, else persistent; see
    /// [`PickRequest::metainfo`]).
    pub fn by_metainfo(key: impl Into<String>) -> Self {
        let key = key.into();
        Self::by_key(move |r| r.metainfo(&key))
    }

    /// Hashing on the key `f` takes from the request (`None`: no key).
    pub fn by_key<F>(f: F) -> Self
    where
        F: Fn(&PickRequest<'_>) -> Option<String> + Send + Sync + 'static,
    {
        ConsistentHash {
            key: Arc::new(f),
            virtual_nodes: 100,
            missing: MissingKey::RoundRobin,
        }
    }

    /// Points per instance on the ring (default 100; 0 is taken as 1).
    /// More points spread keys more evenly and cost memory and build time.
    #[must_use]
    pub fn virtual_nodes(mut self, n: usize) -> Self {
        self.virtual_nodes = n.max(1);
        self
    }

    /// What to do with a request without a key (default round robin).
    #[must_use]
    pub fn on_missing_key(mut self, missing: MissingKey) -> Self {
        self.missing = missing;
        self
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The ring position of a key.
pub(crate) fn key_hash(key: &str) -> u64 {
    fmix64(fnv1a(FNV_OFFSET, key.as_bytes()))
}

fn node_hash(addr: &str, point: usize) -> u64 {
    let h = fnv1a(FNV_OFFSET, addr.as_bytes());
    let h = fnv1a(h, b"#");
    fmix64(fnv1a(h, &(point as u64).to_le_bytes()))
}

struct RingPicker {
    ring: Vec<(u64, usize)>,
    instances: usize,
    key: KeyFn,
    missing: MissingKey,
    fallback: RoundRobinPicker,
}

impl Picker for RingPicker {
    fn pick(
        &self,
        request: &PickRequest<'_>,
        eligible: &mut dyn FnMut(usize) -> bool,
    ) -> Result<Option<usize>, Status> {
        let Some(key) = (self.key)(request) else {
            return match self.missing {
                MissingKey::RoundRobin => Ok(self.fallback.pick(eligible)),
                MissingKey::Reject => Err(Status::invalid_argument(format!(
                    "consistent hashing: the request for `{}.{}` carries no hash key",
                    request.service(),
                    request.method()
                ))),
            };
        };
        if self.ring.is_empty() {
            return Ok(None);
        }
        let h = key_hash(&key);
        let start = self.ring.partition_point(|&(p, _)| p < h);
        let mut asked = vec![false; self.instances];
        let mut left = asked.len();
        for k in 0..self.ring.len() {
            let (_, i) = self.ring[(start + k) % self.ring.len()];
            if asked[i] {
                continue;
            }
            if eligible(i) {
                return Ok(Some(i));
            }
            asked[i] = true;
            left -= 1;
            if left == 0 {
                break;
            }
        }
        Ok(None)
    }
}

impl LoadBalancer for ConsistentHash {
    fn build(&self, instances: &[Instance]) -> Box<dyn Picker> {
        let mut ring = Vec::with_capacity(instances.len() * self.virtual_nodes);
        for (i, inst) in instances.iter().enumerate() {
            if inst.weight == 0 {
                continue;
            }
            for point in 0..self.virtual_nodes {
                ring.push((node_hash(&inst.addr, point), i));
            }
        }
        ring.sort_unstable();
        Box::new(RingPicker {
            ring,
            instances: instances.len(),
            key: self.key.clone(),
            missing: self.missing,
            fallback: RoundRobinPicker::new(instances),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_below_is_in_range() {
        let r = Rng::new();
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
    }

    #[test]
    fn hashes_are_stable() {
        // The ring must be the same in every process and on every platform.
        assert_eq!(key_hash(""), fmix64(FNV_OFFSET));
        assert_eq!(key_hash("a"), key_hash("a"));
        assert_ne!(key_hash("a"), key_hash("b"));
        assert_ne!(node_hash("h:1", 0), node_hash("h:1", 1));
    }
}
