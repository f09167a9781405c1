//! `json.loads` of a `bytes` body: text to [`Value`].

use std::collections::{HashMap, HashSet};

use crate::value::{PyString, Value};
use crate::{MAX_DEPTH, PyJsonError};

/// Python's default `sys.get_int_max_str_digits()`: `json.loads` raises `ValueError` for an
/// integer literal with more digits than this.
const MAX_INT_DIGITS: usize = 4300;

/// Parses `input` as `json.loads(input)` does for a `bytes` argument (see the crate docs for
/// where it refuses what Python would accept).
pub(crate) fn loads(input: &[u8]) -> Result<Value, PyJsonError> {
    parse(input, false)
}

/// As [`loads`], but refusing what `json.dumps` output never holds: a byte-order mark
/// ([`PyJsonError::ByteOrderMark`]) and a key repeated in one object
/// ([`PyJsonError::RepeatedKey`]).
pub(crate) fn loads_dumped(input: &[u8]) -> Result<Value, PyJsonError> {
    parse(input, true)
}

fn parse(input: &[u8], dumped: bool) -> Result<Value, PyJsonError> {
    let text = std::str::from_utf8(input).map_err(|_| PyJsonError::InvalidUtf8)?;
    let mut parser = Parser {
        text,
        pos: 0,
        dumped,
    };
    // `json.loads(bytes)` decodes a body that starts with a byte-order mark as `utf-8-sig`.
    if text.starts_with('\u{feff}') {
        if dumped {
            return Err(PyJsonError::ByteOrderMark);
        }
        parser.pos = '\u{feff}'.len_utf8();
    }
    parser.skip_ws();
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.pos == text.len() {
        Ok(value)
    } else {
        Err(parser.syntax())
    }
}

/// A recursive-descent parser over validated UTF-8; `pos` is a byte offset into `text`.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// Refuse repeated keys (see [`loads_dumped`]).
    dumped: bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn syntax(&self) -> PyJsonError {
        PyJsonError::Syntax { offset: self.pos }
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.pos += 1;
        }
        next
    }

    /// Python's JSON white space: space, tab, line feed, carriage return.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The value at `pos` (white space already skipped), inside `depth` open containers.
    fn value(&mut self, depth: usize) -> Result<Value, PyJsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'N') => self.literal("NaN", Value::Float(f64::NAN)),
            Some(b'I') => self.literal("Infinity", Value::Float(f64::INFINITY)),
            _ => Err(self.syntax()),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, PyJsonError> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.syntax())
        }
    }

    /// `[ value, ... ]`, the `[` at `pos`; it is container number `depth` from the top.
    fn array(&mut self, depth: usize) -> Result<Value, PyJsonError> {
        if depth > MAX_DEPTH {
            return Err(PyJsonError::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        let mut items = Vec::new();
        if self.eat(b']') {
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            if self.eat(b']') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.syntax());
            }
            self.skip_ws();
        }
    }

    /// `{ "key": value, ... }`, the `{` at `pos`; it is container number `depth` from the top.
    fn object(&mut self, depth: usize) -> Result<Value, PyJsonError> {
        if depth > MAX_DEPTH {
            return Err(PyJsonError::TooDeep);
        }
        self.pos += 1;
        self.skip_ws();
        let mut members = Vec::new();
        // The keys seen so far, only where a repeated key is refused (`dumped`): a hash set, so
        // that an object of many members costs linear time, not quadratic.
        let mut seen: HashSet<PyString> = HashSet::new();
        if self.eat(b'}') {
            return Ok(Value::Object(members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax());
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(b':') {
                return Err(self.syntax());
            }
            self.skip_ws();
            if self.dumped && !seen.insert(key.clone()) {
                return Err(PyJsonError::RepeatedKey { offset: self.pos });
            }
            members.push((key, self.value(depth)?));
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(Value::Object(last_wins(members)));
            }
            if !self.eat(b',') {
                return Err(self.syntax());
            }
            self.skip_ws();
        }
    }

    /// A string, the opening `"` at `pos`.
    fn string(&mut self) -> Result<PyString, PyJsonError> {
        let open = self.pos;
        self.pos += 1;
        let mut units = Vec::new();
        loop {
            match self.peek() {
                // Python names the opening quote of an unterminated string.
                None => return Err(PyJsonError::Syntax { offset: open }),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(PyString(units));
                }
                Some(b'\\') => units.push(self.escape()?),
                // Raw control characters are refused (`strict=True`).
                Some(0x00..=0x1f) => return Err(self.syntax()),
                Some(byte) if byte.is_ascii() => {
                    units.push(u16::from(byte));
                    self.pos += 1;
                }
                Some(_) => {
                    let ch = self
                        .text
                        .get(self.pos..)
                        .and_then(|rest| rest.chars().next())
                        .ok_or(PyJsonError::InvalidUtf8)?;
                    units.extend(ch.encode_utf16(&mut [0; 2]).iter());
                    self.pos += ch.len_utf8();
                }
            }
        }
    }

    /// The escape whose `\` is at `pos`, as one UTF-16 code unit (`\uXXXX` may be a lone
    /// surrogate; a pair is two units, which is how Python's joined character is encoded too).
    fn escape(&mut self) -> Result<u16, PyJsonError> {
        let err = self.syntax();
        let unit = match self.text.as_bytes().get(self.pos + 1) {
            Some(b'"') => 0x22,
            Some(b'\\') => 0x5c,
            Some(b'/') => 0x2f,
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => 0x0a,
            Some(b'r') => 0x0d,
            Some(b't') => 0x09,
            Some(b'u') => {
                let hex = self
                    .text
                    .get(self.pos + 2..self.pos + 6)
                    .ok_or(err.clone())?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err);
                }
                self.pos += 6;
                return u16::from_str_radix(hex, 16).map_err(|_| err);
            }
            _ => return Err(err),
        };
        self.pos += 2;
        Ok(unit)
    }

    /// A number as Python's scanner reads it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`,
    /// where a `.` or an exponent without digits ends the number before it; or `-Infinity`.
    fn number(&mut self) -> Result<Value, PyJsonError> {
        let start = self.pos;
        let err = self.syntax();
        if self
            .text
            .get(start..)
            .is_some_and(|rest| rest.starts_with("-Infinity"))
        {
            self.pos += "-Infinity".len();
            return Ok(Value::Float(f64::NEG_INFINITY));
        }
        let text = self.text;
        let bytes = text.as_bytes();
        let digit_at = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
        let digits_from = |mut at: usize| {
            while digit_at(at) {
                at += 1;
            }
            at
        };
        let negative = self.eat(b'-');
        let int_start = self.pos;
        self.pos = match self.peek() {
            Some(b'0') => int_start + 1,
            Some(b'1'..=b'9') => digits_from(int_start),
            _ => return Err(err),
        };
        let int_end = self.pos;
        let mut is_float = false;
        if self.peek() == Some(b'.') && digit_at(self.pos + 1) {
            self.pos = digits_from(self.pos + 1);
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            let mut at = self.pos + 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            if digit_at(at) {
                self.pos = digits_from(at);
                is_float = true;
            }
        }
        if is_float {
            let literal = text.get(start..self.pos).ok_or(err.clone())?;
            return literal.parse().map(Value::Float).map_err(|_| err);
        }
        let digits = text.get(int_start..int_end).ok_or(err.clone())?;
        if digits.len() > MAX_INT_DIGITS {
            return Err(err);
        }
        Ok(Value::Int(if negative && digits != "0" {
            format!("-{digits}")
        } else {
            digits.to_owned()
        }))
    }
}

/// `dict` semantics for an object's members in source order: a repeated key keeps the position
/// where it was first seen and the value it was given last.
fn last_wins(members: Vec<(PyString, Value)>) -> Vec<(PyString, Value)> {
    // For each member, the index of the first member with its key.
    let first_index: Vec<usize> = {
        let mut seen = HashMap::with_capacity(members.len());
        members
            .iter()
            .enumerate()
            .map(|(index, (key, _))| *seen.entry(key).or_insert(index))
            .collect()
    };
    if first_index
        .iter()
        .enumerate()
        .all(|(index, &first)| index == first)
    {
        return members;
    }
    let mut kept: Vec<(PyString, Value)> = Vec::with_capacity(members.len());
    // Where in `kept` each first occurrence went.
    let mut slot = vec![0; members.len()];
    for (index, (member, first)) in members.into_iter().zip(first_index).enumerate() {
        if index == first {
            slot[index] = kept.len();
            kept.push(member);
        } else if let Some(earlier) = kept.get_mut(slot[first]) {
            earlier.1 = member.1;
        }
    }
    kept
}
