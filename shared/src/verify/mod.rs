//! The building blocks of the authentication schemes (header reading, base64 signatures, MACs
//! compared with `verify_slice`, tokens compared in constant time) and the Alocity scheme two
//! provider crates share; every other scheme lives in its provider's crate. Each scheme is a pure
//! function of the candidate secrets, the raw body, the request headers and (where a timestamp is
//! signed) the clock: no I/O, no AWS types.

pub mod alocity;

use std::borrow::Cow;

use hmac::Mac as _;
use http::HeaderMap;
use http::header::AsHeaderName;

use crate::secret::{HmacSha256, SecretVersion, VersionedSecret};

/// Length of an HMAC-SHA256 tag.
pub const TAG_BYTES: usize = 32;

/// A request that passed authentication, and the secret version that proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Which secret matched (current or previous).
    pub version: SecretVersion,
    /// SHA-256 of the message the signature covers when that is not the body as received
    /// (Amani's `json.dumps` form of a re-spelled body); `None` when it is the body.
    pub message_sha256: Option<[u8; 32]>,
}

impl Verified {
    /// The body as received was what the secret `version` proved.
    pub fn body(version: SecretVersion) -> Self {
        Self {
            version,
            message_sha256: None,
        }
    }
}

/// Why a request is not authentic. Every variant answers `401` with [`VerifyError::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The authentication header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The authentication header is present but cannot be read.
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    /// The signed timestamp is older than the tolerance.
    #[error("signed timestamp is too old")]
    StaleTimestamp,
    /// The signed timestamp is further in the future than the tolerance.
    #[error("signed timestamp is in the future")]
    FutureTimestamp,
    /// No signature matches any candidate secret.
    #[error("signature does not match")]
    SignatureMismatch,
    /// The token matches no candidate secret.
    #[error("token does not match")]
    TokenMismatch,
    /// The body names an application other than the configured one.
    #[error("event is for another application")]
    WrongApp,
    /// The body has a key twice, so what it says cannot be read one way (FACEIO's `appId`).
    #[error("the body has a repeated key")]
    AmbiguousJson,
}

impl VerifyError {
    /// The public reason code sent to the caller. It names the check, never a secret or which
    /// candidate came closest.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingHeader(_) => "missing_header",
            Self::MalformedHeader(_) => "malformed_header",
            Self::StaleTimestamp => "stale_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TokenMismatch => "token_mismatch",
            Self::WrongApp => "wrong_app",
            Self::AmbiguousJson => "ambiguous_json",
        }
    }

    /// True when a newer secret could turn this failure into a success, so a secret refresh
    /// is worth trying before answering `401`.
    pub fn is_secret_miss(self) -> bool {
        matches!(self, Self::SignatureMismatch | Self::TokenMismatch)
    }
}

/// All values of header `key` joined with `,` (how API Gateway merges repeated headers), or
/// `None` when the header is absent. A single value, the usual case, is borrowed. `name` is
/// the same header as text, for the error. A hot path passes `key` as a constant
/// [`http::HeaderName`]: a `&str` key is parsed again on every lookup.
///
/// # Errors
/// [`VerifyError::MalformedHeader`] when a value is not visible ASCII.
pub fn joined_header<'h>(
    headers: &'h HeaderMap,
    key: impl AsHeaderName,
    name: &'static str,
) -> Result<Option<Cow<'h, str>>, VerifyError> {
    let mut joined: Option<Cow<'h, str>> = None;
    for value in headers.get_all(key) {
        let text = value
            .to_str()
            .map_err(|_| VerifyError::MalformedHeader(name))?;
        joined = Some(match joined {
            Some(all) => {
                let mut all = all.into_owned();
                all.push(',');
                all.push_str(text);
                Cow::Owned(all)
            }
            None => Cow::Borrowed(text),
        });
    }
    Ok(joined)
}

/// The value of header `key` exactly as verification read it (every value joined with `,`), to
/// keep for the tamper audit; `None` when absent or not visible ASCII.
pub fn audit_header(
    headers: &HeaderMap,
    key: impl AsHeaderName,
    name: &'static str,
) -> Option<String> {
    joined_header(headers, key, name)
        .ok()
        .flatten()
        .map(Cow::into_owned)
}

/// Whether `text` is a base64 MAC of the right size: the shape check of HMAC schemes before a
/// refresh after a miss.
pub fn mac_shaped(text: &str) -> bool {
    matches!(decode_signature(text), Some(DecodedSignature::Tag(_)))
}

/// Secrets that can be used: an empty secret would make any request verifiable, so it never is.
pub fn usable(secrets: &[VersionedSecret]) -> impl Iterator<Item = &VersionedSecret> {
    secrets
        .iter()
        .filter(|candidate| !candidate.secret.is_empty())
}

/// The first candidate secret equal to one of `tokens`, compared in constant time (`subtle`).
pub fn match_token(secrets: &[VersionedSecret], tokens: &[&str]) -> Option<Verified> {
    usable(secrets)
        .find(|candidate| {
            tokens.iter().any(|token| {
                use subtle::ConstantTimeEq as _;
                bool::from(token.as_bytes().ct_eq(candidate.secret.expose()))
            })
        })
        .map(|candidate| Verified::body(candidate.version))
}

/// The first candidate secret whose SHA-256 is one of `hashes` (lower-case hex, as a quarantine
/// keeps presented tokens), compared in constant time.
pub fn match_token_hash(secrets: &[VersionedSecret], hashes: &[String]) -> Option<Verified> {
    use sha2::Digest as _;
    use subtle::ConstantTimeEq as _;
    let hashes: Vec<[u8; 32]> = hashes
        .iter()
        .filter_map(|hash| <[u8; 32]>::try_from(hex::decode(hash).ok()?).ok())
        .collect();
    usable(secrets)
        .find(|candidate| {
            let digest: [u8; 32] = sha2::Sha256::digest(candidate.secret.expose()).into();
            hashes.iter().any(|hash| bool::from(hash.ct_eq(&digest)))
        })
        .map(|candidate| Verified::body(candidate.version))
}

/// Standard base64 with padding, also accepting unpadded input (padding carries no information).
pub const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A base64 text longer than this cannot be a 32-byte MAC; it is not decoded at all.
pub const MAX_SIGNATURE_CHARS: usize = 128;

/// A signature that is valid base64.
#[derive(Clone, Copy)]
pub enum DecodedSignature {
    /// Exactly the length of an HMAC-SHA256 tag.
    Tag([u8; TAG_BYTES]),
    /// Any other length, empty included: it can never match (RUSTSEC-2024-0010), but it is a
    /// readable signature, so it fails as a mismatch, not as a malformed header.
    WrongLength,
}

/// Never prints the signature's bytes (signatures stay out of logs).
impl std::fmt::Debug for DecodedSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tag(_) => "Tag([redacted])",
            Self::WrongLength => "WrongLength",
        })
    }
}

impl DecodedSignature {
    /// Whether this is the tag of `mac` (keyed, message fed in): `hmac::Mac::verify_slice`,
    /// which compares in constant time and refuses any length other than the tag's, so an empty
    /// or truncated signature never matches (RUSTSEC-2024-0010).
    pub fn is(&self, mac: HmacSha256) -> bool {
        match self {
            Self::Tag(bytes) => mac.verify_slice(bytes).is_ok(),
            Self::WrongLength => false,
        }
    }
}

/// Decodes one base64 signature, or `None` when it is not base64 or absurdly long.
pub fn decode_signature(text: &str) -> Option<DecodedSignature> {
    use base64::Engine as _;
    if text.len() > MAX_SIGNATURE_CHARS {
        return None;
    }
    // Decoded on the stack: `MAX_SIGNATURE_CHARS` base64 characters hold at most this many bytes.
    let mut bytes = [0_u8; MAX_SIGNATURE_CHARS / 4 * 3];
    let len = BASE64.decode_slice(text.trim(), &mut bytes).ok()?;
    Some(
        bytes
            .get(..len)
            .and_then(|decoded| <[u8; TAG_BYTES]>::try_from(decoded).ok())
            .map_or(DecodedSignature::WrongLength, DecodedSignature::Tag),
    )
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn repeated_headers_are_joined_and_a_single_one_is_borrowed() {
        let mut headers = HeaderMap::new();
        assert_eq!(joined_header(&headers, "x-sig", "x-sig"), Ok(None));
        headers.append("x-sig", HeaderValue::from_static("a"));
        assert!(matches!(
            joined_header(&headers, "x-sig", "x-sig"),
            Ok(Some(Cow::Borrowed("a")))
        ));
        headers.append("x-sig", HeaderValue::from_static("b"));
        headers.append("x-sig", HeaderValue::from_static("c"));
        assert_eq!(
            joined_header(&headers, "x-sig", "x-sig").map(|value| value.map(Cow::into_owned)),
            Ok(Some("a,b,c".to_owned()))
        );
        headers.append("x-sig", HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(
            joined_header(&headers, "x-sig", "x-sig"),
            Err(VerifyError::MalformedHeader("x-sig"))
        );
    }

    #[test]
    fn a_tag_matches_only_the_exact_mac() {
        use hmac::Mac as _;
        let secret = crate::secret::Secret::new("key");
        let tag = |message: &[u8]| {
            let mut mac = secret.mac();
            mac.update(message);
            mac
        };
        let right: [u8; TAG_BYTES] = tag(b"message").finalize().into_bytes().into();
        assert!(DecodedSignature::Tag(right).is(tag(b"message")));
        for byte in 0..TAG_BYTES {
            let mut wrong = right;
            wrong[byte] ^= 0x80;
            assert!(
                !DecodedSignature::Tag(wrong).is(tag(b"message")),
                "byte {byte}"
            );
        }
        assert!(!DecodedSignature::WrongLength.is(tag(b"message")));
    }

    #[test]
    fn a_token_hash_matches_only_its_secret() {
        let secrets = [
            VersionedSecret::current("new-token"),
            VersionedSecret::previous("old-token"),
        ];
        // hashlib.sha256(b"old-token").hexdigest(), from Python.
        let old = "9bdf10a691a1cfda89d9ff66629d1609ab176cec9b6a3146a8929f28937a9fce".to_owned();
        assert_eq!(
            match_token_hash(&secrets, &["zz".into(), old.clone()]).map(|v| v.version),
            Some(SecretVersion::Previous)
        );
        let mut other = old.into_bytes();
        other[0] = b'8';
        assert_eq!(
            match_token_hash(&secrets, &[String::from_utf8(other).unwrap()]),
            None
        );
        // hashlib.sha256(b"").hexdigest(): an empty secret never matches.
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned();
        assert_eq!(
            match_token_hash(&[VersionedSecret::current("")], &[empty]),
            None
        );
    }

    #[test]
    fn only_a_32_byte_signature_is_a_tag() {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let tag = [7_u8; TAG_BYTES];
        assert!(matches!(
            decode_signature(&engine.encode(tag)),
            Some(DecodedSignature::Tag(decoded)) if decoded == tag
        ));
        // Unpadded and surrounded by white space.
        let unpadded = format!(" {} ", engine.encode(tag).trim_end_matches('='));
        assert!(matches!(
            decode_signature(&unpadded),
            Some(DecodedSignature::Tag(decoded)) if decoded == tag
        ));
        for bytes in [&[][..], &[7; 31], &[7; 33], &[7; 96]] {
            assert!(
                matches!(
                    decode_signature(&engine.encode(bytes)),
                    Some(DecodedSignature::WrongLength)
                ),
                "{} bytes",
                bytes.len()
            );
        }
        assert!(decode_signature("not base64!").is_none());
        assert!(decode_signature(&"A".repeat(MAX_SIGNATURE_CHARS + 4)).is_none());
    }
}
