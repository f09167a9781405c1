//! FACEIO's bearer token: `WWW-Authenticate: Bearer <token>`, with `Authorization: Bearer
//! <token>` accepted as a fallback.

use http::HeaderMap;
use webhook_core::VersionedSecret;
use webhook_core::verify::{Verified, VerifyError, joined_header, match_token};

/// The header FACEIO documents.
pub const HEADER: &str = "www-authenticate";
/// The conventional header, accepted as a fallback.
pub const FALLBACK_HEADER: &str = "authorization";

/// The token from a `Bearer <token>` value; the scheme word is matched in any case.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(|c: char| c.is_ascii_whitespace())?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Verifies the bearer token against the candidate secrets.
///
/// # Errors
/// [`VerifyError::MissingHeader`] when neither header is present,
/// [`VerifyError::MalformedHeader`] when none holds a `Bearer` token,
/// [`VerifyError::TokenMismatch`] when the token is not a candidate secret.
pub fn verify(secrets: &[VersionedSecret], headers: &HeaderMap) -> Result<Verified, VerifyError> {
    let primary = joined_header(headers, HEADER, HEADER)?;
    let fallback = joined_header(headers, FALLBACK_HEADER, FALLBACK_HEADER)?;
    if primary.is_none() && fallback.is_none() {
        return Err(VerifyError::MissingHeader(HEADER));
    }
    let tokens: Vec<&str> = [primary.as_deref(), fallback.as_deref()]
        .into_iter()
        .flatten()
        .filter_map(parse_bearer)
        .collect();
    if tokens.is_empty() {
        return Err(VerifyError::MalformedHeader(HEADER));
    }
    match_token(secrets, &tokens).ok_or(VerifyError::TokenMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_word_in_any_case() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("BEARER   abc  "), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer    "), None);
        assert_eq!(parse_bearer("abc"), None);
        assert_eq!(parse_bearer("Bearerabc"), None);
    }
}
