//! Differential test against `CPython` over public JSON corpora nobody on this project wrote:
//! every file under `../shared/testdata/json-corpora/` (beside the repository; read in place)
//! goes through `json.dumps(json.loads(raw))` in ONE `python3` process (`common`), and `python_dumps` must
//! give the same bytes where Python succeeds and an error where Python raises. The only
//! exceptions are the documented fail-closed differences, listed by file name in
//! [`FAIL_CLOSED`]; the test also fails when one of them stops being a difference.
//!
//! No skip: without the corpora or `python3` the test fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use pyjson::{PyJsonError, python_dumps};

/// Files Python accepts and we refuse on purpose (see the crate docs), with the reason and the
/// error we give.
const FAIL_CLOSED: &[(&str, &str, PyJsonError)] = &[
    (
        "JSONTestSuite/test_parsing/i_string_UTF-16LE_with_BOM.json",
        UTF16,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_parsing/i_string_utf16BE_no_BOM.json",
        UTF16,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_parsing/i_string_utf16LE_no_BOM.json",
        UTF16,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_parsing/i_string_UTF8_surrogate_U+D800.json",
        SURROGATE,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_transform/string_1_invalid_codepoint.json",
        SURROGATE,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_transform/string_2_invalid_codepoints.json",
        SURROGATE,
        PyJsonError::InvalidUtf8,
    ),
    (
        "JSONTestSuite/test_transform/string_3_invalid_codepoints.json",
        SURROGATE,
        PyJsonError::InvalidUtf8,
    ),
];

const UTF16: &str = "UTF-16 (with a byte-order mark, or told by its NUL bytes): Python detects \
     the encoding, we read UTF-8 only";
const SURROGATE: &str = "UTF-8-encoded surrogates (ED A0 80): Python decodes with surrogatepass, we refuse invalid UTF-8";

fn corpora() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the pyjson crate is inside the repository");
    repo.join("../shared/testdata/json-corpora")
}

/// Every corpus file, sorted; the folder's own `README.md` and `SOURCES.tsv` are not corpus.
fn corpus_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, &mut files);
        }
    }
    files.sort();
    files
}

#[test]
fn python_dumps_matches_cpython_on_the_public_corpora() {
    let root = corpora();
    assert!(
        root.is_dir(),
        "the public JSON corpora must be at {} (shared/testdata/json-corpora beside the \
         repository); this test does not skip",
        root.display()
    );
    let files = corpus_files(&root);
    assert!(
        files.len() > 500,
        "only {} corpus files under {}",
        files.len(),
        root.display()
    );
    let raws: Vec<Vec<u8>> = files
        .iter()
        .map(|file| std::fs::read(file).unwrap())
        .collect();
    let answers = common::cpython_dumps(&raws);

    let mut failures = Vec::new();
    let mut fail_closed_seen = Vec::new();
    let (mut same_bytes, mut both_refuse) = (0, 0);
    for ((file, raw), theirs) in files.iter().zip(&raws).zip(&answers) {
        let name = file.strip_prefix(&root).unwrap().to_str().unwrap();
        let ours = python_dumps(raw);
        let listed = FAIL_CLOSED.iter().find(|(listed, _, _)| *listed == name);
        match (&ours, theirs, listed) {
            (Ok(ours), Ok(theirs), None) if ours == theirs => same_bytes += 1,
            (Err(_), Err(_), None) => both_refuse += 1,
            (Err(error), Ok(_), Some((_, _, expected))) if error == expected => {
                fail_closed_seen.push(name.to_owned());
            }
            _ => failures.push(format!(
                "{name}: ours {:?}, python {:?}",
                ours.as_ref().map(|out| String::from_utf8_lossy(out)
                    .chars()
                    .take(120)
                    .collect::<String>()),
                theirs.as_ref().map(|out| String::from_utf8_lossy(out)
                    .chars()
                    .take(120)
                    .collect::<String>()),
            )),
        }
    }
    eprintln!(
        "compared {} corpus files with CPython: {same_bytes} identical outputs, {both_refuse} \
         refused by both, {} documented fail-closed differences",
        files.len(),
        fail_closed_seen.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files differ from CPython:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert_eq!(
        fail_closed_seen.len(),
        FAIL_CLOSED.len(),
        "every listed fail-closed difference is in the corpora and still a difference"
    );
    assert!(
        same_bytes > 250,
        "only {same_bytes} files were accepted by both"
    );
}
