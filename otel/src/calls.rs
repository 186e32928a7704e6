//! One call's span and measurements, on either side: the middleware layer
//! that opens the span (it sees the headers: the caller's trace context on
//! a server, the place to write it on a client) and the tracer that hears
//! the call's messages and its end (it sees sizes, counts and the final
//! status). The two meet in a table of calls in flight, keyed by the
//! call's `CallInfo`, which the runtime shares between a call's layers and
//! its tracer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use opentelemetry::global::BoxedTracer;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{
    FutureExt as _, SpanKind, Status as SpanStatus, TraceContextExt, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use tonic::Code;
use tonic_thrift::call::{
    Call, CallFuture, CallInfo, CallKind, CallResponse, CallService, Transport,
};
use tonic_thrift::observe::{CallEnd, Direction, MessageEvent, Tracer};
use tonic_thrift::transport::{Framing, TTHeader};

use crate::keys;
use crate::metrics::{Instruments, Side};
use crate::propagation;

/// What one side (server or client) of a [`Telemetry`](crate::Telemetry)
/// shares between its layer and its tracer.
pub(crate) struct Shared {
    pub(crate) side: Side,
    pub(crate) tracer: Option<Arc<BoxedTracer>>,
    pub(crate) instruments: Option<Instruments>,
    pub(crate) propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    pub(crate) identity: Vec<(&'static str, String)>,
    pub(crate) grpc_metadata: bool,
    calls: Mutex<HashMap<usize, CallState>>,
}

impl Shared {
    pub(crate) fn new(
        side: Side,
        tracer: Option<Arc<BoxedTracer>>,
        instruments: Option<Instruments>,
        propagator: Arc<dyn TextMapPropagator + Send + Sync>,
        identity: Vec<(&'static str, String)>,
        grpc_metadata: bool,
    ) -> Self {
        Shared {
            side,
            tracer,
            instruments,
            propagator,
            identity,
            grpc_metadata,
            calls: Mutex::new(HashMap::new()),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, HashMap<usize, CallState>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call in flight.
struct CallState {
    start: SystemTime,
    /// The context holding the call's span, once the layer opened it.
    cx: Option<Context>,
    /// Message events heard before the span was opened (a ping-pong server
    /// decodes the request before its middleware runs).
    pending: Vec<(&'static str, SystemTime, Vec<KeyValue>)>,
    sent_bytes: u64,
    received_bytes: u64,
    peer_service: Option<String>,
}

/// The key of a call in the table: the address of its `CallInfo`, which
/// the runtime allocates once per call and shares between the call's
/// layers and its tracer; the entry goes when the call ends, before that
/// allocation can be reused.
fn key(info: &CallInfo) -> usize {
    info as *const CallInfo as usize
}

fn streaming(kind: CallKind) -> bool {
    matches!(
        kind,
        CallKind::ClientStreaming | CallKind::ServerStreaming | CallKind::Bidi
    )
}

/// The attributes every instrument and span of a call carries (static
/// strings: building them allocates nothing).
fn base_attributes(info: &CallInfo) -> [KeyValue; 4] {
    [
        KeyValue::new(keys::RPC_SYSTEM, keys::RPC_SYSTEM_KITEX),
        KeyValue::new(keys::RPC_SERVICE, info.service),
        KeyValue::new(keys::RPC_METHOD, info.method),
        KeyValue::new(keys::REQUEST_PROTOCOL, transport_name(info.transport)),
    ]
}

/// The transport as `request.protocol` names it (Kitex's names, as the
/// runtime's `Transport` displays them).
fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Grpc => "GRPC",
        Transport::PingPong(Framing::TTHeader {
            inner_framed: false,
        }) => "TTHeader",
        Transport::PingPong(Framing::TTHeader { inner_framed: true }) => "TTHeader|Framed",
        Transport::PingPong(Framing::Framed) => "Framed",
        Transport::PingPong(Framing::Buffered) => "PurePayload",
        Transport::PingPong(Framing::THeader) => "THeader",
        Transport::TTHeaderStreaming => "TTHeaderStreaming",
    }
}

/// Instrumentation of one side: install it as both the middleware layer
/// and the tracer of a server or client (`.layer(i.clone()).tracer(i)`).
/// Made by [`Telemetry::server`](crate::Telemetry::server) and
/// [`Telemetry::client`](crate::Telemetry::client).
#[derive(Clone)]
pub struct Instrumentation {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Instrumentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumentation")
            .field("side", &self.shared.side)
            .field("tracing", &self.shared.tracer.is_some())
            .field("metrics", &self.shared.instruments.is_some())
            .finish()
    }
}

impl Tracer for Instrumentation {
    fn on_start(&self, info: &CallInfo) {
        let s = &self.shared;
        s.calls().insert(
            key(info),
            CallState {
                start: SystemTime::now(),
                cx: None,
                pending: Vec::new(),
                sent_bytes: 0,
                received_bytes: 0,
                peer_service: None,
            },
        );
        if let (Some(m), true) = (&s.instruments, streaming(info.kind)) {
            m.active_streams.add(1, &base_attributes(info));
        }
    }

    fn on_message(&self, info: &CallInfo, event: &MessageEvent) {
        let s = &self.shared;
        let request = matches!(
            (s.side, event.direction),
            (Side::Server, Direction::Recv) | (Side::Client, Direction::Send)
        );
        if let Some(m) = &s.instruments {
            let size = if request {
                &m.request_size
            } else {
                &m.response_size
            };
            size.record(event.size as u64, &base_attributes(info));
        }
        let mut calls = s.calls();
        let Some(state) = calls.get_mut(&key(info)) else {
            return;
        };
        match event.direction {
            Direction::Send => state.sent_bytes += event.size as u64,
            Direction::Recv => state.received_bytes += event.size as u64,
        }
        if s.tracer.is_none() || !streaming(info.kind) {
            return;
        }
        let (name, kind) = match event.direction {
            Direction::Send => (keys::EVENT_STREAM_SEND, "SENT"),
            Direction::Recv => (keys::EVENT_STREAM_RECV, "RECEIVED"),
        };
        let attributes = vec![
            KeyValue::new(keys::MESSAGE_TYPE, kind),
            KeyValue::new(keys::MESSAGE_ID, event.count as i64),
            KeyValue::new(keys::MESSAGE_UNCOMPRESSED_SIZE, event.size as i64),
        ];
        match &state.cx {
            Some(cx) => cx.span().add_event(name, attributes),
            None => state.pending.push((name, SystemTime::now(), attributes)),
        }
    }

    fn on_finish(&self, info: &CallInfo, end: &CallEnd) {
        let s = &self.shared;
        let state = s.calls().remove(&key(info));
        let mut attributes = base_attributes(info).to_vec();
        if let Some(peer) = state.as_ref().and_then(|st| st.peer_service.clone()) {
            attributes.push(KeyValue::new(keys::PEER_SERVICE, peer));
        }
        if let Some(m) = &s.instruments {
            if streaming(info.kind) {
                // The same series `on_start` raised (no peer: not known then).
                m.active_streams.add(-1, &base_attributes(info));
            }
            let mut finished = attributes;
            finished.push(KeyValue::new(keys::RPC_GRPC_STATUS_CODE, end.code as i64));
            finished.push(KeyValue::new(
                keys::STATUS_CODE,
                if end.code == Code::Ok {
                    "Unset"
                } else {
                    "Error"
                },
            ));
            m.duration
                .record(end.duration.as_secs_f64() * 1000.0, &finished);
            let (requests, responses) = match s.side {
                Side::Server => (end.received, end.sent),
                Side::Client => (end.sent, end.received),
            };
            m.requests_per_rpc.record(requests, &finished);
            m.responses_per_rpc.record(responses, &finished);
            if let Some(st) = &state {
                let (requests, responses) = match s.side {
                    Side::Server => (st.received_bytes, st.sent_bytes),
                    Side::Client => (st.sent_bytes, st.received_bytes),
                };
                m.request_size_per_rpc.record(requests, &finished);
                m.response_size_per_rpc.record(responses, &finished);
            }
        }
        let Some(cx) = state.and_then(|st| st.cx.map(|cx| (cx, st.sent_bytes, st.received_bytes)))
        else {
            return;
        };
        let (cx, sent, received) = cx;
        let span = cx.span();
        span.set_attributes([
            KeyValue::new(keys::KITEX_SEND_SIZE, sent as i64),
            KeyValue::new(keys::KITEX_RECV_SIZE, received as i64),
            KeyValue::new(keys::RPC_GRPC_STATUS_CODE, end.code as i64),
        ]);
        if end.code != Code::Ok {
            span.set_status(SpanStatus::error(format!(
                "{:?}: {}",
                end.code, end.message
            )));
        }
        span.end();
    }
}

impl tower_layer::Layer<CallService> for Instrumentation {
    type Service = Instrumented;

    fn layer(&self, inner: CallService) -> Instrumented {
        Instrumented {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The middleware an [`Instrumentation`] puts around each call: it opens
/// the call's span, reads or writes the trace context, and runs the rest
/// of the call with the span as the current OpenTelemetry context.
#[derive(Clone)]
pub struct Instrumented {
    inner: CallService,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Instrumented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumented")
            .field("side", &self.shared.side)
            .finish_non_exhaustive()
    }
}

impl tower_service::Service<Call> for Instrumented {
    type Response = CallResponse;
    type Error = tonic::Status;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), tonic::Status>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: Call) -> Self::Future {
        let Some(tracer) = &self.shared.tracer else {
            return Box::pin(self.inner.call(call));
        };
        let (cx, tracked) = match self.shared.side {
            Side::Server => self.open_server_span(tracer, &call),
            Side::Client => self.open_client_span(tracer, &mut call),
        };
        let run = self.inner.call(call).with_context(cx.clone());
        if tracked {
            return Box::pin(run);
        }
        // Installed as a layer without its tracer: nothing else will end
        // the span, so it ends with the call's future (a stream's span
        // then covers its opening only).
        Box::pin(async move {
            let result = run.await;
            let span = cx.span();
            if let Err(status) = &result {
                span.set_status(SpanStatus::error(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
            span.end();
            result
        })
    }
}

impl Instrumented {
    /// Hands the call's span to its tracer (which ends it), with the
    /// message events heard so far; false when no tracer registered the
    /// call (the layer was installed alone).
    fn attach(&self, info: &CallInfo, cx: &Context, peer: Option<String>) -> bool {
        let mut calls = self.shared.calls();
        let Some(state) = calls.get_mut(&key(info)) else {
            return false;
        };
        let span = cx.span();
        for (name, at, attributes) in state.pending.drain(..) {
            span.add_event_with_timestamp(name, at, attributes);
        }
        state.peer_service = peer;
        state.cx = Some(cx.clone());
        true
    }

    fn start_time(&self, info: &CallInfo) -> SystemTime {
        self.shared
            .calls()
            .get(&key(info))
            .map(|s| s.start)
            .unwrap_or_else(SystemTime::now)
    }

    /// The server span, a child of the caller's, and whether its tracer
    /// took it.
    fn open_server_span(&self, tracer: &BoxedTracer, call: &Call) -> (Context, bool) {
        let info = call.info();
        let received =
            propagation::incoming_values(call.metadata(), call.extensions().get::<TTHeader>());
        let parent = propagation::extract(self.shared.propagator.as_ref(), &received);
        let mut attributes = base_attributes(info).to_vec();
        let peer = received.get(propagation::SERVICE_NAME_KEY).cloned();
        for (from, to) in [
            (propagation::SERVICE_NAME_KEY, keys::PEER_SERVICE),
            (
                propagation::SERVICE_NAMESPACE_KEY,
                keys::PEER_SERVICE_NAMESPACE,
            ),
            (
                propagation::DEPLOYMENT_ENVIRONMENT_KEY,
                keys::PEER_DEPLOYMENT_ENVIRONMENT,
            ),
        ] {
            if let Some(v) = received.get(from) {
                attributes.push(KeyValue::new(to, v.clone()));
            }
        }
        let span = tracer
            .span_builder(span_name(info))
            .with_kind(SpanKind::Server)
            .with_start_time(self.start_time(info))
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);
        let tracked = self.attach(info, &cx, peer);
        (cx, tracked)
    }

    /// The client span, a child of the current context, with its trace
    /// context written into the call; and whether its tracer took it.
    fn open_client_span(&self, tracer: &BoxedTracer, call: &mut Call) -> (Context, bool) {
        let parent = Context::current();
        let info = call.info();
        let span = tracer
            .span_builder(span_name(info))
            .with_kind(SpanKind::Client)
            .with_start_time(self.start_time(info))
            .with_attributes(base_attributes(info))
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);
        let values = propagation::outgoing_values(
            self.shared.propagator.as_ref(),
            &cx,
            &self.shared.identity,
        );
        match info.transport {
            Transport::Grpc => {
                propagation::write_grpc(&values, call.metadata_mut(), self.shared.grpc_metadata)
            }
            Transport::PingPong(Framing::TTHeader { .. } | Framing::THeader)
            | Transport::TTHeaderStreaming => {
                let strings = propagation::ttheader_strings(&values);
                call.extensions_mut().insert(strings);
            }
            // Framed and Buffered carry no header: nothing travels.
            _ => {}
        }
        let tracked = self.attach(call.info(), &cx, None);
        (cx, tracked)
    }
}

/// Kitex's span name: `Service/Method`.
fn span_name(info: &CallInfo) -> String {
    format!("{}/{}", info.service, info.method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_names_are_the_runtime_s_display_names() {
        for t in [
            Transport::Grpc,
            Transport::PingPong(Framing::TTHeader {
                inner_framed: false,
            }),
            Transport::PingPong(Framing::TTHeader { inner_framed: true }),
            Transport::PingPong(Framing::Framed),
            Transport::PingPong(Framing::Buffered),
            Transport::PingPong(Framing::THeader),
            Transport::TTHeaderStreaming,
        ] {
            assert_eq!(transport_name(t), t.to_string());
        }
    }
}
