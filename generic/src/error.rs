//! Transcoding errors: where in the JSON (a path such as `$.items[2].id`),
//! which IDL field, and what was wrong.

use std::fmt;

/// What went wrong while transcoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A JSON key that names no field of the struct.
    UnknownField,
    /// A JSON value of the wrong type (`expected`, `found`).
    WrongType,
    /// A `required` field missing from the JSON or from the wire.
    MissingField,
    /// An integer outside its Thrift type's range.
    OutOfRange,
    /// A name or number that is no value of the enum.
    UnknownEnumValue,
    /// A union with no field set, or more than one.
    BadUnion,
    /// Malformed Thrift bytes (truncated, wrong wire type, too deep).
    BadWire,
    /// A method or type the descriptor does not have.
    NotFound,
}

/// A transcoding error. Its message names the JSON path and, when there is
/// one, the IDL field (`Struct.field`):
///
/// ```text
/// $.req.count (field `AllTypes.count`, i32): 3000000000 is out of range for i32
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    path: String,
    field: Option<String>,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, path: &Path, message: impl Into<String>) -> Self {
        Error {
            kind,
            path: path.render(),
            field: path.field(),
            message: message.into(),
        }
    }

    /// What kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The JSON path of the offending value: `$`, `$.items[2].id`,
    /// `$.by_color["RED"]`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The innermost IDL field on the path, as `Struct.field` with its type
    /// (`AllTypes.count, i32`), if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The message alone, without path or field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} (field `{field}`): {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// One step of a JSON path.
#[derive(Debug, Clone)]
enum Step {
    /// A struct field: its JSON key and its IDL description.
    Field { key: String, idl: Option<String> },
    /// A list or set element.
    Index(usize),
    /// A map value, by its key as JSON text.
    Key(String),
}

/// The path to the value being transcoded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path {
    steps: Vec<Step>,
}

impl Path {
    pub(crate) fn field(&self) -> Option<String> {
        self.steps.iter().rev().find_map(|s| match s {
            Step::Field { idl, .. } => idl.clone(),
            _ => None,
        })
    }

    pub(crate) fn push_field(&mut self, key: &str, idl: String) {
        self.steps.push(Step::Field {
            key: key.to_string(),
            idl: Some(idl),
        });
    }

    /// A JSON key that names no IDL field.
    pub(crate) fn push_name(&mut self, key: &str) {
        self.steps.push(Step::Field {
            key: key.to_string(),
            idl: None,
        });
    }

    pub(crate) fn push_index(&mut self, i: usize) {
        self.steps.push(Step::Index(i));
    }

    pub(crate) fn push_key(&mut self, key: String) {
        self.steps.push(Step::Key(key));
    }

    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }

    pub(crate) fn depth(&self) -> usize {
        self.steps.len()
    }

    pub(crate) fn render(&self) -> String {
        let mut s = String::from("$");
        for step in &self.steps {
            match step {
                Step::Field { key, .. } => {
                    s.push('.');
                    s.push_str(key);
                }
                Step::Index(i) => s.push_str(&format!("[{i}]")),
                Step::Key(k) => s.push_str(&format!("[{k}]")),
            }
        }
        s
    }
}
