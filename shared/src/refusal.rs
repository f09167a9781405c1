//! Every way a request is refused, and the one mapping of each to its HTTP status and reason.

use crate::http::HttpResponse;
use crate::metrics::{self, Metric};
use crate::verify::VerifyError;

/// Why a request gets no `200`. The answer is a small JSON document, `{"error": reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Anything but `POST`: `405`.
    MethodNotAllowed,
    /// A path naming no configured endpoint: `404`.
    UnknownEndpoint,
    /// A body over the configured cap: `413`.
    BodyTooLarge,
    /// An `isBase64Encoded` body that is not base64: `400`.
    InvalidBodyEncoding,
    /// Not authentic: `401` with the check that failed.
    NotAuthentic(VerifyError),
    /// No secret to verify with, or none fresh enough to be sure: `503`.
    SecretsUnavailable,
    /// The event could not be stored: `503`.
    StorageUnavailable,
}

impl Refusal {
    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::UnknownEndpoint => 404,
            Self::BodyTooLarge => 413,
            Self::InvalidBodyEncoding => 400,
            Self::NotAuthentic(_) => 401,
            Self::SecretsUnavailable | Self::StorageUnavailable => 503,
        }
    }

    /// The public reason code (`"error"` in the answer).
    pub fn reason(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UnknownEndpoint => "unknown_endpoint",
            Self::BodyTooLarge => "body_too_large",
            Self::InvalidBodyEncoding => "invalid_body_encoding",
            Self::NotAuthentic(error) => error.reason(),
            Self::SecretsUnavailable => "secrets_unavailable",
            Self::StorageUnavailable => "storage_unavailable",
        }
    }

    /// Records the refusal in the invocation's metrics: `Rejected` by reason, or the metric of
    /// the status.
    pub fn record(self) {
        match self {
            Self::NotAuthentic(error) => metrics::record_rejection(error.reason()),
            Self::MethodNotAllowed => metrics::record(Metric::MethodNotAllowed, 1.0),
            Self::UnknownEndpoint => metrics::record(Metric::UnknownEndpoint, 1.0),
            Self::BodyTooLarge => metrics::record(Metric::BodyTooLarge, 1.0),
            Self::InvalidBodyEncoding => metrics::record(Metric::BadRequest, 1.0),
            Self::SecretsUnavailable => metrics::record(Metric::SecretsUnavailable, 1.0),
            Self::StorageUnavailable => metrics::record(Metric::StoreUnavailable, 1.0),
        }
    }

    /// The answer: `{"error": reason}` with the status.
    pub fn response(self) -> HttpResponse {
        HttpResponse::error(self.status(), self.reason())
    }
}

impl From<VerifyError> for Refusal {
    fn from(error: VerifyError) -> Self {
        Self::NotAuthentic(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_and_reason() {
        for (refusal, status, reason) in [
            (Refusal::MethodNotAllowed, 405, "method_not_allowed"),
            (Refusal::UnknownEndpoint, 404, "unknown_endpoint"),
            (Refusal::BodyTooLarge, 413, "body_too_large"),
            (Refusal::InvalidBodyEncoding, 400, "invalid_body_encoding"),
            (VerifyError::WrongApp.into(), 401, "wrong_app"),
            (Refusal::SecretsUnavailable, 503, "secrets_unavailable"),
            (Refusal::StorageUnavailable, 503, "storage_unavailable"),
        ] {
            assert_eq!((refusal.status(), refusal.reason()), (status, reason));
            let response = refusal.response();
            assert_eq!(response.status_code, status);
            assert_eq!(response.body, format!(r#"{{"error":"{reason}"}}"#));
        }
    }
}
