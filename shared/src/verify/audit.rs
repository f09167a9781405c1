//! The tamper audit: re-checking a stored body against the signature header kept with it.
//!
//! This runs the same schemes as request verification, minus the replay window: an event
//! stored last month was signed last month, so Alocity's signed timestamp is checked against
//! itself (the clock passed in is the signed `t`). Only HMAC schemes can be audited; a bearer
//! or Amani token proves nothing about the body and is never stored.

use http::{HeaderMap, HeaderValue};

use super::alocity::{self, AlocitySignature};
use super::amani;
use super::{Verified, VerifyError};
use crate::secret::VersionedSecret;

/// A signature scheme whose stored header can be re-checked against the stored body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScheme {
    /// `Alocity-Signature` (Alocity Selfie and Alocity access control).
    Alocity,
    /// Amani's `Webhook-Signature` (signature mode).
    AmaniSignature,
}

impl AuditScheme {
    /// The scheme of a provider's stored `signature` attribute, or `None` for providers that
    /// never store one (FACEIO's bearer token).
    pub fn for_provider(provider: &str) -> Option<Self> {
        match provider {
            "alocity-selfie" | "alocity" => Some(Self::Alocity),
            "amani" => Some(Self::AmaniSignature),
            _ => None,
        }
    }

    /// The request header the stored value came from.
    pub fn header(self) -> &'static str {
        match self {
            Self::Alocity => alocity::HEADER,
            Self::AmaniSignature => amani::SIGNATURE_HEADER,
        }
    }
}

/// Checks `body` against the stored `signature` header value with the candidate secrets,
/// with no replay window.
///
/// # Errors
/// A malformed header, or no candidate secret whose MAC matches the body: the body (or the
/// stored signature) changed after it was verified, or the secrets that signed it are gone.
pub fn reverify(
    scheme: AuditScheme,
    secrets: &[VersionedSecret],
    body: &[u8],
    signature: &str,
) -> Result<Verified, VerifyError> {
    let header = scheme.header();
    let value =
        HeaderValue::from_str(signature).map_err(|_| VerifyError::MalformedHeader(header))?;
    let mut headers = HeaderMap::new();
    headers.insert(header, value);
    match scheme {
        AuditScheme::Alocity => {
            let signed_at = alocity::parse_header(signature)?.timestamp;
            AlocitySignature { tolerance_secs: 0 }.verify(secrets, body, &headers, signed_at)
        }
        AuditScheme::AmaniSignature => amani::verify_signature(secrets, body, &headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Secret, SecretVersion};

    fn secrets() -> Vec<VersionedSecret> {
        vec![
            VersionedSecret::current("new-secret"),
            VersionedSecret::previous("old-secret"),
        ]
    }

    #[test]
    fn an_old_alocity_signature_still_verifies_its_body() {
        let body = br#"{"Id":"e1","EventCode":"PinOk"}"#;
        // Signed in 2001: far outside any replay window.
        let header = alocity::sign(&Secret::new("old-secret"), 1_000_000_000, body);
        let verified = reverify(AuditScheme::Alocity, &secrets(), body, &header).unwrap();
        assert_eq!(verified.version, SecretVersion::Previous);
    }

    #[test]
    fn an_altered_body_no_longer_matches() {
        let body = br#"{"Id":"e1","EventCode":"PinOk"}"#;
        let header = alocity::sign(&Secret::new("new-secret"), 1_000_000_000, body);
        let altered = br#"{"Id":"e1","EventCode":"PinFailures"}"#;
        assert_eq!(
            reverify(AuditScheme::Alocity, &secrets(), altered, &header),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn amani_signatures_are_checked_over_the_json_dumps_form() {
        let body = br#"{"event": "profile_create", "profile": {"id": "p-1"}}"#;
        let signature = amani::sign(&Secret::new("new-secret"), body);
        let compact = br#"{"event":"profile_create","profile":{"id":"p-1"}}"#;
        assert!(reverify(AuditScheme::AmaniSignature, &secrets(), compact, &signature).is_ok());
        let altered = br#"{"event": "profile_create", "profile": {"id": "p-2"}}"#;
        assert_eq!(
            reverify(AuditScheme::AmaniSignature, &secrets(), altered, &signature),
            Err(VerifyError::SignatureMismatch)
        );
    }

    #[test]
    fn schemes_by_provider() {
        assert_eq!(
            AuditScheme::for_provider("alocity-selfie"),
            Some(AuditScheme::Alocity)
        );
        assert_eq!(
            AuditScheme::for_provider("amani"),
            Some(AuditScheme::AmaniSignature)
        );
        assert_eq!(AuditScheme::for_provider("faceio"), None);
        assert_eq!(
            reverify(AuditScheme::Alocity, &secrets(), b"{}", "garbage"),
            Err(VerifyError::MalformedHeader(alocity::HEADER))
        );
    }
}
