//! Authentication schemes. Each is a pure function of the candidate secrets, the raw body,
//! the request headers and (where a timestamp is signed) the clock: no I/O, no AWS types.

pub mod alocity;
pub mod amani;
pub mod audit;
pub mod bearer;

use http::HeaderMap;

use crate::secret::{SecretVersion, VersionedSecret};

/// HMAC-SHA256, the MAC every signing provider here uses.
pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A MAC keyed with `secret`'s UTF-8 bytes.
pub(crate) fn keyed_mac(secret: &crate::secret::Secret) -> HmacSha256 {
    <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(secret.expose())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

/// A request that passed authentication, and the secret version that proved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Which secret matched (current or previous).
    pub version: SecretVersion,
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
        }
    }

    /// True when a newer secret could turn this failure into a success, so a secret refresh
    /// is worth trying before answering `401`.
    pub fn is_secret_miss(self) -> bool {
        matches!(self, Self::SignatureMismatch | Self::TokenMismatch)
    }
}

/// All values of header `name` joined with `,` (how API Gateway merges repeated headers), or
/// `None` when the header is absent.
///
/// # Errors
/// [`VerifyError::MalformedHeader`] when a value is not visible ASCII.
pub(crate) fn joined_header(
    headers: &HeaderMap,
    name: &'static str,
) -> Result<Option<String>, VerifyError> {
    let mut joined: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value
            .to_str()
            .map_err(|_| VerifyError::MalformedHeader(name))?;
        match joined.as_mut() {
            Some(all) => {
                all.push(',');
                all.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    Ok(joined)
}

/// Secrets that can be used: an empty secret would make any request verifiable, so it never is.
pub(crate) fn usable(secrets: &[VersionedSecret]) -> impl Iterator<Item = &VersionedSecret> {
    secrets
        .iter()
        .filter(|candidate| !candidate.secret.is_empty())
}

/// Standard base64 with padding, also accepting unpadded input (padding carries no information).
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A base64 text longer than this cannot be a 32-byte MAC; it is not decoded at all.
pub(crate) const MAX_SIGNATURE_CHARS: usize = 128;

/// Decodes one base64 signature, or `None` when it is not base64 or absurdly long.
pub(crate) fn decode_signature(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if text.len() > MAX_SIGNATURE_CHARS {
        return None;
    }
    BASE64.decode(text.trim()).ok()
}
