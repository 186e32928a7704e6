//! The syntax tree of one `.thrift` file, as written.
//!
//! Every node keeps the byte [`Span`] it came from, so that later stages can
//! point a diagnostic at the exact place in the file. Names are not resolved
//! here: a type written `shared.Item` stays the dotted text `shared.Item`
//! until the resolver looks it up.

/// A half-open byte range `start..end` into the source text of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    /// Offset of the first byte.
    pub(crate) start: usize,
    /// Offset one past the last byte.
    pub(crate) end: usize,
}

impl Span {
    /// A span covering `start..end`.
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A name as written, possibly dotted (`shared.Item`), with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ident {
    /// The text of the name.
    pub(crate) name: String,
    /// Where it was written.
    pub(crate) span: Span,
}

/// One annotation `key = "value"` from a `( ... )` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Annotation {
    /// The key, possibly dotted (`streaming.mode`).
    pub(crate) key: Ident,
    /// The string value (empty when the annotation has no `= value`).
    pub(crate) value: String,
    /// Span of the value literal (or of the key when there is no value).
    pub(crate) value_span: Span,
}

/// A parsed `.thrift` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Document {
    /// `include` statements, in order.
    pub(crate) includes: Vec<Include>,
    /// `namespace` statements, in order.
    pub(crate) namespaces: Vec<Namespace>,
    /// Definitions, in order.
    pub(crate) definitions: Vec<Definition>,
}

/// `include "path.thrift"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    /// The path as written in the literal.
    pub(crate) path: String,
    /// Span of the string literal.
    pub(crate) span: Span,
}

/// `namespace <scope> <name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace {
    /// The language scope (`rs`, `go`, `*`, ...).
    pub(crate) scope: Ident,
    /// The namespace name (`echo`, `a.b.c`).
    pub(crate) name: Ident,
}

/// A top-level definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Definition {
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
pub(crate) enum StructKind {
    /// `struct`.
    Struct,
    /// `union`.
    Union,
    /// `exception`.
    Exception,
}

/// A `struct`, `union` or `exception`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StructLike {
    /// Which keyword.
    pub(crate) kind: StructKind,
    /// Its name.
    pub(crate) name: Ident,
    /// Its fields, in order.
    pub(crate) fields: Vec<Field>,
    /// Annotations after the closing brace.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text written before it (`/** */` or `///` or any comment directly above).
    pub(crate) doc: Option<String>,
}

/// Field requiredness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requiredness {
    /// `required`.
    Required,
    /// `optional`.
    Optional,
    /// Neither keyword.
    Default,
}

/// A field of a struct-like, an argument of a function or an entry of `throws`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The field id and its span. A field written without an id gets one
    /// as Apache Thrift assigns it: -1, -2, ... in order within its field
    /// list (the span is then the field name's, and `implicit_id` is set).
    pub(crate) id: Option<(i64, Span)>,
    /// Whether `id` was assigned because the IDL wrote none.
    pub(crate) implicit_id: bool,
    /// `required` / `optional` / neither.
    pub(crate) requiredness: Requiredness,
    /// The field type.
    pub(crate) ty: Type,
    /// The field name.
    pub(crate) name: Ident,
    /// `= value`, if any.
    pub(crate) default: Option<ConstValue>,
    /// Annotations after the field.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
    /// Span of the whole field.
    pub(crate) span: Span,
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Type {
    /// What type.
    pub(crate) kind: TypeKind,
    /// Where it was written.
    pub(crate) span: Span,
}

/// The kinds of types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TypeKind {
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
    /// `uuid` (Apache Thrift 0.19+): 16 bytes.
    Uuid,
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
pub(crate) struct Enum {
    /// Its name.
    pub(crate) name: Ident,
    /// Its values, in order.
    pub(crate) variants: Vec<EnumVariant>,
    /// Annotations after the closing brace.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}

/// One value of an enum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnumVariant {
    /// Its name.
    pub(crate) name: Ident,
    /// The explicit value, if written.
    pub(crate) value: Option<(i64, Span)>,
    /// Annotations.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}

/// A `typedef`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Typedef {
    /// The aliased type.
    pub(crate) ty: Type,
    /// The new name.
    pub(crate) name: Ident,
    /// Annotations.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}

/// A `const`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Const {
    /// Declared type.
    pub(crate) ty: Type,
    /// Name.
    pub(crate) name: Ident,
    /// Value.
    pub(crate) value: ConstValue,
    /// Annotations.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}

/// A constant value literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConstValue {
    /// What literal.
    pub(crate) kind: ConstKind,
    /// Where it was written.
    pub(crate) span: Span,
}

/// The kinds of constant literals.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConstKind {
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
pub(crate) struct Service {
    /// Its name.
    pub(crate) name: Ident,
    /// `extends Base` (possibly `include.Base`).
    pub(crate) extends: Option<Ident>,
    /// Its functions, in order.
    pub(crate) functions: Vec<Function>,
    /// Annotations after the closing brace.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}

/// One function of a service.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Function {
    /// The span of the `oneway` keyword, when present.
    pub(crate) oneway: Option<Span>,
    /// The result type; `None` for `void`.
    pub(crate) result: Option<Type>,
    /// Span of the result type or of `void`.
    pub(crate) result_span: Span,
    /// Its name.
    pub(crate) name: Ident,
    /// Its arguments.
    pub(crate) args: Vec<Field>,
    /// Its declared exceptions (`throws (...)`).
    pub(crate) throws: Vec<Field>,
    /// Annotations after the argument list / throws clause.
    pub(crate) annotations: Vec<Annotation>,
    /// Doc comment text.
    pub(crate) doc: Option<String>,
}
