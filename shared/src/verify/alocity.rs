//! Alocity's `Alocity-Signature` scheme, shared by Alocity Selfie and Alocity access control.
//!
//! The header carries `t:<unix seconds>` and one or more `sig:<base64>` parts; the signature is
//! base64(HMAC-SHA256(secret, "<t>.<raw body>")). The separators are not documented, so the
//! parser is tolerant (see `providers.md`): parts are split on `,`, `;` or white space, and each
//! part on its first `:` or `=`.

use hmac::Mac as _;
use http::{HeaderMap, HeaderName};

use super::{DecodedSignature, Verified, VerifyError, decode_signature, joined_header, usable};
use crate::secret::{HmacSha256, VersionedSecret};

/// The header name (lower case, as API Gateway delivers it).
pub const HEADER: &str = "alocity-signature";

/// [`HEADER`], parsed at compile time.
const HEADER_NAME: HeaderName = HeaderName::from_static(HEADER);

/// Default replay tolerance in seconds, both directions.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

const MALFORMED: VerifyError = VerifyError::MalformedHeader(HEADER);

/// The parts of an `Alocity-Signature` header that matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader<'a> {
    /// The timestamp exactly as sent: it is part of the signed input.
    pub timestamp_text: &'a str,
    /// The timestamp as unix seconds.
    pub timestamp: i64,
    /// Every `sig` value, in order.
    pub signatures: Vec<&'a str>,
}

/// Parses a header value: parts split on `,`, `;` or ASCII white space, each part at its first
/// `:` or `=` (a part with neither is ignored), keys in any case; unknown keys are ignored.
///
/// # Errors
/// [`VerifyError::MalformedHeader`] when there is no `t`, more than one `t`, a `t` that is not
/// unix seconds, or no `sig`.
pub fn parse_header(value: &str) -> Result<SignatureHeader<'_>, VerifyError> {
    let mut timestamp_text = None;
    let mut signatures = Vec::new();
    let parts = value.split(|c: char| c == ',' || c == ';' || c.is_ascii_whitespace());
    for (key, val) in parts.filter_map(|part| part.split_once([':', '='])) {
        if key.eq_ignore_ascii_case("t") {
            if timestamp_text.replace(val).is_some() {
                return Err(MALFORMED);
            }
        } else if key.eq_ignore_ascii_case("sig") {
            signatures.push(val);
        }
    }
    let timestamp_text = timestamp_text.ok_or(MALFORMED)?;
    if timestamp_text.is_empty() || !timestamp_text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MALFORMED);
    }
    let timestamp = timestamp_text.parse::<i64>().map_err(|_| MALFORMED)?;
    if signatures.is_empty() {
        return Err(MALFORMED);
    }
    Ok(SignatureHeader {
        timestamp_text,
        timestamp,
        signatures,
    })
}

/// The Alocity signature scheme with its replay tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlocitySignature {
    /// Largest accepted `|now - t|`, in seconds.
    pub tolerance_secs: u64,
}

impl Default for AlocitySignature {
    fn default() -> Self {
        Self {
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }
}

impl AlocitySignature {
    /// Verifies `body` against the `Alocity-Signature` header at time `now` (unix seconds).
    ///
    /// # Errors
    /// Missing or malformed header, a timestamp outside the tolerance, or no signature that
    /// matches any candidate secret.
    pub fn verify(
        &self,
        secrets: &[VersionedSecret],
        body: &[u8],
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Verified, VerifyError> {
        let value = joined_header(headers, HEADER_NAME, HEADER)?
            .ok_or(VerifyError::MissingHeader(HEADER))?;
        let header = parse_header(&value)?;
        self.check_timestamp(header.timestamp, now)?;

        let signatures: Vec<DecodedSignature> = header
            .signatures
            .iter()
            .copied()
            .filter_map(decode_signature)
            .collect();
        if signatures.is_empty() {
            return Err(MALFORMED);
        }
        for candidate in usable(secrets) {
            let mac = signed_input_mac(candidate, header.timestamp_text, body);
            if signatures.iter().any(|signature| signature.is(mac.clone())) {
                return Ok(Verified::body(candidate.version));
            }
        }
        Err(VerifyError::SignatureMismatch)
    }

    fn check_timestamp(self, timestamp: i64, now: i64) -> Result<(), VerifyError> {
        let skew = i128::from(now) - i128::from(timestamp);
        let tolerance = i128::from(self.tolerance_secs);
        if skew > tolerance {
            Err(VerifyError::StaleTimestamp)
        } else if -skew > tolerance {
            Err(VerifyError::FutureTimestamp)
        } else {
            Ok(())
        }
    }
}

/// Whether the `Alocity-Signature` header carries a MAC of the right size (its timestamp was
/// checked before any miss): worth a refresh of the secrets after a miss.
pub fn has_full_size_mac(headers: &HeaderMap) -> bool {
    joined_header(headers, HEADER_NAME, HEADER)
        .ok()
        .flatten()
        .and_then(|value| {
            parse_header(&value)
                .ok()
                .map(|header| header.signatures.iter().any(|s| super::mac_shaped(s)))
        })
        .unwrap_or(false)
}

/// The keyed MAC over `"<t>.<body>"`, ready to compare against any number of signatures.
fn signed_input_mac(candidate: &VersionedSecret, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = candidate.secret.mac();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Builds a header value for `body` at time `t`: what Alocity sends. Used by the CLI sender and
/// by tests that need a freshly signed request (known-answer vectors come from Python).
pub fn sign(secret: &crate::secret::Secret, t: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let candidate = VersionedSecret {
        version: crate::secret::SecretVersion::Current,
        secret: secret.clone(),
    };
    let timestamp = t.to_string();
    let tag = signed_input_mac(&candidate, &timestamp, body)
        .finalize()
        .into_bytes();
    format!(
        "t:{timestamp},sig:{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_form_and_tolerant_variants() {
        for value in [
            "t:1700000000,sig:abc=",
            "t=1700000000;sig=abc=",
            "t:1700000000 sig:abc=",
            " t:1700000000 ,  sig:abc= ",
            "sig:abc=,t:1700000000",
            "T:1700000000,SIG:abc=,v:ignored",
        ] {
            let header = parse_header(value).unwrap();
            assert_eq!(header.timestamp, 1_700_000_000, "{value}");
            assert_eq!(header.timestamp_text, "1700000000", "{value}");
            assert_eq!(header.signatures, vec!["abc="], "{value}");
        }
    }

    #[test]
    fn splits_each_part_at_the_first_separator_only() {
        let header = parse_header("t:1,sig:ab==,sig=cd:=").unwrap();
        assert_eq!(header.signatures, vec!["ab==", "cd:="]);
    }

    #[test]
    fn rejects_headers_without_a_usable_timestamp_or_signature() {
        let malformed = Err(VerifyError::MalformedHeader(HEADER));
        for value in [
            "",
            "sig:abc=",
            "t:1700000000",
            "t:,sig:abc=",
            "t:-5,sig:abc=",
            "t:17e8,sig:abc=",
            "t:1,t:2,sig:abc=",
            "t:99999999999999999999999,sig:abc=",
            "garbage",
        ] {
            assert_eq!(parse_header(value), malformed, "{value:?}");
        }
    }

    #[test]
    fn every_signature_is_tried_against_every_candidate() {
        use crate::secret::{Secret, SecretVersion};
        let body = br#"{"Id":"e1"}"#;
        let secrets = [
            VersionedSecret::current("new-secret"),
            VersionedSecret::previous("old-secret"),
        ];
        let signed = sign(&Secret::new("old-secret"), 1000, body);
        let good = signed.split_once("sig:").map(|(_, sig)| sig).unwrap();
        let verify = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, value.parse().unwrap());
            AlocitySignature::default().verify(&secrets, body, &headers, 1000)
        };
        // Given unreadable and short signatures before the good one,
        // when verified, then the good one still matches, with the previous secret.
        let value = format!("t:1000,sig:%%%,sig:AAAA,sig:{good},sig:BBBB");
        assert_eq!(
            verify(&value).map(|verified| verified.version),
            Ok(SecretVersion::Previous)
        );
        // Base64 of the wrong length is a mismatch; no readable signature at all is malformed.
        assert_eq!(
            verify("t:1000,sig:AAAA,sig:%%%"),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(verify("t:1000,sig:%%%,sig:!"), Err(MALFORMED));
    }

    #[test]
    fn timestamp_tolerance_is_inclusive_in_both_directions() {
        let scheme = AlocitySignature {
            tolerance_secs: 300,
        };
        assert_eq!(scheme.check_timestamp(1000, 1300), Ok(()));
        assert_eq!(scheme.check_timestamp(1300, 1000), Ok(()));
        assert_eq!(
            scheme.check_timestamp(1000, 1301),
            Err(VerifyError::StaleTimestamp)
        );
        assert_eq!(
            scheme.check_timestamp(1301, 1000),
            Err(VerifyError::FutureTimestamp)
        );
        assert_eq!(
            scheme.check_timestamp(i64::MAX, i64::MIN),
            Err(VerifyError::FutureTimestamp)
        );
    }
}
