//! The bad-input corpus (`tests/fixtures/corpus/`) through the real pipeline: every case is
//! refused with exactly its status and reason, and nothing is stored.

use alocity_selfie::AlocitySelfie;
use webhook_core::testing::run_corpus;

#[test]
fn refuses_every_corpus_case() {
    run_corpus("alocity-selfie", |mode| {
        AlocitySelfie::new(mode.tolerance_secs.unwrap())
    });
}
