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
//! ```
//! use tonic_thrift::metainfo::MetaInfo;
//!
//! let mut request = tonic::Request::new(());
//! MetaInfo::attach(&mut request).set_transient("TEST_KEY", "tv1").unwrap();
//! assert_eq!(MetaInfo::of(&request).and_then(|m| m.transient("TEST_KEY")), Some("tv1"));
//! assert!(MetaInfo::attach(&mut request).set_transient("bad-key", "x").is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;

use http::HeaderMap;

use crate::transport::TTHeader;

const HTTP_TRANSIT: &str = "rpc-transit-";
const HTTP_PERSIST: &str = "rpc-persist-";
const TT_TRANSIT: &str = "RPC_TRANSIT_";
const TT_PERSIST: &str = "RPC_PERSIST_";
const TT_BACKWARD: &str = "RPC_BACKWARD_";

/// The metainfo of one call: transient, persistent and backward values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaInfo {
    transient: BTreeMap<String, String>,
    persistent: BTreeMap<String, String>,
    backward: BTreeMap<String, String>,
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
    pub(crate) fn outgoing(request_meta: Option<&MetaInfo>) -> Option<MetaInfo> {
        let inherited = crate::call::current_persistent();
        match (request_meta, inherited) {
            (None, None) => None,
            (Some(m), None) => Some(m.clone()),
            (mine, Some(up)) => {
                let mut m = mine.cloned().unwrap_or_default();
                for (k, v) in up.persistent {
                    m.persistent.entry(k).or_insert(v);
                }
                Some(m)
            }
        }
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
        (!m.is_empty()).then_some(m)
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
        (!m.is_empty()).then_some(m)
    }

    /// Writes transient and persistent values as TTHeader string keys (a request).
    pub fn to_ttheader_request(&self, header: &mut TTHeader) {
        for (k, v) in &self.transient {
            header.set_string(format!("{TT_TRANSIT}{k}"), v.clone());
        }
        for (k, v) in &self.persistent {
            header.set_string(format!("{TT_PERSIST}{k}"), v.clone());
        }
    }

    /// Writes backward values as TTHeader string keys (a reply).
    pub fn to_ttheader_reply(&self, header: &mut TTHeader) {
        for (k, v) in &self.backward {
            header.set_string(format!("{TT_BACKWARD}{k}"), v.clone());
        }
    }
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
