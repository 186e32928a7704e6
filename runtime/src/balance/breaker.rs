//! Circuit breakers: one per instance and method (or per instance), acting
//! only when a call or stream is created.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tonic::{Code, Status};

use crate::BizStatusError;

/// Locks a mutex, taking the value of a poisoned one (our critical sections
/// leave the state consistent at every step).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The failure codes counted by default: see [`BreakerConfig::failure_codes`].
pub(crate) const DEFAULT_FAILURE_CODES: [Code; 4] = [
    Code::Unavailable,
    Code::DeadlineExceeded,
    Code::ResourceExhausted,
    Code::Unknown,
];

/// Parameters of the circuit breakers of a balanced client.
///
/// A breaker watches the calls and stream creations sent to one instance
/// for one method (see [`per_method`](Self::per_method)) over a sliding
/// window. It **opens** when, within the window, at least
/// [`min_samples`](Self::min_samples) results were seen and the share of
/// failures among them reached [`error_rate`](Self::error_rate). While open,
/// the balancer skips that instance for that method; when every instance is
/// skipped, the call fails at once with `UNAVAILABLE: circuit open …`
/// without touching the network. After [`cool_down`](Self::cool_down) the
/// breaker is **half-open**: up to [`half_open_probes`](Self::half_open_probes)
/// calls go through at once as probes; the first probe that succeeds closes
/// the breaker (with an empty window), a probe that fails opens it again for
/// another cool-down.
///
/// Defaults: window 10 s (in 10 buckets), 200 samples, error rate 50 %,
/// cool-down 5 s, 3 probes, one breaker per instance *and method*, failures
/// = `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `UNKNOWN`.
///
/// What counts as a failure:
///
/// - transport errors (connection refused or reset, connect timeouts, a
///   connection closed before the reply): `UNAVAILABLE`;
/// - timeouts: `DEADLINE_EXCEEDED`;
/// - a server refusing the call for a limit: `RESOURCE_EXHAUSTED`;
/// - over ping-pong, a `TApplicationException` reply (how a server reports a
///   handler's error status or a limit there; it carries no gRPC code and
///   reaches the caller as `UNKNOWN`).
///
/// Business status errors ([`BizStatusError`]) and the IDL's declared
/// exceptions count as successes: the instance answered. Other codes
/// (`INVALID_ARGUMENT`, `NOT_FOUND`, `UNIMPLEMENTED`, …) count as successes
/// too unless listed in [`failure_codes`](Self::failure_codes). A call
/// cancelled by the caller before its result is known is not counted.
///
/// As in Kitex, only the creation of a stream is watched: errors in the
/// middle of a stream (on `recv` / `send`) do not feed the breaker.
#[derive(Debug, Clone)]
#[must_use]
pub struct BreakerConfig {
    pub(crate) window: Duration,
    pub(crate) buckets: u32,
    pub(crate) min_samples: u64,
    pub(crate) error_rate: f64,
    pub(crate) cool_down: Duration,
    pub(crate) half_open_probes: u32,
    pub(crate) per_method: bool,
    pub(crate) failure_codes: Arc<HashSet<Code>>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: Duration::from_secs(10),
            buckets: 10,
            min_samples: 200,
            error_rate: 0.5,
            cool_down: Duration::from_secs(5),
            half_open_probes: 3,
            per_method: true,
            failure_codes: Arc::new(DEFAULT_FAILURE_CODES.into_iter().collect()),
        }
    }
}

impl BreakerConfig {
    /// The default parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sliding window over which the error rate is measured (default
    /// 10 s, kept in 10 buckets: results leave the window a tenth at a time).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_millis(1));
        self
    }

    /// The fewest results in the window before the breaker may open
    /// (default 200; 0 is taken as 1).
    pub fn min_samples(mut self, samples: u64) -> Self {
        self.min_samples = samples.max(1);
        self
    }

    /// The share of failures, from 0.0 to 1.0, at which the breaker opens
    /// (default 0.5). Values outside the range are clamped; NaN keeps the
    /// default.
    pub fn error_rate(mut self, rate: f64) -> Self {
        if !rate.is_nan() {
            self.error_rate = rate.clamp(0.0, 1.0);
        }
        self
    }

    /// How long an open breaker refuses calls before letting probes through
    /// (default 5 s).
    pub fn cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// How many probes a half-open breaker lets through at once (default 3;
    /// 0 is taken as 1).
    pub fn half_open_probes(mut self, probes: u32) -> Self {
        self.half_open_probes = probes.max(1);
        self
    }

    /// One breaker per instance and method (`true`, the default) or one per
    /// instance for all methods (`false`).
    pub fn per_method(mut self, per_method: bool) -> Self {
        self.per_method = per_method;
        self
    }

    /// The status codes that count as failures (default `UNAVAILABLE`,
    /// `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`, `UNKNOWN`). Business
    /// status errors never count, whatever their code.
    pub fn failure_codes(mut self, codes: impl IntoIterator<Item = Code>) -> Self {
        self.failure_codes = Arc::new(codes.into_iter().collect());
        self
    }

    /// Whether `status` counts as a failure: its code is a failure code
    /// and it is not a business status error.
    pub fn is_failure(&self, status: &Status) -> bool {
        is_failure(&self.failure_codes, status)
    }
}

pub(crate) fn is_failure(codes: &HashSet<Code>, status: &Status) -> bool {
    codes.contains(&status.code()) && BizStatusError::from_status(status).is_none()
}

/// The state of one circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through; results are counted.
    Closed,
    /// Calls are refused (the instance is skipped) until the cool-down ends.
    Open,
    /// A few probes go through; the first success closes the breaker.
    HalfOpen,
}

impl fmt::Display for BreakerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        })
    }
}

/// Two counters over a sliding window of buckets.
#[derive(Debug)]
pub(crate) struct Window {
    origin: Instant,
    width_nanos: u128,
    buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    epoch: u64,
    a: u64,
    b: u64,
}

impl Window {
    pub(crate) fn new(window: Duration, buckets: u32, now: Instant) -> Self {
        let n = buckets.max(1);
        let width = (window / n).max(Duration::from_micros(100));
        Window {
            origin: now,
            width_nanos: width.as_nanos(),
            buckets: vec![Bucket::default(); n as usize],
        }
    }

    fn epoch(&self, now: Instant) -> u64 {
        let nanos = now.saturating_duration_since(self.origin).as_nanos();
        // Epoch 0 marks an unused bucket: count from 1.
        u64::try_from(nanos / self.width_nanos)
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    /// Adds to the counters of the bucket of `now`.
    pub(crate) fn add(&mut self, now: Instant, a: u64, b: u64) {
        let epoch = self.epoch(now);
        let n = self.buckets.len() as u64;
        let slot = &mut self.buckets[(epoch % n) as usize];
        if slot.epoch != epoch {
            *slot = Bucket { epoch, a: 0, b: 0 };
        }
        slot.a = slot.a.saturating_add(a);
        slot.b = slot.b.saturating_add(b);
    }

    /// The counters summed over the window ending at `now`.
    pub(crate) fn totals(&self, now: Instant) -> (u64, u64) {
        let epoch = self.epoch(now);
        let n = self.buckets.len() as u64;
        self.buckets
            .iter()
            .filter(|b| b.epoch != 0 && b.epoch <= epoch && b.epoch + n > epoch)
            .fold((0, 0), |(a, b), k| (a + k.a, b + k.b))
    }

    pub(crate) fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = Bucket::default());
    }
}

#[derive(Debug)]
enum State {
    Closed,
    Open { since: Instant },
    HalfOpen { in_flight: u32 },
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Bumped on every transition: results of calls admitted under an
    /// earlier state are ignored.
    generation: u64,
    /// successes (a) and failures (b).
    window: Window,
    /// Failures and samples when the breaker last opened.
    tripped: (u64, u64),
}

/// One circuit breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    config: Arc<BreakerConfig>,
    inner: Mutex<Inner>,
}

/// Why a breaker refused a call.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) failures: u64,
    pub(crate) samples: u64,
    pub(crate) retry_in: Duration,
}

impl Breaker {
    pub(crate) fn new(config: Arc<BreakerConfig>) -> Self {
        let window = Window::new(config.window, config.buckets, Instant::now());
        Breaker {
            config,
            inner: Mutex::new(Inner {
                state: State::Closed,
                generation: 0,
                window,
                tripped: (0, 0),
            }),
        }
    }

    /// The breaker's state now (an open breaker whose cool-down has passed
    /// reads as half-open).
    pub(crate) fn state(&self) -> BreakerState {
        self.state_at(Instant::now())
    }

    pub(crate) fn state_at(&self, now: Instant) -> BreakerState {
        match lock(&self.inner).state {
            State::Closed => BreakerState::Closed,
            State::Open { since }
                if now.saturating_duration_since(since) < self.config.cool_down =>
            {
                BreakerState::Open
            }
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Admits a call, or says why not.
    pub(crate) fn try_acquire(self: &Arc<Self>) -> Result<Permit, Refusal> {
        self.try_acquire_at(Instant::now())
    }

    pub(crate) fn try_acquire_at(self: &Arc<Self>, now: Instant) -> Result<Permit, Refusal> {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        let probes = self.config.half_open_probes;
        let refusal = |inner: &Inner, retry_in| Refusal {
            failures: inner.tripped.0,
            samples: inner.tripped.1,
            retry_in,
        };
        let probe = match inner.state {
            State::Closed => false,
            State::Open { since } => {
                let open_for = now.saturating_duration_since(since);
                if open_for < self.config.cool_down {
                    return Err(refusal(inner, self.config.cool_down - open_for));
                }
                inner.state = State::HalfOpen { in_flight: 1 };
                inner.generation += 1;
                tracing::debug!("circuit breaker half-open: letting probes through");
                true
            }
            State::HalfOpen { in_flight } => {
                if in_flight >= probes {
                    return Err(refusal(inner, Duration::ZERO));
                }
                inner.state = State::HalfOpen {
                    in_flight: in_flight + 1,
                };
                true
            }
        };
        Ok(Permit {
            breaker: Some(self.clone()),
            generation: inner.generation,
            probe,
        })
    }

    fn record(&self, generation: u64, probe: bool, failed: Option<bool>, now: Instant) {
        let mut guard = lock(&self.inner);
        let inner = &mut *guard;
        if inner.generation != generation {
            return; // admitted under an earlier state
        }
        match (&mut inner.state, failed) {
            (State::HalfOpen { in_flight }, None) => {
                *in_flight = in_flight.saturating_sub(1);
            }
            (State::HalfOpen { .. }, Some(false)) if probe => {
                inner.state = State::Closed;
                inner.generation += 1;
                inner.window.clear();
                tracing::info!("circuit breaker closed: a probe succeeded");
            }
            (State::HalfOpen { .. }, Some(true)) if probe => {
                inner.state = State::Open { since: now };
                inner.generation += 1;
                tracing::info!("circuit breaker open again: a probe failed");
            }
            (State::Closed, Some(failed)) => {
                let (ok, fail) = if failed { (0, 1) } else { (1, 0) };
                inner.window.add(now, ok, fail);
                if failed {
                    let (ok, fail) = inner.window.totals(now);
                    let total = ok + fail;
                    if total >= self.config.min_samples
                        && fail as f64 >= self.config.error_rate * total as f64
                    {
                        inner.state = State::Open { since: now };
                        inner.generation += 1;
                        inner.tripped = (fail, total);
                        inner.window.clear();
                        tracing::warn!(failures = fail, samples = total, "circuit breaker open");
                    }
                }
            }
            _ => {}
        }
    }
}

/// A call admitted by a breaker: report its result with
/// [`Permit::record`]; dropped without a result, it is not counted (and a
/// probe's slot is freed).
#[derive(Debug)]
pub(crate) struct Permit {
    breaker: Option<Arc<Breaker>>,
    generation: u64,
    probe: bool,
}

impl Permit {
    /// Reports the result: `failed` per the breaker's classification.
    pub(crate) fn record(mut self, failed: bool) {
        self.record_at(failed, Instant::now());
    }

    pub(crate) fn record_at(&mut self, failed: bool, now: Instant) {
        if let Some(b) = self.breaker.take() {
            b.record(self.generation, self.probe, Some(failed), now);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(b) = self.breaker.take() {
            b.record(self.generation, self.probe, None, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(min: u64) -> Arc<Breaker> {
        Arc::new(Breaker::new(Arc::new(
            BreakerConfig::new()
                .window(Duration::from_secs(10))
                .min_samples(min)
                .error_rate(0.5)
                .cool_down(Duration::from_secs(5))
                .half_open_probes(2),
        )))
    }

    fn run(b: &Arc<Breaker>, now: Instant, failed: bool) {
        b.try_acquire_at(now).unwrap().record_at(failed, now);
    }

    #[test]
    fn opens_at_the_error_rate_after_min_samples() {
        let b = breaker(10);
        let t = Instant::now();
        for _ in 0..9 {
            run(&b, t, true);
        }
        assert_eq!(b.state_at(t), BreakerState::Closed, "9 < min samples");
        run(&b, t, true);
        assert_eq!(b.state_at(t), BreakerState::Open);
        let r = b.try_acquire_at(t).unwrap_err();
        assert_eq!((r.failures, r.samples), (10, 10));
    }

    #[test]
    fn stays_closed_below_the_rate() {
        let b = breaker(10);
        let t = Instant::now();
        for i in 0..100 {
            run(&b, t, i % 5 == 0); // 20 % failures
        }
        assert_eq!(b.state_at(t), BreakerState::Closed);
    }

    #[test]
    fn old_results_leave_the_window() {
        let b = breaker(10);
        let t = Instant::now();
        for _ in 0..9 {
            run(&b, t, true);
        }
        let later = t + Duration::from_secs(11);
        run(&b, later, true);
        assert_eq!(
            b.state_at(later),
            BreakerState::Closed,
            "only 1 sample in the window"
        );
    }

    #[test]
    fn half_open_probes_then_closed_on_success() {
        let b = breaker(1);
        let t = Instant::now();
        run(&b, t, true);
        assert_eq!(b.state_at(t), BreakerState::Open);
        assert!(b.try_acquire_at(t + Duration::from_secs(4)).is_err());
        let t2 = t + Duration::from_secs(5);
        let mut p1 = b.try_acquire_at(t2).unwrap();
        let p2 = b.try_acquire_at(t2).unwrap();
        assert!(b.try_acquire_at(t2).is_err(), "only 2 probes at once");
        assert_eq!(b.state_at(t2), BreakerState::HalfOpen);
        drop(p2); // cancelled: frees its slot
        let mut p3 = b.try_acquire_at(t2).unwrap();
        p1.record_at(false, t2);
        assert_eq!(b.state_at(t2), BreakerState::Closed);
        // A late probe result from the half-open period is ignored.
        p3.record_at(true, t2);
        assert_eq!(b.state_at(t2), BreakerState::Closed);
    }

    #[test]
    fn half_open_failure_reopens() {
        let b = breaker(1);
        let t = Instant::now();
        run(&b, t, true);
        let t2 = t + Duration::from_secs(5);
        b.try_acquire_at(t2).unwrap().record_at(true, t2);
        assert_eq!(b.state_at(t2), BreakerState::Open);
        assert!(b.try_acquire_at(t2 + Duration::from_secs(1)).is_err());
        assert!(b.try_acquire_at(t2 + Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn business_errors_are_not_failures() {
        let c = BreakerConfig::default();
        assert!(c.is_failure(&Status::unavailable("x")));
        assert!(c.is_failure(&Status::resource_exhausted("x")));
        assert!(c.is_failure(&Status::deadline_exceeded("x")));
        assert!(!c.is_failure(&Status::not_found("x")));
        assert!(!c.is_failure(&BizStatusError::new(1, "biz").into_status()));
        let mut biz = BizStatusError::new(2, "biz").into_status();
        // Even with a failure code, a business error is not a failure.
        biz = Status::with_metadata(Code::Unavailable, biz.message(), biz.metadata().clone());
        assert!(!c.is_failure(&biz));
    }
}
