//! Property tests of the authentication schemes: the `Alocity-Signature` parser never panics
//! and reads back every well-formed header it is given, and no scheme ever accepts random
//! signatures, random headers, random tokens or a signature made with another secret.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::sample::Index;
use webhook_core::testing::strategies::{
    b64, body, config, header_bytes, headers, ours, secret, two_secrets,
};
use webhook_core::verify::alocity::{self, AlocitySignature, parse_header};
use webhook_core::{Secret, VerifyError};

const NOW: i64 = 1_764_000_000;

/// Text shaped like an `Alocity-Signature` value, to reach deep into the parser.
fn header_like() -> impl Strategy<Value = String> {
    "[tTsSiIgGvV:=,; \t0-9A-Za-z+/\\-.]{0,80}"
}

// ---------------------------------------------------------------------------------------------
// (a) The Alocity header parser
// ---------------------------------------------------------------------------------------------

/// A well-formed header and what parsing it must give.
#[derive(Debug, Clone)]
struct WellFormed {
    text: String,
    timestamp_text: String,
    timestamp: i64,
    signatures: Vec<String>,
}

/// `key` with each ASCII letter's case chosen by `upper`.
fn with_case(key: &str, upper: &[bool]) -> String {
    key.chars()
        .zip(upper.iter().cycle())
        .map(|(c, &up)| {
            if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn well_formed() -> impl Strategy<Value = WellFormed> {
    let separator = prop::sample::select(vec![",", ";", " ", "\t", ", ", " ; ", ",,", " ,\t"]);
    let key_value = prop::sample::select(vec![":", "="]);
    (
        0..=i64::MAX,
        0_usize..3,
        proptest::collection::vec("[A-Za-z0-9+/]{0,44}={0,2}", 1..5),
        proptest::collection::vec(
            ("[a-z][a-z0-9]{0,5}", "[A-Za-z0-9+/=]{0,10}", any::<bool>())
                .prop_filter("not a key the parser reads", |(key, _, _)| {
                    key != "t" && key != "sig"
                }),
            0..3,
        ),
        proptest::collection::vec((separator, key_value, any::<Index>()), 8),
        proptest::collection::vec(any::<bool>(), 3),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(timestamp, zeros, signatures, extras, layout, upper, (lead, trail))| {
                let timestamp_text = format!("{}{timestamp}", "0".repeat(zeros));
                let mut parts: Vec<String> = signatures
                    .iter()
                    .enumerate()
                    .map(|(i, sig)| {
                        format!("{}{}{sig}", with_case("sig", &upper[i % 3..]), layout[i].1)
                    })
                    .collect();
                // Extra parts anywhere (sig order is kept), with or without a value.
                for (i, (key, value, bare)) in extras.iter().enumerate() {
                    let at = layout[i + 4].2.index(parts.len() + 1);
                    let part = if *bare {
                        key.clone()
                    } else {
                        format!("{key}{}{value}", layout[i + 4].1)
                    };
                    parts.insert(at, part);
                }
                let at = layout[7].2.index(parts.len() + 1);
                parts.insert(
                    at,
                    format!("{}{}{timestamp_text}", with_case("t", &upper), layout[7].1),
                );
                let mut text = String::new();
                if lead {
                    text.push_str(layout[0].0);
                }
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        text.push_str(layout[i % layout.len()].0);
                    }
                    text.push_str(part);
                }
                if trail {
                    text.push_str(layout[1].0);
                }
                WellFormed {
                    text,
                    timestamp_text,
                    timestamp,
                    signatures,
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn alocity_parser_never_panics(value in any::<String>()) {
        let _ = parse_header(&value);
    }

    #[test]
    fn alocity_parser_never_panics_on_header_like_text(value in header_like()) {
        if let Ok(header) = parse_header(&value) {
            prop_assert!(!header.signatures.is_empty());
            prop_assert!(header.timestamp_text.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn alocity_parser_reads_back_well_formed_headers(header in well_formed()) {
        let parsed = parse_header(&header.text).unwrap();
        prop_assert_eq!(parsed.timestamp, header.timestamp, "{:?}", header.text);
        prop_assert_eq!(parsed.timestamp_text, header.timestamp_text.as_str());
        prop_assert_eq!(parsed.signatures, header.signatures.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------------------------------------
// (c) Nothing random verifies, nothing panics
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn alocity_refuses_another_secrets_signature((secret, forger) in two_secrets(), body in body()) {
        let value = alocity::sign(&Secret::new(forger), NOW, &body);
        let result = AlocitySignature::default().verify(
            &ours(&secret), &body, &headers(alocity::HEADER, value.as_bytes()), NOW);
        prop_assert_eq!(result, Err(VerifyError::SignatureMismatch));
    }

    #[test]
    fn alocity_refuses_random_signature_bytes(
        secret in secret(),
        body in body(),
        sigs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..4),
        skew in -300_i64..=300,
    ) {
        let value = std::iter::once(format!("t:{}", NOW + skew))
            .chain(sigs.iter().map(|sig| format!("sig:{}", b64(sig))))
            .collect::<Vec<_>>()
            .join(",");
        let result = AlocitySignature::default().verify(
            &ours(&secret), &body, &headers(alocity::HEADER, value.as_bytes()), NOW);
        prop_assert_eq!(result, Err(VerifyError::SignatureMismatch));
    }

    #[test]
    fn alocity_refuses_random_headers(
        secret in secret(),
        body in body(),
        value in prop_oneof![
            header_bytes(200),
            header_like().prop_map(String::into_bytes),
        ],
    ) {
        let result = AlocitySignature::default().verify(
            &ours(&secret), &body, &headers(alocity::HEADER, &value), NOW);
        prop_assert!(result.is_err());
    }
}
