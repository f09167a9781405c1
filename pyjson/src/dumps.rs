//! `json.dumps(value)` with default arguments: [`Value`] to bytes.

use crate::repr::float_repr;
use crate::value::{PyString, Value};

/// Appends `json.dumps(value)` to `out`: separators `", "` and `": "`, `ensure_ascii` escaping,
/// `float.__repr__` for floats and `NaN` / `Infinity` / `-Infinity` for the others.
/// Recursive: a value from [`crate::loads`] nests at most [`crate::MAX_DEPTH`] deep.
pub(crate) fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(digits) => out.extend_from_slice(digits.as_bytes()),
        Value::Float(number) => write_float(*number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.extend_from_slice(b", ");
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (index, (key, item)) in members.iter().enumerate() {
                if index > 0 {
                    out.extend_from_slice(b", ");
                }
                write_string(key, out);
                out.extend_from_slice(b": ");
                write(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_float(number: f64, out: &mut Vec<u8>) {
    if number.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if number.is_infinite() {
        out.extend_from_slice(if number > 0.0 {
            b"Infinity"
        } else {
            b"-Infinity"
        });
    } else {
        out.extend_from_slice(float_repr(number).as_bytes());
    }
}

/// A string with `ensure_ascii=True`: printable ASCII as itself except `"` and `\`, the short
/// escapes `\" \\ \n \r \t \b \f`, and every other code unit as `\uxxxx` (lower-case hex; a
/// character above U+FFFF is its surrogate pair, as Python writes it).
fn write_string(text: &PyString, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &unit in &text.0 {
        let short = match unit {
            0x22 => b'"',
            0x5c => b'\\',
            0x0a => b'n',
            0x0d => b'r',
            0x09 => b't',
            0x08 => b'b',
            0x0c => b'f',
            0x20..=0x7e => {
                out.extend(u8::try_from(unit).ok());
                continue;
            }
            _ => {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[usize::from((unit >> shift) & 0xf)]);
                }
                continue;
            }
        };
        out.extend_from_slice(&[b'\\', short]);
    }
    out.push(b'"');
}
