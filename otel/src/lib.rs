//! OpenTelemetry tracing and metrics for tonic-thrift servers and clients,
//! on every transport (gRPC, ping-pong TTHeader/Framed/Buffered, TTHeader
//! Streaming), with the trace context carried the way Kitex's
//! obs-opentelemetry carries it, so that a Kitex → Rust → Kitex call is one
//! trace and a Rust service shows up on its Kitex neighbours' dashboards.
//!
//! A [`Telemetry`] holds the tracer, the meter and the propagator; its
//! [`server`](Telemetry::server) and [`client`](Telemetry::client) sides are
//! each installed as a middleware layer (which opens the call's span and
//! reads or writes the trace context) and as a tracer (which hears the
//! call's messages and end):
//!
//! ```
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use tonic_thrift::grpc::GrpcOptions;
//! use tonic_thrift::pingpong::PingPongOptions;
//! use tonic_thrift_otel::Telemetry;
//!
//! let provider = SdkTracerProvider::builder().build(); // add your exporter
//! let telemetry = Telemetry::builder()
//!     .tracer_provider(&provider)
//!     .service_name("echo-gateway")
//!     .build();
//! let grpc = telemetry.instrument_grpc(GrpcOptions::default());
//! let pingpong = telemetry.instrument_pingpong(PingPongOptions::default());
//! // A generated server: `TestServiceServer::new(h).layer(s.clone()).tracer(s)`
//! // with `let s = telemetry.server();`.
//! # let _ = (grpc, pingpong);
//! ```
//!
//! What it records:
//! - one span per call or stream on each side, named `Service/Method`
//!   (Kitex's name), of kind server or client, the server's span a child of
//!   the caller's; handlers run with the server span as the current
//!   OpenTelemetry [`Context`](opentelemetry::Context), so the calls they
//!   make through an instrumented client are its children;
//! - on a stream, one span event per message, `stream_send` /
//!   `stream_recv` (Kitex's `StreamSend` / `StreamRecv`), with its number
//!   and size ([`keys`]);
//! - the metrics listed in [`metrics`](crate#metrics), exported by the
//!   meter provider given, for example to Prometheus ([`PrometheusMetrics`]).
//!
//! How the trace context travels: see [`propagation`].
//!
//! Spans go straight to the `opentelemetry` tracer provider given. A
//! handler that logs through `tracing` with `tracing-opentelemetry` can
//! hang its own spans under the server span: set their parent to
//! `opentelemetry::Context::current()` (that crate's
//! `OpenTelemetrySpanExt::set_parent`).
//!
//! # Metrics
#![doc = include_str!("metrics.md")]
//!
//! # Cost when unused
//!
//! The runtime carries no observer for a call when no layer, tracer or
//! hook is installed: it does not even build the call's `CallInfo` on a
//! client. [`Telemetry::instrument_grpc`] and
//! [`Telemetry::instrument_pingpong`] install nothing when the telemetry has
//! neither a tracer provider nor a meter provider ([`Telemetry::is_enabled`]),
//! so an application that builds its telemetry from configuration with no
//! exporter keeps the uninstrumented path.

mod calls;
pub mod keys;
mod metrics;
mod prometheus;
pub mod propagation;

use std::sync::Arc;

use opentelemetry::global::BoxedTracer;
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::TracerProvider;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::pingpong::PingPongOptions;

pub use calls::{Instrumentation, Instrumented};
pub use prometheus::{PrometheusError, PrometheusMetrics};

use metrics::{Instruments, Side};

/// The instrumentation scope name of the spans and instruments.
pub const SCOPE_NAME: &str = "tonic-thrift-otel";

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Tracing and metrics for servers and clients: build one with
/// [`Telemetry::builder`], then install its [`server`](Telemetry::server)
/// and [`client`](Telemetry::client) sides.
#[derive(Clone, Debug)]
pub struct Telemetry {
    server: Instrumentation,
    client: Instrumentation,
    enabled: bool,
}

impl Telemetry {
    /// A builder: no tracer and no meter until given; W3C trace context and
    /// baggage as the propagator.
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// The server side: install it on a generated server as both its layer
    /// and its tracer (`.layer(s.clone()).tracer(s)`).
    pub fn server(&self) -> Instrumentation {
        self.server.clone()
    }

    /// The client side: install it on client options as both layer and
    /// tracer, or use [`instrument_grpc`](Telemetry::instrument_grpc) /
    /// [`instrument_pingpong`](Telemetry::instrument_pingpong).
    pub fn client(&self) -> Instrumentation {
        self.client.clone()
    }

    /// True when a tracer provider or a meter provider was given.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `options` with the client side installed (unchanged when not
    /// [enabled](Telemetry::is_enabled)).
    pub fn instrument_grpc(&self, options: GrpcOptions) -> GrpcOptions {
        if !self.enabled {
            return options;
        }
        options.layer(self.client()).tracer(self.client())
    }

    /// `options` with the client side installed (unchanged when not
    /// [enabled](Telemetry::is_enabled)).
    pub fn instrument_pingpong(&self, options: PingPongOptions) -> PingPongOptions {
        if !self.enabled {
            return options;
        }
        options.layer(self.client()).tracer(self.client())
    }
}

/// Configures a [`Telemetry`].
pub struct TelemetryBuilder {
    tracer: Option<Arc<BoxedTracer>>,
    meter: Option<Meter>,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    identity: Vec<(&'static str, String)>,
    grpc_metadata: bool,
}

impl std::fmt::Debug for TelemetryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryBuilder")
            .field("tracing", &self.tracer.is_some())
            .field("metrics", &self.meter.is_some())
            .field("identity", &self.identity)
            .field("grpc_metadata", &self.grpc_metadata)
            .finish_non_exhaustive()
    }
}

impl Default for TelemetryBuilder {
    fn default() -> Self {
        TelemetryBuilder {
            tracer: None,
            meter: None,
            propagator: Arc::new(TextMapCompositePropagator::new(vec![
                Box::new(TraceContextPropagator::new()),
                Box::new(BaggagePropagator::new()),
            ])),
            identity: Vec::new(),
            grpc_metadata: true,
        }
    }
}

impl TelemetryBuilder {
    /// Records spans through `provider` (an `SdkTracerProvider` with your
    /// exporter, for example).
    #[must_use]
    pub fn tracer_provider<P>(mut self, provider: &P) -> Self
    where
        P: TracerProvider,
        P::Tracer: Send + Sync + 'static,
        <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
    {
        self.tracer = Some(Arc::new(BoxedTracer::new(Box::new(
            provider.tracer_with_scope(scope()),
        ))));
        self
    }

    /// Records metrics through `provider` (for Prometheus:
    /// [`PrometheusMetrics::meter_provider`]).
    #[must_use]
    pub fn meter_provider<P: MeterProvider>(mut self, provider: &P) -> Self {
        self.meter = Some(provider.meter_with_scope(scope()));
        self
    }

    /// The propagator that writes and reads the trace context (default: W3C
    /// `traceparent` / `tracestate` and `baggage`). Kitex's
    /// obs-opentelemetry provider defaults to B3, OT, baggage and W3C
    /// together; give a composite with the same to talk to such peers.
    #[must_use]
    pub fn propagator(
        mut self,
        propagator: impl TextMapPropagator + Send + Sync + 'static,
    ) -> Self {
        self.propagator = Arc::new(propagator);
        self
    }

    /// This service's `service.name`, sent to the services it calls (they
    /// record it as `peer.service`).
    #[must_use]
    pub fn service_name(self, name: impl Into<String>) -> Self {
        self.identity(propagation::SERVICE_NAME_KEY, name.into())
    }

    /// This service's `service.namespace`, sent to the services it calls.
    #[must_use]
    pub fn service_namespace(self, namespace: impl Into<String>) -> Self {
        self.identity(propagation::SERVICE_NAMESPACE_KEY, namespace.into())
    }

    /// This service's `deployment.environment`, sent to the services it
    /// calls.
    #[must_use]
    pub fn deployment_environment(self, env: impl Into<String>) -> Self {
        self.identity(propagation::DEPLOYMENT_ENVIRONMENT_KEY, env.into())
    }

    fn identity(mut self, key: &'static str, value: String) -> Self {
        self.identity.retain(|(k, _)| *k != key);
        self.identity.push((key, value));
        self
    }

    /// Whether gRPC clients also send the trace context as plain metadata
    /// (`traceparent`), besides the metainfo form (`rpc-transit-traceparent`),
    /// for Kitex servers set up `WithEnableGRPCMetadata` (default: true).
    #[must_use]
    pub fn grpc_metadata(mut self, enabled: bool) -> Self {
        self.grpc_metadata = enabled;
        self
    }

    /// The telemetry.
    pub fn build(self) -> Telemetry {
        let enabled = self.tracer.is_some() || self.meter.is_some();
        let side = |side: Side| Instrumentation {
            shared: Arc::new(calls::Shared::new(
                side,
                self.tracer.clone(),
                self.meter.as_ref().map(|m| Instruments::new(m, side)),
                self.propagator.clone(),
                self.identity.clone(),
                self.grpc_metadata,
            )),
        };
        Telemetry {
            server: side(Side::Server),
            client: side(Side::Client),
            enabled,
        }
    }
}
