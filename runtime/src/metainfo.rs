//! Metainfo: context values that cross the wire, as Kitex carries them.
//!
//! Keys are UPPER_SNAKE_CASE (`TEST_KEY`): upper-case letters, digits and
//! `_`. A value is
//! - **transient**: reaches the next hop only;
//! - **persistent**: travels on through every hop;
//! - **backward**: sent by a server back to its caller (TTHeader only;
//!   Kitex's HTTP/2 path carries none).
//!
//! On the wire (PROTOCOL.md §5):
//!
//! | | HTTP/2 header | TTHeader string key |
//! |---|---|---|
//! | transient | `rpc-transit-test-key` | `RPC_TRANSIT_TEST_KEY` |
//! | persistent | `rpc-persist-test-key` | `RPC_PERSIST_TEST_KEY` |
//! | backward | — | `RPC_BACKWARD_TEST_KEY` |
//!
//! Servers put the received values in the request's extensions; handlers
//! read them with [`MetaInfo::of`]. Clients send the values found in a
//! request's extensions ([`MetaInfo::set_transient`] and friends on
//! `request.extensions_mut()`, or [`MetaInfo::attach`]).
//!
//! ## Passing values on, safely
//!
//! A handler's calls through our clients send the persistent values of the
//! call it is handling (its caller's, plus its own), like Kitex. What a
//! caller can push through a service this way is bounded:
//!
//! - at most [`DEFAULT_MAX_PERSISTENT_VALUES`] values and
//!   [`DEFAULT_MAX_PERSISTENT_BYTES`] bytes (keys plus values) received
//!   from a caller are passed on; the rest are dropped with a `tracing`
//!   warning, and the call goes on (raise or lower the caps, or drop every
//!   value from callers at a trust boundary, with
//!   [`PersistentMetaInfoLayer`](crate::layer::PersistentMetaInfoLayer));
//! - transient values received from a caller reach this hop only, even when
//!   a handler passes its request's extensions on to a client call;
//! - the rest of a received TTHeader (the caller's service and method, its
//!   ACL token, its other keys) is never sent on: a ping-pong client builds
//!   its request header afresh, from the metainfo and from a `TTHeader` the
//!   caller put in the request's extensions itself, never from the one the
//!   server received.
//!
//! ```
//! use tonic_thrift::metainfo::MetaInfo;
//!
//! let mut request = tonic::Request::new(());
//! MetaInfo::attach(&mut request).set_transient("TEST_KEY", "tv1").unwrap();
//! assert_eq!(MetaInfo::of(&request).and_then(|m| m.transient("TEST_KEY")), Some("tv1"));
//! assert!(MetaInfo::attach(&mut request).set_transient("bad-key", "x").is_err());
//! ```

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use faststr::FastStr;
use http::HeaderMap;

use crate::transport::TTHeader;

/// Most persistent values received from a caller that are passed on to the
/// calls a handler makes: 64.
pub const DEFAULT_MAX_PERSISTENT_VALUES: usize = 64;

/// Most bytes (keys plus values) of persistent values received from a
/// caller that are passed on to the calls a handler makes: 4 KiB. As HTTP/2
/// headers (`rpc-persist-<key>`, plus 32 bytes per entry as HTTP/2 counts
/// them) that is at most 6.9 KiB with 64 values: under half of the 16 KiB
/// header list hyper (and our server) accept by default.
pub const DEFAULT_MAX_PERSISTENT_BYTES: usize = 4096;

const HTTP_TRANSIT: &str = "rpc-transit-";
const HTTP_PERSIST: &str = "rpc-persist-";
const TT_TRANSIT: &str = "RPC_TRANSIT_";
const TT_PERSIST: &str = "RPC_PERSIST_";
const TT_BACKWARD: &str = "RPC_BACKWARD_";

/// The metainfo of one call: transient, persistent and backward values.
#[derive(Debug, Clone, Default)]
pub struct MetaInfo {
    transient: BTreeMap<String, String>,
    persistent: BTreeMap<String, String>,
    backward: BTreeMap<String, String>,
    /// For metainfo read off the wire: the values as received, so that a
    /// client call that passes this metainfo on can tell them from values
    /// the handler set (received transient values stop here; received
    /// persistent values go on through the capped copy of the call).
    received: Option<Arc<Received>>,
}

/// Transient and persistent values as a server received them.
#[derive(Debug, Default)]
struct Received {
    transient: BTreeMap<String, String>,
    persistent: BTreeMap<String, String>,
}

impl PartialEq for MetaInfo {
    /// Equal when the values are (where they came from does not count).
    fn eq(&self, other: &Self) -> bool {
        self.transient == other.transient
            && self.persistent == other.persistent
            && self.backward == other.backward
    }
}

impl Eq for MetaInfo {}

/// How a server passes on the persistent values its callers send; read by
/// the call machinery, set by
/// [`PersistentMetaInfoLayer`](crate::layer::PersistentMetaInfoLayer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ForwardPolicy {
    pub(crate) max_values: usize,
    pub(crate) max_bytes: usize,
}

impl Default for ForwardPolicy {
    fn default() -> Self {
        ForwardPolicy {
            max_values: DEFAULT_MAX_PERSISTENT_VALUES,
            max_bytes: DEFAULT_MAX_PERSISTENT_BYTES,
        }
    }
}

/// Marks a request whose extensions hold the TTHeader a server received:
/// a client call given those extensions does not send that header on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceivedHeader;

/// TTHeader string keys a client sends exactly as given, besides its
/// metainfo: on a ping-pong TTHeader request and on a TTHeader Streaming
/// HEADER frame. For keys that are not metainfo keys, such as the trace
/// context Kitex's obs-opentelemetry sends as `RPC_TRANSIT_traceparent`
/// (lower case). A middleware layer puts it in a call's extensions
/// (`call.extensions_mut().insert(..)`); servers do not read it, they see
/// the whole received [`TTHeader`] in the request's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderStrings(pub Vec<(FastStr, FastStr)>);

impl HeaderStrings {
    /// Writes the keys into `header`, replacing keys of the same name.
    pub(crate) fn write_to(&self, header: &mut TTHeader) {
        for (k, v) in &self.0 {
            header.set_string(k.clone(), v.clone());
        }
    }
}

/// A metainfo key that does not follow Kitex's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey(String);

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid metainfo key `{}`: expected upper-case letters, digits and `_` (like `TEST_KEY`)",
            self.0
        )
    }
}

impl std::error::Error for InvalidKey {}

/// Whether `key` is a valid metainfo key: non-empty, `A-Z`, `0-9`, `_`.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fn check(key: &str) -> Result<(), InvalidKey> {
    if is_valid_key(key) {
        Ok(())
    } else {
        Err(InvalidKey(key.to_string()))
    }
}

impl MetaInfo {
    /// The metainfo a request or response carries, if any.
    pub fn of<T>(message: &impl HasExtensions<T>) -> Option<&MetaInfo> {
        message.extensions().get::<MetaInfo>()
    }

    /// The metainfo of a request or response, created empty if absent, to set values on.
    pub fn attach<T>(message: &mut impl HasExtensions<T>) -> &mut MetaInfo {
        message.extensions_mut().get_or_insert_default::<MetaInfo>()
    }

    /// A transient value.
    pub fn transient(&self, key: &str) -> Option<&str> {
        self.transient.get(key).map(String::as_str)
    }

    /// A persistent value.
    pub fn persistent(&self, key: &str) -> Option<&str> {
        self.persistent.get(key).map(String::as_str)
    }

    /// A backward value (set by the server on its response).
    pub fn backward(&self, key: &str) -> Option<&str> {
        self.backward.get(key).map(String::as_str)
    }

    /// All transient values, by key.
    pub fn transients(&self) -> impl Iterator<Item = (&str, &str)> {
        self.transient.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// All persistent values, by key.
    pub fn persistents(&self) -> impl Iterator<Item = (&str, &str)> {
        self.persistent
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// All backward values, by key.
    pub fn backwards(&self) -> impl Iterator<Item = (&str, &str)> {
        self.backward.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets a transient value; the key must be UPPER_SNAKE.
    pub fn set_transient(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<&mut Self, InvalidKey> {
        Self::set(&mut self.transient, key.into(), value.into())?;
        Ok(self)
    }

    /// Sets a persistent value; the key must be UPPER_SNAKE.
    pub fn set_persistent(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<&mut Self, InvalidKey> {
        Self::set(&mut self.persistent, key.into(), value.into())?;
        Ok(self)
    }

    /// Sets a backward value (server → caller, TTHeader only); the key must be UPPER_SNAKE.
    pub fn set_backward(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<&mut Self, InvalidKey> {
        Self::set(&mut self.backward, key.into(), value.into())?;
        Ok(self)
    }

    /// Removes every persistent value (what
    /// [`PersistentMetaInfoLayer::strip_from_callers`](crate::layer::PersistentMetaInfoLayer::strip_from_callers)
    /// does to a request's metainfo).
    pub fn clear_persistent(&mut self) -> &mut Self {
        self.persistent.clear();
        if let Some(r) = &self.received {
            if !r.persistent.is_empty() {
                self.received = Some(Arc::new(Received {
                    transient: r.transient.clone(),
                    persistent: BTreeMap::new(),
                }));
            }
        }
        self
    }

    /// Keeps at most `max_values` persistent values of at most `max_bytes`
    /// (keys plus values) in all, in key order, and drops the rest with a
    /// `tracing` warning; returns how many were dropped.
    pub fn limit_persistent(&mut self, max_values: usize, max_bytes: usize) -> usize {
        let (mut kept, mut bytes) = (0usize, 0usize);
        let before = self.persistent.len();
        self.persistent.retain(|k, v| {
            let size = k.len() + v.len();
            if kept < max_values && bytes + size <= max_bytes {
                kept += 1;
                bytes += size;
                true
            } else {
                false
            }
        });
        let dropped = before - kept;
        if dropped > 0 {
            tracing::warn!(
                dropped,
                kept,
                max_values,
                max_bytes,
                "persistent metainfo over the cap: values not passed on"
            );
        }
        dropped
    }

    fn set(
        map: &mut BTreeMap<String, String>,
        key: String,
        value: String,
    ) -> Result<(), InvalidKey> {
        check(&key)?;
        map.insert(key, value);
        Ok(())
    }

    /// The metainfo a client sends: the request's own values, plus the
    /// persistent values of the call being handled by the current task
    /// (persistent values pass on through every hop), where the request does
    /// not set them itself.
    ///
    /// Values the request's metainfo holds only because a server received
    /// them (a handler passing its request's extensions on) are not sent as
    /// they are: received transient values stop at this hop, and received
    /// persistent values go on only through the current call's (capped)
    /// persistent values.
    pub(crate) fn outgoing(request_meta: Option<&MetaInfo>) -> Option<MetaInfo> {
        let inherited = crate::call::current_persistent();
        let mine = request_meta.map(MetaInfo::without_received);
        let m = match (mine, inherited) {
            (None, None) => return None,
            (Some(m), None) => m,
            (mine, Some(up)) => {
                let mut m = mine.unwrap_or_default();
                for (k, v) in up.persistent {
                    m.persistent.entry(k).or_insert(v);
                }
                m
            }
        };
        (!m.is_empty()).then_some(m)
    }

    /// A copy without the values that are here only because they were
    /// received (same key and value as received).
    fn without_received(&self) -> MetaInfo {
        let mut m = MetaInfo {
            transient: self.transient.clone(),
            persistent: self.persistent.clone(),
            backward: self.backward.clone(),
            received: None,
        };
        if let Some(r) = &self.received {
            m.transient.retain(|k, v| r.transient.get(k) != Some(v));
            m.persistent.retain(|k, v| r.persistent.get(k) != Some(v));
        }
        m
    }

    /// Records the current values as the received ones (see `received`).
    fn mark_received(mut self) -> Self {
        self.received = Some(Arc::new(Received {
            transient: self.transient.clone(),
            persistent: self.persistent.clone(),
        }));
        self
    }

    /// The TTHeader a ping-pong client's request starts from: one the
    /// caller put in the request's extensions, but never the one a server
    /// received (so a handler that passes its request's extensions on
    /// does not resend its caller's service, method, ACL token or other
    /// keys), plus the outgoing metainfo.
    pub(crate) fn request_header(extensions: &http::Extensions) -> TTHeader {
        let mut h = match extensions.get::<TTHeader>() {
            Some(h) if extensions.get::<ReceivedHeader>().is_none() => h.clone(),
            _ => TTHeader::default(),
        };
        if let Some(m) = MetaInfo::outgoing(extensions.get::<MetaInfo>()) {
            m.to_ttheader_request(&mut h);
        }
        if let Some(s) = extensions.get::<HeaderStrings>() {
            s.write_to(&mut h);
        }
        h
    }

    /// True when no value is set.
    pub fn is_empty(&self) -> bool {
        self.transient.is_empty() && self.persistent.is_empty() && self.backward.is_empty()
    }

    /// Reads metainfo from HTTP/2 request headers; malformed keys are dropped
    /// with a debug log. `None` when there is none.
    pub fn from_http_headers(headers: &HeaderMap) -> Option<MetaInfo> {
        let mut m = MetaInfo::default();
        for (name, value) in headers {
            let name = name.as_str();
            let (target, rest) = if let Some(rest) = name.strip_prefix(HTTP_TRANSIT) {
                (&mut m.transient, rest)
            } else if let Some(rest) = name.strip_prefix(HTTP_PERSIST) {
                (&mut m.persistent, rest)
            } else {
                continue;
            };
            let key = rest.replace('-', "_").to_ascii_uppercase();
            let Ok(value) = value.to_str() else {
                tracing::debug!(header = name, "dropping metainfo header: value is not text");
                continue;
            };
            if !is_valid_key(&key) {
                tracing::debug!(header = name, "dropping malformed metainfo header");
                continue;
            }
            target.insert(key, value.to_string());
        }
        (!m.is_empty()).then(|| m.mark_received())
    }

    /// Writes transient and persistent values as HTTP/2 headers.
    pub fn to_http_headers(&self, headers: &mut HeaderMap) {
        let mut put = |prefix: &str, k: &str, v: &str| {
            let name = format!("{prefix}{}", k.to_ascii_lowercase().replace('_', "-"));
            match (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                (Ok(n), Ok(v)) => {
                    headers.insert(n, v);
                }
                _ => tracing::debug!(
                    key = k,
                    "metainfo value cannot be an HTTP/2 header; not sent"
                ),
            }
        };
        for (k, v) in &self.transient {
            put(HTTP_TRANSIT, k, v);
        }
        for (k, v) in &self.persistent {
            put(HTTP_PERSIST, k, v);
        }
    }

    /// Reads metainfo from TTHeader string keys; malformed keys are dropped
    /// with a debug log. `None` when there is none.
    pub fn from_ttheader(header: &TTHeader) -> Option<MetaInfo> {
        let mut m = MetaInfo::default();
        for (k, v) in &header.strings {
            let (target, key) = if let Some(key) = k.strip_prefix(TT_TRANSIT) {
                (&mut m.transient, key)
            } else if let Some(key) = k.strip_prefix(TT_PERSIST) {
                (&mut m.persistent, key)
            } else if let Some(key) = k.strip_prefix(TT_BACKWARD) {
                (&mut m.backward, key)
            } else {
                continue;
            };
            if !is_valid_key(key) {
                tracing::debug!(key = %k, "dropping malformed metainfo key");
                continue;
            }
            target.insert(key.to_string(), v.to_string());
        }
        (!m.is_empty()).then(|| m.mark_received())
    }

    /// Writes transient and persistent values as TTHeader string keys (a
    /// request), replacing keys of the same name; time linear in the keys.
    pub fn to_ttheader_request(&self, header: &mut TTHeader) {
        let transient = self.transient.iter().map(|(k, v)| (TT_TRANSIT, k, v));
        let persistent = self.persistent.iter().map(|(k, v)| (TT_PERSIST, k, v));
        set_strings(header, transient.chain(persistent));
    }

    /// Writes backward values as TTHeader string keys (a reply), replacing
    /// keys of the same name; time linear in the keys.
    pub fn to_ttheader_reply(&self, header: &mut TTHeader) {
        set_strings(
            header,
            self.backward.iter().map(|(k, v)| (TT_BACKWARD, k, v)),
        );
    }
}

/// Sets `prefix + key` to `value` for each entry: the header's existing
/// keys of those names go, the new ones are appended. One pass over the
/// header, where setting each key in turn would scan it once per key.
fn set_strings<'a>(
    header: &mut TTHeader,
    entries: impl Iterator<Item = (&'static str, &'a String, &'a String)>,
) {
    let new: Vec<(FastStr, FastStr)> = entries
        .map(|(prefix, k, v)| {
            (
                FastStr::from(format!("{prefix}{k}")),
                FastStr::from(v.clone()),
            )
        })
        .collect();
    if new.is_empty() {
        return;
    }
    let names: HashSet<&str> = new.iter().map(|(k, _)| k.as_str()).collect();
    header.strings.retain(|(k, _)| !names.contains(k.as_str()));
    header.strings.extend(new);
}

/// Messages that carry extensions: `tonic::Request`, `tonic::Response`,
/// `http::Request`, `http::Response`.
pub trait HasExtensions<T> {
    /// The extensions.
    fn extensions(&self) -> &http::Extensions;
    /// The extensions, mutably.
    fn extensions_mut(&mut self) -> &mut http::Extensions;
}

impl<T> HasExtensions<T> for tonic::Request<T> {
    fn extensions(&self) -> &http::Extensions {
        tonic::Request::extensions(self)
    }
    fn extensions_mut(&mut self) -> &mut http::Extensions {
        tonic::Request::extensions_mut(self)
    }
}

impl<T> HasExtensions<T> for tonic::Response<T> {
    fn extensions(&self) -> &http::Extensions {
        tonic::Response::extensions(self)
    }
    fn extensions_mut(&mut self) -> &mut http::Extensions {
        tonic::Response::extensions_mut(self)
    }
}

impl<T> HasExtensions<T> for http::Request<T> {
    fn extensions(&self) -> &http::Extensions {
        http::Request::extensions(self)
    }
    fn extensions_mut(&mut self) -> &mut http::Extensions {
        http::Request::extensions_mut(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_headers_round_trip_and_drop_malformed() {
        let mut m = MetaInfo::default();
        m.set_transient("TEST_KEY", "tv1").unwrap();
        m.set_persistent("TEST_PERSIST", "pv1").unwrap();
        let mut h = HeaderMap::new();
        m.to_http_headers(&mut h);
        assert_eq!(h["rpc-transit-test-key"], "tv1");
        assert_eq!(h["rpc-persist-test-persist"], "pv1");
        h.insert("rpc-transit-", "empty key".parse().unwrap());
        h.insert("rpc-transit-a.b", "dot".parse().unwrap());
        assert_eq!(MetaInfo::from_http_headers(&h), Some(m));
    }

    #[test]
    fn ttheader_keys() {
        let mut h = TTHeader::default();
        h.set_string("RPC_TRANSIT_TEST_KEY", "tv1");
        h.set_string("RPC_PERSIST_TEST_PERSIST", "pv1");
        h.set_string("RPC_TRANSIT_bad-key", "x");
        h.set_string("isn", "TestService");
        let m = MetaInfo::from_ttheader(&h).unwrap();
        assert_eq!(m.transient("TEST_KEY"), Some("tv1"));
        assert_eq!(m.persistent("TEST_PERSIST"), Some("pv1"));
        assert_eq!(m.transients().count(), 1);
    }

    #[test]
    fn invalid_keys_are_rejected_when_set() {
        let mut m = MetaInfo::default();
        for bad in ["", "lower", "WITH-DASH", "SPACE KEY"] {
            let e = m.set_transient(bad, "v").unwrap_err();
            assert!(e.to_string().contains("invalid metainfo key"), "{e}");
        }
    }
}
