//! `CPython` as the reference: `json.dumps(json.loads(doc))` for many documents in ONE `python3`
//! process (base64 lines on stdin and stdout). Without `python3` the tests using it fail.

use std::io::Write as _;
use std::process::{Command, Stdio};

use base64::Engine as _;

/// Answers `+<base64 of json.dumps(json.loads(doc))>` or `!<exception type>` for each base64 line.
const PYTHON: &str = r#"
import base64, json, sys
for line in sys.stdin:
    try:
        out = json.dumps(json.loads(base64.b64decode(line))).encode("ascii")
        print("+" + base64.b64encode(out).decode("ascii"))
    except Exception as e:
        print("!" + type(e).__name__)
"#;

/// Python's answer for every document, in order: `Ok(bytes)`, or `Err(exception type)`.
pub(crate) fn cpython_dumps(docs: &[Vec<u8>]) -> Vec<Result<Vec<u8>, String>> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 must be installed: the tests compare against Python's own json.dumps");
    let mut input = String::new();
    for doc in docs {
        input.push_str(&engine.encode(doc));
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "python3 failed: {output:?}");
    let answers: Vec<_> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| match line.split_at(1) {
            ("+", encoded) => Ok(engine.decode(encoded).unwrap()),
            (_, error) => Err(error.to_owned()),
        })
        .collect();
    assert_eq!(answers.len(), docs.len(), "one answer per document");
    answers
}
