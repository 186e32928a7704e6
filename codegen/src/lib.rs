//! Thrift IDL → Rust code for [tonic-thrift](https://docs.rs/tonic-thrift).
//!
//! This crate is the only part of tonic-thrift that knows the IDL: it parses
//! `.thrift` files with its own parser (every node keeps its byte span),
//! resolves includes and names, checks the program, and generates Rust types,
//! service traits, servers and clients. The `thrift_service!` macro and
//! `build.rs` users share it, so both paths produce the same code.
//!
//! # build.rs
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     tonic_thrift_build::configure().compile(&["idl/echo.thrift"], &["idl"])?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate: `tonic_thrift::include_thrift!("echo");`.
//!
//! # At run time: the descriptor
//!
//! Tools that work with an IDL at run time (a generic client, JSON ⇄ Thrift
//! transcoding, a `describe` command) use [`descriptor::load`] instead of
//! generating code. It runs the same loader, resolver and checker and returns
//! a [`descriptor::Descriptor`]: the files, services (with full gRPC names and
//! the methods of `extends` bases), methods and their modes, and a type table
//! with field ids, enum values, typedefs, annotations and source positions.
//! The syntax tree itself is not public.
//!
//! # Errors
//!
//! Every problem in the IDL becomes a [`Diagnostic`] naming the file, line
//! and column; all independent problems are reported together as [`Errors`],
//! inside the [`GenerateError`] of [`generate`] and [`descriptor::load`].

mod ast;
mod check;
pub mod descriptor;
mod diag;
mod gen;
mod parse;
mod resolve;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Errors, GenerateError};
use proc_macro2::TokenStream;

/// The result of generating code for one IDL file.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The generated items: one `pub mod` per IDL file read.
    pub tokens: TokenStream,
    /// Every IDL file read (the main file and its includes), canonical paths.
    pub files: Vec<PathBuf>,
}

/// Parses, checks and generates code for `file` and everything it includes.
///
/// `include_dirs` are searched (after the including file's own directory) for
/// `include` statements. Paths in diagnostics are shown relative to `base`
/// when they lie under it. On failure, the [`GenerateError`] holds every
/// problem found together with the files that were read (so callers can
/// still watch them).
pub fn generate(
    file: &Path,
    include_dirs: &[PathBuf],
    base: Option<&Path>,
) -> Result<Generated, GenerateError> {
    configure().generate(file, include_dirs, base)
}

/// Starts a [`Builder`] with default settings.
#[must_use]
pub fn configure() -> Builder {
    Builder::default()
}

/// Compiles IDL files into `$OUT_DIR` with default settings: a shortcut for
/// `configure().compile(files, include_dirs)`.
pub fn compile(
    files: &[impl AsRef<Path>],
    include_dirs: &[impl AsRef<Path>],
) -> Result<(), BuildError> {
    configure().compile(files, include_dirs)
}

/// Configuration for code generation from `build.rs`.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    out_dir: Option<PathBuf>,
    emit_rerun_if_changed: Option<bool>,
    switches: gen::Switches,
}

impl Builder {
    /// Whether to generate the server side of each service: the handler
    /// trait and `XxxServer` in `<service>_server` (default: true).
    #[must_use]
    pub fn build_server(mut self, enable: bool) -> Self {
        self.switches.server = enable;
        self
    }

    /// Whether to generate `XxxClient`, the gRPC client of each service
    /// (default: true).
    #[must_use]
    pub fn build_client(mut self, enable: bool) -> Self {
        self.switches.client = enable;
        self
    }

    /// Whether to generate `XxxPingPongClient`, the ping-pong client of each
    /// service that has ping-pong methods (default: true).
    #[must_use]
    pub fn build_pingpong_client(mut self, enable: bool) -> Self {
        self.switches.pingpong_client = enable;
        self
    }

    /// Parses, checks and generates code for `file` and everything it
    /// includes, with this builder's switches, without writing anything:
    /// what `thrift_service!` expands to. See [`generate`].
    pub fn generate(
        &self,
        file: &Path,
        include_dirs: &[PathBuf],
        base: Option<&Path>,
    ) -> Result<Generated, GenerateError> {
        let program = resolve::Program::load_checked(file, include_dirs, base)?;
        let files = program.paths();
        Ok(Generated {
            tokens: gen::generate(&program, &self.switches),
            files,
        })
    }

    /// Writes the generated files here instead of `$OUT_DIR`.
    #[must_use]
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every IDL file read
    /// (default: true when run by Cargo, that is when `$OUT_DIR` is set).
    #[must_use]
    pub fn emit_rerun_if_changed(mut self, emit: bool) -> Self {
        self.emit_rerun_if_changed = Some(emit);
        self
    }

    /// Generates `<out_dir>/<file stem>.rs` for each IDL file, to be included
    /// with `tonic_thrift::include_thrift!("<file stem>")`. A file is only
    /// rewritten when its content changes, so unchanged IDLs cause no rebuild.
    pub fn compile(
        self,
        files: &[impl AsRef<Path>],
        include_dirs: &[impl AsRef<Path>],
    ) -> Result<(), BuildError> {
        let out_dir = match self.out_dir.clone() {
            Some(d) => d,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let emit = self
            .emit_rerun_if_changed
            .unwrap_or_else(|| std::env::var_os("OUT_DIR").is_some());
        let includes: Vec<PathBuf> = include_dirs
            .iter()
            .map(|d| d.as_ref().to_path_buf())
            .collect();
        let base = std::env::current_dir().ok();
        let mut stems: std::collections::HashMap<String, &Path> = std::collections::HashMap::new();
        for file in files {
            let file = file.as_ref();
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(first) = stems.insert(stem, file) {
                if first != file {
                    return Err(BuildError::SameStem(
                        first.to_path_buf(),
                        file.to_path_buf(),
                    ));
                }
            }
        }
        let mut all_errors = Vec::new();
        for file in files {
            let file = file.as_ref();
            let result = self.generate(file, &includes, base.as_deref());
            let (generated, read) = match result {
                Ok(g) => {
                    let read = g.files.clone();
                    (Some(g), read)
                }
                Err(e) => {
                    all_errors.extend(e.errors().0.iter().cloned());
                    (None, e.files().to_vec())
                }
            };
            if emit {
                println!("cargo:rerun-if-changed={}", file.display());
                for f in &read {
                    println!("cargo:rerun-if-changed={}", f.display());
                }
            }
            let Some(generated) = generated else { continue };
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = render(&generated.tokens, file)?;
            let target = out_dir.join(format!("{stem}.rs"));
            let unchanged = std::fs::read_to_string(&target).is_ok_and(|old| old == text);
            if !unchanged {
                std::fs::write(&target, text).map_err(|e| BuildError::Io(target.clone(), e))?;
            }
        }
        if all_errors.is_empty() {
            Ok(())
        } else {
            Err(BuildError::Idl(Errors(all_errors)))
        }
    }
}

/// Pretty-prints generated tokens as a Rust source file.
pub fn render(tokens: &TokenStream, source: &Path) -> Result<String, BuildError> {
    let file: syn::File =
        syn::parse2(tokens.clone()).map_err(|e| BuildError::Internal(e.to_string()))?;
    Ok(format!(
        "// @generated by tonic-thrift-build from {}. Do not edit.\n{}",
        source.display(),
        prettyplease::unparse(&file)
    ))
}

/// Why `compile` failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The IDL has problems; each names its file, line and column.
    Idl(Errors),
    /// `OUT_DIR` is not set (not run from a build script) and no `out_dir` was configured.
    NoOutDir,
    /// A generated file could not be written.
    Io(PathBuf, std::io::Error),
    /// The generator produced invalid Rust: a bug in tonic-thrift-build.
    Internal(String),
    /// Two IDL files given to one `compile` have the same file stem, so
    /// both would be written to `<stem>.rs` (and `include_thrift!` could
    /// name only one).
    SameStem(PathBuf, PathBuf),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Idl(e) => write!(f, "{e}"),
            BuildError::SameStem(a, b) => write!(
                f,
                "{} and {} would both be generated into the same file (one per file stem, for include_thrift!); compile them with separate Builders and out_dir()s, or rename one",
                a.display(),
                b.display()
            ),
            BuildError::NoOutDir => f.write_str(
                "OUT_DIR is not set: call compile() from a build script or set Builder::out_dir",
            ),
            BuildError::Io(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            BuildError::Internal(e) => write!(
                f,
                "tonic-thrift-build generated invalid Rust (please report this bug): {e}"
            ),
        }
    }
}

impl std::error::Error for BuildError {}
