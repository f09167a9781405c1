//! The bad-input corpus (`tests/fixtures/corpus/`) through the real pipeline, both Amani modes:
//! every case is refused with exactly its status and reason, and nothing is stored.

use amani::{Amani, AmaniAuth};
use webhook_core::config::Env;
use webhook_core::testing::run_corpus;

#[test]
fn signature_mode_refuses_every_corpus_case() {
    run_corpus("amani-signature", |_| Amani {
        auth: AmaniAuth::Signature,
    });
}

#[test]
fn token_mode_refuses_every_corpus_case() {
    run_corpus("amani-token", |mode| {
        let header = mode.token_header.as_deref().unwrap();
        Amani::from_env(&Env::from_pairs([
            ("AMANI_AUTH_MODE", "token"),
            ("AMANI_TOKEN_HEADER", header),
        ]))
        .unwrap()
    });
}
