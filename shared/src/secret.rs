//! Secrets as the verification schemes see them: redacted values labelled with the
//! Secrets Manager version stage they came from.

use std::fmt;

/// A provider secret (HMAC key or bearer token). `Debug` and `Display` never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret's bytes, for keying a MAC or comparing a token. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// True when the value is empty (an unusable secret).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which version of a rotating secret matched, named after the Secrets Manager staging labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretVersion {
    /// `AWSCURRENT`: the secret in force.
    Current,
    /// `AWSPREVIOUS`: the secret before the last rotation, still accepted.
    Previous,
}

impl SecretVersion {
    /// The Secrets Manager staging label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Current => "AWSCURRENT",
            Self::Previous => "AWSPREVIOUS",
        }
    }
}

/// One candidate secret and the version it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedSecret {
    /// The staging label this value carries.
    pub version: SecretVersion,
    /// The value.
    pub secret: Secret,
}

impl VersionedSecret {
    /// The current secret.
    pub fn current(value: impl Into<String>) -> Self {
        Self {
            version: SecretVersion::Current,
            secret: Secret::new(value),
        }
    }

    /// The previous secret.
    pub fn previous(value: impl Into<String>) -> Self {
        Self {
            version: SecretVersion::Previous,
            secret: Secret::new(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let secret = Secret::new("hunter2-super-secret");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("hunter2"));
        let versioned = VersionedSecret::previous("hunter2-super-secret");
        assert!(!format!("{versioned:?}").contains("hunter2"));
    }

    #[test]
    fn labels_are_the_secrets_manager_stages() {
        assert_eq!(SecretVersion::Current.label(), "AWSCURRENT");
        assert_eq!(SecretVersion::Previous.label(), "AWSPREVIOUS");
    }
}
