//! `dumped_form`: `python_dumps`, except for the inputs no `json.dumps` output can be re-spelled
//! as without losing information.

use pyjson::{PyJsonError, dumped_form, python_dumps};

#[test]
fn re_spellings_give_the_same_dumped_form() {
    let dumped = br#"{"name": "A\u00e9", "score": 100.0, "tags": [1, 2]}"#;
    for spelling in [
        &dumped[..],
        br#"{"name":"A\u00e9","score":100.0,"tags":[1,2]}"#,
        b"{ \"name\" :\t\"\\u0041\\u00e9\" ,\n\"score\": 1E2, \"tags\": [ 1 ,2 ] }",
        "{\"name\": \"A\u{e9}\", \"score\": 1e2, \"tags\": [1, 2]}".as_bytes(),
    ] {
        assert_eq!(
            dumped_form(spelling).as_deref(),
            Ok(&dumped[..]),
            "{}",
            String::from_utf8_lossy(spelling)
        );
        assert_eq!(dumped_form(spelling), python_dumps(spelling));
    }
}

#[test]
fn a_repeated_key_at_any_depth_is_refused() {
    for body in [
        &br#"{"a": 1, "a": 2}"#[..],
        br#"{"a": 1, "b": {"c": 1, "d": 2, "c": 3}}"#,
        br#"[{"x": 1}, {"y": 1, "y": 1}]"#,
        // Equal after unescaping.
        br#"{"A": 1, "\u0041": 2}"#,
    ] {
        assert!(
            matches!(dumped_form(body), Err(PyJsonError::RepeatedKey { .. })),
            "{}",
            String::from_utf8_lossy(body)
        );
        // Python itself accepts it (the last value wins).
        assert!(python_dumps(body).is_ok());
    }
    // The same key in sibling objects is not a repeat.
    assert!(dumped_form(br#"[{"a": 1}, {"a": 2}]"#).is_ok());
}

#[test]
fn a_byte_order_mark_is_refused() {
    let body = b"\xef\xbb\xbf{\"a\": 1}";
    assert_eq!(dumped_form(body), Err(PyJsonError::ByteOrderMark));
    assert_eq!(python_dumps(body).as_deref(), Ok(&b"{\"a\": 1}"[..]));
}
