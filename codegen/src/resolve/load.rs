//! Reading an IDL file and, transitively, the files it includes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::ast::{Document, Span};
use crate::diag::Diagnostic;
use crate::parse;

/// One IDL file, read and parsed.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Canonical absolute path (identity of the file).
    pub(crate) path: PathBuf,
    /// Path shown in diagnostics (relative to the base directory when possible).
    pub(crate) display: PathBuf,
    /// The file's text.
    pub(crate) src: String,
    /// The syntax tree (empty when the file had a syntax error).
    pub(crate) doc: Document,
    /// Include name (file name without `.thrift`, dots kept) and index of
    /// each included file, in the order written. Two includes may share a
    /// name (`a/common.thrift`, `b/common.thrift`): a qualified name is
    /// looked up in each, as thriftgo does.
    pub(crate) includes: Vec<(String, usize)>,
    /// True when the file has a syntax error (its `doc` is then empty).
    pub(crate) parse_failed: bool,
    /// Include names (file stems) of `include`s that could not be loaded
    /// (missing file or include cycle); the error is already reported.
    pub(crate) failed_includes: HashSet<String>,
}

impl SourceFile {
    /// The files included under `name`, in the order written.
    pub(crate) fn included(&self, name: &str) -> impl Iterator<Item = usize> + '_ {
        let name = name.to_string();
        self.includes
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|&(_, i)| i)
    }

    /// A diagnostic pointing into this file.
    pub(crate) fn diag(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(&self.display, &self.src, span, message)
    }
}

/// Loads files and their includes, collecting every problem on the way.
pub(crate) struct Loader<'a> {
    include_dirs: &'a [PathBuf],
    base: Option<&'a Path>,
    pub(crate) files: Vec<SourceFile>,
    pub(crate) errors: Vec<Diagnostic>,
    /// Files being loaded (for include cycle detection), as indices.
    stack: Vec<usize>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(include_dirs: &'a [PathBuf], base: Option<&'a Path>) -> Self {
        Loader {
            include_dirs,
            base,
            files: Vec::new(),
            errors: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn display_path(&self, path: &Path) -> PathBuf {
        if let Some(base) = self.base {
            let canonical = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
            // `path` may be canonical (a loaded file) or as given (a root
            // file that cannot be read): try both forms of the base.
            for base in [canonical.as_path(), base] {
                if let Ok(rel) = path.strip_prefix(base) {
                    return rel.to_path_buf();
                }
            }
        }
        path.to_path_buf()
    }

    /// Loads a root file given on the command line / in the macro. Returns
    /// its index, or `None` when it cannot be read (the error is recorded).
    pub(crate) fn load_root(&mut self, path: &Path) -> Option<usize> {
        match path.canonicalize() {
            Ok(canonical) => self.load(canonical, None),
            Err(e) => {
                let display = self.display_path(path);
                self.errors.push(Diagnostic::whole_file(
                    &display,
                    format!("cannot read IDL file `{}`: {e}", display.display()),
                ));
                None
            }
        }
    }

    fn load(&mut self, path: PathBuf, from: Option<(usize, Span)>) -> Option<usize> {
        if let Some(id) = self.files.iter().position(|f| f.path == path) {
            if let Some(pos) = self.stack.iter().position(|&s| s == id) {
                let (from_file, span) = from?;
                let mut chain: Vec<String> = self.stack[pos..]
                    .iter()
                    .map(|&i| self.files[i].display.display().to_string())
                    .collect();
                chain.push(self.files[id].display.display().to_string());
                let msg = format!(
                    "include cycle: {}; expected no file to include itself, directly or through other files",
                    chain.join(" -> ")
                );
                self.errors.push(self.files[from_file].diag(span, msg));
                return None;
            }
            return Some(id);
        }
        let display = self.display_path(&path);
        let src = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("cannot read IDL file `{}`: {e}", display.display());
                let d = match from {
                    Some((f, span)) => self.files[f].diag(span, msg),
                    None => Diagnostic::whole_file(&display, msg),
                };
                self.errors.push(d);
                return None;
            }
        };
        let (doc, parse_failed) = match parse::parse(&src) {
            Ok(doc) => (doc, false),
            Err(e) => {
                self.errors
                    .push(Diagnostic::at(&display, &src, e.span, e.message));
                (Document::default(), true)
            }
        };
        let id = self.files.len();
        let includes = doc.includes.clone();
        self.files.push(SourceFile {
            path,
            display,
            src,
            doc,
            includes: Vec::new(),
            parse_failed,
            failed_includes: HashSet::new(),
        });
        self.stack.push(id);
        for inc in includes {
            let stem = include_name(&inc.path);
            let child = self
                .find_include(id, &inc.path, inc.span)
                .and_then(|found| self.load(found, Some((id, inc.span))));
            match child {
                Some(child) => {
                    self.files[id].includes.push((stem, child));
                }
                None => {
                    self.files[id].failed_includes.insert(stem);
                }
            }
        }
        self.stack.pop();
        Some(id)
    }

    fn find_include(&mut self, from: usize, rel: &str, span: Span) -> Option<PathBuf> {
        let mut tried = Vec::new();
        let own_dir = self.files[from]
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for dir in std::iter::once(own_dir).chain(self.include_dirs.iter().cloned()) {
            let candidate = dir.join(rel);
            if let Ok(c) = candidate.canonicalize() {
                if c.is_file() {
                    return Some(c);
                }
            }
            tried.push(self.display_path(&dir).display().to_string());
        }
        let msg = format!(
            "cannot find included file `{rel}` (looked in: {})",
            tried
                .iter()
                .map(|t| if t.is_empty() { "." } else { t.as_str() })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let d = self.files[from].diag(span, msg);
        self.errors.push(d);
        None
    }
}

/// The name an include is referred to by: its file name without the
/// extension, dots kept (`include "a.b.c.thrift"` is `a.b.c`).
pub(crate) fn include_name(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
