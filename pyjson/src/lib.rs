//! Re-serialise a JSON document byte for byte the way Python 3 does with
//! `json.dumps(json.loads(body))` and default arguments.
//!
//! Amani signs `json.dumps(payload).encode("utf-8")` but may deliver a differently formatted
//! (for example compact) document, so its signature is also checked against the Python
//! rendering of the received body. Standard library only, no `unsafe`.
//!
//! Three steps, as in Python: [`loads`] parses into a [`Value`], [`dumps`] writes it, and
//! [`repr::float_repr`] is `float.__repr__`. They reproduce `CPython` 3.11:
//!
//! * parsing follows `json.loads` on a `bytes` body: the input must be UTF-8 (one leading UTF-8
//!   byte-order mark is skipped), white space is `' ' '\t' '\n' '\r'`, the literals `NaN`,
//!   `Infinity` and `-Infinity` are accepted, raw control characters inside strings are
//!   refused, `\uXXXX` escapes may produce lone surrogates, and integers of more than 4300
//!   digits are refused (`sys.get_int_max_str_digits()`);
//! * objects behave like `dict`: a repeated key keeps the position of its first occurrence and
//!   the value of its last one;
//! * output uses the separators `", "` and `": "`, `ensure_ascii=True` string escaping
//!   (lower-case `\uxxxx`, one escape per UTF-16 code unit), integers verbatim, and floats in
//!   `float.__repr__` form (`1e-05`, `1e+16`, `100.0`, `Infinity`, ...).
//!
//! Differences from Python are deliberate and fail closed (they only refuse): nesting deeper
//! than [`MAX_DEPTH`] is refused with [`PyJsonError::TooDeep`] (Python's own limit is its
//! recursion limit, about 1000), UTF-8-encoded surrogates (which Python's `surrogatepass`
//! decoding accepts) are refused as invalid UTF-8, and Python's UTF-16/UTF-32 detection is not
//! done (such bodies hold NUL bytes or a UTF-16/32 byte-order mark and are refused).

#![forbid(unsafe_code)]

mod dumps;
mod parse;
pub mod repr;
mod value;

use std::fmt;

pub use value::{PyString, Value};

/// Deepest nesting of arrays and objects accepted.
///
/// A document whose containers nest deeper is refused with [`PyJsonError::TooDeep`]. Parsing
/// and writing recurse once per level, so the limit bounds the stack they use.
pub const MAX_DEPTH: usize = 512;

/// Why the input is not JSON that Python's `json.loads` would accept (or nests too deep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyJsonError {
    /// The document is malformed; `offset` is the byte offset in the input at (or near) which
    /// the problem was found. Integer literals over Python's 4300-digit limit are reported here
    /// too.
    Syntax {
        /// Byte offset into the original input.
        offset: usize,
    },
    /// Arrays/objects nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The input is not valid UTF-8.
    InvalidUtf8,
    /// A key appears twice in one object ([`dumped_form`] only: a `dict` cannot hold it).
    RepeatedKey {
        /// Byte offset of the value after the repeated key.
        offset: usize,
    },
    /// The input starts with a byte-order mark ([`dumped_form`] only: `json.dumps` never
    /// writes one).
    ByteOrderMark,
}

impl fmt::Display for PyJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { offset } => write!(f, "invalid JSON at byte offset {offset}"),
            Self::TooDeep => write!(f, "JSON nesting exceeds the maximum depth of {MAX_DEPTH}"),
            Self::InvalidUtf8 => f.write_str("JSON input is not valid UTF-8"),
            Self::RepeatedKey { offset } => write!(f, "repeated object key before byte {offset}"),
            Self::ByteOrderMark => f.write_str("JSON input starts with a byte-order mark"),
        }
    }
}

impl std::error::Error for PyJsonError {}

/// `json.loads(input)` for a `bytes` body: the value Python would hold.
///
/// # Errors
///
/// * [`PyJsonError::InvalidUtf8`] if `input` is not valid UTF-8;
/// * [`PyJsonError::TooDeep`] if containers nest deeper than [`MAX_DEPTH`];
/// * [`PyJsonError::Syntax`] for anything else `json.loads` would refuse (including trailing
///   data and integers with more than 4300 digits).
pub fn loads(input: &[u8]) -> Result<Value, PyJsonError> {
    parse::loads(input)
}

/// `json.dumps(value)` with default arguments, as bytes (always ASCII: `ensure_ascii=True`).
///
/// Recursive: a value from [`loads`] nests at most [`MAX_DEPTH`] deep.
pub fn dumps(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    dumps::write(value, &mut out);
    out
}

/// Python's `json.dumps(json.loads(input))`, as bytes.
///
/// `input` is treated like a `bytes` body handed to `json.loads`; the result is exactly what
/// `json.dumps` with default arguments produces, encoded as UTF-8 (always pure ASCII).
///
/// # Errors
///
/// As [`loads`].
pub fn python_dumps(input: &[u8]) -> Result<Vec<u8>, PyJsonError> {
    loads(input).map(|value| dumps(&value))
}

/// The `json.dumps` output that `input` is a re-spelling of: [`python_dumps`], refusing input
/// that no `json.dumps` output can be a re-spelling of without losing information — a key
/// repeated in one object (a `dict` keeps one value, so the other would be unsigned) or a leading
/// byte-order mark.
///
/// A signature over `json.dumps` bytes then covers exactly one document, whatever white space,
/// escapes or number spelling carried it.
///
/// # Errors
///
/// As [`loads`], plus [`PyJsonError::RepeatedKey`] and [`PyJsonError::ByteOrderMark`].
pub fn dumped_form(input: &[u8]) -> Result<Vec<u8>, PyJsonError> {
    parse::loads_dumped(input).map(|value| dumps(&value))
}
