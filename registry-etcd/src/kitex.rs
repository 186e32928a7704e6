//! Kitex's etcd layout (kitex-contrib/registry-etcd), byte for byte.
//!
//! One key per instance, attached to the server's lease:
//!
//! ```text
//! key:   <prefix>/<service name>/<host:port>         prefix: kitex/registry-etcd
//! value: {"network":"tcp","address":"<host:port>","weight":<int>,"tags":{<string>:<string>}}
//! ```
//!
//! The value is what Go's `encoding/json` writes for Kitex's `instanceInfo`:
//! fields in that order, no spaces, tags sorted by key, `<`, `>` and `&`
//! escaped as `\u003c`, `\u003e`, `\u0026`. Reading accepts any JSON
//! object with those fields; `"tags":null` (a Kitex server without tags)
//! reads as no tags, and a weight of 0 or less reads as the default
//! weight, as Kitex's resolver does.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;

use tonic_thrift::balance::Instance;

/// The key prefix Kitex uses: `kitex/registry-etcd`.
pub const DEFAULT_PREFIX: &str = "kitex/registry-etcd";

/// The weight Kitex gives an instance registered with weight 0 or less: 10.
pub const DEFAULT_WEIGHT: u32 = 10;

/// The prefix under which the instances of `service` are:
/// `<prefix>/<service>/`.
///
/// ```
/// use tonic_thrift_registry_etcd::kitex;
///
/// assert_eq!(kitex::service_prefix(kitex::DEFAULT_PREFIX, "echo"), "kitex/registry-etcd/echo/");
/// ```
pub fn service_prefix(prefix: &str, service: &str) -> String {
    format!("{prefix}/{service}/")
}

/// The key of one instance: `<prefix>/<service>/<host:port>`.
///
/// ```
/// use tonic_thrift_registry_etcd::kitex;
///
/// assert_eq!(
///     kitex::instance_key(kitex::DEFAULT_PREFIX, "echo", "127.0.0.1:8888"),
///     "kitex/registry-etcd/echo/127.0.0.1:8888"
/// );
/// ```
pub fn instance_key(prefix: &str, service: &str, addr: &str) -> String {
    format!("{prefix}/{service}/{addr}")
}

/// The value Kitex stores for `instance` (network `tcp`).
///
/// ```
/// use tonic_thrift::balance::Instance;
/// use tonic_thrift_registry_etcd::kitex;
///
/// let instance = Instance::new("127.0.0.1:8888").with_weight(10).with_tag("zone", "a");
/// assert_eq!(
///     kitex::encode_value(&instance),
///     r#"{"network":"tcp","address":"127.0.0.1:8888","weight":10,"tags":{"zone":"a"}}"#
/// );
/// ```
pub fn encode_value(instance: &Instance) -> String {
    let mut out = String::with_capacity(64 + instance.addr.len());
    out.push_str(r#"{"network":"tcp","address":"#);
    go_json_string(&mut out, &instance.addr);
    let _ = write!(out, r#","weight":{},"tags":{{"#, instance.weight);
    for (i, (k, v)) in instance.tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_json_string(&mut out, k);
        out.push(':');
        go_json_string(&mut out, v);
    }
    out.push_str("}}");
    out
}

/// Writes `s` as Go's `encoding/json` does (HTML-safe escaping).
fn go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A value that is not a Kitex instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

/// Reads a value in Kitex's layout. A weight of 0 or less (or none)
/// becomes `default_weight`, as in Kitex's resolver; a weight above
/// `u32::MAX` is capped. Only network `tcp` (or none) is accepted.
///
/// ```
/// use tonic_thrift_registry_etcd::kitex;
///
/// let value = br#"{"network":"tcp","address":"10.0.0.1:8888","weight":0,"tags":null}"#;
/// let instance = kitex::decode_value(value, kitex::DEFAULT_WEIGHT).unwrap();
/// assert_eq!((instance.addr.as_str(), instance.weight), ("10.0.0.1:8888", 10));
/// ```
pub fn decode_value(value: &[u8], default_weight: u32) -> Result<Instance, FormatError> {
    let json: serde_json::Value = serde_json::from_slice(value)
        .map_err(|e| FormatError(format!("the value is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| FormatError("the value is not a JSON object".into()))?;
    match obj.get("network") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(n)) if n == "tcp" => {}
        Some(other) => {
            return Err(FormatError(format!(
                "network {other} is not supported (only \"tcp\")"
            )))
        }
    }
    let addr = match obj.get("address") {
        Some(serde_json::Value::String(a)) if !a.is_empty() => a.clone(),
        _ => return Err(FormatError("\"address\" is missing or not a string".into())),
    };
    let weight = match obj.get("weight") {
        None | Some(serde_json::Value::Null) => default_weight,
        Some(w) => match w.as_i64() {
            Some(w) if w <= 0 => default_weight,
            Some(w) => u32::try_from(w).unwrap_or(u32::MAX),
            None if w.as_u64().is_some() => u32::MAX,
            None => return Err(FormatError(format!("\"weight\" {w} is not an integer"))),
        },
    };
    let mut tags = BTreeMap::new();
    match obj.get("tags") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(map)) => {
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| FormatError(format!("tag {k:?} is not a string")))?;
                tags.insert(k.clone(), v.to_string());
            }
        }
        Some(other) => return Err(FormatError(format!("\"tags\" {other} is not an object"))),
    }
    Ok(Instance { addr, weight, tags })
}
