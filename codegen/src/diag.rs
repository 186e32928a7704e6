//! Diagnostics: what is wrong, in which `.thrift` file, at which line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::ast::Span;

/// One problem found in an IDL file.
///
/// Displays as `file:line:col: message`, followed by the source line and a
/// caret under the offending column, like rustc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The IDL file the problem is in.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    /// What is wrong and what was expected, lowercase.
    pub message: String,
    /// The text of the offending line (without its newline).
    pub source_line: String,
}

impl Diagnostic {
    /// A diagnostic at byte offset `span.start` of `src`, the text of `file`.
    pub(crate) fn at(file: &Path, src: &str, span: Span, message: impl Into<String>) -> Self {
        let (offset, start) = line_start(src, span.start);
        let line_end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
        let (line, col) = line_col(src, span.start);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
            source_line: src[start..line_end].trim_end_matches('\r').to_string(),
        }
    }

    /// A diagnostic about a file as a whole (for example, one that cannot be read).
    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 1,
            col: 1,
            message: message.into(),
            source_line: String::new(),
        }
    }
}

/// The 1-based line and column (counted in characters) of byte `offset` of
/// `src`; an offset past the end or inside a character is clamped.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let (offset, start) = line_start(src, offset);
    let line = src[..offset].matches('\n').count() + 1;
    let col = src[start..offset].chars().count() + 1;
    (line, col)
}

/// `offset` clamped to a character boundary of `src`, and the offset where
/// its line starts.
fn line_start(src: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(src, offset.min(src.len()));
    (offset, src[..offset].rfind('\n').map_or(0, |i| i + 1))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string().len();
            let pad: String = self
                .source_line
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{:gutter$} |\n{} | {}\n{:gutter$} | {}^",
                "", self.line, self.source_line, "", pad
            )?;
        }
        Ok(())
    }
}

/// Every problem found in one run of the code generator.
///
/// Code generation collects all independent problems before failing, so one
/// build shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errors(pub Vec<Diagnostic>);

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

/// Why [`generate`](crate::generate) or [`descriptor::load`](crate::descriptor::load)
/// failed: every problem found in the IDL, and the files that were read.
///
/// Displays exactly as [`Errors`] does. The files are kept so that a caller
/// can still watch them and retry once one of them changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateError {
    errors: Errors,
    files: Vec<PathBuf>,
}

impl GenerateError {
    pub(crate) fn new(errors: Errors, files: Vec<PathBuf>) -> Self {
        GenerateError { errors, files }
    }

    /// Every problem found, each naming its file, line and column.
    pub fn errors(&self) -> &Errors {
        &self.errors
    }

    /// Every IDL file read before failing (the main file and the includes
    /// that could be read), canonical paths.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.errors.fmt(f)
    }
}

impl std::error::Error for GenerateError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let src = "struct A {\n  1: strin x\n}\n";
        let d = Diagnostic::at(
            Path::new("a.thrift"),
            src,
            Span::new(16, 21),
            "unknown type `strin`",
        );
        assert_eq!((d.line, d.col), (2, 6));
        assert_eq!(
            d.to_string(),
            "a.thrift:2:6: unknown type `strin`\n  |\n2 |   1: strin x\n  |      ^"
        );
    }

    #[test]
    fn end_of_file_offset_is_clamped() {
        let d = Diagnostic::at(Path::new("a.thrift"), "ab", Span::new(99, 99), "eof");
        assert_eq!((d.line, d.col), (1, 3));
    }
}
