//! Thrift names → Rust identifiers.
//!
//! Types keep their IDL names; fields, arguments and methods become
//! snake_case; enum values become UpperCamelCase; constants
//! SCREAMING_SNAKE_CASE. Names that are Rust keywords become raw identifiers
//! (`r#type`), except `self`, `Self`, `super`, `crate` (which cannot be raw),
//! which get a trailing `_`.
//!
//! Names that would still clash in one Rust scope are settled by a
//! [`Namespace`], as thriftgo's Go generator does (`pkg/namespace`,
//! `UnderscoreSuffix`): names the generated code itself needs in that scope
//! are reserved first, then the IDL names are added in the order written;
//! the first keeps its name and a later one that is taken gets `_`
//! appended until it is free (`new_result`, `new_result_`). Only Rust names
//! change: wire names are always the IDL's.

use std::collections::HashSet;

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
    if let Some(raw) = name.strip_prefix("r#") {
        Ident::new_raw(raw, Span::call_site())
    } else if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The text of [`ident`]`(name)`: `r#type`, `self_`, `plain`.
fn escaped(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// Rust's primitive types. They are not reserved words, so an item of that
/// name would shadow the primitive for its whole module.
pub(crate) const PRIMITIVES: &[&str] = &[
    "bool", "char", "str", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64",
    "u128", "usize", "f32", "f64",
];

/// The type and trait names of Rust's standard prelude, which generated
/// service modules use unqualified (`Box::pin`, `Default::default()`,
/// `impl Into<String>`, `Send + Sync`).
pub(crate) const PRELUDE: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Into",
    "IntoIterator",
    "Iterator",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Send",
    "Sized",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
];

/// The generic parameters generated code declares: `T` (handler,
/// transport), `B` (HTTP body), `D` (connect destination), `L` (layer), `P`
/// (protocol, in encodings). IDL items are never named bare where one of
/// these is in scope (see [`local_path`] and the `self::` trait bounds in
/// `gen/service/server.rs`).
pub(crate) const GENERIC_PARAMS: &[&str] = &["T", "B", "D", "L", "P"];

/// The crates whose names a top-level module must not take: generated code
/// names them with a leading `::`, but the user's code around the expansion
/// names them bare, and a module of that name would shadow the crate there.
pub(crate) const CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "tonic",
    "tonic_thrift",
    "http",
    "bytes",
];

/// One Rust scope's names (a module's types, a struct's fields, an enum's
/// variants, a service's methods): hands out identifiers that do not clash,
/// the first come keeping its name, a later one getting `_` appended until
/// it is free.
#[derive(Debug, Default, Clone)]
pub(crate) struct Namespace {
    taken: HashSet<String>,
}

impl Namespace {
    /// A namespace where `reserved` are already taken (names the generated
    /// code uses in that scope).
    pub(crate) fn with_reserved(reserved: &[&[&str]]) -> Self {
        let mut ns = Namespace::default();
        for list in reserved {
            ns.taken.extend(list.iter().map(|s| s.to_string()));
        }
        ns
    }

    /// Takes `name` (made a valid identifier by [`ident`]), or `name_`,
    /// `name__`, … if it is taken; returns the identifier's text (`r#type`
    /// for a keyword).
    pub(crate) fn add(&mut self, name: &str) -> String {
        let mut candidate = name.to_string();
        loop {
            let text = escaped(&candidate);
            if self.taken.insert(text.clone()) {
                return text;
            }
            candidate.push('_');
        }
    }

    /// Like [`add`](Self::add), as an identifier.
    pub(crate) fn add_ident(&mut self, name: &str) -> Ident {
        ident(&self.add(name))
    }

    /// True when `name` is taken.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

/// The Rust names of one IDL file's definitions, in their file's module:
/// per definition, the type's or constant's name, or for a service the
/// names of its two modules.
#[derive(Debug, Clone)]
pub(crate) struct FileNames {
    /// Per definition: the type or constant name (a service: its
    /// `<service>_server` module).
    pub(crate) defs: Vec<String>,
    /// Per definition: a service's `<service>_client` module (empty for
    /// other definitions).
    pub(crate) client_modules: Vec<String>,
}

/// Names the definitions of one file. Types (structs, unions, exceptions,
/// enums, typedefs) keep their IDL spelling, in the order written; a type
/// named like a Rust primitive (`f64`, `str`) gets `_`. Constants become
/// SCREAMING_SNAKE_CASE in the value namespace. Then each service's two
/// modules, which yield to the types (`echo_server_` when a type is called
/// `echo_server`).
pub(crate) fn file_names(defs: &[crate::ast::Definition]) -> FileNames {
    use crate::ast::Definition;
    let mut types = Namespace::with_reserved(&[PRIMITIVES]);
    let mut values = Namespace::default();
    let mut out = FileNames {
        defs: vec![String::new(); defs.len()],
        client_modules: vec![String::new(); defs.len()],
    };
    for (i, d) in defs.iter().enumerate() {
        let name = &crate::resolve::def_name(d).name;
        match d {
            Definition::Const(_) => out.defs[i] = values.add(&shouty(name)),
            Definition::Service(_) => {}
            _ => out.defs[i] = types.add(name),
        }
    }
    for (i, d) in defs.iter().enumerate() {
        if let Definition::Service(s) = d {
            let snake = snake(&s.name.name);
            out.defs[i] = types.add(&format!("{snake}_server"));
            out.client_modules[i] = types.add(&format!("{snake}_client"));
        }
    }
    out
}

/// The Rust identifiers of a list of fields (struct fields, union
/// variants use [`variant_idents`]), snake_case, unique in their struct.
pub(crate) fn field_idents<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Ident> {
    let mut ns = Namespace::default();
    names.into_iter().map(|n| ns.add_ident(&snake(n))).collect()
}

/// The Rust identifiers of enum variants (enum values, union fields, the
/// exceptions of a method's Result), UpperCamelCase, unique in their enum
/// after the `reserved` variants the generator adds itself.
pub(crate) fn variant_idents<'a>(
    names: impl IntoIterator<Item = &'a str>,
    reserved: &[&str],
) -> Vec<Ident> {
    let mut ns = Namespace::with_reserved(&[reserved]);
    names.into_iter().map(|n| ns.add_ident(&camel(n))).collect()
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

/// A valid snake_case module name for a file stem or namespace (before
/// [`Namespace`] makes it unique).
pub(crate) fn module_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    snake(&cleaned)
}

/// The type-namespace names (types, traits, modules) that
/// `tonic_thrift::codegen` exports, which every generated service module
/// and encoding block glob-imports (a test keeps this in step with the
/// runtime's `codegen.rs`). A generated name in a service module that
/// equals one of these gets a trailing `_`; an IDL type that equals one is
/// named `self::Name` in generated code.
pub(crate) const CODEGEN_NAMES: &[&str] = &[
    // Modules and crates.
    "http",
    "http_body",
    "pilota",
    "tonic",
    // Types and traits.
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
    "CompressionEncoding",
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

/// How generated code in an IDL file's module names the IDL type `name` of
/// that module: bare, unless a name that generated impls bring into scope
/// (a `tonic_thrift::codegen` glob import, a generic parameter) could
/// capture it; then `self::Name`.
pub(crate) fn local_path(name: &Ident) -> proc_macro2::TokenStream {
    let text = name.to_string();
    if CODEGEN_NAMES.contains(&text.as_str()) || GENERIC_PARAMS.contains(&text.as_str()) {
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
    fn a_namespace_keeps_the_first_and_suffixes_later_ones() {
        let mut ns = Namespace::with_reserved(&[&["clone"]]);
        assert_eq!(ns.add("new_result"), "new_result");
        assert_eq!(ns.add("new_result"), "new_result_");
        assert_eq!(ns.add("new_result"), "new_result__");
        assert_eq!(ns.add("clone"), "clone_");
        assert_eq!(ns.add("type"), "r#type");
        assert_eq!(ns.add("type"), "type_");
        assert_eq!(ns.add("self"), "self_");
        assert_eq!(ns.add("self_"), "self__");
        let fields = field_idents(["NewResult", "new_result", "self", "self_"]);
        let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
        assert_eq!(fields, ["new_result", "new_result_", "self_", "self__"]);
        let variants = variant_idents(["success", "A_B", "AB", "FOO_BAR", "FooBar"], &["Success"]);
        let variants: Vec<String> = variants.iter().map(ToString::to_string).collect();
        assert_eq!(variants, ["Success_", "AB", "Ab", "FooBar", "FooBar_"]);
    }

    /// Every type, trait or module `tonic_thrift::codegen` exports is in
    /// [`CODEGEN_NAMES`]: a generated name equal to one would shadow it.
    #[test]
    fn codegen_names_cover_the_runtime_codegen_module() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../runtime/src/codegen.rs");
        let text = std::fs::read_to_string(path).unwrap();
        let mut missing = Vec::new();
        // The last segment of each `pub use` path or braced list, and each
        // `pub type`/`pub fn` name; functions are values and may be missing.
        let uses = text.split("pub use ").skip(1).map(|item| {
            let item = &item[..item.find(';').unwrap_or(item.len())];
            match (item.find('{'), item.rfind('}')) {
                (Some(a), Some(b)) => &item[a + 1..b],
                _ => item.rsplit("::").next().unwrap_or(item),
            }
        });
        let types = text
            .split("pub type ")
            .skip(1)
            .map(|item| item.split(['<', ' ', '=']).next().unwrap_or(item));
        for list in uses.chain(types) {
            for name in list.split(',') {
                let name = name.trim();
                let name = name.rsplit(" as ").next().unwrap_or(name);
                let name = name.split(['<', ' ', '=']).next().unwrap_or(name);
                let is_type = name.starts_with(|c: char| c.is_ascii_uppercase());
                let is_module = ["http", "http_body", "pilota", "tonic"].contains(&name);
                if (is_type || is_module) && !CODEGEN_NAMES.contains(&name) && name != "self" {
                    missing.push(name.to_string());
                }
            }
        }
        assert!(missing.is_empty(), "add to CODEGEN_NAMES: {missing:?}");
    }

    #[test]
    fn keywords() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Self").to_string(), "Self_");
        assert_eq!(ident("plain").to_string(), "plain");
    }
}
