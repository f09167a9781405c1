//! Property test of the Python `json.dumps` re-serialiser against Python itself: for generated
//! JSON documents (nested containers, repeated keys, astral characters, lone surrogates and
//! every escape, integers of any size, floats in every spelling, `NaN`/`Infinity`, odd
//! whitespace), `python_dumps(doc)` must be byte-for-byte `json.dumps(json.loads(doc))`.
//!
//! All 1024 cases go through ONE `python3` process (base64 lines on stdin and stdout). There
//! is no skip: without `python3` the test fails. A failing case is shrunk (one Python run per
//! step) and reported with the seed; `PROPTEST_RNG_SEED=<seed>` replays the run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cpython_dumps as python;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use pyjson::python_dumps;

const CASES: usize = 1024;
const MAX_SHRINK_STEPS: usize = 200;

/// Whether our serialiser agrees with Python's answer: the same bytes, or both refuse.
fn agrees(doc: &[u8], python: &Result<Vec<u8>, String>) -> bool {
    match (python_dumps(doc), python) {
        (Ok(ours), Ok(theirs)) => &ours == theirs,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

fn ws() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => Just(String::new()),
        1 => "[ \t\n\r]{1,3}",
    ]
}

fn integer() -> BoxedStrategy<String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
        // Far beyond 64 bits (Python ints are unbounded up to 4300 digits).
        "-?[1-9][0-9]{18,80}",
    ]
    .boxed()
}

fn float() -> BoxedStrategy<String> {
    prop_oneof![
        // Rust's shortest round-trip spelling of any finite double.
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:?}")),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
        // Every JSON spelling: fraction and/or exponent, any case and sign, overflow to
        // infinity, underflow to zero, more digits than a double holds.
        "-?(0|[1-9][0-9]{0,24})\\.[0-9]{1,24}([eE][+-]?[0-9]{1,3})?",
        "-?(0|[1-9][0-9]{0,24})[eE][+-]?[0-9]{1,3}",
        // At most 15 significant digits, which are read without parsing the value.
        "-?(0|[1-9][0-9]{0,7})\\.[0-9]{1,7}([eE][+-]?[0-9]{1,3})?",
        "-?[1-9][0-9]{0,14}[eE][+-]?(30[0-9]|[0-9]{1,2})",
        prop::sample::select(vec![
            "1e400",
            "-1e400",
            "1e-400",
            "5e-324",
            "2.2250738585072014e-308",
            "1.7976931348623157e308",
            "0.1",
            "100.0",
            "1e16",
            "1e-05",
            "-0.0",
            "0e0",
            "123456789012345678.0",
            "9007199254740993.0",
        ])
        .prop_map(str::to_owned),
    ]
    .boxed()
}

/// One string element: a plain character (any plane) or an escape, including lone surrogates.
fn string_piece() -> BoxedStrategy<String> {
    prop_oneof![
        6 => any::<char>()
            .prop_filter("needs escaping", |c| *c != '"' && *c != '\\' && *c >= ' ')
            .prop_map(String::from),
        2 => "[ -~&&[^\"\\\\]]{1,6}",
        1 => prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
            .prop_map(str::to_owned),
        // Any code unit: controls, BMP, and lone high or low surrogates; upper or lower hex.
        2 => (any::<u16>(), any::<bool>()).prop_map(|(unit, upper)| if upper {
            format!("\\u{unit:04X}")
        } else {
            format!("\\u{unit:04x}")
        }),
        1 => (0xD800_u16..0xDC00, 0xDC00_u16..0xE000)
            .prop_map(|(high, low)| format!("\\u{high:04x}\\u{low:04X}")),
        1 => (0xDC00_u16..0xE000, 0xD800_u16..0xDC00)
            .prop_map(|(low, high)| format!("\\u{low:04x}\\u{high:04x}")),
    ]
    .boxed()
}

fn string() -> BoxedStrategy<String> {
    proptest::collection::vec(string_piece(), 0..8)
        .prop_map(|pieces| format!("\"{}\"", pieces.concat()))
        .boxed()
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        1 => prop::sample::select(vec!["null", "true", "false", "NaN", "Infinity", "-Infinity"])
            .prop_map(str::to_owned),
        3 => integer(),
        3 => float(),
        4 => string(),
    ]
    .boxed()
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    let value = scalar().prop_recursive(6, 96, 6, |inner| {
        let element = (ws(), inner.clone(), ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}"));
        // Keys from a small set too, so repeated keys (dict semantics) are common.
        let key = prop_oneof![
            3 => string(),
            1 => prop::sample::select(vec!["\"a\"", "\"b\"", "\"\\u0061\"", "\"\\ud800\""])
                .prop_map(str::to_owned),
        ];
        let member = (ws(), key, ws(), ws(), inner, ws())
            .prop_map(|(a, k, b, c, v, d)| format!("{a}{k}{b}:{c}{v}{d}"));
        prop_oneof![
            (proptest::collection::vec(element, 0..6), ws())
                .prop_map(|(items, pad)| format!("[{pad}{}]", items.join(","))),
            (proptest::collection::vec(member, 0..6), ws())
                .prop_map(|(members, pad)| format!("{{{pad}{}}}", members.join(","))),
        ]
    });
    (ws(), value, ws()).prop_map(|(a, v, b)| format!("{a}{v}{b}").into_bytes())
}

// ---------------------------------------------------------------------------------------------

fn seed() -> u64 {
    std::env::var("PROPTEST_RNG_SEED").map_or_else(
        |_| {
            use std::hash::{BuildHasher as _, RandomState};
            RandomState::new().hash_one(std::time::SystemTime::now())
        },
        |text| text.parse().expect("PROPTEST_RNG_SEED is a u64"),
    )
}

#[test]
fn python_dumps_matches_python_on_generated_documents() {
    let seed = seed();
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    });
    let strategy = document();
    let mut trees: Vec<_> = (0..CASES)
        .map(|_| strategy.new_tree(&mut runner).unwrap())
        .collect();
    let docs: Vec<Vec<u8>> = trees.iter().map(ValueTree::current).collect();
    let answers = python(&docs);

    let refused = answers.iter().filter(|answer| answer.is_err()).count();
    assert!(
        refused * 10 < CASES,
        "Python refused {refused} of {CASES} documents: the generator is off"
    );
    let Some(failing) = (0..CASES).find(|&i| !agrees(&docs[i], &answers[i])) else {
        return;
    };

    // Shrink the first failure, asking Python at each step.
    let tree = &mut trees[failing];
    let mut minimal = docs[failing].clone();
    let mut steps = 0;
    let mut more = tree.simplify();
    while more && steps < MAX_SHRINK_STEPS {
        steps += 1;
        let candidate = tree.current();
        more = if agrees(&candidate, &python(std::slice::from_ref(&candidate))[0]) {
            tree.complicate()
        } else {
            minimal = candidate;
            tree.simplify()
        };
    }
    let theirs = python(&[minimal.clone()]).remove(0);
    panic!(
        "python_dumps differs from Python (seed {seed}: PROPTEST_RNG_SEED={seed} replays it)\n\
         document: {:?}\nours:     {:?}\npython:   {:?}",
        String::from_utf8_lossy(&minimal),
        python_dumps(&minimal).map(|out| String::from_utf8_lossy(&out).into_owned()),
        theirs.map(|out| String::from_utf8_lossy(&out).into_owned()),
    );
}
