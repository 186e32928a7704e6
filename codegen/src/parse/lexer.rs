//! Tokenizer for Thrift IDL text.
//!
//! The whole text is turned into a vector of tokens up front. The stream
//! always ends in a sentinel token: [`TokKind::Eof`], or [`TokKind::Error`]
//! when the text cannot be tokenized past some point. The parser reports the
//! lexical error only when it actually reaches that token, so errors come out
//! in source order.

use crate::ast::Span;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    /// An identifier or keyword, possibly dotted (`shared.Item`).
    Ident(String),
    /// An integer literal, sign included.
    Int(i64),
    /// A floating-point literal, sign included.
    Double(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `*`
    Star,
    /// `&` (a C++ reference marker after a field type; ignored)
    Amp,
    /// End of the text.
    Eof,
    /// The text cannot be tokenized here; the message says why.
    Error(String),
}

/// One token with its span and the doc comment written right before it.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: TokKind,
    pub(crate) span: Span,
    pub(crate) doc: Option<String>,
}

/// Tokenizes `src`: the tokens, then the sentinel (`Eof` or `Error`).
pub(crate) fn tokenize(src: &str) -> (Vec<Token>, Token) {
    let mut lx = Lexer::new(src);
    let mut tokens = Vec::new();
    loop {
        if let Err((span, message)) = lx.skip_trivia() {
            return (tokens, error_token(span, message));
        }
        let doc = lx.take_doc();
        let start = lx.pos;
        let Some(b) = lx.byte(0) else {
            let end = Span::new(src.len(), src.len());
            return (
                tokens,
                Token {
                    kind: TokKind::Eof,
                    span: end,
                    doc: None,
                },
            );
        };
        match lx.token(b) {
            Ok(kind) => {
                lx.line_has_code = true;
                tokens.push(Token {
                    kind,
                    span: Span::new(start, lx.pos),
                    doc,
                });
            }
            Err((span, message)) => return (tokens, error_token(span, message)),
        }
    }
}

fn error_token(span: Span, message: String) -> Token {
    Token {
        kind: TokKind::Error(message),
        span,
        doc: None,
    }
}

/// A lexical error: where and why.
type LexError = (Span, String);

/// Doc comment text seen since the last token, not yet attached.
enum Pending<'a> {
    None,
    /// Consecutive `//` / `///` comment lines, markers stripped.
    Lines(Vec<&'a str>),
    /// The inside of a `/** ... */` comment.
    Block(&'a str),
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    pending: Pending<'a>,
    /// Newlines seen since the end of the last comment.
    newlines: usize,
    /// Whether a token was emitted on the current line.
    line_has_code: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Shortens `text` for use inside an error message.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        let pos = if src.starts_with('\u{feff}') { 3 } else { 0 };
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos,
            pending: Pending::None,
            newlines: 0,
            line_has_code: false,
        }
    }

    fn byte(&self, off: usize) -> Option<u8> {
        self.bytes.get(self.pos.saturating_add(off)).copied()
    }

    fn text(&self, start: usize, end: usize) -> &'a str {
        self.src.get(start..end).unwrap_or("")
    }

    /// Skips whitespace and comments, collecting doc comments.
    fn skip_trivia(&mut self) -> Result<(), LexError> {
        while let Some(b) = self.byte(0) {
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.newlines += 1;
                    self.line_has_code = false;
                }
                b' ' | b'\t' | b'\r' | 0x0c | 0x0b => self.pos += 1,
                b'#' => {
                    self.line_comment_end();
                    self.pending = Pending::None;
                    self.newlines = 0;
                }
                b'/' if self.byte(1) == Some(b'/') => {
                    let first_on_line = !self.line_has_code;
                    let start = self.pos + 2;
                    let end = self.line_comment_end();
                    let text = self.text(start, end).trim_start_matches('/');
                    if first_on_line {
                        match &mut self.pending {
                            Pending::Lines(lines) if self.newlines == 1 => lines.push(text),
                            _ => self.pending = Pending::Lines(vec![text]),
                        }
                    } else {
                        self.pending = Pending::None;
                    }
                    self.newlines = 0;
                }
                b'/' if self.byte(1) == Some(b'*') => {
                    let start = self.pos;
                    let rest = self.src.get(start + 2..).unwrap_or("");
                    let Some(close) = rest.find("*/") else {
                        return Err((
                            Span::new(start, start + 2),
                            "unterminated block comment".to_string(),
                        ));
                    };
                    let inner_start = start + 2;
                    let inner_end = inner_start + close;
                    let body = self.text(inner_start, inner_end);
                    // `/** ... */` is a doc comment, `/**/` is not.
                    self.pending = match body.strip_prefix('*') {
                        Some(doc) => Pending::Block(doc),
                        None => Pending::None,
                    };
                    if body.contains('\n') {
                        self.line_has_code = false;
                    }
                    self.pos = inner_end + 2;
                    self.newlines = 0;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// Moves to the end of the current line (before its `\n`); returns that offset.
    fn line_comment_end(&mut self) -> usize {
        let rest = self.src.get(self.pos..).unwrap_or("");
        self.pos += rest.find('\n').unwrap_or(rest.len());
        self.pos
    }

    /// The doc comment for the token about to start, if it directly precedes it.
    fn take_doc(&mut self) -> Option<String> {
        let pending = std::mem::replace(&mut self.pending, Pending::None);
        if self.newlines > 1 {
            return None;
        }
        match pending {
            Pending::None => None,
            Pending::Lines(lines) => clean_doc(&lines, false),
            Pending::Block(body) => block_doc(body),
        }
    }

    fn token(&mut self, b: u8) -> Result<TokKind, LexError> {
        let punct = match b {
            b'{' => Some(TokKind::LBrace),
            b'}' => Some(TokKind::RBrace),
            b'(' => Some(TokKind::LParen),
            b')' => Some(TokKind::RParen),
            b'[' => Some(TokKind::LBracket),
            b']' => Some(TokKind::RBracket),
            b'<' => Some(TokKind::Lt),
            b'>' => Some(TokKind::Gt),
            b',' => Some(TokKind::Comma),
            b';' => Some(TokKind::Semi),
            b':' => Some(TokKind::Colon),
            b'=' => Some(TokKind::Eq),
            b'*' => Some(TokKind::Star),
            b'&' => Some(TokKind::Amp),
            _ => None,
        };
        if let Some(kind) = punct {
            self.pos += 1;
            return Ok(kind);
        }
        match b {
            b'"' | b'\'' => self.string(b),
            b'0'..=b'9' => self.number(),
            b'+' | b'-' | b'.' if self.starts_number() => self.number(),
            _ if is_ident_start(b) => Ok(self.ident()),
            _ => {
                let c = self
                    .src
                    .get(self.pos..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                Err((
                    Span::new(self.pos, self.pos + c.len_utf8()),
                    format!("unexpected character `{}`", c.escape_debug()),
                ))
            }
        }
    }

    fn starts_number(&self) -> bool {
        let digit = |off| self.byte(off).is_some_and(|b: u8| b.is_ascii_digit());
        match self.byte(0) {
            Some(b'.') => digit(1),
            Some(b'+' | b'-') => digit(1) || (self.byte(1) == Some(b'.') && digit(2)),
            _ => false,
        }
    }

    fn ident(&mut self) -> TokKind {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.byte(0) {
                Some(b) if is_ident_continue(b) => self.pos += 1,
                Some(b'.') if self.byte(1).is_some_and(is_ident_continue) => self.pos += 2,
                _ => break,
            }
        }
        TokKind::Ident(self.text(start, self.pos).to_string())
    }

    fn number(&mut self) -> Result<TokKind, LexError> {
        let start = self.pos;
        let at = |p: usize| self.bytes.get(p).copied();
        let is_digit = |p: usize| at(p).is_some_and(|b| b.is_ascii_digit());
        let mut p = start;
        if matches!(at(p), Some(b'+' | b'-')) {
            p += 1;
        }
        let sign = self.text(start, p);
        if at(p) == Some(b'0') && matches!(at(p + 1), Some(b'x' | b'X')) {
            p += 2;
            let digits_start = p;
            while at(p).is_some_and(|b| b.is_ascii_hexdigit()) {
                p += 1;
            }
            if p == digits_start || at(p).is_some_and(|b| is_ident_continue(b) || b == b'.') {
                return Err(self.bad_number(start, p));
            }
            self.pos = p;
            let digits = format!("{sign}{}", self.text(digits_start, p));
            return match i64::from_str_radix(&digits, 16) {
                Ok(v) => Ok(TokKind::Int(v)),
                Err(_) => Err(self.out_of_range(start, p)),
            };
        }
        while is_digit(p) {
            p += 1;
        }
        let mut is_double = false;
        if at(p) == Some(b'.') {
            is_double = true;
            p += 1;
            while is_digit(p) {
                p += 1;
            }
        }
        if matches!(at(p), Some(b'e' | b'E')) {
            let mut q = p + 1;
            if matches!(at(q), Some(b'+' | b'-')) {
                q += 1;
            }
            if is_digit(q) {
                is_double = true;
                p = q;
                while is_digit(p) {
                    p += 1;
                }
            }
        }
        if at(p).is_some_and(|b| is_ident_continue(b) || b == b'.') {
            return Err(self.bad_number(start, p));
        }
        let text = self.text(start, p);
        if is_double {
            match text.parse::<f64>() {
                Ok(v) => {
                    self.pos = p;
                    Ok(TokKind::Double(v))
                }
                Err(_) => Err(self.bad_number(start, p)),
            }
        } else {
            match text.parse::<i64>() {
                Ok(v) => {
                    self.pos = p;
                    Ok(TokKind::Int(v))
                }
                Err(_) => Err(self.out_of_range(start, p)),
            }
        }
    }

    /// An "invalid number literal" error covering the whole malformed word.
    fn bad_number(&self, start: usize, mut p: usize) -> LexError {
        while self
            .bytes
            .get(p)
            .is_some_and(|&b| is_ident_continue(b) || b == b'.')
        {
            p += 1;
        }
        (
            Span::new(start, p),
            format!("invalid number literal `{}`", snippet(self.text(start, p))),
        )
    }

    fn out_of_range(&self, start: usize, end: usize) -> LexError {
        (
            Span::new(start, end),
            format!(
                "integer literal `{}` is out of range for i64",
                snippet(self.text(start, end))
            ),
        )
    }

    fn string(&mut self, quote: u8) -> Result<TokKind, LexError> {
        let start = self.pos;
        let body_start = start + 1;
        let body = self.src.get(body_start..).unwrap_or("");
        let mut out = String::new();
        let mut it = body.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c == char::from(quote) {
                self.pos = body_start + i + 1;
                return Ok(TokKind::Str(out));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, e)) = it.next() else { break };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' | '"' | '\'' => out.push(e),
                'u' => match unicode_escape(&mut it) {
                    Some(ch) => out.push(ch),
                    None => {
                        let esc = body_start + i;
                        return Err((
                            Span::new(esc, esc + 2),
                            "invalid unicode escape in string literal".to_string(),
                        ));
                    }
                },
                'x' => {
                    let esc = body_start + i;
                    let digits = (it.next(), it.next());
                    let value = match digits {
                        (Some((_, a)), Some((_, b))) => {
                            a.to_digit(16).zip(b.to_digit(16)).map(|(a, b)| a * 16 + b)
                        }
                        _ => None,
                    };
                    match value.and_then(|v| u8::try_from(v).ok()) {
                        Some(v) if v.is_ascii() => out.push(char::from(v)),
                        Some(_) => {
                            return Err((
                                Span::new(esc, esc + 4),
                                "`\\x` escapes above `\\x7f` are not supported in string literals"
                                    .to_string(),
                            ))
                        }
                        None => {
                            return Err((
                                Span::new(esc, esc + 2),
                                "invalid `\\x` escape in string literal".to_string(),
                            ))
                        }
                    }
                }
                other => {
                    // Unknown escapes are kept as written.
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        Err((
            Span::new(start, start + 1),
            "unterminated string literal".to_string(),
        ))
    }
}

type CharIter<'s> = std::iter::Peekable<std::str::CharIndices<'s>>;

/// Reads the rest of a `\u` escape (after the `u`): `XXXX`, a surrogate
/// pair `XXXX\uXXXX`, or `{X...}`.
fn unicode_escape(it: &mut CharIter<'_>) -> Option<char> {
    if it.peek().map(|&(_, c)| c) == Some('{') {
        it.next();
        let mut value: u32 = 0;
        let mut count = 0;
        loop {
            let (_, c) = it.next()?;
            if c == '}' {
                break;
            }
            count += 1;
            if count > 6 {
                return None;
            }
            value = value * 16 + c.to_digit(16)?;
        }
        if count == 0 {
            return None;
        }
        return char::from_u32(value);
    }
    let hi = hex4(it)?;
    if (0xD800..0xDC00).contains(&hi) {
        let mut look = it.clone();
        if look.next().map(|(_, c)| c) == Some('\\') && look.next().map(|(_, c)| c) == Some('u') {
            let lo = hex4(&mut look)?;
            if (0xDC00..0xE000).contains(&lo) {
                *it = look;
                return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            }
        }
        return None;
    }
    char::from_u32(hi)
}

fn hex4(it: &mut CharIter<'_>) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        let (_, c) = it.next()?;
        value = value * 16 + c.to_digit(16)?;
    }
    Some(value)
}

/// The doc text of a `/** ... */` comment, given what follows `/**`.
fn block_doc(body: &str) -> Option<String> {
    let body = body.trim_end_matches('*');
    let lines: Vec<&str> = body
        .split('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.trim_start_matches('*')
            } else {
                let t = line.trim_start();
                t.strip_prefix('*').unwrap_or(line)
            }
        })
        .collect();
    clean_doc(&lines, true)
}

/// Joins comment lines: trims line ends, removes the common indentation
/// (ignoring the first line when `first_special`, which is trimmed on its
/// own), trims the result. `None` when nothing is left.
fn clean_doc(lines: &[&str], first_special: bool) -> Option<String> {
    let skip = usize::from(first_special);
    let indent_of = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let indent = lines
        .iter()
        .skip(skip)
        .map(|l| l.trim_end())
        .filter(|l| !l.is_empty())
        .map(indent_of)
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        if i > 0 {
            out.push('\n');
        }
        if i < skip {
            out.push_str(line.trim_start());
        } else {
            out.push_str(line.get(indent..).unwrap_or(""));
        }
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        None
    } else {
        Some(trimmed.to_string())
    }
}
