//! The type table: named types, resolved types and constant values.

use super::{Annotation, FieldDescriptor, Span};

/// An index into [`Descriptor::types`](super::Descriptor::types); look it up with
/// [`Descriptor::type_def`](super::Descriptor::type_def). Only meaningful for the descriptor it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub(super) usize);

impl TypeId {
    /// The position in [`Descriptor::types`](super::Descriptor::types).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A type, with names resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
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
    /// `string` (UTF-8 on the wire).
    String,
    /// `binary`.
    Binary,
    /// `uuid`: 16 bytes (Apache Thrift 0.19+).
    Uuid,
    /// `list<T>`.
    List(Box<Ty>),
    /// `set<T>`.
    Set(Box<Ty>),
    /// `map<K, V>`.
    Map(Box<Ty>, Box<Ty>),
    /// A struct, union, exception, enum or typedef of the type table. Use
    /// [`Descriptor::resolve`](super::Descriptor::resolve) to see through typedefs.
    Named(TypeId),
}

/// A named type: struct, union, exception, enum or typedef.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TypeDescriptor {
    /// The IDL name (`Item`).
    pub name: String,
    /// `<include name>.<name>` (`shared.Item`), the way an including file
    /// writes it.
    pub qualified_name: String,
    /// Index of the declaring file in [`Descriptor::files`](super::Descriptor::files).
    pub file: usize,
    /// What it is.
    pub kind: TypeKind,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where its name is written.
    pub span: Span,
}

/// What a named type is.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// A struct, union or exception.
    Struct(StructDescriptor),
    /// An enum.
    Enum(EnumDescriptor),
    /// A typedef of this type (itself possibly a typedef).
    Typedef(Ty),
}

/// Which keyword introduced a struct-like type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StructKind {
    /// `struct`.
    Struct,
    /// `union`: exactly one field is set.
    Union,
    /// `exception`.
    Exception,
}

/// The body of a struct, union or exception.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StructDescriptor {
    /// Which keyword.
    pub kind: StructKind,
    /// Its fields, in declaration order.
    pub fields: Vec<FieldDescriptor>,
}

impl StructDescriptor {
    /// The field with this IDL name.
    pub fn field(&self, name: &str) -> Option<&FieldDescriptor> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field with this id.
    pub fn field_by_id(&self, id: i16) -> Option<&FieldDescriptor> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// The values of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnumDescriptor {
    /// Its values, in declaration order, implicit numbers filled in.
    pub values: Vec<EnumValue>,
}

impl EnumDescriptor {
    /// The value with this IDL name.
    pub fn by_name(&self, name: &str) -> Option<&EnumValue> {
        self.values.iter().find(|v| v.name == name)
    }

    /// The first value with this number.
    pub fn by_number(&self, number: i32) -> Option<&EnumValue> {
        self.values.iter().find(|v| v.number == number)
    }
}

/// One value of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnumValue {
    /// The IDL name (`GREEN`).
    pub name: String,
    /// Its number on the wire: as written, or one more than the previous
    /// value's (the first defaults to 0), as the generator computes it.
    pub number: i32,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where its name is written.
    pub span: Span,
}

/// A `const`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConstDescriptor {
    /// The IDL name.
    pub name: String,
    /// `<include name>.<name>`.
    pub qualified_name: String,
    /// Index of the declaring file in [`Descriptor::files`](super::Descriptor::files).
    pub file: usize,
    /// The declared type.
    pub ty: Ty,
    /// The value, resolved against `ty`.
    pub value: ConstValue,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where its name is written.
    pub span: Span,
}

/// A constant or default value, resolved against its declared type:
/// references to other constants are followed, enum values become numbers,
/// integers written for a `double` become doubles.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    /// A `bool` (`true`, `false`, `1` or `0` in the IDL).
    Bool(bool),
    /// An `i8`, `i16`, `i32` or `i64`, or an enum value's number.
    Int(i64),
    /// A `double`.
    Double(f64),
    /// A `string`.
    String(String),
    /// A `binary`: the bytes of the literal's text.
    Binary(Vec<u8>),
    /// A `list` or `set`, in the order written.
    List(Vec<ConstValue>),
    /// A `map`, in the order written.
    Map(Vec<(ConstValue, ConstValue)>),
    /// A struct, union or exception: the fields given, by id, in the order
    /// written. Fields not given keep their own defaults.
    Struct(Vec<(i16, ConstValue)>),
}
