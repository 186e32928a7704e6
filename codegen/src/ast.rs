//! The syntax tree of one `.thrift` file, as written.
//!
//! Every node keeps the byte [`Span`] it came from, so that later stages can
//! point a diagnostic at the exact place in the file. Names are not resolved
//! here: a type written `shared.Item` stays the dotted text `shared.Item`
//! until the resolver looks it up.

/// A half-open byte range `start..end` into the source text of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span covering `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A name as written, possibly dotted (`shared.Item`), with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The text of the name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// One annotation `key = "value"` from a `( ... )` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// The key, possibly dotted (`streaming.mode`).
    pub key: Ident,
    /// The string value (empty when the annotation has no `= value`).
    pub value: String,
    /// Span of the value literal (or of the key when there is no value).
    pub value_span: Span,
}

/// A parsed `.thrift` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// `include` statements, in order.
    pub includes: Vec<Include>,
    /// `namespace` statements, in order.
    pub namespaces: Vec<Namespace>,
    /// Definitions, in order.
    pub definitions: Vec<Definition>,
}

/// `include "path.thrift"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The path as written in the literal.
    pub path: String,
    /// Span of the string literal.
    pub span: Span,
}

/// `namespace <scope> <name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The language scope (`rs`, `go`, `*`, ...).
    pub scope: Ident,
    /// The namespace name (`echo`, `a.b.c`).
    pub name: Ident,
}

/// A top-level definition.
#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    /// `const T NAME = value`.
    Const(Const),
    /// `typedef T Name`.
    Typedef(Typedef),
    /// `enum Name { ... }`.
    Enum(Enum),
    /// `struct`, `union` or `exception`.
    Struct(StructLike),
    /// `service Name [extends Base] { ... }`.
    Service(Service),
}

/// Which of the three struct-like keywords introduced a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructKind {
    /// `struct`.
    Struct,
    /// `union`.
    Union,
    /// `exception`.
    Exception,
}

/// A `struct`, `union` or `exception`.
#[derive(Debug, Clone, PartialEq)]
pub struct StructLike {
    /// Which keyword.
    pub kind: StructKind,
    /// Its name.
    pub name: Ident,
    /// Its fields, in order.
    pub fields: Vec<Field>,
    /// Annotations after the closing brace.
    pub annotations: Vec<Annotation>,
    /// Doc comment text written before it (`/** */` or `///` or any comment directly above).
    pub doc: Option<String>,
}

/// Field requiredness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requiredness {
    /// `required`.
    Required,
    /// `optional`.
    Optional,
    /// Neither keyword.
    Default,
}

/// A field of a struct-like, an argument of a function or an entry of `throws`.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field id and its span; `None` when the IDL omits it (an error later).
    pub id: Option<(i64, Span)>,
    /// `required` / `optional` / neither.
    pub requiredness: Requiredness,
    /// The field type.
    pub ty: Type,
    /// The field name.
    pub name: Ident,
    /// `= value`, if any.
    pub default: Option<ConstValue>,
    /// Annotations after the field.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
    /// Span of the whole field.
    pub span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    /// What type.
    pub kind: TypeKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of types.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `bool`.
    Bool,
    /// `byte` or `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `double`.
    Double,
    /// `string`.
    String,
    /// `binary`.
    Binary,
    /// `list<T>`.
    List(Box<Type>),
    /// `set<T>`.
    Set(Box<Type>),
    /// `map<K, V>`.
    Map(Box<Type>, Box<Type>),
    /// A named type: a struct, enum, typedef, possibly `include.Name`.
    Named(Ident),
}

/// An `enum`.
#[derive(Debug, Clone, PartialEq)]
pub struct Enum {
    /// Its name.
    pub name: Ident,
    /// Its values, in order.
    pub variants: Vec<EnumVariant>,
    /// Annotations after the closing brace.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}

/// One value of an enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumVariant {
    /// Its name.
    pub name: Ident,
    /// The explicit value, if written.
    pub value: Option<(i64, Span)>,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}

/// A `typedef`.
#[derive(Debug, Clone, PartialEq)]
pub struct Typedef {
    /// The aliased type.
    pub ty: Type,
    /// The new name.
    pub name: Ident,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}

/// A `const`.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// Declared type.
    pub ty: Type,
    /// Name.
    pub name: Ident,
    /// Value.
    pub value: ConstValue,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}

/// A constant value literal.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstValue {
    /// What literal.
    pub kind: ConstKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of constant literals.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstKind {
    /// An integer (decimal, `0x` hex, with optional sign).
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// A string literal (escapes resolved).
    String(String),
    /// An identifier: `true`, `false`, an enum value `Color.RED`, another const.
    Ident(String),
    /// `[a, b, c]`.
    List(Vec<ConstValue>),
    /// `{k: v, ...}`.
    Map(Vec<(ConstValue, ConstValue)>),
}

/// A `service`.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Its name.
    pub name: Ident,
    /// `extends Base` (possibly `include.Base`).
    pub extends: Option<Ident>,
    /// Its functions, in order.
    pub functions: Vec<Function>,
    /// Annotations after the closing brace.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}

/// One function of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// The span of the `oneway` keyword, when present.
    pub oneway: Option<Span>,
    /// The result type; `None` for `void`.
    pub result: Option<Type>,
    /// Span of the result type or of `void`.
    pub result_span: Span,
    /// Its name.
    pub name: Ident,
    /// Its arguments.
    pub args: Vec<Field>,
    /// Its declared exceptions (`throws (...)`).
    pub throws: Vec<Field>,
    /// Annotations after the argument list / throws clause.
    pub annotations: Vec<Annotation>,
    /// Doc comment text.
    pub doc: Option<String>,
}
