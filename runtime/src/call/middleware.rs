//! What servers and clients install around their calls: middleware layers,
//! message hooks and tracers. [`Middleware`] holds them for a generated
//! server, [`GrpcOptions`](crate::grpc::GrpcOptions) and
//! [`PingPongOptions`](crate::pingpong::PingPongOptions) alike, and starts
//! each call with them.

use std::fmt;
use std::sync::Arc;

use super::invoke::{no_read_hooks, Invoke};
use super::{CallInfo, CallLayer, CallService};
use crate::observe::{CallObserver, MessageHook, Observers, Tracer};

/// A stack of middleware layers, type-erased: applied to the innermost
/// service of each call.
#[derive(Clone, Default)]
pub(crate) struct LayerStack {
    layers: Vec<Arc<dyn Fn(CallService) -> CallService + Send + Sync>>,
}

impl fmt::Debug for LayerStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerStack({} layers)", self.layers.len())
    }
}

impl LayerStack {
    /// Adds a layer; the first added is the outermost.
    fn push<L: CallLayer>(&mut self, layer: L) {
        self.layers
            .push(Arc::new(move |inner| CallService::new(layer.layer(inner))));
    }

    /// True when no layer is installed (calls skip the stack entirely).
    fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Wraps `inner` in every layer.
    pub(crate) fn wrap(&self, inner: CallService) -> CallService {
        self.layers.iter().rev().fold(inner, |svc, l| l(svc))
    }
}

/// The layers, message hooks and tracers of one server or client.
#[derive(Debug, Clone, Default)]
pub(crate) struct Middleware {
    layers: LayerStack,
    observers: Arc<Observers>,
}

impl Middleware {
    /// Adds a middleware layer; the first added runs outermost.
    pub(crate) fn push_layer<L: CallLayer>(&mut self, layer: L) {
        self.layers.push(layer);
    }

    /// Adds a per-message hook.
    pub(crate) fn add_message_hook(&mut self, hook: impl MessageHook) {
        Arc::make_mut(&mut self.observers).add_hook(hook);
    }

    /// Adds a tracer.
    pub(crate) fn add_tracer(&mut self, tracer: impl Tracer) {
        Arc::make_mut(&mut self.observers).add_tracer(tracer);
    }

    /// Starts a call: its observer (`None` when nothing observes it) and
    /// what it runs through besides its handler (no read hooks, no
    /// deadline: the server sets those).
    pub(crate) fn start(&self, info: Arc<CallInfo>) -> (Invoke, Option<Arc<CallObserver>>) {
        let observer = self.observers.start(info.clone());
        let invoke = Invoke {
            info,
            layers: (!self.layers.is_empty()).then(|| self.layers.clone()),
            read_hooks: no_read_hooks(),
            deadline: None,
        };
        (invoke, observer)
    }

    /// Starts a client call, or returns `None` when no layer would run and
    /// nothing would observe it: such a call goes straight out, without
    /// even building its [`CallInfo`].
    pub(crate) fn start_client(
        &self,
        info: impl FnOnce() -> CallInfo,
    ) -> Option<(Invoke, Option<Arc<CallObserver>>)> {
        if self.layers.is_empty() && self.observers.is_idle() {
            return None;
        }
        Some(self.start(Arc::new(info())))
    }
}
