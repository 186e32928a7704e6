//! Recursive-descent parser from tokens to [`crate::ast::Document`].

use super::lexer::{snippet, tokenize, TokKind, Token};
use super::SyntaxError;
use crate::ast::{
    Annotation, Const, ConstKind, ConstValue, Definition, Document, Enum, EnumVariant, Field,
    Function, Ident, Include, Namespace, Requiredness, Service, Span, StructKind, StructLike, Type,
    TypeKind, Typedef,
};

/// How deeply types and constant values may nest.
const MAX_DEPTH: usize = 64;

/// Words of the Thrift language; they cannot be used as names.
fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "include"
            | "cpp_include"
            | "namespace"
            | "const"
            | "typedef"
            | "enum"
            | "senum"
            | "struct"
            | "union"
            | "exception"
            | "service"
            | "extends"
            | "required"
            | "optional"
            | "oneway"
            | "void"
            | "throws"
    ) || is_type_keyword(s)
}

/// Keywords that start a type.
fn is_type_keyword(s: &str) -> bool {
    base_type(s).is_some() || matches!(s, "list" | "set" | "map")
}

fn base_type(s: &str) -> Option<TypeKind> {
    Some(match s {
        "bool" => TypeKind::Bool,
        "byte" | "i8" => TypeKind::I8,
        "i16" => TypeKind::I16,
        "i32" => TypeKind::I32,
        "i64" => TypeKind::I64,
        "double" => TypeKind::Double,
        "string" | "slist" => TypeKind::String,
        "binary" => TypeKind::Binary,
        "uuid" => TypeKind::Uuid,
        _ => return None,
    })
}

/// Parser state: the current token and the ones after it.
pub(crate) struct Parser<'a> {
    src: &'a str,
    rest: std::vec::IntoIter<Token>,
    /// The sentinel that ends the stream (`Eof` or a lexical `Error`).
    end: Token,
    cur: Token,
    /// End offset of the last consumed token.
    last_end: usize,
}

type PResult<T> = Result<T, SyntaxError>;

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        let (tokens, end) = tokenize(src);
        let mut rest = tokens.into_iter();
        let cur = rest.next().unwrap_or_else(|| end.clone());
        Parser {
            src,
            rest,
            end,
            cur,
            last_end: 0,
        }
    }

    // ---- token helpers -------------------------------------------------

    fn bump(&mut self) -> Token {
        let next = self.rest.next().unwrap_or_else(|| self.end.clone());
        let tok = std::mem::replace(&mut self.cur, next);
        self.last_end = tok.span.end;
        tok
    }

    /// An error at the current token (or the lexical error found there).
    fn error(&self, message: String) -> SyntaxError {
        let message = match &self.cur.kind {
            TokKind::Error(m) => m.clone(),
            _ => message,
        };
        SyntaxError {
            span: self.cur.span,
            message,
        }
    }

    /// "expected {what}, found {current token}".
    fn expected(&self, what: &str) -> SyntaxError {
        self.error(format!("expected {what}, found {}", self.describe()))
    }

    fn describe(&self) -> String {
        match &self.cur.kind {
            TokKind::Eof => "end of file".to_string(),
            _ => {
                let text = self
                    .src
                    .get(self.cur.span.start..self.cur.span.end)
                    .unwrap_or("");
                format!("`{}`", snippet(text))
            }
        }
    }

    fn eat(&mut self, kind: &TokKind) -> Option<Span> {
        if &self.cur.kind == kind {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn expect(&mut self, kind: &TokKind, what: &str) -> PResult<Span> {
        match self.eat(kind) {
            Some(span) => Ok(span),
            None => Err(self.expected(what)),
        }
    }

    fn at_kw(&self, kw: &str) -> bool {
        matches!(&self.cur.kind, TokKind::Ident(s) if s == kw)
    }

    /// Skips one optional `,` or `;`.
    fn eat_sep(&mut self) {
        if matches!(self.cur.kind, TokKind::Comma | TokKind::Semi) {
            self.bump();
        }
    }

    /// A plain (undotted, non-keyword) name.
    fn name(&mut self, what: &str) -> PResult<Ident> {
        match &self.cur.kind {
            TokKind::Ident(s) if is_keyword(s) => {
                Err(self.error(format!("expected {what}, found keyword `{s}`")))
            }
            TokKind::Ident(s) if s.contains('.') => Err(self.error(format!(
                "expected {what}, found `{}` (a name cannot contain `.`)",
                snippet(s)
            ))),
            TokKind::Ident(s) => {
                let name = s.clone();
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.expected(what)),
        }
    }

    /// A field or argument name: like [`Self::name`], but Thrift's own words
    /// are allowed (`1: i8 i8`, `2: string type`), as Apache Thrift allows.
    fn field_name(&mut self) -> PResult<Ident> {
        match &self.cur.kind {
            TokKind::Ident(s) if is_keyword(s) && !s.contains('.') => {
                let name = s.clone();
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => self.name("a field name"),
        }
    }

    /// A possibly dotted, non-keyword name (`Base`, `shared.Base`).
    fn path(&mut self, what: &str) -> PResult<Ident> {
        match &self.cur.kind {
            TokKind::Ident(s) if is_keyword(s) => {
                Err(self.error(format!("expected {what}, found keyword `{s}`")))
            }
            TokKind::Ident(s) => {
                let name = s.clone();
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.expected(what)),
        }
    }

    fn at_type_start(&self) -> bool {
        matches!(&self.cur.kind, TokKind::Ident(s) if !is_keyword(s) || is_type_keyword(s))
    }

    fn at_field_start(&self) -> bool {
        matches!(self.cur.kind, TokKind::Int(_))
            || self.at_kw("required")
            || self.at_kw("optional")
            || self.at_type_start()
    }

    fn at_value_start(&self) -> bool {
        match &self.cur.kind {
            TokKind::Int(_)
            | TokKind::Double(_)
            | TokKind::Str(_)
            | TokKind::LBracket
            | TokKind::LBrace => true,
            TokKind::Ident(s) => !is_keyword(s),
            _ => false,
        }
    }

    // ---- document ------------------------------------------------------

    pub(crate) fn document(mut self) -> PResult<Document> {
        let mut doc = Document::default();
        loop {
            let kw = match &self.cur.kind {
                TokKind::Eof => return Ok(doc),
                TokKind::Ident(s) if is_keyword(s) => s.clone(),
                _ => return Err(self.expected("a definition")),
            };
            match kw.as_str() {
                "include" | "cpp_include" => {
                    self.bump();
                    let TokKind::Str(path) = &self.cur.kind else {
                        return Err(self.expected(&format!("a string literal after `{kw}`")));
                    };
                    let path = path.clone();
                    let span = self.bump().span;
                    // Annotations on include lines are accepted and dropped.
                    self.annotations()?;
                    if kw == "include" {
                        doc.includes.push(Include { path, span });
                    }
                }
                "namespace" => {
                    let ns = self.namespace()?;
                    doc.namespaces.push(ns);
                }
                "const" => {
                    let c = self.const_def()?;
                    doc.definitions.push(Definition::Const(c));
                }
                "typedef" => {
                    let t = self.typedef()?;
                    doc.definitions.push(Definition::Typedef(t));
                }
                "enum" => {
                    let e = self.enum_def()?;
                    doc.definitions.push(Definition::Enum(e));
                }
                "senum" => {
                    let t = self.senum()?;
                    doc.definitions.push(Definition::Typedef(t));
                }
                "struct" | "union" | "exception" => {
                    let s = self.struct_like()?;
                    doc.definitions.push(Definition::Struct(s));
                }
                "service" => {
                    let s = self.service()?;
                    doc.definitions.push(Definition::Service(s));
                }
                _ => return Err(self.expected("a definition")),
            }
            self.eat_sep();
        }
    }

    fn namespace(&mut self) -> PResult<Namespace> {
        self.bump();
        let scope = match &self.cur.kind {
            TokKind::Ident(s) => {
                let name = s.clone();
                Ident {
                    name,
                    span: self.bump().span,
                }
            }
            TokKind::Star => Ident {
                name: "*".to_string(),
                span: self.bump().span,
            },
            _ => return Err(self.expected("a namespace scope after `namespace`")),
        };
        let name = match &self.cur.kind {
            TokKind::Ident(s) | TokKind::Str(s) => {
                let name = s.clone();
                Ident {
                    name,
                    span: self.bump().span,
                }
            }
            _ => return Err(self.expected("a namespace name")),
        };
        // Annotations on namespaces are accepted and dropped.
        self.annotations()?;
        Ok(Namespace { scope, name })
    }

    fn const_def(&mut self) -> PResult<Const> {
        let doc = self.bump().doc;
        let ty = self.ty(0)?;
        let name = self.name("a const name")?;
        self.expect(&TokKind::Eq, "`=` after const name")?;
        let value = self.const_value(0)?;
        let annotations = self.annotations()?;
        Ok(Const {
            ty,
            name,
            value,
            annotations,
            doc,
        })
    }

    fn typedef(&mut self) -> PResult<Typedef> {
        let doc = self.bump().doc;
        let ty = self.ty(0)?;
        let name = self.name("a typedef name")?;
        let annotations = self.annotations()?;
        Ok(Typedef {
            ty,
            name,
            annotations,
            doc,
        })
    }

    /// `senum Name { "a", "b" }`, the string enum of old Thrift versions
    /// (removed from Apache Thrift and never in thriftgo): on the wire a
    /// `string`, so it becomes `typedef string Name`. The listed values are
    /// checked to be strings and then dropped.
    fn senum(&mut self) -> PResult<Typedef> {
        let kw = self.bump();
        let name = self.name("a senum name")?;
        self.expect(&TokKind::LBrace, "`{` after senum name")?;
        loop {
            if self.eat(&TokKind::RBrace).is_some() {
                break;
            }
            if !matches!(self.cur.kind, TokKind::Str(_)) {
                return Err(self.expected("`}` or a string literal"));
            }
            self.bump();
            self.eat_sep();
        }
        let annotations = self.annotations()?;
        Ok(Typedef {
            ty: Type {
                kind: TypeKind::String,
                span: kw.span,
            },
            name,
            annotations,
            doc: kw.doc,
        })
    }

    fn enum_def(&mut self) -> PResult<Enum> {
        let doc = self.bump().doc;
        let name = self.name("an enum name")?;
        self.expect(&TokKind::LBrace, "`{` after enum name")?;
        let mut variants = Vec::new();
        loop {
            if self.eat(&TokKind::RBrace).is_some() {
                break;
            }
            if !matches!(&self.cur.kind, TokKind::Ident(s) if !is_keyword(s)) {
                return Err(self.expected("`}` or an enum value"));
            }
            let vdoc = self.cur.doc.take();
            let vname = self.name("an enum value name")?;
            let value = if self.eat(&TokKind::Eq).is_some() {
                let TokKind::Int(v) = self.cur.kind else {
                    return Err(self.expected("an integer enum value"));
                };
                Some((v, self.bump().span))
            } else {
                None
            };
            let annotations = self.annotations()?;
            self.eat_sep();
            variants.push(EnumVariant {
                name: vname,
                value,
                annotations,
                doc: vdoc,
            });
        }
        let annotations = self.annotations()?;
        Ok(Enum {
            name,
            variants,
            annotations,
            doc,
        })
    }

    fn struct_like(&mut self) -> PResult<StructLike> {
        let kw = self.bump();
        let (kind, word) = match &kw.kind {
            TokKind::Ident(s) if s == "union" => (StructKind::Union, "union"),
            TokKind::Ident(s) if s == "exception" => (StructKind::Exception, "exception"),
            _ => (StructKind::Struct, "struct"),
        };
        let article = if kind == StructKind::Exception {
            "an"
        } else {
            "a"
        };
        let name = self.name(&format!("{article} {word} name"))?;
        self.expect(&TokKind::LBrace, &format!("`{{` after {word} name"))?;
        let fields = self.fields(&TokKind::RBrace, "`}` or a field")?;
        let annotations = self.annotations()?;
        Ok(StructLike {
            kind,
            name,
            fields,
            annotations,
            doc: kw.doc,
        })
    }

    /// Fields up to and including the `close` token.
    ///
    /// Fields written without an id get -1, -2, ... in order, Apache
    /// Thrift's rule (continuing below an explicit non-positive id) (thriftgo counts up from the previous id instead; the
    /// services that still omit ids were built with Apache Thrift, so its
    /// numbering is what their peers put on the wire).
    fn fields(&mut self, close: &TokKind, what: &str) -> PResult<Vec<Field>> {
        let mut fields = Vec::new();
        let mut next_implicit = -1;
        loop {
            if self.eat(close).is_some() {
                return Ok(fields);
            }
            if !self.at_field_start() {
                return Err(self.expected(what));
            }
            let mut field = self.field()?;
            match field.id {
                None => {
                    field.id = Some((next_implicit, field.name.span));
                    field.implicit_id = true;
                    next_implicit -= 1;
                }
                // An explicit non-positive id is kept, and the count goes
                // on below it (Apache's `--allow-neg-keys`; thriftgo keeps
                // it too).
                Some((id, _)) if id <= 0 => next_implicit = id.saturating_sub(1),
                Some(_) => {}
            }
            fields.push(field);
        }
    }

    fn field(&mut self) -> PResult<Field> {
        let doc = self.cur.doc.take();
        let start = self.cur.span.start;
        let id = if let TokKind::Int(v) = self.cur.kind {
            let span = self.bump().span;
            self.expect(&TokKind::Colon, "`:` after the field id")?;
            Some((v, span))
        } else {
            None
        };
        let requiredness = if self.at_kw("required") {
            self.bump();
            Requiredness::Required
        } else if self.at_kw("optional") {
            self.bump();
            Requiredness::Optional
        } else {
            Requiredness::Default
        };
        let ty = self.ty(0)?;
        // `&` marks a C++ reference (`1: Node & next`): ignored.
        self.eat(&TokKind::Amp);
        let name = self.field_name()?;
        let default = if self.eat(&TokKind::Eq).is_some() {
            Some(self.const_value(0)?)
        } else {
            None
        };
        let annotations = self.annotations()?;
        let span = Span::new(start, self.last_end);
        self.eat_sep();
        Ok(Field {
            id,
            implicit_id: false,
            requiredness,
            ty,
            name,
            default,
            annotations,
            doc,
            span,
        })
    }

    fn service(&mut self) -> PResult<Service> {
        let doc = self.bump().doc;
        let name = self.name("a service name")?;
        let extends = if self.at_kw("extends") {
            self.bump();
            Some(self.path("a service name after `extends`")?)
        } else {
            None
        };
        if extends.is_some() {
            self.expect(&TokKind::LBrace, "`{`")?;
        } else {
            self.expect(&TokKind::LBrace, "`{` or `extends` after service name")?;
        }
        let mut functions = Vec::new();
        loop {
            if self.eat(&TokKind::RBrace).is_some() {
                break;
            }
            if !(self.at_kw("oneway") || self.at_kw("void") || self.at_type_start()) {
                return Err(self.expected("`}` or a function"));
            }
            functions.push(self.function()?);
        }
        let annotations = self.annotations()?;
        Ok(Service {
            name,
            extends,
            functions,
            annotations,
            doc,
        })
    }

    fn function(&mut self) -> PResult<Function> {
        let doc = self.cur.doc.take();
        let oneway = if self.at_kw("oneway") {
            Some(self.bump().span)
        } else {
            None
        };
        let (result, result_span) = if self.at_kw("void") {
            (None, self.bump().span)
        } else if self.at_type_start() {
            let ty = self.ty(0)?;
            let span = ty.span;
            (Some(ty), span)
        } else {
            return Err(self.expected("a result type or `void`"));
        };
        let name = self.name("a function name")?;
        self.expect(&TokKind::LParen, "`(` after function name")?;
        let args = self.fields(&TokKind::RParen, "`)` or an argument")?;
        let throws = if self.at_kw("throws") {
            self.bump();
            self.expect(&TokKind::LParen, "`(` after `throws`")?;
            self.fields(&TokKind::RParen, "`)` or an exception")?
        } else {
            Vec::new()
        };
        let annotations = self.annotations()?;
        self.eat_sep();
        Ok(Function {
            oneway,
            result,
            result_span,
            name,
            args,
            throws,
            annotations,
            doc,
        })
    }

    // ---- types, values, annotations -------------------------------------

    fn ty(&mut self, depth: usize) -> PResult<Type> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "type is nested too deeply (the limit is {MAX_DEPTH} levels)"
            )));
        }
        let word = match &self.cur.kind {
            TokKind::Ident(s) => s.clone(),
            _ => return Err(self.expected("a type")),
        };
        let start = self.cur.span.start;
        let kind = if let Some(kind) = base_type(&word) {
            self.bump();
            kind
        } else if word == "list" || word == "set" {
            self.bump();
            self.cpp_type()?;
            self.expect(&TokKind::Lt, &format!("`<` after `{word}`"))?;
            let inner = Box::new(self.ty(depth + 1)?);
            self.expect(&TokKind::Gt, "`>`")?;
            if word == "list" {
                TypeKind::List(inner)
            } else {
                TypeKind::Set(inner)
            }
        } else if word == "map" {
            self.bump();
            self.cpp_type()?;
            self.expect(&TokKind::Lt, "`<` after `map`")?;
            let key = Box::new(self.ty(depth + 1)?);
            self.expect(&TokKind::Comma, "`,` after the map key type")?;
            let value = Box::new(self.ty(depth + 1)?);
            self.expect(&TokKind::Gt, "`>`")?;
            TypeKind::Map(key, value)
        } else if is_keyword(&word) {
            return Err(self.expected("a type"));
        } else {
            let span = self.bump().span;
            TypeKind::Named(Ident { name: word, span })
        };
        let span = Span::new(start, self.last_end);
        // Annotations on types are accepted and dropped.
        self.annotations()?;
        Ok(Type { kind, span })
    }

    /// Skips an optional `cpp_type "..."` after a container keyword.
    fn cpp_type(&mut self) -> PResult<()> {
        if self.at_kw("cpp_type") {
            self.bump();
            if !matches!(self.cur.kind, TokKind::Str(_)) {
                return Err(self.expected("a string literal after `cpp_type`"));
            }
            self.bump();
        }
        Ok(())
    }

    fn const_value(&mut self, depth: usize) -> PResult<ConstValue> {
        if depth >= MAX_DEPTH {
            return Err(self.error(format!(
                "constant value is nested too deeply (the limit is {MAX_DEPTH} levels)"
            )));
        }
        let start = self.cur.span.start;
        let kind = match &self.cur.kind {
            TokKind::Int(v) => ConstKind::Int(*v),
            TokKind::Double(v) => ConstKind::Double(*v),
            TokKind::Str(s) => ConstKind::String(s.clone()),
            TokKind::Ident(s) if !is_keyword(s) => ConstKind::Ident(s.clone()),
            TokKind::LBracket => {
                self.bump();
                let mut items = Vec::new();
                loop {
                    if self.eat(&TokKind::RBracket).is_some() {
                        break;
                    }
                    if !self.at_value_start() {
                        return Err(self.expected("`]` or a value"));
                    }
                    items.push(self.const_value(depth + 1)?);
                    self.eat_sep();
                }
                return Ok(ConstValue {
                    kind: ConstKind::List(items),
                    span: Span::new(start, self.last_end),
                });
            }
            TokKind::LBrace => {
                self.bump();
                let mut entries = Vec::new();
                loop {
                    if self.eat(&TokKind::RBrace).is_some() {
                        break;
                    }
                    if !self.at_value_start() {
                        return Err(self.expected("`}` or a map key"));
                    }
                    let key = self.const_value(depth + 1)?;
                    self.expect(&TokKind::Colon, "`:` after map key")?;
                    let value = self.const_value(depth + 1)?;
                    self.eat_sep();
                    entries.push((key, value));
                }
                return Ok(ConstValue {
                    kind: ConstKind::Map(entries),
                    span: Span::new(start, self.last_end),
                });
            }
            _ => return Err(self.expected("a constant value")),
        };
        let span = self.bump().span;
        Ok(ConstValue { kind, span })
    }

    /// An optional `( key = "value", ... )` list.
    fn annotations(&mut self) -> PResult<Vec<Annotation>> {
        let mut out = Vec::new();
        if self.eat(&TokKind::LParen).is_none() {
            return Ok(out);
        }
        loop {
            if self.eat(&TokKind::RParen).is_some() {
                return Ok(out);
            }
            let TokKind::Ident(k) = &self.cur.kind else {
                return Err(self.expected("`)` or an annotation"));
            };
            let name = k.clone();
            let key = Ident {
                name,
                span: self.bump().span,
            };
            let (value, value_span) = if self.eat(&TokKind::Eq).is_some() {
                match &self.cur.kind {
                    TokKind::Str(s) => {
                        let v = s.clone();
                        (v, self.bump().span)
                    }
                    TokKind::Int(_) | TokKind::Double(_) => {
                        let span = self.bump().span;
                        let text = self.src.get(span.start..span.end).unwrap_or("");
                        (text.to_string(), span)
                    }
                    _ => return Err(self.expected("a string literal as the annotation value")),
                }
            } else {
                (String::new(), key.span)
            };
            out.push(Annotation {
                key,
                value,
                value_span,
            });
            self.eat_sep();
        }
    }
}
