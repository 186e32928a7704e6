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
use crate::diag::{Diagnostic, Errors, GenerateError};
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
    Uuid,
    List(Box<Ty>),
    Set(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    /// A struct, union, exception, enum or typedef.
    Def(DefId),
}

/// All files of one code generation run.
pub(crate) struct Program {
    pub(crate) files: Vec<SourceFile>,
    /// Rust module name of each file (unique, see [`module_names`]).
    pub(crate) modules: Vec<String>,
    /// Rust names of each file's definitions.
    pub(crate) names: Vec<crate::gen::names::FileNames>,
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
        let modules = module_names(&files);
        let names = files
            .iter()
            .map(|f| crate::gen::names::file_names(&f.doc.definitions))
            .collect();
        (
            Program {
                files,
                modules,
                names,
                symbols,
            },
            errors,
        )
    }

    /// Loads `root` and everything it includes, then runs every check: the
    /// front end shared by the generator and the descriptor. On success the
    /// program is checked, so names resolve and modes are valid.
    pub(crate) fn load_checked(
        root: &Path,
        include_dirs: &[PathBuf],
        base: Option<&Path>,
    ) -> Result<Program, GenerateError> {
        let (program, mut errors) = Program::load(root, include_dirs, base);
        errors.extend(crate::check::check(&program));
        if errors.is_empty() {
            Ok(program)
        } else {
            errors.dedup();
            Err(GenerateError::new(Errors(errors), program.paths()))
        }
    }

    /// The canonical path of every file read.
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// The definition behind an id.
    pub(crate) fn def(&self, id: DefId) -> &Definition {
        &self.files[id.file].doc.definitions[id.def]
    }

    /// Looks up a possibly qualified type name (`Item`, `shared.Item`) from `file`.
    pub(crate) fn lookup(&self, file: usize, name: &ast::Ident) -> Result<DefId, Diagnostic> {
        self.lookup_as(file, name, "type")
    }

    /// Looks up a possibly qualified name; `noun` (`type`, `service`) names
    /// what was expected in the error message.
    ///
    /// `a.b.c.Request` is `Request` in the file included as `a.b.c`: the
    /// name is split at its last dot, as thriftgo does, since an include's
    /// name is its whole file name without `.thrift`, dots included.
    fn lookup_as(&self, file: usize, name: &ast::Ident, noun: &str) -> Result<DefId, Diagnostic> {
        let f = &self.files[file];
        let Some((inc, local)) = name.name.rsplit_once('.') else {
            return match self.symbols[file].get(&name.name) {
                Some(&def) => Ok(DefId { file, def }),
                None => {
                    let base = if noun == "type" {
                        "a base type or "
                    } else {
                        ""
                    };
                    Err(f.diag(
                        name.span,
                        format!(
                            "unknown {noun} `{}`; expected {base}a {noun} defined in this file (or `file.Name` for one from an included file)",
                            name.name
                        ),
                    ))
                }
            };
        };
        let targets: Vec<usize> = f.included(inc).collect();
        let Some(&first) = targets.first() else {
            return Err(f.diag(
                name.span,
                format!(
                    "unknown include `{inc}` in `{}`; expected the file stem of an `include`d file",
                    name.name
                ),
            ));
        };
        for &target in &targets {
            if let Some(&def) = self.symbols[target].get(local) {
                return Ok(DefId { file: target, def });
            }
        }
        Err(f.diag(
            name.span,
            format!(
                "unknown {noun} `{}`: `{}` defines no `{local}`; expected a {noun} defined there",
                name.name,
                self.files[first].display.display()
            ),
        ))
    }

    /// True when `name` cannot resolve because of a problem already reported:
    /// it is qualified by an include that could not be loaded, or the file it
    /// names had a syntax error.
    pub(crate) fn follows_earlier_error(&self, file: usize, name: &ast::Ident) -> bool {
        let f = &self.files[file];
        if f.parse_failed {
            return true;
        }
        match name.name.rsplit_once('.') {
            Some((inc, _)) => {
                f.failed_includes.contains(inc)
                    || f.included(inc).any(|t| self.files[t].parse_failed)
            }
            None => false,
        }
    }

    /// True when some name in the written type [`follows_earlier_error`](Self::follows_earlier_error).
    pub(crate) fn type_follows_earlier_error(&self, file: usize, ty: &ast::Type) -> bool {
        match &ty.kind {
            TypeKind::List(t) | TypeKind::Set(t) => self.type_follows_earlier_error(file, t),
            TypeKind::Map(k, v) => {
                self.type_follows_earlier_error(file, k) || self.type_follows_earlier_error(file, v)
            }
            TypeKind::Named(name) => self.follows_earlier_error(file, name),
            _ => false,
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
            TypeKind::Uuid => Ty::Uuid,
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
        let id = self.lookup_as(file, name, "service")?;
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

    /// The package of a file on the gRPC path: the last segment of
    /// `namespace go`, else the lower-cased file stem (as Kitex does).
    ///
    /// Mirrors `package()` in `gen/service.rs`; a test in the descriptor
    /// checks that both give the generated `NamedService::NAME`.
    pub(crate) fn package(&self, file: usize) -> String {
        let f = &self.files[file];
        f.doc
            .namespaces
            .iter()
            .find(|n| n.scope.name == "go")
            .map(|n| n.name.name.rsplit('.').next().unwrap_or("").to_string())
            .unwrap_or_else(|| {
                f.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_lowercase())
                    .unwrap_or_default()
            })
    }

    /// A service and the services it extends, derived first, base last.
    /// Stops at a cycle (reported by the checker) or after 64 links.
    pub(crate) fn service_chain<'a>(
        &'a self,
        id: DefId,
        s: &'a ast::Service,
    ) -> Vec<(DefId, &'a ast::Service)> {
        let mut chain = vec![(id, s)];
        let mut cur = s
            .extends
            .as_ref()
            .and_then(|e| self.lookup_service(id.file, e).ok());
        while let Some((bid, b)) = cur {
            if chain.len() > 64 || chain.iter().any(|(c, _)| *c == bid) {
                break;
            }
            chain.push((bid, b));
            cur = b
                .extends
                .as_ref()
                .and_then(|e| self.lookup_service(bid.file, e).ok());
        }
        chain
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
/// file name without `.thrift`, made a valid snake_case identifier, and
/// unique among the files of the program.
///
/// Files are named in the order they were read (the main file first, then
/// includes depth-first, in the order written), so the main file always
/// keeps its name. A later file whose name is taken (`packa/common.thrift`
/// after `common.thrift`) is prefixed with its folder (`packa_common`), then
/// with the folder above that (`x_packa_common`), and so on; for a file with
/// `namespace rs a.b.common`, with the namespace's earlier segments
/// (`b_common`, `a_b_common`). If the name is still taken, `_` is appended
/// until it is free. Names of crates that user code names bare (`std`,
/// `tonic`, …) count as taken: `idl/std.thrift` becomes `idl_std`.
fn module_names(files: &[SourceFile]) -> Vec<String> {
    use crate::gen::names::{module_name, Namespace, CRATES};
    let mut taken = Namespace::with_reserved(&[CRATES]);
    files
        .iter()
        .map(|f| {
            let from_ns = f
                .doc
                .namespaces
                .iter()
                .find(|n| n.scope.name == "rs")
                .map(|n| {
                    n.name
                        .name
                        .split('.')
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                });
            // The name, then the qualifiers to try, innermost first.
            let mut segments = from_ns.unwrap_or_else(|| {
                let stem = f
                    .path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let folders = f
                    .path
                    .parent()
                    .into_iter()
                    .flat_map(|p| p.components())
                    .filter_map(|c| match c {
                        std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                        _ => None,
                    });
                folders.chain(std::iter::once(stem)).collect()
            });
            let mut name = module_name(&segments.pop().unwrap_or_default());
            while taken.contains(&crate::gen::names::ident(&name).to_string()) {
                match segments.pop() {
                    Some(q) => name = format!("{}_{name}", module_name(&q)),
                    None => break,
                }
            }
            taken.add(&name)
        })
        .collect()
}

/// Test helper: writes `files` (name, text) into a fresh directory, runs the
/// whole pipeline on the first one and returns its diagnostics as
/// `file:line:col: message` (paths relative to that directory).
#[cfg(test)]
pub(crate) fn diagnostics_of(files: &[(&str, &str)]) -> Vec<String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tonic-thrift-build-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = match crate::generate(&dir.join(files[0].0), &[], Some(&dir)) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .errors()
            .0
            .iter()
            .map(|d| format!("{}:{}:{}: {}", d.file.display(), d.line, d.col, d.message))
            .collect(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// Test helper: like [`diagnostics_of`], for files in folders (`a/b.thrift`);
/// returns the module name of every file read, in the order read, or the
/// diagnostics.
#[cfg(test)]
pub(crate) fn modules_of(files: &[(&str, &str)]) -> Result<Vec<String>, Vec<String>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tonic-thrift-build-modules-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = match Program::load_checked(&dir.join(files[0].0), &[], Some(&dir)) {
        Ok(p) => Ok(p.modules.clone()),
        Err(e) => Err(e.errors().0.iter().map(|d| d.message.clone()).collect()),
    };
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[cfg(test)]
mod tests {
    use super::{diagnostics_of, modules_of};

    #[test]
    fn a_dotted_include_is_named_by_its_whole_file_name() {
        let m = modules_of(&[
            (
                "main.thrift",
                "include \"a.b.c.thrift\"\nstruct S { 1: a.b.c.Request r }\n\
                 service X extends a.b.c.Base {}\n",
            ),
            ("a.b.c.thrift", "struct Request {}\nservice Base {}\n"),
        ]);
        assert_eq!(m, Ok(vec!["main".to_string(), "a_b_c".to_string()]));
        let d = diagnostics_of(&[
            (
                "main.thrift",
                "include \"a.b.c.thrift\"\nstruct S { 1: a.b.Request r }\n",
            ),
            ("a.b.c.thrift", "struct Request {}\n"),
        ]);
        assert_eq!(
            d,
            ["main.thrift:2:15: unknown include `a.b` in `a.b.Request`; expected the file stem of an `include`d file"]
        );
    }

    #[test]
    fn two_includes_of_one_name_are_both_searched() {
        // As thriftgo does: `common.X` is looked up in each include named `common`.
        let m = modules_of(&[
            (
                "main.thrift",
                "include \"common.thrift\"\ninclude \"packa/common.thrift\"\n\
                 struct S { 1: common.A a, 2: common.B b }\n",
            ),
            ("common.thrift", "struct A {}\n"),
            ("packa/common.thrift", "struct B {}\n"),
        ]);
        assert_eq!(
            m,
            Ok(vec![
                "main".to_string(),
                "common".to_string(),
                "packa_common".to_string()
            ])
        );
    }

    #[test]
    fn module_names_never_collide() {
        let m = modules_of(&[
            (
                "x/main.thrift",
                "include \"common.thrift\"\ninclude \"../y/common.thrift\"\n\
                 include \"../z/x/common.thrift\"\ninclude \"std.thrift\"\n\
                 include \"n1.thrift\"\ninclude \"n2.thrift\"\n",
            ),
            ("x/common.thrift", ""),
            ("y/common.thrift", ""),
            // `x_common` would be next, and then `z_x_common`.
            ("z/x/common.thrift", ""),
            ("x/std.thrift", ""),
            ("x/n1.thrift", "namespace rs a.api\n"),
            ("x/n2.thrift", "namespace rs b.api\n"),
        ]);
        assert_eq!(
            m,
            Ok(
                ["main", "common", "y_common", "x_common", "x_std", "api", "b_api"]
                    .map(String::from)
                    .to_vec()
            )
        );
    }

    #[test]
    fn names_that_collide_once_rust_cased_compile() {
        let d = diagnostics_of(&[(
            "a.thrift",
            "struct M { 1: i32 NewResult, 2: i32 new_result }\n\
             enum E { A_B, AB, FOO_BAR, FooBar }\n\
             const i32 maxSize = 1\nconst i32 MAX_SIZE = 2\n\
             service S { void getX(), void get_x() }\n",
        )]);
        assert_eq!(d, Vec::<String>::new());
    }

    #[test]
    fn unknown_names_say_what_was_expected() {
        let d = diagnostics_of(&[
            (
                "a.thrift",
                "include \"b.thrift\"\nstruct S { 1: Strng x, 2: b.Nope y }\n\
                 service A extends Missing {}\nservice C extends b.Nope {}\n",
            ),
            ("b.thrift", "struct T {}\n"),
        ]);
        assert_eq!(
            d,
            [
                "a.thrift:2:15: unknown type `Strng`; expected a base type or a type defined in this file (or `file.Name` for one from an included file)",
                "a.thrift:2:27: unknown type `b.Nope`: `b.thrift` defines no `Nope`; expected a type defined there",
                "a.thrift:3:19: unknown service `Missing`; expected a service defined in this file (or `file.Name` for one from an included file)",
                "a.thrift:4:19: unknown service `b.Nope`: `b.thrift` defines no `Nope`; expected a service defined there",
            ]
        );
    }

    #[test]
    fn names_behind_a_failed_include_are_not_reported_again() {
        // Missing include.
        let d = diagnostics_of(&[(
            "a.thrift",
            "include \"gone.thrift\"\nstruct S { 1: list<gone.T> x }\nservice A extends gone.S {}\n",
        )]);
        assert_eq!(
            d,
            ["a.thrift:1:9: cannot find included file `gone.thrift` (looked in: .)"]
        );
        // Include with a syntax error.
        let d = diagnostics_of(&[
            (
                "a.thrift",
                "include \"b.thrift\"\nstruct S { 1: map<i32, b.T> x }\n",
            ),
            ("b.thrift", "struct T {\n"),
        ]);
        assert_eq!(
            d,
            ["b.thrift:2:1: expected `}` or a field, found end of file"]
        );
        // Include cycle, including a file that includes itself.
        let d = diagnostics_of(&[("a.thrift", "include \"a.thrift\"\nstruct S { 1: a.S x }\n")]);
        assert_eq!(
            d,
            ["a.thrift:1:9: include cycle: a.thrift -> a.thrift; expected no file to include itself, directly or through other files"]
        );
        // A missing include does not hide an unknown name in a good one.
        let d = diagnostics_of(&[
            (
                "a.thrift",
                "include \"gone.thrift\"\ninclude \"b.thrift\"\nstruct S { 1: b.X x }\n",
            ),
            ("b.thrift", "struct T {}\n"),
        ]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[1].starts_with("a.thrift:3:15: unknown type `b.X`"),
            "{d:?}"
        );
    }

    #[test]
    fn a_missing_root_file_is_shown_relative_to_the_base() {
        let dir = std::env::temp_dir();
        let err = crate::generate(&dir.join("no/such/file.thrift"), &[], Some(&dir))
            .expect_err("an error");
        let d = &err.errors().0[0];
        assert_eq!(d.file, std::path::Path::new("no/such/file.thrift"));
        assert!(
            d.message
                .starts_with("cannot read IDL file `no/such/file.thrift`: "),
            "{}",
            d.message
        );
    }
}
