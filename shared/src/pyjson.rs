//! Re-serialise a JSON document byte-for-byte the way Python 3 does with
//! `json.dumps(json.loads(body))` using default arguments.
//!
//! Amani signs `json.dumps(payload).encode("utf-8")` but may deliver a
//! differently formatted (for example compact) document, so the signature has
//! to be checked against the Python rendering of the received body.
//!
//! The module is self-contained (standard library only, no `unsafe`) and
//! reproduces the `CPython` 3.11 behaviour:
//!
//! * parsing follows `json.loads` on a `bytes` body: the input must be UTF-8
//!   (one leading UTF-8 byte-order mark is skipped), whitespace is
//!   `' ' '\t' '\n' '\r'`, the literals `NaN`, `Infinity` and `-Infinity` are
//!   accepted, raw control characters inside strings are rejected and
//!   `\uXXXX` escapes may produce lone surrogates;
//! * objects behave like `dict`: a repeated key keeps the position of its
//!   first occurrence and the value of its last one;
//! * output uses the separators `", "` and `": "`, `ensure_ascii=True`
//!   string escaping (lower-case `\uxxxx`, one escape per UTF-16 code unit),
//!   integers verbatim, and floats in `float.__repr__` form
//!   (`1e-05`, `1e+16`, `100.0`, `Infinity`, ...).
//!
//! Differences from Python are deliberate and fail closed (they only reject):
//! nesting deeper than [`MAX_DEPTH`] is refused with [`PyJsonError::TooDeep`]
//! (Python's own limit is its recursion limit, about 1000), UTF-8-encoded
//! surrogates (which Python's `surrogatepass` decoding would accept) are
//! refused as invalid UTF-8, and Python's UTF-16/UTF-32 auto-detection is not
//! performed (such inputs contain NUL bytes and are rejected).

use std::fmt;
use std::fmt::Write as _;

/// Maximum nesting depth of arrays and objects accepted by [`python_dumps`].
///
/// A document whose containers nest deeper than this is rejected with
/// [`PyJsonError::TooDeep`]. Parsing is iterative, so the limit protects
/// memory use rather than the call stack.
pub const MAX_DEPTH: usize = 512;

/// Python's default `sys.get_int_max_str_digits()`: `json.loads` raises
/// `ValueError` for integer literals with more digits than this.
const MAX_INT_DIGITS: usize = 4300;

/// Error when the input is not JSON that Python's `json.loads` would accept
/// (or nests too deep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyJsonError {
    /// The document is malformed; `offset` is the byte offset in the input
    /// at (or near) which the problem was detected. Integer literals longer
    /// than Python's 4300-digit conversion limit are reported here too.
    Syntax {
        /// Byte offset into the original input.
        offset: usize,
    },
    /// Arrays/objects nest deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The input is not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for PyJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { offset } => write!(f, "invalid JSON at byte offset {offset}"),
            Self::TooDeep => write!(f, "JSON nesting exceeds the maximum depth of {MAX_DEPTH}"),
            Self::InvalidUtf8 => f.write_str("JSON input is not valid UTF-8"),
        }
    }
}

impl std::error::Error for PyJsonError {}

/// Python `json.dumps(json.loads(input))` bytes.
///
/// `input` is treated like a `bytes` body handed to `json.loads`; the result
/// is exactly what `json.dumps` with default arguments would produce, encoded
/// as UTF-8 (it is always pure ASCII because of `ensure_ascii=True`).
///
/// # Errors
///
/// * [`PyJsonError::InvalidUtf8`] if `input` is not valid UTF-8;
/// * [`PyJsonError::TooDeep`] if containers nest deeper than [`MAX_DEPTH`];
/// * [`PyJsonError::Syntax`] for anything else `json.loads` would reject
///   (including trailing data and integers with more than 4300 digits).
pub fn python_dumps(input: &[u8]) -> Result<Vec<u8>, PyJsonError> {
    let text = std::str::from_utf8(input).map_err(|_| PyJsonError::InvalidUtf8)?;
    // `json.loads(bytes)` decodes a body starting with a BOM as `utf-8-sig`.
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut parser = Parser {
        src: input,
        text,
        pos: start,
        // A compact body grows by a space after every `,` and `:`, about 15 %
        // for typical events: room for that avoids copying the output again.
        out: Vec::with_capacity(input.len() + input.len() / 4 + 16),
        stack: Vec::new(),
        members: Vec::new(),
        order: Vec::new(),
        float_buf: String::new(),
    };
    parser.run()?;
    Ok(parser.out)
}

/// Objects with at most this many members have their keys checked for repeats
/// pair by pair rather than by sorting.
const SMALL_OBJECT: usize = 16;

/// Whether the `count` keys given by `key` are all different, comparing every
/// pair (for small `count`). Each key is first reduced to a fingerprint (its
/// length and the bytes just inside its quotes), so nearly every pair is told
/// apart without comparing the keys themselves.
fn keys_unique<'k>(count: usize, key: impl Fn(usize) -> Option<&'k [u8]>) -> bool {
    let mut prints = [0_u32; SMALL_OBJECT];
    for (i, print) in prints.iter_mut().enumerate().take(count) {
        let text = key(i).unwrap_or_default();
        let inner = |at: usize| u32::from(text.get(at).copied().unwrap_or_default());
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX) & 0xffff;
        *print = len | inner(1) << 16 | inner(text.len().saturating_sub(2)) << 24;
    }
    let prints = prints.get(..count).unwrap_or_default();
    prints.iter().enumerate().all(|(i, print)| {
        prints
            .iter()
            .take(i)
            .enumerate()
            .all(|(j, other)| print != other || key(i) != key(j))
    })
}

/// Length of the run at the start of `bytes` that `ensure_ascii` copies as it
/// is: printable ASCII other than `"` and `\`.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether any byte of `word` equals the byte repeated in `pattern`. Borrows
    // can flag a byte next to a real match, never miss one: a flagged word is
    // rescanned byte by byte.
    let has_byte = |word: u64, pattern: u64| {
        let x = word ^ pattern;
        x.wrapping_sub(ONES) & !x & HIGH != 0
    };
    // Eight bytes at a time while all of them are plain: long strings (ids,
    // URLs, text) are most of a typical body.
    let mut len = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let special = word & HIGH != 0 // 0x80 and above
            || word.wrapping_add(ONES) & HIGH != 0 // 0x7f
            || word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0 // below 0x20
            || has_byte(word, ONES * u64::from(b'"'))
            || has_byte(word, ONES * u64::from(b'\\'));
        if special {
            break;
        }
        len += 8;
    }
    let rest = bytes.get(len..).unwrap_or_default();
    len + rest
        .iter()
        .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
        .unwrap_or(rest.len())
}

/// Kind of an open container.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Object,
}

/// An open container on the explicit parse stack.
struct Frame {
    kind: Kind,
    /// Offset of the opening `{` / `[` in the output.
    out_start: usize,
    /// Index into `Parser::members` of this object's first member.
    first_member: usize,
}

/// Output spans of one `"key": value` member of an open object.
///
/// The key span holds the already-escaped key. `ensure_ascii` escaping is
/// injective on UTF-16 code units, and Python always joins an escaped
/// surrogate pair into one character, so equal spans mean equal Python keys.
struct Member {
    key_start: usize,
    key_end: usize,
    value_end: usize,
}

struct Parser<'a> {
    src: &'a [u8],
    /// `src` as validated text (same bytes).
    text: &'a str,
    pos: usize,
    out: Vec<u8>,
    stack: Vec<Frame>,
    members: Vec<Member>,
    /// Scratch for duplicate-key detection.
    order: Vec<usize>,
    /// Scratch for float formatting.
    float_buf: String,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn syntax(&self) -> PyJsonError {
        PyJsonError::Syntax { offset: self.pos }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Parse the whole document.
    fn run(&mut self) -> Result<(), PyJsonError> {
        'value: loop {
            self.skip_ws();
            if self.value_or_open()? {
                continue 'value;
            }
            // A value just finished: handle separators and closing brackets.
            loop {
                let Some(frame) = self.stack.last() else {
                    break 'value;
                };
                let kind = frame.kind;
                if kind == Kind::Object {
                    let end = self.out.len();
                    if let Some(member) = self.members.last_mut() {
                        member.value_end = end;
                    }
                }
                self.skip_ws();
                match (self.peek(), kind) {
                    (Some(b','), _) => {
                        self.pos += 1;
                        self.out.extend_from_slice(b", ");
                        if kind == Kind::Object {
                            self.skip_ws();
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    (Some(b']'), Kind::Array) => {
                        self.pos += 1;
                        self.out.push(b']');
                        self.stack.pop();
                    }
                    (Some(b'}'), Kind::Object) => {
                        self.pos += 1;
                        self.close_object();
                    }
                    _ => return Err(self.syntax()),
                }
            }
        }
        self.skip_ws();
        if self.pos == self.src.len() {
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// Parse a scalar or an empty container (returns `false`: the value is
    /// complete), or open a non-empty container (returns `true`: its first
    /// element is expected next).
    fn value_or_open(&mut self) -> Result<bool, PyJsonError> {
        let Some(byte) = self.peek() else {
            return Err(self.syntax());
        };
        match byte {
            b'{' | b'[' => return self.open(byte),
            b'"' => self.string()?,
            b'-' | b'0'..=b'9' => self.number()?,
            b'n' => self.literal("null")?,
            b't' => self.literal("true")?,
            b'f' => self.literal("false")?,
            b'N' => self.literal("NaN")?,
            b'I' => self.literal("Infinity")?,
            _ => return Err(self.syntax()),
        }
        Ok(false)
    }

    /// Handle `{` or `[` at the current position.
    fn open(&mut self, bracket: u8) -> Result<bool, PyJsonError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(PyJsonError::TooDeep);
        }
        let out_start = self.out.len();
        self.out.push(bracket);
        self.pos += 1;
        self.skip_ws();
        let (kind, close) = if bracket == b'{' {
            (Kind::Object, b'}')
        } else {
            (Kind::Array, b']')
        };
        if self.peek() == Some(close) {
            self.pos += 1;
            self.out.push(close);
            return Ok(false);
        }
        self.stack.push(Frame {
            kind,
            out_start,
            first_member: self.members.len(),
        });
        if kind == Kind::Object {
            self.member_key()?;
        }
        Ok(true)
    }

    /// Parse `"key" :` (leading whitespace already skipped) and emit `"key": `.
    fn member_key(&mut self) -> Result<(), PyJsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax());
        }
        let key_start = self.out.len();
        self.string()?;
        let key_end = self.out.len();
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.syntax());
        }
        self.pos += 1;
        self.out.extend_from_slice(b": ");
        self.members.push(Member {
            key_start,
            key_end,
            value_end: key_end + 2,
        });
        Ok(())
    }

    /// Finish the innermost object (its `}` has been consumed), applying
    /// `dict` semantics to duplicate keys.
    fn close_object(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let first = frame.first_member;
        if let Some(rebuilt) = self.dedup_members(first, frame.out_start) {
            self.out.truncate(frame.out_start);
            self.out.extend_from_slice(&rebuilt);
        }
        self.members.truncate(first);
        self.out.push(b'}');
    }

    /// If the members from `first` on contain a repeated key, return the
    /// object text (from `{`, without the closing brace) rebuilt with each
    /// key at its first position carrying its last value. `None` if the keys
    /// are unique.
    fn dedup_members(&mut self, first: usize, out_start: usize) -> Option<Vec<u8>> {
        let members = self.members.get(first..)?;
        if members.len() < 2 {
            return None;
        }
        let out = &self.out;
        let key = |i: usize| members.get(i).and_then(|m| out.get(m.key_start..m.key_end));
        if members.len() <= SMALL_OBJECT && keys_unique(members.len(), key) {
            return None;
        }
        let order = &mut self.order;
        order.clear();
        order.extend(0..members.len());
        // Equal keys end up adjacent, in order of appearance.
        order.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)).then(a.cmp(&b)));
        let same_key = |a: &usize, b: &usize| key(*a) == key(*b);
        if order.chunk_by(same_key).all(|group| group.len() == 1) {
            return None;
        }
        // source[i] = Some(j): member i's key is emitted with member j's value.
        let mut source: Vec<Option<usize>> = vec![None; members.len()];
        for group in order.chunk_by(same_key) {
            let (Some(&first_seen), Some(&last_seen)) = (group.first(), group.last()) else {
                continue;
            };
            if let Some(slot) = source.get_mut(first_seen) {
                *slot = Some(last_seen);
            }
        }
        let mut rebuilt = Vec::with_capacity(out.len().saturating_sub(out_start));
        rebuilt.push(b'{');
        for (member, value_from) in members.iter().zip(&source) {
            let Some(value_member) = value_from.and_then(|j| members.get(j)) else {
                continue;
            };
            if rebuilt.len() > 1 {
                rebuilt.extend_from_slice(b", ");
            }
            rebuilt.extend_from_slice(out.get(member.key_start..member.key_end)?);
            rebuilt.extend_from_slice(b": ");
            rebuilt.extend_from_slice(out.get(value_member.key_end + 2..value_member.value_end)?);
        }
        Some(rebuilt)
    }

    /// Match a keyword literal, emitting it unchanged.
    fn literal(&mut self, word: &str) -> Result<(), PyJsonError> {
        let rest = self.src.get(self.pos..).unwrap_or_default();
        if rest.starts_with(word.as_bytes()) {
            self.pos += word.len();
            self.out.extend_from_slice(word.as_bytes());
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    /// Parse a string at the current `"` and emit it with `ensure_ascii`.
    fn string(&mut self) -> Result<(), PyJsonError> {
        let src = self.src;
        let mut i = self.pos + 1;
        self.out.push(b'"');
        loop {
            let run_start = i;
            i += plain_run(src.get(i..).unwrap_or_default());
            self.out
                .extend_from_slice(src.get(run_start..i).unwrap_or_default());
            let Some(&b) = src.get(i) else {
                // Unterminated string: report the opening quote like Python.
                return Err(PyJsonError::Syntax { offset: self.pos });
            };
            match b {
                b'"' => break,
                b'\\' => i = self.escape(i)?,
                0x00..=0x1f => return Err(PyJsonError::Syntax { offset: i }),
                0x7f => {
                    self.push_unit(0x7f);
                    i += 1;
                }
                _ => {
                    let ch = self
                        .text
                        .get(i..)
                        .and_then(|s| s.chars().next())
                        .ok_or(PyJsonError::InvalidUtf8)?;
                    let mut units = [0u16; 2];
                    for &unit in ch.encode_utf16(&mut units).iter() {
                        self.push_unit(unit);
                    }
                    i += ch.len_utf8();
                }
            }
        }
        self.out.push(b'"');
        self.pos = i + 1;
        Ok(())
    }

    /// Handle the escape sequence whose backslash is at `i`; returns the
    /// index just after it.
    fn escape(&mut self, i: usize) -> Result<usize, PyJsonError> {
        let err = PyJsonError::Syntax { offset: i };
        let Some(&e) = self.src.get(i + 1) else {
            return Err(err);
        };
        match e {
            b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.out.push(b'\\');
                self.out.push(e);
                Ok(i + 2)
            }
            b'/' => {
                self.out.push(b'/');
                Ok(i + 2)
            }
            b'u' => {
                let hex = self.src.get(i + 2..i + 6).ok_or(err.clone())?;
                let mut unit: u16 = 0;
                for &h in hex {
                    let digit = match h {
                        b'0'..=b'9' => h - b'0',
                        b'a'..=b'f' => h - b'a' + 10,
                        b'A'..=b'F' => h - b'A' + 10,
                        _ => return Err(err),
                    };
                    unit = (unit << 4) | u16::from(digit);
                }
                self.push_unit(unit);
                Ok(i + 6)
            }
            _ => Err(err),
        }
    }

    /// Emit one UTF-16 code unit the way `json.dumps(ensure_ascii=True)` does.
    fn push_unit(&mut self, unit: u16) {
        let named = match unit {
            0x22 => b'"',
            0x5c => b'\\',
            0x0a => b'n',
            0x0d => b'r',
            0x09 => b't',
            0x08 => b'b',
            0x0c => b'f',
            0x20..=0x7e => {
                // Printable ASCII is emitted as itself.
                self.out.extend_from_slice(&unit.to_be_bytes()[1..]);
                return;
            }
            _ => {
                self.out.extend_from_slice(b"\\u");
                for shift in [12u32, 8, 4, 0] {
                    let nibble = usize::from((unit >> shift) & 0xf);
                    self.out.push(HEX[nibble]);
                }
                return;
            }
        };
        self.out.push(b'\\');
        self.out.push(named);
    }

    /// Parse a number (or `-Infinity`) at the current position.
    fn number(&mut self) -> Result<(), PyJsonError> {
        let src = self.src;
        let start = self.pos;
        let err = PyJsonError::Syntax { offset: start };
        let digit_at = |i: usize| src.get(i).is_some_and(u8::is_ascii_digit);
        let mut i = start;
        let negative = src.get(i) == Some(&b'-');
        if negative {
            if src.get(i..).unwrap_or_default().starts_with(b"-Infinity") {
                self.pos = i + "-Infinity".len();
                self.out.extend_from_slice(b"-Infinity");
                return Ok(());
            }
            i += 1;
        }
        let int_start = i;
        match src.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while digit_at(i) {
                    i += 1;
                }
            }
            _ => return Err(err),
        }
        let int_end = i;
        let mut is_float = false;
        let mut frac_end = i;
        if src.get(i) == Some(&b'.') && digit_at(i + 1) {
            i += 1;
            while digit_at(i) {
                i += 1;
            }
            frac_end = i;
            is_float = true;
        }
        let mut exponent: &[u8] = &[];
        if let Some(b'e' | b'E') = src.get(i) {
            let mut j = i + 1;
            if let Some(b'+' | b'-') = src.get(j) {
                j += 1;
            }
            // Python only takes the exponent if it has digits; otherwise the
            // number ends before the `e` (and the `e` is then an error).
            if digit_at(j) {
                while digit_at(j) {
                    j += 1;
                }
                exponent = src.get(i + 1..j).unwrap_or_default();
                i = j;
                is_float = true;
            }
        }
        self.pos = i;
        if is_float {
            let literal = FloatLiteral {
                int: src.get(int_start..int_end).unwrap_or_default(),
                frac: src.get(int_end + 1..frac_end).unwrap_or_default(),
                exponent,
            };
            if let Some(digits) = literal.shortest_digits() {
                if negative {
                    self.out.push(b'-');
                }
                digits.write_repr(&mut self.out);
                return Ok(());
            }
            let literal = self.text.get(start..i).ok_or(err.clone())?;
            let value: f64 = literal.parse().map_err(|_| err)?;
            self.push_float(value);
        } else {
            let digits = src.get(int_start..int_end).ok_or(err.clone())?;
            if digits.len() > MAX_INT_DIGITS {
                return Err(err);
            }
            if negative && digits != b"0" {
                self.out.push(b'-');
            }
            self.out.extend_from_slice(digits);
        }
        Ok(())
    }

    /// Emit `float.__repr__` of `value` (with JSON's names for non-finite values).
    fn push_float(&mut self, value: f64) {
        push_float_repr(&mut self.out, value, &mut self.float_buf);
    }
}

/// Append `float.__repr__` of `value` (with JSON's names for non-finite
/// values) to `out`; `scratch` is reused for formatting.
fn push_float_repr(out: &mut Vec<u8>, value: f64, scratch: &mut String) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        let text: &[u8] = if value > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        };
        out.extend_from_slice(text);
        return;
    }
    if value.is_sign_negative() {
        out.push(b'-');
    }
    ShortestDigits::new(value.abs(), scratch).write_repr(out);
}

/// The digits of a JSON float literal (after the sign): integer part, fraction
/// (empty when there is no `.`) and exponent with its sign (empty when there is
/// no `e`).
struct FloatLiteral<'a> {
    int: &'a [u8],
    frac: &'a [u8],
    exponent: &'a [u8],
}

impl FloatLiteral<'_> {
    /// Most significant digits `float.__repr__` can keep as written.
    const MAX_DIGITS: usize = 15;

    /// [`ShortestDigits`] of the literal's value read straight from its digits,
    /// or `None` when that is not certain to be right (then the value is parsed
    /// and formatted).
    ///
    /// Why this is exact: between `1e-307` and `1e308` doubles are normal and
    /// at least 4.5 times denser than 15-digit decimals (a relative spacing of
    /// at most 2^-52 against at least 10^-15), so two different decimals of at
    /// most 15 significant digits never round to the same double. A literal `D`
    /// of `n <= 15` significant digits (trailing zeros dropped) therefore reads
    /// back as the only decimal of `n` or fewer digits that does: it is the
    /// shortest round-trip string Python's `repr` picks, digit for digit.
    /// Parsing and formatting it is the costliest part of re-serialising a body
    /// with floats; numbers in webhook payloads rarely need more digits.
    fn shortest_digits(&self) -> Option<ShortestDigits> {
        let mut all = self.int.iter().chain(self.frac);
        let Some(first) = all.clone().position(|&d| d != b'0') else {
            // Zero, of either sign.
            return Some(ShortestDigits {
                buf: [b'0'; 20],
                len: 1,
                exp: 0,
            });
        };
        let significant = all
            .clone()
            .rev()
            .position(|&d| d != b'0')
            .map_or(0, |trailing| {
                self.int.len() + self.frac.len() - trailing - first
            });
        if significant > Self::MAX_DIGITS {
            return None;
        }
        let exponent = parse_exponent(self.exponent)?;
        // Power of ten of the first significant digit.
        let exp = i64::try_from(self.int.len()).ok()? - 1 - i64::try_from(first).ok()? + exponent;
        if !(-307..=307).contains(&exp) {
            return None;
        }
        let mut digits = ShortestDigits {
            buf: [b'0'; 20],
            len: significant,
            exp: i32::try_from(exp).ok()?,
        };
        for (slot, &digit) in digits
            .buf
            .iter_mut()
            .zip(all.by_ref().skip(first))
            .take(significant)
        {
            *slot = digit;
        }
        Some(digits)
    }
}

/// An exponent's value (`[+-]digits`), or `None` when it is too large to bother
/// with: anything beyond four digits is out of the fast path's range anyway.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        None => return Some(0),
        Some((b'-', digits)) => (true, digits),
        Some((b'+', digits)) => (false, digits),
        Some(_) => (false, text),
    };
    let digits = digits.get(
        digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len())..,
    )?;
    if digits.len() > 4 {
        return None;
    }
    let value = digits
        .iter()
        .fold(0, |value, &d| value * 10 + i64::from(d - b'0'));
    Some(if negative { -value } else { value })
}

/// Shortest round-trip decimal digits of a finite non-negative `f64`, chosen
/// like Python's `repr`: the fewest significant digits that read back as the
/// same value, the closest such string to the exact value, and on an exact
/// tie the one with an even last digit.
struct ShortestDigits {
    /// ASCII significant digits (at most 17 for an `f64`); `len >= 1`.
    buf: [u8; 20],
    len: usize,
    /// Decimal exponent of the first digit: value = d.ddd × 10^exp.
    exp: i32,
}

impl ShortestDigits {
    fn new(value: f64, scratch: &mut String) -> Self {
        let mut digits = Self {
            buf: [b'0'; 20],
            len: 1,
            exp: 0,
        };
        // Rust's `{:e}` prints the shortest round-trip digits (`d[.ddd]e<exp>`).
        scratch.clear();
        if write!(scratch, "{value:e}").is_err() {
            return digits;
        }
        let (mantissa, exp_text) = scratch.split_once('e').unwrap_or((scratch.as_str(), "0"));
        digits.exp = exp_text.parse().unwrap_or(0);
        let mut len = 0;
        for b in mantissa.bytes().filter(u8::is_ascii_digit) {
            if let Some(slot) = digits.buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
        digits.len = len.max(1);
        digits.fix_tie(value, scratch);
        digits
    }

    fn digits(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Rust breaks an exact tie between two equally short, equally close
    /// candidates by rounding up; Python (David Gay's `dtoa`) prefers the even
    /// last digit. Switch to the even neighbour when the value lies exactly
    /// half-way and that neighbour also reads back as `value`.
    fn fix_tie(&mut self, value: f64, scratch: &mut String) {
        let digits = self.digits();
        if digits.last().is_none_or(|d| d % 2 == 0) || digits.len() > 18 {
            return;
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n * 10 + u64::from(d - b'0');
        }
        let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        // value = n × 10^unit_exp; a tie sits at (10n ± 5) × 10^(unit_exp - 1).
        let unit_exp = self.exp - len + 1;
        let alternative = if exact_equals(value, n * 10 - 5, unit_exp - 1) {
            n - 1
        } else if exact_equals(value, n * 10 + 5, unit_exp - 1) {
            n + 1
        } else {
            return;
        };
        scratch.clear();
        if write!(scratch, "{alternative}e{unit_exp}").is_err() {
            return;
        }
        if scratch.parse::<f64>() != Ok(value) {
            return;
        }
        // `alternative` has the same number of digits: a carry or a trailing
        // zero would imply a shorter round-trip string, which cannot exist.
        let text = scratch.split_once('e').map_or("", |(m, _)| m);
        if text.len() == self.len {
            self.buf
                .get_mut(..self.len)
                .into_iter()
                .for_each(|slot| slot.copy_from_slice(text.as_bytes()));
        }
    }

    /// Lay the digits out as `float.__repr__` does.
    fn write_repr(&self, out: &mut Vec<u8>) {
        let exp = self.exp;
        let Some((&lead, tail)) = self.digits().split_first() else {
            return;
        };
        if !(-4..16).contains(&exp) {
            // Scientific: `d[.ddd]e±XX` with at least two exponent digits.
            out.push(lead);
            if !tail.is_empty() {
                out.push(b'.');
                out.extend_from_slice(tail);
            }
            out.extend_from_slice(if exp < 0 { b"e-" } else { b"e+" });
            let magnitude = exp.unsigned_abs();
            if magnitude >= 100 {
                out.push(ascii_digit(magnitude / 100));
            }
            out.push(ascii_digit(magnitude / 10));
            out.push(ascii_digit(magnitude));
        } else if exp < 0 {
            out.extend_from_slice(b"0.");
            for _ in 1..exp.unsigned_abs() {
                out.push(b'0');
            }
            out.push(lead);
            out.extend_from_slice(tail);
        } else {
            // Digits after `lead` that belong before the decimal point.
            let int_tail = usize::try_from(exp).unwrap_or(0);
            out.push(lead);
            if tail.len() <= int_tail {
                out.extend_from_slice(tail);
                out.resize(out.len() + (int_tail - tail.len()), b'0');
                out.extend_from_slice(b".0");
            } else {
                let (int_part, frac_part) = tail.split_at(int_tail);
                out.extend_from_slice(int_part);
                out.push(b'.');
                out.extend_from_slice(frac_part);
            }
        }
    }
}

/// Whether the finite non-negative `value` equals `d × 10^p` exactly.
fn exact_equals(value: f64, d: u64, p: i32) -> bool {
    let bits = value.to_bits();
    let biased = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let fraction = bits & ((1 << 52) - 1);
    // value = m × 2^q
    let (m, q) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    if m == 0 || d == 0 {
        return m == d;
    }
    // m × 2^q == d × 2^p × 5^p, with m and d reduced to their odd parts.
    let m_zeros = i32::try_from(m.trailing_zeros()).unwrap_or(0);
    let d_zeros = i32::try_from(d.trailing_zeros()).unwrap_or(0);
    if q + m_zeros != p + d_zeros {
        return false;
    }
    let m_odd = u128::from(m >> m_zeros);
    let d_odd = u128::from(d >> d_zeros);
    // Both odd parts are below 2^64, so 5^k with k > 55 can never balance.
    let Some(pow5) = 5u128.checked_pow(p.unsigned_abs()) else {
        return false;
    };
    if p >= 0 {
        d_odd.checked_mul(pow5) == Some(m_odd)
    } else {
        m_odd.checked_mul(pow5) == Some(d_odd)
    }
}

/// ASCII digit for `n % 10`.
fn ascii_digit(n: u32) -> u8 {
    b'0' + u8::try_from(n % 10).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    //! Known-answer tests. Every expected output below was produced by
    //! `CPython` 3.11.7 running `json.dumps(json.loads(body))` on the UTF-8
    //! bytes of the input, and every error input was confirmed to make
    //! `json.loads` raise.

    use super::{MAX_DEPTH, PyJsonError, python_dumps};

    fn check_table(cases: &[(&str, &str)]) {
        for &(input, expected) in cases {
            assert_eq!(
                python_dumps(input.as_bytes()).map(String::from_utf8),
                Ok(Ok(expected.to_owned())),
                "input: {input:?}"
            );
        }
    }

    fn is_syntax(result: &Result<Vec<u8>, PyJsonError>) -> bool {
        matches!(result, Err(PyJsonError::Syntax { .. }))
    }

    /// Containers, separators, whitespace and duplicate keys (`dict` semantics).
    const STRUCTURE: &[(&str, &str)] = &[
        (
            r#"{"a":1,"b":[true,false,null],"c":{"d":{}}}"#,
            r#"{"a": 1, "b": [true, false, null], "c": {"d": {}}}"#,
        ),
        ("[]", "[]"),
        ("{}", "{}"),
        (r#"[[],{},[[]],{"e":[]}]"#, r#"[[], {}, [[]], {"e": []}]"#),
        (" [ ] ", "[]"),
        ("{ }", "{}"),
        (
            r#"{"a":[{"b":[{"c":[]}]}],"z":0}"#,
            r#"{"a": [{"b": [{"c": []}]}], "z": 0}"#,
        ),
        (r#"{"a":1,"b":2,"a":3}"#, r#"{"a": 3, "b": 2}"#),
        (r#"{"a":1,"a":2,"a":3}"#, r#"{"a": 3}"#),
        ("\u{feff}{\"a\":1}", r#"{"a": 1}"#),
        (
            r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k9":90,"k0":100,"k5":[55],"k10":10}"#,
            r#"{"k0": 100, "k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": [55], "k6": 6, "k7": 7, "k8": 8, "k9": 90, "k10": 10}"#,
        ),
        (
            r#"{"x":{"k":1,"k":2},"y":1,"x":[1,{"k":3,"k":4}]}"#,
            r#"{"x": [1, {"k": 4}], "y": 1}"#,
        ),
        (r#"{"\u00e9":1,"é":2,"e":3}"#, r#"{"\u00e9": 2, "e": 3}"#),
        (r#"{"\ud83d\ude00":1,"😀":2}"#, r#"{"\ud83d\ude00": 2}"#),
        (
            r#"{"b":1,"a":2,"c":3,"a":4,"b":5}"#,
            r#"{"b": 5, "a": 4, "c": 3}"#,
        ),
        (r#"{"":1,"":2}"#, r#"{"": 2}"#),
        (
            r#"[{"a":1,"a":2},{"a":3,"a":4}]"#,
            r#"[{"a": 2}, {"a": 4}]"#,
        ),
        (
            " \t\n\r{ \"a\" : [ 1 , 2 ] , \"b\" :\n{ } ,\"c\"\r:\"d\"\t}\r\n ",
            r#"{"a": [1, 2], "b": {}, "c": "d"}"#,
        ),
        ("\n\n42\n\n", "42"),
        (r#""top""#, r#""top""#),
        (
            r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,"k3":33}"#,
            r#"{"k0": 0, "k1": 1, "k2": 2, "k3": 33, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17, "k18": 18, "k19": 19}"#,
        ),
        (
            r#"{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k3":33}"#,
            r#"{"k0": 0, "k1": 1, "k2": 2, "k3": 33, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15}"#,
        ),
        (
            r#"{"abc":1,"axc":2,"ab":3,"xb":4,"abc":5}"#,
            r#"{"abc": 5, "axc": 2, "ab": 3, "xb": 4}"#,
        ),
        (
            r#"{"abc":1,"axc":2,"ab":3,"xb":4}"#,
            r#"{"abc": 1, "axc": 2, "ab": 3, "xb": 4}"#,
        ),
        (
            r#"{"k":"v","list":[1,"two",3.0,[4,{"five":5}]]}"#,
            r#"{"k": "v", "list": [1, "two", 3.0, [4, {"five": 5}]]}"#,
        ),
    ];

    /// String escaping with `ensure_ascii=True`, including lone surrogates.
    const STRINGS: &[(&str, &str)] = &[
        (
            r#""Merhaba dünya: şğüıöç ŞĞÜİÖÇ""#,
            r#""Merhaba d\u00fcnya: \u015f\u011f\u00fc\u0131\u00f6\u00e7 \u015e\u011e\u00dc\u0130\u00d6\u00c7""#,
        ),
        (
            r#""漢字かなカナ한국어""#,
            r#""\u6f22\u5b57\u304b\u306a\u30ab\u30ca\ud55c\uad6d\uc5b4""#,
        ),
        (
            r#""😀 ok 🇹🇷""#,
            r#""\ud83d\ude00 ok \ud83c\uddf9\ud83c\uddf7""#,
        ),
        (r#""\uD83D\uDE00""#, r#""\ud83d\ude00""#),
        (r#""\ud800""#, r#""\ud800""#),
        (r#""\udfff x""#, r#""\udfff x""#),
        (r#""\ud800\ud800\udc00""#, r#""\ud800\ud800\udc00""#),
        (r#""\udc00\ud800""#, r#""\udc00\ud800""#),
        (
            r#""\u0000\u0001\u001f\b\f\n\r\t""#,
            r#""\u0000\u0001\u001f\b\f\n\r\t""#,
        ),
        ("\"\\u007f and \u{7f}\"", r#""\u007f and \u007f""#),
        (r#""\"\\\/ / \u002f \u0022 \u005c""#, r#""\"\\/ / / \" \\""#),
        (
            r#""\u00C9\u00e9\uABCD\uabcd""#,
            r#""\u00c9\u00e9\uabcd\uabcd""#,
        ),
        (
            r#"" !#$%&'()*+,-.:;<=>?@[]^_`{|}~""#,
            r#"" !#$%&'()*+,-.:;<=>?@[]^_`{|}~""#,
        ),
        (
            "\"\u{2028}\u{2029}\u{feff}\u{ffff}\u{80}\u{a0}\"",
            r#""\u2028\u2029\ufeff\uffff\u0080\u00a0""#,
        ),
        (r#""\u0041\u0020\u007e""#, r#""A ~""#),
        (r#""""#, r#""""#),
        (
            r#"["\u00e9","é","e\u0301"]"#,
            r#"["\u00e9", "\u00e9", "e\u0301"]"#,
        ),
    ];

    /// Integers are kept verbatim (arbitrary size); `-0` becomes `0`.
    const INTEGERS: &[(&str, &str)] = &[
        ("0", "0"),
        ("-0", "0"),
        ("[0,-0,1,-1,10,-10]", "[0, 0, 1, -1, 10, -10]"),
        (
            "12345678901234567890123456789012345678901234",
            "12345678901234567890123456789012345678901234",
        ),
        (
            "-1234567890123456789012345678901234567890",
            "-1234567890123456789012345678901234567890",
        ),
        ("9007199254740993", "9007199254740993"),
        (
            "[-9223372036854775809,18446744073709551616]",
            "[-9223372036854775809, 18446744073709551616]",
        ),
    ];

    /// Floats follow `float.__repr__` (including round-half-even ties).
    const FLOATS: &[(&str, &str)] = &[
        ("0.5", "0.5"),
        ("1.0", "1.0"),
        ("100.0", "100.0"),
        ("1e16", "1e+16"),
        ("1e15", "1000000000000000.0"),
        ("123456789012345678.0", "1.2345678901234568e+17"),
        ("1e-5", "1e-05"),
        ("0.0001", "0.0001"),
        ("0.00001234", "1.234e-05"),
        ("-0.0", "-0.0"),
        ("1e400", "Infinity"),
        ("-1e400", "-Infinity"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("3.14159", "3.14159"),
        ("2.5E+3", "2500.0"),
        ("0.1", "0.1"),
        ("1e22", "1e+22"),
        ("1.5e16", "1.5e+16"),
        ("9999999999999998.0", "9999999999999998.0"),
        ("1234567890123456.0", "1234567890123456.0"),
        ("-2.5e-7", "-2.5e-07"),
        ("1E-4", "0.0001"),
        ("0e0", "0.0"),
        ("-0e-0", "-0.0"),
        ("123e-2", "1.23"),
        ("1.0e+0", "1.0"),
        ("-1.5e300", "-1.5e+300"),
        ("4.9e-324", "5e-324"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
        ("805933194865080.25", "805933194865080.2"),
        ("5.9604644775390625e-08", "5.960464477539063e-08"),
        ("0.30000000000000004", "0.30000000000000004"),
        (
            "1.00000000000000011102230246251565404236316680908203125",
            "1.0",
        ),
        (
            "111111111111111111111111111111111111111111111111111111111111.5",
            "1.1111111111111112e+59",
        ),
        ("[1.5,-2.25,1e-7,1e+21]", "[1.5, -2.25, 1e-07, 1e+21]"),
    ];

    /// `true`/`false`/`null` and Python's non-standard `NaN`/`Infinity`.
    const LITERALS: &[(&str, &str)] = &[
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("[NaN,Infinity,-Infinity]", "[NaN, Infinity, -Infinity]"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ("[true ,false, null ]", "[true, false, null]"),
        (
            r#"{"n":NaN,"i":-Infinity}"#,
            r#"{"n": NaN, "i": -Infinity}"#,
        ),
    ];

    /// Inputs `json.loads` rejects with `JSONDecodeError`.
    const SYNTAX_ERRORS: &[&[u8]] = &[
        b"[1,2,]",
        br#"{"a":1,}"#,
        b"{'a':1}",
        b"['a']",
        b"\"a\x0ab\"",
        b"\"a\x09b\"",
        b"\"\x00\"",
        b"{} x",
        b"[1] [2]",
        b"1 2",
        br#"{"a":"#,
        b"[",
        br#""abc"#,
        b"",
        b"  ",
        b"01",
        b"1.",
        b".5",
        b"+1",
        b"1e",
        b"1e+",
        b"-",
        b"nul",
        b"True",
        b"nan",
        b"-NaN",
        b"infinity",
        br#""\x""#,
        br#""\u12G4""#,
        br#""\u12""#,
        br#""\ud83d\u""#,
        br#"{"a" 1}"#,
        br#"{"a":1 "b":2}"#,
        b"{a:1}",
        b"{1:2}",
        b"[1]]",
        b"[1 2]",
        b"[1,,2]",
        b"{,}",
        b"[,]",
        b"\x0c1",
        b"\xc2\xa01",
        b"\xef\xbb\xbf\xef\xbb\xbf[]",
        b" \xef\xbb\xbf[]",
        br#""\U0041""#,
        b"-Infinityx",
    ];

    /// Inputs `json.loads` rejects with `UnicodeDecodeError`.
    const UTF8_ERRORS: &[&[u8]] = &[
        b"\"\xff\"",
        b"\"\xc0\x80\"",
        b"\"\xe2\x82\"",
        b"[\x80]",
        b"\"\xf5\x80\x80\x80\"",
    ];

    #[test]
    fn structure_and_duplicate_keys() {
        check_table(STRUCTURE);
    }

    #[test]
    fn strings() {
        check_table(STRINGS);
    }

    #[test]
    fn integers() {
        check_table(INTEGERS);
    }

    #[test]
    fn floats() {
        check_table(FLOATS);
    }

    /// The floats read straight from their digits (at most 15 significant
    /// digits, see `FloatLiteral::shortest_digits`) come out exactly as parsing
    /// and formatting them does, across the whole exponent range and past both
    /// ends of it, in every JSON spelling.
    #[test]
    fn short_floats_match_parse_and_format() {
        use super::push_float_repr;

        // xorshift64*: deterministic, no dependency.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
        };
        let mut scratch = String::new();
        for _ in 0..200_000 {
            let significant = 1 + next(15);
            let mut digits: String = (0..significant)
                .map(|_| char::from(b'0' + u8::try_from(next(10)).unwrap()))
                .collect();
            digits.push_str(&"0".repeat(usize::try_from(next(3)).unwrap()));
            let point = usize::try_from(next(digits.len() as u64 + 1)).unwrap();
            let (int, frac) = digits.split_at(point);
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let sign = if next(2) == 0 { "" } else { "-" };
            let mantissa = if frac.is_empty() {
                int.to_owned()
            } else {
                format!("{int}.{frac}")
            };
            let exponent = match next(4) {
                0 if !frac.is_empty() => String::new(),
                1 => format!("e{}", next(340)),
                2 => format!("E-{:03}", next(340)),
                _ => format!("e+{}", next(340)),
            };
            let literal = format!("{sign}{mantissa}{exponent}");
            let mut expected = Vec::new();
            push_float_repr(&mut expected, literal.parse().unwrap(), &mut scratch);
            assert_eq!(
                python_dumps(literal.as_bytes()).map(String::from_utf8),
                Ok(String::from_utf8(expected)),
                "literal {literal}"
            );
        }
    }

    /// Every byte value at every offset of a word and its tail: the run of
    /// plain bytes stops exactly at the first byte that needs handling.
    #[test]
    fn plain_runs_stop_at_the_first_special_byte() {
        use super::plain_run;

        for byte in 0..=u8::MAX {
            let plain = (0x20..=0x7e).contains(&byte) && byte != b'"' && byte != b'\\';
            for at in 0..20 {
                let mut text = vec![b'a'; 20];
                text[at] = byte;
                let expected = if plain { 20 } else { at };
                assert_eq!(plain_run(&text), expected, "byte {byte:#x} at {at}");
                // Bytes after the special one never matter.
                text.iter_mut().skip(at + 1).for_each(|b| *b = 0);
                assert_eq!(plain_run(&text[..=at]), expected.min(at + 1));
            }
        }
    }

    #[test]
    fn literals() {
        check_table(LITERALS);
    }

    #[test]
    fn syntax_errors() {
        for &input in SYNTAX_ERRORS {
            let result = python_dumps(input);
            assert!(is_syntax(&result), "input {input:?} gave {result:?}");
        }
    }

    #[test]
    fn utf8_errors() {
        for &input in UTF8_ERRORS {
            assert_eq!(
                python_dumps(input),
                Err(PyJsonError::InvalidUtf8),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn error_offsets() {
        assert_eq!(
            python_dumps(b"{} x"),
            Err(PyJsonError::Syntax { offset: 3 })
        );
        assert_eq!(
            python_dumps(b"[1,2,]"),
            Err(PyJsonError::Syntax { offset: 5 })
        );
        assert_eq!(
            python_dumps(b"\"a\nb\""),
            Err(PyJsonError::Syntax { offset: 2 })
        );
        assert_eq!(python_dumps(b""), Err(PyJsonError::Syntax { offset: 0 }));
    }

    /// Python: `'[' * 512 + ']' * 512` round-trips to itself and
    /// `'{"a":' * 512 + '1' + '}' * 512` to `'{"a": ' * 512 + '1' + '}' * 512`.
    #[test]
    fn depth_at_limit_is_accepted() {
        let arrays = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(
            python_dumps(arrays.as_bytes()),
            Ok(arrays.clone().into_bytes())
        );
        let objects = format!("{}1{}", r#"{"a":"#.repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
        let expected = format!(
            "{}1{}",
            r#"{"a": "#.repeat(MAX_DEPTH),
            "}".repeat(MAX_DEPTH)
        );
        assert_eq!(python_dumps(objects.as_bytes()), Ok(expected.into_bytes()));
    }

    /// Deliberately stricter than Python (whose limit is the ~1000-frame
    /// recursion limit): one level beyond `MAX_DEPTH` is refused, and very
    /// deep or unterminated nesting fails fast without recursion.
    #[test]
    fn depth_over_limit_is_rejected() {
        let arrays = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(python_dumps(arrays.as_bytes()), Err(PyJsonError::TooDeep));
        let empty_innermost = format!("{}{{}}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(
            python_dumps(empty_innermost.as_bytes()),
            Err(PyJsonError::TooDeep)
        );
        assert_eq!(
            python_dumps("[".repeat(100_000).as_bytes()),
            Err(PyJsonError::TooDeep)
        );
        let objects = r#"{"a":"#.repeat(100_000);
        assert_eq!(python_dumps(objects.as_bytes()), Err(PyJsonError::TooDeep));
    }

    /// Python 3.11 refuses integer literals of more than 4300 digits
    /// (`ValueError: Exceeds the limit (4300 digits) ...`); the sign does not
    /// count. Floats have no such limit: `'1' * 5000 + 'e-5000'` gives
    /// `0.1111111111111111`.
    #[test]
    fn long_numbers() {
        let max = "7".repeat(4300);
        assert_eq!(python_dumps(max.as_bytes()), Ok(max.clone().into_bytes()));
        let negative = format!("-{max}");
        assert_eq!(
            python_dumps(negative.as_bytes()),
            Ok(negative.clone().into_bytes())
        );
        assert!(is_syntax(&python_dumps("7".repeat(4301).as_bytes())));
        assert!(is_syntax(&python_dumps(
            format!("-{}", "7".repeat(4301)).as_bytes()
        )));
        let long_float = format!("{}e-5000", "1".repeat(5000));
        assert_eq!(
            python_dumps(long_float.as_bytes()),
            Ok(b"0.1111111111111111".to_vec())
        );
    }

    /// Documented deviations where Python accepts but we fail closed:
    /// UTF-8-encoded surrogates (Python decodes bytes with `surrogatepass`,
    /// giving `"\ud800"`) and NUL-bearing input that Python's encoding
    /// detection would read as UTF-16 (`b"1\x00"` loads as `1`).
    #[test]
    fn deliberate_rejections() {
        assert_eq!(
            python_dumps(b"\"\xed\xa0\x80\""),
            Err(PyJsonError::InvalidUtf8)
        );
        assert!(is_syntax(&python_dumps(b"1\x00")));
    }

    #[test]
    fn error_display() {
        assert_eq!(
            PyJsonError::Syntax { offset: 7 }.to_string(),
            "invalid JSON at byte offset 7"
        );
        assert_eq!(
            PyJsonError::TooDeep.to_string(),
            "JSON nesting exceeds the maximum depth of 512"
        );
        assert_eq!(
            PyJsonError::InvalidUtf8.to_string(),
            "JSON input is not valid UTF-8"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(PyJsonError::TooDeep);
        assert!(boxed.source().is_none());
    }
}
