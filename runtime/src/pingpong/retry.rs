//! The ping-pong call after the middleware: encode the request once, then
//! attempts (each on the instance the balancer picks, skipping those tried)
//! until one succeeds, the failure is not retryable, the deadline passes or
//! the retry budget is spent.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tonic::{Request, Response, Status};

use super::client::{PingPongClient, Target};
use crate::balance::{Idempotent, Outcome};
use crate::method::{ThriftArgs, ThriftResult};
use crate::observe::{CallObserver, Direction};
use crate::BizStatusError;

/// How far an attempt got before it failed: decides retries and what the
/// breaker and the instance's health learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Refused on this side (a hook): not retried, not counted.
    Local,
    /// The connection could not be made: nothing was sent.
    Connect,
    /// The request could not be written whole: the server cannot act on it.
    Write,
    /// The request was sent: the server may have acted on it.
    Sent,
}

impl PingPongClient {
    /// The call after the middleware: the wire Result struct (with declared
    /// exceptions) or a status for everything else (transport, application
    /// exception, business error), after retries.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call_inner<A: ThriftArgs, R: ThriftResult>(
        &self,
        method: &'static str,
        request: Request<A::Input>,
        oneway: bool,
        timeout: Option<Duration>,
        deadline: Option<tokio::time::Instant>,
        observer: Option<Arc<CallObserver>>,
    ) -> Result<Response<R>, Status> {
        let inner = &self.inner;
        let seq_id = inner.seq.fetch_add(1, Ordering::Relaxed);
        let (meta, extensions, input) = request.into_parts();
        let args = A::from_input(input);
        let (frame, args_size) = self
            .encode_request::<A>(method, &args, seq_id, oneway, timeout, &extensions)
            .map_err(Status::internal)?;
        // The send hook sees the Args once per call, whatever the retries.
        if let Some(o) = &observer {
            o.message(Direction::Send, &args, args_size)?;
        }
        drop(args);
        let retry = inner.options.retry.as_ref();
        let idempotent = retry.is_some_and(|p| p.is_idempotent(method))
            || extensions.get::<Idempotent>().is_some();
        if let Some(b) = &inner.budget {
            b.deposit();
        }
        let mut tried = Vec::new();
        let mut attempts = 0u32;
        // The failure being retried: reported if the retry finds no instance.
        let mut last: Option<Status> = None;
        loop {
            attempts += 1;
            let (pool, picked) = match &inner.target {
                Target::Single(pool) => (pool.clone(), None),
                Target::Balanced(cluster) => {
                    let request = crate::balance::PickRequest::new(
                        inner.service,
                        method,
                        meta.as_ref(),
                        &extensions,
                    );
                    match cluster.pick(&request, &tried).await {
                        Ok(p) => (p.state.conn.clone(), Some(p)),
                        Err(s) => return Err(last.unwrap_or(s)),
                    }
                }
            };
            let result = self
                .attempt::<R>(
                    &pool,
                    &frame,
                    method,
                    seq_id,
                    oneway,
                    deadline,
                    observer.as_ref(),
                )
                .await;
            if let (Target::Balanced(cluster), Some(p)) = (&inner.target, picked) {
                let outcome = match &result {
                    Ok(_) => Outcome::Success,
                    Err((_, Stage::Local)) => Outcome::Neutral,
                    Err((_, Stage::Connect)) => Outcome::ConnectFailure,
                    Err((_, Stage::Write)) => Outcome::Failure,
                    Err((s, Stage::Sent)) if cluster.is_failure(s) => Outcome::Failure,
                    Err((_, Stage::Sent)) => Outcome::Success,
                };
                tried.push(p.state.clone());
                cluster.report(p, outcome);
            }
            let (status, stage) = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let Some(policy) = retry else {
                return Err(status);
            };
            let retryable = match stage {
                Stage::Local => false,
                Stage::Connect | Stage::Write => true,
                Stage::Sent => {
                    !oneway
                        && idempotent
                        && policy.codes.contains(&status.code())
                        && BizStatusError::from_status(&status).is_none()
                }
            };
            let in_time = deadline.is_none_or(|d| tokio::time::Instant::now() < d);
            if !(retryable
                && in_time
                && attempts < policy.max_attempts
                && inner.budget.as_ref().is_some_and(|b| b.try_withdraw()))
            {
                return Err(status);
            }
            tracing::debug!(
                method,
                attempt = attempts + 1,
                error = %status,
                "retrying a ping-pong call"
            );
            last = Some(status);
        }
    }
}
