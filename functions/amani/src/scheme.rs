//! Amani's two modes: an HMAC signature of Python-`json.dumps` bytes, or the secret itself in a
//! header.

use hmac::Mac as _;
use http::{HeaderMap, HeaderName};
use pyjson::dumped_form;
use sha2::{Digest as _, Sha256};
use webhook_core::verify::{
    DecodedSignature, Verified, VerifyError, decode_signature, joined_header, match_token, usable,
};
use webhook_core::{Secret, VersionedSecret};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// [`SIGNATURE_HEADER`], parsed at compile time.
const SIGNATURE_HEADER_NAME: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
/// The default header of token mode (the real name is not public; it is configurable).
pub const DEFAULT_TOKEN_HEADER: &str = "webhook-token";

/// Verifies `Webhook-Signature`: base64(HMAC-SHA256(secret, message)).
///
/// Amani builds `message` with Python's `json.dumps`. The body as received is tried first; when
/// it does not match (a compact or re-encoded body), the body is re-serialised as `json.dumps`
/// would and that is tried too ([`pyjson::dumped_form`]: a body with a repeated key or a
/// byte-order mark is no re-spelling of any `json.dumps` output and gets no second try). When
/// the re-serialised form is what matched, [`Verified::message_sha256`] is its SHA-256: the
/// event is one signed message, however many spellings of it arrive. Candidates are taken in order, current first, each with both
/// forms, so a compact body signed with the current secret costs two MACs, not one per secret
/// and form. The re-serialisation is done at most once, and only when the raw body has failed.
///
/// # Errors
/// Missing header, a header that is not base64, or no candidate secret that matches either form.
pub fn verify_signature(
    secrets: &[VersionedSecret],
    body: &[u8],
    headers: &HeaderMap,
) -> Result<Verified, VerifyError> {
    let value = joined_header(headers, SIGNATURE_HEADER_NAME, SIGNATURE_HEADER)?
        .ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
    let signature =
        decode_signature(&value).ok_or(VerifyError::MalformedHeader(SIGNATURE_HEADER))?;
    // A signature of the wrong length matches neither form: no MAC, no re-serialisation.
    if matches!(signature, DecodedSignature::WrongLength) {
        return Err(VerifyError::SignatureMismatch);
    }

    // `None` until needed; then `Some(None)` when the body is not JSON or already its own
    // `json.dumps` form (nothing more to try).
    let mut dumped: Option<Option<Vec<u8>>> = None;
    for candidate in usable(secrets) {
        if signs(candidate, body, &signature) {
            return Ok(Verified::body(candidate.version));
        }
        let dumped =
            dumped.get_or_insert_with(|| dumped_form(body).ok().filter(|dumped| dumped != body));
        if let Some(dumped) = dumped
            && signs(candidate, dumped, &signature)
        {
            return Ok(Verified {
                version: candidate.version,
                message_sha256: Some(Sha256::digest(dumped.as_slice()).into()),
            });
        }
    }
    Err(VerifyError::SignatureMismatch)
}

/// Whether `signature` is `candidate`'s MAC of `message`.
fn signs(candidate: &VersionedSecret, message: &[u8], signature: &DecodedSignature) -> bool {
    let mut mac = candidate.secret.mac();
    mac.update(message);
    signature.is(mac)
}

/// Verifies token mode: header `header` must hold a candidate secret.
///
/// # Errors
/// Missing header, or a value that is no candidate secret.
pub fn verify_token(
    secrets: &[VersionedSecret],
    headers: &HeaderMap,
    header: &'static str,
) -> Result<Verified, VerifyError> {
    let value =
        joined_header(headers, header, header)?.ok_or(VerifyError::MissingHeader(header))?;
    let token = value.trim();
    if token.is_empty() {
        return Err(VerifyError::MissingHeader(header));
    }
    match_token(secrets, &[token]).ok_or(VerifyError::TokenMismatch)
}

/// Signs `message` the way Amani does (the caller supplies the `json.dumps` bytes).
pub fn sign(secret: &Secret, message: &[u8]) -> String {
    use base64::Engine as _;
    let mut mac = secret.mac();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use webhook_core::SecretVersion;

    use super::*;

    fn verify(body: &[u8], signed_by: &str, signed: &[u8]) -> Result<Verified, VerifyError> {
        let secrets = [
            VersionedSecret::current("new-secret"),
            VersionedSecret::previous("old-secret"),
        ];
        let mut headers = HeaderMap::new();
        let value = sign(&Secret::new(signed_by), signed);
        headers.insert(SIGNATURE_HEADER, value.parse().unwrap());
        verify_signature(&secrets, body, &headers)
    }

    fn check(body: &[u8], signed_by: &str, signed: &[u8]) -> Result<SecretVersion, VerifyError> {
        verify(body, signed_by, signed).map(|verified| verified.version)
    }

    #[test]
    fn a_re_spelled_body_is_known_by_the_digest_of_the_signed_form() {
        let dumped = br#"{"event": "profile_create", "score": 100.0}"#;
        let digest: [u8; 32] = Sha256::digest(dumped).into();
        assert_eq!(
            verify(dumped, "new-secret", dumped).map(|v| v.message_sha256),
            Ok(None)
        );
        for spelling in [
            &br#"{"event":"profile_create","score":100.0}"#[..],
            br#"{"event": "profile_create", "score": 1E2}"#,
        ] {
            assert_eq!(
                verify(spelling, "new-secret", dumped).map(|v| v.message_sha256),
                Ok(Some(digest))
            );
        }
        // No dict holds a repeated key and json.dumps writes no byte-order mark.
        for impossible in [
            &br#"{"event": "profile_create", "score": 100.0, "score": 100.0}"#[..],
            b"\xef\xbb\xbf{\"event\": \"profile_create\", \"score\": 100.0}",
        ] {
            assert_eq!(
                check(impossible, "new-secret", dumped),
                Err(VerifyError::SignatureMismatch)
            );
        }
    }

    #[test]
    fn either_form_verifies_with_either_secret() {
        let compact = br#"{"event":"profile_create","id":"p-1"}"#;
        let dumped = br#"{"event": "profile_create", "id": "p-1"}"#;
        for (secret, version) in [
            ("new-secret", SecretVersion::Current),
            ("old-secret", SecretVersion::Previous),
        ] {
            // Signed over the bytes sent, JSON or not.
            assert_eq!(check(compact, secret, compact), Ok(version));
            assert_eq!(check(dumped, secret, dumped), Ok(version));
            assert_eq!(check(b"not json", secret, b"not json"), Ok(version));
            // Signed over the `json.dumps` form of what was sent.
            assert_eq!(check(compact, secret, dumped), Ok(version));
        }
        assert_eq!(
            check(compact, "attacker", dumped),
            Err(VerifyError::SignatureMismatch)
        );
        assert_eq!(
            check(b"not json", "attacker", b"not json"),
            Err(VerifyError::SignatureMismatch)
        );
    }
}
