//! A token-bucket rate limit checked when a call or stream is created.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::Status;

use crate::call::{Call, CallFuture, CallResponse};

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Rate and burst of a limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Calls admitted per second on average.
    pub rate: f64,
    /// Calls admitted at once after a quiet period (bucket size), at least 1.
    pub burst: u32,
}

#[derive(Debug)]
struct Shared {
    limit: RateLimit,
    per_method: bool,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

impl Shared {
    /// Takes a token for `method`; false when the bucket is empty.
    fn admit(&self, method: &'static str) -> bool {
        let key = if self.per_method { method } else { "" };
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let burst = f64::from(self.limit.burst.max(1));
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.limit.rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Refuses calls over a token-bucket rate with `RESOURCE_EXHAUSTED` (over
/// ping-pong: a `TApplicationException` carrying the same message), checked
/// when a call or stream is created.
///
/// ```
/// use tonic_thrift::layer::RateLimitLayer;
/// // 100 calls per second on average, bursts of up to 20, one bucket per method.
/// let layer = RateLimitLayer::per_method(100.0, 20);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    shared: Arc<Shared>,
}

impl RateLimitLayer {
    /// One bucket for all the calls of the service the layer is installed on.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self::build(rate, burst, false)
    }

    /// One bucket per method.
    pub fn per_method(rate: f64, burst: u32) -> Self {
        Self::build(rate, burst, true)
    }

    fn build(rate: f64, burst: u32, per_method: bool) -> Self {
        RateLimitLayer {
            shared: Arc::new(Shared {
                limit: RateLimit {
                    rate: rate.max(0.0),
                    burst: burst.max(1),
                },
                per_method,
                buckets: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`RateLimitLayer`].
#[derive(Debug, Clone)]
pub struct RateLimitService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> tower_service::Service<Call> for RateLimitService<S>
where
    S: tower_service::Service<Call, Response = CallResponse, Error = Status>,
    S::Future: Send + 'static,
{
    type Response = CallResponse;
    type Error = Status;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call) -> CallFuture {
        let info = call.info();
        if !self.shared.admit(info.method) {
            let l = self.shared.limit;
            let scope = if self.shared.per_method {
                format!("{}.{}", info.service, info.method)
            } else {
                info.service.to_string()
            };
            let msg = format!(
                "rate limit exceeded for {scope}: {} calls/s, burst {}",
                l.rate, l.burst
            );
            return Box::pin(async move { Err(Status::resource_exhausted(msg)) });
        }
        Box::pin(self.inner.call(call))
    }
}
