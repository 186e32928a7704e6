//! A run-time description of a checked IDL: services, methods, types and
//! constants, with names resolved.
//!
//! The code generator turns an IDL into Rust at compile time. Some tools need
//! the same knowledge at run time instead: a generic client that calls any
//! method of any `.thrift` file, a JSON ⇄ Thrift transcoder, a `describe`
//! command. [`load`] gives them a [`Descriptor`], built by the very loader,
//! resolver and checker the generator uses, so a file that loads here is a
//! file the generator accepts, and every name, full service name, mode and
//! enum value is the one the generated code uses.
//!
//! A descriptor is plain owned data, independent of the syntax tree:
//!
//! - [`FileDescriptor`]: each file read (the main one first, then its
//!   includes), with its namespaces, Rust module and gRPC package;
//! - [`ServiceDescriptor`]: each service, with its full gRPC name
//!   (`<package>.<Service>`) and its methods, those of `extends` bases
//!   included;
//! - [`MethodDescriptor`]: a method's [`Mode`], arguments, result, declared
//!   exceptions and annotations;
//! - [`TypeDescriptor`]: the type table. Structs, unions, exceptions, enums
//!   and typedefs of every file live there, and a [`Ty`] names them by
//!   [`TypeId`];
//! - [`ConstDescriptor`]: each `const`, its value resolved to a [`ConstValue`].
//!
//! Every item carries a [`Span`] (file index, line, column) pointing back into
//! the IDL.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use tonic_thrift_build::descriptor::{self, Mode, Ty};
//!
//! let idl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../idl/echo.thrift");
//! let desc = descriptor::load(&idl, &[], None)?;
//!
//! let service = desc.service("TestService").expect("declared in echo.thrift");
//! assert_eq!(service.full_name, "echo.TestService");
//! for method in &service.methods {
//!     println!("{} {:?} {}", method.name, method.mode, method.path);
//! }
//!
//! let echo = desc.method("TestService", "Echo").unwrap();
//! assert_eq!(echo.mode, Mode::Bidirectional);
//! assert_eq!(echo.path, "/echo.TestService/Echo");
//! let Some(Ty::Named(result)) = &echo.result else { panic!("a struct result") };
//! assert_eq!(desc.type_def(*result).name, "Response");
//! # Ok::<(), tonic_thrift_build::GenerateError>(())
//! ```

mod build;
mod types;

use std::path::{Path, PathBuf};

use crate::diag::GenerateError;
pub use types::{
    ConstDescriptor, ConstValue, EnumDescriptor, EnumValue, StructDescriptor, StructKind, Ty,
    TypeDescriptor, TypeId, TypeKind,
};

/// Loads `file` and everything it includes, checks it, and describes it.
///
/// `include_dirs` and `base` mean what they mean for
/// [`generate`](crate::generate): include directories searched after the
/// including file's own directory, and the directory diagnostics (and
/// [`FileDescriptor::display`]) are shown relative to. A file that loads here
/// is one the generator accepts; otherwise the [`GenerateError`] lists every
/// problem, as `generate` would.
pub fn load(
    file: &Path,
    include_dirs: &[PathBuf],
    base: Option<&Path>,
) -> Result<Descriptor, GenerateError> {
    let program = crate::resolve::Program::load_checked(file, include_dirs, base)?;
    Ok(build::describe(&program))
}

/// Everything known about one IDL file and its includes.
///
/// Built by [`load`]. Services, types and constants of every file are kept
/// in tables; items refer to each other by index ([`TypeId`], file index).
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    files: Vec<FileDescriptor>,
    types: Vec<TypeDescriptor>,
    services: Vec<ServiceDescriptor>,
    consts: Vec<ConstDescriptor>,
}

impl Descriptor {
    /// Every file read: index 0 is the file given to [`load`], the others
    /// are its includes, transitively. [`Span::file`] and the `file` fields
    /// index this slice.
    pub fn files(&self) -> &[FileDescriptor] {
        &self.files
    }

    /// The type table: every struct, union, exception, enum and typedef of
    /// every file, in file and then declaration order.
    pub fn types(&self) -> &[TypeDescriptor] {
        &self.types
    }

    /// Every service of every file, in file and then declaration order.
    pub fn services(&self) -> &[ServiceDescriptor] {
        &self.services
    }

    /// Every constant of every file, in file and then declaration order.
    pub fn consts(&self) -> &[ConstDescriptor] {
        &self.consts
    }

    /// The type an id stands for.
    pub fn type_def(&self, id: TypeId) -> &TypeDescriptor {
        &self.types[id.0]
    }

    /// Finds a service by its IDL name in the main file (`Sink`), by its
    /// qualified name (`shared.Base`, see [`ServiceDescriptor::qualified_name`]),
    /// or by its full gRPC name (`kitchen.Sink`), tried in that order.
    pub fn service(&self, name: &str) -> Option<&ServiceDescriptor> {
        let s = &self.services;
        s.iter()
            .find(|s| s.file == 0 && s.name == name)
            .or_else(|| s.iter().find(|s| s.qualified_name == name))
            .or_else(|| s.iter().find(|s| s.full_name == name))
    }

    /// Finds a method (by its IDL name) of a service found as
    /// [`service`](Self::service) does. Methods of `extends` bases count.
    pub fn method(&self, service: &str, method: &str) -> Option<&MethodDescriptor> {
        self.service(service)?.method(method)
    }

    /// Finds a type by its IDL name in the main file (`AllTypes`) or by its
    /// qualified name (`shared.Item`, see [`TypeDescriptor::qualified_name`]).
    pub fn type_by_name(&self, name: &str) -> Option<(TypeId, &TypeDescriptor)> {
        let found = self
            .types
            .iter()
            .position(|t| t.file == 0 && t.name == name)
            .or_else(|| self.types.iter().position(|t| t.qualified_name == name))?;
        Some((TypeId(found), &self.types[found]))
    }

    /// Follows typedefs until a type that is not one: what is on the wire.
    /// For `typedef list<shared.Item> Items`, `Items` resolves to the list.
    pub fn resolve<'a>(&'a self, ty: &'a Ty) -> &'a Ty {
        let mut cur = ty;
        // The checker rejects typedef cycles; the bound only guards the loop.
        for _ in 0..=self.types.len() {
            match cur {
                Ty::Named(id) => match &self.type_def(*id).kind {
                    TypeKind::Typedef(next) => cur = next,
                    _ => return cur,
                },
                _ => return cur,
            }
        }
        cur
    }

    /// A type as IDL text: `list<shared.Item>`, `map<string, i32>`. Named
    /// types of the main file are bare, others qualified by their file.
    pub fn type_name(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "bool".into(),
            Ty::I8 => "i8".into(),
            Ty::I16 => "i16".into(),
            Ty::I32 => "i32".into(),
            Ty::I64 => "i64".into(),
            Ty::Double => "double".into(),
            Ty::String => "string".into(),
            Ty::Binary => "binary".into(),
            Ty::Uuid => "uuid".into(),
            Ty::List(e) => format!("list<{}>", self.type_name(e)),
            Ty::Set(e) => format!("set<{}>", self.type_name(e)),
            Ty::Map(k, v) => format!("map<{}, {}>", self.type_name(k), self.type_name(v)),
            Ty::Named(id) => {
                let t = self.type_def(*id);
                if t.file == 0 {
                    t.name.clone()
                } else {
                    t.qualified_name.clone()
                }
            }
        }
    }
}

/// Where an item was written: a file of [`Descriptor::files`] and a
/// 1-based line and column (counted in characters), as in diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Span {
    /// Index into [`Descriptor::files`].
    pub file: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
}

/// One annotation `key = "value"` of a definition, field or method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Annotation {
    /// The key, possibly dotted (`streaming.mode`).
    pub key: String,
    /// The value (empty when the IDL gives none).
    pub value: String,
}

/// The value of the first annotation with this key, if any.
pub fn annotation<'a>(annotations: &'a [Annotation], key: &str) -> Option<&'a str> {
    annotations
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

/// One IDL file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileDescriptor {
    /// Canonical absolute path.
    pub path: PathBuf,
    /// The path as diagnostics show it (relative to `base` when under it).
    pub display: PathBuf,
    /// The name other files use for it after `include`: its file name
    /// without `.thrift`, dots kept (`shared` for `shared.thrift`, `a.b.c`
    /// for `a.b.c.thrift`).
    pub include_name: String,
    /// The Rust module the generator emits for it, as written in Rust
    /// (`r#type` for a keyword): `namespace rs` (last segment) or the file
    /// name, snake_case, made unique among the files read (`packa_common`
    /// for a second `common.thrift`; see the README's "Generated module
    /// layout").
    pub module: String,
    /// Its package on the gRPC path: the last segment of `namespace go`, else
    /// the lower-cased file stem (as Kitex does).
    pub package: String,
    /// `namespace` statements, in order.
    pub namespaces: Vec<Namespace>,
    /// The files it includes, as indices into [`Descriptor::files`], in order.
    pub includes: Vec<usize>,
}

impl FileDescriptor {
    /// The name given by `namespace <scope> <name>`, if the file has one.
    pub fn namespace(&self, scope: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|n| n.scope == scope)
            .map(|n| n.name.as_str())
    }
}

/// `namespace <scope> <name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Namespace {
    /// The language scope (`rs`, `go`, `*`, ...).
    pub scope: String,
    /// The namespace (`echo`, `a.b.c`).
    pub name: String,
}

/// A `service`, with the methods of the services it extends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceDescriptor {
    /// The IDL name (`Sink`).
    pub name: String,
    /// `<include name>.<name>` (`kitchen_sink.Sink`): unique across files
    /// unless two included files share a file stem.
    pub qualified_name: String,
    /// The gRPC service name, `<package>.<name>` (`kitchen.Sink`): what the
    /// generated `NamedService::NAME` holds and gRPC paths start with.
    pub full_name: String,
    /// Index of the declaring file in [`Descriptor::files`].
    pub file: usize,
    /// The qualified name of the service it extends directly, if any.
    pub extends: Option<String>,
    /// Every method it serves: those of its bases first (outermost base
    /// first), then its own; a method redefined by a derived service
    /// replaces the base's. The same list, in the same order, the generated
    /// server and client have.
    pub methods: Vec<MethodDescriptor>,
    /// Annotations after the closing brace.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where its name is written.
    pub span: Span,
}

impl ServiceDescriptor {
    /// The method with this IDL name, if the service has one.
    pub fn method(&self, name: &str) -> Option<&MethodDescriptor> {
        self.methods.iter().find(|m| m.name == name)
    }
}

/// How a method is carried, from its `streaming.mode` annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `streaming.mode = "bidirectional"`: a stream of bare structs each way
    /// over gRPC.
    Bidirectional,
    /// `streaming.mode = "client"`: a stream of bare structs in, one out.
    ClientStreaming,
    /// `streaming.mode = "server"`: one bare struct in, a stream out.
    ServerStreaming,
    /// `streaming.mode = "unary"`: one message each way over gRPC, framed as
    /// Thrift `Args`/`Result` structs.
    Unary,
    /// No annotation: an ordinary Thrift method, served over TTHeader,
    /// Framed or Buffered (and over gRPC like `Unary`).
    PingPong,
}

impl Mode {
    /// True for the three streaming modes, whose messages are bare structs.
    pub fn is_streaming(self) -> bool {
        matches!(
            self,
            Mode::Bidirectional | Mode::ClientStreaming | Mode::ServerStreaming
        )
    }
}

/// One method of a service.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MethodDescriptor {
    /// The IDL name (`EchoPingPong`): the Thrift message name and the last
    /// segment of the gRPC path.
    pub name: String,
    /// The gRPC path `/<package>.<Service>/<name>` under the service it was
    /// listed in (for an inherited method, the derived service).
    pub path: String,
    /// How it is carried.
    pub mode: Mode,
    /// Declared `oneway` (no reply).
    pub oneway: bool,
    /// Its arguments: the fields of its `Args` struct. A streaming method has
    /// exactly one, a struct, sent bare.
    pub args: Vec<FieldDescriptor>,
    /// Its result type; `None` for `void`. In the `Result` struct this is
    /// field 0.
    pub result: Option<Ty>,
    /// Its declared exceptions (`throws`): the other fields of its `Result`
    /// struct.
    pub throws: Vec<FieldDescriptor>,
    /// Annotations, `streaming.mode` included.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where its name is written (in the service that declares it).
    pub span: Span,
}

/// Field requiredness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requiredness {
    /// `required`: always written, and missing on decode is an error.
    Required,
    /// `optional`: written only when set.
    Optional,
    /// Neither keyword: always written, missing on decode is tolerated.
    Default,
}

/// A field of a struct, union or exception, an argument, or a `throws` entry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FieldDescriptor {
    /// The field id on the wire.
    pub id: i16,
    /// The IDL name.
    pub name: String,
    /// `required`, `optional` or neither.
    pub requiredness: Requiredness,
    /// Its type.
    pub ty: Ty,
    /// The default value (`= value` in the IDL), resolved against `ty`.
    pub default: Option<ConstValue>,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// The doc comment, if any.
    pub doc: Option<String>,
    /// Where the field is written.
    pub span: Span,
}
