//! [`ServiceConfig`]: the settings, middleware and counters a generated
//! `XxxServer` carries, shared by its clones and by both transports.

use std::sync::Arc;
use std::time::Instant;

use tonic::metadata::MetadataMap;
use tonic::Status;

use super::body::{ActiveCalls, CallGuard};
use crate::call::{CallInfo, CallLayer, Invoke, Middleware, ReadHook};
use crate::observe::{CallObserver, MessageHook, Tracer};
use crate::server::DEFAULT_MAX_DECODING_MESSAGE_SIZE;

/// Settings, middleware and counters of one generated server (shared by
/// its clones).
#[derive(Clone)]
pub struct ServiceConfig {
    pub(super) max_decoding_message_size: usize,
    pub(super) max_encoding_message_size: usize,
    pub(super) active: ActiveCalls,
    /// gRPC encodings accepted from clients and used for replies.
    pub(super) compression: crate::codec::Compression,
    middleware: Middleware,
    read_hooks: Arc<[ReadHook]>,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("max_decoding_message_size", &self.max_decoding_message_size)
            .field("max_encoding_message_size", &self.max_encoding_message_size)
            .field("active_calls", &self.active.get())
            .field("compression", &self.compression)
            .field("middleware", &self.middleware)
            .field("read_hooks", &self.read_hooks.len())
            .finish()
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_decoding_message_size: DEFAULT_MAX_DECODING_MESSAGE_SIZE,
            max_encoding_message_size: usize::MAX,
            active: ActiveCalls::default(),
            compression: Default::default(),
            middleware: Middleware::default(),
            read_hooks: Arc::from(Vec::new()),
        }
    }
}

impl ServiceConfig {
    /// Sets the largest message the server accepts (default 4 MiB); larger
    /// ones are refused with `RESOURCE_EXHAUSTED` before being buffered.
    pub fn set_max_decoding_message_size(&mut self, limit: usize) {
        self.max_decoding_message_size = limit;
    }

    /// The largest message the server accepts (see
    /// [`set_max_decoding_message_size`](Self::set_max_decoding_message_size)).
    pub(crate) fn max_decoding_message_size(&self) -> usize {
        self.max_decoding_message_size
    }

    /// Accepts gRPC messages compressed with `encoding` (features `gzip`,
    /// `zstd`), and says so in `grpc-accept-encoding`.
    pub fn accept_compressed(&mut self, encoding: tonic::codec::CompressionEncoding) {
        self.compression.accept(encoding);
    }

    /// Compresses replies with `encoding` when the client accepts it
    /// (`grpc-accept-encoding`); otherwise they go uncompressed.
    pub fn send_compressed(&mut self, encoding: tonic::codec::CompressionEncoding) {
        self.compression.send(encoding);
    }

    /// Sets the largest message the server sends (default unlimited).
    pub fn set_max_encoding_message_size(&mut self, limit: usize) {
        self.max_encoding_message_size = limit;
    }

    /// Calls and streams in progress: counted from the moment the request
    /// arrives until the response (for streams, the last message and
    /// trailers, or a reset) is gone.
    pub fn active_calls(&self) -> usize {
        self.active.get()
    }

    /// Adds a middleware layer (see [`crate::call`]); the first added runs
    /// outermost. Applies to gRPC and ping-pong calls alike.
    pub fn push_layer<L: CallLayer>(&mut self, layer: L) {
        self.middleware.push_layer(layer);
    }

    /// Adds a per-message hook (see [`crate::observe`]).
    pub fn add_message_hook(&mut self, hook: impl MessageHook) {
        self.middleware.add_message_hook(hook);
    }

    /// Adds a tracer (see [`crate::observe`]).
    pub fn add_tracer(&mut self, tracer: impl Tracer) {
        self.middleware.add_tracer(tracer);
    }

    /// Adds a hook on the request headers that runs before the middleware
    /// and the handler (like Kitex's `remote.StreamingMetaHandler.OnReadStream`).
    pub fn add_read_hook(
        &mut self,
        hook: impl Fn(&CallInfo, &mut MetadataMap, &mut tonic::Extensions) -> Result<(), Status>
            + Send
            + Sync
            + 'static,
    ) {
        let mut hooks: Vec<ReadHook> = self.read_hooks.iter().cloned().collect();
        hooks.push(Arc::new(hook));
        self.read_hooks = hooks.into();
    }

    /// Starts a call on this service, gRPC or ping-pong: counts it, starts
    /// its observer, and collects what it runs through.
    pub(crate) fn start(
        &self,
        info: Arc<CallInfo>,
        deadline: Option<Instant>,
    ) -> (Invoke, Option<Arc<CallObserver>>, CallGuard) {
        let guard = self.active.enter();
        let (mut invoke, observer) = self.middleware.start(info);
        invoke.read_hooks = self.read_hooks.clone();
        invoke.deadline = deadline;
        (invoke, observer, guard)
    }
}
