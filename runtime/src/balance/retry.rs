//! Retries of ping-pong calls, opt-in and bounded by a budget.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::Code;

use super::breaker::{lock, Window};

/// Marks one request as idempotent (safe to send twice), for a client with
/// a [`RetryPolicy`]:
///
/// ```
/// use tonic_thrift::balance::Idempotent;
///
/// let mut request = tonic::Request::new(());
/// request.extensions_mut().insert(Idempotent);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Idempotent;

#[derive(Debug, Clone)]
enum Idempotency {
    None,
    All,
    Methods(Arc<HashSet<String>>),
}

/// Retries of ping-pong calls (`PingPongOptions::retry`). Streams and
/// calls over gRPC are never retried (as in Kitex: the request may be a
/// stream, and is gone once sent).
///
/// A failed attempt is tried again, on another instance when there is one
/// (the same one otherwise):
///
/// - when the request was **not sent**: the connection could not be made
///   or the request could not be written (the server cannot have seen it).
///   The picked instance is then also skipped for a while (see
///   `BalanceOptions::connect_backoff`);
/// - when it was sent and failed with one of the [`codes`](Self::codes)
///   (default `UNAVAILABLE`: the connection closed or failed before the
///   reply), **only if the call is idempotent**: its method is listed in
///   [`idempotent`](Self::idempotent), [`all_idempotent`](Self::all_idempotent)
///   is set, or the request carries the [`Idempotent`] extension.
///
/// Never retried: business status errors, declared exceptions, `oneway`
/// calls once written, and any attempt once the call's deadline has passed
/// (the deadline covers all attempts).
///
/// Attempts are bounded by [`max_attempts`](Self::max_attempts) (default 2:
/// one retry) and by a **budget**: over a sliding 10 s window, retries may
/// not exceed [`budget`](Self::budget) × calls (default 0.1) plus
/// [`min_retries`](Self::min_retries) (default 10), so that retries cannot
/// multiply the load on a failing service.
#[derive(Debug, Clone)]
#[must_use]
pub struct RetryPolicy {
    pub(crate) max_attempts: u32,
    pub(crate) ratio: f64,
    pub(crate) min_retries: u64,
    pub(crate) codes: Arc<HashSet<Code>>,
    idempotent: Idempotency,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 2,
            ratio: 0.1,
            min_retries: 10,
            codes: Arc::new([Code::Unavailable].into_iter().collect()),
            idempotent: Idempotency::None,
        }
    }
}

impl RetryPolicy {
    /// The defaults: 2 attempts, budget 10 % of calls + 10 per 10 s, code
    /// `UNAVAILABLE`, no method declared idempotent.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most attempts per call, the first included (default 2; 0 is
    /// taken as 1, which disables retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Retries allowed per call, as a ratio over a sliding 10 s window
    /// (default 0.1; negative or NaN is taken as 0).
    pub fn budget(mut self, ratio: f64) -> Self {
        self.ratio = if ratio.is_nan() { 0.0 } else { ratio.max(0.0) };
        self
    }

    /// Retries allowed per 10 s window whatever the ratio, so that a client
    /// with little traffic can retry too (default 10).
    pub fn min_retries(mut self, retries: u64) -> Self {
        self.min_retries = retries;
        self
    }

    /// The codes that make an idempotent call be tried again once it was
    /// sent (default `UNAVAILABLE`).
    pub fn codes(mut self, codes: impl IntoIterator<Item = Code>) -> Self {
        self.codes = Arc::new(codes.into_iter().collect());
        self
    }

    /// Declares these methods (IDL names) idempotent.
    pub fn idempotent<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        let mut set = match &self.idempotent {
            Idempotency::Methods(m) => (**m).clone(),
            _ => HashSet::new(),
        };
        set.extend(methods.into_iter().map(Into::into));
        if !matches!(self.idempotent, Idempotency::All) {
            self.idempotent = Idempotency::Methods(Arc::new(set));
        }
        self
    }

    /// Declares every method idempotent.
    pub fn all_idempotent(mut self) -> Self {
        self.idempotent = Idempotency::All;
        self
    }

    /// Whether calls of `method` are idempotent by this policy.
    pub fn is_idempotent(&self, method: &str) -> bool {
        match &self.idempotent {
            Idempotency::None => false,
            Idempotency::All => true,
            Idempotency::Methods(m) => m.contains(method),
        }
    }
}

/// The budget of one client: calls (a) and retries (b) over 10 s.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    ratio: f64,
    min_retries: u64,
    window: Mutex<Window>,
}

impl RetryBudget {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        RetryBudget {
            ratio: policy.ratio,
            min_retries: policy.min_retries,
            window: Mutex::new(Window::new(Duration::from_secs(10), 10, Instant::now())),
        }
    }

    /// Counts a call.
    pub(crate) fn deposit(&self) {
        lock(&self.window).add(Instant::now(), 1, 0);
    }

    /// Takes one retry from the budget, if it allows one.
    pub(crate) fn try_withdraw(&self) -> bool {
        let now = Instant::now();
        let mut w = lock(&self.window);
        let (calls, retries) = w.totals(now);
        let allowed = self.min_retries as f64 + self.ratio * calls as f64;
        if (retries + 1) as f64 <= allowed {
            w.add(now, 0, 1);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_bounds_retries() {
        let b = RetryBudget::new(&RetryPolicy::new().budget(0.5).min_retries(0));
        let mut retries = 0;
        for _ in 0..100 {
            b.deposit();
            if b.try_withdraw() {
                retries += 1;
            }
        }
        assert_eq!(retries, 50);
        let none = RetryBudget::new(&RetryPolicy::new().budget(0.0).min_retries(0));
        none.deposit();
        assert!(!none.try_withdraw());
        let floor = RetryBudget::new(&RetryPolicy::new().budget(0.0).min_retries(3));
        assert_eq!((0..10).filter(|_| floor.try_withdraw()).count(), 3);
    }

    #[test]
    fn idempotency() {
        let p = RetryPolicy::new().idempotent(["Get"]);
        assert!(p.is_idempotent("Get"));
        assert!(!p.is_idempotent("Put"));
        assert!(RetryPolicy::new().all_idempotent().is_idempotent("Put"));
        assert!(!RetryPolicy::new().is_idempotent("Get"));
    }
}
