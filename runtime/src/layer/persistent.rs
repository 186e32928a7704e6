//! How a server passes on the persistent metainfo its callers send.

use std::task::{Context, Poll};

use tonic::Status;

use crate::call::{Call, CallFuture, CallResponse};
use crate::metainfo::{
    ForwardPolicy, MetaInfo, DEFAULT_MAX_PERSISTENT_BYTES, DEFAULT_MAX_PERSISTENT_VALUES,
};

/// Sets how a server passes on the persistent metainfo values its callers
/// send (see [`crate::metainfo`]): caps on how many and how many bytes, or,
/// at a trust boundary (a service that takes calls from outside), none at
/// all.
///
/// A server layer (`XxxServer::layer`). Without it a server passes on at
/// most [`DEFAULT_MAX_PERSISTENT_VALUES`] values of at most
/// [`DEFAULT_MAX_PERSISTENT_BYTES`] bytes in all; values over a cap are
/// dropped with a `tracing` warning and the call goes on.
///
/// ```
/// use tonic_thrift::layer::PersistentMetaInfoLayer;
/// // An edge service: callers' persistent values neither reach the
/// // handler nor travel on to the services it calls.
/// let edge = PersistentMetaInfoLayer::strip_from_callers();
/// // An internal service that carries more context than the default.
/// let roomy = PersistentMetaInfoLayer::new().max_values(128).max_bytes(8 * 1024);
/// # let _ = (edge, roomy);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistentMetaInfoLayer {
    strip: bool,
    policy: ForwardPolicy,
}

impl Default for PersistentMetaInfoLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl PersistentMetaInfoLayer {
    /// Pass callers' persistent values on, within the default caps
    /// ([`DEFAULT_MAX_PERSISTENT_VALUES`], [`DEFAULT_MAX_PERSISTENT_BYTES`]).
    pub fn new() -> Self {
        PersistentMetaInfoLayer {
            strip: false,
            policy: ForwardPolicy {
                max_values: DEFAULT_MAX_PERSISTENT_VALUES,
                max_bytes: DEFAULT_MAX_PERSISTENT_BYTES,
            },
        }
    }

    /// Drop every persistent value a caller sends, on arrival: the handler
    /// does not see them (neither in [`MetaInfo`] nor as `rpc-persist-*`
    /// metadata) and the calls it makes do not carry them. Values the
    /// handler sets itself still travel on.
    pub fn strip_from_callers() -> Self {
        PersistentMetaInfoLayer {
            strip: true,
            ..Self::new()
        }
    }

    /// Most persistent values passed on (default
    /// [`DEFAULT_MAX_PERSISTENT_VALUES`], 64).
    #[must_use]
    pub fn max_values(mut self, n: usize) -> Self {
        self.policy.max_values = n;
        self
    }

    /// Most bytes of persistent values, keys plus values, passed on
    /// (default [`DEFAULT_MAX_PERSISTENT_BYTES`], 4 KiB).
    #[must_use]
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.policy.max_bytes = n;
        self
    }
}

impl<S> tower_layer::Layer<S> for PersistentMetaInfoLayer {
    type Service = PersistentMetaInfo<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PersistentMetaInfo {
            inner,
            layer: *self,
        }
    }
}

/// The service of [`PersistentMetaInfoLayer`].
#[derive(Debug, Clone)]
pub struct PersistentMetaInfo<S> {
    inner: S,
    layer: PersistentMetaInfoLayer,
}

impl<S> tower_service::Service<Call> for PersistentMetaInfo<S>
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

    fn call(&mut self, mut call: Call) -> CallFuture {
        if self.layer.strip {
            if let Some(m) = call.extensions_mut().get_mut::<MetaInfo>() {
                m.clear_persistent();
            }
            let metadata = call.metadata_mut();
            let persist: Vec<String> = metadata
                .keys()
                .filter_map(|k| match k {
                    tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                    tonic::metadata::KeyRef::Binary(_) => None,
                })
                .filter(|k| k.starts_with("rpc-persist-"))
                .map(str::to_string)
                .collect();
            for k in persist {
                metadata.remove(k.as_str());
            }
        }
        call.extensions_mut().insert(self.layer.policy);
        Box::pin(self.inner.call(call))
    }
}
