//! Business status errors: a failure the handler reports on purpose, with a
//! code, a message and extra key/values, as Kitex's `BizStatusError`.
//!
//! Handlers return one as a `tonic::Status` (`BizStatusError::into_status`
//! or `?` through `From`); callers get it back with
//! [`BizStatusError::from_status`], on every transport:
//!
//! - gRPC: trailers `grpc-status: 13`, `grpc-message: <message>`,
//!   `biz-status: <code>`, `biz-extra: <JSON object>`;
//! - TTHeader: reply string keys `biz-status`, `biz-message`, `biz-extra`
//!   with an empty Result struct;
//! - Framed / Buffered (no header to carry it): a `TApplicationException`
//!   INTERNAL_ERROR whose message is `[biz-status=<code> biz-extra=<JSON>] <message>`,
//!   which our ping-pong client turns back into the business error. (A
//!   Kitex client sees an error carrying that text.)
//!
//! A business error is recognised only by its out-of-band carrier: the
//! `biz-status` entry in the status metadata (which the gRPC trailers and
//! the TTHeader reply keys become). The text of a status message never
//! makes one, so a handler (or a peer) that puts `[biz-status=1001]` in an
//! ordinary error cannot change how retries and circuit breakers treat it.
//! The one exception is Framed/Buffered, which has no other carrier: there
//! the ping-pong client reads the text form, and only from a
//! `TApplicationException` INTERNAL_ERROR whose message starts with it.
//!
//! ```
//! use tonic_thrift::BizStatusError;
//!
//! let err = BizStatusError::new(1001, "biz error msg").with_extra("k", "v");
//! let status: tonic::Status = err.clone().into();
//! assert_eq!(BizStatusError::from_status(&status), Some(err));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use tonic::Status;

const BIZ_STATUS: &str = "biz-status";
const BIZ_EXTRA: &str = "biz-extra";
const BIZ_MESSAGE: &str = "biz-message";
const FRAMED_PREFIX: &str = "[biz-status=";

/// Whether exception text starts like a business error over Framed or
/// Buffered (what a plain status must never be mistaken for).
pub(crate) fn looks_like_framed_biz(text: &str) -> bool {
    text.starts_with(FRAMED_PREFIX)
}

/// A business status error: code, message and extra key/values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BizStatusError {
    code: i32,
    message: String,
    extra: BTreeMap<String, String>,
}

impl BizStatusError {
    /// A business error with `code` and `message` and no extra values.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        BizStatusError {
            code,
            message: message.into(),
            extra: BTreeMap::new(),
        }
    }

    /// Adds an extra key/value.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The business code.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The extra key/values.
    pub fn extra(&self) -> &BTreeMap<String, String> {
        &self.extra
    }

    /// The gRPC status that carries this error (code INTERNAL, as Kitex sends it).
    pub fn into_status(self) -> Status {
        let mut status = Status::internal(self.message.clone());
        let md = status.metadata_mut();
        if let Ok(v) = self.code.to_string().parse() {
            md.insert(BIZ_STATUS, v);
        }
        if !self.extra.is_empty() {
            if let Ok(v) = encode_json_object(&self.extra).parse() {
                md.insert(BIZ_EXTRA, v);
            }
        }
        status
    }

    /// The business error a status carries, if any: from its `biz-status`
    /// metadata (gRPC trailers; our ping-pong client puts TTHeader reply keys
    /// and Framed/Buffered business exceptions there). The status message
    /// is never parsed: `Status::internal("[biz-status=1001] x")` is not a
    /// business error.
    pub fn from_status(status: &Status) -> Option<BizStatusError> {
        let md = status.metadata();
        let code = md.get(BIZ_STATUS)?.to_str().ok()?.trim().parse().ok()?;
        let extra = md
            .get(BIZ_EXTRA)
            .and_then(|v| v.to_str().ok())
            .map(parse_extra)
            .unwrap_or_default();
        let message = md
            .get(BIZ_MESSAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| status.message().to_string());
        Some(BizStatusError {
            code,
            message,
            extra,
        })
    }

    /// The business error a Framed/Buffered server sent as a
    /// `TApplicationException`: kind INTERNAL_ERROR and a message that
    /// starts with `[biz-status=<code> biz-extra=<JSON>] ` (the form
    /// [`to_framed_message`](Self::to_framed_message) writes). Only for
    /// transports without a header; anything else is not a business error.
    pub(crate) fn from_framed_exception(
        e: &crate::pingpong::ApplicationException,
    ) -> Option<BizStatusError> {
        if e.kind != crate::pingpong::ExceptionKind::INTERNAL_ERROR {
            return None;
        }
        Self::from_framed_message(&e.message)
    }

    /// Reads the TTHeader reply keys (`biz-status`, `biz-message`, `biz-extra`).
    pub(crate) fn from_ttheader(h: &crate::transport::TTHeader) -> Option<BizStatusError> {
        let code = h.string(BIZ_STATUS)?.trim().parse().ok()?;
        Some(BizStatusError {
            code,
            message: h.string(BIZ_MESSAGE).unwrap_or_default().to_string(),
            extra: h.string(BIZ_EXTRA).map(parse_extra).unwrap_or_default(),
        })
    }

    /// Writes the TTHeader reply keys.
    pub(crate) fn to_ttheader(&self, h: &mut crate::transport::TTHeader) {
        h.set_string(BIZ_STATUS, self.code.to_string());
        h.set_string(BIZ_MESSAGE, self.message.clone());
        if !self.extra.is_empty() {
            h.set_string(BIZ_EXTRA, encode_json_object(&self.extra));
        }
    }

    /// The `TApplicationException` message used over Framed and Buffered.
    pub(crate) fn to_framed_message(&self) -> String {
        format!(
            "{FRAMED_PREFIX}{} {BIZ_EXTRA}={}] {}",
            self.code,
            encode_json_object(&self.extra),
            self.message
        )
    }

    fn from_framed_message(text: &str) -> Option<BizStatusError> {
        let rest = text.strip_prefix(FRAMED_PREFIX)?;
        let (code, rest) = rest.split_once(' ')?;
        let rest = rest.strip_prefix(BIZ_EXTRA)?.strip_prefix('=')?;
        let (json, message) = split_json_object(rest)?;
        let message = message.strip_prefix("] ")?;
        Some(BizStatusError {
            code: code.parse().ok()?,
            message: message.to_string(),
            extra: parse_extra(json),
        })
    }
}

impl fmt::Display for BizStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "business error {}: {}", self.code, self.message)?;
        if !self.extra.is_empty() {
            write!(f, " {}", encode_json_object(&self.extra))?;
        }
        Ok(())
    }
}

impl std::error::Error for BizStatusError {}

impl From<BizStatusError> for Status {
    fn from(e: BizStatusError) -> Status {
        e.into_status()
    }
}

/// `biz-extra` that is not a JSON object of strings gives empty extra (the
/// business error itself still arrives), with a debug log.
fn parse_extra(text: &str) -> BTreeMap<String, String> {
    match parse_json_object(text) {
        Some(m) => m,
        None => {
            tracing::debug!(
                biz_extra = text,
                "biz-extra is not a JSON object of strings; ignored"
            );
            BTreeMap::new()
        }
    }
}

fn encode_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn encode_json_object(m: &BTreeMap<String, String>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_json_string(k, &mut out);
        out.push(':');
        encode_json_string(v, &mut out);
    }
    out.push('}');
    out
}

/// Splits a leading JSON object (of strings) off `text`.
fn split_json_object(text: &str) -> Option<(&str, &str)> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else if c == '}' {
            return Some((&text[..=i], &text[i + 1..]));
        }
    }
    None
}

/// Parses `{"k": "v", ...}`: an object whose values are strings.
fn parse_json_object(text: &str) -> Option<BTreeMap<String, String>> {
    let mut p = text.trim().chars().peekable();
    let mut out = BTreeMap::new();
    let skip_ws = |p: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while p.peek().is_some_and(|c| c.is_whitespace()) {
            p.next();
        }
    };
    let string = |p: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<String> {
        if p.next()? != '"' {
            return None;
        }
        let mut s = String::new();
        loop {
            match p.next()? {
                '"' => return Some(s),
                '\\' => match p.next()? {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'u' => {
                        let hex: String = (0..4).filter_map(|_| p.next()).collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    _ => return None,
                },
                c => s.push(c),
            }
        }
    };
    if p.next()? != '{' {
        return None;
    }
    skip_ws(&mut p);
    if p.peek() == Some(&'}') {
        p.next();
        skip_ws(&mut p);
        return p.next().is_none().then_some(out);
    }
    loop {
        skip_ws(&mut p);
        let k = string(&mut p)?;
        skip_ws(&mut p);
        if p.next()? != ':' {
            return None;
        }
        skip_ws(&mut p);
        let v = string(&mut p)?;
        out.insert(k, v);
        skip_ws(&mut p);
        match p.next()? {
            ',' => continue,
            '}' => break,
            _ => return None,
        }
    }
    skip_ws(&mut p);
    p.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), "v \"quoted\" \\ \n".to_string());
        m.insert("empty".to_string(), String::new());
        let text = encode_json_object(&m);
        assert_eq!(parse_json_object(&text), Some(m));
        assert_eq!(parse_json_object(r#" { "a" : "b" } "#).unwrap()["a"], "b");
        assert_eq!(parse_json_object("{}"), Some(BTreeMap::new()));
    }

    #[test]
    fn non_json_extra_gives_empty_extra() {
        for bad in [
            "not json",
            "{\"a\": 1}",
            "[\"a\"]",
            "{\"a\":\"b\"",
            "{\"a\":\"b\"} x",
        ] {
            assert_eq!(parse_json_object(bad), None, "{bad}");
        }
        let mut status = Status::internal("biz error msg");
        status
            .metadata_mut()
            .insert("biz-status", "1001".parse().unwrap());
        status
            .metadata_mut()
            .insert("biz-extra", "not json".parse().unwrap());
        let e = BizStatusError::from_status(&status).unwrap();
        assert_eq!(
            (e.code(), e.message(), e.extra().len()),
            (1001, "biz error msg", 0)
        );
    }

    #[test]
    fn status_and_framed_round_trips() {
        let e = BizStatusError::new(1001, "biz error msg").with_extra("k", "v");
        let s = e.clone().into_status();
        assert_eq!(s.code(), tonic::Code::Internal);
        assert_eq!(s.metadata().get("biz-extra").unwrap(), r#"{"k":"v"}"#);
        assert_eq!(BizStatusError::from_status(&s), Some(e.clone()));
        use crate::pingpong::{ApplicationException, ExceptionKind};
        let framed =
            ApplicationException::new(ExceptionKind::INTERNAL_ERROR, e.to_framed_message());
        assert_eq!(
            BizStatusError::from_framed_exception(&framed),
            Some(e.clone())
        );
        assert_eq!(
            BizStatusError::from_status(&Status::internal("plain")),
            None
        );
    }

    #[test]
    fn text_alone_never_makes_a_business_error() {
        let e = BizStatusError::new(1001, "biz error msg");
        let text = e.to_framed_message();
        // A status message, however exact, is not a carrier.
        for s in [
            Status::internal(text.clone()),
            Status::unknown(format!("thrift application exception: {text}")),
        ] {
            assert_eq!(BizStatusError::from_status(&s), None, "{s:?}");
        }
        use crate::pingpong::{ApplicationException, ExceptionKind};
        // Over Framed/Buffered: only an INTERNAL_ERROR that starts with the form.
        let other_kind = ApplicationException::new(ExceptionKind::UNKNOWN, text.clone());
        let embedded =
            ApplicationException::new(ExceptionKind::INTERNAL_ERROR, format!("user said {text}"));
        assert_eq!(BizStatusError::from_framed_exception(&other_kind), None);
        assert_eq!(BizStatusError::from_framed_exception(&embedded), None);
    }
}
