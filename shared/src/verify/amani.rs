//! Amani's two modes: an HMAC signature of Python-`json.dumps` bytes, or the secret itself in a
//! header.

use hmac::Mac as _;
use http::{HeaderMap, HeaderName};

use super::bearer::match_token;
use super::{DecodedSignature, Verified, VerifyError, decode_signature, joined_header, usable};
use crate::pyjson::python_dumps;
use crate::secret::VersionedSecret;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// [`SIGNATURE_HEADER`], parsed at compile time.
const SIGNATURE_HEADER_NAME: HeaderName = HeaderName::from_static(SIGNATURE_HEADER);
/// The default header of token mode (the real name is not public; it is configurable).
pub const DEFAULT_TOKEN_HEADER: &str = "webhook-token";

/// Verifies `Webhook-Signature`: base64(HMAC-SHA256(secret, message)).
///
/// The raw body is tried first. Amani builds `message` with Python's `json.dumps`; when the
/// wire bytes are not those bytes (a compact or re-encoded body), the body is re-serialised as
/// `json.dumps` would and tried again.
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

    if let Some(verified) = match_mac(secrets, body, &signature) {
        return Ok(verified);
    }
    match python_dumps(body) {
        Ok(dumped) if dumped != body => match_mac(secrets, &dumped, &signature),
        _ => None,
    }
    .ok_or(VerifyError::SignatureMismatch)
}

fn match_mac(
    secrets: &[VersionedSecret],
    message: &[u8],
    signature: &DecodedSignature,
) -> Option<Verified> {
    usable(secrets)
        .find(|candidate| {
            let mut mac = candidate.secret.mac();
            mac.update(message);
            signature.is(mac.finalize())
        })
        .map(|candidate| Verified {
            version: candidate.version,
        })
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
pub fn sign(secret: &crate::secret::Secret, message: &[u8]) -> String {
    use base64::Engine as _;
    let mut mac = secret.mac();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
