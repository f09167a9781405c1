//! The bad-input corpus (`tests/fixtures/corpus/`) through the real pipeline: every case is
//! refused with exactly its status and reason, and nothing is stored.

use faceio::Faceio;
use webhook_core::testing::run_corpus;

#[test]
fn refuses_every_corpus_case() {
    run_corpus("faceio", |mode| Faceio {
        app_id: mode.app_id.clone().unwrap(),
    });
}
