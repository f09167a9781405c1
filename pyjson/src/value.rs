//! The value `json.loads` builds: what Python holds between `loads` and `dumps`.

/// A JSON value as Python holds it after `json.loads`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    Null,
    /// `True` / `False`.
    Bool(bool),
    /// An `int`, as its decimal text (Python ints have no size limit): an optional `-` and the
    /// digits, never `-0`.
    Int(String),
    /// A `float`, `NaN` and the infinities included.
    Float(f64),
    /// A `str`.
    String(PyString),
    /// A `list`.
    Array(Vec<Value>),
    /// A `dict`: each key once, in the order it was first seen.
    Object(Vec<(PyString, Value)>),
}

/// A Python `str` as UTF-16 code units.
///
/// A JSON string can hold lone surrogates (`"\ud800"`), which Rust's `String` cannot. Python
/// joins an escaped high surrogate followed by an escaped low one into one character, and UTF-8
/// input never holds a surrogate, so a decoded string never has a high surrogate next to a
/// low one as two characters: equal code units are then exactly equal Python strings, which
/// makes `==` here Python's `dict` key equality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PyString(pub Vec<u16>);

impl From<&str> for PyString {
    fn from(text: &str) -> Self {
        Self(text.encode_utf16().collect())
    }
}
