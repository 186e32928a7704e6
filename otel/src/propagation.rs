//! Where the trace context travels, as Kitex's obs-opentelemetry puts it.
//!
//! Kitex's client middleware asks the text-map propagator for its keys
//! (`traceparent`, `tracestate`, `baggage`, or B3 / OT keys, as the
//! propagator decides) and adds the caller's `service.name`,
//! `service.namespace` and `deployment.environment`; every key becomes a
//! *transient metainfo value* under its own name, in lower case. Kitex's
//! transports then write them as:
//!
//! | transport | key on the wire | example |
//! |---|---|---|
//! | gRPC (HTTP/2 header) | `rpc-transit-` + key, `_` as `-` | `rpc-transit-traceparent` |
//! | gRPC, `WithEnableGRPCMetadata` | the key itself | `traceparent` |
//! | TTHeader / TTHeader Streaming (string key) | `RPC_TRANSIT_` + key, as is | `RPC_TRANSIT_traceparent` |
//!
//! A Kitex server reads them back from the transient metainfo (an HTTP/2
//! header `rpc-transit-traceparent` arrives as `TRACEPARENT`, and its
//! server middleware turns that back into `traceparent`), or, with
//! `WithEnableGRPCMetadata`, from the plain gRPC metadata, the metainfo
//! winning where both are present. This module writes and reads the same.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic_thrift::metainfo::HeaderStrings;
use tonic_thrift::transport::TTHeader;
use tonic_thrift::FastStr;

/// The HTTP/2 header prefix of a transient metainfo value.
pub const HTTP_TRANSIT_PREFIX: &str = "rpc-transit-";

/// The TTHeader string-key prefix of a transient metainfo value.
pub const TTHEADER_TRANSIT_PREFIX: &str = "RPC_TRANSIT_";

/// The metainfo key of the caller's `service.name` resource attribute.
pub const SERVICE_NAME_KEY: &str = "service.name";

/// The metainfo key of the caller's `service.namespace` resource attribute.
pub const SERVICE_NAMESPACE_KEY: &str = "service.namespace";

/// The metainfo key of the caller's `deployment.environment` resource
/// attribute.
pub const DEPLOYMENT_ENVIRONMENT_KEY: &str = "deployment.environment";

/// The key/value pairs a client sends for `cx`: the propagator's keys plus
/// the caller's service identity, in Kitex's metainfo form (lower case).
pub(crate) fn outgoing_values(
    propagator: &dyn TextMapPropagator,
    cx: &Context,
    identity: &[(&'static str, String)],
) -> Vec<(String, String)> {
    let mut values = Values(Vec::with_capacity(identity.len() + 3));
    for (k, v) in identity {
        values.set(k, v.clone());
    }
    propagator.inject_context(cx, &mut values);
    values.0
}

/// Writes `values` as gRPC request headers: always `rpc-transit-<key>`,
/// and the bare key too when `plain` (Kitex's `WithEnableGRPCMetadata`).
/// A value that cannot be an HTTP/2 header is not sent.
pub(crate) fn write_grpc(values: &[(String, String)], metadata: &mut MetadataMap, plain: bool) {
    for (k, v) in values {
        let Ok(value) = MetadataValue::try_from(v.as_str()) else {
            continue;
        };
        let name = format!(
            "{HTTP_TRANSIT_PREFIX}{}",
            k.to_ascii_lowercase().replace('_', "-")
        );
        if let Ok(key) = MetadataKey::from_bytes(name.as_bytes()) {
            metadata.insert(key, value.clone());
        }
        if plain {
            if let Ok(key) = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes()) {
                metadata.insert(key, value);
            }
        }
    }
}

/// The same values as TTHeader string keys `RPC_TRANSIT_<key>`.
pub(crate) fn ttheader_strings(values: &[(String, String)]) -> HeaderStrings {
    HeaderStrings(
        values
            .iter()
            .map(|(k, v)| {
                (
                    FastStr::new(format!("{TTHEADER_TRANSIT_PREFIX}{k}")),
                    FastStr::new(v),
                )
            })
            .collect(),
    )
}

/// The values a server received, keyed as Kitex's server middleware keys
/// them before extracting (lower case, `_` as `-`): the plain gRPC
/// metadata first, then the transient metainfo of either transport over
/// it.
pub(crate) fn incoming_values(
    metadata: &MetadataMap,
    header: Option<&TTHeader>,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let headers = metadata.as_ref();
    for (name, value) in headers {
        if name.as_str().starts_with(HTTP_TRANSIT_PREFIX) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            out.insert(name.as_str().to_string(), v.to_string());
        }
    }
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(HTTP_TRANSIT_PREFIX) {
            if let Ok(v) = value.to_str() {
                out.insert(key.to_string(), v.to_string());
            }
        }
    }
    if let Some(h) = header {
        for (k, v) in &h.strings {
            if let Some(key) = k.strip_prefix(TTHEADER_TRANSIT_PREFIX) {
                out.insert(key.to_ascii_lowercase().replace('_', "-"), v.to_string());
            }
        }
    }
    out
}

/// The context a server continues: the caller's span as remote parent.
pub(crate) fn extract(
    propagator: &dyn TextMapPropagator,
    values: &HashMap<String, String>,
) -> Context {
    propagator.extract_with_context(&Context::new(), &Incoming(values))
}

struct Values(Vec<(String, String)>);

impl Injector for Values {
    /// Empty values are not sent (Kitex's metainfo drops them; Rust's W3C
    /// propagator writes an empty `tracestate`).
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return;
        }
        let key = key.to_ascii_lowercase();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

struct Incoming<'a>(&'a HashMap<String, String>);

impl Extractor for Incoming<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(&key.to_ascii_lowercase()).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
