//! Thrift IDL text to [`crate::ast::Document`].
//!
//! A hand-written lexer feeds a recursive-descent parser. Parsing stops at
//! the first syntax error, which points at the offending token. Nesting of
//! types and constant values is limited to 64 levels so that no input can
//! exhaust the stack.

mod lexer;
mod parser;

#[cfg(test)]
mod tests;

use std::fmt;

/// A syntax error at the offending token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Span of the offending token (an empty span at the end of the text for
    /// an unexpected end of file).
    pub(crate) span: crate::ast::Span,
    /// What was found and what was expected, in lowercase.
    pub(crate) message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// Parse one file's text.
pub(crate) fn parse(src: &str) -> Result<crate::ast::Document, SyntaxError> {
    parser::Parser::new(src).document()
}
