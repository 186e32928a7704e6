//! Thrift names → Rust identifiers.
//!
//! Types keep their IDL names; fields, arguments and methods become
//! snake_case; enum values become UpperCamelCase; constants
//! SCREAMING_SNAKE_CASE. Names that are Rust keywords become raw identifiers
//! (`r#type`), except `self`, `Self`, `super`, `crate` (which cannot be raw),
//! which get a trailing `_`.

use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// A Rust identifier for `name`, escaping keywords.
pub(crate) fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '.' || c == '-' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase)));
        if boundary {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// `EchoPingPong` / `echoPingPong` → `echo_ping_pong`.
pub(crate) fn snake(name: &str) -> String {
    let s = words(name)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    // A trailing `_` is part of the name (`short_` and `short` can coexist).
    let s = if name.ends_with('_') && !s.is_empty() {
        format!("{s}_")
    } else {
        s
    };
    if s.is_empty() {
        "_".to_string()
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// `MY_VALUE` / `my_value` → `MyValue`.
pub(crate) fn camel(name: &str) -> String {
    let s: String = words(name)
        .iter()
        .map(|w| {
            let lower = w.to_lowercase();
            let mut cs = lower.chars();
            match cs.next() {
                Some(f) => f.to_uppercase().chain(cs).collect::<String>(),
                None => String::new(),
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{s}")
    } else {
        s
    }
}

/// `maxSize` → `MAX_SIZE`.
pub(crate) fn shouty(name: &str) -> String {
    snake(name).to_uppercase()
}

/// A valid snake_case module name for a file stem or namespace.
pub(crate) fn module_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    snake(&cleaned)
}

/// Identifier for a field, argument or method.
pub(crate) fn field_ident(name: &str) -> Ident {
    ident(&snake(name))
}

/// Identifier for a type (keeps the IDL spelling).
pub(crate) fn type_ident(name: &str) -> Ident {
    ident(name)
}

/// The CamelCase names that `tonic_thrift::codegen` exports, which every
/// generated module glob-imports (keep in step with the runtime's
/// `codegen.rs`). A generated name in a service module that equals one of
/// these gets a trailing `_`; an IDL type that equals one is named
/// `self::Name` inside generated impls.
const CODEGEN_NAMES: &[&str] = &[
    "Arc",
    "BalanceOptions",
    "Body",
    "BoxFuture",
    "Call",
    "CallInfo",
    "CallLayer",
    "CallResponse",
    "CallService",
    "Channel",
    "ClusterStatus",
    "Context",
    "Endpoint",
    "Err",
    "Future",
    "GrpcClient",
    "GrpcOptions",
    "GrpcTransport",
    "HashMap",
    "HashSet",
    "Infallible",
    "IntoRequest",
    "IntoStreamingRequest",
    "Layer",
    "LazyLock",
    "Message",
    "MessageHook",
    "MethodKind",
    "NamedService",
    "None",
    "Ok",
    "OneArg",
    "Option",
    "OrderedFloat",
    "Pin",
    "PingPongClient",
    "PingPongOptions",
    "PingPongService",
    "Poll",
    "Request",
    "Response",
    "Result",
    "Service",
    "ServiceConfig",
    "Some",
    "Status",
    "StdError",
    "Stream",
    "Streaming",
    "TAsyncInputProtocol",
    "TInputProtocol",
    "TLengthProtocol",
    "TOutputProtocol",
    "TStructIdentifier",
    "TType",
    "ThriftArgs",
    "ThriftException",
    "ThriftResult",
    "ThriftStruct",
    "ThriftValue",
    "Tracer",
    "UnionSlot",
    "ValueResult",
    "VoidResult",
    "WholeArgs",
    "Bytes",
    "FastStr",
    "CallContext",
    "Reply",
    "ReplyFuture",
];

/// An identifier for a name the generator makes up in a service module,
/// kept clear of the names `tonic_thrift::codegen` exports.
pub(crate) fn generated(name: &str) -> Ident {
    if CODEGEN_NAMES.contains(&name) {
        ident(&format!("{name}_"))
    } else {
        ident(name)
    }
}

/// How generated impls (inside a block that glob-imports
/// `tonic_thrift::codegen`) name the IDL type `name` of their own module.
pub(crate) fn local_path(name: &Ident) -> proc_macro2::TokenStream {
    if CODEGEN_NAMES.contains(&name.to_string().as_str()) {
        quote::quote!(self::#name)
    } else {
        quote::quote!(#name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(snake("EchoPingPong"), "echo_ping_pong");
        assert_eq!(snake("userID"), "user_id");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(snake("already_snake"), "already_snake");
        assert_eq!(snake("short_"), "short_");
        assert_eq!(camel("MY_VALUE"), "MyValue");
        assert_eq!(camel("red"), "Red");
        assert_eq!(camel("TestService"), "TestService");
        assert_eq!(shouty("maxSize"), "MAX_SIZE");
        assert_eq!(module_name("my-api.v2"), "my_api_v2");
    }

    #[test]
    fn keywords() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Self").to_string(), "Self_");
        assert_eq!(ident("plain").to_string(), "plain");
    }
}
