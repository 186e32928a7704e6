//! Semantic checks: everything that parses but cannot be generated.
//!
//! Every check pushes a [`Diagnostic`] and goes on, so one run reports all
//! independent problems.

use std::collections::{HashMap, HashSet};

use crate::ast::{self, ConstKind, Definition, Field, StructKind};
use crate::diag::Diagnostic;
use crate::resolve::{DefId, Program, Ty};

/// How a method is carried, from its `streaming.mode` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No annotation: an ordinary ping-pong method.
    PingPong,
    /// `streaming.mode = "unary"`: one message each way over gRPC, Args/Result framed.
    Unary,
    /// `streaming.mode = "client"`.
    Client,
    /// `streaming.mode = "server"`.
    Server,
    /// `streaming.mode = "bidirectional"`.
    Bidi,
}

impl Mode {
    /// True for the modes that carry a bare struct per message.
    pub(crate) fn is_stream(self) -> bool {
        matches!(self, Mode::Client | Mode::Server | Mode::Bidi)
    }
}

const MODE_KEY: &str = "streaming.mode";

/// The method's mode, or `PingPong` when the annotation is absent or invalid
/// (an invalid one is reported by [`check`]).
pub(crate) fn mode_of(f: &ast::Function) -> Mode {
    match f
        .annotations
        .iter()
        .find(|a| a.key.name == MODE_KEY)
        .map(|a| a.value.as_str())
    {
        Some("unary") => Mode::Unary,
        Some("client") => Mode::Client,
        Some("server") => Mode::Server,
        Some("bidirectional") => Mode::Bidi,
        _ => Mode::PingPong,
    }
}

/// Runs every check over every file.
pub(crate) fn check(p: &Program) -> Vec<Diagnostic> {
    let mut c = Checker {
        p,
        errors: Vec::new(),
    };
    for (fi, f) in p.files.iter().enumerate() {
        for (di, d) in f.doc.definitions.iter().enumerate() {
            let id = DefId { file: fi, def: di };
            match d {
                Definition::Struct(s) => c.struct_like(fi, s),
                Definition::Enum(e) => c.enumeration(fi, e),
                Definition::Typedef(t) => c.typedef(id, t),
                Definition::Const(k) => c.constant(fi, k),
                Definition::Service(s) => c.service(id, s),
            }
        }
    }
    c.errors
}

struct Checker<'a> {
    p: &'a Program,
    errors: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn err(&mut self, file: usize, span: ast::Span, msg: impl Into<String>) {
        let d = self.p.files[file].diag(span, msg);
        self.errors.push(d);
    }

    fn ty(&mut self, file: usize, ty: &ast::Type) -> Option<Ty> {
        match self.p.resolve_type(file, ty) {
            Ok(t) => Some(t),
            Err(d) => {
                // A name behind a missing include or a file with a syntax
                // error: that problem is reported already.
                if !self.p.type_follows_earlier_error(file, ty) {
                    self.errors.push(d);
                }
                None
            }
        }
    }

    fn fields(
        &mut self,
        file: usize,
        owner: &str,
        fields: &[Field],
        what: &str,
    ) -> Vec<Option<Ty>> {
        let mut ids: HashMap<i64, &str> = HashMap::new();
        // IDL name → the field that has it.
        let mut names: HashMap<String, &Field> = HashMap::new();
        let mut out = Vec::new();
        for f in fields {
            match f.id {
                None => self.err(
                    file,
                    f.name.span,
                    format!(
                        "{what} `{}` of `{owner}` has no id; expected `N: ` before it",
                        f.name.name
                    ),
                ),
                Some((id, span)) => {
                    if !(i16::MIN as i64..=i16::MAX as i64).contains(&id) {
                        self.err(
                            file,
                            span,
                            format!("field id {id} is out of range; expected -32768..=32767"),
                        );
                    } else if let Some(prev) = ids.insert(id, &f.name.name) {
                        let implicit = if f.implicit_id {
                            " (the id a field written without one gets)"
                        } else {
                            ""
                        };
                        self.err(
                            file,
                            span,
                            format!(
                                "duplicate field id {id}{implicit} in `{owner}`: already used by `{prev}`; expected each {what} to have its own id"
                            ),
                        );
                    }
                }
            }
            // Names that differ only once Rust-cased (`fooBar`, `foo_bar`)
            // are fine: the generator renames the later one.
            if names.insert(f.name.name.clone(), f).is_some() {
                self.err(
                    file,
                    f.name.span,
                    format!(
                        "duplicate {what} name `{}` in `{owner}`; expected each {what} to have its own name",
                        f.name.name
                    ),
                );
            }
            let t = self.ty(file, &f.ty);
            if let (Some(t), Some(v)) = (&t, &f.default) {
                self.value(file, t, v, 0);
            }
            out.push(t);
        }
        out
    }

    fn struct_like(&mut self, file: usize, s: &ast::StructLike) {
        let tys = self.fields(file, &s.name.name, &s.fields, "field");
        if s.kind == StructKind::Union {
            for f in &s.fields {
                if f.requiredness == ast::Requiredness::Required {
                    self.err(
                        file,
                        f.name.span,
                        format!(
                            "union field `{}` cannot be `required`: exactly one field of a union is set",
                            f.name.name
                        ),
                    );
                }
            }
        }
        let _ = tys;
    }

    fn enumeration(&mut self, file: usize, e: &ast::Enum) {
        let mut names = HashSet::new();
        let values = crate::gen::consts::enum_values(e);
        for (v, &value) in e.variants.iter().zip(&values) {
            if !names.insert(v.name.name.as_str()) {
                self.err(
                    file,
                    v.name.span,
                    format!(
                        "duplicate value name `{}` in enum `{}`",
                        v.name.name, e.name.name
                    ),
                );
            }
            if !(i32::MIN as i64..=i32::MAX as i64).contains(&value) {
                let span = v.value.map_or(v.name.span, |(_, s)| s);
                self.err(
                    file,
                    span,
                    format!("enum value {value} is out of the i32 range"),
                );
            }
        }
    }

    fn typedef(&mut self, id: DefId, t: &ast::Typedef) {
        if self.ty(id.file, &t.ty).is_none() {
            return;
        }
        // Typedef cycles: follow the chain and see whether it comes back.
        let mut seen = HashSet::from([id]);
        let mut cur = self.p.resolve_type(id.file, &t.ty).ok();
        while let Some(Ty::Def(next)) = cur {
            if !seen.insert(next) {
                self.err(
                    id.file,
                    t.name.span,
                    format!("typedef `{}` refers to itself", t.name.name),
                );
                return;
            }
            cur = match self.p.def(next) {
                Definition::Typedef(n) => self.p.resolve_type(next.file, &n.ty).ok(),
                _ => None,
            };
        }
    }

    fn constant(&mut self, file: usize, k: &ast::Const) {
        if let Some(t) = self.ty(file, &k.ty) {
            self.value(file, &t, &k.value, 0);
        }
    }

    /// Checks that a constant value fits its declared type.
    fn value(&mut self, file: usize, t: &Ty, v: &ast::ConstValue, depth: usize) {
        if depth > 32 {
            self.err(file, v.span, "constant refers to itself");
            return;
        }
        if let ConstKind::Ident(name) = &v.kind {
            if let Some((cid, c)) = self.p.lookup_const(file, name) {
                // A reference to another constant: check that one against our type.
                let c = c.clone();
                self.value(cid.file, t, &c.value, depth + 1);
                return;
            }
        }
        let under = self.p.underlying(t);
        let ok = match (&under, &v.kind) {
            (Ty::Bool, ConstKind::Ident(i)) => i == "true" || i == "false",
            (Ty::Bool, ConstKind::Int(n)) => *n == 0 || *n == 1,
            (Ty::I8, ConstKind::Int(n)) => i8::try_from(*n).is_ok(),
            (Ty::I16, ConstKind::Int(n)) => i16::try_from(*n).is_ok(),
            (Ty::I32, ConstKind::Int(n)) => i32::try_from(*n).is_ok(),
            (Ty::I64, ConstKind::Int(_)) => true,
            // An enum value where an integer is expected (`const i32 TWO =
            // Stuff.TWO`), as Apache Thrift and thriftgo accept.
            (Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64, ConstKind::Ident(i)) => {
                enum_value_of(self.p, file, i).is_some_and(|n| int_fits(&under, n))
            }
            (Ty::Double, ConstKind::Int(_) | ConstKind::Double(_)) => true,
            (Ty::String | Ty::Binary, ConstKind::String(_)) => true,
            (Ty::Uuid, ConstKind::String(s)) => {
                if uuid_bytes(s).is_none() {
                    self.err(
                        file,
                        v.span,
                        "this string is not a uuid: expected 8-4-4-4-12 hex digits, optionally in braces (`{00112233-4455-6677-8899-aabbccddeeff}`)",
                    );
                    return;
                }
                true
            }
            // `{}` is an empty list or set too (Apache's ThriftTest writes
            // `set<binary> bin_set = {}`).
            (Ty::List(_) | Ty::Set(_), ConstKind::Map(entries)) => entries.is_empty(),
            (Ty::List(e) | Ty::Set(e), ConstKind::List(items)) => {
                for i in items {
                    self.value(file, e, i, depth + 1);
                }
                true
            }
            (Ty::Map(kt, vt), ConstKind::Map(entries)) => {
                for (k, val) in entries {
                    self.value(file, kt, k, depth + 1);
                    self.value(file, vt, val, depth + 1);
                }
                true
            }
            (Ty::Def(id), _) => match self.p.def(*id) {
                Definition::Enum(e) => match &v.kind {
                    ConstKind::Int(n) => crate::gen::consts::enum_values(e).contains(n),
                    ConstKind::Ident(i) => self.p.enum_value(*id, i).is_some(),
                    _ => false,
                },
                Definition::Struct(s) => match &v.kind {
                    ConstKind::Map(entries) => {
                        let mut given = HashSet::new();
                        for (k, val) in entries {
                            let field = match &k.kind {
                                ConstKind::String(n) => s.fields.iter().find(|f| &f.name.name == n),
                                _ => None,
                            };
                            match field {
                                Some(f) if !given.insert(f.name.name.as_str()) => self.err(
                                    file,
                                    k.span,
                                    format!(
                                        "field `{}` of `{}` is given twice in this constant",
                                        f.name.name, s.name.name
                                    ),
                                ),
                                Some(f) => {
                                    if let Ok(ft) = self.p.resolve_type(id.file, &f.ty) {
                                        self.value(file, &ft, val, depth + 1);
                                    }
                                }
                                None => self.err(
                                    file,
                                    k.span,
                                    format!(
                                        "`{}` has no such field; expected a field name as a string",
                                        s.name.name
                                    ),
                                ),
                            }
                        }
                        true
                    }
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        };
        if !ok {
            self.err(
                file,
                v.span,
                format!("this value does not fit type {}", describe(self.p, t)),
            );
        }
    }

    fn service(&mut self, id: DefId, s: &ast::Service) {
        let file = id.file;
        if let Some(base) = &s.extends {
            match self.p.lookup_service(file, base) {
                Ok((bid, _)) => {
                    // extends cycles
                    let mut seen = HashSet::from([id]);
                    let mut cur = Some(bid);
                    while let Some(b) = cur {
                        if !seen.insert(b) {
                            self.err(
                                file,
                                base.span,
                                format!("service `{}` extends itself", s.name.name),
                            );
                            break;
                        }
                        cur = match self.p.def(b) {
                            Definition::Service(bs) => bs
                                .extends
                                .as_ref()
                                .and_then(|e| self.p.lookup_service(b.file, e).ok())
                                .map(|(i, _)| i),
                            _ => None,
                        };
                    }
                }
                Err(d) => {
                    if !self.p.follows_earlier_error(file, base) {
                        self.errors.push(d);
                    }
                }
            }
        }
        let mut names = HashSet::new();
        for f in &s.functions {
            if !names.insert(f.name.name.as_str()) {
                self.err(
                    file,
                    f.name.span,
                    format!(
                        "duplicate method `{}` in service `{}`",
                        f.name.name, s.name.name
                    ),
                );
            }
            self.function(file, s, f);
        }
    }

    fn function(&mut self, file: usize, s: &ast::Service, f: &ast::Function) {
        let owner = format!("{}.{}", s.name.name, f.name.name);
        let arg_tys = self.fields(file, &owner, &f.args, "argument");
        let result = f.result.as_ref().and_then(|t| self.ty(file, t));
        let throws = self.fields(file, &owner, &f.throws, "exception");
        for (t, field) in throws.iter().zip(&f.throws) {
            if let Some(t) = t {
                let is_exc = matches!(self.p.as_struct(t), Some((_, st)) if st.kind == StructKind::Exception);
                if !is_exc {
                    self.err(
                        file,
                        field.ty.span,
                        format!(
                            "`throws` of `{owner}` lists `{}`, expected an exception type",
                            field.name.name
                        ),
                    );
                }
            }
        }
        if f.oneway.is_some() && f.result.is_some() {
            self.err(
                file,
                f.result_span,
                format!("oneway method `{owner}` must return `void`"),
            );
        }
        if f.oneway.is_some() && !f.throws.is_empty() {
            self.err(
                file,
                f.name.span,
                format!("oneway method `{owner}` cannot declare exceptions"),
            );
        }

        let modes: Vec<&ast::Annotation> = f
            .annotations
            .iter()
            .filter(|a| a.key.name == MODE_KEY)
            .collect();
        for extra in modes.iter().skip(1) {
            self.err(
                file,
                extra.key.span,
                format!("method `{owner}` has more than one `streaming.mode` annotation; expected at most one"),
            );
        }
        let Some(mode_ann) = modes.first() else {
            return;
        };
        if !["bidirectional", "client", "server", "unary"].contains(&mode_ann.value.as_str()) {
            self.err(
                file,
                mode_ann.value_span,
                format!(
                    "unknown streaming.mode `{}` on `{owner}`; expected one of \"bidirectional\", \"client\", \"server\", \"unary\"",
                    mode_ann.value
                ),
            );
            return;
        }
        let mode = mode_of(f);
        if let Some(ow) = f.oneway {
            self.err(
                file,
                ow,
                format!("streaming method `{owner}` cannot be `oneway`; expected a method without `oneway` (or no `streaming.mode`)"),
            );
        }
        if f.args.len() != 1 {
            // Point at the first extra argument, or at the name when there is none.
            let at = f.args.get(1).map_or(f.name.span, |a| a.span);
            self.err(
                file,
                at,
                format!(
                    "streaming method `{owner}` has {} arguments; expected exactly one struct argument",
                    f.args.len()
                ),
            );
        } else if let Some(Some(t)) = arg_tys.first() {
            if self.p.as_struct(t).is_none() {
                self.err(
                    file,
                    f.args[0].ty.span,
                    format!("the argument of streaming method `{owner}` must be a struct, union or exception, found {}", describe_deep(self.p, t)),
                );
            }
        }
        match (&f.result, &result) {
            (None, _) => self.err(
                file,
                f.result_span,
                format!("streaming method `{owner}` returns `void`; expected a struct result"),
            ),
            (Some(rt), Some(t)) if self.p.as_struct(t).is_none() => self.err(
                file,
                rt.span,
                format!("the result of streaming method `{owner}` must be a struct, union or exception, found {}", describe_deep(self.p, t)),
            ),
            _ => {}
        }
        if mode.is_stream() && !f.throws.is_empty() {
            self.err(
                file,
                f.throws[0].name.span,
                format!("streaming method `{owner}` cannot declare exceptions (they have no place in a stream); return a status instead, or use streaming.mode=\"unary\""),
            );
        }
    }
}

/// Whether `n` fits the integer type `t`.
fn int_fits(t: &Ty, n: i64) -> bool {
    match t {
        Ty::I8 => i8::try_from(n).is_ok(),
        Ty::I16 => i16::try_from(n).is_ok(),
        Ty::I32 => i32::try_from(n).is_ok(),
        _ => true,
    }
}

/// The integer value of an enum value named in a const value from `file`:
/// `Enum.VALUE` or `include.Enum.VALUE`.
pub(crate) fn enum_value_of(p: &Program, file: usize, ident: &str) -> Option<i64> {
    let (enum_name, value) = ident.rsplit_once('.')?;
    let name = ast::Ident {
        name: enum_name.to_string(),
        span: ast::Span::default(),
    };
    let id = p.lookup(file, &name).ok()?;
    let Definition::Enum(e) = p.def(id) else {
        return None;
    };
    let idx = e.variants.iter().position(|v| v.name.name == value)?;
    crate::gen::consts::enum_values(e).get(idx).copied()
}

/// The 16 bytes of a uuid written as `8-4-4-4-12` hex digits, optionally in
/// braces; `None` when `text` is not one.
pub(crate) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let s = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12] {
        return None;
    }
    let hex: String = groups.concat();
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Like [`describe`], but a typedef also shows what it stands for
/// (`typedef `Lines` (list<string>)`).
fn describe_deep(p: &Program, t: &Ty) -> String {
    let under = p.underlying(t);
    if &under == t {
        describe(p, t)
    } else {
        format!("{} ({})", describe(p, t), describe(p, &under))
    }
}

/// A short description of a type for messages.
pub(crate) fn describe(p: &Program, t: &Ty) -> String {
    match t {
        Ty::Bool => "bool".into(),
        Ty::I8 => "i8".into(),
        Ty::I16 => "i16".into(),
        Ty::I32 => "i32".into(),
        Ty::I64 => "i64".into(),
        Ty::Double => "double".into(),
        Ty::String => "string".into(),
        Ty::Binary => "binary".into(),
        Ty::Uuid => "uuid".into(),
        Ty::List(e) => format!("list<{}>", describe(p, e)),
        Ty::Set(e) => format!("set<{}>", describe(p, e)),
        Ty::Map(k, v) => format!("map<{}, {}>", describe(p, k), describe(p, v)),
        Ty::Def(id) => {
            let d = p.def(*id);
            format!(
                "{} `{}`",
                crate::resolve::def_kind(d),
                crate::resolve::def_name(d).name
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::resolve::diagnostics_of;

    fn one(src: &str) -> Vec<String> {
        diagnostics_of(&[("a.thrift", src)])
    }

    #[test]
    fn streaming_arguments_point_at_the_first_extra_one() {
        assert_eq!(
            one("struct M {}\nservice S {\n  M f(1: M a, 2: M b, 3: M c) (streaming.mode = \"server\")\n}\n"),
            ["a.thrift:3:15: streaming method `S.f` has 3 arguments; expected exactly one struct argument"]
        );
        assert_eq!(
            one("struct M {}\nservice S {\n  M f() (streaming.mode = \"server\")\n}\n"),
            ["a.thrift:3:5: streaming method `S.f` has 0 arguments; expected exactly one struct argument"]
        );
    }

    #[test]
    fn non_struct_streaming_types_show_what_a_typedef_stands_for() {
        assert_eq!(
            one("typedef i32 N\nstruct M {}\nservice S { M f(1: N n) (streaming.mode = \"client\") }\n"),
            ["a.thrift:3:20: the argument of streaming method `S.f` must be a struct, union or exception, found typedef `N` (i32)"]
        );
    }

    #[test]
    fn duplicate_fields_say_what_was_expected() {
        assert_eq!(
            one("struct M {\n  1: i32 a,\n  1: i32 b,\n  2: i32 a,\n  3: i32 fooBar,\n  4: i32 foo_bar,\n}\n"),
            [
                "a.thrift:3:3: duplicate field id 1 in `M`: already used by `a`; expected each field to have its own id",
                "a.thrift:4:10: duplicate field name `a` in `M`; expected each field to have its own name",
            ]
        );
        assert_eq!(
            one("service S { void f(1: i32 a, 1: i32 b) }\n"),
            ["a.thrift:1:30: duplicate field id 1 in `S.f`: already used by `a`; expected each argument to have its own id"]
        );
    }

    #[test]
    fn oneway_streaming_says_what_was_expected() {
        assert_eq!(
            one("struct M {}\nservice S { oneway void f(1: M m) (streaming.mode = \"bidirectional\") }\n"),
            [
                "a.thrift:2:13: streaming method `S.f` cannot be `oneway`; expected a method without `oneway` (or no `streaming.mode`)",
                "a.thrift:2:20: streaming method `S.f` returns `void`; expected a struct result",
            ]
        );
    }
}
