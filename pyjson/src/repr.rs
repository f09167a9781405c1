//! Python's `float.__repr__`: the shortest decimal that reads back as the same double, laid out
//! the way Python does (`1e-05`, `0.0001`, `1e+16`, `1000000000000000.0`, `inf`).

/// `repr(value)` as Python 3 writes it.
///
/// The digits are the fewest that read back as `value`, the closest such to it, and on an exact
/// tie the even one (David Gay's algorithm, which `CPython` uses). Rust's `{:e}` gives the fewest
/// and closest but breaks a tie upwards; Rust's exact formatting to a given number of digits
/// rounds half to even, so where the two differ and the exactly rounded digits also read back,
/// those are Python's.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    let (digits, exp) = shortest_digits(value.abs());
    format!("{sign}{}", layout(&digits, exp))
}

/// The significant digits of `value` (finite, not negative) and the decimal exponent of the
/// first one: `value ≈ d.ddd × 10^exp`.
fn shortest_digits(value: f64) -> (String, i32) {
    let shortest = scientific(&format!("{value:e}"));
    let count = shortest.0.len();
    if count < 2 {
        return shortest;
    }
    // The same number of digits, rounded exactly (half to even).
    let rounded = scientific(&format!("{value:.*e}", count - 1));
    if rounded != shortest && reads_back(&rounded, value) {
        rounded
    } else {
        shortest
    }
}

/// Splits Rust's `d.ddde<exp>` into its digits (trailing zeros dropped, at least one digit) and
/// its exponent.
fn scientific(text: &str) -> (String, i32) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp.parse().unwrap_or(0))
}

fn reads_back((digits, exp): &(String, i32), value: f64) -> bool {
    format!("0.{digits}e{}", exp + 1).parse::<f64>() == Ok(value)
}

/// `float.__repr__`'s layout of `d.ddd × 10^exp`: positional with at least one digit after the
/// point from `1e-4` up to `1e16` (exclusive), otherwise `d.ddde±XX` (at least two exponent
/// digits).
fn layout(digits: &str, exp: i32) -> String {
    let (lead, tail) = digits.split_at(1);
    if !(-4..16).contains(&exp) {
        let point = if tail.is_empty() { "" } else { "." };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{lead}{point}{tail}e{sign}{:02}", exp.unsigned_abs())
    } else if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        format!("0.{zeros}{digits}")
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
        } else {
            let (int, frac) = digits.split_at(int_len);
            format!("{int}.{frac}")
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every expected text below is `repr(float(literal))` from `CPython` 3.11.7.

    use super::float_repr;

    /// What `json.dumps` never shows (it writes `Infinity` and `NaN` itself), and the two ways
    /// a shortest form can be ambiguous; every other float is in `tests/known_answers.rs`,
    /// through `python_dumps`.
    const REPRS: &[(&str, &str)] = &[
        ("0.0", "0.0"),
        // Exact ties between two shortest candidates: Python takes the even one.
        ("805933194865080.25", "805933194865080.2"),
        // 2^-24: of the two 16-digit neighbours only the upper one reads back.
        ("5.9604644775390625e-08", "5.960464477539063e-08"),
        ("1e400", "inf"),
        ("-1e400", "-inf"),
        ("nan", "nan"),
    ];

    #[test]
    fn matches_python_repr() {
        for &(literal, expected) in REPRS {
            let value: f64 = literal.parse().unwrap();
            assert_eq!(float_repr(value), expected, "{literal}");
        }
    }
}
