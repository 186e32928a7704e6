//! Per-message hooks, tracers and `tracing` output: what happens inside a
//! call after it is created.
//!
//! - A [`MessageHook`] sees every message a stream receives or sends, with its
//!   encoded size, and may fail the stream (like Kitex's
//!   `WithStreamRecvMiddleware` / `WithStreamSendMiddleware`).
//! - A [`Tracer`] hears when a call starts, each message, and how the call
//!   ended with its statistics (like a Kitex `stats.Tracer` with the
//!   `stats.StreamRecv` / `stats.StreamSend` events and
//!   `rpcinfo.RPCStats`' `LastSendSize` / `LastRecvSize`).
//! - Without hooks, tracers or an enabled `tracing` subscriber, a call
//!   carries no observer at all and the message path does no extra work.
//!
//! `tracing` output: an event `call started` / `call finished` (target
//! `tonic_thrift::call`, level DEBUG, with service, method, transport, peer,
//! status code, duration and message counts), and one event per message
//! (target `tonic_thrift::message`, level TRACE, with direction and size).
//!
//! ```
//! use std::any::Any;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//!
//! use tonic::Status;
//! use tonic_thrift::call::CallInfo;
//! use tonic_thrift::grpc::GrpcOptions;
//! use tonic_thrift::observe::{CallEnd, MessageHook, Tracer};
//!
//! /// Ends a stream that receives a message over `0` bytes.
//! struct MaxRecv(usize);
//!
//! impl MessageHook for MaxRecv {
//!     fn on_recv(&self, info: &CallInfo, _: &dyn Any, size: usize) -> Result<(), Status> {
//!         if size > self.0 {
//!             return Err(Status::resource_exhausted(format!(
//!                 "{}: a {size}-byte message is over {} bytes",
//!                 info.method, self.0
//!             )));
//!         }
//!         Ok(())
//!     }
//! }
//!
//! /// Counts calls that did not end OK.
//! #[derive(Clone, Default)]
//! struct Failures(Arc<AtomicU64>);
//!
//! impl Tracer for Failures {
//!     fn on_finish(&self, _: &CallInfo, end: &CallEnd) {
//!         if end.code != tonic::Code::Ok {
//!             self.0.fetch_add(1, Ordering::Relaxed);
//!         }
//!     }
//! }
//!
//! let failures = Failures::default();
//! let options = GrpcOptions::default()
//!     .message_hook(MaxRecv(64 * 1024))
//!     .tracer(failures.clone());
//! // Generated servers take the same: `TestServiceServer::new(h).message_hook(..).tracer(..)`.
//! # let _ = options;
//! ```

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::{Code, Status};

use crate::call::CallInfo;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the peer.
    Recv,
    /// Sent to the peer.
    Send,
}

/// Sees each message of a call and its encoded size.
///
/// Returning an error ends the stream with that status.
pub trait MessageHook: Send + Sync + 'static {
    /// A message was received and decoded.
    fn on_recv(&self, info: &CallInfo, message: &dyn Any, size: usize) -> Result<(), Status> {
        let _ = (info, message, size);
        Ok(())
    }

    /// A message is being sent (already encoded).
    fn on_send(&self, info: &CallInfo, message: &dyn Any, size: usize) -> Result<(), Status> {
        let _ = (info, message, size);
        Ok(())
    }
}

/// One message event reported to tracers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageEvent {
    /// Which way it went.
    pub direction: Direction,
    /// Its encoded size in bytes (the Thrift payload, without the gRPC prefix).
    pub size: usize,
    /// How many messages went that way so far, this one included.
    pub count: u64,
}

/// How a call ended, with its statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// The final status code (`Ok` on success).
    pub code: Code,
    /// The status message (empty on success).
    pub message: String,
    /// From creation to the end.
    pub duration: Duration,
    /// Messages sent.
    pub sent: u64,
    /// Messages received.
    pub received: u64,
    /// Size of the last message sent (Kitex's `RPCStats.LastSendSize`).
    pub last_send_size: usize,
    /// Size of the last message received (Kitex's `RPCStats.LastRecvSize`).
    pub last_recv_size: usize,
}

/// A custom tracer: hears about every call of the service or client it is
/// installed on.
pub trait Tracer: Send + Sync + 'static {
    /// A call or stream was created.
    fn on_start(&self, info: &CallInfo) {
        let _ = info;
    }

    /// A message was sent or received.
    fn on_message(&self, info: &CallInfo, event: &MessageEvent) {
        let _ = (info, event);
    }

    /// The call ended.
    fn on_finish(&self, info: &CallInfo, end: &CallEnd) {
        let _ = (info, end);
    }
}

/// The `tracing` span of a call: handlers and middleware run inside it, so
/// their own events carry the service, method, transport and peer.
pub(crate) fn call_span(info: &CallInfo) -> tracing::Span {
    tracing::debug_span!(
        target: "tonic_thrift::call",
        "call",
        service = info.service,
        method = info.method,
        transport = %info.transport,
        peer = ?info.peer,
    )
}

/// The hooks and tracers installed on a service or a client.
#[derive(Clone, Default)]
pub(crate) struct Observers {
    hooks: Vec<Arc<dyn MessageHook>>,
    tracers: Vec<Arc<dyn Tracer>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("hooks", &self.hooks.len())
            .field("tracers", &self.tracers.len())
            .finish()
    }
}

impl Observers {
    /// Adds a message hook.
    pub(crate) fn add_hook(&mut self, hook: impl MessageHook) {
        self.hooks.push(Arc::new(hook));
    }

    /// Adds a tracer.
    pub(crate) fn add_tracer(&mut self, tracer: impl Tracer) {
        self.tracers.push(Arc::new(tracer));
    }

    /// True when nothing would observe a call: no hook, no tracer, and
    /// `tracing` disabled for this crate's targets.
    pub(crate) fn is_idle(&self) -> bool {
        self.hooks.is_empty()
            && self.tracers.is_empty()
            && !tracing::enabled!(target: "tonic_thrift::call", tracing::Level::DEBUG)
            && !tracing::enabled!(target: "tonic_thrift::message", tracing::Level::TRACE)
    }

    /// Starts observing a call, or `None` when nothing would observe it
    /// (no hook, no tracer, `tracing` disabled for these targets).
    pub(crate) fn start(self: &Arc<Self>, info: Arc<CallInfo>) -> Option<Arc<CallObserver>> {
        let log_calls = tracing::enabled!(target: "tonic_thrift::call", tracing::Level::DEBUG);
        let log_messages =
            tracing::enabled!(target: "tonic_thrift::message", tracing::Level::TRACE);
        if self.hooks.is_empty() && self.tracers.is_empty() && !log_calls && !log_messages {
            return None;
        }
        if log_calls {
            tracing::debug!(
                target: "tonic_thrift::call",
                service = info.service,
                method = info.method,
                transport = %info.transport,
                peer = ?info.peer,
                "call started"
            );
        }
        for t in &self.tracers {
            t.on_start(&info);
        }
        Some(Arc::new(CallObserver {
            info,
            observers: self.clone(),
            start: Instant::now(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            last_send: AtomicU64::new(0),
            last_recv: AtomicU64::new(0),
            end: Mutex::new(None),
            hook_error: Mutex::new(None),
            log_calls,
            log_messages,
        }))
    }
}

/// Observes one call: counts its messages, runs hooks and tracers, and
/// reports the end once.
pub(crate) struct CallObserver {
    info: Arc<CallInfo>,
    observers: Arc<Observers>,
    start: Instant,
    sent: AtomicU64,
    received: AtomicU64,
    last_send: AtomicU64,
    last_recv: AtomicU64,
    /// The final status, once known.
    end: Mutex<Option<(Code, String)>>,
    /// The status a message hook failed the call with.
    hook_error: Mutex<Option<Status>>,
    log_calls: bool,
    log_messages: bool,
}

impl std::fmt::Debug for CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallObserver")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl CallObserver {
    /// Reports one message; a hook's error (or panic) ends the stream with
    /// that status, which is also kept as [`CallObserver::hook_error`].
    pub(crate) fn message(
        &self,
        direction: Direction,
        message: &dyn Any,
        size: usize,
    ) -> Result<(), Status> {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.message_inner(direction, message, size)
        }))
        .unwrap_or_else(|_| {
            tracing::error!(
                service = self.info.service,
                method = self.info.method,
                "a message hook or tracer panicked; the call fails with INTERNAL"
            );
            Err(Status::internal(format!(
                "a message hook failed while handling `{}.{}`",
                self.info.service, self.info.method
            )))
        });
        if let Err(status) = &outcome {
            if let Ok(mut slot) = self.hook_error.lock() {
                slot.get_or_insert_with(|| status.clone());
            }
        }
        outcome
    }

    /// The status a message hook ended the call with, if one did.
    pub(crate) fn hook_error(&self) -> Option<Status> {
        self.hook_error.lock().ok().and_then(|s| s.clone())
    }

    fn message_inner(
        &self,
        direction: Direction,
        message: &dyn Any,
        size: usize,
    ) -> Result<(), Status> {
        let (counter, last) = match direction {
            Direction::Recv => (&self.received, &self.last_recv),
            Direction::Send => (&self.sent, &self.last_send),
        };
        let count = counter.fetch_add(1, Ordering::Relaxed) + 1;
        last.store(size as u64, Ordering::Relaxed);
        if self.log_messages {
            tracing::trace!(
                target: "tonic_thrift::message",
                service = self.info.service,
                method = self.info.method,
                direction = ?direction,
                size,
                count,
                "message"
            );
        }
        let event = MessageEvent {
            direction,
            size,
            count,
        };
        for t in &self.observers.tracers {
            t.on_message(&self.info, &event);
        }
        for h in &self.observers.hooks {
            match direction {
                Direction::Recv => h.on_recv(&self.info, message, size)?,
                Direction::Send => h.on_send(&self.info, message, size)?,
            }
        }
        Ok(())
    }

    /// Records the call's final status (the first one recorded wins).
    pub(crate) fn set_status(&self, code: Code, message: impl Into<String>) {
        if let Ok(mut end) = self.end.lock() {
            if end.is_none() {
                *end = Some((code, message.into()));
            }
        }
    }

    /// Reports the end (called once, when the call's last resource is dropped).
    fn finish(&self) {
        let (code, message) = self.end.lock().ok().and_then(|mut e| e.take()).unwrap_or((
            Code::Cancelled,
            "the call ended without a status (cancelled or disconnected)".to_string(),
        ));
        let end = CallEnd {
            code,
            message,
            duration: self.start.elapsed(),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            last_send_size: self.last_send.load(Ordering::Relaxed) as usize,
            last_recv_size: self.last_recv.load(Ordering::Relaxed) as usize,
        };
        if self.log_calls {
            tracing::debug!(
                target: "tonic_thrift::call",
                service = self.info.service,
                method = self.info.method,
                transport = %self.info.transport,
                code = ?end.code,
                status_message = %end.message,
                duration_us = end.duration.as_micros() as u64,
                sent = end.sent,
                received = end.received,
                "call finished"
            );
        }
        for t in &self.observers.tracers {
            t.on_finish(&self.info, &end);
        }
    }
}

impl Drop for CallObserver {
    fn drop(&mut self) {
        self.finish();
    }
}
