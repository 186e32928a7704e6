//! Names → definitions: the loaded files, their symbols, and resolved types.
//!
//! After [`Program::load`] every file is parsed and every include is linked.
//! Types are resolved on demand with [`Program::resolve_type`]; the checker
//! reports every name that does not resolve, so the generator may rely on
//! resolution succeeding.

mod load;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast::{self, Definition, Span, StructKind, TypeKind};
use crate::diag::Diagnostic;
pub(crate) use load::SourceFile;

/// A definition: file index and index into that file's definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DefId {
    pub(crate) file: usize,
    pub(crate) def: usize,
}

/// A resolved type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Double,
    String,
    Binary,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// A struct, union, exception, enum or typedef.
    Def(DefId),
}

/// All files of one code generation run.
pub(crate) struct Program {
    pub(crate) files: Vec<SourceFile>,
    /// Rust module name of each file.
    pub(crate) modules: Vec<String>,
    /// Per file: definition name → index.
    symbols: Vec<HashMap<String, usize>>,
}

impl Program {
    /// Loads `root` and everything it includes. Returns the program and the
    /// problems found while loading (missing files, syntax errors, cycles,
    /// duplicate names).
    pub(crate) fn load(
        root: &Path,
        include_dirs: &[PathBuf],
        base: Option<&Path>,
    ) -> (Program, Vec<Diagnostic>) {
        let mut loader = load::Loader::new(include_dirs, base);
        loader.load_root(root);
        let mut errors = loader.errors;
        let files = loader.files;
        let mut symbols = Vec::with_capacity(files.len());
        for f in &files {
            let mut names = HashMap::new();
            for (i, d) in f.doc.definitions.iter().enumerate() {
                let name = def_name(d);
                if names.insert(name.name.clone(), i).is_some() {
                    errors.push(f.diag(
                        name.span,
                        format!("`{}` is defined more than once in this file", name.name),
                    ));
                }
            }
            symbols.push(names);
        }
        let modules = module_names(&files, &mut errors);
        (
            Program {
                files,
                modules,
                symbols,
            },
            errors,
        )
    }

    /// The definition behind an id.
    pub(crate) fn def(&self, id: DefId) -> &Definition {
        &self.files[id.file].doc.definitions[id.def]
    }

    /// Looks up a possibly qualified name (`Item`, `shared.Item`) from `file`.
    pub(crate) fn lookup(&self, file: usize, name: &ast::Ident) -> Result<DefId, Diagnostic> {
        let f = &self.files[file];
        let (target, local) = match name.name.split_once('.') {
            Some((inc, rest)) => match f.includes.get(inc) {
                Some(&t) => (t, rest),
                None => {
                    return Err(f.diag(
                        name.span,
                        format!(
                            "unknown include `{inc}` in `{}`; expected the file stem of an `include`d file",
                            name.name
                        ),
                    ))
                }
            },
            None => (file, name.name.as_str()),
        };
        match self.symbols[target].get(local) {
            Some(&def) => Ok(DefId { file: target, def }),
            None => Err(f.diag(
                name.span,
                if target == file {
                    format!("unknown type `{}`", name.name)
                } else {
                    format!(
                        "unknown type `{}`: `{}` defines no `{local}`",
                        name.name,
                        self.files[target].display.display()
                    )
                },
            )),
        }
    }

    /// Resolves a written type from `file`.
    pub(crate) fn resolve_type(&self, file: usize, ty: &ast::Type) -> Result<Ty, Diagnostic> {
        Ok(match &ty.kind {
            TypeKind::Bool => Ty::Bool,
            TypeKind::I8 => Ty::I8,
            TypeKind::I16 => Ty::I16,
            TypeKind::I32 => Ty::I32,
            TypeKind::I64 => Ty::I64,
            TypeKind::Double => Ty::Double,
            TypeKind::String => Ty::String,
            TypeKind::Binary => Ty::Binary,
            TypeKind::List(t) => Ty::List(Box::new(self.resolve_type(file, t)?)),
            TypeKind::Set(t) => Ty::Set(Box::new(self.resolve_type(file, t)?)),
            TypeKind::Map(k, v) => Ty::Map(
                Box::new(self.resolve_type(file, k)?),
                Box::new(self.resolve_type(file, v)?),
            ),
            TypeKind::Named(name) => {
                let id = self.lookup(file, name)?;
                match self.def(id) {
                    Definition::Const(_) | Definition::Service(_) => {
                        return Err(self.files[file].diag(
                            name.span,
                            format!(
                                "`{}` is a {}, expected a type",
                                name.name,
                                def_kind(self.def(id))
                            ),
                        ))
                    }
                    _ => Ty::Def(id),
                }
            }
        })
    }

    /// Follows typedefs until a non-typedef type. Typedef cycles (reported by
    /// the checker) stop after a bounded number of steps.
    pub(crate) fn underlying(&self, ty: &Ty) -> Ty {
        let mut cur = ty.clone();
        for _ in 0..64 {
            match cur {
                Ty::Def(id) => match self.def(id) {
                    Definition::Typedef(td) => match self.resolve_type(id.file, &td.ty) {
                        Ok(next) => cur = next,
                        Err(_) => return Ty::Bool,
                    },
                    _ => return cur,
                },
                other => return other,
            }
        }
        cur
    }

    /// The struct-like definition a type names (through typedefs), if any.
    pub(crate) fn as_struct(&self, ty: &Ty) -> Option<(DefId, &ast::StructLike)> {
        match self.underlying(ty) {
            Ty::Def(id) => match self.def(id) {
                Definition::Struct(s) => Some((id, s)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The service a (possibly qualified) name refers to.
    pub(crate) fn lookup_service(
        &self,
        file: usize,
        name: &ast::Ident,
    ) -> Result<(DefId, &ast::Service), Diagnostic> {
        let id = self.lookup(file, name).map_err(|mut d| {
            d.message = d.message.replace("unknown type", "unknown service");
            d
        })?;
        match self.def(id) {
            Definition::Service(s) => Ok((id, s)),
            other => Err(self.files[file].diag(
                name.span,
                format!(
                    "`{}` is a {}, expected a service to extend",
                    name.name,
                    def_kind(other)
                ),
            )),
        }
    }

    /// Finds the value of an enum named by a constant identifier such as
    /// `Color.RED` or `shared.Color.RED`, when `expected` is that enum.
    pub(crate) fn enum_value(&self, expected: DefId, ident: &str) -> Option<usize> {
        let Definition::Enum(e) = self.def(expected) else {
            return None;
        };
        let last = ident.rsplit('.').next().unwrap_or(ident);
        e.variants.iter().position(|v| v.name.name == last)
    }

    /// Looks up a constant named in a const value, from `file`.
    pub(crate) fn lookup_const(&self, file: usize, name: &str) -> Option<(DefId, &ast::Const)> {
        let ident = ast::Ident {
            name: name.to_string(),
            span: Span::default(),
        };
        let id = self.lookup(file, &ident).ok()?;
        match self.def(id) {
            Definition::Const(c) => Some((id, c)),
            _ => None,
        }
    }
}

/// The name of a definition.
pub(crate) fn def_name(d: &Definition) -> &ast::Ident {
    match d {
        Definition::Const(c) => &c.name,
        Definition::Typedef(t) => &t.name,
        Definition::Enum(e) => &e.name,
        Definition::Struct(s) => &s.name,
        Definition::Service(s) => &s.name,
    }
}

/// A word for what a definition is, for messages.
pub(crate) fn def_kind(d: &Definition) -> &'static str {
    match d {
        Definition::Const(_) => "const",
        Definition::Typedef(_) => "typedef",
        Definition::Enum(_) => "enum",
        Definition::Struct(s) => match s.kind {
            StructKind::Struct => "struct",
            StructKind::Union => "union",
            StructKind::Exception => "exception",
        },
        Definition::Service(_) => "service",
    }
}

/// The Rust module of each file: `namespace rs` (its last segment) or the
/// file stem, made a valid snake_case identifier.
fn module_names(files: &[SourceFile], errors: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let from_ns = f
            .doc
            .namespaces
            .iter()
            .find(|n| n.scope.name == "rs")
            .map(|n| n.name.name.rsplit('.').next().unwrap_or("").to_string());
        let raw = from_ns.unwrap_or_else(|| {
            f.path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let name = crate::gen::names::module_name(&raw);
        if let Some(&other) = seen.get(&name) {
            errors.push(Diagnostic::whole_file(
                &f.display,
                format!(
                    "this file and `{}` would both generate module `{name}`; give one a different `namespace rs`",
                    files[other].display.display()
                ),
            ));
        }
        seen.insert(name.clone(), i);
        out.push(name);
    }
    out
}
