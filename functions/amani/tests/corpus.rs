//! The bad-input corpus (`tests/fixtures/corpus/`) through the real pipeline, both Amani modes:
//! every case is refused with exactly its status and reason, and nothing is stored.

use amani::{Amani, AmaniAuth};
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
        let header = mode.token_header.clone().unwrap().to_ascii_lowercase();
        Amani {
            auth: AmaniAuth::Token {
                header: Box::leak(header.into_boxed_str()),
            },
        }
    });
}
