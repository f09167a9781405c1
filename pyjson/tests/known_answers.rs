//! Known-answer tests of `python_dumps`. Every expected output below was produced by
//! `CPython` 3.11.7 running `json.dumps(json.loads(body))` on the UTF-8 bytes of the input, and
//! every error input was confirmed to make `json.loads` raise.

#![allow(clippy::unwrap_used)]

use pyjson::{MAX_DEPTH, PyJsonError, python_dumps};

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
